"""Solving the model with HiGHS through Pyomo's ``contrib.solver`` interface.

All solver options live in :class:`SolveOptions` and are translated to HiGHS
option names in one place (:func:`highs_options`). The solve never loads a
solution blindly: it runs with ``load_solutions=False``, maps the termination
to optsupply's status, and loads values only when an incumbent exists.

Statuses (SPEC §4): ``optimal``, ``time_limit`` (a limit stopped the search;
a plan is returned if an incumbent exists), ``infeasible``, ``unbounded``,
``error``; and ``interrupted``: Ctrl-C (SIGINT) during the solve stopped HiGHS
and its incumbent, if it had one, is the plan (like a time limit the planner
set by hand).

Ctrl-C: while :func:`solve_model` runs in the main thread (and SIGINT has
Python's default handler), a Ctrl-C does not raise ``KeyboardInterrupt`` but
asks HiGHS to stop (highspy's ``cancelSolve``, polled by its simplex, IPM and
MIP interrupt callbacks); the solve then returns what HiGHS has. Further
Ctrl-Cs during the same solve change nothing; outside the solve, Ctrl-C
raises ``KeyboardInterrupt`` as usual.

Determinism: the same model, options, ``seed`` and ``threads`` give the same
run (and the same plan) -- unless a wall-clock ``time_limit`` stops the
search, which depends on the machine's speed. For reproducible stops use
node or solution limits (``highs_options={"mip_max_nodes": N}``,
``mip_max_leaves``, ``mip_max_improving_sols``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, TextIO

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from optsupply.errors import UsageError
from optsupply.plan.core import (ERROR, INFEASIBLE, INTERRUPTED, OPTIMAL, SOLVER_PLAN_STATUSES, TIME_LIMIT,
                                 UNBOUNDED)
from optsupply.scenario.checks import setting_problem

logger = logging.getLogger(__name__)

#: SolveOptions fields checked by the rule of a scenario.toml [solver] setting (and the command line's options)
OPTION_SETTINGS = {"time_limit": "solver.time_limit", "mip_gap": "solver.mip_gap", "threads": "solver.threads",
                   "seed": "solver.seed"}


def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - no affinity masks (macOS, Windows)
        return max(1, os.cpu_count() or 1)


_threads_noted: set[int] = set()


def threads_used(threads: int | None) -> int | None:
    """The HiGHS threads for ``threads`` asked for: ``None`` for HiGHS's default (0 or ``None``); more than
    the cores available are capped at the cores, with a note (once per value) on the log."""
    if not threads:
        return None
    cores = available_cores()
    if threads > cores:
        if threads not in _threads_noted:
            _threads_noted.add(threads)
            logger.warning("note: %d solver threads asked for, but %d core%s available: using %d", threads, cores,
                           " is" if cores == 1 else "s are", cores)
        return cores
    return int(threads)


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings; ``None`` means "take the scenario's [solver] value".

    Attributes
    ----------
    time_limit : float
        Seconds (scenario default 300).
    mip_gap : float
        Relative MIP gap at which HiGHS stops (scenario default 0.005).
    threads : int
        0 = HiGHS's default (half the cores); more than the cores available
        (:func:`available_cores`) are capped at the cores, with a note.
    seed : int
        HiGHS ``random_seed``; same seed and threads give the same run.
    presolve : bool
        HiGHS presolve (on by default).
    log : TextIO or None
        Stream that receives HiGHS's progress log (incumbent and bound as it
        finds them); ``None`` keeps the solver quiet.
    highs_options : mapping
        Any other HiGHS option, passed verbatim.
    """

    time_limit: float | None = None
    mip_gap: float | None = None
    threads: int | None = None
    seed: int | None = None
    presolve: bool = True
    log: TextIO | None = None
    highs_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check the limits by scenario.toml's rule for [solver] and cap the threads at the cores available."""
        problems = []
        for name, key in OPTION_SETTINGS.items():
            value = getattr(self, name)
            if value is None:
                continue
            typed, problem = setting_problem(key, value)
            if problem:
                problems.append(f"{name}={value!r}: {problem}")
            else:
                object.__setattr__(self, name, typed)
        if problems:
            raise UsageError("; ".join(problems))
        if self.threads:
            object.__setattr__(self, "threads", threads_used(self.threads))

    @classmethod
    def from_scenario(cls, settings: Mapping[str, Any], **overrides: Any) -> SolveOptions:
        values = {
            "time_limit": settings.get("solver.time_limit"),
            "mip_gap": settings.get("solver.mip_gap"),
            "threads": settings.get("solver.threads"),
            "seed": settings.get("solver.seed"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class SolveResult:
    """What the solver reported, in optsupply's terms."""

    status: str
    has_solution: bool
    objective: float | None
    best_bound: float | None
    solve_seconds: float
    termination: str
    solver_version: str
    nodes: int | None = None
    message: str = ""


def highs_options(opts: SolveOptions) -> dict[str, Any]:
    """HiGHS option names and values for ``opts`` (the only translation point)."""
    out: dict[str, Any] = {"random_seed": int(opts.seed or 0)}
    if not opts.presolve:
        out["presolve"] = "off"
    out.update(opts.highs_options)
    return out


def solve_options(opts: SolveOptions, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of a contrib ``Highs.solve`` for ``opts``: never load blindly, never raise on a
    non-optimal result, the limits, threads, HiGHS options and the log stream (``overrides`` win)."""
    out: dict[str, Any] = {
        "load_solutions": False,
        "raise_exception_on_nonoptimal_result": False,
        "time_limit": opts.time_limit,
        "rel_gap": opts.mip_gap,
        "threads": opts.threads or None,  # SolveOptions capped it at the cores already
        "solver_options": highs_options(opts),
        "tee": [opts.log] if opts.log is not None else [],
    }
    out.update(overrides)
    return out


def highs_version() -> str:
    """The version of HiGHS that solves ("1.16.0")."""
    return ".".join(str(x) for x in Highs().version())


def lean_highs(opt: Highs | None = None) -> Highs:
    """A persistent contrib HiGHS interface with every automatic update off: a re-solve pushes nothing
    from the Pyomo model (changes are made in highspy directly, as :class:`optsupply.WhatIf` does)."""
    opt = opt if opt is not None else Highs()
    au = opt.config.auto_updates
    for name in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                 "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
                 "update_vars", "update_parameters", "update_named_expressions", "update_objective"):
        setattr(au, name, False)
    return opt


_scheduler_state: list[tuple[int, int | None]] = []  # (process id, threads) of the last solve


def reset_scheduler_if_threads_change(threads: int | None) -> None:
    """HiGHS keeps one global task scheduler per process; a solve with another thread count after the
    first one fails ("Not Set") unless the scheduler is reset first. Reset it unless this process's last
    solve had the same ``threads``: also in a forked worker (it inherits its parent's scheduler) and
    at the first solve of a process (HiGHS may have run without this record, e.g. in a what-if)."""
    state = (os.getpid(), threads)
    if _scheduler_state != [state]:
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    _scheduler_state[:] = [state]


class _StoppableHighs(Highs):
    """Pyomo's contrib HiGHS interface that can be asked to stop (keeping the incumbent).

    Pyomo's ``_solve`` sets highspy's ``HandleKeyboardInterrupt``, which
    subscribes interrupt callbacks that stop HiGHS once ``cancelSolve()`` was
    called -- but Pyomo calls the blocking ``run()``, so nothing calls
    ``cancelSolve``; :meth:`request_stop` does (also before ``run()`` starts).
    """

    stop_requested: bool = False

    def request_stop(self) -> None:
        self.stop_requested = True
        model = getattr(self, "_solver_model", None)
        if model is not None:
            model.cancelSolve()

    def _solve(self):  # noqa: ANN202 - Pyomo's Results
        if self.stop_requested and self._solver_model is not None:
            self._solver_model.cancelSolve()  # asked before the transfer ended: stop at once
        return super()._solve()

    def was_interrupted(self) -> bool:
        model = getattr(self, "_solver_model", None)
        if model is None:
            return self.stop_requested
        try:
            import highspy

            return model.getModelStatus() == highspy.HighsModelStatus.kInterrupt
        except Exception:  # pragma: no cover - older highspy
            return self.stop_requested


class _HideInterruptWarning(logging.Filter):
    """Pyomo logs HiGHS's ``kInterrupt`` as an "unhandled status"; we map it ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "kInterrupt" not in record.getMessage()


@contextlib.contextmanager
def ctrl_c_stops(solver: Any) -> Iterator[None]:
    """While the block runs, Ctrl-C (SIGINT) calls ``solver.request_stop()`` instead of raising KeyboardInterrupt.

    Only in the main thread and only when SIGINT has Python's default handler
    (a handler someone else installed is left alone).
    """
    pyomo_log = logging.getLogger("pyomo.contrib.solver.solvers.highs")
    hide = _HideInterruptWarning()
    pyomo_log.addFilter(hide)
    installed, previous = False, None
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                def on_sigint(signum: int, frame: Any) -> None:
                    solver.request_stop()

                previous = signal.signal(signal.SIGINT, on_sigint)
                installed = True
        except ValueError:  # pragma: no cover - not the main interpreter
            installed = False
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGINT, previous)
        pyomo_log.removeFilter(hide)


def time_limit_spent_message(time_limit: float | None, where: str, seconds: float | None = None) -> str:
    """Why a run has no plan when its time limit ran out ``where`` (building, transferring), before HiGHS."""
    limit = "the time limit" if time_limit is None else f"the time limit of {time_limit:g} s"
    after = "," if seconds is None else f", after {seconds:.1f} s,"
    return (f"{limit} ran out {where}{after} before HiGHS could start: give more time (--time-limit) or plan a "
            "smaller scenario")


def mip_start(solver: Highs, start: Mapping[Any, float]) -> int:
    """Give HiGHS the values in ``start`` (Pyomo ``VarData`` → value, e.g. a plan's integer decisions) as a
    MIP start; the model must have been transferred (``set_instance``). Returns the number of values passed.

    The values are handed over by highspy's ``setSolution`` in HiGHS's user-solution callback, the first
    time HiGHS asks for one (at the start of its search), with ``repairSolution``: HiGHS completes the
    other columns by an LP with these values fixed and keeps the result as its incumbent when feasible.
    A start given this way does not count as an improving solution of HiGHS's own (callbacks on those,
    such as a stop at the first incumbent, see HiGHS's own solutions only), and the run's bound is
    HiGHS's as without a start.
    """
    vmap = solver._pyomo_var_to_solver_var_map
    idx, val = [], []
    for v, x in start.items():
        col = vmap.get(id(v))
        if col is not None and x is not None:
            idx.append(int(col))
            val.append(float(x))
    if not idx:
        return 0
    import numpy as np

    cols, values = np.array(idx, dtype=np.int32), np.array(val, dtype=float)
    given: list[bool] = []

    def offer(event: Any) -> None:
        if given:
            return
        given.append(True)
        event.data_in.user_has_solution = True
        event.data_in.setSolution(cols, values)
        event.data_in.repairSolution()

    solver._solver_model.cbMipUserSolution.subscribe(offer)
    return len(idx)


def report_progress(solver: Highs, progress: Callable[[float | None, float | None], None]) -> None:
    """Call ``progress(incumbent, bound)`` from HiGHS's MIP callbacks (each improving solution, and its
    interrupt checks, which :class:`optsupply.optimizer.progress.Progress` thins out); the model must have
    been transferred (``set_instance``)."""
    def finite(v: Any) -> float | None:
        v = float(v)
        return v if math.isfinite(v) and abs(v) < 1e300 else None

    def improving(event: Any) -> None:
        progress(finite(event.data_out.objective_function_value), finite(event.data_out.mip_dual_bound))

    def checking(event: Any) -> None:
        progress(finite(event.data_out.mip_primal_bound), finite(event.data_out.mip_dual_bound))

    solver._solver_model.cbMipImprovingSolution.subscribe(improving)
    solver._solver_model.cbMipInterrupt.subscribe(checking)


def solve_model(m: pyo.ConcreteModel, opts: SolveOptions, *, deadline: float | None = None,
                start: Mapping[Any, float] | None = None,
                progress: Callable[[float | None, float | None], None] | None = None) -> SolveResult:
    """Solve ``m`` with HiGHS and load the incumbent's values into it (if there is one).

    Ctrl-C during the solve stops HiGHS; the result then has status
    ``interrupted`` and carries the incumbent if HiGHS had one.

    With ``deadline`` (a :func:`time.perf_counter` value: when the whole run's
    time limit ends), the model is transferred to HiGHS first and HiGHS gets
    only the time that is left; when none is left, before or after the
    transfer, HiGHS is not run and the status is ``time_limit`` without a plan.

    With ``start`` (``VarData`` → value), those values are HiGHS's MIP start (:func:`mip_start`).
    ``progress`` is called with (incumbent, bound) as HiGHS improves them (:func:`report_progress`).
    """
    reset_scheduler_if_threads_change(opts.threads or None)
    solver = _StoppableHighs()
    if not solver.available():
        return SolveResult(ERROR, False, None, None, 0.0, "unavailable", "", message="HiGHS (highspy) is not installed")
    version = ".".join(str(x) for x in solver.version())
    began = time.perf_counter()
    kwargs = solve_options(opts)

    def spent(where: str) -> SolveResult:
        return SolveResult(TIME_LIMIT, False, None, None, time.perf_counter() - began, "time_limit", version,
                           message=time_limit_spent_message(opts.time_limit, where))

    with ctrl_c_stops(solver):
        if deadline is not None or start or progress is not None:
            if deadline is not None and time.perf_counter() >= deadline:
                return spent("while building the model")
            solver.config.tee = kwargs["tee"]  # what HiGHS says during the transfer (its banner) goes to the log too
            lean_highs(solver).set_instance(m)  # the transfer; the solve below pushes nothing again
            if start:
                mip_start(solver, start)
            if progress is not None:
                report_progress(solver, progress)
            if deadline is not None:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return spent("while transferring the model to HiGHS")
                kwargs["time_limit"] = left
        results = solver.solve(m, **kwargs)
    interrupted = solver.stop_requested and solver.was_interrupted()
    term = results.termination_condition
    if term == TerminationCondition.infeasibleOrUnbounded and not interrupted:
        term = _disambiguate(m, opts)
    seconds = time.perf_counter() - began
    has_solution = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
    status = INTERRUPTED if interrupted else status_of(term, has_solution)
    message = ""
    if interrupted:
        message = ("interrupted (Ctrl-C); the plan is HiGHS's best so far" if has_solution
                   else "interrupted (Ctrl-C) before HiGHS found a plan")
        logger.info("%s", message)
    has_plan = has_solution and status in SOLVER_PLAN_STATUSES
    if has_plan:
        results.solution_loader.load_vars()
    bound = results.objective_bound
    if bound is not None and not math.isfinite(bound):
        bound = None
    nodes = getattr(results.extra_info, "mip_node_count", None)
    return SolveResult(status, has_plan, results.incumbent_objective, bound, seconds,
                       "interrupted" if interrupted else str(term.name), version, nodes, message)


def persistent_solver() -> Highs:
    """A persistent contrib HiGHS interface: re-solves of one model through it send only their changes."""
    return Highs()


def _solve_once(m: pyo.ConcreteModel, opts: SolveOptions, *, time_limit: float | None, gap: float | None,
           solver: Highs | None = None):  # noqa: ANN202
    solver = solver if solver is not None else Highs()
    if not solver.available():
        raise UsageError("HiGHS (highspy) is not installed")
    return solver.solve(m, **solve_options(opts, time_limit=time_limit, rel_gap=gap))


def solve_fixed(m: pyo.ConcreteModel, opts: SolveOptions, *, time_limit: float | None, mip: bool = False,
                 solver: Highs | None = None) -> tuple[str, float | None, Any]:
    """Solve a fixed-plan model (an LP, or a small MIP with gap 0); (status, objective, Pyomo's results: ``solution_loader.load_vars()``, ``get_duals``).

    Pass the same persistent ``solver`` for re-solves of one model: only the changes are sent to HiGHS.
    """
    res = _solve_once(m, opts, time_limit=time_limit, gap=0.0 if mip else None, solver=solver)
    term = res.termination_condition
    ok = res.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
    if term == TerminationCondition.convergenceCriteriaSatisfied and ok:
        return OPTIMAL, res.incumbent_objective, res
    if term in (TerminationCondition.provenInfeasible, TerminationCondition.infeasibleOrUnbounded):
        return INFEASIBLE, None, res
    if ok:
        return TIME_LIMIT, res.incumbent_objective, res
    return str(term.name), None, res


def status_of(term: TerminationCondition, has_solution: bool) -> str:
    """optsupply's status (:mod:`optsupply.plan.core`) of a Pyomo termination condition."""
    if term == TerminationCondition.convergenceCriteriaSatisfied:
        return OPTIMAL
    if term in (TerminationCondition.maxTimeLimit, TerminationCondition.iterationLimit,
                TerminationCondition.objectiveLimit, TerminationCondition.interrupted):
        return TIME_LIMIT
    if term in (TerminationCondition.provenInfeasible, TerminationCondition.locallyInfeasible):
        return INFEASIBLE
    if term == TerminationCondition.unbounded:
        return UNBOUNDED
    if term == TerminationCondition.infeasibleOrUnbounded:
        return INFEASIBLE
    return TIME_LIMIT if has_solution else ERROR


def _disambiguate(m: pyo.ConcreteModel, opts: SolveOptions) -> TerminationCondition:
    """HiGHS's presolve may say "infeasible or unbounded"; ask again without it."""
    reset_scheduler_if_threads_change(None)  # this solve runs with HiGHS's default thread count
    solver = Highs()
    res = solver.solve(m, **solve_options(opts, rel_gap=None, threads=None, tee=[],
                                          solver_options={**highs_options(opts), "presolve": "off"}))
    return res.termination_condition

