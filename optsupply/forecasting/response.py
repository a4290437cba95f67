r"""Ad response curves fitted to the sales that the baseline does not explain.

Model (per product, on totals over regions; history spend has no channel)::

    a_t = x_t + λ · a_{t−1},   a = 0 before the product's first history period   (geometric adstock)
    g(a) = M · a^s / (a^s + K^s)                                                 (Hill curve)
    y_t − b_t = g(a_t) + ε_t

with ``x_t`` the product's ad spend, ``y_t`` its units, ``b_t`` the baseline
(expected units without advertising), ``M = max_uplift``, ``K =
half_saturation``, ``s = shape``, ``λ = carryover``. This is the curve of
``response.csv`` (:func:`optsupply.curves.hill`) with the optimizer's
adstock recursion.

Channels
--------
The fitted aggregate curve is written as one row per channel by the
*proportional split*: channel ``c`` with weight ``w_c`` (``Σ w_c = 1``) gets
``(w_c M, w_c K, s, λ)``. Adstock is linear in spend, so spending ``w_c x_t`` in
every channel gives ``a_{c,t} = w_c a_t`` and

.. math:: \sum_c w_c M \frac{(w_c a)^s}{(w_c a)^s + (w_c K)^s}
          = \sum_c w_c\, M \frac{a^s}{a^s + K^s} = g(a),

i.e. the planner's total uplift at that spend mix is exactly the fitted curve.

Estimation and identifiability
------------------------------
Least squares (:func:`fit_hill_adstock`): ``max_uplift`` solved in closed form
inside a grid over carryover × shape × half-saturation, the best grid points
refined by :func:`scipy.optimize.least_squares` within the bounds
``s ∈ [0.5, 4]``, ``λ ∈ [0, 0.95)``, ``K > 0``, ``M >= 0``, plus a weak
log-normal prior on the shape (weight of one observation). What history pins
down is the curve over the spend levels it saw: with a steep curve (s ≳ 2)
and spend around ``K``, ``M`` and ``K`` come back within a few percent on
clean synthetic data; for a concave curve (s ≈ 1) ``M``, ``K`` and ``s``
trade off against each other inside the observed range (several parameter
sets fit equally well) although the curve itself is recovered. On
generated scenarios, where sales noise is several times the uplift and four
channels with different curves are summed into one spend series, the
median ``r2`` of the uplift fit is about 0.2; ``r2`` and ``rmse`` are
reported per product so that a planner can decide which rows to trust.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.signal import lfilter

from optsupply.scenario.schema import MAX_AMOUNT, MIN_HALF_SATURATION

logger = logging.getLogger(__name__)

__all__ = ["fit_response", "adstock", "hill_curve", "fit_hill_adstock", "split_channels", "history_uplift"]

#: fewest periods with spend > 0 for a fit
MIN_SPEND_PERIODS = 8
#: fewest periods (with a baseline) for a fit
MIN_PERIODS = 12
#: parameter bounds: shape, carryover (upper bound open: 0.95 − 1e-9)
SHAPE_BOUNDS = (0.5, 4.0)
CARRY_BOUNDS = (0.0, 0.95)
#: grid of starting values (variable projection: max_uplift is solved exactly at every grid point)
_GRID_CARRY = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
_GRID_SHAPE = np.array([0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0])
_GRID_K = 24
#: number of best grid points refined by least squares (the "several starts")
N_STARTS = 4

RESPONSE_COLUMNS = ["product", "channel", "max_uplift", "half_saturation", "shape", "carryover"]
FIT_COLUMNS = ["product", "n_spend_periods", "max_uplift", "half_saturation", "shape", "carryover", "r2", "rmse",
               "status", "message"]


# ---------------------------------------------------------------------- curve pieces


def adstock(x: np.ndarray, carryover: float) -> np.ndarray:
    r"""Geometric adstock along the last axis: :math:`a_t = x_t + \lambda a_{t-1}`, ``a_{-1} = 0``.

    Parameters
    ----------
    x : array_like
        Spend per period (last axis = time).
    carryover : float
        ``λ`` in ``[0, 1)``.

    Returns
    -------
    ndarray
        Effective spend, same shape as ``x``.
    """
    x = np.asarray(x, dtype="float64")
    if carryover == 0.0:
        return x.copy()
    return lfilter([1.0], [1.0, -float(carryover)], x, axis=-1)


def hill_curve(a: np.ndarray, max_uplift: float, half_saturation: float, shape: float) -> np.ndarray:
    r"""Hill curve :math:`g(a) = M a^s / (a^s + K^s)` (0 for ``a <= 0``), computed without overflow.

    Written as :math:`M / (1 + (K/a)^s)`; identical to :func:`optsupply.curves.hill`.
    """
    a = np.asarray(a, dtype="float64")
    pos = a > 0
    safe = np.where(pos, a, 1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        v = max_uplift / (1.0 + np.power(float(half_saturation) / safe, float(shape)))
    return np.where(pos, v, 0.0)


def _hill_unit(a: np.ndarray, K: np.ndarray | float, s: np.ndarray | float) -> np.ndarray:
    """a^s / (a^s + K^s), broadcasting, 0 for a <= 0."""
    pos = a > 0
    safe = np.where(pos, a, 1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        v = 1.0 / (1.0 + np.power(K / safe, s))
    return np.where(pos, v, 0.0)


# ---------------------------------------------------------------------- one fit


def _linear(h: np.ndarray, uu: np.ndarray, wt: np.ndarray, cap: float, intercept: bool) -> tuple[float, float, bool]:
    """Weighted LS of u on [1, h] (or h alone): (c, M, free) with 0 <= M <= cap; free = M not clipped."""
    sw_ = float(wt.sum())
    hh = float(np.sum(wt * h * h))
    hu = float(np.sum(wt * h * uu))
    if not intercept:
        m = hu / hh if hh > 0 else 0.0
        mc = min(max(m, 0.0), cap)
        return 0.0, mc, (mc == m and hh > 0)
    s1 = float(np.sum(wt * h))
    su = float(np.sum(wt * uu))
    det = sw_ * hh - s1 * s1
    if det > 1e-12 * max(sw_ * hh, 1e-300):
        m = (sw_ * hu - s1 * su) / det
        if 0.0 <= m <= cap:
            return (su - m * s1) / sw_, m, True
    m = 0.0 if (det <= 0 or (sw_ * hu - s1 * su) < 0) else cap
    return (su - m * s1) / sw_, m, False


def fit_hill_adstock(x: np.ndarray, u: np.ndarray, *, weight: np.ndarray | None = None,
                     max_uplift_cap: float | None = None, intercept: bool = False,
                     shape_prior: tuple[float, float] | None = (1.0, 0.7)) -> dict:
    r"""Least-squares fit of ``u_t ≈ M·a_t^s/(a_t^s + K^s)`` (optionally ``+ c``), ``a = adstock(x, λ)``.

    Variable projection: for fixed ``θ = (ln K, s, λ)`` the best ``M >= 0``
    is the weighted linear least-squares solution
    :math:`M^* = \langle h, u\rangle_w / \langle h, h\rangle_w` (clipped to
    ``[0, cap]``) with ``h = a^s/(a^s + K^s)``; with ``intercept=True`` the
    columns are ``1, h`` and an offset ``c`` is fitted too. The offset is off
    by default: it can absorb a constant error of the baseline, but with a
    long carryover the adstock never returns to 0, ``h`` becomes almost
    constant and ``c ≈ −M`` fits noise with a large fake ``max_uplift``.

    A grid over ``λ ∈ {0, 0.1, …, 0.9}``, ``s ∈ {0.5 … 4}`` and 24 values of
    ``K`` (geometric, from a twentieth of the smallest positive spend to 20×
    the largest effective spend) is evaluated at once; the ``N_STARTS`` best
    distinct grid points start :func:`scipy.optimize.least_squares` (trust
    region reflective, exact Jacobian of the projected residual) on ``θ``,
    and the best optimum wins. Bounds: ``s ∈ [0.5, 4]``, ``λ ∈ [0, 0.95)``,
    ``K`` inside the grid range (``> 0``), ``0 <= M <= max_uplift_cap``.

    With ``shape_prior = (s0, τ)`` the loss gets the penalty
    :math:`\hat\sigma^2 (\ln s - \ln s_0)^2 / \tau^2` — a weak log-normal
    prior on the shape (MAP estimate), with :math:`\hat\sigma^2` the residual
    variance of the best grid point. With short, noisy series a free shape
    tends to jump to a step (``s = 4``) that fits a few noise spikes; the
    prior (default: the classic Hill ``s0 = 1``, ``τ = 0.7``, i.e. ``s`` in
    ``[0.5, 2]`` at one sd) keeps it moderate unless the data insist. It
    weighs like a single observation, so it is negligible for clean data.

    Parameters
    ----------
    x : array_like
        Spend per period (consecutive periods, zeros where nothing was spent).
    u : array_like
        Units to explain (sales minus baseline); NaN marks periods left out of
        the loss (the adstock still runs through them).
    weight : array_like, optional
        Least-squares weights per period.
    max_uplift_cap : float, optional
        Upper bound for ``M`` (default: 20 × the largest ``|u|``).
    intercept : bool
        Fit the offset ``c`` (see above; off by default).
    shape_prior : (float, float) or None
        ``(s0, τ)`` of the log-normal shape prior; None for plain least squares.

    Returns
    -------
    dict
        max_uplift, half_saturation, shape, carryover, offset, sse, r2, rmse, n,
        at_bound (list of names), ok (bool), message.
    """
    x = np.asarray(x, dtype="float64")
    u = np.asarray(u, dtype="float64")
    use = np.isfinite(u) & np.isfinite(x)
    wt = use.astype(float) if weight is None else np.where(use, np.asarray(weight, dtype="float64"), 0.0)
    uu = np.where(use, u, 0.0)
    xx = np.where(np.isfinite(x), np.maximum(x, 0.0), 0.0)
    n = int(use.sum())
    out = {"max_uplift": 0.0, "half_saturation": np.nan, "shape": np.nan, "carryover": np.nan, "offset": 0.0,
           "sse": np.nan, "r2": np.nan, "rmse": np.nan, "n": n, "at_bound": [], "ok": False, "message": ""}
    if n < 3 or not np.any(xx > 0) or wt.sum() <= 0:
        out["message"] = "no spend or too few periods"
        return out
    cap = float(max_uplift_cap) if max_uplift_cap is not None else 20.0 * float(np.max(np.abs(uu[use]))) + 1e-9
    W = float(wt.sum())
    ubar = float(np.sum(wt * uu) / W)
    sst = float(np.sum(wt * (uu - ubar) ** 2))
    Ks, k_lo, k_hi, sse_grid = _grid_sse(xx, uu, wt, cap, intercept)
    sse_grid, order, prior_w, starts = _grid_starts(sse_grid, Ks, W, intercept, shape_prior)
    lo = np.array([math.log(k_lo), SHAPE_BOUNDS[0], CARRY_BOUNDS[0]])
    hi = np.array([math.log(k_hi), SHAPE_BOUNDS[1], CARRY_BOUNDS[1] - 1e-9])
    lns0 = math.log(shape_prior[0]) if shape_prior is not None else 0.0
    hill_of, resid, jac = _projected_problem(xx, uu, wt, cap, intercept, prior_w, lns0)
    theta = _refine(resid, jac, starts, lo, hi)
    if theta is None:
        li, si, ki = np.unravel_index(order[0], sse_grid.shape)
        theta = np.array([math.log(Ks[ki]), _GRID_SHAPE[si], _GRID_CARRY[li]])
    h = hill_of(theta)
    c_, m, _ = _linear(h, uu, wt, cap, intercept)
    sse = float(np.sum(wt * (uu - c_ - m * h) ** 2))
    at = _at_bounds(theta, m, lo, hi, cap)
    out.update(max_uplift=float(m), half_saturation=float(math.exp(theta[0])), shape=float(theta[1]),
               carryover=float(max(theta[2], 0.0)), offset=float(c_), sse=sse,
               r2=(1.0 - sse / sst) if sst > 0 else np.nan, rmse=math.sqrt(sse / W), at_bound=at, ok=True)
    msgs = []
    if m <= 0:
        msgs.append("no uplift detectable: max_uplift 0")
    if at and m > 0:
        msgs.append("at a bound: " + ", ".join(at) + (" (spend never saturated: max_uplift and half_saturation "
                                                       "are poorly identified)" if "half_saturation (upper)" in at
                                                       else ""))
    out["message"] = "; ".join(msgs)
    return out


def _grid_sse(xx: np.ndarray, uu: np.ndarray, wt: np.ndarray, cap: float,
              intercept: bool) -> tuple[np.ndarray, float, float, np.ndarray]:
    """The half-saturation grid (and its ends) and the SSE at every grid point (λ × s × K), the linear part in closed form."""
    W = float(wt.sum())
    A = np.stack([adstock(xx, lam) for lam in _GRID_CARRY])  # nλ × n
    # within the half_saturation a scenario accepts (optsupply.scenario.schema), so that the fitted curve can be planned with
    k_lo = max(float(xx[xx > 0].min()) / 20.0, MIN_HALF_SATURATION)
    k_hi = min(max(20.0 * float(A.max()), 10.0 * k_lo), MAX_AMOUNT)
    Ks = np.geomspace(k_lo, k_hi, _GRID_K)
    Hh = _hill_unit(A[:, None, None, :], Ks[None, None, :, None], _GRID_SHAPE[None, :, None, None])
    hu = np.einsum("lskn,n->lsk", Hh, wt * uu)
    hh = np.einsum("lskn,n->lsk", Hh * Hh, wt)
    uu2 = float(np.sum(wt * uu * uu))
    if intercept:
        h1 = np.einsum("lskn,n->lsk", Hh, wt)
        su = float(np.sum(wt * uu))
        det = W * hh - h1 * h1
        ok_det = det > 1e-12 * np.maximum(W * hh, 1e-300)
        M = np.clip(np.where(ok_det, (W * hu - h1 * su) / np.where(ok_det, det, 1.0), 0.0), 0.0, cap)
        c = (su - M * h1) / W
        return Ks, k_lo, k_hi, uu2 + W * c * c + M * M * hh - 2 * c * su - 2 * M * hu + 2 * c * M * h1
    M = np.clip(np.where(hh > 0, hu / np.where(hh > 0, hh, 1.0), 0.0), 0.0, cap)
    return Ks, k_lo, k_hi, uu2 - 2.0 * M * hu + M * M * hh


def _grid_starts(sse_grid: np.ndarray, Ks: np.ndarray, W: float, intercept: bool,
                 shape_prior: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray, float, list[np.ndarray]]:
    """The grid's loss with the shape prior's penalty, its points best first, the prior's weight and the
    ``N_STARTS`` best distinct grid points θ = (ln K, s, λ) to start the local fits from."""
    order = np.argsort(sse_grid, axis=None)
    li, si, ki = np.unravel_index(order[0], sse_grid.shape)
    sigma2 = max(float(sse_grid[li, si, ki]) / max(W - 4.0 - intercept, 1.0), 1e-12)
    prior_w = 0.0
    if shape_prior is not None:
        s0, tau = float(shape_prior[0]), float(shape_prior[1])
        prior_w = math.sqrt(sigma2) / tau
        sse_grid = sse_grid + (prior_w * np.log(_GRID_SHAPE / s0))[None, :, None] ** 2
        order = np.argsort(sse_grid, axis=None)
    starts: list[np.ndarray] = []
    for flat in order:
        li, si, ki = np.unravel_index(flat, sse_grid.shape)
        cand = np.array([math.log(Ks[ki]), _GRID_SHAPE[si], _GRID_CARRY[li]])
        if all(np.any(np.abs(cand - s0_) > np.array([0.7, 0.6, 0.15])) for s0_ in starts):
            starts.append(cand)
        if len(starts) >= N_STARTS:
            break
    return sse_grid, order, prior_w, starts


def _projected_problem(xx: np.ndarray, uu: np.ndarray, wt: np.ndarray, cap: float, intercept: bool,
                       prior_w: float, lns0: float):
    """The curve h(θ), the projected residual r(θ) = √w (u − c*(θ) − M*(θ) h(θ)) (plus the shape prior's
    term) and its exact Jacobian, θ = (ln K, s, λ)."""
    sw = np.sqrt(wt)

    def hill_of(theta):
        return _hill_unit(adstock(xx, theta[2]), math.exp(theta[0]), theta[1])

    def resid(theta):
        h = hill_of(theta)
        c_, m_, _ = _linear(h, uu, wt, cap, intercept)
        r = sw * (uu - c_ - m_ * h)
        return np.append(r, prior_w * (math.log(theta[1]) - lns0)) if prior_w > 0 else r

    def jac(theta):
        lam, K, s_ = theta[2], math.exp(theta[0]), theta[1]
        a = adstock(xx, lam)
        h = _hill_unit(a, K, s_)
        pos = a > 0
        safe = np.where(pos, a, 1.0)
        g = h * (1.0 - h)
        da_dlam = adstock(np.r_[0.0, a[:-1]], lam)  # ∂a_t/∂λ = a_{t−1} + λ ∂a_{t−1}/∂λ
        dh = np.empty((len(a), 3))
        dh[:, 0] = -s_ * g
        dh[:, 1] = np.where(pos, g * np.log(safe / K), 0.0)
        dh[:, 2] = np.where(pos, s_ * g / safe, 0.0) * da_dlam
        c_, m_, free = _linear(h, uu, wt, cap, intercept)
        if free:
            X = np.column_stack([np.ones_like(h), h]) if intercept else h[:, None]
            G = X.T @ (wt[:, None] * X)
            beta = np.array([c_, m_]) if intercept else np.array([m_])
            e = uu - X @ beta
            # d beta = G^-1 (dX' W e − X' W dX beta), dX has dh in the h column
            rhs = np.empty((X.shape[1], 3))
            for j in range(3):
                dX = np.zeros_like(X)
                dX[:, -1] = dh[:, j]
                rhs[:, j] = dX.T @ (wt * e) - X.T @ (wt * (dX @ beta))
            dbeta = np.linalg.solve(G, rhs)
            J = -sw[:, None] * (m_ * dh + X @ dbeta)
        else:
            J = -sw[:, None] * (m_ * dh)
        if prior_w > 0:
            J = np.vstack([J, np.array([[0.0, prior_w / s_, 0.0]])])
        return J

    return hill_of, resid, jac


def _refine(resid, jac, starts: list[np.ndarray], lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """The best θ of :func:`scipy.optimize.least_squares` from each start (None when every run fails)."""
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            for s0_ in starts:
                s0_ = np.clip(s0_, lo, hi)
                try:
                    res = least_squares(resid, s0_, jac=jac, bounds=(lo, hi), method="trf",
                                        x_scale=np.array([1.0, 1.0, 0.3]), max_nfev=200)
                except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                    continue
                loss = float(np.sum(res.fun ** 2))
                if np.isfinite(loss) and (best is None or loss < best[0]):
                    best = (loss, res.x)
    return None if best is None else best[1]


def _at_bounds(theta: np.ndarray, m: float, lo: np.ndarray, hi: np.ndarray, cap: float) -> list[str]:
    """The parameters of a fit that ended at a bound."""
    at = []
    if theta[0] >= hi[0] - 1e-6:
        at.append("half_saturation (upper)")
    if theta[0] <= lo[0] + 1e-6:
        at.append("half_saturation (lower)")
    if theta[1] <= lo[1] + 1e-6 or theta[1] >= hi[1] - 1e-6:
        at.append("shape")
    if theta[2] >= hi[2] - 1e-6:
        at.append("carryover")
    if m >= cap * (1 - 1e-9):
        at.append("max_uplift")
    return at


# ---------------------------------------------------------------------- channels


def split_channels(product: str, fit: dict | pd.Series, channels: list[str],
                   weights: np.ndarray | None) -> pd.DataFrame:
    r"""Per-channel rows of an aggregate curve by the proportional split.

    Channel ``c`` gets ``(w_c M, w_c K, s, λ)`` with ``w_c = weights_c / Σ weights`` (equal weights when
    ``weights`` is None or sums to 0). Spending ``w_c x`` in each channel gives exactly ``g(a(x))``
    (module docstring).

    Returns
    -------
    DataFrame
        product, channel, max_uplift, half_saturation, shape, carryover.
    """
    C = len(channels)
    w = np.ones(C) if weights is None else np.maximum(np.asarray(weights, dtype="float64"), 0.0)
    if not np.isfinite(w).all() or w.sum() <= 0:
        w = np.ones(C)
    w = w / w.sum()
    return pd.DataFrame({
        "product": [product] * C,
        "channel": list(channels),
        "max_uplift": w * float(fit["max_uplift"]),
        "half_saturation": w * float(fit["half_saturation"]),
        "shape": np.full(C, float(fit["shape"])),
        "carryover": np.full(C, float(fit["carryover"])),
    })


# ---------------------------------------------------------------------- all products


def _totals(history: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """product → (periods first..last consecutive, units, spend), zeros where no row."""
    if history is None or not len(history):
        return {}
    spend = history["ad_spend"] if "ad_spend" in history.columns else pd.Series(0.0, index=history.index)
    g = (history.assign(ad_spend=spend.fillna(0.0)).groupby(["product", "period"], sort=True)[["units", "ad_spend"]]
         .sum().reset_index())
    out = {}
    prods = g["product"].to_numpy(dtype=object)
    per = g["period"].to_numpy(dtype="int64")
    un = g["units"].to_numpy(dtype="float64")
    sp = g["ad_spend"].to_numpy(dtype="float64")
    cuts = np.flatnonzero(prods[1:] != prods[:-1]) + 1
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(g)], strict=True):
        p0, p1 = int(per[a]), int(per[b - 1])
        periods = np.arange(p0, p1 + 1, dtype="int64")
        U = np.zeros(len(periods))
        X = np.zeros(len(periods))
        U[per[a:b] - p0] = un[a:b]
        X[per[a:b] - p0] = sp[a:b]
        out[str(prods[a])] = (periods, U, X)
    return out


def fit_response(sc, baseline: pd.DataFrame, *, history: pd.DataFrame | None = None) -> tuple[pd.DataFrame,
                                                                                              pd.DataFrame]:
    r"""Fit a Hill curve with geometric carryover per product where history has ad spend.

    For every product with spend in its history: ``x_t`` = total spend,
    ``u_t = y_t − b_t`` (units minus ``baseline``, both summed over regions),
    over the product's periods from its first to its last history row (a
    period without a row counts as zero units and zero spend; periods
    without a baseline row stay out of the loss). Parameters by
    :func:`fit_hill_adstock` (least squares from several starts, weak shape
    prior, ``M <= 20·max|u|``, no offset).

    Fit quality: :math:`r^2 = 1 - \mathrm{SSE}/\sum (u_t - \bar u)^2` and
    :math:`\mathrm{rmse} = \sqrt{\mathrm{SSE}/n}` (units per period).

    The fitted curve is written for the channels the planner's
    ``response.csv`` lists for the product (all channels of ``channels.csv``
    if none; a single channel ``"ads"`` when there are no channels at all) by
    the proportional split (:func:`split_channels`), with ``w_c`` the
    planner's ``max_uplift`` share (equal when the planner has none).

    Status per product: ``fitted``; ``kept`` (no spend in history: the
    planner's rows are kept unchanged); ``too_little_data`` (fewer than
    ``MIN_SPEND_PERIODS`` = 8 periods with spend or ``MIN_PERIODS`` = 12 periods
    with a baseline, or no baseline: the planner's rows are kept).

    Parameters
    ----------
    sc : Scenario
        Uses ``history`` (unless given), ``response`` and ``channels``.
    baseline : DataFrame
        product, period, units: expected units without advertising (sum over
        regions) for the history periods.
    history : DataFrame, optional
        History to use instead of ``sc.history``.

    Returns
    -------
    response : DataFrame
        product, channel, max_uplift, half_saturation, shape, carryover
        (planner's rows for products not fitted), sorted by product, channel.
    fits : DataFrame
        product, n_spend_periods, max_uplift, half_saturation, shape,
        carryover, r2, rmse, status ("fitted" | "kept" | "too_little_data"),
        message; one row per product with history, sorted.
    """
    hist = sc.history if history is None else history
    planner = sc.response
    planner = planner[RESPONSE_COLUMNS] if len(planner) else pd.DataFrame(
        {c: pd.Series(dtype="object" if c in ("product", "channel") else "float64") for c in RESPONSE_COLUMNS})
    channels_tbl = getattr(sc, "channels", None)
    all_channels = (list(channels_tbl["channel"].astype(str)) if channels_tbl is not None and len(channels_tbl)
                    else [])
    totals = _totals(hist)
    base = {}
    if baseline is not None and len(baseline):
        for prod, g in baseline.groupby("product", sort=False):
            base[str(prod)] = pd.Series(g["units"].to_numpy(dtype="float64"),
                                        index=g["period"].to_numpy(dtype="int64")).groupby(level=0).sum()
    plan_by = {str(p): g for p, g in planner.groupby("product", sort=False)} if len(planner) else {}

    fits, new_rows, fitted = [], [], set()
    for product, (periods, y, x) in sorted(totals.items()):
        row = _fit_product(product, periods, y, x, base.get(product))
        fits.append(row)
        if row["status"] != "fitted":
            continue
        fitted.add(product)
        plan = plan_by.get(product)
        if plan is not None and len(plan):
            chans = list(plan["channel"].astype(str))
            w = plan["max_uplift"].to_numpy(dtype="float64")
        elif all_channels:
            chans, w = all_channels, None
        else:
            chans, w = ["ads"], None
        new_rows.append(split_channels(product, row, chans, w))

    kept = planner[~planner["product"].astype(str).isin(fitted)]
    parts = [kept] + new_rows
    parts = [p for p in parts if len(p)]
    response = (pd.concat(parts, ignore_index=True) if parts else planner.iloc[:0].copy())[RESPONSE_COLUMNS]
    for c in ("max_uplift", "half_saturation", "shape", "carryover"):
        response[c] = response[c].astype("float64")
    response = response.sort_values(["product", "channel"], kind="stable").reset_index(drop=True)
    fits_df = pd.DataFrame(fits, columns=FIT_COLUMNS)
    return response, fits_df


def _fit_product(product: str, periods: np.ndarray, y: np.ndarray, x: np.ndarray,
                 b: pd.Series | None) -> dict[str, Any]:
    """The fits row of one product (:func:`fit_response`): its fitted curve, or why the planner's rows are kept."""
    n_spend = int(np.count_nonzero(x > 0))
    row = {"product": product, "n_spend_periods": n_spend, "max_uplift": np.nan, "half_saturation": np.nan,
           "shape": np.nan, "carryover": np.nan, "r2": np.nan, "rmse": np.nan, "status": "", "message": ""}
    if n_spend == 0:
        row.update(status="kept", message="no ad spend in history: the planner's response rows are kept")
        return row
    if b is None:
        row.update(status="too_little_data", message="no baseline for the product: the planner's rows are kept")
        return row
    bv = b.reindex(periods).to_numpy(dtype="float64")
    u = y - bv
    n_ok = int(np.isfinite(u).sum())
    if n_spend < MIN_SPEND_PERIODS or n_ok < MIN_PERIODS:
        row.update(status="too_little_data",
                   message=(f"{n_spend} periods with spend and {n_ok} with a baseline (need "
                            f"{MIN_SPEND_PERIODS} and {MIN_PERIODS}): the planner's rows are kept"))
        return row
    res = fit_hill_adstock(x, u)
    if not res["ok"]:
        row.update(status="too_little_data", message=f"fit failed ({res['message']}): the planner's rows are kept")
        return row
    row.update(max_uplift=res["max_uplift"], half_saturation=res["half_saturation"], shape=res["shape"],
               carryover=res["carryover"], r2=res["r2"], rmse=res["rmse"], status="fitted",
               message=res["message"])
    return row


def history_uplift(sc, fits: pd.DataFrame, *, history: pd.DataFrame | None = None) -> pd.DataFrame:
    r"""Fitted uplift of each fitted product in its history periods, :math:`g(a_t)` at the recorded spend.

    Used to remove advertising from the history before the baseline demand
    forecast (``forecast_active(..., uplift=...)``).

    Returns
    -------
    DataFrame
        product, period, units (summed over regions), for products with status "fitted".
    """
    hist = sc.history if history is None else history
    totals = _totals(hist)
    parts = []
    if fits is not None and len(fits):
        for r in fits[fits["status"] == "fitted"].itertuples(index=False):
            t = totals.get(str(r.product))
            if t is None:
                continue
            periods, _, x = t
            g = hill_curve(adstock(x, float(r.carryover)), float(r.max_uplift), float(r.half_saturation),
                           float(r.shape))
            parts.append(pd.DataFrame({"product": str(r.product), "period": periods, "units": g}))
    if not parts:
        return pd.DataFrame({"product": pd.Series(dtype="object"), "period": pd.Series(dtype="int64"),
                             "units": pd.Series(dtype="float64")})
    return pd.concat(parts, ignore_index=True)
