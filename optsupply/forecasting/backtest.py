"""Backtests of the forecasts against simple baselines, on the scenario's own history.

Two tests, both written cell by cell to ``backtest.csv`` and summarised as
WAPE and bias per test and method::

    WAPE = Σ |forecast − actual| / Σ actual        bias = Σ (forecast − actual) / Σ actual

(a) **Leave-one-product-out cold start** (``test = cold_start``). Each active
    product launched inside the history (an analog) is pretended new: its
    launch curve is forecast from the *other* products only
    (:func:`optsupply.forecasting.coldstart.forecast_new_product` with the
    product excluded), times the seasonal index, and compared with its actual
    total sales in its first ``COLD_START_AGES`` periods (or as many as the
    history holds). Baseline (``category_mean``): the mean of the other
    analogs of the same category, age by age, of their actual sales (all other
    analogs when the category has none).

(b) **Rolling origin for active products** (``test = rolling_origin``). For
    each origin ``o`` in ``−k·h`` (k = 4, 3, 2, 1; h = ``ROLLING_HORIZON``),
    the seasonal indices and the demand model are refitted on the history
    before ``o`` only, and periods ``o … o+h−1`` are forecast per product and
    region. Baseline (``seasonal_naive``): the same product and region one
    season earlier, ``y(t − L)``; when the history is shorter than a season
    plus the test window, ``naive`` (the last value before the origin).
    Only cells where both forecasts exist are compared. The demand forecast
    is the *baseline* without advertising (the optimizer adds the uplift of
    the ads it plans), while the actual sales include the uplift of the
    recorded spend; so the tested forecast is the baseline plus the uplift of
    the recorded spend under the fitted response curves
    (:func:`optsupply.forecasting.response.history_uplift`), split over
    regions like the baseline. The response curves are fitted on the whole
    history (the only look-ahead in this test; spend itself is a planned
    decision, known in advance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLD_START_AGES = 12  #: periods after launch compared in the cold-start backtest
ROLLING_HORIZON = 8  #: periods forecast from each origin in the rolling-origin backtest
ROLLING_ORIGINS = 4  #: number of origins

CELL_COLUMNS = ["test", "method", "product", "region", "origin", "period", "age", "actual", "forecast"]
SUMMARY_COLUMNS = ["test", "method", "cells", "actual", "wape", "bias"]


def empty_cells() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("actual", "forecast") else "object")
                         for c in CELL_COLUMNS})


def empty_summary() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c not in ("test", "method") else "object")
                         for c in SUMMARY_COLUMNS})


def season_pos(period: np.ndarray | pd.Series, L: int) -> np.ndarray:
    """Position in the seasonal cycle, ``period mod L`` in ``0 … L−1`` (also for negative periods)."""
    return np.mod(np.asarray(period, dtype="int64"), L)


def index_lookup(indices: pd.DataFrame, category: str, periods: np.ndarray, L: int) -> np.ndarray:
    """Seasonal index of ``category`` at ``periods`` (1.0 for a category without indices)."""
    g = indices[indices["category"] == category]
    table = np.ones(L)
    if len(g):
        table[g["pos"].to_numpy(dtype="int64")] = g["index"].to_numpy(dtype="float64")
    return table[season_pos(periods, L)]


def product_totals(history: pd.DataFrame) -> pd.DataFrame:
    """Units and spend per product and period, summed over regions."""
    return history.groupby(["product", "period"], as_index=False)[["units", "ad_spend"]].sum()


# ---------------------------------------------------------------------- baseline for the response fit


def baseline_units(sc, indices: pd.DataFrame, fits: pd.DataFrame, L: int) -> pd.DataFrame:
    """Expected units per product and history period without advertising.

    * analogs (a converged Bass fit): ``m · (F(a+1) − F(a)) · index(t)`` at
      age ``a = t − launch``;
    * other products: ``level(t) · index(t)``, where ``level`` is the centred
      rolling median (13 periods) of the deseasonalised total over the
      periods without spend, interpolated across spend periods.

    Returns
    -------
    DataFrame with columns product, period, units.
    """
    from optsupply.curves import bass_increment

    totals = product_totals(sc.history)
    if totals.empty:
        return pd.DataFrame({"product": pd.Series(dtype="object"), "period": pd.Series(dtype="int64"),
                             "units": pd.Series(dtype="float64")})
    cat = dict(zip(sc.products["product"], sc.products["category"], strict=True))
    fit_by = {r.product: r for r in fits.itertuples()} if len(fits) else {}
    out = []
    for product, g in totals.groupby("product", sort=True):
        periods = g["period"].to_numpy(dtype="int64")
        idx = index_lookup(indices, cat[product], periods, L)
        f = fit_by.get(product)
        if f is not None and bool(f.converged):
            base = f.m * bass_increment(periods - int(f.launch_period), f.p, f.q) * idx
        else:
            z = pd.Series(g["units"].to_numpy(dtype="float64") / np.maximum(idx, 1e-9))
            z[g["ad_spend"].to_numpy() > 0] = np.nan
            level = z.rolling(13, center=True, min_periods=3).median().interpolate(limit_direction="both")
            level = level.fillna(z.median() if z.notna().any() else 0.0)
            base = level.to_numpy() * idx
        out.append(pd.DataFrame({"product": product, "period": periods, "units": np.maximum(base, 0.0)}))
    return pd.concat(out, ignore_index=True)


# ---------------------------------------------------------------------- the backtests


def run_backtests(sc, indices: pd.DataFrame, fits: pd.DataFrame, L: int,
                  response_fits: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both backtests; returns (cells, summary)."""
    parts = [cold_start_backtest(sc, fits, indices, L), rolling_origin_backtest(sc, L, response_fits)]
    parts = [p for p in parts if not p.empty]
    cells = pd.concat(parts, ignore_index=True) if parts else empty_cells()
    return cells, summarise(cells)


def summarise(cells: pd.DataFrame) -> pd.DataFrame:
    """WAPE and bias per test and method (methods compared on the same cells)."""
    if cells.empty:
        return empty_summary()
    rows = []
    for (test, method), g in cells.groupby(["test", "method"], sort=False):
        actual = float(g["actual"].sum())
        err = g["forecast"].to_numpy() - g["actual"].to_numpy()
        denom = actual if actual > 0 else np.nan
        rows.append((test, method, len(g), actual, float(np.abs(err).sum()) / denom, float(err.sum()) / denom))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def cold_start_backtest(sc, fits: pd.DataFrame, indices: pd.DataFrame, L: int) -> pd.DataFrame:
    """Leave-one-product-out cold start for every analog (see the module docstring)."""
    from optsupply.forecasting.coldstart import forecast_new_product

    if fits.empty:
        return empty_cells()
    totals = product_totals(sc.history)
    by_product = {p: g.set_index("period")["units"] for p, g in totals.groupby("product")}
    products = sc.products.set_index("product")
    actual_by_age: dict[str, np.ndarray] = {}
    for f in fits.itertuples():
        s = by_product.get(f.product)
        if s is None or pd.isna(f.launch_period):
            continue
        launch = int(f.launch_period)
        n = min(COLD_START_AGES, -launch)
        ages = np.arange(n)
        actual_by_age[f.product] = s.reindex(launch + ages, fill_value=0.0).to_numpy(dtype="float64")
    category = {p: products.at[p, "category"] for p in actual_by_age}
    launch_of = dict(zip(fits["product"], fits["launch_period"], strict=True))
    out = []
    for product, actual in actual_by_age.items():
        n = len(actual)
        others = [q for q in actual_by_age if q != product and category[q] == category[product]]
        if not others:
            others = [q for q in actual_by_age if q != product]
        if not others:
            continue
        base = np.array([np.mean([actual_by_age[q][k] for q in others if k < len(actual_by_age[q])])
                         if any(k < len(actual_by_age[q]) for q in others) else np.nan for k in range(n)])
        row = products.loc[product].copy()
        row["product"] = product
        curve = np.asarray(forecast_new_product(sc, fits, row, max(n, COLD_START_AGES), exclude=(product,),
                                                season=indices), dtype="float64")[:n]
        periods = int(launch_of[product]) + np.arange(n)
        ours = curve * index_lookup(indices, category[product], periods, L)
        keep = ~np.isnan(base)
        for method, fc in (("optsupply", ours), ("category_mean", base)):
            out.append(pd.DataFrame({
                "test": "cold_start", "method": method, "product": product, "region": "*",
                "origin": pd.NA, "period": periods[keep], "age": np.arange(n)[keep],
                "actual": actual[keep], "forecast": fc[keep]}))
    return pd.concat(out, ignore_index=True) if out else empty_cells()


def rolling_origin_backtest(sc, L: int, response_fits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rolling-origin backtest of active-product demand (see the module docstring)."""
    from optsupply.forecasting.response import history_uplift
    from optsupply.forecasting.active import forecast_active
    from optsupply.forecasting.seasonal import seasonal_indices
    from optsupply.scenario.core import Scenario

    h = sc.history
    if h.empty:
        return empty_cells()
    uplift = pd.Series(dtype="float64")
    if response_fits is not None and len(response_fits):
        u = history_uplift(sc, response_fits)
        uplift = u.set_index(["product", "period"])["units"]
    first = int(h["period"].min())
    hz = ROLLING_HORIZON
    origins = [-k * hz for k in range(ROLLING_ORIGINS, 0, -1) if -k * hz - 2 * hz >= first]
    seasonal = all(o - L >= first for o in origins)
    actual = h.set_index(["product", "region", "period"])["units"]
    out = []
    for o in origins:
        past = h[h["period"] < o].reset_index(drop=True)
        tables = dict(sc.tables())
        tables["history"] = past
        trunc = Scenario(sc.settings, tables, present=sc.present, files=sc.files, source=sc.source)
        idx = seasonal_indices(trunc, L)
        result = forecast_active(trunc, idx, L, hz, origin=o, history=past)
        fc = result[0] if isinstance(result, tuple) else result
        fc = fc[(fc["period"] >= o) & (fc["period"] < o + hz)].copy()
        if len(uplift):
            total = fc.groupby(["product", "period"])["demand"].transform("sum")
            share = np.where(total > 0, fc["demand"] / total.where(total > 0, 1.0), 0.0)
            up = uplift.reindex(pd.MultiIndex.from_frame(fc[["product", "period"]])).fillna(0.0).to_numpy()
            fc["demand"] = fc["demand"].to_numpy() + up * share
        key = pd.MultiIndex.from_frame(fc[["product", "region", "period"]])
        act = actual.reindex(key).to_numpy(dtype="float64")
        if seasonal:
            ref = pd.MultiIndex.from_arrays([fc["product"], fc["region"], fc["period"] - L])
            base, method = actual.reindex(ref).to_numpy(dtype="float64"), "seasonal_naive"
        else:
            last = past.sort_values("period").groupby(["product", "region"])["units"].last()
            base = last.reindex(pd.MultiIndex.from_frame(fc[["product", "region"]])).to_numpy(dtype="float64")
            method = "naive"
        keep = ~np.isnan(act) & ~np.isnan(base)
        sub = fc[keep]
        for name, values in (("optsupply", sub["demand"].to_numpy(dtype="float64")), (method, base[keep])):
            out.append(pd.DataFrame({
                "test": "rolling_origin", "method": name, "product": sub["product"].to_numpy(),
                "region": sub["region"].to_numpy(), "origin": o, "period": sub["period"].to_numpy(),
                "age": pd.NA, "actual": act[keep], "forecast": values}))
    return pd.concat(out, ignore_index=True) if out else empty_cells()
