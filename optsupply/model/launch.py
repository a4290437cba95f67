"""Launch decisions: when each new product launches, category/brand onboarding.

Equations (p new product, τ its allowed launch periods, g a category or brand
with an onboarding cost or a minimum assortment, members(g) its new products)::

    y[p,τ] ∈ {0,1}                                   launch of p in period τ
    Σ_τ y[p,τ] ≤ 1      (= 1 if must_launch)          launch_once
    launched[p,t] = launched[p,t-1] + y[p,t]          cumulative: launched by t (1 for active products)
    total[p,t] = Σ_τ y[p,τ]·shape[p,t-τ]·season[t]   demand of a new product over all regions, for
                                                      products whose regional curves share one shape
                                                      (base[p,r,t] = share[p,r]·total[p,t]); both keep
                                                      each launch binary in a few rows per period
                                                      instead of one per region and period
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

    first = {p: d.window[p][0] for p in d.new}
    launched_idx = [(p, t) for p in d.new for t in d.periods if t >= first[p]]
    b.launched = pyo.Var(launched_idx, bounds=(0, 1))
    b.launched_def = pyo.Constraint(launched_idx, rule=lambda b, p, t: b.launched[p, t] == (
        b.launched[p, t - 1] if t > first[p] else 0) + (b.y[p, t] if (p, t) in b.y else 0))
    total_idx = [(p, t) for p in d.new if p in d.shape for t in d.periods
                 if any(d.total_new(p, t, tau) > 0 for tau in by_product[p] if tau <= t)]
    b.total = pyo.Var(total_idx, domain=pyo.NonNegativeReals)
    b.total_def = pyo.Constraint(total_idx, rule=lambda b, p, t: b.total[p, t] == sum(
        d.total_new(p, t, tau) * b.y[p, tau] for tau in by_product[p] if tau <= t and d.total_new(p, t, tau) > 0))
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
    """launched[p,t]: 1 for active products, Σ_{τ ≤ t} y[p,τ] for new ones (0 before the window)."""
    if p not in m.launch.by_product:
        return 1
    return m.launch.launched[p, t] if (p, t) in m.launch.launched else 0


def is_new(m: pyo.ConcreteModel, p: str) -> bool:
    return p in m.launch.by_product
