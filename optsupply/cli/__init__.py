"""The ``optsupply`` command line: a thin layer over the Python API.

One module per sub-command (``validate``, ``generate``, ``solve``,
``forecast``, ``compare``, ``whatif``, ``sensitivity``, ``bench``,
``schema``), each with ``add_parser(subparsers)`` and ``run(args)``: it
parses its arguments, calls one API function and prints or writes the
result. This module holds the top parser and :func:`main`, the one place that
turns errors into messages and exit codes (optsupply.errors, SPEC §5): 0
success, 1 no plan, 2 bad input or usage, 130 Ctrl-C. Errors are printed as
one message per problem; ``--debug`` shows the traceback of an unexpected
error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from typing import Sequence

from optsupply.cli import bench, compare, forecast, generate, schema, sensitivity, solve, validate, whatif
from optsupply.cli.common import Command, bad_input
from optsupply.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_NO_PLAN, EXIT_OK, OptsupplyError
from optsupply.optimizer.arguments import check_solver_args

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

#: The commands whose --time-limit, --gap, --threads, --seed (optsupply.optimizer.arguments.SOLVER_OPTIONS) go to HiGHS.
SOLVER_COMMANDS = ("solve", "whatif", "sensitivity", "bench")
#: The sub-commands in the order of ``optsupply --help``.
COMMANDS = (validate, generate, solve, forecast, compare, whatif, sensitivity, bench, schema)


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
    for command in COMMANDS:
        command.add_parser(sub)
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
    return run_command(args.func, args)


def run_command(func: Command, args: argparse.Namespace) -> int:
    """``func(args)`` with every error turned into a message and an exit code (the solver options checked first)."""
    try:
        if args.command in SOLVER_COMMANDS:
            check_solver_args(args)
        return func(args)
    except OptsupplyError as exc:
        return bad_input(exc)
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
        return EXIT_INTERRUPTED
    except Exception as exc:  # never show a planner a traceback unless asked
        if args.debug:
            traceback.print_exc()
        else:
            print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return EXIT_NO_PLAN


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
