"""The practitioner rules: every team's rule of thumb done competently.

The naive rules (:mod:`optsupply.baselines.naive`) are *naive*: marketing spends the whole budget whatever the
response curves say, the launch test ignores onboarding costs, featured slots
go by revenue, and supply carries a safety stock that a plan scored on demand
equal to the forecast only pays for. ``siloed_plan(scenario, rules="practitioner")``
(:func:`optsupply.baselines.siloed.practitioner_plan`) is every team's rule of thumb done competently —
the fair baseline, and what :func:`optsupply.baselines.report.uplift_report` and ``benchmarks/uplift.py``
compare with. *Margin* is price − unit_cost.

**Launch team.** Steps 1 and 2 of the naive rule (must_launch products, then every
product whose forecast margin covers its launch cost). Then every onboarding
cost and minimum assortment is counted: the *launch value* of a set of
launches is Σ (forecast margin − launch_cost) of the launched products minus
the onboarding cost of every category and brand they touch. Categories, then
brands (table order), with an onboarding cost or a min_products are visited
in passes until nothing changes; for each group with a launched product the
team picks the highest launch value among: keeping the group as it is (when it
meets its minimum), topping it up with its best members not launched (each at
its first period with room; when that reaches the minimum) and dropping its
optional members (when it has no must_launch member); ties in that order.
Whatever still breaks a minimum after the passes is dropped as in step 3 of
the naive rule.

**Marketing.** Per (product, channel) with a response row: the steady spend
at which the true Hill curve's marginal margin falls to 1. A spend x every
period settles at the effective spend e = x / (1 − carryover), so e maximises
margin · hill(e) − λ · (1 − carryover) · e with λ = 1 — for a concave curve
margin · hill'(e) = λ · (1 − carryover); with shape 1,
e = √(margin · max_uplift · k / (λ · (1 − carryover))) − k — or 0 when no
spend earns its cost; x = (1 − carryover) · e in every active period.
When the spend over the horizon exceeds ``advertising.total_budget``, λ rises
(bisection) until it fits, so the budget goes where a unit of spend returns
the most margin. Then a channel's spend above its per-period budget is scaled
down to it, as in the naive rule. The uplift counted on is the true Hill curve.

**Merchandising.** Per period the slots go to the active products with the
largest margin × featured_lift × forecast demand of the period (> 0; ties by
product order).

**Supply chain.** The supply rules of :mod:`optsupply.baselines.supply` (``warehouses``, ``review``) with
z = 0: the order-up-to level is the forecast over the review period and lead
time, without safety stock — every plan is scored on demand equal to the
forecast. ``method`` is ``"practitioner"``.
"""

from __future__ import annotations

import numpy as np

from optsupply.baselines.common import (_Ads, _ads_on_the_true_curve, _cap_channels, _Data, _drop_short_groups, _groups,
                                        _launch_limit, _launch_periods_individual, _launch_values, _top_per_period, _top_up)
from optsupply.curves import hill

__all__ = ["profitable_spend", "hill_slope"]


def _launch_practitioner(d: _Data) -> np.ndarray:
    """Launch period of every product under the practitioner launch rule (−1: not launched)."""
    limit = _launch_limit(d)
    net = _launch_values(d)
    tau = _launch_periods_individual(d, limit, net)
    groups = _groups(d)

    def value(t: np.ndarray) -> float:
        on = np.flatnonzero(t >= 0)
        v = float(net[on, t[on]].sum())
        return v - sum(cost for members, _, cost in groups if (t[members] >= 0).any())

    for _ in range(4 * len(groups) + 1):  # passes until nothing changes
        changed = False
        for members, need, _cost in groups:
            have = [p for p in members if tau[p] >= 0]
            if not have:
                continue
            must = any(d.must[p] for p in have)
            options = []
            if len(have) >= need:
                options.append(tau.copy())  # keep the group as it is
            else:  # top up with the best members not launched, each at its first period with room
                top = tau.copy()
                _top_up(d, top, members, need, net, np.bincount(tau[tau >= 0], minlength=d.H), limit)
                if (top[members] >= 0).sum() >= need:
                    options.append(top)
            if not must:  # drop its optional members
                drop = tau.copy()
                drop[[p for p in have if not d.must[p]]] = -1
                options.append(drop)
            if not options:
                continue
            best = max(options, key=value)  # the first of equals: keep, top up, drop
            if not np.array_equal(best, tau):
                tau, changed = best, True
        if not changed:
            break
    _drop_short_groups(d, tau, groups)  # what still breaks a minimum (a pass limit reached)
    return tau


def hill_slope(e: np.ndarray | float, max_uplift: float, half: float, shape: float) -> np.ndarray:
    """d/de of the Hill curve max_uplift · e^s / (e^s + k^s)."""
    e = np.maximum(np.asarray(e, dtype="float64"), 1e-300)
    ks = half ** shape
    es = e ** shape
    return max_uplift * shape * ks * e ** (shape - 1.0) / (es + ks) ** 2


def profitable_spend(margin: float, max_uplift: float, half: float, shape: float, price_of_spend: float) -> float:
    """The effective spend e ≥ 0 that maximises margin · hill(e) − price_of_spend · e (0 when nothing pays).

    For a concave curve (shape ≤ 1) it is where the marginal margin margin · hill'(e) falls to
    ``price_of_spend``; with shape = 1, e = √(margin · max_uplift · k / price_of_spend) − k. An S-shaped
    curve (shape > 1) is searched on a grid first, then refined on the falling side of its slope.
    """
    if margin <= 0 or max_uplift <= 0 or half <= 0 or price_of_spend <= 0:
        return 0.0

    def net(e: np.ndarray) -> np.ndarray:
        return margin * hill(e, max_uplift, half, shape) - price_of_spend * e

    grid = half * np.logspace(-4, 4, 801)
    i = int(np.argmax(net(grid)))
    if net(grid[i:i + 1])[0] <= 0:
        return 0.0
    lo = grid[i - 1] if i > 0 else 0.0
    hi = grid[i + 1] if i + 1 < len(grid) else grid[i] * 10
    if margin * hill_slope(hi, max_uplift, half, shape) > price_of_spend:  # still rising at the grid's end
        return float(hi)
    if lo > 0 and margin * hill_slope(lo, max_uplift, half, shape) < price_of_spend:  # the top is at lo
        return float(lo) if net(np.array([lo]))[0] > 0 else 0.0
    for _ in range(200):  # bisection on the falling side: margin · hill'(e) = price_of_spend
        mid = 0.5 * (lo + hi)
        if margin * hill_slope(mid, max_uplift, half, shape) > price_of_spend:
            lo = mid
        else:
            hi = mid
    e = 0.5 * (lo + hi)
    return float(e) if net(np.array([e]))[0] > 0 else 0.0


def _advertising_practitioner(d: _Data, base: np.ndarray, active: np.ndarray) -> _Ads:
    """Per (product, channel): the steady spend at which the true Hill curve's marginal margin falls to 1.

    At a constant spend x per period the effective spend settles at e = x / (1 − carryover); one more
    unit of spend per period buys 1 / (1 − carryover) of effective spend. So e solves
    margin · hill'(e) = λ · (1 − carryover) with λ = 1 (margin = price − unit_cost), and
    x = (1 − carryover) · e is spent in every active period. When the spend over the horizon exceeds
    advertising.total_budget, λ is raised (bisection) until it fits: the budget goes where the margin
    per unit of spend is highest. Then every channel's spend in a period above its budget is scaled
    down to the budget.
    """
    n_active = active.sum(axis=1)
    margin = d.price - d.unit_cost
    ok = (d.q_max > 0) & (n_active[d.qp] > 0) & (margin[d.qp] > 0)
    rows = np.flatnonzero(ok)
    carry = d.q_carry[rows]

    def spends(lam: float) -> np.ndarray:
        e = np.array([profitable_spend(margin[d.qp[q]], d.q_max[q], d.q_half[q], d.q_shape[q],
                                       lam * (1.0 - d.q_carry[q])) for q in rows])
        return (1.0 - carry) * e if len(rows) else np.zeros(0)

    per_period = spends(1.0)
    weight = n_active[d.qp[rows]]
    if d.total_budget is not None and len(rows) and float(per_period @ weight) > d.total_budget:
        lo, hi = 1.0, 2.0
        while float(spends(hi) @ weight) > d.total_budget and hi < 1e12:
            lo, hi = hi, hi * 2
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if float(spends(mid) @ weight) > d.total_budget:
                lo = mid
            else:
                hi = mid
        per_period = spends(hi)
    spend = per_period[:, None] * active[d.qp[rows]]
    _cap_channels(d, rows, spend)
    keep = spend.sum(axis=1) > 0
    rows, spend = rows[keep], spend[keep]
    budget = float(d.total_budget) if d.total_budget is not None else float(spend.sum())
    return _ads_on_the_true_curve(d, rows, spend, active, budget)


def _featured_practitioner(d: _Data, base: np.ndarray, active: np.ndarray) -> np.ndarray:
    """P×T: per period the slots go to the products whose feature adds the most margin:
    (price − unit_cost) × featured_lift × forecast demand of the period (only where that is > 0)."""
    gain = ((d.price - d.unit_cost) * d.lift)[:, None] * base.sum(axis=1)
    return _top_per_period(d, gain, active & (gain > 0))
