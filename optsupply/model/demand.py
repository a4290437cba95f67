"""Base demand, featured slots, sales, lost sales and revenue.

Equations (sell = the (p,r,t) where p can have demand)::

    base[p,r,t] = demand[p,r,t]                                   active products
    base[p,r,t] = Σ_τ y[p,τ]·curve[p,r,t-τ]·season[cat(p),t]      new products
    feat[p,t] ∈ {0,1} ≤ active[p,t]                               featured_active
    Σ_p feat[p,t] ≤ slots[t]                                      slots
    fup[p,r,t] ≤ lift_p·base[p,r,t]                               featured_base
    (active products without a lost-sale cost: fup[p,r,t] = lift_p·demand[p,r,t]·feat[p,t],
     no variable — counting uplift that is not sold costs them nothing)
    fup[p,r,t] ≤ lift_p·max_base[p,r,t]                           (variable bound)
    Σ_r fup[p,r,t] ≤ lift_p·Σ_r max_base[p,r,t]·feat[p,t]         featured_link (one row per product
                                                                  and period: exact for a binary feat)
    potential[p,r,t] = base + share[p,r]·U[p,t] + fup              (expression)
    sales[p,r,t] ≤ potential[p,r,t]                               demand_cap
    lost[p,r,t] = potential - sales                               (expression)
    revenue = Σ price·sales;   cost_lost_sale = Σ lost_sale_cost·lost

Base demand is never discounted: lost base demand is charged its
lost_sale_cost. Ad and featured uplift count only as far as the plan relies on
them (they are upper bounds), so with a lost-sale cost the plan counts on
exactly the uplift it serves.
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from optsupply.model.advertising import total_uplift
from optsupply.model.data import BIG_M, ModelData
from optsupply.model.launch import launched_by
from optsupply.model.transport import sales


def base_demand(m: pyo.ConcreteModel, d: ModelData, p: str, r: str, t: int) -> pyo.Expression | float:
    if p not in d.window:
        return d.base.get((p, r, t), 0.0)
    if p in d.shape:
        total = m.launch.total
        return d.share[p, r] * total[p, t] if (p, t) in total else 0.0
    y = m.launch.y
    return sum(d.base_new(p, r, t, tau) * y[p, tau] for tau in m.launch.by_product[p]
               if tau <= t and d.base_new(p, r, t, tau) > 0)


def add_demand(m: pyo.ConcreteModel, d: ModelData) -> None:
    b = m.demand = pyo.Block()
    feat_idx = [(p, t) for p in d.products if d.lift[p] > 0 and d.regions_of.get(p)
                for t in d.periods if d.slots.get(t, 0) > 0 and d.can_be_active(p, t)]
    b.feat = pyo.Var(feat_idx, domain=pyo.Binary)
    by_t: dict[int, list[str]] = defaultdict(list)
    for p, t in feat_idx:
        by_t[t].append(p)
    b.slots = pyo.Constraint(sorted(t for t in by_t if len(by_t[t]) > d.slots[t]),
                             rule=lambda b, t: sum(b.feat[p, t] for p in by_t[t]) <= d.slots[t])
    b.featured_active = pyo.Constraint([k for k in feat_idx if k[0] in d.window],
                                       rule=lambda b, p, t: b.feat[p, t] <= launched_by(m, p, t))
    feat = set(feat_idx)
    # Active products without a lost-sale cost count on the whole featured lift (lift·demand·feat,
    # no variable needed: counting more uplift than is sold costs nothing for them). New products
    # (demand depends on the launch) and products with a lost-sale cost get a variable fup.
    direct = {p for p in d.products if p not in d.window and d.lost_cost[p] == 0}
    fup_idx = [(p, r, t) for p, r, t in d.sell
               if (p, t) in feat and d.base_max.get((p, r, t), 0) > 0 and p not in direct]
    b.fup = pyo.Var(fup_idx, domain=pyo.NonNegativeReals,
                    bounds=lambda b, p, r, t: (0, d.lift[p] * d.base_max[p, r, t]))
    b.featured_base = pyo.Constraint([k for k in fup_idx if k[0] in d.window],
                                     rule=lambda b, p, r, t: b.fup[p, r, t] <= d.lift[p] * base_demand(m, d, p, r, t))
    fup_by_pt: dict[tuple[str, int], list[str]] = defaultdict(list)
    for p, r, t in fup_idx:
        fup_by_pt[p, t].append(r)
    b.featured_link = pyo.Constraint(
        sorted(fup_by_pt), rule=lambda b, p, t: sum(b.fup[p, r, t] for r in fup_by_pt[p, t])
        <= (d.lift[p] * sum(d.base_max[p, r, t] for r in fup_by_pt[p, t]) if d.strong else BIG_M) * b.feat[p, t])

    fups = set(fup_idx)

    def uplift(p: str, r: str, t: int) -> pyo.Expression | float:
        up = d.share[p, r] * total_uplift(m, p, t)
        if (p, r, t) in fups:
            up = up + b.fup[p, r, t]
        elif p in direct and (p, t) in feat and d.base.get((p, r, t), 0) > 0:
            up = up + d.lift[p] * d.base[p, r, t] * b.feat[p, t]
        return up

    b.uplift = uplift  # V[p,r,t] = potential − base: the ad and featured uplift (model/links.py uses it)
    b.potential = pyo.Expression(d.sell, rule=lambda b, p, r, t: base_demand(m, d, p, r, t) + uplift(p, r, t))
    b.demand_cap = pyo.Constraint(
        [k for k in d.sell if k in m.transport.by_prt],
        rule=lambda b, p, r, t: sales(m, p, r, t) <= b.potential[p, r, t])
    b.revenue = pyo.Expression(expr=sum(d.price[p] * sales(m, p, r, t) for p, r, t in d.sell
                                        if d.price[p] and (p, r, t) in m.transport.by_prt))
    b.cost_lost_sale = pyo.Expression(expr=sum(
        d.lost_cost[p] * (b.potential[p, r, t] - sales(m, p, r, t)) for p, r, t in d.sell if d.lost_cost[p]))
