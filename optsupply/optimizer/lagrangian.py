"""A Lagrangian bound of the joint plan by product groups, for scenarios too large for one MIP.

The shared capacities and budgets are priced (λ) and each group's relaxed
problem is solved alone (:class:`_Relaxed`); Σ groups' values + λ·capacity
bounds the joint profit for every λ ≥ 0, and subgradient steps improve it.
The groups' MIP dual bounds (HiGHS's cuts) tighten the last λ's bound.
:func:`optsupply.optimizer.decompose.decompose` runs it beside its search.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from typing import Any, Callable

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp

from optsupply.model import build_model
from optsupply.model.data import ModelData
from optsupply.model.slices import ProductSlices
from optsupply.optimizer.highs import SolveOptions
from optsupply.optimizer.highs.arrays import CompiledModel
from optsupply.scenario.core import Scenario

logger = logging.getLogger(__name__)

__all__ = ["lagrangian_bound"]


class _Relaxed:
    """One group's relaxed problem as an LP in HiGHS, with its use of every shared resource as a matrix.

    Relaxed: integrality dropped; each group may use every shared capacity and budget in full (its own
    rows stay); a shared fixed cost (a lane's fixed cost, a category's or brand's onboarding) is split
    equally over the groups that can incur it — whichever groups use it, they pay at most its cost
    together; a minimum assortment stays only where one group holds all its products.
    """

    def __init__(self, sc: Scenario, data: ModelData, resources: dict[Any, int], opts: SolveOptions):
        m, _ = build_model(sc, data)
        self.compiled = CompiledModel(m, opts)
        self.compiled.set_integer(False)
        self.cost = self.compiled.cost
        n, col = self.compiled.num_cols, self.compiled.col
        rows, cols, vals = [], [], []
        for key, var, coef in _resource_use(m, data):
            k = resources.get(key)
            j = col.get(id(var))
            if k is not None and j is not None and coef:
                rows.append(k)
                cols.append(j)
                vals.append(coef)
        self.use = sp.csr_matrix((vals, (cols, rows)), shape=(n, len(resources)))

    def _price(self, lam: np.ndarray) -> None:
        """Objective profit − λ·use (the compiled model is maximised)."""
        self.compiled.set_costs(self.cost - self.use @ lam)

    def solve(self, lam: np.ndarray) -> tuple[float, np.ndarray] | None:
        """max (profit − λ·use) over the relaxed group; returns (value, use at the optimum)."""
        self._price(lam)
        found = self.compiled.solve_lp()
        if found is None:
            return None
        value, x = found
        return value, self.use.T @ x

    def mip_bound(self, lam: np.ndarray, seconds: float) -> float | None:
        """HiGHS's MIP dual bound of the group's penalised problem with integrality (cuts make it tighter)."""
        self._price(lam)
        return self.compiled.mip_bound(seconds)


def _resources(d: ModelData) -> tuple[dict[Any, int], np.ndarray]:
    """Every finite shared capacity: key -> index, and the capacities."""
    keys, caps = [], []

    def add(key: Any, cap: float) -> None:
        if cap is not None and math.isfinite(cap):
            keys.append(key)
            caps.append(float(cap))

    for w in d.warehouses:
        for t in d.periods:
            add(("throughput", w, t), d.throughput[w])
            add(("storage", w, t), d.storage[w])
    for w, r in d.lanes:
        for t in d.periods:
            add(("lane", w, r, t), d.lane_cap[w, r])
    for c, budget in d.channel_budget.items():
        for t in d.periods:
            add(("channel", c, t), budget)
    for t in d.periods:
        if d.max_inventory_value is not None:
            add(("capital", t), d.max_inventory_value)
        add(("slots", t), d.slots.get(t, 0))
        if d.max_per_period is not None:
            add(("launches", t), d.max_per_period)
    if d.total_budget is not None:
        add(("total",), d.total_budget)
    return {k: i for i, k in enumerate(keys)}, np.array(caps, dtype=float)


def _resource_use(m: pyo.ConcreteModel, d: ModelData):  # noqa: ANN202 - generator of (key, var, coefficient)
    """What each variable uses of each shared resource (the coupling rows, term by term)."""
    for (p, w, r, t), v in m.transport.ship.items():
        yield ("throughput", w, t), v, d.volume[p]
        yield ("lane", w, r, t), v, d.volume[p]
    for (p, w, t), v in m.inventory.stock.items():
        yield ("storage", w, t), v, d.volume[p]
        yield ("capital", t), v, d.unit_cost[p]
    for (p, c, t), v in m.advertising.spend.items():
        yield ("channel", c, t), v, 1.0
        yield ("total",), v, 1.0
    for (p, t), v in m.demand.feat.items():
        yield ("slots", t), v, 1.0
    for (p, t), v in m.launch.y.items():
        yield ("launches", t), v, 1.0


def _relaxed_groups(sc: Scenario, sl: ProductSlices, groups: list[list[str]], resources: dict[Any, int],
                    opts: SolveOptions, deadline: float) -> list[_Relaxed] | None:
    full = sl.d
    lane_groups: dict[tuple[str, str], set[int]] = defaultdict(set)
    onboard_groups: dict[tuple[str, str], set[int]] = defaultdict(set)
    index = {p: i for i, g in enumerate(groups) for p in g}
    for p, w, r, _t in full.ship:
        lane_groups[w, r].add(index[p])
    for key, ps in full.group_members.items():
        onboard_groups[key].update(index[p] for p in ps)
    lanes = {k: (f / len(lane_groups[k]) if lane_groups.get(k) else f) for k, f in full.lane_fixed.items()}
    cost = {k: c / max(1, len(onboard_groups.get(k, ()))) for k, c in full.group_cost.items()}
    mins = {k: (n if len(onboard_groups.get(k, ())) <= 1 else 0) for k, n in full.group_min.items()}
    out = []
    for g in groups:
        if time.perf_counter() > deadline:
            return None  # building every group's relaxation takes longer than the time left
        out.append(_Relaxed(sc, sl.restrict(g, group_cost=cost, group_min=mins, lane_fixed=lanes), resources, opts))
    return out


def lagrangian_bound(sc: Scenario, sl: ProductSlices, groups: list[list[str]], opts: SolveOptions, deadline: float,
                     lower: float | None = None, say: Callable[[str], None] | None = None,
                     on_bound: Callable[[float], None] | None = None) -> float | None:
    """A valid upper bound on the joint optimum: min over the multipliers tried of

        L(λ) = Σ_g max_x (profit_g(x) − λ·use_g(x)) + λ·capacity,   λ ≥ 0,

    with each group's problem relaxed (:class:`_Relaxed`). Any λ ≥ 0 gives a bound; λ = 0 is the
    plain relaxation, and subgradient steps (Polyak step towards ``lower``, the best plan's profit)
    price the shared capacities the groups compete for. Then, at the best λ, each group's LP value is
    replaced by its MIP dual bound (HiGHS's cuts and branching within the group), one group at a time.
    ``on_bound`` receives each better bound as soon as it holds.
    """
    resources, cap = _resources(sl.d)
    relaxed = _relaxed_groups(sc, sl, groups, resources, opts, deadline)
    if relaxed is None:
        return None
    start = time.perf_counter()
    lp_deadline = start + 0.5 * (deadline - start)  # then the MIP bounds of the groups at the best λ
    lam = np.zeros(len(cap))
    scale = np.maximum(cap, 1e-9)
    best, best_lam, best_parts, theta, stall = math.inf, lam, [], 2.0, 0
    iteration = 0
    while iteration == 0 or time.perf_counter() < lp_deadline:
        iteration += 1
        value, use, parts = float(lam @ cap), np.zeros(len(cap)), []
        for r in relaxed:
            out = r.solve(lam)
            if out is None:
                break
            parts.append(out[0])
            use += out[1]
        if len(parts) < len(relaxed):
            break
        value += sum(parts)
        if value < best - 1e-9 * max(1.0, abs(best) if math.isfinite(best) else 1.0):
            best, best_lam, best_parts, stall = value, lam, parts, 0
            if on_bound is not None:
                on_bound(best)
        else:
            stall += 1
            if stall >= 3:
                theta, stall = theta / 2, 0
        if say is not None:
            say(f"bound {best:,.2f} (Lagrangian iteration {iteration})")
        # subgradient step in the scaled multipliers μ = λ·capacity (money per whole capacity), so that
        # capacities in units, money and counts move alike: ∂L/∂μ = 1 − use/capacity
        g = 1.0 - use / scale
        g[(lam <= 0) & (g > 0)] = 0.0  # λ cannot go below 0
        norm = float(g @ g)
        if norm <= 1e-12 or lower is None or theta < 1e-4:
            break
        step = theta * max(best - lower, 1e-6 * max(1.0, abs(best))) / norm
        lam = np.maximum(0.0, lam * scale - step * g) / scale
    if math.isinf(best):
        return None
    # tighten each group's term with its MIP dual bound (root cuts) at the best multipliers
    parts = list(best_parts)
    for i, r in enumerate(relaxed):
        left = deadline - time.perf_counter()
        if left <= 0.2:
            break
        b = r.mip_bound(best_lam, left / (len(relaxed) - i))
        if b is not None and b < parts[i]:
            parts[i] = b
            if on_bound is not None:
                on_bound(float(best_lam @ cap) + sum(parts))
    return float(best_lam @ cap) + sum(parts)
