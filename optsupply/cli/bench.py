"""``optsupply bench``: the benchmark suite (optsupply.bench), every size and shipped instance phase by phase."""

from __future__ import annotations

import argparse
from typing import Any

from optsupply.bench.arguments import add_bench_arguments


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("bench", help="the benchmark suite: every generator size and shipped instance, phase by phase",
                       description="Run generated sizes and shipped instances, each in a fresh process, and time "
                                   "every phase (load, validate, siloed baseline, build, transfer to HiGHS, solve, "
                                   "extract, check) with wall and CPU seconds, peak memory, model size, status, "
                                   "gap and the uplift over the siloed baseline. Writes bench.csv and bench.md "
                                   "(with the growth curve of time and memory against model size) to --out. "
                                   "The shipped instances are those of the source checkout optsupply runs from; "
                                   "an installed package runs the generated sizes and scenario folders given by "
                                   "path. Exit 0 when every spec ran, 1 when one failed (recorded with status "
                                   "error), 2 for bad usage.",
                       epilog="examples:\n"
                              "  optsupply bench --sizes tiny xsmall small --time-limit 60\n"
                              "  optsupply bench --instances cap41 ww_example_3_9 --out my-bench\n"
                              "  optsupply bench --sizes tiny small medium large xlarge --no-solve\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_bench_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """0 every spec ran, 1 some spec failed (recorded in the results), 2 bad usage."""
    from optsupply.bench.suite import run_from_args

    return run_from_args(args)
