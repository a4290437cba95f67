"""A Pyomo model passed to HiGHS as arrays, for the many small models of a decomposition.

Pyomo's standard-form compiler writes the model as a sparse matrix, and
highspy's ``passModel`` takes it whole: several times faster than the
persistent interface's row-by-row transfer (3–6x), which would dominate the
time of many small group models. A :class:`CompiledModel` is re-solved by
changing its costs, integrality and MIP start in place.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.common.tee import capture_output
from pyomo.core.base.objective import ObjectiveSense
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optsupply.optimizer.highs import SolveOptions, highs_options, highs_version, reset_scheduler_if_threads_change
from optsupply.plan.core import OPTIMAL, TIME_LIMIT

__all__ = ["CompiledModel", "Run", "new_highs", "highs_version"]


@dataclass
class Run:
    """One run of a :class:`CompiledModel`: a solution found (values loaded), status, objective, bound, time."""

    ok: bool
    status: str
    objective: float | None
    bound: float | None
    seconds: float


def new_highs() -> highspy.Highs:
    """A highspy instance without its banner on stdout (HiGHS prints it when the instance is created)."""
    with capture_output(capture_fd=True):
        return highspy.Highs()


class CompiledModel:
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
        h = self.h = new_highs()
        h.setOptionValue("output_flag", False)
        for key, value in highs_options(opts).items():
            h.setOptionValue(key, value)
        if opts.threads:
            h.setOptionValue("threads", int(opts.threads))
        if opts.mip_gap is not None:
            h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
        h.passModel(lp)
        self.col = {id(v): i for i, v in enumerate(repn.columns)}
        self.threads = opts.threads or None

    def _run(self) -> None:
        """``run()`` with HiGHS's global scheduler set for this model's thread count (a solve in this process
        with another count leaves it unusable: every run would fail)."""
        reset_scheduler_if_threads_change(self.threads)
        self.h.run()

    @property
    def num_cols(self) -> int:
        return len(self.cost)

    def set_integer(self, integer: bool) -> None:
        """Integrality as the model has it (``True``) or every column continuous (``False``: the LP relaxation)."""
        n = self.num_cols
        kinds = self.integrality if integer else np.zeros(n, dtype=np.uint8)
        self.h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), kinds)

    def set_costs(self, cost: np.ndarray) -> None:
        """Replace the objective's coefficients (maximised)."""
        self.h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)

    def solve_lp(self) -> tuple[float, np.ndarray] | None:
        """Run to optimality (the current costs and integrality); (objective, values by column), or None."""
        h = self.h
        self._run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return float(h.getInfo().objective_function_value), np.array(h.getSolution().col_value, dtype=float)

    def mip_bound(self, seconds: float) -> float | None:
        """HiGHS's MIP dual bound after ``seconds`` with the model's integrality (then relaxed again)."""
        h = self.h
        self.set_integer(True)
        h.setOptionValue("time_limit", max(0.2, seconds))
        try:
            self._run()
            bound = float(h.getInfo().mip_dual_bound)
        finally:
            self.set_integer(False)
            h.setOptionValue("time_limit", math.inf)
        if not math.isfinite(bound) or h.getModelStatus() in (highspy.HighsModelStatus.kInfeasible,):
            return None
        return bound

    def run(self, time_limit: float, start: dict[int, float] | None = None) -> Run:
        h = self.h
        t0 = time.perf_counter()
        if start:
            pairs = [(self.col[i], v) for i, v in start.items() if i in self.col]
            if pairs:
                idx = np.array([c for c, _ in pairs], dtype=np.int32)
                h.setSolution(len(idx), idx, np.array([v for _, v in pairs], dtype=float))
        h.setOptionValue("time_limit", max(0.5, float(time_limit)))
        self._run()
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
        return Run(ok, OPTIMAL if optimal else TIME_LIMIT, float(info.objective_function_value) if ok else None,
                    bound if math.isfinite(bound) else None, time.perf_counter() - t0)
