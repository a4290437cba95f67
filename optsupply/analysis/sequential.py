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

Fixing the commercial decisions (:func:`optsupply.model.fixing.fix_commercial`): launch and category/brand onboarding
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

from optsupply.model import build_model, prepare
from optsupply.model.fixing import fix_commercial
from optsupply.optimizer.highs import SolveOptions, solve_model
from optsupply.optimizer.optimize import checked_decomposition, choose_method, finish_plan, solve
from optsupply.plan.core import SOLVER_PLAN_STATUSES, Plan, empty_plan
from optsupply.scenario.core import Scenario

__all__ = ["commercial_scenario", "optimal_supply_plan", "sequential_plan"]

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


def optimal_supply_plan(sc: Scenario, commercial: Plan, *, method: str = "mip", **options: Any) -> Plan:
    """Baseline (b)/(c): ``commercial``'s launches, featured products and ad spend fixed, the supply part
    (orders, stock, shipments, lanes) optimised by the joint MIP (or by product-group fix-and-optimize
    with ``method="decompose"``, ``"auto"`` from :data:`optsupply.optimizer.optimize.AUTO_DECOMPOSE_PRODUCTS`).

    The commercial plan's supply decisions are the MIP start. The plan's kpis: ``method``
    ``"supply_optimal"``, status, ``best_bound`` and ``mip_gap`` of the supply MIP (a bound of the
    supply part for these commercial decisions, not of the joint problem).
    """
    opts = SolveOptions.from_scenario(sc.settings, **options)
    if choose_method(sc, method) == "decompose":
        from optsupply.optimizer.decompose import decompose

        plan = checked_decomposition(sc, decompose(sc, opts, start=commercial, fixed_commercial=True))
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
