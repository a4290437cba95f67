"""Planning large scenarios by product groups: fix-and-optimize with an honest bound.

The joint model of a large scenario (hundreds of products × dozens of regions
× a year of weeks) has close to a million columns; building it through Pyomo
and solving it as one MIP does not fit into minutes on a small machine. The
products are, however, only loosely coupled: they share warehouse storage and
throughput, lane capacities and lane fixed costs, advertising budgets,
featured slots, the launch cap per period, category/brand onboarding and
minimum assortments, and the working-capital cap. Everything else (launch
timing, orders, stock, shipments, ads, featuring of one product) is the
product's own. :func:`decompose` exploits that:

**Start.** The best baseline available (:func:`start_plan`): the practitioner
plan (:func:`optsupply.baselines.siloed.practitioner_plan`), the naive siloed plan, or
a plan passed in (``start``, e.g. the practitioner plan with its supply part
optimised), whichever earns most; each is feasible by construction and checked
like any plan. A group's new plan is only taken when it improves the whole
plan, so the result is never below its start.

**Fix-and-optimize sweeps.** Products are split into groups of
``group_size`` (same category and brand together, because they share
onboarding and minimum assortments). For one group G, every other product's
decisions are fixed at the current plan and the joint model of G alone is
solved as a MIP, with

* each shared capacity reduced by what the other products use of it
  (residual rows ``Σ_{p∈G} use_p ≤ capacity − use_others`` for throughput,
  storage, lane capacity, working capital, channel and total budgets,
  featured slots and launches per period);
* lanes the others already use switched on (their fixed cost is paid);
* categories/brands in which the others already launched products counted as
  onboarded: no onboarding cost, and G must only add what the minimum
  assortment still lacks;
* the group's current decisions as HiGHS's MIP start (``setSolution``: every
  launch, set-up, lane, featured-slot and Hill-segment binary), so the
  sub-MIP starts from at least the current plan.

The group's new plan replaces its rows when the whole plan's profit
(recomputed from the tables, :func:`optsupply.model.extract.evaluate`) improves.
Sweeps repeat while they improve and time remains.

**Bound.** Lagrangian: every coupling row is priced instead of enforced,
each group's problem is relaxed (integrality dropped; a shared fixed cost — a
lane's fixed cost, a category's or brand's onboarding — split equally over the
groups that can incur it; minimum assortments spanning groups dropped), and

    L(λ) = Σ_g max_x (profit_g(x) − λ·use_g(x)) + λ·capacity,   λ ≥ 0

is an upper bound on the joint optimum for every λ. A scaled subgradient
method (Polyak steps towards the plan's profit) lowers it; at the best λ each
group's term is tightened by its MIP dual bound (HiGHS's cuts). The bound gets
the last quarter of the time limit; if building every group's relaxation does
not fit into it (``instances/large``: about 7 s per group on a 2-core machine),
the plan has no ``best_bound`` and ``mip_gap`` is None rather than a guess.

>>> import optsupply as ops
>>> plan = ops.solve("instances/large", method="decompose", time_limit=600)
>>> plan.kpis["method"], plan.kpis["mip_gap"], plan.kpis["sweeps"]
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optsupply.model import build_model, prepare
from optsupply.model.data import ModelData
from optsupply.model.extract import evaluate, extract_plan
from optsupply.model.fixing import fix_commercial
from optsupply.model.slices import ProductSlices
from optsupply.optimizer.highs import SolveOptions, highs_version
from optsupply.optimizer.highs.arrays import CompiledModel
from optsupply.optimizer.lagrangian import lagrangian_bound
from optsupply.plan.core import (INTERRUPTED, OPTIMAL, TABLE_COLUMNS, TIME_LIMIT, Plan, empty_plan, mip_gap,
                                 profit_kpis)
from optsupply.scenario.core import Scenario

logger = logging.getLogger(__name__)

GROUP_SIZE = 2  # products per sub-MIP (about 2-6 thousand columns each on the shipped medium and large)
SUB_TIME_LIMIT = 20.0  # seconds per group MIP (the sweep's share of the time limit when smaller)
BOUND_SHARE = 0.25  # share of the time limit for the bound
TOL = 1e-9

# ---------------------------------------------------------------------- what the other products use


@dataclass
class _Usage:
    """Use of every shared resource by a set of products, from plan tables."""

    throughput: dict = field(default_factory=dict)  # (w, t) -> volume shipped
    lane: dict = field(default_factory=dict)  # (w, r, t) -> volume
    storage: dict = field(default_factory=dict)  # (w, t) -> volume in stock
    capital: dict = field(default_factory=dict)  # t -> value of stock
    channel: dict = field(default_factory=dict)  # (c, t) -> spend
    spend: float = 0.0
    slots: dict = field(default_factory=dict)  # t -> featured products
    launches: dict = field(default_factory=dict)  # t -> launches
    launched_in: dict = field(default_factory=dict)  # (kind, group) -> launched members


def _usage(plan: Plan, d: ModelData, keep: pd.Series | None = None) -> _Usage:
    def rows(df: pd.DataFrame) -> pd.DataFrame:
        return df[~df["product"].isin(keep)] if keep is not None and not df.empty else df

    u = _Usage()
    sh = rows(plan.shipments)
    if not sh.empty:
        vol = sh["product"].map(d.volume) * sh["units"]
        u.throughput = vol.groupby([sh["warehouse"], sh["period"]]).sum().to_dict()
        u.lane = vol.groupby([sh["warehouse"], sh["region"], sh["period"]]).sum().to_dict()
    st = rows(plan.stock)
    if not st.empty:
        u.storage = (st["product"].map(d.volume) * st["units"]).groupby([st["warehouse"], st["period"]]).sum().to_dict()
        u.capital = (st["product"].map(d.unit_cost) * st["units"]).groupby(st["period"]).sum().to_dict()
    ad = rows(plan.advertising)
    if not ad.empty:
        u.channel = ad.groupby(["channel", "period"])["spend"].sum().to_dict()
        u.spend = float(ad["spend"].sum())
    fe = rows(plan.featured)
    if not fe.empty:
        u.slots = fe.groupby("period").size().to_dict()
    la = rows(plan.launches)
    if not la.empty:
        u.launches = la.groupby("period").size().to_dict()
        counts: dict = defaultdict(int)
        for p in la["product"]:
            counts["category", d.category[p]] += 1
            counts["brand", d.brand[p]] += 1
        u.launched_in = dict(counts)
    return u


# ---------------------------------------------------------------------- one group's model


def _residual_rows(m: pyo.ConcreteModel, d: ModelData, full: ModelData, others: _Usage) -> None:
    """Shared capacities minus what the other products use (only where they use something)."""
    b = m.residual = pyo.Block()
    tr, inv, adv, dem, la = m.transport, m.inventory, m.advertising, m.demand, m.launch
    by_wt, by_wrt = defaultdict(list), defaultdict(list)
    for p, w, r, t in d.ship:
        by_wt[w, t].append((p, r))
        by_wrt[w, r, t].append(p)
    thr = [k for k in by_wt if others.throughput.get(k, 0) > 0 and math.isfinite(full.throughput[k[0]])]
    b.throughput = pyo.Constraint(thr, rule=lambda b, w, t: sum(
        d.volume[p] * tr.ship[p, w, r, t] for p, r in by_wt[w, t]) <= max(0.0, full.throughput[w] - others.throughput[w, t]))
    lanes = [k for k in by_wrt if others.lane.get(k, 0) > 0 and math.isfinite(full.lane_cap[k[0], k[1]])]
    b.lane = pyo.Constraint(lanes, rule=lambda b, w, r, t: sum(
        d.volume[p] * tr.ship[p, w, r, t] for p in by_wrt[w, r, t]) <= max(0.0, full.lane_cap[w, r] - others.lane[w, r, t]))
    for k in lanes:  # the lane is in use anyway: its fixed cost is paid
        if k in tr.used:
            tr.used[k].fix(1)
    st_wt, st_t = defaultdict(list), defaultdict(list)
    for p, w, t in d.stock:
        st_wt[w, t].append(p)
        st_t[t].append((p, w))
    sto = [k for k in st_wt if others.storage.get(k, 0) > 0 and math.isfinite(full.storage[k[0]])]
    b.storage = pyo.Constraint(sto, rule=lambda b, w, t: sum(
        d.volume[p] * inv.stock[p, w, t] for p in st_wt[w, t]) <= max(0.0, full.storage[w] - others.storage[w, t]))
    if full.max_inventory_value is not None:
        cap = [t for t in st_t if others.capital.get(t, 0) > 0]
        b.capital = pyo.Constraint(cap, rule=lambda b, t: sum(
            d.unit_cost[p] * inv.stock[p, w, t] for p, w in st_t[t]) <= max(0.0, full.max_inventory_value - others.capital[t]))
    by_ct = defaultdict(list)
    for p, c, t in adv.spend:
        by_ct[c, t].append(p)
    bud = [k for k in by_ct if others.channel.get(k, 0) > 0 and math.isfinite(full.channel_budget.get(k[0], math.inf))]
    b.channel = pyo.Constraint(bud, rule=lambda b, c, t: sum(
        adv.spend[p, c, t] for p in by_ct[c, t]) <= max(0.0, full.channel_budget[c] - others.channel[c, t]))
    if full.total_budget is not None and len(adv.spend) and others.spend > 0:
        b.total = pyo.Constraint(expr=sum(adv.spend[k] for k in adv.spend) <= max(0.0, full.total_budget - others.spend))
    f_t = defaultdict(list)
    for p, t in dem.feat:
        f_t[t].append(p)
    b.slots = pyo.Constraint([t for t in f_t if others.slots.get(t, 0) > 0],
                             rule=lambda b, t: sum(dem.feat[p, t] for p in f_t[t]) <= max(0, full.slots.get(t, 0) - others.slots[t]))
    if full.max_per_period is not None:
        y_t = defaultdict(list)
        for p, tau in la.y:
            y_t[tau].append(p)
        b.launches = pyo.Constraint([t for t in y_t if others.launches.get(t, 0) > 0], rule=lambda b, t: sum(
            la.y[p, t] for p in y_t[t]) <= max(0, full.max_per_period - others.launches[t]))
    for g in la.intro:  # onboarded by the other products already
        if others.launched_in.get(g, 0) > 0:
            la.intro[g].fix(1)


def _group_data(sl: ProductSlices, group: list[str], others: _Usage) -> ModelData:
    full = sl.d
    cost, mins = dict(full.group_cost), dict(full.group_min)
    for g, k in others.launched_in.items():
        if g in cost:
            cost[g] = 0.0
            mins[g] = max(0, full.group_min[g] - k)
    return sl.restrict(group, group_cost=cost, group_min=mins)


def _start(m: pyo.ConcreteModel, d: ModelData, plan: Plan, group: set[str]) -> dict[int, float]:
    """Binary values of the current plan for the group's model (by Pyomo var id)."""
    def rows(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["product"].isin(group)]

    la, tr, inv, adv, dem = m.launch, m.transport, m.inventory, m.advertising, m.demand
    vals: dict[int, float] = {}
    launched = {p: int(t) for p, t in zip(rows(plan.launches)["product"], rows(plan.launches)["period"], strict=True)}
    for (p, tau), v in la.y.items():
        vals[id(v)] = 1.0 if launched.get(p) == tau else 0.0
    o = rows(plan.orders)
    placed = set(zip(o["product"], o["warehouse"], o["period"].astype(int), strict=True))
    for k, v in inv.placed.items():
        vals[id(v)] = 1.0 if k in placed else 0.0
    pw = {(p, w) for p, w, _ in placed}
    for k, v in inv.active_w.items():
        vals[id(v)] = 1.0 if k in pw else 0.0
    sh = rows(plan.shipments)
    lanes = set(zip(sh["warehouse"], sh["region"], sh["period"].astype(int), strict=True))
    for k, v in tr.used.items():
        vals[id(v)] = 1.0 if (v.fixed or k in lanes) else 0.0
    fe = rows(plan.featured)
    feat = set(zip(fe["product"], fe["period"].astype(int), strict=True))
    for k, v in dem.feat.items():
        vals[id(v)] = 1.0 if k in feat else 0.0
    for g, v in la.intro.items():
        vals[id(v)] = 1.0 if (v.fixed or any(p in launched for p in d.group_members.get(g, ()))) else 0.0
    ad = rows(plan.advertising)
    eff = {(p, c, int(t)): e for p, c, t, e in zip(ad["product"], ad["channel"], ad["period"], ad["effective_spend"], strict=True)}
    for (p, c, t, i), v in adv.z.items():
        e = eff.get((p, c, t), 0.0)
        vals[id(v)] = 1.0 if e >= float(d.curves[p, c].breakpoints[i + 1]) * (1 - 1e-9) else 0.0
    return vals


# ---------------------------------------------------------------------- solving one model


# ---------------------------------------------------------------------- combining plans


def _replace(plan: Plan, part: Plan, group: set[str], d: ModelData) -> Plan:
    """``plan`` with the group's rows replaced by ``part``'s (lanes recomputed from the shipments)."""
    tables = {}
    for name in TABLE_COLUMNS:
        if name == "lanes":
            continue
        old, new = getattr(plan, name), getattr(part, name)
        keep = old[~old["product"].isin(group)]
        both = [df for df in (keep, new) if not df.empty]
        tables[name] = pd.concat(both, ignore_index=True) if both else old.iloc[0:0]
    sh = tables["shipments"]
    if sh.empty:
        tables["lanes"] = plan.lanes.iloc[0:0]
    else:
        vol = (sh["product"].map(d.volume) * sh["units"]).groupby([sh["warehouse"], sh["region"], sh["period"]]).sum()
        vol = vol[vol > 0].reset_index(name="volume")
        vol["used"] = True
        tables["lanes"] = vol[TABLE_COLUMNS["lanes"]]
    return Plan(**tables, kpis=dict(plan.kpis), scenario_name=plan.scenario_name, dates=plan.dates)


def _sorted(plan: Plan) -> Plan:
    """Rows in key order, as a solve writes them (groups are replaced by appending)."""
    for name in TABLE_COLUMNS:
        df = getattr(plan, name)
        key = [c for c in ("product", "warehouse", "channel", "region", "period") if c in df.columns]
        setattr(plan, name, df.sort_values(key, kind="stable").reset_index(drop=True))
    return plan


# ---------------------------------------------------------------------- the method


def product_groups(d: ModelData, size: int = GROUP_SIZE) -> list[list[str]]:
    """Products in groups of ``size``; products of one category and brand are kept together."""
    order = sorted(d.products, key=lambda p: (d.category[p], d.brand[p], d.products.index(p)))
    return [order[i:i + size] for i in range(0, len(order), size)]


def _reporter(opts: SolveOptions) -> Callable[[str], None]:
    """Progress lines to the solve's log stream (the CLI's stderr), else to the logger."""
    def say(msg: str) -> None:
        if opts.log is not None:
            print(f"[decompose {time.strftime('%H:%M:%S')}] {msg}", file=opts.log, flush=True)
        else:
            logger.info("%s", msg)
    return say


def start_plan(sc: Scenario, start: Plan | None = None) -> tuple[Plan | None, str]:
    """The best available start: the highest profit of the practitioner plan, the naive siloed plan and
    ``start`` (when given, and it passes the checker); (None, why) when there is none."""
    from optsupply.baselines.common import BaselineError
    from optsupply.baselines.siloed import practitioner_plan, siloed_plan
    from optsupply.plan.check import check_plan, evaluate_plan

    found, why = [], ""
    if start is not None and start.kpis.get("profit") is not None:
        from optsupply.errors import OptsupplyError

        try:  # valued for this scenario (a what-if's previous plan carries the kpis of the scenario before)
            start = _revalued(sc, start)
        except (OptsupplyError, KeyError, ValueError):  # a plan that does not fit: the checker says why below
            pass
        if check_plan(sc, start):
            why = "the given start plan breaks a rule of the scenario"
        else:
            found.append((evaluate_plan(sc, start)["profit"], 0, f"given plan ({start.kpis.get('method', '?')})", start))
    for i, (name, make) in enumerate((("practitioner plan", practitioner_plan), ("siloed plan", siloed_plan)), 1):
        try:
            plan = make(sc)
        except BaselineError as exc:
            why = str(exc)
            continue
        found.append((plan.kpis["profit"], i, name, plan))
    if not found:
        return None, why
    best = max(found, key=lambda f: (f[0], -f[1]))
    return best[3], best[2]


def _revalued(sc: Scenario, plan: Plan) -> Plan:
    """``plan`` with its KPIs recomputed for ``sc`` (the tables unchanged)."""
    from optsupply.plan.check import evaluate_plan

    return plan.with_kpis({**plan.kpis, **profit_kpis(evaluate_plan(sc, plan), None)}, scenario_name=sc.name)


def decompose(sc: Scenario, opts: SolveOptions, *, group_size: int | None = None,
              progress: Callable[[str], None] | None = None, start: Plan | None = None,
              fixed_commercial: bool = False) -> Plan:
    """Plan ``sc`` by product-group fix-and-optimize (module docstring); the plan's kpis report the bound.

    The search starts from the best of the practitioner plan, the naive siloed plan and ``start``
    (:func:`start_plan`), and only accepts improvements: the result is never below its start. With
    ``fixed_commercial`` the start's launches, featured products and ad spend stay fixed
    (:func:`optsupply.model.fixing.fix_commercial`; the start is then ``start`` itself) and only the
    supply part is optimised; no bound is computed.
    """
    t0 = time.perf_counter()
    limit = float(opts.time_limit if opts.time_limit is not None else 300.0)
    deadline = t0 + limit
    say = progress or _reporter(opts)
    d = prepare(sc)
    sl = ProductSlices(d)
    group_size = int(group_size or GROUP_SIZE)
    groups = product_groups(d, group_size)
    if fixed_commercial:
        if start is None:
            raise ValueError("fixed_commercial needs the start plan whose commercial decisions are fixed")
        plan, start_name = start, f"given plan ({start.kpis.get('method', '?')}), commercial decisions fixed"
    else:
        plan, start_name = start_plan(sc, start)
    if plan is None:
        return empty_plan("error", sc.name, message=f"no start plan: {start_name}", method="decompose")
    profit = start_profit = evaluate(plan, d, sc)["profit"]
    build_seconds = time.perf_counter() - t0
    say(f"start: {start_name}, profit {profit:,.2f}; {len(groups)} groups of ≤ {group_size} products")

    bound = None
    bound_share = BOUND_SHARE * limit  # the Lagrangian bound gets this share of the time, after the sweeps
    sweep_deadline = deadline - bound_share

    sweeps, improved_groups, preparing, with_bound = 0, 0, [], not fixed_commercial
    if fixed_commercial:
        sweep_deadline = deadline
    interrupted = False
    try:  # Ctrl-C stops after the current group: the plan so far is feasible and kept
        while time.perf_counter() < sweep_deadline:
            sweeps += 1
            changed = False
            for i, group in enumerate(groups):
                if sweep_deadline - time.perf_counter() <= 1.0:
                    break
                t_build = time.perf_counter()
                gm = _group_model(sc, d, sl, plan, group, opts, fixed_commercial)
                preparing.append(time.perf_counter() - t_build)
                if with_bound and sweeps == 1 and len(preparing) == 3:
                    # building every group's relaxation costs about as much as building its sub-MIP
                    needed = float(np.mean(preparing)) * len(groups)
                    if needed > 0.8 * bound_share:
                        with_bound, sweep_deadline = False, deadline
                        say(f"no bound: relaxing all {len(groups)} groups would take about {needed:.0f} s of the "
                            f"{bound_share:.0f} s left for it; the sweeps get the whole time")
                share = (sweep_deadline - time.perf_counter()) / (len(groups) - i)  # every group gets its turn
                cand = _solve_group(gm, sc, d, plan, min(SUB_TIME_LIMIT, max(1.0, share)))
                if cand is not None:
                    new_profit = evaluate(cand, d, sc)["profit"]
                    if new_profit > profit + TOL * max(1.0, abs(profit)):
                        plan, profit, changed = cand, new_profit, True
                        improved_groups += 1
                if (i + 1) % 10 == 0 or i + 1 == len(groups):
                    say(f"sweep {sweeps}: {i + 1}/{len(groups)} groups, profit {profit:,.2f}")
            if not changed:
                break
    except KeyboardInterrupt:
        interrupted, with_bound = True, False
        say(f"interrupted (Ctrl-C): keeping the plan so far, profit {profit:,.2f}")
    if with_bound:
        bound = lagrangian_bound(sc, sl, groups, opts, max(deadline, time.perf_counter() + 1.0), profit, say)
    say(f"profit {profit:,.2f}, bound {bound:,.2f}, gap {mip_gap(profit, bound):.2%}" if bound is not None
        else f"profit {profit:,.2f}; no bound within the time")
    plan = _sorted(plan)
    plan.kpis = _kpis(plan, d, sc, opts, bound, interrupted)
    plan.kpis.update({
        "build_seconds": round(build_seconds, 3),
        "solve_seconds": round(time.perf_counter() - t0 - build_seconds, 3),
        "sweeps": sweeps,
        "groups": len(groups),
        "group_size": group_size,
        "groups_improved": improved_groups,
        "start_profit": start_profit,
        "start": start_name,
        "message": "interrupted (Ctrl-C); the plan is the best so far, without a bound" if interrupted else "",
        "solver": "HiGHS " + highs_version(),
        "scenario": sc.name,
    })
    return plan


@dataclass
class _GroupModel:
    """One group's sub-MIP: the other products' plan fixed (their use of shared capacities as residual rows)."""

    members: set[str]
    m: pyo.ConcreteModel
    data: ModelData
    compiled: CompiledModel
    start: dict[int, float]


def _group_model(sc: Scenario, d: ModelData, sl: ProductSlices, plan: Plan, group: list[str], opts: SolveOptions,
                 fixed_commercial: bool) -> _GroupModel:
    members = set(group)
    others = _usage(plan, d, keep=pd.Series(group))
    data = _group_data(sl, group, others)
    m, _ = build_model(sc, data)
    _residual_rows(m, data, d, others)
    if fixed_commercial:
        fix_commercial(m, data, plan)
    start = _start(m, data, plan, members)
    return _GroupModel(members, m, data, CompiledModel(m, opts), start)


def _solve_group(gm: _GroupModel, sc: Scenario, d: ModelData, plan: Plan, seconds: float) -> Plan | None:
    """``plan`` with the group's part re-optimised (None when HiGHS found no solution in ``seconds``)."""
    run = gm.compiled.run(seconds, gm.start)
    if not run.ok:
        return None
    part, _ = extract_plan(gm.m, gm.data, sc)
    return _replace(plan, part, gm.members, d)


def _kpis(plan: Plan, d: ModelData, sc: Scenario, opts: SolveOptions, bound: float | None,
          interrupted: bool) -> dict[str, Any]:
    """The plan's KPIs recomputed from its tables, with the bound, gap and status."""
    ev = evaluate(plan, d, sc)
    gap = mip_gap(ev["profit"], bound)
    status = OPTIMAL if gap is not None and gap <= float(opts.mip_gap or 1e-4) else TIME_LIMIT
    if interrupted:
        status = INTERRUPTED
    return {"status": status, "method": "decompose", **profit_kpis(ev, bound, "lagrangian")}


__all__ = ["decompose", "start_plan", "product_groups", "lagrangian_bound", "GROUP_SIZE"]
