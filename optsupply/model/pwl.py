r"""Piecewise-linear under-approximation of the Hill advertising response.

The true response of effective spend ``e >= 0`` is the Hill curve

.. math::

    h(e) = M \frac{e^s}{e^s + k^s},
    \qquad M = \text{max\_uplift} > 0,\ k = \text{half\_saturation} > 0,\
    s = \text{shape} > 0.

:func:`hill_pwl` returns breakpoints ``0 = e_0 < e_1 < ... < e_n`` and values
``g_0 = 0 <= g_1 <= ... <= g_n``. The modelled response ``g`` is the linear
interpolation of these points on ``[0, e_n]`` and is flat (``g = g_n``) for
``e > e_n``. It satisfies

1. ``g(e) <= h(e)`` for every ``e >= 0``: the plan never counts on more
   uplift than the true curve gives;
2. ``max_{e >= 0} h(e) - g(e) <= tolerance * M`` (the measured value is
   returned as ``max_error``);
3. the segments from index ``n_convex`` on have non-increasing slopes, and
   ``n_convex == 0`` whenever ``s <= 1``.

Normalisation
-------------
Everything is built in the units ``x = e / k`` and ``y = h / M``, where the
curve is ``f(x) = x^s / (1 + x^s) = expit(s ln x)`` with derivative
``f'(x) = s f(x) (1 - f(x)) / x``, and then scaled back
(``e_i = k x_i``, ``g_i = M y_i``). The breakpoints in ``x`` therefore depend
on ``shape`` and ``tolerance`` only, so the construction behaves the same for
any ``k`` and ``M`` -- unless :func:`hill_pwl` is given a spend range
(``min_spend``, ``max_spend``) that the curve needs, as the model does
(:data:`MIN_SPEND`, :data:`MAX_SPEND`).

For ``s <= 1`` the curve is concave on ``[0, inf)`` (for ``s < 1`` with an
infinite slope at 0, which is never evaluated: the chords only use values of
``f``). For ``s > 1`` it is convex on ``[0, x*]`` and concave on ``[x*, inf)``
with the inflection point ``x* = ((s - 1) / (s + 1))^(1/s)``; ``f'(0) = 0``.
``x*`` is always a breakpoint, so every segment lies entirely in the convex
or entirely in the concave part.

Construction
------------
*Concave part* (``[x*, inf)``, or ``[0, inf)`` when ``s <= 1``): chords of
``f``. A chord of a concave function lies below it, so ``g <= h`` there. The
gap ``f - chord`` on ``[a, b]`` is concave, so its maximum is exactly where
``f'(x)`` equals the chord slope (``f'`` is decreasing there: a root found by
:func:`scipy.optimize.brentq`). The gap over ``[a, b]`` grows with ``b``
(extending the chord lowers it on ``[a, b]``), so the breakpoints are chosen
greedily: from ``a``, ``b`` is the farthest point whose chord error equals the
tolerance (a root in ``b``), which uses the fewest possible segments for the
given start. The last breakpoint is ``x_end = ((1 - tol) / tol)^(1/s)``, where
``f(x_end) = 1 - tol``, so the flat tail after it is also within tolerance.

*Convex part* (``[0, x*]``, only for ``s > 1``): a chord would lie *above*
``f``. Instead ``g`` is the upper envelope of tangent lines of ``f`` at points
``0 = t_0 < t_1 < ... < t_m < x*`` and at ``x*``. A tangent of a convex
function lies below it, so the envelope does too. On the piece that follows
tangent ``t_j``, ``f - tangent_j`` is convex, so the error is largest at the
piece's ends (the kinks of the envelope) and is measured exactly there. The
tangents are chosen greedily: ``tangent_0`` is ``y = 0`` (``f(0) = f'(0) =
0``); from the tangent ``t_j`` walk right to the point ``p_j`` where
``f - tangent_j`` reaches the tolerance, and let ``t_{j+1}`` be the point whose
tangent passes through ``(p_j, tangent_j(p_j))``; stop as soon as the kink
between ``tangent_j`` and the tangent at ``x*`` is within tolerance. The
breakpoints are ``0, p_0, ..., p_{m-1}, q, x*`` (``q`` the last kink) and the
value at each kink is the smaller of its two tangents, so each segment lies
below its own tangent even with rounding. The first segment is flat at 0:
any line through ``(0, 0)`` that stays below a curve with ``f'(0) = 0`` must be.
The concave chords then start at ``(x*, f(x*))``.

Why ``g <= h``: every convex segment lies below a tangent of the convex part,
every concave segment is a chord of the concave part, and for ``e > e_n``
``g = g_n = h(e_n) <= h(e)`` because ``h`` is increasing. This is also checked
on the result: per segment the largest ``g - h`` is found exactly (endpoints
on concave segments, the point where ``f' =`` slope on convex ones), and the
largest ``h - g`` likewise (this is ``max_error``).

How the MIP uses it
-------------------
Incremental formulation with ``0 <= δ_i <= 1`` per segment
``i = 0..n-1``::

    e >= Σ_i δ_i (e_{i+1} - e_i)
    u <= Σ_i δ_i (g_{i+1} - g_i)
    δ_{i+1} <= z_i <= δ_i,  z_i binary,   for i < n_convex
    δ_j <= z_{n_convex-1},                  for j > n_convex (when n_convex > 0)

The binaries make the convex segments fill in order. The concave tail
(slopes non-increasing) needs no further binaries: once the convex part is
full, an LP maximising ``u`` fills the tail segments in order. But the tail
segments must not be usable *before* the convex part is full, hence the last
line (a continuous link to the last binary, no new binaries): without it a
tail segment could be claimed alone, giving uplift ``g_{j+1} - g_j`` for spend
``e_{j+1} - e_j``, which can exceed ``h`` at that spend. ``e >= Σ ...``
is an inequality because ``g`` is non-decreasing: ``g`` at a smaller spend is
still below ``h`` at the actual spend.

Example
-------
>>> pwl = hill_pwl(max_uplift=100.0, half_saturation=50.0, shape=1.0, tolerance=0.005)
>>> len(pwl.breakpoints) - 1, pwl.n_convex       # segments, convex segments
(14, 0)
>>> bool(pwl.max_error <= 0.005 * 100.0)
True
>>> pwl = hill_pwl(100.0, 50.0, 2.0, 0.005)
>>> len(pwl.breakpoints) - 1, pwl.n_convex
(13, 4)

For ``s = 1`` the optimum is known in closed form: with ``w = (1 + x)^(-1/2)``
the chord error of ``[a, b]`` is ``(w_a - w_b)^2``, so ``n`` chords and a flat
tail reach at best ``1 / (n + 1)^2``, i.e. ``n = ceil(1/sqrt(tol) - 1)``
segments (14 for ``tol = 0.005``) — what the greedy construction gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq


__all__ = ["HillPWL", "hill_pwl", "MIN_SPEND", "MAX_SPEND"]

#: The spends (money per period) over which the model's curves meet ``pwl_tolerance``. Below ``MIN_SPEND`` --
#: 100 x HiGHS's absolute feasibility tolerance (1e-7), which is also the smallest money a plan shows -- a spend is
#: not resolved: a first breakpoint there would make the chord's slope, and so the uplift a tolerance-sized spend
#: buys, unbounded (a Hill curve with shape < 1 has an infinite slope at 0). ``MAX_SPEND`` is the largest budget
#: a scenario accepts (:data:`optsupply.scenario.schema.MAX_TOTAL`). Curves whose breakpoints lie inside anyway (every
#: shape >= 1 with half_saturation >= 1e-3) are not changed by them.
MIN_SPEND = 1e-5
MAX_SPEND = 1e12

# The construction aims slightly below the tolerance so that rounding in the
# root finders can never push the measured error above it.
_TARGET_FACTOR = 1.0 - 1e-7
# A rounding margin for the self-check g <= h (normalised units).
_CHECK_SLACK = 1e-12
_MAX_PIECES = 100_000


@dataclass(frozen=True)
class HillPWL:
    """Piecewise-linear under-approximation ``g`` of a Hill curve ``h``.

    Attributes
    ----------
    breakpoints : np.ndarray
        Spend ``e_0 = 0 < e_1 < ... < e_n``.
    values : np.ndarray
        ``g(e_i)``; ``g(e_0) = 0``, non-decreasing. ``g`` is the linear
        interpolation on ``[0, e_n]`` and equals ``values[-1]`` beyond.
    n_convex : int
        The first ``n_convex`` segments need binaries (incremental
        formulation); the later ones have non-increasing slopes. 0 when
        ``shape <= 1``.
    max_error : float
        ``max h(e) - g(e)`` (>= 0) over ``resolved_from <= e <= resolved_to``,
        measured exactly per segment.
    resolved_from, resolved_to : float
        The spends over which ``max_error`` holds: ``[0, inf)`` unless
        ``hill_pwl`` was given a ``min_spend`` or ``max_spend`` that the
        curve needed (see there). ``g <= h`` holds for every spend.
    """

    breakpoints: np.ndarray
    values: np.ndarray
    n_convex: int
    max_error: float
    resolved_from: float = 0.0
    resolved_to: float = math.inf


# ---------------------------------------------------------------------------
# Normalised curve f(x) = x^s / (1 + x^s) and its derivative (scalars).


def _expit(z: float) -> float:
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


class _Curve:
    def __init__(self, s: float) -> None:
        self.s = s

    def f(self, x: float) -> float:
        if x <= 0.0:
            return 0.0
        if math.isinf(x):
            return 1.0
        return _expit(self.s * math.log(x))

    def fp(self, x: float) -> float:
        s = self.s
        if x <= 0.0:
            return 0.0 if s > 1.0 else (1.0 if s == 1.0 else math.inf)
        z = s * math.log(x)
        return s * _expit(z) * _expit(-z) / x


def _root(fun, a: float, b: float) -> float:
    """Root of a function with fun(a) > 0 >= fun(b) (or the reverse)."""
    xtol = max(abs(a), abs(b)) * 1e-15 + 1e-300
    return brentq(fun, a, b, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=500)


def _crossing(dfun, a: float, b: float) -> float:
    """Argmax on [a, b] of a concave function with derivative ``dfun``."""
    lo = a
    if lo <= 0.0:
        lo = b * 1e-12   # avoids an infinite derivative at 0 (shape < 1)
    dlo, dhi = dfun(lo), dfun(b)
    if not dlo > 0.0:
        return a if dfun(a) <= 0.0 else lo
    if not dhi < 0.0:
        return b
    return _root(dfun, lo, b)


def _line_gap_max(c: _Curve, a: float, ya: float, b: float, yb: float, concave: bool) -> tuple[float, float]:
    """(max of f - line, max of line - f) on [a, b] for the line through (a, ya), (b, yb).

    On a concave piece f - line is concave (maximum where f' = slope) and
    line - f is convex (maximum at an end); on a convex piece the reverse.
    """
    m = (yb - ya) / (b - a)
    ends_under = max(c.f(a) - ya, c.f(b) - yb)
    ends_over = max(ya - c.f(a), yb - c.f(b))
    if concave:
        x = _crossing(lambda t: c.fp(t) - m, a, b)
        under = max(ends_under, c.f(x) - (ya + m * (x - a)))
        return under, ends_over
    x = _crossing(lambda t: m - c.fp(t), a, b)
    over = max(ends_over, ya + m * (x - a) - c.f(x))
    return ends_under, over


# ---------------------------------------------------------------------------
# The two parts of the construction (normalised units).


def _convex_part(c: _Curve, xs: float, target: float) -> tuple[list[float], list[float]]:
    """Tangent envelope on [0, xs]; returns breakpoints and values (ending at xs)."""
    fs, ms = c.f(xs), c.fp(xs)

    def star(x: float) -> float:          # tangent at the inflection point
        return fs + ms * (x - xs)

    xv, yv = [0.0], [0.0]
    t, ft, mt = 0.0, 0.0, 0.0             # current tangent (y = 0 at t = 0)
    for _ in range(_MAX_PIECES):
        def cur(x: float, t=t, ft=ft, mt=mt) -> float:
            return ft + mt * (x - t)

        # kink with the tangent at x*
        q = t + (star(t) - ft) / (mt - ms) if ms > mt else xs
        q = min(max(q, t), xs)
        if c.f(q) - min(cur(q), star(q)) <= target:
            if xs - q > 1e-12 * xs and q > xv[-1]:
                xv += [q, xs]
                yv += [max(0.0, min(cur(q), star(q))), fs]
            else:                          # degenerate kink: follow the current tangent to x*
                xv.append(xs)
                yv.append(max(0.0, min(cur(xs), fs)))
            return xv, yv
        # p: where f - current tangent reaches the target (f - tangent increases on [t, x*]
        # and exceeds the target at q <= x*)
        p = _root(lambda x: c.f(x) - cur(x) - target, t, xs)
        yp = cur(p)
        if star(p) >= yp:                  # only by rounding (p ~ q): finish on the tangent at x*
            xv += [p, xs]
            yv += [max(0.0, min(yp, star(p))), fs]
            return xv, yv
        # next tangent point: its tangent passes through (p, yp)
        t1 = _root(lambda u: c.f(u) + c.fp(u) * (p - u) - yp, p, xs)
        f1, m1 = c.f(t1), c.fp(t1)
        xv.append(p)
        yv.append(max(0.0, min(yp, f1 + m1 * (p - t1))))
        t, ft, mt = t1, f1, m1
    raise RuntimeError("piecewise-linear Hill approximation did not converge")


def _concave_part(c: _Curve, a: float, ya: float, x_end: float, target: float,
                  first: float = 0.0) -> tuple[list[float], list[float]]:
    """Greedy chords on [a, x_end] starting from (a, ya), ya <= f(a); the first chord ends at ``first`` or later."""
    xv, yv = [a], [ya]

    def err(a: float, ya: float, b: float) -> float:
        return _line_gap_max(c, a, ya, b, c.f(b), concave=True)[0]

    for _ in range(_MAX_PIECES):
        if x_end - a <= 1e-9 * x_end:
            return xv, yv
        if err(a, ya, x_end) <= target:
            b = x_end
        elif len(xv) == 1 and a < first < x_end and err(a, ya, first) >= target:
            b = first                     # the greedy chord would end below ``first``
        else:
            # farthest b with chord error = target; search in log(b - a)
            span = x_end - a

            def excess(w: float) -> float:
                return err(a, ya, a + math.exp(w)) - target

            lo = math.log(span) - 28.0
            if a > 0.0:                   # b - a must stay above the spacing of doubles at a (steep shapes)
                lo = max(lo, math.log(a * 8.0 * np.finfo(float).eps))
            while excess(lo) >= 0.0:      # very flat shapes: the first chord is tiny
                lo -= 28.0
                if lo < -650.0 or a + math.exp(lo) == a:
                    raise RuntimeError("piecewise-linear Hill approximation: segment too short")
            w = _root(excess, lo, math.log(span)) if excess(lo) < 0.0 <= excess(math.log(span)) else lo
            b = a + math.exp(w)
        if len(xv) == 1 and b < first:    # spends below ``first`` are not resolved: one chord from a to it
            b = min(first, x_end)
        xv.append(b)
        yv.append(c.f(b))
        a, ya = b, c.f(b)
        if b >= x_end:
            return xv, yv
    raise RuntimeError("piecewise-linear Hill approximation did not converge")


def _measure(c: _Curve, xv: np.ndarray, yv: np.ndarray, n_convex: int, *, skip_first: bool = False,
             skip_tail: bool = False) -> tuple[float, float]:
    """(max f - g, max g - f) over x >= 0, exact per segment.

    ``max f - g`` leaves out the first segment (``skip_first``) and the flat
    tail (``skip_tail``) when those lie outside the resolved spends;
    ``max g - f`` always covers everything.
    """
    under, over = (0.0 if skip_tail else 1.0 - yv[-1]), yv[-1] - c.f(xv[-1])      # the flat tail
    for i in range(len(xv) - 1):
        u, o = _line_gap_max(c, xv[i], yv[i], xv[i + 1], yv[i + 1], concave=i >= n_convex)
        if not (skip_first and i == 0):
            under = max(under, u)
        over = max(over, o)
    return max(under, 0.0), over


def hill_pwl(max_uplift: float, half_saturation: float, shape: float, tolerance: float, *,
             min_spend: float = 0.0, max_spend: float = math.inf) -> HillPWL:
    """Piecewise-linear ``g <= h`` within ``tolerance * max_uplift`` of the Hill curve.

    See the module docstring for the construction and how the MIP uses it.
    Deterministic; ``breakpoints / half_saturation`` and ``values / max_uplift``
    depend on ``shape`` and ``tolerance`` only -- unless the spend range is
    bounded:

    * ``min_spend``: spends below it are not resolved. When the greedy first
      chord would end below it (flat curves, ``shape < 1``, whose slope at 0 is
      infinite: for ``shape = 0.1`` and ``tolerance = 0.005`` it ends at
      ``1e-22 * half_saturation``), the first chord runs from 0 to
      ``min_spend`` instead. It still lies below ``h`` (a chord of a concave
      curve); the tolerance holds from ``min_spend`` on.
    * ``max_spend``: the last breakpoint is at most there (the flat tail
      starts there, at ``h(max_spend)``); the tolerance holds up to it.

    The model passes a floor and a ceiling that keep every breakpoint inside
    the money a plan and HiGHS resolve (:mod:`optsupply.model.data`); curves
    of the accepted shapes and half-saturations whose breakpoints already lie
    inside are unchanged.

    Raises
    ------
    ValueError
        Unless ``max_uplift``, ``half_saturation`` and ``shape`` are finite and
        positive, ``0 < tolerance < 1`` and ``0 <= min_spend < max_spend``;
        and when the curve is so flat (tiny ``shape``) that reaching
        ``1 - tolerance`` of ``max_uplift`` takes a spend beyond the range of
        doubles and no ``max_spend`` bounds it.
    """
    M, k, s, tol = (float(v) for v in (max_uplift, half_saturation, shape, tolerance))
    for name, v in (("max_uplift", M), ("half_saturation", k), ("shape", s)):
        if not (math.isfinite(v) and v > 0.0):
            raise ValueError(f"{name} must be a finite positive number, got {v!r}")
    if not (math.isfinite(tol) and 0.0 < tol < 1.0):
        raise ValueError(f"tolerance must be between 0 and 1 (exclusive), got {tol!r}")
    lo_spend, hi_spend = float(min_spend), float(max_spend)
    if not (math.isfinite(lo_spend) and 0.0 <= lo_spend < hi_spend):
        raise ValueError(f"need 0 <= min_spend < max_spend, got {min_spend!r} and {max_spend!r}")

    c = _Curve(s)
    target = tol * _TARGET_FACTOR
    log_end = math.log((1.0 - target) / target) / s         # f(x_end) = 1 - target
    capped = math.isfinite(hi_spend) and log_end > math.log(hi_spend / k)
    if capped:
        log_end = math.log(hi_spend / k)
    if log_end > 700.0:
        raise ValueError(f"shape {s} is too flat: the curve reaches {1 - tol:g} of max_uplift only at a spend of "
                         f"about half_saturation * e^{log_end:.0f}; give a max_spend")
    x_end = math.exp(log_end)
    first = lo_spend / k

    if s > 1.0:
        xs = math.exp(math.log((s - 1.0) / (s + 1.0)) / s)
        xv, yv = _convex_part(c, xs, target)
        n_convex = len(xv) - 1
        if x_end > xs:
            x2, y2 = _concave_part(c, xs, yv[-1], x_end, target)
            xv, yv = xv + x2[1:], yv + y2[1:]
    else:
        n_convex = 0
        xv, yv = _concave_part(c, 0.0, 0.0, x_end, target, first=first)

    x = np.array(xv, dtype=float)
    y = np.array(yv, dtype=float)
    # non-decreasing values: only ever lower a vertex (keeps g <= h)
    y = np.minimum.accumulate(y[::-1])[::-1]
    y[0] = 0.0
    if not (np.all(np.diff(x) > 0.0) and np.all(np.isfinite(y))):
        raise RuntimeError("piecewise-linear Hill approximation produced invalid breakpoints")

    floored = n_convex == 0 and first > 0.0 and len(x) > 1 and x[1] <= first * (1.0 + 1e-12)
    under, over = _measure(c, x, y, n_convex, skip_first=floored, skip_tail=capped)
    if over > _CHECK_SLACK or under > tol:
        raise RuntimeError(
            f"piecewise-linear Hill approximation failed its check (shape={s}, tolerance={tol}): "
            f"max h-g = {under:.3g}, max g-h = {over:.3g}")
    return HillPWL(breakpoints=x * k, values=y * M, n_convex=int(n_convex), max_error=float(under * M),
                   resolved_from=float(x[1] * k) if floored else 0.0,
                   resolved_to=float(x[-1] * k) if capped else math.inf)
