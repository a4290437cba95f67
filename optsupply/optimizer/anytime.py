"""Anytime planning: a checked plan within seconds, then better ones, by large-neighbourhood search.

A planner waiting for a 60- to 1,000-product plan needs a plan first and the
best plan second. :func:`anytime` runs four phases and hands every better
checked plan to ``on_plan`` as soon as it has it (the command line writes it,
so a time limit, Ctrl-C or a crash never loses it):

1. **start**: the best baseline (:func:`optsupply.optimizer.decompose.start_plan`:
   the practitioner plan, the naive siloed plan or a plan passed in), checked.
2. **build**: the joint model, once (Pyomo builds it; it reaches HiGHS as
   arrays, :class:`~optsupply.optimizer.highs.arrays.CompiledModel`).
3. **polish**: the start's integer decisions held, the LP re-plans every
   quantity (orders, stock, shipments, ad spend, sales) around them.
4. **search**: fix-and-optimize over neighbourhoods that follow the model's
   structure (:mod:`optsupply.optimizer.neighbourhoods`): each sub-MIP frees
   a few products' columns (or a window of their periods) and holds the rest
   at the incumbent, by changing column bounds of the one model; the
   incumbent is its MIP start, so no step loses it. Neighbourhood kinds are
   drawn by adaptive weights and sized by how fast HiGHS closes them.

A scenario whose whole model would pass :data:`GROUPS_FROM_COLUMNS` columns
(``instances/large``: about 1.18 million; its LP alone takes minutes) or the
size limit skips phases 2-4: disjoint product groups are re-planned on two
threads, each its own small model, against shares of the free capacities
(:mod:`optsupply.optimizer.parallel`), from the start plan.

On a second core, the whole model runs in its own process
(:class:`~optsupply.optimizer.highs.worker.SearchWorker`): first its LP
relaxation (``bound_kind`` ``lp``), then HiGHS's MIP from the polished plan
(``root_cuts`` during its root node, ``mip`` once it branches). Its best bound
is the plan's ``best_bound`` and the search adopts any better plan it finds. A
search by product groups of a model of at most :data:`LAGRANGIAN_MAX_COLUMNS`
gets a Lagrangian bound from the second core instead
(:class:`~optsupply.optimizer.bound_worker.LagrangianWorker`, ``lagrangian``)
and searches on one thread. A worker that dies costs only its bound.

``work_limit`` (a number of neighbourhoods) replaces the clock inside the
search: every sub-MIP stops at a node limit instead of a time limit, so the
same scenario, options and seed give the same plan on any machine.

>>> import optsupply as ops
>>> plan = ops.solve("instances/medium", method="lns", time_limit=60)
>>> plan.kpis["method"], plan.kpis["start"], plan.kpis["neighbourhoods"]
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from optsupply.errors import OptsupplyError, TimeLimitSpent
from optsupply.model import ModelError, build_model, check_model_size, estimated_columns, prepare
from optsupply.model.extract import extract_plan
from optsupply.model.fixing import plan_integers
from optsupply.optimizer.highs import SolveOptions, available_cores, highs_version
from optsupply.optimizer.neighbourhoods import EARLY, Chooser, Columns
from optsupply.optimizer.progress import Progress
from optsupply.plan.check import check_plan, evaluate_plan
from optsupply.plan.core import INTERRUPTED, OPTIMAL, TIME_LIMIT, Plan, mip_gap, profit_kpis
from optsupply.scenario.core import Scenario

logger = logging.getLogger(__name__)

__all__ = ["anytime", "METHOD", "Warm"]

METHOD = "lns"
SUB_LIMIT = 5.0  # seconds per sub-MIP at most
SUB_GAP = 3e-4  # relative gap (of the whole plan's profit) at which a sub-MIP stops
NODE_LIMIT = 200  # branch-and-bound nodes per sub-MIP with a work limit
EMIT_EVERY = 5.0  # seconds between two plans handed to on_plan (at least 4x what making one costs)
GROUPS_FROM_COLUMNS = 300_000  # beyond this (estimated) size product groups are searched, one model each
WORKER_MAX_COLUMNS = 400_000  # the worker holds a second copy of the model: not beyond this size
# The bound process builds every group's relaxation before its first bound: on `large` (1.18M estimated
# columns) that took 389 s and gave a bound 69 % above the best plan, at the cost of one of the search's two
# threads; so only models up to this size (built in about half of that) get it
LAGRANGIAN_MAX_COLUMNS = 600_000
TOL = 1e-9


@dataclass
class Warm:
    """What one run leaves for the next run of a similar scenario (a what-if session keeps it): the basis of
    its LP polish. A basis of a model of another shape is ignored; one of the same shape (other prices,
    budgets, capacities) lets the next polish start where this one ended."""

    basis: Any = None


@dataclass
class _Best:
    """The best checked plan so far and where it came from."""

    plan: Plan
    ev: dict
    source: str

    @property
    def profit(self) -> float:
        return float(self.ev["profit"])


def anytime(sc: Scenario, opts: SolveOptions, *, start: Plan | None = None, focus: Sequence[str] = (),
            on_plan: Callable[[Plan], None] | None = None, progress: Callable[[dict], None] | None = None,
            work_limit: int | None = None, worker: bool = True, warm: Warm | None = None) -> Plan | None:
    """Plan ``sc`` by the four phases of the module docstring; None when no start plan exists.

    ``focus`` names products a change touched (what-if): their neighbourhoods come first.
    ``on_plan`` receives each better checked plan while the run goes on (status ``time_limit``);
    ``progress`` receives each progress line as a dict (elapsed, phase, incumbent, bound, gap).
    A ``start`` that breaks a rule of ``sc`` (a what-if's previous plan over a cut budget) is not a start
    plan, but its integer decisions are still polished: the LP re-plans its quantities to fit, and the
    better of that and the best baseline's polish goes on. ``warm`` is read and refreshed (:class:`Warm`).
    """
    t0 = time.perf_counter()
    limit = float(opts.time_limit) if opts.time_limit is not None and math.isfinite(opts.time_limit) else math.inf
    deadline = t0 + limit
    report = Progress(opts.log, progress, t0)
    run = _Run(sc, opts, t0, report, on_plan)
    from optsupply.optimizer.decompose import start_plan

    plan0, name = start_plan(sc, start)
    if plan0 is None or check_plan(sc, plan0):
        logger.info("no start plan (%s)", name or "it breaks a rule of the scenario")
        return None
    run.best = _Best(plan0, evaluate_plan(sc, plan0), name)
    run.work_limit = work_limit
    run.start = (name, run.best.profit)
    try:  # from here on, Ctrl-C ends the run with the best plan so far
        run.emit("start", force=True)
        given = start if start is not None and not name.startswith("given plan") else None
        if given is not None:
            given = _within_budgets(sc, given)
        return _improve(run, sc, opts, plan0, deadline, focus, work_limit, worker, given, warm)
    except KeyboardInterrupt:
        run.interrupted = True
        logger.info("interrupted (Ctrl-C): keeping the best plan so far")
        return run.finish()


def _improve(run: _Run, sc: Scenario, opts: SolveOptions, plan0: Plan, deadline: float, focus: Sequence[str],
             work_limit: int | None, worker: bool, given: Plan | None = None, warm: Warm | None = None) -> Plan:
    """Phases 2-4 of the module docstring, from the checked start plan ``plan0`` (and the integer decisions
    of ``given``, a start plan that is not checked for ``sc``)."""
    try:
        if time.perf_counter() > deadline:
            raise TimeLimitSpent("while making the start plan")
        d = prepare(sc)
        try:
            columns = check_model_size(sc, d)
        except ModelError as exc:  # one model of the whole scenario does not fit: product groups, each its own
            return _by_groups(run, sc, opts, deadline, str(exc), estimated_columns(d), worker)
        if columns > GROUPS_FROM_COLUMNS:
            return _by_groups(run, sc, opts, deadline, f"the whole model would have about {columns:,} columns, and "
                              f"its LP alone takes minutes from about {GROUPS_FROM_COLUMNS:,} on", columns, worker)
        m, d = build_model(sc, d, deadline=deadline)
        from optsupply.optimizer.highs.arrays import CompiledModel

        cm = CompiledModel(m, replace(opts, threads=1, mip_gap=SUB_GAP))
    except (TimeLimitSpent, OptsupplyError) as exc:
        return run.finish(f"the start plan; no search: {exc}")
    run.build_seconds = time.perf_counter() - run.t0
    run.report("build", run.best.profit, None, force=True, columns=cm.num_cols)
    first = _polish(cm, m, d, [given, plan0] if given is not None else [plan0], deadline, warm)
    if first is None:
        return run.finish("the start plan; the model could not complete its decisions (no search)")
    run.model, run.data, run.cm = m, d, cm
    run.adopt(first, "polish")
    run.search(Columns.of(cm.columns, d), Chooser(d, seed=int(opts.seed or 0), focus=focus), deadline, work_limit,
               worker)
    return run.finish()


def _polish(cm: Any, m: Any, d: Any, plans: Sequence[Plan], deadline: float, warm: Warm | None) -> np.ndarray | None:
    """Phase 3: per plan, its integer decisions held and the LP over every other column; the best column
    values (None when no plan's decisions can be completed). The first LP starts from ``warm``'s basis
    when it fits, and leaves its own there."""
    integer = cm.integrality.astype(bool)
    if warm is not None and cm.set_basis(warm.basis):
        logger.debug("the polish starts from the previous run's basis")
    elif warm is not None and warm.basis is not None:
        logger.debug("the previous run's basis does not fit: %d/%d columns, %d/%d rows", len(warm.basis.col_status),
                     cm.num_cols, len(warm.basis.row_status), len(cm.arrays["row_lower"]))
    best: np.ndarray | None = None
    for i, plan in enumerate(plans):
        try:
            x = cm.vector(plan_integers(m, d, plan))
        except (OptsupplyError, KeyError, ValueError) as exc:  # a given plan that does not fit this scenario
            logger.info("its decisions cannot be polished: %s", exc)
            continue
        r = cm.search(x, integer, time_limit=max(1.0, deadline - time.perf_counter()), lp=True)
        logger.debug("polish %d: %.2f s, %d simplex iterations, objective %s", i, r.seconds, r.iterations, r.objective)
        if i == 0 and warm is not None:
            warm.basis = cm.basis()
        if r.x is not None and (best is None or r.objective > cm.objective_of(best)):
            best = r.x
    return best


def _within_budgets(sc: Scenario, plan: Plan) -> Plan:
    """``plan`` with its ad spend scaled down to ``sc``'s budgets (each channel's per period, then the total)
    and its effective spend recomputed (adstock); the other tables unchanged. Only its integer decisions are
    used (the polish re-plans every quantity): an S-curve segment a cut budget can no longer fill is then
    not held full."""
    a = plan.advertising
    if a.empty:
        return plan
    spend = a["spend"].to_numpy(dtype=float)
    cap = a["channel"].map(dict(zip(sc.channels["channel"], sc.channels["budget"], strict=True)))
    cap = cap.astype(float).fillna(math.inf).to_numpy()
    per_period = a.groupby(["channel", "period"])["spend"].transform("sum").to_numpy(dtype=float)
    over = per_period > cap
    scaled = spend.copy()
    scaled[over] *= cap[over] / per_period[over]
    total = sc.settings.get("advertising.total_budget")
    if total is not None and scaled.sum() > float(total):
        scaled = scaled * float(total) / scaled.sum()
    if np.allclose(scaled, spend, rtol=0, atol=TOL):
        return plan
    from optsupply.forecasting.response import adstock

    carry = a.merge(sc.response[["product", "channel", "carryover"]], on=["product", "channel"], how="left")
    carry = carry["carryover"].fillna(0.0).to_numpy(dtype=float)
    period = a["period"].to_numpy(dtype=int)
    effective = np.zeros(len(a))
    for rows in a.groupby(["product", "channel"]).indices.values():  # a period without a row spends nothing
        series = np.zeros(period[rows].max() + 1)
        np.add.at(series, period[rows], scaled[rows])
        effective[rows] = adstock(series, float(carry[rows[0]]))[period[rows]]
    return replace(plan, advertising=a.assign(spend=scaled, effective_spend=effective))


def _by_groups(run: _Run, sc: Scenario, opts: SolveOptions, deadline: float, why: str, columns: int,
               worker: bool = True) -> Plan:
    """The search by product groups (:mod:`optsupply.optimizer.parallel`) on the threads of this process, for
    a scenario whose whole model is too large to re-solve often (or over the size limit): each group's model
    is small. With two cores and a model of at most :data:`LAGRANGIAN_MAX_COLUMNS`, one thread searches and
    the second core computes the Lagrangian bound (:mod:`optsupply.optimizer.bound_worker`)."""
    from concurrent.futures import ThreadPoolExecutor

    from optsupply.optimizer.parallel import GROUP_SIZE, parallel_search

    left = deadline - time.perf_counter()
    if left < 5.0:
        return run.finish(f"the start plan; no search ({why})")
    run.report("groups", run.best.profit, None, force=True)
    bound = None
    if not worker:
        run.worker_note = "not asked for"
    elif available_cores() < 2:
        run.worker_note = "one core only"
    elif columns > LAGRANGIAN_MAX_COLUMNS:
        run.worker_note = f"the model has about {columns:,} columns (its groups' relaxations would not fit beside the search)"
    else:
        from optsupply.optimizer.bound_worker import LagrangianWorker

        try:
            bound = LagrangianWorker(sc, left, group_size=GROUP_SIZE, lower=run.best.profit, seed=int(opts.seed or 0))
        except (OptsupplyError, OSError) as exc:  # the scenario could not be handed over: the search goes on alone
            run.worker_note = f"not started ({exc})"
        else:
            run.worker_note = "running"
            run.report("worker", run.best.profit, None, force=True, pid=bound.pid)
    threads = max(1, min(2, available_cores()) - (bound is not None))

    def heard(line: dict) -> None:  # each batch of the group search: the bound process's news on the line
        if bound is not None:
            run._hear(bound)
        run.report("groups", line.get("incumbent"), run.bound, kind=run.bound_kind)

    try:
        with ThreadPoolExecutor(threads) as ex:
            found = parallel_search(sc, replace(opts, time_limit=left, log=None), ex, start=run.best.plan,
                                    batch=threads, on_plan=run.on_plan, progress=heard)
    finally:
        if bound is not None:
            try:
                run._hear(bound)
            finally:
                bound.stop()
    if found.kpis.get("profit") is not None and found.kpis["profit"] > run.best.profit + TOL * max(1.0, abs(run.best.profit)):
        run.best = _Best(found, evaluate_plan(sc, found), "groups")
    run.neighbourhoods = int(found.kpis.get("tasks") or 0)
    return run.finish(f"product groups were re-planned, one model each ({run.neighbourhoods} group MIPs): {why}")


class _Run:
    """The state of one anytime run: the incumbent (as column values and as the best checked plan)."""

    def __init__(self, sc: Scenario, opts: SolveOptions, t0: float, report: Progress,
                 on_plan: Callable[[Plan], None] | None):
        self.sc, self.opts, self.t0, self.report, self.on_plan = sc, opts, t0, report, on_plan
        self.best: _Best | None = None
        self.start: tuple[str, float] = ("", 0.0)
        self.build_seconds = 0.0
        self.x: np.ndarray | None = None
        self.objective = -math.inf
        self.bound: float | None = None
        self.bound_kind: str | None = None
        self.model = self.data = self.cm = None
        self.neighbourhoods = self.improved = self.adopted = 0
        self.worker_note = "not started"
        self.interrupted = False
        self.work_limit: int | None = None
        self.emitted_at, self.emit_cost, self.unsent = -math.inf, 0.0, False

    # ------------------------------------------------------------------ the incumbent

    def adopt(self, x: np.ndarray, source: str) -> None:
        """``x`` (column values) becomes the incumbent; its plan is made and handed on when due."""
        self.x, self.objective, self.source, self.unsent = x, self.cm.objective_of(x), source, True
        self.emit(source, force=source == "polish")

    def _plan_of_x(self) -> tuple[Plan, dict] | None:
        """The checked plan of the incumbent's column values and its evaluation; None when it breaks a rule."""
        self.cm.load(self.x)
        plan, ev = extract_plan(self.model, self.data, self.sc)
        plan.kpis = {"status": TIME_LIMIT, **profit_kpis(ev, None), "method": METHOD}
        problems = check_plan(self.sc, plan)
        if problems:
            logger.warning("the search's plan breaks %d rule(s) (first: %s); keeping the previous plan",
                           len(problems), problems[0])
            return None
        return plan, ev

    def _refresh(self) -> bool:
        """Make the checked plan of the incumbent, if not made yet; True when it became the best plan."""
        if not self.unsent:
            return False
        now = time.perf_counter()
        made = self._plan_of_x()
        self.unsent = False
        self.emit_cost, self.emitted_at = time.perf_counter() - now, time.perf_counter()
        if made is None or made[1]["profit"] <= self.best.profit + TOL * max(1.0, abs(self.best.profit)):
            return False
        self.best = _Best(made[0], made[1], self.source)
        return True

    def emit(self, phase: str, *, force: bool = False) -> None:
        """Hand a better checked plan to ``on_plan`` (at most every :data:`EMIT_EVERY` s, and at most a fifth
        of the time on making plans) and report the progress line."""
        due = force or time.perf_counter() - self.emitted_at >= max(EMIT_EVERY, 4 * self.emit_cost)
        if due and (self._refresh() or phase == "start") and self.on_plan is not None:
            self.on_plan(self._with_kpis(TIME_LIMIT, f"the best plan so far ({phase}); the search goes on"))
        self.report(phase, self.best.profit if self.x is None else max(self.objective, self.best.profit),
                    self.bound, force=force, kind=self.bound_kind)

    # ------------------------------------------------------------------ the search

    def search(self, cols: Columns, chooser: Chooser, deadline: float, work_limit: int | None, use_worker: bool) -> None:
        cm, worker = self.cm, None
        if not use_worker:
            self.worker_note = "not asked for"
        elif available_cores() < 2:
            self.worker_note = "one core only"
        elif cm.num_cols > WORKER_MAX_COLUMNS:
            self.worker_note = f"the model has {cm.num_cols:,} columns (a second copy is not worth its memory)"
        elif deadline - time.perf_counter() < 5.0:
            self.worker_note = "too little time left"
        else:
            from optsupply.optimizer.highs.worker import SearchWorker

            worker = SearchWorker(cm.arrays, self.x, deadline - time.perf_counter(), gap=float(self.opts.mip_gap or 1e-4),
                                  seed=int(self.opts.seed or 0), options=dict(self._worker_options()),
                                  lp_first=True)
            self.worker_note = "running"
            self.report("worker", self.objective, None, force=True, pid=worker.pid)
        try:
            while work_limit is None or self.neighbourhoods < work_limit:
                left = deadline - time.perf_counter()
                if left < 0.5:
                    break
                if worker is not None:
                    self._hear(worker)
                    if self._proven():
                        break
                nb = chooser.next()
                limit = math.inf if work_limit is not None else min(SUB_LIMIT, left)
                r = cm.search(self.x, ~cols.free(nb.products, nb.window), time_limit=limit, gap=SUB_GAP,
                              node_limit=NODE_LIMIT if work_limit is not None else None)
                self.neighbourhoods += 1
                better = r.x is not None and r.objective > self.objective + TOL * max(1.0, abs(self.objective))
                early = r.nodes < EARLY * NODE_LIMIT if work_limit is not None else r.seconds < EARLY * limit
                chooser.record(nb, best=better, closed=r.optimal, early=early)
                logger.debug("%s: %d products, %.2f s, %s, %s", nb, len(nb.products), r.seconds,
                             "closed" if r.optimal else "open",
                             f"{self.objective:.2f} -> {r.objective:.2f}" if better else "no better")
                if better:
                    self.improved += 1
                    self.adopt(r.x, "search")
                else:
                    self.emit("search")
        except KeyboardInterrupt:
            self.interrupted = True
            logger.info("interrupted (Ctrl-C): keeping the best plan so far")
        finally:
            if worker is not None:
                try:
                    self._hear(worker)
                finally:
                    worker.stop()

    def _worker_options(self) -> dict[str, Any]:
        return {"mip_lp_solver": "ipm"} if self.cm.num_cols > 20_000 else {}

    def _hear(self, worker: Any) -> None:
        """Take the worker's bound and, when it beats the search's, its plan."""
        news = worker.poll()
        if news.bound is not None and (self.bound is None or news.bound <= self.bound):
            self.bound, self.bound_kind = news.bound, news.bound_kind
        if self.work_limit is not None:  # a run by work takes only the bound: the worker's plans come by the clock
            news.incumbent = None
        if news.incumbent is not None and news.incumbent[0] > self.objective + TOL * max(1.0, abs(self.objective)):
            x = news.incumbent[1]
            if len(x) == self.cm.num_cols:
                self.adopted += 1
                self.adopt(x, "worker")
        if not news.alive and self.worker_note == "running":
            self.worker_note = f"stopped early (exit code {worker.process.returncode}); the search went on without it"
            logger.warning("the second process stopped (exit code %s); going on without its bound",
                           worker.process.returncode)
        elif news.done:
            self.worker_note = "finished"

    def _proven(self) -> bool:
        gap = mip_gap(self.objective, self.bound)
        return gap is not None and gap <= float(self.opts.mip_gap or 1e-4)

    # ------------------------------------------------------------------ the result

    def _with_kpis(self, status: str, message: str) -> Plan:
        b = self.best
        ev = b.ev
        bound, note = self.bound, ""
        if bound is not None and ev["profit"] > bound + 1e-6 * max(1.0, abs(bound)):
            # the model values ad uplift on piecewise-linear curves below the true ones: its bound holds for the
            # model's plans, not for a plan valued on the true curves
            bound, note = None, "; its profit on the true response curves is above the model's bound, so no bound is reported"
        plan = b.plan.with_kpis({})
        gap = mip_gap(ev["profit"], bound)
        if status == TIME_LIMIT and gap is not None and gap <= float(self.opts.mip_gap or 1e-4):
            status = OPTIMAL
        plan.kpis = {"status": status, **profit_kpis(ev, bound, self.bound_kind), "method": METHOD,
                     "found_by": b.source,
                     "start": self.start[0], "start_profit": self.start[1],
                     "neighbourhoods": self.neighbourhoods, "improved": self.improved,
                     "worker": self.worker_note, "worker_plans": self.adopted,
                     "build_seconds": round(self.build_seconds, 3),
                     "solve_seconds": round(time.perf_counter() - self.t0 - self.build_seconds, 3),
                     "solver": "HiGHS " + highs_version(), "scenario": self.sc.name, "message": message + note}
        return plan

    def finish(self, message: str = "") -> Plan:
        """The best checked plan, with its kpis (the caller writes it: ``on_plan`` had only the plans before)."""
        self._refresh()
        status = INTERRUPTED if self.interrupted else TIME_LIMIT
        if not message:
            message = ("interrupted (Ctrl-C): the best plan found so far" if self.interrupted else
                       f"the best plan of {self.neighbourhoods} neighbourhood searches (found by {self.best.source})")
        plan = self._with_kpis(status, message)
        self.report("done", plan.kpis["profit"], plan.kpis.get("best_bound"), force=True, kind=plan.kpis.get("bound_kind"))
        return plan
