"""Sweep benchmark: 16 what-if variants of instances/small on 2 worker processes vs one after another.

Run from the repository root::

    python -m benchmarks.sweep                      # about 4 minutes on 2 cores
    python -m benchmarks.sweep --workers 2 --nodes 1 --wait-idle 1800

The variants are a 4 × 4 grid: every product's price ×0.9, ×0.95, ×1.05, ×1.1
times an advertising budget of 2,500, 5,000, 7,500, 10,000.

Every variant does a fixed, deterministic amount of work: HiGHS with
``threads=1``, seed 0, gap 0 and ``mip_max_nodes`` (default 1: the root node
with its cuts and heuristics), plus a 600 s safety time limit that never
binds. A variant therefore finds the same incumbent and bound in both modes
(the script checks this), and the wall-clock ratio measures throughput. A
plain time limit would not: every solve would last T seconds of wall clock
in both modes whatever CPU it got, and show a 2× "speed-up" even on one free
core.

Modes, in the same run and the same process, in this order:

* ``serial``: ``optsupply.solve`` of each variant in this process, one after another;
* ``sweep``: ``optsupply.sweep(..., workers=N)``, its process pool started inside the timing.

Wall seconds, CPU seconds (this process, plus the workers' per-variant CPU for
the sweep) and the load average are recorded, since the machine may be shared.
Results go to ``benchmarks/results/sweep.md`` and ``sweep.csv``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import itertools
import os
import platform
import time
from pathlib import Path

import optsupply as ops
from optsupply.analysis.sweep import sweep
from optsupply.scenario.changes import Variant

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PRICES = ("*0.9", "*0.95", "*1.05", "*1.1")
BUDGETS = (2500, 5000, 7500, 10000)


def busy_cpu() -> float | None:
    """CPU seconds all processes of the machine have used so far (None without psutil)."""
    try:
        import psutil
    except ImportError:
        return None
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0) + getattr(t, "steal", 0.0)


def others(busy0: float | None, busy1: float | None, ours: float) -> float | None:
    """CPU seconds other processes used in a phase (machine busy time minus ours)."""
    return None if busy0 is None or busy1 is None else max(0.0, busy1 - busy0 - ours)


def wait_until_idle(max_wait: float, window: float = 5.0, threshold: float = 0.15) -> float:
    """Wait (at most ``max_wait`` s) until other processes use < ``threshold`` cores over ``window`` s.

    On a shared machine with scheduler autogroups, one busy process of another session takes a whole
    core from the sweep's workers whatever their number, so a speed-up measured then says nothing
    about the sweep. Returns the seconds waited.
    """
    start = time.perf_counter()
    while busy_cpu() is not None and time.perf_counter() - start < max_wait:
        b0 = busy_cpu()
        time.sleep(window)
        if (busy_cpu() - b0) / window < threshold:
            break
    return time.perf_counter() - start


def variants() -> list[Variant]:
    return [Variant(f"price{p} budget{b}", {"products.price": p, "advertising.total_budget": b})
            for p, b in itertools.product(PRICES, BUDGETS)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--nodes", type=int, default=1, help="HiGHS mip_max_nodes per solve (fixed work)")
    ap.add_argument("--instance", default=str(ROOT / "instances" / "small"))
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                    help="first wait up to S seconds for the machine to be idle (other processes < 0.15 cores)")
    args = ap.parse_args(argv)
    if args.wait_idle > 0:
        print(f"waited {wait_until_idle(args.wait_idle):.0f} s for an idle machine", flush=True)
    options = {"threads": 1, "seed": 0, "mip_gap": 0.0, "time_limit": 600.0,
               "highs_options": {"mip_max_nodes": args.nodes}}
    sc = ops.Scenario.load(args.instance)
    vs = variants()
    load0 = os.getloadavg()

    # serial: one after another in this process
    serial = []
    busy0 = busy_cpu()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for v in vs:
        w, c = time.perf_counter(), time.process_time()
        plan = ops.solve(sc.with_changes(v.changes), **options)
        k = plan.kpis
        serial.append({"name": v.name, "status": k["status"], "profit": k["profit"], "best_bound": k["best_bound"],
                       "wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c})
        print(f"serial {v.name}: {k['status']} {k['profit']:.2f} {serial[-1]['wall_s']:.1f} s", flush=True)
    serial_wall, serial_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    busy1 = busy_cpu()
    load1 = os.getloadavg()

    # sweep: worker processes
    wall0, cpu0 = time.perf_counter(), time.process_time()
    table = sweep(sc, vs, workers=args.workers, progress=True, **options)
    sweep_wall, parent_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    busy2 = busy_cpu()
    load2 = os.getloadavg()
    worker_cpu = float(table["cpu_seconds"].sum())
    other_serial = others(busy0, busy1, serial_cpu)
    other_sweep = others(busy1, busy2, parent_cpu + worker_cpu)

    same = all(r["status"] == t.status and abs(r["profit"] - t.profit) <= 1e-6 * max(1, abs(r["profit"]))
               and abs(r["best_bound"] - t.best_bound) <= 1e-6 * max(1, abs(r["best_bound"]))
               for r, t in zip(serial, table.itertuples()))
    hit_limit = any(r["wall_s"] >= options["time_limit"] for r in serial)
    speedup = serial_wall / sweep_wall

    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "sweep.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["variant", "mode", "status", "profit", "best_bound", "wall_s", "cpu_s"])
        for r in serial:
            w.writerow([r["name"], "serial", r["status"], r["profit"], r["best_bound"], round(r["wall_s"], 3),
                        round(r["cpu_s"], 3)])
        for t in table.itertuples():
            w.writerow([t.name, f"sweep {args.workers} workers", t.status, t.profit, t.best_bound, "", t.cpu_seconds])
        w.writerow(["(total)", "serial", "", "", "", round(serial_wall, 3), round(serial_cpu, 3)])
        w.writerow(["(total)", f"sweep {args.workers} workers", "", "", "", round(sweep_wall, 3),
                    round(parent_cpu + worker_cpu, 3)])

    per = [r["cpu_s"] for r in serial]
    md = [
        "# Sweep benchmark",
        "",
        f"`python -m benchmarks.sweep`, {_dt.date.today().isoformat()}, {platform.machine()}, "
        f"{os.cpu_count()} cores (shared with other work), Python {platform.python_version()}.",
        "",
        f"16 variants of `{Path(args.instance).relative_to(ROOT) if Path(args.instance).is_relative_to(ROOT) else args.instance}`"
        f" (every price {', '.join(PRICES)} × advertising budget {', '.join(map(str, BUDGETS))}). "
        f"Fixed, deterministic work per variant: HiGHS threads = 1, seed 0, gap 0, "
        f"`mip_max_nodes = {args.nodes}`, safety time limit {options['time_limit']:.0f} s "
        f"({'REACHED: the comparison is not valid' if hit_limit else 'never reached'}).",
        "",
        "| mode | wall s | CPU s | CPU s per variant | CPU s of other processes meanwhile (cores they took) "
        "| load average (1 min) before → after |",
        "|---|---|---|---|---|---|",
        f"| serial (one after another, this process) | {serial_wall:.1f} | {serial_cpu:.1f} | "
        f"{min(per):.1f}–{max(per):.1f} | {_other(other_serial, serial_wall)} | {load0[0]:.2f} → {load1[0]:.2f} |",
        f"| `sweep(workers={args.workers})` (forkserver pool, start-up included) | {sweep_wall:.1f} | "
        f"{parent_cpu + worker_cpu:.1f} (workers {worker_cpu:.1f} + this process {parent_cpu:.1f}) | "
        f"{table['cpu_seconds'].min():.1f}–{table['cpu_seconds'].max():.1f} | {_other(other_sweep, sweep_wall)} | "
        f"{load1[0]:.2f} → {load2[0]:.2f} |",
        "",
        f"**Speed-up: {speedup:.2f}×** wall clock (goal ≥ 1.6×: {'met' if speedup >= 1.6 else 'not met'}). "
        f"Same incumbent, bound and status for every variant in both modes: {'yes' if same else 'NO'}. "
        f"CPU per variant in the sweep vs serial: {worker_cpu / serial_cpu:.2f}× "
        "(above 1 when the two workers compete with each other and with other work for the 2 cores). "
        f"The sweep did {worker_cpu / sweep_wall:.2f} CPU-seconds of solving per wall second (serial: "
        f"{serial_cpu / serial_wall:.2f}); judged by the workers' CPU alone, i.e. had the serial run needed "
        f"the same CPU per variant, the speed-up would be {worker_cpu / sweep_wall / (serial_cpu / serial_wall):.2f}×. "
        "Other processes taking c of the machine's cores during a phase leave the sweep's workers at most "
        "cores − c (see the table).",
        "",
        *([f"**Not representative:** other processes took {other_sweep / sweep_wall:.2f} cores during the sweep. "
           "The kernel shares CPU per session (sched_autogroup), so one busy process of another session takes a "
           "whole core from the workers whatever their number; the speed-up then measures the machine, not the "
           "sweep. Rerun with `--wait-idle 1800` when the machine is quiet.", ""]
          if other_sweep is not None and other_sweep / sweep_wall > 0.3 else []),
        "Per-variant results: `sweep.csv`.",
    ]
    (RESULTS / "sweep.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


def _other(cpu: float | None, wall: float) -> str:
    return "–" if cpu is None else f"{cpu:.1f} ({cpu / wall:.2f})"


if __name__ == "__main__":
    main()
