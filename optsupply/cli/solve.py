"""``optsupply solve``: plan launches, stock, ads and routes for a scenario and write the plan folder."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from optsupply.cli.common import load_scenario, out_path
from optsupply.errors import EXIT_NO_PLAN, EXIT_OK
from optsupply.plan.core import PLAN_STATUSES


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("solve", help="plan launches, stock, ads and routes for a scenario",
                       description="Build and solve the joint plan with HiGHS and write the plan folder "
                                   "(kpis.json and one CSV per table). With the search (method lns, the default "
                                   "from a few hundred product-periods on) a checked plan is written within "
                                   "seconds and replaced by each better one, so the folder always holds the best "
                                   "plan so far. Progress lines show the elapsed time, phase, profit, bound and "
                                   "gap. Ctrl-C stops and writes the best plan found so far (status "
                                   "interrupted). Exit 0 with a plan (optimal, time-limited or interrupted), 1 "
                                   "when no plan exists, 2 for bad input.")
    p.add_argument("scenario", help="scenario folder or .xlsx workbook")
    p.add_argument("--out", metavar="DIR", help="plan folder to write (default: SCENARIO-plan next to the current folder)")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds (default: scenario's [solver] time_limit, else 300)")
    p.add_argument("--gap", type=float, metavar="G", help="relative MIP gap to stop at (default: scenario's, else 0.005)")
    p.add_argument("--threads", type=int, metavar="N", help="solver threads (0 = HiGHS default)")
    p.add_argument("--seed", type=int, metavar="N", help="solver random seed")
    p.add_argument("--method", choices=("auto", "mip", "lns", "decompose"), default="auto",
                   help="auto (default): mip for small scenarios (up to 400 products x periods, 20 s or more), "
                        "lns otherwise; mip: one joint MIP (HiGHS finds and proves the plan); lns: the best "
                        "baseline plan first, then large-neighbourhood search on one model, HiGHS's bound from a "
                        "second process; decompose: product groups in turn with a Lagrangian bound")
    p.add_argument("--force", action="store_true", help="replace --out even if it is not a plan folder")
    p.add_argument("-q", "--quiet", action="store_true", help="do not show the solver's progress log")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from optsupply.files import guard_folder
    from optsupply.optimizer.optimize import solve

    scenario = load_scenario(args.scenario)
    out = out_path(args, "plan")
    # an old plan folder is replaced; a folder optsupply did not write, an input, the current folder: never
    guard_folder(out, kind="plan", inputs=[args.scenario], force=args.force, replace_same_kind=True)
    if not args.quiet:
        print(f"solving {scenario!r}", file=sys.stderr)

    def write(better: Any) -> None:  # each better plan replaces the folder at once: a stop never loses it
        better.save(out, overwrite=True)

    plan = solve(scenario, method=args.method, time_limit=args.time_limit, mip_gap=args.gap, threads=args.threads,
                 seed=args.seed, log=None if args.quiet else sys.stderr, on_plan=write)
    k = plan.kpis
    # "interrupted": Ctrl-C stopped HiGHS; its incumbent is a plan like a time-limited one (exit 0)
    if k["status"] not in PLAN_STATUSES or k.get("profit") is None:
        _no_plan(k)
        return EXIT_NO_PLAN
    plan.save(out, overwrite=True)
    gap, bound = k.get("mip_gap"), k.get("best_bound")
    print(f"{k['status']}: profit {k['profit']:,.2f}{'' if bound is None else f', best bound {bound:,.2f}'}"
          f"{'' if gap is None else f', gap {gap:.4%}'}; {k['launched']} launches, fill rate {k['fill_rate']:.1%}; "
          f"plan written to {out}")
    return EXIT_OK


def _no_plan(k: dict[str, Any]) -> None:
    """Why there is no plan, on stderr: the conflicting inputs of an infeasible scenario, else the solver's status."""
    causes = k.get("causes") or []
    if causes:  # an infeasible scenario: the conflicting inputs, one per line (optsupply.optimizer.explain)
        print("no plan: the scenario has no feasible plan; the conflicting inputs:", file=sys.stderr)
        for c in causes:
            print(f"  {c['text'] if isinstance(c, dict) else c}", file=sys.stderr)
        for c in k.get("involved") or []:
            print(f"  also involved: {c['text'] if isinstance(c, dict) else c}", file=sys.stderr)
    else:
        print(f"no plan: the solver reported '{k['status']}' ({k.get('message', '')})", file=sys.stderr)
