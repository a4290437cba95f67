"""The plain MIP with build, transfer, solve and extract timed apart (the spec's phases inside HiGHS).

It drives Pyomo's HiGHS interface step by step (``set_instance``, then
``solve``) and reads the model size from the highspy object it filled.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optsupply.bench.phases import Run
from optsupply.bench.specs import SOLVER_SEED, Options


def model_size(h: Any) -> dict[str, int]:
    """Columns, integer and binary columns, rows and nonzeros of a highspy model."""
    lp = h.getLp()
    integ = np.fromiter((int(x) for x in lp.integrality_), dtype=np.int8, count=len(lp.integrality_))
    n_col = int(h.getNumCol())
    if len(integ) == 0:
        integ = np.zeros(n_col, dtype=np.int8)
    is_int = integ == 1  # HighsVarType.kInteger
    lo, up = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
    return {"columns": n_col, "integers": int(is_int.sum()), "binaries": int((is_int & (lo >= 0) & (up <= 1)).sum()),
            "rows": int(h.getNumRow()), "nonzeros": int(h.getNumNz())}


def timed_mip(sc: Any, opts: Options, run: Run) -> Any:
    """Build, transfer, solve and extract with the phases timed separately (the plain MIP)."""
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    from optsupply.model import build_model, prepare
    from optsupply.optimizer.optimize import finish_plan
    from optsupply.optimizer.highs import (
        OPTIMAL,
        TIME_LIMIT,
        SolveOptions,
        SolveResult,
        _disambiguate,
        _status,
        lean_highs,
        solve_options,
    )

    row = run.row
    with run.phase("build"):
        data = prepare(sc)
        m, data = build_model(sc, data)
    opt = lean_highs()
    with run.phase("transfer"):
        opt.set_instance(m)
    h = opt._solver_model  # the highspy object the interface filled
    row.update(model_size(h))
    row["highs_version"] = ".".join(str(x) for x in opt.version())
    if not opts.solve:
        row["status"] = "built"
        return None
    so = SolveOptions.from_scenario(sc.settings, time_limit=opts.time_limit, mip_gap=opts.gap, threads=opts.threads,
                                    seed=SOLVER_SEED)
    row["mip_gap"] = so.mip_gap
    with run.phase("solve"):
        res = opt.solve(m, **solve_options(so, tee=[]))
        term = res.termination_condition
        if term == TerminationCondition.infeasibleOrUnbounded:
            term = _disambiguate(m, so)
        has_solution = res.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
        status = _status(term, has_solution)
        ok = has_solution and status in (OPTIMAL, TIME_LIMIT)
        bound = res.objective_bound
        if bound is not None and not math.isfinite(bound):
            bound = None
        nodes = getattr(res.extra_info, "mip_node_count", None)
    row["nodes"] = nodes
    row["status"] = status
    with run.phase("extract"):
        if ok:
            res.solution_loader.load_vars()
        result = SolveResult(status, ok, res.incumbent_objective, bound, row["solve_wall_s"], str(term.name),
                             row["highs_version"], nodes)
        return finish_plan(result, m, data, sc, row["build_wall_s"])
