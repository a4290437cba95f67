"""The checker's view of its inputs: the scenario's tables and the plan's tables, cleaned and typed.

Part of the independent plan checker (:mod:`optsupply.plan.check`). The plan
tables are read as they come (DataFrames built in memory or read back from
CSV): every column gets its type (ids as strings, periods as integers,
flags as booleans, quantities as floats) and every malformed row (a missing
or unknown id, a period outside the horizon, a value that is not a finite
number, a negative quantity, a row listed twice) is reported as a problem and
left out. :class:`Ctx` carries the result to the rules; the small helpers at
the end (tolerant comparisons, lookups, sums and merges of tables) are the
vocabulary the rules are written in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optsupply.plan.core import TABLE_COLUMNS

_SCENARIO_TABLES = ("products", "categories", "brands", "demand", "launch_curve", "seasonality", "warehouses",
                    "supply", "initial_stock", "pipeline", "lanes", "channels", "response", "slots")
_ID_COLUMNS = ("product", "warehouse", "region", "channel")
_PERIOD_COLUMNS = ("period", "arrival")
_BOOL_COLUMNS = ("used",)
_TRUE = {"true", "1", "yes", "1.0"}
_FALSE = {"false", "0", "no", "0.0", ""}

#: Plan table → (identifying columns, value columns), as in SPEC §4: the ids and periods of
#: :data:`optsupply.plan.core.TABLE_COLUMNS`, then the rest.
PLAN_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    name: (tuple(c for c in cols if c in _ID_COLUMNS + _PERIOD_COLUMNS),
           tuple(c for c in cols if c not in _ID_COLUMNS + _PERIOD_COLUMNS))
    for name, cols in TABLE_COLUMNS.items()
}

# Columns that identify a row, for duplicate detection: the identifying columns but an order's arrival
# (which follows from its period); launches are checked by the launch rules.
_ROW_KEY: dict[str, tuple[str, ...]] = {
    name: tuple(c for c in keys if c != "arrival") for name, (keys, _) in PLAN_TABLES.items() if name != "launches"
}


# ---------------------------------------------------------------------- the context


@dataclass
class Ctx:
    """The scenario's lookups, the cleaned plan tables and what is derived from them."""

    sc: Any
    H: int
    tol: float
    t: dict[str, pd.DataFrame]  # scenario tables with plain-string ids
    products: pd.DataFrame  # indexed by product
    tables: dict[str, pd.DataFrame]
    kpis: Any
    problems: list[str] = field(default_factory=list)
    launch_period: dict[str, int] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def add(self, message: str) -> None:
        """Record one violation."""
        self.problems.append(message)

    def cached(self, name: str, build: Any) -> Any:
        """``build(self)``, computed once per check."""
        if name not in self._cache:
            self._cache[name] = build(self)
        return self._cache[name]


def read_tables(scenario: Any, plan: Any, tol: float) -> Ctx:
    """Read the scenario's tables and clean the plan's (malformed rows are reported in ``problems``).

    ``launch_period`` is left empty: it is derived from the cleaned launches.
    """
    H = int(scenario.settings["horizon.periods"])
    sc_tables = {name: _str_ids(getattr(scenario, name)) for name in _SCENARIO_TABLES}
    products = sc_tables["products"].set_index("product")
    known = {
        "product": set(products.index),
        "warehouse": set(sc_tables["warehouses"]["warehouse"]),
        "region": (set(sc_tables["demand"]["region"]) | set(sc_tables["launch_curve"]["region"])
                   | set(sc_tables["lanes"]["region"])),
        "channel": set(sc_tables["channels"]["channel"]) | set(sc_tables["response"]["channel"]),
    }
    problems: list[str] = []
    tables = {name: _clean_table(name, getattr(plan, name, None), known, H, tol, problems) for name in PLAN_TABLES}
    return Ctx(scenario, H, tol, sc_tables, products, tables, getattr(plan, "kpis", None), problems)


# ---------------------------------------------------------------------- cleaning


def _str_ids(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a scenario table whose text columns hold plain Python strings (so merges with plan tables line up)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_string_dtype(out[c]) or out[c].dtype == object:
            out[c] = out[c].to_numpy(dtype=object)
    return out


def empty_table(name: str) -> pd.DataFrame:
    """An empty plan table with typed columns."""
    keys, values = PLAN_TABLES[name]
    data: dict[str, Any] = {}
    for c in keys + values:
        if c in _ID_COLUMNS:
            data[c] = pd.Series([], dtype=object)
        elif c in _PERIOD_COLUMNS:
            data[c] = pd.Series([], dtype="int64")
        elif c in _BOOL_COLUMNS:
            data[c] = pd.Series([], dtype=bool)
        else:
            data[c] = pd.Series([], dtype="float64")
    return pd.DataFrame(data)


def _clean_table(name: str, raw: Any, known: dict[str, set[str]], H: int, tol: float,
                 problems: list[str]) -> pd.DataFrame:
    """The plan table with typed columns; malformed rows are reported and left out.

    Reports missing columns, missing or unknown ids, non-integer periods,
    periods outside ``0 … H-1``, values that are not finite numbers and
    negative values, then duplicate rows.
    """
    if raw is None:
        return empty_table(name)
    df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
    keys, values = PLAN_TABLES[name]
    if df.empty:
        return empty_table(name)
    missing = [c for c in keys + values if c not in df.columns]
    if missing:
        problems.append(f"the {name} table has no column {', '.join(missing)}: its rows cannot be checked")
        return empty_table(name)
    keep = np.ones(len(df), dtype=bool)
    out: dict[str, np.ndarray] = {}
    for c in keys + values:
        column = df[c].to_numpy()
        if c in _ID_COLUMNS:
            out[c], ok = _clean_ids(name, c, column, known[c], problems)
        elif c in _PERIOD_COLUMNS:
            out[c], ok = _clean_periods(name, c, column, H, problems)
        elif c in _BOOL_COLUMNS:
            out[c], ok = _clean_bools(name, c, column, problems)
        else:
            out[c], ok = _clean_numbers(name, c, column, tol, problems)
        keep &= ok
    clean = pd.DataFrame({c: v[keep] for c, v in out.items()})
    if name in _ROW_KEY:
        _report_duplicates(name, clean, _ROW_KEY[name], problems)
    return clean


def _is_missing(value: Any) -> bool:
    """None, NaN or NA."""
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)) or value is pd.NA


def _as_floats(values: np.ndarray) -> np.ndarray:
    """``values`` as floats; anything that is not a number becomes NaN."""
    if values.dtype.kind in "iuf":
        return values.astype("float64")
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _clean_ids(table: str, col: str, values: np.ndarray, known: set[str],
               problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Ids as strings, and which rows name a known one (missing and unknown ids are reported)."""
    s = pd.Series(values, dtype=object)
    present = ~s.isna().to_numpy(dtype=bool)
    ids = s.astype(str).to_numpy(dtype=object)
    ids[~present] = None
    ok = present & pd.Series(ids, dtype=object).isin(known).to_numpy(dtype=bool)
    for i in np.flatnonzero(~present):
        problems.append(f"the {table} table: row {i + 1} has no {col}")
    unknown: dict[str, int] = {}
    for v in ids[present & ~ok]:
        unknown[v] = unknown.get(v, 0) + 1
    for value, n in unknown.items():
        problems.append(f"the {table} table names an unknown {col} '{value}' ({n} row(s)); the scenario has no such {col}")
    return ids, ok


def _clean_periods(table: str, col: str, values: np.ndarray, H: int,
                   problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Periods as integers, and which rows hold a whole period (``period`` also inside the horizon)."""
    num = _as_floats(values)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(num) & (num == np.round(num))
    for i in np.flatnonzero(~ok):
        problems.append(f"the {table} table: row {i + 1} has {col} {values[i]!r}, which is not a whole period number")
    if col == "period":
        outside = ok & ((num < 0) | (num > H - 1))
        for i in np.flatnonzero(outside):
            problems.append(f"the {table} table: row {i + 1} has period {int(num[i])}, outside the horizon 0 … {H - 1}")
        ok &= ~outside
    return np.where(ok, num, 0).astype("int64"), ok


def _to_bool(value: Any) -> bool | None:
    """A flag as written in a DataFrame or read back from CSV; None when it is neither true nor false."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and not _is_missing(value) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _clean_bools(table: str, col: str, values: np.ndarray, problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Flags as booleans, and which rows hold a readable flag."""
    flags = [_to_bool(v) for v in values]
    ok = np.array([f is not None for f in flags], dtype=bool)
    for i in np.flatnonzero(~ok):
        problems.append(f"the {table} table: row {i + 1} has {col} {values[i]!r}, which is neither true nor false")
    return np.array([bool(f) for f in flags], dtype=bool), ok


def _clean_numbers(table: str, col: str, values: np.ndarray, tol: float,
                   problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Numbers as floats (non-finite ones reported and read as 0; negative ones reported); every row is kept."""
    num = _as_floats(values)
    finite = np.isfinite(num)
    for i in np.flatnonzero(~finite):
        problems.append(f"the {table} table: row {i + 1} has {col} {values[i]!r}, which is not a finite number")
    num = np.where(finite, num, 0.0)
    for i in np.flatnonzero(num < -tol):
        problems.append(f"the {table} table: row {i + 1} has negative {col} {fmt(num[i])}")
    return num, np.ones(len(num), dtype=bool)


def _report_duplicates(name: str, df: pd.DataFrame, key: tuple[str, ...], problems: list[str]) -> None:
    """Report every key listed more than once (one row per product/place/period)."""
    repeated = df.duplicated(list(key), keep="first")
    if not repeated.any():
        return
    for row in df.loc[repeated, list(key)].drop_duplicates().itertuples(index=False, name=None):
        where = ", ".join(f"{c} {v}" for c, v in zip(key, row))
        problems.append(f"the {name} table lists {where} more than once")


# ---------------------------------------------------------------------- small helpers


def fmt(x: float) -> str:
    """A number for a message."""
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6g}"


def exceeds(lhs: Any, rhs: Any, tol: float) -> Any:
    """``lhs`` exceeds ``rhs`` by more than the tolerance (vectorised; ``rhs`` may be inf)."""
    lhs = np.asarray(lhs, dtype=float)
    rhs = np.asarray(rhs, dtype=float)
    with np.errstate(invalid="ignore"):
        slack = np.where(np.isinf(rhs), np.inf, tol * np.maximum(1.0, np.abs(rhs)))
        return lhs > rhs + slack


def differs(a: Any, b: Any, tol: float) -> Any:
    """``a`` and ``b`` differ by more than the tolerance (vectorised)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.abs(a - b) > tol * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))


def lookup(df: pd.DataFrame, keys: list[str], column: str) -> dict[Any, Any]:
    """``{key (tuple, or scalar for one key): value}`` of one column of a scenario table."""
    if df.empty:
        return {}
    index = list(df[keys[0]]) if len(keys) == 1 else list(zip(*(df[k] for k in keys)))
    return dict(zip(index, df[column]))


def pair_set(df: pd.DataFrame, a: str, b: str) -> set[tuple[str, str]]:
    """The (a, b) pairs of a scenario table."""
    return set(zip(df[a], df[b]))


def sum_by(df: pd.DataFrame, keys: list[str], column: str, name: str | None = None) -> pd.DataFrame:
    """``df`` summed over everything but ``keys``; the sum is named ``name`` (default ``column``)."""
    out = df.groupby(keys, as_index=False, sort=False)[column].sum()
    return out.rename(columns={column: name or column})


def outer_merge(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Outer merge on ``keys`` with missing numbers read as 0 (tables hold only nonzero rows)."""
    merged = left.merge(right, on=keys, how="outer")
    numbers = [c for c in merged.columns if c not in keys]
    merged[numbers] = merged[numbers].astype("float64").fillna(0.0)
    return merged

