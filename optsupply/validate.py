"""Checks of a scenario's content: settings, values, keys and references.

:func:`check_settings` and :func:`check_tables` look at typed data (see
:mod:`optsupply.io`) and add every problem they find to a
:class:`~optsupply.errors.Report`; nothing stops at the first problem. The
same checks run when a scenario is loaded and when it is changed with
:meth:`optsupply.Scenario.with_changes`.

Decisions where the specification is silent (documented in the README):

* Regions have no table of their own: they are the regions named in
  ``lanes.csv``, ``demand.csv`` and ``launch_curve.csv``. A region with
  demand but no lane is a warning (that demand cannot be served).
* ``channels.csv`` is optional; when it has rows, ``response.csv`` may only
  name its channels. Without it, every channel in ``response.csv`` is uncapped.
* A category (brand) in ``categories.csv`` (``brands.csv``) that no product
  has is a warning; a category in ``seasonality.csv`` that no product has is
  an error, since it is most likely a typo.
* ``initial_stock.csv`` and ``pipeline.csv`` rows need a ``supply.csv`` row
  for the same product and warehouse.
* ``launch_curve.csv`` ages at or beyond the horizon can never be reached and
  are a warning.
* A problem is reported once, where it is: a file that is missing or cannot
  be read, a missing column or setting, or a cell that cannot be read is not
  reported again through the checks that depend on it (no "unknown product"
  on every row when ``products.csv`` is missing, no "missing value" on every
  row of a missing column, no "required setting is missing" when
  ``scenario.toml`` has a syntax error).
* A duplicate key is reported on the later row, in the key's last column
  (``period`` for ``demand.csv``); rows with a blank or unreadable key cell
  are not compared. Ids are compared exactly (case and inner spaces count;
  spaces around a value are ignored).
* A product whose ``status`` is neither ``active`` nor ``new`` is reported
  once; the checks that depend on the status skip it. ``status`` values and
  ids are case-sensitive (``New`` is an error, with a hint).
* A required table (``products``, ``warehouses``, ``supply``, ``lanes``)
  with a header but no rows is an error.
* Whole numbers (periods, ages, lead times, settings such as
  ``horizon.periods``) beyond 2**53 are an error: they cannot be held exactly.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np
import pandas as pd

from optsupply.errors import ERROR, WARNING, Report
from optsupply.io import FIRST_DATA_ROW, MAX_WHOLE, MISSING_COLUMN, did_you_mean
from optsupply.schema import H_LAST, SECTIONS, SETTING_BY_KEY, SETTINGS, TABLE_BY_NAME, TABLES, Column, Setting


# --------------------------------------------------------------------------- settings


def check_settings(raw: dict[str, Any], lines: dict[str, int], file: str, report: Report) -> dict[str, Any]:
    """Typed settings with defaults; problems go to ``report``."""
    out: dict[str, Any] = {}
    unreadable = _file_reported(report, file)  # syntax error, missing file or sheet: said once already
    for key, value in raw.items():
        if key in SECTIONS:  # e.g. horizon = 6: a section written as a value
            report.add(file, lines.get(key), key, f"unknown setting, ignored: {key} is a section, write [{key}] "
                       "and its keys on the lines below", WARNING)
        elif key not in SETTING_BY_KEY:
            report.add(file, lines.get(key), key, "unknown setting, ignored" + did_you_mean(key, list(SETTING_BY_KEY)), WARNING)
    for spec in SETTINGS:
        value = raw.get(spec.key)
        if value is None:
            if spec.required and not unreadable:
                section = spec.key.split(".")[0]
                report.add(file, lines.get(section), spec.key, f"required setting is missing (write [{section}] then {spec.key.split('.')[-1]} = ...)")
            out[spec.key] = spec.default
            continue
        out[spec.key] = _check_setting(spec, value, lines.get(spec.key), file, report)
    return out


def _check_setting(spec: Setting, value: Any, line: int | None, file: str, report: Report) -> Any:
    if spec.dtype == "str":
        if not isinstance(value, (str, _dt.date)):
            report.add(file, line, spec.key, f"must be text, not {value!r}")
            return spec.default
        value = str(value)
        if spec.kind == "date":
            try:
                ok = not pd.isna(pd.Timestamp(value))  # "" gives NaT
            except (ValueError, TypeError):
                ok = False
            if not ok:
                report.add(file, line, spec.key, f"'{value}' is not a date (use YYYY-MM-DD)")
                return spec.default
        if spec.kind == "freq":
            try:
                pd.tseries.frequencies.to_offset(value)
            except ValueError:
                report.add(file, line, spec.key, f"'{value}' is not a pandas frequency (e.g. D, W-MON, MS)")
                return spec.default
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        report.add(file, line, spec.key, f"must be a number, not {value!r}")
        return spec.default
    if isinstance(value, float) and math.isnan(value):
        report.add(file, line, spec.key, "NaN is not allowed")
        return spec.default
    if spec.dtype == "int":
        if isinstance(value, float) and not value.is_integer():
            report.add(file, line, spec.key, f"must be a whole number, not {value}")
            return spec.default
        if abs(value) > MAX_WHOLE:
            report.add(file, line, spec.key, f"{value:g} is too large")
            return spec.default
        value = int(value)
    else:
        value = float(value)
    if not _in_range(value, spec.lower, spec.upper, spec.lower_open, spec.upper_open):
        report.add(file, line, spec.key, f"{value} is out of range: must be {_range_text(spec.lower, spec.upper, spec.lower_open, spec.upper_open)}")
        return spec.default
    return value


def _in_range(v: float, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> bool:
    if lo is not None and (v < lo or (lo_open and v == lo)):
        return False
    if hi is not None and (v > hi or (hi_open and v == hi)):
        return False
    return True


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    parts = []
    if lo is not None:
        parts.append(("> " if lo_open else "≥ ") + f"{lo:g}")
    if hi is not None:
        parts.append(("< " if hi_open else "≤ ") + f"{hi:g}")
    return " and ".join(parts)


# --------------------------------------------------------------------------- tables


class _Ctx:
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


def _file_reported(report: Report, file: str) -> bool:
    """An error about the file as a whole (missing, unreadable, not a table) was reported already."""
    return any(p.file == file and p.column is None and p.severity == ERROR for p in report.problems)


def check_tables(tables: dict[str, pd.DataFrame], files: dict[str, str], present: set[str],
                 horizon: int | None, report: Report) -> None:
    """Every check on the typed tables; problems go to ``report``."""
    ctx = _Ctx(tables, files, present, horizon, report)
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


def _check_presence(ctx: _Ctx) -> None:
    def missing(table: str) -> bool:
        return table not in ctx.present and not _file_reported(ctx.report, ctx.file(table))

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


def _check_values(ctx: _Ctx, table: str, col: Column, s: pd.Series) -> None:
    if ctx.column_missing(table, col.name):
        return  # reported once for the whole column
    if col.dtype in ("str", "bool"):
        if col.dtype == "str" and col.required:
            texts = s.astype(str).to_numpy(dtype=object)
            for i in _positions_of(texts, lambda text: not text.strip()):
                ctx.add(table, i, col.name, "missing value (this column is required)")
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
            bad |= (v > hi) | (col.upper_open & (v == hi))
    bad &= finite
    for i in np.flatnonzero(bad):
        ctx.add(table, i, col.name, _range_message(col, v[i], lo, hi, ctx.H))


def _range_message(col: Column, value: float, lo: float | None, hi: float | None, H: int | None) -> str:
    shown = f"{value:g}"
    if col.period == "horizon":
        return f"period {shown} is out of range: the horizon has periods 0 to {H - 1}" if H else f"period {shown} is out of range"
    if col.period == "history":
        return f"period {shown} is not in the past: history periods are negative (-1 is the period before the horizon)"
    if lo == 0 and value < 0 and not col.lower_open:
        what = "price or cost" if col.unit == "currency/unit" else "cost" if col.unit.startswith("currency") else "value"
        return f"negative {what} {shown}: must be ≥ 0"
    return f"{shown} is out of range: must be {_range_text(lo, hi, col.lower_open, col.upper_open)}"


def _positions_of(values: np.ndarray, wanted: Any) -> list[int]:
    """Positions of the values for which ``wanted(value)`` holds, in order.

    ``wanted`` is asked once per distinct value: a column of a large table holds few.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    hit = np.fromiter((bool(wanted(u)) for u in uniques.tolist()), dtype=bool, count=len(uniques))
    if not hit.any():
        return []
    return np.flatnonzero(hit[codes]).tolist()


def _check_duplicates(ctx: _Ctx, table: str, key: tuple[str, ...]) -> None:
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


def _check_ref(ctx: _Ctx, table: str, column: str, known: set[str], what: str, severity: str = "error") -> None:
    options = sorted(known)
    values = ctx.t[table][column].astype(str).to_numpy(dtype=object)
    for i in _positions_of(values, lambda v: v not in known and v.strip()):
        v = values[i]
        ctx.add(table, i, column, f"unknown {what} '{v}'" + did_you_mean(v, options), severity)


def _check_references(ctx: _Ctx) -> None:
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


def _check_products(ctx: _Ctx) -> None:
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


def _check_supply(ctx: _Ctx) -> None:
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


def _check_regions(ctx: _Ctx) -> None:
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
