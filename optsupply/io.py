"""Reading and writing scenario files, driven by :mod:`optsupply.schema`.

A scenario is either a folder (``scenario.toml`` plus one CSV per table) or a
single ``.xlsx`` workbook with one sheet per table (sheet name = table name
without ``.csv``) and a ``scenario`` sheet holding the settings as two
columns, ``key`` and ``value``, with dotted keys (``horizon.periods``).

Reading happens in two steps so that every problem is found in one pass:

1. :func:`read_raw` reads text only: every cell stays a string, and problems
   with the files themselves (missing, unreadable, TOML syntax) are recorded.
2. :func:`coerce` turns the text into typed columns using the schema: blanks
   take their default, numbers are parsed, and every cell that cannot be read
   is reported with its file, row and column. Cells that could not be read
   become NaN so the later checks can still look at the rest of the table.

Input files are only ever opened for reading.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optsupply.errors import WARNING, Report
from optsupply.schema import (
    H_LAST,
    SCENARIO_FILE,
    SETTING_BY_KEY,
    SETTINGS,
    TABLE_BY_NAME,
    TABLES,
    WORKBOOK_SETTINGS_SHEET,
    Column,
    Table,
)

FIRST_DATA_ROW = 2  # the header is spreadsheet row 1
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_INF = {"inf", "+inf", "infinity", "+infinity"}


@dataclass
class RawScenario:
    """Text as read from the files, before any typing."""

    source: Path
    settings: dict[str, Any] = field(default_factory=dict)  # dotted key -> value as parsed
    setting_lines: dict[str, int] = field(default_factory=dict)  # dotted key -> line in scenario.toml
    settings_file: str = SCENARIO_FILE
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # all cells str
    files: dict[str, str] = field(default_factory=dict)  # table -> label used in messages


def file_label(source: Path, table: str) -> str:
    """How a table's file is named in messages."""
    if source.suffix.lower() == ".xlsx":
        return f"{source.name}[{table}]"
    return f"{table}.csv"


def did_you_mean(name: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------- raw reading


def read_raw(path: str | os.PathLike, report: Report) -> RawScenario:
    """Read a scenario folder or workbook as text; file-level problems go to ``report``."""
    source = Path(path)
    raw = RawScenario(source=source)
    if source.is_dir():
        _read_folder(raw, report)
    elif source.suffix.lower() == ".xlsx" and source.is_file():
        _read_workbook(raw, report)
    elif source.exists():
        report.add(source.name, None, None, "a scenario is a folder with scenario.toml and CSV files, or an .xlsx workbook")
    else:
        report.add(str(source), None, None, "no such scenario folder or workbook")
    return raw


def _read_folder(raw: RawScenario, report: Report) -> None:
    toml_path = raw.source / SCENARIO_FILE
    if not toml_path.is_file():
        report.add(SCENARIO_FILE, None, None, f"missing: a scenario folder needs {SCENARIO_FILE} (at least [horizon] periods)")
    else:
        text = _read_text(toml_path, SCENARIO_FILE, report)
        if text is not None:
            _parse_toml(raw, text, report)
    known = {t.file for t in TABLES}
    for f in sorted(raw.source.glob("*.csv")):
        if f.name not in known:
            report.add(f.name, None, None, "unknown table, ignored" + did_you_mean(f.name, sorted(known)), WARNING)
    for table in TABLES:
        f = raw.source / table.file
        raw.files[table.name] = table.file
        if f.is_file():
            df = _read_csv(f, table.file, report)
            if df is not None:
                raw.tables[table.name] = df


def _read_text(path: Path, label: str, report: Report) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        report.add(label, None, None, f"cannot be read: {exc.strerror or exc}")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        report.add(label, line, None, "is not UTF-8 text (save it as CSV UTF-8)")
        return None


def _read_csv(path: Path, label: str, report: Report) -> pd.DataFrame | None:
    text = _read_text(path, label, report)
    if text is None:
        return None
    if not text.strip():
        report.add(label, None, None, "is empty: it needs at least a header row")
        return None
    try:
        import io as _io

        df = pd.read_csv(
            _io.StringIO(text), dtype=str, keep_default_na=False, na_values=[], skipinitialspace=True,
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        row = int(m.group(1)) if m else None
        msg = str(exc).split(":")[-1].strip() if m else str(exc)
        report.add(label, row, None, f"is not a valid CSV table ({msg}); check quotes and the number of commas per row")
        return None
    return _clean_header(df, label, report)


def _clean_header(df: pd.DataFrame, label: str, report: Report) -> pd.DataFrame:
    cols = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    seen: set[str] = set()
    for c in cols:
        if c in seen:
            report.add(label, 1, c, "column appears twice in the header")
        seen.add(c)
    df.columns = cols
    if len(cols) == 1 and ";" in cols[0]:
        report.add(label, 1, None, "the header has no commas but semicolons: save the file with commas as separators")
    return df


def _parse_toml(raw: RawScenario, text: str, report: Report) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        row = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        col = f" at column {m.group(2)}" if m else ""
        report.add(SCENARIO_FILE, row, None, f"TOML syntax error{col}: {msg}")
        return
    raw.settings = _flatten(data)
    raw.setting_lines = _toml_key_lines(text)


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _toml_key_lines(text: str) -> dict[str, int]:
    """Line number of each ``section.key`` (simple scan, good enough for messages)."""
    lines: dict[str, int] = {}
    section = ""
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        m = re.match(r"^\[\s*([A-Za-z0-9_.\-]+)\s*\]", s)
        if m:
            section = m.group(1) + "."
            lines.setdefault(m.group(1), i)
            continue
        m = re.match(r"^([A-Za-z0-9_\-]+)\s*=", s)
        if m:
            lines.setdefault(section + m.group(1), i)
    return lines


def _read_workbook(raw: RawScenario, report: Report) -> None:
    name = raw.source.name
    try:
        sheets = pd.read_excel(raw.source, sheet_name=None, dtype=str, keep_default_na=False, na_values=[])
    except Exception as exc:  # openpyxl raises many types for damaged files
        report.add(name, None, None, f"cannot be read as an .xlsx workbook: {exc}")
        return
    raw.settings_file = f"{name}[{WORKBOOK_SETTINGS_SHEET}]"
    known = {t.name for t in TABLES} | {WORKBOOK_SETTINGS_SHEET}
    for sheet in sheets:
        if sheet not in known:
            report.add(f"{name}[{sheet}]", None, None, "unknown sheet, ignored" + did_you_mean(sheet, sorted(known)), WARNING)
    if WORKBOOK_SETTINGS_SHEET not in sheets:
        report.add(name, None, None, "missing sheet 'scenario' with the settings (columns key, value; at least horizon.periods)")
    else:
        _parse_settings_sheet(raw, _clean_header(sheets[WORKBOOK_SETTINGS_SHEET], raw.settings_file, report), report)
    for table in TABLES:
        raw.files[table.name] = file_label(raw.source, table.name)
        if table.name in sheets:
            raw.tables[table.name] = _clean_header(sheets[table.name], raw.files[table.name], report)


def _parse_settings_sheet(raw: RawScenario, df: pd.DataFrame, report: Report) -> None:
    label = raw.settings_file
    for col in ("key", "value"):
        if col not in df.columns:
            report.add(label, 1, col, "missing column: the settings sheet has columns key and value")
            return
    for i, (key, value) in enumerate(zip(df["key"], df["value"], strict=True)):
        key = str(key).strip()
        if not key:
            continue
        raw.setting_lines[key] = i + FIRST_DATA_ROW
        raw.settings[key] = _setting_text(key, str(value).strip())


def _setting_text(key: str, text: str) -> Any:
    """Turn a workbook cell into the value TOML would have given."""
    spec = SETTING_BY_KEY.get(key)
    if text == "":
        return None
    if spec is None or spec.dtype == "str":
        return text
    try:
        value = float(text)
    except ValueError:
        return text  # reported by the settings check
    if spec.dtype == "int" and value.is_integer():
        return int(value)
    return value


# --------------------------------------------------------------------------- coercion


def coerce(raw: RawScenario, horizon: int | None, report: Report) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """Typed tables from raw text; returns the tables and the names of those present."""
    typed: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        label = raw.files.get(table.name, table.file)
        if table.name in raw.tables:
            typed[table.name] = _coerce_table(table, raw.tables[table.name], label, horizon, report)
        else:
            typed[table.name] = empty_table(table)
    return typed, set(raw.tables)


def empty_table(table: Table) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype=_pandas_dtype(c)) for c in table.columns})


def _pandas_dtype(col: Column) -> Any:
    return {"str": str, "float": "float64", "int": "int64", "bool": "bool"}[col.dtype]


def _coerce_table(table: Table, df: pd.DataFrame, label: str, horizon: int | None, report: Report) -> pd.DataFrame:
    names = table.column_names
    for c in df.columns:
        if c not in names:
            report.add(label, 1, c, "unknown column, ignored" + did_you_mean(c, names), WARNING)
    missing = [c.name for c in table.columns if c.required and c.name not in df.columns]
    for c in missing:
        report.add(label, 1, c, "required column is missing" + _missing_hint(c, list(df.columns)))
    rows = np.arange(len(df)) + FIRST_DATA_ROW
    out = {}
    for col in table.columns:
        if col.name in df.columns:
            text = df[col.name].astype(str).str.strip()
        else:
            text = pd.Series([""] * len(df), dtype=str)
            if col.required:
                out[col.name] = _placeholder(col, len(df))
                continue
        out[col.name] = _coerce_column(col, text, rows, label, horizon, report)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _missing_hint(name: str, present: list[str]) -> str:
    hint = did_you_mean(name, present)
    return hint.replace("did you mean", "is it") if hint else ""


def _placeholder(col: Column, n: int) -> pd.Series:
    if col.dtype == "str":
        return pd.Series([""] * n, dtype=str)
    if col.dtype == "bool":
        return pd.Series([False] * n, dtype=bool)
    return pd.Series([np.nan] * n, dtype="float64")


def _default_value(col: Column, horizon: int | None) -> Any:
    if col.default == H_LAST:
        return np.nan if horizon is None else horizon - 1
    return col.default


def _coerce_column(col: Column, text: pd.Series, rows: np.ndarray, label: str, horizon: int | None,
                   report: Report) -> pd.Series:
    blank = (text == "").to_numpy()
    if col.required:
        for r in rows[blank]:
            report.add(label, int(r), col.name, "missing value (this column is required)")
    if col.dtype == "str":
        values = text.copy()
        if not col.required and col.default is not None:
            values[blank] = col.default
        if col.choices:
            bad = ~values.isin(col.choices).to_numpy() & ~blank
            for r, v in zip(rows[bad], values[bad], strict=True):
                report.add(label, int(r), col.name, f"'{v}' is not allowed: use {' or '.join(col.choices)}")
        return values.astype(str)
    if col.dtype == "bool":
        low = text.str.lower()
        values = low.isin(_TRUE).to_numpy(copy=True)
        bad = ~low.isin(_TRUE | _FALSE).to_numpy() & ~blank
        for r, v in zip(rows[bad], text[bad], strict=True):
            report.add(label, int(r), col.name, f"'{v}' is not true or false")
        if not col.required:
            values[blank] = bool(col.default)
        return pd.Series(values, dtype=bool)
    # numbers
    low = text.str.lower()
    is_inf = low.isin(_INF).to_numpy()
    is_neg_inf = low.isin({"-" + s.lstrip("+") for s in _INF}).to_numpy()
    is_nan = low.isin({"nan", "na", "n/a", "null", "none"}).to_numpy()
    num = pd.to_numeric(text.where(~(is_inf | is_neg_inf | is_nan | blank), "0"), errors="coerce").to_numpy(dtype="float64", copy=True)
    bad_text = np.isnan(num) & ~blank
    for r, v in zip(rows[bad_text], text[bad_text], strict=True):
        report.add(label, int(r), col.name, f"'{v}' is not a number")
    num[is_inf] = math.inf
    num[is_neg_inf] = -math.inf
    num[is_nan] = np.nan
    for r in rows[is_nan]:
        report.add(label, int(r), col.name, "NaN is not allowed: give a number" + ("" if col.required else " or leave the cell blank for the default"))
    if not col.required:
        num[blank] = _default_value(col, horizon)
    elif blank.any():
        num[blank] = np.nan
    if col.dtype == "int":
        finite = np.isfinite(num)
        frac = finite & (num != np.round(num))
        for r, v in zip(rows[frac], text[frac], strict=True):
            report.add(label, int(r), col.name, f"'{v}' is not a whole number")
        num[frac] = np.nan
        infinite = np.isinf(num)
        for r in rows[infinite]:
            report.add(label, int(r), col.name, "must be a whole number, not infinite")
        num[infinite] = np.nan
    return pd.Series(num, dtype="float64")


def finalize_dtypes(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Cast integer columns to int64 once every cell is known to be valid."""
    out = {}
    for table in TABLES:
        df = tables[table.name].copy()
        for col in table.columns:
            if col.dtype == "int":
                df[col.name] = df[col.name].astype("int64")
            elif col.dtype == "float":
                df[col.name] = df[col.name].astype("float64")
            elif col.dtype == "bool":
                df[col.name] = df[col.name].astype(bool)
            else:
                df[col.name] = df[col.name].astype(str)
        out[table.name] = df.reset_index(drop=True)
    return out


# --------------------------------------------------------------------------- writing


def format_cell_frame(table: Table, df: pd.DataFrame) -> pd.DataFrame:
    """Text form of a typed table, as it is written to CSV or a sheet.

    Floats use the shortest text that reads back to the same number (repr),
    infinity is ``inf`` and booleans are ``true``/``false``.
    """
    out = {}
    for col in table.columns:
        s = df[col.name]
        if col.dtype == "float":
            out[col.name] = [_fmt_float(v) for v in s.to_numpy()]
        elif col.dtype == "bool":
            out[col.name] = ["true" if v else "false" for v in s.to_numpy()]
        else:
            out[col.name] = s.astype(str).tolist()
    return pd.DataFrame(out, columns=table.column_names)


def _fmt_float(v: float) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if float(v).is_integer() and abs(v) < 1e16:
        return str(int(v))
    return repr(float(v))


def settings_to_toml_dict(settings: dict[str, Any]) -> dict[str, Any]:
    """Nested dict for scenario.toml from dotted keys; unset (None) keys are left out."""
    out: dict[str, Any] = {}
    for spec in SETTINGS:
        value = settings.get(spec.key)
        if value is None:
            continue
        if "." in spec.key:
            section, key = spec.key.split(".", 1)
            out.setdefault(section, {})[key] = value
        else:
            out[spec.key] = value
    # top-level keys first, as TOML requires
    return dict(sorted(out.items(), key=lambda kv: isinstance(kv[1], dict)))
