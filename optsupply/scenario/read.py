"""Reading scenario files as text: a folder (``scenario.toml`` and CSV files) or an ``.xlsx`` workbook.

A scenario is either a folder (``scenario.toml`` plus one CSV per table) or a
single ``.xlsx`` workbook with one sheet per table (sheet name = table name
without ``.csv``) and a ``scenario`` sheet holding the settings as two
columns, ``key`` and ``value``, with dotted keys (``horizon.periods``).

Reading happens in two steps so that every problem is found in one pass:

1. :func:`read_raw` (here) reads text only: every cell stays a string, and
   problems with the files themselves (missing, unreadable, not a table, TOML
   syntax) are recorded.
2. :func:`optsupply.scenario.coerce.coerce` turns the text into typed columns
   using the schema: blanks take their default, numbers are parsed, and every
   cell that cannot be read is reported with its file, row and column. Cells
   that could not be read become NaN so the later checks can still look at
   the rest of the table.

Text tables and typed tables keep, as their index, each row's position below
the header: fully blank rows are skipped but still counted, so a message gives
the row number a spreadsheet shows (index + :data:`~optsupply.scenario.cells.FIRST_DATA_ROW`).
CSV text becomes a table in :mod:`optsupply.scenario.text_tables`, workbook
sheets in :mod:`optsupply.scenario.workbook`; ``scenario.toml`` is parsed here.

Input files are only ever opened for reading, and nothing in them is ever
evaluated: an ``.xlsx`` formula is read as the value Excel saved with it (with a
warning), never computed. Only the fixed file names (``products.csv``, ...)
directly in the scenario folder are read; a table file that is a symbolic link
to a file outside the folder is refused. :class:`~optsupply.scenario.limits.Limits`
bounds the size of every file and the rows of every table.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from optsupply.errors import WARNING, Report
from optsupply.scenario.cells import FIRST_DATA_ROW, column_letter, did_you_mean
from optsupply.scenario.limits import Limits, too_many_columns, too_many_rows
from optsupply.scenario.schema import SCENARIO_FILE, SETTING_BY_KEY, TABLES, WORKBOOK_SETTINGS_SHEET
from optsupply.scenario.text_tables import csv_table, text_table
from optsupply.scenario.workbook import WorkbookTooLarge, formula_problems, workbook_sheets


@dataclass
class RawScenario:
    """Text as read from the files, before any typing."""

    source: Path
    settings: dict[str, Any] = field(default_factory=dict)  # dotted key -> value as parsed
    setting_lines: dict[str, int] = field(default_factory=dict)  # dotted key -> line in scenario.toml
    settings_file: str = SCENARIO_FILE
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # stripped cell text (object columns)
    files: dict[str, str] = field(default_factory=dict)  # table -> label used in messages
    limits: Limits = field(default_factory=Limits)


def file_label(source: Path, table: str) -> str:
    """How a table's file is named in messages."""
    if source.suffix.lower() == ".xlsx":
        return f"{source.name}[{table}]"
    return f"{table}.csv"


# --------------------------------------------------------------------------- raw reading


def read_raw(path: str | os.PathLike, report: Report, limits: Limits | None = None) -> RawScenario:
    """Read a scenario folder or workbook as text; file-level problems go to ``report``."""
    source = Path(path)
    raw = RawScenario(source=source, limits=limits if limits is not None else Limits())
    try:
        is_dir = source.is_dir()
        is_file = source.is_file()
        exists = source.exists()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a permission problem
        _unreadable(raw, str(source), report, f"cannot be opened: {getattr(exc, 'strerror', None) or exc}")
        return raw
    if is_dir:
        _read_folder(raw, report)
    elif source.suffix.lower() == ".xlsx" and is_file:
        _read_workbook(raw, report)
    elif exists:
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
        text = _read_text(toml_path, SCENARIO_FILE, report, raw)
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
            df = _read_csv(f, table.file, report, raw)
            if df is not None:
                raw.tables[table.name] = df


def _outside(path: Path, folder: Path) -> bool:
    """``path`` (a file in ``folder``) is a symbolic link that resolves outside ``folder``."""
    if not path.is_symlink():
        return False
    try:
        return not path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return True


def _read_text(path: Path, label: str, report: Report, raw: RawScenario) -> str | None:
    if _outside(path, raw.source):
        report.add(label, None, None, "is a symbolic link to a file outside the scenario folder, which is never "
                   "read: copy the file into the folder")
        return None
    try:
        too_large = raw.limits.too_large(path.stat().st_size)
        if too_large:
            report.add(label, None, None, too_large)
            return None
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


def _read_csv(path: Path, label: str, report: Report, raw: RawScenario) -> pd.DataFrame | None:
    """The text table of a CSV file, or ``None`` (with the problems reported) when it is not a usable table."""
    text = _read_text(path, label, report, raw)
    if text is None:
        return None
    return csv_table(text, label, report, raw.limits)


def deepest_line(text: str) -> int:
    """The 1-based line on which brackets and braces are nested deepest (strings are not told apart)."""
    depth = best = 0
    line = best_line = 1
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > best:
                best, best_line = depth, line
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "\n":
            line += 1
    return best_line


TOO_DEEP = "values are nested too deeply (arrays or tables within one another, hundreds of levels) to be read"


def _parse_toml(raw: RawScenario, text: str, report: Report) -> None:
    try:
        data = tomllib.loads(text)
    except RecursionError:
        report.add(SCENARIO_FILE, deepest_line(text), None, f"{TOO_DEEP}: a setting is a single value")
        return
    except ValueError as exc:
        if not isinstance(exc, tomllib.TOMLDecodeError):  # a whole number too long for Python to read
            m = re.search(r"[0-9a-fA-F_]{4000,}", text)
            row = text.count("\n", 0, m.start()) + 1 if m else None
            report.add(SCENARIO_FILE, row, None, "a number has more than 4,000 digits: write it with an exponent (1e400)")
            return
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        row = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        col = f" at column {m.group(2)}" if m else ""
        report.add(SCENARIO_FILE, row, None, f"TOML syntax error{col}: {msg}")
        return
    raw.settings = flatten(data)
    raw.setting_lines = _toml_key_lines(text)


def flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``, in the order of the document (without recursion: any depth)."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Iterable]] = [(prefix, iter(data.items()))]
    while stack:
        base, items = stack[-1]
        for k, v in items:
            if isinstance(v, dict):
                stack.append((f"{base}{k}.", iter(v.items())))
                break
            out[f"{base}{k}"] = v
        else:
            stack.pop()
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
        too_large = raw.limits.too_large(raw.source.stat().st_size)
        book = None if too_large else workbook_sheets(raw.source, raw.limits)
    except WorkbookTooLarge as exc:
        too_large = str(exc)
    except Exception as exc:  # noqa: BLE001 - openpyxl and zipfile raise many types for damaged files
        _unreadable(raw, name, report, f"cannot be read as an .xlsx workbook: {exc}")
        return
    if too_large or book is None:
        _unreadable(raw, name, report, str(too_large))
        return
    sheets = book.records
    raw.settings_file = file_label(raw.source, WORKBOOK_SETTINGS_SHEET)
    known = {t.name for t in TABLES} | {WORKBOOK_SETTINGS_SHEET}
    for sheet in sheets:
        if sheet not in known:
            report.add(f"{name}[{sheet}]", None, None, "unknown sheet, ignored" + did_you_mean(sheet, sorted(known)), WARNING)

    def table(sheet: str, label: str) -> pd.DataFrame | None:
        if sheet in book.too_long:
            report.add(label, None, None, too_many_rows(raw.limits.max_rows))
            return None
        if sheet in book.too_wide:
            row, width = book.too_wide[sheet]
            report.add(label, row, None, f"the sheet's used range reaches cell {column_letter(width - 1)}{row}: it "
                       + too_many_columns(width, raw.limits.max_columns) + "; delete the cells beyond the table")
            return None
        formula_problems(label, sheets[sheet], book.formulas.get(sheet, {}), report)
        return text_table(sheets[sheet], label, report)

    if WORKBOOK_SETTINGS_SHEET not in sheets:
        report.add(raw.settings_file, None, None,
                   "missing sheet 'scenario' with the settings (columns key, value; at least horizon.periods)")
    else:
        df = table(WORKBOOK_SETTINGS_SHEET, raw.settings_file)
        if df is not None:
            _parse_settings_sheet(raw, df, report)
    for spec in TABLES:
        label = file_label(raw.source, spec.name)
        raw.files[spec.name] = label
        if spec.name in sheets:
            df = table(spec.name, label)
            if df is not None:
                raw.tables[spec.name] = df


def _parse_settings_sheet(raw: RawScenario, df: pd.DataFrame, report: Report) -> None:
    label = raw.settings_file
    for col in ("key", "value"):
        if col not in df.columns:
            report.add(label, 1, col, "missing column: the settings sheet has columns key and value")
            return
    for idx, key, value in zip(df.index, df["key"], df["value"], strict=True):
        if not key:
            continue
        row = int(idx) + FIRST_DATA_ROW
        if key in raw.setting_lines:  # TOML refuses a key given twice; so does the sheet
            report.add(label, row, "key", f"setting {key} appears twice: it is already on row {raw.setting_lines[key]}")
            continue
        raw.setting_lines[key] = row
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
