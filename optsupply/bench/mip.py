"""The plain MIP with build, transfer, solve and extract timed apart (the spec's phases inside HiGHS).

The model is built, transferred once to a persistent HiGHS instance
(:class:`~optsupply.optimizer.highs.persistent.PersistentModel`), solved and
read into a plan, each step timed on its own; the model size is read from
the solver's copy of the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optsupply.bench.phases import Run
from optsupply.bench.specs import SOLVER_SEED, Options


def model_size(lp: Any) -> dict[str, int]:
    """Columns, integer and binary columns, rows and nonzeros of the solver's model (a highspy ``HighsLp``)."""
    n_col = int(lp.num_col_)
    integ = np.fromiter((int(x) for x in lp.integrality_), dtype=np.int8, count=len(lp.integrality_))
    if len(integ) == 0:
        integ = np.zeros(n_col, dtype=np.int8)
    is_int = integ == 1  # HighsVarType.kInteger
    lo, up = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
    return {"columns": n_col, "integers": int(is_int.sum()), "binaries": int((is_int & (lo >= 0) & (up <= 1)).sum()),
            "rows": int(lp.num_row_), "nonzeros": int(len(lp.a_matrix_.value_))}


def timed_mip(sc: Any, opts: Options, run: Run) -> Any:
    """Build, transfer, solve and extract with the phases timed separately (the plain MIP)."""
    from optsupply.model import build_model, prepare
    from optsupply.optimizer.highs import SolveOptions, highs_version
    from optsupply.optimizer.highs.persistent import PersistentModel
    from optsupply.optimizer.optimize import finish_plan

    row = run.row
    with run.phase("build"):
        data = prepare(sc)
        m, data = build_model(sc, data)
    with run.phase("transfer"):
        pm = PersistentModel(m)
    row.update(model_size(pm.lp()))
    row["highs_version"] = highs_version()
    if not opts.solve:
        row["status"] = "built"
        return None
    so = SolveOptions.from_scenario(sc.settings, time_limit=opts.time_limit, mip_gap=opts.gap, threads=opts.threads,
                                    seed=SOLVER_SEED)
    row["mip_gap"] = so.mip_gap
    with run.phase("solve"):
        result = pm.solve(so)  # the incumbent's values are loaded into the model here
    row["nodes"] = result.nodes
    row["status"] = result.status
    with run.phase("extract"):
        return finish_plan(result, m, data, sc, row["build_wall_s"])
