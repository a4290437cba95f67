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
import os
import re
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd
import tomli_w

from optsupply import io as _io
from optsupply.errors import Problem, Report, ScenarioError, UsageError
from optsupply.files import write_folder
from optsupply.schema import SCENARIO_FILE, SETTING_BY_KEY, TABLE_BY_NAME, TABLES, WORKBOOK_SETTINGS_SHEET
from optsupply.validate import check_settings, check_tables


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
                 source: Path | None = None, warnings: list[Problem] | None = None):
        self.settings = dict(settings)
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
    def load(cls, path: str | os.PathLike) -> Scenario:
        """Load and validate a scenario folder or ``.xlsx`` workbook.

        Raises
        ------
        ScenarioError
            With every problem found (file, row, column, message), if any is an error.
        """
        report = Report()
        scenario = _load(Path(path), report)
        if scenario is None or not report.ok:
            raise ScenarioError(report)
        return scenario

    # ------------------------------------------------------------------ save

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the scenario as a folder (``scenario.toml`` + CSV) or, for a ``.xlsx`` path, a workbook.

        The folder is written completely or not at all (written next to the
        target, then renamed into place). Optional tables without rows are not
        written. Loading the result gives equal tables and settings.
        """
        target = Path(path)
        if target.exists() and not overwrite:
            if target.is_file() or any(target.iterdir()):
                raise UsageError(f"{target} already exists and is not empty (pass overwrite=True to replace it)")
        if self.source is not None and target.resolve() == self.source.resolve():
            raise UsageError(f"{target} is where this scenario was loaded from; save it somewhere else")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() == ".xlsx":
            tmp = target.with_name(f".{target.name}.tmp")
            self._write_workbook(tmp)
            os.replace(tmp, target)
            return target
        return write_folder(target, self._write_folder)

    def _tables_to_write(self) -> Iterator[tuple[str, pd.DataFrame]]:
        for t in TABLES:
            df = self._tables[t.name]
            if not df.empty or (t.presence == "required"):
                yield t.name, _io.format_cell_frame(t, df)

    def _write_folder(self, folder: Path) -> None:
        with open(folder / SCENARIO_FILE, "wb") as f:
            tomli_w.dump(_io.settings_to_toml_dict(self.settings), f)
        for name, text in self._tables_to_write():
            text.to_csv(folder / TABLE_BY_NAME[name].file, index=False, lineterminator="\n")

    def _write_workbook(self, file: Path) -> None:
        rows = [(k, v) for k, v in self.settings.items() if v is not None and k in SETTING_BY_KEY]
        with pd.ExcelWriter(file, engine="openpyxl") as xl:
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
        delta (``"+5"``, ``"-5"``).

        >>> sc.with_changes({"products.price": {"P7": 24.0},
        ...                  "advertising.total_budget": 3e5,
        ...                  "warehouses.storage_capacity": {"W2": "*0.67"}})

        Raises
        ------
        ScenarioError
            If a change names an unknown table, column, key or setting, or the
            changed scenario does not validate.
        """
        report = Report()
        settings = dict(self.settings)
        tables = {n: df.copy(deep=True) for n, df in self._tables.items()}
        label = "changes"
        for key, value in changes.items():
            table_name, _, column = key.partition(".")
            if key in SETTING_BY_KEY:
                settings[key] = _apply(settings.get(key), value, report, label, key)
            elif table_name in TABLE_BY_NAME:
                _change_table(tables, table_name, column, value, report, label, key)
            else:
                options = list(SETTING_BY_KEY) + [f"{t.name}.{c.name}" for t in TABLES for c in t.columns]
                report.add(label, None, key, "unknown table or setting" + _io.did_you_mean(key, options))
        if not report.ok:
            raise ScenarioError(report)
        present = self.present | {n for n, df in tables.items() if not df.empty}
        scenario = _validated(settings, tables, present, self.files, self.source, report)
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
        report = Report()
        new = {n: df.copy(deep=True) for n, df in self._tables.items()}
        for name, df in tables.items():
            if name not in TABLE_BY_NAME:
                report.add("tables", None, name, "unknown table" + _io.did_you_mean(name, list(TABLE_BY_NAME)))
                continue
            new[name] = df.reset_index(drop=True).copy(deep=True)
        if not report.ok:
            raise ScenarioError(report)
        present = self.present | {n for n, df in new.items() if not df.empty}
        scenario = _validated(dict(self.settings), new, present, self.files, self.source, report)
        if scenario is None or not report.ok:
            raise ScenarioError(report)
        return scenario

    def copy(self) -> Scenario:
        return copy.deepcopy(self)


# ---------------------------------------------------------------------- helpers


def _load(path: Path, report: Report) -> Scenario | None:
    raw = _io.read_raw(path, report)
    settings_raw = raw.settings
    settings = check_settings(settings_raw, raw.setting_lines, raw.settings_file, report)
    horizon = settings.get("horizon.periods")
    tables, present = _io.coerce(raw, horizon, report)
    check_tables(tables, raw.files, present, horizon, report)
    if not report.ok:
        return None
    return Scenario(settings, _io.finalize_dtypes(tables), present=present, files=raw.files,
                    source=path, warnings=report.warnings)


def _validated(settings: dict[str, Any], tables: dict[str, pd.DataFrame], present: set[str],
               files: Mapping[str, str], source: Path | None, report: Report) -> Scenario | None:
    """Check changed data as if it had been loaded; ``None`` when it has errors."""
    typed = check_settings(settings, {}, "changes", report)
    horizon = typed.get("horizon.periods")
    check_tables(tables, dict(files), present, horizon, report)
    if not report.ok:
        return None
    try:
        final = _io.finalize_dtypes(tables)
    except (ValueError, TypeError) as exc:
        report.add("changes", None, None, f"a changed value has the wrong type: {exc}")
        return None
    return Scenario(typed, final, present=present, files=files, source=source, warnings=report.warnings)


_REL = re.compile(r"^\s*([*+-])\s*([0-9.eE+-]+)\s*$")


def _apply(old: Any, value: Any, report: Report, label: str, where: str) -> Any:
    if isinstance(value, str):
        m = _REL.match(value)
        if m:
            op, num = m.group(1), m.group(2)
            try:
                x = float(num)
            except ValueError:
                report.add(label, None, where, f"'{value}' is not a number, a *factor or a +delta")
                return old
            if old is None or (isinstance(old, float) and math.isnan(old)):
                report.add(label, None, where, f"'{value}' changes a value that is not set")
                return old
            if op == "*":
                return old * x
            return old + x if op == "+" else old - x
    return value


def _change_table(tables: dict[str, pd.DataFrame], table_name: str, column: str, value: Any, report: Report,
                  label: str, key: str) -> None:
    spec = TABLE_BY_NAME[table_name]
    if column not in spec.column_names:
        report.add(label, None, key, f"table {table_name} has no column '{column}'" + _io.did_you_mean(column, spec.column_names))
        return
    if column in spec.key:
        report.add(label, None, key, f"'{column}' is a key column of {table_name}; change rows, not keys")
        return
    df = tables[table_name]
    col = spec.column(column)
    if col.dtype in ("int", "float"):
        df[column] = df[column].astype("float64")
    elif col.dtype == "str":
        df[column] = df[column].astype(object)
    if not isinstance(value, Mapping):
        df[column] = [_apply(v, value, report, label, key) for v in df[column]]
        return
    index = {}  # keys as text, also for integer key columns such as period or age
    for i, k in enumerate(df[list(spec.key)].itertuples(index=False, name=None)):
        k = tuple(_key_text(x) for x in k)
        index[k if len(k) > 1 else k[0]] = i
    for k, v in value.items():
        k = tuple(_key_text(x) for x in k) if isinstance(k, tuple) else _key_text(k)
        if k not in index:
            report.add(label, None, key, f"{table_name} has no row with {'/'.join(spec.key)} = {k}"
                       + _io.did_you_mean(str(k), [str(x) for x in index]))
            continue
        i = index[k]
        df.iat[i, df.columns.get_loc(column)] = _apply(df.iat[i, df.columns.get_loc(column)], v, report, label, key)


def _key_text(x: Any) -> str:
    """A key value as text: ``3``, ``3.0`` and ``"3"`` are the same period."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x).strip()


def validate(path: str | os.PathLike) -> Report:
    """Every problem in a scenario folder or workbook, errors and warnings, in one pass."""
    report = Report()
    _load(Path(path), report)
    return report
