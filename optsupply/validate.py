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
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np
import pandas as pd

from optsupply.errors import WARNING, Report
from optsupply.io import FIRST_DATA_ROW, did_you_mean
from optsupply.schema import SETTING_BY_KEY, SETTINGS, TABLE_BY_NAME, TABLES, Column, Setting


# --------------------------------------------------------------------------- settings


def check_settings(raw: dict[str, Any], lines: dict[str, int], file: str, report: Report) -> dict[str, Any]:
    """Typed settings with defaults; problems go to ``report``."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in SETTING_BY_KEY:
            report.add(file, lines.get(key), key, "unknown setting, ignored" + did_you_mean(key, list(SETTING_BY_KEY)), WARNING)
    for spec in SETTINGS:
        value = raw.get(spec.key)
        if value is None:
            if spec.required:
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
                pd.Timestamp(value)
            except (ValueError, TypeError):
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
    """What every table check needs: the tables, file labels and the report."""

    def __init__(self, tables: dict[str, pd.DataFrame], files: dict[str, str], present: set[str],
                 horizon: int | None, report: Report):
        self.t = tables
        self.files = files
        self.present = present
        self.H = horizon
        self.report = report

    def file(self, table: str) -> str:
        return self.files.get(table, TABLE_BY_NAME[table].file)

    def add(self, table: str, idx: Any, column: str | None, message: str, severity: str = "error") -> None:
        row = None if idx is None else int(idx) + FIRST_DATA_ROW
        self.report.add(self.file(table), row, column, message, severity)

    def flagged(self, table: str, idx: int, column: str) -> bool:
        return self.report.flagged(self.file(table), idx + FIRST_DATA_ROW, column)


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
    for table in TABLES:
        if table.presence == "required" and table.name not in ctx.present:
            ctx.report.add(ctx.file(table.name), None, None, "required table is missing")
    status = ctx.t["products"]["status"]
    if (status == "active").any() and "demand" not in ctx.present:
        ctx.report.add(ctx.file("demand"), None, None, "required table is missing: products.csv lists active products")
    if (status == "new").any() and "launch_curve" not in ctx.present:
        ctx.report.add(ctx.file("launch_curve"), None, None, "required table is missing: products.csv lists new products")


def _check_values(ctx: _Ctx, table: str, col: Column, s: pd.Series) -> None:
    if col.dtype in ("str", "bool"):
        if col.dtype == "str" and col.required:
            for i in np.flatnonzero((s.astype(str).str.strip() == "").to_numpy()):
                ctx.add(table, i, col.name, "missing value (this column is required)")
        return
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
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
        what = {"currency": "cost", "currency/unit": "price or cost"}.get(col.unit, "value")
        return f"negative {what} {shown}: must be ≥ 0"
    return f"{shown} is out of range: must be {_range_text(lo, hi, col.lower_open, col.upper_open)}"


def _check_duplicates(ctx: _Ctx, table: str, key: tuple[str, ...]) -> None:
    df = ctx.t[table]
    dup = df.duplicated(list(key), keep=False).to_numpy()
    if not dup.any():
        return
    first: dict[tuple, int] = {}
    keys = df[list(key)].itertuples(index=False, name=None)
    for i, k in enumerate(keys):
        if not dup[i]:
            continue
        if k in first:
            shown = ", ".join(str(x) for x in k)
            ctx.add(table, i, key[-1] if len(key) == 1 else None,
                    f"duplicate {'/'.join(key)} ({shown}): already on row {first[k] + FIRST_DATA_ROW}")
        else:
            first[k] = i


def _check_ref(ctx: _Ctx, table: str, column: str, known: set[str], what: str, severity: str = "error") -> None:
    df = ctx.t[table]
    if df.empty:
        return
    s = df[column].astype(str)
    bad = ~s.isin(known).to_numpy() & (s.str.strip() != "").to_numpy()
    options = sorted(known)
    for i in np.flatnonzero(bad):
        ctx.add(table, i, column, f"unknown {what} '{s.iat[i]}'" + did_you_mean(s.iat[i], options), severity)


def _check_references(ctx: _Ctx) -> None:
    products = set(ctx.t["products"]["product"].astype(str))
    warehouses = set(ctx.t["warehouses"]["warehouse"].astype(str))
    for table in TABLES:
        for col in table.columns:
            if col.ref == "products":
                _check_ref(ctx, table.name, col.name, products, "product (not in products.csv)")
            elif col.ref == "warehouses":
                _check_ref(ctx, table.name, col.name, warehouses, "warehouse (not in warehouses.csv)")
    if not ctx.t["channels"].empty:
        _check_ref(ctx, "response", "channel", set(ctx.t["channels"]["channel"].astype(str)), "channel (not in channels.csv)")
    categories = set(ctx.t["products"]["category"].astype(str))
    brands = set(ctx.t["products"]["brand"].astype(str))
    _check_ref(ctx, "seasonality", "category", categories, "category (no product in products.csv has it)")
    _check_ref(ctx, "categories", "category", categories, "category (no product in products.csv has it)", WARNING)
    _check_ref(ctx, "brands", "brand", brands, "brand (no product in products.csv has it)", WARNING)


def _check_products(ctx: _Ctx) -> None:
    p = ctx.t["products"]
    if p.empty:
        return
    new = (p["status"] == "new").to_numpy()
    early = p["launch_earliest"].to_numpy(dtype="float64")
    late = p["launch_latest"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        for i in np.flatnonzero(new & (early > late)):
            ctx.add("products", i, "launch_earliest",
                    f"launch_earliest {early[i]:g} is after launch_latest {late[i]:g}: the launch window is empty")
    curve_products = set(ctx.t["launch_curve"]["product"].astype(str))
    demand_products = set(ctx.t["demand"]["product"].astype(str))
    names = p["product"].astype(str).to_numpy()
    for i in np.flatnonzero(new):
        if names[i] not in curve_products:
            ctx.add("products", i, "status", f"new product {names[i]} has no rows in launch_curve.csv")
    for i in np.flatnonzero(~new):
        if p["must_launch"].iat[i]:
            ctx.add("products", i, "must_launch", f"must_launch has no effect on active product {names[i]}", WARNING)
        if names[i] not in demand_products and "demand" in ctx.present:
            ctx.add("products", i, "product", f"active product {names[i]} has no rows in demand.csv: its demand is zero", WARNING)
    new_names = set(names[new])
    d = ctx.t["demand"]
    for i in np.flatnonzero(d["product"].astype(str).isin(new_names).to_numpy()):
        ctx.add("demand", i, "product", f"product {d['product'].iat[i]} is new: its demand belongs in launch_curve.csv")
    lc = ctx.t["launch_curve"]
    active_names = set(names[~new])
    for i in np.flatnonzero(lc["product"].astype(str).isin(active_names).to_numpy()):
        ctx.add("launch_curve", i, "product", f"product {lc['product'].iat[i]} is active: its demand belongs in demand.csv")
    if ctx.H is not None and not lc.empty:
        ages = lc["age"].to_numpy(dtype="float64")
        for i in np.flatnonzero(ages >= ctx.H):
            ctx.add("launch_curve", i, "age", f"age {ages[i]:g} is never reached within the {ctx.H}-period horizon", WARNING)
    supplied = set(ctx.t["supply"]["product"].astype(str))
    for i, name in enumerate(names):
        if name not in supplied and "supply" in ctx.present:
            ctx.add("products", i, "product", f"product {name} has no row in supply.csv: it can never be stocked or sold", WARNING)


def _check_supply(ctx: _Ctx) -> None:
    s = ctx.t["supply"]
    if not s.empty:
        lead = s["lead_time"].to_numpy(dtype="float64")
        if ctx.H is not None:
            for i in np.flatnonzero(lead >= ctx.H):
                ctx.add("supply", i, "lead_time", f"lead time {lead[i]:g} is not shorter than the {ctx.H}-period horizon: no order could arrive")
        lo, hi = s["min_order"].to_numpy(dtype="float64"), s["max_order"].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            for i in np.flatnonzero(lo > hi):
                ctx.add("supply", i, "min_order", f"min_order {lo[i]:g} is above max_order {hi[i]:g}")
    pairs = set(zip(s["product"].astype(str), s["warehouse"].astype(str), strict=True))
    for table in ("initial_stock", "pipeline"):
        df = ctx.t[table]
        for i, pw in enumerate(zip(df["product"].astype(str), df["warehouse"].astype(str), strict=True)):
            if pw not in pairs:
                ctx.add(table, i, "warehouse", f"supply.csv has no row for product {pw[0]} in warehouse {pw[1]}")


def _check_regions(ctx: _Ctx) -> None:
    lane_regions = set(ctx.t["lanes"]["region"].astype(str))
    demand_regions = set(ctx.t["demand"]["region"].astype(str)) | set(ctx.t["launch_curve"]["region"].astype(str))
    if "lanes" not in ctx.present:
        return
    for table in ("demand", "launch_curve"):
        df = ctx.t[table]
        reported: set[str] = set()
        for i, r in enumerate(df["region"].astype(str)):
            if r not in lane_regions and r not in reported and r.strip():
                reported.add(r)
                ctx.add(table, i, "region", f"region {r} has demand but no lane in lanes.csv: it cannot be served"
                        + did_you_mean(r, sorted(lane_regions)), WARNING)
    known = lane_regions | demand_regions
    h = ctx.t["history"]
    reported = set()
    for i, r in enumerate(h["region"].astype(str)):
        if r not in known and r not in reported:
            reported.add(r)
            ctx.add("history", i, "region", f"region {r} appears in no lane or forecast" + did_you_mean(r, sorted(known)), WARNING)
