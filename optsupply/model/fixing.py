"""A plan's decisions on the model's variables: fixing a plan, or its commercial part, in a built model.

:func:`plan_integers` reads the value a :class:`~optsupply.plan.Plan` implies
for every integer variable of the model (launches, onboarding, lanes used,
orders placed, warehouse activations, featured products, S-curve segments);
:func:`fix_plan` fixes them (the LP around a plan: repair, shadow prices);
:func:`fix_commercial` fixes only the commercial decisions (launches,
onboarding, featured products, ad spend) and returns the supply binaries as a
MIP start (the supply part optimised for given commercial decisions).
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap, ComponentSet

from optsupply.errors import UsageError
from optsupply.model.data import ModelData
from optsupply.plan.core import ZERO, Plan

__all__ = ["plan_integers", "fix_plan", "commercial_values", "fix_commercial", "COMMERCIAL_BLOCKS"]

#: model blocks whose variables are commercial decisions (fixed by :func:`fix_commercial`)
COMMERCIAL_BLOCKS = ("launch", "demand", "advertising")


def plan_integers(m: pyo.ConcreteModel, d: ModelData, plan: Plan) -> ComponentMap:
    """The value the plan implies for every integer variable of ``m`` (a ComponentMap ``VarData`` → 0.0/1.0).

    launch.y from ``plan.launches``; launch.intro = 1 if any member of the
    category/brand launches; transport.used from ``plan.lanes``;
    inventory.placed from ``plan.orders``; inventory.active_w = 1 if the pair
    has any order; demand.feat from ``plan.featured``; advertising.z (S-curve
    segments) = 1 for the convex segments the plan's effective spend has
    filled. Raises :class:`UsageError` when the plan launches or features a
    product in a period the scenario does not allow, and for an integer
    variable it does not know (a model change this module must learn about).
    """
    launches = {(p, int(t)) for p, t in zip(plan.launches["product"], plan.launches["period"], strict=True)}
    launched = {p for p, _ in launches}
    lanes = {(w, r, int(t)) for w, r, t, v in zip(plan.lanes["warehouse"], plan.lanes["region"], plan.lanes["period"],
                                                plan.lanes["volume"], strict=True) if v > ZERO}
    o = plan.orders
    placed = {(p, w, int(t)) for p, w, t, u in zip(o["product"], o["warehouse"], o["period"], o["units"], strict=True)
              if u > ZERO}
    active = {(p, w) for p, w, _ in placed}
    featured = {(p, int(t)) for p, t in zip(plan.featured["product"], plan.featured["period"], strict=True)}
    a = plan.advertising
    eff = {(p, c, int(t)): float(e) for p, c, t, e in zip(a["product"], a["channel"], a["period"],
                                                           a["effective_spend"], strict=True)}
    for what, pairs, var in (("launches", launches, m.launch.y), ("features", featured, m.demand.feat)):
        for p, t in sorted(pairs - set(var.keys())):
            raise UsageError(f"the plan {what} {p} in period {t}, which this scenario does not allow "
                             "(the plan does not fit the scenario: was it made for another one?)")
    values = ComponentMap()
    rules = {
        ("launch", "y"): lambda k: (k[0], k[1]) in launches,
        ("launch", "intro"): lambda k: any(p in launched for p in d.group_members[k]),
        ("transport", "used"): lambda k: k in lanes,
        ("inventory", "placed"): lambda k: k in placed,
        ("inventory", "active_w"): lambda k: k in active,
        ("demand", "feat"): lambda k: k in featured,
        ("advertising", "z"): lambda k: _segment_full(d, eff.get(k[:3], 0.0), k),
    }
    for var in m.component_objects(pyo.Var, descend_into=True):
        if not any(v.is_integer() for v in var.values()):
            continue
        rule = rules.get((var.parent_block().local_name, var.local_name))
        if rule is None:
            raise UsageError(f"optsupply does not know how a plan sets the integer variable {var.name}")
        for k, v in var.items():
            values[v] = 1.0 if rule(k) else 0.0
    return values


def _segment_full(d: ModelData, eff: float, key: tuple) -> bool:
    """z[p,c,t,i] = 1 when effective spend reaches the end of segment i (z_i ≤ δ_i forces it full)."""
    p, c, _t, i = key
    end = float(d.curves[p, c].breakpoints[i + 1])
    return eff >= end - 1e-9 * max(1.0, end)


def fix_plan(m: pyo.ConcreteModel, d: ModelData, plan: Plan, *, free: Any = ()) -> None:
    """Fix every integer variable of ``m`` at the plan's value and make it continuous.

    Variables in ``free`` (``VarData`` objects) keep their integer domain and stay free.
    """
    free = ComponentSet(free)
    for v, val in plan_integers(m, d, plan).items():
        if v in free:
            continue
        v.domain = pyo.UnitInterval
        v.fix(val)


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
        raise UsageError(f"the plan spends on {first[0]} / {first[1]} in period {first[2]}, which the model "
                         "cannot advertise: was it made for another scenario?")
    return supply
