"""The comparison of a joint plan with a baseline: profit and every cost side by side.

Both plans are scored with :func:`optsupply.plan.check.evaluate_plan`, so the
difference shows what planning everything together is worth, and where that
uplift comes from.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from optsupply.baselines.siloed import practitioner_plan
from optsupply.plan.check import evaluate_plan
from optsupply.plan.core import COST_KEYS
from optsupply.scenario.core import Scenario

__all__ = ["uplift_report"]


def uplift_report(scenario: Scenario, joint_plan: Any, siloed_plan: Any = None) -> pd.DataFrame:
    """Profit, revenue, salvage and every cost of both plans side by side: where the uplift comes from.

    Every number is recomputed from the plan tables with
    :func:`optsupply.plan.check.evaluate_plan` (the plans' kpis are not trusted).
    The baseline (column ``siloed``) is the given plan, by default the practitioner
    baseline (:func:`practitioner_plan`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``metric``: ``revenue``, ``salvage``, ``cost.<part>`` for each cost of
        kpis.json, ``profit``, then ``units_sold``, ``potential_demand``, ``fill_rate``
        and ``launched``. Columns ``joint``, ``siloed``, ``delta`` (joint − siloed),
        ``relative_delta`` (delta / |siloed|; NaN when siloed is 0) and
        ``profit_contribution``: what the row adds to the profit delta (+delta for
        revenue and salvage, −delta for a cost, NaN for the non-money rows). The
        contributions of the revenue, salvage and cost rows add up to the profit delta.
    """
    if siloed_plan is None:
        siloed_plan = practitioner_plan(scenario)
    joint = evaluate_plan(scenario, joint_plan)
    silo = evaluate_plan(scenario, siloed_plan)
    rows = []

    def add(metric: str, a: float, b: float, sign: float | None) -> None:
        delta = a - b
        rel = delta / abs(b) if b != 0 else math.nan
        rows.append((metric, a, b, delta, rel, sign * delta + 0.0 if sign is not None else math.nan))

    add("revenue", joint["revenue"], silo["revenue"], 1.0)
    add("salvage", joint["salvage"], silo["salvage"], 1.0)
    for key in COST_KEYS:
        add(f"cost.{key}", joint["costs"][key], silo["costs"][key], -1.0)
    add("profit", joint["profit"], silo["profit"], 1.0)
    for key in ("units_sold", "potential_demand", "fill_rate", "launched"):
        add(key, float(joint[key]), float(silo[key]), None)
    df = pd.DataFrame(rows, columns=["metric", "joint", "siloed", "delta", "relative_delta", "profit_contribution"])
    return df.set_index("metric")
