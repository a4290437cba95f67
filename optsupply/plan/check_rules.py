"""The rules of the model (SPEC §3), each checked on the plan tables: one function per family.

Part of the independent plan checker (:mod:`optsupply.plan.check`, which runs
them in the order of its ``_CHECKS``). Each rule reads the cleaned tables and
the derived quantities from the context and records one plain-language
sentence per violation with ``ctx.add``; none of them stops the others. The
KPI rules (status, profit and its parts, the MIP gap) are in
:mod:`optsupply.plan.evaluate`, next to the profit they compare with.
"""

from __future__ import annotations

import math

from optsupply.plan.check_derive import (
    base_demand,
    effective_spend,
    inactive_rows,
    lane_volumes,
    lead_times,
    new_products,
    orders_with_receipt,
    product_status,
    region_shares,
    sales_rows,
    shipped_volume,
    stock_trajectory,
    why_inactive,
)
from optsupply.plan.check_tables import (
    Ctx,
    differs,
    exceeds,
    fmt,
    lookup,
    outer_merge,
    pair_set,
    sum_by,
)

# ---------------------------------------------------------------------- checks: launches


def check_launches(ctx: Ctx) -> None:
    """Only new products, at most once, inside their window; must_launch; launch.max_per_period."""
    launches = ctx.tables["launches"]
    products = ctx.products
    for row in launches.itertuples(index=False):
        if product_status(ctx, row.product) != "new":
            ctx.add(f"{row.product} is an active product but is launched in period {row.period}; "
                    f"only new products launch")
    new_rows = launches[launches["product"].isin(new_products(ctx))]
    for product, periods in new_rows.groupby("product")["period"]:
        if len(periods) > 1:
            listed = ", ".join(str(t) for t in sorted(periods))
            ctx.add(f"{product} is launched {len(periods)} times (periods {listed}); a product launches at most once")
        lo, hi = int(products.at[product, "launch_earliest"]), int(products.at[product, "launch_latest"])
        for t in sorted(set(periods)):
            if not lo <= t <= hi:
                ctx.add(f"launch of {product} in period {t} is outside its launch window {lo} … {hi}")
    must = products.index[(products["status"] == "new") & products["must_launch"].astype(bool)]
    for product in must:
        if product not in ctx.launch_period:
            ctx.add(f"{product} must launch (must_launch) but the plan never launches it")
    limit = ctx.sc.settings.get("launch.max_per_period")
    if limit is not None:
        per_period = new_rows.drop_duplicates().groupby("period")["product"].apply(sorted)
        for t, names in per_period.items():
            if len(names) > limit:
                ctx.add(f"{len(names)} launches in period {t} ({', '.join(names)}), more than "
                        f"launch.max_per_period = {limit}")


def check_min_products(ctx: Ctx) -> None:
    """Categories and brands with min_products: if any product launches, at least min_products launch."""
    launched = list(ctx.launch_period)
    for level, table in (("category", ctx.t["categories"]), ("brand", ctx.t["brands"])):
        minimum = {k: int(v) for k, v in lookup(table, [level], "min_products").items()}
        owner = ctx.products[level]
        for group, need in minimum.items():
            members = sorted(p for p in launched if owner.at[p] == group)
            if 0 < len(members) < need:
                ctx.add(f"{level} {group} launches {len(members)} product(s) ({', '.join(members)}) but needs at "
                        f"least {need} (min_products) once any of its products launches")


# ---------------------------------------------------------------------- checks: demand and sales


def check_base_demand(ctx: Ctx) -> None:
    """sales.base_demand equals the forecast under the plan's launches (rows missing on either side are 0)."""
    keys = ["product", "region", "period"]
    rows = outer_merge(ctx.cached("base", base_demand), ctx.tables["sales"][keys + ["base_demand"]], keys)
    bad = rows[differs(rows["base_demand"], rows["base"], ctx.tol)]
    for r in bad.itertuples(index=False):
        if product_status(ctx, r.product) == "new":
            tau = ctx.launch_period.get(r.product)
            basis = "it is never launched" if tau is None else f"launched in period {tau}, age {r.period - tau}"
        else:
            basis = "demand.csv"
        ctx.add(f"base demand of {r.product} in {r.region} in period {r.period} is {fmt(r.base_demand)} in the "
                f"sales table, but the forecast gives {fmt(r.base)} ({basis})")


def check_inactive(ctx: Ctx) -> None:
    """Nothing is sold, shipped, uplifted or featured while a new product is not active."""
    tol = ctx.tol
    sales = ctx.tables["sales"]
    moving = sales[(sales["sales"] > tol) | (sales["ad_uplift"] > tol) | (sales["featured_uplift"] > tol)]
    for r in moving[inactive_rows(ctx, moving)].itertuples(index=False):
        ctx.add(f"{r.product} has sales {fmt(r.sales)}, ad uplift {fmt(r.ad_uplift)} and featured uplift "
                f"{fmt(r.featured_uplift)} in {r.region} in period {r.period} while not active "
                f"({why_inactive(ctx, r.product)}): nothing is sold before launch")
    ship = ctx.tables["shipments"]
    ship = ship[ship["units"] > tol]
    for r in ship[inactive_rows(ctx, ship)].itertuples(index=False):
        ctx.add(f"{r.product} is shipped from {r.warehouse} to {r.region} in period {r.period} while not active "
                f"({why_inactive(ctx, r.product)}): nothing is sold before launch")
    ads = ctx.tables["advertising"]
    ads = ads[ads["uplift"] > tol]
    for r in ads[inactive_rows(ctx, ads)].itertuples(index=False):
        ctx.add(f"advertising uplift of {r.product} on {r.channel} in period {r.period} is {fmt(r.uplift)} while "
                f"the product is not active ({why_inactive(ctx, r.product)}); it must be 0")
    featured = ctx.tables["featured"]
    for r in featured[inactive_rows(ctx, featured)].itertuples(index=False):
        ctx.add(f"{r.product} is featured in period {r.period} while not active ({why_inactive(ctx, r.product)})")


def check_featured_uplift(ctx: Ctx) -> None:
    """featured_uplift ≤ featured_lift · base demand, and only while the product is featured."""
    keys = ["product", "region", "period"]
    rows = ctx.tables["sales"][keys + ["featured_uplift"]]
    rows = rows[rows["featured_uplift"] > ctx.tol].merge(ctx.cached("base", base_demand), on=keys, how="left")
    rows["base"] = rows["base"].fillna(0.0)
    featured = set(zip(ctx.tables["featured"]["product"], ctx.tables["featured"]["period"]))
    lift = rows["product"].map(ctx.products["featured_lift"]).astype("float64")
    cap = lift * rows["base"]
    too_high = exceeds(rows["featured_uplift"], cap, ctx.tol)
    for r, c, high in zip(rows.itertuples(index=False), cap, too_high):
        if (r.product, r.period) not in featured:
            ctx.add(f"featured uplift of {r.product} in {r.region} in period {r.period} is {fmt(r.featured_uplift)}, "
                    f"but {r.product} is not featured in period {r.period}")
        elif high:
            ctx.add(f"featured uplift of {r.product} in {r.region} in period {r.period} is {fmt(r.featured_uplift)}, "
                    f"above featured_lift × base demand = {fmt(c)}")


def check_ad_uplift_split(ctx: Ctx) -> None:
    """sales.ad_uplift(p, r, t) = share(p, r) · Σ_c advertising.uplift(p, c, t)."""
    keys = ["product", "region", "period"]
    total = sum_by(ctx.tables["advertising"], ["product", "period"], "uplift", "total")
    expected = total.merge(ctx.cached("shares", region_shares), on="product", how="inner")
    expected["expected"] = expected["share"] * expected["total"]
    rows = outer_merge(expected[keys + ["expected", "share", "total"]], ctx.tables["sales"][keys + ["ad_uplift"]], keys)
    for r in rows[differs(rows["ad_uplift"], rows["expected"], ctx.tol)].itertuples(index=False):
        ctx.add(f"ad uplift of {r.product} in {r.region} in period {r.period} is {fmt(r.ad_uplift)} in the sales "
                f"table, but the region's share {fmt(r.share)} of the advertising uplift {fmt(r.total)} is "
                f"{fmt(r.expected)}")


def check_sales_identities(ctx: Ctx) -> None:
    """potential = base + ad + featured, sales ≤ potential, lost = potential − sales, sales = Σ_w shipments."""
    tol = ctx.tol
    sales = ctx.tables["sales"]
    parts = sales["base_demand"] + sales["ad_uplift"] + sales["featured_uplift"]
    bad = differs(sales["potential_demand"], parts, tol)
    for r, p in zip(sales[bad].itertuples(index=False), parts[bad]):
        ctx.add(f"potential demand of {r.product} in {r.region} in period {r.period} is {fmt(r.potential_demand)}, "
                f"but base + ad uplift + featured uplift = {fmt(p)}")
    for r in sales[exceeds(sales["sales"], sales["potential_demand"], tol)].itertuples(index=False):
        ctx.add(f"sales of {r.product} in {r.region} in period {r.period} are {fmt(r.sales)}, above the potential "
                f"demand {fmt(r.potential_demand)}")
    gap = sales["potential_demand"] - sales["sales"]
    bad = differs(sales["lost"], gap, tol)
    for r, g in zip(sales[bad].itertuples(index=False), gap[bad]):
        ctx.add(f"lost sales of {r.product} in {r.region} in period {r.period} are {fmt(r.lost)}, but potential "
                f"demand − sales = {fmt(g)}")
    keys = ["product", "region", "period"]
    rows = outer_merge(sales[keys + ["sales"]], sum_by(ctx.tables["shipments"], keys, "units", "shipped"), keys)
    for r in rows[differs(rows["sales"], rows["shipped"], tol)].itertuples(index=False):
        ctx.add(f"sales of {r.product} in {r.region} in period {r.period} are {fmt(r.sales)}, but shipments to "
                f"{r.region} total {fmt(r.shipped)}; sales happen where and when units are shipped")


def check_potential_covers_sales(ctx: Ctx) -> None:
    """Shipped units never exceed the potential demand the plan can count on (also when the sales table is wrong)."""
    rows = ctx.cached("sales_rows", sales_rows)
    reported = set(zip(ctx.tables["sales"]["product"], ctx.tables["sales"]["region"], ctx.tables["sales"]["period"]))
    over = rows[exceeds(rows["sold"], rows["potential"], ctx.tol)]
    for r in over.itertuples(index=False):
        if (r.product, r.region, r.period) in reported:
            continue  # reported by the sales-table identities already
        ctx.add(f"{fmt(r.sold)} units of {r.product} are shipped to {r.region} in period {r.period}, above its "
                f"potential demand {fmt(r.potential)}")


# ---------------------------------------------------------------------- checks: featured slots and advertising


def check_featured_slots(ctx: Ctx) -> None:
    """At most slots(t) products featured per period (periods absent from slots.csv have none)."""
    slots = {int(k): int(v) for k, v in lookup(ctx.t["slots"], ["period"], "slots").items()}
    featured = ctx.tables["featured"].drop_duplicates()
    for t, names in featured.groupby("period")["product"].apply(sorted).items():
        if len(names) > slots.get(int(t), 0):
            ctx.add(f"period {t} features {len(names)} product(s) ({', '.join(names)}), more than its "
                    f"{slots.get(int(t), 0)} featured slot(s)")


def check_advertising(ctx: Ctx) -> None:
    """Response pairs, effective spend = adstock of spend, uplift ≤ the true Hill curve, budgets."""
    tol = ctx.tol
    ads = ctx.tables["advertising"]
    pairs = pair_set(ctx.t["response"], "product", "channel")
    for p, c in ads[["product", "channel"]].drop_duplicates().itertuples(index=False):
        if (p, c) not in pairs:
            ctx.add(f"{p} is advertised on {c}, but response.csv has no response of {p} to {c}")
    keys = ["product", "channel", "period"]
    rows = outer_merge(ctx.cached("adstock", effective_spend), ads[keys + ["effective_spend", "uplift"]], keys)
    for r in rows[differs(rows["effective_spend"], rows["effective"], tol)].itertuples(index=False):
        ctx.add(f"effective spend of {r.product} on {r.channel} in period {r.period} is {fmt(r.effective_spend)}, "
                f"but its spend with carryover {fmt(r.carryover)} gives {fmt(r.effective)}")
    for r in rows[exceeds(rows["uplift"], rows["curve"], tol)].itertuples(index=False):
        ctx.add(f"advertising uplift of {r.product} on {r.channel} in period {r.period} is {fmt(r.uplift)}, above "
                f"the response curve max_uplift·e^s/(e^s+k^s) = {fmt(r.curve)} at effective spend {fmt(r.effective)}")
    budget = {str(k): float(v) for k, v in lookup(ctx.t["channels"], ["channel"], "budget").items()}
    per_channel = sum_by(ads, ["channel", "period"], "spend")
    per_channel["budget"] = [budget.get(c, math.inf) for c in per_channel["channel"]]
    for r in per_channel[exceeds(per_channel["spend"], per_channel["budget"], tol)].itertuples(index=False):
        ctx.add(f"channel {r.channel} spends {fmt(r.spend)} in period {r.period}, over its per-period budget "
                f"{fmt(r.budget)}")
    total_budget = ctx.sc.settings.get("advertising.total_budget")
    total = float(ads["spend"].sum())
    if total_budget is not None and exceeds(total, total_budget, tol):
        ctx.add(f"total advertising spend {fmt(total)} exceeds advertising.total_budget {fmt(total_budget)}")


# ---------------------------------------------------------------------- checks: orders and stock


def check_orders(ctx: Ctx) -> None:
    """Supply pairs only, arrival = period + lead time within the horizon, min_order ≤ units ≤ max_order."""
    tol, H = ctx.tol, ctx.H
    lead = lead_times(ctx)
    low = lookup(ctx.t["supply"], ["product", "warehouse"], "min_order")
    high = lookup(ctx.t["supply"], ["product", "warehouse"], "max_order")
    for r in orders_with_receipt(ctx).itertuples(index=False):
        what = f"order of {r.product} at {r.warehouse} placed in period {r.period}"
        pair = (r.product, r.warehouse)
        if pair not in lead:
            ctx.add(f"{what}: supply.csv has no row for {r.product} in {r.warehouse}, so it cannot be stocked there")
        elif r.arrival != r.receipt:
            ctx.add(f"{what} says it arrives in period {r.arrival}, but with lead time {lead[pair]} it arrives in "
                    f"period {r.receipt}")
        if r.receipt > H - 1:
            ctx.add(f"{what} arrives in period {r.receipt}, after the horizon (last period {H - 1})")
        if pair in lead and exceeds(low[pair], r.units, tol):
            ctx.add(f"{what} is for {fmt(r.units)} units, below min_order {fmt(low[pair])}")
        if pair in lead and exceeds(r.units, high[pair], tol):
            ctx.add(f"{what} is for {fmt(r.units)} units, above max_order {fmt(high[pair])}")


def check_stock(ctx: Ctx) -> None:
    """The stock table equals the recomputed stock trajectory everywhere, and stock is never negative."""
    keys = ["product", "warehouse", "period"]
    trajectory = ctx.cached("stock", stock_trajectory)
    rows = outer_merge(trajectory.rename(columns={"units": "implied"}), ctx.tables["stock"][keys + ["units"]], keys)
    for r in rows[differs(rows["units"], rows["implied"], ctx.tol)].itertuples(index=False):
        ctx.add(f"stock balance broken: {r.product} at {r.warehouse} at the end of period {r.period} is "
                f"{fmt(r.units)} in the stock table, but initial stock, receipts and shipments give {fmt(r.implied)}")
    negative = trajectory[trajectory["units"] < -ctx.tol]
    for r in negative.itertuples(index=False):
        ctx.add(f"negative stock: {r.product} at {r.warehouse} would hold {fmt(r.units)} units at the end of period "
                f"{r.period} (more is shipped than is on hand)")


# ---------------------------------------------------------------------- checks: routes and capacities


def check_shipments(ctx: Ctx) -> None:
    """Shipments only over lanes of lanes.csv and only from warehouses that stock the product."""
    lanes = pair_set(ctx.t["lanes"], "warehouse", "region")
    supply = pair_set(ctx.t["supply"], "product", "warehouse")
    for r in ctx.tables["shipments"].itertuples(index=False):
        if (r.warehouse, r.region) not in lanes:
            ctx.add(f"shipment of {r.product} from {r.warehouse} to {r.region} in period {r.period} uses no lane: "
                    f"lanes.csv has no lane {r.warehouse} → {r.region}")
        if (r.product, r.warehouse) not in supply:
            ctx.add(f"{r.product} is shipped from {r.warehouse} in period {r.period}, but supply.csv has no row for "
                    f"{r.product} in {r.warehouse}")


def check_lanes(ctx: Ctx) -> None:
    """Lane volume ≤ capacity; the lanes table reports the shipped volume and marks carrying lanes used."""
    tol = ctx.tol
    keys = ["warehouse", "region", "period"]
    volume = ctx.cached("lane_volumes", lane_volumes).copy()
    capacity = lookup(ctx.t["lanes"], ["warehouse", "region"], "capacity")
    volume["capacity"] = [capacity.get((w, r), math.inf) for w, r in zip(volume["warehouse"], volume["region"])]
    for r in volume[exceeds(volume["volume"], volume["capacity"], tol)].itertuples(index=False):
        ctx.add(f"lane {r.warehouse} → {r.region} carries volume {fmt(r.volume)} in period {r.period}, over its "
                f"capacity {fmt(r.capacity)}")
    table = ctx.tables["lanes"].rename(columns={"volume": "reported"})
    table = table.groupby(keys, as_index=False, sort=False).agg(reported=("reported", "sum"), used=("used", "any"))
    rows = volume[keys + ["volume"]].merge(table, on=keys, how="outer")
    rows[["volume", "reported"]] = rows[["volume", "reported"]].fillna(0.0)
    rows["used"] = rows["used"].astype("boolean").fillna(False).astype(bool)
    for r in rows[differs(rows["reported"], rows["volume"], tol)].itertuples(index=False):
        ctx.add(f"lanes table: volume of {r.warehouse} → {r.region} in period {r.period} is {fmt(r.reported)}, but "
                f"the shipments on it add up to {fmt(r.volume)}")
    for r in rows[(rows["volume"] > tol) & ~rows["used"]].itertuples(index=False):
        ctx.add(f"lane {r.warehouse} → {r.region} carries volume {fmt(r.volume)} in period {r.period} but is not "
                f"marked used in the lanes table")


def check_warehouses(ctx: Ctx) -> None:
    """Throughput (volume shipped out) and storage (volume on hand at the end of a period) per warehouse."""
    tol = ctx.tol
    throughput = lookup(ctx.t["warehouses"], ["warehouse"], "throughput_capacity")
    storage = lookup(ctx.t["warehouses"], ["warehouse"], "storage_capacity")
    out = sum_by(ctx.cached("shipped_volume", shipped_volume), ["warehouse", "period"], "volume")
    out["capacity"] = [float(throughput.get(w, math.inf)) for w in out["warehouse"]]
    for r in out[exceeds(out["volume"], out["capacity"], tol)].itertuples(index=False):
        ctx.add(f"warehouse {r.warehouse} ships out volume {fmt(r.volume)} in period {r.period}, over its "
                f"throughput capacity {fmt(r.capacity)}")
    stock = ctx.cached("stock", stock_trajectory).copy()
    stock["volume"] = stock["units"] * stock["product"].map(ctx.products["volume"]).astype("float64")
    held = sum_by(stock, ["warehouse", "period"], "volume")
    held["capacity"] = [float(storage.get(w, math.inf)) for w in held["warehouse"]]
    for r in held[exceeds(held["volume"], held["capacity"], tol)].itertuples(index=False):
        ctx.add(f"warehouse {r.warehouse} holds volume {fmt(r.volume)} at the end of period {r.period}, over its "
                f"storage capacity {fmt(r.capacity)}")


def check_inventory_value(ctx: Ctx) -> None:
    """Σ unit_cost · stock ≤ finance.max_inventory_value at the end of every period (when set)."""
    cap = ctx.sc.settings.get("finance.max_inventory_value")
    if cap is None:
        return
    stock = ctx.cached("stock", stock_trajectory).copy()
    stock["value"] = stock["units"] * stock["product"].map(ctx.products["unit_cost"]).astype("float64")
    per_period = sum_by(stock, ["period"], "value").sort_values("period")
    for r in per_period[exceeds(per_period["value"], cap, ctx.tol)].itertuples(index=False):
        ctx.add(f"inventory value {fmt(r.value)} at the end of period {r.period} exceeds "
                f"finance.max_inventory_value {fmt(cap)}")
