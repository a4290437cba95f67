"""Bass diffusion: closed forms, the published R ``nls`` fit, recovery of known parameters, bad data, launches.

Oracles: the closed-form properties of the Bass model (F(∞) = 1, f = dF/dt,
peak at ln(q/p)/(p+q)), the published R ``nls`` output of Cheng-Jun Wang's
tutorial (``/work/shared/refdata/bass``), and synthetic series drawn from known
``m, p, q``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad

from optsupply.curves import bass_cdf, bass_density, bass_increment
from optsupply.forecasting.bass import BassFit, detect_launch, fit_bass

R_EXAMPLE = Path(__file__).parents[1] / "data" / "bass_nls_R_example.json"  # copied from shared refdata/bass (sources inside)


def sig3(x: float) -> float:
    """``x`` rounded to three significant digits (as R prints it)."""
    return float(f"{x:.3g}")


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize(("p", "q"), [(0.01, 0.4), (0.03, 0.38), (0.1, 1.8), (0.05, 0.0)])
def test_cdf_density_and_increment_are_consistent(p: float, q: float) -> None:
    t = np.linspace(0.0, 40.0, 81)
    # F is the integral of f, f the derivative of F
    for ti in (0.5, 3.0, 11.0):
        assert quad(lambda s: float(bass_density(s, p, q)), 0.0, ti)[0] == pytest.approx(float(bass_cdf(ti, p, q)),
                                                                                          rel=1e-9)
    h = 1e-6
    num = (bass_cdf(t[1:] + h, p, q) - bass_cdf(t[1:] - h, p, q)) / (2 * h)
    np.testing.assert_allclose(bass_density(t[1:], p, q), num, rtol=1e-6, atol=1e-9)
    # boundary values: F(t <= 0) = 0, f(0) = p, F(inf) = 1, increments sum to 1
    assert bass_cdf(0.0, p, q) == 0.0 and bass_cdf(-3.0, p, q) == 0.0
    assert float(bass_density(0.0, p, q)) == pytest.approx(p)
    assert float(bass_density(-1.0, p, q)) == 0.0
    assert float(bass_cdf(1e4, p, q)) == pytest.approx(1.0)
    ages = np.arange(5000)
    inc = bass_increment(ages, p, q)
    np.testing.assert_allclose(inc, bass_cdf(ages + 1.0, p, q) - bass_cdf(ages, p, q), rtol=0, atol=1e-15)
    assert inc.sum() == pytest.approx(1.0)
    assert (inc >= 0).all()


def test_density_peaks_where_theory_says() -> None:
    p, q = 0.02, 0.5
    t_star = math.log(q / p) / (p + q)
    t = np.linspace(0.0, 20.0, 200_001)
    assert t[np.argmax(bass_density(t, p, q))] == pytest.approx(t_star, abs=1e-4)
    # the cumulative share at the peak is (1 − p/q) / 2
    assert float(bass_cdf(t_star, p, q)) == pytest.approx((1 - p / q) / 2)


def test_generator_uses_these_curves() -> None:
    from optsupply.scenario import generate_params as generate

    assert generate.bass_curve is bass_increment
    assert generate.bass_cdf is bass_cdf
    p, q = generate.bass_parameters(4.5, 10.0)
    assert int(np.argmax(generate.bass_curve(np.arange(30), p, q))) == 4


# --------------------------------------------------------------------------- the published R nls example


def test_reproduces_the_published_R_nls_fit() -> None:
    ref = json.loads(R_EXAMPLE.read_text())
    pub = ref["published_R_nls_output"]
    fit = fit_bass(ref["sales"], ref["t"], form="density")
    assert fit.converged, fit.message
    assert fit.n == 10 and fit.form == "density"
    assert sig3(fit.m) == pub["M"]
    assert sig3(fit.p) == pub["P"]
    assert sig3(fit.q) == pub["Q"]
    assert sig3(fit.se_m) == pub["M_se"]
    assert sig3(fit.se_p) == pub["P_se"]
    assert sig3(fit.se_q) == pub["Q_se"]
    assert sig3(fit.rse) == pub["residual_standard_error"]
    # from R's own starting values, too
    again = fit_bass(ref["sales"], ref["t"], form="density", p0=(60630.0, 0.03, 0.38))
    assert again.m == pytest.approx(fit.m, rel=1e-4) and again.q == pytest.approx(fit.q, rel=1e-4)
    # fitted values follow the density form
    np.testing.assert_allclose(fit.predict(ref["t"]), fit.m * bass_density(np.array(ref["t"]), fit.p, fit.q))


# --------------------------------------------------------------------------- recovery of known parameters


@pytest.mark.parametrize(("m", "p", "q", "n"), [(5000.0, 0.02, 0.4, 20), (800.0, 0.08, 1.2, 10),
                                                 (20000.0, 0.005, 0.25, 30)])
def test_recovers_exact_parameters_without_noise(m: float, p: float, q: float, n: int) -> None:
    ages = np.arange(n)
    fit = fit_bass(m * bass_increment(ages, p, q))
    assert fit.converged, fit.message
    assert (fit.m, fit.p, fit.q) == pytest.approx((m, p, q), rel=1e-5)
    assert fit.rse == pytest.approx(0.0, abs=1e-6 * m)


def test_recovers_density_form_without_noise() -> None:
    t = np.arange(1, 16)
    fit = fit_bass(3000.0 * bass_density(t, 0.01, 0.6), t, form="density")
    assert fit.converged
    assert (fit.m, fit.p, fit.q) == pytest.approx((3000.0, 0.01, 0.6), rel=1e-5)


def test_standard_errors_match_the_spread_of_estimates() -> None:
    """Monte Carlo with the classical model's noise (iid normal): estimates are unbiased and scatter
    around the truth as much as the standard errors say."""
    m, p, q = 4000.0, 0.02, 0.45
    ages = np.arange(24)
    mu = m * bass_increment(ages, p, q)
    rng = np.random.default_rng(7)
    fits = [fit_bass(mu + rng.normal(0.0, 10.0, size=len(ages))) for _ in range(80)]
    assert all(f.converged for f in fits)
    est = np.array([(f.m, f.p, f.q) for f in fits])
    se = np.array([(f.se_m, f.se_p, f.se_q) for f in fits])
    bias = (est.mean(axis=0) - (m, p, q)) / se.mean(axis=0)
    assert (np.abs(bias) < 0.5).all(), bias
    ratio = est.std(axis=0) / se.mean(axis=0)
    assert ((ratio > 0.75) & (ratio < 1.3)).all(), ratio
    assert (np.abs(est - (m, p, q)) < 5 * se).all()
    rse = np.array([f.rse for f in fits])
    assert rse.mean() == pytest.approx(10.0, rel=0.1)


def test_recovers_parameters_from_poisson_sales() -> None:
    m, p, q = 4000.0, 0.02, 0.45
    ages = np.arange(24)
    rng = np.random.default_rng(11)
    for _ in range(10):
        fit = fit_bass(rng.poisson(m * bass_increment(ages, p, q)).astype("float64"))
        assert fit.converged
        assert fit.m == pytest.approx(m, rel=0.06)
        assert fit.p == pytest.approx(p, rel=0.2)
        assert fit.q == pytest.approx(q, rel=0.08)


def test_robust_loss_resists_ad_bursts() -> None:
    m, p, q = 3000.0, 0.03, 0.5
    ages = np.arange(20)
    rng = np.random.default_rng(3)
    y = rng.poisson(m * bass_increment(ages, p, q)).astype("float64")
    bursts = np.array([3, 8, 9, 14])
    y[bursts] *= 1.8  # advertising uplift in a few periods
    plain = fit_bass(y)
    robust = fit_bass(y, loss="soft_l1")
    assert robust.converged
    assert abs(robust.m - m) < abs(plain.m - m)
    assert robust.m == pytest.approx(m, rel=0.08)
    assert robust.q == pytest.approx(q, rel=0.15)


def test_fits_series_with_gaps_and_a_late_start() -> None:
    m, p, q = 1500.0, 0.04, 0.6
    ages = np.array([0, 1, 2, 4, 5, 7, 8, 9, 11, 12], dtype=float)  # periods left out (e.g. ad spend)
    fit = fit_bass(m * bass_increment(ages, p, q), ages)
    assert fit.converged and (fit.m, fit.p, fit.q) == pytest.approx((m, p, q), rel=1e-5)


# --------------------------------------------------------------------------- bad data never raises


@pytest.mark.parametrize(("y", "t", "why"), [
    ([], None, "no data"),
    ([0.0, 0.0, 0.0, 0.0, 0.0], None, "no positive"),
    ([12.0], None, "at least 3"),
    ([3.0, 5.0], None, "at least 3"),
    ([3.0, np.nan, 8.0, 9.0, 7.0], None, "NaN"),
    ([3.0, np.inf, 8.0, 9.0, 7.0], None, "NaN"),
    ([3.0, 5.0, 8.0, 9.0], [0, 1, 2], "same length"),
    ([[1.0, 2.0], [3.0, 4.0]], None, "1-d"),
    (["a", "b", "c"], None, "invalid"),
])
def test_bad_data_gives_converged_false_never_an_exception(y, t, why: str) -> None:
    fit = fit_bass(y, t)
    assert isinstance(fit, BassFit)
    assert fit.converged is False
    assert why in fit.message
    assert math.isnan(fit.m) and math.isnan(fit.se_m)


def test_unknown_form_is_reported_not_raised() -> None:
    fit = fit_bass([1.0, 2.0, 3.0, 2.0], form="logistic")
    assert not fit.converged and "unknown form" in fit.message


def test_three_points_fit_without_standard_errors() -> None:
    y = 1000.0 * bass_increment(np.arange(3), 0.05, 0.5)
    fit = fit_bass(y)
    assert math.isnan(fit.se_m) and math.isnan(fit.rse)


def test_flat_series_stays_bounded() -> None:
    """No take-off in sight: m is not identified, the fit stops at its bound instead of running off."""
    fit = fit_bass(np.full(8, 20.0))
    assert np.isfinite(fit.m) and fit.m <= 100 * 160.0 * (1 + 1e-9)


# --------------------------------------------------------------------------- launch detection


def test_launch_is_the_start_of_a_series_that_begins_inside_the_history() -> None:
    periods = np.arange(-10, 0)
    units = np.array([3, 9, 15, 20, 22, 18, 15, 12, 10, 8], dtype=float)
    assert detect_launch(periods, units, history_start=-52) == -10
    # shuffled input, a slow first period (one zero row) still counts as the launch
    units0 = units.copy()
    units0[0] = 0.0
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(periods))
    assert detect_launch(periods[perm], units0[perm], history_start=-52) == -10
    # a long run of zero rows: listed but not selling yet, the launch is the first sale
    units5 = units.copy()
    units5[:5] = 0.0
    assert detect_launch(periods, units5, history_start=-52) == -5


def test_mature_product_has_no_launch() -> None:
    periods = np.arange(-52, 0)
    rng = np.random.default_rng(1)
    units = rng.poisson(30.0 * (1 + 0.3 * np.sin(periods / 52 * 2 * np.pi)), size=52).astype(float)
    assert detect_launch(periods, units, history_start=-52) is None
    # a slow mover selling ~0.5 a period is not a launch either
    slow = rng.poisson(0.5, size=52).astype(float)
    assert detect_launch(periods, slow, history_start=-52) is None


def test_launch_rising_from_zero_at_the_start_of_the_history() -> None:
    periods = np.arange(-30, 0)
    units = np.r_[np.zeros(6), 1000 * bass_increment(np.arange(24), 0.01, 0.5)]
    assert detect_launch(periods, units, history_start=-30) == -30 + 6
    assert detect_launch(periods, units) == -24  # history_start defaults to the series' start


def test_no_sales_no_launch() -> None:
    assert detect_launch([], []) is None
    assert detect_launch([-3, -2, -1], [0.0, 0.0, 0.0], history_start=-10) is None
    assert detect_launch([-3, -2, -1], [np.nan, np.nan, np.nan], history_start=-10) is None
