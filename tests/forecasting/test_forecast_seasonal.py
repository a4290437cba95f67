"""Seasonal indices and the active-product forecast (optsupply.forecasting.seasonal).

Oracles come from outside the code: synthetic histories drawn from a known
season, level and regional split (recovered within sampling error), closed
forms (the seasonal lookup, the fallbacks of odd series, the Bass curve), and
statsmodels' own analytic ETS forecast variance.
"""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from optsupply.forecasting.active import ets_variance_factors, forecast_active
from optsupply.forecasting.seasonal import horizon_seasonality, season_length, seasonal_indices

L = 52
PERIODS = np.arange(-104, 0)


def true_season(pos: np.ndarray) -> np.ndarray:
    """A smooth yearly season with two harmonics, mean 1 over a cycle."""
    return 1.0 + 0.3 * np.cos(2 * np.pi * (pos - 8) / L) + 0.1 * np.sin(4 * np.pi * pos / L)


def scenario(products: list[tuple[str, str, str]], rows: list[pd.DataFrame], freq: str = "W-MON") -> SimpleNamespace:
    """A minimal scenario: products (product, category, status) and history rows."""
    prod = pd.DataFrame(products, columns=["product", "category", "status"])
    cols = ["product", "region", "period", "units", "ad_spend"]
    hist = (pd.concat(rows, ignore_index=True)[cols] if rows else
            pd.DataFrame({c: pd.Series(dtype="float64" if c in ("units", "ad_spend") else
                                       ("int64" if c == "period" else "object")) for c in cols}))
    hist["period"] = hist["period"].astype("int64")
    return SimpleNamespace(settings={"horizon.freq": freq, "horizon.periods": 12}, products=prod, history=hist)


def series_rows(product: str, mu: np.ndarray, periods: np.ndarray, rng, shares=(1.0,), spend=None) -> pd.DataFrame:
    """Poisson draws around mu (product total) split over regions R1, R2, … by `shares`."""
    parts = []
    for r, w in enumerate(shares):
        parts.append(pd.DataFrame({
            "product": product, "region": f"R{r + 1}", "period": periods,
            "units": rng.poisson(mu * w).astype("float64"),
            "ad_spend": np.zeros(len(periods)) if spend is None else spend * w,
        }))
    return pd.concat(parts, ignore_index=True)


def index_frame(cat_values: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({
        "category": np.repeat(list(cat_values), L),
        "pos": np.tile(np.arange(L), len(cat_values)),
        "index": np.concatenate([v / v.mean() for v in cat_values.values()]),
    })


# ---------------------------------------------------------------------- season length


@pytest.mark.parametrize("freq, expected", [
    ("W-MON", 52), ("W", 52), ("MS", 12), ("M", 12), ("ME", 12), ("QS-JAN", 4), ("QE", 4), ("D", 7),
    ("2W", 26), ("YS", 1), (None, 52), ("something-odd", 52)])
def test_season_length_from_frequency(freq, expected):
    assert season_length({"horizon.freq": freq}) == expected
    assert season_length({}) == 52


# ---------------------------------------------------------------------- seasonal indices


def seasonal_world(seed: int = 1, bursts: bool = False) -> tuple[SimpleNamespace, np.ndarray]:
    rng = np.random.default_rng(seed)
    pos = np.mod(PERIODS, L)
    s = true_season(pos)
    rows, products = [], []
    for i, level in enumerate([20, 30, 45, 60, 80, 25, 35, 50]):
        mu = level * (1 + rng.normal(0, 0.002) * PERIODS) * s  # slow trends of either sign
        spend = None
        if bursts:  # ad bursts: +60 % sales in a quarter of the periods, recorded as spend
            on = rng.random(len(PERIODS)) < 0.25
            mu = mu * np.where(on, 1.6, 1.0)
            spend = np.where(on, 100.0, 0.0)
        rows.append(series_rows(f"S{i}", mu, PERIODS, rng, shares=(0.4, 0.6), spend=spend))
        products.append((f"S{i}", "SEAS", "active"))
    for i, level in enumerate([30, 50, 70, 40, 60, 20]):  # a category without seasonality
        rows.append(series_rows(f"F{i}", np.full(len(PERIODS), float(level)), PERIODS, rng))
        products.append((f"F{i}", "FLAT", "active"))
    # a recent launch only (not mature) and a category of new products only
    rows.append(series_rows("A0", np.full(10, 40.0), np.arange(-10, 0), rng))
    products += [("A0", "YOUNG", "active"), ("N0", "NEW", "new")]
    true = true_season(np.arange(L))
    return scenario(products, rows), true / true.mean()


def test_indices_recover_a_known_season_and_leave_others_flat():
    sc, true = seasonal_world()
    idx, info = seasonal_indices(sc, L, details=True)
    assert list(idx.columns) == ["category", "pos", "index"]
    assert idx["index"].dtype == np.float64 and not idx["index"].isna().any()
    assert idx.equals(idx.sort_values(["category", "pos"]).reset_index(drop=True))
    by = {c: g["index"].to_numpy() for c, g in idx.groupby("category")}
    assert set(by) == {"SEAS", "FLAT", "YOUNG", "NEW"}
    for v in by.values():
        assert v.mean() == pytest.approx(1.0, abs=1e-12)
    err = by["SEAS"] - true
    assert np.sqrt(np.mean(err ** 2)) < 0.025 and np.max(np.abs(err)) < 0.05  # worst of 40 seeds: 0.023, 0.039
    assert np.max(np.abs(by["FLAT"] - 1.0)) < 0.03  # noise alone is shrunk away
    assert np.all(by["YOUNG"] == 1.0) and np.all(by["NEW"] == 1.0)
    info = info.set_index("category")
    assert info.at["SEAS", "status"] == "estimated" and info.at["SEAS", "n_products"] == 8
    assert info.at["NEW", "status"] == "flat" and "no mature product" in info.at["NEW", "note"]


def test_ad_bursts_do_not_leak_into_the_index():
    sc, true = seasonal_world(seed=2, bursts=True)
    idx = seasonal_indices(sc, L)
    est = idx.loc[idx["category"] == "SEAS", "index"].to_numpy()
    assert np.sqrt(np.mean((est - true) ** 2)) < 0.025


def test_no_history_gives_flat_indices():
    sc = scenario([("P1", "C1", "active"), ("P2", "C2", "new")], [])
    idx = seasonal_indices(sc, 12)
    assert len(idx) == 24 and np.all(idx["index"] == 1.0)


def test_horizon_seasonality_is_the_index_at_t_mod_L():
    idx = pd.DataFrame({"category": "A", "pos": np.arange(L), "index": 1.0 + 0.01 * (np.arange(L) - 25.5)})
    out = horizon_seasonality(idx, ["B", "A", "A"], 60, L)
    assert list(out.columns) == ["category", "period", "index"] and len(out) == 120
    a = out[out["category"] == "A"].set_index("period")["index"]
    assert a[0] == pytest.approx(1.0 - 0.255) and a[52] == a[0] and a[59] == pytest.approx(1.0 + 0.01 * (7 - 25.5))
    assert np.all(out.loc[out["category"] == "B", "index"] == 1.0)
    assert out["category"].iloc[0] == "A" and out["period"].dtype == np.int64


# ---------------------------------------------------------------------- forecast variance


def test_ets_variance_factors_match_statsmodels_analytic_variance():
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    alpha, beta_star, phi = 0.3, 0.2, 0.9
    y = pd.Series(30.0 + np.random.default_rng(0).normal(0, 2, 60))
    model = ETSModel(y, error="add", trend="add", damped_trend=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.smooth([alpha, alpha * beta_star, phi, 30.0, 0.1])  # ETSModel's beta = α·β*
        var = np.asarray(res.get_prediction(start=60, end=71).var_pred_mean, dtype=float)
    np.testing.assert_allclose(ets_variance_factors(alpha, beta_star, phi, 12), var / var[0], rtol=1e-9)
    # no trend smoothing: the random-walk-plus-noise closed form 1 + (h-1)α²
    np.testing.assert_allclose(ets_variance_factors(0.4, 0.0, 0.9, 5), 1 + 0.16 * np.arange(5))


# ---------------------------------------------------------------------- active forecast


def level_world(seed: int = 3, level: float = 200.0, bursts: bool = False):
    rng = np.random.default_rng(seed)
    s = true_season(np.mod(PERIODS, L))
    mu = level * s
    spend = None
    uplift = np.zeros(len(PERIODS))
    if bursts:
        on = rng.random(len(PERIODS)) < 0.3
        uplift = np.where(on, 0.5 * mu, 0.0)
        spend = np.where(on, 50.0, 0.0)
    rows = [series_rows("P1", mu + uplift, PERIODS, rng, shares=(0.3, 0.7), spend=spend)]
    sc = scenario([("P1", "C1", "active")], rows)
    idx = index_frame({"C1": true_season(np.arange(L))})
    up = pd.DataFrame({"product": "P1", "period": PERIODS, "units": uplift})
    return sc, idx, up


def deseasonalised_total(fc: pd.DataFrame) -> np.ndarray:
    tot = fc.groupby("period")["demand"].sum()
    s = true_season(np.mod(tot.index.to_numpy(), L))
    return tot.to_numpy() / (s / true_season(np.arange(L)).mean())


def test_known_level_season_and_regional_split_are_recovered():
    sc, idx, _ = level_world()
    fc, notes, fits = forecast_active(sc, idx, L, 12, details=True)
    assert list(fc.columns) == ["product", "region", "period", "demand", "demand_sd"]
    assert notes == [] and fits.loc[0, "model"] == "damped_trend"
    assert fc.equals(fc.sort_values(["product", "region", "period"]).reset_index(drop=True))
    assert set(fc["period"]) == set(range(12)) and set(fc["region"]) == {"R1", "R2"}
    assert (fc[["demand", "demand_sd"]].dtypes == np.float64).all() and not fc.isna().any().any()
    z = deseasonalised_total(fc)
    np.testing.assert_allclose(z, 200.0 / true_season(np.arange(L)).mean(), rtol=0.05)
    share = fc[fc["region"] == "R1"]["demand"].to_numpy() / fc.groupby("period")["demand"].sum().to_numpy()
    np.testing.assert_allclose(share, 0.3, atol=0.02)
    # sd: at least the Poisson part, and of the size of the true noise (Poisson: √demand)
    assert np.all(fc["demand_sd"] >= np.sqrt(fc["demand"]) - 1e-12)
    assert np.all(fc["demand_sd"] <= 2.0 * np.sqrt(fc["demand"]))


def test_ad_periods_are_taken_out_of_the_baseline():
    sc, idx, up = level_world(seed=4, bursts=True)
    target = 200.0 / true_season(np.arange(L)).mean()
    imputed, _ = forecast_active(sc, idx, L, 8)
    kept, _ = forecast_active(sc, idx, L, 8, ads="keep")
    exact, _ = forecast_active(sc, idx, L, 8, uplift=up)
    assert np.mean(deseasonalised_total(imputed)) == pytest.approx(target, rel=0.05)
    assert np.mean(deseasonalised_total(exact)) == pytest.approx(target, rel=0.05)
    assert np.mean(deseasonalised_total(kept)) > 1.08 * target  # the bursts (+15 % on average) stay in


def test_damped_trend_lies_between_flat_and_linear_extrapolation():
    rng = np.random.default_rng(5)
    n = len(PERIODS)
    mu = 100.0 + 1.0 * np.arange(n)  # +1 unit per period, no season
    sc = scenario([("P1", "C1", "active")], [series_rows("P1", mu, PERIODS, rng)])
    fc, _ = forecast_active(sc, index_frame({"C1": np.ones(L)}), L, 12)
    d = fc["demand"].to_numpy()
    last = mu[-1]
    h = np.arange(1, 13)
    assert np.all(np.diff(d) > 0)  # the trend is followed …
    assert np.all(d < last + h * 1.0 + 6.0)  # … but never faster than the undamped line
    assert d[-1] > last + 2.0


def test_odd_series_get_documented_fallbacks_and_notes():
    season = 1.0 + 0.5 * np.cos(2 * np.pi * np.arange(L) / L)
    season = season / season.mean()
    idx = index_frame({"C1": season})
    rows = [
        pd.DataFrame({"product": "ONE", "region": "R1", "period": [-1], "units": [10.0], "ad_spend": [0.0]}),
        pd.DataFrame({"product": "ZERO", "region": "R1", "period": np.arange(-20, 0), "units": 0.0,
                      "ad_spend": 0.0}),
        pd.DataFrame({"product": "GAPS", "region": "R1", "period": [-8, -5, -1], "units": 6.0, "ad_spend": 0.0}),
        pd.DataFrame({"product": "NEWH", "region": "R1", "period": [-3, -2, -1], "units": 5.0, "ad_spend": 0.0}),
    ]
    products = [("ONE", "C1", "active"), ("ZERO", "C1", "active"), ("GAPS", "C1", "active"),
                ("NOHIST", "C1", "active"), ("NEWH", "C1", "new")]
    sc = scenario(products, rows)
    H = 6
    fc, notes = forecast_active(sc, idx, L, H)
    assert not fc.isna().any().any()
    s_f = season[np.mod(np.arange(H), L)]
    one = fc[fc["product"] == "ONE"]
    z = 10.0 / season[np.mod(-1, L)]
    np.testing.assert_allclose(one["demand"], z * s_f)  # that value, reseasonalised
    np.testing.assert_allclose(one["demand_sd"], np.sqrt(z * s_f))  # only the Poisson part
    zero = fc[fc["product"] == "ZERO"]
    assert len(zero) == H and np.all(zero["demand"] == 0.0) and np.all(zero["demand_sd"] == 0.0)
    gaps = fc[fc["product"] == "GAPS"]
    z_gaps = np.where(np.isin(np.arange(-8, 0), [-8, -5, -1]), 6.0, 0.0) / season[np.mod(np.arange(-8, 0), L)]
    np.testing.assert_allclose(gaps["demand"], z_gaps.mean() * s_f)  # missing periods are zero sales
    assert "NOHIST" not in set(fc["product"]) and "NEWH" not in set(fc["product"])
    by = dict(notes)
    assert set(by) == {"ONE", "ZERO", "GAPS", "NOHIST"}
    assert "single period" in by["ONE"] and "zero" in by["ZERO"]
    assert "5 periods without a history row" in by["GAPS"] and "read as zero sales" in by["GAPS"]
    assert "without history" in by["NOHIST"]


def test_empty_history_gives_empty_forecast_with_notes():
    sc = scenario([("P1", "C1", "active")], [])
    fc, notes = forecast_active(sc, index_frame({"C1": np.ones(L)}), L, 4)
    assert fc.empty and list(fc.columns) == ["product", "region", "period", "demand", "demand_sd"]
    assert [p for p, _ in notes] == ["P1"]


def test_rolling_origin_uses_only_history_before_the_origin():
    sc, idx, _ = level_world(seed=6)
    full, _ = forecast_active(sc, idx, L, 8, origin=-20)
    cut = sc.history[sc.history["period"] < -20].reset_index(drop=True)
    trunc, _ = forecast_active(sc, idx, L, 8, origin=-20, history=cut)
    assert sorted(full["period"].unique()) == list(range(-20, -12))
    pd.testing.assert_frame_equal(full, trunc)


def test_history_ending_before_the_origin_is_not_read_as_zero_sales():
    sc, idx, _ = level_world(seed=8)
    sc.history = sc.history[sc.history["period"] < -2].reset_index(drop=True)  # the export stops at −3
    fc, notes = forecast_active(sc, idx, L, 8)
    assert notes == [] and sorted(fc["period"].unique()) == list(range(8))
    np.testing.assert_allclose(deseasonalised_total(fc), 200.0 / true_season(np.arange(L)).mean(), rtol=0.05)
    # the same as forecasting from period −2 on and keeping periods 0 … 7
    early, _ = forecast_active(sc, idx, L, 10, origin=-2)
    pd.testing.assert_frame_equal(fc, early[early["period"] >= 0].reset_index(drop=True))


def test_bass_fit_gives_the_closed_form_diffusion_curve():
    season = true_season(np.arange(L))
    season = season / season.mean()
    idx = index_frame({"C1": season})
    rng = np.random.default_rng(7)
    launch, m, p, q = -10, 1000.0, 0.03, 0.4
    sc = scenario([("P1", "C1", "active")],
                  [series_rows("P1", np.full(10, 50.0), np.arange(launch, 0), rng, shares=(0.5, 0.5))])
    fits = pd.DataFrame({"product": ["P1"], "launch_period": [launch], "m": [m], "p": [p], "q": [q],
                         "converged": [True], "rse": [3.0]})
    fc, _ = forecast_active(sc, idx, L, 8, bass_fits=fits)

    def F(t):
        e = np.exp(-(p + q) * t)
        return (1 - e) / (1 + q / p * e)

    age = np.arange(8) - launch
    expected = m * (F(age + 1) - F(age)) * season[np.mod(np.arange(8), L)]
    np.testing.assert_allclose(fc.groupby("period")["demand"].sum().to_numpy(), expected, rtol=1e-9)


def test_generated_scenario_runs_clean():
    from optsupply.scenario.generate import generate

    sc = generate("small", 1)
    Lg = season_length(sc.settings)
    idx = seasonal_indices(sc, Lg)
    fc, notes = forecast_active(sc, idx, Lg, sc.periods)
    active = set(sc.products.loc[sc.products["status"] == "active", "product"]) & set(sc.history["product"])
    assert set(fc["product"]) == active
    assert not fc.isna().any().any() and (fc["demand"] >= 0).all()
    assert ((fc["demand_sd"] > 0) | (fc["demand"] == 0)).all()
    assert math.isclose(idx.groupby("category")["index"].mean().min(), 1.0, abs_tol=1e-9)
