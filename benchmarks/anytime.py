"""Anytime planning at scale: when the first checked plan arrives and how good the plan is at 10, 60 and 300 s.

Run from the repository root::

    python -m benchmarks.anytime                         # shipped medium, small seeds 1-5, medium seeds 1-3
    python -m benchmarks.anytime --only medium --seconds 300 --methods lns,mip
    python -m benchmarks.anytime --only large --seconds 600
    python -m benchmarks.anytime --only medium --seconds 3600 --methods lns   # a long run for best_known.csv

Instances: the shipped ``small``, ``medium``, ``large`` and generated ones
(``small-s3`` = ``generate("small", 3)``). Each (instance, method) runs in a
fresh Python process (``--child``), so its peak memory (``ru_maxrss`` of the
process and of its own children, the second process included) and CPU
seconds are its own; the methods of one instance run one after another in
the same invocation (side by side, same machine, same load).

Every plan the run hands out (``on_plan``: checked plans only) is recorded
with its time, so one run of S seconds gives the profit at every time up to
S. Profits are reported as a fraction of the best-known profit
(``benchmarks/results/best_known.csv``: the best profit any recorded run has
found, with the command that found it) and of the run's own bound.

Results go to ``benchmarks/results/anytime.csv`` and ``anytime.md``; a run
that beats a best-known profit (or finds a tighter bound) updates
``best_known.csv`` with its command.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BEST = RESULTS / "best_known.csv"
DEFAULT = ["medium", "small-s1", "small-s2", "small-s3", "small-s4", "small-s5", "medium-s1", "medium-s2", "medium-s3"]
MARKS = (10.0, 60.0, 300.0)
CENT = 0.005  # best_known.csv holds profits and bounds rounded to cents: closer ones are the same
BEST_COLUMNS = ["instance", "best_profit", "profit_command", "profit_date", "best_bound", "bound_command",
                "bound_date"]


def instance_path(name: str, tmp: Path) -> Path:
    """The folder of ``name``: shipped (``medium``) or generated (``medium-s2``)."""
    if "-s" not in name:
        return ROOT / "instances" / name
    size, seed = name.split("-s")
    path = tmp / name
    if not path.exists():
        from optsupply.scenario.generate import generate

        generate(size, int(seed)).save(path)
    return path


def child(spec: dict) -> dict:
    """One run, in this process: ``ops.solve`` with every handed-out plan timed (with ``setup``: a what-if
    session planned first for ``setup`` seconds, then ``change`` re-planned from its plan and timed)."""
    import optsupply as ops

    if spec.get("setup"):
        return _whatif_child(spec)
    t0 = time.perf_counter()
    seen: list[tuple[float, float]] = []
    sc = ops.Scenario.load(spec["path"])
    if spec.get("change"):
        sc = sc.with_changes(spec["change"])
    kwargs = {"method": spec["method"], "time_limit": spec["seconds"], "seed": 0}
    if spec["method"] == "lns":
        kwargs["on_plan"] = lambda p: seen.append((time.perf_counter() - t0, p.kpis["profit"]))
    if spec["method"] == "mip":
        kwargs["threads"] = 2
    plan = ops.solve(sc, **kwargs)
    wall = time.perf_counter() - t0
    k = plan.kpis
    if k.get("profit") is not None:
        seen.append((wall, k["profit"]))
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"trajectory": seen, "status": k.get("status"), "profit": k.get("profit"), "bound": k.get("best_bound"),
            "gap": k.get("mip_gap"), "bound_kind": k.get("bound_kind"), "method": k.get("method"),
            "found_by": k.get("found_by"),
            "neighbourhoods": k.get("neighbourhoods"), "worker": k.get("worker"), "wall_s": wall,
            "cpu_s": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
            "peak_mb": max(own.ru_maxrss, kids.ru_maxrss) / 1024}


def _whatif_child(spec: dict) -> dict:
    import optsupply as ops
    from optsupply.analysis.whatif import WhatIf

    session = WhatIf(ops.Scenario.load(spec["path"]), method="lns", time_limit=spec["setup"], seed=0)
    session.solve()
    session._options["time_limit"] = spec["seconds"]
    seen: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    plan = session.solve(spec["change"], on_plan=lambda p: seen.append((time.perf_counter() - t0, p.kpis["profit"])))
    wall = time.perf_counter() - t0
    seen.append((wall, plan.kpis["profit"]))
    return {"trajectory": seen, "status": plan.kpis["status"], "profit": plan.kpis["profit"],
            "bound": plan.kpis.get("best_bound"), "wall_s": wall, "update": str(session.last_update)}


def run_child(module: str, spec: dict, timeout: float) -> dict:
    """``python -m module --child SPEC`` in a fresh process: the JSON it prints last, or {"error": ...}."""
    proc = subprocess.run([sys.executable, "-m", module, "--child", json.dumps(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _run(path: Path, method: str, seconds: float, **extra: object) -> dict:
    return run_child("benchmarks.anytime", {"path": str(path), "method": method, "seconds": seconds, **extra},
                     timeout=seconds * 3 + 600)


def at(trajectory: list, when: float) -> float | None:
    """The best checked profit handed out by ``when`` seconds."""
    got = [p for t, p in trajectory if t <= when]
    return max(got) if got else None


def read_best() -> dict[str, dict]:
    if not BEST.exists():
        return {}
    with open(BEST, newline="", encoding="utf-8") as f:
        return {row["instance"]: row for row in csv.DictReader(f)}


def write_best(best: dict[str, dict]) -> None:
    with open(BEST, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=BEST_COLUMNS, lineterminator="\n")
        w.writeheader()
        for name in sorted(best):
            w.writerow({k: best[name].get(k, "") for k in BEST_COLUMNS})


def update_best(best: dict, name: str, r: dict, command: str) -> None:
    row = best.setdefault(name, {"instance": name})
    today = _dt.date.today().isoformat()
    old = float(row["best_profit"]) if row.get("best_profit") else None
    if r.get("profit") is not None and (old is None or r["profit"] > old + CENT):  # the file holds cents
        row.update(best_profit=f"{r['profit']:.2f}", profit_command=command, profit_date=today)
    oldb = float(row["best_bound"]) if row.get("best_bound") else None
    if r.get("bound") is not None and (oldb is None or r["bound"] < oldb - CENT):
        row.update(best_bound=f"{r['bound']:.2f}", bound_command=command, bound_date=today)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="instances (shipped names or SIZE-sSEED)")
    ap.add_argument("--seconds", type=float, default=300.0, help="time limit of each run (default 300)")
    ap.add_argument("--methods", default="lns", help="comma-separated methods, side by side (default lns)")
    ap.add_argument("--whatif", action="store_true",
                    help="what-if: a price and a budget change re-planned from the previous plan against a cold "
                         "run of the changed scenario (time to the cold run's final quality)")
    ap.add_argument("--executor", action="store_true",
                    help="disjoint product groups on a Dask LocalCluster with 1 and with 2 workers (same limit)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    if args.whatif:
        return whatif_main(args.only or ["medium"], args.seconds)
    if args.executor:
        return executor_main(args.only or ["medium"], args.seconds)
    names = args.only or DEFAULT
    methods = args.methods.split(",")
    best = read_best()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = instance_path(name, Path(tmp))
            for method in methods:
                print(f"{name} {method} {args.seconds:g} s ...", file=sys.stderr, flush=True)
                r = _run(path, method, args.seconds)
                command = (f"python -m benchmarks.anytime --only {name} --seconds {args.seconds:g} "
                           f"--methods {method}")
                if "error" not in r:
                    update_best(best, name, r, command)
                rows.append((name, method, r))
    write_best(best)
    _write(rows, best, args.seconds)
    return 0


def _reach(trajectory: list, target: float) -> float | None:
    """Seconds until a handed-out plan earned at least ``target``."""
    return next((t for t, p in trajectory if p >= target - 1e-9 * max(1.0, abs(target))), None)


def whatif_main(names: list[str], seconds: float) -> int:
    """Cold run of the changed scenario against the what-if re-plan (same limit), per change."""
    import optsupply as ops
    from benchmarks.whatif import _changes

    lines = ["# What-if with the anytime search (`python -m benchmarks.anytime --whatif`)", "",
             "Per change: a cold `lns` run of the changed scenario and a `WhatIf` session's re-plan from its "
             f"previous plan (the session planned {seconds:g} s first), each with {seconds:g} s. *Time to cold "
             "quality*: when each first handed out a checked plan at least as good as the cold run's final "
             "plan (everything after the change counted: load, build, polish, search).", "",
             "| instance | change | cold final | cold reached it at | what-if final | what-if reached it at | "
             "speed-up |", "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = instance_path(name, Path(tmp))
            sc = ops.Scenario.load(path)
            for label, change in _changes(sc, ops.solve(sc, method="lns", time_limit=seconds)).items():
                print(f"{name}: {label}", file=sys.stderr, flush=True)
                cold = _run(path, "lns", seconds, change=change)
                warm = _run(path, "lns", seconds, change=change, setup=seconds)
                if "error" in cold or "error" in warm:
                    lines.append(f"| {name} | {label} | error: {cold.get('error') or warm.get('error')} |")
                    continue
                target = cold["profit"]
                tc, tw = _reach(cold["trajectory"], target), _reach(warm["trajectory"], target)
                ratio = f"{tc / tw:.1f}x" if tc and tw else "—"
                lines.append(f"| {name} | {label} | {target:,.0f} | {_fmt(tc, '.1f')} s | {warm['profit']:,.0f} | "
                             f"{(_fmt(tw, '.1f') + ' s') if tw else 'not reached'} | {ratio} |")
    (RESULTS / "anytime_whatif.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


def executor_main(names: list[str], seconds: float) -> int:
    """The executor path on a Dask LocalCluster: 1 worker against 2 (one thread each), same time limit."""
    import optsupply as ops
    from dask.distributed import Client, LocalCluster

    lines = ["# Product groups on an executor (`python -m benchmarks.anytime --executor`)", "",
             f"`ops.solve(..., method=\"lns\", executor=client.get_executor(), batch=workers)` on a Dask "
             f"LocalCluster (processes, one thread per worker), {seconds:g} s each, side by side.", "",
             "| instance | workers | start | final | group MIPs | batches kept | wall s |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            sc = ops.Scenario.load(instance_path(name, Path(tmp)))
            for workers in (1, 2):
                with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, Client(cluster) as client:
                    t0 = time.perf_counter()
                    plan = ops.solve(sc, method="lns", executor=client.get_executor(), batch=workers,
                                     time_limit=seconds)
                    wall = time.perf_counter() - t0
                k = plan.kpis
                lines.append(f"| {name} | {workers} | {k['start_profit']:,.0f} | {k['profit']:,.0f} | {k['tasks']} | "
                             f"{k['batches_kept']} | {wall:.0f} |")
                print(lines[-1], file=sys.stderr, flush=True)
    (RESULTS / "anytime_executor.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


def _fmt(v: float | None, spec: str = ",.0f") -> str:
    return "" if v is None else format(v, spec)


def _write(rows: list, best: dict, seconds: float) -> None:
    out = []
    for name, method, r in rows:
        known = float(best[name]["best_profit"]) if best.get(name, {}).get("best_profit") else None
        traj = r.get("trajectory", [])
        first = traj[0][0] if traj else None
        rec = {"instance": name, "method": method, "time_limit_s": seconds, "first_plan_s": first,
               **{f"profit_{int(m)}s": at(traj, m) for m in MARKS}, "profit": r.get("profit"),
               "bound": r.get("bound"), "gap": r.get("gap"), "bound_kind": r.get("bound_kind"), "best_known": known,
               "of_best_known": (r["profit"] / known) if known and r.get("profit") is not None else None,
               "of_bound": (r["profit"] / r["bound"]) if r.get("bound") and r.get("profit") is not None else None,
               "status": r.get("status", r.get("error")), "found_by": r.get("found_by"),
               "wall_s": r.get("wall_s"), "cpu_s": r.get("cpu_s"), "peak_mb": r.get("peak_mb"),
               "date": _dt.date.today().isoformat(), "machine": f"{os.cpu_count()} cores"}
        out.append(rec)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "anytime.csv"
    old = []
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            old = [row for row in csv.DictReader(f)
                   if (row["instance"], row["method"], float(row["time_limit_s"])) not in
                   {(o["instance"], o["method"], float(o["time_limit_s"])) for o in out}]
    for row in old:  # against the best-known profit as it stands now
        known = best.get(row["instance"], {}).get("best_profit")
        row["best_known"] = known or ""
        row["of_best_known"] = (float(row["profit"]) / float(known)) if known and row.get("profit") else ""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(out[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(old + out)
    lines = ["# Anytime planning (`python -m benchmarks.anytime`)", "",
             "Profit of the best checked plan handed out by each time, as a fraction of the best-known profit "
             "(`best_known.csv`) and of the run's own bound. One row per run; 2-core machine, shared.", "",
             "| instance | method | limit | first plan | at 10 s | at 60 s | at 300 s | final | of best-known | "
             "bound | of bound | peak MB |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            def num(k: str, spec: str = ",.0f") -> str:
                return _fmt(float(row[k]), spec) if row.get(k) else "—"
            lines.append(f"| {row['instance']} | {row['method']} | {num('time_limit_s', '.0f')} s | "
                         f"{num('first_plan_s', '.1f')} s | {num('profit_10s')} | {num('profit_60s')} | "
                         f"{num('profit_300s')} | {num('profit')} | {num('of_best_known', '.2%')} | {num('bound')}"
                         f"{' (' + row['bound_kind'] + ')' if row.get('bound_kind') else ''} | "
                         f"{num('of_bound', '.2%')} | {num('peak_mb')} |")
    (RESULTS / "anytime.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
