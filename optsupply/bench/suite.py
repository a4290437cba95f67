"""The benchmark suite: every generator size and every shipped instance, phase by phase.

``optsupply bench`` runs it from any folder, also after a plain ``pip install``
(``python -m benchmarks``, from a source checkout, takes the same arguments)::

    optsupply bench                                  # everything: sizes tiny … xlarge (seed 1) + instances/*
    optsupply bench --sizes tiny xsmall small --instances cap41 ww_example_3_9 --time-limit 60
    optsupply bench --sizes tiny small medium large xlarge --no-solve     # growth curve of build/transfer/memory
    optsupply bench --list                           # the registry, nothing run

Every spec (a generated size and seed, or a scenario folder) runs in a fresh
Python process, so its peak RSS is its own. The child imports everything
first (import time is not part of any phase), then times, each with a wall
clock and a CPU clock (the process's CPU, all threads):

``load``
    generating the tables (generated specs) or reading the files (instances);
``validate``
    the loader's checks and typing (what :meth:`Scenario.load` does after reading);
``baseline``
    the siloed baseline (:func:`optsupply.baselines.siloed.siloed_plan`), its profit
    is compared with the joint plan's (not part of the total);
``build``
    :func:`optsupply.model.prepare` + :func:`optsupply.model.build_model`;
``transfer``
    ``Highs.set_instance`` of Pyomo's contrib interface (automatic updates
    switched off, as in :class:`optsupply.analysis.whatif.WhatIf`, so that the solve
    after it does not scan the model again);
``solve``
    HiGHS (``run``) and mapping its termination to optsupply's status;
``extract``
    loading the incumbent's values and :func:`optsupply.optimizer.optimize.finish_plan`;
``check``
    :func:`optsupply.plan.check.check_plan` (not part of the total).

``total`` is load + validate + build + transfer + solve + extract: the time
``optsupply solve`` needs to a plan. With ``--method decompose`` or ``auto``
(when :func:`optsupply.optimizer.optimize.solve` accepts ``method``) the ``solve`` phase
is one call of that function, with its own build inside; build, transfer and
extract are then empty and so is the model size.

A spec whose solve runs longer than ``--time-limit`` + ``--margin``, any
other phase longer than ``--phase-timeout``, or whose resident memory grows
past ``--max-memory`` GB (default: 90 % of the memory available when it
starts, so that the machine never runs out), is killed and recorded with
status ``error``; so is one that fails. The suite always continues.

Results: ``bench.csv`` (one row per spec, every measurement) and ``bench.md``
(one table, plus the growth curve: time and memory against model size with
fitted log-log slopes) in ``--out`` (default ``benchmarks/results/bench/`` of
the source checkout optsupply runs from, else ``optsupply-bench/`` in the
current folder), rewritten after every spec. See ``benchmarks/README.md`` for
the columns. The shipped instances (``instances/``) come with a source
checkout; an installed package runs the generated sizes and scenario folders
given by path.

The parts: :mod:`~optsupply.bench.specs` (the registry),
:mod:`~optsupply.bench.arguments` (the command-line arguments),
:mod:`~optsupply.bench.measure` with :mod:`~optsupply.bench.phases` and
:mod:`~optsupply.bench.mip` (one spec measured, in the child),
:mod:`~optsupply.bench.runner` (the children, watched),
:mod:`~optsupply.bench.report` (bench.csv, bench.md, the growth curve) and
this module (the command).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from optsupply.bench.arguments import add_bench_arguments, command_text, options_from_args
from optsupply.bench.report import check_out
from optsupply.bench.runner import run_suite
from optsupply.bench.specs import DEFAULT_OUT, check_method, select_specs
from optsupply.errors import EXIT_BAD_INPUT, EXIT_OK, OptsupplyError
from optsupply.optimizer.arguments import check_solver_args


def run_from_args(args: argparse.Namespace, prog: str = "optsupply bench") -> int:
    """The ``optsupply bench`` / ``python -m benchmarks`` command: 0 when every spec ran, 1 when one failed."""
    check_solver_args(args)
    specs = select_specs(args.sizes, args.seeds, args.instances)
    if args.list:
        for s in specs:
            print(f"{s.name:<28} {s.kind:<10} {s.path or f'size {s.size}, seed {s.seed}'}")
        return EXIT_OK
    opts = options_from_args(args)
    if opts.solve:
        check_method(opts.method)
    out = Path(args.out) if args.out else DEFAULT_OUT
    out = check_out(out, [s.path for s in specs if s.path])
    rows = run_suite(specs, opts, out, command=command_text(args, prog), progress=not args.quiet)
    failed = [r["spec"] for r in rows if r.get("status") == "error"]
    print(f"{len(rows)} spec(s) run, {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}; "
          f"results in {out / 'bench.csv'} and {out / 'bench.md'}")
    return 1 if failed else EXIT_OK  # 1: a spec failed (recorded in the results with status error)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks`` (the same arguments as ``optsupply bench``)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_bench_arguments(parser)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return run_from_args(args, prog="python -m benchmarks")
    except OptsupplyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
