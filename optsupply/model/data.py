"""Numeric data for the model, prepared once from a :class:`~optsupply.Scenario`.

Every model block reads plain Python dicts and lists from :class:`ModelData`;
no block touches a DataFrame. This module also derives the sparse index sets
(only pairs that exist) and the data-driven bounds that replace big-M
constants:

* ``pd_max[p, r, t]``: the most demand product p could have in region r and
  period t under any launch period, with full advertising and featuring;
* ``order_bound[p, w, t]``: the most an order of p into w placed at t can
  usefully be — what can still be sold from the warehouse's regions from the
  arrival on, capped by ``max_order`` (at least ``min_order``);
* ``ship_bound[p, w, r, t]``: min(potential demand, lane capacity / volume,
  throughput / volume), used for strong linking of shipments to set-ups.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optsupply.errors import OptsupplyError
from optsupply.model.pwl import MAX_SPEND, MIN_SPEND, HillPWL, hill_pwl
from optsupply.scenario.core import Scenario


class ModelError(OptsupplyError):
    """A scenario that can be read but not turned into a meaningful model."""


@dataclass
class ModelData:
    """Everything the model blocks need, as plain Python containers."""

    H: int
    periods: list[int]
    products: list[str]
    new: list[str]
    warehouses: list[str]
    regions: list[str]
    # product attributes
    price: dict[str, float]
    unit_cost: dict[str, float]
    holding: dict[str, float]
    volume: dict[str, float]
    salvage: dict[str, float]
    lost_cost: dict[str, float]
    lift: dict[str, float]
    launch_cost: dict[str, float]
    must_launch: dict[str, bool]
    category: dict[str, str]
    brand: dict[str, str]
    window: dict[str, tuple[int, int]]  # new products: launch periods allowed
    # demand
    base: dict[tuple[str, str, int], float]  # active products: demand.csv
    curve: dict[tuple[str, str], np.ndarray]  # new products: demand by age 0..H-1, before seasonality
    shape: dict[str, np.ndarray]  # new products whose regional curves are one shape times a share: Σ_r curve
    season: dict[str, np.ndarray]  # category -> index by period
    share: dict[tuple[str, str], float]  # (p, r) -> share of the product's demand
    regions_of: dict[str, list[str]]
    pd_max: dict[tuple[str, str, int], float]
    base_max: dict[tuple[str, str, int], float]
    # supply and network
    supply: list[tuple[str, str]]
    lead: dict[tuple[str, str], int]
    order_cost: dict[tuple[str, str], float]
    min_order: dict[tuple[str, str], float]
    max_order: dict[tuple[str, str], float]
    activation_cost: dict[tuple[str, str], float]
    initial: dict[tuple[str, str], float]
    pipeline: dict[tuple[str, str, int], float]
    lanes: list[tuple[str, str]]
    lane_cost: dict[tuple[str, str], float]
    lane_fixed: dict[tuple[str, str], float]
    lane_cap: dict[tuple[str, str], float]
    storage: dict[str, float]
    throughput: dict[str, float]
    # advertising and featuring
    channel_budget: dict[str, float]
    response: dict[tuple[str, str], dict[str, float]]
    curves: dict[tuple[str, str], HillPWL]
    slots: dict[int, int]
    # launch rules
    max_per_period: int | None
    group_cost: dict[tuple[str, str], float]  # ("category"|"brand", id) -> onboarding cost
    group_min: dict[tuple[str, str], int]
    group_members: dict[tuple[str, str], list[str]]  # new products of the group
    # finance
    max_inventory_value: float | None
    total_budget: float | None
    # sparse index sets
    sell: list[tuple[str, str, int]] = field(default_factory=list)
    ship: list[tuple[str, str, str, int]] = field(default_factory=list)
    orders: list[tuple[str, str, int]] = field(default_factory=list)
    order_bound: dict[tuple[str, str, int], float] = field(default_factory=dict)
    ship_bound: dict[tuple[str, str, str, int], float] = field(default_factory=dict)
    stock: list[tuple[str, str, int]] = field(default_factory=list)
    strong: bool = True  # False: the textbook big-M formulation, kept as a benchmark baseline
    uplift_links: bool = True  # False: without the rows of model/links.py (to measure what they gain)

    def can_be_active(self, p: str, t: int) -> bool:
        return p not in self.window or t >= self.window[p][0]

    def base_new(self, p: str, r: str, t: int, tau: int) -> float:
        """Base demand of new product p in (r, t) if it launches at tau."""
        age = t - tau
        if age < 0 or (p, r) not in self.curve:
            return 0.0
        return float(self.curve[p, r][age] * self.season[self.category[p]][t])

    def total_new(self, p: str, t: int, tau: int) -> float:
        """Σ_r base demand of a separable new product p at t if it launches at tau."""
        age = t - tau
        if age < 0:
            return 0.0
        return float(self.shape[p][age] * self.season[self.category[p]][t])


def _records(df, *cols):  # noqa: ANN001, ANN202 - tiny helper
    return list(zip(*(df[c].tolist() for c in cols), strict=True))


BIG_M = 1e6  # the constant of the big-M baseline formulation (never used by the default one)


def prepare(sc: Scenario, formulation: str = "strong") -> ModelData:
    """Index sets, parameters and bounds for the model, from a validated scenario.

    ``formulation="big-m"`` replaces every data-derived bound by the constant
    ``BIG_M`` and drops the strengthening rows; it exists only so benchmarks can
    measure what the default (``"strong"``) formulation gains.
    """
    if formulation not in ("strong", "big-m"):
        raise ValueError(f"formulation must be 'strong' or 'big-m', not {formulation!r}")
    H = sc.periods
    T = list(range(H))
    prod = sc.products
    products = prod["product"].tolist()
    status = dict(zip(products, prod["status"], strict=True))
    new = [p for p in products if status[p] == "new"]
    col = {c: dict(zip(products, prod[c].tolist(), strict=True)) for c in prod.columns if c != "product"}

    window = {}
    for p in new:
        lo, hi = max(0, int(col["launch_earliest"][p])), min(H - 1, int(col["launch_latest"][p]))
        window[p] = (lo, hi)

    base, curve, season = _demand(sc, new, col["category"])
    share, regions_of = _shares(sc, base)
    supply = _records(sc.supply, "product", "warehouse")
    sup = {c: dict(zip(supply, sc.supply[c].tolist(), strict=True)) for c in sc.supply.columns}
    lanes = _records(sc.lanes, "warehouse", "region")
    lane = {c: dict(zip(lanes, sc.lanes[c].tolist(), strict=True)) for c in sc.lanes.columns}
    wh = sc.warehouses
    warehouses = wh["warehouse"].tolist()
    regions = sorted({r for _, r in lanes} | {r for _, r in share})
    response, curves, channel_budget = _responses(sc)
    group_cost, group_min, group_members = _groups(sc, new, col)

    d = ModelData(
        H=H, periods=T, products=products, new=new, warehouses=warehouses, regions=regions,
        price=_floats(col["price"]), unit_cost=_floats(col["unit_cost"]), holding=_floats(col["holding_cost"]),
        volume=_floats(col["volume"]), salvage=_floats(col["salvage_value"]), lost_cost=_floats(col["lost_sale_cost"]),
        lift=_floats(col["featured_lift"]), launch_cost=_floats(col["launch_cost"]),
        must_launch={p: bool(v) for p, v in col["must_launch"].items()},
        category=col["category"], brand=col["brand"], window=window,
        base=base, curve=curve, shape=_separable_shapes(new, curve, H), season=season, share=share, regions_of=dict(regions_of), pd_max={}, base_max={},
        supply=supply, lead={k: int(v) for k, v in sup["lead_time"].items()}, order_cost=_floats(sup["order_cost"]),
        min_order=_floats(sup["min_order"]), max_order=_floats(sup["max_order"]),
        activation_cost=_floats(sup["activation_cost"]),
        initial={(p, w): float(u) for p, w, u in _records(sc.initial_stock, "product", "warehouse", "units") if u > 0},
        pipeline={(p, w, int(t)): float(u) for p, w, t, u in _records(sc.pipeline, "product", "warehouse", "period", "units") if u > 0},
        lanes=lanes, lane_cost=_floats(lane["cost_per_unit"]), lane_fixed=_floats(lane["fixed_cost"]),
        lane_cap=_floats(lane["capacity"]),
        storage=dict(zip(warehouses, wh["storage_capacity"].astype(float), strict=True)),
        throughput=dict(zip(warehouses, wh["throughput_capacity"].astype(float), strict=True)),
        channel_budget=channel_budget, response=response, curves=curves,
        slots={int(t): int(s) for t, s in _records(sc.slots, "period", "slots")},
        max_per_period=sc.settings.get("launch.max_per_period"),
        group_cost=group_cost, group_min=group_min, group_members=group_members,
        max_inventory_value=sc.settings.get("finance.max_inventory_value"),
        total_budget=sc.settings.get("advertising.total_budget"),
    )
    _derive_bounds(d)
    if formulation == "big-m":
        _big_m(d)
    return d


def _big_m(d: ModelData) -> None:
    """Every data-derived bound replaced by ``BIG_M`` and the strengthening rows dropped."""
    d.strong = False
    for k in d.order_bound:
        d.order_bound[k] = max(min(d.max_order[k[0], k[1]], BIG_M), d.min_order[k[0], k[1]])
    for k in d.ship_bound:
        d.ship_bound[k] = BIG_M


def _demand(sc: Scenario, new: list[str], category: dict[str, str]
            ) -> tuple[dict[tuple[str, str, int], float], dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]:
    """(active demand, new products' launch curves, seasonal index per category)."""
    H = sc.periods
    base: dict[tuple[str, str, int], float] = {}
    for p, r, t, d in _records(sc.demand, "product", "region", "period", "demand"):
        if d > 0:
            base[p, r, int(t)] = float(d)
    curve: dict[tuple[str, str], np.ndarray] = {}
    for p, r, a, d in _records(sc.launch_curve, "product", "region", "age", "demand"):
        if a < H:
            curve.setdefault((p, r), np.zeros(H))[int(a)] = float(d)
    season: dict[str, np.ndarray] = defaultdict(lambda: np.ones(H))
    for c, t, i in _records(sc.seasonality, "category", "period", "index"):
        season[c][int(t)] = float(i)
    season = dict(season)
    for p in new:
        season.setdefault(category[p], np.ones(H))
    return base, curve, season


def _shares(sc: Scenario, base: dict[tuple[str, str, int], float]
            ) -> tuple[dict[tuple[str, str], float], dict[str, list[str]]]:
    """Regional shares of demand, before seasonality (SPEC §3, advertising), and each product's regions."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for (p, r, _t), d in base.items():
        totals[p, r] += d
    for p, r, _a, d in _records(sc.launch_curve, "product", "region", "age", "demand"):
        totals[p, r] += float(d)
    per_product: dict[str, float] = defaultdict(float)
    for (p, _r), v in totals.items():
        per_product[p] += v
    share = {(p, r): v / per_product[p] for (p, r), v in totals.items() if v > 0}
    regions_of: dict[str, list[str]] = defaultdict(list)
    for p, r in share:
        regions_of[p].append(r)
    return share, regions_of


def _responses(sc: Scenario) -> tuple[dict[tuple[str, str], dict[str, float]], dict[tuple[str, str], HillPWL],
                                      dict[str, float]]:
    """(response parameters, their piecewise-linear curves, channel budgets) by (product, channel)."""
    response = {}
    curves = {}
    for row in sc.response.itertuples(index=False):
        key = (row.product, row.channel)
        response[key] = {"max_uplift": float(row.max_uplift), "half_saturation": float(row.half_saturation),
                         "shape": float(row.shape), "carryover": float(row.carryover)}
        if row.max_uplift > 0:
            curves[key] = hill_pwl(float(row.max_uplift), float(row.half_saturation), float(row.shape),
                                   float(sc.settings["advertising.pwl_tolerance"]), min_spend=MIN_SPEND,
                                   max_spend=MAX_SPEND)
    channel_budget = dict(zip(sc.channels["channel"], sc.channels["budget"].astype(float), strict=True))
    for _, c in response:
        channel_budget.setdefault(c, math.inf)
    return response, curves, channel_budget


def _groups(sc: Scenario, new: list[str], col: dict[str, dict[str, Any]]) -> tuple[dict, dict, dict]:
    """Categories and brands whose onboarding costs or minimum assortment need a model row."""
    group_cost, group_min, group_members = {}, {}, {}
    for kind, table in (("category", sc.categories), ("brand", sc.brands)):
        for g, cost, mn in _records(table, kind, "onboarding_cost", "min_products"):
            members = [p for p in new if col[kind][p] == g]
            if members and (cost > 0 or mn > 0):
                group_cost[kind, g] = float(cost)
                group_min[kind, g] = int(mn)
                group_members[kind, g] = members
    return group_cost, group_min, group_members


def _separable_shapes(new: list[str], curve: dict[tuple[str, str], np.ndarray], H: int) -> dict[str, np.ndarray]:
    """Σ_r curve[p,r] for new products whose every regional curve is that total times a constant share.

    For these products base demand is share[p,r]·D[p,t] with one D per period, so a launch
    binary enters one row per period instead of one per region and period (much sparser).
    """
    by_product: dict[str, list[np.ndarray]] = defaultdict(list)
    for (p, _r), c in curve.items():
        by_product[p].append(c)
    shapes = {}
    for p in new:
        curves = by_product.get(p, [])
        total = np.sum(curves, axis=0) if curves else np.zeros(H)
        grand = total.sum()
        if grand <= 0:
            continue
        if all(np.allclose(c, total * (c.sum() / grand), rtol=1e-9, atol=1e-12 * grand) for c in curves):
            shapes[p] = total
    return shapes


def _floats(m: dict) -> dict:
    return {k: float(v) for k, v in m.items()}


def _derive_bounds(d: ModelData) -> None:
    """Potential-demand bounds, sparse index sets and big-M-free bounds."""
    H = d.H
    ad_max = defaultdict(float)
    for (p, _c), pars in d.response.items():
        ad_max[p] += pars["max_uplift"]
    new = set(d.new)
    for p in d.products:
        for r in d.regions_of.get(p, []):
            for t in d.periods:
                if p in new:
                    lo, hi = d.window[p]
                    b = max((d.base_new(p, r, t, tau) for tau in range(lo, min(hi, t) + 1)), default=0.0)
                else:
                    b = d.base.get((p, r, t), 0.0)
                active = d.can_be_active(p, t)
                pot = b * (1.0 + d.lift[p]) + (d.share[p, r] * ad_max[p] if active else 0.0)
                if pot > 0:
                    d.base_max[p, r, t] = b
                    d.pd_max[p, r, t] = pot
                    d.sell.append((p, r, t))

    lanes_from: dict[str, list[str]] = defaultdict(list)
    for w, r in d.lanes:
        lanes_from[w].append(r)
    # potential demand of p reachable from w, as a suffix sum over periods
    for p, w in d.supply:
        L = d.lead[p, w]
        reach = [r for r in lanes_from[w] if (p, r) in d.share]
        per_t = np.array([sum(d.pd_max.get((p, r, t), 0.0) for r in reach) for t in d.periods])
        suffix = np.cumsum(per_t[::-1])[::-1]
        first_stock = 0 if (p, w) in d.initial else min([t for (pp, ww, t) in d.pipeline if (pp, ww) == (p, w)] + [L])
        for t in d.periods:
            d.stock.append((p, w, t))
        for t in range(0, H - L):
            need = float(suffix[t + L])
            extra = _salvage_room(d, p, w)
            if need <= 0 and extra <= 0:
                continue
            if d.max_order[p, w] <= 0:
                continue
            bound = min(d.max_order[p, w], need + extra, _capacity_room(d, p, w))
            if d.min_order[p, w] > bound:
                if d.min_order[p, w] > d.max_order[p, w]:
                    continue
                bound = d.min_order[p, w]
            if not math.isfinite(bound):
                raise ModelError(
                    f"product {p} in warehouse {w}: salvage value {d.salvage[p]:g} is above unit cost "
                    f"{d.unit_cost[p]:g} plus holding cost and neither storage_capacity nor max_order limits "
                    "the stock, so the profit is unbounded")
            d.orders.append((p, w, t))
            d.order_bound[p, w, t] = bound
        for r in reach:
            cap = d.lane_cap[w, r] / d.volume[p] if d.volume[p] > 0 else math.inf
            thr = d.throughput[w] / d.volume[p] if d.volume[p] > 0 else math.inf
            for t in d.periods:
                pot = d.pd_max.get((p, r, t), 0.0)
                if pot <= 0 or t < first_stock:
                    continue
                d.ship.append((p, w, r, t))
                d.ship_bound[p, w, r, t] = min(pot, cap, thr)


def _capacity_room(d: ModelData, p: str, w: str) -> float:
    """Most units of p one receipt can bring into w: what fits in storage plus what leaves that period."""
    if d.volume[p] <= 0:
        return math.inf
    return (d.storage[w] + d.throughput[w]) / d.volume[p]


def _salvage_room(d: ModelData, p: str, w: str) -> float:
    """Units worth buying only to salvage them (0 unless salvage pays more than it costs)."""
    if d.salvage[p] <= d.unit_cost[p] + d.holding[p]:
        return 0.0
    if d.volume[p] > 0 and math.isfinite(d.storage[w]):
        return d.storage[w] / d.volume[p]
    return math.inf
