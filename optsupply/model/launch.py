"""Launch decisions: when each new product launches, category/brand onboarding.

Equations (p new product, τ its allowed launch periods, g a category or brand
with an onboarding cost or a minimum assortment, members(g) its new products)::

    y[p,τ] ∈ {0,1}                                   launch of p in period τ
    Σ_τ y[p,τ] ≤ 1      (= 1 if must_launch)          launch_once
    active[p,t] = Σ_{τ ≤ t} y[p,τ]                   (expression; 1 for active products)
    Σ_p y[p,τ] ≤ launch.max_per_period               per_period
    intro[g] ∈ {0,1}
    Σ_τ y[p,τ] ≤ intro[g]            p ∈ members(g)   intro_link
    Σ_{p ∈ g} Σ_τ y[p,τ] ≥ min_products[g]·intro[g]   min_products
    cost_launch     = Σ launch_cost[p]·y[p,τ]
    cost_onboarding = Σ onboarding_cost[g]·intro[g]
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from optsupply.model.data import ModelData


def add_launch(m: pyo.ConcreteModel, d: ModelData) -> None:
    b = m.launch = pyo.Block()
    idx = [(p, tau) for p in d.new for tau in range(d.window[p][0], d.window[p][1] + 1)]
    b.y = pyo.Var(idx, domain=pyo.Binary)
    by_product: dict[str, list[int]] = defaultdict(list)
    by_period: dict[int, list[str]] = defaultdict(list)
    for p, tau in idx:
        by_product[p].append(tau)
        by_period[tau].append(p)
    b.by_product = by_product

    def once(b: pyo.Block, p: str) -> pyo.Expression:
        total = sum(b.y[p, tau] for tau in by_product[p])
        if isinstance(total, int):  # empty window
            return pyo.Constraint.Skip if not d.must_launch[p] else pyo.Constraint.Infeasible
        return total == 1 if d.must_launch[p] else total <= 1

    b.launch_once = pyo.Constraint(d.new, rule=once)
    if d.max_per_period is not None:
        b.per_period = pyo.Constraint(sorted(by_period),
                                      rule=lambda b, t: sum(b.y[p, t] for p in by_period[t]) <= d.max_per_period)

    groups = sorted(d.group_members)
    b.intro = pyo.Var(groups, domain=pyo.Binary)
    b.intro_link = pyo.Constraint(
        [(kind, g, p) for kind, g in groups for p in d.group_members[kind, g] if by_product[p]],
        rule=lambda b, kind, g, p: sum(b.y[p, tau] for tau in by_product[p]) <= b.intro[kind, g])
    b.min_products = pyo.Constraint(
        [gk for gk in groups if d.group_min[gk] > 0],
        rule=lambda b, kind, g: sum(b.y[p, tau] for p in d.group_members[kind, g] for tau in by_product[p])
        >= d.group_min[kind, g] * b.intro[kind, g])

    b.cost_launch = pyo.Expression(expr=sum(d.launch_cost[p] * b.y[p, tau] for p, tau in idx if d.launch_cost[p]))
    b.cost_onboarding = pyo.Expression(expr=sum(d.group_cost[gk] * b.intro[gk] for gk in groups if d.group_cost[gk]))


def launched_by(m: pyo.ConcreteModel, p: str, t: int) -> pyo.Expression | int:
    """active[p,t]: 1 for active products, Σ_{τ ≤ t} y[p,τ] for new ones."""
    taus = m.launch.by_product.get(p)
    if taus is None:
        return 1
    return sum(m.launch.y[p, tau] for tau in taus if tau <= t)


def is_new(m: pyo.ConcreteModel, p: str) -> bool:
    return p in m.launch.by_product
