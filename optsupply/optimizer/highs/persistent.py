"""One Pyomo model held in one persistent HiGHS instance, changed in place and re-solved.

:class:`PersistentModel` transfers the model once to Pyomo's contrib HiGHS
interface with every automatic update off (:func:`~optsupply.optimizer.highs.lean_highs`),
so a re-solve pushes nothing from Pyomo; changes go to the highspy model
directly (``changeColsCost``, ``changeObjectiveOffset``, ``changeRowsBounds``,
``changeColsBounds``, ``changeCoeff``, new rows through the interface). The
HiGHS column and row of each Pyomo variable and constraint come from the
interface's maps (private attributes, verified on Pyomo 6.10.1). After a
change the Pyomo model's coefficients are stale; its variables' values are
those of the last solve.

A re-solve starts from the previous solution (:meth:`PersistentModel.start_from`):
as it is when it is still feasible, else repaired in a fresh highspy
instance -- HiGHS would repair it inside ``run()``, but there the repair LP
compares ``time_limit`` with the instance's *cumulative* run clock, so after
earlier runs longer than the limit it gives up at once and the start is lost.
"""

from __future__ import annotations

import math
import time
from typing import Any, Iterable, Sequence

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

from optsupply.optimizer.highs import (SolveOptions, SolveResult, lean_highs, reset_scheduler_if_threads_change,
                                       solve_options, status_of)
from optsupply.plan.core import SOLVER_PLAN_STATUSES

#: HiGHS's infinity (a bound at or beyond it is no bound).
INF = highspy.kHighsInf

__all__ = ["PersistentModel", "INF"]


class PersistentModel:
    """``m`` in a persistent HiGHS instance: columns and rows by Pyomo component, changes in place, re-solves.

    ``cost``, ``row_lower`` and ``row_upper`` mirror the HiGHS model's objective
    and row bounds (kept in step by the ``change_*`` methods).
    """

    def __init__(self, m: pyo.ConcreteModel):
        opt = lean_highs()
        opt.set_instance(m)
        self.m = m
        self._opt = opt
        self._h = opt._solver_model
        self._vmap = opt._pyomo_var_to_solver_var_map
        self._cmap = opt._pyomo_con_to_solver_con_map
        lp = self._h.getLp()
        self.cost = np.array(lp.col_cost_, dtype=float)
        self.row_lower = np.array(lp.row_lower_, dtype=float)
        self.row_upper = np.array(lp.row_upper_, dtype=float)
        self.offset = float(lp.offset_)
        self.solution: np.ndarray | None = None  # the last solve's values, by HiGHS column

    # ------------------------------------------------------------------ columns and rows

    def lp(self) -> highspy.HighsLp:
        """A copy of the solver's model as it stands (costs, bounds, matrix)."""
        return self._h.getLp()

    @property
    def num_cols(self) -> int:
        return self._h.getNumCol()

    def col(self, var: Any) -> int | None:
        """The HiGHS column of a Pyomo ``VarData`` (None when it is not in the solver's model)."""
        return self._vmap.get(id(var))

    def row(self, con: Any) -> int | None:
        """The HiGHS row of a Pyomo ``ConstraintData`` (None when it is not in the solver's model)."""
        return self._cmap.get(con)

    # ------------------------------------------------------------------ changes

    def change_costs(self, cols: np.ndarray, costs: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self.cost[cols] = costs
        self._h.changeColsCost(len(cols), cols, self.cost[cols])

    def change_offset(self, offset: float) -> None:
        self.offset = float(offset)
        self._h.changeObjectiveOffset(offset)

    def change_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int32)
        self.row_lower[rows], self.row_upper[rows] = lower, upper
        self._h.changeRowsBounds(len(rows), rows, lower, upper)

    def change_col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self._h.changeColsBounds(len(cols), cols, lower, upper)

    def change_coeff(self, row: int, col: int, value: float) -> None:
        self._h.changeCoeff(row, col, value)

    def add_rows(self, cons: Sequence[Any], upper: Iterable[float]) -> None:
        """Add the Pyomo constraints ``cons`` (``≤`` rows with these upper bounds) to the solver's model."""
        self._opt.add_constraints(list(cons))
        self.row_lower = np.concatenate([self.row_lower, np.full(len(cons), -INF)])
        self.row_upper = np.concatenate([self.row_upper, np.asarray(list(upper), dtype=float)])
        if len(self.row_upper) != self._h.getNumRow():
            raise RuntimeError("the added rows are out of step with the solver's model")

    # ------------------------------------------------------------------ solving

    def solve(self, opts: SolveOptions) -> SolveResult:
        """One HiGHS run of the current model, as :func:`~optsupply.optimizer.highs.solve_model` does it;
        the incumbent's values are loaded into the Pyomo model and kept in :attr:`solution`."""
        version = ".".join(str(x) for x in self._opt.version())
        self.solution = None
        reset_scheduler_if_threads_change(opts.threads or None)
        start = time.perf_counter()
        results = self._opt.solve(self.m, **solve_options(opts))
        term = results.termination_condition
        if term == TerminationCondition.infeasibleOrUnbounded:
            term = self._disambiguate()
        seconds = time.perf_counter() - start
        has_solution = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
        status = status_of(term, has_solution)
        ok = has_solution and status in SOLVER_PLAN_STATUSES
        if ok:
            results.solution_loader.load_vars()
            self.solution = np.array(self._h.getSolution().col_value, dtype=float)
        bound = results.objective_bound
        if bound is not None and not math.isfinite(bound):
            bound = None
        nodes = getattr(results.extra_info, "mip_node_count", None)
        return SolveResult(status, ok, results.incumbent_objective, bound, seconds, str(term.name), version, nodes)

    def _disambiguate(self) -> TerminationCondition:
        """HiGHS's presolve may say "infeasible or unbounded"; ask again without it, on this model."""
        h = self._h
        _, before = h.getOptionValue("presolve")
        h.setOptionValue("presolve", "off")
        try:
            h.run()
            status = h.getModelStatus()
        finally:
            h.setOptionValue("presolve", before)
        if status == highspy.HighsModelStatus.kInfeasible:
            return TerminationCondition.provenInfeasible
        if status == highspy.HighsModelStatus.kUnbounded:
            return TerminationCondition.unbounded
        return TerminationCondition.infeasibleOrUnbounded

    # ------------------------------------------------------------------ MIP starts

    def start_from(self, x: np.ndarray | None, opts: SolveOptions) -> str:
        """``x`` (every column) as the next run's MIP start: as it is if feasible, else repaired.

        Returns ``"full"``, ``"repaired"`` or why there is no start.
        """
        if x is None or len(x) != self.num_cols:
            return "none"
        lp = self._h.getLp()
        lo, up = np.asarray(lp.col_lower_, dtype=float), np.asarray(lp.col_upper_, dtype=float)
        integer = np.asarray([int(v) for v in lp.integrality_], dtype=int) if len(lp.integrality_) else np.zeros(len(x), int)
        integer = integer != 0
        kind = "full"
        if not _feasible(lp, x, lo, up, integer):
            x = self._repair(x, lo, up, integer, opts)
            if x is None:
                return "none (the previous solution is infeasible and could not be repaired)"
            kind = "repaired"
        self._h.setSolution(len(x), np.arange(len(x), dtype=np.int32), x)
        return kind

    def partial_start(self, values: dict[int, float]) -> str:
        """Column → value as the next run's (partial) MIP start: ``"none"``, ``"partial"`` or ``"full"``."""
        if not values:
            return "none"
        cols = np.fromiter(values.keys(), dtype=np.int32, count=len(values))
        vals = np.fromiter(values.values(), dtype=float, count=len(values))
        self._h.setSolution(len(cols), cols, vals)
        return "full" if len(cols) == self.num_cols else "partial"

    def _repair(self, x: np.ndarray, lo: np.ndarray, up: np.ndarray, integer: np.ndarray,
                opts: SolveOptions) -> np.ndarray | None:
        """Complete the previous integer values to a feasible solution of the changed model (fresh instance).

        First every integer column whose previous value is within its new bounds is fixed (an LP, or a small
        MIP over the others); if that is infeasible, only the integers at 0 are fixed (a small MIP that may
        switch off what the previous plan switched on). Each attempt gets 10 % of the time limit.
        """
        values = np.round(x)
        inside = integer & (values >= lo - 1e-9) & (values <= up + 1e-9)
        for keep in (inside, inside & (values == 0)):
            y = self._complete(values, integer, keep, opts)
            if y is not None:
                return y
        return None

    def _complete(self, values: np.ndarray, integer: np.ndarray, keep: np.ndarray,
                  opts: SolveOptions) -> np.ndarray | None:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(self._h.getModel())
        cols = np.flatnonzero(keep).astype(np.int32)
        h.changeColsBounds(len(cols), cols, values[keep], values[keep])
        if not (integer & ~keep).any():
            ints = np.flatnonzero(integer).astype(np.int32)
            h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
        else:
            h.setOptionValue("mip_max_nodes", 500)
            h.setOptionValue("mip_max_improving_sols", 1)
        h.setOptionValue("time_limit", max(1.0, 0.1 * float(opts.time_limit or 300.0)))
        h.setOptionValue("random_seed", int(opts.seed or 0))
        if opts.threads:
            h.setOptionValue("threads", int(opts.threads))
        reset_scheduler_if_threads_change(opts.threads or None)
        h.run()
        sol = h.getSolution()
        if not sol.value_valid or h.getInfo().primal_solution_status != 2:
            return None
        return np.array(sol.col_value, dtype=float)


def _feasible(lp: Any, x: np.ndarray, lo: np.ndarray, up: np.ndarray, integer: np.ndarray,
              tol: float = 1e-7) -> bool:
    """Is ``x`` feasible for the highspy LP ``lp`` (bounds, rows, integrality) within ``tol``?"""
    def slack(v: np.ndarray, bound: np.ndarray) -> np.ndarray:
        return tol * np.maximum(1.0, np.abs(np.where(np.isfinite(bound), bound, 0.0)))

    if np.any(x < lo - slack(x, lo)) or np.any(x > up + slack(x, up)):
        return False
    if np.any(np.abs(x[integer] - np.round(x[integer])) > 1e-6):
        return False
    a = lp.a_matrix_
    shape = (lp.num_row_, lp.num_col_)
    parts = (np.asarray(a.value_, dtype=float), np.asarray(a.index_), np.asarray(a.start_))
    matrix = sp.csc_matrix(parts, shape=shape) if "col" in str(a.format_).lower() else sp.csr_matrix(parts, shape=shape)
    r = matrix @ x
    rlo, rup = np.asarray(lp.row_lower_, dtype=float), np.asarray(lp.row_upper_, dtype=float)
    return not (np.any(r < rlo - slack(r, rlo)) or np.any(r > rup + slack(r, rup)))
