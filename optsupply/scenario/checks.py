"""Checks of a scenario's content: the settings (here) and every check on the tables.

:func:`check_settings` and :func:`check_tables` look at typed data (see
:mod:`optsupply.scenario.coerce`) and add every problem they find to a
:class:`~optsupply.errors.Report`; nothing stops at the first problem. The
same checks run when a scenario is loaded and when it is changed with
:meth:`optsupply.Scenario.with_changes`. The checks of values, keys and
references are in :mod:`optsupply.scenario.table_checks`, those of plans that
cannot exist in :mod:`optsupply.scenario.feasibility_checks`.

Decisions where the specification is silent (documented in the README):

* Regions have no table of their own: they are the regions named in
  ``lanes.csv``, ``demand.csv`` and ``launch_curve.csv``. A region with
  demand but no lane is a warning (that demand cannot be served).
* ``channels.csv`` is optional; when it has rows, ``response.csv`` may only
  name its channels. Without it, every channel in ``response.csv`` is uncapped.
* A category (brand) in ``categories.csv`` (``brands.csv``) that no product
  has is a warning; a category in ``seasonality.csv`` that no product has is
  an error, since it is most likely a typo.
* ``initial_stock.csv`` and ``pipeline.csv`` rows need a ``supply.csv`` row
  for the same product and warehouse.
* ``launch_curve.csv`` ages at or beyond the horizon can never be reached and
  are a warning.
* A problem is reported once, where it is: a file that is missing or cannot
  be read, a missing column or setting, or a cell that cannot be read is not
  reported again through the checks that depend on it (no "unknown product"
  on every row when ``products.csv`` is missing, no "missing value" on every
  row of a missing column, no "required setting is missing" when
  ``scenario.toml`` has a syntax error).
* A duplicate key is reported on the later row, in the key's last column
  (``period`` for ``demand.csv``); rows with a blank or unreadable key cell
  are not compared. Ids are compared exactly (case and inner spaces count;
  spaces around a value are ignored).
* A product whose ``status`` is neither ``active`` nor ``new`` is reported
  once; the checks that depend on the status skip it. ``status`` values and
  ids are case-sensitive (``New`` is an error, with a hint).
* A required table (``products``, ``warehouses``, ``supply``, ``lanes``)
  with a header but no rows is an error.
* Whole numbers (periods, ages, lead times, settings such as
  ``horizon.periods``) beyond 2**53 are an error: they cannot be held exactly.
* ``horizon.freq`` must step forward, and ``horizon.start`` with it must
  give every period a date (years 1 to 9999), since plans are labelled with
  them.
* Tables built in Python (``with_tables``, ``with_changes``) are read as
  files are (:func:`optsupply.scenario.coerce.coerce_frame`); the checks here also reject
  a fraction in a whole-number column and a ``status`` that is neither
  ``active`` nor ``new`` for tables that did not come through the reader.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import pandas as pd

from optsupply.errors import WARNING, Report
from optsupply.scenario.cells import MAX_UNKNOWN_COLUMNS, MAX_WHOLE, did_you_mean
from optsupply.scenario.feasibility_checks import check_feasibility
from optsupply.scenario.schema import SECTIONS, SETTING_BY_KEY, SETTINGS, Setting
from optsupply.scenario.table_checks import CheckContext, check_table_contents, file_reported, range_text


# --------------------------------------------------------------------------- settings


def check_settings(raw: dict[str, Any], lines: dict[str, int], file: str, report: Report) -> dict[str, Any]:
    """Typed settings with defaults; problems go to ``report``."""
    out: dict[str, Any] = {}
    unreadable = file_reported(report, file)  # syntax error, missing file or sheet: said once already
    unknown = [key for key in raw if key not in SETTING_BY_KEY]
    for key in unknown[:MAX_UNKNOWN_COLUMNS]:
        if key in SECTIONS:  # e.g. horizon = 6: a section written as a value
            report.add(file, lines.get(key), key, f"unknown setting, ignored: {key} is a section, write [{key}] "
                       "and its keys on the lines below", WARNING)
        else:
            report.add(file, lines.get(key), key, "unknown setting, ignored" + did_you_mean(key, list(SETTING_BY_KEY)), WARNING)
    if len(unknown) > MAX_UNKNOWN_COLUMNS:  # as for a table's unknown columns: the rest in one warning
        more = unknown[MAX_UNKNOWN_COLUMNS:]
        shown = ", ".join(k if len(k) <= 40 else k[:37] + "..." for k in more[:3]) + (", ..." if len(more) > 3 else "")
        report.add(file, None, None, f"{len(more):,} more unknown settings ({shown}), ignored", WARNING)
    for spec in SETTINGS:
        value = raw.get(spec.key)
        if value is None:
            if spec.required and not unreadable:
                section = spec.key.split(".")[0]
                report.add(file, lines.get(section), spec.key, f"required setting is missing (write [{section}] then {spec.key.split('.')[-1]} = ...)")
            out[spec.key] = spec.default
            continue
        out[spec.key] = _check_setting(spec, value, lines.get(spec.key), file, report)
    _check_dates(out, lines, file, report)
    return out


def _check_dates(settings: dict[str, Any], lines: dict[str, int], file: str, report: Report) -> None:
    """``horizon.start`` and ``horizon.freq`` date every period of a plan: check that they can."""
    start, freq, H = settings.get("horizon.start"), settings.get("horizon.freq"), settings.get("horizon.periods")
    if freq:
        offset = pd.tseries.frequencies.to_offset(freq)  # read already
        if offset.n <= 0:
            report.add(file, lines.get("horizon.freq"), "horizon.freq",
                       f"'{freq}' does not move forward: give a positive step (e.g. W-MON, 2W, MS)")
            settings["horizon.freq"] = None
            return
    if not start or not isinstance(H, int) or H < 1:
        return
    try:
        offset = pd.tseries.frequencies.to_offset(freq or "D")
        first = pd.date_range(start=start, periods=min(H, 2), freq=offset)
        last = first[-1] + offset * (H - len(first))
        for day in (first[0], last):
            day.strftime("%Y-%m-%d")
    except (ValueError, TypeError, OverflowError, NotImplementedError) as exc:
        why = str(exc).split(". ")[0][:100]
        report.add(file, lines.get("horizon.start"), "horizon.start",
                   f"periods 0 to {H - 1} from {start} every {freq or 'D'} cannot all be given dates "
                   f"(years 1 to 9999): {why}")
        settings["horizon.start"] = None


def setting_problem(key: str, value: Any) -> tuple[Any, str | None]:
    """``(typed value, None)`` when ``value`` is allowed for the setting ``key``, else ``(default, what is wrong)``.

    The rule of scenario.toml (:data:`optsupply.scenario.schema.SETTINGS`), for values given
    elsewhere: the command line's ``--time-limit``, ``--gap``, ``--threads`` and
    ``--seed``, and :class:`optsupply.optimizer.highs.SolveOptions`.
    """
    report = Report()
    typed = _check_setting(SETTING_BY_KEY[key], value, None, "value", report)
    return typed, (report.problems[0].message if report.problems else None)


def _check_setting(spec: Setting, value: Any, line: int | None, file: str, report: Report) -> Any:
    if spec.dtype == "str":
        if not isinstance(value, (str, _dt.date)):
            report.add(file, line, spec.key, f"must be text, not {_shown_value(value)}")
            return spec.default
        value = str(value)
        if spec.kind == "date":
            try:
                ok = not pd.isna(pd.Timestamp(value))  # "" gives NaT
            except (ValueError, TypeError):
                ok = False
            if not ok:
                report.add(file, line, spec.key, f"'{value}' is not a date (use YYYY-MM-DD)")
                return spec.default
        if spec.kind == "freq":
            try:
                pd.tseries.frequencies.to_offset(value)
            except (ValueError, TypeError, OverflowError):
                report.add(file, line, spec.key, f"'{value}' is not a pandas frequency (e.g. D, W-MON, MS)")
                return spec.default
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        report.add(file, line, spec.key, f"must be a number, not {_shown_value(value)}")
        return spec.default
    if isinstance(value, float) and math.isnan(value):
        report.add(file, line, spec.key, "NaN is not allowed")
        return spec.default
    if spec.dtype == "int":
        if isinstance(value, float) and not value.is_integer():
            report.add(file, line, spec.key, f"must be a whole number, not {value}")
            return spec.default
        if abs(value) > MAX_WHOLE:
            report.add(file, line, spec.key, f"{_shown_number(value)} is too large: whole numbers can be at most 2**53")
            return spec.default
        value = int(value)
    else:
        try:
            value = float(value)
        except OverflowError:  # a whole number beyond the largest float
            report.add(file, line, spec.key, f"{_shown_number(value)} is too large")
            return spec.default
    if not _in_range(value, spec.lower, spec.upper, spec.lower_open, spec.upper_open):
        report.add(file, line, spec.key, f"{value} is out of range: must be {range_text(spec.lower, spec.upper, spec.lower_open, spec.upper_open)}")
        return spec.default
    return value


def _shown_value(value: Any) -> str:
    """A setting's value for a message: its repr, shortened."""
    try:
        text = repr(value)
    except ValueError:  # a whole number too long to show
        return f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _shown_number(value: float) -> str:
    """A number for a message; a huge whole number is shown by its count of digits."""
    if isinstance(value, int) and abs(value) >= 10**16:
        return f"a {len(str(abs(value))) if abs(value) < 10**4000 else 'more than 4000'}-digit number"
    return f"{value:g}"


def _in_range(v: float, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> bool:
    if lo is not None and (v < lo or (lo_open and v == lo)):
        return False
    if hi is not None and (v > hi or (hi_open and v == hi)):
        return False
    return True


def check_tables(tables: dict[str, pd.DataFrame], files: dict[str, str], present: set[str],
                 horizon: int | None, report: Report, settings: dict[str, Any] | None = None,
                 setting_lines: dict[str, int] | None = None) -> None:
    """Every check on the typed tables; problems go to ``report``.

    With ``settings`` (the typed settings), a scenario without errors is also
    checked for plans that cannot exist (:func:`~optsupply.scenario.feasibility_checks.check_feasibility`).
    """
    ctx = CheckContext(tables, files, present, horizon, report)
    check_table_contents(ctx)
    if settings is not None and report.ok:
        check_feasibility(ctx, settings, setting_lines)
