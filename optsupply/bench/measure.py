"""Measuring one spec in this process (the child's side of the suite): every phase timed into one row.

``python -m optsupply.bench.measure PAYLOAD`` is the child the suite starts
for each spec (:func:`optsupply.bench.runner.run_in_child`): PAYLOAD is JSON
with the spec, the options and the file descriptor to which progress and the
final row are written, one JSON object a line.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from optsupply.bench.mip import timed_mip
from optsupply.bench.phases import Run, plan_total, rss_mb
from optsupply.bench.specs import SOLVER_SEED, Options, Spec


def _import_everything() -> None:
    """Import what the phases use, so that no phase pays for an import."""
    import importlib

    for module in ("pyomo.environ", "pyomo.contrib.solver.solvers.highs", "optsupply.baselines.siloed", "optsupply.scenario.generate",
                   "optsupply.model", "optsupply.optimizer.optimize", "optsupply.plan.core", "optsupply.optimizer.highs", "optsupply.plan.check"):
        importlib.import_module(module)


def load_scenario(spec: Spec, run: Run) -> Any:
    """The ``load`` and ``validate`` phases: the same steps (and the same scenario) as
    :func:`optsupply.scenario.generate.generate` or :meth:`optsupply.Scenario.load`, timed separately."""
    if spec.kind == "generated":
        from optsupply.scenario.generate_params import SIZES as GEN_SIZES
        from optsupply.scenario.generate import _Builder
        from optsupply.scenario.generate import _validated as validated_generated

        if spec.size not in GEN_SIZES:
            raise ValueError(f"unknown size '{spec.size}'")
        with run.phase("load"):
            settings, tables = _Builder(spec.size, int(spec.seed or 0)).build()
        with run.phase("validate"):
            return validated_generated(settings, tables)
    from optsupply.scenario.coerce import coerce, finalize_dtypes
    from optsupply.scenario.read import read_raw
    from optsupply.errors import Report, ScenarioError
    from optsupply.scenario.core import Scenario
    from optsupply.scenario.checks import check_settings, check_tables

    path = Path(spec.path)
    report = Report()
    with run.phase("load"):
        raw = read_raw(path, report)
    with run.phase("validate"):  # the rest of optsupply.scenario.core._load
        settings = check_settings(raw.settings, raw.setting_lines, raw.settings_file, report)
        horizon = settings.get("horizon.periods")
        tables, present = coerce(raw, horizon, report)
        check_tables(tables, raw.files, present, horizon, report)
        if not report.ok:
            raise ScenarioError(report)
        return Scenario(settings, finalize_dtypes(tables), present=present, files=raw.files, source=path,
                        warnings=report.warnings)


def run_spec(spec: Spec, opts: Options, emit: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Run one spec in this process and return its row (status ``error`` with the message if it failed)."""
    run = Run(spec, opts, emit)
    row = run.row
    w0 = time.perf_counter()
    _import_everything()
    row["import_wall_s"] = time.perf_counter() - w0
    row["import_rss_mb"] = row["peak_rss_mb"] = rss_mb()
    try:
        _run(spec, opts, run)
    except Exception as exc:  # recorded, the suite continues
        row.update(status="error", message=f"{type(exc).__name__}: {exc}".strip(), failed_phase=run.current)
        tb = traceback.format_exc(limit=-3)
        row["message"] += " | " + " ".join(tb.split())[-400:]
    row["total_wall_s"] = plan_total(row, "wall_s")
    row["total_cpu_s"] = plan_total(row, "cpu_s")
    row["peak_rss_mb"] = rss_mb()
    return row


def _run(spec: Spec, opts: Options, run: Run) -> None:
    sc = load_scenario(spec, run)
    if opts.solve:
        _baseline(sc, run)
    method = _resolve_method(sc, opts.method)
    if method == "mip" or not opts.solve:
        plan = timed_mip(sc, opts, run)
        if opts.method != "mip" and plan is not None:
            plan.kpis["method"] = "mip"
    else:
        plan = _solve_with_method(sc, opts, run)
    if plan is not None:
        _record_plan(sc, plan, opts, run)


def _baseline(sc: Any, run: Run) -> None:
    """The ``baseline`` phase: the siloed plan's profit (its failure is recorded; the joint plan still runs)."""
    from optsupply.baselines.siloed import siloed_plan

    with run.phase("baseline"):
        try:
            base = siloed_plan(sc)
            run.row["siloed_profit"] = base.kpis.get("profit")
            del base
        except Exception as exc:  # a scenario the rules cannot plan: recorded, the joint plan still runs
            run.row["siloed_message"] = f"{type(exc).__name__}: {exc}"
        gc.collect()


def _record_plan(sc: Any, plan: Any, opts: Options, run: Run) -> None:
    """The plan's status, profit, bound and gap, the ``check`` phase and the uplift over the siloed baseline."""
    from optsupply.plan.check import check_plan

    row, k = run.row, plan.kpis
    row.update(status=k.get("status"), profit=k.get("profit"), solver_objective=k.get("solver_objective"),
               bound=k.get("best_bound"), gap=k.get("mip_gap"))
    if k.get("message") and k.get("profit") is None:
        row["message"] = str(k["message"])
    if k.get("method"):
        row["method"] = k["method"] if k["method"] == opts.method else f"{opts.method} ({k['method']})"
    if k.get("profit") is not None:
        with run.phase("check"):
            problems = check_plan(sc, plan)
        row["violations"] = len(problems)
        row["first_violation"] = problems[0] if problems else None
        if row["siloed_profit"] is not None:
            row["uplift"] = k["profit"] - row["siloed_profit"]
            if row["siloed_profit"] != 0:
                row["uplift_pct"] = 100.0 * row["uplift"] / abs(row["siloed_profit"])


def _resolve_method(sc: Any, method: str) -> str:
    """``auto`` resolved the way optsupply.optimizer.optimize resolves it (when it says how), else as given."""
    if method != "auto":
        return method
    from optsupply.optimizer import optimize

    choose = getattr(optimize, "choose_method", None)
    return choose(sc, method) if choose is not None else method


def _solve_with_method(sc: Any, opts: Options, run: Run) -> Any:
    """One call of ``optsupply.optimizer.optimize.solve(..., method=...)``: its build, solve and extract in one phase."""
    from optsupply.optimizer.optimize import solve

    with run.phase("solve"):
        plan = solve(sc, method=opts.method, time_limit=opts.time_limit, mip_gap=opts.gap, threads=opts.threads,
                     seed=SOLVER_SEED)
    solver = str(plan.kpis.get("solver") or "")
    if solver.startswith("HiGHS "):
        run.row["highs_version"] = solver.split(" ", 1)[1]
    run.row["mip_gap"] = opts.gap
    return plan


# --------------------------------------------------------------------------- the child process


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    return str(x)


def child_main(payload: str) -> int:
    """Run the spec of ``payload`` and write progress, partial rows and the final row to its file descriptor."""
    msg = json.loads(payload)
    out = os.fdopen(int(msg["fd"]), "w", buffering=1, encoding="utf-8")

    def emit(obj: dict) -> None:
        out.write(json.dumps(obj, default=_json_default) + "\n")
        out.flush()

    row = run_spec(Spec(**msg["spec"]), Options(**msg["options"]), emit)
    emit({"final": row})
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
