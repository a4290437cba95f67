"""``optsupply sensitivity``: shadow prices of storage, capacities, budgets and featured slots."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from optsupply.cli.common import load_scenario
from optsupply.errors import EXIT_NO_PLAN, EXIT_OK


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "sensitivity", help="shadow prices: what one more unit of storage, capacity, budget or a slot is worth",
        description="Solve a scenario (or read a plan folder) and write sensitivity.csv: for every storage, "
                    "throughput, lane capacity, ad budget, inventory-value limit and featured slot, what one more "
                    "unit is worth in profit, whether it is binding, and a one-sentence explanation; plus what "
                    "launching each new product one period earlier would change. Values are marginal around the "
                    "plan's launches, orders, lanes and featured products (held fixed) and hold for small changes "
                    "only. Exit 0 ok, 1 no plan, 2 bad input.",
        epilog="examples:\n"
               "  optsupply sensitivity instances/tiny --out tiny-sensitivity.csv\n"
               "  optsupply sensitivity instances/tiny --plan tiny-plan --no-launch-earlier\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", help="scenario folder or .xlsx workbook")
    p.add_argument("--plan", metavar="DIR", help="plan folder to analyse (default: solve the scenario first)")
    p.add_argument("--out", metavar="PATH", help="a .csv file, or a folder that gets sensitivity.csv (default: "
                                                  "PLAN-sensitivity.csv or SCENARIO-sensitivity.csv in the current "
                                                  "folder); never the scenario or the plan folder read")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds for the first solve (default: scenario's)")
    p.add_argument("--gap", type=float, metavar="G", help="relative MIP gap (default: scenario's)")
    p.add_argument("--threads", type=int, metavar="N", help="solver threads (0 = HiGHS default)")
    p.add_argument("--seed", type=int, metavar="N", help="solver random seed")
    p.add_argument("--resolve-time-limit", type=float, metavar="S", help="seconds per MIP re-solve (default 10)")
    p.add_argument("--featured", choices=["plan", "mip"], default="plan",
                   help="price a featured slot with the plan fixed (default) or by re-solving the whole MIP")
    p.add_argument("--no-launch-earlier", action="store_true", help="skip the launch-earlier re-solves (faster)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """0 ok, 1 no plan (raises UsageError/ScenarioError for bad input)."""
    from optsupply.analysis.sensitivity import NOTES, NoPlanError, sensitivity, sensitivity_path, write_sensitivity
    from optsupply.files import guard_file
    from optsupply.plan.compare import load_plan

    sc = load_scenario(args.scenario)
    plan = None
    if args.plan:
        plan = load_plan(args.plan)  # a folder that is not a readable plan: one clear line, exit 2
        if plan.kpis.get("profit") is None:
            print(f"no plan in {args.plan}: it records status '{plan.status}'", file=sys.stderr)
            return EXIT_NO_PLAN
    stem = Path(args.plan).name if args.plan else Path(args.scenario).stem
    out = sensitivity_path(args.out or f"{stem}-sensitivity.csv")
    guard_file(out, inputs=[args.scenario, args.plan])
    try:
        df = sensitivity(sc, plan, featured=args.featured, launch_earlier=not args.no_launch_earlier,
                         resolve_time_limit=args.resolve_time_limit, time_limit=args.time_limit, mip_gap=args.gap,
                         threads=args.threads, seed=args.seed)
    except NoPlanError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_NO_PLAN
    path = write_sensitivity(df, out, inputs=[args.scenario, args.plan])
    binding = df[df["binding"] & (df["value"].fillna(0) > 0)]
    print(f"{len(df)} rows, {len(binding)} binding with a positive value; written to {path}")
    for r in binding.sort_values("value", ascending=False).head(10).itertuples():
        print(f"  {r.kind:<15} {r.key:<24} {r.value:>12,.2f}  {r.unit}")
    print(f"note: {NOTES}")
    return EXIT_OK
