"""What changed between two scenarios or two plans, and KPI tables side by side.

>>> import optsupply as ops
>>> from optsupply.plan.compare import diff, compare, compare_details   # also ops.diff, ops.compare
>>> sc = ops.Scenario.load("instances/tiny")
>>> variant = sc.with_changes({"products.price": {"P2": "+5"}})
>>> diff(sc, variant)                      # one row: products / P2 / price / 20.0 → 25.0
>>> base, other = ops.solve(sc), ops.solve(variant)
>>> d = diff(base, other)                  # KPI deltas and every decision that changed
>>> d[d["what"] == "launch_moved"]         # P2 2 → 1, P3 1 → 2
>>> compare([base, other], names=["base", "P2 +5"])   # KPIs side by side with Δ and Δ%
>>> compare_details(["base-plan", "p2-plan"])["launches"]

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
import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from optsupply.errors import UsageError
from optsupply.files import guard_file, write_file
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


def _norm(value: Any) -> Any:
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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any, rel: float = REL_TOL) -> bool:
    """Equality of two normalised cells; numbers within a relative tolerance."""
    if a is None or b is None:
        return a is None and b is None
    if _is_number(a) and _is_number(b):
        if a == b:
            return True
        if not (math.isfinite(a) and math.isfinite(b)):
            return False
        return abs(a - b) <= rel * max(abs(a), abs(b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    return str(a) == str(b)


def _text(value: Any) -> str:
    """A key part or value as short text (``3`` rather than ``3.0``)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value)


def _key_text(parts: Iterable[Any]) -> str:
    return "/".join(_text(p) for p in parts)


def _periods_text(periods: Iterable[Any]) -> str | None:
    ps = sorted(periods)
    return ", ".join(_text(p) for p in ps) if ps else None


def _delta(old: Any, new: Any) -> tuple[Any, Any]:
    """(new − old, (new − old)/|old|); ``None`` where not both finite numbers, rel ``None`` when old is 0."""
    if not (_is_number(old) and _is_number(new)) or not (math.isfinite(old) and math.isfinite(new)):
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
        old, new = _norm(a.settings.get(k)), _norm(b.settings.get(k))
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
    key_vals = [[_norm(v) for v in df[c].tolist()] if c in df.columns else [None] * n for c in key]
    col_vals = {c: [_norm(v) for v in df[c].tolist()] for c in cols if c in df.columns}
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
    return "; ".join(f"{c}={_text(v)}" for c, v in values.items() if v is not None)


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
                out[f"cost.{c}"] = _norm(x)
        else:
            out[k] = _norm(v) if not isinstance(v, (dict, list)) else v
    return out


def _numeric_kpis(fa: dict[str, Any], fb: dict[str, Any]) -> list[str]:
    names = [k for k in dict.fromkeys([*_KPI_ORDER, *fa, *fb]) if k not in IGNORED_KPIS]
    return [k for k in names if _is_number(fa.get(k)) or _is_number(fb.get(k))]


def _changed(old: float, new: float) -> bool:
    return abs(new - old) > PLAN_TOL * max(1.0, abs(old), abs(new))


def _col(df: pd.DataFrame, name: str) -> list[Any]:
    return [_norm(v) for v in df[name].tolist()] if name in df.columns else [None] * len(df)


def _launch_map(plan: Plan) -> dict[str, Any]:
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


def _lane_periods(plan: Plan) -> dict[tuple, set]:
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
    return tuple((0, x, "") if _is_number(x) else (1, 0, str(x)) for x in k)


def _diff_plans(a: Plan, b: Plan) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []

    def add(what: str, table: str, key: str | None, column: str, old: Any, new: Any,
            delta: Any = None, rel: Any = None) -> None:
        rows.append({"what": what, "table": table, "key": key, "column": column, "old": old, "new": new,
                     "delta": delta, "rel_delta": rel})

    fa, fb = _flat_kpis(a.kpis), _flat_kpis(b.kpis)
    for k in _numeric_kpis(fa, fb):
        old = fa.get(k) if _is_number(fa.get(k)) else None
        new = fb.get(k) if _is_number(fb.get(k)) else None
        add("kpi", "kpis", None, k, old, new, *_delta(old, new))

    la, lb = _launch_map(a), _launch_map(b)
    for p in sorted(set(la) | set(lb)):
        old, new = la.get(p), lb.get(p)
        if old is not None and new is not None:
            if old != new:
                add("launch_moved", "launches", p, "period", old, new, *_delta(old, new))
        elif old is None and new is not None:
            add("launch_added", "launches", p, "period", None, new)
        elif old is not None:
            add("launch_dropped", "launches", p, "period", old, None)

    pa, pb = _lane_periods(a), _lane_periods(b)
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
            add("order_changed", "orders", _key_text(k), "units", old, new, *_delta(old, new))

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
            add("ad_spend_changed", "advertising", _key_text(k), "spend", old, new, *_delta(old, new))
    return _frame(rows, PLAN_COLUMNS)


# ---------------------------------------------------------------------- compare


def _load_plans(plans: Sequence[Any]) -> list[Plan]:
    out = []
    for item in plans:
        if isinstance(item, Plan):
            out.append(item)
        elif isinstance(item, (str, os.PathLike)):
            out.append(load_plan(item))
        else:
            raise UsageError(f"expected a Plan or a plan folder, got {type(item).__name__}")
    return out


def load_plan(path: str | os.PathLike) -> Plan:
    """:meth:`Plan.load` with planner-readable errors.

    Raises
    ------
    UsageError
        Naming the folder, if it is not a plan folder (no ``kpis.json``) or a file in it cannot be read.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise UsageError(f"{path} is not a plan folder (no such folder)")
    if not (folder / "kpis.json").is_file():
        raise UsageError(f"{path} is not a plan folder (it has no kpis.json; write one with `optsupply solve`)")
    _check_kpis(folder / "kpis.json")
    try:
        return Plan.load(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: cannot read the plan ({type(exc).__name__}: {exc})") from None


def _check_kpis(path: Path) -> None:
    """:class:`UsageError` naming ``path`` unless it is a JSON object (KPI name -> value) that can be read."""
    import json

    try:
        kpis = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise UsageError(f"{path}: values are nested too deeply (hundreds of levels) to be read; kpis.json is an "
                         "object of KPI names and values, as `optsupply solve` writes it") from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise UsageError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(kpis, dict):
        kind = {list: "a list", str: "a text", bool: "true or false", type(None): "null"}.get(type(kpis), "a number")
        raise UsageError(f"{path}: is {kind}, not an object of KPI names and values (as `optsupply solve` writes it)")
    costs = kpis.get("costs")
    if costs is not None and not isinstance(costs, dict):
        raise UsageError(f"{path}: 'costs' must be an object of cost names and amounts")


def _unique(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    taken = set(names)
    counts: dict[str, int] = defaultdict(int)
    for n in names:
        counts[n] += 1
        if counts[n] == 1:
            out.append(n)
            continue
        i = counts[n]
        while f"{n} ({i})" in taken:
            i += 1
        out.append(f"{n} ({i})")
        taken.add(out[-1])
    return out


def _names(plans: Sequence[Plan], names: Sequence[str] | str | None) -> list[str]:
    if names is None:
        return _unique([p.scenario_name or f"plan {i + 1}" for i, p in enumerate(plans)])
    if isinstance(names, str):
        names = names.split(",")
    names = [str(n).strip() for n in names]
    if len(names) != len(plans):
        raise UsageError(f"{len(names)} name{'s' * (len(names) != 1)} for {len(plans)} plans; give one name per plan")
    if any(not n for n in names):
        raise UsageError("plan names must not be empty")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError(f"plan names must be different; repeated: {', '.join(dup)}")
    return names


def _kpi_index(plans: Sequence[Plan]) -> list[str]:
    costs = list(COST_KEYS)
    for p in plans:
        for c in (p.kpis.get("costs") or {}):
            if c not in costs:
                costs.append(c)
    return ["status", "profit", "revenue", *(f"cost.{c}" for c in costs), "salvage", "best_bound", "mip_gap",
            "units_sold", "potential_demand", "fill_rate", "launched"]


def _kpi(plan: Plan, name: str) -> Any:
    if name.startswith("cost."):
        return _norm((plan.kpis.get("costs") or {}).get(name[5:]))
    return _norm(plan.kpis.get(name))


def compare(plans: Sequence[Plan | str | os.PathLike], names: Sequence[str] | None = None) -> pd.DataFrame:
    """The KPIs of several plans side by side, with changes against the first.

    Parameters
    ----------
    plans : sequence of Plan or plan folder paths
        At least one plan; folders are read with :meth:`Plan.load`.
    names : sequence of str, optional
        Column names, one per plan, all different. Default: each plan's
        ``scenario_name`` (made unique with `` (2)``, `` (3)``, …), or
        ``plan 1``, ``plan 2``, … for plans without one.

    Returns
    -------
    pandas.DataFrame
        Index (named ``kpi``): ``status``, ``profit``, ``revenue``, each cost as
        ``cost.<name>``, ``salvage``, ``best_bound``, ``mip_gap``,
        ``units_sold``, ``potential_demand``, ``fill_rate``, ``launched``.
        Columns: one per plan, then for every plan after the first
        ``Δ <name>`` (its value − the first plan's) and ``Δ% <name>`` (that
        difference in percent of |first plan's value|; empty when the first
        value is 0). Missing values are ``None``; ``status`` has no deltas.

    Raises
    ------
    UsageError
        For an empty list, a folder that is not a plan folder, or bad names.
    """
    loaded = _load_plans(list(plans))
    if not loaded:
        raise UsageError("compare needs at least one plan")
    labels = _names(loaded, names)
    index = _kpi_index(loaded)
    data: dict[str, list[Any]] = {n: [_kpi(p, k) for k in index] for n, p in zip(labels, loaded, strict=True)}
    first = data[labels[0]]
    for n in labels[1:]:
        deltas, pcts = [], []
        for k, v0, v in zip(index, first, data[n], strict=True):
            d, rel = _delta(v0, v) if k != "status" else (None, None)
            deltas.append(d)
            pcts.append(None if rel is None else 100.0 * rel)
        data[f"Δ {n}"] = deltas
        data[f"Δ% {n}"] = pcts
    df = pd.DataFrame(data, index=pd.Index(index, name="kpi"), dtype=object)
    return df


def compare_details(plans: Sequence[Plan | str | os.PathLike],
                    names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Launches, lanes and costs of several plans side by side.

    Parameters
    ----------
    plans, names
        As in :func:`compare`.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"launches"``: product × plan, the launch period (nullable integer,
        ``<NA>`` = not launched), every product launched in any plan;
        ``"lanes"``: (warehouse, region) × plan, the number of periods the
        lane is used in, every lane used in any plan;
        ``"costs"``: cost name × plan, money.
    """
    loaded = _load_plans(list(plans))
    if not loaded:
        raise UsageError("compare needs at least one plan")
    labels = _names(loaded, names)
    launches = [_launch_map(p) for p in loaded]
    products = sorted(set().union(*launches))
    ldf = pd.DataFrame({n: pd.array([m.get(p) for p in products], dtype="Int64") for n, m in zip(labels, launches, strict=True)},
                       index=pd.Index(products, name="product", dtype=object))
    lanes = [_lane_periods(p) for p in loaded]
    keys = sorted(set().union(*lanes))
    lane_df = pd.DataFrame({n: [len(m.get(k, ())) for k in keys] for n, m in zip(labels, lanes, strict=True)},
                           index=pd.MultiIndex.from_tuples(keys, names=["warehouse", "region"]) if keys else
                           pd.MultiIndex.from_arrays([[], []], names=["warehouse", "region"]),
                           dtype="int64")
    cost_names = [k[5:] for k in _kpi_index(loaded) if k.startswith("cost.")]
    costs = pd.DataFrame({n: [np.nan if (v := _kpi(p, f"cost.{c}")) is None else float(v) for c in cost_names]
                          for n, p in zip(labels, loaded, strict=True)},
                         index=pd.Index(cost_names, name="cost", dtype=object), dtype="float64")
    return {"launches": ldf, "lanes": lane_df, "costs": costs}


def write_csv(table: pd.DataFrame, path: str | os.PathLike, inputs: Sequence[str | os.PathLike] = ()) -> Path:
    """Write ``table`` as CSV completely or not at all (a temporary file renamed into place).

    ``path`` may not be one of ``inputs`` or lie in one of them (the plan
    folders compared), nor replace a file that is not a ``.csv``
    (:func:`optsupply.files.guard_file`).
    """
    target = guard_file(path, inputs=inputs)
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            table.to_csv(f, lineterminator="\n")

    return write_file(target, write)


# ---------------------------------------------------------------------- formatting


def _kind(kpi: str) -> str:
    if kpi.startswith("cost.") or kpi in MONEY_KPIS:
        return "money"
    if kpi in SHARE_KPIS:
        return "share"
    if kpi == "launched":
        return "count"
    if kpi == "status":
        return "text"
    return "units"


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _fmt_value(kind: str, v: Any) -> str:
    if _missing(v):
        return ""
    if kind == "text" or not _is_number(v):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    if kind == "share":
        return f"{v:.2%}"
    if kind == "count":
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def _fmt_delta(kind: str, d: Any) -> str:
    if _missing(d) or not _is_number(d):
        return ""
    if d == 0:  # unchanged: no sign
        return {"share": "0.00 pp", "count": "0"}.get(kind, "0.00")
    if kind == "share":
        return f"{100 * d:+.2f} pp"
    if kind == "count":
        return f"{d:+,.0f}"
    return f"{d:+,.2f}"


def _fmt_pct(p: Any) -> str:
    if _missing(p) or not _is_number(p):
        return ""
    return "0.00%" if p == 0 else f"{p:+.2f}%"


def format_kpi_table(table: pd.DataFrame) -> str:
    """The table of :func:`compare` as readable text: money with thousands separators, deltas signed."""
    cells = {}
    for col in table.columns:
        fmt = _fmt_pct if col.startswith("Δ% ") else None
        values = []
        for kpi, v in table[col].items():
            kind = _kind(str(kpi))
            if fmt is not None:
                values.append(fmt(v))
            elif col.startswith("Δ "):
                values.append(_fmt_delta(kind, v))
            else:
                values.append(_fmt_value(kind, v))
        cells[col] = values
    return pd.DataFrame(cells, index=table.index).to_string()


__all__ = ["diff", "compare", "compare_details", "load_plan", "format_kpi_table", "write_csv"]
