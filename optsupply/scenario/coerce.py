"""Typed tables from tables of cell text, or from values built in Python, by the schema.

:func:`coerce` turns the text a scenario's files were read into
(:mod:`optsupply.scenario.read`) into typed columns: blanks take their
default, numbers are parsed, and every cell that cannot be read is reported
with its file, row and column (it becomes NaN, so the later checks can still
look at the rest of the table). :func:`coerce_frame` and
:func:`coerce_values` do the same for tables and values given to
:meth:`optsupply.Scenario.with_tables` and ``with_changes``.
:func:`finalize_dtypes` turns typed tables into the user-facing ones (a plain
``RangeIndex``, integer columns as ``int64``).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np
import pandas as pd

from optsupply.errors import WARNING, Report
from optsupply.scenario.cells import FIRST_DATA_ROW, MAX_UNKNOWN_COLUMNS, MAX_WHOLE, MISSING_COLUMN, did_you_mean
from optsupply.scenario.read import RawScenario
from optsupply.scenario.schema import H_LAST, TABLE_BY_NAME, TABLES, Column, Table
from optsupply.scenario.workbook import cell_text
from optsupply.scenario.write import fmt_float

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_NAN = {"nan", "na", "n/a", "null", "none"}
#: texts that pandas (``read_csv``'s default ``na_values``) reads as a missing value: an id spelled so would be
#: lost when a plan or a scenario is read back, so ids may not be spelled so (nor as any case of ``_NAN``)
READ_AS_MISSING = frozenset({"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})


def coerce(raw: RawScenario, horizon: int | None, report: Report) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """Typed tables from raw text; returns the tables and the names of those present (read as tables)."""
    typed: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        label = raw.files.get(table.name, table.file)
        if table.name in raw.tables:
            typed[table.name] = _coerce_table(table, raw.tables[table.name], label, horizon, report)
        else:
            typed[table.name] = empty_table(table)
    return typed, set(raw.tables)


def empty_table(table: Table | str) -> pd.DataFrame:
    """A table without rows, with the schema's columns and dtypes."""
    spec = TABLE_BY_NAME[table] if isinstance(table, str) else table
    return pd.DataFrame({c.name: pd.Series(dtype=_pandas_dtype(c)) for c in spec.columns})


def _pandas_dtype(col: Column) -> Any:
    return {"str": str, "float": "float64", "int": "int64", "bool": "bool"}[col.dtype]


def _coerce_table(table: Table, df: pd.DataFrame, label: str, horizon: int | None, report: Report) -> pd.DataFrame:
    names = table.column_names
    unknown = [c for c in df.columns if c not in names]
    for c in unknown[:MAX_UNKNOWN_COLUMNS]:
        report.add(label, 1, c, "unknown column, ignored" + did_you_mean(c, names), WARNING)
    if len(unknown) > MAX_UNKNOWN_COLUMNS:  # one warning for the rest: a header of a million names is one problem
        more = unknown[MAX_UNKNOWN_COLUMNS:]
        shown = ", ".join(more[:3]) + (", ..." if len(more) > 3 else "")
        report.add(label, 1, None, f"{len(more):,} more unknown columns ({shown}), ignored", WARNING)
    for col in table.columns:
        if col.required and col.name not in df.columns:
            report.add(label, 1, col.name, MISSING_COLUMN + _missing_hint(col.name, list(df.columns)))
    n = len(df)
    if n == 0:
        return empty_table(table)
    rows = df.index.to_numpy(dtype=np.int64) + FIRST_DATA_ROW  # spreadsheet rows (blank rows are skipped)
    out: dict[str, np.ndarray] = {}
    for col in table.columns:
        if col.name in df.columns:
            out[col.name] = _coerce_column(col, df[col.name].to_numpy(dtype=object), rows, label, horizon, report)
        elif col.required:
            out[col.name] = _placeholder(col, n)  # reported once, above
        else:
            out[col.name] = _absent(col, n, horizon)
    # text columns become pandas' string dtype here, once; whole numbers stay float64 until finalize_dtypes
    return pd.DataFrame(out, index=df.index)


def _missing_hint(name: str, present: list[str]) -> str:
    hint = did_you_mean(name, present)
    return hint.replace("did you mean", "is it") if hint else ""


def _placeholder(col: Column, n: int) -> np.ndarray:
    """Values of a required column that is missing (reported once): blank text, false, NaN."""
    if col.dtype == "str":
        return np.full(n, "", dtype=object)
    if col.dtype == "bool":
        return np.zeros(n, dtype=bool)
    return np.full(n, np.nan)


def _absent(col: Column, n: int, horizon: int | None) -> np.ndarray:
    """Values of an optional column that is not in the file: its default."""
    if col.dtype == "str":
        return np.full(n, "" if col.default is None else col.default, dtype=object)
    if col.dtype == "bool":
        return np.full(n, bool(col.default), dtype=bool)
    return np.full(n, _default_value(col, horizon), dtype=np.float64)


def _default_value(col: Column, horizon: int | None) -> Any:
    if col.default == H_LAST:
        return np.nan if horizon is None else horizon - 1
    return np.nan if col.default is None else col.default


# what is wrong with a cell (per distinct text of a column)
_OK, _BLANK, _BAD, _NAN_TEXT, _FRACTION, _INFINITE, _TOO_LARGE = range(7)


def _coerce_column(col: Column, cells: np.ndarray, rows: np.ndarray, label: str, horizon: int | None,
                   report: Report) -> np.ndarray:
    """Values of one column from its stripped cell texts; every unreadable cell is reported.

    Each distinct text is read once (a column of a large table holds few distinct
    texts); the result goes back to the rows through the codes of the texts.
    """
    if col.dtype == "str" and not col.choices:
        blank = cells == ""
        _missing_ids(col, cells, rows, label, report)
        if not blank.any():
            return cells
        if col.required:
            for r in rows[blank]:
                report.add(label, int(r), col.name, "missing value (this column is required)")
            return cells
        return cells if col.default is None else np.where(blank, col.default, cells)
    codes, uniques = pd.factorize(cells)
    texts: list[str] = uniques.tolist()
    kinds = np.zeros(len(texts), dtype=np.int8)
    if col.dtype == "str":
        values = np.array(texts, dtype=object)
        for k, t in enumerate(texts):
            if t == "":
                kinds[k] = _BLANK
                if not col.required and col.default is not None:
                    values[k] = col.default
            elif t not in col.choices:
                kinds[k] = _BAD
    elif col.dtype == "bool":
        values = np.zeros(len(texts), dtype=bool)
        for k, t in enumerate(texts):
            low = t.lower()
            if t == "":
                kinds[k] = _BLANK
                values[k] = False if col.required else bool(col.default)
            elif low in _TRUE:
                values[k] = True
            elif low not in _FALSE:
                kinds[k] = _BAD
    else:
        values, kinds = _parse_numbers(texts, col.dtype == "int")
        blank = kinds == _BLANK
        values[blank] = np.nan if col.required else _default_value(col, horizon)
    wrong = kinds > (_OK if col.required else _BLANK)  # a blank cell is fine where there is a default
    if wrong.any():
        for i in np.flatnonzero(wrong[codes]):
            k = codes[i]
            report.add(label, int(rows[i]), col.name, _cell_message(col, kinds[k], texts[k]))
    return values[codes]


def _missing_ids(col: Column, cells: np.ndarray, rows: np.ndarray, label: str, report: Report) -> None:
    """Report every id (a text column without choices) that reads back as a missing value (``NaN``, ``NA``, ...)."""
    if not len(cells):
        return
    texts = pd.Series(cells, dtype=object)
    uniques = texts.drop_duplicates()
    bad = {t for t in uniques if isinstance(t, str) and t and (t in READ_AS_MISSING or t.lower() in _NAN)}
    if not bad:
        return
    for i in np.flatnonzero(texts.isin(bad).to_numpy()):
        report.add(label, int(rows[i]), col.name, f"'{cells[i]}' cannot be an id: it reads back as a missing value "
                   "(pandas and spreadsheets read NaN, NA, N/A, null, None and #N/A as blank); give another id")


def _parse_numbers(texts: list[str], whole: bool) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of distinct cell texts, read like Python's float(), and what is wrong with each."""
    values = np.full(len(texts), np.nan)
    kinds = np.zeros(len(texts), dtype=np.int8)
    for k, t in enumerate(texts):
        if t == "":
            kinds[k] = _BLANK
            continue
        try:
            v = float(t)
        except ValueError:
            kinds[k] = _NAN_TEXT if t.lower() in _NAN else _BAD
            continue
        if v != v:
            kinds[k] = _NAN_TEXT
        elif whole and math.isinf(v):
            kinds[k] = _INFINITE
        elif whole and not v.is_integer():
            kinds[k] = _FRACTION
        elif whole and abs(v) > MAX_WHOLE:
            kinds[k] = _TOO_LARGE
        else:
            values[k] = v
    return values, kinds


def _cell_message(col: Column, kind: int, text: str) -> str:
    if kind == _BLANK:
        return "missing value (this column is required)"
    if col.dtype == "str":
        return f"'{text}' is not allowed: use {' or '.join(col.choices or ())}" + did_you_mean(text, col.choices or ())
    if col.dtype == "bool":
        return f"'{text}' is not true or false"
    if kind == _BAD:
        return f"'{text}' is not a number"
    if kind == _NAN_TEXT:
        return "NaN is not allowed: give a number" + ("" if col.required else " or leave the cell blank for the default")
    if kind == _INFINITE:
        return "must be a whole number, not infinite"
    if kind == _FRACTION:
        return f"'{text}' is not a whole number"
    return f"'{text}' is too large: whole numbers can be at most 2**53 ({MAX_WHOLE}) in size"


# --------------------------------------------------------------------------- values built in Python


def value_text(v: Any) -> str:
    """A Python value as the text of a cell: how values given to ``with_changes``/``with_tables`` are read.

    ``None`` and pandas' missing values are a blank cell (the default, where
    there is one); booleans are ``true``/``false``; numbers are their exact
    shortest text (NaN is ``nan``, which is rejected where a number is needed);
    text is stripped; anything else is its ``str``.
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return "nan" if v != v else fmt_float(float(v))
    if isinstance(v, (_dt.date, _dt.datetime)):
        return cell_text(v)
    return str(v).strip()


def coerce_values(col: Column, values: Any, rows: np.ndarray, label: str, horizon: int | None,
                  report: Report) -> np.ndarray:
    """Values of one column, as the reader types them, from values built in Python.

    ``values`` is a Series, an array or a list; ``rows`` the spreadsheet rows
    used in messages. Numbers for a number column and booleans for a boolean
    column are taken as they are (NaN is left for the checks to report);
    anything else is read like the text of a CSV cell (:func:`value_text`), so
    ``"true"``, ``"12"`` and a blank behave as in a file, and a value that
    cannot be read is reported with its row instead of raising.
    """
    dtype = getattr(values, "dtype", None)
    if dtype is not None and not isinstance(dtype, pd.CategoricalDtype):
        is_bool = pd.api.types.is_bool_dtype(dtype)
        if col.dtype in ("int", "float") and not is_bool and pd.api.types.is_numeric_dtype(dtype) \
                and not pd.api.types.is_complex_dtype(dtype):
            if not isinstance(dtype, pd.api.extensions.ExtensionDtype):
                return np.asarray(values, dtype=np.float64)
            if not pd.isna(values).any():  # a nullable dtype without missing values
                return pd.Series(values).to_numpy(dtype=np.float64)
        if col.dtype == "bool" and is_bool and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
            return np.asarray(values, dtype=bool)
    items = values.tolist() if hasattr(values, "tolist") else list(values)
    texts = np.empty(len(items), dtype=object)
    texts[:] = [value_text(v) for v in items]
    return _coerce_column(col, texts, np.asarray(rows, dtype=np.int64), label, horizon, report)


def coerce_frame(table: Table, df: Any, label: str, horizon: int | None, report: Report) -> pd.DataFrame:
    """A typed table (every schema column, a plain RangeIndex) from a DataFrame built in Python.

    Problems are reported as for a file called ``label`` whose header is the
    frame's columns: a required column that is missing, a column given twice,
    a cell that cannot be read (row = position + 2, as a spreadsheet would
    show it). Optional columns that are absent take their default; other
    columns are ignored (with a warning when the name is close to a column's).
    """
    if not isinstance(df, pd.DataFrame):
        report.add(label, None, None, f"must be a pandas DataFrame, not {type(df).__name__}")
        return empty_table(table)
    names = [str(c).strip() for c in df.columns]
    position: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in position:
            report.add(label, 1, name, "column appears twice in the header (name each column once)")
        else:
            position[name] = j
    known = table.column_names
    for name in position:
        hint = did_you_mean(name, known)
        if name not in known and hint:
            report.add(label, 1, name, "unknown column, ignored" + hint, WARNING)
    for col in table.columns:
        if col.required and col.name not in position:
            report.add(label, 1, col.name, MISSING_COLUMN + _missing_hint(col.name, names))
    n = len(df)
    rows = np.arange(n, dtype=np.int64) + FIRST_DATA_ROW
    out: dict[str, np.ndarray] = {}
    for col in table.columns:
        if col.name in position:
            out[col.name] = coerce_values(col, df.iloc[:, position[col.name]], rows, label, horizon, report)
        elif col.required:
            out[col.name] = _placeholder(col, n)
        else:
            out[col.name] = _absent(col, n, horizon)
    return pd.DataFrame(out, index=pd.RangeIndex(n), columns=known)


def finalize_dtypes(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The user-facing tables: schema dtypes (integer columns as int64) and a plain RangeIndex.

    Called once every cell is known to be valid.
    """
    out = {}
    for table in TABLES:
        df = tables[table.name]
        cols = {}
        for col in table.columns:
            s = df[col.name]
            if col.dtype == "int":
                cols[col.name] = s.astype("int64").to_numpy()
            elif col.dtype == "float":
                cols[col.name] = s.astype("float64").to_numpy()
            elif col.dtype == "bool":
                cols[col.name] = s.astype(bool).to_numpy()
            else:
                cols[col.name] = s.astype(str).array
        out[table.name] = pd.DataFrame(cols, index=pd.RangeIndex(len(df)), columns=table.column_names)
    return out
