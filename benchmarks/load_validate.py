"""Time loading + validating a scenario (``Scenario.load``) in fresh interpreters.

Run from the repository root::

    python -m benchmarks.load_validate                      # instances/large, 3 runs
    python -m benchmarks.load_validate --runs 5 --instance instances/medium

Each run is a new Python process (nothing cached between runs). The child
imports optsupply, then times ``Scenario.load`` (reading, typing and every
validation check) with a wall clock and a CPU clock, and reports its peak
resident memory from ``resource.getrusage``. The parent prints the minimum
and median over the runs and writes them, with a description of the
machine, to ``benchmarks/results/load_validate.md``.

The budget is 3 s and 1 GB for ``instances/large``; the exit code is 1
when the median load time or the peak memory is over it. On a shared
machine the wall time also includes waiting for a core; the CPU time does
not, so both are reported.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

from optsupply.bench.machine import machine  # noqa: E402
DEFAULT_INSTANCE = "instances/large"
DEFAULT_OUT = "benchmarks/results/load_validate.md"
BUDGET_SECONDS = 3.0
BUDGET_RSS_MB = 1024.0


# --------------------------------------------------------------------------- child


def _child(path: str) -> dict[str, Any]:
    """Measure one load in this (fresh) process."""
    import resource

    w0 = time.perf_counter()
    import optsupply  # imported here: the import is timed on purpose
    from optsupply import Scenario

    w1, c1 = time.perf_counter(), time.process_time()
    scenario = Scenario.load(path)
    w2, c2 = time.perf_counter(), time.process_time()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb = usage.ru_maxrss / (1024.0 * 1024.0) if sys.platform == "darwin" else usage.ru_maxrss / 1024.0
    return {
        "import_seconds": w1 - w0,
        "load_seconds": w2 - w1,
        "load_cpu_seconds": c2 - c1,
        "peak_rss_mb": rss_mb,
        "warnings": len(scenario.warnings),
        "rows": {name: len(df) for name, df in scenario.tables()},
        "optsupply": str(Path(optsupply.__file__).parent),
    }


# --------------------------------------------------------------------------- machine and instance


def _folder_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file()) / 1e6


# --------------------------------------------------------------------------- parent


def run(instance: str, runs: int, source: str | None = None) -> list[dict[str, Any]]:
    """``runs`` measurements, each in a fresh interpreter.

    With ``source``, optsupply is imported from that folder (for example an
    unpacked ``git archive`` of another revision) instead of the installed one.
    """
    env = dict(os.environ)
    if source:
        paths = [str(Path(source).resolve())] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        env["PYTHONPATH"] = os.pathsep.join(paths)
    results = []
    for i in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", instance],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"run {i + 1} failed:\n{proc.stderr}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["process_seconds"] = time.perf_counter() - start
        results.append(result)
        print(f"run {i + 1}/{runs}: load {result['load_seconds']:.2f} s (cpu {result['load_cpu_seconds']:.2f} s), "
              f"peak RSS {result['peak_rss_mb']:.0f} MB, whole process {result['process_seconds']:.2f} s")
    return results


def report(instance: str, results: list[dict[str, Any]], machine_info: dict[str, str], command: str) -> str:
    """The Markdown results file."""
    def stat(key: str) -> tuple[float, float, float]:
        xs = [r[key] for r in results]
        return min(xs), statistics.median(xs), max(xs)

    load, cpu, rss = stat("load_seconds"), stat("load_cpu_seconds"), stat("peak_rss_mb")
    imp, proc = stat("import_seconds"), stat("process_seconds")
    ok_time, ok_rss = load[1] <= BUDGET_SECONDS, rss[2] <= BUDGET_RSS_MB
    rows = results[0]["rows"]
    path = ROOT / instance
    lines = [
        "# Load + validate benchmark",
        "",
        f"`Scenario.load(\"{instance}\")` (read, type and validate every table), timed in "
        f"{len(results)} fresh Python process{'es' if len(results) != 1 else ''}.",
        "",
        "Command (from the repository root):",
        "",
        "```",
        command,
        "```",
        "",
        f"Measured on {_dt.date.today().isoformat()}.",
        "",
        "## Result",
        "",
        "| measure | min | median | max | budget |",
        "|---|---|---|---|---|",
        f"| load + validate, wall (s) | {load[0]:.2f} | {load[1]:.2f} | {load[2]:.2f} "
        f"| ≤ {BUDGET_SECONDS:g} (median) {'✓' if ok_time else '✗'} |",
        f"| load + validate, CPU (s) | {cpu[0]:.2f} | {cpu[1]:.2f} | {cpu[2]:.2f} | |",
        f"| peak RSS of the process (MB) | {rss[0]:.0f} | {rss[1]:.0f} | {rss[2]:.0f} | ≤ {BUDGET_RSS_MB:g} "
        f"{'✓' if ok_rss else '✗'} |",
        f"| `import optsupply` (s) | {imp[0]:.2f} | {imp[1]:.2f} | {imp[2]:.2f} | |",
        f"| whole process, start to exit (s) | {proc[0]:.2f} | {proc[1]:.2f} | {proc[2]:.2f} | |",
        "",
        "Wall time includes waiting for a core when other work runs on the machine; CPU time does not.",
        "",
        "## Instance",
        "",
        f"`{instance}`: {_folder_size_mb(path):.1f} MB of CSV, "
        f"{sum(rows.values()):,} rows in {sum(1 for n in rows.values() if n)} tables "
        f"({results[0]['warnings']} warnings).",
        "",
        "| table | rows |",
        "|---|---|",
    ]
    lines += [f"| {name} | {n:,} |" for name, n in rows.items() if n]
    lines += ["", "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine_info.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_validate", description=__doc__.split("\n")[0])
    parser.add_argument("--instance", default=DEFAULT_INSTANCE, help=f"scenario to load (default {DEFAULT_INSTANCE})")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes to time (default 3)")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"Markdown results file (default {DEFAULT_OUT})")
    parser.add_argument("--source", metavar="DIR",
                        help="import optsupply from DIR (e.g. a git archive of another revision) instead")
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child)))
        return 0
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    command = "python -m benchmarks.load_validate" + "".join(
        f" {flag} {shlex.quote(str(value))}" for flag, value, default in
        (("--instance", args.instance, DEFAULT_INSTANCE), ("--runs", args.runs, 3), ("--out", args.out, DEFAULT_OUT),
         ("--source", args.source, None))
        if value != default)
    machine_info = machine()
    results = run(args.instance, args.runs, args.source)
    where = Path(results[0]["optsupply"])
    machine_info["optsupply imported from"] = str(where.relative_to(ROOT) if where.is_relative_to(ROOT) else where)
    if args.source:
        machine_info["optsupply revision"] = f"from {args.source}"
    text = report(args.instance, results, machine_info, command)
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    load = statistics.median(r["load_seconds"] for r in results)
    rss = max(r["peak_rss_mb"] for r in results)
    print(f"median load + validate {load:.2f} s, peak RSS {rss:.0f} MB -> {args.out}")
    return 0 if load <= BUDGET_SECONDS and rss <= BUDGET_RSS_MB else 1


if __name__ == "__main__":
    sys.exit(main())
