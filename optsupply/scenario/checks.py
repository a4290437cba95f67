"""Checks of a scenario's content: settings, values, keys and references.

:func:`check_settings` and :func:`check_tables` look at typed data (see
:mod:`optsupply.scenario.coerce`) and add every problem they find to a
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
* ``horizon.freq`` must step forward, and ``horizon.start`` with it must
  give every period a date (years 1 to 9999), since plans are labelled with
  them.
* Tables built in Python (``with_tables``, ``with_changes``) are read as
  files are (:func:`optsupply.scenario.coerce.coerce_frame`); the checks here also reject
  a fraction in a whole-number column and a ``status`` that is neither
  ``active`` nor ``new`` for tables that did not come through the reader.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np
import pandas as pd

from optsupply.errors import ERROR, WARNING, Report
from optsupply.scenario.cells import FIRST_DATA_ROW, MAX_UNKNOWN_COLUMNS, MAX_WHOLE, MISSING_COLUMN, did_you_mean
from optsupply.scenario.schema import H_LAST, SECTIONS, SETTING_BY_KEY, SETTINGS, TABLE_BY_NAME, TABLES, Column, Setting


# --------------------------------------------------------------------------- settings


def check_settings(raw: dict[str, Any], lines: dict[str, int], file: str, report: Report) -> dict[str, Any]:
    """Typed settings with defaults; problems go to ``report``."""
    out: dict[str, Any] = {}
    unreadable = _file_reported(report, file)  # syntax error, missing file or sheet: said once already
    unknown = [key for key in raw if key not in SETTING_BY_KEY]
    for key in unknown[:MAX_UNKNOWN_COLUMNS]:
        if key in SECTIONS:  # e.g. horizon = 6: a section written as a value
            report.add(file, lines.get(key), key, f"unknown setting, ignored: {key} is a section, write [{key}] "
                       "and its keys on the lines below", WARNING)
        else:
            report.add(file, lines.get(key), key, "unknown setting, ignored" + did_you_mean(key, list(SETTING_BY_KEY)), WARNING)
    if len(unknown) > MAX_UNKNOWN_COLUMNS:  # as for a table's unknown columns: the rest in one warning
        more = unknown[MAX_UNKNOWN_COLUMNS:]
        shown = ", ".join(k if len(k) <= 40 else k[:37] + "..." for k in more[:3]) + (", ..." if len(more) > 3 else "")
        report.add(file, None, None, f"{len(more):,} more unknown settings ({shown}), ignored", WARNING)
    for spec in SETTINGS:
        value = raw.get(spec.key)
        if value is None:
            if spec.required and not unreadable:
                section = spec.key.split(".")[0]
                report.add(file, lines.get(section), spec.key, f"required setting is missing (write [{section}] then {spec.key.split('.')[-1]} = ...)")
            out[spec.key] = spec.default
            continue
        out[spec.key] = _check_setting(spec, value, lines.get(spec.key), file, report)
    _check_dates(out, lines, file, report)
    return out


def _check_dates(settings: dict[str, Any], lines: dict[str, int], file: str, report: Report) -> None:
    """``horizon.start`` and ``horizon.freq`` date every period of a plan: check that they can."""
    start, freq, H = settings.get("horizon.start"), settings.get("horizon.freq"), settings.get("horizon.periods")
    if freq:
        offset = pd.tseries.frequencies.to_offset(freq)  # read already
        if offset.n <= 0:
            report.add(file, lines.get("horizon.freq"), "horizon.freq",
                       f"'{freq}' does not move forward: give a positive step (e.g. W-MON, 2W, MS)")
            settings["horizon.freq"] = None
            return
    if not start or not isinstance(H, int) or H < 1:
        return
    try:
        offset = pd.tseries.frequencies.to_offset(freq or "D")
        first = pd.date_range(start=start, periods=min(H, 2), freq=offset)
        last = first[-1] + offset * (H - len(first))
        for day in (first[0], last):
            day.strftime("%Y-%m-%d")
    except (ValueError, TypeError, OverflowError, NotImplementedError) as exc:
        why = str(exc).split(". ")[0][:100]
        report.add(file, lines.get("horizon.start"), "horizon.start",
                   f"periods 0 to {H - 1} from {start} every {freq or 'D'} cannot all be given dates "
                   f"(years 1 to 9999): {why}")
        settings["horizon.start"] = None


def setting_problem(key: str, value: Any) -> tuple[Any, str | None]:
    """``(typed value, None)`` when ``value`` is allowed for the setting ``key``, else ``(default, what is wrong)``.

    The rule of scenario.toml (:data:`optsupply.scenario.schema.SETTINGS`), for values given
    elsewhere: the command line's ``--time-limit``, ``--gap``, ``--threads`` and
    ``--seed``, and :class:`optsupply.optimizer.highs.SolveOptions`.
    """
    report = Report()
    typed = _check_setting(SETTING_BY_KEY[key], value, None, "value", report)
    return typed, (report.problems[0].message if report.problems else None)


def _check_setting(spec: Setting, value: Any, line: int | None, file: str, report: Report) -> Any:
    if spec.dtype == "str":
        if not isinstance(value, (str, _dt.date)):
            report.add(file, line, spec.key, f"must be text, not {_shown_value(value)}")
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
            except (ValueError, TypeError, OverflowError):
                report.add(file, line, spec.key, f"'{value}' is not a pandas frequency (e.g. D, W-MON, MS)")
                return spec.default
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        report.add(file, line, spec.key, f"must be a number, not {_shown_value(value)}")
        return spec.default
    if isinstance(value, float) and math.isnan(value):
        report.add(file, line, spec.key, "NaN is not allowed")
        return spec.default
    if spec.dtype == "int":
        if isinstance(value, float) and not value.is_integer():
            report.add(file, line, spec.key, f"must be a whole number, not {value}")
            return spec.default
        if abs(value) > MAX_WHOLE:
            report.add(file, line, spec.key, f"{_shown_number(value)} is too large: whole numbers can be at most 2**53")
            return spec.default
        value = int(value)
    else:
        try:
            value = float(value)
        except OverflowError:  # a whole number beyond the largest float
            report.add(file, line, spec.key, f"{_shown_number(value)} is too large")
            return spec.default
    if not _in_range(value, spec.lower, spec.upper, spec.lower_open, spec.upper_open):
        report.add(file, line, spec.key, f"{value} is out of range: must be {_range_text(spec.lower, spec.upper, spec.lower_open, spec.upper_open)}")
        return spec.default
    return value


def _shown_value(value: Any) -> str:
    """A setting's value for a message: its repr, shortened."""
    try:
        text = repr(value)
    except ValueError:  # a whole number too long to show
        return f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _shown_number(value: float) -> str:
    """A number for a message; a huge whole number is shown by its count of digits."""
    if isinstance(value, int) and abs(value) >= 10**16:
        return f"a {len(str(abs(value))) if abs(value) < 10**4000 else 'more than 4000'}-digit number"
    return f"{value:g}"


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
                 horizon: int | None, report: Report, settings: dict[str, Any] | None = None,
                 setting_lines: dict[str, int] | None = None) -> None:
    """Every check on the typed tables; problems go to ``report``.

    With ``settings`` (the typed settings), a scenario without errors is also
    checked for plans that cannot exist (:func:`check_feasibility`).
    """
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
    if settings is not None and report.ok:
        check_feasibility(ctx, settings, setting_lines)


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
    text = f"{shown} is out of range: must be {_range_text(lo, hi, col.lower_open, col.upper_open)}"
    if lo is not None and lo > 0 and value <= 0:  # a Hill parameter: positive by definition, and within what is accepted
        text = f"{shown} is out of range: must be > 0, and this model accepts {_range_text(lo, hi, False, False)}"
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


# --------------------------------------------------------------------------- plans that cannot exist


def check_feasibility(ctx: _Ctx, settings: dict[str, Any], setting_lines: dict[str, int] | None = None) -> None:
    """Inputs that leave no feasible plan, found without a solve (README "When there is no plan").

    Each check is sound: it reports only what no plan can satisfy (or, for a
    must-launch product, a launch that could never be stocked or sold, which is
    a contradiction in the input). The conflicts that need a solve (launch
    windows against the cap together with minimum assortments, receipts that
    compete for shared capacity, ...) are explained by :mod:`optsupply.optimizer.explain`
    when ``optsupply solve`` finds no plan. Runs only on tables without errors.
    """
    if ctx.H is None or not ctx.usable("products") or ctx.t["products"].empty:
        return
    where = _SettingsWhere(ctx, setting_lines or {})
    _check_must_launch_supply(ctx)
    _check_min_products(ctx)
    _check_must_launch_cap(ctx, settings, where)
    _check_receipts_fit(ctx, settings, where)


class _SettingsWhere:
    """File label and line of a setting, for problems that name one."""

    def __init__(self, ctx: _Ctx, lines: dict[str, int]):
        label = ctx.file("products")
        if label.endswith("]") and "[" in label:  # scenario.xlsx[products] -> scenario.xlsx[scenario]
            from optsupply.scenario.schema import WORKBOOK_SETTINGS_SHEET

            self.file = f"{label.split('[')[0]}[{WORKBOOK_SETTINGS_SHEET}]"
        else:
            from optsupply.scenario.schema import SCENARIO_FILE

            self.file = SCENARIO_FILE
        self.lines = lines

    def add(self, report: Report, key: str, message: str) -> None:
        report.add(self.file, self.lines.get(key), key, message)


def _new_products(ctx: _Ctx) -> list[tuple[int, str, int, int, bool]]:
    """(position, product, first launch period, last launch period, must_launch) of every new product."""
    p = ctx.t["products"]
    H = int(ctx.H)
    out = []
    names = p["product"].astype(str).tolist()
    status = p["status"].astype(str).tolist()
    must = p["must_launch"].astype(bool).tolist()
    early = p["launch_earliest"].to_numpy(dtype="float64")
    late = p["launch_latest"].to_numpy(dtype="float64")
    for i, name in enumerate(names):
        if status[i] == "new" and name.strip():
            out.append((i, name, max(0, int(early[i])), min(H - 1, int(late[i])), bool(must[i])))
    return out


def _span(lo: int, hi: int) -> str:
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def _g(x: float) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.2f}"


def _check_must_launch_supply(ctx: _Ctx) -> None:
    """A must-launch product needs a warehouse, a lane to its customers and a receipt before its demand ends."""
    must = [x for x in _new_products(ctx) if x[4]]
    if not must or not ctx.usable("supply") or not ctx.usable("lanes"):
        return
    H = int(ctx.H)
    s = ctx.t["supply"]
    whs: dict[str, list[tuple[str, int]]] = {}
    for p, w, lead in zip(s["product"].astype(str), s["warehouse"].astype(str), s["lead_time"].to_numpy(dtype="float64")):
        whs.setdefault(p, []).append((w, int(lead)))
    lanes: dict[str, set[str]] = {}
    for w, r in zip(ctx.t["lanes"]["warehouse"].astype(str), ctx.t["lanes"]["region"].astype(str)):
        lanes.setdefault(w, set()).add(r)
    lc = ctx.t["launch_curve"]
    names = {x[1] for x in must}
    keep = (lc["product"].astype(str).isin(names).to_numpy() & (lc["demand"].to_numpy(dtype="float64") > 0)
            & (lc["age"].to_numpy(dtype="float64") < H))
    ages: dict[str, dict[str, int]] = {}  # product -> region -> last age with demand within the horizon
    if keep.any():
        last_age = pd.DataFrame({"p": lc["product"].astype(str).to_numpy()[keep], "r": lc["region"].astype(str).to_numpy()[keep],
                                 "a": lc["age"].to_numpy(dtype="float64")[keep]}).groupby(["p", "r"])["a"].max()
        for (p, r), a in last_age.items():
            ages.setdefault(p, {})[r] = int(a)
    ads = ctx.t["response"]
    advertised = set(ads["product"].astype(str)[ads["max_uplift"].to_numpy(dtype="float64") > 0])
    first: dict[tuple[str, str], int] = {}  # (product, warehouse) -> first period with stock already on its way
    for p, w, u in zip(ctx.t["initial_stock"]["product"].astype(str), ctx.t["initial_stock"]["warehouse"].astype(str),
                       ctx.t["initial_stock"]["units"].to_numpy(dtype="float64")):
        if u > 0:
            first[p, w] = 0
    pl = ctx.t["pipeline"]
    for p, w, t, u in zip(pl["product"].astype(str), pl["warehouse"].astype(str), pl["period"].to_numpy(dtype="float64"),
                          pl["units"].to_numpy(dtype="float64")):
        if u > 0:
            first[p, w] = min(first.get((p, w), H), int(t))
    supply_file, lanes_file, curve_file = ctx.file("supply"), ctx.file("lanes"), ctx.file("launch_curve")
    for i, name, _lo, hi, _must in must:
        mine = whs.get(name, [])
        if not mine:
            ctx.add("products", i, "must_launch", f"{name} must launch (must_launch = true), but {supply_file} lists "
                    f"no warehouse for {name}: it could be launched but never stocked or sold")
            continue
        regions = set(ages.get(name, {}))
        if not regions:
            continue  # no demand at all: nothing to reach
        reach = [(w, lead) for w, lead in mine if lanes.get(w, set()) & regions]
        if not reach:
            ctx.add("products", i, "must_launch", f"{name} must launch (must_launch = true), but none of its "
                    f"warehouses in {supply_file} ({', '.join(sorted({w for w, _ in mine}))}) has a lane in "
                    f"{lanes_file} to a region where it has demand in {curve_file} ({', '.join(sorted(regions))}): "
                    "it could be launched but never sold")
            continue
        best = None  # (slack, warehouse, earliest receipt, last sale)
        for w, lead in reach:
            arrive = min(lead, first.get((name, w), H))
            last = H - 1 if name in advertised else min(H - 1, hi + max(ages[name][r] for r in lanes[w] & regions))
            if best is None or last - arrive > best[0]:
                best = (last - arrive, w, arrive, last, lead)
        if best[0] < 0:
            _, w, arrive, last, lead = best
            ctx.add("products", i, "must_launch", f"{name} must launch (must_launch = true), but no stock can reach "
                    f"its customers in time: the earliest receipt is in period {arrive} ({w}: lead_time {lead} in "
                    f"{supply_file}) and its demand ends in period {last} (launch_latest {hi} plus the last age "
                    f"with demand in {curve_file})")


def _check_min_products(ctx: _Ctx) -> None:
    """A minimum assortment larger than the group's new products: no member can launch (an error if one must)."""
    new = _new_products(ctx)
    if not new:
        return
    p = ctx.t["products"]
    for kind, table in (("category", "categories"), ("brand", "brands")):
        df = ctx.t[table]
        if df.empty or not ctx.usable(table) or ctx.column_missing("products", kind):
            continue
        group = p[kind].astype(str).tolist()
        members: dict[str, list[tuple[int, str, bool]]] = {}
        for i, name, _lo, _hi, must in new:
            members.setdefault(group[i], []).append((i, name, must))
        for j, (g, mn) in enumerate(zip(df[kind].astype(str), df["min_products"].to_numpy(dtype="float64"))):
            mem = members.get(g, [])
            if not mem or not mn > len(mem):
                continue
            listed = ", ".join(n for _, n, _ in mem)
            forced = [(i, n) for i, n, must in mem if must]
            if forced:
                i, n = forced[0]
                ctx.add(table, j, "min_products", f"min_products of {kind} {g} is {mn:g}, but only {len(mem)} new "
                        f"products have {kind} {g} ({listed}), and {n} must launch ({ctx.file('products')} row "
                        f"{ctx.row('products', i)}): once it launches, {mn:g} of them would have to")
            else:
                ctx.add(table, j, "min_products", f"min_products of {kind} {g} is {mn:g}, but only {len(mem)} new "
                        f"products have {kind} {g} ({listed}): none of them can ever launch", WARNING)


def _check_must_launch_cap(ctx: _Ctx, settings: dict[str, Any], where: _SettingsWhere) -> None:
    """Must-launch products whose windows hold more launches than launch.max_per_period allows (Hall's condition)."""
    cap = settings.get("launch.max_per_period")
    must = [x for x in _new_products(ctx) if x[4]]
    if cap is None or not must:
        return
    lo = np.array([x[2] for x in must])
    hi = np.array([x[3] for x in must])
    best = None  # (excess, a, b)
    for a in sorted(set(lo.tolist())):
        for b in sorted(set(hi.tolist())):
            if b < a:
                continue
            excess = int(((lo >= a) & (hi <= b)).sum()) - int(cap) * (b - a + 1)
            if excess > 0 and (best is None or (excess, a - b) > (best[0], best[1] - best[2])):
                best = (excess, a, b)
    if best is None:
        return
    _, a, b = best
    inside = [x for x in must if a <= x[2] and x[3] <= b]
    listed = ", ".join(f"{n} ({ctx.file('products')} row {ctx.row('products', i)}, window {_span(l, h)})"
                       for i, n, l, h, _ in inside[:8])
    if len(inside) > 8:
        listed += f" and {len(inside) - 8} more"
    allowed = int(cap) * (b - a + 1)
    where.add(ctx.report, "launch.max_per_period",
              f"launch.max_per_period = {int(cap)} allows at most {allowed} launch{'es' * (allowed != 1)} in "
              f"period{'s' * (a != b)} {_span(a, b)}, but {len(inside)} must_launch "
              f"product{'s' * (len(inside) != 1)} can only launch then: {listed}")


def _check_receipts_fit(ctx: _Ctx, settings: dict[str, Any], where: _SettingsWhere) -> None:
    """Initial stock and pipeline receipts that cannot fit in storage_capacity or under max_inventory_value.

    Stock leaves a warehouse only by shipments, which are bounded by the
    demand its lanes reach (with full ad and featured uplift), lane capacity
    and throughput. The stock that stays is at least
    ``L(t) = max(0, L(t-1) + pipeline(t) - most that can leave in t)`` from
    ``L(-1) = initial stock``; orders only add to it.
    """
    init, pipe = ctx.t["initial_stock"], ctx.t["pipeline"]
    if (init.empty and pipe.empty) or not all(ctx.usable(t) for t in ("warehouses", "supply", "lanes")):
        return
    cap_value = settings.get("finance.max_inventory_value")
    wh = ctx.t["warehouses"]
    storage = dict(zip(wh["warehouse"].astype(str), wh["storage_capacity"].to_numpy(dtype="float64")))
    if cap_value is None and all(math.isinf(v) for v in storage.values()):
        return
    H = int(ctx.H)
    wpos = {w: i for i, w in enumerate(wh["warehouse"].astype(str))}
    throughput = dict(zip(wh["warehouse"].astype(str), wh["throughput_capacity"].to_numpy(dtype="float64")))
    receipts: dict[tuple[str, str], np.ndarray] = {}  # (p, w) -> units arriving in t (initial stock at -1 kept apart)
    initial: dict[tuple[str, str], float] = {}
    rows: dict[tuple[str, str], list[tuple[int, str, float]]] = {}  # (p, w) -> (period, "file row N", units)
    for i, (p, w, u) in enumerate(zip(init["product"].astype(str), init["warehouse"].astype(str),
                                      init["units"].to_numpy(dtype="float64"))):
        if u > 0:
            initial[p, w] = initial.get((p, w), 0.0) + u
            receipts.setdefault((p, w), np.zeros(H))
            rows.setdefault((p, w), []).append((-1, f"{ctx.file('initial_stock')} row {ctx.row('initial_stock', i)}", u))
    for i, (p, w, t, u) in enumerate(zip(pipe["product"].astype(str), pipe["warehouse"].astype(str),
                                         pipe["period"].to_numpy(dtype="float64"), pipe["units"].to_numpy(dtype="float64"))):
        if u > 0:
            receipts.setdefault((p, w), np.zeros(H))[int(t)] += u
            rows.setdefault((p, w), []).append((int(t), f"{ctx.file('pipeline')} row {ctx.row('pipeline', i)}", u))
    if not receipts:
        return
    prods = {p for p, _ in receipts}
    pr = ctx.t["products"]
    attr = {c: dict(zip(pr["product"].astype(str), pr[c].to_numpy(dtype="float64")))
            for c in ("volume", "unit_cost", "featured_lift")}
    lanes: dict[str, list[tuple[str, float]]] = {}
    for w, r, c in zip(ctx.t["lanes"]["warehouse"].astype(str), ctx.t["lanes"]["region"].astype(str),
                       ctx.t["lanes"]["capacity"].to_numpy(dtype="float64")):
        lanes.setdefault(w, []).append((r, c))
    most, ad, ad_from, ad_regions = _most_demand(ctx, prods)  # (p, r) -> most base demand per period; uplift

    def can_leave(p: str, w: str) -> np.ndarray:
        """Most units of p that can leave w in each period."""
        regions = [r for r, _ in lanes.get(w, [])]
        out = np.zeros(H)
        for r in regions:
            if (p, r) in most:
                out += most[p, r]
        out *= 1.0 + attr["featured_lift"][p]
        if ad.get(p, 0.0) > 0 and ad_regions.get(p, set()) & set(regions):
            out[ad_from.get(p, 0):] += ad[p]
        vol = attr["volume"][p]
        if vol > 0:
            lane_total = sum(c for _, c in lanes.get(w, []))
            out = np.minimum(out, min(throughput[w], lane_total) / vol)
        return out

    stays: dict[tuple[str, str], np.ndarray] = {}
    leave: dict[tuple[str, str], np.ndarray] = {}
    for (p, w), arr in receipts.items():
        out = leave[p, w] = can_leave(p, w)
        low, level = np.zeros(H), initial.get((p, w), 0.0)
        for t in range(H):
            level = max(0.0, level + arr[t] - out[t])
            low[t] = level
        stays[p, w] = low

    for w in sorted({w for _, w in receipts}, key=wpos.get):
        cap = storage[w]
        if math.isinf(cap):
            continue
        mine = [(p, ww) for p, ww in receipts if ww == w]
        vol = {p: attr["volume"][p] for p, _ in mine}
        low = sum(vol[p] * stays[p, w] for p, _ in mine)
        # the warehouse as a whole: at most throughput (and its lanes) leave per period, whatever the product
        lane_total = sum(c for _, c in lanes.get(w, []))
        agg, level = np.zeros(H), sum(vol[p] * initial.get((p, w), 0.0) for p, _ in mine)
        out_all = np.minimum(sum(vol[p] * leave[p, w] for p, _ in mine), min(throughput[w], lane_total))
        arriving = sum(vol[p] * receipts[p, w] for p, _ in mine)
        for t in range(H):
            level = max(0.0, level + arriving[t] - out_all[t])
            agg[t] = level
        low = np.maximum(low, agg)
        over = np.flatnonzero(low > cap + 1e-6 * max(1.0, cap))
        if not len(over):
            continue
        t = int(over[0])
        inflow = sum(vol[p] * (initial.get((p, w), 0.0) + receipts[p, w][: t + 1].sum()) for p, _ in mine)
        listed = _receipt_listing(rows, mine, t)
        shown = sorted({p for p, _ in mine if (p, w) in initial or receipts[p, w][: t + 1].any()})
        vols = ", ".join(f"{p} {_g(vol[p])}" for p in shown[:4]) + (f" and {len(shown) - 4} more" * (len(shown) > 4))
        ctx.add("warehouses", wpos[w], "storage_capacity",
                f"storage_capacity of {w} is {_g(cap)}, but initial_stock and pipeline bring {_g(inflow)} (volume, "
                f"with products.csv volume per unit {vols}) "
                f"into {w} by the end of period {t} ({listed}) and at most {_g(inflow - low[t])} of it can leave "
                f"by then (its lanes, demand and throughput_capacity): at least {_g(low[t])} stays, "
                f"{_g(low[t] - cap)} over capacity")

    if cap_value is None:
        return
    uc = attr["unit_cost"]
    # a product as a whole sells at most its demand in the regions its warehouses reach, whichever ships it
    by_p: dict[str, list[str]] = {}
    for p, w in receipts:
        by_p.setdefault(p, []).append(w)
    value = np.zeros(H)
    for p, ws in by_p.items():
        per_w = sum(stays[p, w] for w in ws)
        regions = sorted({r for w in ws for r, _ in lanes.get(w, [])})
        out = sum((most[p, r] for r in regions if (p, r) in most), np.zeros(H)) * (1.0 + attr["featured_lift"][p])
        if ad.get(p, 0.0) > 0 and ad_regions.get(p, set()) & set(regions):
            out[ad_from.get(p, 0):] += ad[p]
        out = np.minimum(out, sum(leave[p, w] for w in ws))
        low, level = np.zeros(H), sum(initial.get((p, w), 0.0) for w in ws)
        arr = sum(receipts[p, w] for w in ws)
        for t in range(H):
            level = max(0.0, level + arr[t] - out[t])
            low[t] = level
        value += uc[p] * np.maximum(per_w, low)
    over = np.flatnonzero(value > cap_value + 1e-6 * max(1.0, cap_value))
    if not len(over):
        return
    t = int(over[0])
    listed = _receipt_listing(rows, list(receipts), t)
    where.add(ctx.report, "finance.max_inventory_value",
              f"finance.max_inventory_value is {_g(cap_value)}, but initial_stock and pipeline put stock worth at "
              f"least {_g(value[t])} on hand at the end of period {t} that cannot be sold by then ({listed}): "
              f"{_g(value[t] - cap_value)} over the cap")


def _receipt_listing(rows: dict[tuple[str, str], list[tuple[int, str, float]]], keys: list[tuple[str, str]],
                     until: int, limit: int = 4) -> str:
    """``pipeline.csv row 2: 80 units of P1 in W1 in period 2; ...`` for the receipts up to ``until``."""
    items = sorted((t, where, u, p, w) for (p, w) in keys for (t, where, u) in rows.get((p, w), []) if t <= until)
    text = "; ".join(f"{where}: {_g(u)} units of {p} in {w}" + (" at the start" if t < 0 else f" in period {t}")
                     for t, where, u, p, w in items[:limit])
    return text + (f"; and {len(items) - limit} more rows" if len(items) > limit else "")


def _most_demand(ctx: _Ctx, prods: set[str]) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, float],
                                                       dict[str, int], dict[str, set[str]]]:
    """Most base demand of each product in each region and period, under any launch period.

    Active products: demand.csv. New products: the largest launch-curve demand any
    launch period in the window gives, times seasonality. Also each product's total
    max_uplift, the first period it can have uplift and the regions its uplift goes to
    (those with a positive demand or launch-curve row, as the model's shares).
    """
    H = int(ctx.H)
    pr = ctx.t["products"]
    info = {n: (s, c, e, la) for n, s, c, e, la in zip(
        pr["product"].astype(str), pr["status"].astype(str), pr["category"].astype(str),
        pr["launch_earliest"].to_numpy(dtype="float64"), pr["launch_latest"].to_numpy(dtype="float64")) if n in prods}
    out: dict[tuple[str, str], np.ndarray] = {}
    season: dict[str, np.ndarray] = {}
    se = ctx.t["seasonality"]
    for c, t, v in zip(se["category"].astype(str), se["period"].to_numpy(dtype="float64"), se["index"].to_numpy(dtype="float64")):
        if 0 <= t < H:
            season.setdefault(c, np.ones(H))[int(t)] = v
    ad_regions: dict[str, set[str]] = {}  # regions with a share of the product's ad uplift (any positive row)
    status = {p: v[0] for p, v in info.items()}
    for table, col, kind in (("demand", "period", "active"), ("launch_curve", "age", "new")):
        df = ctx.t[table]
        if df.empty:
            continue
        prod = df["product"].astype(str).to_numpy(dtype=object)
        val = df["demand"].to_numpy(dtype="float64")
        keep = df["product"].astype(str).isin({p for p, s in status.items() if s == kind}).to_numpy() & (val > 0)
        if not keep.any():
            continue
        pc, pu = pd.factorize(prod[keep])
        rc, ru = pd.factorize(df["region"].astype(str).to_numpy(dtype=object)[keep])
        pair_codes, codes = np.unique(pc.astype(np.int64) * len(ru) + rc, return_inverse=True)
        uniques = [(pu[k // len(ru)], ru[k % len(ru)]) for k in pair_codes.tolist()]
        for p, r in uniques:
            ad_regions.setdefault(p, set()).add(r)
        when = df[col].to_numpy(dtype="float64")[keep]
        inside = (when >= 0) & (when < H)
        mat = np.zeros((len(uniques), H))
        np.add.at(mat, (codes[inside], when[inside].astype(np.int64)), val[keep][inside])
        if kind == "active":
            out.update({(p, r): mat[i] for i, (p, r) in enumerate(uniques)})
            continue
        # new products: the most any launch period τ in [lo, hi] gives at t, curve[t - τ] · season[t]
        lo = np.array([max(0, int(info[p][2])) for p, _ in uniques])
        hi = np.array([min(H - 1, int(info[p][3])) for p, _ in uniques])
        idx = np.arange(H)
        best = np.zeros((len(uniques), H))
        for t in range(H):
            ok = (idx[None, :] >= (t - np.minimum(hi, t))[:, None]) & (idx[None, :] <= (t - lo)[:, None])
            best[:, t] = np.where(ok, mat, 0.0).max(axis=1)
        for i, (p, r) in enumerate(uniques):
            cat = info[p][1]
            out[p, r] = best[i] * season[cat] if cat in season else best[i]
    ad: dict[str, float] = {}
    rs = ctx.t["response"]
    for p, u in zip(rs["product"].astype(str), rs["max_uplift"].to_numpy(dtype="float64")):
        if p in prods and u > 0:
            ad[p] = ad.get(p, 0.0) + u
    ad_from = {p: max(0, int(v[2])) for p, v in info.items() if v[0] == "new"}
    return out, ad, ad_from, ad_regions
