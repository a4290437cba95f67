"""The piecewise-linear Hill approximation: g <= h, error within tolerance, shape of the slopes."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from optsupply.curves import hill
from optsupply.model.pwl import HillPWL, hill_pwl

SHAPES = (0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
TOLERANCES = (0.05, 0.01, 0.005, 0.001)
SCALES = ((1.0, 1.0), (1e-3, 1e7), (1e6, 1e-2), (250.0, 3000.0))   # (max_uplift, half_saturation)
GRID = [(s, tol, M, k) for s in SHAPES for tol in TOLERANCES for (M, k) in SCALES]


@functools.lru_cache(maxsize=None)
def build(shape: float, tol: float, M: float, k: float) -> HillPWL:
    return hill_pwl(M, k, shape, tol)


def g_of(pwl: HillPWL, e: np.ndarray) -> np.ndarray:
    """g by its definition: interpolation on [0, e_n], flat beyond."""
    return np.interp(e, pwl.breakpoints, pwl.values, right=pwl.values[-1])


def inflection(shape: float, k: float) -> float | None:
    return k * ((shape - 1) / (shape + 1)) ** (1 / shape) if shape > 1 else None


def dense_grid(pwl: HillPWL, shape: float, k: float) -> np.ndarray:
    e = pwl.breakpoints
    pts = [e, np.logspace(-12, 0, 3000) * e[-1]]
    for a, b in zip(e[:-1], e[1:]):
        pts.append(np.linspace(a, b, 401))
    xs = inflection(shape, k)
    if xs is not None:
        pts.append(xs * (1 + np.linspace(-0.2, 0.2, 2001)))
    pts.append(e[-1] * np.array([1 + 1e-9, 1.0001, 1.01, 1.1, 2, 10, 1e3, 1e6, 1e12]))
    return np.unique(np.concatenate(pts))


def slopes(pwl: HillPWL) -> np.ndarray:
    return np.diff(pwl.values) / np.diff(pwl.breakpoints)


def gap(pwl: HillPWL, shape: float, M: float, k: float) -> np.ndarray:
    e = dense_grid(pwl, shape, k)
    return hill(e, M, k, shape) - g_of(pwl, e)


# --- the true curve ---------------------------------------------------------

def test_hill_closed_form():
    assert hill(0.0, 7.0, 3.0, 2.0) == 0.0
    assert hill(np.array([0.0]), 7.0, 3.0, 0.5)[0] == 0.0
    for k in (1e-2, 1.0, 3000.0, 1e7):
        assert hill(k, 250.0, k, 1.0) == pytest.approx(125.0, rel=1e-14)
        assert hill(k, 250.0, k, 3.7) == pytest.approx(125.0, rel=1e-14)
    for s in SHAPES:
        assert hill(1e300, 4.0, 2.0, s) == pytest.approx(4.0, rel=1e-12)
        assert hill(np.inf, 4.0, 2.0, s) == 4.0
    e = np.array([0.5, 1.0, 2.0, 10.0])
    np.testing.assert_allclose(hill(e, 3.0, 2.0, 2.5), 3.0 * e**2.5 / (e**2.5 + 2.0**2.5), rtol=1e-13)
    h = hill(np.linspace(0, 100, 1001), 1.0, 5.0, 3.0)
    assert np.all(np.diff(h) > 0)


# --- the guarantees, on the whole grid ---------------------------------------

@pytest.mark.parametrize("shape,tol,M,k", GRID)
def test_guarantees(shape, tol, M, k):
    pwl = build(shape, tol, M, k)
    e, g = pwl.breakpoints, pwl.values
    assert e[0] == 0.0 and g[0] == 0.0
    assert np.all(np.diff(e) > 0)
    assert np.all(np.diff(g) >= 0)
    assert np.all(np.isfinite(e)) and np.all(np.isfinite(g)) and np.all(np.isfinite(slopes(pwl)))

    d = gap(pwl, shape, M, k)
    assert d.min() >= -1e-12 * M, "g exceeds the true curve"
    assert d.max() <= tol * M
    assert 0.0 <= pwl.max_error <= tol * M
    # max_error is the exact maximum: the dense grid can only find less, but not much less
    assert d.max() <= pwl.max_error + 1e-12 * M
    assert d.max() >= 0.99 * pwl.max_error
    # the flat tail starts where the curve is within tolerance of M
    assert hill(e[-1], M, k, shape) >= M * (1 - tol)

    # convex head / concave tail
    assert (pwl.n_convex == 0) == (shape <= 1)
    sl = slopes(pwl)
    assert np.all(np.diff(sl[pwl.n_convex:]) <= 0)
    if pwl.n_convex:
        assert np.all(np.diff(sl[:pwl.n_convex]) >= 0)
        assert e[pwl.n_convex] == pytest.approx(inflection(shape, k), rel=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("tol", TOLERANCES)
def test_scale_invariant_and_deterministic(shape, tol):
    ref = hill_pwl(1.0, 1.0, shape, tol)
    again = hill_pwl(1.0, 1.0, shape, tol)
    assert np.array_equal(ref.breakpoints, again.breakpoints)
    assert np.array_equal(ref.values, again.values)
    assert ref.max_error == again.max_error
    for M, k in SCALES:
        pwl = build(shape, tol, M, k)
        assert pwl.n_convex == ref.n_convex
        np.testing.assert_allclose(pwl.breakpoints / k, ref.breakpoints, rtol=1e-12, atol=0)
        np.testing.assert_allclose(pwl.values / M, ref.values, rtol=1e-12, atol=0)
        assert pwl.max_error / M == pytest.approx(ref.max_error, rel=1e-9)


def test_few_segments():
    counts = {s: len(hill_pwl(1.0, 1.0, s, 0.005).breakpoints) - 1 for s in SHAPES}
    assert counts[1.0] <= 20
    assert all(n <= 30 for n in counts.values()), counts
    assert max(len(hill_pwl(1.0, 1.0, s, 0.001).breakpoints) - 1 for s in SHAPES) <= 60


# --- s = 1: an independent, closed-form oracle --------------------------------
# f(x) = x/(1+x). With w = (1+x)^(-1/2), the chord of [a, b] has maximum error
# (w_a - w_b)^2, and the flat tail after b has error w_b^2. So n chords from 0
# reach at best 1/(n+1)^2 (equal steps in w), and the fewest chords meeting tol
# is ceil(1/sqrt(tol) - 1).

@pytest.mark.parametrize("tol", TOLERANCES + (0.02, 0.0002))
def test_s1_against_closed_form(tol):
    pwl = hill_pwl(1.0, 1.0, 1.0, tol)
    n = len(pwl.breakpoints) - 1
    w = 1.0 / np.sqrt(1.0 + pwl.breakpoints)
    exact = max(np.max(np.diff(w) ** 2), w[-1] ** 2)
    assert pwl.max_error == pytest.approx(exact, rel=1e-9)
    n_min = math.ceil(1.0 / math.sqrt(tol) - 1.0 - 1e-9)
    assert n_min <= n <= n_min + 1
    # no chord interpolation with as many segments is much better
    assert 1.0 / (n + 1) ** 2 >= 0.75 * tol


# --- s <= 1: infinite slope at 0 --------------------------------------------

@pytest.mark.parametrize("shape", (0.1, 0.3, 0.5, 0.9, 1.0))
def test_concave_shapes(shape):
    pwl = hill_pwl(10.0, 2.0, shape, 0.01)
    assert pwl.n_convex == 0
    sl = slopes(pwl)
    assert np.all(np.isfinite(sl)) and sl[0] > 0
    assert np.all(np.diff(sl) <= 0)
    d = gap(pwl, shape, 10.0, 2.0)
    assert d.min() >= -1e-12 * 10.0 and d.max() <= 0.1


@pytest.mark.parametrize("shape", (1.001, 1.05, 8.0, 20.0))
def test_extreme_s_shapes(shape):
    pwl = hill_pwl(1.0, 1.0, shape, 0.005)
    assert pwl.n_convex >= 1
    d = gap(pwl, shape, 1.0, 1.0)
    assert d.min() >= -1e-12 and d.max() <= 0.005
    assert np.all(np.diff(slopes(pwl)[pwl.n_convex:]) <= 0)


# --- the checks above have teeth ------------------------------------------------

def test_plain_chords_would_exceed_the_curve():
    """Chords through the curve at the same breakpoints lie above it on the convex part."""
    shape, M, k = 3.0, 1.0, 1.0
    pwl = hill_pwl(M, k, shape, 0.005)
    naive = HillPWL(pwl.breakpoints, hill(pwl.breakpoints, M, k, shape), pwl.n_convex, 0.0)
    assert gap(naive, shape, M, k).min() < -1e-4
    assert gap(pwl, shape, M, k).min() >= -1e-12


def test_coarser_tolerance_is_caught():
    pwl = hill_pwl(1.0, 1.0, 2.0, 0.05)
    assert gap(pwl, 2.0, 1.0, 1.0).max() > 0.01


@pytest.mark.parametrize("bad", [
    dict(max_uplift=0.0), dict(max_uplift=-1.0), dict(half_saturation=0.0), dict(shape=0.0),
    dict(shape=math.nan), dict(half_saturation=math.inf), dict(tolerance=0.0), dict(tolerance=1.0),
    dict(tolerance=-0.1),
])
def test_rejects_bad_parameters(bad):
    args = dict(max_uplift=1.0, half_saturation=1.0, shape=2.0, tolerance=0.01) | bad
    with pytest.raises(ValueError):
        hill_pwl(**args)


# --- the incremental MIP formulation of the module docstring ----------------------

def best_uplift(pwl: HillPWL, e: float, link_tail: bool = True) -> float:
    """max u s.t. the incremental formulation at effective spend e (solved exactly)."""
    n, nc = len(pwl.breakpoints) - 1, pwl.n_convex
    length, rise = np.diff(pwl.breakpoints), np.diff(pwl.values)
    # variables: delta_0..delta_{n-1}, z_0..z_{nc-1}
    nv = n + nc
    c = -np.concatenate([rise, np.zeros(nc)])
    rows, ub = [np.concatenate([length, np.zeros(nc)])], [e]
    for i in range(nc):
        r = np.zeros(nv); r[n + i] = 1; r[i] = -1            # z_i <= delta_i
        rows.append(r); ub.append(0.0)
        if i + 1 < n:
            r = np.zeros(nv); r[i + 1] = 1; r[n + i] = -1    # delta_{i+1} <= z_i
            rows.append(r); ub.append(0.0)
    if link_tail and nc:
        for j in range(nc + 1, n):
            r = np.zeros(nv); r[j] = 1; r[n + nc - 1] = -1   # delta_j <= z_{nc-1}
            rows.append(r); ub.append(0.0)
    res = milp(c, constraints=LinearConstraint(np.array(rows), -np.inf, np.array(ub)),
               integrality=np.concatenate([np.zeros(n), np.ones(nc)]), bounds=Bounds(0, 1))
    assert res.success
    return -res.fun


@pytest.mark.parametrize("shape", (0.5, 1.0, 2.0, 3.0))
def test_incremental_formulation_reproduces_g(shape):
    M, k = 250.0, 3000.0
    pwl = hill_pwl(M, k, shape, 0.01)
    spends = np.concatenate([pwl.breakpoints, (pwl.breakpoints[:-1] + pwl.breakpoints[1:]) / 2,
                             [0.3 * k, 2.5 * pwl.breakpoints[-1]]])
    for e in spends:
        u = best_uplift(pwl, float(e))
        assert u == pytest.approx(float(g_of(pwl, np.array([e]))[0]), abs=1e-7 * M)
        assert u <= hill(e, M, k, shape) + 1e-7 * M


def test_tail_must_be_linked_to_the_last_binary():
    """Without delta_j <= z_{n_convex-1} a tail segment can be claimed on its own."""
    M, k, shape = 1.0, 1.0, 3.0
    pwl = hill_pwl(M, k, shape, 0.01)
    e = float(np.diff(pwl.breakpoints)[pwl.n_convex + 1])
    assert best_uplift(pwl, e, link_tail=False) > hill(e, M, k, shape) + 0.01
    assert best_uplift(pwl, e) <= hill(e, M, k, shape)
