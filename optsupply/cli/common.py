"""What every command of the command line shares: bad input as one message and exit 2, a scenario with its warnings."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any, Callable

from optsupply.errors import EXIT_BAD_INPUT, OptsupplyError, ScenarioError

Command = Callable[[argparse.Namespace], int]


def bad_input(exc: OptsupplyError) -> int:
    """Print an optsupply error for the user (a scenario's report, else ``error: ...``); return exit code 2."""
    if isinstance(exc, ScenarioError):
        print(exc.report.format(), file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT


def exits_on_bad_input(command: Command) -> Command:
    """``command`` returning exit code 2 (with :func:`bad_input`'s message) where it would raise an
    :class:`OptsupplyError`: problems are printed, never raised, also when it is called without :func:`main`."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except OptsupplyError as exc:
            return bad_input(exc)

    return run


def out_path(args: argparse.Namespace, suffix: str) -> Path:
    """``--out`` when given, else ``SCENARIO-suffix`` in the current folder (the scenario's name without
    its folder or extension)."""
    return Path(args.out) if args.out else Path(f"{Path(args.scenario).stem}-{suffix}")


def load_scenario(path: Any) -> Any:
    """:meth:`Scenario.load` with its warnings printed to stderr, one per line."""
    from optsupply.scenario.core import Scenario

    scenario = Scenario.load(path)
    for w in scenario.warnings:
        print(w, file=sys.stderr)
    return scenario
