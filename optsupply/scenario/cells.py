"""What reading and checking share about cells and headers: row numbers, column letters, names.

A text or typed table keeps, as its index, each row's position below the
header; a message gives the row a spreadsheet shows, index +
:data:`FIRST_DATA_ROW`. :func:`did_you_mean` suggests the closest name for a
misspelt table, column, sheet or setting.
"""

from __future__ import annotations

import difflib
from typing import Iterable

FIRST_DATA_ROW = 2  # the header is spreadsheet row 1
MAX_UNKNOWN_COLUMNS = 20  # unknown columns of a table warned about one by one; the rest get one warning
MAX_WHOLE = 2**53  # whole numbers beyond this cannot be held exactly
MISSING_COLUMN = "required column is missing"  # start of the message for a required column absent from a header


def column_letter(j: int) -> str:
    """Spreadsheet letter of the 0-based column ``j`` (0 -> A, 26 -> AA)."""
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, ignoring case; ``""`` if none is close."""
    by_lower: dict[str, str] = {}
    for option in options:
        by_lower.setdefault(str(option).lower(), str(option))
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""
