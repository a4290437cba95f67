"""Forecasts from history: the tables the optimizer consumes, built from ``history.csv``.

>>> import optsupply as ops
>>> fc = ops.forecast(ops.Scenario.load("instances/medium"))
>>> fc.summary()                     # backtest WAPE and bias against the baselines
>>> fc.scenario                      # the scenario with the forecast tables in place
>>> fc.save("medium-forecast")       # scenario folder + forecast/ reports

The forecaster and the optimizer meet only through the scenario tables
``demand.csv``, ``launch_curve.csv``, ``seasonality.csv`` and ``response.csv``,
so planners can bring their own forecasts instead.

Steps (each in its own module):

1. **Seasonality** (:mod:`.seasonal`): indices per category and season
   position, pooled over the category's mature products.
2. **Active demand** (:mod:`.active`): per product, exponential smoothing
   (statsmodels) of the deseasonalised total, reseasonalised and split over
   regions; ``demand_sd`` from the residuals.
3. **Bass fits** (:mod:`.bass`, :mod:`.analogs`): ``m, p, q`` with standard
   errors for every active product launched inside the history window.
4. **Cold start** (:mod:`.coldstart`): a launch curve per new product and
   region from analogs (category → brand → catalogue → published priors),
   scaled by relative price and brand size; ``forecast_explain.csv`` says
   which analogs fed each forecast.
5. **Ad response** (:mod:`.response`): Hill curve with geometric carryover
   fitted to the sales the baseline does not explain, where history has spend.
6. **Backtests** (:mod:`.backtest`): leave-one-product-out cold start against
   the category-mean launch curve, rolling origin for active products against
   seasonal-naive.

Odd history (gaps, all-zero series, a single point, a ``new`` product with
history, an active product without history) never stops the forecast: each
case gets a note naming ``history.csv`` and the product's first row, and the
documented fallback of the step concerned.
"""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from optsupply.errors import UsageError
from optsupply.files import guard_folder, write_folder
from optsupply.scenario.cells import FIRST_DATA_ROW

logger = logging.getLogger(__name__)

__all__ = ["Forecast", "forecast"]

#: report files written into ``OUT/forecast/`` next to the forecast scenario
REPORT_FILES = {
    "bass_fits": "bass_fits.csv",
    "explain": "forecast_explain.csv",
    "response_fits": "response_fits.csv",
    "backtest": "backtest.csv",
    "backtest_summary": "backtest_summary.csv",
    "notes": "notes.csv",
}


@dataclass
class Forecast:
    """The forecast tables, the fits behind them and the backtests.

    Attributes
    ----------
    scenario : Scenario
        The input scenario with ``demand``, ``launch_curve``, ``seasonality``
        and ``response`` replaced by the forecast (validated).
    demand, launch_curve, seasonality, response : pandas.DataFrame
        The forecast tables, in the scenario format.
    bass_fits : pandas.DataFrame
        One row per analog: launch period, ``m, p, q`` and standard errors.
    explain : pandas.DataFrame
        One row per new product: which analogs and which pooling level fed it.
    response_fits : pandas.DataFrame
        One row per product with spend history: fitted curve and fit quality.
    backtest, backtest_summary : pandas.DataFrame
        Cell-level backtest rows, and WAPE / bias per test and method.
    notes : pandas.DataFrame
        file, row, product, message: odd history and the fallback used.
    season_length : int
        Periods per seasonal cycle used.
    """

    scenario: object
    demand: pd.DataFrame
    launch_curve: pd.DataFrame
    seasonality: pd.DataFrame
    response: pd.DataFrame
    bass_fits: pd.DataFrame
    explain: pd.DataFrame
    response_fits: pd.DataFrame
    backtest: pd.DataFrame
    backtest_summary: pd.DataFrame
    notes: pd.DataFrame
    season_length: int
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """Backtest WAPE and bias per test and method, as text for the console."""
        if self.backtest_summary.empty:
            return "backtest: nothing to backtest (no analogs and no active history)"
        lines = ["backtest (WAPE = sum|forecast - actual| / sum actual; bias = sum(forecast - actual) / sum actual):"]
        for test, grp in self.backtest_summary.groupby("test", sort=False):
            parts = [f"{r.method} WAPE {r.wape:.1%} bias {r.bias:+.1%}" for r in grp.itertuples()]
            ours = grp.loc[grp["method"] == "optsupply", "wape"]
            base = grp.loc[grp["method"] != "optsupply", "wape"]
            gain = ""
            if len(ours) and len(base) and base.iloc[0] > 0:
                gain = f"  ({1 - ours.iloc[0] / base.iloc[0]:+.1%} lower WAPE than the baseline)"
            lines.append(f"  {test} ({int(grp['cells'].iloc[0])} cells): " + "; ".join(parts) + gain)
        return "\n".join(lines)

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the forecast scenario (a complete scenario folder) plus ``forecast/`` reports.

        The folder is written completely or not at all. It may not be the
        folder the scenario was loaded from, lie inside it or contain it; an
        existing folder is replaced only with ``force=True`` and only when
        optsupply wrote it (:func:`optsupply.files.guard_folder`).
        """
        source = getattr(self.scenario, "source", None)
        target = guard_folder(path, kind="forecast", inputs=[source] if source is not None else [], force=force,
                              what="forecast folder")

        def write(tmp: Path) -> None:
            self.scenario._write_folder(tmp)
            rep = tmp / "forecast"
            rep.mkdir()
            for attr, name in REPORT_FILES.items():
                getattr(self, attr).to_csv(rep / name, index=False, lineterminator="\n")

        return write_folder(target, write, kind="forecast")


def forecast(scenario, *, season_length: int | None = None, backtest: bool = True,
             progress: Callable[[str], None] | None = None) -> Forecast:
    """Turn ``scenario.history`` into the tables the optimizer consumes.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario with ``history`` rows.
    season_length : int, optional
        Periods per seasonal cycle; by default from ``horizon.freq``
        (weekly 52, monthly 12, quarterly 4, daily 7; 52 when unset). A whole
        number from 1 (no seasonality) to the scenario's ``limits.max_periods``.
    backtest : bool
        Run the leave-one-product-out and rolling-origin backtests.
    progress : callable, optional
        Receives one line per finished step (the CLI prints them).

    Returns
    -------
    Forecast
    """
    import time

    from optsupply.forecasting import backtest as bt
    from optsupply.forecasting.analogs import fit_analogs
    from optsupply.forecasting.coldstart import cold_start
    from optsupply.forecasting.response import fit_response
    from optsupply.forecasting.seasonal import horizon_seasonality, season_length as _season_length
    from optsupply.forecasting.seasonal import seasonal_indices

    say = progress or (lambda msg: logger.info(msg))
    sc = scenario
    H = sc.periods
    L = _season_length(sc.settings) if season_length is None else check_season_length(season_length, sc)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str, msg: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now
        say(f"{msg} ({timings[name]:.1f} s)")

    notes = history_notes(sc)
    step("check", f"history: {len(sc.history):,} rows, {sc.history['product'].nunique()} products, "
                  f"{len(notes)} note{'s' * (len(notes) != 1)}")
    indices = seasonal_indices(sc, L)
    categories = sorted(sc.products["category"].unique())
    season_h = horizon_seasonality(indices, categories, H, L)
    step("seasonality", f"seasonality: {indices['category'].nunique()} categories, season of {L} periods")
    fits = fit_analogs(sc, indices)
    launch_curve, explain = cold_start(sc, fits, exclude=(), season=indices)
    step("cold_start", f"Bass fits: {int(fits['converged'].sum()) if len(fits) else 0} of {len(fits)} analogs; "
                       f"cold start: {explain['product'].nunique() if len(explain) else 0} new products")
    demand, active_notes = _active_demand(sc, indices, L, H, fits)
    notes = _merge_notes(notes, active_notes)
    step("demand", f"active demand: {demand['product'].nunique()} products, {len(demand):,} rows")
    baseline = bt.baseline_units(sc, indices, fits, L)
    response, response_fits = fit_response(sc, baseline)
    n_fit = int((response_fits["status"] == "fitted").sum()) if len(response_fits) else 0
    step("response", f"ad response: {n_fit} products fitted from spend history")
    if backtest:
        cells, summary = bt.run_backtests(sc, indices, fits, L, response_fits)
        step("backtest", f"backtests: {len(cells):,} cells")
    else:
        cells, summary = bt.empty_cells(), bt.empty_summary()
    tables = {"demand": demand, "launch_curve": launch_curve, "seasonality": season_h}
    if not response.empty:
        tables["response"] = response
    new = sc.with_tables(tables)
    return Forecast(new, new.demand, new.launch_curve, new.seasonality, new.response, fits, explain, response_fits,
                    cells, summary, notes.sort_values(["row", "product"], kind="stable").reset_index(drop=True),
                    L, timings)


def check_season_length(season_length: Any, sc: Any = None) -> int:
    """``season_length`` as an int; :class:`UsageError` unless it is a whole number from 1 to ``max_periods``."""
    from optsupply.scenario.limits import ENV_MAX_PERIODS, Limits

    limits = getattr(sc, "limits", None) or Limits()
    whole = (isinstance(season_length, numbers.Integral) and not isinstance(season_length, bool)) or (
        isinstance(season_length, float) and season_length.is_integer())
    if not whole or not 1 <= season_length <= limits.max_periods:
        raise UsageError(f"season length {season_length!r}: must be a whole number of periods from 1 (no "
                         f"seasonality) to {limits.max_periods:,} (raise the limit with {ENV_MAX_PERIODS} or "
                         "Limits(max_periods=...))")
    return int(season_length)


def _active_demand(sc, indices: pd.DataFrame, L: int, H: int,
                   fits: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast active products with history; keep the planner's rows for active products without any.

    Recently launched products follow their own Bass curve (``fits``) instead
    of a flat level.
    """
    from optsupply.forecasting.active import forecast_active

    demand, fnotes = forecast_active(sc, indices, L, H, bass_fits=fits)
    notes = _notes_frame([(p, msg) for p, msg in fnotes], sc)
    active = set(sc.products.loc[sc.products["status"] == "active", "product"])
    missing = sorted(active - set(demand["product"]))
    if missing:
        kept = sc.demand[sc.demand["product"].isin(missing)]
        demand = pd.concat([demand, kept[demand.columns]], ignore_index=True)
    demand = demand.sort_values(["product", "region", "period"], kind="stable").reset_index(drop=True)
    return demand, notes


def _merge_notes(first: pd.DataFrame, more: pd.DataFrame) -> pd.DataFrame:
    """``first`` plus the notes of ``more`` on products ``first`` does not mention yet."""
    return pd.concat([first, more[~more["product"].isin(first["product"])]], ignore_index=True)


def history_notes(sc) -> pd.DataFrame:
    """Notes on history that the forecast works around (file, row, product, message).

    * an active product without history keeps the planner's ``demand.csv`` rows;
    * a ``new`` product with history: the history is used as an analog only if
      the product launched inside it, its launch curve still comes from the
      cold start;
    * a single point, an all-zero series or gaps (periods without a row
      between a product's first and last row, read as zero sales) are named.
    """
    h = sc.history
    rows: list[tuple[int | None, str, str]] = []
    status = dict(zip(sc.products["product"], sc.products["status"], strict=True))
    if h.empty:
        active = sorted(p for p, s in status.items() if s == "active")
        if active:
            rows.append((None, "*", f"history.csv has no rows: the planner's demand.csv is kept for "
                                    f"{len(active)} active products, and new products get the published "
                                    "Bass priors (p=0.02, q=0.4) with market sizes from demand.csv"))
        return _frame(rows)
    pos = np.arange(len(h)) + FIRST_DATA_ROW
    first_row = pd.Series(pos, index=h.index).groupby(h["product"]).min()
    totals = h.groupby(["product", "period"])["units"].sum().reset_index()
    for product, g in totals.groupby("product", sort=True):
        row = int(first_row[product])
        n = len(g)
        span = int(g["period"].max() - g["period"].min() + 1)
        if status.get(product) == "new":
            rows.append((row, product, "has history but is 'new': its launch curve comes from the cold start, "
                                       "its history serves only as an analog"))
        if n == 1:
            rows.append((row, product, "a single period of history: too little to fit a trend or a curve; "
                                       "its demand is that value (reseasonalised)"))
        if float(g["units"].abs().sum()) == 0.0:
            rows.append((row, product, "all history is zero: its forecast demand is zero"))
        if span > n:
            rows.append((row, product, f"{span - n} period{'s' * (span - n != 1)} missing between its first "
                                       "and last history row: read as zero sales"))
    for product in sorted(p for p, s in status.items() if s == "active" and p not in first_row.index):
        rows.append((None, product, "active product without history: the planner's demand.csv rows are kept"))
    return _frame(rows)


def _frame(rows: list[tuple[int | None, str, str]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["row", "product", "message"])
    df.insert(0, "file", "history.csv")
    df["row"] = df["row"].astype("Int64")
    return df


def _notes_frame(pairs: list[tuple[str, str]], sc) -> pd.DataFrame:
    h = sc.history
    first = (pd.Series(np.arange(len(h)) + FIRST_DATA_ROW, index=h.index).groupby(h["product"]).min()
             if len(h) else pd.Series(dtype="int64"))
    return _frame([(int(first[p]) if p in first.index else None, p, msg) for p, msg in pairs])
