"""Set-up links that pay for uplift: valid inequalities that tighten the relaxation.

The set-up rows of the transport and inventory blocks bound a shipment or an
order by the most that could ever be sold: base demand *with* the whole
featured lift and the saturation of every ad curve. No plan sells that much
unless it buys the ads and the slot, so the LP relaxation opens a lane, a
warehouse or an order only in part and still sells the base demand in full
(``benchmarks/results/gap.md``: lane fixed costs, activation and ordering are
where the relaxation under-pays). These rows split the bound into the part a
set-up must pay for and the uplift the plan has to buy; with

    V[p,r,t] = potential[p,r,t] − base[p,r,t] = share[p,r]·U[p,t] + fup[p,r,t]
               (the ad and featured uplift the plan counts on; demand block)
    b[p,r,t] = base_max[p,r,t]   (the most base demand p can have in r at t, over its launch periods)

they are (added only where the uplift can be positive, i.e. b < the set-up row's bound)::

    ship[p,w,r,t] ≤ b[p,r,t]·used[w,r,t] + V[p,r,t]                lane_uplift
    ship[p,w,r,t] ≤ b[p,r,t]·active_w[p,w] + V[p,r,t]              activation_uplift
    order[p,w,t] ≤ Σ_{k=a..l} Σ_{r ∈ R(w)} (b[p,r,k]·placed[p,w,t] + V[p,r,k]) + stock[p,w,l]
                                                                  lot_sizing_uplift, a = t + lead,
                                                                  l = a … a+K−1 (K = LOT_SIZING_WINDOW)

A new product's featured uplift is bounded by its peak base demand times the
slot (``featured_link``) although its base demand depends on when it launched;
splitting the slot by launch period (g[p,t,τ]: featured at t having launched
at τ) bounds it by the demand of the launch actually chosen::

    0 ≤ g[p,t,τ] ≤ y[p,τ]                                         featured_launch_y
    Σ_τ g[p,t,τ] ≤ feat[p,t]                                       featured_launch_slot
    Σ_r fup[p,r,t] ≤ lift_p·Σ_τ Σ_r base_new(p,r,t,τ)·g[p,t,τ]     featured_launch

(with feat = 1 and the launch at τ*, g[·,τ*] = 1 gives lift·base; with feat = 0
every g is 0, and so is the uplift).

Validity: with the binary at 0 the shipment (order) is 0 and the right-hand
side is ≥ 0; at 1, ship ≤ sales ≤ potential = base + V ≤ b + V. The
lot-sizing row is the (l,S) inequality with S = {t} (Barány, Van Roy & Wolsey
1984) for outflows bounded by b + V: what arrives at a and is not in stock at
l has left w in a…l, and w ships at most Σ_r (b + V) a period. The original rows
stay (they carry the lane, throughput and storage capacities).
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from optsupply.model.data import ModelData
from optsupply.model.inventory import LOT_SIZING_WINDOW

TOLERANCE = 1e-9


def add_links(m: pyo.ConcreteModel, d: ModelData, lot_sizing_window: int = LOT_SIZING_WINDOW) -> None:
    b = m.links = pyo.Block()
    if not (d.strong and d.uplift_links):
        return
    tr, inv = m.transport, m.inventory
    uplifted = {k for k in d.sell if d.pd_max[k] > d.base_max.get(k, 0.0) + TOLERANCE}

    uplift = _uplift(m)

    def base(p: str, r: str, t: int) -> float:
        return d.base_max.get((p, r, t), 0.0)

    b.lane_uplift = pyo.Constraint(
        [k for k in tr.strong_link if (k[0], k[2], k[3]) in uplifted and base(k[0], k[2], k[3]) < d.ship_bound[k] - TOLERANCE],
        rule=lambda b, p, w, r, t: tr.ship[p, w, r, t] <= base(p, r, t) * tr.used[w, r, t] + uplift(p, r, t))
    b.activation_uplift = pyo.Constraint(
        [k for k in inv.activation_link if (k[0], k[2], k[3]) in uplifted and base(k[0], k[2], k[3]) < d.ship_bound[k] - TOLERANCE],
        rule=lambda b, p, w, r, t: tr.ship[p, w, r, t] <= base(p, r, t) * inv.active_w[p, w] + uplift(p, r, t))

    regions: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    for p, w, r, t in d.ship:
        regions[p, w, t].append(r)
    rows = []
    for p, w, t in inv.placed:
        a = t + d.lead[p, w]
        window = range(a, min(d.H, a + lot_sizing_window))
        if any((p, r, k) in uplifted for k in window for r in regions.get((p, w, k), ())):
            rows.extend((p, w, t, ell) for ell in window)

    def lot_sizing(b: pyo.Block, p: str, w: str, t: int, ell: int) -> pyo.Expression:
        cells = [(r, k) for k in range(t + d.lead[p, w], ell + 1) for r in regions.get((p, w, k), ())]
        if not cells:
            return pyo.Constraint.Skip
        base_total = sum(base(p, r, k) for r, k in cells)
        bought = sum(uplift(p, r, k) for r, k in cells if (p, r, k) in uplifted)
        return inv.order[p, w, t] <= base_total * inv.placed[p, w, t] + bought + inv.stock[p, w, ell]

    b.lot_sizing_uplift = pyo.Constraint(rows, rule=lot_sizing)
    _featured_by_launch(m, d)


def _featured_by_launch(m: pyo.ConcreteModel, d: ModelData) -> None:
    b, dem, la = m.links, m.demand, m.launch
    regions: dict[tuple[str, int], list[str]] = defaultdict(list)
    for p, r, t in dem.fup:
        if p in d.window:
            regions[p, t].append(r)
    idx = [(p, t, tau) for p, t in regions for tau in la.by_product[p] if tau <= t]
    launches: dict[tuple[str, int], list[int]] = defaultdict(list)
    for p, t, tau in idx:
        launches[p, t].append(tau)
    b.g = pyo.Var(idx, bounds=(0, 1))
    b.featured_launch_y = pyo.Constraint(idx, rule=lambda b, p, t, tau: b.g[p, t, tau] <= la.y[p, tau])
    b.featured_launch_slot = pyo.Constraint(
        sorted(launches), rule=lambda b, p, t: sum(b.g[p, t, tau] for tau in launches[p, t]) <= dem.feat[p, t])
    b.featured_launch = pyo.Constraint(sorted(launches), rule=lambda b, p, t: sum(
        dem.fup[p, r, t] for r in regions[p, t]) <= d.lift[p] * sum(
        sum(_launch_demand(d, p, r, t, tau) for r in regions[p, t]) * b.g[p, t, tau] for tau in launches[p, t]))


def _uplift(m: pyo.ConcreteModel):  # noqa: ANN202 - the demand block's V[p,r,t] (one place, so a test can break it)
    return m.demand.uplift


def _launch_demand(d: ModelData, p: str, r: str, t: int, tau: int) -> float:
    """base_new(p,r,t,τ): base demand of new product p in (r,t) had it launched at τ."""
    return d.base_new(p, r, t, tau)
