"""The :class:`Scenario`: settings plus one pandas DataFrame per table.

>>> import optsupply as ops
>>> sc = ops.Scenario.load("instances/tiny")          # folder or .xlsx
>>> sc.products.head()                                 # a DataFrame per table
>>> sc.settings["horizon.periods"]                     # settings by dotted key
>>> variant = sc.with_changes({"products.price": {"P1": 24.0}})
>>> variant.save("my-variant")                         # folder: scenario.toml + CSV

A scenario is validated when it is loaded and when it is changed; a scenario
with errors is never returned (a :class:`~optsupply.errors.ScenarioError`
listing every problem is raised instead). Treat the tables as read-only:
:meth:`Scenario.with_changes` returns a new scenario and never touches the
original.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import re
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd
import tomli_w

from optsupply.scenario.cells import FIRST_DATA_ROW, did_you_mean
from optsupply.scenario.coerce import coerce, coerce_frame, coerce_values, finalize_dtypes
from optsupply.scenario.limits import Limits, too_many_periods
from optsupply.scenario.read import read_raw
from optsupply.scenario.write import format_cell_frame, settings_to_toml_dict
from optsupply.errors import Problem, Report, ScenarioError, UsageError
from optsupply.files import guard_file, guard_folder, write_file, write_folder
from optsupply.scenario.schema import SCENARIO_FILE, SETTING_BY_KEY, TABLE_BY_NAME, TABLES, WORKBOOK_SETTINGS_SHEET
from optsupply.scenario.checks import check_settings, check_tables


class Scenario:
    """A validated planning scenario (see SPEC §2 and the README's format reference).

    Attributes
    ----------
    settings : dict
        ``section.key`` → value, with defaults filled in (``None`` = not set).
    products, categories, brands, demand, launch_curve, seasonality, warehouses, supply,
    initial_stock, pipeline, lanes, channels, response, slots, history : pandas.DataFrame
        One typed table each, columns in schema order; absent optional tables are empty.
    warnings : list of Problem
        Warnings found when the scenario was loaded or changed.
    limits : Limits
        The limits it was loaded with (horizon, model size; kept by its changed copies).
    source : pathlib.Path or None
        Where the scenario was loaded from.
    """

    products: pd.DataFrame
    categories: pd.DataFrame
    brands: pd.DataFrame
    demand: pd.DataFrame
    launch_curve: pd.DataFrame
    seasonality: pd.DataFrame
    warehouses: pd.DataFrame
    supply: pd.DataFrame
    initial_stock: pd.DataFrame
    pipeline: pd.DataFrame
    lanes: pd.DataFrame
    channels: pd.DataFrame
    response: pd.DataFrame
    slots: pd.DataFrame
    history: pd.DataFrame

    def __init__(self, settings: Mapping[str, Any], tables: Mapping[str, pd.DataFrame], *,
                 present: set[str] | None = None, files: Mapping[str, str] | None = None,
                 source: Path | None = None, warnings: list[Problem] | None = None, limits: Limits | None = None):
        self.settings = dict(settings)
        self.limits = limits if limits is not None else Limits()  # kept by with_changes; bounds the model built
        self._tables = dict(tables)
        self.present = set(present if present is not None else {n for n, df in tables.items() if not df.empty})
        self.files = dict(files or {t.name: t.file for t in TABLES})
        self.source = source
        self.warnings = list(warnings or [])

    # ------------------------------------------------------------------ access

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("_tables")
        if tables is not None and name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def name(self) -> str:
        return self.settings.get("name") or (self.source.stem if self.source else "scenario")

    @property
    def periods(self) -> int:
        """The horizon length H (periods are 0 … H-1)."""
        return int(self.settings["horizon.periods"])

    def tables(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """(name, DataFrame) for every table in schema order."""
        for t in TABLES:
            yield t.name, self._tables[t.name]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n}={len(df)}" for n, df in self.tables() if not df.empty)
        return f"<Scenario {self.name!r} H={self.periods}: {sizes}>"

    # ------------------------------------------------------------------ load

    @classmethod
    def load(cls, path: str | os.PathLike, *, limits: Limits | None = None) -> Scenario:
        """Load and validate a scenario folder or ``.xlsx`` workbook.

        Parameters
        ----------
        path : str or path
            The scenario folder or workbook.
        limits : Limits, optional
            Largest file, most rows and columns per table, longest horizon and
            largest model (default ``Limits()``: the ``OPTSUPPLY_MAX_*``
            environment variables when set, else the built-in defaults).

        Raises
        ------
        ScenarioError
            With every problem found (file, row, column, message), if any is an error.
        """
        report = Report()
        scenario = _load(Path(path), report, limits)
        if scenario is None or not report.ok:
            raise ScenarioError(report)
        return scenario

    # ------------------------------------------------------------------ save

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the scenario as a folder (``scenario.toml`` + CSV) or, for a ``.xlsx`` path, a workbook.

        The folder (or workbook) is written completely or not at all (written
        next to the target, then renamed into place). Optional tables without
        rows are not written. Loading the result gives equal tables and
        settings. An existing target is replaced only with ``overwrite=True``,
        and a folder only when optsupply wrote it (its ``.optsupply`` marker);
        the scenario's own source, a folder containing it, the current or home
        folder are never written (:mod:`optsupply.files`).
        """
        target = Path(path)
        inputs = [self.source] if self.source is not None else []
        if target.suffix.lower() == ".xlsx":
            target = guard_file(target, inputs=inputs, suffixes=(".xlsx",), what="workbook")
            if target.exists() and not overwrite:
                raise UsageError(f"{target} already exists (pass overwrite=True to replace it)")
            return write_file(target, self._write_workbook)
        target = guard_folder(target, kind="scenario", inputs=inputs, force=overwrite, what="scenario folder")
        return write_folder(target, self._write_folder, kind="scenario")

    def _tables_to_write(self) -> Iterator[tuple[str, pd.DataFrame]]:
        for t in TABLES:
            df = self._tables[t.name]
            if not df.empty or (t.presence == "required"):
                yield t.name, format_cell_frame(t, df)

    def _write_folder(self, folder: Path) -> None:
        with open(folder / SCENARIO_FILE, "wb") as f:
            tomli_w.dump(settings_to_toml_dict(self.settings), f)
        for name, text in self._tables_to_write():
            text.to_csv(folder / TABLE_BY_NAME[name].file, index=False, lineterminator="\n")

    def _write_workbook(self, file: Path) -> None:
        rows = [(k, v) for k, v in self.settings.items() if v is not None and k in SETTING_BY_KEY]
        with open(file, "wb") as f, pd.ExcelWriter(f, engine="openpyxl") as xl:  # a handle: any temporary name
            pd.DataFrame(rows, columns=["key", "value"]).astype(str).to_excel(xl, sheet_name=WORKBOOK_SETTINGS_SHEET, index=False)
            for name, text in self._tables_to_write():
                text.to_excel(xl, sheet_name=name, index=False)

    # ------------------------------------------------------------------ changes

    def with_changes(self, changes: Mapping[str, Any]) -> Scenario:
        """A new, validated scenario with ``changes`` applied; this one is not modified.

        Keys are ``TABLE.COLUMN`` or a setting's ``section.key``. For a table
        column the value is either one value for every row, or a mapping from
        the row's key (a string for one-column keys, a tuple otherwise) to a
        value. A value may be absolute (``24.0``), relative (``"*0.67"``) or a
        delta (``"+5"``, ``"-5"``); relative values and deltas apply to numbers
        only. A value is read as a cell of the table's file would be: ``"true"``
        or ``"yes"`` for a boolean, ``"12"`` for a number, ``None`` or ``""``
        for the column's default.

        >>> sc.with_changes({"products.price": {"P7": 24.0},
        ...                  "advertising.total_budget": 3e5,
        ...                  "warehouses.storage_capacity": {"W2": "*0.67"}})

        Raises
        ------
        ScenarioError
            If a change names an unknown table, column, key or setting, or the
            changed scenario does not validate.
        """
        if not isinstance(changes, Mapping):
            raise UsageError(f"with_changes takes a mapping of 'TABLE.COLUMN' or 'section.key' to values, "
                             f"not {type(changes).__name__}")
        report = Report()
        settings = dict(self.settings)
        tables = {n: df.copy(deep=True) for n, df in self._tables.items()}
        label = "changes"
        for key, value in changes.items():  # settings first: a changed horizon gives blank periods their default
            if isinstance(key, str) and key in SETTING_BY_KEY:
                spec = SETTING_BY_KEY[key]
                settings[key] = _apply(settings.get(key), value, report, label, key, spec.dtype != "str")
        horizon = settings.get("horizon.periods")  # checked with the other settings below
        horizon = (int(horizon) if isinstance(horizon, numbers.Real) and not isinstance(horizon, (bool, np.bool_))
                   and 1 <= horizon <= 2**53 and float(horizon).is_integer() else None)
        for key, value in changes.items():
            if not isinstance(key, str):
                report.add(label, None, str(key), "a change is named 'TABLE.COLUMN' or 'section.key' (text), "
                           f"not {type(key).__name__}")
                continue
            table_name, _, column = key.partition(".")
            if key in SETTING_BY_KEY:
                continue
            if table_name in TABLE_BY_NAME:
                _change_table(tables, table_name, column, value, report, label, key,
                              self.files.get(table_name, TABLE_BY_NAME[table_name].file), horizon)
            else:
                options = list(SETTING_BY_KEY) + [f"{t.name}.{c.name}" for t in TABLES for c in t.columns]
                report.add(label, None, key, "unknown table or setting" + did_you_mean(key, options))
        if not report.ok:
            raise ScenarioError(report)
        present = self.present | {n for n, df in tables.items() if not df.empty}
        scenario = _validated(settings, tables, present, self.files, self.source, report, self.limits)
        if scenario is None or not report.ok:
            raise ScenarioError(report)
        return scenario

    def with_tables(self, tables: Mapping[str, pd.DataFrame]) -> Scenario:
        """A new, validated scenario in which whole tables are replaced; this one is not modified.

        Use it to bring your own forecast (``demand``, ``launch_curve``,
        ``seasonality``, ``response``) or any other table built in Python.

        >>> sc2 = sc.with_tables({"demand": my_demand_frame})

        Raises
        ------
        ScenarioError
            If a name is not a table, or the result does not validate (the
            problems name the table's file and the 1-based spreadsheet row).
        """
        if not isinstance(tables, Mapping):
            raise UsageError(f"with_tables takes a mapping of table names to DataFrames, not {type(tables).__name__}")
        report = Report()
        new = {n: df.copy(deep=True) for n, df in self._tables.items()}
        for name, df in tables.items():
            if not isinstance(name, str) or name not in TABLE_BY_NAME:
                report.add("tables", None, str(name), "unknown table" + did_you_mean(str(name), list(TABLE_BY_NAME)))
                continue
            # typed as the reader types a file: a column of text numbers or "true" is read, not cast
            new[name] = coerce_frame(TABLE_BY_NAME[name], df, self.files.get(name, TABLE_BY_NAME[name].file),
                                         self.periods, report)
        if not report.ok:
            raise ScenarioError(report)
        present = self.present | {n for n, df in new.items() if not df.empty}
        scenario = _validated(dict(self.settings), new, present, self.files, self.source, report, self.limits)
        if scenario is None or not report.ok:
            raise ScenarioError(report)
        return scenario

    def copy(self) -> Scenario:
        return copy.deepcopy(self)


# ---------------------------------------------------------------------- helpers


def _load(path: Path, report: Report, limits: Limits | None = None) -> Scenario | None:
    raw = read_raw(path, report, limits)
    settings_raw = raw.settings
    settings = check_settings(settings_raw, raw.setting_lines, raw.settings_file, report)
    _check_horizon(settings, raw.setting_lines, raw.settings_file, report, raw.limits)
    horizon = settings.get("horizon.periods")
    tables, present = coerce(raw, horizon, report)
    check_tables(tables, raw.files, present, horizon, report, settings=settings, setting_lines=raw.setting_lines)
    if not report.ok:
        return None
    return Scenario(settings, finalize_dtypes(tables), present=present, files=raw.files,
                    source=path, warnings=report.warnings, limits=raw.limits)


def _check_horizon(settings: dict[str, Any], lines: Mapping[str, int], file: str, report: Report,
                   limits: Limits) -> None:
    """A horizon longer than ``limits.max_periods`` is an error (and is not used by the table checks)."""
    H = settings.get("horizon.periods")
    if isinstance(H, int) and H > limits.max_periods:
        report.add(file, lines.get("horizon.periods"), "horizon.periods",
                   too_many_periods(H, limits.max_periods))
        settings["horizon.periods"] = None


def _validated(settings: dict[str, Any], tables: dict[str, pd.DataFrame], present: set[str],
               files: Mapping[str, str], source: Path | None, report: Report,
               limits: Limits | None = None) -> Scenario | None:
    """Check changed data as if it had been loaded; ``None`` when it has errors."""
    limits = limits if limits is not None else Limits()
    typed = check_settings(settings, {}, "changes", report)
    _check_horizon(typed, {}, "changes", report, limits)
    horizon = typed.get("horizon.periods")
    check_tables(tables, dict(files), present, horizon, report, settings=typed)
    if not report.ok:
        return None
    try:
        final = finalize_dtypes(tables)
    except (ValueError, TypeError) as exc:
        report.add("changes", None, None, f"a changed value has the wrong type: {exc}")
        return None
    return Scenario(typed, final, present=present, files=files, source=source, warnings=report.warnings,
                    limits=limits)


_REL = re.compile(r"^\s*([*+-])\s*([0-9.eE+-]+)\s*$")


def _relative(value: Any) -> tuple[str, float] | None:
    """``("*", 0.67)`` for ``"*0.67"``, ``("+", 5.0)`` for ``"+5"``; ``None`` for anything else."""
    if not isinstance(value, str):
        return None
    m = _REL.match(value)
    if not m:
        return None
    try:
        return m.group(1), float(m.group(2))
    except ValueError:
        return m.group(1), math.nan


def _apply(old: Any, value: Any, report: Report, label: str, where: str, numeric: bool = True) -> Any:
    """The new value of one cell or setting; a relative value or delta changes a number (only)."""
    rel = _relative(value) if numeric else None
    if rel is None:
        return value
    op, x = rel
    if math.isnan(x):
        report.add(label, None, where, f"'{value}' is not a number, a *factor or a +delta")
        return old
    if old is None or isinstance(old, (bool, np.bool_)) or not isinstance(old, numbers.Real) or math.isnan(old):
        report.add(label, None, where, f"'{value}' changes a value that is not set")
        return old
    if op == "*":
        return 0.0 if x == 0 else old * x  # a factor 0 makes even an unlimited (inf) value 0
    return old + x if op == "+" else old - x


def _change_table(tables: dict[str, pd.DataFrame], table_name: str, column: str, value: Any, report: Report,
                  label: str, key: str, file: str, horizon: int | None) -> None:
    """Apply one ``TABLE.COLUMN`` change; the changed cells are read as the reader reads a cell of ``file``."""
    spec = TABLE_BY_NAME[table_name]
    if column not in spec.column_names:
        report.add(label, None, key, f"table {table_name} has no column '{column}'" + did_you_mean(column, spec.column_names))
        return
    if column in spec.key:
        report.add(label, None, key, f"'{column}' is a key column of {table_name}; change rows, not keys")
        return
    df = tables[table_name]
    col = spec.column(column)
    numeric = col.dtype in ("int", "float")
    n = len(df)
    if not isinstance(value, Mapping):
        rel = _relative(value) if numeric else None
        if rel is not None and not math.isnan(rel[1]):  # one factor or delta for every row, at numpy speed
            old = df[column].to_numpy(dtype=np.float64)
            if rel[0] == "*":  # a factor 0 makes even an unlimited (inf) value 0; missing cells stay missing
                df[column] = np.where(np.isnan(old), np.nan, 0.0) if rel[1] == 0 else old * rel[1]
            else:
                df[column] = old + rel[1] if rel[0] == "+" else old - rel[1]
            return
        positions = list(range(n))
        current = df[column].tolist()
        new_values = [_apply(current[i], value, report, label, key, numeric) for i in positions]
    else:
        index: dict[Any, int] = {}  # keys as text, also for integer key columns such as period or age
        for i, k in enumerate(df[list(spec.key)].itertuples(index=False, name=None)):
            k = tuple(_key_text(x) for x in k)
            index[k if len(k) > 1 else k[0]] = i
        positions, new_values = [], []
        for k, v in value.items():
            k = tuple(_key_text(x) for x in k) if isinstance(k, tuple) else _key_text(k)
            if k not in index:
                report.add(label, None, key, f"{table_name} has no row with {'/'.join(spec.key)} = {k}"
                           + did_you_mean(str(k), [str(x) for x in index]))
                continue
            i = index[k]
            positions.append(i)
            new_values.append(_apply(df[column].iat[i], v, report, label, key, numeric))
    if not positions:
        return
    where = np.asarray(positions, dtype=np.int64)
    typed = coerce_values(col, new_values, where + FIRST_DATA_ROW, file, horizon, report)
    if numeric:
        values = df[column].to_numpy(dtype=np.float64, copy=True)
    elif col.dtype == "bool":
        values = df[column].to_numpy(dtype=bool, copy=True)
    else:
        values = df[column].to_numpy(dtype=object, copy=True)
    values[where] = typed
    df[column] = values


def _key_text(x: Any) -> str:
    """A key value as text: ``3``, ``3.0`` and ``"3"`` are the same period."""
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return str(int(x))
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    return str(x).strip()


def validate(path: str | os.PathLike, *, limits: Limits | None = None) -> Report:
    """Every problem in a scenario folder or workbook, errors and warnings, in one pass (``limits`` as for
    :meth:`Scenario.load`)."""
    report = Report()
    _load(Path(path), report, limits)
    return report
