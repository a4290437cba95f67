"""Profit and its parts recomputed from a plan's tables, and the check of the plan's KPIs against them.

Part of the independent plan checker (:mod:`optsupply.plan.check`):
:func:`evaluate` prices what the plan decides and what follows from it (SPEC
§3 objective: revenue + salvage − every cost of
:data:`optsupply.plan.core.COST_KEYS`), one step per family of money;
:func:`check_kpis` compares the plan's ``kpis`` (status, profit, every cost,
the MIP gap) with it.
"""

from __future__ import annotations

import math
from typing import Any

from optsupply.plan.check_derive import (
    lane_volumes,
    sales_rows,
    shipped_volume,
    stock_trajectory,
)
from optsupply.plan.check_tables import Ctx, differs, exceeds, fmt, lookup
from optsupply.plan.core import BOUND_KINDS, PLAN_STATUSES, SOLVER_PLAN_STATUSES, STATUSES

# ---------------------------------------------------------------------- profit


def evaluate(ctx: Ctx) -> dict[str, Any]:
    """The objective's parts from the plan's decisions and what follows from them."""
    revenue, lost_sale, units_sold, potential = _sales_money(ctx)
    holding, salvage = _stock_money(ctx)
    purchase, ordering, activation = _order_costs(ctx)
    transport, lane_fixed = _transport_costs(ctx)
    advertising = float(ctx.tables["advertising"]["spend"].sum())
    launched = sorted(set(ctx.tables["launches"]["product"]))
    launch, onboarding = _launch_costs(ctx, launched)

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


def _sales_money(ctx: Ctx) -> tuple[float, float, float, float]:
    """Revenue, lost-sale cost, units sold and potential demand, from shipments and the forecast."""
    products = ctx.products
    price = products["price"].astype("float64")
    rows = ctx.cached("sales_rows", sales_rows)
    revenue = float((rows["sold"] * rows["product"].map(price)).sum())
    lost_sale = float((rows["lost"] * rows["product"].map(products["lost_sale_cost"]).astype("float64")).sum())
    units_sold = float(rows["sold"].sum())
    potential = float(rows["potential"].sum())
    return revenue, lost_sale, units_sold, potential


def _stock_money(ctx: Ctx) -> tuple[float, float]:
    """Holding cost of the end-of-period stock, and the salvage value of the stock left at the end."""
    products = ctx.products
    stock = ctx.cached("stock", stock_trajectory)
    holding = float((stock["units"] * stock["product"].map(products["holding_cost"]).astype("float64")).sum())
    final = stock[stock["period"] == ctx.H - 1]
    salvage = float((final["units"] * final["product"].map(products["salvage_value"]).astype("float64")).sum())
    return holding, salvage


def _order_costs(ctx: Ctx) -> tuple[float, float, float]:
    """Purchase (units × unit cost), ordering (per order) and activation (per supply pair ordered from)."""
    unit_cost = ctx.products["unit_cost"].astype("float64")
    orders = ctx.tables["orders"]
    order_cost = lookup(ctx.t["supply"], ["product", "warehouse"], "order_cost")
    activation_cost = lookup(ctx.t["supply"], ["product", "warehouse"], "activation_cost")
    pairs = list(zip(orders["product"], orders["warehouse"]))
    purchase = float((orders["units"] * orders["product"].map(unit_cost)).sum())
    ordering = float(sum(order_cost.get(pair, 0.0) for pair in pairs))
    activation = float(sum(activation_cost.get(pair, 0.0) for pair in set(pairs)))
    return purchase, ordering, activation


def _transport_costs(ctx: Ctx) -> tuple[float, float]:
    """Transport (volume × lane rate) and the lane fixed cost of every (lane, period) carrying volume or marked used."""
    ship = ctx.cached("shipped_volume", shipped_volume)
    lane_rate = lookup(ctx.t["lanes"], ["warehouse", "region"], "cost_per_unit")
    transport = float(sum(v * lane_rate.get((w, r), 0.0) for w, r, v in zip(ship["warehouse"], ship["region"], ship["volume"])))
    lane_fixed_cost = lookup(ctx.t["lanes"], ["warehouse", "region"], "fixed_cost")
    carrying = ctx.cached("lane_volumes", lane_volumes)
    used = set(zip(carrying["warehouse"][carrying["volume"] > ctx.tol], carrying["region"][carrying["volume"] > ctx.tol],
                   carrying["period"][carrying["volume"] > ctx.tol]))
    marked = ctx.tables["lanes"][ctx.tables["lanes"]["used"]]
    used |= set(zip(marked["warehouse"], marked["region"], marked["period"]))
    lane_fixed = float(sum(lane_fixed_cost.get((w, r), 0.0) for w, r, _ in used))
    return transport, lane_fixed


def _launch_costs(ctx: Ctx, launched: list[str]) -> tuple[float, float]:
    """Launch cost of the launched products, and the onboarding cost of each category and brand they open."""
    products = ctx.products
    launch = float(products.loc[launched, "launch_cost"].astype("float64").sum()) if launched else 0.0
    onboarding = 0.0
    for level, table in (("category", ctx.t["categories"]), ("brand", ctx.t["brands"])):
        cost = lookup(table, [level], "onboarding_cost")
        onboarding += float(sum(cost.get(g, 0.0) for g in set(products.loc[launched, level]))) if launched else 0.0
    return launch, onboarding


# ---------------------------------------------------------------------- checks: KPIs


def _number(value: Any) -> float | None:
    """``value`` as a float, or None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check_kpis(ctx: Ctx) -> None:
    """Status, every KPI against the recomputed values (relative ``tol``) and the MIP gap."""
    kpis = ctx.kpis
    if not isinstance(kpis, dict) or not kpis:
        ctx.add("the plan has no kpis")
        return
    status = kpis.get("status")
    if status not in STATUSES:
        ctx.add(f"kpis status is {status!r}, not one of {', '.join(STATUSES)}")
    elif status not in PLAN_STATUSES:
        ctx.add(f"kpis status is {status!r}: the run has no feasible plan to act on")
    truth = ctx.cached("evaluation", evaluate)
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
        elif differs(number, value, ctx.tol):
            ctx.add(f"kpis {key} is {fmt(number)}, but the plan tables add up to {fmt(value)}")
    if status in SOLVER_PLAN_STATUSES:
        _check_gap(ctx, kpis)


def _check_gap(ctx: Ctx, kpis: dict[str, Any]) -> None:
    """best_bound ≥ objective (maximisation), mip_gap = |best_bound − objective| / |objective| (or / |best_bound|),
    and a ``bound_kind``, when given, one of :data:`BOUND_KINDS` and only beside a bound."""
    objective, bound, gap = (_number(kpis.get(k)) for k in ("objective", "best_bound", "mip_gap"))
    kind = kpis.get("bound_kind")
    if kind is not None and kind not in BOUND_KINDS:
        ctx.add(f"kpis bound_kind is {kind!r}, not one of {', '.join(BOUND_KINDS)}")
    if kind is not None and bound is None:
        ctx.add(f"kpis bound_kind is {kind!r}, but there is no best_bound")
    if objective is None or bound is None or not (math.isfinite(objective) and math.isfinite(bound)):
        return
    if exceeds(objective, bound, ctx.tol):
        ctx.add(f"kpis best_bound {fmt(bound)} is below the objective {fmt(objective)}; a maximisation's bound "
                f"cannot be below its incumbent")
    if gap is None or not math.isfinite(gap):
        return
    tiny = 1e-10
    candidates = [abs(bound - objective) / max(abs(objective), tiny), abs(bound - objective) / max(abs(bound), tiny)]
    if all(differs(abs(gap), c, max(ctx.tol, 1e-6)) for c in candidates):
        ctx.add(f"kpis mip_gap is {fmt(gap)}, but |best_bound − objective| / |objective| = {fmt(candidates[0])}")

