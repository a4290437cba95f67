"""The siloed baselines: the plan teams make without optsupply, by naive or by practitioner rules.

Each team decides on its own with a simple rule of thumb, one after the other
(launch → marketing → merchandising → supply chain), and the resulting plan is
evaluated with exactly the same profit calculation and checker as an
optimized plan (:func:`optsupply.plan.check.evaluate_plan`,
:func:`optsupply.plan.check.check_plan`). Comparing the two
(:func:`optsupply.baselines.report.uplift_report`) shows what planning everything together is worth,
and where that uplift comes from.

>>> import optsupply as ops
>>> from optsupply.baselines.report import uplift_report
>>> from optsupply.baselines.siloed import siloed_plan
>>> sc = ops.Scenario.load("instances/tiny")
>>> base = siloed_plan(sc)                 # a Plan, kpis["status"] == "baseline"
>>> uplift_report(sc, ops.solve(sc), base)  # profit and every cost, side by side


The rules are in :mod:`optsupply.baselines.naive` (launch, marketing and
merchandising, naive), :mod:`optsupply.baselines.practitioner` (the same teams'
rules done competently: :func:`practitioner_plan`) and
:mod:`optsupply.baselines.supply` (the supply chain, for both); what they share
is in :mod:`optsupply.baselines.common`.

The plan's ``kpis`` come from :func:`optsupply.plan.check.evaluate_plan`;
``status`` is ``"baseline"`` and ``method`` is ``"siloed"`` (no solver ran,
so there is no bound or gap).
With the practitioner rules ``method`` is ``"practitioner"``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optsupply.baselines.common import _EPS, _Ads, _ads_on_the_true_curve, _base_demand, _Data, _prepare
from optsupply.baselines.naive import _advertising, _featured, _launch_periods
from optsupply.baselines.practitioner import _advertising_practitioner, _featured_practitioner, _launch_practitioner
from optsupply.baselines.supply import (
    DEFAULT_REVIEW,
    DEFAULT_WAREHOUSES,
    REVIEW_RULES,
    SAFETY_Z,
    WAREHOUSE_RULES,
    _Flows,
    _simulate,
)
from optsupply.errors import UsageError
from optsupply.plan.check import evaluate_plan
from optsupply.plan.core import BASELINE, Plan, period_dates, profit_kpis, table_frame
from optsupply.scenario.core import Scenario

__all__ = ["siloed_plan", "practitioner_plan", "RULE_SETS", "STATUS"]

STATUS = BASELINE  #: kpis status of a siloed plan
#: rule sets of :func:`siloed_plan`: the naive siloed rules and the practitioner rules
RULE_SETS = ("naive", "practitioner")


def siloed_plan(scenario: Scenario, warehouses: str = DEFAULT_WAREHOUSES, review: str = DEFAULT_REVIEW,
                rules: str = "naive", commercial: Plan | None = None) -> Plan:
    """The plan of siloed teams following simple rules (:mod:`optsupply.baselines.naive`, :mod:`optsupply.baselines.supply`), evaluated like any plan.

    Parameters
    ----------
    scenario : Scenario
        A loaded (validated) scenario.
    warehouses : {"per_region", "home_spill", "home"}
        The supply rule (:mod:`optsupply.baselines.supply`): each region's demand planned at the product's
        warehouse with the cheapest lane to it, spilling to the next when full (default); at the
        product's home warehouse first, spilling per region to the next-cheapest when full; or
        everything at one home warehouse per product, capacities ignored.
    review : {"eoq", "every_period"}
        The ordering rule: order up to forecast plus safety stock every R periods, R from the
        economic order quantity (default), or every period (R = 1).
    rules : {"naive", "practitioner"}
        ``"naive"`` (default): the naive siloed rules (:mod:`optsupply.baselines.naive`). ``"practitioner"``: every
        team's rule done competently (:func:`practitioner_plan`): launches that count every
        onboarding cost, ads where margin × uplift pays for the spend, featured slots by margin ×
        lift, and the same supply rules without safety stock.
    commercial : Plan, optional
        Take the launches, ad spend and featured products of this plan instead of the commercial
        rules (the uplift counted on is the true Hill curve at its spend); only the supply rules
        run. This is how a plan made for other supply data (e.g.
        :func:`optsupply.optimizer.sequential.commercial_scenario`) gets a feasible supply part.

    Returns
    -------
    Plan
        Tables as in SPEC §4; ``kpis`` from :func:`optsupply.plan.check.evaluate_plan` with
        ``status == "baseline"``, ``method == "siloed"``, no ``best_bound`` or ``mip_gap``
        (None), ``advertising_budget``: the budget the marketing rule split, and
        ``warehouses`` and ``review``: the supply and ordering rules used.

    Raises
    ------
    BaselineError
        When the must_launch products do not fit into their windows under launch.max_per_period.
    UsageError
        When ``warehouses`` is not one of :data:`optsupply.baselines.supply.WAREHOUSE_RULES` or ``review`` not one of
        :data:`optsupply.baselines.supply.REVIEW_RULES`.
    """
    for kind, value, allowed in (("warehouses rule", warehouses, WAREHOUSE_RULES), ("review rule", review, REVIEW_RULES),
                                 ("rules", rules, RULE_SETS)):
        if value not in allowed:
            raise UsageError(f"unknown {kind} {value!r}: use one of {', '.join(allowed)}")
    t0 = time.perf_counter()
    d = _prepare(scenario)
    t1 = time.perf_counter()
    practitioner = rules == "practitioner"
    tau, base, sd, active, ads, feat = _commercial_decisions(d, practitioner, commercial)
    U = np.zeros((len(d.products), d.H))
    np.add.at(U, d.qp[ads.rows], ads.uplift)
    demand = _Demand(base, d.share[:, :, None] * U[:, None, :], d.lift[:, None, None] * base * feat[:, None, :])
    flows = _simulate(d, demand.potential, sd, active, warehouses, review, 0.0 if practitioner else SAFETY_Z)
    plan = Plan(**_tables(d, tau, demand, ads, feat, flows), kpis={}, scenario_name=scenario.name,
                dates=period_dates(scenario))
    t2 = time.perf_counter()
    ev = evaluate_plan(scenario, plan)
    plan.kpis = {
        "status": STATUS,
        "method": rules if practitioner else "siloed",
        "rules": rules,
        "warehouses": warehouses,
        "review": review,
        **profit_kpis(ev),
        "build_seconds": round(t1 - t0, 3),
        "solve_seconds": round(t2 - t1, 3),
        "advertising_budget": ads.total_budget,
        "scenario": scenario.name,
    }
    return plan


def _commercial_decisions(d: _Data, practitioner: bool, commercial: Plan | None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, _Ads, np.ndarray]:
    """Launch periods, base demand and its sd, the active mask, the ads and the featured mask: by the
    naive or the practitioner rules, or taken from the ``commercial`` plan."""
    if commercial is not None:
        tau = _launches_of(d, commercial)
        base, sd, active = _base_demand(d, tau)
        return tau, base, sd, active, _ads_of(d, commercial, active), _featured_of(d, commercial, active)
    tau = _launch_practitioner(d) if practitioner else _launch_periods(d)
    base, sd, active = _base_demand(d, tau)
    ads = (_advertising_practitioner if practitioner else _advertising)(d, base, active)
    feat = (_featured_practitioner if practitioner else _featured)(d, base, active)
    return tau, base, sd, active, ads, feat


@dataclass
class _Demand:
    """P×R×T: base demand and the ad and featured uplift counted on; their sum is the potential demand."""

    base: np.ndarray
    ad_uplift: np.ndarray
    featured_uplift: np.ndarray
    potential: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.potential = self.base + self.ad_uplift + self.featured_uplift


def _tables(d: _Data, tau: np.ndarray, demand: _Demand, ads: _Ads, feat: np.ndarray,
            flows: _Flows) -> dict[str, pd.DataFrame]:
    """The plan's tables (SPEC §4) from the decisions and the simulated flows."""
    P, W = d.products, d.warehouses
    launched = np.flatnonzero(tau >= 0)
    k, t = np.nonzero(flows.orders > _EPS)
    orders = table_frame("orders", {"product": P[d.kp[k]], "warehouse": W[d.kw[k]], "period": t, "arrival": t + d.lead[k],
                               "units": flows.orders[k, t]})
    k, t = np.nonzero(flows.stock > _EPS)
    stock = table_frame("stock", {"product": P[d.kp[k]], "warehouse": W[d.kw[k]], "period": t, "units": flows.stock[k, t]})
    m, t = np.nonzero(flows.ship > 0)
    mk = flows.mk[m]
    shipments = table_frame("shipments", {"product": P[d.kp[mk]], "warehouse": W[d.kw[mk]], "region": d.regions[flows.mr[m]],
                                     "period": t, "units": flows.ship[m, t]})
    i, t = np.nonzero((ads.spend > 0) | (ads.effective > _EPS))
    q = ads.rows[i]
    advertising = table_frame("advertising", {"product": P[d.qp[q]], "channel": d.channels[d.qc[q]], "period": t,
                                         "spend": ads.spend[i, t], "effective_spend": ads.effective[i, t],
                                         "uplift": ads.uplift[i, t]})
    p, t = np.nonzero(feat)
    return {
        "launches": table_frame("launches", {"product": P[launched], "period": tau[launched]}),
        "orders": orders, "stock": stock, "shipments": shipments, "sales": _sales(d, demand, flows),
        "advertising": advertising, "featured": table_frame("featured", {"product": P[p], "period": t}),
        "lanes": _lanes(d, flows),
    }


def _sales(d: _Data, demand: _Demand, flows: _Flows) -> pd.DataFrame:
    """The sales table: potential demand and its parts, what the shipments sold and what was lost."""
    potential = demand.potential
    m, t = np.nonzero(flows.ship > 0)
    sold = np.zeros_like(potential)
    np.add.at(sold, (d.kp[flows.mk[m]], flows.mr[m], t), flows.ship[m, t])
    p, r, t = np.nonzero((potential > 0) | (sold > 0))
    return table_frame("sales", {
        "product": d.products[p], "region": d.regions[r], "period": t, "base_demand": demand.base[p, r, t],
        "ad_uplift": demand.ad_uplift[p, r, t], "featured_uplift": demand.featured_uplift[p, r, t],
        "potential_demand": potential[p, r, t], "sales": sold[p, r, t],
        "lost": np.maximum(potential[p, r, t] - sold[p, r, t], 0.0),
    })


def _lanes(d: _Data, flows: _Flows) -> pd.DataFrame:
    """The lanes table: the volume shipped over each lane in each period it is used."""
    volume = np.zeros((len(d.lane_cost), d.H))
    m, t = np.nonzero(flows.ship > 0)
    np.add.at(volume, (flows.ml[m], t), flows.ship[m, t] * d.volume[d.kp[flows.mk[m]]])
    lane_w = np.empty(len(d.lane_cost), dtype=np.int64)
    lane_r = np.empty(len(d.lane_cost), dtype=np.int64)
    for (w, r), i_lane in d.lane_of.items():
        lane_w[i_lane], lane_r[i_lane] = w, r
    i_lane, t = np.nonzero(volume > 0)
    return table_frame("lanes", {"warehouse": d.warehouses[lane_w[i_lane]], "region": d.regions[lane_r[i_lane]],
                            "period": t, "volume": volume[i_lane, t], "used": np.ones(len(t), dtype=bool)})


def _launches_of(d: _Data, plan: Plan) -> np.ndarray:
    tau = np.full(len(d.products), -1, dtype=np.int64)
    index = {p: i for i, p in enumerate(d.products)}
    for p, t in zip(plan.launches["product"], plan.launches["period"], strict=True):
        if str(p) in index and d.is_new[index[str(p)]]:
            tau[index[str(p)]] = int(t)
    return tau


def _ads_of(d: _Data, plan: Plan, active: np.ndarray) -> _Ads:
    """The plan's ad spend per response row, with effective spend and the true Hill uplift."""
    row_of = {(str(d.products[p]), str(d.channels[c])): q for q, (p, c) in enumerate(zip(d.qp, d.qc, strict=True))}
    spend_all = np.zeros((len(d.qp), d.H))
    ad = plan.advertising
    for p, c, t, x in zip(ad["product"], ad["channel"], ad["period"], ad["spend"], strict=True):
        q = row_of.get((str(p), str(c)))
        if q is not None and 0 <= int(t) < d.H:
            spend_all[q, int(t)] += float(x)
    rows = np.flatnonzero(spend_all.sum(axis=1) > 0)
    spend = spend_all[rows]
    return _ads_on_the_true_curve(d, rows, spend, active, float(spend.sum()))


def _featured_of(d: _Data, plan: Plan, active: np.ndarray) -> np.ndarray:
    feat = np.zeros_like(active)
    index = {p: i for i, p in enumerate(d.products)}
    for p, t in zip(plan.featured["product"], plan.featured["period"], strict=True):
        i = index.get(str(p))
        if i is not None and 0 <= int(t) < d.H:
            feat[i, int(t)] = active[i, int(t)]
    return feat


def practitioner_plan(scenario: Scenario, warehouses: str = DEFAULT_WAREHOUSES, review: str = DEFAULT_REVIEW) -> Plan:
    """The practitioner baseline: ``siloed_plan(scenario, rules="practitioner")`` (:mod:`optsupply.baselines.practitioner`).

    ``kpis["method"] == "practitioner"``; everything else as :func:`siloed_plan`.
    """
    return siloed_plan(scenario, warehouses=warehouses, review=review, rules="practitioner")
