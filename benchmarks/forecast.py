"""Forecast quality and speed: backtests on `medium`, the whole forecast of `large`.

Run from the repository root::

    python -m benchmarks.forecast            # medium + large
    python -m benchmarks.forecast --only medium

Measures, for each instance, the backtests of :func:`optsupply.forecast`
(cold-start WAPE against the category-mean launch curve, active-product
WAPE against seasonal-naive) and the wall / CPU time of every step, and
writes ``benchmarks/results/forecast.md`` and ``forecast.csv``.

Goals: on `medium`, cold-start WAPE at least 15 % below the category-mean
baseline and active-product WAPE below seasonal-naive; the whole forecast of
`large` in at most 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import resource
import time
from pathlib import Path

import pandas as pd

import optsupply as ops

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def measure(name: str) -> tuple[dict, pd.DataFrame]:
    sc = ops.Scenario.load(ROOT / "instances" / name)
    w0, c0 = time.perf_counter(), time.process_time()
    fc = ops.forecast(sc)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    s = fc.backtest_summary.set_index(["test", "method"])
    row = {"instance": name, "history_rows": len(sc.history), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
    row.update({f"{k}_s": round(v, 2) for k, v in fc.timings.items()})
    for test, base in (("cold_start", "category_mean"), ("rolling_origin", None)):
        if test not in s.index.get_level_values(0):
            continue
        sub = s.loc[test]
        base = base or next(m for m in sub.index if m != "optsupply")
        row[f"{test}_cells"] = int(sub.loc["optsupply", "cells"])
        row[f"{test}_wape"] = round(float(sub.loc["optsupply", "wape"]), 4)
        row[f"{test}_{base}_wape"] = round(float(sub.loc[base, "wape"]), 4)
        row[f"{test}_bias"] = round(float(sub.loc["optsupply", "bias"]), 4)
        row[f"{test}_reduction"] = round(1 - float(sub.loc["optsupply", "wape"]) / float(sub.loc[base, "wape"]), 4)
    return row, fc.backtest_summary.assign(instance=name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["small", "medium", "large"], action="append")
    args = ap.parse_args(argv)
    rows, summaries = [], []
    for name in args.only or ["medium", "large"]:
        row, summary = measure(name)
        print(row, flush=True)
        rows.append(row)
        summaries.append(summary)
    RESULTS.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df.to_csv(RESULTS / "forecast.csv", index=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = pd.concat(summaries, ignore_index=True)[["instance", "test", "method", "cells", "wape", "bias"]]
    lines = [
        "# Forecast benchmark", "",
        f"`python -m benchmarks.forecast`, {_dt.date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.", "",
        "## Backtests (WAPE = Σ|forecast − actual| / Σ actual; bias = Σ(forecast − actual) / Σ actual)", "",
        "| instance | test | method | cells | WAPE | bias |", "|---|---|---|---:|---:|---:|",
    ]
    for r in summary.itertuples():
        lines.append(f"| {r.instance} | {r.test} | {r.method} | {r.cells:,} | {r.wape:.1%} | {r.bias:+.1%} |")
    lines += ["", "## Time per step (wall seconds) and in all", "",
              "| instance | history rows | " + " | ".join(c for c in df.columns if c.endswith("_s")) + " |",
              "|---|---:|" + "---:|" * sum(c.endswith("_s") for c in df.columns)]
    for r in rows:
        lines.append(f"| {r['instance']} | {r['history_rows']:,} | "
                     + " | ".join(f"{r[c]:.2f}" for c in df.columns if c.endswith("_s")) + " |")
    lines += ["", f"Peak RSS of the benchmark process: {peak:.0f} MB.", ""]
    (RESULTS / "forecast.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
