"""What planning jointly is worth: the optimized plan against the siloed baseline.

Run from the repository root::

    python -m benchmarks.uplift                              # tiny, xsmall seeds 1-5, small; medium, large siloed only
    python -m benchmarks.uplift --sizes xsmall --seeds 1 2 --time-limit 30

For each instance the joint plan (:func:`optsupply.solve`, HiGHS with
``threads = 1``, seed 0 and the given time limit — by default 60 s for tiny and
xsmall, 120 s for small, 600 s otherwise) and the siloed plan
(:func:`optsupply.baseline.siloed_plan` with its default rules) are evaluated
with the same profit calculation (:func:`optsupply.baseline.uplift_report`)
and checked with :func:`optsupply.testing.check_plan`. The uplift is joint −
siloed profit, also as a share of |siloed profit| (which explodes near zero)
and of siloed revenue; its decomposition is each money row's contribution to
it (revenue and salvage +Δ, costs −Δ), which adds up to the uplift. Every
instance also gets the siloed plan of every combination of the supply rules
(:data:`~optsupply.baseline.WAREHOUSE_RULES`) and ordering rules
(:data:`~optsupply.baseline.REVIEW_RULES`), each checked, so the defaults can
be compared with the alternatives and with the earlier default
(``"per_region"``, ordering every period).

The sizes in ``--siloed-only`` (default medium and large) get the siloed plans
only: their joint solve is too slow for a benchmark run.

Instances: a size with a shipped folder (tiny, small, medium, large) is
``instances/<size>`` (the generated ones are seed 1); any other size (xsmall)
is generated for each of ``--seeds``.

Results go to ``benchmarks/results/uplift.md`` (Markdown) and ``uplift.csv``.
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
from optsupply.baseline import (
    DEFAULT_REVIEW,
    DEFAULT_WAREHOUSES,
    REVIEW_RULES,
    WAREHOUSE_RULES,
    siloed_plan,
    uplift_report,
)
from optsupply.generate import generate
from optsupply.plan import COST_KEYS
from optsupply.testing import check_plan

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TIME_LIMITS = {"tiny": 60.0, "xsmall": 60.0, "small": 120.0}  #: default joint time limit per size (else 600 s)
MONEY = ["revenue", "salvage"] + [f"cost.{k}" for k in COST_KEYS]
RULES = [(w, r) for r in REVIEW_RULES for w in WAREHOUSE_RULES]  #: every (warehouses, review) combination
PREVIOUS = ("per_region", "every_period")  #: the default rules before the periodic review


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


def reachable_share(sc: ops.Scenario, plan: ops.Plan) -> float:
    """Share of the plan's potential demand in (product, region)s that some supply warehouse has a usable lane to.

    The rest can be served by no plan (lanes costing more per unit than the price are not counted, as in
    the siloed rules).
    """
    routes = (sc.supply[["product", "warehouse"]].astype(str)
              .merge(sc.lanes[["warehouse", "region", "cost_per_unit"]].astype({"warehouse": str, "region": str}))
              .merge(sc.products[["product", "price", "volume"]].astype({"product": str})))
    routes = routes[routes["cost_per_unit"] * routes["volume"] <= routes["price"]]
    ok = set(zip(routes["product"], routes["region"], strict=True))
    sales = plan.sales
    total = float(sales["potential_demand"].sum())
    mask = [(str(p), str(r)) in ok for p, r in zip(sales["product"], sales["region"], strict=True)]
    return float(sales.loc[mask, "potential_demand"].sum()) / total if total > 0 else 1.0


def _kpis(prefix: str, sc: ops.Scenario, plan: ops.Plan) -> dict[str, Any]:
    k = plan.kpis
    row = {f"{prefix}_profit": k["profit"], f"{prefix}_revenue": k["revenue"], f"{prefix}_salvage": k["salvage"]}
    row.update({f"{prefix}_{c}": k["costs"][c] for c in COST_KEYS})
    row.update({f"{prefix}_fill_rate": k["fill_rate"], f"{prefix}_units_sold": k["units_sold"],
                f"{prefix}_potential_demand": k["potential_demand"], f"{prefix}_launched": k["launched"],
                f"{prefix}_checker_problems": len(check_plan(sc, plan))})
    return row


def run(label: str, size: str, load: Any, time_limit: float | None) -> dict[str, Any]:
    sc = load()
    row: dict[str, Any] = {"instance": label, "size": size, "time_limit": time_limit}
    plans = {}
    for w, r in RULES:
        t0 = time.perf_counter()
        plans[w, r] = plan = siloed_plan(sc, warehouses=w, review=r)
        seconds = round(time.perf_counter() - t0, 3)
        k = plan.kpis
        row.update({f"rule_{w}_{r}_profit": k["profit"], f"rule_{w}_{r}_fill_rate": k["fill_rate"],
                    f"rule_{w}_{r}_checker_problems": len(check_plan(sc, plan)), f"rule_{w}_{r}_seconds": seconds})
    silo = plans[DEFAULT_WAREHOUSES, DEFAULT_REVIEW]
    row["siloed_seconds"] = row[f"rule_{DEFAULT_WAREHOUSES}_{DEFAULT_REVIEW}_seconds"]
    row.update(_kpis("siloed", sc, silo))
    row["siloed_reachable_share"] = reachable_share(sc, silo)
    row.update(_kpis("previous", sc, plans[PREVIOUS]))
    if time_limit is None:
        return row
    joint = ops.solve(sc, time_limit=time_limit, threads=1, seed=0)
    row.update({"joint_status": joint.kpis["status"], "joint_bound": joint.kpis.get("best_bound"),
                "joint_gap": joint.kpis.get("mip_gap"), "joint_seconds": joint.kpis.get("solve_seconds")})
    if joint.kpis["status"] not in ("optimal", "time_limit"):
        return row
    row.update(_kpis("joint", sc, joint))
    report = uplift_report(sc, joint, silo)
    uplift = float(report.loc["profit", "delta"])
    row["uplift"] = uplift
    row["uplift_pct"] = float(report.loc["profit", "relative_delta"]) * 100
    revenue = float(report.loc["revenue", "siloed"])
    row["uplift_pct_revenue"] = uplift / revenue * 100 if revenue > 0 else math.nan
    for metric in MONEY:
        row[f"from_{metric.removeprefix('cost.')}"] = float(report.loc[metric, "profit_contribution"])
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.uplift", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["tiny", "xsmall", "small"], help="solved jointly and siloed")
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5], help="seeds of generated sizes")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="joint solve time limit in seconds (default: 60 tiny/xsmall, 120 small, 600 otherwise)")
    ap.add_argument("--siloed-only", nargs="*", default=["medium", "large"], help="sizes planned siloed only")
    args = ap.parse_args(argv)
    rows = []
    todo = [(inst, args.time_limit or TIME_LIMITS.get(inst[1], 600.0)) for inst in instances(args.sizes, args.seeds)]
    todo += [(inst, None) for inst in instances(args.siloed_only, args.seeds)]
    for (label, size, load), limit in todo:
        print(f"{label}: {'siloed only' if limit is None else f'joint ({limit:g} s) and siloed'} ...", flush=True)
        rows.append(run(label, size, load, limit))
        r = rows[-1]
        print(f"  siloed {r['siloed_profit']:.2f} (previous rules {r['previous_profit']:.2f})"
              + (f", joint {r['joint_profit']:.2f} [{r['joint_status']}], uplift {r['uplift']:.2f}"
                 if "uplift" in r else ""), flush=True)
    write(rows, args)
    return 0


def _fmt(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def write(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    cols = list(dict.fromkeys(c for r in rows for c in r))
    with open(RESULTS / "uplift.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)

    def table(header: list[str], body: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(b) + " |" for b in body]

    joint = [r for r in rows if "uplift" in r]
    lines = ["# Uplift: joint plan against the siloed baseline", "",
             (f"`python -m benchmarks.uplift`, {_dt.date.today().isoformat()}, "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, HiGHS threads = 1, seed 0. "
              f"Sizes {' '.join(args.sizes)} (seeds {' '.join(map(str, args.seeds))} where generated), "
              f"siloed only: {' '.join(args.siloed_only) or 'none'}."), "",
             ("Profit as in kpis.json, recomputed from the plan tables by `optsupply.testing.evaluate_plan` "
              f"for both plans; siloed = `siloed_plan(sc)` (rules `warehouses=\"{DEFAULT_WAREHOUSES}\"`, "
              f"`review=\"{DEFAULT_REVIEW}\"`). The uplift as a % of |siloed profit| explodes when the siloed "
              "profit is near zero; as a % of siloed revenue it does not. Checker = `check_plan` problems "
              "(joint / siloed)."), ""]
    if joint:
        lines += ["## Uplift", ""]
        lines += table(
            ["instance", "time limit s", "joint status", "gap", "joint profit", "siloed profit", "uplift",
             "uplift % of \\|siloed profit\\|", "uplift % of siloed revenue", "fill joint", "fill siloed", "checker"],
            [[r["instance"], _fmt(r["time_limit"]), r["joint_status"],
              "–" if r.get("joint_gap") is None else f"{r['joint_gap']:.2%}", _fmt(r["joint_profit"]),
              _fmt(r["siloed_profit"]), _fmt(r["uplift"]), _fmt(r["uplift_pct"], 1),
              _fmt(r["uplift_pct_revenue"], 1), _fmt(r["joint_fill_rate"], 3),
              _fmt(r["siloed_fill_rate"], 3), f"{r['joint_checker_problems']} / {r['siloed_checker_problems']}"]
             for r in joint])
        lines += ["", "## Where the uplift comes from", "",
                  ("Each column is what that line adds to the uplift (joint − siloed for revenue and salvage, "
                   "siloed − joint for a cost); a row adds up to the uplift."), ""]
        parts = [m.removeprefix("cost.") for m in MONEY]
        lines += table(["instance"] + parts + ["uplift"],
                       [[r["instance"]] + [_fmt(r[f"from_{p}"]) for p in parts] + [_fmt(r["uplift"])] for r in joint])
        lines += [""]
    silo_only = [r for r in rows if "joint_status" not in r]
    if silo_only:
        lines += ["## Siloed plan only (no joint solve)", "",
                  ("Reachable = share of the siloed plan's potential demand in (product, region)s that one of the "
                   "product's warehouses has a lane to (at most the price per unit): no plan can serve the rest."), ""]
        lines += table(["instance", "siloed profit", "siloed revenue", "fill rate", "reachable", "checker problems",
                        "seconds"],
                       [[r["instance"], _fmt(r["siloed_profit"]), _fmt(r["siloed_revenue"]),
                         _fmt(r["siloed_fill_rate"], 3), _fmt(r["siloed_reachable_share"], 3),
                         str(r["siloed_checker_problems"]), f"{r['siloed_seconds']:.2f}"] for r in silo_only])
        lines += [""]

    # every rule combination
    names = [f"{w} / {r}" for w, r in RULES]
    wins = dict.fromkeys(RULES, 0)
    body = []
    for r in rows:
        profits = {rule: r[f"rule_{rule[0]}_{rule[1]}_profit"] for rule in RULES}
        best = max(profits.values())
        top = [rule for rule, v in profits.items() if v >= best - 0.5]  # ties within half a currency unit
        for rule in top:
            wins[rule] += 1
        body.append([r["instance"]] + [("**" + _fmt(profits[rule]) + "**") if rule in top else _fmt(profits[rule])
                                       for rule in RULES]
                    + [" ".join(str(r[f"rule_{w}_{v}_checker_problems"]) for w, v in RULES),
                       f"{max(r[f'rule_{w}_{v}_seconds'] for w, v in RULES):.2f}"])
    body.append(["**highest profit on**"] + [f"{wins[rule]} of {len(rows)}" for rule in RULES] + ["", ""])
    lines += ["## Siloed baselines: every rule", "",
              ("Siloed profit of `siloed_plan(sc, warehouses=..., review=...)` for every combination "
               "(warehouses / review); the highest of each instance in bold (ties within 0.5 all bold). "
               "Checker = `check_plan` problems of each, in the column order; seconds = the slowest, "
               "evaluating the plan included."), ""]
    lines += table(["instance"] + names + ["checker", "seconds"], body)
    pairs = []
    for a, b_ in ((("per_region", "eoq"), ("home_spill", "eoq")), (("per_region", "eoq"), ("home", "eoq")),
                  (("per_region", "eoq"), PREVIOUS), (("home_spill", "eoq"), ("home_spill", "every_period"))):
        more = sum(r[f"rule_{a[0]}_{a[1]}_profit"] > r[f"rule_{b_[0]}_{b_[1]}_profit"] + 0.5 for r in rows)
        less = sum(r[f"rule_{a[0]}_{a[1]}_profit"] < r[f"rule_{b_[0]}_{b_[1]}_profit"] - 0.5 for r in rows)
        pairs.append(f"{a[0]} / {a[1]} against {b_[0]} / {b_[1]}: higher on {more}, lower on {less}, "
                     f"tied on {len(rows) - more - less}")
    lines += ["", "Head to head: " + "; ".join(pairs) + ".", ""]

    lines += ["## The default rules against the previous default", "",
              (f"`siloed_plan(sc)` ({DEFAULT_WAREHOUSES} / {DEFAULT_REVIEW}) against "
               f"`siloed_plan(sc, review=\"every_period\")` ({PREVIOUS[0]} / {PREVIOUS[1]}, the default before "
               "the periodic review). Checker = `check_plan` problems (default / previous)."), ""]
    keys = ["revenue", "purchase", "ordering", "activation", "holding", "transport", "lost_sale", "salvage"]
    body = []
    for r in rows:
        body.append([r["instance"], _fmt(r["previous_profit"]), _fmt(r["siloed_profit"]),
                     _fmt(r["siloed_profit"] - r["previous_profit"]), _fmt(r["previous_fill_rate"], 3),
                     _fmt(r["siloed_fill_rate"], 3)]
                    + [_fmt(r[f"siloed_{k}"] - r[f"previous_{k}"]) for k in keys]
                    + [f"{r['siloed_checker_problems']} / {r['previous_checker_problems']}"])
    lines += table(["instance", "profit previous", "profit default", "Δ profit", "fill previous", "fill default"]
                   + [f"Δ {k}" for k in keys] + ["checker"], body)
    lines += ["", "Δ = default − previous (for a cost, positive means the default pays more).", ""]
    (RESULTS / "uplift.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {RESULTS / 'uplift.md'} and {RESULTS / 'uplift.csv'}")


if __name__ == "__main__":
    raise SystemExit(main())
