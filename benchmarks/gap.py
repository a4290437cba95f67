"""Where the gap lives: the root LP bound, the bound after HiGHS's root cuts, the best-known profit, and what
the LP relaxation promises beyond a good plan, cost family by cost family.

Run from the repository root::

    python -m benchmarks.gap                                # small seeds 1-5, shipped small and medium
    python -m benchmarks.gap --only small-s2 medium-s2      # named instances (shipped or SIZE-sSEED)
    python -m benchmarks.gap --plan-seconds 120 --root-seconds 600

Per instance, in a fresh process (its own memory and HiGHS state), one thread:

* **root LP**: the model with every integer relaxed, solved to optimality
  (dual simplex; the interior-point method from 20,000 columns on);
* **root cuts**: HiGHS's MIP stopped after the root node (``mip_max_nodes``
  = 1; 0 stops before it): its dual bound after presolve, cut rounds and root heuristics,
  within ``--root-seconds``;
* **plan**: ``optsupply solve --method lns`` for ``--plan-seconds``: a good
  checked plan to compare against; the **best-known** profit is the better of
  its profit and ``results/best_known.csv``;
* **over-promise by family**: the LP solution's revenue, salvage and each cost
  family (the model's own cost expressions at the LP's values) against the
  plan's (its ``kpis.json``): what the LP earns more (revenue, salvage) or
  pays less (each cost) than the plan. Their sum is the LP bound minus the
  plan's profit, up to the piecewise-linear ad curves (the plan is valued on
  the true curves).

Results go to ``benchmarks/results/gap.csv`` and ``gap.md`` (rows of earlier
runs of other instances are kept); a plan better than the best-known one, or a
bound tighter than the best-known bound, updates ``best_known.csv``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.anytime import instance_path, read_best, run_child, update_best, write_best

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT = ["small-s1", "small-s2", "small-s3", "small-s4", "small-s5", "small", "medium"]
IPM_FROM = 20_000  # columns from which the root LP is solved by the interior-point method
FAMILIES = ("revenue", "salvage", "purchase", "ordering", "activation", "holding", "transport", "lane_fixed",
            "advertising", "launch", "onboarding", "lost_sale")


def child(spec: dict) -> dict:
    """One instance, in this process: root LP, root cuts, a plan, and the families of both."""
    import numpy as np
    import pyomo.environ as pyo

    import optsupply as ops
    from optsupply.model import build_model, prepare
    from optsupply.model.objective import COSTS, term
    from optsupply.optimizer.highs import SolveOptions
    from optsupply.optimizer.highs.arrays import CompiledModel

    sc = ops.Scenario.load(spec["path"])
    m, d = build_model(sc, prepare(sc))
    cm = CompiledModel(m, SolveOptions(threads=1, seed=0))
    h = cm.h
    out: dict = {"columns": cm.num_cols, "rows": len(cm.arrays["row_lower"]),
                 "integers": int(np.count_nonzero(cm.integrality))}

    cm.set_integer(False)
    h.setOptionValue("solver", "ipm" if cm.num_cols >= IPM_FROM else "choose")
    h.setOptionValue("time_limit", float(spec["root_seconds"]))
    t0 = time.perf_counter()
    found = cm.solve_lp()
    out["lp_seconds"] = time.perf_counter() - t0
    out["lp_bound"] = None if found is None else found[0]
    if found is not None:
        cm.load(found[1])
        lp = {name: pyo.value(term(m, *where)) for name, where in COSTS.items()}
        lp["revenue"], lp["salvage"] = pyo.value(m.demand.revenue), pyo.value(m.inventory.salvage)
        out["lp_families"] = lp

    h.clearSolver()  # the root node from scratch, not from the LP's basis
    h.setOptionValue("solver", "choose")
    t0 = time.perf_counter()
    out["root_bound"] = cm.mip_bound(float(spec["root_seconds"]), nodes=1)
    out["root_seconds"] = time.perf_counter() - t0
    out["root_finished"] = out["root_seconds"] < 0.99 * float(spec["root_seconds"])
    del cm, h, m

    plan = ops.solve(sc, method="lns", time_limit=float(spec["plan_seconds"]), seed=0)
    k = plan.kpis
    out["plan_profit"], out["plan_bound"] = k.get("profit"), k.get("best_bound")
    if k.get("profit") is not None:
        out["plan_families"] = {"revenue": k["revenue"], "salvage": k["salvage"], **k["costs"]}
    return out


def _run(path: Path, spec: dict) -> dict:
    return run_child("benchmarks.gap", {"path": str(path), **spec},
                     timeout=3 * (spec["root_seconds"] * 2 + spec["plan_seconds"]) + 600)


def over_promise(r: dict) -> dict[str, float]:
    """Per family, what the LP solution gains over the plan: earns more (revenue, salvage) or pays less."""
    lp, plan = r.get("lp_families"), r.get("plan_families")
    if not lp or not plan:
        return {}
    return {f: (lp[f] - plan.get(f, 0.0)) if f in ("revenue", "salvage") else (plan.get(f, 0.0) - lp[f])
            for f in FAMILIES if f in lp}


def _gap(bound: float | None, best: float | None) -> float | None:
    if bound is None or best is None:
        return None
    return (bound - best) / max(abs(best), 1e-9)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="instances (shipped names or SIZE-sSEED)")
    ap.add_argument("--plan-seconds", type=float, default=60.0, help="time of the lns run per instance (default 60)")
    ap.add_argument("--root-seconds", type=float, default=300.0,
                    help="time limit of the root LP and of the root node each (default 300)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    best = read_best()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or DEFAULT:
            print(f"{name} ...", file=sys.stderr, flush=True)
            r = _run(instance_path(name, Path(tmp)), {"plan_seconds": args.plan_seconds,
                                                      "root_seconds": args.root_seconds})
            known = best.get(name, {}).get("best_profit")
            candidates = [float(v) for v in (known, r.get("plan_profit")) if v not in (None, "")]
            top = max(candidates) if candidates else None
            rec = {"instance": name, "columns": r.get("columns"), "integers": r.get("integers"),
                   "lp_bound": r.get("lp_bound"), "lp_gap": _gap(r.get("lp_bound"), top),
                   "lp_seconds": r.get("lp_seconds"), "root_bound": r.get("root_bound"),
                   "root_gap": _gap(r.get("root_bound"), top), "root_seconds": r.get("root_seconds"),
                   "root_finished": r.get("root_finished"), "best_known": top, "plan_profit": r.get("plan_profit"),
                   **{f"over_{f}": v for f, v in over_promise(r).items()},
                   "error": r.get("error", ""), "date": _dt.date.today().isoformat(),
                   "command": f"python -m benchmarks.gap --only {name} --plan-seconds {args.plan_seconds:g} "
                              f"--root-seconds {args.root_seconds:g}", "machine": f"{os.cpu_count()} cores"}
            rows.append(rec)
            bounds = [b for b in (r.get("root_bound"), r.get("plan_bound"), r.get("lp_bound")) if b is not None]
            if "error" not in r:  # a better plan or a tighter (valid) bound is the new best-known
                update_best(best, name, {"profit": r.get("plan_profit"), "bound": min(bounds) if bounds else None},
                            rec["command"])
            print(json.dumps({k: v for k, v in rec.items() if not k.startswith("over_")}), file=sys.stderr, flush=True)
    write_best(best)
    write(rows)
    return 0


def write(rows: list[dict]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "gap.csv"
    fields = ["instance", "columns", "integers", "lp_bound", "lp_gap", "lp_seconds", "root_bound", "root_gap",
              "root_seconds", "root_finished", "best_known", "plan_profit", *(f"over_{f}" for f in FAMILIES),
              "error", "date", "command", "machine"]
    old = []
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            names = {r["instance"] for r in rows}
            old = [r for r in csv.DictReader(f) if r["instance"] not in names]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(old + rows)

    def num(v: object, spec: str = ",.0f") -> str:
        return "—" if v in (None, "") else format(float(v), spec)

    lines = ["# Where the gap lives (`python -m benchmarks.gap`)", "",
             "Bounds against the best-known profit (the better of `best_known.csv` and this run's `lns` plan), "
             "one thread, 2-core machine. *Root cuts*: HiGHS's dual bound after its root node (presolve, cut "
             "rounds, root heuristics; `*` = the root node was not finished in the time allowed).", "",
             "| instance | columns | integers | root LP | LP gap | LP s | root cuts | root gap | root s | best-known |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    with open(path, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    for r in table:
        star = "" if r.get("root_finished") in ("True", "") else "*"
        lines.append(f"| {r['instance']} | {num(r['columns'])} | {num(r['integers'])} | {num(r['lp_bound'])} | "
                     f"{num(r['lp_gap'], '.1%')} | {num(r['lp_seconds'], '.1f')} | {num(r['root_bound'])}{star} | "
                     f"{num(r['root_gap'], '.1%')} | {num(r['root_seconds'], '.1f')} | {num(r['best_known'])} |")
    lines += ["", "What the root LP promises beyond the `lns` plan, per family (LP revenue and salvage minus the "
              "plan's; the plan's cost minus the LP's), as a share of the LP's total over-promise:", "",
              "| instance | over-promise | " + " | ".join(FAMILIES) + " |", "|---|---|" + "---|" * len(FAMILIES)]
    for r in table:
        parts = [float(r[f"over_{f}"]) if r.get(f"over_{f}") not in (None, "") else None for f in FAMILIES]
        total = sum(p for p in parts if p is not None)
        if not any(p is not None for p in parts):
            continue
        cells = " | ".join("—" if p is None else f"{p:,.0f} ({p / total:.0%})" if total else f"{p:,.0f}" for p in parts)
        lines.append(f"| {r['instance']} | {total:,.0f} | {cells} |")
    (RESULTS / "gap.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
