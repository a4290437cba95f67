"""Advertising spend, adstock and the piecewise-linear Hill response.

Equations (for each response pair (p,c); spend exists from the first period
in which it can matter: the launch window's start, or period 0 when spend
carries over into later periods)::

    spend[p,c,t] ≥ 0
    eff[p,c,t] = spend[p,c,t] + carryover·eff[p,c,t-1]        adstock, eff[p,c,-1] = 0
    uplift[p,c,t] ≤ g_i + (g_{i+1}-g_i)/(e_{i+1}-e_i)·(eff[p,c,t] - e_i)   pwl_chord (concave curves,
                                                 shape ≤ 1: the interpolation is the minimum of its chords;
                                                 chords starting beyond the budget-reachable spend are left out)
    S-shaped curves (shape > 1), incremental formulation:
    eff[p,c,t] ≥ Σ_i δ[p,c,t,i]·(e_{i+1} - e_i)                pwl_spend
    uplift[p,c,t] ≤ Σ_i δ[p,c,t,i]·(g_{i+1} - g_i)             pwl_uplift
    0 ≤ δ ≤ 1;  δ[i+1] ≤ z[i] ≤ δ[i], z binary, i < n_convex   pwl_fill, pwl_next (S-shaped curves only)
    δ[j] ≤ z[n_convex-1]                       j > n_convex     pwl_tail (the tail follows the convex start)
    uplift[p,c,t] ≤ max_uplift·active[p,t]                      inactive (new products)
    Σ_p spend[p,c,t] ≤ budget_c                                 channel_budget
    Σ spend ≤ advertising.total_budget                          total_budget
    U[p,t] = Σ_c uplift[p,c,t]                                  (expression, used by demand)
    cost_advertising = Σ spend

(e_i, g_i) come from :func:`optsupply.model.pwl.hill_pwl`: g ≤ the true Hill
curve everywhere and within pwl_tolerance·max_uplift of it for spends from
``MIN_SPEND`` (1e-5) to ``MAX_SPEND`` (1e12) per period. The concave tail
needs no binaries (an LP fills segments of decreasing slope in order); only
the convex start of an S-shaped curve (shape > 1) does — the incremental
formulation, since HiGHS has no SOS constraints. Because g is non-decreasing,
``eff ≥ Σ δ·len`` (an inequality) is enough: g at a smaller spend is still
below the curve at the actual spend.
"""

from __future__ import annotations

import math
from collections import defaultdict

import pyomo.environ as pyo

from optsupply.model.data import ModelData
from optsupply.model.launch import is_new, launched_by


def add_advertising(m: pyo.ConcreteModel, d: ModelData) -> None:
    b = m.advertising = pyo.Block()
    spend_idx, uplift_idx, seg_idx, bin_idx, chord_idx = [], [], [], [], []
    for (p, c), pars in sorted(d.response.items()):
        if (p, c) not in d.curves:
            continue
        pwl = d.curves[p, c]
        start = 0
        if p in d.window and pars["carryover"] == 0:
            start = d.window[p][0]
        n = len(pwl.breakpoints) - 1
        useful = kept_chords(d, p, c)
        for t in range(start, d.H):
            spend_idx.append((p, c, t))
            if d.can_be_active(p, t):
                uplift_idx.append((p, c, t))
                if pwl.n_convex:
                    seg_idx.extend((p, c, t, i) for i in range(n))
                    bin_idx.extend((p, c, t, i) for i in range(pwl.n_convex))
                else:
                    chord_idx.extend((p, c, t, i) for i in useful)
    b.spend = pyo.Var(spend_idx, domain=pyo.NonNegativeReals)
    b.eff = pyo.Var(spend_idx, domain=pyo.NonNegativeReals)
    b.uplift = pyo.Var(uplift_idx, domain=pyo.NonNegativeReals,
                       bounds=lambda b, p, c, t: (0, d.response[p, c]["max_uplift"]))
    b.delta = pyo.Var(seg_idx, bounds=(0, 1))
    b.z = pyo.Var(bin_idx, domain=pyo.Binary)
    spend_set = set(spend_idx)

    def adstock(b: pyo.Block, p: str, c: str, t: int) -> pyo.Expression:
        carry = d.response[p, c]["carryover"]
        prev = b.eff[p, c, t - 1] if carry and (p, c, t - 1) in spend_set else 0.0
        return b.eff[p, c, t] == b.spend[p, c, t] + carry * prev

    b.adstock = pyo.Constraint(spend_idx, rule=adstock)

    def seg_len(p: str, c: str, i: int) -> float:
        e = d.curves[p, c].breakpoints
        return float(e[i + 1] - e[i])

    def seg_rise(p: str, c: str, i: int) -> float:
        g = d.curves[p, c].values
        return float(g[i + 1] - g[i])

    def chord(b: pyo.Block, p: str, c: str, t: int, i: int) -> pyo.Expression:
        e, g = d.curves[p, c].breakpoints, d.curves[p, c].values
        slope = float((g[i + 1] - g[i]) / (e[i + 1] - e[i]))
        return b.uplift[p, c, t] <= float(g[i]) + slope * (b.eff[p, c, t] - float(e[i]))

    b.pwl_chord = pyo.Constraint(chord_idx, rule=chord)
    segs = defaultdict(list)
    for p, c, t, i in seg_idx:
        segs[p, c, t].append(i)
    b.pwl_spend = pyo.Constraint(
        sorted(segs), rule=lambda b, p, c, t: b.eff[p, c, t] >= sum(seg_len(p, c, i) * b.delta[p, c, t, i] for i in segs[p, c, t]))
    b.pwl_uplift = pyo.Constraint(
        sorted(segs), rule=lambda b, p, c, t: b.uplift[p, c, t] <= sum(seg_rise(p, c, i) * b.delta[p, c, t, i] for i in segs[p, c, t]))
    b.pwl_fill = pyo.Constraint(bin_idx, rule=lambda b, p, c, t, i: b.z[p, c, t, i] <= b.delta[p, c, t, i])
    b.pwl_next = pyo.Constraint([k for k in bin_idx if k[3] + 1 < len(segs[k[:3]])], rule=lambda b, p, c, t, i: b.delta[p, c, t, i + 1] <= b.z[p, c, t, i])
    # the concave tail may only be used once the whole convex start is used
    tail = [(p, c, t, j) for (p, c, t), seg in segs.items() for j in seg
            if d.curves[p, c].n_convex and j > d.curves[p, c].n_convex]
    b.pwl_tail = pyo.Constraint(
        tail, rule=lambda b, p, c, t, j: b.delta[p, c, t, j] <= b.z[p, c, t, d.curves[p, c].n_convex - 1])
    b.inactive = pyo.Constraint(
        [k for k in uplift_idx if is_new(m, k[0])],
        rule=lambda b, p, c, t: b.uplift[p, c, t] <= d.response[p, c]["max_uplift"] * launched_by(m, p, t))

    by_ct: dict[tuple[str, int], list[str]] = defaultdict(list)
    for p, c, t in spend_idx:
        by_ct[c, t].append(p)
    b.channel_budget = pyo.Constraint(
        sorted(k for k in by_ct if math.isfinite(d.channel_budget[k[0]])),
        rule=lambda b, c, t: sum(b.spend[p, c, t] for p in by_ct[c, t]) <= d.channel_budget[c])
    if d.total_budget is not None and spend_idx:
        b.total_budget = pyo.Constraint(expr=sum(b.spend[k] for k in spend_idx) <= d.total_budget)
    b.cost_advertising = pyo.Expression(expr=sum(b.spend[k] for k in spend_idx))
    by_pt: dict[tuple[str, int], list[str]] = defaultdict(list)
    for p, c, t in uplift_idx:
        by_pt[p, t].append(c)
    b.by_pt = by_pt


def kept_chords(d: ModelData, p: str, c: str) -> list[int]:
    """The Hill chords the model keeps for (p, c): those of segments that start below the reachable spend,
    and the first always (it bounds uplift at 0 spend)."""
    breakpoints = d.curves[p, c].breakpoints
    reach = reachable_spend(d, p, c)
    return [i for i in range(len(breakpoints) - 1) if i == 0 or breakpoints[i] < reach]


def reachable_spend(d: ModelData, p: str, c: str) -> float:
    """Most effective spend (p,c) can ever have: the budgets bound it (eff ≤ Σ spend, ≤ budget/(1-carryover))."""
    carry = d.response[p, c]["carryover"]
    reach = d.channel_budget[c] / (1.0 - carry)
    if d.total_budget is not None:
        reach = min(reach, d.total_budget)
    return reach


def total_uplift(m: pyo.ConcreteModel, p: str, t: int) -> pyo.Expression | int:
    """U[p,t] = Σ_c uplift[p,c,t] (0 without response curves)."""
    return sum(m.advertising.uplift[p, c, t] for c in m.advertising.by_pt.get((p, t), ()))
