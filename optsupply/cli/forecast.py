"""``optsupply forecast``: demand, launch curves, seasonality and ad response from history, as a scenario folder."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from optsupply.cli.common import load_scenario, out_path
from optsupply.errors import EXIT_OK, UsageError


def add_parser(sub: Any) -> argparse.ArgumentParser:
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
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from optsupply.files import guard_folder
    from optsupply.forecasting import forecast

    scenario = load_scenario(args.scenario)
    if scenario.history.empty:
        raise UsageError(f"{args.scenario} has no history.csv rows: there is nothing to forecast from")
    out = out_path(args, "forecast")
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
