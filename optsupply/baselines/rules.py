"""The siloed baseline: the plan a team makes without optsupply.

Each team decides on its own with a simple rule of thumb, one after the other
(launch → marketing → merchandising → supply chain), and the resulting plan is
evaluated with exactly the same profit calculation and checker as an
optimized plan (:func:`optsupply.plan.check.evaluate_plan`,
:func:`optsupply.plan.check.check_plan`). Comparing the two
(:func:`uplift_report`) shows what planning everything together is worth,
and where that uplift comes from.

>>> import optsupply as ops
>>> from optsupply.baselines.rules import siloed_plan, uplift_report
>>> sc = ops.Scenario.load("instances/tiny")
>>> base = siloed_plan(sc)                 # a Plan, kpis["status"] == "baseline"
>>> uplift_report(sc, ops.solve(sc), base)  # profit and every cost, side by side

The rules
---------
*Forecast* in the rules below means the scenario's base demand (demand.csv,
or launch_curve.csv × seasonality from the launch period on).

**Launch team.** A new product's *forecast margin* at period τ is
(price − unit_cost) × its forecast demand, summed over all regions and the
periods τ … H−1 when launched at τ. A product is worth launching at τ when
that margin is at least its launch_cost (category and brand onboarding costs
are not part of this per-product test). must_launch products always launch.
At most ``launch.max_per_period`` products launch per period:

1. must_launch products first, earliest deadline first (the earliest period
   with room in their window; always their launch_earliest when there is room);
2. then the products worth launching at their launch_earliest, by forecast
   margin − launch cost (highest first, ties by product order): each launches
   in the first period from its launch_earliest on that has room and at which
   it is still worth launching (a later launch has a shorter horizon), and is
   dropped when no period of its window has room.

Then ``min_products`` of categories and brands (counting launched new
products): a group that launches some but fewer than min_products products is
*topped up* with its best not-yet-launched members (highest forecast margin −
launch cost at their earliest period; each at the first period of its window
with room) when that reaches min_products and the group's launched members
together still forecast at least their launch costs plus the group's
onboarding cost (or when the group has a must_launch member); otherwise every
optional member of the group is dropped. Dropping repeats until no group
breaks its minimum (a group whose only launched members must launch and that
cannot be topped up is left as it is: the scenario then has no feasible plan
with these launches).

**Marketing.** The advertising budget is ``advertising.total_budget``; when
that is not set, it is the channels' per-period budgets over the horizon, an
uncapped channel counted at the sum of the half-saturation spends of the
products it can advertise. Products that can be advertised (a response.csv
row with max_uplift > 0) and are active at some period get a share of the
budget in proportion to their forecast revenue (price × forecast demand over
the horizon). A product's share is split equally over its channels and spread
evenly over the periods in which it is active (spend before launch is wasted,
so there is none). Where the spend on a channel in a period exceeds the
channel's budget, every product's spend on it in that period is scaled down to
the budget; the rest is not spent. The uplift counted on is the true Hill curve
(:func:`optsupply.curves.hill`) at the effective (adstocked) spend, split
over regions in proportion to the product's forecast per region.

**Merchandising.** In each period the slots go to the active products with a
featured_lift > 0 and the highest forecast revenue in that period (price ×
forecast demand; ties by product order); a product with no lift gains nothing
from a slot. The featured uplift counted on is featured_lift × base demand.

**Supply chain.** The team stocks each product in the warehouses with the
cheapest lanes to its demand and orders up to a forecast plus safety stock on
a periodic review. ``siloed_plan(scenario, warehouses=..., review=...)``
offers three readings of the warehouse rule and two of the ordering rule:

* ``warehouses="per_region"`` (the default): each region's demand at the
  product's warehouse with the cheapest lane to it, spilling to the next when
  a warehouse or lane is full;
* ``"home_spill"``: the product's home warehouse first, spilling per region to
  the next-cheapest route when full;
* ``"home"``: everything at the home warehouse, capacities ignored (the first
  rule; on the generated medium and large instances its home warehouses run
  full and most demand is lost);
* ``review="eoq"`` (the default): a periodic-review order-up-to policy (R, S)
  with the review period R from the economic order quantity;
* ``"every_period"``: R = 1, an order every period (the first rule).

The defaults are the combination with the highest siloed profit on most of
the benchmark instances (tiny, xsmall seeds 1-5, small, medium, large): a
fair baseline is the strongest simple rule. ``benchmarks/results/uplift.md``
has the measured table of all six.

A *route* is a (product, warehouse, region) such that the product can be
stocked in the warehouse (a supply.csv row) and a lane links the warehouse
with the region at a cost_per_unit × volume of at most the product's price (a
route that loses money on every unit is never used). The routes of a
(product, region) are ranked by cost_per_unit, then lead time, then warehouse
order: the first is its *cheapest* route.

A product's *home* warehouse is the one among its supply.csv warehouses whose
lanes reach the largest share of its forecast demand, and among those the
lowest demand-weighted cost_per_unit (then supply.csv order).

*Planned demand, "per_region" and "home_spill".* In every period the
potential demand of each (product, region) — base demand plus the ad and
featured uplift counted on — is planned on its *first* route: the cheapest
("per_region"), or the home warehouse's when it has a route to the region and
else the cheapest ("home_spill"). That fills three capacities, per period:

* a warehouse's throughput_capacity: the volume of the units planned through it;
* a lane's capacity: the volume of the units planned over it;
* a warehouse's storage_capacity: the volume of the safety stock those units
  need, counted per route as if stocked alone: a route carrying the share f of
  a region's demand counts f · z · σ · √(L+1) units (σ the demand_sd of that
  period, L the route's lead time): a simple, rather high estimate of the
  pooled safety stock that the ordering rule below keeps (the review period's
  cycle stock is left to the ordering rule).

Where a warehouse or lane is over a capacity, demand *spills* ("if full, use the
next warehouse"): the first routes that use a warehouse or lane over
capacity are visited in order of their product's unit margin, price −
unit_cost (lowest first; ties by product order, then region order). From each,
in every period, as many units as its warehouse or lane is still over by (in
the capacity that needs the most units moved, but no more than the route
carries) move to the product's next route to that region (the next cheapest;
with "home_spill" after the home route the others cheapest first), as many as
its warehouse and lane have room for in all three capacities; the rest to the
route after that, and so on.
Units that fit nowhere are not planned: no stock is ordered for them (stock
that happens to be there may still serve them). Moved units never take a
warehouse or lane over a capacity, so one pass suffices. A product may thus
be stocked in several warehouses, and a region's demand split over two.

*Planned demand, "home".* All the potential demand of a product in the
regions its home warehouse has a route to is planned through the home,
whatever its capacities.

*Review period.* Each (product, warehouse) pair k gets a review period

    R_k = max(1, round(√(2·K_k / (h_k·D̄_k))))   (rounded half up, at most H)

with K_k its order_cost, h_k the product's holding_cost per unit and period
and D̄_k the demand planned through the pair over the horizon divided by the
number of periods in which the product is active: the economic order quantity
D̄·R expressed in periods. R_k = 1 when K_k = 0 (and with
``review="every_period"``); R_k = H when h_k = 0 < K_k.

Storage: the team checks that these cycles fit. The *planned stock* of a pair
at the end of period j, from its first arrival a₀ = s + L on (s its first
review, below), is z·σ̄·√(R+L) plus the demand planned through it over
j+1 … a−1, with a the first of its arrivals a₀, a₀+R, a₀+2R, … after j (at
most H) and σ̄² the pair's variance of planned demand (below) summed over the
horizon divided by its product's active periods; before a₀ it is 0. Where the
volume of the planned stock of a warehouse's pairs exceeds its
storage_capacity in some period, storage is priced: the warehouse's R_k are
computed with the holding cost h_k + λ·volume, with λ ≥ 0 the smallest price
at which the planned stock fits in every period (found by 60 bisection steps
between 0 and the price at which every pair of the warehouse has R = 1; R = 1
for all of them when even that does not fit).

*Ordering.* A pair reviews in the periods s, s+R, s+2R, … with
s = max(0, f − L), f the first period with demand planned through it (for a
new product its launch, so its first order arrives at the launch when its
lead time allows: pre-stocking); a pair with no demand planned never orders.
At a review t it orders up to

    S(t) = the demand planned through it over t … t+R+L−1 (L = its lead time)
           + z·√(Σ_j Σ_r (f_rj·σ_rj)²)

with z = 1.65, the sums over the periods j = t … t+R+L−1 (cut at the
horizon) and the regions r planned through the pair, f_rj the share of region
r's demand in period j planned there (1 with "home") and σ_rj from demand_sd
(0 when absent; × seasonality for new products, 0 before launch): the safety
stock of the pooled demand of the regions it serves over the review period
and lead time, about z·σ·√(R+L). The order is S(t) minus the inventory
position: the pair's stock at the end of t−1 plus what arrives there (orders
and pipeline) in t … t+R+L−1; with "home" the same summed over every
warehouse of the product. An order below min_order is raised to it, one above
max_order is cut to it, and no order is placed that would arrive after the
horizon. Orders that would still overflow a warehouse's storage_capacity, or
finance.max_inventory_value, are cut when they arrive (largest first; an
order cut below min_order is cancelled) — only by stock that is left over at
the end of that period, so shipments are never affected.

**Shipping.** Each period, with "per_region" and "home_spill", every route
first ships what was planned on it. Then (with "home" from the start) every
region's remaining potential demand of each product is served from the
warehouses holding it, cheapest route first. Where stock, a lane's capacity or
a warehouse's throughput cannot serve everything asked of it in a round, each
request gets the same share of it; the rest is lost. Lane fixed costs are not
considered.

Everything counted on (ad and featured uplift) is part of the potential
demand, so demand that supply does not meet is lost (and costs
lost_sale_cost).

The plan's ``kpis`` come from :func:`optsupply.plan.check.evaluate_plan`;
``status`` is ``"baseline"`` and ``method`` is ``"siloed"`` (no solver ran,
so there is no bound or gap).

The practitioner rules
----------------------
The rules above are *naive*: marketing spends the whole budget whatever the
response curves say, the launch test ignores onboarding costs, featured slots
go by revenue, and supply carries a safety stock that a plan scored on demand
equal to the forecast only pays for. ``siloed_plan(scenario, rules="practitioner")``
(:func:`practitioner_plan`) is every team's rule of thumb done competently —
the fair baseline, and what :func:`uplift_report` and ``benchmarks/uplift.py``
compare with. *Margin* is price − unit_cost.

**Launch team.** Steps 1 and 2 as above (must_launch products, then every
product whose forecast margin covers its launch cost). Then every onboarding
cost and minimum assortment is counted: the *launch value* of a set of
launches is Σ (forecast margin − launch_cost) of the launched products minus
the onboarding cost of every category and brand they touch. Categories, then
brands (table order), with an onboarding cost or a min_products are visited
in passes until nothing changes; for each group with a launched product the
team picks the highest launch value among: keeping the group as it is (when it
meets its minimum), topping it up with its best members not launched (each at
its first period with room; when that reaches the minimum) and dropping its
optional members (when it has no must_launch member); ties in that order.
Whatever still breaks a minimum after the passes is dropped as in step 3.

**Marketing.** Per (product, channel) with a response row: the steady spend
at which the true Hill curve's marginal margin falls to 1. A spend x every
period settles at the effective spend e = x / (1 − carryover), so e maximises
margin · hill(e) − λ · (1 − carryover) · e with λ = 1 — for a concave curve
margin · hill'(e) = λ · (1 − carryover); with shape 1,
e = √(margin · max_uplift · k / (λ · (1 − carryover))) − k — or 0 when no
spend earns its cost; x = (1 − carryover) · e in every active period.
When the spend over the horizon exceeds ``advertising.total_budget``, λ rises
(bisection) until it fits, so the budget goes where a unit of spend returns
the most margin. Then a channel's spend above its per-period budget is scaled
down to it, as above. The uplift counted on is the true Hill curve.

**Merchandising.** Per period the slots go to the active products with the
largest margin × featured_lift × forecast demand of the period (> 0; ties by
product order).

**Supply chain.** The supply rules above (``warehouses``, ``review``) with
z = 0: the order-up-to level is the forecast over the review period and lead
time, without safety stock — every plan is scored on demand equal to the
forecast. ``method`` is ``"practitioner"``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optsupply.errors import OptsupplyError, UsageError
from optsupply.curves import hill
from optsupply.plan.core import COST_KEYS, TABLE_COLUMNS, Plan, period_dates
from optsupply.scenario.core import Scenario
from optsupply.plan.check import evaluate_plan

__all__ = ["siloed_plan", "practitioner_plan", "uplift_report", "profitable_spend", "RULE_SETS", "SAFETY_Z", "STATUS", "WAREHOUSE_RULES", "REVIEW_RULES",
           "DEFAULT_WAREHOUSES", "DEFAULT_REVIEW"]

SAFETY_Z = 1.65  #: safety factor z of the order-up-to level (about a 95 % cycle service level)
STATUS = "baseline"  #: kpis status of a siloed plan
#: supply rules of :func:`siloed_plan` (module docstring)
WAREHOUSE_RULES = ("per_region", "home_spill", "home")
#: ordering rules of :func:`siloed_plan`: review every R periods, R from the EOQ, or every period
REVIEW_RULES = ("eoq", "every_period")
DEFAULT_WAREHOUSES = "per_region"  #: default supply rule of :func:`siloed_plan`
DEFAULT_REVIEW = "eoq"  #: default ordering rule of :func:`siloed_plan`
#: rule sets of :func:`siloed_plan`: the naive siloed rules and the practitioner rules
RULE_SETS = ("naive", "practitioner")
_EPS = 1e-9  # quantities below this are zero
_PASSES = 3  # allocation passes per shipping round (requests scaled down by a shared limit get a second go)


class BaselineError(OptsupplyError):
    """The siloed rules cannot produce a plan for this scenario (e.g. must_launch products that do not fit)."""


# ---------------------------------------------------------------------- data


@dataclass
class _Data:
    """The scenario as dense numpy arrays (products P, warehouses W, regions R, periods T)."""

    sc: Scenario
    H: int
    products: np.ndarray
    warehouses: np.ndarray
    regions: np.ndarray
    channels: np.ndarray
    price: np.ndarray
    unit_cost: np.ndarray
    volume: np.ndarray
    holding: np.ndarray  # holding_cost per unit and period
    lift: np.ndarray
    launch_cost: np.ndarray
    lost_cost: np.ndarray
    must: np.ndarray
    is_new: np.ndarray
    lo: np.ndarray  # launch window of new products
    hi: np.ndarray
    category: np.ndarray
    brand: np.ndarray
    base_active: np.ndarray  # P×R×T, demand.csv
    sd_active: np.ndarray
    curve: np.ndarray  # P×R×T by age, launch_curve.csv (ages < H)
    curve_sd: np.ndarray
    season: np.ndarray  # P×T, the seasonality index of the product's category
    share: np.ndarray  # P×R, share of the product's forecast per region (before seasonality)
    # supply pairs k = (product, warehouse)
    kp: np.ndarray
    kw: np.ndarray
    lead: np.ndarray
    order_cost: np.ndarray
    min_order: np.ndarray
    max_order: np.ndarray
    initial: np.ndarray  # K
    pipeline: np.ndarray  # K×T
    # lanes l = (warehouse, region)
    lane_of: dict[tuple[int, int], int]
    lane_cost: np.ndarray
    lane_cap: np.ndarray
    storage: np.ndarray
    throughput: np.ndarray
    # advertising: response rows q = (product, channel)
    qp: np.ndarray
    qc: np.ndarray
    q_max: np.ndarray
    q_half: np.ndarray
    q_shape: np.ndarray
    q_carry: np.ndarray
    channel_budget: np.ndarray  # C
    slots: np.ndarray  # T
    max_per_period: int | None
    max_inventory_value: float | None
    total_budget: float | None


def _ids(series: pd.Series) -> np.ndarray:
    return np.array([str(v) for v in series], dtype=object)


def _prepare(sc: Scenario) -> _Data:
    H = sc.periods
    prod = sc.products
    products = _ids(prod["product"])
    pidx = pd.Index(products)
    P = len(products)
    wh = sc.warehouses
    warehouses = _ids(wh["warehouse"])
    widx = pd.Index(warehouses)
    regions = np.array(sorted(set(_ids(sc.demand["region"])) | set(_ids(sc.launch_curve["region"]))
                              | set(_ids(sc.lanes["region"]))), dtype=object)
    ridx = pd.Index(regions)
    R = len(regions)
    is_new = (prod["status"].astype(str) == "new").to_numpy()

    def floats(col: str) -> np.ndarray:
        return prod[col].to_numpy(dtype="float64")

    base_active = np.zeros((P, R, H))
    sd_active = np.zeros((P, R, H))
    dem = sc.demand
    if not dem.empty:
        p = pidx.get_indexer(_ids(dem["product"]))
        r = ridx.get_indexer(_ids(dem["region"]))
        t = dem["period"].to_numpy(dtype="int64")
        ok = (p >= 0) & (t >= 0) & (t < H) & ~is_new[np.maximum(p, 0)]
        base_active[p[ok], r[ok], t[ok]] = dem["demand"].to_numpy(dtype="float64")[ok]
        sd_active[p[ok], r[ok], t[ok]] = np.nan_to_num(dem["demand_sd"].to_numpy(dtype="float64")[ok])
    curve = np.zeros((P, R, H))
    curve_sd = np.zeros((P, R, H))
    lc = sc.launch_curve
    if not lc.empty:
        p = pidx.get_indexer(_ids(lc["product"]))
        r = ridx.get_indexer(_ids(lc["region"]))
        a = lc["age"].to_numpy(dtype="int64")
        ok = (p >= 0) & (a >= 0) & (a < H) & is_new[np.maximum(p, 0)]
        curve[p[ok], r[ok], a[ok]] = lc["demand"].to_numpy(dtype="float64")[ok]
        curve_sd[p[ok], r[ok], a[ok]] = np.nan_to_num(lc["demand_sd"].to_numpy(dtype="float64")[ok])

    # regional shares: totals per region of demand.csv (active) or launch_curve.csv (new, every age)
    totals = np.zeros((P, R))
    for table, new_rows in ((dem, False), (lc, True)):
        if table.empty:
            continue
        p = pidx.get_indexer(_ids(table["product"]))
        r = ridx.get_indexer(_ids(table["region"]))
        ok = (p >= 0) & (is_new[np.maximum(p, 0)] == new_rows)
        np.add.at(totals, (p[ok], r[ok]), table["demand"].to_numpy(dtype="float64")[ok])
    per_product = totals.sum(axis=1, keepdims=True)
    share = np.divide(totals, per_product, out=np.zeros_like(totals), where=per_product > 0)

    category = _ids(prod["category"])
    season = np.ones((P, H))
    ss = sc.seasonality
    if not ss.empty:
        index: dict[str, np.ndarray] = {}
        for c, t, i in zip(_ids(ss["category"]), ss["period"].to_numpy(dtype="int64"),
                           ss["index"].to_numpy(dtype="float64"), strict=True):
            if 0 <= t < H:
                index.setdefault(c, np.ones(H))[t] = i
        for i, c in enumerate(category):
            if c in index:
                season[i] = index[c]

    sup = sc.supply
    kp = pidx.get_indexer(_ids(sup["product"]))
    kw = widx.get_indexer(_ids(sup["warehouse"]))
    pair_idx = {(int(p), int(w)): k for k, (p, w) in enumerate(zip(kp, kw, strict=True))}
    K = len(kp)
    initial = np.zeros(K)
    for p, w, u in zip(_ids(sc.initial_stock["product"]), _ids(sc.initial_stock["warehouse"]),
                       sc.initial_stock["units"].to_numpy(dtype="float64"), strict=True):
        k = pair_idx.get((int(pidx.get_loc(p)), int(widx.get_loc(w))))
        if k is not None:
            initial[k] += u
    pipeline = np.zeros((K, H))
    for p, w, t, u in zip(_ids(sc.pipeline["product"]), _ids(sc.pipeline["warehouse"]),
                          sc.pipeline["period"].to_numpy(dtype="int64"),
                          sc.pipeline["units"].to_numpy(dtype="float64"), strict=True):
        k = pair_idx.get((int(pidx.get_loc(p)), int(widx.get_loc(w))))
        if k is not None and 0 <= t < H:
            pipeline[k, t] += u

    ln = sc.lanes
    lw = widx.get_indexer(_ids(ln["warehouse"]))
    lr = ridx.get_indexer(_ids(ln["region"]))
    lane_of = {(int(w), int(r)): i for i, (w, r) in enumerate(zip(lw, lr, strict=True))}

    resp = sc.response
    channels = list(dict.fromkeys(list(_ids(sc.channels["channel"])) + list(_ids(resp["channel"]))))
    cidx = pd.Index(channels)
    budget_of = dict(zip(_ids(sc.channels["channel"]), sc.channels["budget"].to_numpy(dtype="float64"), strict=True))

    slots = np.zeros(H, dtype=np.int64)
    for t, s in zip(sc.slots["period"].to_numpy(dtype="int64"), sc.slots["slots"].to_numpy(dtype="int64"), strict=True):
        if 0 <= t < H:
            slots[t] = s

    settings = sc.settings
    return _Data(
        sc=sc, H=H, products=products, warehouses=warehouses, regions=regions,
        channels=np.array(channels, dtype=object),
        price=floats("price"), unit_cost=floats("unit_cost"), volume=floats("volume"), lift=floats("featured_lift"),
        launch_cost=floats("launch_cost"), lost_cost=floats("lost_sale_cost"), holding=floats("holding_cost"),
        must=prod["must_launch"].to_numpy(dtype=bool) & is_new, is_new=is_new,
        lo=np.clip(prod["launch_earliest"].to_numpy(dtype="int64"), 0, H - 1),
        hi=np.clip(prod["launch_latest"].to_numpy(dtype="int64"), 0, H - 1),
        category=category, brand=_ids(prod["brand"]),
        base_active=base_active, sd_active=sd_active, curve=curve, curve_sd=curve_sd, season=season, share=share,
        kp=kp, kw=kw, lead=sup["lead_time"].to_numpy(dtype="int64"),
        order_cost=sup["order_cost"].to_numpy(dtype="float64"),
        min_order=sup["min_order"].to_numpy(dtype="float64"), max_order=sup["max_order"].to_numpy(dtype="float64"),
        initial=initial, pipeline=pipeline,
        lane_of=lane_of, lane_cost=ln["cost_per_unit"].to_numpy(dtype="float64"),
        lane_cap=ln["capacity"].to_numpy(dtype="float64"),
        storage=wh["storage_capacity"].to_numpy(dtype="float64"),
        throughput=wh["throughput_capacity"].to_numpy(dtype="float64"),
        qp=pidx.get_indexer(_ids(resp["product"])), qc=cidx.get_indexer(_ids(resp["channel"])),
        q_max=resp["max_uplift"].to_numpy(dtype="float64"), q_half=resp["half_saturation"].to_numpy(dtype="float64"),
        q_shape=resp["shape"].to_numpy(dtype="float64"), q_carry=resp["carryover"].to_numpy(dtype="float64"),
        channel_budget=np.array([budget_of.get(c, math.inf) for c in channels], dtype="float64"),
        slots=slots,
        max_per_period=None if settings.get("launch.max_per_period") is None else int(settings["launch.max_per_period"]),
        max_inventory_value=settings.get("finance.max_inventory_value"),
        total_budget=settings.get("advertising.total_budget"),
    )


# ---------------------------------------------------------------------- launch team


def _forecast_margins(d: _Data) -> np.ndarray:
    """P×T: (price − unit_cost) × forecast demand over τ … H−1 if launched at τ (0 for active products)."""
    H = d.H
    by_age = d.curve.sum(axis=1)  # P×T
    units = np.zeros((len(d.products), H))
    for tau in range(H):
        units[:, tau] = (by_age[:, : H - tau] * d.season[:, tau:]).sum(axis=1)
    return (d.price - d.unit_cost)[:, None] * units


def _launch_periods(d: _Data) -> np.ndarray:
    """Launch period of every product (−1: not launched; active products are −1 too)."""
    H = d.H
    P = len(d.products)
    limit = d.max_per_period if d.max_per_period is not None else P + 1
    net = _forecast_margins(d) - d.launch_cost[:, None]
    # 1. must_launch, earliest deadline first; 2. optional products worth launching at their earliest period
    tau = _launch_periods_individual(d, limit)
    count = np.bincount(tau[tau >= 0], minlength=H).astype(np.int64)

    # 3. min_products of categories and brands
    groups = []
    for level, table, owner in (("category", d.sc.categories, d.category), ("brand", d.sc.brands, d.brand)):
        for g, cost, need in zip(_ids(table[level]), table["onboarding_cost"].to_numpy(dtype="float64"),
                                 table["min_products"].to_numpy(dtype="int64"), strict=True):
            members = [int(p) for p in np.flatnonzero(d.is_new & (owner == g))]
            if need > 0 and members:
                groups.append((members, int(need), float(cost)))

    def launched(members: list[int]) -> list[int]:
        return [p for p in members if tau[p] >= 0]

    for members, need, cost in groups:  # top up
        have = launched(members)
        if not 0 < len(have) < need:
            continue
        added: list[int] = []
        for p in sorted((p for p in members if tau[p] < 0), key=lambda p: (-net[p, d.lo[p]], p)):
            if len(have) + len(added) >= need:
                break
            for t in range(d.lo[p], d.hi[p] + 1):
                if count[t] < limit:
                    tau[p] = t
                    count[t] += 1
                    added.append(p)
                    break
        value = sum(net[p, tau[p]] for p in have + added) - cost
        worth = value >= 0 or any(d.must[p] for p in members)
        if len(have) + len(added) < need or not worth:
            for p in added:
                count[tau[p]] -= 1
                tau[p] = -1
    changed = True
    while changed:  # drop the optional members of groups that still break their minimum
        changed = False
        for members, need, _cost in groups:
            have = launched(members)
            if 0 < len(have) < need:
                for p in have:
                    if not d.must[p]:
                        count[tau[p]] -= 1
                        tau[p] = -1
                        changed = True
    return tau


def _base_demand(d: _Data, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base demand and its sd (P×R×T) under the launches, and the active mask (P×T)."""
    H = d.H
    base = d.base_active.copy()
    sd = d.sd_active.copy()
    active = np.repeat(~d.is_new[:, None], H, axis=1)
    for p in np.flatnonzero(tau >= 0):
        t0 = int(tau[p])
        base[p, :, t0:] = d.curve[p, :, : H - t0] * d.season[p, t0:]
        sd[p, :, t0:] = d.curve_sd[p, :, : H - t0] * d.season[p, t0:]
        active[p, t0:] = True
    return base, sd, active


# ---------------------------------------------------------------------- marketing


@dataclass
class _Ads:
    rows: np.ndarray  # response rows advertised
    spend: np.ndarray  # rows × T
    effective: np.ndarray
    uplift: np.ndarray
    total_budget: float


def _advertising(d: _Data, base: np.ndarray, active: np.ndarray) -> _Ads:
    H = d.H
    n_active = active.sum(axis=1)
    revenue = d.price * base.sum(axis=(1, 2))
    ok = (d.q_max > 0) & (n_active[d.qp] > 0) & (revenue[d.qp] > 0)
    rows = np.flatnonzero(ok)
    if d.total_budget is not None:
        budget = float(d.total_budget)
    else:  # the channels' budgets over the horizon; an uncapped channel at its products' half-saturation spends
        per_channel = np.bincount(d.qc[rows], weights=d.q_half[rows], minlength=len(d.channels))
        budget = float(np.minimum(d.channel_budget, per_channel).sum() * H)
    spend = np.zeros((len(rows), H))
    if len(rows) and budget > 0:
        advertised = np.unique(d.qp[rows])
        product_budget = np.zeros(len(d.products))
        product_budget[advertised] = budget * revenue[advertised] / revenue[advertised].sum()
        n_channels = np.bincount(d.qp[rows], minlength=len(d.products))
        per_period = product_budget[d.qp[rows]] / n_channels[d.qp[rows]] / n_active[d.qp[rows]]
        spend = per_period[:, None] * active[d.qp[rows]]
        _cap_channels(d, rows, spend)
    return _ads_on_the_true_curve(d, rows, spend, active, budget)


def _cap_channels(d: _Data, rows: np.ndarray, spend: np.ndarray) -> None:
    """Scale ``spend`` (rows × periods, in place) down to each channel's budget per period."""
    for c in range(len(d.channels)):
        on = d.qc[rows] == c
        if not on.any() or not math.isfinite(d.channel_budget[c]):
            continue
        total = spend[on].sum(axis=0)
        scale = np.ones(d.H)
        over = total > d.channel_budget[c]
        scale[over] = d.channel_budget[c] / total[over]
        spend[on] *= scale


def _ads_on_the_true_curve(d: _Data, rows: np.ndarray, spend: np.ndarray, active: np.ndarray,
                           budget: float) -> _Ads:
    """The adstocked effective spend and the uplift the true Hill curve gives for ``spend`` (0 before launch)."""
    effective = np.zeros_like(spend)
    carry = d.q_carry[rows]
    for t in range(d.H):
        effective[:, t] = spend[:, t] + (carry * effective[:, t - 1] if t > 0 else 0.0)
    uplift = np.zeros_like(spend)
    for i, q in enumerate(rows):
        uplift[i] = hill(effective[i], d.q_max[q], d.q_half[q], d.q_shape[q])
    uplift *= active[d.qp[rows]]  # effective spend is 0 before launch anyway
    return _Ads(rows, spend, effective, uplift, budget)


# ---------------------------------------------------------------------- merchandising


def _featured(d: _Data, base: np.ndarray, active: np.ndarray) -> np.ndarray:
    """P×T: featured products, the active ones with a lift and the highest forecast revenue per period."""
    revenue = d.price[:, None] * base.sum(axis=1)
    return _top_per_period(d, revenue, active & (d.lift[:, None] > 0) & (revenue > 0))


def _top_per_period(d: _Data, score: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """P×T: in each period the period's slots go to the eligible products of highest ``score`` (ties by order)."""
    feat = np.zeros_like(eligible)
    for t in range(d.H):
        candidates = np.flatnonzero(eligible[:, t])
        if len(candidates) == 0 or d.slots[t] <= 0:
            continue
        order = candidates[np.lexsort((candidates, -score[candidates, t]))]
        feat[order[: d.slots[t]], t] = True
    return feat


# ---------------------------------------------------------------------- practitioner rules


def _groups(d: _Data) -> list[tuple[list[int], int, float]]:
    """Categories and brands with an onboarding cost or a minimum assortment: (new members, need, cost)."""
    out = []
    for level, table, owner in (("category", d.sc.categories, d.category), ("brand", d.sc.brands, d.brand)):
        for g, cost, need in zip(_ids(table[level]), table["onboarding_cost"].to_numpy(dtype="float64"),
                                 table["min_products"].to_numpy(dtype="int64"), strict=True):
            members = [int(p) for p in np.flatnonzero(d.is_new & (owner == g))]
            if members and (need > 0 or cost > 0):
                out.append((members, int(need), float(cost)))
    return out


def _launch_practitioner(d: _Data) -> np.ndarray:
    """Launch period of every product under the practitioner launch rule (−1: not launched)."""
    H = d.H
    P = len(d.products)
    limit = d.max_per_period if d.max_per_period is not None else P + 1
    tau = _launch_periods_individual(d, limit)
    net = _forecast_margins(d) - d.launch_cost[:, None]
    groups = _groups(d)

    def count() -> np.ndarray:
        c = np.zeros(H, dtype=np.int64)
        np.add.at(c, tau[tau >= 0], 1)
        return c

    def value(t: np.ndarray) -> float:
        on = np.flatnonzero(t >= 0)
        v = float(net[on, t[on]].sum())
        return v - sum(cost for members, _, cost in groups if (t[members] >= 0).any())

    def first_room(p: int, used: np.ndarray) -> int:
        for t in range(d.lo[p], d.hi[p] + 1):
            if used[t] < limit:
                return t
        return -1

    for _ in range(4 * len(groups) + 1):  # passes until nothing changes
        changed = False
        for members, need, _cost in groups:
            have = [p for p in members if tau[p] >= 0]
            if not have:
                continue
            must = any(d.must[p] for p in have)
            options = []
            if len(have) >= need:
                options.append(tau.copy())  # keep the group as it is
            else:  # top up with the best members not launched, each at its first period with room
                top = tau.copy()
                used = count()
                for p in sorted((p for p in members if tau[p] < 0), key=lambda p: (-net[p, d.lo[p]], p)):
                    if (top[members] >= 0).sum() >= need:
                        break
                    t = first_room(p, used)
                    if t >= 0:
                        top[p] = t
                        used[t] += 1
                if (top[members] >= 0).sum() >= need:
                    options.append(top)
            if not must:  # drop its optional members
                drop = tau.copy()
                drop[[p for p in have if not d.must[p]]] = -1
                options.append(drop)
            if not options:
                continue
            best = max(options, key=value)  # the first of equals: keep, top up, drop
            if not np.array_equal(best, tau):
                tau, changed = best, True
        if not changed:
            break
    changed = True
    while changed:  # what still breaks a minimum (a pass limit reached): drop the optional members
        changed = False
        for members, need, _cost in groups:
            have = [p for p in members if tau[p] >= 0]
            if 0 < len(have) < need:
                for p in have:
                    if not d.must[p]:
                        tau[p] = -1
                        changed = True
    return tau


def _launch_periods_individual(d: _Data, limit: int) -> np.ndarray:
    """Steps 1 and 2 of the launch rule: must_launch products, then every product worth launching on its own."""
    H, P = d.H, len(d.products)
    count = np.zeros(H, dtype=np.int64)
    tau = np.full(P, -1, dtype=np.int64)
    net = _forecast_margins(d) - d.launch_cost[:, None]
    waiting = [int(p) for p in np.flatnonzero(d.must)]
    for t in range(H):
        ready = sorted((p for p in waiting if d.lo[p] <= t <= d.hi[p]), key=lambda p: (d.hi[p], p))
        for p in ready:
            if count[t] >= limit:
                break
            tau[p] = t
            count[t] += 1
            waiting.remove(p)
    if waiting:
        names = ", ".join(d.products[p] for p in waiting)
        raise BaselineError(f"must_launch products {names} do not fit into their launch windows with "
                            f"launch.max_per_period = {d.max_per_period}")
    optional = [int(p) for p in np.flatnonzero(d.is_new & ~d.must) if net[p, d.lo[p]] >= 0]
    for p in sorted(optional, key=lambda p: (-net[p, d.lo[p]], p)):
        for t in range(d.lo[p], d.hi[p] + 1):
            if count[t] < limit and net[p, t] >= 0:
                tau[p] = t
                count[t] += 1
                break
    return tau


def hill_slope(e: np.ndarray | float, max_uplift: float, half: float, shape: float) -> np.ndarray:
    """d/de of the Hill curve max_uplift · e^s / (e^s + k^s)."""
    e = np.maximum(np.asarray(e, dtype="float64"), 1e-300)
    ks = half ** shape
    es = e ** shape
    return max_uplift * shape * ks * e ** (shape - 1.0) / (es + ks) ** 2


def profitable_spend(margin: float, max_uplift: float, half: float, shape: float, price_of_spend: float) -> float:
    """The effective spend e ≥ 0 that maximises margin · hill(e) − price_of_spend · e (0 when nothing pays).

    For a concave curve (shape ≤ 1) it is where the marginal margin margin · hill'(e) falls to
    ``price_of_spend``; with shape = 1, e = √(margin · max_uplift · k / price_of_spend) − k. An S-shaped
    curve (shape > 1) is searched on a grid first, then refined on the falling side of its slope.
    """
    if margin <= 0 or max_uplift <= 0 or half <= 0 or price_of_spend <= 0:
        return 0.0

    def net(e: np.ndarray) -> np.ndarray:
        return margin * hill(e, max_uplift, half, shape) - price_of_spend * e

    grid = half * np.logspace(-4, 4, 801)
    i = int(np.argmax(net(grid)))
    if net(grid[i:i + 1])[0] <= 0:
        return 0.0
    lo = grid[i - 1] if i > 0 else 0.0
    hi = grid[i + 1] if i + 1 < len(grid) else grid[i] * 10
    if margin * hill_slope(hi, max_uplift, half, shape) > price_of_spend:  # still rising at the grid's end
        return float(hi)
    if lo > 0 and margin * hill_slope(lo, max_uplift, half, shape) < price_of_spend:  # the top is at lo
        return float(lo) if net(np.array([lo]))[0] > 0 else 0.0
    for _ in range(200):  # bisection on the falling side: margin · hill'(e) = price_of_spend
        mid = 0.5 * (lo + hi)
        if margin * hill_slope(mid, max_uplift, half, shape) > price_of_spend:
            lo = mid
        else:
            hi = mid
    e = 0.5 * (lo + hi)
    return float(e) if net(np.array([e]))[0] > 0 else 0.0


def _advertising_practitioner(d: _Data, base: np.ndarray, active: np.ndarray) -> _Ads:
    """Per (product, channel): the steady spend at which the true Hill curve's marginal margin falls to 1.

    At a constant spend x per period the effective spend settles at e = x / (1 − carryover); one more
    unit of spend per period buys 1 / (1 − carryover) of effective spend. So e solves
    margin · hill'(e) = λ · (1 − carryover) with λ = 1 (margin = price − unit_cost), and
    x = (1 − carryover) · e is spent in every active period. When the spend over the horizon exceeds
    advertising.total_budget, λ is raised (bisection) until it fits: the budget goes where the margin
    per unit of spend is highest. Then every channel's spend in a period above its budget is scaled
    down to the budget.
    """
    n_active = active.sum(axis=1)
    margin = d.price - d.unit_cost
    ok = (d.q_max > 0) & (n_active[d.qp] > 0) & (margin[d.qp] > 0)
    rows = np.flatnonzero(ok)
    carry = d.q_carry[rows]

    def spends(lam: float) -> np.ndarray:
        e = np.array([profitable_spend(margin[d.qp[q]], d.q_max[q], d.q_half[q], d.q_shape[q],
                                       lam * (1.0 - d.q_carry[q])) for q in rows])
        return (1.0 - carry) * e if len(rows) else np.zeros(0)

    per_period = spends(1.0)
    weight = n_active[d.qp[rows]]
    if d.total_budget is not None and len(rows) and float(per_period @ weight) > d.total_budget:
        lo, hi = 1.0, 2.0
        while float(spends(hi) @ weight) > d.total_budget and hi < 1e12:
            lo, hi = hi, hi * 2
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if float(spends(mid) @ weight) > d.total_budget:
                lo = mid
            else:
                hi = mid
        per_period = spends(hi)
    spend = per_period[:, None] * active[d.qp[rows]]
    _cap_channels(d, rows, spend)
    keep = spend.sum(axis=1) > 0
    rows, spend = rows[keep], spend[keep]
    budget = float(d.total_budget) if d.total_budget is not None else float(spend.sum())
    return _ads_on_the_true_curve(d, rows, spend, active, budget)


def _featured_practitioner(d: _Data, base: np.ndarray, active: np.ndarray) -> np.ndarray:
    """P×T: per period the slots go to the products whose feature adds the most margin:
    (price − unit_cost) × featured_lift × forecast demand of the period (only where that is > 0)."""
    gain = ((d.price - d.unit_cost) * d.lift)[:, None] * base.sum(axis=1)
    return _top_per_period(d, gain, active & (gain > 0))


# ---------------------------------------------------------------------- supply chain


def _home_warehouses(d: _Data) -> np.ndarray:
    """Supply pair index of every product's home warehouse (−1: no warehouse reaches its demand); rule "home"."""
    home = np.full(len(d.products), -1, dtype=np.int64)
    best: dict[int, tuple[float, float, int]] = {}
    for k, (p, w) in enumerate(zip(d.kp, d.kw, strict=True)):
        covered, cost = 0.0, 0.0
        for r in np.flatnonzero(d.share[p] > 0):
            lane = d.lane_of.get((int(w), int(r)))
            if lane is not None:
                covered += d.share[p, r]
                cost += d.share[p, r] * d.lane_cost[lane]
        if covered <= 0:
            continue
        key = (-round(covered, 9), cost / covered, k)
        if p not in best or key < best[p]:
            best[p] = key
            home[p] = k
    return home


@dataclass
class _Flows:
    orders: np.ndarray  # K×T, placed in t
    stock: np.ndarray  # K×T, end of period
    ship: np.ndarray  # M×T
    mk: np.ndarray  # shipping routes m = (pair, region)
    mr: np.ndarray
    ml: np.ndarray


@dataclass
class _Routes:
    """Shipping routes m = (supply pair, region) over the lane between them."""

    mk: np.ndarray
    mr: np.ndarray
    ml: np.ndarray
    rank: np.ndarray  # 0 = the cheapest route of its (product, region), 1 = the next, …
    by_rank: list[np.ndarray]  # routes that are the i-th cheapest of their (product, region)


def _routes(d: _Data, first: np.ndarray | None = None) -> _Routes:
    """Shipping routes (pair k, region r, lane l), ranked per (product, region): cost_per_unit, lead time, warehouse.

    With ``first`` (a supply pair per product, −1 for none), that pair's route comes first (rule "home_spill").
    """
    rows = []
    for k, (p, w) in enumerate(zip(d.kp, d.kw, strict=True)):
        for r in np.flatnonzero(d.share[p] > 0):
            lane = d.lane_of.get((int(w), int(r)))
            if lane is not None and d.lane_cost[lane] * d.volume[p] <= d.price[p]:
                head = 0 if first is not None and first[p] == k else 1
                rows.append((int(p), int(r), head, d.lane_cost[lane], int(d.lead[k]), int(w), k, lane))
    rows.sort()
    mk = np.array([row[6] for row in rows], dtype=np.int64)
    mr = np.array([row[1] for row in rows], dtype=np.int64)
    ml = np.array([row[7] for row in rows], dtype=np.int64)
    rank = np.zeros(len(rows), dtype=np.int64)
    for i in range(1, len(rows)):
        if rows[i][:2] == rows[i - 1][:2]:
            rank[i] = rank[i - 1] + 1
    n_ranks = int(rank.max()) + 1 if len(rank) else 0
    return _Routes(mk, mr, ml, rank, [np.flatnonzero(rank == i) for i in range(n_ranks)])


def _assign(d: _Data, routes: _Routes, potential: np.ndarray, sd: np.ndarray, rule: str,
            z: float = SAFETY_Z) -> np.ndarray:
    """M×T: the potential demand each route is planned to carry (the supply rule, before any stock exists)."""
    mk, mr, ml = routes.mk, routes.mr, routes.ml
    mp = d.kp[mk]
    H, M = d.H, len(mk)
    planned = np.zeros((M, H))
    if rule == "home":
        home = _home_warehouses(d)
        on = mk == home[mp]
        planned[on] = potential[mp[on], mr[on]]
        return planned
    first = np.flatnonzero(routes.rank == 0)
    planned[first] = potential[mp[first], mr[first]]
    mw = d.kw[mk]
    # what one unit of demand planned on a route in a period takes of each capacity:
    # throughput and lane its volume, storage the volume of its safety stock z·σ·√(L+1) per unit
    vol = np.repeat(d.volume[mp][:, None], H, axis=1)
    pot = potential[mp, mr]
    safety = z * sd[mp, mr] * np.sqrt(d.lead[mk] + 1.0)[:, None]
    stored = vol * np.divide(safety, pot, out=np.zeros_like(pot), where=pot > 0)
    resources = [  # (capacity per warehouse or lane, the one a route uses, what a planned unit takes of it)
        (d.throughput, mw, vol),
        (d.lane_cap, ml, vol),
        (d.storage, mw, stored),
    ]
    loads = []
    for cap, unit, take in resources:
        load = np.zeros((len(cap), H))
        np.add.at(load, unit[first], planned[first] * take[first])
        loads.append(load)
    full = [(load > cap[:, None] + 1e-9 * np.maximum(1.0, cap[:, None])).any(axis=1)
            for load, (cap, _, _) in zip(loads, resources, strict=True)]
    candidates = first[np.logical_or.reduce([f[unit[first]] for f, (_, unit, _) in zip(full, resources, strict=True)])]
    if len(candidates) == 0:
        return planned
    # spill: lowest unit margin first (ties: product order, then region order); the routes of a
    # (product, region) are contiguous and ranked, so the alternatives of route m are m+1, m+2, …
    R = len(d.regions)
    n_routes = np.bincount(mp * R + mr, minlength=len(d.products) * R)
    margin = d.price - d.unit_cost

    def units(m: int, amounts: list[np.ndarray]) -> np.ndarray:
        """How many planned units of route m ``amounts`` (one per capacity) make room for; inf if it takes none."""
        out = np.full(H, np.inf)
        for amount, (_, _, take) in zip(amounts, resources, strict=True):
            out = np.minimum(out, np.divide(amount, take[m], out=np.full(H, np.inf), where=take[m] > 0))
        return out

    for m in candidates[np.lexsort((mr[candidates], mp[candidates], margin[mp[candidates]]))]:
        excess = [load[unit[m]] - cap[unit[m]] for load, (cap, unit, _) in zip(loads, resources, strict=True)]
        need = np.zeros(H)
        for amount, (_, _, take) in zip(excess, resources, strict=True):
            need = np.maximum(need, np.divide(amount, take[m], out=np.zeros(H), where=take[m] > 0))
        move = np.minimum(planned[m], need)
        move[move <= _EPS] = 0.0
        if not move.any():
            continue
        planned[m] -= move
        for load, (_, unit, take) in zip(loads, resources, strict=True):
            load[unit[m]] -= move * take[m]
        for m2 in range(m + 1, m + n_routes[mp[m] * R + mr[m]]):
            room = units(m2, [np.maximum(cap[unit[m2]] - load[unit[m2]], 0.0)
                              for load, (cap, unit, _) in zip(loads, resources, strict=True)])
            fit = np.minimum(move, room)
            fit[fit <= _EPS] = 0.0
            planned[m2] += fit
            for load, (_, unit, take) in zip(loads, resources, strict=True):
                load[unit[m2]] += fit * take[m2]
            move = move - fit
            if not (move > _EPS).any():
                break
    return planned


def _share_of(request: np.ndarray, group: np.ndarray, room: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """Per request, the fraction it can get when the requests of each group share ``room`` proportionally."""
    asked = np.bincount(group, weights=request if weight is None else request * weight, minlength=len(room))
    frac = np.ones(len(room))
    room = np.maximum(room, 0.0)
    tight = (asked > 0) & (asked > room)
    frac[tight] = room[tight] / asked[tight]
    return frac[group]


def _planned(d: _Data, routes: _Routes, potential: np.ndarray, sd: np.ndarray, rule: str,
             z: float = SAFETY_Z) -> np.ndarray:
    """M×T: the demand the supply rule plans on each route of ``routes`` (in the order of ``routes``)."""
    if rule != "home_spill":
        return _assign(d, routes, potential, sd, rule, z)
    # the same spill, from routes ranked home first; mapped back to the order of ``routes``
    home_first = _routes(d, first=_home_warehouses(d))
    planned = _assign(d, home_first, potential, sd, rule, z)
    R = len(d.regions)
    keys = routes.mk * R + routes.mr
    order = np.argsort(keys)
    at = order[np.searchsorted(keys[order], home_first.mk * R + home_first.mr)]
    out = np.zeros_like(planned)
    out[at] = planned
    return out


def _review_periods(d: _Data, demand: np.ndarray, var: np.ndarray, active: np.ndarray,
                    review: str, z: float = SAFETY_Z) -> tuple[np.ndarray, np.ndarray]:
    """Review period R per pair and the K×T mask of the periods in which a pair reviews (may order).

    ``demand`` and ``var`` (K×T) are the demand planned through each pair and its variance.
    """
    H = d.H
    K = len(d.kp)
    W = len(d.warehouses)
    has = (demand > _EPS).any(axis=1)
    first = np.where(has, np.argmax(demand > _EPS, axis=1), H)
    start = np.maximum(first - d.lead, 0)
    t = np.arange(H)[None, :]
    R = np.ones(K, dtype=np.int64)
    if review == "eoq":
        n_active = active.sum(axis=1)[d.kp]
        mean = np.divide(demand.sum(axis=1), n_active, out=np.zeros(K), where=n_active > 0)
        sigma = np.sqrt(np.divide(var.sum(axis=1), n_active, out=np.zeros(K), where=n_active > 0))
        on = (d.order_cost > 0) & (mean > _EPS)
        h = d.holding[d.kp]
        vol = d.volume[d.kp]
        cum = np.concatenate([np.zeros((K, 1)), np.cumsum(demand, axis=1)], axis=1)
        first_arrival = start + d.lead

        def periods(lam: np.ndarray) -> np.ndarray:
            """R per pair at the storage prices ``lam`` (per warehouse): EOQ with holding cost h + λ·volume."""
            hd = (h + lam[d.kw] * vol) * mean
            x = np.full(K, float(H))
            fin = on & (hd > 0)
            x[fin] = np.floor(np.sqrt(2.0 * d.order_cost[fin] / hd[fin]) + 0.5)
            return np.where(on, np.clip(x, 1, H), 1).astype(np.int64)

        def peak(r: np.ndarray) -> np.ndarray:
            """Per warehouse and period: the volume the pairs hold at the end of it when demand is as planned."""
            since = t - first_arrival[:, None]
            nxt = np.minimum(first_arrival[:, None] + r[:, None] * (since // r[:, None] + 1), H)
            cycle = np.take_along_axis(cum, nxt, axis=1) - cum[:, 1:]
            held = np.where(since >= 0, cycle + (z * sigma * np.sqrt(r + d.lead))[:, None], 0.0)
            held *= has[:, None]
            out = np.zeros((W, H))
            np.add.at(out, d.kw, held * vol[:, None])
            return out.max(axis=1)

        cap = d.storage * (1 + 1e-9)
        lo = np.zeros(W)
        hi = np.zeros(W)
        over = peak(periods(lo)) > cap
        if over.any():  # bisect the storage price λ of every warehouse that overflows
            need = np.divide(2.0 * d.order_cost / 2.25, mean, out=np.zeros(K), where=mean > 0) - h
            top = np.divide(np.maximum(need, 0.0), vol, out=np.zeros(K), where=vol > 0) * 1.01 + 1.0
            np.maximum.at(hi, d.kw, top)  # at this λ every pair of the warehouse reviews every period
            hi = np.where(over, hi, 0.0)
            for _ in range(60):
                mid = (lo + hi) / 2
                fits = peak(periods(mid)) <= cap
                hi = np.where(over & fits, mid, hi)
                lo = np.where(over & ~fits, mid, lo)
        R = periods(hi)
    mask = has[:, None] & (t >= start[:, None]) & ((t - start[:, None]) % R[:, None] == 0)
    return R, mask


def _simulate(d: _Data, potential: np.ndarray, sd: np.ndarray, active: np.ndarray, rule: str,
              review: str, z: float = SAFETY_Z) -> _Flows:
    H = d.H
    K = len(d.kp)
    W = len(d.warehouses)
    routes = _routes(d)
    mk, mr = routes.mk, routes.mr
    mp = d.kp[mk]
    vol_k = d.volume[d.kp]
    value_k = d.unit_cost[d.kp]

    # order-up-to data per pair: the demand planned through it and its variance
    planned = _planned(d, routes, potential, sd, rule, z)
    fraction = np.divide(planned, potential[mp, mr], out=np.zeros_like(planned), where=potential[mp, mr] > 0)
    demand = np.zeros((K, H))
    np.add.at(demand, mk, planned)
    var = np.zeros((K, H))
    np.add.at(var, mk, (fraction * sd[mp, mr]) ** 2)
    cum_demand = np.concatenate([np.zeros((K, 1)), np.cumsum(demand, axis=1)], axis=1)
    cum_var = np.concatenate([np.zeros((K, 1)), np.cumsum(var, axis=1)], axis=1)
    period, reviews = _review_periods(d, demand, var, active, review, z)
    # inventory position of pair gk counts the stock and arrivals of pair gj
    if rule == "home":
        home = _home_warehouses(d)
        gk = np.concatenate([np.full(int((d.kp == p).sum()), home[p]) for p in np.flatnonzero(home >= 0)]
                            + [np.zeros(0, dtype=np.int64)]).astype(np.int64)
        gj = np.concatenate([np.flatnonzero(d.kp == p) for p in np.flatnonzero(home >= 0)]
                            + [np.zeros(0, dtype=np.int64)]).astype(np.int64)
    else:
        gk = gj = np.arange(K)
    pairs = np.arange(K)

    orders = np.zeros((K, H))
    arrivals = d.pipeline.copy()
    stock = np.zeros((K, H))
    ship = np.zeros((len(mk), H))
    level = d.initial.copy()

    for t in range(H):
        # ---- orders placed at a review t (order-up-to over t … t+R+L−1), arriving at t + L
        cum_arr = np.concatenate([np.zeros((K, 1)), np.cumsum(arrivals, axis=1)], axis=1)
        end = t + d.lead
        in_time = (end <= H - 1) & reviews[:, t]
        e1 = np.minimum(end + period - 1, H - 1) + 1
        target = (cum_demand[pairs, e1] - cum_demand[:, t]
                  + z * np.sqrt(np.maximum(cum_var[pairs, e1] - cum_var[:, t], 0.0)))
        position = np.bincount(gk, weights=level[gj] + cum_arr[gj, e1[gk]] - cum_arr[gj, t], minlength=K)
        q = target - position
        place = in_time & (q > _EPS)
        q = np.where(place, np.minimum(np.maximum(q, d.min_order), d.max_order), 0.0)
        q[q <= _EPS] = 0.0
        orders[:, t] = q
        on = np.flatnonzero(q > 0)
        arrivals[on, end[on]] += q[on]
        # ---- receipts, shipping; orders that overflow storage or the inventory value cap are cut on arrival
        placed = t - d.lead
        can = np.flatnonzero(placed >= 0)
        while True:
            avail, ship[:, t] = _ship(d, routes, level + arrivals[:, t], potential[:, :, t],
                                      None if rule == "home" else planned[:, t])
            arriving = np.zeros(K)
            arriving[can] = orders[can, placed[can]]
            again = False
            held = np.bincount(d.kw, weights=avail * vol_k, minlength=W)
            for w in np.flatnonzero(held > d.storage + 1e-9 * np.maximum(1.0, d.storage)):
                again |= _cut(d, np.flatnonzero((d.kw == w) & (arriving > 0)), held[w] - d.storage[w], vol_k,
                              orders, arrivals, avail, arriving, t)
            cap = d.max_inventory_value
            if cap is not None and not again:
                value = float((avail * value_k).sum())
                if value > cap + 1e-9 * max(1.0, cap):
                    again = _cut(d, np.flatnonzero(arriving > 0), value - cap, value_k, orders, arrivals, avail,
                                 arriving, t)
            if not again:
                break
        level = avail
        stock[:, t] = level
    return _Flows(orders, stock, ship, mk, mr, routes.ml)


def _ship(d: _Data, routes: _Routes, avail: np.ndarray, potential: np.ndarray,
          planned: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One period's shipments (per route) from stock ``avail`` (per pair) to ``potential`` (P×R); returns (left, shipped).

    With ``planned`` (per route), a first round ships what the supply rule planned on each route;
    then the rest of every region's demand is served cheapest route first.
    """
    K, W = len(d.kp), len(d.warehouses)
    avail = avail.copy()
    shipped = np.zeros(len(routes.mk))
    left = potential.copy()
    lane_room = d.lane_cap.copy()
    wh_room = d.throughput.copy()
    rounds: list[tuple[np.ndarray, np.ndarray | None]] = []
    if planned is not None:
        sel = np.flatnonzero(planned > _EPS)
        rounds.append((sel, planned[sel].copy()))
    rounds += [(sel, None) for sel in routes.by_rank]
    for sel, want in rounds:
        k, r, lane = routes.mk[sel], routes.mr[sel], routes.ml[sel]
        p, w = d.kp[k], d.kw[k]
        v = d.volume[p]
        for _ in range(_PASSES):
            req = left[p, r] if want is None else np.minimum(want, left[p, r])
            req = np.where((req > _EPS) & (avail[k] > _EPS), req, 0.0)
            if not (req > 0).any():
                break
            frac = _share_of(req, k, avail) * _share_of(req, lane, lane_room, v) * _share_of(req, w, wh_room, v)
            amount = req * np.minimum(frac, 1.0)
            if not (amount > _EPS).any():
                break
            shipped[sel] += amount
            np.subtract.at(left, (p, r), amount)
            if want is not None:
                want -= amount
            avail -= np.bincount(k, weights=amount, minlength=K)
            lane_room -= np.bincount(lane, weights=amount * v, minlength=len(lane_room))
            wh_room -= np.bincount(w, weights=amount * v, minlength=W)
    return np.maximum(avail, 0.0), shipped


def _cut(d: _Data, pairs: np.ndarray, excess: float, weight: np.ndarray, orders: np.ndarray,
         arrivals: np.ndarray, avail: np.ndarray, arriving: np.ndarray, t: int) -> bool:
    """Cut orders arriving at t (largest first) so that ``excess`` (in ``weight`` units) goes away.

    First only out of the stock left over at the end of t, so shipments stay as they are (an order
    that would fall below min_order is cancelled, when it is all left over). When that is not enough,
    orders that min_order keeps from being cut are cancelled outright and True is returned: the
    period's shipments must then be recomputed.
    """
    order = sorted(pairs, key=lambda k: (-arriving[k] * weight[k], k))
    for k in order:
        if excess <= 0:
            return False
        if weight[k] <= 0:
            continue
        o, left = arriving[k], avail[k]
        cuttable = o if o <= left else max(0.0, min(left, o - d.min_order[k]))
        cut = min(cuttable, excess / weight[k])
        if o <= left and (o - cut <= _EPS or o - cut < d.min_order[k] - _EPS):
            cut = o
        if cut <= 0:
            continue
        orders[k, t - d.lead[k]] -= cut
        arrivals[k, t] -= cut
        avail[k] -= cut
        arriving[k] -= cut
        excess -= cut * weight[k]
    cancelled = False
    for k in order:
        if excess <= 0:
            break
        if weight[k] <= 0 or arriving[k] <= 0:
            continue
        excess -= avail[k] * weight[k]
        orders[k, t - d.lead[k]] -= arriving[k]
        arrivals[k, t] -= arriving[k]
        arriving[k] = 0.0
        cancelled = True
    return cancelled


# ---------------------------------------------------------------------- the plan


def _frame(name: str, data: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame({c: data[c] for c in TABLE_COLUMNS[name]})
    for c in ("period", "arrival"):
        if c in df.columns:
            df[c] = df[c].astype("int64")
    return df


def siloed_plan(scenario: Scenario, warehouses: str = DEFAULT_WAREHOUSES, review: str = DEFAULT_REVIEW,
                rules: str = "naive", commercial: Plan | None = None) -> Plan:
    """The plan of siloed teams following simple rules (see the module docstring), evaluated like any plan.

    Parameters
    ----------
    scenario : Scenario
        A loaded (validated) scenario.
    warehouses : {"per_region", "home_spill", "home"}
        The supply rule (module docstring): each region's demand planned at the product's
        warehouse with the cheapest lane to it, spilling to the next when full (default); at the
        product's home warehouse first, spilling per region to the next-cheapest when full; or
        everything at one home warehouse per product, capacities ignored.
    review : {"eoq", "every_period"}
        The ordering rule: order up to forecast plus safety stock every R periods, R from the
        economic order quantity (default), or every period (R = 1).
    rules : {"naive", "practitioner"}
        ``"naive"`` (default): the siloed rules of the module docstring. ``"practitioner"``: every
        team's rule done competently (:func:`practitioner_plan`): launches that count every
        onboarding cost, ads where margin × uplift pays for the spend, featured slots by margin ×
        lift, and the same supply rules without safety stock.
    commercial : Plan, optional
        Take the launches, ad spend and featured products of this plan instead of the commercial
        rules (the uplift counted on is the true Hill curve at its spend); only the supply rules
        run. This is how a plan made for other supply data (e.g.
        :func:`optsupply.analysis.sequential.commercial_scenario`) gets a feasible supply part.

    Returns
    -------
    Plan
        Tables as in SPEC §4; ``kpis`` from :func:`optsupply.plan.check.evaluate_plan` with
        ``status == "baseline"``, ``method == "siloed"``, no ``best_bound`` or ``mip_gap``
        (None), ``advertising_budget``: the budget the marketing rule split, and
        ``warehouses`` and ``review``: the supply and ordering rules used.

    Raises
    ------
    BaselineError
        When the must_launch products do not fit into their windows under launch.max_per_period.
    UsageError
        When ``warehouses`` is not one of :data:`WAREHOUSE_RULES` or ``review`` not one of
        :data:`REVIEW_RULES`.
    """
    if warehouses not in WAREHOUSE_RULES:
        raise UsageError(f"unknown warehouses rule {warehouses!r}: use one of {', '.join(WAREHOUSE_RULES)}")
    if review not in REVIEW_RULES:
        raise UsageError(f"unknown review rule {review!r}: use one of {', '.join(REVIEW_RULES)}")
    if rules not in RULE_SETS:
        raise UsageError(f"unknown rules {rules!r}: use one of {', '.join(RULE_SETS)}")
    t0 = time.perf_counter()
    d = _prepare(scenario)
    t1 = time.perf_counter()
    H = d.H
    practitioner = rules == "practitioner"
    if commercial is not None:
        tau = _launches_of(d, commercial)
        base, sd, active = _base_demand(d, tau)
        ads = _ads_of(d, commercial, active)
        feat = _featured_of(d, commercial, active)
    else:
        tau = _launch_practitioner(d) if practitioner else _launch_periods(d)
        base, sd, active = _base_demand(d, tau)
        ads = (_advertising_practitioner if practitioner else _advertising)(d, base, active)
        feat = (_featured_practitioner if practitioner else _featured)(d, base, active)
    U = np.zeros((len(d.products), H))
    np.add.at(U, d.qp[ads.rows], ads.uplift)
    ad_uplift = d.share[:, :, None] * U[:, None, :]
    featured_uplift = d.lift[:, None, None] * base * feat[:, None, :]
    potential = base + ad_uplift + featured_uplift
    flows = _simulate(d, potential, sd, active, warehouses, review, 0.0 if practitioner else SAFETY_Z)

    P, W = d.products, d.warehouses
    launched = np.flatnonzero(tau >= 0)
    k, t = np.nonzero(flows.orders > _EPS)
    orders = _frame("orders", {"product": P[d.kp[k]], "warehouse": W[d.kw[k]], "period": t, "arrival": t + d.lead[k],
                               "units": flows.orders[k, t]})
    k, t = np.nonzero(flows.stock > _EPS)
    stock = _frame("stock", {"product": P[d.kp[k]], "warehouse": W[d.kw[k]], "period": t, "units": flows.stock[k, t]})
    m, t = np.nonzero(flows.ship > 0)
    mk = flows.mk[m]
    shipments = _frame("shipments", {"product": P[d.kp[mk]], "warehouse": W[d.kw[mk]], "region": d.regions[flows.mr[m]],
                                     "period": t, "units": flows.ship[m, t]})
    sold = np.zeros_like(potential)
    np.add.at(sold, (d.kp[mk], flows.mr[m], t), flows.ship[m, t])
    p, r, t = np.nonzero((potential > 0) | (sold > 0))
    sales = _frame("sales", {
        "product": P[p], "region": d.regions[r], "period": t, "base_demand": base[p, r, t],
        "ad_uplift": ad_uplift[p, r, t], "featured_uplift": featured_uplift[p, r, t],
        "potential_demand": potential[p, r, t], "sales": sold[p, r, t],
        "lost": np.maximum(potential[p, r, t] - sold[p, r, t], 0.0),
    })
    i, t = np.nonzero((ads.spend > 0) | (ads.effective > _EPS))
    q = ads.rows[i]
    advertising = _frame("advertising", {"product": P[d.qp[q]], "channel": d.channels[d.qc[q]], "period": t,
                                         "spend": ads.spend[i, t], "effective_spend": ads.effective[i, t],
                                         "uplift": ads.uplift[i, t]})
    p, t = np.nonzero(feat)
    featured = _frame("featured", {"product": P[p], "period": t})
    volume = np.zeros((len(d.lane_cost), H))
    m, t = np.nonzero(flows.ship > 0)
    np.add.at(volume, (flows.ml[m], t), flows.ship[m, t] * d.volume[d.kp[flows.mk[m]]])
    lane_w = np.empty(len(d.lane_cost), dtype=np.int64)
    lane_r = np.empty(len(d.lane_cost), dtype=np.int64)
    for (w, r), i_lane in d.lane_of.items():
        lane_w[i_lane], lane_r[i_lane] = w, r
    i_lane, t = np.nonzero(volume > 0)
    lanes = _frame("lanes", {"warehouse": W[lane_w[i_lane]], "region": d.regions[lane_r[i_lane]], "period": t,
                             "volume": volume[i_lane, t], "used": np.ones(len(t), dtype=bool)})
    plan = Plan(
        launches=_frame("launches", {"product": P[launched], "period": tau[launched]}),
        orders=orders, stock=stock, shipments=shipments, sales=sales, advertising=advertising,
        featured=featured, lanes=lanes, kpis={}, scenario_name=scenario.name, dates=period_dates(scenario),
    )
    t2 = time.perf_counter()
    ev = evaluate_plan(scenario, plan)
    plan.kpis = {
        "status": STATUS,
        "method": rules if practitioner else "siloed",
        "rules": rules,
        "warehouses": warehouses,
        "review": review,
        "profit": ev["profit"],
        "revenue": ev["revenue"],
        "costs": ev["costs"],
        "salvage": ev["salvage"],
        "objective": ev["profit"],
        "best_bound": None,
        "mip_gap": None,
        "units_sold": ev["units_sold"],
        "potential_demand": ev["potential_demand"],
        "fill_rate": ev["fill_rate"],
        "launched": ev["launched"],
        "build_seconds": round(t1 - t0, 3),
        "solve_seconds": round(t2 - t1, 3),
        "advertising_budget": ads.total_budget,
        "scenario": scenario.name,
    }
    return plan


def _launches_of(d: _Data, plan: Plan) -> np.ndarray:
    tau = np.full(len(d.products), -1, dtype=np.int64)
    index = {p: i for i, p in enumerate(d.products)}
    for p, t in zip(plan.launches["product"], plan.launches["period"], strict=True):
        if str(p) in index and d.is_new[index[str(p)]]:
            tau[index[str(p)]] = int(t)
    return tau


def _ads_of(d: _Data, plan: Plan, active: np.ndarray) -> _Ads:
    """The plan's ad spend per response row, with effective spend and the true Hill uplift."""
    H = d.H
    row_of = {(str(d.products[p]), str(d.channels[c])): q for q, (p, c) in enumerate(zip(d.qp, d.qc, strict=True))}
    spend_all = np.zeros((len(d.qp), H))
    ad = plan.advertising
    for p, c, t, x in zip(ad["product"], ad["channel"], ad["period"], ad["spend"], strict=True):
        q = row_of.get((str(p), str(c)))
        if q is not None and 0 <= int(t) < H:
            spend_all[q, int(t)] += float(x)
    rows = np.flatnonzero(spend_all.sum(axis=1) > 0)
    spend = spend_all[rows]
    effective = np.zeros_like(spend)
    carry = d.q_carry[rows]
    for t in range(H):
        effective[:, t] = spend[:, t] + (carry * effective[:, t - 1] if t > 0 else 0.0)
    uplift = np.zeros_like(spend)
    for i, q in enumerate(rows):
        uplift[i] = hill(effective[i], d.q_max[q], d.q_half[q], d.q_shape[q])
    uplift *= active[d.qp[rows]]
    return _Ads(rows, spend, effective, uplift, float(spend.sum()))


def _featured_of(d: _Data, plan: Plan, active: np.ndarray) -> np.ndarray:
    feat = np.zeros_like(active)
    index = {p: i for i, p in enumerate(d.products)}
    for p, t in zip(plan.featured["product"], plan.featured["period"], strict=True):
        i = index.get(str(p))
        if i is not None and 0 <= int(t) < d.H:
            feat[i, int(t)] = active[i, int(t)]
    return feat


def practitioner_plan(scenario: Scenario, warehouses: str = DEFAULT_WAREHOUSES, review: str = DEFAULT_REVIEW) -> Plan:
    """The practitioner baseline: ``siloed_plan(scenario, rules="practitioner")`` (module docstring).

    ``kpis["method"] == "practitioner"``; everything else as :func:`siloed_plan`.
    """
    return siloed_plan(scenario, warehouses=warehouses, review=review, rules="practitioner")


# ---------------------------------------------------------------------- the comparison


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
