"""The ``optsupply`` command line: a thin layer over the Python API.

Each sub-command parses its arguments, calls one API function and prints or
writes the result. Exit codes (SPEC §5): 0 success, 1 no plan, 2 bad input or
usage. Errors are printed as one message per problem; ``--debug`` shows the
traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from optsupply.errors import OptsupplyError, ScenarioError, UsageError

EXIT_OK, EXIT_NO_PLAN, EXIT_BAD_INPUT = 0, 1, 2

_EPILOG = """\
examples:
  optsupply validate instances/small          check a scenario, list every problem
  optsupply solve instances/tiny --out plan   plan it and write the plan folder
  optsupply whatif instances/small --set 'products.price[P01]=*0.9'
                                               solve a variant next to the base, KPI deltas
  optsupply whatif instances/small --sweep grid.toml --workers 2
                                               many variants in parallel, one results table
  optsupply compare base-plan variant-plan     KPIs side by side with deltas, launches moved
  optsupply sensitivity instances/tiny --out tiny-sensitivity.csv
                                               shadow prices of capacities, budgets, slots
  optsupply forecast instances/medium --out medium-fc
                                               forecasts from history, with backtests
  optsupply generate --size small --seed 1 my-scenario
                                               write a realistic synthetic scenario
  optsupply bench --sizes tiny small --instances cap41 --time-limit 60
                                               the benchmark suite: time, memory, size per phase

A scenario is a folder with scenario.toml and CSV tables, or one .xlsx
workbook; see the README's format reference.
exit codes: 0 ok, 1 no plan, 2 bad input or usage, 130 interrupted by Ctrl-C before
  a result (during a solve, Ctrl-C stops HiGHS and keeps its best plan: exit 0)
"""

#: command-line options checked by the rule of a scenario.toml [solver] setting (optsupply.scenario.checks.setting_problem)
SOLVER_OPTIONS = {"time_limit": ("--time-limit", "solver.time_limit"),
                  "resolve_time_limit": ("--resolve-time-limit", "solver.time_limit"),
                  "gap": ("--gap", "solver.mip_gap"), "threads": ("--threads", "solver.threads"),
                  "seed": ("--seed", "solver.seed")}
SOLVER_COMMANDS = ("solve", "whatif", "sensitivity", "bench")  # the commands whose options above go to HiGHS


def check_solver_args(args: argparse.Namespace) -> None:
    """Refuse (:class:`UsageError`, every problem in one line) solver options that scenario.toml would refuse."""
    from optsupply.scenario.checks import setting_problem

    problems = []
    for dest, (flag, key) in SOLVER_OPTIONS.items():
        value = getattr(args, dest, None)
        if value is not None:
            problem = setting_problem(key, value)[1]
            if problem:
                problems.append(f"{flag} {value:g}: {problem}")
    if problems:
        raise UsageError("; ".join(problems))


def _cmd_validate(args: argparse.Namespace) -> int:
    from optsupply.scenario.core import validate

    report = validate(args.scenario)
    if report.problems:
        print(report.format(max_per_kind=args.max_per_kind), file=sys.stderr if report.errors else sys.stdout)
    if report.errors:
        return EXIT_BAD_INPUT
    print(f"{args.scenario}: valid ({len(report.warnings)} warning{'s' * (len(report.warnings) != 1)})")
    return EXIT_OK


def _cmd_generate(args: argparse.Namespace) -> int:
    from optsupply.files import guard_folder
    from optsupply.scenario.generate import generate

    guard_folder(args.out, kind="scenario", force=args.force, what="OUT")
    scenario = generate(args.size, seed=args.seed, profile=args.profile)
    path = scenario.save(args.out, overwrite=args.force)
    profile = "" if args.profile == "business" else f", profile {args.profile}"
    print(f"wrote {args.size} scenario (seed {args.seed}{profile}) to {path}: {scenario!r}")
    return EXIT_OK


def _cmd_solve(args: argparse.Namespace) -> int:
    from optsupply.files import guard_folder
    from optsupply.optimizer.optimize import solve
    from optsupply.scenario.core import Scenario

    scenario = Scenario.load(args.scenario)
    for w in scenario.warnings:
        print(w, file=sys.stderr)
    out = Path(args.out) if args.out else Path(f"{Path(args.scenario).stem}-plan")
    # an old plan folder is replaced; a folder optsupply did not write, an input, the current folder: never
    guard_folder(out, kind="plan", inputs=[args.scenario], force=args.force, replace_same_kind=True)
    print(f"solving {scenario!r}", file=sys.stderr)
    plan = solve(scenario, method=args.method, time_limit=args.time_limit, mip_gap=args.gap, threads=args.threads,
                 seed=args.seed, log=None if args.quiet else sys.stderr)
    k = plan.kpis
    # "interrupted": Ctrl-C stopped HiGHS; its incumbent is a plan like a time-limited one (exit 0)
    if k["status"] not in ("optimal", "time_limit", "interrupted") or k.get("profit") is None:
        causes = k.get("causes") or []
        if causes:  # an infeasible scenario: the conflicting inputs, one per line (optsupply.optimizer.explain)
            print("no plan: the scenario has no feasible plan; the conflicting inputs:", file=sys.stderr)
            for c in causes:
                print(f"  {c['text'] if isinstance(c, dict) else c}", file=sys.stderr)
            for c in k.get("involved") or []:
                print(f"  also involved: {c['text'] if isinstance(c, dict) else c}", file=sys.stderr)
        else:
            print(f"no plan: the solver reported '{k['status']}' ({k.get('message', '')})", file=sys.stderr)
        return EXIT_NO_PLAN
    plan.save(out, overwrite=True)
    gap, bound = k.get("mip_gap"), k.get("best_bound")
    print(f"{k['status']}: profit {k['profit']:,.2f}{'' if bound is None else f', best bound {bound:,.2f}'}"
          f"{'' if gap is None else f', gap {gap:.4%}'}; {k['launched']} launches, fill rate {k['fill_rate']:.1%}; "
          f"plan written to {out}")
    return EXIT_OK


def _cmd_forecast(args: argparse.Namespace) -> int:
    from optsupply.files import guard_folder
    from optsupply.forecasting import forecast
    from optsupply.scenario.core import Scenario

    scenario = Scenario.load(args.scenario)
    for w in scenario.warnings:
        print(w, file=sys.stderr)
    if scenario.history.empty:
        raise UsageError(f"{args.scenario} has no history.csv rows: there is nothing to forecast from")
    out = Path(args.out) if args.out else Path(f"{Path(args.scenario).stem}-forecast")
    guard_folder(out, kind="forecast", inputs=[args.scenario], force=args.force)
    print(f"forecasting {scenario!r}", file=sys.stderr)
    fc = forecast(scenario, season_length=args.season_length, backtest=not args.no_backtest,
                  progress=None if args.quiet else (lambda msg: print(f"  {msg}", file=sys.stderr)))
    path = fc.save(out, force=args.force)
    for n in fc.notes.itertuples():
        where = "history.csv" + ("" if _isna(n.row) else f", row {int(n.row)}")
        print(f"note: {where}, {n.product}: {n.message}", file=sys.stderr)
    if not args.no_backtest:
        print(fc.summary())
    print(f"forecast scenario written to {path} (reports in {path / 'forecast'}); "
          f"plan it with: optsupply solve {path}")
    return EXIT_OK


def _isna(value: object) -> bool:
    return value is None or value != value or str(value) == "<NA>"


def _cmd_schema(args: argparse.Namespace) -> int:
    from optsupply.scenario.schema import format_reference, write_reference

    if args.write:
        write_reference(args.write)
        print(f"updated the format reference in {args.write}")
    else:
        print(format_reference(), end="")
    return EXIT_OK


def _add_sensitivity(sub: Any) -> None:
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
    p.set_defaults(func=_cmd_sensitivity)


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    """0 ok, 1 no plan (raises UsageError/ScenarioError for bad input)."""
    from optsupply.plan.compare import load_plan
    from optsupply.files import guard_file
    from optsupply.scenario.core import Scenario
    from optsupply.analysis.sensitivity import NOTES, NoPlanError, sensitivity, sensitivity_path, write_sensitivity

    sc = Scenario.load(args.scenario)
    for w in sc.warnings:
        print(w, file=sys.stderr)
    plan = None
    if args.plan:
        plan = load_plan(args.plan)  # a folder that is not a readable plan: one clear line, exit 2
        if plan.kpis.get("profit") is None:
            print(f"no plan in {args.plan}: it records status '{plan.status}'", file=sys.stderr)
            return 1
    stem = Path(args.plan).name if args.plan else Path(args.scenario).stem
    out = sensitivity_path(args.out or f"{stem}-sensitivity.csv")
    guard_file(out, inputs=[args.scenario, args.plan])
    try:
        df = sensitivity(sc, plan, featured=args.featured, launch_earlier=not args.no_launch_earlier,
                         resolve_time_limit=args.resolve_time_limit, time_limit=args.time_limit, mip_gap=args.gap,
                         threads=args.threads, seed=args.seed)
    except NoPlanError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    path = write_sensitivity(df, out, inputs=[args.scenario, args.plan])
    binding = df[df["binding"] & (df["value"].fillna(0) > 0)]
    print(f"{len(df)} rows, {len(binding)} binding with a positive value; written to {path}")
    for r in binding.sort_values("value", ascending=False).head(10).itertuples():
        print(f"  {r.kind:<15} {r.key:<24} {r.value:>12,.2f}  {r.unit}")
    print(f"note: {NOTES}")
    return 0


#: Generator sizes (optsupply.scenario.generate_params.SIZES; listed here so that building the parser imports nothing heavy).
GENERATOR_SIZES = ("tiny", "xsmall", "small", "medium", "large", "xlarge")
#: Generator profiles (optsupply.scenario.generate_params.PROFILES, the default first).
GENERATOR_PROFILES = ("business", "stress")


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``optsupply bench`` (also used by ``python -m benchmarks``)."""
    p.add_argument("--sizes", nargs="+", metavar="SIZE", choices=[*GENERATOR_SIZES, "all"],
                   help=f"generator sizes to run ({', '.join(GENERATOR_SIZES)}, or all)")
    p.add_argument("--seeds", nargs="+", type=int, metavar="N", help="generator seeds of each size (default 1)")
    p.add_argument("--instances", nargs="+", metavar="NAME",
                   help="shipped instances (cap41 cap71 cap101 cap131 spp_12period ww_example_3_9 tiny small "
                        "medium large, or all) or paths of scenario folders; without --sizes and --instances, "
                        "every size (seed 1) and every shipped instance run")
    p.add_argument("--time-limit", type=float, default=300.0, metavar="S", help="seconds per solve (default 300)")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="HiGHS threads (default 1; 0 = HiGHS default)")
    p.add_argument("--gap", type=float, metavar="G", help="relative MIP gap (default: each scenario's)")
    p.add_argument("--method", choices=["mip", "decompose", "auto"], default="mip",
                   help="solve method passed to optsupply.optimizer.optimize.solve when it has one (default mip)")
    p.add_argument("--no-solve", action="store_true",
                   help="build and transfer only (the growth curve of build, transfer and memory)")
    p.add_argument("--out", metavar="DIR", help="folder for bench.csv and bench.md (default benchmarks/results/bench)")
    p.add_argument("--margin", type=float, default=120.0, metavar="S",
                   help="a spec whose solve runs past time limit + S seconds is killed (default 120)")
    p.add_argument("--phase-timeout", type=float, default=3600.0, metavar="S",
                   help="a spec whose load, build, transfer, ... phase runs past S seconds is killed (default 3600)")
    p.add_argument("--max-memory", type=float, metavar="GB",
                   help="a spec whose resident memory passes GB is killed (default: 90%% of the memory available "
                        "when it starts; 0 = no limit)")
    p.add_argument("--list", action="store_true", help="list the selected specs and exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _cmd_bench(args: argparse.Namespace) -> int:
    """0 every spec ran, 1 some spec failed (recorded in the results), 2 bad usage."""
    from optsupply.bench.suite import run_from_args

    return run_from_args(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optsupply",
        description="Plan launches, stock, advertising and routes for new products together.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check a scenario and list every problem at once",
                       description="Check a scenario folder or .xlsx workbook. Every problem is listed with "
                                   "its file, row (header = row 1), column and what is wrong. "
                                   "Exit 0 if valid (warnings allowed), 2 if it has errors.")
    p.add_argument("scenario", help="scenario folder (scenario.toml + CSV) or .xlsx workbook")
    p.add_argument("--max-per-kind", type=int, default=20, metavar="N",
                   help="show at most N rows of each kind of problem (default 20; the rest are counted)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("generate", help="write a synthetic scenario of a given size",
                       description="Write a realistic synthetic scenario (with history) to OUT. The same size, "
                                   "seed and profile always give the same files, byte for byte.")
    p.add_argument("--size", choices=list(GENERATOR_SIZES), required=True,
                   help="tiny 3 products, xsmall 6, small 12, medium 60, large 250, xlarge 1000 "
                        "(exact sizes in the README)")
    p.add_argument("--seed", type=int, required=True, help="random seed (a whole number)")
    p.add_argument("--profile", choices=list(GENERATOR_PROFILES), default=GENERATOR_PROFILES[0],
                   help="business (default): economics a business would recognise; stress: the earlier, "
                        "harder generator, for hard benchmark cases (instances/GENERATED.md)")
    p.add_argument("out", help="folder to write (must not exist, or be empty, unless --force)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("solve", help="plan launches, stock, ads and routes for a scenario",
                       description="Build and solve the joint plan with HiGHS and write the plan folder "
                                   "(kpis.json and one CSV per table). Progress (incumbent and bound) is "
                                   "shown as HiGHS reports it. Ctrl-C stops the solver and writes the best plan "
                                   "found so far (status interrupted). Exit 0 with a plan (optimal, time-limited "
                                   "or interrupted), 1 when no plan exists, 2 for bad input.")
    p.add_argument("scenario", help="scenario folder or .xlsx workbook")
    p.add_argument("--out", metavar="DIR", help="plan folder to write (default: SCENARIO-plan next to the current folder)")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds (default: scenario's [solver] time_limit, else 300)")
    p.add_argument("--gap", type=float, metavar="G", help="relative MIP gap to stop at (default: scenario's, else 0.005)")
    p.add_argument("--threads", type=int, metavar="N", help="solver threads (0 = HiGHS default)")
    p.add_argument("--seed", type=int, metavar="N", help="solver random seed")
    p.add_argument("--method", choices=("mip", "decompose", "auto"), default="auto",
                   help="mip: one joint MIP; decompose: product groups in turn, the rest fixed, with a valid "
                        "bound (for large scenarios); auto (default): decompose from 100 products on")
    p.add_argument("--force", action="store_true", help="replace --out even if it is not a plan folder")
    p.add_argument("-q", "--quiet", action="store_true", help="do not show the solver's progress log")
    p.set_defaults(func=_cmd_solve)

    p = sub.add_parser("forecast", help="forecast demand, launch curves, seasonality and ad response from history",
                       description="Turn history.csv into demand.csv (active products), launch_curve.csv (new "
                                   "products, from analogs with Bass curves), seasonality.csv and response.csv "
                                   "(where history has ad spend). Writes a complete scenario folder with the "
                                   "forecast in place, plus reports in OUT/forecast/ (bass_fits.csv, "
                                   "forecast_explain.csv, response_fits.csv, backtest.csv, notes.csv), and prints "
                                   "the backtest summary. The input scenario is never modified.")
    p.add_argument("scenario", help="scenario folder or .xlsx workbook with history.csv")
    p.add_argument("--out", metavar="DIR", help="folder to write (default: SCENARIO-forecast in the current folder); "
                                                 "never the scenario's own folder")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--season-length", type=int, metavar="L",
                   help="periods per seasonal cycle (default from [horizon] freq: weekly 52, monthly 12, ...)")
    p.add_argument("--no-backtest", action="store_true", help="skip the backtests (faster)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not show progress")
    p.set_defaults(func=_cmd_forecast)

    from optsupply.plan.compare import add_parser as add_compare
    from optsupply.analysis.sweep import add_parser as add_whatif

    add_compare(sub)
    add_whatif(sub)
    _add_sensitivity(sub)

    p = sub.add_parser("bench", help="the benchmark suite: every generator size and shipped instance, phase by phase",
                       description="Run generated sizes and shipped instances, each in a fresh process, and time "
                                   "every phase (load, validate, siloed baseline, build, transfer to HiGHS, solve, "
                                   "extract, check) with wall and CPU seconds, peak memory, model size, status, "
                                   "gap and the uplift over the siloed baseline. Writes bench.csv and bench.md "
                                   "(with the growth curve of time and memory against model size) to --out. "
                                   "Needs a source checkout (benchmarks/). Exit 0 when every spec ran, 1 when "
                                   "one failed (recorded with status error), 2 for bad usage.",
                       epilog="examples:\n"
                              "  optsupply bench --sizes tiny xsmall small --time-limit 60\n"
                              "  optsupply bench --instances cap41 ww_example_3_9 --out my-bench\n"
                              "  optsupply bench --sizes tiny small medium large xlarge --no-solve\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_bench_arguments(p)
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("schema", help="print the scenario format reference (every table, column and setting)",
                       description="Print the scenario format reference as Markdown: every setting of scenario.toml "
                                   "and every column of every table, with type, unit, default and allowed values.")
    p.add_argument("--write", metavar="README", help="replace the reference between the markers in this file")
    p.set_defaults(func=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        if args.command in SOLVER_COMMANDS:
            check_solver_args(args)
        return func(args)
    except ScenarioError as exc:
        print(exc.report.format(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except OptsupplyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader went away (`optsupply validate x | head`): nothing more to say
        try:  # Python flushes stdout at exit: point it at devnull so that flush does not fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # not a real file (captured output)
            pass
        return EXIT_OK
    except KeyboardInterrupt:  # outside a solve (during one, Ctrl-C stops HiGHS and the plan is kept)
        print("interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except Exception as exc:  # never show a planner a traceback unless asked
        if args.debug:
            traceback.print_exc()
        else:
            print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return EXIT_NO_PLAN


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
