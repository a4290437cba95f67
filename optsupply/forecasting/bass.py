r"""Bass diffusion: the curve, its least-squares fit and the detection of a launch in history.

The Bass model
--------------
A product with market potential :math:`m` (the units it sells over its life) is adopted
at the hazard :math:`p + q\,F(t)`, with :math:`p` the coefficient of innovation and
:math:`q` the coefficient of imitation. The cumulative share adopted by time
:math:`t \ge 0` since the launch is

.. math::

    F(t) = \frac{1 - e^{-(p+q)t}}{1 + \frac{q}{p}\,e^{-(p+q)t}}, \qquad F(t \le 0) = 0,

and its density is

.. math::

    f(t) = \frac{dF}{dt} = \frac{(p+q)^2}{p}\,
           \frac{e^{-(p+q)t}}{\left(1 + \frac{q}{p}\,e^{-(p+q)t}\right)^2}.

For :math:`q > p` the density peaks at :math:`t^* = \ln(q/p)/(p+q)`.

Two forms of the sales of a period
----------------------------------
optsupply models the sales of the period of age :math:`a` (age 0 = the launch
period) as the adoptions *during* the period,

.. math::

    s_a = m\,\bigl(F(a+1) - F(a)\bigr)  \qquad (``form="increment"``),

which matches discrete weekly sales and sums exactly to :math:`m` over the life
of the product (:math:`\sum_{a \ge 0} s_a = m\,F(\infty) = m`). The published
R ``nls`` example (Cheng-Jun Wang's tutorial, reproduced in the tests) instead
evaluates the continuous density at integer times,

.. math::

    s_t = m\,f(t), \qquad t = 1, 2, \dots  \qquad (``form="density"``).

Both forms are supported by :func:`fit_bass`; the two differ by about half a
period of timing and by the curvature of :math:`f` within a period.

The fit
-------
:func:`fit_bass` minimises :math:`\sum_i \rho\bigl(r_i^2\bigr)` with residuals
:math:`r_i = m\,g(t_i; p, q) - y_i` (``g`` the increment or the density) by
``scipy.optimize.least_squares`` (trust region reflective, bounds
:math:`0 < m \le 100 \sum y`, :math:`10^{-6} \le p < 1`, :math:`0 \le q < 3`), from a few starting
points (:math:`m_0 = 1.5 \sum y` or the least-squares :math:`m` of the start,
:math:`p_0 \in \{0.01, 0.03\}`, :math:`q_0 \in \{0.3, 0.5\}`, and one start whose
peak matches the data's), solving from the three with the smallest initial sum
of squares and keeping the best solution. The Jacobian is exact (complex-step derivatives in
:math:`p, q`). Standard errors follow from the Jacobian :math:`J` at the optimum,

.. math::

    \operatorname{cov}(\hat m, \hat p, \hat q) = s^2\,(J^\top W J)^{-1}, \qquad
    s^2 = \frac{\sum_i w_i r_i^2}{n - 3},

with :math:`W = \operatorname{diag}(w_i)` all ones for ordinary least squares
(the classical ``nls`` standard errors) and :math:`w_i = \rho'(r_i^2 / c^2)` for a
robust loss (the weights of the equivalent iteratively reweighted fit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import least_squares

from optsupply.curves import _density, _increment

logger = logging.getLogger(__name__)

#: Default bounds of (m, p, q): m > 0, p in [1e-6, 1), q in [0, 3).
DEFAULT_BOUNDS: tuple[tuple[float, float, float], tuple[float, float, float]] = (
    (1e-9, 1e-6, 0.0), (np.inf, 1.0 - 1e-9, 3.0 - 1e-9))
#: Default starting (p, q) pairs, combined with m0 = 1.5 × cumulative sales.
DEFAULT_STARTS_PQ: tuple[tuple[float, float], ...] = ((0.01, 0.3), (0.03, 0.5), (0.01, 0.5), (0.03, 0.3))
N_RUNS = 3  #: default starts actually solved from (the most promising ones)
M_CAP = 100.0  #: default upper bound of m, as a multiple of the cumulative sales in the data
FORMS = ("increment", "density")
_H = 1e-30  # complex step


# --------------------------------------------------------------------------- the curve
# (closed forms in optsupply.curves, shared with the generator)

def _shape(form: str):
    return _increment if form == "increment" else _density


# --------------------------------------------------------------------------- the fit


@dataclass(frozen=True)
class BassFit:
    r"""Result of :func:`fit_bass`.

    Attributes
    ----------
    m, p, q : float
        Market potential and coefficients of innovation and imitation (NaN if the
        fit could not be done).
    se_m, se_p, se_q : float
        Standard errors from :math:`s^2 (J^\top W J)^{-1}` (NaN when ``n <= 3`` or singular).
    rse : float
        Residual standard error :math:`\sqrt{\sum r_i^2 / (n-3)}` (NaN when ``n <= 3``).
    n : int
        Number of points used.
    form : str
        ``"increment"`` (``y ≈ m (F(t+1) − F(t))``) or ``"density"`` (``y ≈ m f(t)``).
    converged : bool
        Whether the optimiser reported convergence on valid data.
    message : str
        Why not, or notes on the solution (e.g. a parameter at its bound).
    """

    m: float
    p: float
    q: float
    se_m: float
    se_p: float
    se_q: float
    rse: float
    n: int
    form: str
    converged: bool
    message: str

    def predict(self, t: np.ndarray | float) -> np.ndarray:
        r"""Fitted sales ``m g(t; p, q)`` at times (ages) ``t``, in the fit's form."""
        return self.m * _shape(self.form)(np.asarray(t, dtype="float64"), self.p, self.q)


def _failed(n: int, form: str, message: str) -> BassFit:
    nan = float("nan")
    return BassFit(nan, nan, nan, nan, nan, nan, nan, int(n), form, False, message)


def _check_input(y: np.ndarray, t: np.ndarray, form: str) -> str:
    """Why the data cannot be fitted ('' when they can)."""
    if form not in FORMS:
        return f"unknown form {form!r}: use 'increment' or 'density'"
    if y.ndim != 1 or t.shape != y.shape:
        return f"y and t must be 1-d of the same length (got shapes {y.shape} and {t.shape})"
    if len(y) == 0:
        return "no data"
    if not (np.isfinite(y).all() and np.isfinite(t).all()):
        return "y or t contains NaN or infinite values"
    if len(y) < 3:
        return f"{len(y)} point(s): at least 3 are needed for m, p, q"
    if not (y > 0).any():
        return "no positive sales"
    return ""


def _residual_fun(y: np.ndarray, t: np.ndarray, form: str):
    g = _shape(form)

    def fun(x: np.ndarray) -> np.ndarray:
        return x[0] * g(t, x[1], x[2]) - y

    def jac(x: np.ndarray) -> np.ndarray:
        m, p, q = x
        dp = np.imag(g(t, p + 1j * _H, q)) / _H
        dq = np.imag(g(t, p, q + 1j * _H)) / _H
        return np.column_stack([g(t, p, q), m * dp, m * dq])

    return fun, jac


def _starts(y: np.ndarray, t: np.ndarray, form: str, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    r"""Default starting points, most promising first.

    A small grid of :math:`(p_0, q_0)` with :math:`m_0 = 1.5 \sum y`, plus one start
    whose peak matches the data's (:math:`q_0/p_0 = 10`, :math:`p_0 + q_0 = \ln 10 / t_{peak}`).
    Each start's :math:`m_0` is replaced by the least-squares
    :math:`m = \sum y g / \sum g^2` when that fits better; starts are sorted by
    their sum of squares.
    """
    total = float(np.clip(y, 0.0, None).sum())
    pq = list(DEFAULT_STARTS_PQ)
    # p + q from the observed peak time with q/p = 10: t* = ln(10) / (p+q) (increment: peak near t* − 1/2)
    t_peak = float(t[int(np.argmax(y))]) + (0.5 if form == "increment" else 0.0)
    s = np.log(10.0) / max(t_peak, 0.5)
    pq.append((s / 11.0, 10.0 * s / 11.0))
    scored = []
    for p0, q0 in pq:
        g = _shape(form)(t, p0, q0)
        gg = float(g @ g)
        candidates = [1.5 * total] + ([float(y @ g) / gg] if gg > 0 and y @ g > 0 else [])
        options = []
        for m0 in candidates:
            x = np.clip(np.array([m0, p0, q0]), lo, hi)
            r = x[0] * g - y
            options.append((float(r @ r), len(scored), x))
        scored.append(min(options, key=lambda item: item[0]))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [x for _, _, x in scored]


def _solve(fun, jac, starts, lo, hi, loss: str, f_scale: float):
    """Best ``least_squares`` result over the starting points (lowest cost), or None."""
    best = None
    for x0 in starts:
        try:
            res = least_squares(fun, x0, jac=jac, bounds=(lo, hi), method="trf", loss=loss, f_scale=f_scale,
                                x_scale="jac", max_nfev=100)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
            logger.debug("least_squares failed from %s: %s", x0, exc)
            continue
        if np.isfinite(res.cost) and np.isfinite(res.x).all() and (best is None or res.cost < best.cost):
            best = res
    return best


def _loss_weights(r: np.ndarray, loss: str, f_scale: float) -> np.ndarray:
    r"""IRLS weights :math:`w_i = \rho'(z_i)`, :math:`z_i = (r_i/c)^2`, of scipy's robust losses."""
    z = (r / f_scale) ** 2
    if loss == "linear":
        return np.ones_like(r)
    if loss == "soft_l1":
        return 1.0 / np.sqrt(1.0 + z)
    if loss == "huber":
        return np.where(z <= 1.0, 1.0, 1.0 / np.sqrt(np.maximum(z, 1.0)))
    if loss == "cauchy":
        return 1.0 / (1.0 + z)
    if loss == "arctan":
        return 1.0 / (1.0 + z ** 2)
    return np.ones_like(r)


def _std_errors(J: np.ndarray, r: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    r"""Standard errors :math:`\sqrt{\operatorname{diag}(s^2 (J^\top W J)^{-1})}` and the RSE."""
    n = len(r)
    if n <= 3:
        return np.full(3, np.nan), float("nan")
    rse = float(np.sqrt(r @ r / (n - 3)))
    s2 = float((w * r) @ r / (n - 3))
    A = J.T @ (w[:, None] * J)
    if not np.isfinite(A).all() or np.linalg.cond(A) > 1e14:
        return np.full(3, np.nan), rse
    cov = s2 * np.linalg.inv(A)
    d = np.diag(cov)
    return np.where(d >= 0, np.sqrt(np.abs(d)), np.nan), rse


def _robust_scale(r: np.ndarray, y: np.ndarray) -> float:
    """1.4826 × median absolute residual, floored so that a perfect fit keeps a usable scale."""
    mad = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    floor = 1e-3 * max(float(np.abs(y).mean()), 1e-12)
    return max(mad, floor)


def fit_bass(y: Sequence[float] | np.ndarray, t: Sequence[float] | np.ndarray | None = None, *,
             form: str = "increment", loss: str = "linear", p0=None, bounds=None,
             f_scale: float | None = None) -> BassFit:
    r"""Fit the Bass model to a sales series by non-linear least squares.

    Minimises :math:`\sum_i \rho(r_i^2)` with :math:`r_i = m\,g(t_i; p, q) - y_i`, where

    * ``form="increment"``: :math:`g(t) = F(t+1) - F(t)` (``t`` = ages 0, 1, …),
    * ``form="density"``: :math:`g(t) = f(t) = dF/dt` (the R ``nls`` tutorial form).

    Standard errors: :math:`\operatorname{cov} = s^2 (J^\top W J)^{-1}`,
    :math:`s^2 = \sum w_i r_i^2 / (n-3)` (see the module docstring).

    Parameters
    ----------
    y : array_like
        Sales per period (deseasonalised if relevant).
    t : array_like, optional
        Time of each value: ages ``0..n-1`` by default for ``"increment"``,
        ``1..n`` for ``"density"``. Gaps are allowed (e.g. periods left out).
    form : {"increment", "density"}
        How a period's sales relate to the curve (see above).
    loss : {"linear", "soft_l1", "huber", "cauchy", "arctan"}
        ``scipy.optimize.least_squares`` loss. A robust loss is started from the
        least-squares solution, with scale ``f_scale``.
    p0 : tuple (m, p, q) or sequence of them, optional
        Starting point(s); by default a few starts (see the module docstring).
    bounds : ((m_lo, p_lo, q_lo), (m_hi, p_hi, q_hi)), optional
        Defaults to :data:`DEFAULT_BOUNDS` with ``m <= 100 Σy`` (a larger
        potential is not identified by the data; a fit there says "at bound: m").
    f_scale : float, optional
        Residual scale ``c`` of a robust loss; by default 1.5 × the robust
        standard deviation (1.4826 × MAD) of the least-squares residuals.

    Returns
    -------
    BassFit
        ``converged=False`` with a message (never an exception) for empty data,
        fewer than three points, NaN values, no positive sales or a failed solve.
    """
    try:
        y_arr = np.asarray(y, dtype="float64")
        n = y_arr.size
        if t is None:
            t_arr = np.arange(n, dtype="float64") + (1.0 if form == "density" else 0.0)
        else:
            t_arr = np.asarray(t, dtype="float64")
    except (TypeError, ValueError) as exc:
        return _failed(0, str(form), f"invalid data: {exc}")
    why = _check_input(y_arr, t_arr, form)
    if why:
        return _failed(n, str(form), why)
    lo = np.asarray((bounds or DEFAULT_BOUNDS)[0], dtype="float64")
    hi = np.asarray((bounds or DEFAULT_BOUNDS)[1], dtype="float64")
    if bounds is None:  # m beyond 100 × the sales seen is not identified by them (flat series run off there)
        hi[0] = M_CAP * float(np.clip(y_arr, 0.0, None).sum())
    if p0 is None:
        starts = _starts(y_arr, t_arr, form, lo, hi)[:N_RUNS]
    else:
        x0 = np.atleast_2d(np.asarray(p0, dtype="float64"))
        starts = [np.clip(x, lo, hi) for x in x0]
    fun, jac = _residual_fun(y_arr, t_arr, form)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _fit(fun, jac, starts, lo, hi, y_arr, form, loss, f_scale)


def _fit(fun, jac, starts, lo, hi, y, form, loss, f_scale) -> BassFit:
    n = len(y)
    best = _solve(fun, jac, starts, lo, hi, "linear", 1.0)
    if best is None:
        return _failed(n, form, "the least-squares solver failed from every start")
    scale = 1.0
    if loss != "linear":
        scale = f_scale if f_scale else 1.5 * _robust_scale(best.fun, y)
        robust = _solve(fun, jac, [best.x], lo, hi, loss, scale)
        if robust is None:
            return _failed(n, form, f"the {loss} solver failed")
        best = robust
    m, p, q = (float(v) for v in best.x)
    r = fun(best.x)
    se, rse = _std_errors(jac(best.x), r, _loss_weights(r, loss, scale))
    notes = [] if best.success else [f"solver stopped: {best.message}"]
    at_bound = [name for name, v, a, b in zip("mpq", best.x, lo, hi, strict=True)
                if np.isclose(v, a, rtol=1e-6, atol=0) or np.isclose(v, b, rtol=1e-6, atol=0)]
    if at_bound:
        notes.append(f"at bound: {', '.join(at_bound)}")
    ok = bool(best.success and np.isfinite(best.x).all())
    return BassFit(m, p, q, float(se[0]), float(se[1]), float(se[2]), rse, n, form, ok,
                   "; ".join(notes) or "ok")


# --------------------------------------------------------------------------- launch detection


def detect_launch(periods: Sequence[int] | np.ndarray, units: Sequence[float] | np.ndarray, *,
                  history_start: int | None = None, rise_ratio: float = 0.1, window: int = 4,
                  min_peak: float = 2.0, max_lead_zeros: int = 2) -> int | None:
    r"""The launch period of a product from its sales history, or None for a product already selling.

    Rows of a history start when the product starts selling, so:

    1. if the series starts after ``history_start`` (the first period of the
       whole history), the product launched inside the history: the launch is
       its first period with positive sales, or the first row when at most
       ``max_lead_zeros`` zero rows precede that sale (a slow first period:
       :math:`m\,p` is small);
    2. if it starts at the beginning of the history, it is a launch only when
       it *rises from about zero*: with :math:`\bar u_k` the moving average of
       ``window`` periods, :math:`\bar u_0 < ` ``rise_ratio`` ×
       :math:`\max_k \bar u_k` and that maximum is at least ``min_peak`` units;
       the launch is then the first period with positive sales.

    Parameters
    ----------
    periods, units : array_like
        The product's sales by period (any order; units summed over regions).
    history_start : int, optional
        First period of the whole history; by default the series' own first period
        (then only rule 2 applies).
    rise_ratio, window, min_peak : float, int, float
        Thresholds of rule 2.
    max_lead_zeros : int
        Zero rows before the first sale still counted as the launch (rule 1).

    Returns
    -------
    int or None
        Launch period, or None (mature product, or no positive sales at all).
    """
    t = np.asarray(periods, dtype="float64")
    u = np.asarray(units, dtype="float64")
    ok = np.isfinite(t) & np.isfinite(u)
    t, u = t[ok], u[ok]
    if t.size == 0 or not (u > 0).any():
        return None
    order = np.argsort(t, kind="stable")
    t, u = t[order], u[order]
    first = int(np.argmax(u > 0))
    start = t[0] if history_start is None else float(history_start)
    if t[0] > start:
        return int(t[0]) if first <= max_lead_zeros else int(t[first])
    k = max(1, min(int(window), len(u)))
    smooth = np.convolve(u, np.ones(k) / k, mode="valid")
    top = float(smooth.max())
    if top >= min_peak and smooth[0] < rise_ratio * top:
        return int(t[first])
    return None


__all__ = ["BassFit", "fit_bass", "detect_launch", "DEFAULT_BOUNDS"]
