"""Plans that cannot exist: inputs that leave no feasible plan, found without a solve.

Run by :func:`optsupply.scenario.checks.check_tables` on a scenario whose
tables have no errors (README "When there is no plan"): must-launch products
that could never be stocked or sold, minimum assortments larger than their
group, launch caps too small for the must-launch windows (Hall's condition),
and receipts that cannot fit in storage or under the inventory value cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optsupply.errors import WARNING, Report
from optsupply.scenario.schema import SCENARIO_FILE, WORKBOOK_SETTINGS_SHEET
from optsupply.scenario.table_checks import CheckContext


def check_feasibility(ctx: CheckContext, settings: dict[str, Any], setting_lines: dict[str, int] | None = None) -> None:
    """Inputs that leave no feasible plan, found without a solve (README "When there is no plan").

    Each check is sound: it reports only what no plan can satisfy (or, for a
    must-launch product, a launch that could never be stocked or sold, which is
    a contradiction in the input). The conflicts that need a solve (launch
    windows against the cap together with minimum assortments, receipts that
    compete for shared capacity, ...) are explained by :mod:`optsupply.optimizer.explain`
    when ``optsupply solve`` finds no plan. Runs only on tables without errors.
    """
    if ctx.H is None or not ctx.usable("products") or ctx.t["products"].empty:
        return
    where = _SettingsWhere(ctx, setting_lines or {})
    _check_must_launch_supply(ctx)
    _check_min_products(ctx)
    _check_must_launch_cap(ctx, settings, where)
    _check_receipts_fit(ctx, settings, where)


class _SettingsWhere:
    """File label and line of a setting, for problems that name one."""

    def __init__(self, ctx: CheckContext, lines: dict[str, int]):
        label = ctx.file("products")
        if label.endswith("]") and "[" in label:  # scenario.xlsx[products] -> scenario.xlsx[scenario]
            self.file = f"{label.split('[')[0]}[{WORKBOOK_SETTINGS_SHEET}]"
        else:
            self.file = SCENARIO_FILE
        self.lines = lines

    def add(self, report: Report, key: str, message: str) -> None:
        report.add(self.file, self.lines.get(key), key, message)


def _new_products(ctx: CheckContext) -> list[tuple[int, str, int, int, bool]]:
    """(position, product, first launch period, last launch period, must_launch) of every new product."""
    p = ctx.t["products"]
    H = int(ctx.H)
    out = []
    names = p["product"].astype(str).tolist()
    status = p["status"].astype(str).tolist()
    must = p["must_launch"].astype(bool).tolist()
    early = p["launch_earliest"].to_numpy(dtype="float64")
    late = p["launch_latest"].to_numpy(dtype="float64")
    for i, name in enumerate(names):
        if status[i] == "new" and name.strip():
            out.append((i, name, max(0, int(early[i])), min(H - 1, int(late[i])), bool(must[i])))
    return out


def _span(lo: int, hi: int) -> str:
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def _g(x: float) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.2f}"


def _check_must_launch_supply(ctx: CheckContext) -> None:
    """A must-launch product needs a warehouse, a lane to its customers and a receipt before its demand ends."""
    must = [x for x in _new_products(ctx) if x[4]]
    if not must or not ctx.usable("supply") or not ctx.usable("lanes"):
        return
    H = int(ctx.H)
    s = ctx.t["supply"]
    whs: dict[str, list[tuple[str, int]]] = {}
    for p, w, lead in zip(s["product"].astype(str), s["warehouse"].astype(str), s["lead_time"].to_numpy(dtype="float64")):
        whs.setdefault(p, []).append((w, int(lead)))
    lanes: dict[str, set[str]] = {}
    for w, r in zip(ctx.t["lanes"]["warehouse"].astype(str), ctx.t["lanes"]["region"].astype(str)):
        lanes.setdefault(w, set()).add(r)
    lc = ctx.t["launch_curve"]
    names = {x[1] for x in must}
    keep = (lc["product"].astype(str).isin(names).to_numpy() & (lc["demand"].to_numpy(dtype="float64") > 0)
            & (lc["age"].to_numpy(dtype="float64") < H))
    ages: dict[str, dict[str, int]] = {}  # product -> region -> last age with demand within the horizon
    if keep.any():
        last_age = pd.DataFrame({"p": lc["product"].astype(str).to_numpy()[keep], "r": lc["region"].astype(str).to_numpy()[keep],
                                 "a": lc["age"].to_numpy(dtype="float64")[keep]}).groupby(["p", "r"])["a"].max()
        for (p, r), a in last_age.items():
            ages.setdefault(p, {})[r] = int(a)
    ads = ctx.t["response"]
    advertised = set(ads["product"].astype(str)[ads["max_uplift"].to_numpy(dtype="float64") > 0])
    first: dict[tuple[str, str], int] = {}  # (product, warehouse) -> first period with stock already on its way
    for p, w, u in zip(ctx.t["initial_stock"]["product"].astype(str), ctx.t["initial_stock"]["warehouse"].astype(str),
                       ctx.t["initial_stock"]["units"].to_numpy(dtype="float64")):
        if u > 0:
            first[p, w] = 0
    pl = ctx.t["pipeline"]
    for p, w, t, u in zip(pl["product"].astype(str), pl["warehouse"].astype(str), pl["period"].to_numpy(dtype="float64"),
                          pl["units"].to_numpy(dtype="float64")):
        if u > 0:
            first[p, w] = min(first.get((p, w), H), int(t))
    supply_file, lanes_file, curve_file = ctx.file("supply"), ctx.file("lanes"), ctx.file("launch_curve")
    for i, name, _lo, hi, _must in must:
        mine = whs.get(name, [])
        if not mine:
            ctx.add("products", i, "must_launch", f"{name} must launch (must_launch = true), but {supply_file} lists "
                    f"no warehouse for {name}: it could be launched but never stocked or sold")
            continue
        regions = set(ages.get(name, {}))
        if not regions:
            continue  # no demand at all: nothing to reach
        reach = [(w, lead) for w, lead in mine if lanes.get(w, set()) & regions]
        if not reach:
            ctx.add("products", i, "must_launch", f"{name} must launch (must_launch = true), but none of its "
                    f"warehouses in {supply_file} ({', '.join(sorted({w for w, _ in mine}))}) has a lane in "
                    f"{lanes_file} to a region where it has demand in {curve_file} ({', '.join(sorted(regions))}): "
                    "it could be launched but never sold")
            continue
        best = None  # (slack, warehouse, earliest receipt, last sale)
        for w, lead in reach:
            arrive = min(lead, first.get((name, w), H))
            last = H - 1 if name in advertised else min(H - 1, hi + max(ages[name][r] for r in lanes[w] & regions))
            if best is None or last - arrive > best[0]:
                best = (last - arrive, w, arrive, last, lead)
        if best[0] < 0:
            _, w, arrive, last, lead = best
            ctx.add("products", i, "must_launch", f"{name} must launch (must_launch = true), but no stock can reach "
                    f"its customers in time: the earliest receipt is in period {arrive} ({w}: lead_time {lead} in "
                    f"{supply_file}) and its demand ends in period {last} (launch_latest {hi} plus the last age "
                    f"with demand in {curve_file})")


def _check_min_products(ctx: CheckContext) -> None:
    """A minimum assortment larger than the group's new products: no member can launch (an error if one must)."""
    new = _new_products(ctx)
    if not new:
        return
    p = ctx.t["products"]
    for kind, table in (("category", "categories"), ("brand", "brands")):
        df = ctx.t[table]
        if df.empty or not ctx.usable(table) or ctx.column_missing("products", kind):
            continue
        group = p[kind].astype(str).tolist()
        members: dict[str, list[tuple[int, str, bool]]] = {}
        for i, name, _lo, _hi, must in new:
            members.setdefault(group[i], []).append((i, name, must))
        for j, (g, mn) in enumerate(zip(df[kind].astype(str), df["min_products"].to_numpy(dtype="float64"))):
            mem = members.get(g, [])
            if not mem or not mn > len(mem):
                continue
            listed = ", ".join(n for _, n, _ in mem)
            forced = [(i, n) for i, n, must in mem if must]
            if forced:
                i, n = forced[0]
                ctx.add(table, j, "min_products", f"min_products of {kind} {g} is {mn:g}, but only {len(mem)} new "
                        f"products have {kind} {g} ({listed}), and {n} must launch ({ctx.file('products')} row "
                        f"{ctx.row('products', i)}): once it launches, {mn:g} of them would have to")
            else:
                ctx.add(table, j, "min_products", f"min_products of {kind} {g} is {mn:g}, but only {len(mem)} new "
                        f"products have {kind} {g} ({listed}): none of them can ever launch", WARNING)


def _check_must_launch_cap(ctx: CheckContext, settings: dict[str, Any], where: _SettingsWhere) -> None:
    """Must-launch products whose windows hold more launches than launch.max_per_period allows (Hall's condition)."""
    cap = settings.get("launch.max_per_period")
    must = [x for x in _new_products(ctx) if x[4]]
    if cap is None or not must:
        return
    lo = np.array([x[2] for x in must])
    hi = np.array([x[3] for x in must])
    best = None  # (excess, a, b)
    for a in sorted(set(lo.tolist())):
        for b in sorted(set(hi.tolist())):
            if b < a:
                continue
            excess = int(((lo >= a) & (hi <= b)).sum()) - int(cap) * (b - a + 1)
            if excess > 0 and (best is None or (excess, a - b) > (best[0], best[1] - best[2])):
                best = (excess, a, b)
    if best is None:
        return
    _, a, b = best
    inside = [x for x in must if a <= x[2] and x[3] <= b]
    listed = ", ".join(f"{n} ({ctx.file('products')} row {ctx.row('products', i)}, window {_span(l, h)})"
                       for i, n, l, h, _ in inside[:8])
    if len(inside) > 8:
        listed += f" and {len(inside) - 8} more"
    allowed = int(cap) * (b - a + 1)
    where.add(ctx.report, "launch.max_per_period",
              f"launch.max_per_period = {int(cap)} allows at most {allowed} launch{'es' * (allowed != 1)} in "
              f"period{'s' * (a != b)} {_span(a, b)}, but {len(inside)} must_launch "
              f"product{'s' * (len(inside) != 1)} can only launch then: {listed}")


def _check_receipts_fit(ctx: CheckContext, settings: dict[str, Any], where: _SettingsWhere) -> None:
    """Initial stock and pipeline receipts that cannot fit in storage_capacity or under max_inventory_value.

    Stock leaves a warehouse only by shipments, which are bounded by the
    demand its lanes reach (with full ad and featured uplift), lane capacity
    and throughput. The stock that stays is at least
    ``L(t) = max(0, L(t-1) + pipeline(t) - most that can leave in t)`` from
    ``L(-1) = initial stock``; orders only add to it.
    """
    init, pipe = ctx.t["initial_stock"], ctx.t["pipeline"]
    if (init.empty and pipe.empty) or not all(ctx.usable(t) for t in ("warehouses", "supply", "lanes")):
        return
    cap_value = settings.get("finance.max_inventory_value")
    wh = ctx.t["warehouses"]
    storage = dict(zip(wh["warehouse"].astype(str), wh["storage_capacity"].to_numpy(dtype="float64")))
    if cap_value is None and all(math.isinf(v) for v in storage.values()):
        return
    got = _receipts(ctx)
    if not got.arriving:
        return
    flow = _Outflow(ctx, {p for p, _ in got.arriving})
    stays: dict[tuple[str, str], np.ndarray] = {}
    leave: dict[tuple[str, str], np.ndarray] = {}
    for (p, w), arr in got.arriving.items():
        out = leave[p, w] = flow.from_warehouse(p, w)
        stays[p, w] = _stock_that_stays(got.initial.get((p, w), 0.0), arr, out)
    wpos = {w: i for i, w in enumerate(wh["warehouse"].astype(str))}
    for w in sorted({w for _, w in got.arriving}, key=wpos.get):
        if not math.isinf(storage[w]):
            _check_storage(ctx, w, wpos[w], storage[w], got, flow, stays, leave)
    if cap_value is not None:
        _check_inventory_value(ctx, where, cap_value, got, flow, stays, leave)


@dataclass
class _Receipts:
    """Initial stock and pipeline receipts with units, by (product, warehouse)."""

    arriving: dict[tuple[str, str], np.ndarray]  # units arriving in each period (initial stock kept apart)
    initial: dict[tuple[str, str], float]  # initial stock
    rows: dict[tuple[str, str], list[tuple[int, str, float]]]  # (period, "file row N", units); -1: initial stock


def _receipts(ctx: CheckContext) -> _Receipts:
    """The receipts of ``initial_stock`` and ``pipeline`` with units, and the rows they come from."""
    H = int(ctx.H)
    init, pipe = ctx.t["initial_stock"], ctx.t["pipeline"]
    got = _Receipts({}, {}, {})
    for i, (p, w, u) in enumerate(zip(init["product"].astype(str), init["warehouse"].astype(str),
                                      init["units"].to_numpy(dtype="float64"))):
        if u > 0:
            got.initial[p, w] = got.initial.get((p, w), 0.0) + u
            got.arriving.setdefault((p, w), np.zeros(H))
            got.rows.setdefault((p, w), []).append((-1, f"{ctx.file('initial_stock')} row {ctx.row('initial_stock', i)}", u))
    for i, (p, w, t, u) in enumerate(zip(pipe["product"].astype(str), pipe["warehouse"].astype(str),
                                         pipe["period"].to_numpy(dtype="float64"), pipe["units"].to_numpy(dtype="float64"))):
        if u > 0:
            got.arriving.setdefault((p, w), np.zeros(H))[int(t)] += u
            got.rows.setdefault((p, w), []).append((int(t), f"{ctx.file('pipeline')} row {ctx.row('pipeline', i)}", u))
    return got


class _Outflow:
    """The most units of a product that can leave a warehouse, or reach its customers, in each period."""

    def __init__(self, ctx: CheckContext, prods: set[str]):
        self.H = int(ctx.H)
        wh = ctx.t["warehouses"]
        self.throughput = dict(zip(wh["warehouse"].astype(str), wh["throughput_capacity"].to_numpy(dtype="float64")))
        pr = ctx.t["products"]
        self.attr = {c: dict(zip(pr["product"].astype(str), pr[c].to_numpy(dtype="float64")))
                     for c in ("volume", "unit_cost", "featured_lift")}
        self.lanes: dict[str, list[tuple[str, float]]] = {}
        for w, r, c in zip(ctx.t["lanes"]["warehouse"].astype(str), ctx.t["lanes"]["region"].astype(str),
                           ctx.t["lanes"]["capacity"].to_numpy(dtype="float64")):
            self.lanes.setdefault(w, []).append((r, c))
        # (p, r) -> most base demand per period; uplift
        self.most, self.ad, self.ad_from, self.ad_regions = _most_demand(ctx, prods)

    def lane_total(self, w: str) -> float:
        """The capacity of all of ``w``'s lanes together."""
        return sum(c for _, c in self.lanes.get(w, []))

    def demand_reached(self, p: str, regions: list[str]) -> np.ndarray:
        """Most units of ``p`` its customers in ``regions`` take in each period (with featured and ad uplift)."""
        out = np.zeros(self.H)
        for r in regions:
            if (p, r) in self.most:
                out += self.most[p, r]
        out *= 1.0 + self.attr["featured_lift"][p]
        if self.ad.get(p, 0.0) > 0 and self.ad_regions.get(p, set()) & set(regions):
            out[self.ad_from.get(p, 0):] += self.ad[p]
        return out

    def from_warehouse(self, p: str, w: str) -> np.ndarray:
        """Most units of ``p`` that can leave ``w`` in each period."""
        out = self.demand_reached(p, [r for r, _ in self.lanes.get(w, [])])
        vol = self.attr["volume"][p]
        if vol > 0:
            out = np.minimum(out, min(self.throughput[w], self.lane_total(w)) / vol)
        return out


def _stock_that_stays(level: float, arriving: np.ndarray, leaving: np.ndarray) -> np.ndarray:
    """The least stock on hand at the end of each period: ``L(t) = max(0, L(t-1) + arriving(t) - leaving(t))``."""
    low = np.zeros(len(arriving))
    for t in range(len(arriving)):
        level = max(0.0, level + arriving[t] - leaving[t])
        low[t] = level
    return low


def _check_storage(ctx: CheckContext, w: str, row: int, cap: float, got: _Receipts, flow: _Outflow,
                   stays: dict[tuple[str, str], np.ndarray], leave: dict[tuple[str, str], np.ndarray]) -> None:
    """The receipts into warehouse ``w`` (at position ``row``) that cannot fit in its storage_capacity ``cap``."""
    mine = [(p, ww) for p, ww in got.arriving if ww == w]
    vol = {p: flow.attr["volume"][p] for p, _ in mine}
    low = sum(vol[p] * stays[p, w] for p, _ in mine)
    # the warehouse as a whole: at most throughput (and its lanes) leave per period, whatever the product
    out_all = np.minimum(sum(vol[p] * leave[p, w] for p, _ in mine), min(flow.throughput[w], flow.lane_total(w)))
    arriving = sum(vol[p] * got.arriving[p, w] for p, _ in mine)
    agg = _stock_that_stays(sum(vol[p] * got.initial.get((p, w), 0.0) for p, _ in mine), arriving, out_all)
    low = np.maximum(low, agg)
    over = np.flatnonzero(low > cap + 1e-6 * max(1.0, cap))
    if not len(over):
        return
    t = int(over[0])
    inflow = sum(vol[p] * (got.initial.get((p, w), 0.0) + got.arriving[p, w][: t + 1].sum()) for p, _ in mine)
    listed = _receipt_listing(got.rows, mine, t)
    shown = sorted({p for p, _ in mine if (p, w) in got.initial or got.arriving[p, w][: t + 1].any()})
    vols = ", ".join(f"{p} {_g(vol[p])}" for p in shown[:4]) + (f" and {len(shown) - 4} more" * (len(shown) > 4))
    ctx.add("warehouses", row, "storage_capacity",
            f"storage_capacity of {w} is {_g(cap)}, but initial_stock and pipeline bring {_g(inflow)} (volume, "
            f"with products.csv volume per unit {vols}) "
            f"into {w} by the end of period {t} ({listed}) and at most {_g(inflow - low[t])} of it can leave "
            f"by then (its lanes, demand and throughput_capacity): at least {_g(low[t])} stays, "
            f"{_g(low[t] - cap)} over capacity")


def _check_inventory_value(ctx: CheckContext, where: _SettingsWhere, cap_value: float, got: _Receipts,
                           flow: _Outflow, stays: dict[tuple[str, str], np.ndarray],
                           leave: dict[tuple[str, str], np.ndarray]) -> None:
    """Receipts worth more than finance.max_inventory_value on hand, where they cannot be sold in time."""
    uc = flow.attr["unit_cost"]
    # a product as a whole sells at most its demand in the regions its warehouses reach, whichever ships it
    by_p: dict[str, list[str]] = {}
    for p, w in got.arriving:
        by_p.setdefault(p, []).append(w)
    value = np.zeros(flow.H)
    for p, ws in by_p.items():
        per_w = sum(stays[p, w] for w in ws)
        regions = sorted({r for w in ws for r, _ in flow.lanes.get(w, [])})
        out = np.minimum(flow.demand_reached(p, regions), sum(leave[p, w] for w in ws))
        low = _stock_that_stays(sum(got.initial.get((p, w), 0.0) for w in ws), sum(got.arriving[p, w] for w in ws), out)
        value += uc[p] * np.maximum(per_w, low)
    over = np.flatnonzero(value > cap_value + 1e-6 * max(1.0, cap_value))
    if not len(over):
        return
    t = int(over[0])
    listed = _receipt_listing(got.rows, list(got.arriving), t)
    where.add(ctx.report, "finance.max_inventory_value",
              f"finance.max_inventory_value is {_g(cap_value)}, but initial_stock and pipeline put stock worth at "
              f"least {_g(value[t])} on hand at the end of period {t} that cannot be sold by then ({listed}): "
              f"{_g(value[t] - cap_value)} over the cap")


def _receipt_listing(rows: dict[tuple[str, str], list[tuple[int, str, float]]], keys: list[tuple[str, str]],
                     until: int, limit: int = 4) -> str:
    """``pipeline.csv row 2: 80 units of P1 in W1 in period 2; ...`` for the receipts up to ``until``."""
    items = sorted((t, where, u, p, w) for (p, w) in keys for (t, where, u) in rows.get((p, w), []) if t <= until)
    text = "; ".join(f"{where}: {_g(u)} units of {p} in {w}" + (" at the start" if t < 0 else f" in period {t}")
                     for t, where, u, p, w in items[:limit])
    return text + (f"; and {len(items) - limit} more rows" if len(items) > limit else "")


def _most_demand(ctx: CheckContext, prods: set[str]) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, float],
                                                       dict[str, int], dict[str, set[str]]]:
    """Most base demand of each product in each region and period, under any launch period.

    Active products: demand.csv. New products: the largest launch-curve demand any
    launch period in the window gives, times seasonality. Also each product's total
    max_uplift, the first period it can have uplift and the regions its uplift goes to
    (those with a positive demand or launch-curve row, as the model's shares).
    """
    H = int(ctx.H)
    pr = ctx.t["products"]
    info = {n: (s, c, e, la) for n, s, c, e, la in zip(
        pr["product"].astype(str), pr["status"].astype(str), pr["category"].astype(str),
        pr["launch_earliest"].to_numpy(dtype="float64"), pr["launch_latest"].to_numpy(dtype="float64")) if n in prods}
    out: dict[tuple[str, str], np.ndarray] = {}
    season: dict[str, np.ndarray] = {}
    se = ctx.t["seasonality"]
    for c, t, v in zip(se["category"].astype(str), se["period"].to_numpy(dtype="float64"), se["index"].to_numpy(dtype="float64")):
        if 0 <= t < H:
            season.setdefault(c, np.ones(H))[int(t)] = v
    ad_regions: dict[str, set[str]] = {}  # regions with a share of the product's ad uplift (any positive row)
    status = {p: v[0] for p, v in info.items()}
    for table, col, kind in (("demand", "period", "active"), ("launch_curve", "age", "new")):
        df = ctx.t[table]
        if df.empty:
            continue
        prod = df["product"].astype(str).to_numpy(dtype=object)
        val = df["demand"].to_numpy(dtype="float64")
        keep = df["product"].astype(str).isin({p for p, s in status.items() if s == kind}).to_numpy() & (val > 0)
        if not keep.any():
            continue
        pc, pu = pd.factorize(prod[keep])
        rc, ru = pd.factorize(df["region"].astype(str).to_numpy(dtype=object)[keep])
        pair_codes, codes = np.unique(pc.astype(np.int64) * len(ru) + rc, return_inverse=True)
        uniques = [(pu[k // len(ru)], ru[k % len(ru)]) for k in pair_codes.tolist()]
        for p, r in uniques:
            ad_regions.setdefault(p, set()).add(r)
        when = df[col].to_numpy(dtype="float64")[keep]
        inside = (when >= 0) & (when < H)
        mat = np.zeros((len(uniques), H))
        np.add.at(mat, (codes[inside], when[inside].astype(np.int64)), val[keep][inside])
        if kind == "active":
            out.update({(p, r): mat[i] for i, (p, r) in enumerate(uniques)})
            continue
        # new products: the most any launch period τ in [lo, hi] gives at t, curve[t - τ] · season[t]
        lo = np.array([max(0, int(info[p][2])) for p, _ in uniques])
        hi = np.array([min(H - 1, int(info[p][3])) for p, _ in uniques])
        idx = np.arange(H)
        best = np.zeros((len(uniques), H))
        for t in range(H):
            ok = (idx[None, :] >= (t - np.minimum(hi, t))[:, None]) & (idx[None, :] <= (t - lo)[:, None])
            best[:, t] = np.where(ok, mat, 0.0).max(axis=1)
        for i, (p, r) in enumerate(uniques):
            cat = info[p][1]
            out[p, r] = best[i] * season[cat] if cat in season else best[i]
    ad: dict[str, float] = {}
    rs = ctx.t["response"]
    for p, u in zip(rs["product"].astype(str), rs["max_uplift"].to_numpy(dtype="float64")):
        if p in prods and u > 0:
            ad[p] = ad.get(p, 0.0) + u
    ad_from = {p: max(0, int(v[2])) for p, v in info.items() if v[0] == "new"}
    return out, ad, ad_from, ad_regions
