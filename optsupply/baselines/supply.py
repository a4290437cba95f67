"""The supply chain rules of the siloed baselines: where stock goes, when it is ordered, how it ships.

**Supply chain.** The team stocks each product in the warehouses with the
cheapest lanes to its demand and orders up to a forecast plus safety stock on
a periodic review. ``siloed_plan(scenario, warehouses=..., review=...)``
(:func:`optsupply.baselines.siloed.siloed_plan`)
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

With the practitioner rules (:mod:`optsupply.baselines.practitioner`) the same rules run with
z = 0: no safety stock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optsupply.baselines.common import _EPS, _Data

__all__ = ["SAFETY_Z", "WAREHOUSE_RULES", "REVIEW_RULES", "DEFAULT_WAREHOUSES", "DEFAULT_REVIEW"]

SAFETY_Z = 1.65  #: safety factor z of the order-up-to level (about a 95 % cycle service level)
#: supply rules of :func:`optsupply.baselines.siloed.siloed_plan` (module docstring)
WAREHOUSE_RULES = ("per_region", "home_spill", "home")
#: ordering rules of :func:`optsupply.baselines.siloed.siloed_plan`: review every R periods, R from the EOQ, or every period
REVIEW_RULES = ("eoq", "every_period")
DEFAULT_WAREHOUSES = "per_region"  #: default supply rule of :func:`optsupply.baselines.siloed.siloed_plan`
DEFAULT_REVIEW = "eoq"  #: default ordering rule of :func:`optsupply.baselines.siloed.siloed_plan`
_PASSES = 3  # allocation passes per shipping round (requests scaled down by a shared limit get a second go)


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
