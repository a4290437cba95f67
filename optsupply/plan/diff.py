"""What changed between two scenarios or two plans (:func:`diff`); KPI tables side by side are in
:mod:`optsupply.plan.compare`.

>>> import optsupply as ops
>>> from optsupply.plan.diff import diff                                # also ops.diff
>>> sc = ops.Scenario.load("instances/tiny")
>>> variant = sc.with_changes({"products.price": {"P2": "+5"}})
>>> diff(sc, variant)                      # one row: products / P2 / price / 20.0 → 25.0
>>> base, other = ops.solve(sc), ops.solve(variant)
>>> d = diff(base, other)                  # KPI deltas and every decision that changed
>>> d[d["what"] == "launch_moved"]         # P2 2 → 1, P3 1 → 2

On the command line::

    optsupply compare base-plan p2-plan [--names base,p2] [--out kpis.csv] [--details]

Conventions
-----------
* A row key is written as text, its parts joined by ``/`` (``"P7"``,
  ``"P7/W2"``, ``"P1/W1/3"``); whole-number floats print without ``.0``.
* Things without a row key (a setting, a KPI) have ``key = None`` and their
  name in ``column``, as in :class:`~optsupply.errors.Problem`.
* Plan tables hold only nonzero rows, so an order or ad spend missing from a
  plan is 0 (not ``None``): ``old = 0.0`` for a new order, ``new = 0.0`` for
  one that was dropped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable

import numpy as np
import pandas as pd

from optsupply.errors import UsageError
from optsupply.scenario.core import Scenario
from optsupply.plan.core import COST_KEYS, Plan
from optsupply.scenario.schema import SCENARIO_FILE, TABLE_BY_NAME, TABLES

SCENARIO_COLUMNS = ["what", "table", "key", "column", "old", "new"]
PLAN_COLUMNS = SCENARIO_COLUMNS + ["delta", "rel_delta"]

REL_TOL = 1e-12  # scenario values closer than this (relative) are equal
PLAN_TOL = 1e-6  # plan quantities differing by at most PLAN_TOL·max(1, |old|, |new|) are unchanged

IGNORED_KPIS = frozenset({"build_seconds", "solve_seconds"})
MONEY_KPIS = ("profit", "revenue", "salvage", "best_bound")
SHARE_KPIS = ("mip_gap", "fill_rate")


# ---------------------------------------------------------------------- values


def norm(value: Any) -> Any:
    """A cell as a plain Python value: ``None`` for missing, int/float/bool/str otherwise."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any, rel: float = REL_TOL) -> bool:
    """Equality of two normalised cells; numbers within a relative tolerance."""
    if a is None or b is None:
        return a is None and b is None
    if is_number(a) and is_number(b):
        if a == b:
            return True
        if not (math.isfinite(a) and math.isfinite(b)):
            return False
        return abs(a - b) <= rel * max(abs(a), abs(b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    return str(a) == str(b)


def short_text(value: Any) -> str:
    """A key part or value as short text (``3`` rather than ``3.0``)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value)


def _key_text(parts: Iterable[Any]) -> str:
    return "/".join(short_text(p) for p in parts)


def _periods_text(periods: Iterable[Any]) -> str | None:
    ps = sorted(periods)
    return ", ".join(short_text(p) for p in ps) if ps else None


def delta_of(old: Any, new: Any) -> tuple[Any, Any]:
    """(new − old, (new − old)/|old|); ``None`` where not both finite numbers, rel ``None`` when old is 0."""
    if not (is_number(old) and is_number(new)) or not (math.isfinite(old) and math.isfinite(new)):
        return None, None
    d = new - old
    return d, (d / abs(old) if old != 0 else None)


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns, dtype=object)
    return df.reset_index(drop=True)


# ---------------------------------------------------------------------- diff


def diff(a: Scenario | Plan, b: Scenario | Plan) -> pd.DataFrame:
    """Everything that differs from ``a`` to ``b``: two scenarios or two plans.

    Parameters
    ----------
    a, b : Scenario or Plan
        Both scenarios or both plans; ``a`` is "old", ``b`` is "new".

    Returns
    -------
    pandas.DataFrame
        **Scenarios**: one row per difference, columns ``what``, ``table``,
        ``key``, ``column``, ``old``, ``new``:

        * ``setting``: ``table = "scenario.toml"``, ``column`` = ``section.key``;
        * ``value``: a cell of a row present in both (rows are matched by the
          table's key columns, ``key`` = ``"P7"`` or ``"P7/W2"``);
        * ``row_added`` / ``row_removed``: a row only in ``b`` / only in ``a``;
          ``new`` / ``old`` sums the row up as ``column=value; …``.

        Numbers equal within a relative 1e-12 are the same, so a no-op change
        or a save/load round trip gives no rows.

        **Plans**: the same columns plus ``delta`` (new − old) and
        ``rel_delta`` (delta/|old|, ``None`` when old is 0 or not a number):

        * ``kpi``: every numeric KPI (``table = "kpis"``, ``column`` = the KPI,
          each cost as ``cost.<name>``), changed or not; timing and text KPIs
          are left out;
        * ``launch_moved`` / ``launch_added`` / ``launch_dropped``: ``key`` =
          product, ``old`` / ``new`` = launch period (``None``: not launched);
        * ``lane_switched_off`` / ``lane_switched_on``: ``key`` =
          ``"warehouse/region"``; ``old`` lists the periods the lane is used in
          ``a`` but not in ``b`` (switched off), ``new`` those used in ``b`` but
          not in ``a`` (switched on), as text ``"1, 2"``; ``delta`` = ∓ their
          number, ``rel_delta`` relative to the periods used in ``a``;
        * ``order_changed``: ``key`` = ``"product/warehouse/period"``, units
          ordered (0 when there is no order);
        * ``featured_changed``: ``key`` = product, ``old`` / ``new`` = all
          periods it is featured in (text), ``delta`` = change in their number;
        * ``ad_spend_changed``: ``key`` = ``"product/channel"``, spend summed
          over the horizon.

        Plan quantities count as changed when they differ by more than
        1e-6·max(1, |old|, |new|).

    Raises
    ------
    UsageError
        If ``a`` and ``b`` are not both scenarios or both plans.
    """
    if isinstance(a, Scenario) and isinstance(b, Scenario):
        return _diff_scenarios(a, b)
    if isinstance(a, Plan) and isinstance(b, Plan):
        return _diff_plans(a, b)
    raise UsageError(f"diff compares two Scenarios or two Plans, not {type(a).__name__} and {type(b).__name__}")


def _diff_scenarios(a: Scenario, b: Scenario) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    keys = list(dict.fromkeys([*a.settings, *b.settings]))
    for k in keys:
        old, new = norm(a.settings.get(k)), norm(b.settings.get(k))
        if not _same(old, new):
            rows.append({"what": "setting", "table": SCENARIO_FILE, "key": None, "column": k, "old": old, "new": new})
    ta, tb = dict(a.tables()), dict(b.tables())
    for t in TABLES:
        rows += _diff_table(t.name, list(t.key), ta.get(t.name), tb.get(t.name))
    return _frame(rows, SCENARIO_COLUMNS)


def _table_rows(df: pd.DataFrame | None, key: list[str], cols: list[str]) -> dict[tuple, dict[str, Any]]:
    """key tuple → {column: value}; repeated keys get an occurrence number so no row is lost."""
    if df is None or df.empty:
        return {}
    n = len(df)
    key_vals = [[norm(v) for v in df[c].tolist()] if c in df.columns else [None] * n for c in key]
    col_vals = {c: [norm(v) for v in df[c].tolist()] for c in cols if c in df.columns}
    out: dict[tuple, dict[str, Any]] = {}
    seen: dict[tuple, int] = defaultdict(int)
    for i in range(n):
        k = tuple(kv[i] for kv in key_vals)
        seen[k] += 1
        if seen[k] > 1:
            k = (*k, f"#{seen[k]}")
        out[k] = {c: vals[i] for c, vals in col_vals.items()}
    return out


def _summary(values: dict[str, Any]) -> str:
    return "; ".join(f"{c}={short_text(v)}" for c, v in values.items() if v is not None)


def _diff_table(name: str, key: list[str], da: pd.DataFrame | None, db: pd.DataFrame | None) -> list[dict[str, Any]]:
    spec_cols = list(TABLE_BY_NAME[name].column_names)
    extra = [c for df in (da, db) if df is not None for c in df.columns if c not in spec_cols]
    cols = [c for c in dict.fromkeys(spec_cols + extra) if c not in key]
    ra, rb = _table_rows(da, key, cols), _table_rows(db, key, cols)
    rows: list[dict[str, Any]] = []
    for k, va in ra.items():
        kt = _key_text(k)
        if k not in rb:
            rows.append({"what": "row_removed", "table": name, "key": kt, "column": None, "old": _summary(va), "new": None})
            continue
        vb = rb[k]
        for c in cols:
            old, new = va.get(c), vb.get(c)
            if not _same(old, new):
                rows.append({"what": "value", "table": name, "key": kt, "column": c, "old": old, "new": new})
    for k, vb in rb.items():
        if k not in ra:
            rows.append({"what": "row_added", "table": name, "key": _key_text(k), "column": None, "old": None,
                         "new": _summary(vb)})
    return rows


# ---------------------------------------------------------------------- plan diff

_KPI_ORDER = ("profit", "revenue", *(f"cost.{c}" for c in COST_KEYS), "salvage", "objective", "best_bound", "mip_gap",
              "units_sold", "potential_demand", "fill_rate", "launched", "solver_objective")


def _flat_kpis(kpis: dict[str, Any]) -> dict[str, Any]:
    """KPIs with each cost as ``cost.<name>``."""
    out: dict[str, Any] = {}
    for k, v in kpis.items():
        if k == "costs" and isinstance(v, dict):
            for c, x in v.items():
                out[f"cost.{c}"] = norm(x)
        else:
            out[k] = norm(v) if not isinstance(v, (dict, list)) else v
    return out


def _numeric_kpis(fa: dict[str, Any], fb: dict[str, Any]) -> list[str]:
    names = [k for k in dict.fromkeys([*_KPI_ORDER, *fa, *fb]) if k not in IGNORED_KPIS]
    return [k for k in names if is_number(fa.get(k)) or is_number(fb.get(k))]


def _changed(old: float, new: float) -> bool:
    return abs(new - old) > PLAN_TOL * max(1.0, abs(old), abs(new))


def _col(df: pd.DataFrame, name: str) -> list[Any]:
    return [norm(v) for v in df[name].tolist()] if name in df.columns else [None] * len(df)


def launch_map(plan: Plan) -> dict[str, Any]:
    out: dict[str, Any] = {}
    df = plan.launches
    for p, t in zip(_col(df, "product"), _col(df, "period"), strict=True):
        if p is not None and t is not None:
            out[str(p)] = min(t, out[str(p)]) if str(p) in out else t
    return out


def _truthy(value: Any) -> bool:
    if value is None:
        return True  # a lanes row without a 'used' value: the row itself says the lane is used
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def lane_periods(plan: Plan) -> dict[tuple, set]:
    df = plan.lanes
    out: dict[tuple, set] = defaultdict(set)
    used = _col(df, "used")
    for w, r, t, u in zip(_col(df, "warehouse"), _col(df, "region"), _col(df, "period"), used, strict=True):
        if _truthy(u):
            out[str(w), str(r)].add(t)
    return out


def _sums(df: pd.DataFrame, keys: list[str], value: str) -> dict[tuple, float]:
    out: dict[tuple, float] = defaultdict(float)
    if df.empty:
        return out
    cols = [_col(df, k) for k in keys]
    for i, v in enumerate(_col(df, value)):
        out[tuple(str(c[i]) if k != "period" else c[i] for k, c in zip(keys, cols, strict=True))] += float(v or 0.0)
    return out


def _featured_periods(plan: Plan) -> dict[str, set]:
    out: dict[str, set] = defaultdict(set)
    for p, t in zip(_col(plan.featured, "product"), _col(plan.featured, "period"), strict=True):
        out[str(p)].add(t)
    return out


def _sort_key(k: tuple) -> tuple:
    return tuple((0, x, "") if is_number(x) else (1, 0, str(x)) for x in k)


def _diff_plans(a: Plan, b: Plan) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []

    def add(what: str, table: str, key: str | None, column: str, old: Any, new: Any,
            delta: Any = None, rel: Any = None) -> None:
        rows.append({"what": what, "table": table, "key": key, "column": column, "old": old, "new": new,
                     "delta": delta, "rel_delta": rel})

    fa, fb = _flat_kpis(a.kpis), _flat_kpis(b.kpis)
    for k in _numeric_kpis(fa, fb):
        old = fa.get(k) if is_number(fa.get(k)) else None
        new = fb.get(k) if is_number(fb.get(k)) else None
        add("kpi", "kpis", None, k, old, new, *delta_of(old, new))

    la, lb = launch_map(a), launch_map(b)
    for p in sorted(set(la) | set(lb)):
        old, new = la.get(p), lb.get(p)
        if old is not None and new is not None:
            if old != new:
                add("launch_moved", "launches", p, "period", old, new, *delta_of(old, new))
        elif old is None and new is not None:
            add("launch_added", "launches", p, "period", None, new)
        elif old is not None:
            add("launch_dropped", "launches", p, "period", old, None)

    pa, pb = lane_periods(a), lane_periods(b)
    for lane in sorted(set(pa) | set(pb)):
        used_a, used_b = pa.get(lane, set()), pb.get(lane, set())
        off, on = used_a - used_b, used_b - used_a
        base = len(used_a)
        if off:
            add("lane_switched_off", "lanes", _key_text(lane), "period", _periods_text(off), None,
                -len(off), -len(off) / base)
        if on:
            add("lane_switched_on", "lanes", _key_text(lane), "period", None, _periods_text(on),
                len(on), len(on) / base if base else None)

    oa = _sums(a.orders, ["product", "warehouse", "period"], "units")
    ob = _sums(b.orders, ["product", "warehouse", "period"], "units")
    for k in sorted(set(oa) | set(ob), key=_sort_key):
        old, new = oa.get(k, 0.0), ob.get(k, 0.0)
        if _changed(old, new):
            add("order_changed", "orders", _key_text(k), "units", old, new, *delta_of(old, new))

    fea, feb = _featured_periods(a), _featured_periods(b)
    for p in sorted(set(fea) | set(feb)):
        old, new = fea.get(p, set()), feb.get(p, set())
        if old != new:
            d = len(new) - len(old)
            add("featured_changed", "featured", p, "period", _periods_text(old), _periods_text(new),
                d, d / len(old) if old else None)

    sa = _sums(a.advertising, ["product", "channel"], "spend")
    sb = _sums(b.advertising, ["product", "channel"], "spend")
    for k in sorted(set(sa) | set(sb), key=_sort_key):
        old, new = sa.get(k, 0.0), sb.get(k, 0.0)
        if _changed(old, new):
            add("ad_spend_changed", "advertising", _key_text(k), "spend", old, new, *delta_of(old, new))
    return _frame(rows, PLAN_COLUMNS)
