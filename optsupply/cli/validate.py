"""``optsupply validate``: check a scenario and list every problem at once."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from optsupply.errors import EXIT_BAD_INPUT, EXIT_OK


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("validate", help="check a scenario and list every problem at once",
                       description="Check a scenario folder or .xlsx workbook. Every problem is listed with "
                                   "its file, row (header = row 1), column and what is wrong. "
                                   "Exit 0 if valid (warnings allowed), 2 if it has errors.")
    p.add_argument("scenario", help="scenario folder (scenario.toml + CSV) or .xlsx workbook")
    p.add_argument("--max-per-kind", type=int, default=20, metavar="N",
                   help="show at most N rows of each kind of problem (default 20; the rest are counted)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from optsupply.scenario.core import validate

    report = validate(args.scenario)
    if report.problems:
        print(report.format(max_per_kind=args.max_per_kind), file=sys.stderr if report.errors else sys.stdout)
    if report.errors:
        return EXIT_BAD_INPUT
    print(f"{args.scenario}: valid ({len(report.warnings)} warning{'s' * (len(report.warnings) != 1)})")
    return EXIT_OK
