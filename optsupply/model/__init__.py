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
    links        set-up rows that pay for ad and featured uplift (valid inequalities)
    objective    profit = revenue + salvage − all costs
"""

from __future__ import annotations

import time

import pyomo.environ as pyo

from optsupply.errors import TimeLimitSpent
from optsupply.scenario.limits import ENV_MAX_MODEL_COLUMNS, Limits, over_limit
from optsupply.model.advertising import add_advertising
from optsupply.model.data import ModelData, ModelError, prepare
from optsupply.model.demand import add_demand
from optsupply.model.inventory import add_inventory
from optsupply.model.links import add_links
from optsupply.model.launch import add_launch
from optsupply.model.objective import COSTS, add_objective
from optsupply.model.transport import add_transport
from optsupply.scenario.core import Scenario

#: memory and build + transfer time of one model column, as measured by ``optsupply bench`` (benchmarks/README.md)
BYTES_PER_COLUMN, SECONDS_PER_COLUMN = 4.6e3, 200e-6


def estimated_columns(d: ModelData) -> int:
    """About how many columns (variables) the model of ``d`` gets, counted from its index sets before it is built.

    Shipments, orders (and their set-ups), stock, sales, each new product's
    launch periods and launched/total demand (and, when it can be featured,
    its slot split by launch period), and each ad response's spend, uplift and
    segments per period. It errs on the high side (by up to a
    third on the generated sizes).
    """
    H = d.H
    launch = sum(d.window[p][1] - d.window[p][0] + 1 + 2 * H for p in d.new)
    if d.slots:  # a featured new product's slot split by launch period (model/links.py)
        launch += sum(H * (d.window[p][1] - d.window[p][0] + 1) for p in d.new if d.lift[p] > 0)
    ads = sum(H * (3 + (len(curve.breakpoints) - 1 + curve.n_convex if curve.n_convex else 0))
              for curve in d.curves.values())
    return len(d.ship) + 2 * len(d.orders) + len(d.stock) + len(d.sell) + launch + ads


def check_model_size(scenario: Scenario, d: ModelData, limits: Limits | None = None) -> int:
    """The estimated columns of the model of ``d``; :class:`ModelError` when they are more than the limit."""
    limits = limits if limits is not None else getattr(scenario, "limits", None) or Limits()
    n = estimated_columns(d)
    if n > limits.max_model_columns:
        gb, seconds = n * BYTES_PER_COLUMN / 1e9, n * SECONDS_PER_COLUMN
        cost = (f"about {gb:,.1f} GB and {seconds / 60:,.0f} min to build" if seconds >= 60
                else f"about {gb * 1000:,.0f} MB and {seconds:.0f} s to build")
        raise ModelError(over_limit(
            f"the model of {scenario.name!r} would have about {n:,} columns (variables; {cost}), "
            f"from {len(d.products)} products, {len(d.warehouses)} warehouses, "
            f"{len(d.regions)} regions and {d.H} periods", limits.max_model_columns, "max_model_columns",
            ENV_MAX_MODEL_COLUMNS) + "; plan fewer periods or products, or use --method decompose")
    return n


def build_model(scenario: Scenario, data: ModelData | None = None, *,
                formulation: str = "strong", deadline: float | None = None) -> tuple[pyo.ConcreteModel, ModelData]:
    """The Pyomo model of ``scenario`` and the prepared data it was built from.

    ``formulation`` is ``"strong"`` (data-derived bounds, strong linking, (l,S)
    rows; the default) or ``"big-m"`` (the textbook baseline, for benchmarks).
    A model whose estimated size (:func:`estimated_columns`) is beyond the
    scenario's ``limits.max_model_columns`` is refused (:class:`ModelError`)
    before it is built. With ``deadline`` (a :func:`time.perf_counter` value),
    the clock is checked between the blocks and :class:`TimeLimitSpent` is
    raised once it has passed.
    """
    d = data if data is not None else prepare(scenario, formulation)
    check_model_size(scenario, d)
    m = pyo.ConcreteModel(name=scenario.name)
    for add in (add_launch, add_transport, add_inventory, add_advertising, add_demand, add_links):
        if deadline is not None and time.perf_counter() > deadline:
            raise TimeLimitSpent(f"while building the model (before its {add.__name__[4:]} block)")
        add(m, d)
    add_objective(m)
    return m, d


__all__ = ["build_model", "prepare", "ModelData", "ModelError", "COSTS", "estimated_columns", "check_model_size"]
