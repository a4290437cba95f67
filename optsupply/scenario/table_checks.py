"""Checks of a scenario's tables: values, keys, references, products, supply and regions.

:class:`CheckContext` is what every table check (here and in
:mod:`optsupply.scenario.feasibility_checks`) needs: the typed tables, their
file labels and the report, with the spreadsheet row of every position.
:func:`check_table_contents` runs the checks of this module;
:func:`optsupply.scenario.checks.check_tables` runs them with the others.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optsupply.errors import ERROR, WARNING, Report
from optsupply.scenario.cells import FIRST_DATA_ROW, MAX_WHOLE, MISSING_COLUMN, did_you_mean
from optsupply.scenario.schema import H_LAST, TABLE_BY_NAME, TABLES, Column


class CheckContext:
    """What every table check needs: the tables, file labels and the report.

    Checks address rows by position (0 = first data row). A table read from a
    file keeps each row's position below the header as its index (blank rows
    are skipped but counted), so messages use the index to give the
    spreadsheet's row number.
    """

    def __init__(self, tables: dict[str, pd.DataFrame], files: dict[str, str], present: set[str],
                 horizon: int | None, report: Report):
        self.t = tables
        self.files = files
        self.present = present
        self.H = horizon
        self.report = report
        # columns absent from a header, reported once by the reader
        self.missing_columns = {(p.file, p.column) for p in report.problems
                                if p.row == 1 and p.severity == ERROR and p.message.startswith(MISSING_COLUMN)}
        # files with an error about the file as a whole: missing, unreadable, not a table, no rows
        self.file_errors = {p.file for p in report.problems if p.column is None and p.severity == ERROR}

    def file(self, table: str) -> str:
        return self.files.get(table, TABLE_BY_NAME[table].file)

    def row(self, table: str, idx: int) -> int:
        """Spreadsheet row of the row at position ``idx``."""
        index = self.t[table].index
        label = index[int(idx)] if pd.api.types.is_integer_dtype(index.dtype) else int(idx)
        return int(label) + FIRST_DATA_ROW

    def add(self, table: str, idx: Any, column: str | None, message: str, severity: str = "error") -> None:
        row = None if idx is None else self.row(table, idx)
        self.report.add(self.file(table), row, column, message, severity)

    def flagged(self, table: str, idx: int, column: str) -> bool:
        return self.report.flagged(self.file(table), self.row(table, idx), column)

    def column_missing(self, table: str, column: str) -> bool:
        """The column is absent from the header (reported once, on row 1)."""
        return (self.file(table), column) in self.missing_columns

    def usable(self, table: str) -> bool:
        """The table was read, has rows and its key columns, so other tables can be checked against it."""
        return (table in self.present and self.file(table) not in self.file_errors
                and not any(self.column_missing(table, c) for c in TABLE_BY_NAME[table].key))


def file_reported(report: Report, file: str) -> bool:
    """An error about the file as a whole (missing, unreadable, not a table) was reported already."""
    return any(p.file == file and p.column is None and p.severity == ERROR for p in report.problems)


def range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    """``≥ 0 and < 1``: the range of a column or a setting, for a message."""
    parts = []
    if lo is not None:
        parts.append(("> " if lo_open else "≥ ") + f"{lo:g}")
    if hi is not None:
        parts.append(("< " if hi_open else "≤ ") + f"{hi:g}")
    return " and ".join(parts)


def check_table_contents(ctx: CheckContext) -> None:
    """Every check of this module on the typed tables; problems go to ``ctx.report``."""
    tables = ctx.t
    _check_presence(ctx)
    for table in TABLES:
        df = tables[table.name]
        if df.empty:
            continue
        for col in table.columns:
            _check_values(ctx, table.name, col, df[col.name])
        _check_duplicates(ctx, table.name, table.key)
    _check_references(ctx)
    _check_products(ctx)
    _check_supply(ctx)
    _check_regions(ctx)


def _check_presence(ctx: CheckContext) -> None:
    def missing(table: str) -> bool:
        return table not in ctx.present and not file_reported(ctx.report, ctx.file(table))

    for table in TABLES:
        if table.presence == "required" and missing(table.name):
            ctx.report.add(ctx.file(table.name), None, None, "required table is missing")
        elif (table.presence == "required" and ctx.t[table.name].empty
              and ctx.file(table.name) not in ctx.file_errors):
            ctx.report.add(ctx.file(table.name), None, None, "has no rows, only a header: a scenario needs at least one")
            ctx.file_errors.add(ctx.file(table.name))
    status = ctx.t["products"]["status"]
    if (status == "active").any() and missing("demand"):
        ctx.report.add(ctx.file("demand"), None, None, "required table is missing: products.csv lists active products")
    if (status == "new").any() and missing("launch_curve"):
        ctx.report.add(ctx.file("launch_curve"), None, None, "required table is missing: products.csv lists new products")


def _check_values(ctx: CheckContext, table: str, col: Column, s: pd.Series) -> None:
    if ctx.column_missing(table, col.name):
        return  # reported once for the whole column
    if col.dtype in ("str", "bool"):
        if col.dtype == "str" and col.required:
            texts = s.astype(str).to_numpy(dtype=object)
            for i in _positions_of(texts, lambda text: not text.strip()):
                ctx.add(table, i, col.name, "missing value (this column is required)")
        if col.dtype == "str" and col.choices:  # read already; this guards tables built in Python
            texts = s.astype(str).to_numpy(dtype=object)
            for i in _positions_of(texts, lambda text: text not in col.choices):
                if not ctx.flagged(table, int(i), col.name):
                    ctx.add(table, i, col.name, f"'{texts[i]}' is not allowed: use {' or '.join(col.choices)}")
        return
    if s.dtype.kind == "f":
        v = s.to_numpy(dtype="float64")
    else:
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
    if not (col.default == H_LAST and ctx.H is None):  # without a horizon, H-1 has no value yet
        for i in np.flatnonzero(np.isnan(v)):
            if not ctx.flagged(table, int(i), col.name):
                ctx.add(table, i, col.name, "NaN is not allowed: give a number")
    finite = ~np.isnan(v)
    if not col.allow_inf:
        bad = finite & np.isinf(v)
        for i in np.flatnonzero(bad):
            ctx.add(table, i, col.name, f"{v[i]} is not allowed: give a finite number")
        finite &= ~bad
    if col.dtype == "int":  # read already; this guards tables built in Python (a float 2.5 is no period)
        with np.errstate(invalid="ignore"):
            bad = finite & ((v != np.floor(v)) | (np.abs(v) > MAX_WHOLE))
        for i in np.flatnonzero(bad):
            if not ctx.flagged(table, int(i), col.name):
                ctx.add(table, i, col.name, f"{v[i]:g} is not a whole number" if v[i] != np.floor(v[i])
                        else f"{v[i]:g} is too large: whole numbers can be at most 2**53 ({MAX_WHOLE}) in size")
        finite &= ~bad
    lo, hi = col.lower, col.upper
    if col.period == "horizon":
        lo, hi = 0, (None if ctx.H is None else ctx.H - 1)
    elif col.period == "history":
        lo, hi = None, -1
    with np.errstate(invalid="ignore"):
        bad = np.zeros(len(v), dtype=bool)
        if lo is not None:
            bad |= (v < lo) | (col.lower_open & (v == lo))
        if hi is not None:
            bad |= ((v > hi) | (col.upper_open & (v == hi))) & ~(col.allow_inf & np.isposinf(v))
    bad &= finite
    for i in np.flatnonzero(bad):
        ctx.add(table, i, col.name, _range_message(col, v[i], lo, hi, ctx.H, solved=table != "history"))


def _range_message(col: Column, value: float, lo: float | None, hi: float | None, H: int | None,
                   solved: bool = True) -> str:
    """Why ``value`` is refused; ``solved``: the column goes into the MIP (history only feeds the forecast)."""
    shown = f"{value:g}"
    if col.period == "horizon":
        return f"period {shown} is out of range: the horizon has periods 0 to {H - 1}" if H else f"period {shown} is out of range"
    if col.period == "history":
        return f"period {shown} is not in the past: history periods are negative (-1 is the period before the horizon)"
    if lo == 0 and value < 0 and not col.lower_open:
        what = "price or cost" if col.unit == "currency/unit" else "cost" if col.unit.startswith("currency") else "value"
        return f"negative {what} {shown}: must be ≥ 0"
    text = f"{shown} is out of range: must be {range_text(lo, hi, col.lower_open, col.upper_open)}"
    if lo is not None and lo > 0 and value <= 0:  # a Hill parameter: positive by definition, and within what is accepted
        text = f"{shown} is out of range: must be > 0, and this model accepts {range_text(lo, hi, False, False)}"
        return text
    if col.name == "shape" and (value < lo or value > hi):
        text += (" (the response would be a step at half_saturation, which the model cannot resolve)" if value > hi
                 else " (the response would rise over more orders of magnitude of spend than a plan can hold)")
    elif lo is not None and value < lo and lo > 0:
        text += " (the response would be a step at zero spend, below the money a plan resolves)"
    elif hi is not None and value > hi and col.period is None and col.dtype == "float" and solved:
        text += " (larger values lose the solver's precision" + ("; write inf for no limit)" if col.allow_inf else ")")
    return text


def _positions_of(values: np.ndarray, wanted: Any) -> list[int]:
    """Positions of the values for which ``wanted(value)`` holds, in order.

    ``wanted`` is asked once per distinct value: a column of a large table holds few.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    hit = np.fromiter((bool(wanted(u)) for u in uniques.tolist()), dtype=bool, count=len(uniques))
    if not hit.any():
        return []
    return np.flatnonzero(hit[codes]).tolist()


def _check_duplicates(ctx: CheckContext, table: str, key: tuple[str, ...]) -> None:
    df = ctx.t[table]
    # pandas finds every row whose key appears more than once (it also pairs NaN with NaN, which the
    # comparison below does not): only those rows need comparing, in their order
    candidates = np.flatnonzero(df.duplicated(list(key), keep=False).to_numpy())
    if not len(candidates):
        return
    first: dict[tuple, int] = {}
    for i, k in zip(candidates.tolist(), zip(*(df[c].to_numpy(dtype=object)[candidates] for c in key))):
        j = first.setdefault(k, i)
        # a blank or unreadable (NaN) key cell is reported where it is: not a duplicate
        if j != i and not any((isinstance(x, str) and not x.strip()) or x != x for x in k):
            shown = ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in k)
            ctx.add(table, i, key[-1], f"duplicate {'/'.join(key)} ({shown}): already on row {ctx.row(table, j)}")


def _ids(s: pd.Series) -> set[str]:
    """The distinct values of a column, as text."""
    return set(s.astype(str).unique().tolist())


def _check_ref(ctx: CheckContext, table: str, column: str, known: set[str], what: str, severity: str = "error") -> None:
    options = sorted(known)
    values = ctx.t[table][column].astype(str).to_numpy(dtype=object)
    for i in _positions_of(values, lambda v: v not in known and v.strip()):
        v = values[i]
        ctx.add(table, i, column, f"unknown {what} '{v}'" + did_you_mean(v, options), severity)


def _check_references(ctx: CheckContext) -> None:
    # against a table that is missing or unreadable every row would be "unknown": that is reported once already
    products = _ids(ctx.t["products"]["product"])
    warehouses = _ids(ctx.t["warehouses"]["warehouse"])
    for table in TABLES:
        for col in table.columns:
            if col.ref == "products" and ctx.usable("products"):
                _check_ref(ctx, table.name, col.name, products, "product (not in products.csv)")
            elif col.ref == "warehouses" and ctx.usable("warehouses"):
                _check_ref(ctx, table.name, col.name, warehouses, "warehouse (not in warehouses.csv)")
    if not ctx.t["channels"].empty and ctx.usable("channels"):
        _check_ref(ctx, "response", "channel", _ids(ctx.t["channels"]["channel"]), "channel (not in channels.csv)")
    if ctx.usable("products"):
        categories = _ids(ctx.t["products"]["category"])
        brands = _ids(ctx.t["products"]["brand"])
        if not ctx.column_missing("products", "category"):
            _check_ref(ctx, "seasonality", "category", categories, "category (no product in products.csv has it)")
            _check_ref(ctx, "categories", "category", categories, "category (no product in products.csv has it)", WARNING)
        if not ctx.column_missing("products", "brand"):
            _check_ref(ctx, "brands", "brand", brands, "brand (no product in products.csv has it)", WARNING)


def _check_products(ctx: CheckContext) -> None:
    p = ctx.t["products"]
    if p.empty or not ctx.usable("products"):
        return
    names = p["product"].astype(str).to_numpy()
    named = np.array([bool(n.strip()) for n in names], dtype=bool)
    status = p["status"].astype(str)
    new = (status == "new").to_numpy()
    active = (status == "active").to_numpy()  # any other status is reported already
    early = p["launch_earliest"].to_numpy(dtype="float64")
    late = p["launch_latest"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        for i in np.flatnonzero(new & (early > late)):
            ctx.add("products", i, "launch_earliest",
                    f"launch_earliest {early[i]:g} is after launch_latest {late[i]:g}: the launch window is empty")
    curve_products = _ids(ctx.t["launch_curve"]["product"])
    demand_products = _ids(ctx.t["demand"]["product"])
    if ctx.usable("launch_curve"):
        for i in np.flatnonzero(new & named):
            if names[i] not in curve_products:
                ctx.add("products", i, "status", f"new product {names[i]} has no rows in launch_curve.csv")
    for i in np.flatnonzero(active & named):
        if p["must_launch"].iat[i]:
            ctx.add("products", i, "must_launch", f"must_launch has no effect on active product {names[i]}", WARNING)
        if names[i] not in demand_products and ctx.usable("demand"):
            ctx.add("products", i, "product", f"active product {names[i]} has no rows in demand.csv: its demand is zero", WARNING)
    new_names = set(names[new & named])
    d = ctx.t["demand"]
    for i in np.flatnonzero(d["product"].astype(str).isin(new_names).to_numpy()):
        ctx.add("demand", i, "product", f"product {d['product'].iat[i]} is new: its demand belongs in launch_curve.csv")
    lc = ctx.t["launch_curve"]
    active_names = set(names[active & named])
    for i in np.flatnonzero(lc["product"].astype(str).isin(active_names).to_numpy()):
        ctx.add("launch_curve", i, "product", f"product {lc['product'].iat[i]} is active: its demand belongs in demand.csv")
    if ctx.H is not None and not lc.empty:
        ages = lc["age"].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            for i in np.flatnonzero(ages >= ctx.H):
                ctx.add("launch_curve", i, "age", f"age {ages[i]:g} is never reached within the {ctx.H}-period horizon", WARNING)
    if ctx.usable("supply"):
        supplied = _ids(ctx.t["supply"]["product"])
        for i in np.flatnonzero(named):
            if names[i] not in supplied:
                ctx.add("products", i, "product", f"product {names[i]} has no row in supply.csv: it can never be stocked or sold", WARNING)


def _check_supply(ctx: CheckContext) -> None:
    s = ctx.t["supply"]
    if not s.empty:
        lead = s["lead_time"].to_numpy(dtype="float64")
        if ctx.H is not None:
            with np.errstate(invalid="ignore"):
                for i in np.flatnonzero(lead >= ctx.H):
                    ctx.add("supply", i, "lead_time", f"lead time {lead[i]:g} is not shorter than the {ctx.H}-period horizon: no order could arrive")
        lo, hi = s["min_order"].to_numpy(dtype="float64"), s["max_order"].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            for i in np.flatnonzero(lo > hi):
                ctx.add("supply", i, "min_order", f"min_order {lo[i]:g} is above max_order {hi[i]:g}")
    if not ctx.usable("supply"):
        return
    pairs = set(zip(s["product"].astype(str), s["warehouse"].astype(str), strict=True))
    for table in ("initial_stock", "pipeline"):
        df = ctx.t[table]
        if ctx.column_missing(table, "product") or ctx.column_missing(table, "warehouse"):
            continue
        for i, pw in enumerate(zip(df["product"].astype(str), df["warehouse"].astype(str), strict=True)):
            if pw not in pairs and pw[0].strip() and pw[1].strip():
                ctx.add(table, i, "warehouse", f"supply.csv has no row for product {pw[0]} in warehouse {pw[1]}")


def _check_regions(ctx: CheckContext) -> None:
    if not ctx.usable("lanes") or ctx.column_missing("lanes", "region"):
        return
    lane_regions = _ids(ctx.t["lanes"]["region"])
    demand_regions = _ids(ctx.t["demand"]["region"]) | _ids(ctx.t["launch_curve"]["region"])
    for table in ("demand", "launch_curve"):
        for i, r in _first_unknown(ctx.t[table]["region"], lane_regions):
            ctx.add(table, i, "region", f"region {r} has demand but no lane in lanes.csv: it cannot be served"
                    + did_you_mean(r, sorted(lane_regions)), WARNING)
    known = lane_regions | demand_regions
    for i, r in _first_unknown(ctx.t["history"]["region"], known):
        ctx.add("history", i, "region", f"region {r} appears in no lane or forecast" + did_you_mean(r, sorted(known)), WARNING)


def _first_unknown(s: pd.Series, known: set[str]) -> list[tuple[int, str]]:
    """(position, value) of the first row of each non-blank value not in ``known``."""
    values = s.astype(str).to_numpy(dtype=object)
    out: list[tuple[int, str]] = []
    seen: set[str] = set()
    for r in set(pd.unique(values).tolist()) - known:
        if r.strip():
            seen.add(r)
    if seen:
        for i, r in enumerate(values):
            if r in seen:
                seen.discard(r)
                out.append((i, r))
                if not seen:
                    break
    return out
