"""Ad response fits (optsupply.forecasting.response).

Oracles: synthetic histories generated from a known Hill curve with geometric
carryover on top of a known baseline (parameters recovered within sampling
error), the closed forms of adstock and the Hill curve, the optimizer's own
curve (:func:`optsupply.curves.hill`) for the proportional-split identity,
and the planner's rows, which must come back unchanged where history has no
spend.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from optsupply.forecasting.response import adstock, fit_hill_adstock, fit_response, hill_curve, history_uplift
from optsupply.curves import hill as optimizer_hill

COLS = ["product", "channel", "max_uplift", "half_saturation", "shape", "carryover"]


def reference_adstock(x: np.ndarray, carry: float) -> np.ndarray:
    """eff[t] = x[t] + carry · eff[t−1], eff[−1] = 0, written out as a loop (the optimizer's recursion)."""
    out = np.zeros(len(x))
    prev = 0.0
    for t, v in enumerate(x):
        prev = v + carry * prev
        out[t] = prev
    return out


def planner_rows(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLS).astype({c: "float64" for c in COLS[2:]})


def make_history(product: str, periods: np.ndarray, units: np.ndarray, spend: np.ndarray,
                 shares=(0.5, 0.5)) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"product": product, "region": f"R{r + 1}", "period": periods,
                                    "units": units * w, "ad_spend": spend * w}) for r, w in enumerate(shares)],
                     ignore_index=True)


def synthetic(seed: int, M: float, K: float, s: float, lam: float, n: int = 156, noise: float = 1.0):
    """One product: baseline 60·season, spend bursts in 35 % of periods, Hill+adstock uplift, N(0, noise)."""
    rng = np.random.default_rng(seed)
    periods = np.arange(-n, 0)
    base = 60.0 * (1.0 + 0.2 * np.cos(2 * np.pi * periods / 52))
    spend = np.where(rng.random(n) < 0.35, K * rng.uniform(0.2, 3.0, n), 0.0)
    a = reference_adstock(spend, lam)
    uplift = M * a ** s / (a ** s + K ** s)
    units = base + uplift + rng.normal(0.0, noise, n)
    return periods, base, spend, units


def namespace(history: pd.DataFrame, response: pd.DataFrame, channels=("search", "social", "video")):
    return SimpleNamespace(history=history, response=response,
                           channels=pd.DataFrame({"channel": list(channels), "budget": np.inf}))


# ---------------------------------------------------------------------- closed forms


def test_adstock_and_hill_closed_forms():
    np.testing.assert_allclose(adstock([1.0, 0, 0, 0], 0.5), [1, 0.5, 0.25, 0.125])
    t = np.arange(20)
    np.testing.assert_allclose(adstock(np.full(20, 3.0), 0.6), 3.0 * (1 - 0.6 ** (t + 1)) / (1 - 0.6))
    assert hill_curve(np.array([0.0, 50.0]), 8.0, 50.0, 2.5).tolist() == [0.0, 4.0]  # g(0)=0, g(K)=M/2
    a = np.array([1.0, 10.0, 100.0, 1e6])
    np.testing.assert_allclose(hill_curve(a, 8.0, 10.0, 1.0), 8.0 * a / (a + 10.0))
    np.testing.assert_allclose(hill_curve(a, 8.0, 10.0, 2.7), optimizer_hill(a, 8.0, 10.0, 2.7), rtol=1e-12)


# ---------------------------------------------------------------------- recovery


@pytest.mark.parametrize("seed, M, K, s, lam", [
    (11, 20.0, 100.0, 2.0, 0.4),  # S-shaped with carryover
    (12, 25.0, 300.0, 3.0, 0.0),  # steep, no carryover
    (13, 30.0, 50.0, 2.5, 0.7),  # long carryover
])
def test_known_curve_is_recovered(seed, M, K, s, lam):
    periods, base, spend, units = synthetic(seed, M, K, s, lam)
    hist = make_history("P1", periods, units, spend)
    sc = namespace(hist, planner_rows([("P1", "search", 5.0, 10.0, 1.0, 0.0)]))
    baseline = pd.DataFrame({"product": "P1", "period": periods, "units": base})
    response, fits = fit_response(sc, baseline)
    f = fits.set_index("product").loc["P1"]
    assert f["status"] == "fitted"
    assert f["max_uplift"] == pytest.approx(M, rel=0.10)
    assert f["half_saturation"] == pytest.approx(K, rel=0.15)
    assert abs(f["carryover"] - lam) < 0.1
    assert 0.5 <= f["shape"] <= 4.0
    assert f["r2"] > 0.8 and f["rmse"] == pytest.approx(1.0, rel=0.2)  # the noise sd
    assert f["n_spend_periods"] == int((spend > 0).sum())
    row = response[response["product"] == "P1"].iloc[0]  # one planner channel: weight 1
    assert row["max_uplift"] == f["max_uplift"] and row["half_saturation"] == f["half_saturation"]


def test_concave_curve_is_recovered_over_the_observed_spend():
    # With s near 1 (Michaelis-Menten), M and K trade off against s inside the observed spend range (even
    # the least-squares optimum at the true data is ambiguous); what the data pin down is the curve itself.
    M, K, s, lam = 10.0, 200.0, 1.0, 0.3
    periods, base, spend, units = synthetic(14, M, K, s, lam)
    sc = namespace(make_history("P1", periods, units, spend), planner_rows([]))
    _, fits = fit_response(sc, pd.DataFrame({"product": "P1", "period": periods, "units": base}))
    f = fits.iloc[0]
    true = M * reference_adstock(spend, lam) / (reference_adstock(spend, lam) + K)
    fitted = hill_curve(adstock(spend, f["carryover"]), f["max_uplift"], f["half_saturation"], f["shape"])
    assert np.sqrt(np.mean((fitted - true) ** 2)) < 0.05 * M  # worst of 30 seeds: 0.024·M
    assert abs(f["carryover"] - lam) < 0.1


def test_no_uplift_gives_zero_max_uplift():
    rng = np.random.default_rng(3)
    n = 104
    x = np.where(rng.random(n) < 0.3, rng.uniform(50, 150, n), 0.0)
    res = fit_hill_adstock(x, rng.normal(0.0, 1.0, n))
    g = hill_curve(adstock(x, res["carryover"]), res["max_uplift"], res["half_saturation"], res["shape"])
    assert res["ok"] and g.max() < 0.5  # noise alone (sd 1): at most a sliver of an uplift
    assert res["r2"] < 0.1


# ---------------------------------------------------------------------- channels


def test_proportional_split_reproduces_the_aggregate_curve_exactly():
    periods, base, spend, units = synthetic(21, 20.0, 100.0, 2.0, 0.4, n=104)
    hist = make_history("P1", periods, units, spend)
    plan = planner_rows([("P1", "search", 30.0, 300.0, 1.0, 0.1), ("P1", "video", 10.0, 50.0, 2.0, 0.6)])
    sc = namespace(hist, plan)
    response, fits = fit_response(sc, pd.DataFrame({"product": "P1", "period": periods, "units": base}))
    f = fits.iloc[0]
    rows = response.set_index("channel")
    # w = planner's max_uplift shares 30/40 and 10/40
    assert rows.at["search", "max_uplift"] == pytest.approx(0.75 * f["max_uplift"])
    assert rows.at["video", "half_saturation"] == pytest.approx(0.25 * f["half_saturation"])
    assert (rows["shape"] == f["shape"]).all() and (rows["carryover"] == f["carryover"]).all()
    # spending w_c·x in each channel gives, through the optimizer's curve, the fitted aggregate curve
    x = np.random.default_rng(5).uniform(0, 300, 40) * (np.arange(40) % 3 != 0)
    total = optimizer_hill(reference_adstock(x, f["carryover"]), f["max_uplift"], f["half_saturation"], f["shape"])
    split = sum(optimizer_hill(reference_adstock(w * x, r["carryover"]), r["max_uplift"], r["half_saturation"],
                               r["shape"])
                for w, r in zip([0.75, 0.25], [rows.loc["search"], rows.loc["video"]], strict=True))
    np.testing.assert_allclose(split, total, rtol=1e-12, atol=1e-12)
    # and the recorded history uplift is that same curve at the recorded spend
    up = history_uplift(sc, fits)
    np.testing.assert_allclose(up["units"], hill_curve(reference_adstock(spend, f["carryover"]), f["max_uplift"],
                                                       f["half_saturation"], f["shape"]), rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_split_identity_for_any_curve_and_weights(seed):
    rng = np.random.default_rng(seed)
    M, K, s, lam = rng.uniform(1, 50), rng.uniform(5, 500), rng.uniform(0.5, 4), rng.uniform(0, 0.95)
    w = rng.dirichlet(np.ones(4))
    x = rng.uniform(0, 2 * K, 30) * (rng.random(30) < 0.6)
    total = optimizer_hill(reference_adstock(x, lam), M, K, s)
    split = sum(optimizer_hill(reference_adstock(wc * x, lam), wc * M, wc * K, s) for wc in w)
    np.testing.assert_allclose(split, total, rtol=1e-11, atol=1e-12)


# ---------------------------------------------------------------------- rows kept


def test_products_without_spend_keep_the_planners_rows():
    periods, base, spend, units = synthetic(31, 20.0, 100.0, 2.0, 0.4, n=104)
    nospend = make_history("Q", periods, units, np.zeros_like(spend))
    few = make_history("R", periods, units, np.where(np.arange(104) < 3, 100.0, 0.0))
    fitted = make_history("S", periods, units, spend)
    hist = pd.concat([nospend, few, fitted], ignore_index=True)
    plan = planner_rows([
        ("N", "search", 3.0, 30.0, 1.0, 0.0),  # no history at all (a new product)
        ("Q", "social", 7.0, 70.0, 2.2, 0.3), ("Q", "search", 5.0, 20.0, 1.0, 0.05),
        ("R", "video", 9.0, 90.0, 2.0, 0.5),
    ])
    sc = namespace(hist, plan)
    baseline = pd.concat([pd.DataFrame({"product": p, "period": periods, "units": base}) for p in "QRS"])
    response, fits = fit_response(sc, baseline)
    assert list(response.columns) == COLS
    assert response.equals(response.sort_values(["product", "channel"]).reset_index(drop=True))
    kept = response[response["product"].isin(["N", "Q", "R"])].reset_index(drop=True)
    expected = plan.sort_values(["product", "channel"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, expected)
    status = fits.set_index("product")["status"]
    assert status.to_dict() == {"Q": "kept", "R": "too_little_data", "S": "fitted"}
    assert list(fits.columns) == ["product", "n_spend_periods", "max_uplift", "half_saturation", "shape",
                                  "carryover", "r2", "rmse", "status", "message"]
    # S has spend but no planner rows: every channel of channels.csv, equal weights
    s_rows = response[response["product"] == "S"]
    assert list(s_rows["channel"]) == ["search", "social", "video"]
    f = fits.set_index("product").loc["S"]
    np.testing.assert_allclose(s_rows["max_uplift"], f["max_uplift"] / 3)
    np.testing.assert_allclose(s_rows["half_saturation"], f["half_saturation"] / 3)


def test_empty_history_keeps_everything():
    plan = planner_rows([("P1", "search", 3.0, 30.0, 1.0, 0.0)])
    hist = pd.DataFrame({"product": pd.Series(dtype="object"), "region": pd.Series(dtype="object"),
                         "period": pd.Series(dtype="int64"), "units": pd.Series(dtype="float64"),
                         "ad_spend": pd.Series(dtype="float64")})
    response, fits = fit_response(namespace(hist, plan), pd.DataFrame(columns=["product", "period", "units"]))
    pd.testing.assert_frame_equal(response, plan)
    assert fits.empty


def test_generated_scenario_fits_without_nan():
    from optsupply.scenario.generate import generate

    sc = generate("small", 2)
    tot = sc.history.groupby(["product", "period"], as_index=False)[["units", "ad_spend"]].sum()
    quiet = tot[tot["ad_spend"] == 0].groupby("product")["units"].mean()  # a flat ad-free baseline
    baseline = tot[["product", "period"]].assign(units=tot["product"].map(quiet).fillna(0.0))
    response, fits = fit_response(sc, baseline)
    assert not response[COLS[2:]].isna().any().any()
    assert (response["half_saturation"] > 0).all() and (response["max_uplift"] >= 0).all()
    assert (response["carryover"] < 1).all()
    assert set(sc.response["product"]) <= set(response["product"])
    done = fits[fits["status"] == "fitted"]
    assert done[["max_uplift", "half_saturation", "shape", "carryover", "r2", "rmse"]].notna().all().all()
    assert done["carryover"].between(0.0, 0.95).all() and done["shape"].between(0.5, 4.0).all()
