"""Solving the model with HiGHS through Pyomo's ``contrib.solver`` interface.

All solver options live in :class:`SolveOptions` and are translated to HiGHS
option names in one place (:func:`highs_options`). The solve never loads a
solution blindly: it runs with ``load_solutions=False``, maps the termination
to optsupply's status, and loads values only when an incumbent exists.

Statuses (SPEC §4): ``optimal``, ``time_limit`` (a limit stopped the search;
a plan is returned if an incumbent exists), ``infeasible``, ``unbounded``,
``error``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, TextIO

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

logger = logging.getLogger(__name__)

OPTIMAL, TIME_LIMIT, INFEASIBLE, UNBOUNDED, ERROR = "optimal", "time_limit", "infeasible", "unbounded", "error"


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
        0 = HiGHS's default (half the cores).
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


_last_threads: list[int | None] = []


def _reset_scheduler_if_threads_change(threads: int | None) -> None:
    """HiGHS keeps one global task scheduler per process; a solve with another thread count
    after the first one fails ("Not Set") unless the scheduler is reset first."""
    if _last_threads and _last_threads[0] != threads:
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    _last_threads[:] = [threads]


def solve_model(m: pyo.ConcreteModel, opts: SolveOptions) -> SolveResult:
    """Solve ``m`` with HiGHS and load the incumbent's values into it (if there is one)."""
    _reset_scheduler_if_threads_change(opts.threads or None)
    solver = Highs()
    if not solver.available():
        return SolveResult(ERROR, False, None, None, 0.0, "unavailable", "", message="HiGHS (highspy) is not installed")
    version = ".".join(str(x) for x in solver.version())
    tee = [opts.log] if opts.log is not None else []
    start = time.perf_counter()
    results = solver.solve(
        m,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        time_limit=opts.time_limit,
        rel_gap=opts.mip_gap,
        threads=opts.threads if opts.threads else None,
        solver_options=highs_options(opts),
        tee=tee,
    )
    term = results.termination_condition
    if term == TerminationCondition.infeasibleOrUnbounded:
        term = _disambiguate(m, opts)
    seconds = time.perf_counter() - start
    has_solution = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
    status = _status(term, has_solution)
    if has_solution and status in (OPTIMAL, TIME_LIMIT):
        results.solution_loader.load_vars()
    bound = results.objective_bound
    if bound is not None and not math.isfinite(bound):
        bound = None
    nodes = getattr(results.extra_info, "mip_node_count", None)
    return SolveResult(status, has_solution and status in (OPTIMAL, TIME_LIMIT), results.incumbent_objective, bound,
                       seconds, str(term.name), version, nodes)


def _status(term: TerminationCondition, has_solution: bool) -> str:
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
    solver = Highs()
    res = solver.solve(m, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                       time_limit=opts.time_limit, solver_options={**highs_options(opts), "presolve": "off"})
    return res.termination_condition

