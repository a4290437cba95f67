"""What the naive and the practitioner rules share: the scenario as arrays and the common rule steps.

:class:`_Data` holds the scenario as dense numpy arrays (:func:`_prepare`). The steps both rule
sets take are here once: the forecast margins of a launch and its first two steps (must_launch
products, then every product worth launching on its own; :func:`_launch_periods_individual`),
topping up and dropping the categories and brands below their minimum assortment, the base
demand under a set of launches, the channel budget cap and the true-curve uplift of a spend,
and handing out the featured slots by a score.

*Forecast* in the rules means the scenario's base demand (demand.csv, or launch_curve.csv ×
seasonality from the launch period on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optsupply.curves import hill
from optsupply.errors import OptsupplyError
from optsupply.scenario.core import Scenario

_EPS = 1e-9  # quantities below this are zero


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
    """The scenario's tables as the arrays of :class:`_Data`."""
    H = sc.periods
    prod = sc.products
    products = _ids(prod["product"])
    pidx = pd.Index(products)
    wh = sc.warehouses
    warehouses = _ids(wh["warehouse"])
    widx = pd.Index(warehouses)
    regions = np.array(sorted(set(_ids(sc.demand["region"])) | set(_ids(sc.launch_curve["region"]))
                              | set(_ids(sc.lanes["region"]))), dtype=object)
    ridx = pd.Index(regions)
    is_new = (prod["status"].astype(str) == "new").to_numpy()

    def floats(col: str) -> np.ndarray:
        return prod[col].to_numpy(dtype="float64")

    base_active, sd_active = _over_time(sc.demand, "period", pidx, ridx, is_new, False, H)
    curve, curve_sd = _over_time(sc.launch_curve, "age", pidx, ridx, is_new, True, H)
    category = _ids(prod["category"])
    sup = sc.supply
    kp = pidx.get_indexer(_ids(sup["product"]))
    kw = widx.get_indexer(_ids(sup["warehouse"]))
    initial, pipeline = _stock_per_pair(sc, pidx, widx, kp, kw)
    ln = sc.lanes
    lw = widx.get_indexer(_ids(ln["warehouse"]))
    lr = ridx.get_indexer(_ids(ln["region"]))
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
        base_active=base_active, sd_active=sd_active, curve=curve, curve_sd=curve_sd,
        season=_seasonality(sc.seasonality, category, H), share=_regional_shares(sc, pidx, ridx, is_new),
        kp=kp, kw=kw, lead=sup["lead_time"].to_numpy(dtype="int64"),
        order_cost=sup["order_cost"].to_numpy(dtype="float64"),
        min_order=sup["min_order"].to_numpy(dtype="float64"), max_order=sup["max_order"].to_numpy(dtype="float64"),
        initial=initial, pipeline=pipeline,
        lane_of={(int(w), int(r)): i for i, (w, r) in enumerate(zip(lw, lr, strict=True))},
        lane_cost=ln["cost_per_unit"].to_numpy(dtype="float64"),
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


def _rows_of(table: pd.DataFrame, pidx: pd.Index, ridx: pd.Index, is_new: np.ndarray,
             new: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Product and region index of every row of a demand table, and which rows are of known products
    that are new (``new``) or active (not ``new``)."""
    p = pidx.get_indexer(_ids(table["product"]))
    r = ridx.get_indexer(_ids(table["region"]))
    return p, r, (p >= 0) & (is_new[np.maximum(p, 0)] == new)


def _over_time(table: pd.DataFrame, time: str, pidx: pd.Index, ridx: pd.Index, is_new: np.ndarray, new: bool,
               H: int) -> tuple[np.ndarray, np.ndarray]:
    """P×R×T demand and demand_sd (0 where absent) of demand.csv (by period, active products) or
    launch_curve.csv (by age, new products), times beyond the horizon left out."""
    demand = np.zeros((len(pidx), len(ridx), H))
    sd = np.zeros((len(pidx), len(ridx), H))
    if not table.empty:
        p, r, ok = _rows_of(table, pidx, ridx, is_new, new)
        t = table[time].to_numpy(dtype="int64")
        ok &= (t >= 0) & (t < H)
        demand[p[ok], r[ok], t[ok]] = table["demand"].to_numpy(dtype="float64")[ok]
        sd[p[ok], r[ok], t[ok]] = np.nan_to_num(table["demand_sd"].to_numpy(dtype="float64")[ok])
    return demand, sd


def _regional_shares(sc: Scenario, pidx: pd.Index, ridx: pd.Index, is_new: np.ndarray) -> np.ndarray:
    """P×R: each region's share of a product's demand, from the totals per region of demand.csv
    (active products) or launch_curve.csv (new products, every age)."""
    totals = np.zeros((len(pidx), len(ridx)))
    for table, new_rows in ((sc.demand, False), (sc.launch_curve, True)):
        if table.empty:
            continue
        p, r, ok = _rows_of(table, pidx, ridx, is_new, new_rows)
        np.add.at(totals, (p[ok], r[ok]), table["demand"].to_numpy(dtype="float64")[ok])
    per_product = totals.sum(axis=1, keepdims=True)
    return np.divide(totals, per_product, out=np.zeros_like(totals), where=per_product > 0)


def _seasonality(ss: pd.DataFrame, category: np.ndarray, H: int) -> np.ndarray:
    """P×T: the seasonality index of each product's category (1 where none is given)."""
    season = np.ones((len(category), H))
    if not ss.empty:
        index: dict[str, np.ndarray] = {}
        for c, t, i in zip(_ids(ss["category"]), ss["period"].to_numpy(dtype="int64"),
                           ss["index"].to_numpy(dtype="float64"), strict=True):
            if 0 <= t < H:
                index.setdefault(c, np.ones(H))[t] = i
        for i, c in enumerate(category):
            if c in index:
                season[i] = index[c]
    return season


def _stock_per_pair(sc: Scenario, pidx: pd.Index, widx: pd.Index, kp: np.ndarray,
                    kw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Initial stock (K) and pipeline arrivals (K×T) of every supply pair k = (product, warehouse)."""
    H = sc.periods
    pair_idx = {(int(p), int(w)): k for k, (p, w) in enumerate(zip(kp, kw, strict=True))}

    def pairs(table: pd.DataFrame) -> list[tuple[int, int, float]]:
        """(row, pair, units) of the rows of ``table`` whose (product, warehouse) is a supply pair."""
        out = []
        for i, (p, w, u) in enumerate(zip(_ids(table["product"]), _ids(table["warehouse"]),
                                          table["units"].to_numpy(dtype="float64"), strict=True)):
            k = pair_idx.get((int(pidx.get_loc(p)), int(widx.get_loc(w))))
            if k is not None:
                out.append((i, k, u))
        return out

    initial = np.zeros(len(kp))
    for _, k, u in pairs(sc.initial_stock):
        initial[k] += u
    pipeline = np.zeros((len(kp), H))
    periods = sc.pipeline["period"].to_numpy(dtype="int64")
    for i, k, u in pairs(sc.pipeline):
        if 0 <= periods[i] < H:
            pipeline[k, periods[i]] += u
    return initial, pipeline


# ---------------------------------------------------------------------- launch team


def _forecast_margins(d: _Data) -> np.ndarray:
    """P×T: (price − unit_cost) × forecast demand over τ … H−1 if launched at τ (0 for active products)."""
    H = d.H
    by_age = d.curve.sum(axis=1)  # P×T
    units = np.zeros((len(d.products), H))
    for tau in range(H):
        units[:, tau] = (by_age[:, : H - tau] * d.season[:, tau:]).sum(axis=1)
    return (d.price - d.unit_cost)[:, None] * units


def _launch_values(d: _Data) -> np.ndarray:
    """P×T: forecast margin − launch_cost if launched at τ."""
    return _forecast_margins(d) - d.launch_cost[:, None]


def _launch_limit(d: _Data) -> int:
    """Launches allowed per period (launch.max_per_period; more than there are products when unset)."""
    return d.max_per_period if d.max_per_period is not None else len(d.products) + 1


def _launch_periods_individual(d: _Data, limit: int, net: np.ndarray) -> np.ndarray:
    """Steps 1 and 2 of the launch rule: must_launch products, then every product worth launching on its own.

    ``net`` is :func:`_launch_values`; at most ``limit`` launches per period.
    """
    H, P = d.H, len(d.products)
    count = np.zeros(H, dtype=np.int64)
    tau = np.full(P, -1, dtype=np.int64)
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


def _top_up(d: _Data, tau: np.ndarray, members: list[int], need: int, net: np.ndarray, used: np.ndarray,
            limit: int) -> list[int]:
    """Launch a group's best members not launched until ``need`` of its members are, and return them.

    Best: highest forecast margin − launch cost at the earliest period (``net``; ties by product
    order); each at the first period of its window with room (``used`` < ``limit`` launches).
    ``tau`` and ``used`` change in place.
    """
    have = int((tau[members] >= 0).sum())
    added: list[int] = []
    for p in sorted((p for p in members if tau[p] < 0), key=lambda p: (-net[p, d.lo[p]], p)):
        if have + len(added) >= need:
            break
        for t in range(d.lo[p], d.hi[p] + 1):
            if used[t] < limit:
                tau[p] = t
                used[t] += 1
                added.append(p)
                break
    return added


def _drop_short_groups(d: _Data, tau: np.ndarray, groups: list[tuple[list[int], int, float]]) -> None:
    """Drop (in ``tau``) the optional members of every group that launches some but fewer than its minimum,
    until none does (a group whose launched members must all launch stays as it is)."""
    changed = True
    while changed:
        changed = False
        for members, need, _cost in groups:
            have = [p for p in members if tau[p] >= 0]
            if 0 < len(have) < need:
                for p in have:
                    if not d.must[p]:
                        tau[p] = -1
                        changed = True


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
@dataclass
class _Ads:
    """A marketing rule's spend per advertised response row and period, with its effective spend and uplift."""

    rows: np.ndarray  # response rows advertised
    spend: np.ndarray  # rows × T
    effective: np.ndarray
    uplift: np.ndarray
    total_budget: float


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
