"""What follows from a plan's decisions: launch periods, forecast demand, stock, adstock, volumes.

Part of the independent plan checker (:mod:`optsupply.plan.check`). Each
function derives one quantity from the cleaned plan tables and the scenario
alone (see the checker's module docstring for what is taken from the plan and
what is recomputed); the rules and the profit compare the plan with these.
Functions that take only the context are computed once per check through
``ctx.cached(name, function)``. The response curve is this module's own
Hill formula (:func:`_hill`), not the model's, so that the checker stays an
independent oracle.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optsupply.plan.check_tables import Ctx, empty_table, lookup, outer_merge, sum_by

# ---------------------------------------------------------------------- products and launches


def _active_products(ctx: Ctx) -> set[str]:
    """The scenario's products that are active from the start (every status but ``new``)."""
    return set(ctx.products.index[ctx.products["status"] != "new"])


def product_status(ctx: Ctx, product: str) -> str:
    """``active`` or ``new``."""
    return str(ctx.products.at[product, "status"])


def new_products(ctx: Ctx) -> set[str]:
    """The candidate new products of the scenario."""
    return set(ctx.products.index[ctx.products["status"] == "new"])


def _first_active_period(ctx: Ctx, product: str) -> int:
    """The first period in which ``product`` is active: 0 for active products, H when never launched."""
    if product_status(ctx, product) != "new":
        return 0
    return ctx.launch_period.get(product, ctx.H)


def inactive_rows(ctx: Ctx, df: pd.DataFrame) -> pd.Series:
    """Rows of ``df`` (with product and period) whose product is not active in that period."""
    if df.empty:
        return pd.Series(False, index=df.index)
    products = pd.unique(df["product"])
    first_of = {p: _first_active_period(ctx, p) for p in products}  # once per product, not per row
    first = df["product"].map(first_of).to_numpy(dtype="int64")
    return pd.Series(df["period"].to_numpy() < first, index=df.index)


def why_inactive(ctx: Ctx, product: str) -> str:
    """Why a new product is not active, for a message."""
    tau = ctx.launch_period.get(product)
    return "it is never launched" if tau is None else f"it launches in period {tau}"


def launch_periods(ctx: Ctx) -> dict[str, int]:
    """Launch period of every launched ``new`` product (the earliest row when listed twice)."""
    launches = ctx.tables["launches"]
    new = launches[launches["product"].isin(new_products(ctx))]
    return {str(p): int(t) for p, t in new.groupby("product")["period"].min().items()}


# ---------------------------------------------------------------------- demand, stock, adstock, volumes


def base_demand(ctx: Ctx) -> pd.DataFrame:
    """Forecast base demand d(p, r, t) under the plan's launches: columns product, region, period, base."""
    H = ctx.H
    active = _active_products(ctx)
    demand = ctx.t["demand"]
    calendar = demand[demand["product"].isin(active)][["product", "region", "period", "demand"]]
    tau = pd.DataFrame({"product": list(ctx.launch_period), "tau": list(ctx.launch_period.values())},
                       columns=["product", "tau"]).astype({"product": object, "tau": "int64"})
    curve = ctx.t["launch_curve"].merge(tau, on="product", how="inner")
    curve["period"] = curve["tau"] + curve["age"]
    curve = curve[curve["period"] <= H - 1].copy()
    curve["category"] = curve["product"].map(ctx.products["category"])
    season = ctx.t["seasonality"][["category", "period", "index"]]
    curve = curve.merge(season, on=["category", "period"], how="left")
    curve["demand"] = curve["demand"] * curve["index"].astype("float64").fillna(1.0)
    parts = [p for p in (calendar, curve[["product", "region", "period", "demand"]]) if not p.empty]
    if not parts:
        return pd.DataFrame({"product": pd.Series([], dtype=object), "region": pd.Series([], dtype=object),
                             "period": pd.Series([], dtype="int64"), "base": pd.Series([], dtype="float64")})
    both = pd.concat(parts, ignore_index=True)
    both["period"] = both["period"].astype("int64")
    return sum_by(both, ["product", "region", "period"], "demand", "base")


def region_shares(ctx: Ctx) -> pd.DataFrame:
    """share(p, r) of advertising uplift: columns product, region, share (forecast totals before seasonality)."""
    active = _active_products(ctx)
    demand = ctx.t["demand"]
    curve = ctx.t["launch_curve"]
    rows = pd.concat([demand[demand["product"].isin(active)][["product", "region", "demand"]],
                      curve[~curve["product"].isin(active)][["product", "region", "demand"]]], ignore_index=True)
    per_region = sum_by(rows, ["product", "region"], "demand")
    total = per_region.groupby("product")["demand"].transform("sum")
    per_region["share"] = np.where(total > 0, per_region["demand"] / total.where(total > 0, 1.0), 0.0)
    return per_region[["product", "region", "share"]]


def lead_times(ctx: Ctx) -> dict[tuple[str, str], int]:
    """Lead time of every supply pair."""
    return {k: int(v) for k, v in lookup(ctx.t["supply"], ["product", "warehouse"], "lead_time").items()}


def orders_with_receipt(ctx: Ctx) -> pd.DataFrame:
    """The orders table plus ``receipt``: period + lead time (the reported arrival for unknown pairs)."""
    orders = ctx.tables["orders"].copy()
    lead = lead_times(ctx)
    orders["receipt"] = [t + lead[(p, w)] if (p, w) in lead else a
                         for p, w, t, a in zip(orders["product"], orders["warehouse"], orders["period"], orders["arrival"])]
    orders["receipt"] = orders["receipt"].astype("int64")
    return orders


def stock_trajectory(ctx: Ctx) -> pd.DataFrame:
    """End-of-period stock of every (product, warehouse) the scenario or the plan mentions, every period.

    stock(t) = stock(t−1) + receipts(t) − shipped(t), from stock(−1) = initial
    stock; receipts are orders arriving at period + lead time within the
    horizon, plus the pipeline. Columns product, warehouse, period, units.
    """
    H = ctx.H
    keys = ["product", "warehouse", "period"]
    orders = orders_with_receipt(ctx)
    received = orders[(orders["receipt"] >= 0) & (orders["receipt"] <= H - 1)]
    received = received[["product", "warehouse", "receipt", "units"]].rename(columns={"receipt": "period"})
    pipeline = ctx.t["pipeline"][keys + ["units"]]
    shipped = ctx.tables["shipments"][keys + ["units"]].copy()
    shipped["units"] = -shipped["units"]
    flows = pd.concat([f for f in (received, pipeline, shipped) if not f.empty] or [empty_table("stock")], ignore_index=True)
    flows["period"] = flows["period"].astype("int64")
    flows = sum_by(flows, keys, "units", "flow")

    initial = ctx.t["initial_stock"]
    pairs = pd.concat([df[["product", "warehouse"]] for df in (ctx.t["supply"], initial,
                                                                flows, ctx.tables["stock"])],
                      ignore_index=True).drop_duplicates()
    grid = pairs.merge(pd.DataFrame({"period": np.arange(H, dtype="int64")}), how="cross")
    grid = grid.merge(flows, on=keys, how="left")
    grid["flow"] = grid["flow"].fillna(0.0)
    grid = grid.sort_values(keys, kind="stable").reset_index(drop=True)
    start = grid.merge(sum_by(initial, ["product", "warehouse"], "units", "initial"),
                       on=["product", "warehouse"], how="left")["initial"].fillna(0.0)
    grid["units"] = start.to_numpy() + grid.groupby(["product", "warehouse"], sort=False)["flow"].cumsum().to_numpy()
    return grid[keys + ["units"]]


def _hill(e: np.ndarray, max_uplift: np.ndarray, half: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """The true Hill curve max_uplift · e^s / (e^s + k^s), 0 at e = 0."""
    positive = e > 0
    safe_e = np.where(positive, e, 1.0)
    with np.errstate(over="ignore", divide="ignore"):
        value = max_uplift / (1.0 + (half / safe_e) ** shape)
    return np.where(positive, value, 0.0)


def effective_spend(ctx: Ctx) -> pd.DataFrame:
    """Recomputed adstock and curve for every advertised (product, channel) and period.

    Columns product, channel, period, spend, effective, curve; effective(t) =
    spend(t) + carryover · effective(t−1) from 0 before period 0, and curve is
    the Hill curve at that effective spend (0 for pairs without a response).
    """
    H = ctx.H
    ads = ctx.tables["advertising"]
    pairs = ads[["product", "channel"]].drop_duplicates().reset_index(drop=True)
    response = ctx.t["response"]
    pairs = pairs.merge(response[["product", "channel", "max_uplift", "half_saturation", "shape", "carryover"]],
                        on=["product", "channel"], how="left")
    pairs = pairs.fillna({"max_uplift": 0.0, "half_saturation": 1.0, "shape": 1.0, "carryover": 0.0})
    spend = np.zeros((len(pairs), H))
    row_of = {(p, c): i for i, (p, c) in enumerate(zip(pairs["product"], pairs["channel"]))}
    for p, c, t, x in zip(ads["product"], ads["channel"], ads["period"], ads["spend"]):
        spend[row_of[(p, c)], t] += x
    effective = np.zeros_like(spend)
    carry = pairs["carryover"].to_numpy(dtype=float)
    for t in range(H):
        effective[:, t] = spend[:, t] + (carry * effective[:, t - 1] if t > 0 else 0.0)
    curve = _hill(effective, pairs["max_uplift"].to_numpy(float)[:, None], pairs["half_saturation"].to_numpy(float)[:, None],
                  pairs["shape"].to_numpy(float)[:, None])
    n = len(pairs)
    return pd.DataFrame({
        "product": np.repeat(pairs["product"].to_numpy(dtype=object), H),
        "channel": np.repeat(pairs["channel"].to_numpy(dtype=object), H),
        "period": np.tile(np.arange(H, dtype="int64"), n),
        "spend": spend.reshape(-1), "effective": effective.reshape(-1), "curve": curve.reshape(-1),
        "carryover": np.repeat(carry, H),
    })


def shipped_volume(ctx: Ctx) -> pd.DataFrame:
    """Shipments with their volume (units × product volume)."""
    ship = ctx.tables["shipments"].copy()
    ship["volume"] = ship["units"] * ship["product"].map(ctx.products["volume"]).astype("float64")
    return ship


def lane_volumes(ctx: Ctx) -> pd.DataFrame:
    """Volume carried per lane and period, from shipments: columns warehouse, region, period, volume."""
    return sum_by(ctx.cached("shipped_volume", shipped_volume), ["warehouse", "region", "period"], "volume")


def sales_rows(ctx: Ctx) -> pd.DataFrame:
    """Per (product, region, period): base (forecast), ad/featured uplift counted on, sold (shipments), potential, lost."""
    keys = ["product", "region", "period"]
    base = ctx.cached("base", base_demand)
    uplift = ctx.tables["sales"][keys + ["ad_uplift", "featured_uplift"]]
    sold = sum_by(ctx.tables["shipments"], keys, "units", "sold")
    rows = outer_merge(outer_merge(base, uplift, keys), sold, keys)
    rows["potential"] = rows["base"] + rows["ad_uplift"] + rows["featured_uplift"]
    rows["lost"] = (rows["potential"] - rows["sold"]).clip(lower=0.0)
    return rows

