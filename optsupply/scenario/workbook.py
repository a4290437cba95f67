"""The sheets of an ``.xlsx`` workbook as records of cell text; formulas found and reported, never computed.

Sheets are streamed row by row (openpyxl's read-only mode) and refused as soon
as their used range passes the row or column limit of :class:`~optsupply.scenario.limits.Limits`. A
formula cell reads as the value Excel saved with it; :func:`formula_problems`
warns about each one (or reports one without a saved value).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from optsupply.errors import WARNING, Report
from optsupply.scenario.cells import column_letter
from optsupply.scenario.limits import Limits
from optsupply.scenario.schema import TABLES, WORKBOOK_SETTINGS_SHEET


class WorkbookTooLarge(Exception):
    """A workbook that unpacks to more than the size limit."""


@dataclass
class Workbook:
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
            raise WorkbookTooLarge(too_large)
        for info in infos:
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                with z.open(info) as f:
                    tail = b""
                    while chunk := f.read(1 << 20):
                        if _FORMULA_TAG.search(tail + chunk):
                            return True
                        tail = chunk[-32:]
    return False


def workbook_sheets(path: Path, limits: Limits | None = None) -> Workbook:
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
            return Workbook(records=records, too_long=too_long, too_wide=too_wide, formulas=formulas)
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


def formula_problems(label: str, records: list[list[str]], cells: dict[tuple[int, int], tuple[str, bool]],
                      report: Report) -> None:
    """A warning for each formula cell read as its saved value; an error for one without a saved value.

    Reported before the cells are read, so that a formula without a value is
    reported as such and not as a missing value.
    """
    header = [str(c).strip() for c in records[0]] if records else []
    for (r, j), (formula, saved) in sorted(cells.items()):
        column = header[j] if r > 1 and j < len(header) and header[j] else None
        ref = f"cell {column_letter(j)}{r}"
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
    noticed (short data rows are padded by :func:`optsupply.scenario.text_tables.text_table`). With
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
        records.append([cell_text(v) for v in values[:n]] if n else _BLANK_RECORD)
    if records:
        records[0] = records[0] + [""] * (width - len(records[0]))
    return records


def cell_text(v: Any) -> str:
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
