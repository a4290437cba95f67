"""The arguments of the benchmark suite (``optsupply bench`` and ``python -m benchmarks`` take the same)."""

from __future__ import annotations

import argparse
import shlex

from optsupply.bench.specs import INSTANCE_NAMES, INSTANCES, Options
from optsupply.errors import UsageError
from optsupply.scenario.generate_params import SIZES as GENERATOR_SIZES


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``optsupply bench`` (also used by ``python -m benchmarks``)."""
    p.add_argument("--sizes", nargs="+", metavar="SIZE", choices=[*GENERATOR_SIZES, "all"],
                   help=f"generator sizes to run ({', '.join(GENERATOR_SIZES)}, or all)")
    p.add_argument("--seeds", nargs="+", type=int, metavar="N", help="generator seeds of each size (default 1)")
    shipped = (f"shipped instances ({' '.join(INSTANCE_NAMES)}, or all) or paths of scenario folders"
               if INSTANCES is not None else
               "paths of scenario folders (the shipped instances, by name, need a source checkout)")
    p.add_argument("--instances", nargs="+", metavar="NAME",
                   help=f"{shipped}; without --sizes and --instances, every size (seed 1) and every shipped "
                        "instance run")
    p.add_argument("--time-limit", type=float, default=300.0, metavar="S", help="seconds per solve (default 300)")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="HiGHS threads (default 1; 0 = HiGHS default)")
    p.add_argument("--gap", type=float, metavar="G", help="relative MIP gap (default: each scenario's)")
    p.add_argument("--method", choices=["mip", "decompose", "auto"], default="mip",
                   help="solve method passed to optsupply.optimizer.optimize.solve when it has one (default mip)")
    p.add_argument("--no-solve", action="store_true",
                   help="build and transfer only (the growth curve of build, transfer and memory)")
    p.add_argument("--out", metavar="DIR", help="folder for bench.csv and bench.md (default: benchmarks/results/bench "
                                                "of the source checkout optsupply runs from; for an installed "
                                                "package, optsupply-bench in the current folder)")
    p.add_argument("--margin", type=float, default=120.0, metavar="S",
                   help="a spec whose solve runs past time limit + S seconds is killed (default 120)")
    p.add_argument("--phase-timeout", type=float, default=3600.0, metavar="S",
                   help="a spec whose load, build, transfer, ... phase runs past S seconds is killed (default 3600)")
    p.add_argument("--max-memory", type=float, metavar="GB",
                   help="a spec whose resident memory passes GB is killed (default: 90%% of the memory available "
                        "when it starts; 0 = no limit)")
    p.add_argument("--list", action="store_true", help="list the selected specs and exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def options_from_args(args: argparse.Namespace) -> Options:
    if args.time_limit is not None and args.time_limit <= 0:
        raise UsageError("--time-limit must be positive")
    if args.threads is not None and args.threads < 0:
        raise UsageError("--threads must be 0 (HiGHS default) or more")
    if args.max_memory is not None and args.max_memory < 0:
        raise UsageError("--max-memory must be 0 (no limit) or more")
    return Options(time_limit=float(args.time_limit), threads=int(args.threads), gap=args.gap, method=args.method,
                   solve=not args.no_solve, margin=float(args.margin), phase_timeout=float(args.phase_timeout),
                   max_memory_gb=args.max_memory)


def command_text(args: argparse.Namespace, prog: str = "optsupply bench") -> str:
    """The command line that reproduces ``args`` (for the summary)."""
    parts = [prog]
    for flag, value in (("--sizes", args.sizes), ("--seeds", args.seeds), ("--instances", args.instances)):
        if value:
            parts += [flag, *(shlex.quote(str(v)) for v in value)]
    for flag, value, default in (("--time-limit", args.time_limit, 300.0), ("--threads", args.threads, 1),
                                 ("--gap", args.gap, None), ("--method", args.method, "mip"),
                                 ("--margin", args.margin, 120.0), ("--phase-timeout", args.phase_timeout, 3600.0),
                                 ("--max-memory", args.max_memory, None)):
        if value != default:
            parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if args.no_solve:
        parts.append("--no-solve")
    if args.out:
        parts += ["--out", shlex.quote(str(args.out))]
    return " ".join(parts)
