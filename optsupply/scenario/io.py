"""Reading and writing scenario files, driven by :mod:`optsupply.scenario.schema`.

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

Input files are only ever opened for reading, and nothing in them is ever
evaluated: an ``.xlsx`` formula is read as the value Excel saved with it (with a
warning), never computed. Only the fixed file names (``products.csv``, ...)
directly in the scenario folder are read; a table file that is a symbolic link
to a file outside the folder is refused. :class:`Limits` bounds the size of
every file and the rows of every table.
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import io as _stringio
import itertools
import math
import numbers
import os
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from optsupply.errors import WARNING, Report, UsageError
from optsupply.scenario.schema import (
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
MAX_UNKNOWN_COLUMNS = 20  # unknown columns of a table warned about one by one; the rest get one warning
MAX_WHOLE = 2**53  # whole numbers beyond this cannot be held exactly
MISSING_COLUMN = "required column is missing"  # start of the message for a required column absent from a header
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_NAN = {"nan", "na", "n/a", "null", "none"}
#: texts that pandas (``read_csv``'s default ``na_values``) reads as a missing value: an id spelled so would be
#: lost when a plan or a scenario is read back, so ids may not be spelled so (nor as any case of ``_NAN``)
READ_AS_MISSING = frozenset({"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
MB = 1_000_000  # bytes in a megabyte, as Limits.max_file_mb counts them
ENV_MAX_FILE_MB = "OPTSUPPLY_MAX_FILE_MB"
ENV_MAX_ROWS = "OPTSUPPLY_MAX_ROWS"
ENV_MAX_COLUMNS = "OPTSUPPLY_MAX_COLUMNS"
ENV_MAX_PERIODS = "OPTSUPPLY_MAX_PERIODS"
ENV_MAX_MODEL_COLUMNS = "OPTSUPPLY_MAX_MODEL_COLUMNS"
ENV_MAX_VARIANTS = "OPTSUPPLY_MAX_VARIANTS"


def _env_number(name: str, default: float, whole: bool) -> Any:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0 or math.isinf(value) or (whole and not value.is_integer()):
        kind = "a positive whole number" if whole else "a positive number"
        raise UsageError(f"environment variable {name}={text!r} is not {kind}")
    return int(value) if whole else value


@dataclass(frozen=True)
class Limits:
    """How large a scenario, its model and a sweep may be; checked before the work that they bound.

    Each limit defaults to the environment variable named below when it is set
    (so the command line can be configured), else to the built-in default.

    Attributes
    ----------
    max_file_mb : float
        Largest file, in MB (10**6 bytes): each CSV table, ``scenario.toml``,
        the ``.xlsx`` workbook and also what the workbook unpacks to.
        ``OPTSUPPLY_MAX_FILE_MB``, default 500.
    max_rows : int
        Most rows of one table (data rows below the header, blank ones
        included). ``OPTSUPPLY_MAX_ROWS``, default 5,000,000.
    max_columns : int
        Most columns of one table: the fields of a CSV header, the used range
        of a workbook sheet (a sheet with a cell beyond it is refused before
        its rows are read). ``OPTSUPPLY_MAX_COLUMNS``, default 1,000.
    max_periods : int
        Longest horizon (``horizon.periods``) and longest ``forecast``
        season. ``OPTSUPPLY_MAX_PERIODS``, default 1,000.
    max_model_columns : int
        Most model columns (variables), as estimated from the prepared data
        before the model is built; a larger model is refused. About 4.6 KB of
        memory and 200 µs of build and transfer each.
        ``OPTSUPPLY_MAX_MODEL_COLUMNS``, default 3,000,000.
    max_variants : int
        Most variants of one ``whatif --sweep`` (a ``[grid]`` is counted
        before it is expanded). ``OPTSUPPLY_MAX_VARIANTS``, default 10,000.

    >>> Scenario.load("big", limits=Limits(max_file_mb=2000, max_rows=20_000_000))
    """

    max_file_mb: float = field(default_factory=lambda: _env_number(ENV_MAX_FILE_MB, 500.0, whole=False))
    max_rows: int = field(default_factory=lambda: _env_number(ENV_MAX_ROWS, 5_000_000, whole=True))
    max_columns: int = field(default_factory=lambda: _env_number(ENV_MAX_COLUMNS, 1_000, whole=True))
    max_periods: int = field(default_factory=lambda: _env_number(ENV_MAX_PERIODS, 1_000, whole=True))
    max_model_columns: int = field(default_factory=lambda: _env_number(ENV_MAX_MODEL_COLUMNS, 3_000_000, whole=True))
    max_variants: int = field(default_factory=lambda: _env_number(ENV_MAX_VARIANTS, 10_000, whole=True))

    def __post_init__(self) -> None:
        size = self.max_file_mb
        if isinstance(size, bool) or not isinstance(size, numbers.Real) or not size > 0:
            raise UsageError(f"Limits(max_file_mb={size!r}): give a positive number of megabytes")
        for name, what in (("max_rows", "rows"), ("max_columns", "columns"), ("max_periods", "periods"),
                           ("max_model_columns", "model columns"), ("max_variants", "variants")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise UsageError(f"Limits({name}={value!r}): give a positive whole number of {what}")

    @property
    def max_bytes(self) -> float:
        return self.max_file_mb * MB

    def too_large(self, size: int, what: str = "is") -> str | None:
        """The message for a file of ``size`` bytes over the limit, else ``None``."""
        if size <= self.max_bytes:
            return None
        shown = f"{size / MB:,.1f} MB" if size >= MB // 10 else f"{size:,} bytes"
        return (f"{what} {shown}, more than the limit of {self.max_file_mb:g} MB "
                f"(raise it with {ENV_MAX_FILE_MB} or Limits(max_file_mb=...))")


def over_limit(what: str, limit: int, name: str, env: str) -> str:
    """``what``, then the limit and how to raise it: the end of every message about a limit of :class:`Limits`."""
    return f"{what}, more than the limit of {limit:,} (raise it with {env} or Limits({name}=...))"


def too_many_columns(columns: int, max_columns: int) -> str:
    """The message for a table (or sheet) with ``columns`` columns, more than ``max_columns``."""
    return over_limit(f"has {columns:,} columns", max_columns, "max_columns", ENV_MAX_COLUMNS)


def too_many_periods(periods: int, max_periods: int) -> str:
    """The message for a horizon (or season) of ``periods`` periods, more than ``max_periods``."""
    return over_limit(f"{periods:,} periods", max_periods, "max_periods", ENV_MAX_PERIODS)


def too_many_rows(max_rows: int) -> str:
    """The message for a table with more than ``max_rows`` rows."""
    return f"has more than {max_rows:,} rows, the limit (raise it with {ENV_MAX_ROWS} or Limits(max_rows=...))"


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


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, ignoring case; ``""`` if none is close."""
    by_lower: dict[str, str] = {}
    for option in options:
        by_lower.setdefault(str(option).lower(), str(option))
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


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
    max_rows, max_columns = raw.limits.max_rows, raw.limits.max_columns
    if text.count(",", 0, text.find("\n") if "\n" in text else len(text)) >= max_columns:
        header = next(csv.reader([text.partition("\n")[0]], skipinitialspace=True), [])
        if len(header) > max_columns:
            report.add(label, 1, None, too_many_columns(len(header), max_columns))
            return None
    if text.count("\n") > max_rows:  # maybe too many rows (a row ends with a line end): count the records
        return _csv_text_table(text, label, report, max_rows)
    fast = _fast_text_table(text)
    if fast is not None:
        return fast
    return _csv_text_table(text, label, report)


def _csv_text_table(text: str, label: str, report: Report, max_rows: int | None = None) -> pd.DataFrame | None:
    """Read CSV text record by record with the :mod:`csv` module, reporting every problem.

    With ``max_rows``, a table with more data rows than that is reported (and not read further).
    """
    records: list[list[str]] = []
    reader = csv.reader(_stringio.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    try:
        # keeps the records read before an error
        records.extend(reader if max_rows is None else itertools.islice(reader, max_rows + 2))
    except csv.Error as exc:
        # a spreadsheet row is a record (a quoted value may span lines): the bad one is the next
        why = str(exc)
        hint = ("a value this long is most likely a quote that is never closed" if "field larger" in why
                else "check that every quote is closed")
        report.add(label, len(records) + 1, None, f"is not a valid CSV table ({why}); {hint}")
        return None
    if max_rows is not None and len(records) > max_rows + 1:
        report.add(label, None, None, too_many_rows(max_rows))
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
    raw.settings = _flatten(data)
    raw.setting_lines = _toml_key_lines(text)


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
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
        book = None if too_large else _workbook_sheets(raw.source, raw.limits)
    except _WorkbookTooLarge as exc:
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
            report.add(label, row, None, f"the sheet's used range reaches cell {_column_letter(width - 1)}{row}: it "
                       + too_many_columns(width, raw.limits.max_columns) + "; delete the cells beyond the table")
            return None
        _formula_problems(label, sheets[sheet], book.formulas.get(sheet, {}), report)
        return _text_table(sheets[sheet], label, report)

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


class _WorkbookTooLarge(Exception):
    """A workbook that unpacks to more than the size limit."""


@dataclass
class _Workbook:
    records: dict[str, list[list[str]]]  # sheet -> records of cell text, record i = sheet row i + 1
    too_long: set[str]  # sheets with more rows than the limit (their records are cut)
    too_wide: dict[str, tuple[int, int]]  # sheets with a cell beyond the column limit: (its row, its column count)
    formulas: dict[str, dict[tuple[int, int], tuple[str, bool]]]  # sheet -> (row, 0-based column) -> (formula, has a value)


# the start of a formula element (<f>, <f t="shared" .../>, <x:f>) in a worksheet's XML
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _has_formulas(path: Path, limits: Limits) -> bool:
    """Whether any worksheet of the workbook holds a formula; checks the size it unpacks to as well."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        too_large = limits.too_large(sum(i.file_size for i in infos), "unpacks to")
        if too_large:
            raise _WorkbookTooLarge(too_large)
        for info in infos:
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                with z.open(info) as f:
                    tail = b""
                    while chunk := f.read(1 << 20):
                        if _FORMULA_TAG.search(tail + chunk):
                            return True
                        tail = chunk[-32:]
    return False


def _workbook_sheets(path: Path, limits: Limits | None = None) -> _Workbook:
    """Every worksheet as records of cell text, the first record being sheet row 1.

    Sheets are streamed row by row (openpyxl's read-only mode), and a sheet
    whose used range goes beyond the row or column limit is refused as soon as
    the row that does so is reached, before it is turned into a table: a cell
    far away (``XFD1048576``) costs nothing. Formulas are never computed: a
    formula cell reads as the value Excel saved with it (openpyxl's
    ``data_only``), and the formulas of the sheets that are read are collected
    so that they can be reported.
    """
    import openpyxl  # only needed for workbooks

    limits = limits if limits is not None else Limits()
    wanted = {t.name for t in TABLES} | {WORKBOOK_SETTINGS_SHEET}
    formulas: dict[str, dict[tuple[int, int], tuple[str, bool]]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about features it does not read (styles, validation)
        if _has_formulas(path, limits):
            wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
            try:
                for ws in wb.worksheets:
                    if ws.title in wanted:
                        ws.reset_dimensions()
                        formulas[ws.title] = _sheet_formulas(ws, limits.max_rows + 1, limits.max_columns)
            finally:
                wb.close()
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            records: dict[str, list[list[str]]] = {}
            too_long: set[str] = set()
            too_wide: dict[str, tuple[int, int]] = {}
            for ws in wb.worksheets:
                ws.reset_dimensions()  # the stored size may be wrong: read every row there is
                rows = itertools.islice(ws.iter_rows(values_only=True), limits.max_rows + 2)
                cells = formulas.get(ws.title)
                if cells:
                    rows = _note_saved_values(rows, cells)
                found = _sheet_records(rows, limits.max_columns)
                if isinstance(found, tuple):
                    too_wide[ws.title] = found
                    records[ws.title] = []
                    continue
                records[ws.title] = found
                if len(records[ws.title]) > limits.max_rows + 1:
                    too_long.add(ws.title)
            return _Workbook(records=records, too_long=too_long, too_wide=too_wide, formulas=formulas)
        finally:
            wb.close()


def _sheet_formulas(ws: Any, max_rows: int, max_columns: int) -> dict[tuple[int, int], tuple[str, bool]]:
    """(row, 0-based column) -> (formula text, False) of every formula cell in a sheet's first rows and columns."""
    found: dict[tuple[int, int], tuple[str, bool]] = {}
    for r, row in enumerate(itertools.islice(ws.iter_rows(), max_rows), start=1):
        for j, cell in enumerate(itertools.islice(row, max_columns)):
            if getattr(cell, "data_type", None) == "f":
                value = cell.value
                text = getattr(value, "text", value)  # ArrayFormula / DataTableFormula hold their text
                found[(r, j)] = (str(text if text is not None else "="), False)
    return found


def _note_saved_values(rows: Iterable[tuple], cells: dict[tuple[int, int], tuple[str, bool]]) -> Iterable[tuple]:
    """Pass the rows through, noting which formula cells have a saved value (not ``None``)."""
    by_row: dict[int, list[int]] = {}
    for r, j in cells:
        by_row.setdefault(r, []).append(j)
    for r, row in enumerate(rows, start=1):
        for j in by_row.get(r, ()):
            if j < len(row) and row[j] is not None:
                cells[(r, j)] = (cells[(r, j)][0], True)
        yield row


def _formula_problems(label: str, records: list[list[str]], cells: dict[tuple[int, int], tuple[str, bool]],
                      report: Report) -> None:
    """A warning for each formula cell read as its saved value; an error for one without a saved value.

    Reported before the cells are read, so that a formula without a value is
    reported as such and not as a missing value.
    """
    header = [str(c).strip() for c in records[0]] if records else []
    for (r, j), (formula, saved) in sorted(cells.items()):
        column = header[j] if r > 1 and j < len(header) and header[j] else None
        ref = f"cell {_column_letter(j)}{r}"
        shown = formula if len(formula) <= 60 else formula[:57] + "..."
        if saved:
            text = records[r - 1][j] if r - 1 < len(records) and j < len(records[r - 1]) else ""
            report.add(label, r, column, f"{ref} holds a formula ({shown}): the value saved with it, '{text}', "
                       "is used; formulas are never computed", WARNING)
        else:
            report.add(label, r, column, f"{ref} holds a formula ({shown}) with no saved value: formulas are never "
                       "computed, so open and save the workbook in Excel, or replace the formula by its value")


_BLANK_RECORD: list[str] = []  # shared by every empty row of a sheet (records are never changed)


def _sheet_records(rows: Iterable[Iterable[Any]], max_columns: int | None = None) -> list[list[str]] | tuple[int, int]:
    """Cell text of a sheet's rows (empty rows included, so record i is sheet row i + 1).

    Each row is cut after its last cell with a value; the header (row 1) is
    then made as wide as the widest row, so that values without a header are
    noticed (short data rows are padded by :func:`_text_table`). With
    ``max_columns``, the first row with a value beyond that column stops the
    reading: ``(its row, its number of columns)`` is returned instead.
    """
    records: list[list[str]] = []
    width = 0
    for r, row in enumerate(rows, start=1):
        values = row if isinstance(row, (tuple, list)) else tuple(row)
        n = len(values)
        while n and (values[n - 1] is None or values[n - 1] == ""):
            n -= 1
        if max_columns is not None and n > max_columns:
            return r, n
        width = max(width, n)
        records.append([_cell_text(v) for v in values[:n]] if n else _BLANK_RECORD)
    if records:
        records[0] = records[0] + [""] * (width - len(records[0]))
    return records


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
        return "nan" if v != v else _fmt_float(float(v))
    if isinstance(v, (_dt.date, _dt.datetime)):
        return _cell_text(v)
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
