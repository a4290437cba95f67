"""``optsupply compare``: plans side by side (KPIs with Δ and Δ%), the launches moved and the lanes switched.

The tables are :func:`optsupply.plan.compare.compare` and
:func:`~optsupply.plan.compare.compare_details`; this module parses the
arguments and prints them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from optsupply.cli.common import exits_on_bad_input
from optsupply.errors import EXIT_OK, UsageError
from optsupply.files import guard_file
from optsupply.plan.compare import (compare, compare_details, fmt_value, format_kpi_table, load_plan, plan_names,
                                    unique_names, write_csv)
from optsupply.plan.core import Plan
from optsupply.plan.diff import diff, short_text

_CLI_EXAMPLES = """\
examples:
  optsupply compare base-plan price-plan
                          KPIs side by side, launches moved, lanes switched
  optsupply compare base-plan a-plan b-plan --names base,A,B --out kpis.csv
                          three plans; write the KPI table as CSV
  optsupply compare base-plan price-plan --details
                          also the launch, lane and cost tables

exit codes: 0 ok, 2 bad input or usage (e.g. a folder that is not a plan folder)
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``compare`` sub-command on an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "compare", help="compare plans: KPIs side by side, launches moved, lanes switched",
        description="Compare two or more plan folders (written by `optsupply solve`). Prints the KPIs side by "
                    "side with the change of every plan against the first (Δ and Δ%), then the launches that "
                    "moved and the lanes switched on or off.",
        epilog=_CLI_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("plans", nargs="+", metavar="PLAN_DIR", help="plan folders; the first is the reference")
    p.add_argument("--names", metavar="A,B,...", help="comma-separated column names, one per plan "
                                                       "(default: the folder names)")
    p.add_argument("--out", metavar="FILE.csv", help="also write the KPI table (with Δ and Δ%%) as CSV")
    p.add_argument("--details", action="store_true", help="also print the launch, lane and cost tables")
    p.set_defaults(func=run)
    return p


@exits_on_bad_input
def run(args: argparse.Namespace) -> int:
    """Handle ``optsupply compare``; returns the exit code (0 ok, 2 bad input)."""
    paths = list(args.plans)
    if len(paths) < 2:
        raise UsageError(f"compare needs at least 2 plan folders, got {len(paths)}")
    plans = [load_plan(p) for p in paths]
    names = plan_names(plans, args.names) if args.names else unique_names([Path(p).name or str(p) for p in paths])
    out = Path(args.out) if args.out else None
    if out is not None:
        guard_file(out, inputs=paths)   # before the work: never into a plan folder read, never over an input
    table = compare(plans, names)
    print(format_kpi_table(table))
    print()
    print(_format_changes(plans, names))
    if args.details:
        details = compare_details(plans, names)
        for title, df in details.items():
            print()
            print(f"{title}:")
            print(_format_detail(title, df))
    if out is not None:
        write_csv(table, out, inputs=paths)
        print(f"\nKPI table written to {out}")
    return EXIT_OK


#: How each launch or lane change of :func:`optsupply.plan.diff.diff` is told: what it is → (section, text).
_CHANGES = {
    "launch_moved": ("launches", lambda r: f"{r.key} {short_text(r.old)} → {short_text(r.new)}"),
    "launch_added": ("launches", lambda r: f"{r.key} launched in {short_text(r.new)} (was not launched)"),
    "launch_dropped": ("launches", lambda r: f"{r.key} not launched (was {short_text(r.old)})"),
    "lane_switched_off": ("lanes", lambda r: f"{r.key} off in period{'s' * (r.delta != -1)} {r.old}"),
    "lane_switched_on": ("lanes", lambda r: f"{r.key} on in period{'s' * (r.delta != 1)} {r.new}"),
}


def _format_changes(plans: Sequence[Plan], names: Sequence[str]) -> str:
    ref = names[0]
    lines: dict[str, list[str]] = {"launches": [], "lanes": []}
    for plan, name in zip(plans[1:], names[1:], strict=True):
        changes: dict[str, list[str]] = {"launches": [], "lanes": []}
        for r in diff(plans[0], plan).itertuples(index=False):
            if r.what in _CHANGES:
                section, tell = _CHANGES[r.what]
                changes[section].append(tell(r))
        for section, told in changes.items():
            lines[section].append(f"  {name}: {'; '.join(told) if told else 'no change'}")
    return "\n".join([f"launches moved (vs {ref}):", *lines["launches"], f"lanes switched (vs {ref}):", *lines["lanes"]])


def _format_detail(title: str, df: pd.DataFrame) -> str:
    if df.empty:
        return "  (none)"
    if title == "launches":
        shown = df.astype(object).where(df.notna(), "")
    elif title == "costs":
        shown = df.apply(lambda s: [fmt_value("money", None if pd.isna(v) else float(v)) for v in s])
    else:
        shown = df
    return shown.to_string()
