"""Shipments over lanes, lane fixed costs, lane and throughput capacities.

Equations (ship exists only for supply pairs (p,w), lanes (w,r) and periods in
which p can have demand in r and stock in w)::

    ship[p,w,r,t] ≥ 0                                  units shipped (= sold in r at t)
    sales[p,r,t] = Σ_w ship[p,w,r,t]                   (expression)
    used[w,r,t] ∈ {0,1}                                lanes with a fixed cost
    ship[p,w,r,t] ≤ min(potential, cap_wr/vol_p, thr_w/vol_p)·used[w,r,t]   strong_link
    Σ_p vol_p·ship[p,w,r,t] ≤ cap_wr (·used[w,r,t])    lane_capacity (finite capacity)
    Σ_{p,r} vol_p·ship[p,w,r,t] ≤ throughput_w         throughput (finite capacity)
    cost_transport  = Σ cost_per_unit_wr·vol_p·ship[p,w,r,t]
    cost_lane_fixed = Σ fixed_cost_wr·used[w,r,t]

The per-product strong linking (instead of one aggregated big-M row per lane)
is what makes fixed-charge network relaxations tight (Gendron & Crainic 1994).
"""

from __future__ import annotations

import math
from collections import defaultdict

import pyomo.environ as pyo

from optsupply.model.data import BIG_M, ModelData


def add_transport(m: pyo.ConcreteModel, d: ModelData) -> None:
    b = m.transport = pyo.Block()
    b.ship = pyo.Var(d.ship, domain=pyo.NonNegativeReals, bounds=lambda b, *k: (0, d.ship_bound[k] if d.strong else None))
    by_prt: dict[tuple, list[str]] = defaultdict(list)
    by_wrt: dict[tuple, list[str]] = defaultdict(list)
    by_wt: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
    by_pwt: dict[tuple, list[str]] = defaultdict(list)
    for p, w, r, t in d.ship:
        by_prt[p, r, t].append(w)
        by_wrt[w, r, t].append(p)
        by_wt[w, t].append((p, r))
        by_pwt[p, w, t].append(r)
    b.by_prt, b.by_pwt = by_prt, by_pwt

    fixed = sorted(k for k in by_wrt if d.lane_fixed[k[0], k[1]] > 0)
    b.used = pyo.Var(fixed, domain=pyo.Binary)
    if d.strong:
        b.strong_link = pyo.Constraint(
            [(p, w, r, t) for w, r, t in fixed for p in by_wrt[w, r, t]],
            rule=lambda b, p, w, r, t: b.ship[p, w, r, t] <= d.ship_bound[p, w, r, t] * b.used[w, r, t])
    else:  # big-M baseline: one aggregated row per lane and period
        b.weak_link = pyo.Constraint(
            fixed, rule=lambda b, w, r, t: sum(d.volume[p] * b.ship[p, w, r, t] for p in by_wrt[w, r, t])
            <= BIG_M * b.used[w, r, t])

    def lane_capacity(b: pyo.Block, w: str, r: str, t: int) -> pyo.Expression:
        flow = sum(d.volume[p] * b.ship[p, w, r, t] for p in by_wrt[w, r, t])
        cap = d.lane_cap[w, r]
        return flow <= cap * b.used[w, r, t] if (w, r, t) in b.used else flow <= cap

    b.lane_capacity = pyo.Constraint(
        sorted(k for k in by_wrt if math.isfinite(d.lane_cap[k[0], k[1]])
               and (not d.strong or _can_exceed(d, by_wrt[k], k))),
        rule=lane_capacity)
    b.throughput = pyo.Constraint(
        sorted(k for k in by_wt if math.isfinite(d.throughput[k[0]])),
        rule=lambda b, w, t: sum(d.volume[p] * b.ship[p, w, r, t] for p, r in by_wt[w, t]) <= d.throughput[w])

    b.cost_transport = pyo.Expression(expr=sum(
        d.lane_cost[w, r] * d.volume[p] * b.ship[p, w, r, t] for p, w, r, t in d.ship if d.lane_cost[w, r] * d.volume[p]))
    b.cost_lane_fixed = pyo.Expression(expr=sum(d.lane_fixed[w, r] * b.used[w, r, t] for w, r, t in fixed))


def _can_exceed(d: ModelData, products: list[str], key: tuple[str, str, int]) -> bool:
    """A lane capacity row is needed only if the shipment bounds can exceed it."""
    w, r, t = key
    return sum(d.volume[p] * d.ship_bound[p, w, r, t] for p in products) > d.lane_cap[w, r]


def sales(m: pyo.ConcreteModel, p: str, r: str, t: int) -> pyo.Expression | int:
    """sales[p,r,t] = Σ_w ship[p,w,r,t] (0 when no shipment can reach r)."""
    return sum(m.transport.ship[p, w, r, t] for w in m.transport.by_prt.get((p, r, t), ()))
