"""Orders, receipts, stock balances, storage and working-capital limits.

Equations (orders exist for supply pairs (p,w) and periods t with
t + lead ≤ H-1 from which something can still be sold)::

    order[p,w,t] ∈ [0, B[p,w,t]]            B = what can still be sold from w after arrival, ≤ max_order
    placed[p,w,t] ∈ {0,1}                   when order_cost > 0, min_order > 0 or max_order < inf
    min_order·placed ≤ order ≤ B·placed     order_setup
    active_w[p,w] ∈ {0,1}                   when activation_cost > 0
    placed[p,w,t] ≤ active_w[p,w]           activation (valid inequality; order ≤ B·active_w without placed)
    ship[p,w,r,t] ≤ bound·active_w[p,w]     activation_link (strong; only without initial stock or pipeline)
    stock[p,w,t] = stock[p,w,t-1] + order[p,w,t-lead] + pipeline[p,w,t] - Σ_r ship[p,w,r,t]
                                            balance; stock[p,w,-1] = initial_stock
    order[p,w,t] ≤ D[t+lead..l]·placed[p,w,t] + stock[p,w,l]
                                            lot_sizing, l = t+lead … t+lead+K (the (l,S) inequalities
                                            with S = {t}; Barány, Van Roy & Wolsey 1984); D = bound on
                                            what w can ship of p over those periods
    Σ_p vol_p·stock[p,w,t] ≤ storage_w      storage
    Σ_{p,w} unit_cost_p·stock[p,w,t] ≤ max_inventory_value    working_capital
    cost_purchase = Σ unit_cost·order;  cost_ordering = Σ order_cost·placed
    cost_activation = Σ activation_cost·active_w;  cost_holding = Σ holding_cost·stock
    salvage = Σ salvage_value·stock[p,w,H-1]
"""

from __future__ import annotations

import math
from collections import defaultdict

import pyomo.environ as pyo

from optsupply.model.data import ModelData

LOT_SIZING_WINDOW = 3  # periods l beyond the arrival for which (l,S) rows are added


def needs_setup(d: ModelData, p: str, w: str) -> bool:
    """Whether orders of p into w carry a set-up binary (an order cost, a minimum or a maximum order)."""
    return d.order_cost[p, w] > 0 or d.min_order[p, w] > 0 or math.isfinite(d.max_order[p, w])


def ship_capacity(d: ModelData) -> dict[tuple[str, str, int], float]:
    """What w can ship of p in period t: Σ_r ship_bound[p,w,r,t], at most throughput / volume (the sums of
    the (l,S) rows)."""
    cap: dict[tuple[str, str, int], float] = defaultdict(float)
    for (p, w, _r, t), ub in d.ship_bound.items():
        cap[p, w, t] += ub
    for (p, w, t), ub in cap.items():  # all regions together are limited by throughput
        if d.volume[p] > 0:
            cap[p, w, t] = min(ub, d.throughput[w] / d.volume[p])
    return cap


def add_inventory(m: pyo.ConcreteModel, d: ModelData, lot_sizing_window: int = LOT_SIZING_WINDOW) -> None:
    b = m.inventory = pyo.Block()
    tr = m.transport
    b.order = pyo.Var(d.orders, domain=pyo.NonNegativeReals, bounds=lambda b, *k: (0, d.order_bound[k]))
    setups = [k for k in d.orders if needs_setup(d, k[0], k[1])]
    b.placed = pyo.Var(setups, domain=pyo.Binary)
    b.setup_upper = pyo.Constraint(setups, rule=lambda b, *k: b.order[k] <= d.order_bound[k] * b.placed[k])
    b.setup_lower = pyo.Constraint([k for k in setups if d.min_order[k[0], k[1]] > 0],
                                   rule=lambda b, p, w, t: b.order[p, w, t] >= d.min_order[p, w] * b.placed[p, w, t])

    activated = sorted({(p, w) for p, w, _ in d.orders if d.activation_cost[p, w] > 0})
    b.active_w = pyo.Var(activated, domain=pyo.Binary)
    act = set(activated)

    def activation(b: pyo.Block, p: str, w: str, t: int) -> pyo.Expression:
        if (p, w, t) in b.placed:
            return b.placed[p, w, t] <= b.active_w[p, w]
        return b.order[p, w, t] <= d.order_bound[p, w, t] * b.active_w[p, w]

    b.activation = pyo.Constraint([k for k in d.orders if k[:2] in act], rule=activation)
    no_stock = {pw for pw in act if pw not in d.initial and not any((pw[0], pw[1], t) in d.pipeline for t in d.periods)}
    b.activation_link = pyo.Constraint(
        [k for k in d.ship if (k[0], k[1]) in no_stock and d.strong],
        rule=lambda b, p, w, r, t: tr.ship[p, w, r, t] <= d.ship_bound[p, w, r, t] * b.active_w[p, w])

    b.stock = pyo.Var(d.stock, domain=pyo.NonNegativeReals)
    orders = set(d.orders)

    def receipts(p: str, w: str, t: int) -> pyo.Expression | float:
        placed_at = t - d.lead[p, w]
        q = b.order[p, w, placed_at] if (p, w, placed_at) in orders else 0.0
        return q + d.pipeline.get((p, w, t), 0.0)

    def balance(b: pyo.Block, p: str, w: str, t: int) -> pyo.Expression:
        prev = b.stock[p, w, t - 1] if t > 0 else d.initial.get((p, w), 0.0)
        out = sum(tr.ship[p, w, r, t] for r in tr.by_pwt.get((p, w, t), ()))
        return b.stock[p, w, t] == prev + receipts(p, w, t) - out

    b.balance = pyo.Constraint(d.stock, rule=balance)

    # (l,S) inequalities with S = {t}: order_t ≤ D(t+L..l)·placed_t + stock_l
    ship_cap = ship_capacity(d)
    ls_rows = []
    for p, w, t in setups if d.strong else ():
        arrival = t + d.lead[p, w]
        total = 0.0
        for ell in range(arrival, min(d.H, arrival + lot_sizing_window)):
            total += ship_cap.get((p, w, ell), 0.0)
            if total < d.order_bound[p, w, t]:
                ls_rows.append((p, w, t, ell, total))
    ls_index = [row[:4] for row in ls_rows]
    ls_demand = {row[:4]: row[4] for row in ls_rows}
    b.lot_sizing = pyo.Constraint(
        ls_index, rule=lambda b, p, w, t, ell: b.order[p, w, t] <= ls_demand[p, w, t, ell] * b.placed[p, w, t] + b.stock[p, w, ell])

    by_wt: dict[tuple[str, int], list[str]] = defaultdict(list)
    by_t: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for p, w, t in d.stock:
        by_wt[w, t].append(p)
        by_t[t].append((p, w))
    b.storage = pyo.Constraint(
        sorted(k for k in by_wt if math.isfinite(d.storage[k[0]])),
        rule=lambda b, w, t: sum(d.volume[p] * b.stock[p, w, t] for p in by_wt[w, t]) <= d.storage[w])
    if d.max_inventory_value is not None:
        b.working_capital = pyo.Constraint(
            sorted(by_t), rule=lambda b, t: sum(d.unit_cost[p] * b.stock[p, w, t] for p, w in by_t[t]) <= d.max_inventory_value)

    b.cost_purchase = pyo.Expression(expr=sum(d.unit_cost[p] * b.order[p, w, t] for p, w, t in d.orders if d.unit_cost[p]))
    b.cost_ordering = pyo.Expression(expr=sum(d.order_cost[p, w] * b.placed[p, w, t] for p, w, t in setups if d.order_cost[p, w]))
    b.cost_activation = pyo.Expression(expr=sum(d.activation_cost[pw] * b.active_w[pw] for pw in activated))
    b.cost_holding = pyo.Expression(expr=sum(d.holding[p] * b.stock[p, w, t] for p, w, t in d.stock if d.holding[p]))
    last = d.H - 1
    b.salvage = pyo.Expression(expr=sum(d.salvage[p] * b.stock[p, w, last] for p, w in d.supply if d.salvage[p]))
