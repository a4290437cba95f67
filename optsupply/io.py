"""Reading and writing scenario files, driven by :mod:`optsupply.schema`.

A scenario is either a folder (``scenario.toml`` plus one CSV per table) or a
single ``.xlsx`` workbook with one sheet per table (sheet name = table name
without ``.csv``) and a ``scenario`` sheet holding the settings as two
columns, ``key`` and ``value``, with dotted keys (``horizon.periods``).

Reading happens in two steps so that every problem is found in one pass:

1. :func:`read_raw` reads text only: every cell stays a string, and problems
   with the files themselves (missing, unreadable, not a table, TOML syntax)
   are recorded.
2. :func:`coerce` turns the text into typed columns using the schema: blanks
   take their default, numbers are parsed, and every cell that cannot be read
   is reported with its file, row and column. Cells that could not be read
   become NaN so the later checks can still look at the rest of the table.

Text tables and typed tables keep, as their index, each row's position below
the header: fully blank rows are skipped but still counted, so a message gives
the row number a spreadsheet shows (index + :data:`FIRST_DATA_ROW`).
:func:`finalize_dtypes` turns them into the user-facing tables (a plain
``RangeIndex``, integer columns as ``int64``).

CSV files are read with the :mod:`csv` module, which reports every problem
with its row. A large, well-formed file (no blank rows, no stray spaces or
quotes, the same number of fields on every row) is read by pandas' C parser
instead, which gives the same table much faster; whenever that is not certain,
the :mod:`csv` reading is used.

Input files are only ever opened for reading.
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import io as _stringio
import math
import os
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

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
MAX_WHOLE = 2**53  # whole numbers beyond this cannot be held exactly
MISSING_COLUMN = "required column is missing"  # start of the message for a required column absent from a header
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_NAN = {"nan", "na", "n/a", "null", "none"}


@dataclass
class RawScenario:
    """Text as read from the files, before any typing."""

    source: Path
    settings: dict[str, Any] = field(default_factory=dict)  # dotted key -> value as parsed
    setting_lines: dict[str, int] = field(default_factory=dict)  # dotted key -> line in scenario.toml
    settings_file: str = SCENARIO_FILE
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # stripped cell text (object columns)
    files: dict[str, str] = field(default_factory=dict)  # table -> label used in messages


def file_label(source: Path, table: str) -> str:
    """How a table's file is named in messages."""
    if source.suffix.lower() == ".xlsx":
        return f"{source.name}[{table}]"
    return f"{table}.csv"


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, ignoring case; ``""`` if none is close."""
    by_lower: dict[str, str] = {}
    for option in options:
        by_lower.setdefault(str(option).lower(), str(option))
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


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
        _unreadable(raw, source.name, report,
                    "a scenario is a folder with scenario.toml and CSV files, or an .xlsx workbook")
    else:
        _unreadable(raw, str(source), report, "no such scenario folder or workbook")
    return raw


def _unreadable(raw: RawScenario, label: str, report: Report, message: str) -> None:
    """A scenario that cannot be read at all: one error, and every setting and table is named after it.

    The checks that follow then know that the settings and tables were reported
    already, so the scenario gets exactly one error.
    """
    report.add(label, None, None, message)
    raw.settings_file = label
    raw.files = {t.name: label for t in TABLES}
    raw.settings.clear()
    raw.setting_lines.clear()
    raw.tables.clear()


def _read_folder(raw: RawScenario, report: Report) -> None:
    try:
        csv_files = sorted(raw.source.glob("*.csv"))
    except OSError as exc:
        _unreadable(raw, str(raw.source), report, f"cannot be read: {exc.strerror or exc}")
        return
    toml_path = raw.source / SCENARIO_FILE
    if not toml_path.is_file():
        report.add(SCENARIO_FILE, None, None, f"missing: a scenario folder needs {SCENARIO_FILE} (at least [horizon] periods)")
    else:
        text = _read_text(toml_path, SCENARIO_FILE, report)
        if text is not None:
            _parse_toml(raw, text, report)
    known = {t.file for t in TABLES}
    for f in csv_files:
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
    """The text table of a CSV file, or ``None`` (with the problems reported) when it is not a usable table."""
    text = _read_text(path, label, report)
    if text is None:
        return None
    fast = _fast_text_table(text)
    if fast is not None:
        return fast
    return _csv_text_table(text, label, report)


def _csv_text_table(text: str, label: str, report: Report) -> pd.DataFrame | None:
    """Read CSV text record by record with the :mod:`csv` module, reporting every problem."""
    records: list[list[str]] = []
    reader = csv.reader(_stringio.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    try:
        records.extend(reader)  # keeps the records read before an error
    except csv.Error as exc:
        # a spreadsheet row is a record (a quoted value may span lines): the bad one is the next
        report.add(label, len(records) + 1, None,
                   f"is not a valid CSV table ({exc}); check that every quote is closed")
        return None
    return _text_table(records, label, report)


# Whitespace that str.strip() removes, other than the space and line ends: a file holding none of
# these, and no space before a separator or a line end, has cells that need no stripping.
_ODD_SPACE = tuple(c for c in map(chr, range(0x3001)) if c.isspace() and c not in " \r\n")
_ODD_SPACE_ASCII = tuple(c for c in _ODD_SPACE if c.isascii())
# a quoted value that both readers read alike: right after a separator or a line start, closed before
# the next separator or line end, with no quote or line end inside
_SIMPLE_QUOTED = re.compile(r'(?<![^,\n])"[^"\r\n]*"(?![^,\r\n])')


def _fast_text_table(text: str) -> pd.DataFrame | None:
    """The text table of a well-formed CSV text, read by pandas' C parser; ``None`` if not certain.

    The result is exactly what :func:`_csv_text_table` gives (without problems to
    report): the checks below only accept text for which the two readers agree,
    and for which every cell is already stripped. Anything else (blank rows,
    rows with more fields than the header, quotes that are not simple, spaces to
    strip, a header that is not a list of distinct names) is left to the
    :mod:`csv` module, which reports what is wrong.
    """
    if "\x00" in text or text[:1] in ("", "\n", "\r", " "):
        return None
    odd = _ODD_SPACE_ASCII if text.isascii() else _ODD_SPACE
    if any(c in text for c in odd):
        return None
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # a lone carriage return
    if " " in text and (" ," in text or " \n" in text or " \r" in text or text.endswith(" ")):
        return None  # spaces to strip (spaces after a separator are skipped by both readers)
    if '"' in text:
        if " " in text and ('" ' in text or ' "' in text):
            return None
        if 2 * len(_SIMPLE_QUOTED.findall(text)) != text.count('"'):
            return None
    # Blank rows need no search: pandas skips empty lines, so the row count below then
    # disagrees with the number of lines (a row of empty cells is caught by its first cell).
    end = text.find("\n")
    if end < 0:
        return None  # only a header
    second = text.find("\n", end + 1)
    try:
        head = list(csv.reader([text[:end].rstrip("\r"), text[end + 1:second if second >= 0 else len(text)].rstrip("\r")],
                               skipinitialspace=True, strict=True))
    except csv.Error:
        return None
    if len(head) != 2:
        return None
    names = [c.strip().lstrip("\ufeff").strip() for c in head[0]]
    width = len(names)
    # a first data row as wide as the header: pandas then rejects any wider row
    if width < 2 or len(head[1]) != width or not all(names) or len(set(names)) != width:
        return None
    n_rows = text.count("\n") - (1 if text.endswith("\n") else 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            df = pd.read_csv(_stringio.StringIO(text), header=0, index_col=False, dtype=object, na_filter=False,
                             keep_default_na=False, skipinitialspace=True, skip_blank_lines=True, engine="c")
    except Exception:  # noqa: BLE001 - anything pandas does not like is read by the csv module
        return None
    if df.shape != (n_rows, width) or any(dt != object for dt in df.dtypes):
        return None  # a quoted line end, or a row pandas read differently
    if n_rows and (df.iloc[:, 0].to_numpy() == "").any():
        return None  # maybe a row of empty cells (blank): the csv reading skips those
    df.columns = names
    df.index = pd.Index(np.arange(n_rows, dtype=np.int64))
    return df


def _column_letter(j: int) -> str:
    """Spreadsheet letter of the 0-based column ``j`` (0 -> A, 26 -> AA)."""
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _text_table(records: list[list[str]], label: str, report: Report) -> pd.DataFrame | None:
    """A table of stripped text from spreadsheet records, the first being the header (row 1).

    Fully blank rows are skipped; the index keeps each row's position below the
    header, so messages give the row number the spreadsheet shows. Returns
    ``None`` (with the problems reported) when the records cannot be used as a table.
    """
    def blank(cells: list[str]) -> bool:
        return not "".join(cells).strip()

    if all(blank(r) for r in records):
        report.add(label, None, None, "is empty: it needs at least a header row")
        return None
    header = [str(c).strip().lstrip("\ufeff").strip() for c in records[0]]
    if blank(header):
        report.add(label, 1, None, "row 1 is blank: the first row must be the header with the column names")
        return None
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        sep = "semicolons" if ";" in header[0] else "tabs"
        report.add(label, 1, None, f"the header has no commas but {sep}: save the file with commas as separators")
        return None
    width = len(header)
    rows: list[list[str]] = []
    index: list[int] = []
    ragged = False
    for i, record in enumerate(records[1:]):
        if len(record) > width and not blank(record[width:]):
            report.add(label, i + FIRST_DATA_ROW, None,
                       f"has {len(record)} fields but the header has {width}: a value that contains a comma "
                       "must be in quotes (and decimals are written with a point)")
            ragged = True
        elif not blank(record):
            rows.append(record[:width] if len(record) >= width else record + [""] * (width - len(record)))
            index.append(i)
    if ragged:
        return None
    columns: dict[str, np.ndarray] = {}
    unnamed: list[str] = []
    for j, name in enumerate(header):
        cells = np.array([r[j].strip() for r in rows] if rows else [], dtype=object)
        if not name:
            if (cells != "").any():
                unnamed.append(_column_letter(j))
        elif name in columns:
            report.add(label, 1, name, "column appears twice in the header (name each column once)")
        else:
            columns[name] = cells
    if unnamed:
        which = f"column {unnamed[0]} has" if len(unnamed) == 1 else f"columns {', '.join(unnamed)} have"
        report.add(label, 1, None, f"{which} values but no header, ignored", WARNING)
    return pd.DataFrame(columns, index=pd.Index(np.asarray(index, dtype=np.int64)), dtype=object)


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


_TOML_PART = r'(?:[A-Za-z0-9_\-]+|"[^"\n]*"|\'[^\'\n]*\')'
_TOML_KEY = rf"{_TOML_PART}(?:\s*\.\s*{_TOML_PART})*"
_TOML_TABLE = re.compile(rf"^\[\s*({_TOML_KEY})\s*\]")
_TOML_ASSIGN = re.compile(rf"^({_TOML_KEY})\s*=")


def _toml_key(text: str) -> str:
    """``a . "b"`` -> ``a.b``."""
    return ".".join(p.strip()[1:-1] if p.strip()[:1] in "\"'" else p.strip()
                    for p in re.findall(rf"{_TOML_PART}", text))


def _toml_key_lines(text: str) -> dict[str, int]:
    """Line number of each ``section.key`` (a simple scan, good enough for messages).

    Keys may be dotted (``horizon.periods = 6`` at the top level); each key's
    sections are given the line too, unless a ``[section]`` line came first.
    """
    lines: dict[str, int] = {}
    section = ""
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s.startswith("[["):
            section = ""
            continue
        m = _TOML_TABLE.match(s)
        if m:
            name = _toml_key(m.group(1))
            section = name + "."
            lines.setdefault(name, i)
            continue
        m = _TOML_ASSIGN.match(s)
        if m:
            key = section + _toml_key(m.group(1))
            parts = key.split(".")
            for k in range(1, len(parts)):
                lines.setdefault(".".join(parts[:k]), i)
            lines.setdefault(key, i)
    return lines


def _read_workbook(raw: RawScenario, report: Report) -> None:
    name = raw.source.name
    try:
        sheets = _workbook_sheets(raw.source)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged files
        _unreadable(raw, name, report, f"cannot be read as an .xlsx workbook: {exc}")
        return
    raw.settings_file = file_label(raw.source, WORKBOOK_SETTINGS_SHEET)
    known = {t.name for t in TABLES} | {WORKBOOK_SETTINGS_SHEET}
    for sheet in sheets:
        if sheet not in known:
            report.add(f"{name}[{sheet}]", None, None, "unknown sheet, ignored" + did_you_mean(sheet, sorted(known)), WARNING)
    if WORKBOOK_SETTINGS_SHEET not in sheets:
        report.add(raw.settings_file, None, None,
                   "missing sheet 'scenario' with the settings (columns key, value; at least horizon.periods)")
    else:
        df = _text_table(sheets[WORKBOOK_SETTINGS_SHEET], raw.settings_file, report)
        if df is not None:
            _parse_settings_sheet(raw, df, report)
    for table in TABLES:
        label = file_label(raw.source, table.name)
        raw.files[table.name] = label
        if table.name in sheets:
            df = _text_table(sheets[table.name], label, report)
            if df is not None:
                raw.tables[table.name] = df


def _workbook_sheets(path: Path) -> dict[str, list[list[str]]]:
    """Every worksheet as records of cell text, the first record being sheet row 1."""
    import openpyxl  # only needed for workbooks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about features it does not read (styles, validation)
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheets = {}
            for ws in wb.worksheets:
                ws.reset_dimensions()  # the stored size may be wrong: read every row there is
                sheets[ws.title] = _sheet_records(ws.iter_rows(values_only=True))
            return sheets
        finally:
            wb.close()


def _sheet_records(rows: Iterable[Iterable[Any]]) -> list[list[str]]:
    """Cell text of a sheet's rows (empty rows included, so record i is sheet row i + 1), all as wide."""
    records = [[_cell_text(v) for v in row] for row in rows]
    width = max((len(r) for r in records), default=0)
    return [r + [""] * (width - len(r)) for r in records]


def _cell_text(v: Any) -> str:
    """A cell's value as it would read in a CSV file."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, _dt.datetime) and v.time() == _dt.time():
        return v.date().isoformat()
    return str(v)


def _parse_settings_sheet(raw: RawScenario, df: pd.DataFrame, report: Report) -> None:
    label = raw.settings_file
    for col in ("key", "value"):
        if col not in df.columns:
            report.add(label, 1, col, "missing column: the settings sheet has columns key and value")
            return
    for idx, key, value in zip(df.index, df["key"], df["value"], strict=True):
        if not key:
            continue
        raw.setting_lines[key] = int(idx) + FIRST_DATA_ROW
        raw.settings[key] = _setting_text(key, value)


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
    for c in df.columns:
        if c not in names:
            report.add(label, 1, c, "unknown column, ignored" + did_you_mean(c, names), WARNING)
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
