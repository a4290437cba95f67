"""``optsupply schema``: print (or write into a README) the scenario format reference."""

from __future__ import annotations

import argparse
from typing import Any

from optsupply.errors import EXIT_OK


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("schema", help="print the scenario format reference (every table, column and setting)",
                       description="Print the scenario format reference as Markdown: every setting of scenario.toml "
                                   "and every column of every table, with type, unit, default and allowed values.")
    p.add_argument("--write", metavar="README", help="replace the reference between the markers in this file")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from optsupply.scenario.schema import format_reference, write_reference

    if args.write:
        write_reference(args.write)
        print(f"updated the format reference in {args.write}")
    else:
        print(format_reference(), end="")
    return EXIT_OK
