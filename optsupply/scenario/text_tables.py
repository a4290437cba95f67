"""Tables of cell text from CSV text and from spreadsheet records, every problem with its row.

CSV text is read with the :mod:`csv` module, which reports every problem
with its row (:func:`_csv_text_table`). A large, well-formed file (no blank
rows, no stray spaces or quotes, the same number of fields on every row) is
read by pandas' C parser instead (:func:`_fast_text_table`), which gives the
same table much faster; whenever that is not certain, the :mod:`csv` reading
is used. :func:`text_table` turns records (CSV rows or sheet rows) into a
table of stripped text: fully blank rows are skipped but still counted in the
index, so messages give the row a spreadsheet shows.
"""

from __future__ import annotations

import csv
import io as _stringio
import itertools
import re
import warnings

import numpy as np
import pandas as pd

from optsupply.errors import WARNING, Report
from optsupply.scenario.cells import FIRST_DATA_ROW, column_letter
from optsupply.scenario.limits import Limits, too_many_columns, too_many_rows


def csv_table(text: str, label: str, report: Report, limits: Limits) -> pd.DataFrame | None:
    """The text table of a CSV file's text, or ``None`` (with the problems reported) when it is not a usable table."""
    max_rows, max_columns = limits.max_rows, limits.max_columns
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
    return text_table(records, label, report)


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


def text_table(records: list[list[str]], label: str, report: Report) -> pd.DataFrame | None:
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
                unnamed.append(column_letter(j))
        elif name in columns:
            report.add(label, 1, name, "column appears twice in the header (name each column once)")
        else:
            columns[name] = cells
    if unnamed:
        which = f"column {unnamed[0]} has" if len(unnamed) == 1 else f"columns {', '.join(unnamed)} have"
        report.add(label, 1, None, f"{which} values but no header, ignored", WARNING)
    return pd.DataFrame(columns, index=pd.Index(np.asarray(index, dtype=np.int64)), dtype=object)
