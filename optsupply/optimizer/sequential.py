"""Baselines that use the solver for one part of the plan: what optimisation and integration are each worth.

Three baselines measure the joint plan honestly (``benchmarks/uplift.py``):

(a) **practitioner rules** — :func:`optsupply.baselines.siloed.practitioner_plan`: every team's rule of
    thumb done competently, no solver.
(b) **optimal supply under fixed commercial rules** — :func:`optimal_supply_plan` of the
    practitioner plan: its launches, featured products and ad spend are fixed, and the supply
    part (orders, stock, shipments, lanes) is optimised exactly by the joint MIP.
(c) **sequential-optimal** — :func:`sequential_plan`: the commercial decisions (launches, ads,
    featured products) are optimised on gross margin without supply costs or supply limits
    (the joint model of :func:`commercial_scenario`), then the supply part is optimised exactly
    with those fixed (as in (b)).

(b) − (a) is the *value of optimisation* (the same commercial decisions, supplied optimally);
joint − (c) the *value of integration* (deciding commercial and supply together rather than one
after the other). Each is meaningful only outside the joint run's gap (bound − profit).

Fixing the commercial decisions (:func:`fix_commercial`): launch and category/brand onboarding
binaries, featured binaries and ad spend are fixed at the plan's values (and the binaries of an
S-shaped response curve that the fixed effective spend implies). The uplift a fixed spend buys is
left to the model: it counts on at most the piecewise-linear curve (within pwl_tolerance of the
true Hill curve), so its ad uplift can be a little below the rule plan's, which counts on the true
curve.

For scenarios too large for one MIP, ``method="decompose"`` (or ``"auto"``) plans the supply part
by the product-group fix-and-optimize of :mod:`optsupply.optimizer.decompose` with the commercial decisions
fixed, starting from the commercial plan: not proven optimal, so (b) and (c) then carry no bound.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from optsupply.model import build_model, prepare
from optsupply.model.data import ModelData
from optsupply.plan.core import Plan, empty_plan
from optsupply.scenario.core import Scenario
from optsupply.optimizer.highs import SolveOptions, solve_model
from optsupply.plan.core import SOLVER_PLAN_STATUSES

__all__ = ["commercial_scenario", "fix_commercial", "optimal_supply_plan", "sequential_plan", "COMMERCIAL_BLOCKS"]

#: model blocks whose variables are commercial decisions (fixed by :func:`fix_commercial`)
COMMERCIAL_BLOCKS = ("launch", "demand", "advertising")


def commercial_scenario(sc: Scenario) -> Scenario:
    """``sc`` without supply costs and supply limits: what a commercial team optimises on gross margin.

    Holding, ordering, activation, transport and lane fixed costs are 0; lead times 0, no minimum
    or maximum order; storage, throughput, lane capacities and the working-capital cap
    are unlimited; salvage value 0 (stock is not a way to earn). Prices, unit costs, launch and
    onboarding costs, lost-sale costs, advertising budgets, featured slots, the launch cap and which
    regions each warehouse's lanes reach stay as they are.
    """
    changes: dict[str, Any] = {
        "products.holding_cost": 0, "products.salvage_value": 0,
        "warehouses.storage_capacity": "inf", "warehouses.throughput_capacity": "inf",
        "lanes.cost_per_unit": 0, "lanes.fixed_cost": 0, "lanes.capacity": "inf",
    }
    if not sc.supply.empty:
        changes.update({"supply.lead_time": 0, "supply.order_cost": 0, "supply.min_order": 0,
                        "supply.max_order": "inf", "supply.activation_cost": 0})
    if sc.settings.get("finance.max_inventory_value") is not None:
        changes["finance.max_inventory_value"] = None
    return sc.with_changes(changes)


def _rows_of(plan: Plan, products: set[str]) -> Plan:
    """``plan`` with only the rows of ``products`` (for the model of a product group)."""
    tables = {}
    for name in ("launches", "orders", "stock", "shipments", "sales", "advertising", "featured"):
        df = getattr(plan, name)
        tables[name] = df[df["product"].astype(str).isin(products)] if not df.empty else df
    sh = tables["shipments"]
    keys = set(zip(sh["warehouse"], sh["region"], sh["period"].astype(int), strict=True)) if not sh.empty else set()
    la = plan.lanes
    tables["lanes"] = la[[(w, r, int(t)) in keys for w, r, t in zip(la["warehouse"], la["region"], la["period"],
                                                                      strict=True)]] if not la.empty else la
    return Plan(**tables, kpis={}, scenario_name=plan.scenario_name, dates=plan.dates)


def commercial_values(m: pyo.ConcreteModel, d: ModelData, plan: Plan) -> tuple[ComponentMap, ComponentMap]:
    """(commercial, supply): the plan's value of every integer variable of ``m``, split into the
    commercial ones (:data:`COMMERCIAL_BLOCKS`) and the supply ones; only the plan's rows of the
    model's products are read (a product-group model)."""
    from optsupply.analysis.sensitivity import plan_integers

    own = _rows_of(plan, {str(p) for p in d.products})
    values = plan_integers(m, d, own)
    commercial, supply = ComponentMap(), ComponentMap()
    for v, x in values.items():
        block = v.parent_component().parent_block().local_name
        (commercial if block in COMMERCIAL_BLOCKS else supply)[v] = x
    return commercial, supply


def fix_commercial(m: pyo.ConcreteModel, d: ModelData, plan: Plan) -> ComponentMap:
    """Fix the commercial decisions of ``m`` at ``plan``'s: launches, onboarding, featured products, ad
    spend (0 where the plan spends nothing) and the S-curve binaries it implies. Returns the plan's
    values of the supply binaries (orders placed, warehouse activations, lanes used) as a MIP start."""
    commercial, supply = commercial_values(m, d, plan)
    for v, x in commercial.items():
        if v.fixed:
            continue
        v.domain = pyo.UnitInterval
        v.fix(x)
    own = {str(p) for p in d.products}
    ad = plan.advertising
    spend = {}
    if not ad.empty:
        for p, c, t, x in zip(ad["product"], ad["channel"], ad["period"], ad["spend"], strict=True):
            if str(p) in own:
                spend[str(p), str(c), int(t)] = float(x)
    for k, v in m.advertising.spend.items():
        v.fix(spend.pop((str(k[0]), str(k[1]), int(k[2])), 0.0))
    if any(x > 0 for x in spend.values()):
        first = next(k for k, x in spend.items() if x > 0)
        from optsupply.errors import UsageError

        raise UsageError(f"the plan spends on {first[0]} / {first[1]} in period {first[2]}, which the model "
                         "cannot advertise: was it made for another scenario?")
    return supply


def optimal_supply_plan(sc: Scenario, commercial: Plan, *, method: str = "mip", **options: Any) -> Plan:
    """Baseline (b)/(c): ``commercial``'s launches, featured products and ad spend fixed, the supply part
    (orders, stock, shipments, lanes) optimised by the joint MIP (or by product-group fix-and-optimize
    with ``method="decompose"``, ``"auto"`` from :data:`optsupply.optimizer.optimize.AUTO_DECOMPOSE_PRODUCTS`).

    The commercial plan's supply decisions are the MIP start. The plan's kpis: ``method``
    ``"supply_optimal"``, status, ``best_bound`` and ``mip_gap`` of the supply MIP (a bound of the
    supply part for these commercial decisions, not of the joint problem).
    """
    from optsupply.optimizer.optimize import choose_method, finish_plan

    opts = SolveOptions.from_scenario(sc.settings, **options)
    if choose_method(sc, method) == "decompose":
        from optsupply.optimizer.decompose import decompose
        from optsupply.optimizer.optimize import _checked_decomposition

        plan = _checked_decomposition(sc, decompose(sc, opts, start=commercial, fixed_commercial=True))
    else:
        t0 = time.perf_counter()
        limit = opts.time_limit
        deadline = t0 + limit if limit is not None and math.isfinite(limit) else None
        d = prepare(sc)
        m, d = build_model(sc, d)
        start = fix_commercial(m, d, commercial)
        build_seconds = time.perf_counter() - t0
        result = solve_model(m, opts, deadline=deadline, start=start)
        plan = finish_plan(result, m, d, sc, build_seconds, opts)
    plan.kpis["method"] = "supply_optimal"
    plan.kpis["commercial_from"] = commercial.kpis.get("method")
    return plan


def sequential_plan(sc: Scenario, *, method: str = "mip", commercial_time_limit: float | None = None,
                    **options: Any) -> Plan:
    """Baseline (c): commercial decisions optimised on gross margin without supply costs or limits
    (the joint model of :func:`commercial_scenario`), then the supply part optimised with them fixed
    (:func:`optimal_supply_plan`). ``method`` as in :func:`optsupply.solve`, for both steps.

    kpis: those of the supply step, ``method == "sequential"``, and ``commercial_status``,
    ``commercial_profit`` (gross margin of the first step), ``commercial_gap``.
    """
    from optsupply.baselines.siloed import siloed_plan
    from optsupply.optimizer.optimize import solve

    step1 = dict(options)
    if commercial_time_limit is not None:
        step1["time_limit"] = commercial_time_limit
    relaxed = commercial_scenario(sc)
    com = solve(relaxed, method=method, **step1)
    if com.kpis.get("status") not in SOLVER_PLAN_STATUSES:
        return empty_plan(com.kpis.get("status", "error"), sc.name, mip_gap=None, method="sequential",
                          message=f"the commercial step has no plan: {com.kpis.get('message', '')}")
    # the commercial plan's supply part was made for free, unlimited supply: the practitioner supply rules
    # give these commercial decisions a feasible supply part first (the start of the supply step)
    supplied = siloed_plan(sc, rules="practitioner", commercial=com)
    supplied.kpis["method"] = "sequential_commercial"
    plan = optimal_supply_plan(sc, supplied, method=method, **options)
    plan.kpis.update({"method": "sequential", "commercial_status": com.kpis.get("status"),
                      "commercial_profit": com.kpis.get("profit"), "commercial_gap": com.kpis.get("mip_gap")})
    return plan
