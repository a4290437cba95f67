"""What-if re-solves (:class:`optsupply.analysis.whatif.WhatIf`) against cold solves of the changed scenario.

Run from the repository root::

    python -m benchmarks.whatif                   # xsmall, small, medium (about 25 minutes)
    python -m benchmarks.whatif --only small      # one instance

Per instance a session is created and solved once (the *setup*, reported but
not compared; on ``medium`` it gets a longer time limit so that there is a
plan to start from). Then, for each change — the best-selling product's price
−10 %, and the total advertising budget cut to 80 % of what the setup plan
spends (both bind, both lean updates) — side by side in the same run, with the
same gap and time limit, HiGHS ``threads = 1``, seed 0:

* **cold**: ``Scenario.load`` + ``with_changes`` + :func:`optsupply.solve`
  (load, prepare, build, transfer, solve, extract);
* **what-if**: ``session.solve(change, from_original=True)`` (diff, prepare,
  patch the HiGHS model, MIP start from the previous solution, re-solve,
  extract).

Measured: wall and process CPU seconds (the machine is shared; CPU time is
the steadier number), status, profit, bound and gap, and — read off HiGHS's
progress log — the time at which each side first held an incumbent at least
as good as the cold solve's final one ("time to the cold solve's quality",
including everything before HiGHS starts). Ratios are cold / what-if.

Results go to ``benchmarks/results/whatif.md`` and ``whatif.csv``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import io
import math
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import optsupply as ops
from optsupply.scenario.generate import generate
from optsupply.analysis.whatif import WhatIf

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# instance -> (gap, time limit of the compared solves, time limit of the session's setup solve)
CONFIG = {
    "xsmall": (1e-6, 60.0, 60.0),
    "small": (0.005, 60.0, 60.0),
    "medium": (0.005, 120.0, 480.0),
}


def _path(name: str, tmp: Path) -> Path:
    if name == "xsmall":
        path = tmp / "xsmall-seed1"
        if not path.exists():
            generate("xsmall", 1).save(path)
        return path
    return ROOT / "instances" / name


def _changes(sc: ops.Scenario, plan: ops.Plan) -> dict[str, dict]:
    """A price cut of the best-selling product, and a total ad budget below what the plan spends (both bind)."""
    if plan.sales.empty:
        top = str(sc.products["product"].iloc[0])
    else:
        top = str(plan.sales.groupby("product")["sales"].sum().idxmax())
    out = {f"price {top} -10%": {"products.price": {top: "*0.9"}}}
    spend = float(plan.advertising["spend"].sum()) if not plan.advertising.empty else 0.0
    budget = sc.settings.get("advertising.total_budget")
    if budget is not None and spend > 0:
        out["total ad budget = 80% of the plan's spend"] = {"advertising.total_budget": round(0.8 * spend, 2)}
    elif budget is not None:
        out["total ad budget -20%"] = {"advertising.total_budget": "*0.8"}
    else:
        out["channel budgets -20%"] = {"channels.budget": "*0.8"}
    return out


def parse_log(text: str) -> tuple[list[tuple[float, float]], float | None]:
    """(HiGHS seconds, incumbent) for every progress row with an incumbent, and the total HiGHS time."""
    rows, total = [], None
    for line in text.splitlines():
        tok = line.split()
        if len(tok) == 13 and len(tok[0]) == 1 and tok[0].isalpha():
            tok = tok[1:]
        if len(tok) == 12 and tok[-1].endswith("s") and tok[3].endswith("%"):
            try:
                t, best = float(tok[-1][:-1]), float(tok[5])
            except ValueError:
                continue
            if math.isfinite(best):
                rows.append((t, best))
        elif len(tok) == 2 and tok[0] == "Timing":
            try:
                total = float(tok[1])
            except ValueError:
                pass
    return rows, total


def _reached(rows: list[tuple[float, float]], target: float | None) -> float | None:
    """HiGHS time of the first incumbent ≥ target (maximisation); the first incumbent if target is None."""
    for t, best in rows:
        if target is None or best >= target - 1e-9 * max(1.0, abs(target)):
            return t
    return None


def _side(plan: ops.Plan, wall: float, cpu: float, before_highs: float, log: str) -> dict:
    rows, total = parse_log(log)
    k = plan.kpis
    return {"wall_s": wall, "cpu_s": cpu, "before_highs_s": before_highs, "highs_s": total,
            "status": k["status"], "profit": k.get("profit"), "solver_objective": k.get("solver_objective"),
            "bound": k.get("best_bound"), "gap": k.get("mip_gap"), "rows": rows}


def cold(path: Path, changes: dict, gap: float, limit: float) -> dict:
    log = io.StringIO()
    w0, c0 = time.perf_counter(), time.process_time()
    sc = ops.Scenario.load(path).with_changes(changes)
    loaded = time.perf_counter() - w0
    plan = ops.solve(sc, mip_gap=gap, time_limit=limit, threads=1, seed=0, log=log)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    total = parse_log(log.getvalue())[1]
    k = plan.kpis
    # before HiGHS: load + prepare + build + transfer (solve_seconds = transfer + HiGHS + loading values)
    before = loaded + k["build_seconds"] + max(0.0, k["solve_seconds"] - (total or 0.0))
    return _side(plan, wall, cpu, before, log.getvalue())


def whatif(session: WhatIf, log: io.StringIO, changes: dict, limit: float) -> dict:
    log.seek(0)
    log.truncate()
    w0, c0 = time.perf_counter(), time.process_time()
    plan = session.solve({**changes, "solver.time_limit": limit}, from_original=True)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    total = parse_log(log.getvalue())[1]
    before = session.last_update.seconds + max(0.0, plan.kpis["solve_seconds"] - (total or 0.0))
    out = _side(plan, wall, cpu, before, log.getvalue())
    out["update"] = str(session.last_update)
    out["mip_start"] = session.last_update.mip_start
    return out


def bench(name: str, tmp: Path) -> tuple[list[dict], dict]:
    gap, limit, setup_limit = CONFIG[name]
    path = _path(name, tmp)
    sc = ops.Scenario.load(path)
    log = io.StringIO()
    w0, c0 = time.perf_counter(), time.process_time()
    session = WhatIf(sc, mip_gap=gap, threads=1, seed=0, log=log)
    built = time.perf_counter() - w0
    first = session.solve({"solver.time_limit": setup_limit})
    inc = _reached(parse_log(log.getvalue())[0], None)
    setup = {"instance": name, "wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
             "status": first.kpis["status"], "profit": first.kpis.get("profit"), "gap": first.kpis.get("mip_gap"),
             "time_limit": setup_limit, "first_incumbent_s": None if inc is None else round(built + inc, 1)}
    print(f"{name}: setup {setup}", flush=True)
    rows = []
    for label, changes in _changes(sc, first).items():
        c = cold(path, changes, gap, limit)
        print(f"  cold   {label}: {c['status']} {c['profit']} {c['wall_s']:.1f}s", flush=True)
        w = whatif(session, log, changes, limit)
        print(f"  whatif {label}: {w['status']} {w['profit']} {w['wall_s']:.1f}s ({w['update']})", flush=True)
        target = c["solver_objective"]
        t_cold = _reached(c["rows"], target)
        t_whatif = _reached(w["rows"], target)
        cold_q = None if t_cold is None else c["before_highs_s"] + t_cold
        whatif_q = None if t_whatif is None else w["before_highs_s"] + t_whatif
        rows.append({
            "instance": name, "change": label, "gap": gap, "time_limit": limit, "update": w["update"],
            "mip_start": w["mip_start"],
            "cold_status": c["status"], "whatif_status": w["status"],
            "cold_profit": c["profit"], "whatif_profit": w["profit"],
            "cold_gap": c["gap"], "whatif_gap": w["gap"],
            "cold_wall_s": round(c["wall_s"], 2), "whatif_wall_s": round(w["wall_s"], 2),
            "wall_ratio": round(c["wall_s"] / w["wall_s"], 2),
            "cold_cpu_s": round(c["cpu_s"], 2), "whatif_cpu_s": round(w["cpu_s"], 2),
            "cpu_ratio": round(c["cpu_s"] / w["cpu_s"], 2),
            "cold_before_highs_s": round(c["before_highs_s"], 2), "whatif_before_highs_s": round(w["before_highs_s"], 2),
            "cold_time_to_its_final_s": None if cold_q is None else round(cold_q, 2),
            "whatif_time_to_cold_quality_s": None if whatif_q is None else round(whatif_q, 2),
            "quality_time_ratio": _ratio(cold_q, whatif_q, c["wall_s"]),
        })
    return rows, setup


def _ratio(cold_q: float | None, whatif_q: float | None, cold_wall: float) -> str | None:
    """cold / what-if time to the cold solve's quality; "> x" when the cold solve found no plan at all."""
    if not whatif_q:
        return None
    if cold_q is None:
        return f"> {cold_wall / whatif_q:.1f} (cold: no plan)"
    return f"{cold_q / whatif_q:.1f}"


def _fmt(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.1f}"
        return f"{v:.4g}"
    return str(v)


def write(rows: list[dict], setups: list[dict], extra: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "whatif.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    cols = ["instance", "change", "gap", "time_limit", "cold_status", "whatif_status", "cold_profit", "whatif_profit",
            "cold_gap", "whatif_gap", "cold_wall_s", "whatif_wall_s", "wall_ratio", "cold_cpu_s", "whatif_cpu_s",
            "cpu_ratio", "cold_before_highs_s", "whatif_before_highs_s", "cold_time_to_its_final_s",
            "whatif_time_to_cold_quality_s", "quality_time_ratio"]
    lines = [
        "# What-if re-solve benchmark", "",
        (f"`python -m benchmarks.whatif`, {_dt.date.today()}, {platform.machine()}, {os.cpu_count()} cores (shared; "
         f"load average {extra['load_before']} before, {extra['load_after']} after), HiGHS threads = 1, seed 0. "
         f"Peak RSS {extra['rss_mb']:.0f} MB."), "",
        ("cold = `Scenario.load` + `with_changes` + `optsupply.solve`; what-if = `WhatIf.solve(change, "
         "from_original=True)` on a session solved once before (setup below). Same gap and time limit on both sides. "
         "*before_highs* = seconds before HiGHS starts (cold: load, prepare, build, transfer; what-if: diff, prepare, "
         "patch, MIP-start check or repair). *time to the cold solve's quality* = before_highs + HiGHS time of the first incumbent at least as "
         "good as the cold solve's final one (for cold: when it reached its own final incumbent); "
         "quality_time_ratio = cold / what-if. Ratios > 1 favour the what-if session."), "",
        "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols),
    ]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    lines += ["", ("How each what-if solve updated the model (MIP start *full*: the previous solution, still "
                   "feasible; *repaired*: the previous integer values completed by an LP in a fresh HiGHS instance):"),
              ""]
    for r in rows:
        lines.append(f"* {r['instance']}, {r['change']}: {r['update']} (MIP start: {r['mip_start']})")
    lines += ["", "## Session setup (cold solve of the unchanged scenario, not compared)", "",
              "| instance | time_limit | status | profit | gap | first incumbent after (s, incl. build) | wall_s | cpu_s |",
              "|---|---|---|---|---|---|---|---|"]
    for s in setups:
        lines.append(f"| {s['instance']} | {_fmt(s['time_limit'])} | {s['status']} | {_fmt(s['profit'])} | "
                     f"{_fmt(s['gap'])} | {_fmt(s['first_incumbent_s'])} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} |")
    (RESULTS / "whatif.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=list(CONFIG), action="append", help="instance(s) to run (default: all)")
    args = ap.parse_args()
    names = args.only or list(CONFIG)
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    rows, setups = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            r, s = bench(name, Path(tmp))
            rows += r
            setups.append(s)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    write(rows, setups, {"load_before": load_before, "load_after": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
                         "rss_mb": rss})
    print((RESULTS / "whatif.md").read_text())


if __name__ == "__main__":
    main()
