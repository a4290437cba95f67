"""Cold start of new products: analog fits, pooling and its fallbacks, regional split, hold-outs, accuracy.

Oracles: the generator's own truth (launch periods, category Bass parameters,
seasonal cycle, price elasticity — read from the generator, never by the
forecaster), an independent least-squares fit of the analog curves with
``scipy.optimize.curve_fit``, the scenario's history itself (regional shares,
held-out products), and the closed form ``Σ_a m (F(a+1) − F(a)) = m F(H)``.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from scipy.optimize import curve_fit

from optsupply.curves import bass_cdf, bass_increment
from optsupply.forecasting.analogs import FIT_COLUMNS, PRIOR_P, PRIOR_Q, fit_analogs
from optsupply.forecasting.coldstart import CURVE_COLUMNS, EXPLAIN_COLUMNS, cold_start, forecast_new_product
from optsupply.scenario.generate import _Builder, generate
from optsupply.scenario.generate_params import PRICE_ELASTICITY, SEASON_LENGTH

L = SEASON_LENGTH


# --------------------------------------------------------------------------- fixtures and helpers


def flat_season(sc) -> pd.DataFrame:
    cats = sorted(sc.products["category"].unique())
    return pd.DataFrame({"category": np.repeat(cats, L), "pos": np.tile(np.arange(L), len(cats)), "index": 1.0})


class Truth:
    """The generator's hidden truth for a size and seed (test oracle only)."""

    def __init__(self, size: str, seed: int):
        b = _Builder(size, seed)
        b.build()
        self.kind = dict(zip(b.products, b.kind, strict=True))
        self.launch = dict(zip(b.products, b.launched_at, strict=True))
        self.pq = {c: (p, q) for c, p, q in zip(b.categories, b.cat_p, b.cat_q, strict=True)}
        pos = np.mod(b.t_all, L)
        rows = [pd.DataFrame({"category": c, "pos": np.arange(L),
                              "index": pd.Series(b.season[i]).groupby(pos).mean().reindex(range(L)).to_numpy()})
                for i, c in enumerate(b.categories)]
        self.season = pd.concat(rows, ignore_index=True)

    def index(self, category: str, periods: np.ndarray) -> np.ndarray:
        s = self.season[self.season["category"] == category].set_index("pos")["index"]
        return s.reindex(np.mod(periods, L)).to_numpy()


@pytest.fixture(scope="module")
def small():
    sc = generate("small", 1)
    season = flat_season(sc)
    return sc, season, fit_analogs(sc, season)


@pytest.fixture(scope="module")
def medium():
    sc = generate("medium", 1)
    truth = Truth("medium", 1)
    return sc, truth, fit_analogs(sc, truth.season)


def totals(sc) -> pd.DataFrame:
    """Units per product and period, summed over regions (wide: product × period)."""
    return sc.history.groupby(["product", "period"])["units"].sum().unstack()


# --------------------------------------------------------------------------- analog fits


def test_fit_analogs_finds_every_launch_of_the_history(medium) -> None:
    sc, truth, fits = medium
    assert list(fits.columns) == FIT_COLUMNS
    assert fits["product"].is_monotonic_increasing
    analogs = sorted(p for p, k in truth.kind.items() if k == "analog")
    assert fits["product"].tolist() == analogs
    assert fits["launch_period"].tolist() == [int(truth.launch[p]) for p in analogs]
    assert fits["converged"].all()
    assert (fits["n_periods"] == -fits["launch_period"]).all()
    for c in ["m", "p", "q", "se_m", "se_p", "se_q", "rse"]:
        assert fits[c].dtype == np.float64


def test_pooled_category_shape_matches_the_analog_curves(medium) -> None:
    """Shared (p, q) per category against (a) an independent plain least-squares fit of the analogs'
    deseasonalised curves and (b) the generator's category parameters."""
    sc, truth, fits = medium
    tot = totals(sc)
    _, explain = cold_start(sc, fits, season=truth.season)
    by_cat = explain[explain["level"] == "category"].groupby("category")[["p", "q"]].first()
    assert len(by_cat) >= 3
    ages12 = np.arange(12)

    def shape(p: float, q: float) -> np.ndarray:
        g = bass_increment(ages12, p, q)
        return g / g.sum()

    for cat, row in by_cat.iterrows():
        group = fits[fits["category"] == cat]
        xs, ys, who = [], [], []
        for i, f in enumerate(group.itertuples()):
            s = tot.loc[f.product].dropna()
            s = s[s.index >= f.launch_period]
            xs.append(s.index.to_numpy() - f.launch_period)
            ys.append(s.to_numpy() / truth.index(cat, s.index.to_numpy()))
            who.append(np.full(len(s), i))
        x, y, k = np.concatenate(xs).astype(float), np.concatenate(ys), np.concatenate(who)

        def model(_, p, q, *m):
            return np.asarray(m)[k] * bass_increment(x, p, q)

        m0 = [float(v.sum()) * 2 for v in ys]
        oracle, _ = curve_fit(model, x, y, p0=[0.03, 0.5, *m0], bounds=([1e-6, 0, *[0] * len(m0)],
                                                                          [1, 3, *[np.inf] * len(m0)]))
        ours = shape(row.p, row.q)
        assert np.abs(ours - shape(oracle[0], oracle[1])).sum() < 0.15, cat
        assert np.abs(ours - shape(*truth.pq[cat])).sum() < 0.2, cat
        assert abs(int(np.argmax(ours)) - int(np.argmax(shape(*truth.pq[cat])))) <= 1, cat


# --------------------------------------------------------------------------- pooling levels and fallbacks


def test_fallback_chain_category_brand_catalogue_prior(small) -> None:
    sc, season, fits = small
    analogs = fits.set_index("product")
    lc, explain = cold_start(sc, fits, season=season)
    ex = explain.set_index("product")
    new = sc.products[sc.products["status"] == "new"].set_index("product")
    assert list(explain.columns) == EXPLAIN_COLUMNS
    assert sorted(ex.index) == sorted(new.index)
    for product, row in new.iterrows():
        same_cat = sorted(analogs.index[analogs["category"] == row.category])
        same_brand = sorted(analogs.index[analogs["brand"] == row.brand])
        level, used = ex.at[product, "level"], ex.at[product, "analogs"].split(";")
        if same_cat:
            assert level == "category" and used == same_cat, product
        elif same_brand:
            assert level == "brand" and used == same_brand, product
        else:
            assert level == "catalogue" and used == sorted(analogs.index), product
    assert {"category", "brand", "catalogue"} <= set(ex["level"])  # small seed 1 exercises all three
    # with every analog held out, the published priors remain
    _, ex0 = cold_start(sc, fits, season=season, exclude=tuple(analogs.index))
    new_rows = ex0[ex0["product"].isin(new.index)]
    assert (new_rows["level"] == "prior").all()
    assert (new_rows["p"] == PRIOR_P).all() and (new_rows["q"] == PRIOR_Q).all()
    assert (new_rows["analogs"] == "").all()
    assert (new_rows["m"] > 0).all()


def test_curves_sum_to_m_F_H_and_split_by_the_category_regional_shares(small) -> None:
    sc, season, fits = small
    H = sc.periods
    lc, explain = cold_start(sc, fits, season=season)
    assert list(lc.columns) == CURVE_COLUMNS
    assert lc.equals(lc.sort_values(["product", "region", "age"]).reset_index(drop=True))
    regions = sorted(sc.lanes["region"].unique())
    assert len(lc) == len(explain) * len(regions) * H
    assert lc["age"].tolist()[:H] == list(range(H))
    assert np.isfinite(lc[["demand", "demand_sd"]].to_numpy()).all()
    assert (lc["demand_sd"] >= np.sqrt(lc["demand"]) - 1e-12).all()
    assert lc["demand"].dtype == np.float64 and lc["demand_sd"].dtype == np.float64
    per_product = lc.groupby("product")["demand"].sum()
    for r in explain.itertuples():
        assert per_product[r.product] == pytest.approx(r.m * float(bass_cdf(H, r.p, r.q)), rel=1e-9)
    # shares: every age splits the same way, summing to 1, as the category's history does
    hist = sc.history.merge(sc.products[["product", "category"]], on="product")
    for r in explain.itertuples():
        g = lc[lc["product"] == r.product].pivot(index="age", columns="region", values="demand")
        shares = g.div(g.sum(axis=1), axis=0)
        np.testing.assert_allclose(shares.sum(axis=1), 1.0)
        np.testing.assert_allclose(shares.to_numpy(), np.tile(shares.iloc[0].to_numpy(), (H, 1)), atol=1e-12)
        cat_units = hist[hist["category"] == r.category].groupby("region")["units"].sum()
        if cat_units.sum() > 1000:  # a category with history: its own shares (up to the small catalogue prior)
            np.testing.assert_allclose(shares.iloc[0].to_numpy(),
                                       (cat_units / cat_units.sum()).reindex(regions).to_numpy(), atol=0.01)


def test_new_category_without_history_gets_catalogue_regional_shares(small) -> None:
    sc, season, fits = small
    lc, explain = cold_start(sc, fits, season=season)
    cats_with_history = set(sc.products.set_index("product").loc[sc.history["product"].unique(), "category"])
    fresh = explain[~explain["category"].isin(cats_with_history)]
    assert len(fresh)
    all_units = sc.history.groupby("region")["units"].sum()
    catalogue = (all_units / all_units.sum()).sort_index().to_numpy()
    for product in fresh["product"]:
        g = lc[(lc["product"] == product) & (lc["age"] == 0)].set_index("region")["demand"].sort_index()
        np.testing.assert_allclose(g.to_numpy() / g.sum(), catalogue, atol=1e-12)


# --------------------------------------------------------------------------- held-out products


def test_excluded_analog_is_unused_and_equals_deleting_its_history(medium) -> None:
    sc, truth, fits = medium
    held = fits["product"].iloc[0]
    row = sc.products.set_index("product").loc[held]
    row = {"product": held, "category": row.category, "brand": row.brand, "price": row.price}
    lc, explain = cold_start(sc, fits, season=truth.season, exclude=(held,))
    assert held in set(explain["product"])  # forecast as if new
    assert not explain["analogs"].str.split(";").apply(lambda a: held in a).any()
    ours = forecast_new_product(sc, fits, row, 12, exclude=(held,), season=truth.season)
    # the same scenario without the held-out product's history at all
    reduced = sc.with_tables({"history": sc.history[sc.history["product"] != held]})
    fits2 = fit_analogs(reduced, truth.season)
    assert held not in set(fits2["product"])
    again = forecast_new_product(reduced, fits2, row, 12, season=truth.season)
    np.testing.assert_allclose(ours, again, rtol=1e-9)
    # and the curve of the excluded product from cold_start is the same curve, split by region
    total = lc[lc["product"] == held].groupby("age")["demand"].sum().to_numpy()[:12]
    np.testing.assert_allclose(total, ours, rtol=1e-9)
    # without the hold-out, the product's own history makes its forecast closer to the truth
    own = forecast_new_product(sc, fits, row, 12, season=truth.season)
    assert not np.allclose(own, ours)


def test_forecast_new_product_uses_only_the_season_it_is_given(medium) -> None:
    """No hidden state: the same call gives the same curve, and the season passed is the one used."""
    sc, truth, fits = medium
    held = fits["product"].iloc[1]
    row = sc.products.set_index("product").loc[held].to_dict() | {"product": held}
    a = forecast_new_product(sc, fits, row, 10, exclude=(held,), season=truth.season)
    b = forecast_new_product(sc, fits, row, 10, exclude=(held,), season=truth.season)
    np.testing.assert_allclose(a, b)
    flat = truth.season.assign(index=1.0)
    c = forecast_new_product(sc, fits, row, 10, exclude=(held,), season=flat)
    assert not np.allclose(a, c)


# --------------------------------------------------------------------------- size: price and brand


def test_cheaper_product_gets_the_generators_price_elasticity(medium) -> None:
    """m scales with (price / category price) ** -β: β recovered from the scenario's own history."""
    sc, truth, fits = medium
    base = sc.products[sc.products["status"] == "new"].iloc[0]
    row = {"product": "PX", "category": base.category, "brand": base.brand, "price": base.price}
    dear = forecast_new_product(sc, fits, row | {"price": 2 * base.price}, 26, season=truth.season)
    cheap = forecast_new_product(sc, fits, row, 26, season=truth.season)
    beta = -np.log(dear.sum() / cheap.sum()) / np.log(2.0)
    assert beta == pytest.approx(PRICE_ELASTICITY, abs=0.35)


# --------------------------------------------------------------------------- accuracy (the benchmark goal)


def test_leave_one_out_beats_the_category_mean_launch_curve(medium) -> None:
    """Each analog forecast from the others (times seasonality) over its first 12 periods: WAPE at least
    15 % below the mean of the other same-category analogs' actual sales by age."""
    sc, truth, fits = medium
    tot = totals(sc)
    products = sc.products.set_index("product")
    actual = {}
    for f in fits.itertuples():
        n = min(12, -f.launch_period)
        actual[f.product] = tot.loc[f.product].reindex(f.launch_period + np.arange(n)).fillna(0.0).to_numpy()
    err_ours = err_base = total = 0.0
    for f in fits.itertuples():
        a = actual[f.product]
        n = len(a)
        others = [actual[g.product] for g in fits.itertuples()
                  if g.product != f.product and g.category == f.category]
        base = np.array([np.mean([o[k] for o in others if k < len(o)]) if any(k < len(o) for o in others)
                         else np.nan for k in range(n)])
        row = products.loc[f.product].to_dict() | {"product": f.product}
        curve = forecast_new_product(sc, fits, row, 12, exclude=(f.product,), season=truth.season)[:n]
        ours = curve * truth.index(f.category, f.launch_period + np.arange(n))
        ok = np.isfinite(base)
        err_ours += np.abs(ours - a)[ok].sum()
        err_base += np.abs(base - a)[ok].sum()
        total += a[ok].sum()
    wape_ours, wape_base = err_ours / total, err_base / total
    assert wape_ours <= 0.85 * wape_base, (wape_ours, wape_base)
    assert wape_ours < 0.4, wape_ours


# --------------------------------------------------------------------------- odd data


def test_without_history_new_products_get_priors_and_sizes_from_demand_csv(small) -> None:
    sc, season, _ = small
    empty = sc.with_tables({"history": sc.history.iloc[0:0]})
    fits = fit_analogs(empty, season)
    assert fits.empty and list(fits.columns) == FIT_COLUMNS
    lc, explain = cold_start(empty, fits, season=season)
    assert (explain["level"] == "prior").all()
    assert explain["note"].str.contains("demand.csv").all()
    assert (explain["m"] > 0).all()
    assert np.isfinite(lc[["demand", "demand_sd"]].to_numpy()).all()
    regions = sorted(sc.lanes["region"].unique())
    assert len(lc) == len(explain) * len(regions) * sc.periods


def test_odd_analog_histories_never_raise(small) -> None:
    sc, season, fits = small
    h = sc.history.copy()
    a1, a2, a3 = fits["product"].tolist()[:3]
    h = h[(h["product"] != a1) | (h["period"] == h.loc[h["product"] == a1, "period"].min())]  # a single point
    h.loc[h["product"] == a2, "units"] = 0.0  # an all-zero series
    h = h[(h["product"] != a3) | (h["period"] % 3 != 0)]  # gaps
    odd = sc.with_tables({"history": h.reset_index(drop=True)})
    fits2 = fit_analogs(odd, season)
    assert set(fits2["product"]) <= {a1, a3}  # an all-zero series never launched
    if a1 in set(fits2["product"]):
        assert not fits2.set_index("product").at[a1, "converged"]
    lc, explain = cold_start(odd, fits2, season=season)
    assert np.isfinite(lc[["demand", "demand_sd"]].to_numpy()).all()
    assert np.isfinite(explain[["p", "q", "m", "m_scale"]].to_numpy()).all()


@pytest.mark.slow
def test_large_fits_and_cold_start_cover_every_new_product() -> None:
    """The large size end to end (its speed is measured by benchmarks/forecast.py, not asserted here)."""
    sc = generate("large", 1)
    season = flat_season(sc)
    fits = fit_analogs(sc, season)
    lc, explain = cold_start(sc, fits, season=season)
    assert len(fits) >= 50 and len(explain) == 80
    assert len(lc) == 80 * 25 * 52
