"""The naive siloed rules of the launch, marketing and merchandising teams.

The rules of thumb a team follows without optsupply, each team on its own, one after the other
(launch → marketing → merchandising, then the supply chain rules of
:mod:`optsupply.baselines.supply`); :func:`optsupply.baselines.siloed.siloed_plan` puts them
together. *Forecast* is the scenario's base demand (:mod:`optsupply.baselines.common`).

**Launch team.** A new product's *forecast margin* at period τ is
(price − unit_cost) × its forecast demand, summed over all regions and the
periods τ … H−1 when launched at τ. A product is worth launching at τ when
that margin is at least its launch_cost (category and brand onboarding costs
are not part of this per-product test). must_launch products always launch.
At most ``launch.max_per_period`` products launch per period:

1. must_launch products first, earliest deadline first (the earliest period
   with room in their window; always their launch_earliest when there is room);
2. then the products worth launching at their launch_earliest, by forecast
   margin − launch cost (highest first, ties by product order): each launches
   in the first period from its launch_earliest on that has room and at which
   it is still worth launching (a later launch has a shorter horizon), and is
   dropped when no period of its window has room.

Then ``min_products`` of categories and brands (counting launched new
products): a group that launches some but fewer than min_products products is
*topped up* with its best not-yet-launched members (highest forecast margin −
launch cost at their earliest period; each at the first period of its window
with room) when that reaches min_products and the group's launched members
together still forecast at least their launch costs plus the group's
onboarding cost (or when the group has a must_launch member); otherwise every
optional member of the group is dropped. Dropping repeats until no group
breaks its minimum (a group whose only launched members must launch and that
cannot be topped up is left as it is: the scenario then has no feasible plan
with these launches).

**Marketing.** The advertising budget is ``advertising.total_budget``; when
that is not set, it is the channels' per-period budgets over the horizon, an
uncapped channel counted at the sum of the half-saturation spends of the
products it can advertise. Products that can be advertised (a response.csv
row with max_uplift > 0) and are active at some period get a share of the
budget in proportion to their forecast revenue (price × forecast demand over
the horizon). A product's share is split equally over its channels and spread
evenly over the periods in which it is active (spend before launch is wasted,
so there is none). Where the spend on a channel in a period exceeds the
channel's budget, every product's spend on it in that period is scaled down to
the budget; the rest is not spent. The uplift counted on is the true Hill curve
(:func:`optsupply.curves.hill`) at the effective (adstocked) spend, split
over regions in proportion to the product's forecast per region.

**Merchandising.** In each period the slots go to the active products with a
featured_lift > 0 and the highest forecast revenue in that period (price ×
forecast demand; ties by product order); a product with no lift gains nothing
from a slot. The featured uplift counted on is featured_lift × base demand.
"""

from __future__ import annotations

import numpy as np

from optsupply.baselines.common import (_Ads, _ads_on_the_true_curve, _cap_channels, _Data, _drop_short_groups, _groups,
                                        _launch_limit, _launch_periods_individual, _launch_values, _top_per_period, _top_up)


def _launch_periods(d: _Data) -> np.ndarray:
    """Launch period of every product (−1: not launched; active products are −1 too)."""
    limit = _launch_limit(d)
    net = _launch_values(d)
    # 1. must_launch, earliest deadline first; 2. optional products worth launching at their earliest period
    tau = _launch_periods_individual(d, limit, net)
    count = np.bincount(tau[tau >= 0], minlength=d.H).astype(np.int64)
    # 3. min_products of categories and brands: top up, or else drop
    groups = [group for group in _groups(d) if group[1] > 0]
    for members, need, cost in groups:
        have = [p for p in members if tau[p] >= 0]
        if not 0 < len(have) < need:
            continue
        added = _top_up(d, tau, members, need, net, count, limit)
        value = sum(net[p, tau[p]] for p in have + added) - cost
        worth = value >= 0 or any(d.must[p] for p in members)
        if len(have) + len(added) < need or not worth:
            for p in added:
                count[tau[p]] -= 1
                tau[p] = -1
    _drop_short_groups(d, tau, groups)
    return tau


def _advertising(d: _Data, base: np.ndarray, active: np.ndarray) -> _Ads:
    """The naive marketing rule: the whole budget split by forecast revenue, evenly over channels and active periods."""
    H = d.H
    n_active = active.sum(axis=1)
    revenue = d.price * base.sum(axis=(1, 2))
    ok = (d.q_max > 0) & (n_active[d.qp] > 0) & (revenue[d.qp] > 0)
    rows = np.flatnonzero(ok)
    if d.total_budget is not None:
        budget = float(d.total_budget)
    else:  # the channels' budgets over the horizon; an uncapped channel at its products' half-saturation spends
        per_channel = np.bincount(d.qc[rows], weights=d.q_half[rows], minlength=len(d.channels))
        budget = float(np.minimum(d.channel_budget, per_channel).sum() * H)
    spend = np.zeros((len(rows), H))
    if len(rows) and budget > 0:
        advertised = np.unique(d.qp[rows])
        product_budget = np.zeros(len(d.products))
        product_budget[advertised] = budget * revenue[advertised] / revenue[advertised].sum()
        n_channels = np.bincount(d.qp[rows], minlength=len(d.products))
        per_period = product_budget[d.qp[rows]] / n_channels[d.qp[rows]] / n_active[d.qp[rows]]
        spend = per_period[:, None] * active[d.qp[rows]]
        _cap_channels(d, rows, spend)
    return _ads_on_the_true_curve(d, rows, spend, active, budget)


def _featured(d: _Data, base: np.ndarray, active: np.ndarray) -> np.ndarray:
    """P×T: featured products, the active ones with a lift and the highest forecast revenue per period."""
    revenue = d.price[:, None] * base.sum(axis=1)
    return _top_per_period(d, revenue, active & (d.lift[:, None] > 0) & (revenue > 0))
