"""How large a scenario, its model and a sweep may be: :class:`Limits`, their environment variables.

Each limit defaults to an environment variable (``OPTSUPPLY_MAX_...``) when it
is set, else to a built-in default. The messages for a limit that is passed
(:func:`over_limit` and the helpers after it) all say how to raise it.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field
from typing import Any

from optsupply.errors import UsageError

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
