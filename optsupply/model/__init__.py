"""The joint launch–stock–ads–routes model, assembled from one block per concern.

>>> from optsupply.model import build_model
>>> m, data = build_model(scenario)

Blocks and the order they are added in (each module's docstring holds its
equations)::

    launch       y[p,τ] launches, category/brand onboarding, per-period cap
    transport    ship[p,w,r,t], lane fixed costs, lane and throughput capacity
    inventory    orders, set-ups, activation, stock balance, storage, working capital
    advertising  spend, adstock, piecewise-linear Hill response, budgets
    demand       base demand, featured slots, sales ≤ potential, lost sales, revenue
    objective    profit = revenue + salvage − all costs
"""

from __future__ import annotations

import pyomo.environ as pyo

from optsupply.model.advertising import add_advertising
from optsupply.model.data import ModelData, ModelError, prepare
from optsupply.model.demand import add_demand
from optsupply.model.inventory import add_inventory
from optsupply.model.launch import add_launch
from optsupply.model.objective import COSTS, add_objective
from optsupply.model.transport import add_transport
from optsupply.scenario import Scenario


def build_model(scenario: Scenario, data: ModelData | None = None, *,
                formulation: str = "strong") -> tuple[pyo.ConcreteModel, ModelData]:
    """The Pyomo model of ``scenario`` and the prepared data it was built from.

    ``formulation`` is ``"strong"`` (data-derived bounds, strong linking, (l,S)
    rows; the default) or ``"big-m"`` (the textbook baseline, for benchmarks).
    """
    d = data if data is not None else prepare(scenario, formulation)
    m = pyo.ConcreteModel(name=scenario.name)
    add_launch(m, d)
    add_transport(m, d)
    add_inventory(m, d)
    add_advertising(m, d)
    add_demand(m, d)
    add_objective(m)
    return m, d


__all__ = ["build_model", "prepare", "ModelData", "ModelError", "COSTS"]
