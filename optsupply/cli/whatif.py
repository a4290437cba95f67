"""``optsupply whatif``: solve what-if variants of a scenario (``--set``) or a whole sweep (``--sweep FILE``).

The work is :func:`optsupply.analysis.sweep.sweep`; this module parses the
arguments and prints the KPIs side by side (one variant) or the results table.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from optsupply.analysis.sweep import INVALID, sweep
from optsupply.cli.common import exits_on_bad_input, load_scenario, out_path
from optsupply.errors import EXIT_BAD_INPUT, EXIT_NO_PLAN, EXIT_OK, UsageError
from optsupply.files import guard_folder
from optsupply.plan.core import COST_KEYS, PLAN_STATUSES
from optsupply.scenario.changes import Variant, format_changes
from optsupply.scenario.sweep_file import load_sweep

_WHATIF_EPILOG = """\
examples:
  optsupply whatif instances/small --set "products.price[P01]=*0.9"
        solve the base scenario and the variant, print both KPIs with the differences
  optsupply whatif instances/small --set "advertising.total_budget=8000" \\
        --set "lanes.capacity[W1/R2]=*0.5" --out budget-vs-lanes
  optsupply whatif instances/small --sweep grid.toml --workers 2 --time-limit 60
        solve every variant of a sweep file in parallel, print the table (results.csv)

--set forms: TABLE.COLUMN[KEY]=VALUE (one row; multi-column keys as [P1/W2]),
TABLE.COLUMN=VALUE (every row), section.key=VALUE (a setting of scenario.toml).
Values: 24, *0.9 (factor), +5 / -5 (delta), inf, true/false, text.

sweep files: CSV (one variant per row; column `name` optional; every other header is
TABLE.COLUMN[KEY] or section.key; blank cell = unchanged) or TOML ([[variant]] tables
with name and set = ["EXPR=VALUE", ...], or a [grid] table of EXPR = [values...]
expanded as every combination).

exit codes: 0 a variant has a plan, 1 nothing could be planned, 2 bad input or usage
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``whatif`` sub-command (sets ``func`` to :func:`run`)."""
    p = subparsers.add_parser(
        "whatif", help="solve what-if variants of a scenario (--set) or a whole sweep (--sweep), compare KPIs",
        description="Change a scenario without editing its files and see what happens. With --set, the base "
                    "scenario and the changed one are solved side by side, their KPIs printed with the "
                    "differences and both plans written to --out (base/ and variant/). With --sweep FILE, "
                    "every variant of the file is solved in parallel worker processes and the table of "
                    "results is printed and written to --out/results.csv, with one plan folder per variant. "
                    "The scenario's own files are never modified.",
        epilog=_WHATIF_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", help="scenario folder or .xlsx workbook")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--set", dest="sets", action="append", metavar="EXPR",
                       help="a change, e.g. products.price[P1]=*0.9 (repeat --set for several changes)")
    group.add_argument("--sweep", metavar="FILE", help="a sweep file (.csv or .toml) with one variant per row/table")
    p.add_argument("--out", metavar="DIR", help="folder for results and plans (default: SCENARIO-whatif in the "
                                                "current folder); never the scenario's own folder")
    p.add_argument("--workers", type=int, metavar="N", help="worker processes (default: CPUs, at most one per variant)")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds per solve (default: scenario's, else 300)")
    p.add_argument("--gap", type=float, metavar="G", help="relative MIP gap to stop at (default: scenario's, else 0.005)")
    p.add_argument("--threads", type=int, metavar="N", help="HiGHS threads per solve (default 1)")
    p.add_argument("--force", action="store_true", help="write into --out even if it is not empty (only a folder "
                                                        "optsupply wrote; never an input or the current folder)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


@exits_on_bad_input
def run(args: argparse.Namespace) -> int:
    """Handle ``optsupply whatif``; returns the exit code (problems are printed, never raised)."""
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be 1 or more, not {args.workers}")
    if args.sets:
        variant = Variant.from_sets("variant", args.sets)
    else:
        variants = load_sweep(args.sweep)
    path = Path(args.scenario)
    out = out_path(args, "whatif")
    scenario = load_scenario(path)
    guard_folder(out, kind="whatif", inputs=[path, args.sweep], force=args.force, verb="write into it")
    options = {"time_limit": args.time_limit, "mip_gap": args.gap, "threads": args.threads}
    options = {k: v for k, v in options.items() if v is not None}
    if args.sets:
        scenario.with_changes(variant.changes)     # invalid changes: ScenarioError → exit 2
        table = sweep(scenario, [Variant("base", {}), variant], workers=args.workers, out=out,
                      progress=not args.quiet, **options)
        print(_side_by_side(table, variant))
        print(f"plans written to {out}{os.sep} ({_folders(table)}); table in {out / 'results.csv'}")
        row = table.iloc[1]
        return EXIT_OK if row["status"] in PLAN_STATUSES else EXIT_NO_PLAN
    if len(variants) == 1:
        scenario.with_changes(variants[0].changes)
    table = sweep(scenario, variants, workers=args.workers, out=out, progress=not args.quiet, **options)
    print(_summary_table(table))
    counts = table["status"].value_counts()
    print(f"{len(table)} variants: " + ", ".join(f"{c} {s}" for s, c in counts.items())
          + f"; results in {out / 'results.csv'}")
    if table["status"].isin(PLAN_STATUSES).any():
        return EXIT_OK
    return EXIT_BAD_INPUT if (table["status"] == INVALID).all() else EXIT_NO_PLAN


def _folders(table: pd.DataFrame) -> str:
    names = [f"{f}{os.sep}" for f in table.get("folder", pd.Series(dtype=object)) if isinstance(f, str)]
    return ", ".join(names) if names else "no plan folders"


def _num(x: Any, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "-"
    return f"{x:.1%}" if pct else f"{x:,.2f}"


def _delta(a: Any, b: Any, kind: str) -> str:
    try:
        if a is None or b is None or pd.isna(a) or pd.isna(b):
            return ""
    except TypeError:
        return ""
    d = float(b) - float(a)
    if kind == "pct":
        return f"{d * 100:+.1f} pp"
    if kind == "int":
        return f"{round(d):+d}"
    rel = f" ({d / abs(a):+.1%})" if a not in (0, 0.0) else ""
    return f"{d:+,.2f}{rel}"


def _side_by_side(table: pd.DataFrame, variant: Variant) -> str:
    base, var = table.iloc[0], table.iloc[1]
    lines = [f"what-if: {format_changes(variant.changes)}"]
    items: list[tuple[str, str, str]] = [("profit", "profit", "money"), ("revenue", "revenue", "money"),
                                         ("salvage", "salvage", "money")]
    items += [(f"cost: {c.replace('_', ' ')}", f"cost_{c}", "money") for c in COST_KEYS]
    items += [("fill rate", "fill_rate", "pct"), ("launches", "launched", "int"),
              ("mip gap", "mip_gap", "gap"), ("solve seconds", "solve_seconds", "money")]
    rows = [("", "base", "variant", "change"), ("status", str(base["status"]), str(var["status"]), "")]
    for label, col, kind in items:
        a, b = base[col], var[col]
        if kind == "pct":
            cells = (_num(a, True), _num(b, True))
        elif kind == "int":
            cells = ("-" if pd.isna(a) else str(int(a)), "-" if pd.isna(b) else str(int(b)))
        elif kind == "gap":
            cells = ("-" if pd.isna(a) else f"{a:.4%}", "-" if pd.isna(b) else f"{b:.4%}")
        else:
            cells = (_num(a), _num(b))
        rows.append((label, *cells, "" if kind in ("gap",) or col == "solve_seconds" else _delta(a, b, kind)))
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    for r in rows:
        lines.append(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}".rstrip())
    for label, row in (("base", base), ("variant", var)):
        if isinstance(row["error"], str) and row["error"]:
            lines.append(f"{label}: {row['error']}")
    return "\n".join(lines)


def _summary_table(table: pd.DataFrame) -> str:
    cols = ["name", "status", "profit", "revenue", "fill_rate", "launched", "mip_gap", "solve_seconds", "error"]
    show = table[cols].copy()
    show["profit"] = [_num(x) for x in show["profit"]]
    show["revenue"] = [_num(x) for x in show["revenue"]]
    show["fill_rate"] = [_num(x, True) for x in show["fill_rate"]]
    show["mip_gap"] = ["-" if pd.isna(x) else f"{x:.3%}" for x in show["mip_gap"]]
    show["launched"] = ["-" if pd.isna(x) else str(int(x)) for x in show["launched"]]
    show["solve_seconds"] = ["-" if pd.isna(x) else f"{x:.1f}" for x in show["solve_seconds"]]
    show["error"] = ["" if not isinstance(x, str) else (x if len(x) <= 100 else x[:97] + "...") for x in show["error"]]
    width = max([len("name"), *(len(str(x)) for x in show["name"])])
    show = show.rename(columns={"name": "name".ljust(width)})
    show[show.columns[0]] = [str(x).ljust(width) for x in show[show.columns[0]]]
    return show.to_string(index=False).rstrip()
