"""Shadow prices of a plan, in business terms: what one more unit of a resource is worth.

>>> import optsupply as ops
>>> from optsupply.analysis.sensitivity import sensitivity, write_sensitivity
>>> sc = ops.Scenario.load("instances/tiny")
>>> df = sensitivity(sc, threads=1)              # solves first; or pass plan=...
>>> df[df.binding]                               # the limits that cost money
>>> write_sensitivity(df, "tiny-sensitivity.csv")

**These are marginal values around the chosen integer plan.** The plan's
integer decisions — launches (and category/brand onboarding), orders placed,
warehouse activations, lanes used, featured products and the segments of
S-shaped advertising curves — are held fixed, and the remaining linear
programme (order quantities, stock, shipments, ad spend, sales) is re-solved
with HiGHS. Each value is the change in profit per extra unit of a resource,
valid for *small* changes only: a large change may make a different set of
launches, orders, lanes or featured products better, which no shadow price can
show (re-solve the scenario for that).

How each kind is computed (one row per existing constraint)
------------------------------------------------------------
``storage``, ``throughput``, ``lane_capacity``, ``channel_budget``, ``total_budget``, ``working_capital``
    The LP dual of the constraint (HiGHS row dual, which is d profit / d limit
    for this maximisation: positive = profit rises with one more unit). In the
    LP the model's data-derived bounds that are *implied* by these capacities
    (shipment bounds min(demand, lane capacity, throughput), order bounds from
    storage + throughput, the (l,S) rows and the strong-linking rows of set-ups
    that are on) are removed — they are redundant once the integers are fixed,
    but would otherwise take part of a capacity's dual — and a lane-capacity row
    is added where the model leaves it to the shipment bounds. A lane that the
    plan does not use (its fixed cost is not paid) gets value 0.
    ``channel_budget`` and ``total_budget`` values are **net**: one more unit of
    money is spent, and the value already pays for it and for buying, storing
    and shipping the extra units the extra uplift sells.
``featured_slot``
    Slots are whole products, so no dual exists. For a period whose slots are
    all used, the fixed-plan model is re-solved with one slot more, letting
    only that period's featured choice change (a small MIP solved to
    optimality; launches, orders and lanes stay as planned); value = profit
    difference, never below 0 (the plan stays feasible). ``featured="mip"``
    re-solves the whole MIP instead (compared with the plan's profit,
    clamped at 0). A period with a free slot is worth 0 (method ``"free"``).
``launch_earlier``
    For each launched new product: the whole MIP is re-solved with the launch
    forced one period earlier (same gap, short time limit) and the value is
    that profit minus the plan's profit (usually negative: the cost of
    launching earlier). ``status`` is the re-solve's status; a launch already
    at the start of its window gets status ``not_allowed`` and no value
    (key: the product alone when it launches in period 0). This value is not
    marginal: everything else may be re-planned; and both profits carry the
    MIP gap, so differences smaller than the gap are noise.

Rows exist only where the constraint exists in the model (finite storage,
throughput, lane capacity and budgets; a total budget or inventory-value cap
that is set; periods where more products could be featured than there are
slots; lane-periods some product can use). Every such row is kept, binding or
not, so planners also see where capacity is free. ``binding`` means the
resource is fully used in the plan (slack ≤ 1e-6·max(1, limit)); a binding row can
still be worth 0 (it is exactly full, but more would not help).

Columns: ``kind``, ``key`` (e.g. ``"W2/period 5"``), ``period`` (nullable),
``value`` (currency per unit of the resource), ``unit``, ``binding``,
``limit`` and ``usage`` (the resource's size and what the plan uses; for
``launch_earlier``: the earlier and the planned period), ``method``
(``lp_dual``, ``resolve_plan``, ``resolve_mip``, ``free``, ``closed``),
``status`` and ``explanation`` (one sentence). ``df.attrs`` holds ``notes``
(the statement above), ``lp_profit`` (the fixed-plan LP) and ``plan_profit``.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import pyomo.environ as pyo

from optsupply.errors import OptsupplyError, UsageError
from optsupply.files import guard_file, write_file
from optsupply.model import build_model, prepare
from optsupply.model.data import ModelData
from optsupply.model.extract import extract_plan
from optsupply.model.fixing import fix_plan
from optsupply.plan.core import Plan
from optsupply.scenario.core import Scenario
from optsupply.optimizer.highs import SolveOptions, persistent_solver, solve_fixed, solve_model
from optsupply.plan.core import OPTIMAL

NOTES = (
    "Marginal values around the chosen integer plan: launches, category/brand onboarding, orders placed, "
    "warehouse activations, lanes used, featured products and S-curve advertising segments are held fixed and "
    "only quantities, stock, shipments and ad spend are re-optimised. Each value is the profit change per one "
    "more unit of the resource and holds for small changes only; a large change can make a different integer "
    "plan better (re-solve the scenario to see that). Budget values are net of the extra spend and of "
    "fulfilling the extra demand. featured_slot values come from a re-solve with one slot more; launch_earlier "
    "values from a full MIP re-solve and are not marginal."
)

COLUMNS = ["kind", "key", "period", "value", "unit", "binding", "limit", "usage", "method", "status", "explanation"]
KINDS = ("storage", "throughput", "lane_capacity", "channel_budget", "total_budget", "working_capital",
         "featured_slot", "launch_earlier")
RESOLVE_TIME_LIMIT = 10.0  # default seconds for each MIP re-solve (featured "mip", launch_earlier)
_BINDING_TOL = 1e-6


class NoPlanError(OptsupplyError):
    """The scenario has no plan to analyse (the solver found none)."""


def relax_derived_bounds(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Remove the bounds and rows the model derives from capacities, once the integers are fixed.

    With every set-up fixed they are implied by the capacity rows themselves
    (or by demand), so the optimum does not change; without this a capacity's
    shadow price would be shared with a shipment or order bound computed from
    that same capacity. Lane-capacity rows the model left to shipment bounds
    are added as ``m.sensitivity_lane_capacity``.
    """
    tr, inv = m.transport, m.inventory

    def on(var: Any, key: Any) -> bool:  # fixed at 1
        v = var[key]
        return v.fixed and v.value > 0.5

    for v in tr.ship.values():
        v.setub(None)
    for (p, w, t), v in inv.order.items():
        cap = d.max_order[p, w]
        v.setub(cap if math.isfinite(cap) else None)
    for k, con in inv.setup_upper.items():
        if on(inv.placed, k):
            con.deactivate()
        # placed fixed at 0 keeps order ≤ 0
    for (p, w, t), con in inv.activation.items():
        if on(inv.active_w, (p, w)):
            con.deactivate()
    for (p, w, r, t), con in inv.activation_link.items():
        if on(inv.active_w, (p, w)):
            con.deactivate()
    if hasattr(tr, "strong_link"):
        for (p, w, r, t), con in tr.strong_link.items():
            if on(tr.used, (w, r, t)):
                con.deactivate()
    inv.lot_sizing.deactivate()

    by_wrt: dict[tuple, list[str]] = defaultdict(list)
    for p, w, r, t in d.ship:
        by_wrt[w, r, t].append(p)
    missing = sorted(k for k in by_wrt if math.isfinite(d.lane_cap[k[0], k[1]]) and k not in tr.lane_capacity)
    m.sensitivity_lane_capacity = pyo.Constraint(
        missing, rule=lambda _, w, r, t: sum(d.volume[p] * tr.ship[p, w, r, t] for p in by_wrt[w, r, t]) <= d.lane_cap[w, r])


def fixed_plan_model(scenario: Scenario, plan: Plan) -> tuple[pyo.ConcreteModel, ModelData]:
    """The model of ``scenario`` with ``plan``'s integers fixed (continuous) and capacity-derived bounds removed."""
    d = prepare(scenario)
    m, d = build_model(scenario, d)
    fix_plan(m, d, plan)
    relax_derived_bounds(m, d)
    return m, d


# ---------------------------------------------------------------------- solving


def _one_more_slot(m: pyo.ConcreteModel, d: ModelData, t: int, opts: SolveOptions, time_limit: float,
                   solver: Any) -> tuple[str, float | None]:
    """Re-solve the fixed-plan model with slots[t] + 1 and period t's featured binaries free; model restored after."""
    feats = [(v, v.value) for (_p, tt), v in m.demand.feat.items() if tt == t]
    m.demand.slots[t].deactivate()
    m.sensitivity_slot = pyo.Constraint(expr=sum(v for v, _ in feats) <= d.slots[t] + 1)
    try:
        for v, _ in feats:
            v.unfix()
            v.domain = pyo.Binary
        status, obj, _ = solve_fixed(m, opts, time_limit=time_limit, mip=True, solver=solver)
    finally:
        for v, val in feats:
            v.domain = pyo.UnitInterval
            v.fix(val)
        m.del_component(m.sensitivity_slot)
        m.demand.slots[t].activate()
    return status, obj


# ---------------------------------------------------------------------- the table


def sensitivity(scenario: Scenario | str | os.PathLike, plan: Plan | str | os.PathLike | None = None, *,
                featured: str = "plan", launch_earlier: bool = True, resolve_time_limit: float | None = None,
                **solve_options: Any) -> pd.DataFrame:
    """Shadow prices of a plan: what one more unit of each limited resource is worth.

    Parameters
    ----------
    scenario : Scenario or path
        The scenario the plan was made for.
    plan : Plan, path to a plan folder, or None
        The plan to analyse; ``None`` solves the scenario first (with
        ``solve_options``).
    featured : {"plan", "mip"}
        How a full period's featured slot is priced: ``"plan"`` re-solves the
        fixed plan with one slot more, only that period's featured choice free
        (fast, consistent with the other rows); ``"mip"`` re-solves the whole MIP.
    launch_earlier : bool
        Add the ``launch_earlier`` rows (one MIP re-solve per launched product
        whose window allows it). Turn off for speed.
    resolve_time_limit : float, optional
        Seconds per MIP re-solve (default: the smaller of 10 s and the
        scenario's time limit). The gap is the scenario's (or ``mip_gap``).
    **solve_options
        :class:`~optsupply.optimizer.highs.SolveOptions` fields (``time_limit``,
        ``mip_gap``, ``threads``, ``seed``, ``presolve``, ``log``,
        ``highs_options``), used for the first solve and every re-solve.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind, key, period, value, unit, binding, limit, usage,
        method, status, explanation`` (see the module docstring); one row per
        existing constraint; ``value`` in currency per unit of the resource,
        positive = profit rises. ``df.attrs["notes"]`` states that these are
        marginal values around the fixed integer plan; ``df.attrs["lp_profit"]``
        and ``df.attrs["plan_profit"]`` are the fixed-plan LP's and the plan's profits.

    Raises
    ------
    NoPlanError
        When the solver finds no plan (``plan`` None), or ``plan`` has none (infeasible, error).
    UsageError
        When the plan does not fit the scenario (its fixed LP is infeasible),
        or ``featured`` is not ``"plan"``/``"mip"``.
    """
    if featured not in ("plan", "mip"):
        raise UsageError(f"featured must be 'plan' or 'mip', not {featured!r}")
    sc = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
    opts = SolveOptions.from_scenario(sc.settings, **solve_options)
    if plan is None:
        from optsupply.optimizer.optimize import solve

        plan = solve(sc, **solve_options)
    elif not isinstance(plan, Plan):
        plan = Plan.load(plan)
    if plan.kpis.get("profit") is None:
        raise NoPlanError(f"no plan to analyse: the plan records status '{plan.status}'")
    limit = resolve_time_limit
    if limit is None:
        limit = min(RESOLVE_TIME_LIMIT, opts.time_limit) if opts.time_limit else RESOLVE_TIME_LIMIT
    money = sc.settings.get("currency") or "money"

    m, d = fixed_plan_model(sc, plan)
    solver = persistent_solver()  # the featured-slot re-solves send only their changes
    status, lp_profit, res = solve_fixed(m, opts, time_limit=opts.time_limit, solver=solver)
    if status != OPTIMAL or lp_profit is None:
        raise UsageError(f"the plan does not fit scenario {sc.name!r}: with its launches, orders, lanes and featured "
                         f"products fixed the remaining plan is {status} (was it made for another scenario?)")
    res.solution_loader.load_vars()
    plan_profit = plan.kpis.get("profit")
    cons = [c for c in m.component_data_objects(pyo.Constraint, active=True)]
    duals = res.solution_loader.get_duals(cons)

    rows: list[dict[str, Any]] = []
    rows += _capacity_rows(m, d, duals, money)
    rows += _featured_rows(sc, m, d, plan, opts, featured, lp_profit, plan_profit, limit, money, solver)
    if launch_earlier:
        rows += _launch_rows(sc, d, plan, opts, plan_profit, limit, money)

    df = pd.DataFrame(rows, columns=COLUMNS)
    df["period"] = df["period"].astype("Int64")
    df["binding"] = df["binding"].astype(bool)
    for c in ("value", "limit", "usage"):
        df[c] = df[c].astype("float64")
    order = {k: i for i, k in enumerate(KINDS)}
    df = df.assign(_k=df["kind"].map(order)).sort_values(["_k", "period", "key"], kind="stable", na_position="first")
    df = df.drop(columns="_k").reset_index(drop=True)
    df.attrs["notes"] = NOTES
    df.attrs["lp_profit"] = float(lp_profit)
    df.attrs["plan_profit"] = None if plan_profit is None else float(plan_profit)
    return df


def _clean(x: float, scale: float = 1.0) -> float:
    return 0.0 if abs(x) <= 1e-9 * max(1.0, scale) else float(x)


def _fmt(x: float) -> str:
    return f"{x:,.2f}" if abs(x) >= 0.01 or x == 0 else f"{x:.3g}"


def _capacity_rows(m: pyo.ConcreteModel, d: ModelData, duals: dict, money: str) -> list[dict[str, Any]]:
    rows = []

    def add(kind: str, key: str, period: int | None, con: Any, limit: float, unit: str, what: str, one: str,
            closed: bool = False) -> None:
        """``what``: the resource in a sentence; ``one``: what one more unit of it is."""
        slack = float(con.upper) - float(pyo.value(con.body))
        usage = 0.0 if closed else max(0.0, limit - slack)
        binding = (not closed) and slack <= _BINDING_TOL * max(1.0, abs(limit))
        value = 0.0 if closed else _clean(duals.get(con, 0.0), abs(limit))
        if -1e-7 < value < 0:  # solver noise on a ≤ row of a maximisation
            value = 0.0
        method = "closed" if closed else "lp_dual"
        if closed:
            text = f"{what} is not used in this plan (its fixed cost is not paid), so its capacity is worth nothing here."
        elif value > 0:
            text = (f"{what} is full ({_fmt(usage)} of {_fmt(limit)}); one more {one} would raise profit by about "
                    f"{_fmt(value)} {money}.")
        elif binding:
            text = f"{what} is exactly full ({_fmt(usage)} of {_fmt(limit)}), but one more {one} would not raise profit."
        else:
            text = f"{what} is not full ({_fmt(usage)} of {_fmt(limit)}), so one more {one} is worth nothing to this plan."
        rows.append({"kind": kind, "key": key, "period": period, "value": value, "unit": unit, "binding": binding,
                     "limit": limit, "usage": usage, "method": method, "status": OPTIMAL, "explanation": text})

    budget_one = f"{money} of budget (net: after paying it and buying, storing and shipping what it sells)"
    inv, tr, adv = m.inventory, m.transport, m.advertising
    for (w, t), con in inv.storage.items():
        add("storage", f"{w}/period {t}", t, con, d.storage[w],
            f"{money} per unit of storage volume at the end of period {t}",
            f"storage in {w} at the end of period {t}", "unit of storage volume")
    for (w, t), con in tr.throughput.items():
        add("throughput", f"{w}/period {t}", t, con, d.throughput[w],
            f"{money} per unit of volume shipped out of {w} in period {t}",
            f"the throughput of {w} in period {t}", "unit of throughput volume")
    lanes = {**dict(tr.lane_capacity.items()), **dict(m.sensitivity_lane_capacity.items())}
    for w, r, t in sorted(lanes):
        closed = (w, r, t) in tr.used and tr.used[w, r, t].value < 0.5
        add("lane_capacity", f"{w}->{r}/period {t}", t, lanes[w, r, t], d.lane_cap[w, r],
            f"{money} per unit of volume on lane {w}->{r} in period {t}",
            f"lane {w}->{r} in period {t}", "unit of lane volume", closed=closed)
    for (c, t), con in adv.channel_budget.items():
        add("channel_budget", f"{c}/period {t}", t, con, d.channel_budget[c],
            f"{money} per {money} of {c} budget in period {t}, net of the spend and of fulfilment",
            f"the {c} budget in period {t}", budget_one)
    if hasattr(adv, "total_budget"):
        add("total_budget", "total", None, adv.total_budget, d.total_budget,
            f"{money} per {money} of total advertising budget, net of the spend and of fulfilment",
            "the total advertising budget", budget_one)
    if hasattr(inv, "working_capital"):
        for t, con in inv.working_capital.items():
            add("working_capital", f"period {t}", t, con, d.max_inventory_value,
                f"{money} per {money} of inventory value (at unit cost) allowed at the end of period {t}",
                f"the inventory value at the end of period {t}", f"{money} of allowed inventory value")
    return rows


def _featured_rows(sc: Scenario, m: pyo.ConcreteModel, d: ModelData, plan: Plan, opts: SolveOptions, mode: str,
                   lp_profit: float, plan_profit: float | None, limit: float, money: str,
                   solver: Any) -> list[dict[str, Any]]:
    rows = []
    used = defaultdict(int)
    for t in plan.featured["period"]:
        used[int(t)] += 1
    for t in sorted(m.demand.slots):
        slots = d.slots[t]
        base = {"kind": "featured_slot", "key": f"period {t}", "period": t,
                "unit": f"{money} per extra featured slot in period {t}",
                "limit": float(slots), "usage": float(used[t])}
        if used[t] < slots:
            rows.append({**base, "value": 0.0, "binding": False, "method": "free", "status": OPTIMAL,
                         "explanation": f"only {used[t]} of {slots} featured slots are used in period {t}, "
                                        "so one more slot is worth nothing to this plan."})
            continue
        if mode == "plan":
            status, obj = _one_more_slot(m, d, t, opts, limit, solver)
            reference, how = lp_profit, "keeping launches, orders and lanes as planned and re-choosing only period " \
                                        f"{t}'s featured products"
            method = "resolve_plan"
        else:
            table = sc.slots.copy()
            table.loc[table["period"] == t, "slots"] = slots + 1
            status, obj = _mip_profit(sc.with_tables({"slots": table}), opts, limit)
            reference, how, method = plan_profit, "re-planning everything", "resolve_mip"
        value = None if obj is None or reference is None else max(0.0, _clean(obj - reference, abs(reference)))
        full = f"the only featured slot is used in period {t}" if slots == 1 else \
            f"all {slots} featured slots are used in period {t}"
        if value is None:
            text = f"{full}; one more slot could not be priced (the re-solve ended {status})."
        elif value > 0:
            text = f"{full}; one more slot ({how}) would raise profit by about {_fmt(value)} {money}."
        else:
            text = f"{full}, but one more slot ({how}) would not raise profit."
        rows.append({**base, "value": value, "binding": True, "method": method, "status": status, "explanation": text})
    return rows


def _mip_profit(sc: Scenario, opts: SolveOptions, limit: float, fix: dict | None = None) -> tuple[str, float | None]:
    """Solve ``sc`` as a MIP (with ``fix``: launch.y keys fixed at 1) and return (status, cleaned plan profit)."""
    m, d = build_model(sc)
    for key in (fix or {}):
        m.launch.y[key].fix(1)
    result = solve_model(m, replace(opts, time_limit=limit))
    if not result.has_solution:
        return result.status, None
    _, ev = extract_plan(m, d, sc)
    return result.status, float(ev["profit"])


def _launch_rows(sc: Scenario, d: ModelData, plan: Plan, opts: SolveOptions, plan_profit: float | None,
                 limit: float, money: str) -> list[dict[str, Any]]:
    rows = []
    for p, tau in sorted(zip(plan.launches["product"], plan.launches["period"].astype(int), strict=True)):
        earlier = tau - 1
        base = {"kind": "launch_earlier", "key": f"{p}/period {earlier}" if earlier >= 0 else p,
                "period": earlier if earlier >= 0 else None,
                "unit": f"{money} of profit for launching {p} one period earlier", "binding": False,
                "limit": float(earlier), "usage": float(tau), "method": "resolve_mip"}
        if earlier < d.window[p][0]:
            rows.append({**base, "value": None, "status": "not_allowed",
                         "explanation": f"{p} launches in period {tau}, the first period its launch window "
                                        "allows, so it cannot launch earlier."})
            continue
        status, obj = _mip_profit(sc, opts, limit, fix={(p, earlier): 1})
        value = None if obj is None or plan_profit is None else _clean(obj - plan_profit, abs(plan_profit))
        if value is None:
            text = f"launching {p} in period {earlier} instead of {tau} could not be priced (the re-solve ended {status})."
        else:
            change = (f"{'raise' if value > 0 else 'lower'} profit by about {_fmt(abs(value))} {money}" if value
                      else "not change profit")
            text = (f"launching {p} in period {earlier} instead of {tau} (re-planning everything else) would {change}"
                    + ("" if status == OPTIMAL else f" (the re-solve ended '{status}', so this is an estimate)") + ".")
        rows.append({**base, "value": value, "status": status, "explanation": text})
    return rows


# ---------------------------------------------------------------------- writing


def sensitivity_path(path: str | os.PathLike) -> Path:
    """The file ``path`` names: itself for a ``.csv`` name, else ``path/sensitivity.csv`` (a folder)."""
    target = Path(path)
    if target.is_dir() or target.suffix.lower() != ".csv":
        target = target / "sensitivity.csv"
    return target


def write_sensitivity(df: pd.DataFrame, path: str | os.PathLike,
                      inputs: Sequence[str | os.PathLike | None] = ()) -> Path:
    """Write ``df`` as ``sensitivity.csv``: completely or not at all.

    ``path`` is a folder (existing, or without a ``.csv`` suffix; the file is
    ``path/sensitivity.csv``) or a ``.csv`` file name. It may not be or lie in
    one of ``inputs`` (the scenario and plan folders read), nor replace a file
    that is not a ``.csv`` (:func:`optsupply.files.guard_file`). The table is
    written to a temporary file next to the target and renamed into place, so
    an interrupted write leaves the old file (or none) and no temporary file
    behind. Returns the path written.
    """
    target = guard_file(sensitivity_path(path), inputs=inputs)
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            df.to_csv(f, index=False, lineterminator="\n")

    return write_file(target, write)


__all__ = ["sensitivity", "write_sensitivity", "sensitivity_path", "fixed_plan_model", "relax_derived_bounds", "NoPlanError", "NOTES", "COLUMNS"]
