"""Where the gap lives: the root LP bound, the bound after HiGHS's root cuts, the best-known profit, and what
the LP relaxation promises beyond a good plan, cost family by cost family.

Run from the repository root::

    python -m benchmarks.gap                                # small seeds 1-5, shipped small and medium
    python -m benchmarks.gap --only small-s2 medium-s2      # named instances (shipped or SIZE-sSEED)
    python -m benchmarks.gap --plan-seconds 120 --root-seconds 600
    python -m benchmarks.gap --only small-s1 small-s2 --prove-seconds 120   # and the time to a proof

Per instance, in a fresh process (its own memory and HiGHS state), one thread, for two formulations side
by side — **previous** (without the uplift links of ``optsupply/model/links.py``) and **current**:

* **root LP**: the model with every integer relaxed, solved to optimality
  (dual simplex; the interior-point method from 20,000 columns on);
* **root cuts**: HiGHS's MIP stopped after the root node (``mip_max_nodes``
  = 1; 0 stops before it): its dual bound after presolve, cut rounds and root heuristics,
  within ``--root-seconds``;
* **proof** (``--prove-seconds``): HiGHS's MIP from scratch to a relative gap of 1e-4, within that time;
* **plan**: ``optsupply solve --method lns`` for ``--plan-seconds``: a good
  checked plan to compare against; the **best-known** profit is the better of
  its profit and ``results/best_known.csv``;
* **over-promise by family**: the LP solution's revenue, salvage and each cost
  family (the model's own cost expressions at the LP's values) against the
  plan's (its ``kpis.json``): what the LP earns more (revenue, salvage) or
  pays less (each cost) than the plan. Their sum is the LP bound minus the
  plan's profit, up to the piecewise-linear ad curves (the plan is valued on
  the true curves); and the bound the plan run reports, with its kind.

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


FORMULATIONS = ("previous", "current")  # without / with the uplift links of optsupply/model/links.py


def _bounds(sc, links: bool, spec: dict) -> tuple[dict, object]:  # noqa: ANN001 - (Scenario, ...) -> (row, model)
    """Root LP, root node and (with ``prove_seconds``) a proof run of one formulation of ``sc``."""
    import numpy as np

    from optsupply.model import build_model, prepare
    from optsupply.optimizer.highs import SolveOptions
    from optsupply.optimizer.highs.arrays import CompiledModel

    d = prepare(sc)
    d.uplift_links = links
    m, d = build_model(sc, d)
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
    h.clearSolver()  # the root node from scratch, not from the LP's basis
    h.setOptionValue("solver", "choose")
    t0 = time.perf_counter()
    out["root_bound"] = cm.mip_bound(float(spec["root_seconds"]), nodes=1)
    out["root_seconds"] = time.perf_counter() - t0
    out["root_finished"] = out["root_seconds"] < 0.99 * float(spec["root_seconds"])
    if spec.get("prove_seconds"):  # HiGHS's MIP to a relative gap of 1e-4 from scratch, one thread
        h.clearSolver()
        h.setOptionValue("mip_rel_gap", 1e-4)
        cm.set_integer(True)
        r = cm.run(float(spec["prove_seconds"]))
        out["prove_seconds"] = r.seconds
        out["proven"] = r.status == "optimal"
        out["prove_gap"] = None if r.objective is None or r.bound is None else (
            abs(r.bound - r.objective) / max(abs(r.objective), 1e-9))
        cm.set_integer(False)
        if found is not None:
            cm.load(found[1])
    return out, m


def child(spec: dict) -> dict:
    """One instance, in this process: both formulations' bounds, a plan, and the families of the LP and the plan."""
    import pyomo.environ as pyo

    import optsupply as ops
    from optsupply.model.objective import COSTS, term

    sc = ops.Scenario.load(spec["path"])
    out: dict = {}
    for name in FORMULATIONS:
        row, m = _bounds(sc, name == "current", spec)
        out[name] = row
        if name == "current" and row["lp_bound"] is not None:
            lp = {family: pyo.value(term(m, *where)) for family, where in COSTS.items()}
            lp["revenue"], lp["salvage"] = pyo.value(m.demand.revenue), pyo.value(m.inventory.salvage)
            out["lp_families"] = lp
        del m
    out.update({k: out["current"][k] for k in ("columns", "rows", "integers")})

    plan = ops.solve(sc, method="lns", time_limit=float(spec["plan_seconds"]), seed=0)
    k = plan.kpis
    out["plan_profit"], out["plan_bound"], out["plan_bound_kind"] = k.get("profit"), k.get("best_bound"), k.get("bound_kind")
    if k.get("profit") is not None:
        out["plan_families"] = {"revenue": k["revenue"], "salvage": k["salvage"], **k["costs"]}
    return out


def _run(path: Path, spec: dict) -> dict:
    return run_child("benchmarks.gap", {"path": str(path), **spec},
                     timeout=3 * (spec["root_seconds"] * 4 + 2 * (spec.get("prove_seconds") or 0)
                                  + spec["plan_seconds"]) + 600)


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
    ap.add_argument("--prove-seconds", type=float, default=0.0,
                    help="also run HiGHS's MIP to a 1e-4 gap on one thread, this long at most (default: no proof run)")
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
                                                      "root_seconds": args.root_seconds,
                                                      "prove_seconds": args.prove_seconds})
            known = best.get(name, {}).get("best_profit")
            candidates = [float(v) for v in (known, r.get("plan_profit")) if v not in (None, "")]
            top = max(candidates) if candidates else None
            rec = {"instance": name, "columns": r.get("columns"), "integers": r.get("integers"),
                   "best_known": top, "plan_profit": r.get("plan_profit"), "plan_bound": r.get("plan_bound"),
                   "plan_bound_kind": r.get("plan_bound_kind"), "plan_gap": _gap(r.get("plan_bound"), r.get("plan_profit")),
                   **{f"over_{f}": v for f, v in over_promise(r).items()},
                   "error": r.get("error", ""), "date": _dt.date.today().isoformat(),
                   "command": f"python -m benchmarks.gap --only {name} --plan-seconds {args.plan_seconds:g} "
                              f"--root-seconds {args.root_seconds:g}"
                              + (f" --prove-seconds {args.prove_seconds:g}" if args.prove_seconds else ""),
                   "machine": f"{os.cpu_count()} cores"}
            for form in FORMULATIONS:
                f = r.get(form) or {}
                rec.update({f"{form}_lp_bound": f.get("lp_bound"), f"{form}_lp_gap": _gap(f.get("lp_bound"), top),
                            f"{form}_lp_seconds": f.get("lp_seconds"), f"{form}_root_bound": f.get("root_bound"),
                            f"{form}_root_gap": _gap(f.get("root_bound"), top),
                            f"{form}_root_seconds": f.get("root_seconds"), f"{form}_root_finished": f.get("root_finished"),
                            f"{form}_prove_seconds": f.get("prove_seconds"), f"{form}_proven": f.get("proven"),
                            f"{form}_prove_gap": f.get("prove_gap")})
            rows.append(rec)
            current = r.get("current") or {}
            bounds = [b for b in (current.get("root_bound"), r.get("plan_bound"), current.get("lp_bound")) if b is not None]
            if "error" not in r:  # a better plan or a tighter (valid) bound is the new best-known
                update_best(best, name, {"profit": r.get("plan_profit"), "bound": min(bounds) if bounds else None},
                            rec["command"])
            print(json.dumps({k: v for k, v in rec.items() if not k.startswith("over_")}), file=sys.stderr, flush=True)
    write_best(best)
    write(rows)
    return 0


PER_FORM = ("lp_bound", "lp_gap", "lp_seconds", "root_bound", "root_gap", "root_seconds", "root_finished",
            "prove_seconds", "proven", "prove_gap")


def write(rows: list[dict]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "gap.csv"
    fields = ["instance", "columns", "integers", *(f"{form}_{k}" for form in FORMULATIONS for k in PER_FORM),
              "best_known", "plan_profit", "plan_bound", "plan_bound_kind", "plan_gap",
              *(f"over_{f}" for f in FAMILIES), "error", "date", "command", "machine"]
    old = []
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            names = {r["instance"] for r in rows}
            old = [r for r in csv.DictReader(f) if r["instance"] not in names and "current_lp_bound" in r]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(old + rows)

    def num(v: object, spec: str = ",.0f") -> str:
        return "—" if v in (None, "") else format(float(v), spec)

    def pair(r: dict, key: str, spec: str) -> str:
        return " → ".join(num(r.get(f"{form}_{key}"), spec) for form in FORMULATIONS)

    def proof(r: dict, form: str) -> str:
        if r.get(f"{form}_prove_seconds") in (None, ""):
            return "—"
        if r.get(f"{form}_proven") == "True":
            return f"{float(r[f'{form}_prove_seconds']):.0f} s"
        return f"> {float(r[f'{form}_prove_seconds']):.0f} s ({num(r.get(f'{form}_prove_gap'), '.2%')})"

    lines = ["# Where the gap lives (`python -m benchmarks.gap`)", "",
             "Bounds against the best-known profit (the better of `best_known.csv` and this run's `lns` plan), "
             "side by side in one run: **previous** = the model without the uplift links, **current** = with "
             "them (`optsupply/model/links.py`). One thread, 2-core machine. *Root cuts*: HiGHS's dual bound "
             "after its root node (presolve, cut rounds, root heuristics; `*` = the root node was not finished "
             "in the time allowed). *Proof*: HiGHS's MIP from scratch to a relative gap of 1e-4 on one thread "
             "(`> T s (gap)`: not proven in T s).", "",
             "| instance | columns | LP gap | LP s | root-cuts gap | root s | proof | best-known |",
             "|---|---|---|---|---|---|---|---|"]
    with open(path, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    for r in table:
        star = "" if r.get("current_root_finished") in ("True", "") else "*"
        lines.append(f"| {r['instance']} | {num(r['columns'])} | {pair(r, 'lp_gap', '.1%')} | "
                     f"{pair(r, 'lp_seconds', '.1f')} | {pair(r, 'root_gap', '.1%')}{star} | "
                     f"{pair(r, 'root_seconds', '.1f')} | {proof(r, 'previous')} → {proof(r, 'current')} | "
                     f"{num(r['best_known'])} |")
    lines += ["", "What `optsupply solve --method lns` reports after the plan run (its own bound, from the "
              "process beside the search):", "", "| instance | plan | bound | kind | reported gap |", "|---|---|---|---|---|"]
    for r in table:
        lines.append(f"| {r['instance']} | {num(r.get('plan_profit'))} | {num(r.get('plan_bound'))} | "
                     f"{r.get('plan_bound_kind') or '—'} | {num(r.get('plan_gap'), '.2%')} |")
    lines += ["", "What the current root LP promises beyond the `lns` plan, per family (LP revenue and salvage "
              "minus the plan's; the plan's cost minus the LP's), as a share of the LP's total over-promise:", "",
              "| instance | over-promise | " + " | ".join(FAMILIES) + " |", "|---|---|" + "---|" * len(FAMILIES)]
    for r in table:
        parts = [float(r[f"over_{f}"]) if r.get(f"over_{f}") not in (None, "") else None for f in FAMILIES]
        total = sum(p for p in parts if p is not None)
        if not any(p is not None for p in parts):
            continue
        cells = " | ".join("—" if p is None else f"{p:,.0f} ({p / total:.0%})" if total else f"{p:,.0f}" for p in parts)
        lines.append(f"| {r['instance']} | {total:,.0f} | {cells} |")
    notes = RESULTS / "gap_notes.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    (RESULTS / "gap.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
