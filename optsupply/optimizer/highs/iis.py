"""HiGHS's irreducible infeasible subset (IIS) of a model's LP relaxation, as Pyomo components."""

from __future__ import annotations

from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs

from optsupply.optimizer.highs import SolveOptions, highs_options, reset_scheduler_if_threads_change

__all__ = ["lp_iis"]


def lp_iis(m: pyo.ConcreteModel, opts: SolveOptions, time_limit: float) -> tuple[str, list[Any], list[tuple[Any, int]]]:
    """HiGHS's IIS of the LP relaxation of ``m``: (status, constraint datas, (var data, bound code)).

    Status ``"valid"``, ``"lp feasible"`` (the relaxation is feasible: integrality makes ``m`` infeasible),
    ``"invalid"`` or ``"not run"``. Only upper bounds of columns are reported (the inputs: demand,
    capacities, max_order); lower bounds are the zeros of quantities. Each HiGHS step gets at most
    ``time_limit`` seconds.
    """
    reset_scheduler_if_threads_change(opts.threads or None)
    opt = Highs()
    if not opt.available():
        return "not run", [], []
    opt.set_instance(m)
    h = opt._solver_model  # private (verified on Pyomo 6.10.1)
    cmap = opt._pyomo_con_to_solver_con_map
    vmap = opt._pyomo_var_to_solver_var_map
    h.setOptionValue("output_flag", False)
    for k, v in highs_options(opts).items():
        h.setOptionValue(k, v)
    if opts.threads:
        h.setOptionValue("threads", int(opts.threads))
    n = h.getNumCol()
    if n:
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.uint8))
    h.setOptionValue("time_limit", min(float(opts.time_limit or time_limit), time_limit))
    h.setOptionValue("presolve", "off")
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kInfeasible:
        return "lp feasible", [], []
    h.setOptionValue("iis_strategy", 6)  # 2 elastic LP + 4 reduce to a true IIS (ENGINEERING.md §4.2)
    h.setOptionValue("iis_time_limit", min(float(opts.time_limit or time_limit), time_limit))
    _status, iis = h.getIis()
    if not iis.valid_:
        return "invalid", [], []
    by_row = {r: c for c, r in cmap.items()}
    rows = [by_row[r] for r in iis.row_index_ if r in by_row]
    by_col = {}
    for v in m.component_data_objects(pyo.Var, descend_into=True):
        col = vmap.get(id(v))
        if col is not None:
            by_col[col] = v
    upper = {int(getattr(highspy.IisBoundStatus, n, v)) for n, v in (("kIisBoundStatusUpper", 3), ("kIisBoundStatusBoxed", 4))}
    cols = [(by_col[c], int(b)) for c, b in zip(iis.col_index_, iis.col_bound_) if c in by_col and int(b) in upper]
    return "valid", rows, cols
