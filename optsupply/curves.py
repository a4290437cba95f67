"""The response curves every layer shares: the Hill ad response and the Bass launch curve.

Pure numpy closed forms. The model approximates :func:`hill` piecewise
(:mod:`optsupply.model.pwl`), plans clip uplift to it
(:mod:`optsupply.model.extract`), the rule-based plans count on it
(:mod:`optsupply.baselines`); the forecaster fits the Bass curve
(:mod:`optsupply.forecasting.bass`) and the generator draws launch curves
from it (:mod:`optsupply.scenario.generate`). The plan checker keeps its own
formula on purpose (:mod:`optsupply.plan.check`), so that it stays an
independent oracle.
"""

from __future__ import annotations

import numpy as np


def hill(e, max_uplift: float, half_saturation: float, shape: float) -> np.ndarray:
    """The Hill curve ``M e^s / (e^s + k^s)``, vectorised over ``e``.

    Computed as ``M * expit(s * ln(e / k))``: exact 0 at ``e = 0``, tends to
    ``M`` for large ``e`` without overflow, and ``h(k) = M / 2``. Negative
    ``e`` are treated as 0.
    """
    from scipy.special import expit  # here, not at import: the command line's parser reads this package

    x = np.maximum(np.asarray(e, dtype=float), 0.0) / float(half_saturation)
    with np.errstate(divide="ignore", over="ignore"):
        z = float(shape) * np.log(x)
    return float(max_uplift) * expit(z)


# --------------------------------------------------------------------------- the Bass curve


def _cdf(t: np.ndarray, p, q):
    """``F(t)`` for real ``t`` and real or complex ``p, q`` (complex-step friendly)."""
    tt = np.maximum(t, 0.0)
    e = np.exp(-(p + q) * tt)
    return np.where(t > 0, (1.0 - e) / (1.0 + (q / p) * e), 0.0)


def _density(t: np.ndarray, p, q):
    """``f(t)`` for real ``t`` and real or complex ``p, q``; ``f(t < 0) = 0``, ``f(0) = p``."""
    tt = np.maximum(t, 0.0)
    e = np.exp(-(p + q) * tt)
    return np.where(t >= 0, (p + q) ** 2 / p * e / (1.0 + (q / p) * e) ** 2, 0.0)


def _increment(age: np.ndarray, p, q):
    return _cdf(age + 1.0, p, q) - _cdf(age, p, q)


def bass_cdf(t: np.ndarray | float, p: float, q: float) -> np.ndarray:
    r"""Cumulative Bass adoption share.

    .. math:: F(t) = \frac{1 - e^{-(p+q)t}}{1 + (q/p)\,e^{-(p+q)t}}, \qquad F(t \le 0) = 0.

    Parameters
    ----------
    t : array_like
        Time since launch, in periods.
    p, q : float
        Coefficients of innovation (``p > 0``) and imitation (``q >= 0``).

    Returns
    -------
    numpy.ndarray
        Share of the market potential adopted by ``t`` (float64, shape of ``t``).
    """
    return _cdf(np.asarray(t, dtype="float64"), float(p), float(q))


def bass_density(t: np.ndarray | float, p: float, q: float) -> np.ndarray:
    r"""Bass adoption density (rate of adoption as a share of the potential).

    .. math:: f(t) = \frac{dF}{dt} = \frac{(p+q)^2}{p}\,
              \frac{e^{-(p+q)t}}{\bigl(1 + (q/p)\,e^{-(p+q)t}\bigr)^2}, \qquad f(t < 0) = 0,

    with :math:`f(0) = p`. It peaks at :math:`t^* = \ln(q/p)/(p+q)` when :math:`q > p`.

    Parameters
    ----------
    t : array_like
        Time since launch.
    p, q : float
        Coefficients of innovation and imitation.

    Returns
    -------
    numpy.ndarray
        ``f(t)`` (float64, shape of ``t``).
    """
    return _density(np.asarray(t, dtype="float64"), float(p), float(q))


def bass_increment(age: np.ndarray | float, p: float, q: float) -> np.ndarray:
    r"""Share of the market potential adopted in the period of age ``a`` (age 0 = launch period).

    .. math:: g(a) = F(a+1) - F(a), \qquad \sum_{a \ge 0} g(a) = 1.

    For ``q > p`` the sequence rises to a single peak near age
    :math:`\ln(q/p)/(p+q) - 1/2` and then falls.

    Parameters
    ----------
    age : array_like
        Ages in periods (``age >= 0``; a negative age gives 0).
    p, q : float
        Coefficients of innovation and imitation.

    Returns
    -------
    numpy.ndarray
        ``F(age+1) − F(age)`` (float64, shape of ``age``).
    """
    a = np.asarray(age, dtype="float64")
    return _increment(a, float(p), float(q))
