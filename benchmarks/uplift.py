"""What planning jointly is worth, measured against three baselines.

Run from the repository root (one command reproduces ``benchmarks/results/uplift.md`` and ``uplift.csv``)::

    python -m benchmarks.uplift        # tiny, xsmall seeds 1-5, small (MIP); medium, large (decompose)
    python -m benchmarks.uplift --sizes xsmall --seeds 1 2 --large-sizes   # a quick subset

For each instance (every plan checked with :func:`optsupply.plan.check.check_plan`, every profit
recomputed from the plan tables by :func:`optsupply.plan.check.evaluate_plan`, all on the same
demand: the forecast, no safety stock in any plan):

* **naive** — :func:`optsupply.baselines.siloed.siloed_plan` with its default (naive) rules, for reference;
* **(a) practitioner** — :func:`optsupply.baselines.siloed.practitioner_plan`;
* **(b) supply-optimal** — (a)'s launches, featured products and ad spend fixed, supply optimised
  (:func:`optsupply.analysis.sequential.optimal_supply_plan`);
* **(c) sequential** — commercial decisions optimised on gross margin without supply costs or
  limits, then supply optimised (:func:`optsupply.analysis.sequential.sequential_plan`);
* **joint** — :func:`optsupply.solve`, started from the best of (a), (b), (c) (a MIP start for
  ``mip``; the start of the fix-and-optimize for ``decompose``), with its bound and gap.

Value of optimisation = (b) − (a); value of integration = joint − (c). A difference no larger
than the joint run's gap (bound − joint profit) is marked as inside the gap: the joint plan
could be that much better, so the sign of such a difference is not established.

Sizes in ``--sizes`` are solved with ``method="mip"`` (time limit per MIP: 60 s tiny and xsmall,
120 s small); sizes in ``--large-sizes`` (default medium and large) with ``method="decompose"``
(product-group fix-and-optimize; ``--large-time-limit`` per stage, default 240 s: (b) one stage,
(c) two, joint one). HiGHS threads = 1, seed 0. ``--merge`` keeps the rows of other instances
already in ``uplift.csv`` (to run sizes in separate processes and write one report).

Instances: a size with a shipped folder (tiny, small, medium, large) is ``instances/<size>``; any
other size (xsmall) is generated for each of ``--seeds``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import optsupply as ops
from optsupply.baselines.common import BaselineError
from optsupply.baselines.report import uplift_report
from optsupply.baselines.siloed import practitioner_plan, siloed_plan
from optsupply.scenario.generate import generate
from optsupply.plan.core import COST_KEYS
from optsupply.analysis.sequential import optimal_supply_plan, sequential_plan
from optsupply.plan.check import check_plan, evaluate_plan

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TIME_LIMITS = {"tiny": 60.0, "xsmall": 60.0, "small": 120.0}  #: time limit per MIP (else 120 s)
MONEY = ["revenue", "salvage"] + [f"cost.{k}" for k in COST_KEYS]
PLANS = ("naive", "a", "b", "c", "joint")


def instances(sizes: list[str], seeds: list[int]) -> list[tuple[str, str, Any]]:
    """(label, size, loader) for every instance of ``sizes``."""
    out = []
    for size in sizes:
        folder = ROOT / "instances" / size
        if (folder / "scenario.toml").exists():
            out.append((f"instances/{size}", size, lambda folder=folder: ops.Scenario.load(folder)))
        else:
            out += [(f"{size} seed {s}", size, lambda size=size, s=s: generate(size, s)) for s in seeds]
    return out


def _has_plan(plan: ops.Plan | None) -> bool:
    return plan is not None and plan.kpis.get("profit") is not None


def _record(row: dict[str, Any], key: str, sc: ops.Scenario, plan: ops.Plan | None, seconds: float) -> None:
    row[f"{key}_seconds"] = round(seconds, 2)
    if plan is None:
        return
    k = plan.kpis
    row[f"{key}_status"] = k.get("status")
    if not _has_plan(plan):
        row[f"{key}_message"] = k.get("message", "")
        return
    ev = evaluate_plan(sc, plan)
    row[f"{key}_profit"] = ev["profit"]
    row[f"{key}_revenue"] = ev["revenue"]
    row[f"{key}_fill_rate"] = ev["fill_rate"]
    row[f"{key}_launched"] = ev["launched"]
    row[f"{key}_advertising"] = ev["costs"]["advertising"]
    row[f"{key}_bound"] = k.get("best_bound")
    row[f"{key}_gap"] = k.get("mip_gap")
    row[f"{key}_checker_problems"] = len(check_plan(sc, plan))


def run(label: str, size: str, load: Any, time_limit: float, method: str) -> dict[str, Any]:
    sc = load()
    row: dict[str, Any] = {"instance": label, "size": size, "method": method, "time_limit": time_limit}
    plans: dict[str, ops.Plan | None] = {}
    opts = {"time_limit": time_limit, "threads": 1, "seed": 0}

    def timed(key: str, make: Any) -> None:
        t0 = time.perf_counter()
        try:
            plans[key] = make()
        except BaselineError as exc:
            plans[key] = None
            row[f"{key}_message"] = str(exc)
        _record(row, key, sc, plans[key], time.perf_counter() - t0)
        p = row.get(f"{key}_profit")
        print(f"  {key}: {'–' if p is None else f'{p:,.2f}'} [{row.get(f'{key}_status', '–')}] "
              f"{row[f'{key}_seconds']:.1f} s", flush=True)

    timed("naive", lambda: siloed_plan(sc))
    timed("a", lambda: practitioner_plan(sc))
    if _has_plan(plans["a"]):
        timed("b", lambda: optimal_supply_plan(sc, plans["a"], method=method, **opts))
    timed("c", lambda: sequential_plan(sc, method=method, **opts))
    ok = [(row[f"{k}_profit"], k) for k in ("a", "b", "c")
          if _has_plan(plans.get(k)) and row.get(f"{k}_checker_problems") == 0]
    start = plans[max(ok)[1]] if ok else None
    row["joint_start"] = max(ok)[1] if ok else None
    timed("joint", lambda: ops.solve(sc, method=method, start=start, **opts))
    if "joint_profit" in row:
        joint, bound = row["joint_profit"], row.get("joint_bound")
        slack = bound - joint if bound is not None and math.isfinite(bound) else None
        row["joint_slack"] = slack
        if "a_profit" in row and "b_profit" in row:
            row["value_of_optimisation"] = row["b_profit"] - row["a_profit"]
        if "c_profit" in row:
            voi = row["value_of_integration"] = joint - row["c_profit"]
            row["integration_inside_gap"] = None if slack is None else abs(voi) <= slack + 1e-9 * max(1.0, abs(joint))
        best = max((row[f"{k}_profit"], k) for k in ("a", "b", "c") if f"{k}_profit" in row) if ok else None
        if best is not None:
            row["best_baseline"] = best[1]
            row["joint_minus_best"] = joint - best[0]
        if _has_plan(plans.get("a")):
            report = uplift_report(sc, plans["joint"], plans["a"])
            for metric in MONEY:
                row[f"from_{metric.removeprefix('cost.')}"] = float(report.loc[metric, "profit_contribution"])
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.uplift", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="*", default=["tiny", "xsmall", "small"], help="solved with method mip")
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5], help="seeds of generated sizes")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="time limit per MIP for --sizes (default: 60 tiny/xsmall, 120 small)")
    ap.add_argument("--large-sizes", nargs="*", default=["medium", "large"], help="solved with method decompose")
    ap.add_argument("--large-time-limit", type=float, default=240.0, help="seconds per decompose stage")
    ap.add_argument("--merge", action="store_true", help="keep other instances' rows already in uplift.csv")
    args = ap.parse_args(argv)
    todo = [(inst, args.time_limit or TIME_LIMITS.get(inst[1], 120.0), "mip") for inst in instances(args.sizes, args.seeds)]
    todo += [(inst, args.large_time_limit, "decompose") for inst in instances(args.large_sizes, args.seeds)]
    rows = []
    for (label, size, load), limit, method in todo:
        print(f"{label}: {method}, {limit:g} s per solve ...", flush=True)
        rows.append(run(label, size, load, limit, method))
    if args.merge and (RESULTS / "uplift.csv").exists():
        done = {r["instance"] for r in rows}
        with open(RESULTS / "uplift.csv", encoding="utf-8") as f:
            old = [dict(r) for r in csv.DictReader(f) if r["instance"] not in done]
        rows = [_typed(r) for r in old] + rows
        order = {label: i for i, (label, _, _) in enumerate(instances(["tiny", "xsmall", "small", "medium", "large"],
                                                                       args.seeds))}
        rows.sort(key=lambda r: order.get(r["instance"], len(order)))
    write(rows)
    return 0


def _typed(r: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in r.items():
        if v == "":
            continue
        if v in ("True", "False"):
            out[k] = v == "True"
            continue
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out


def _fmt(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"{float(v):,.{digits}f}"
    return str(v)


def _gap(v: Any) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.2%}"


def write(rows: list[dict[str, Any]]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    cols = list(dict.fromkeys(c for r in rows for c in r))
    with open(RESULTS / "uplift.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)

    def table(header: list[str], body: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(b) + " |" for b in body]

    def inside(r: dict[str, Any], value: Any) -> str:
        if value is None or isinstance(value, str):
            return _fmt(value)
        slack = r.get("joint_slack")
        text = _fmt(value)
        if slack is not None and not (isinstance(slack, float) and math.isnan(slack)) and abs(value) <= slack + 1e-6:
            text += " (inside gap)"
        return text

    lines = ["# Uplift: the joint plan against three baselines", "",
             (f"`python -m benchmarks.uplift`, {_dt.date.today().isoformat()}, "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), HiGHS threads = 1, "
              "seed 0, the default time limits (column *limit s*: per MIP, or per decompose stage); rows may "
              "come from separate processes (`--sizes ... --large-sizes ... --merge`), on a machine shared with "
              "other work, so time-limited results vary from run to run. See the module docstring of "
              "`benchmarks/uplift.py` for what each plan is."), "",
             ("Every profit is recomputed from the plan tables by `optsupply.plan.check.evaluate_plan`, on the "
              "same demand (the forecast; no plan carries safety stock), and every plan is checked by "
              "`check_plan` (problems per plan in the last column: naive a b c joint). "
              "naive = the old siloed rules `siloed_plan(sc)` (for reference only: they spend the whole ad "
              "budget by revenue and carry a z = 1.65 safety stock); (a) practitioner rules "
              "`practitioner_plan(sc)`; (b) (a)'s commercial decisions with supply optimised; (c) "
              "sequential-optimal: commercial decisions optimised on gross margin without supply costs or "
              "limits, then supply optimised; joint = `optsupply.solve`, started from the best of (a)–(c)."), "",
             ("**Value of optimisation** = (b) − (a): the same commercial decisions, supplied optimally. "
              "**Value of integration** = joint − (c): deciding commercial and supply together rather than "
              "one after the other. *bound − joint* is how much better the joint plan could still be; a "
              "difference no larger than it is marked *(inside gap)*: its sign is not established. "
              "decompose runs (medium, large) are not proven: (b), (c) and the joint plan are "
              "fix-and-optimize results, and the joint bound is the Lagrangian bound when it could be "
              "computed in the time (else –)."), ""]
    body = []
    for r in rows:
        body.append([r["instance"], str(r.get("method", "")), _fmt(r.get("time_limit")),
                     _fmt(r.get("naive_profit")), _fmt(r.get("a_profit")),
                     f"{_fmt(r.get('b_profit'))} [{r.get('b_status', '–')}, {_gap(r.get('b_gap'))}]",
                     f"{_fmt(r.get('c_profit'))} [{r.get('c_status', '–')}, {_gap(r.get('c_gap'))}]",
                     f"{_fmt(r.get('joint_profit'))} [{r.get('joint_status', '–')}]",
                     _fmt(r.get("joint_bound")), _gap(r.get("joint_gap")), _fmt(r.get("joint_slack")),
                     _fmt(r.get("value_of_optimisation")), inside(r, r.get("value_of_integration")),
                     inside(r, r.get("joint_minus_best")) + (f" (vs {r['best_baseline']})" if r.get("best_baseline") else ""),
                     " ".join(_fmt(r.get(f"{k}_checker_problems")) for k in PLANS)])
    lines += ["## Profit of every plan", ""]
    lines += table(["instance", "method", "limit s", "naive", "(a) practitioner", "(b) supply-optimal [status, gap]",
                    "(c) sequential [status, gap]", "joint [status]", "joint bound", "joint gap", "bound − joint",
                    "value of optimisation (b − a)", "value of integration (joint − c)", "joint − best baseline",
                    "checker"], body)
    lines += ["", ("The gaps of (b) and (c) are those of their own supply MIP (for fixed commercial decisions), "
                   "not of the joint problem."), ""]
    lines += ["## Where the joint plan's lead over (a) comes from", "",
              ("Each column is what that line adds to joint − (a) (revenue and salvage +Δ, a cost −Δ); a row "
               "adds up to joint − (a)."), ""]
    parts = [m.removeprefix("cost.") for m in MONEY]
    lines += table(["instance"] + parts + ["joint − (a)"],
                   [[r["instance"]] + [_fmt(r.get(f"from_{p}")) for p in parts]
                    + [_fmt(r["joint_profit"] - r["a_profit"])] for r in rows
                    if r.get("joint_profit") is not None and r.get("a_profit") is not None and "from_revenue" in r])
    lines += ["", "## Seconds per plan", ""]
    lines += table(["instance"] + list(PLANS) + ["joint started from"],
                   [[r["instance"]] + [_fmt(r.get(f"{k}_seconds"), 1) for k in PLANS] + [str(r.get("joint_start", "–"))]
                    for r in rows])
    lines += [""]
    (RESULTS / "uplift.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {RESULTS / 'uplift.md'} and {RESULTS / 'uplift.csv'}")


if __name__ == "__main__":
    raise SystemExit(main())
