"""An independent checker of plans: feasibility and profit recomputed from the plan tables.

The checker is an oracle for tests and for planners who want to verify a plan
they received. It knows nothing about how a plan was produced: it reads the
scenario (SPEC §2) and the plan tables (SPEC §4) and re-derives every rule of
the model (SPEC §3) and every KPI from them.

>>> import optsupply as ops
>>> from optsupply.plan.check import check_plan, evaluate_plan, assert_plan_feasible
>>> problems = check_plan(scenario, plan)        # [] when feasible and the KPIs add up
>>> evaluate_plan(scenario, plan)["profit"]
>>> assert_plan_feasible(scenario, plan)          # AssertionError listing every violation

A *plan* is any object with DataFrame attributes ``launches``, ``orders``,
``stock``, ``shipments``, ``sales``, ``advertising``, ``featured`` and
``lanes`` (the columns of SPEC §4) and a ``kpis`` dict as in ``kpis.json``.
Tables hold only nonzero rows: a missing row means zero, and a missing table
means an empty one. A ``date`` column, or any other extra column, is ignored.

Choices made where the specification leaves room
------------------------------------------------
* **Tolerance.** ``a ≤ b`` is violated when ``a > b + tol·max(1, |b|)``;
  ``a = b`` when ``|a − b| > tol·max(1, |a|, |b|)``.
* **What is recomputed from what.** The plan's *decisions* are taken from
  the tables: launches, orders (units, one row = one order), shipments,
  featured products, advertising spend, the advertising uplift and the
  featured uplift the plan counts on. Everything else is derived: base demand
  from the forecast, sales as the sum of shipments, stock from initial stock,
  the pipeline, orders arriving after their lead time and shipments,
  effective spend from spend and carryover, lane volumes from shipments. The
  reported derived columns (``stock.units``, ``sales.sales``,
  ``effective_spend``, ``lanes.volume``, …) are compared with the derived
  values, and the profit in :func:`evaluate_plan` is built from the derived
  values.
* **Receipts** of an order arrive at ``period + lead_time`` (supply.csv); the
  ``arrival`` column must say the same.
* **Uplift split.** Advertising uplift is split over regions in proportion to
  the product's total forecast per region (demand.csv for active products,
  launch_curve.csv for new ones, before seasonality). A product whose
  forecast totals 0 has no share anywhere, so no uplift can be counted on.
* **Before launch** a new product may be stocked (orders arriving early)
  and advertised (spend builds adstock), but nothing of it is sold, shipped,
  featured or counted as uplift.
* **min_products** counts launched ``new`` products of the category or brand.
* **Lanes.** ``used`` must be true whenever the lane carries volume; a lane
  marked used without volume is allowed (the plan merely pays for it). The
  lane fixed cost is paid for every (lane, period) that carries volume or is
  marked used.
* **Lost sales** are ``max(0, potential − sales)`` with potential demand =
  forecast base demand + the uplifts counted on in the sales table.
* **fill_rate** = units_sold / potential_demand, and 1 when potential demand
  is 0.
* **mip_gap** is checked only for status ``optimal``, ``time_limit`` or
  ``interrupted`` when
  ``mip_gap``, ``objective`` and ``best_bound`` are all finite numbers. It may
  be given with either sign and relative to ``|objective|`` or to
  ``|best_bound|`` (HiGHS divides by the incumbent); a bound below the
  objective of this maximisation is reported too.
* **Status.** A plan whose status is not ``optimal``, ``time_limit``,
  ``interrupted`` or ``baseline`` is reported: such a run has no plan to act
  on. ``interrupted`` (an extension of SPEC §4's list) marks the incumbent of
  a solve stopped by Ctrl-C. ``baseline`` (an extension too) marks a plan made
  by rules without a solver, such as :func:`optsupply.baselines.siloed.siloed_plan`;
  it has no bound, so its gap is not checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["COST_KEYS", "PLAN_TABLES", "check_plan", "evaluate_plan", "assert_plan_feasible"]

#: The cost parts of the objective, in the order of kpis.json.
COST_KEYS: tuple[str, ...] = ("purchase", "ordering", "activation", "holding", "transport", "lane_fixed",
                              "advertising", "launch", "onboarding", "lost_sale")

#: Plan table → (identifying columns, value columns), as in SPEC §4.
PLAN_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "launches": (("product", "period"), ()),
    "orders": (("product", "warehouse", "period", "arrival"), ("units",)),
    "stock": (("product", "warehouse", "period"), ("units",)),
    "shipments": (("product", "warehouse", "region", "period"), ("units",)),
    "sales": (("product", "region", "period"),
              ("base_demand", "ad_uplift", "featured_uplift", "potential_demand", "sales", "lost")),
    "advertising": (("product", "channel", "period"), ("spend", "effective_spend", "uplift")),
    "featured": (("product", "period"), ()),
    "lanes": (("warehouse", "region", "period"), ("volume", "used")),
}

# Columns that identify a row (for duplicate detection); launches are checked by the launch rules.
_ROW_KEY: dict[str, tuple[str, ...]] = {
    "orders": ("product", "warehouse", "period"),
    "stock": ("product", "warehouse", "period"),
    "shipments": ("product", "warehouse", "region", "period"),
    "sales": ("product", "region", "period"),
    "advertising": ("product", "channel", "period"),
    "featured": ("product", "period"),
    "lanes": ("warehouse", "region", "period"),
}

_SCENARIO_TABLES = ("products", "categories", "brands", "demand", "launch_curve", "seasonality", "warehouses",
                    "supply", "initial_stock", "pipeline", "lanes", "channels", "response", "slots")
_ID_COLUMNS = ("product", "warehouse", "region", "channel")
_PERIOD_COLUMNS = ("period", "arrival")
_BOOL_COLUMNS = ("used",)
_GOOD_STATUS = ("optimal", "time_limit", "interrupted", "baseline")
_SOLVER_STATUS = ("optimal", "time_limit", "interrupted")  # "interrupted": Ctrl-C stopped HiGHS, incumbent kept
_ALL_STATUS = ("optimal", "time_limit", "interrupted", "baseline", "infeasible", "unbounded", "error")
_TRUE = {"true", "1", "yes", "1.0"}
_FALSE = {"false", "0", "no", "0.0", ""}


# ---------------------------------------------------------------------- public API


def check_plan(scenario: Any, plan: Any, *, tol: float = 1e-6) -> list[str]:
    """Every violation of the model's rules and every KPI that does not add up.

    Parameters
    ----------
    scenario : optsupply.Scenario
        The scenario the plan was made for.
    plan : object
        Any object with the plan tables of SPEC §4 as DataFrame attributes and
        a ``kpis`` dict.
    tol : float, default 1e-6
        Absolute-and-relative tolerance of every comparison (see the module
        docstring).

    Returns
    -------
    list of str
        One plain-language sentence per violation; empty when the plan is
        feasible and its KPIs match the tables.
    """
    ctx = _prepare(scenario, plan, tol)
    for check in _CHECKS:
        check(ctx)
    return ctx.problems


def evaluate_plan(scenario: Any, plan: Any) -> dict[str, Any]:
    """Profit and its parts, recomputed from the plan tables alone (SPEC §3 objective).

    Parameters
    ----------
    scenario : optsupply.Scenario
        The scenario the plan was made for.
    plan : object
        Any object with the plan tables of SPEC §4 as DataFrame attributes.

    Returns
    -------
    dict
        ``revenue``, ``salvage``, ``profit``, ``costs`` (a dict with the keys
        of :data:`COST_KEYS`), ``units_sold``, ``potential_demand``,
        ``fill_rate`` (1 when potential demand is 0) and ``launched``.
        Malformed rows (unknown keys, periods outside the horizon) are left out.
    """
    return _evaluate(_prepare(scenario, plan, 1e-6))


def assert_plan_feasible(scenario: Any, plan: Any, *, tol: float = 1e-6) -> None:
    """Raise ``AssertionError`` listing every violation :func:`check_plan` finds.

    Raises
    ------
    AssertionError
        When the plan breaks any rule or its KPIs do not add up.
    """
    problems = check_plan(scenario, plan, tol=tol)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise AssertionError(f"the plan has {len(problems)} violation(s):\n{lines}")


# ---------------------------------------------------------------------- preparation


@dataclass
class _Ctx:
    """The scenario's lookups, the cleaned plan tables and what is derived from them."""

    sc: Any
    H: int
    tol: float
    t: dict[str, pd.DataFrame]  # scenario tables with plain-string ids
    products: pd.DataFrame  # indexed by product
    tables: dict[str, pd.DataFrame]
    kpis: Any
    problems: list[str] = field(default_factory=list)
    launch_period: dict[str, int] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def add(self, message: str) -> None:
        """Record one violation."""
        self.problems.append(message)

    def cached(self, name: str, build: Any) -> Any:
        """``build(self)``, computed once per check."""
        if name not in self._cache:
            self._cache[name] = build(self)
        return self._cache[name]


def _prepare(scenario: Any, plan: Any, tol: float) -> _Ctx:
    """Read the scenario's tables and clean the plan's (malformed rows are reported in ``problems``)."""
    H = int(scenario.settings["horizon.periods"])
    sc_tables = {name: _str_ids(getattr(scenario, name)) for name in _SCENARIO_TABLES}
    products = sc_tables["products"].set_index("product")
    known = {
        "product": set(products.index),
        "warehouse": set(sc_tables["warehouses"]["warehouse"]),
        "region": (set(sc_tables["demand"]["region"]) | set(sc_tables["launch_curve"]["region"])
                   | set(sc_tables["lanes"]["region"])),
        "channel": set(sc_tables["channels"]["channel"]) | set(sc_tables["response"]["channel"]),
    }
    problems: list[str] = []
    tables = {name: _clean_table(name, getattr(plan, name, None), known, H, tol, problems) for name in PLAN_TABLES}
    ctx = _Ctx(scenario, H, tol, sc_tables, products, tables, getattr(plan, "kpis", None), problems)
    ctx.launch_period = _launch_periods(ctx)
    return ctx


def _str_ids(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a scenario table whose text columns hold plain Python strings (so merges with plan tables line up)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_string_dtype(out[c]) or out[c].dtype == object:
            out[c] = out[c].to_numpy(dtype=object)
    return out


def _empty(name: str) -> pd.DataFrame:
    """An empty plan table with typed columns."""
    keys, values = PLAN_TABLES[name]
    data: dict[str, Any] = {}
    for c in keys + values:
        if c in _ID_COLUMNS:
            data[c] = pd.Series([], dtype=object)
        elif c in _PERIOD_COLUMNS:
            data[c] = pd.Series([], dtype="int64")
        elif c in _BOOL_COLUMNS:
            data[c] = pd.Series([], dtype=bool)
        else:
            data[c] = pd.Series([], dtype="float64")
    return pd.DataFrame(data)


def _clean_table(name: str, raw: Any, known: dict[str, set[str]], H: int, tol: float,
                 problems: list[str]) -> pd.DataFrame:
    """The plan table with typed columns; malformed rows are reported and left out.

    Reports missing columns, missing or unknown ids, non-integer periods,
    periods outside ``0 … H-1``, values that are not finite numbers and
    negative values, then duplicate rows.
    """
    if raw is None:
        return _empty(name)
    df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
    keys, values = PLAN_TABLES[name]
    if df.empty:
        return _empty(name)
    missing = [c for c in keys + values if c not in df.columns]
    if missing:
        problems.append(f"the {name} table has no column {', '.join(missing)}: its rows cannot be checked")
        return _empty(name)
    keep = np.ones(len(df), dtype=bool)
    out: dict[str, np.ndarray] = {}
    for c in keys + values:
        column = df[c].to_numpy()
        if c in _ID_COLUMNS:
            out[c], ok = _clean_ids(name, c, column, known[c], problems)
        elif c in _PERIOD_COLUMNS:
            out[c], ok = _clean_periods(name, c, column, H, problems)
        elif c in _BOOL_COLUMNS:
            out[c], ok = _clean_bools(name, c, column, problems)
        else:
            out[c], ok = _clean_numbers(name, c, column, tol, problems)
        keep &= ok
    clean = pd.DataFrame({c: v[keep] for c, v in out.items()})
    if name in _ROW_KEY:
        _report_duplicates(name, clean, _ROW_KEY[name], problems)
    return clean


def _is_missing(value: Any) -> bool:
    """None, NaN or NA."""
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)) or value is pd.NA


def _as_floats(values: np.ndarray) -> np.ndarray:
    """``values`` as floats; anything that is not a number becomes NaN."""
    if values.dtype.kind in "iuf":
        return values.astype("float64")
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _clean_ids(table: str, col: str, values: np.ndarray, known: set[str],
               problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Ids as strings, and which rows name a known one (missing and unknown ids are reported)."""
    ids = np.array([None if _is_missing(v) else str(v) for v in values], dtype=object)
    present = np.array([v is not None for v in ids], dtype=bool)
    ok = np.array([v in known for v in ids], dtype=bool)
    for i in np.flatnonzero(~present):
        problems.append(f"the {table} table: row {i + 1} has no {col}")
    unknown: dict[str, int] = {}
    for v in ids[present & ~ok]:
        unknown[v] = unknown.get(v, 0) + 1
    for value, n in unknown.items():
        problems.append(f"the {table} table names an unknown {col} '{value}' ({n} row(s)); the scenario has no such {col}")
    return ids, ok


def _clean_periods(table: str, col: str, values: np.ndarray, H: int,
                   problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Periods as integers, and which rows hold a whole period (``period`` also inside the horizon)."""
    num = _as_floats(values)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(num) & (num == np.round(num))
    for i in np.flatnonzero(~ok):
        problems.append(f"the {table} table: row {i + 1} has {col} {values[i]!r}, which is not a whole period number")
    if col == "period":
        outside = ok & ((num < 0) | (num > H - 1))
        for i in np.flatnonzero(outside):
            problems.append(f"the {table} table: row {i + 1} has period {int(num[i])}, outside the horizon 0 … {H - 1}")
        ok &= ~outside
    return np.where(ok, num, 0).astype("int64"), ok


def _to_bool(value: Any) -> bool | None:
    """A flag as written in a DataFrame or read back from CSV; None when it is neither true nor false."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and not _is_missing(value) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _clean_bools(table: str, col: str, values: np.ndarray, problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Flags as booleans, and which rows hold a readable flag."""
    flags = [_to_bool(v) for v in values]
    ok = np.array([f is not None for f in flags], dtype=bool)
    for i in np.flatnonzero(~ok):
        problems.append(f"the {table} table: row {i + 1} has {col} {values[i]!r}, which is neither true nor false")
    return np.array([bool(f) for f in flags], dtype=bool), ok


def _clean_numbers(table: str, col: str, values: np.ndarray, tol: float,
                   problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Numbers as floats (non-finite ones reported and read as 0; negative ones reported); every row is kept."""
    num = _as_floats(values)
    finite = np.isfinite(num)
    for i in np.flatnonzero(~finite):
        problems.append(f"the {table} table: row {i + 1} has {col} {values[i]!r}, which is not a finite number")
    num = np.where(finite, num, 0.0)
    for i in np.flatnonzero(num < -tol):
        problems.append(f"the {table} table: row {i + 1} has negative {col} {_f(num[i])}")
    return num, np.ones(len(num), dtype=bool)


def _report_duplicates(name: str, df: pd.DataFrame, key: tuple[str, ...], problems: list[str]) -> None:
    """Report every key listed more than once (one row per product/place/period)."""
    seen: set[tuple] = set()
    reported: set[tuple] = set()
    for row in zip(*(df[c] for c in key)):
        if row in seen and row not in reported:
            reported.add(row)
            where = ", ".join(f"{c} {v}" for c, v in zip(key, row))
            problems.append(f"the {name} table lists {where} more than once")
        seen.add(row)


# ---------------------------------------------------------------------- small helpers


def _f(x: float) -> str:
    """A number for a message."""
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6g}"


def _over(lhs: Any, rhs: Any, tol: float) -> Any:
    """``lhs`` exceeds ``rhs`` by more than the tolerance (vectorised; ``rhs`` may be inf)."""
    lhs = np.asarray(lhs, dtype=float)
    rhs = np.asarray(rhs, dtype=float)
    with np.errstate(invalid="ignore"):
        slack = np.where(np.isinf(rhs), np.inf, tol * np.maximum(1.0, np.abs(rhs)))
        return lhs > rhs + slack


def _differ(a: Any, b: Any, tol: float) -> Any:
    """``a`` and ``b`` differ by more than the tolerance (vectorised)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.abs(a - b) > tol * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))


def _lookup(df: pd.DataFrame, keys: list[str], column: str) -> dict[Any, Any]:
    """``{key (tuple, or scalar for one key): value}`` of one column of a scenario table."""
    if df.empty:
        return {}
    index = list(df[keys[0]]) if len(keys) == 1 else list(zip(*(df[k] for k in keys)))
    return dict(zip(index, df[column]))


def _pair_set(df: pd.DataFrame, a: str, b: str) -> set[tuple[str, str]]:
    """The (a, b) pairs of a scenario table."""
    return set(zip(df[a], df[b]))


def _status(ctx: _Ctx, product: str) -> str:
    """``active`` or ``new``."""
    return str(ctx.products.at[product, "status"])


def _new_products(ctx: _Ctx) -> set[str]:
    """The candidate new products of the scenario."""
    return set(ctx.products.index[ctx.products["status"] == "new"])


def _first_active_period(ctx: _Ctx, product: str) -> int:
    """The first period in which ``product`` is active: 0 for active products, H when never launched."""
    if _status(ctx, product) != "new":
        return 0
    return ctx.launch_period.get(product, ctx.H)


def _inactive(ctx: _Ctx, df: pd.DataFrame) -> pd.Series:
    """Rows of ``df`` (with product and period) whose product is not active in that period."""
    if df.empty:
        return pd.Series(False, index=df.index)
    first = np.array([_first_active_period(ctx, p) for p in df["product"]], dtype="int64")
    return pd.Series(df["period"].to_numpy() < first, index=df.index)


def _why_inactive(ctx: _Ctx, product: str) -> str:
    """Why a new product is not active, for a message."""
    tau = ctx.launch_period.get(product)
    return "it is never launched" if tau is None else f"it launches in period {tau}"


def _sum_by(df: pd.DataFrame, keys: list[str], column: str, name: str | None = None) -> pd.DataFrame:
    """``df`` summed over everything but ``keys``; the sum is named ``name`` (default ``column``)."""
    out = df.groupby(keys, as_index=False, sort=False)[column].sum()
    return out.rename(columns={column: name or column})


def _outer(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Outer merge on ``keys`` with missing numbers read as 0 (tables hold only nonzero rows)."""
    merged = left.merge(right, on=keys, how="outer")
    numbers = [c for c in merged.columns if c not in keys]
    merged[numbers] = merged[numbers].astype("float64").fillna(0.0)
    return merged


# ---------------------------------------------------------------------- derived quantities


def _launch_periods(ctx: _Ctx) -> dict[str, int]:
    """Launch period of every launched ``new`` product (the earliest row when listed twice)."""
    launches = ctx.tables["launches"]
    new = launches[launches["product"].isin(_new_products(ctx))]
    return {str(p): int(t) for p, t in new.groupby("product")["period"].min().items()}


def _base_demand(ctx: _Ctx) -> pd.DataFrame:
    """Forecast base demand d(p, r, t) under the plan's launches: columns product, region, period, base."""
    H = ctx.H
    active = set(ctx.products.index[ctx.products["status"] != "new"])
    demand = ctx.t["demand"]
    calendar = demand[demand["product"].isin(active)][["product", "region", "period", "demand"]]
    tau = pd.DataFrame({"product": list(ctx.launch_period), "tau": list(ctx.launch_period.values())},
                       columns=["product", "tau"]).astype({"product": object, "tau": "int64"})
    curve = ctx.t["launch_curve"].merge(tau, on="product", how="inner")
    curve["period"] = curve["tau"] + curve["age"]
    curve = curve[curve["period"] <= H - 1].copy()
    curve["category"] = curve["product"].map(ctx.products["category"])
    season = ctx.t["seasonality"][["category", "period", "index"]]
    curve = curve.merge(season, on=["category", "period"], how="left")
    curve["demand"] = curve["demand"] * curve["index"].astype("float64").fillna(1.0)
    parts = [p for p in (calendar, curve[["product", "region", "period", "demand"]]) if not p.empty]
    if not parts:
        return pd.DataFrame({"product": pd.Series([], dtype=object), "region": pd.Series([], dtype=object),
                             "period": pd.Series([], dtype="int64"), "base": pd.Series([], dtype="float64")})
    both = pd.concat(parts, ignore_index=True)
    both["period"] = both["period"].astype("int64")
    return _sum_by(both, ["product", "region", "period"], "demand", "base")


def _region_shares(ctx: _Ctx) -> pd.DataFrame:
    """share(p, r) of advertising uplift: columns product, region, share (forecast totals before seasonality)."""
    active = set(ctx.products.index[ctx.products["status"] != "new"])
    demand = ctx.t["demand"]
    curve = ctx.t["launch_curve"]
    rows = pd.concat([demand[demand["product"].isin(active)][["product", "region", "demand"]],
                      curve[~curve["product"].isin(active)][["product", "region", "demand"]]], ignore_index=True)
    per_region = _sum_by(rows, ["product", "region"], "demand")
    total = per_region.groupby("product")["demand"].transform("sum")
    per_region["share"] = np.where(total > 0, per_region["demand"] / total.where(total > 0, 1.0), 0.0)
    return per_region[["product", "region", "share"]]


def _lead_times(ctx: _Ctx) -> dict[tuple[str, str], int]:
    """Lead time of every supply pair."""
    return {k: int(v) for k, v in _lookup(ctx.t["supply"], ["product", "warehouse"], "lead_time").items()}


def _orders_with_receipt(ctx: _Ctx) -> pd.DataFrame:
    """The orders table plus ``receipt``: period + lead time (the reported arrival for unknown pairs)."""
    orders = ctx.tables["orders"].copy()
    lead = _lead_times(ctx)
    orders["receipt"] = [t + lead[(p, w)] if (p, w) in lead else a
                         for p, w, t, a in zip(orders["product"], orders["warehouse"], orders["period"], orders["arrival"])]
    orders["receipt"] = orders["receipt"].astype("int64")
    return orders


def _stock_trajectory(ctx: _Ctx) -> pd.DataFrame:
    """End-of-period stock of every (product, warehouse) the scenario or the plan mentions, every period.

    stock(t) = stock(t−1) + receipts(t) − shipped(t), from stock(−1) = initial
    stock; receipts are orders arriving at period + lead time within the
    horizon, plus the pipeline. Columns product, warehouse, period, units.
    """
    H = ctx.H
    keys = ["product", "warehouse", "period"]
    orders = _orders_with_receipt(ctx)
    received = orders[(orders["receipt"] >= 0) & (orders["receipt"] <= H - 1)]
    received = received[["product", "warehouse", "receipt", "units"]].rename(columns={"receipt": "period"})
    pipeline = ctx.t["pipeline"][keys + ["units"]]
    shipped = ctx.tables["shipments"][keys + ["units"]].copy()
    shipped["units"] = -shipped["units"]
    flows = pd.concat([f for f in (received, pipeline, shipped) if not f.empty] or [_empty("stock")], ignore_index=True)
    flows["period"] = flows["period"].astype("int64")
    flows = _sum_by(flows, keys, "units", "flow")

    initial = ctx.t["initial_stock"]
    pairs = pd.concat([df[["product", "warehouse"]] for df in (ctx.t["supply"], initial,
                                                                flows, ctx.tables["stock"])],
                      ignore_index=True).drop_duplicates()
    grid = pairs.merge(pd.DataFrame({"period": np.arange(H, dtype="int64")}), how="cross")
    grid = grid.merge(flows, on=keys, how="left")
    grid["flow"] = grid["flow"].fillna(0.0)
    grid = grid.sort_values(keys, kind="stable").reset_index(drop=True)
    start = grid.merge(_sum_by(initial, ["product", "warehouse"], "units", "initial"),
                       on=["product", "warehouse"], how="left")["initial"].fillna(0.0)
    grid["units"] = start.to_numpy() + grid.groupby(["product", "warehouse"], sort=False)["flow"].cumsum().to_numpy()
    return grid[keys + ["units"]]


def _hill(e: np.ndarray, max_uplift: np.ndarray, half: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """The true Hill curve max_uplift · e^s / (e^s + k^s), 0 at e = 0."""
    positive = e > 0
    safe_e = np.where(positive, e, 1.0)
    with np.errstate(over="ignore", divide="ignore"):
        value = max_uplift / (1.0 + (half / safe_e) ** shape)
    return np.where(positive, value, 0.0)


def _effective_spend(ctx: _Ctx) -> pd.DataFrame:
    """Recomputed adstock and curve for every advertised (product, channel) and period.

    Columns product, channel, period, spend, effective, curve; effective(t) =
    spend(t) + carryover · effective(t−1) from 0 before period 0, and curve is
    the Hill curve at that effective spend (0 for pairs without a response).
    """
    H = ctx.H
    ads = ctx.tables["advertising"]
    pairs = ads[["product", "channel"]].drop_duplicates().reset_index(drop=True)
    response = ctx.t["response"]
    pairs = pairs.merge(response[["product", "channel", "max_uplift", "half_saturation", "shape", "carryover"]],
                        on=["product", "channel"], how="left")
    pairs = pairs.fillna({"max_uplift": 0.0, "half_saturation": 1.0, "shape": 1.0, "carryover": 0.0})
    spend = np.zeros((len(pairs), H))
    row_of = {(p, c): i for i, (p, c) in enumerate(zip(pairs["product"], pairs["channel"]))}
    for p, c, t, x in zip(ads["product"], ads["channel"], ads["period"], ads["spend"]):
        spend[row_of[(p, c)], t] += x
    effective = np.zeros_like(spend)
    carry = pairs["carryover"].to_numpy(dtype=float)
    for t in range(H):
        effective[:, t] = spend[:, t] + (carry * effective[:, t - 1] if t > 0 else 0.0)
    curve = _hill(effective, pairs["max_uplift"].to_numpy(float)[:, None], pairs["half_saturation"].to_numpy(float)[:, None],
                  pairs["shape"].to_numpy(float)[:, None])
    n = len(pairs)
    return pd.DataFrame({
        "product": np.repeat(pairs["product"].to_numpy(dtype=object), H),
        "channel": np.repeat(pairs["channel"].to_numpy(dtype=object), H),
        "period": np.tile(np.arange(H, dtype="int64"), n),
        "spend": spend.reshape(-1), "effective": effective.reshape(-1), "curve": curve.reshape(-1),
        "carryover": np.repeat(carry, H),
    })


def _shipped_volume(ctx: _Ctx) -> pd.DataFrame:
    """Shipments with their volume (units × product volume)."""
    ship = ctx.tables["shipments"].copy()
    ship["volume"] = ship["units"] * ship["product"].map(ctx.products["volume"]).astype("float64")
    return ship


def _lane_volumes(ctx: _Ctx) -> pd.DataFrame:
    """Volume carried per lane and period, from shipments: columns warehouse, region, period, volume."""
    return _sum_by(ctx.cached("shipped_volume", _shipped_volume), ["warehouse", "region", "period"], "volume")


def _sales_rows(ctx: _Ctx) -> pd.DataFrame:
    """Per (product, region, period): base (forecast), ad/featured uplift counted on, sold (shipments), potential, lost."""
    keys = ["product", "region", "period"]
    base = ctx.cached("base", _base_demand)
    uplift = ctx.tables["sales"][keys + ["ad_uplift", "featured_uplift"]]
    sold = _sum_by(ctx.tables["shipments"], keys, "units", "sold")
    rows = _outer(_outer(base, uplift, keys), sold, keys)
    rows["potential"] = rows["base"] + rows["ad_uplift"] + rows["featured_uplift"]
    rows["lost"] = (rows["potential"] - rows["sold"]).clip(lower=0.0)
    return rows


# ---------------------------------------------------------------------- checks: launches


def _check_launches(ctx: _Ctx) -> None:
    """Only new products, at most once, inside their window; must_launch; launch.max_per_period."""
    launches = ctx.tables["launches"]
    products = ctx.products
    for row in launches.itertuples(index=False):
        if _status(ctx, row.product) != "new":
            ctx.add(f"{row.product} is an active product but is launched in period {row.period}; "
                    f"only new products launch")
    new_rows = launches[launches["product"].isin(_new_products(ctx))]
    for product, periods in new_rows.groupby("product")["period"]:
        if len(periods) > 1:
            listed = ", ".join(str(t) for t in sorted(periods))
            ctx.add(f"{product} is launched {len(periods)} times (periods {listed}); a product launches at most once")
        lo, hi = int(products.at[product, "launch_earliest"]), int(products.at[product, "launch_latest"])
        for t in sorted(set(periods)):
            if not lo <= t <= hi:
                ctx.add(f"launch of {product} in period {t} is outside its launch window {lo} … {hi}")
    must = products.index[(products["status"] == "new") & products["must_launch"].astype(bool)]
    for product in must:
        if product not in ctx.launch_period:
            ctx.add(f"{product} must launch (must_launch) but the plan never launches it")
    limit = ctx.sc.settings.get("launch.max_per_period")
    if limit is not None:
        per_period = new_rows.drop_duplicates().groupby("period")["product"].apply(sorted)
        for t, names in per_period.items():
            if len(names) > limit:
                ctx.add(f"{len(names)} launches in period {t} ({', '.join(names)}), more than "
                        f"launch.max_per_period = {limit}")


def _check_min_products(ctx: _Ctx) -> None:
    """Categories and brands with min_products: if any product launches, at least min_products launch."""
    launched = list(ctx.launch_period)
    for level, table in (("category", ctx.t["categories"]), ("brand", ctx.t["brands"])):
        minimum = {k: int(v) for k, v in _lookup(table, [level], "min_products").items()}
        owner = ctx.products[level]
        for group, need in minimum.items():
            members = sorted(p for p in launched if owner.at[p] == group)
            if 0 < len(members) < need:
                ctx.add(f"{level} {group} launches {len(members)} product(s) ({', '.join(members)}) but needs at "
                        f"least {need} (min_products) once any of its products launches")


# ---------------------------------------------------------------------- checks: demand and sales


def _check_base_demand(ctx: _Ctx) -> None:
    """sales.base_demand equals the forecast under the plan's launches (rows missing on either side are 0)."""
    keys = ["product", "region", "period"]
    rows = _outer(ctx.cached("base", _base_demand), ctx.tables["sales"][keys + ["base_demand"]], keys)
    bad = rows[_differ(rows["base_demand"], rows["base"], ctx.tol)]
    for r in bad.itertuples(index=False):
        if _status(ctx, r.product) == "new":
            tau = ctx.launch_period.get(r.product)
            basis = "it is never launched" if tau is None else f"launched in period {tau}, age {r.period - tau}"
        else:
            basis = "demand.csv"
        ctx.add(f"base demand of {r.product} in {r.region} in period {r.period} is {_f(r.base_demand)} in the "
                f"sales table, but the forecast gives {_f(r.base)} ({basis})")


def _check_inactive(ctx: _Ctx) -> None:
    """Nothing is sold, shipped, uplifted or featured while a new product is not active."""
    tol = ctx.tol
    sales = ctx.tables["sales"]
    moving = sales[(sales["sales"] > tol) | (sales["ad_uplift"] > tol) | (sales["featured_uplift"] > tol)]
    for r in moving[_inactive(ctx, moving)].itertuples(index=False):
        ctx.add(f"{r.product} has sales {_f(r.sales)}, ad uplift {_f(r.ad_uplift)} and featured uplift "
                f"{_f(r.featured_uplift)} in {r.region} in period {r.period} while not active "
                f"({_why_inactive(ctx, r.product)}): nothing is sold before launch")
    ship = ctx.tables["shipments"]
    ship = ship[ship["units"] > tol]
    for r in ship[_inactive(ctx, ship)].itertuples(index=False):
        ctx.add(f"{r.product} is shipped from {r.warehouse} to {r.region} in period {r.period} while not active "
                f"({_why_inactive(ctx, r.product)}): nothing is sold before launch")
    ads = ctx.tables["advertising"]
    ads = ads[ads["uplift"] > tol]
    for r in ads[_inactive(ctx, ads)].itertuples(index=False):
        ctx.add(f"advertising uplift of {r.product} on {r.channel} in period {r.period} is {_f(r.uplift)} while "
                f"the product is not active ({_why_inactive(ctx, r.product)}); it must be 0")
    featured = ctx.tables["featured"]
    for r in featured[_inactive(ctx, featured)].itertuples(index=False):
        ctx.add(f"{r.product} is featured in period {r.period} while not active ({_why_inactive(ctx, r.product)})")


def _check_featured_uplift(ctx: _Ctx) -> None:
    """featured_uplift ≤ featured_lift · base demand, and only while the product is featured."""
    keys = ["product", "region", "period"]
    rows = ctx.tables["sales"][keys + ["featured_uplift"]]
    rows = rows[rows["featured_uplift"] > ctx.tol].merge(ctx.cached("base", _base_demand), on=keys, how="left")
    rows["base"] = rows["base"].fillna(0.0)
    featured = set(zip(ctx.tables["featured"]["product"], ctx.tables["featured"]["period"]))
    lift = rows["product"].map(ctx.products["featured_lift"]).astype("float64")
    cap = lift * rows["base"]
    too_high = _over(rows["featured_uplift"], cap, ctx.tol)
    for r, c, high in zip(rows.itertuples(index=False), cap, too_high):
        if (r.product, r.period) not in featured:
            ctx.add(f"featured uplift of {r.product} in {r.region} in period {r.period} is {_f(r.featured_uplift)}, "
                    f"but {r.product} is not featured in period {r.period}")
        elif high:
            ctx.add(f"featured uplift of {r.product} in {r.region} in period {r.period} is {_f(r.featured_uplift)}, "
                    f"above featured_lift × base demand = {_f(c)}")


def _check_ad_uplift_split(ctx: _Ctx) -> None:
    """sales.ad_uplift(p, r, t) = share(p, r) · Σ_c advertising.uplift(p, c, t)."""
    keys = ["product", "region", "period"]
    total = _sum_by(ctx.tables["advertising"], ["product", "period"], "uplift", "total")
    expected = total.merge(ctx.cached("shares", _region_shares), on="product", how="inner")
    expected["expected"] = expected["share"] * expected["total"]
    rows = _outer(expected[keys + ["expected", "share", "total"]], ctx.tables["sales"][keys + ["ad_uplift"]], keys)
    for r in rows[_differ(rows["ad_uplift"], rows["expected"], ctx.tol)].itertuples(index=False):
        ctx.add(f"ad uplift of {r.product} in {r.region} in period {r.period} is {_f(r.ad_uplift)} in the sales "
                f"table, but the region's share {_f(r.share)} of the advertising uplift {_f(r.total)} is "
                f"{_f(r.expected)}")


def _check_sales_identities(ctx: _Ctx) -> None:
    """potential = base + ad + featured, sales ≤ potential, lost = potential − sales, sales = Σ_w shipments."""
    tol = ctx.tol
    sales = ctx.tables["sales"]
    parts = sales["base_demand"] + sales["ad_uplift"] + sales["featured_uplift"]
    bad = _differ(sales["potential_demand"], parts, tol)
    for r, p in zip(sales[bad].itertuples(index=False), parts[bad]):
        ctx.add(f"potential demand of {r.product} in {r.region} in period {r.period} is {_f(r.potential_demand)}, "
                f"but base + ad uplift + featured uplift = {_f(p)}")
    for r in sales[_over(sales["sales"], sales["potential_demand"], tol)].itertuples(index=False):
        ctx.add(f"sales of {r.product} in {r.region} in period {r.period} are {_f(r.sales)}, above the potential "
                f"demand {_f(r.potential_demand)}")
    gap = sales["potential_demand"] - sales["sales"]
    bad = _differ(sales["lost"], gap, tol)
    for r, g in zip(sales[bad].itertuples(index=False), gap[bad]):
        ctx.add(f"lost sales of {r.product} in {r.region} in period {r.period} are {_f(r.lost)}, but potential "
                f"demand − sales = {_f(g)}")
    keys = ["product", "region", "period"]
    rows = _outer(sales[keys + ["sales"]], _sum_by(ctx.tables["shipments"], keys, "units", "shipped"), keys)
    for r in rows[_differ(rows["sales"], rows["shipped"], tol)].itertuples(index=False):
        ctx.add(f"sales of {r.product} in {r.region} in period {r.period} are {_f(r.sales)}, but shipments to "
                f"{r.region} total {_f(r.shipped)}; sales happen where and when units are shipped")


def _check_potential_covers_sales(ctx: _Ctx) -> None:
    """Shipped units never exceed the potential demand the plan can count on (also when the sales table is wrong)."""
    rows = ctx.cached("sales_rows", _sales_rows)
    reported = set(zip(ctx.tables["sales"]["product"], ctx.tables["sales"]["region"], ctx.tables["sales"]["period"]))
    over = rows[_over(rows["sold"], rows["potential"], ctx.tol)]
    for r in over.itertuples(index=False):
        if (r.product, r.region, r.period) in reported:
            continue  # reported by the sales-table identities already
        ctx.add(f"{_f(r.sold)} units of {r.product} are shipped to {r.region} in period {r.period}, above its "
                f"potential demand {_f(r.potential)}")


# ---------------------------------------------------------------------- checks: featured slots and advertising


def _check_featured_slots(ctx: _Ctx) -> None:
    """At most slots(t) products featured per period (periods absent from slots.csv have none)."""
    slots = {int(k): int(v) for k, v in _lookup(ctx.t["slots"], ["period"], "slots").items()}
    featured = ctx.tables["featured"].drop_duplicates()
    for t, names in featured.groupby("period")["product"].apply(sorted).items():
        if len(names) > slots.get(int(t), 0):
            ctx.add(f"period {t} features {len(names)} product(s) ({', '.join(names)}), more than its "
                    f"{slots.get(int(t), 0)} featured slot(s)")


def _check_advertising(ctx: _Ctx) -> None:
    """Response pairs, effective spend = adstock of spend, uplift ≤ the true Hill curve, budgets."""
    tol = ctx.tol
    ads = ctx.tables["advertising"]
    pairs = _pair_set(ctx.t["response"], "product", "channel")
    for p, c in ads[["product", "channel"]].drop_duplicates().itertuples(index=False):
        if (p, c) not in pairs:
            ctx.add(f"{p} is advertised on {c}, but response.csv has no response of {p} to {c}")
    keys = ["product", "channel", "period"]
    rows = _outer(ctx.cached("adstock", _effective_spend), ads[keys + ["effective_spend", "uplift"]], keys)
    for r in rows[_differ(rows["effective_spend"], rows["effective"], tol)].itertuples(index=False):
        ctx.add(f"effective spend of {r.product} on {r.channel} in period {r.period} is {_f(r.effective_spend)}, "
                f"but its spend with carryover {_f(r.carryover)} gives {_f(r.effective)}")
    for r in rows[_over(rows["uplift"], rows["curve"], tol)].itertuples(index=False):
        ctx.add(f"advertising uplift of {r.product} on {r.channel} in period {r.period} is {_f(r.uplift)}, above "
                f"the response curve max_uplift·e^s/(e^s+k^s) = {_f(r.curve)} at effective spend {_f(r.effective)}")
    budget = {str(k): float(v) for k, v in _lookup(ctx.t["channels"], ["channel"], "budget").items()}
    per_channel = _sum_by(ads, ["channel", "period"], "spend")
    per_channel["budget"] = [budget.get(c, math.inf) for c in per_channel["channel"]]
    for r in per_channel[_over(per_channel["spend"], per_channel["budget"], tol)].itertuples(index=False):
        ctx.add(f"channel {r.channel} spends {_f(r.spend)} in period {r.period}, over its per-period budget "
                f"{_f(r.budget)}")
    total_budget = ctx.sc.settings.get("advertising.total_budget")
    total = float(ads["spend"].sum())
    if total_budget is not None and _over(total, total_budget, tol):
        ctx.add(f"total advertising spend {_f(total)} exceeds advertising.total_budget {_f(total_budget)}")


# ---------------------------------------------------------------------- checks: orders and stock


def _check_orders(ctx: _Ctx) -> None:
    """Supply pairs only, arrival = period + lead time within the horizon, min_order ≤ units ≤ max_order."""
    tol, H = ctx.tol, ctx.H
    lead = _lead_times(ctx)
    low = _lookup(ctx.t["supply"], ["product", "warehouse"], "min_order")
    high = _lookup(ctx.t["supply"], ["product", "warehouse"], "max_order")
    for r in _orders_with_receipt(ctx).itertuples(index=False):
        what = f"order of {r.product} at {r.warehouse} placed in period {r.period}"
        pair = (r.product, r.warehouse)
        if pair not in lead:
            ctx.add(f"{what}: supply.csv has no row for {r.product} in {r.warehouse}, so it cannot be stocked there")
        elif r.arrival != r.receipt:
            ctx.add(f"{what} says it arrives in period {r.arrival}, but with lead time {lead[pair]} it arrives in "
                    f"period {r.receipt}")
        if r.receipt > H - 1:
            ctx.add(f"{what} arrives in period {r.receipt}, after the horizon (last period {H - 1})")
        if pair in lead and _over(low[pair], r.units, tol):
            ctx.add(f"{what} is for {_f(r.units)} units, below min_order {_f(low[pair])}")
        if pair in lead and _over(r.units, high[pair], tol):
            ctx.add(f"{what} is for {_f(r.units)} units, above max_order {_f(high[pair])}")


def _check_stock(ctx: _Ctx) -> None:
    """The stock table equals the recomputed stock trajectory everywhere, and stock is never negative."""
    keys = ["product", "warehouse", "period"]
    trajectory = ctx.cached("stock", _stock_trajectory)
    rows = _outer(trajectory.rename(columns={"units": "implied"}), ctx.tables["stock"][keys + ["units"]], keys)
    for r in rows[_differ(rows["units"], rows["implied"], ctx.tol)].itertuples(index=False):
        ctx.add(f"stock balance broken: {r.product} at {r.warehouse} at the end of period {r.period} is "
                f"{_f(r.units)} in the stock table, but initial stock, receipts and shipments give {_f(r.implied)}")
    negative = trajectory[trajectory["units"] < -ctx.tol]
    for r in negative.itertuples(index=False):
        ctx.add(f"negative stock: {r.product} at {r.warehouse} would hold {_f(r.units)} units at the end of period "
                f"{r.period} (more is shipped than is on hand)")


# ---------------------------------------------------------------------- checks: routes and capacities


def _check_shipments(ctx: _Ctx) -> None:
    """Shipments only over lanes of lanes.csv and only from warehouses that stock the product."""
    lanes = _pair_set(ctx.t["lanes"], "warehouse", "region")
    supply = _pair_set(ctx.t["supply"], "product", "warehouse")
    for r in ctx.tables["shipments"].itertuples(index=False):
        if (r.warehouse, r.region) not in lanes:
            ctx.add(f"shipment of {r.product} from {r.warehouse} to {r.region} in period {r.period} uses no lane: "
                    f"lanes.csv has no lane {r.warehouse} → {r.region}")
        if (r.product, r.warehouse) not in supply:
            ctx.add(f"{r.product} is shipped from {r.warehouse} in period {r.period}, but supply.csv has no row for "
                    f"{r.product} in {r.warehouse}")


def _check_lanes(ctx: _Ctx) -> None:
    """Lane volume ≤ capacity; the lanes table reports the shipped volume and marks carrying lanes used."""
    tol = ctx.tol
    keys = ["warehouse", "region", "period"]
    volume = ctx.cached("lane_volumes", _lane_volumes).copy()
    capacity = _lookup(ctx.t["lanes"], ["warehouse", "region"], "capacity")
    volume["capacity"] = [capacity.get((w, r), math.inf) for w, r in zip(volume["warehouse"], volume["region"])]
    for r in volume[_over(volume["volume"], volume["capacity"], tol)].itertuples(index=False):
        ctx.add(f"lane {r.warehouse} → {r.region} carries volume {_f(r.volume)} in period {r.period}, over its "
                f"capacity {_f(r.capacity)}")
    table = ctx.tables["lanes"].rename(columns={"volume": "reported"})
    table = table.groupby(keys, as_index=False, sort=False).agg(reported=("reported", "sum"), used=("used", "any"))
    rows = volume[keys + ["volume"]].merge(table, on=keys, how="outer")
    rows[["volume", "reported"]] = rows[["volume", "reported"]].fillna(0.0)
    rows["used"] = rows["used"].astype("boolean").fillna(False).astype(bool)
    for r in rows[_differ(rows["reported"], rows["volume"], tol)].itertuples(index=False):
        ctx.add(f"lanes table: volume of {r.warehouse} → {r.region} in period {r.period} is {_f(r.reported)}, but "
                f"the shipments on it add up to {_f(r.volume)}")
    for r in rows[(rows["volume"] > tol) & ~rows["used"]].itertuples(index=False):
        ctx.add(f"lane {r.warehouse} → {r.region} carries volume {_f(r.volume)} in period {r.period} but is not "
                f"marked used in the lanes table")


def _check_warehouses(ctx: _Ctx) -> None:
    """Throughput (volume shipped out) and storage (volume on hand at the end of a period) per warehouse."""
    tol = ctx.tol
    throughput = _lookup(ctx.t["warehouses"], ["warehouse"], "throughput_capacity")
    storage = _lookup(ctx.t["warehouses"], ["warehouse"], "storage_capacity")
    out = _sum_by(ctx.cached("shipped_volume", _shipped_volume), ["warehouse", "period"], "volume")
    out["capacity"] = [float(throughput.get(w, math.inf)) for w in out["warehouse"]]
    for r in out[_over(out["volume"], out["capacity"], tol)].itertuples(index=False):
        ctx.add(f"warehouse {r.warehouse} ships out volume {_f(r.volume)} in period {r.period}, over its "
                f"throughput capacity {_f(r.capacity)}")
    stock = ctx.cached("stock", _stock_trajectory).copy()
    stock["volume"] = stock["units"] * stock["product"].map(ctx.products["volume"]).astype("float64")
    held = _sum_by(stock, ["warehouse", "period"], "volume")
    held["capacity"] = [float(storage.get(w, math.inf)) for w in held["warehouse"]]
    for r in held[_over(held["volume"], held["capacity"], tol)].itertuples(index=False):
        ctx.add(f"warehouse {r.warehouse} holds volume {_f(r.volume)} at the end of period {r.period}, over its "
                f"storage capacity {_f(r.capacity)}")


def _check_inventory_value(ctx: _Ctx) -> None:
    """Σ unit_cost · stock ≤ finance.max_inventory_value at the end of every period (when set)."""
    cap = ctx.sc.settings.get("finance.max_inventory_value")
    if cap is None:
        return
    stock = ctx.cached("stock", _stock_trajectory).copy()
    stock["value"] = stock["units"] * stock["product"].map(ctx.products["unit_cost"]).astype("float64")
    per_period = _sum_by(stock, ["period"], "value").sort_values("period")
    for r in per_period[_over(per_period["value"], cap, ctx.tol)].itertuples(index=False):
        ctx.add(f"inventory value {_f(r.value)} at the end of period {r.period} exceeds "
                f"finance.max_inventory_value {_f(cap)}")


# ---------------------------------------------------------------------- profit


def _evaluate(ctx: _Ctx) -> dict[str, Any]:
    """The objective's parts from the plan's decisions and what follows from them."""
    H = ctx.H
    products = ctx.products
    price = products["price"].astype("float64")
    unit_cost = products["unit_cost"].astype("float64")

    rows = ctx.cached("sales_rows", _sales_rows)
    revenue = float((rows["sold"] * rows["product"].map(price)).sum())
    lost_sale = float((rows["lost"] * rows["product"].map(products["lost_sale_cost"]).astype("float64")).sum())
    units_sold = float(rows["sold"].sum())
    potential = float(rows["potential"].sum())

    stock = ctx.cached("stock", _stock_trajectory)
    holding = float((stock["units"] * stock["product"].map(products["holding_cost"]).astype("float64")).sum())
    final = stock[stock["period"] == H - 1]
    salvage = float((final["units"] * final["product"].map(products["salvage_value"]).astype("float64")).sum())

    orders = ctx.tables["orders"]
    order_cost = _lookup(ctx.t["supply"], ["product", "warehouse"], "order_cost")
    activation_cost = _lookup(ctx.t["supply"], ["product", "warehouse"], "activation_cost")
    pairs = list(zip(orders["product"], orders["warehouse"]))
    purchase = float((orders["units"] * orders["product"].map(unit_cost)).sum())
    ordering = float(sum(order_cost.get(pair, 0.0) for pair in pairs))
    activation = float(sum(activation_cost.get(pair, 0.0) for pair in set(pairs)))

    ship = ctx.cached("shipped_volume", _shipped_volume)
    lane_rate = _lookup(ctx.t["lanes"], ["warehouse", "region"], "cost_per_unit")
    transport = float(sum(v * lane_rate.get((w, r), 0.0) for w, r, v in zip(ship["warehouse"], ship["region"], ship["volume"])))
    lane_fixed_cost = _lookup(ctx.t["lanes"], ["warehouse", "region"], "fixed_cost")
    carrying = ctx.cached("lane_volumes", _lane_volumes)
    used = set(zip(carrying["warehouse"][carrying["volume"] > ctx.tol], carrying["region"][carrying["volume"] > ctx.tol],
                   carrying["period"][carrying["volume"] > ctx.tol]))
    marked = ctx.tables["lanes"][ctx.tables["lanes"]["used"]]
    used |= set(zip(marked["warehouse"], marked["region"], marked["period"]))
    lane_fixed = float(sum(lane_fixed_cost.get((w, r), 0.0) for w, r, _ in used))

    advertising = float(ctx.tables["advertising"]["spend"].sum())
    launched = sorted(set(ctx.tables["launches"]["product"]))
    launch = float(products.loc[launched, "launch_cost"].astype("float64").sum()) if launched else 0.0
    onboarding = 0.0
    for level, table in (("category", ctx.t["categories"]), ("brand", ctx.t["brands"])):
        cost = _lookup(table, [level], "onboarding_cost")
        onboarding += float(sum(cost.get(g, 0.0) for g in set(products.loc[launched, level]))) if launched else 0.0

    costs = {"purchase": purchase, "ordering": ordering, "activation": activation, "holding": holding,
             "transport": transport, "lane_fixed": lane_fixed, "advertising": advertising, "launch": launch,
             "onboarding": onboarding, "lost_sale": lost_sale}
    profit = revenue + salvage - sum(costs.values())
    return {
        "revenue": revenue,
        "salvage": salvage,
        "profit": profit,
        "costs": costs,
        "units_sold": units_sold,
        "potential_demand": potential,
        "fill_rate": units_sold / potential if potential > 0 else 1.0,
        "launched": len(launched),
    }


# ---------------------------------------------------------------------- checks: KPIs


def _number(value: Any) -> float | None:
    """``value`` as a float, or None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _check_kpis(ctx: _Ctx) -> None:
    """Status, every KPI against the recomputed values (relative ``tol``) and the MIP gap."""
    kpis = ctx.kpis
    if not isinstance(kpis, dict) or not kpis:
        ctx.add("the plan has no kpis")
        return
    status = kpis.get("status")
    if status not in _ALL_STATUS:
        ctx.add(f"kpis status is {status!r}, not one of {', '.join(_ALL_STATUS)}")
    elif status not in _GOOD_STATUS:
        ctx.add(f"kpis status is {status!r}: the run has no feasible plan to act on")
    truth = ctx.cached("evaluation", _evaluate)
    expected: dict[str, float] = {
        "profit": truth["profit"], "objective": truth["profit"], "revenue": truth["revenue"],
        "salvage": truth["salvage"], "units_sold": truth["units_sold"],
        "potential_demand": truth["potential_demand"], "fill_rate": truth["fill_rate"],
        "launched": truth["launched"],
    }
    expected.update({f"costs.{k}": v for k, v in truth["costs"].items()})
    for key, value in expected.items():
        if key.startswith("costs."):
            costs = kpis.get("costs")
            reported = costs.get(key[6:]) if isinstance(costs, dict) else None
            present = isinstance(costs, dict) and key[6:] in costs
        else:
            reported, present = kpis.get(key), key in kpis
        number = _number(reported)
        if not present:
            ctx.add(f"kpis has no {key}")
        elif number is None or not math.isfinite(number):
            ctx.add(f"kpis {key} is {reported!r}, not a number")
        elif _differ(number, value, ctx.tol):
            ctx.add(f"kpis {key} is {_f(number)}, but the plan tables add up to {_f(value)}")
    if status in _SOLVER_STATUS:
        _check_gap(ctx, kpis)


def _check_gap(ctx: _Ctx, kpis: dict[str, Any]) -> None:
    """best_bound ≥ objective (maximisation) and mip_gap = |best_bound − objective| / |objective| (or / |best_bound|)."""
    objective, bound, gap = (_number(kpis.get(k)) for k in ("objective", "best_bound", "mip_gap"))
    if objective is None or bound is None or not (math.isfinite(objective) and math.isfinite(bound)):
        return
    if _over(objective, bound, ctx.tol):
        ctx.add(f"kpis best_bound {_f(bound)} is below the objective {_f(objective)}; a maximisation's bound "
                f"cannot be below its incumbent")
    if gap is None or not math.isfinite(gap):
        return
    tiny = 1e-10
    candidates = [abs(bound - objective) / max(abs(objective), tiny), abs(bound - objective) / max(abs(bound), tiny)]
    if all(_differ(abs(gap), c, max(ctx.tol, 1e-6)) for c in candidates):
        ctx.add(f"kpis mip_gap is {_f(gap)}, but |best_bound − objective| / |objective| = {_f(candidates[0])}")


_CHECKS = (
    _check_launches,
    _check_min_products,
    _check_base_demand,
    _check_inactive,
    _check_featured_uplift,
    _check_ad_uplift_split,
    _check_sales_identities,
    _check_potential_covers_sales,
    _check_featured_slots,
    _check_advertising,
    _check_orders,
    _check_stock,
    _check_shipments,
    _check_lanes,
    _check_warehouses,
    _check_inventory_value,
    _check_kpis,
)
