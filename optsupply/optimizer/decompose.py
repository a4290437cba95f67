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

import copy
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp
import pyomo.environ as pyo
from pyomo.common.tee import capture_output
from pyomo.core.base.objective import ObjectiveSense
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler
from pyomo.contrib.solver.solvers.highs import Highs

from optsupply.model import build_model, prepare
from optsupply.model.data import ModelData
from optsupply.model.extract import evaluate, extract_plan
from optsupply.plan.core import TABLE_COLUMNS, Plan, empty_plan, mip_gap
from optsupply.scenario.core import Scenario
from optsupply.optimizer.highs import INTERRUPTED, OPTIMAL, TIME_LIMIT, SolveOptions, highs_options

logger = logging.getLogger(__name__)

GROUP_SIZE = 2  # products per sub-MIP (about 2-6 thousand columns each on the shipped medium and large)
SUB_TIME_LIMIT = 20.0  # seconds per group MIP (the sweep's share of the time limit when smaller)
BOUND_SHARE = 0.25  # share of the time limit for the bound
TOL = 1e-9

# ModelData fields keyed by product (dict keys p or tuples starting with p; lists of such tuples)
_BY_PRODUCT = ("price", "unit_cost", "holding", "volume", "salvage", "lost_cost", "lift", "launch_cost", "must_launch",
               "category", "brand", "window", "base", "curve", "shape", "share", "regions_of", "pd_max", "base_max",
               "supply", "lead", "order_cost", "min_order", "max_order", "activation_cost", "initial", "pipeline",
               "response", "curves", "sell", "ship", "orders", "order_bound", "ship_bound", "stock")


# ---------------------------------------------------------------------- data for one group


class _Slices:
    """ModelData split by product once, so a group's data is assembled in time proportional to its size."""

    def __init__(self, d: ModelData):
        self.d = d
        self.parts: dict[str, dict[str, Any]] = {name: defaultdict(dict) if isinstance(getattr(d, name), dict)
                                                 else defaultdict(list) for name in _BY_PRODUCT}
        for name in _BY_PRODUCT:
            value, part = getattr(d, name), self.parts[name]
            if isinstance(value, dict):
                for k, v in value.items():
                    part[k[0] if isinstance(k, tuple) else k][k] = v
            else:
                for k in value:
                    part[k[0]].append(k)

    def restrict(self, group: list[str], *, group_cost: dict | None = None, group_min: dict | None = None,
                 lane_fixed: dict | None = None) -> ModelData:
        """The data of the model of ``group`` alone (bounds derived on the whole scenario stay valid)."""
        d = self.d
        sub = copy.copy(d)
        for name in _BY_PRODUCT:
            part = self.parts[name]
            if isinstance(getattr(d, name), dict):
                merged: dict = {}
                for p in group:
                    merged.update(part.get(p, {}))
                setattr(sub, name, merged)
            else:
                setattr(sub, name, [k for p in group for k in part.get(p, ())])
        members = set(group)
        sub.products = [p for p in d.products if p in members]
        sub.new = [p for p in d.new if p in members]
        gm = {g: [p for p in ps if p in members] for g, ps in d.group_members.items()}
        gm = {g: ps for g, ps in gm.items() if ps}
        sub.group_members = gm
        sub.group_cost = {g: (group_cost or d.group_cost)[g] for g in gm}
        sub.group_min = {g: (group_min or d.group_min)[g] for g in gm}
        if lane_fixed is not None:
            sub.lane_fixed = lane_fixed
        return sub


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


def _group_data(sl: _Slices, group: list[str], others: _Usage) -> ModelData:
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


@dataclass
class _Run:
    ok: bool
    status: str
    objective: float | None
    bound: float | None
    seconds: float


def _new_highs() -> highspy.Highs:
    """A highspy instance without its banner on stdout (HiGHS prints it when the instance is created)."""
    with capture_output(capture_fd=True):
        return highspy.Highs()


class _Compiled:
    """A Pyomo model passed to highspy as arrays (Pyomo's standard-form compiler, then ``passModel``).

    Several times faster than the persistent interface's row-by-row transfer (``../shared`` facts:
    3–6x), which dominates the time of the many small group models. The objective is maximised;
    ``col`` maps ``id(var)`` to its column; fixed variables are constants, not columns.
    """

    def __init__(self, m: pyo.ConcreteModel, opts: SolveOptions):
        repn = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=ObjectiveSense.maximize)
        self.columns = repn.columns
        self.eliminated = repn.eliminated_vars
        n, A = len(repn.columns), sp.csc_array(repn.A)
        rows = len(repn.rows)
        mult = np.fromiter((r[1] for r in repn.rows), dtype=np.int8, count=rows)
        rhs = np.asarray(repn.rhs, dtype=float)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, rows
        lp.sense_ = highspy.ObjSense.kMaximize
        self.cost = np.asarray(repn.c.toarray()[0] if repn.c.shape[0] else np.zeros(n), dtype=float)
        lp.col_cost_ = self.cost
        lp.offset_ = float(repn.c_offset[0]) if len(repn.c_offset) else 0.0
        lp.col_lower_ = np.array([-highspy.kHighsInf if v.lb is None else v.lb for v in repn.columns], dtype=float)
        lp.col_upper_ = np.array([highspy.kHighsInf if v.ub is None else v.ub for v in repn.columns], dtype=float)
        lp.row_lower_ = np.where(mult >= 0, np.where(mult == 0, rhs, -highspy.kHighsInf), rhs)
        lp.row_upper_ = np.where(mult <= 0, np.where(mult == 0, rhs, highspy.kHighsInf), rhs)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(float)
        self.integrality = np.array([1 if v.is_integer() else 0 for v in repn.columns], dtype=np.uint8)
        lp.integrality_ = [highspy.HighsVarType(int(k)) for k in self.integrality]
        h = self.h = _new_highs()
        h.setOptionValue("output_flag", False)
        for key, value in highs_options(opts).items():
            h.setOptionValue(key, value)
        if opts.threads:
            h.setOptionValue("threads", int(opts.threads))
        if opts.mip_gap is not None:
            h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
        h.passModel(lp)
        self.col = {id(v): i for i, v in enumerate(repn.columns)}

    def run(self, time_limit: float, start: dict[int, float] | None = None) -> _Run:
        h = self.h
        t0 = time.perf_counter()
        if start:
            pairs = [(self.col[i], v) for i, v in start.items() if i in self.col]
            if pairs:
                idx = np.array([c for c, _ in pairs], dtype=np.int32)
                h.setSolution(len(idx), idx, np.array([v for _, v in pairs], dtype=float))
        h.setOptionValue("time_limit", max(0.5, float(time_limit)))
        h.run()
        info, status = h.getInfo(), h.getModelStatus()
        ok = info.primal_solution_status == 2
        if ok:
            for v, x in zip(self.columns, h.getSolution().col_value):
                v.set_value(x, skip_validation=True)
            for v, expr in self.eliminated:
                v.set_value(pyo.value(expr), skip_validation=True)
        optimal = status == highspy.HighsModelStatus.kOptimal
        bound = float(info.mip_dual_bound) if self.integrality.any() else (
            float(info.objective_function_value) if optimal else math.nan)
        return _Run(ok, OPTIMAL if optimal else TIME_LIMIT, float(info.objective_function_value) if ok else None,
                    bound if math.isfinite(bound) else None, time.perf_counter() - t0)


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


class _Relaxed:
    """One group's relaxed problem as an LP in HiGHS, with its use of every shared resource as a matrix.

    Relaxed: integrality dropped; each group may use every shared capacity and budget in full (its own
    rows stay); a shared fixed cost (a lane's fixed cost, a category's or brand's onboarding) is split
    equally over the groups that can incur it — whichever groups use it, they pay at most its cost
    together; a minimum assortment stays only where one group holds all its products.
    """

    def __init__(self, sc: Scenario, data: ModelData, resources: dict[Any, int], opts: SolveOptions):
        m, _ = build_model(sc, data)
        self.compiled = _Compiled(m, opts)
        h = self.h = self.compiled.h
        n = h.getNumCol()
        self.integrality = self.compiled.integrality
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.uint8))
        self.cost = self.compiled.cost
        col = self.compiled.col
        rows, cols, vals = [], [], []
        for key, var, coef in _resource_use(m, data):
            k = resources.get(key)
            j = col.get(id(var))
            if k is not None and j is not None and coef:
                rows.append(k)
                cols.append(j)
                vals.append(coef)
        self.use = sp.csr_matrix((vals, (cols, rows)), shape=(n, len(resources)))

    def _price(self, lam: np.ndarray) -> None:
        """Objective profit − λ·use (the compiled model is maximised)."""
        c = self.cost - self.use @ lam
        self.h.changeColsCost(len(c), np.arange(len(c), dtype=np.int32), c)

    def solve(self, lam: np.ndarray) -> tuple[float, np.ndarray] | None:
        """max (profit − λ·use) over the relaxed group; returns (value, use at the optimum)."""
        self._price(lam)
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        x = np.array(self.h.getSolution().col_value, dtype=float)
        value = float(self.h.getInfo().objective_function_value)
        return value, self.use.T @ x

    def mip_bound(self, lam: np.ndarray, seconds: float) -> float | None:
        """HiGHS's MIP dual bound of the group's penalised problem with integrality (cuts make it tighter)."""
        h, n = self.h, len(self.cost)
        self._price(lam)
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), self.integrality)
        h.setOptionValue("time_limit", max(0.2, seconds))
        try:
            h.run()
            bound = float(h.getInfo().mip_dual_bound)
        finally:
            h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.uint8))
            h.setOptionValue("time_limit", math.inf)
        if not math.isfinite(bound) or h.getModelStatus() in (highspy.HighsModelStatus.kInfeasible,):
            return None
        return bound


def _resources(d: ModelData) -> tuple[dict[Any, int], np.ndarray]:
    """Every finite shared capacity: key -> index, and the capacities."""
    keys, caps = [], []

    def add(key: Any, cap: float) -> None:
        if cap is not None and math.isfinite(cap):
            keys.append(key)
            caps.append(float(cap))

    for w in d.warehouses:
        for t in d.periods:
            add(("throughput", w, t), d.throughput[w])
            add(("storage", w, t), d.storage[w])
    for w, r in d.lanes:
        for t in d.periods:
            add(("lane", w, r, t), d.lane_cap[w, r])
    for c, budget in d.channel_budget.items():
        for t in d.periods:
            add(("channel", c, t), budget)
    for t in d.periods:
        if d.max_inventory_value is not None:
            add(("capital", t), d.max_inventory_value)
        add(("slots", t), d.slots.get(t, 0))
        if d.max_per_period is not None:
            add(("launches", t), d.max_per_period)
    if d.total_budget is not None:
        add(("total",), d.total_budget)
    return {k: i for i, k in enumerate(keys)}, np.array(caps, dtype=float)


def _resource_use(m: pyo.ConcreteModel, d: ModelData):  # noqa: ANN202 - generator of (key, var, coefficient)
    """What each variable uses of each shared resource (the coupling rows, term by term)."""
    for (p, w, r, t), v in m.transport.ship.items():
        yield ("throughput", w, t), v, d.volume[p]
        yield ("lane", w, r, t), v, d.volume[p]
    for (p, w, t), v in m.inventory.stock.items():
        yield ("storage", w, t), v, d.volume[p]
        yield ("capital", t), v, d.unit_cost[p]
    for (p, c, t), v in m.advertising.spend.items():
        yield ("channel", c, t), v, 1.0
        yield ("total",), v, 1.0
    for (p, t), v in m.demand.feat.items():
        yield ("slots", t), v, 1.0
    for (p, t), v in m.launch.y.items():
        yield ("launches", t), v, 1.0


def _relaxed_groups(sc: Scenario, sl: _Slices, groups: list[list[str]], resources: dict[Any, int],
                    opts: SolveOptions, deadline: float) -> list[_Relaxed] | None:
    full = sl.d
    lane_groups: dict[tuple[str, str], set[int]] = defaultdict(set)
    onboard_groups: dict[tuple[str, str], set[int]] = defaultdict(set)
    index = {p: i for i, g in enumerate(groups) for p in g}
    for p, w, r, _t in full.ship:
        lane_groups[w, r].add(index[p])
    for key, ps in full.group_members.items():
        onboard_groups[key].update(index[p] for p in ps)
    lanes = {k: (f / len(lane_groups[k]) if lane_groups.get(k) else f) for k, f in full.lane_fixed.items()}
    cost = {k: c / max(1, len(onboard_groups.get(k, ()))) for k, c in full.group_cost.items()}
    mins = {k: (n if len(onboard_groups.get(k, ())) <= 1 else 0) for k, n in full.group_min.items()}
    out = []
    for g in groups:
        if time.perf_counter() > deadline:
            return None  # building every group's relaxation takes longer than the time left
        out.append(_Relaxed(sc, sl.restrict(g, group_cost=cost, group_min=mins, lane_fixed=lanes), resources, opts))
    return out


def lagrangian_bound(sc: Scenario, sl: _Slices, groups: list[list[str]], opts: SolveOptions, deadline: float,
                     lower: float | None = None, say: Callable[[str], None] | None = None) -> float | None:
    """A valid upper bound on the joint optimum: min over the multipliers tried of

        L(λ) = Σ_g max_x (profit_g(x) − λ·use_g(x)) + λ·capacity,   λ ≥ 0,

    with each group's problem relaxed (:class:`_Relaxed`). Any λ ≥ 0 gives a bound; λ = 0 is the
    plain relaxation, and subgradient steps (Polyak step towards ``lower``, the best plan's profit)
    price the shared capacities the groups compete for.
    """
    resources, cap = _resources(sl.d)
    relaxed = _relaxed_groups(sc, sl, groups, resources, opts, deadline)
    if relaxed is None:
        return None
    start = time.perf_counter()
    lp_deadline = start + 0.5 * (deadline - start)  # then the MIP bounds of the groups at the best λ
    lam = np.zeros(len(cap))
    scale = np.maximum(cap, 1e-9)
    best, best_lam, best_parts, theta, stall = math.inf, lam, [], 2.0, 0
    iteration = 0
    while iteration == 0 or time.perf_counter() < lp_deadline:
        iteration += 1
        value, use, parts = float(lam @ cap), np.zeros(len(cap)), []
        for r in relaxed:
            out = r.solve(lam)
            if out is None:
                break
            parts.append(out[0])
            use += out[1]
        if len(parts) < len(relaxed):
            break
        value += sum(parts)
        if value < best - 1e-9 * max(1.0, abs(best) if math.isfinite(best) else 1.0):
            best, best_lam, best_parts, stall = value, lam, parts, 0
        else:
            stall += 1
            if stall >= 3:
                theta, stall = theta / 2, 0
        if say is not None:
            say(f"bound {best:,.2f} (Lagrangian iteration {iteration})")
        # subgradient step in the scaled multipliers μ = λ·capacity (money per whole capacity), so that
        # capacities in units, money and counts move alike: ∂L/∂μ = 1 − use/capacity
        g = 1.0 - use / scale
        g[(lam <= 0) & (g > 0)] = 0.0  # λ cannot go below 0
        norm = float(g @ g)
        if norm <= 1e-12 or lower is None or theta < 1e-4:
            break
        step = theta * max(best - lower, 1e-6 * max(1.0, abs(best))) / norm
        lam = np.maximum(0.0, lam * scale - step * g) / scale
    if math.isinf(best):
        return None
    # tighten each group's term with its MIP dual bound (root cuts) at the best multipliers
    parts = list(best_parts)
    for i, r in enumerate(relaxed):
        left = deadline - time.perf_counter()
        if left <= 0.2:
            break
        b = r.mip_bound(best_lam, left / (len(relaxed) - i))
        if b is not None and b < parts[i]:
            parts[i] = b
    return float(best_lam @ cap) + sum(parts)


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


def decompose(sc: Scenario, opts: SolveOptions, *, group_size: int | None = None,
              progress: Callable[[str], None] | None = None, start: Plan | None = None,
              fixed_commercial: bool = False) -> Plan:
    """Plan ``sc`` by product-group fix-and-optimize (module docstring); the plan's kpis report the bound.

    The search starts from the best of the practitioner plan, the naive siloed plan and ``start``
    (:func:`start_plan`), and only accepts improvements: the result is never below its start. With
    ``fixed_commercial`` the start's launches, featured products and ad spend stay fixed
    (:func:`optsupply.optimizer.sequential.fix_commercial`; the start is then ``start`` itself) and only the
    supply part is optimised; no bound is computed.
    """
    from optsupply.optimizer.sequential import fix_commercial

    t0 = time.perf_counter()
    limit = float(opts.time_limit if opts.time_limit is not None else 300.0)
    deadline = t0 + limit
    say = progress or _reporter(opts)
    d = prepare(sc)
    sl = _Slices(d)
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
                left = sweep_deadline - time.perf_counter()
                if left <= 1.0:
                    break
                members = set(group)
                t_build = time.perf_counter()
                others = _usage(plan, d, keep=pd.Series(group))
                data = _group_data(sl, group, others)
                m, _ = build_model(sc, data)
                _residual_rows(m, data, d, others)
                if fixed_commercial:
                    fix_commercial(m, data, plan)
                start_values = _start(m, data, plan, members)
                compiled = _Compiled(m, opts)
                preparing.append(time.perf_counter() - t_build)
                if with_bound and sweeps == 1 and len(preparing) == 3:
                    # building every group's relaxation costs about as much as building its sub-MIP
                    needed = float(np.mean(preparing)) * len(groups)
                    if needed > 0.8 * bound_share:
                        with_bound, sweep_deadline = False, deadline
                        say(f"no bound: relaxing all {len(groups)} groups would take about {needed:.0f} s of the "
                            f"{bound_share:.0f} s left for it; the sweeps get the whole time")
                left = sweep_deadline - time.perf_counter()
                share = left / (len(groups) - i)  # so that every group gets its turn in this sweep
                run = compiled.run(min(SUB_TIME_LIMIT, max(1.0, share)), start_values)
                if not run.ok:
                    continue
                part, _ = extract_plan(m, data, sc)
                cand = _replace(plan, part, members, d)
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
    ev = evaluate(plan, d, sc)
    gap = mip_gap(ev["profit"], bound)
    status = OPTIMAL if gap is not None and gap <= float(opts.mip_gap or 1e-4) else TIME_LIMIT
    if interrupted:
        status = INTERRUPTED
    plan.kpis = {
        "status": status,
        "method": "decompose",
        "profit": ev["profit"],
        "revenue": ev["revenue"],
        "costs": ev["costs"],
        "salvage": ev["salvage"],
        "objective": ev["profit"],
        "best_bound": bound,
        "mip_gap": gap,
        "units_sold": ev["units_sold"],
        "potential_demand": ev["potential_demand"],
        "fill_rate": ev["fill_rate"],
        "launched": ev["launched"],
        "build_seconds": round(build_seconds, 3),
        "solve_seconds": round(time.perf_counter() - t0 - build_seconds, 3),
        "sweeps": sweeps,
        "groups": len(groups),
        "group_size": group_size,
        "groups_improved": improved_groups,
        "start_profit": start_profit,
        "start": start_name,
        "message": "interrupted (Ctrl-C); the plan is the best so far, without a bound" if interrupted else "",
        "solver": "HiGHS " + ".".join(str(x) for x in Highs().version()),
        "scenario": sc.name,
    }
    return plan


__all__ = ["decompose", "start_plan", "product_groups", "lagrangian_bound", "GROUP_SIZE"]
