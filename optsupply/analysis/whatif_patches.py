"""How a :class:`~optsupply.analysis.whatif.WhatIf` session patches its HiGHS model for one changed column.

Each handler computes the patch (cost deltas, the objective constant, row and
column bounds, coefficients, lane-capacity rows to add) from the changed
data and the model's components, or raises :class:`_Rebuild` when the change
is structural (a binary appears or vanishes, a row left out as redundant is
needed, new variables would be needed). The table of lean changes is in
:mod:`optsupply.analysis.whatif`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyomo.environ as pyo
from pyomo.repn import generate_standard_repn

from optsupply.model.advertising import kept_chords
from optsupply.model.data import ModelData
from optsupply.model.inventory import needs_setup
from optsupply.optimizer.highs.persistent import INF

_REL = 1e-9  # relative slack when comparing derived bounds (recomputed bounds are bit-identical)


class _Rebuild(Exception):  # control flow, not an error
    """A change the persistent model cannot take leanly; the message says why."""


@dataclass
class _Patch:
    cost: dict[int, float] = field(default_factory=lambda: defaultdict(float))  # column -> cost delta
    offset: float | None = None
    rows: dict[int, tuple[float, float]] = field(default_factory=dict)  # row -> (lower, upper)
    cols: dict[int, tuple[float, float]] = field(default_factory=dict)  # column -> (lower, upper)
    coef: dict[tuple[int, int], float] = field(default_factory=dict)  # (row, column) -> value
    lane_rows: dict[tuple[str, str, int], float] = field(default_factory=dict)  # lane rows to add -> capacity


class PatchHandlers:
    """The lean handlers of :class:`~optsupply.analysis.whatif.WhatIf` and the column/row lookups they use.

    Expects ``_m`` (the model), ``_pm`` (its :class:`~optsupply.optimizer.highs.persistent.PersistentModel`),
    ``_data`` (the data last solved), ``_built`` (the data the model was built with) and ``_groups`` (a cache).
    """

    def _col(self, var: pyo.Var) -> int:
        col = self._pm.col(var)
        if col is None:
            raise _Rebuild(f"variable {var.name} is not in the solver's model")
        return col

    def _row(self, con: Any) -> int:
        row = self._pm.row(con)
        if row is None:
            raise _Rebuild(f"constraint {con.name} is not in the solver's model")
        return row

    def _group(self, name: str, var: pyo.Var, key: Callable[[tuple], Any]) -> dict[Any, list[tuple[Any, int]]]:
        """Columns of ``var`` grouped by ``key(index)`` (cached per model)."""
        if name not in self._groups:
            groups: dict[Any, list[tuple[Any, int]]] = defaultdict(list)
            for k, v in var.items():
                col = self._pm.col(v)
                if col is not None:
                    groups[key(k)].append((k, col))
            self._groups[name] = groups
        return self._groups[name]

    def _set_upper(self, patch: _Patch, con: Any, upper: float) -> None:
        row = self._row(con)
        patch.rows[row] = (self._pm.row_lower[row], upper if math.isfinite(upper) else INF)

    def _rhs(self, patch: _Patch, block: pyo.Block, name: str, index: list, value: float | None,
             needed: bool, label: str) -> None:
        """Set the upper bound of rows ``block.name[index]`` to ``value`` (None/inf: no limit)."""
        comp = getattr(block, name, None)
        rows = [comp[k] for k in index if comp is not None and k in comp]
        limit = math.inf if value is None else float(value)
        if not rows:
            if math.isfinite(limit) and needed:
                raise _Rebuild(f"{label} becomes finite: its rows were left out of the model")
            return
        for con in rows:
            self._set_upper(patch, con, limit)

    def _delta(self, keys: list, old: Mapping, new: Mapping) -> dict[Any, float]:
        return {k: new[k] - old[k] for k in keys if new[k] != old[k]}

    def _h_price(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        ship = self._group("ship_p", self._m.transport.ship, lambda k: k[0])
        for p, d in self._delta(keys, self._data.price, nd.price).items():
            for _, col in ship.get(p, ()):
                patch.cost[col] += d

    def _h_unit_cost(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        order = self._group("order_p", self._m.inventory.order, lambda k: k[0])
        inv = self._m.inventory
        stock = self._group("stock_p", inv.stock, lambda k: k[0])
        for p, d in self._delta(keys, self._data.unit_cost, nd.unit_cost).items():
            for _, col in order.get(p, ()):
                patch.cost[col] -= d
            if hasattr(inv, "working_capital"):
                for (_, _, t), col in stock.get(p, ()):
                    if t in inv.working_capital:
                        patch.coef[self._row(inv.working_capital[t]), col] = nd.unit_cost[p]

    def _costs_change(self, patch: _Patch, columns: dict[Any, list[tuple[Any, int]]], deltas: dict[Any, float]) -> None:
        """Each column of ``columns[key]`` costs ``deltas[key]`` more (its objective coefficient falls by it)."""
        for key, d in deltas.items():
            for _, col in columns.get(key, ()):
                patch.cost[col] -= d

    def _h_holding(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        stock = self._group("stock_p", self._m.inventory.stock, lambda k: k[0])
        self._costs_change(patch, stock, self._delta(keys, self._data.holding, nd.holding))

    def _h_salvage(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        stock = self._group("stock_p", self._m.inventory.stock, lambda k: k[0])
        last = nd.H - 1
        for p, d in self._delta(keys, self._data.salvage, nd.salvage).items():
            for (_, _, t), col in stock.get(p, ()):
                if t == last:
                    patch.cost[col] += d

    def _h_launch_cost(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        y = self._group("y_p", self._m.launch.y, lambda k: k[0])
        self._costs_change(patch, y, self._delta(keys, self._data.launch_cost, nd.launch_cost))

    def _h_lost(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        """cost_lost_sale = Σ lost·(potential − sales): the potential's variables are read off the model."""
        m, cur = self._m, self._data
        ship = self._group("ship_p", m.transport.ship, lambda k: k[0])
        sell: dict[str, list] = defaultdict(list)
        for k in self._built.sell:
            sell[k[0]].append(k)
        for p, d in self._delta(keys, cur.lost_cost, nd.lost_cost).items():
            featured = p not in cur.window and any(k[0] == p for k in m.demand.feat)
            if featured and (cur.lost_cost[p] == 0) != (nd.lost_cost[p] == 0):
                raise _Rebuild(f"the lost-sale cost of featured product {p} switches between 0 and > 0, which "
                               "changes its featured-uplift variables")
            for _, col in ship.get(p, ()):
                patch.cost[col] += d
            for k in sell.get(p, ()):
                repn = generate_standard_repn(m.demand.potential[k].expr, compute_values=True, quadratic=False)
                for coef, v in zip(repn.linear_coefs, repn.linear_vars, strict=True):
                    patch.cost[self._col(v)] -= d * coef

    def _h_order_cost(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        placed = self._group("placed_pw", self._m.inventory.placed, lambda k: k[:2])
        for pw in keys:
            if needs_setup(self._built, *pw) != needs_setup(nd, *pw):
                raise _Rebuild(f"order set-up binaries of {pw} appear or vanish (order_cost ↔ 0)")
        self._costs_change(patch, placed, self._delta(keys, self._data.order_cost, nd.order_cost))

    def _h_activation(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        act = self._m.inventory.active_w
        for pw in keys:
            if (self._built.activation_cost[pw] > 0) != (nd.activation_cost[pw] > 0):
                raise _Rebuild(f"the activation binary of {pw} appears or vanishes (activation_cost ↔ 0)")
        for pw, d in self._delta(keys, self._data.activation_cost, nd.activation_cost).items():
            if pw in act:
                patch.cost[self._col(act[pw])] -= d

    def _h_lane_cost(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        ship = self._group("ship_wr", self._m.transport.ship, lambda k: (k[1], k[2]))
        for wr, d in self._delta(keys, self._data.lane_cost, nd.lane_cost).items():
            for (p, _, _, _), col in ship.get(wr, ()):
                patch.cost[col] -= d * nd.volume[p]

    def _h_lane_fixed(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        used = self._group("used_wr", self._m.transport.used, lambda k: k[:2])
        for wr in keys:
            if (self._built.lane_fixed[wr] > 0) != (nd.lane_fixed[wr] > 0):
                raise _Rebuild(f"the lane binaries of {wr} appear or vanish (fixed_cost ↔ 0)")
        self._costs_change(patch, used, self._delta(keys, self._data.lane_fixed, nd.lane_fixed))

    # -- right-hand sides and capacity coefficients

    def _h_storage(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        for w in keys:
            self._rhs(patch, self._m.inventory, "storage", [(w, t) for t in nd.periods], nd.storage[w],
                      True, f"storage capacity of {w}")

    def _h_throughput(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        for w in keys:
            self._rhs(patch, self._m.transport, "throughput", [(w, t) for t in nd.periods], nd.throughput[w],
                      any(k[1] == w for k in self._built.ship), f"throughput capacity of {w}")

    def _h_lane_cap(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        tr, b = self._m.transport, self._built
        keys = set(keys)
        flows: dict[tuple, float] = defaultdict(float)  # Σ_p vol·(built shipment bound) per lane and period
        for (p, w, r, t), ub in b.ship_bound.items():
            if (w, r) in keys:
                flows[w, r, t] += b.volume[p] * ub
        extra = getattr(self._m, "whatif_lane_capacity", {})
        for (w, r, t), flow in sorted(flows.items()):
            cap = nd.lane_cap[w, r]
            if (w, r, t) in tr.lane_capacity:
                con = tr.lane_capacity[w, r, t]
            elif (w, r, t) in extra:  # added by an earlier update
                con = extra[w, r, t]
            else:
                if not _le(flow, cap):  # left out as redundant by the build, and needed now: add it
                    patch.lane_rows[w, r, t] = cap
                continue
            if (w, r, t) in tr.used:
                if not math.isfinite(cap):
                    raise _Rebuild(f"lane {w}→{r} becomes uncapacitated")
                row, col = self._row(con), self._col(tr.used[w, r, t])
                patch.coef[row, col] = -cap if math.isfinite(self._pm.row_upper[row]) else cap
            else:
                self._set_upper(patch, con, cap)

    def _h_budget(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        adv = self._m.advertising
        for c in keys:
            spend = any(k[1] == c for k in adv.spend)
            self._rhs(patch, adv, "channel_budget", [(c, t) for t in nd.periods], nd.channel_budget[c], spend,
                      f"budget of channel {c}")

    def _h_slots(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        dm, b = self._m.demand, self._built
        for t in keys:
            candidates = sum(1 for k in dm.feat if k[1] == t)
            new = nd.slots.get(t, 0)
            if b.slots.get(t, 0) == 0 and new > 0:
                raise _Rebuild(f"period {t} gets featured slots: new featured variables are needed")
            if t in dm.slots:
                self._set_upper(patch, dm.slots[t], float(new))
            elif candidates > new:
                raise _Rebuild(f"the featured-slot row of period {t} was left out as redundant and is now needed")

    def _h_demand(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        """Active products: the demand cap's constant, direct featured coefficients, featured bounds."""
        dm, cur = self._m.demand, self._data
        for p, r, t in keys:
            if p in nd.window:
                continue  # new products' demand comes from launch_curve (shares are checked separately)
            k = (p, r, t)
            old, new = cur.base.get(k, 0.0), nd.base.get(k, 0.0)
            if old == new:
                continue
            if k in dm.demand_cap:
                row = self._row(dm.demand_cap[k])
                lo, up = self._pm.row_lower[row], self._pm.row_upper[row]
                form = 1.0 if math.isfinite(up) else -1.0  # sales − potential ≤ base (Pyomo's normal form)
                if form > 0:
                    patch.rows[row] = (lo, up + (new - old))
                else:
                    patch.rows[row] = (lo - (new - old), up)
                if nd.lost_cost[p] == 0 and (p, t) in dm.feat and nd.lift[p] > 0:
                    patch.coef[row, self._col(dm.feat[p, t])] = -form * nd.lift[p] * new
            if k in dm.fup:
                col = self._col(dm.fup[k])
                patch.cols[col] = (0.0, nd.lift[p] * new)

    def _h_window(self, keys: list, nd: ModelData, patch: _Patch) -> None:
        y = self._group("y_p", self._m.launch.y, lambda k: k[0])
        for p in keys:
            if p not in nd.window:
                continue
            lo, hi = nd.window[p]
            blo, bhi = self._built.window[p]
            if lo <= hi and (lo < blo or hi > bhi):
                raise _Rebuild(f"the launch window of {p} widens beyond {blo}..{bhi}: new launch variables")
            for (_, tau), col in y.get(p, ()):
                patch.cols[col] = (0.0, 1.0 if lo <= tau <= hi else 0.0)

    # -- settings

    def _s_total_budget(self, nd: ModelData, patch: _Patch) -> None:
        adv = self._m.advertising
        con = getattr(adv, "total_budget", None)
        if con is None:
            if nd.total_budget is not None and len(adv.spend):
                raise _Rebuild("advertising.total_budget becomes set: its row was left out of the model")
            return
        self._set_upper(patch, con, math.inf if nd.total_budget is None else nd.total_budget)

    def _s_inventory_value(self, nd: ModelData, patch: _Patch) -> None:
        self._rhs(patch, self._m.inventory, "working_capital", list(nd.periods), nd.max_inventory_value, True,
                  "finance.max_inventory_value")

    def _s_per_period(self, nd: ModelData, patch: _Patch) -> None:
        launch = self._m.launch
        taus = sorted({tau for _, tau in launch.y})
        self._rhs(patch, launch, "per_period", taus, nd.max_per_period, bool(taus), "launch.max_per_period")


_HANDLERS: dict[tuple[str, str], Callable[[Any, list, ModelData, _Patch], None]] = {
    ("products", "price"): PatchHandlers._h_price,
    ("products", "unit_cost"): PatchHandlers._h_unit_cost,
    ("products", "holding_cost"): PatchHandlers._h_holding,
    ("products", "salvage_value"): PatchHandlers._h_salvage,
    ("products", "launch_cost"): PatchHandlers._h_launch_cost,
    ("products", "lost_sale_cost"): PatchHandlers._h_lost,
    ("products", "launch_earliest"): PatchHandlers._h_window,
    ("products", "launch_latest"): PatchHandlers._h_window,
    ("supply", "order_cost"): PatchHandlers._h_order_cost,
    ("supply", "activation_cost"): PatchHandlers._h_activation,
    ("lanes", "cost_per_unit"): PatchHandlers._h_lane_cost,
    ("lanes", "fixed_cost"): PatchHandlers._h_lane_fixed,
    ("lanes", "capacity"): PatchHandlers._h_lane_cap,
    ("warehouses", "storage_capacity"): PatchHandlers._h_storage,
    ("warehouses", "throughput_capacity"): PatchHandlers._h_throughput,
    ("channels", "budget"): PatchHandlers._h_budget,
    ("slots", "slots"): PatchHandlers._h_slots,
    ("demand", "demand"): PatchHandlers._h_demand,
    ("categories", "onboarding_cost"): lambda s, keys, nd, patch: _onboarding(s, "category", keys, nd, patch),
    ("brands", "onboarding_cost"): lambda s, keys, nd, patch: _onboarding(s, "brand", keys, nd, patch),
}
_SETTING_HANDLERS: dict[str, Callable[[Any, ModelData, _Patch], None]] = {
    "advertising.total_budget": PatchHandlers._s_total_budget,
    "finance.max_inventory_value": PatchHandlers._s_inventory_value,
    "launch.max_per_period": PatchHandlers._s_per_period,
}


def _onboarding(s: Any, kind: str, keys: list, nd: ModelData, patch: _Patch) -> None:
    """categories/brands.onboarding_cost: the cost of the group's onboarding binary."""
    if set(nd.group_cost) != set(s._built.group_cost):
        raise _Rebuild(f"a {kind} gains or loses its onboarding binary (onboarding_cost and min_products both 0)")
    intro = s._m.launch.intro
    for g in keys:
        gk = (kind, g)
        d = nd.group_cost.get(gk, 0.0) - s._data.group_cost.get(gk, 0.0)
        if d and gk in intro:
            patch.cost[s._col(intro[gk])] -= d


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _REL * max(1.0, abs(a), abs(b))


def _le(a: float, b: float) -> bool:
    """a ≤ b up to float noise (inf ≤ inf)."""
    if b == math.inf:
        return True
    return a <= b + _REL * max(1.0, abs(b))


def _offset(d: ModelData) -> float:
    """The objective's constant: −Σ lost_sale_cost·demand of active products (their potential's constant)."""
    return -sum(d.lost_cost[p] * v for (p, _r, _t), v in d.base.items() if p not in d.window and d.lost_cost[p])


def _chords(d: ModelData) -> dict[tuple[str, str], int]:
    """Number of Hill chords optsupply.model.advertising keeps for each concave response (budget-reachable)."""
    out = {}
    for (p, c), pwl in d.curves.items():
        if pwl.n_convex:
            continue
        out[p, c] = len(kept_chords(d, p, c))
    return out
