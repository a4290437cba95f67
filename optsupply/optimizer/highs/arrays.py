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
from typing import Any, Mapping

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.common.tee import capture_output
from pyomo.core.base.objective import ObjectiveSense
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optsupply.optimizer.highs import (SolveOptions, ctrl_c_stops, highs_options, highs_version,
                                       reset_scheduler_if_threads_change)
from optsupply.plan.core import OPTIMAL, TIME_LIMIT

__all__ = ["CompiledModel", "Run", "Search", "lp_of", "new_highs", "highs_version"]


@dataclass
class Run:
    """One run of a :class:`CompiledModel`: a solution found (values loaded), status, objective, bound, time."""

    ok: bool
    status: str
    objective: float | None
    bound: float | None
    seconds: float


IPM_COLUMNS = 200_000  # an LP of more columns is solved by the interior-point method


@dataclass
class Search:
    """One neighbourhood search of a :class:`CompiledModel`: the best column values HiGHS returned (None when
    it found none), their objective (recomputed from the costs), HiGHS's status, its bound on the
    neighbourhood, branch-and-bound nodes and seconds."""

    x: np.ndarray | None
    objective: float | None
    optimal: bool
    bound: float | None
    nodes: int
    seconds: float
    iterations: int = 0  # simplex iterations (an LP from a good basis needs few)


def new_highs() -> highspy.Highs:
    """A highspy instance without its banner on stdout (HiGHS prints it when the instance is created)."""
    with capture_output(capture_fd=True):
        return highspy.Highs()


def lp_of(a: dict) -> highspy.HighsLp:
    """The HiGHS model (maximised) of the arrays a :class:`CompiledModel` keeps in ``arrays``."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(a["cost"]), len(a["row_lower"])
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_, lp.offset_ = a["cost"], a["offset"]
    lp.col_lower_, lp.col_upper_ = a["lower"], a["upper"]
    lp.row_lower_, lp.row_upper_ = a["row_lower"], a["row_upper"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a["start"], a["index"], a["value"]
    lp.integrality_ = [highspy.HighsVarType(int(k)) for k in a["integrality"]]
    return lp


class _Stop:
    """What :func:`optsupply.optimizer.highs.ctrl_c_stops` asks to stop: one highspy instance."""

    def __init__(self, h: highspy.Highs):
        self.h, self.stop_requested = h, False

    def request_stop(self) -> None:
        self.stop_requested = True
        self.h.cancelSolve()


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
        mult = np.fromiter((r[1] for r in repn.rows), dtype=np.int8, count=len(repn.rows))
        rhs = np.asarray(repn.rhs, dtype=float)
        inf = highspy.kHighsInf
        self.cost = np.asarray(repn.c.toarray()[0] if repn.c.shape[0] else np.zeros(n), dtype=float)
        self.offset = float(repn.c_offset[0]) if len(repn.c_offset) else 0.0
        self.lower = np.array([-inf if v.lb is None else v.lb for v in repn.columns], dtype=float)
        self.upper = np.array([inf if v.ub is None else v.ub for v in repn.columns], dtype=float)
        self.integrality = np.array([1 if v.is_integer() else 0 for v in repn.columns], dtype=np.uint8)
        #: the model as plain arrays (picklable: a worker process rebuilds the same HiGHS model from them)
        self.arrays = {"cost": self.cost, "offset": self.offset, "lower": self.lower, "upper": self.upper,
                       "row_lower": np.where(mult >= 0, np.where(mult == 0, rhs, -inf), rhs),
                       "row_upper": np.where(mult <= 0, np.where(mult == 0, rhs, inf), rhs),
                       "start": A.indptr.astype(np.int32), "index": A.indices.astype(np.int32),
                       "value": A.data.astype(float), "integrality": self.integrality}
        h = self.h = new_highs()
        h.setOptionValue("output_flag", False)
        for key, value in highs_options(opts).items():
            h.setOptionValue(key, value)
        if opts.threads:
            h.setOptionValue("threads", int(opts.threads))
        if opts.mip_gap is not None:
            h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
        h.passModel(lp_of(self.arrays))
        self.col = {id(v): i for i, v in enumerate(repn.columns)}
        self.threads = opts.threads or None

    def _run(self) -> None:
        """``run()`` with HiGHS's global scheduler set for this model's thread count (a solve in this process
        with another count leaves it unusable: every run would fail).

        Ctrl-C during the run stops HiGHS (its interrupt callbacks) and raises ``KeyboardInterrupt`` once it
        has returned, so a long LP or sub-MIP does not hold up the caller's handling of the interrupt.
        """
        reset_scheduler_if_threads_change(self.threads)
        h = self.h
        if not h.HandleUserInterrupt:
            h.HandleUserInterrupt = True  # subscribes the interrupt callbacks that honour cancelSolve()
        stop = _Stop(h)
        with ctrl_c_stops(stop):
            h.run()
        if stop.stop_requested:
            raise KeyboardInterrupt

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

    def mip_bound(self, seconds: float, nodes: int | None = None) -> float | None:
        """HiGHS's MIP dual bound after ``seconds`` (or ``nodes`` branch-and-bound nodes: 1 = the root node
        with its cuts, 0 stops before it) with the model's integrality (then relaxed again)."""
        h = self.h
        self.set_integer(True)
        h.setOptionValue("time_limit", max(0.2, seconds))
        if nodes is not None:
            h.setOptionValue("mip_max_nodes", int(nodes))
        try:
            self._run()
            bound = float(h.getInfo().mip_dual_bound)
        finally:
            self.set_integer(False)
            h.setOptionValue("time_limit", math.inf)
            h.setOptionValue("mip_max_nodes", 2**31 - 1)
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

    # ------------------------------------------------------------------ neighbourhood search (one model, many runs)

    def vector(self, values: Mapping[Any, float]) -> np.ndarray:
        """Column values from a mapping of Pyomo variables to values (0 for the columns it does not name)."""
        x = np.zeros(self.num_cols)
        for v, value in values.items():
            j = self.col.get(id(v))
            if j is not None:
                x[j] = value
        return x

    def objective_of(self, x: np.ndarray) -> float:
        """The objective (maximised) of column values ``x``."""
        return float(self.cost @ x + self.offset)

    def search(self, x: np.ndarray, fixed: np.ndarray, *, time_limit: float = math.inf, gap: float = 1e-4,
               node_limit: int | None = None, lp: bool = False) -> Search:
        """Re-optimise the columns not ``fixed`` (a boolean mask) with the others held at ``x``, from ``x``.

        Held columns get ``x`` as both bounds (integers rounded), the free ones their own bounds again: the
        model is never rebuilt, only its column bounds change. ``x`` is the MIP start, so a feasible ``x``
        gives a run that never ends below it (the caller still compares objectives: HiGHS's presolve may
        map a start to another point). ``node_limit`` (branch-and-bound nodes) stops the run by work,
        not by the clock, for runs that must repeat exactly. With ``lp`` (every integer column held) the
        run is the LP of the free columns, by the interior-point method on models of more than
        :data:`IPM_COLUMNS` columns (where dual simplex takes minutes); it starts from the basis HiGHS
        holds (the last LP's, or :meth:`set_basis`), not from ``x``.
        """
        h, n = self.h, self.num_cols
        held = np.where(self.integrality.astype(bool), np.round(x), x)
        held = np.clip(held, self.lower, self.upper)
        lo, up = np.where(fixed, held, self.lower), np.where(fixed, held, self.upper)
        every = np.arange(n, dtype=np.int32)
        h.changeColsBounds(n, every, lo, up)
        if not lp:  # an LP given a solution starts from it without a basis: 4x slower (medium: 14 s, not 3.4 s)
            h.setSolution(n, every, held)
        h.setOptionValue("time_limit", max(0.2, float(time_limit)) if math.isfinite(time_limit) else math.inf)
        h.setOptionValue("mip_rel_gap", float(gap))
        h.setOptionValue("mip_max_nodes", int(node_limit) if node_limit is not None else 2**31 - 1)
        t0 = time.perf_counter()
        if lp:
            self.set_integer(False)
            h.setOptionValue("solver", "ipm" if n > IPM_COLUMNS else "choose")
        try:
            self._run()
            info, status = h.getInfo(), h.getModelStatus()  # read before the bounds change (that clears them)
            found = info.primal_solution_status == 2
            best = np.array(h.getSolution().col_value, dtype=float) if found else None
            bound = float(info.mip_dual_bound) if self.integrality.any() and not lp else float(info.objective_function_value)
            nodes = int(max(0, info.mip_node_count))
            iterations = int(max(0, info.simplex_iteration_count))
        finally:
            h.changeColsBounds(n, every, self.lower, self.upper)
            if lp:
                self.set_integer(True)
                h.setOptionValue("solver", "choose")
        return Search(best, self.objective_of(best) if found else None, status == highspy.HighsModelStatus.kOptimal,
                      bound if math.isfinite(bound) else None, nodes, time.perf_counter() - t0, iterations)

    def basis(self) -> highspy.HighsBasis | None:
        """HiGHS's basis after the last LP (a copy), or None when it has none."""
        b = self.h.getBasis()
        return b if b.valid else None

    def set_basis(self, basis: highspy.HighsBasis | None) -> bool:
        """Start the next LP from ``basis`` (of a model of the same shape, e.g. the same scenario with other
        prices or budgets); False, and nothing changed, when it does not fit this model."""
        if basis is None or not basis.valid or len(basis.col_status) != self.num_cols or \
                len(basis.row_status) != len(self.arrays["row_lower"]):
            return False
        return self.h.setBasis(basis) == highspy.HighsStatus.kOk

    def load(self, x: np.ndarray) -> None:
        """Put column values ``x`` into the Pyomo model's variables (and those the compiler eliminated)."""
        for v, value in zip(self.columns, x):
            v.set_value(float(value), skip_validation=True)
        for v, expr in self.eliminated:
            v.set_value(pyo.value(expr), skip_validation=True)
