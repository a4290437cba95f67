"""The objective: profit = revenue + salvage − every cost (SPEC §3).

Each block defines its own cost Expressions; this module only adds them up,
so the cost breakdown in a plan comes from the same terms the solver saw::

    profit = revenue + salvage
             − purchase − ordering − activation − holding − transport − lane_fixed
             − advertising − launch − onboarding − lost_sale
"""

from __future__ import annotations

import pyomo.environ as pyo

# cost name in the plan's KPIs -> (block, expression)
COSTS: dict[str, tuple[str, str]] = {
    "purchase": ("inventory", "cost_purchase"),
    "ordering": ("inventory", "cost_ordering"),
    "activation": ("inventory", "cost_activation"),
    "holding": ("inventory", "cost_holding"),
    "transport": ("transport", "cost_transport"),
    "lane_fixed": ("transport", "cost_lane_fixed"),
    "advertising": ("advertising", "cost_advertising"),
    "launch": ("launch", "cost_launch"),
    "onboarding": ("launch", "cost_onboarding"),
    "lost_sale": ("demand", "cost_lost_sale"),
}


def term(m: pyo.ConcreteModel, block: str, name: str) -> pyo.Expression:
    return getattr(getattr(m, block), name)


def add_objective(m: pyo.ConcreteModel) -> None:
    income = m.demand.revenue + m.inventory.salvage
    costs = sum(term(m, *where) for where in COSTS.values())
    m.profit = pyo.Objective(expr=income - costs, sense=pyo.maximize)
