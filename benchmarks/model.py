"""Model benchmarks: formulation strength, solve times, build and transfer costs.

Run from the repository root::

    python -m benchmarks.model                  # everything below (about 15 minutes)
    python -m benchmarks.model --only xsmall     # one part: xsmall, small, medium

Parts (each side by side, same run, same HiGHS settings, threads = 1, seed 0):

* ``xsmall``: generated 6 products × 2 warehouses × 3 regions × 8 periods ×
  2 channels (slots, S-curves, set-ups, fixed lanes), seeds 1–5, solved to a
  1e-6 gap with the default ("strong") formulation and with the textbook big-M
  baseline; time, nodes, root LP bound.
* ``small``: instances/small, both formulations, 120 s limit: gap reached.
* ``medium``: instances/medium, strong formulation, 60 s limit: gap reached;
  Pyomo build, transfer to HiGHS and root LP time measured separately, µs per column.

Results go to ``benchmarks/results/model.md`` (Markdown) and ``model.csv``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import os
import platform
import resource
import time
from pathlib import Path

import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs

import optsupply as ops
from optsupply.scenario.generate import generate
from optsupply.model import build_model
from optsupply.optimizer.highs import SolveOptions, solve_model

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _size(m: pyo.ConcreteModel) -> tuple[int, int, int]:
    cols = sum(len(v) for v in m.component_objects(pyo.Var, descend_into=True))
    bins = sum(1 for v in m.component_objects(pyo.Var, descend_into=True) for x in v.values() if x.is_binary())
    rows = sum(len(c) for c in m.component_objects(pyo.Constraint, descend_into=True))
    return cols, bins, rows


def root_lp(sc: ops.Scenario, formulation: str, time_limit: float = 300) -> tuple[float | None, float]:
    """LP relaxation bound and HiGHS time (binaries relaxed to [0, 1])."""
    m, _ = build_model(sc, formulation=formulation)
    for v in m.component_objects(pyo.Var, descend_into=True):
        for x in v.values():
            if x.is_binary():
                x.domain = pyo.UnitInterval
    r = solve_model(m, SolveOptions(time_limit=time_limit, mip_gap=0, threads=1))
    return r.objective, r.solve_seconds


def run(sc: ops.Scenario, label: str, formulation: str, time_limit: float, gap: float) -> dict:
    t0 = time.perf_counter()
    m, _ = build_model(sc, formulation=formulation)
    build = time.perf_counter() - t0
    cols, bins, rows = _size(m)
    r = solve_model(m, SolveOptions(time_limit=time_limit, mip_gap=gap, threads=1, seed=0))
    lp, lp_seconds = root_lp(sc, formulation)
    return {
        "instance": label, "formulation": formulation, "columns": cols, "binaries": bins, "rows": rows,
        "status": r.status, "objective": r.objective, "bound": r.best_bound,
        "gap": None if r.objective is None or r.best_bound is None else abs(r.best_bound - r.objective) / max(abs(r.objective), 1e-9),
        "root_lp": lp, "root_lp_gap": None if lp is None or r.objective is None else (lp - r.objective) / max(abs(r.objective), 1e-9),
        "build_s": round(build, 3), "solve_s": round(r.solve_seconds, 3), "nodes": r.nodes,
    }


def transfer_costs(sc: ops.Scenario) -> dict:
    """Pyomo build, transfer to HiGHS and root LP, measured separately (CPU seconds)."""
    c0 = time.process_time()
    m, _ = build_model(sc)
    build = time.process_time() - c0
    cols, _, rows = _size(m)
    for v in m.component_objects(pyo.Var, descend_into=True):
        for x in v.values():
            if x.is_binary():
                x.domain = pyo.UnitInterval
    opt = Highs()
    c0 = time.process_time()
    opt.set_instance(m)
    transfer = time.process_time() - c0
    h = opt._solver_model  # the highspy object the interface fills
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    c0 = time.process_time()
    h.run()
    lp = time.process_time() - c0
    return {"columns": cols, "rows": rows, "build_cpu_s": build, "transfer_cpu_s": transfer, "root_lp_cpu_s": lp,
            "us_per_column": 1e6 * (build + transfer) / cols, "ratio_build_transfer_to_lp": (build + transfer) / lp}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["xsmall", "small", "medium"], action="append")
    args = ap.parse_args(argv)
    parts = args.only or ["xsmall", "small", "medium"]
    rows: list[dict] = []
    extra: dict = {}
    if "xsmall" in parts:
        for seed in range(1, 6):
            sc = generate("xsmall", seed)
            for form in ("strong", "big-m"):
                rows.append(run(sc, f"xsmall seed {seed}", form, time_limit=120, gap=1e-6))
                print(rows[-1], flush=True)
    if "small" in parts:
        sc = ops.Scenario.load(ROOT / "instances" / "small")
        for form in ("strong", "big-m"):
            rows.append(run(sc, "small", form, time_limit=120, gap=1e-6))
            print(rows[-1], flush=True)
    if "medium" in parts:
        sc = ops.Scenario.load(ROOT / "instances" / "medium")
        rows.append(run(sc, "medium", "strong", time_limit=60, gap=0.01))
        print(rows[-1], flush=True)
        extra = transfer_costs(sc)
        print(extra, flush=True)
    write(rows, extra)
    return 0


def _fmt(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:,.1f}"
    return str(v)


def write(rows: list[dict], extra: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    if rows:
        with open(RESULTS / "model.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    cols = ["instance", "formulation", "columns", "binaries", "rows", "status", "objective", "bound", "gap",
            "root_lp_gap", "build_s", "solve_s", "nodes"]
    lines = ["# Model benchmark", "", f"`python -m benchmarks.model`, {_dt.date.today()}, "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, HiGHS threads = 1, seed 0.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r[c]) for c in cols) + " |" for r in rows]
    if extra:
        lines += ["", "## Build and transfer against the root LP (instances/medium, CPU seconds)", "",
                  "| " + " | ".join(extra) + " |", "|" + "---|" * len(extra),
                  "| " + " | ".join(_fmt(v) for v in extra.values()) + " |"]
    lines += ["", f"Peak RSS of the benchmark process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB.", ""]
    (RESULTS / "model.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
