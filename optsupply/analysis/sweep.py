"""Sweeps: solve many what-if variants of one scenario, in parallel, into one tidy table.

>>> import optsupply as ops
>>> from optsupply.analysis.sweep import Variant, sweep, load_sweep
>>> sc = ops.Scenario.load("instances/small")
>>> variants = [Variant("base", {}),
...             Variant("cheaper", {"products.price": "*0.9"}),
...             Variant("more ads", {"advertising.total_budget": 8000})]
>>> table = sweep(sc, variants, workers=2, time_limit=60, out="small-sweep")
>>> table[["name", "status", "profit", "fill_rate"]]
>>> sweep(sc, load_sweep("grid.toml"))         # variants from a CSV or TOML file

One row per variant, in the order given: ``name``, ``changes`` (as text),
``status`` (a plan status, ``"invalid"`` or ``"failed"``), ``profit``,
``revenue``, ``salvage``, one ``cost_<part>`` column per cost, ``fill_rate``,
``launched``, ``mip_gap``, ``best_bound``, ``solve_seconds`` (HiGHS),
``cpu_seconds`` (CPU time of the whole task in its worker: build, solve,
extract) and ``error`` (plus ``folder`` when ``out=`` is given).

Where the work runs
-------------------
By default each variant is solved by :func:`optsupply.solve` in a
:class:`concurrent.futures.ProcessPoolExecutor` of ``workers`` processes
(``forkserver`` start method where available, else ``spawn``: HiGHS runs
threads, and forking a process that has them is unsafe). Each solve uses
``threads=1`` unless you pass ``threads=``; the parallelism comes from the
processes. The validated variant scenario is sent to the worker (without its
``history`` table, which the optimizer does not use): pickling it costs
1-5 ms for instances/small and instances/medium and about 50 ms for
instances/large, against 80-750 ms for loading the base scenario again and
applying the changes in the worker.

``executor=`` takes any :class:`concurrent.futures.Executor` and is not shut
down by the sweep. On a Dask cluster::

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")      # or Client(LocalCluster(...))
    optsupply.analysis.sweep(sc, variants, executor=client.get_executor())

The workers need optsupply installed (same version) and, for ``out=``, nothing
else: plans travel back to this process, which writes every file. Give the Dask
workers one thread each (``nthreads=1``); within one process solves run one at
a time anyway, because Pyomo's HiGHS interface redirects process-wide file
descriptors while it builds a model, and two solves at once in one process
deadlock. For the same reason a ``ThreadPoolExecutor`` works but does not run
solves in parallel. If you bring your own ``ProcessPoolExecutor``, give it
``mp_context=multiprocessing.get_context("forkserver")`` (or ``"spawn"``): the
``fork`` default of Python < 3.14 on Linux copies a process whose HiGHS
threads may be running.

Robustness
----------
A variant whose task raises, or whose worker dies (``BrokenProcessPool``, Dask
``KilledWorker``, …), is resubmitted up to ``retries`` times, then reported as
``"failed"`` with the error; no variant is ever dropped and finished results
are kept. With the built-in pool, a dead worker breaks the pool: the sweep
starts a fresh one. As a pool break cannot tell which of the running variants
killed it, those variants are rerun one at a time (without being charged a
retry), so a variant that keeps killing its worker is charged and reported
``"failed"`` while the innocent ones finish normally.

Command line: ``optsupply whatif SCENARIO --set EXPR ...`` or ``--sweep FILE``
(see :mod:`optsupply.cli.whatif`).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import multiprocessing
import os
import re
import sys
import threading
import time
import tomllib
import types
from collections import deque
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import pandas as pd

from optsupply.scenario import io as _io
from optsupply.errors import OptsupplyError, Problem, ScenarioError, UsageError
from optsupply.files import guard_folder, mark, read_marker, write_file
from optsupply.scenario.schema import SETTING_BY_KEY, TABLE_BY_NAME, TABLES

__all__ = ["Variant", "parse_set", "merge_changes", "format_changes", "load_sweep", "sweep", "solve_variant",
           "RESULT_COLUMNS"]

#: The cost parts of a plan's ``kpis["costs"]`` (same order as :data:`optsupply.plan.core.COST_KEYS`;
#: repeated here so that importing this module does not import Pyomo).
COST_KEYS = ("purchase", "ordering", "activation", "holding", "transport", "lane_fixed", "advertising", "launch",
             "onboarding", "lost_sale")

#: Columns of the table :func:`sweep` returns (``folder`` is added when ``out=`` is given).
RESULT_COLUMNS = ["name", "changes", "status", "profit", "revenue", "salvage", *[f"cost_{k}" for k in COST_KEYS],
                  "fill_rate", "launched", "mip_gap", "best_bound", "solve_seconds", "cpu_seconds", "error"]

INVALID, FAILED = "invalid", "failed"
PLANNED = ("optimal", "time_limit")

FORM = ("TABLE.COLUMN[KEY]=VALUE, TABLE.COLUMN=VALUE (every row) or section.key=VALUE (a setting), "
        "e.g. products.price[P1]=*0.9, supply.lead_time[P1/W2]=+1, advertising.total_budget=5000")
VALUE_FORM = "a number, *FACTOR, +DELTA, -DELTA or inf"


# ============================================================================ variants and --set


@dataclass(frozen=True)
class Variant:
    """One what-if variant: a name and the changes for :meth:`Scenario.with_changes`.

    Attributes
    ----------
    name : str
        Shown in the results table and used (made filesystem-safe) for its plan folder.
    changes : dict
        ``{"TABLE.COLUMN": value or {key: value}, "section.key": value}``; ``{}`` is the base scenario.
    """

    name: str
    changes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_sets(cls, name: str | None, exprs: Iterable[str]) -> Variant:
        """A variant from ``--set`` expressions (named after them when ``name`` is None)."""
        changes = merge_changes(parse_set(e) for e in exprs)
        return cls(name or default_name(changes), changes)


@dataclass(frozen=True)
class _Target:
    """What the left-hand side of an expression addresses."""

    key: str                      # "table.column" or a setting's key
    dtype: str                    # "float" | "int" | "str" | "bool"
    row: str | tuple[str, ...] | None = None   # the [KEY], if any
    table: str | None = None


def parse_set(expr: str) -> tuple[str, Any]:
    """Parse one ``--set`` expression into a ``(key, value)`` change.

    Forms: ``TABLE.COLUMN[KEY]=VALUE`` (one row), ``TABLE.COLUMN=VALUE`` (every
    row) and ``section.key=VALUE`` (a setting of scenario.toml). Tables whose
    rows are identified by several columns take the key parts separated by
    ``/`` or ``,`` in the key's column order: ``supply.lead_time[P1/W2]``.

    Values: a number (``24``, ``0.5``, ``1e4``), ``*FACTOR`` (``*0.9``),
    ``+DELTA`` / ``-DELTA`` (``+5``, ``-5``: a leading minus is a delta, no
    column accepts a negative value), ``inf``, ``true``/``false`` for yes/no
    columns, or text for text columns and settings.

    Parameters
    ----------
    expr : str
        The expression, e.g. ``"products.price[P1]=*0.9"``.

    Returns
    -------
    tuple
        ``("table.column", {key: value})`` for one row (``key`` a string, or a
        tuple of strings for multi-column keys), ``("table.column", value)``
        for every row, ``("section.key", value)`` for a setting: ready for
        :func:`merge_changes` and :meth:`Scenario.with_changes`.

    Raises
    ------
    UsageError
        Saying what is wrong and showing the expected form.

    Examples
    --------
    >>> parse_set("products.price[P1]=*0.9")
    ('products.price', {'P1': '*0.9'})
    >>> parse_set("supply.lead_time[P1/W2]=+1")
    ('supply.lead_time', {('P1', 'W2'): '+1'})
    >>> parse_set("advertising.total_budget=5000")
    ('advertising.total_budget', 5000)
    """
    if not isinstance(expr, str):
        raise UsageError(f"--set {expr!r}: expected text of the form {FORM}")
    lhs, sep, rhs = _split_expr(expr)
    if not sep:
        raise UsageError(f"--set {expr!r} has no '=VALUE'; expected {FORM}")
    try:
        target = _parse_target(lhs)
        value = _parse_value(target, rhs)
    except _Bad as exc:
        raise UsageError(f"--set {expr!r}: {exc}") from None
    return _change(target, value)


def merge_changes(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Merge ``(key, value)`` pairs from :func:`parse_set` into one changes dict.

    Several rows of one column become one ``{key: value}`` mapping. Setting
    one thing twice to different values, or a column both for every row and
    for some rows, raises :class:`UsageError`.
    """
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key not in out:
            out[key] = dict(value) if isinstance(value, Mapping) else value
            continue
        old = out[key]
        if isinstance(old, dict) and isinstance(value, Mapping):
            for k, v in value.items():
                if k in old and not _same(old[k], v):
                    raise UsageError(f"{_expr(key, k)} is set twice: to {_fmt_value(old[k])} and to {_fmt_value(v)}")
                old[k] = v
        elif isinstance(old, dict) or isinstance(value, Mapping):
            rows = old if isinstance(old, dict) else value
            some = _expr(key, next(iter(rows)))
            raise UsageError(f"{key} is set both for every row and for single rows ({some}); "
                             f"give either {key}=VALUE or {key}[KEY]=VALUE")
        elif not _same(old, value):
            raise UsageError(f"{key} is set twice: to {_fmt_value(old)} and to {_fmt_value(value)}")
    return out


def format_changes(changes: Mapping[str, Any]) -> str:
    """The changes as ``--set`` expressions joined by ``"; "`` (``""`` for none)."""
    parts = []
    for key, value in changes.items():
        if isinstance(value, Mapping):
            parts += [f"{_expr(key, k)}={_fmt_value(v)}" for k, v in value.items()]
        else:
            parts.append(f"{key}={_fmt_value(value)}")
    return "; ".join(parts)


def default_name(changes: Mapping[str, Any]) -> str:
    """The name of an unnamed variant: its changes as text, or ``"base"`` when it has none."""
    return format_changes(changes) or "base"


class _Bad(ValueError):
    """A problem with one expression (turned into a UsageError or a file problem by the caller)."""


def _split_expr(expr: str) -> tuple[str, str, str]:
    close = expr.find("]") if "[" in expr else -1
    eq = expr.find("=", close + 1 if close >= 0 else 0)
    if eq < 0:
        return expr.strip(), "", ""
    return expr[:eq].strip(), "=", expr[eq + 1:].strip()


_TARGET = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\s*(?:\[(.*)\])?$")


def _parse_target(lhs: str) -> _Target:
    lhs = lhs.strip()
    m = _TARGET.match(lhs)
    if not lhs:
        raise _Bad(f"nothing before '='; expected {FORM}")
    if not m:
        raise _Bad(f"'{lhs}' is not of the form {FORM}")
    first, second, row = m.group(1), m.group(2), m.group(3)
    key = f"{first}.{second}" if second else first
    if key in SETTING_BY_KEY:
        if row is not None:
            raise _Bad(f"'{key}' is a setting of scenario.toml; it takes no [KEY]: write {key}=VALUE")
        return _Target(key, SETTING_BY_KEY[key].dtype)
    if first not in TABLE_BY_NAME:
        if second is None:
            raise _Bad(f"'{lhs}' is not of the form {FORM}")
        options = list(SETTING_BY_KEY) + [f"{t.name}.{c}" for t in TABLES for c in t.column_names]
        raise _Bad(f"'{key}' is neither a table column nor a setting" + _io.did_you_mean(key, options))
    spec = TABLE_BY_NAME[first]
    if second is None:
        raise _Bad(f"'{first}' is a table; name its column: {first}.COLUMN=VALUE or {first}.COLUMN[KEY]=VALUE")
    if second not in spec.column_names:
        raise _Bad(f"table {first} has no column '{second}'" + _io.did_you_mean(second, spec.column_names))
    if second in spec.key:
        raise _Bad(f"'{second}' is a key column of {first} (rows are identified by it); change another column")
    dtype = spec.column(second).dtype
    if row is None:
        return _Target(key, dtype, None, first)
    parts = [p.strip() for p in re.split(r"[/,]", row)]
    example = "/".join(k.upper() for k in spec.key)
    if len(parts) != len(spec.key) or any(p == "" for p in parts):
        raise _Bad(f"rows of {first} are identified by {'/'.join(spec.key)}: write {key}[{example}] "
                   f"({len(spec.key)} part{'s' * (len(spec.key) > 1)}), not [{row}]")
    return _Target(key, dtype, parts[0] if len(parts) == 1 else tuple(parts), first)


_NUMBER = re.compile(r"^[+-]?(\d[\d_]*\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _parse_value(target: _Target, raw: Any) -> Any:
    """The value of a change, typed by the column or setting it goes to."""
    where = target.key
    if isinstance(raw, bool):
        if target.dtype == "bool":
            return raw
        raise _Bad(f"{where} takes {VALUE_FORM if target.dtype in ('int', 'float') else 'text'}, not {str(raw).lower()}")
    if isinstance(raw, (int, float)):
        if target.dtype in ("int", "float"):
            if isinstance(raw, float) and math.isnan(raw):
                raise _Bad(f"{where}: nan is not a value")
            return raw
        if target.dtype == "bool":
            if raw in (0, 1):
                return bool(raw)
            raise _Bad(f"{where} takes true or false, not {raw}")
        return _fmt_value(raw)
    if not isinstance(raw, str):
        raise _Bad(f"{where}: unsupported value {raw!r}")
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    if text == "":
        raise _Bad(f"no value after '=' for {where}; expected {_expected(target)}")
    if target.dtype == "bool":
        if text.lower() in _BOOLS:
            return _BOOLS[text.lower()]
        raise _Bad(f"'{text}' is not true or false ({where} is a yes/no column)")
    if target.dtype == "str":
        return text
    low = text.lower()
    if low in ("inf", "infinity"):
        return math.inf
    op = text[0] if text[0] in "*+-" else ""
    num = text[1:].strip() if op else text
    if not _NUMBER.match(num) or num[0] in "+-":
        if op and num.lower() in ("inf", "infinity"):
            raise _Bad(f"'{text}': a factor or delta must be a finite number; expected {VALUE_FORM}")
        raise _Bad(f"'{text}' is not {VALUE_FORM}")
    x = float(num.replace("_", ""))
    if op:
        return f"{op}{_fmt_num(x)}"
    if target.dtype == "int" and x.is_integer():
        return int(x)
    return int(x) if x.is_integer() and "." not in num and "e" not in num.lower() else x


def _expected(target: _Target) -> str:
    return {"bool": "true or false", "str": "text"}.get(target.dtype, VALUE_FORM)


def _change(target: _Target, value: Any) -> tuple[str, Any]:
    if target.row is None:
        return target.key, value
    return target.key, {target.row: value}


def _expr(key: str, row: Any) -> str:
    return f"{key}[{'/'.join(row) if isinstance(row, tuple) else row}]"


def _fmt_num(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _fmt_num(v)
    return str(v)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or _fmt_value(a) == _fmt_value(b)


# ============================================================================ sweep files


def load_sweep(path: str | os.PathLike, *, limits: _io.Limits | None = None) -> list[Variant]:
    """Read the variants of a sweep file (CSV or TOML).

    **CSV**: one variant per row. An optional ``name`` column names it; every
    other header is a ``TABLE.COLUMN[KEY]``, ``TABLE.COLUMN`` or
    ``section.key`` expression (write multi-column keys with ``/`` here) and
    the cell is its value; a blank cell leaves it unchanged (a row of blanks
    is the base scenario)::

        name,products.price[P1],advertising.total_budget
        base,,
        cheap P1,*0.9,
        more ads,,8000

    **TOML**: a list of variants, or a grid (both may be given: the listed
    variants come first)::

        [[variant]]
        name = "cheap P1"
        set = ["products.price[P1]=*0.9", "supply.lead_time[P1/W1]=+1"]

        [grid]                          # every combination (Cartesian product)
        "products.price[P1]" = ["*0.9", "*1.0", "*1.1"]
        advertising.total_budget = [3000, 5000]

    ``set`` may also be a table: ``set = {"products.price[P1]" = "*0.9"}``.
    Unnamed variants are named after their changes (``"base"`` when none).

    A sweep has at most ``limits.max_variants`` variants (``Limits()``:
    ``OPTSUPPLY_MAX_VARIANTS``, else 10,000); a grid's combinations are
    counted before they are made.

    Raises
    ------
    UsageError
        Naming the file, row (CSV, header = row 1) or line (TOML) and what is
        wrong; every problem found is listed, not only the first.
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"sweep file {p} does not exist" if not p.exists() else f"sweep file {p} is not a file")
    suffix = p.suffix.lower()
    max_variants = (limits if limits is not None else _io.Limits()).max_variants
    if suffix == ".csv":
        variants, problems = _load_csv(p)
    elif suffix == ".toml":
        variants, problems = _load_toml(p, max_variants)
    else:
        raise UsageError(f"sweep file {p}: expected a .csv or .toml file")
    if len(variants) > max_variants:
        raise _file_error(p, [Problem(p.name, None, None, _too_many_variants(f"{len(variants):,} variants",
                                                                            max_variants))])
    problems += _duplicate_names(p, variants)
    if problems:
        raise _file_error(p, problems)
    if not variants:
        raise UsageError(f"sweep file {p} has no variants")
    return [v for v, _ in variants]


def _file_error(path: Path, problems: list[Problem]) -> UsageError:
    n = len(problems)
    lines = [f"sweep file {path}: {n} problem{'s' * (n != 1)}"]
    for pr in problems:
        where = []
        if pr.row is not None:
            where.append(f"line {pr.row}" if path.suffix.lower() == ".toml" else f"row {pr.row}")
        if pr.column is not None:
            where.append(f"column {pr.column}" if path.suffix.lower() == ".csv" else pr.column)
        lines.append(f"  {', '.join(where) + ': ' if where else ''}{pr.message}")
    err = UsageError("\n".join(lines))
    err.problems = problems  # type: ignore[attr-defined]
    return err


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"sweep file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"cannot read sweep file {path}: {exc.strerror or exc}") from None


def _load_csv(path: Path) -> tuple[list[tuple[Variant, int]], list[Problem]]:
    text = _read_text(path)
    file = path.name
    problems: list[Problem] = []
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(c.strip() for c in rows[0]):
        return [], [Problem(file, 1, None, "no header row: expected name (optional) and one "
                                            "TABLE.COLUMN[KEY] or section.key column per change")]
    header = [h.strip() for h in rows[0]]
    targets: dict[int, _Target] = {}
    name_col = None
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        if h == "":
            problems.append(Problem(file, 1, f"#{j + 1}", "empty column header"))
            continue
        if h in seen:
            problems.append(Problem(file, 1, h, f"column appears twice (columns {seen[h] + 1} and {j + 1})"))
            continue
        seen[h] = j
        if h.lower() == "name":
            name_col = j
            continue
        try:
            if "=" in h:
                raise _Bad(f"a header names what changes, without '=VALUE' (the value goes in the cells): "
                           f"'{h.split('=')[0].strip()}'")
            targets[j] = _parse_target(h)
        except _Bad as exc:
            problems.append(Problem(file, 1, h, str(exc)))
    variants: list[tuple[Variant, int]] = []
    for i, cells in enumerate(rows[1:], start=2):
        if not cells or all(c.strip() == "" for c in cells):
            continue  # blank lines (and rows of commas that spreadsheets leave behind)
        if len(cells) != len(header):
            problems.append(Problem(file, i, None, f"{len(cells)} cells, but the header has {len(header)} columns"))
            continue
        pairs = []
        bad = False
        for j, target in targets.items():
            cell = cells[j].strip()
            if cell == "":
                continue
            try:
                pairs.append(_change(target, _parse_value(target, cell)))
            except _Bad as exc:
                problems.append(Problem(file, i, header[j], str(exc)))
                bad = True
        if bad:
            continue
        try:
            changes = merge_changes(pairs)
        except UsageError as exc:
            problems.append(Problem(file, i, None, str(exc)))
            continue
        name = cells[name_col].strip() if name_col is not None else ""
        variants.append((Variant(name or default_name(changes), changes), i))
    return variants, problems


def _line_of(lines: list[str], needle: str, start: int = 0) -> int | None:
    """1-based number of the first line at or after ``start`` (0-based) that contains ``needle``."""
    for k in range(start, len(lines)):
        if needle in lines[k]:
            return k + 1
    return None


def _too_many_variants(what: str, max_variants: int) -> str:
    return _io.over_limit(what, max_variants, "max_variants", _io.ENV_MAX_VARIANTS)


def _load_toml(path: Path, max_variants: int) -> tuple[list[tuple[Variant, int]], list[Problem]]:
    text = _read_text(path)
    file = path.name
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        return [], [Problem(file, _io.deepest_line(text), None, _io.TOO_DEEP)]
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) if m else (len(text.splitlines()) + 1 if "end of document" in str(exc) else None)
        return [], [Problem(file, line, None, f"not valid TOML: {exc}")]
    lines = text.splitlines()
    problems: list[Problem] = []
    variants: list[tuple[Variant, int]] = []
    for key in doc:
        if key not in ("variant", "grid"):
            problems.append(Problem(file, _line_of(lines, key), None,
                                    f"unknown entry '{key}': expected [[variant]] tables or a [grid] table"
                                    + _io.did_you_mean(key, ["variant", "grid"])))
    entries = doc.get("variant", [])
    if not isinstance(entries, list):
        problems.append(Problem(file, _line_of(lines, "variant"), None,
                                "'variant' must be a list of tables: write [[variant]] (double brackets)"))
        entries = []
    starts = [k for k, ln in enumerate(lines) if re.match(r"^\s*\[\[\s*variant\s*\]\]", ln)]
    for n, entry in enumerate(entries, start=1):
        start = starts[n - 1] if n - 1 < len(starts) else 0
        line0 = start + 1
        label = f"variant {n}"
        if not isinstance(entry, dict):
            problems.append(Problem(file, line0, label, "must be a table with name and set"))
            continue
        for k in entry:
            if k not in ("name", "set"):
                problems.append(Problem(file, _line_of(lines, k, start) or line0, label,
                                        f"unknown key '{k}': a variant has name and set" + _io.did_you_mean(k, ["name", "set"])))
        name = entry.get("name", "")
        if not isinstance(name, str):
            problems.append(Problem(file, _line_of(lines, "name", start) or line0, label, "name must be text"))
            name = ""
        label = f"variant {n}" + (f" ({name})" if name else "")
        sets = entry.get("set", [])
        pairs = []
        bad = False
        for expr, value, has_value in _set_items(sets):
            where = _line_of(lines, str(expr), start) or line0
            try:
                if has_value:
                    if "=" in expr:
                        raise _Bad(f"'{expr}': in a set table the key names what changes, without '=VALUE'")
                    target = _parse_target(expr)
                    pairs.append(_change(target, _parse_value(target, value)))
                else:
                    if not isinstance(expr, str):
                        raise _Bad(f"set entries must be text like \"{FORM.split(',')[0]}\", not {expr!r}")
                    lhs, sep, rhs = _split_expr(expr)
                    if not sep:
                        raise _Bad(f"'{expr}' has no '=VALUE'; expected {FORM}")
                    target = _parse_target(lhs)
                    pairs.append(_change(target, _parse_value(target, rhs)))
            except _Bad as exc:
                problems.append(Problem(file, where, label, str(exc)))
                bad = True
        if sets is not None and not isinstance(sets, (list, dict, str)):
            problems.append(Problem(file, _line_of(lines, "set", start) or line0, label,
                                    "set must be a list of \"TABLE.COLUMN[KEY]=VALUE\" texts or a table"))
            bad = True
        if bad:
            continue
        try:
            changes = merge_changes(pairs)
        except UsageError as exc:
            problems.append(Problem(file, line0, label, str(exc)))
            continue
        variants.append((Variant(name or default_name(changes), changes), line0))
    if "grid" in doc:
        grid_variants, grid_problems = _grid(doc["grid"], file, lines, max_variants, len(variants))
        variants += grid_variants
        problems += grid_problems
    if not variants and not problems:
        problems.append(Problem(file, None, None, "no variants: add [[variant]] tables or a [grid] table"))
    return variants, problems


def _set_items(sets: Any) -> Iterable[tuple[Any, Any, bool]]:
    if isinstance(sets, str):
        yield sets, None, False
    elif isinstance(sets, list):
        for s in sets:
            yield s, None, False
    elif isinstance(sets, dict):
        for k, v in _flatten(sets).items():
            yield k, v, True


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"advertising": {"total_budget": x}}`` (TOML dotted keys) → ``{"advertising.total_budget": x}``."""
    return _io._flatten(dict(table), f"{prefix}." if prefix else "")


def _grid(grid: Any, file: str, lines: list[str], max_variants: int,
          listed: int = 0) -> tuple[list[tuple[Variant, int]], list[Problem]]:
    """The variants of a ``[grid]`` table; refused (one problem, the count) when they and the ``listed`` variants
    are more than ``max_variants``, counted before any combination is made."""
    start = next((k for k, ln in enumerate(lines) if re.match(r"^\s*\[\s*grid\s*\]", ln)), 0)
    if not isinstance(grid, dict):
        return [], [Problem(file, start + 1, "grid", "grid must be a table of expression = [values...]")]
    problems: list[Problem] = []
    axes: list[list[tuple[str, Any]]] = []
    for expr, values in _flatten(grid).items():
        line = (_line_of(lines, expr, start) or _line_of(lines, expr.split(".")[-1].split("[")[0], start)
                or start + 1)
        values = values if isinstance(values, list) else [values]
        if not values:
            problems.append(Problem(file, line, expr, "empty list of values"))
            continue
        try:
            if "=" in expr:
                raise _Bad("a grid key names what changes, without '=VALUE' (the values go in the list)")
            target = _parse_target(expr)
        except _Bad as exc:
            problems.append(Problem(file, line, expr, str(exc)))
            continue
        axis = []
        for value in values:
            try:
                axis.append(_change(target, _parse_value(target, value)))
            except _Bad as exc:
                problems.append(Problem(file, line, expr, str(exc)))
        axes.append(axis)
    if problems:
        return [], problems
    if not axes:
        return [], [Problem(file, start + 1, "grid", "the grid is empty: add expression = [values...] lines")]
    count = math.prod(len(axis) for axis in axes)
    if count + listed > max_variants:
        sizes = " × ".join(str(len(axis)) for axis in axes)
        also = f" and {listed:,} variants are listed" if listed else ""
        return [], [Problem(file, start + 1, "grid", _too_many_variants(
            f"the grid makes {count:,} variants ({sizes} values){also}", max_variants))]
    variants = []
    for combo in itertools.product(*axes):
        try:
            changes = merge_changes(combo)
        except UsageError as exc:
            return [], [Problem(file, start + 1, "grid", str(exc))]
        variants.append((Variant(default_name(changes), changes), start + 1))
    return variants, problems


def _duplicate_names(path: Path, variants: list[tuple[Variant, int]]) -> list[Problem]:
    first: dict[str, int] = {}
    problems = []
    word = "line" if path.suffix.lower() == ".toml" else "row"
    for v, where in variants:
        if v.name in first:
            problems.append(Problem(path.name, where, None, f"variant name '{v.name}' is used twice "
                                                             f"({word}s {first[v.name]} and {where})"))
        else:
            first[v.name] = where
    return problems


# ============================================================================ solving one variant (in a worker)

_SOLVE_LOCK = threading.Lock()
_LAST_THREADS: list[Any] = []   # HiGHS threads of the last solve in this process


def solve_variant(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Solve one variant; the task :func:`sweep` sends to its workers.

    Parameters
    ----------
    payload : dict
        ``name``, ``scenario`` (the validated variant :class:`Scenario`),
        ``options`` (keyword arguments of :func:`optsupply.solve`), ``keep_plan``
        (send the plan back, for ``out=``) and ``attempt`` (0 for the first try).

    Returns
    -------
    dict
        ``kpis`` (the plan's KPIs), ``plan`` (the :class:`Plan`, or None unless
        ``keep_plan`` and the plan has tables), ``pid`` and ``cpu_seconds`` (process
        CPU time of the solve).

    Notes
    -----
    Solves in one process run one at a time (Pyomo's HiGHS interface is not
    thread-safe), and HiGHS's global thread scheduler is reset when the
    ``threads`` option differs from this process's previous solve (HiGHS
    otherwise fails the solve).
    """
    from optsupply.optimizer.optimize import solve

    options = dict(payload.get("options") or {})
    with _SOLVE_LOCK:
        _own_capture_lock()
        threads = options.get("threads")
        if not _LAST_THREADS or _LAST_THREADS[0] != threads:
            try:
                import highspy

                highspy.Highs.resetGlobalScheduler(True)
            except (ImportError, AttributeError):  # pragma: no cover - highspy is a dependency
                pass
            _LAST_THREADS[:] = [threads]
        cpu = time.process_time()
        plan = solve(payload["scenario"], **options)
        cpu = time.process_time() - cpu
    keep = payload.get("keep_plan") and plan.kpis.get("status") in PLANNED and plan.kpis.get("profit") is not None
    return {"kpis": plan.kpis, "plan": plan if keep else None, "pid": os.getpid(), "cpu_seconds": round(cpu, 3)}


def _warm_up() -> None:
    """Worker initializer of the sweep's pool: import the optimizer, take a private Pyomo capture lock."""
    import optsupply.optimizer.optimize  # noqa: F401

    _own_capture_lock()


_LOCK_PID: list[int] = []


def _own_capture_lock() -> None:
    """Give this worker process its own Pyomo capture lock (once per process; workers only).

    Importing Pyomo next to ``multiprocessing`` turns ``pyomo.common.dependencies.capture_output_lock``
    (held while Pyomo's HiGHS interface redirects the process's file descriptors) into a
    ``multiprocessing.Lock``: a semaphore shared by every process forked from the fork server that
    imported Pyomo. Workers would then wait for each other while building models, and a worker
    terminated while holding it (the pool terminates the survivors when a worker dies) would block
    every later worker for Pyomo's 200 s deadlock timeout. File descriptors are per process, so a
    per-process lock is all that is needed. The lock is replaced only in a multiprocessing child
    (a pool or Dask worker), once, before this process's first solve; never in the main process,
    where other threads may hold it.
    """
    if _LOCK_PID == [os.getpid()] or multiprocessing.parent_process() is None:
        return
    _LOCK_PID[:] = [os.getpid()]
    try:
        from pyomo.common import dependencies
    except ImportError:  # pragma: no cover - Pyomo is a dependency
        return
    if hasattr(dependencies, "capture_output_lock"):
        dependencies.capture_output_lock = threading.Lock()


def _start_method() -> str:
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _for_worker(sc: Any) -> Any:
    """The variant scenario without its history table (the optimizer does not read it)."""
    if sc.history.empty:
        return sc
    tables = dict(sc.tables())
    tables["history"] = sc.history.iloc[0:0]
    return type(sc)(sc.settings, tables, present=sc.present, files=sc.files, source=sc.source, warnings=sc.warnings)


# ============================================================================ the sweep


def _as_variants(variants: Any) -> list[Variant]:
    if isinstance(variants, (str, os.PathLike)):
        return load_sweep(variants)
    if isinstance(variants, Mapping):
        return [Variant(str(name), dict(changes or {})) for name, changes in variants.items()]
    out = []
    for k, v in enumerate(variants):
        if isinstance(v, Variant):
            out.append(v)
        elif isinstance(v, tuple) and len(v) == 2:
            out.append(Variant(str(v[0]), dict(v[1] or {})))
        elif isinstance(v, Mapping):
            out.append(Variant(default_name(v), dict(v)))
        else:
            raise UsageError(f"variant {k + 1}: expected a Variant, a (name, changes) pair or a changes dict, "
                             f"not {type(v).__name__}")
    return out


def _errors_text(exc: Exception) -> str:
    if isinstance(exc, ScenarioError):
        errors = exc.report.errors or exc.report.problems
        return "; ".join(str(p).removeprefix("error: ") for p in errors)
    return f"{type(exc).__name__}: {exc}"


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    if isinstance(exc, BrokenProcessPool):
        return f"{name}: the worker process died while solving this variant ({text})"
    return f"{name}: {text}" if text else name


def _row(v: Variant, status: str, kpis: Mapping[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
    k = kpis or {}
    costs = k.get("costs") or {}
    row: dict[str, Any] = {"name": v.name, "changes": format_changes(v.changes), "status": status,
                           "profit": k.get("profit"), "revenue": k.get("revenue"), "salvage": k.get("salvage")}
    for c in COST_KEYS:
        row[f"cost_{c}"] = costs.get(c)
    row.update({"fill_rate": k.get("fill_rate"), "launched": k.get("launched"), "mip_gap": k.get("mip_gap"),
                "best_bound": k.get("best_bound"), "solve_seconds": k.get("solve_seconds"), "cpu_seconds": None,
                "error": error})
    if error is None and status not in PLANNED and k.get("message"):
        row["error"] = str(k["message"])
    return row


def _safe_names(names: Sequence[str]) -> list[str]:
    """Filesystem-safe, unique (also ignoring case) folder names."""
    used = {"results.csv"}
    out = []
    reserved = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
    for name in names:
        s = name.replace("*", "x").replace("/", "-").replace("[", "-").replace("]", "")
        s = re.sub(r"[^A-Za-z0-9._+=-]+", "_", s).strip("._ ")[:80].rstrip("._ ") or "variant"
        if s.lower().split(".")[0] in reserved:
            s = f"{s}_"
        cand, k = s, 2
        while cand.lower() in used:
            cand, k = f"{s}-{k}", k + 1
        used.add(cand.lower())
        out.append(cand)
    return out


def _make_out(out: Path) -> None:
    """Create the sweep's folder with optsupply's marker, so that a later ``--force`` may write into it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        if read_marker(out) is None:
            mark(out, "whatif")
    except OSError as exc:
        raise UsageError(f"cannot create the output folder {out}: {exc}") from None


def _write_results(out: Path, table: pd.DataFrame) -> None:
    write_file(out / "results.csv", lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))


def _to_frame(rows: list[dict[str, Any]], with_folder: bool) -> pd.DataFrame:
    cols = RESULT_COLUMNS + (["folder"] if with_folder else [])
    df = pd.DataFrame(rows, columns=cols)
    df["launched"] = df["launched"].astype("Int64")
    for c in cols:
        if c not in ("name", "changes", "status", "error", "folder", "launched"):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


class _Pool:
    """The sweep's own process pool: created on demand, replaced when it breaks."""

    def __init__(self, max_workers: int):
        self.max_workers = max_workers
        self.executor: ProcessPoolExecutor | None = None
        self.created = 0

    def get(self) -> ProcessPoolExecutor:
        if self.executor is None:
            ctx = multiprocessing.get_context(_start_method())
            if ctx.get_start_method() == "forkserver":
                # Import the optimizer once in the fork server (it starts no HiGHS threads, so
                # forking it is safe): a worker then starts in ~0.03 s instead of ~2 s, and a
                # fresh pool after a break costs nothing. No effect if the server already runs.
                ctx.set_forkserver_preload(["__main__", "optsupply.optimizer.optimize"])
            self.executor = ProcessPoolExecutor(max_workers=self.max_workers, mp_context=ctx, initializer=_warm_up)
            self.created += 1
        return self.executor

    def discard(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


def sweep(scenario: Any, variants: Any, *, executor: Executor | None = None, workers: int | None = None,
          out: str | os.PathLike | None = None, progress: bool = True, retries: int = 1,
          task: Callable[[dict[str, Any]], dict[str, Any]] | None = None, **solve_options: Any) -> pd.DataFrame:
    """Solve every variant of ``scenario`` and return one row per variant.

    Parameters
    ----------
    scenario : Scenario or path
        The base scenario (a path is loaded and validated first).
    variants : list of Variant, mapping or path
        :class:`Variant` objects, ``(name, changes)`` pairs or changes dicts
        (named after their changes), a ``{name: changes}`` mapping, or the path
        of a sweep file (:func:`load_sweep`).
    executor : concurrent.futures.Executor, optional
        Where to solve: any executor (``ThreadPoolExecutor``, a
        ``ProcessPoolExecutor``, ``dask.distributed.Client(...).get_executor()``, …).
        It is not shut down. Default: a process pool made (and closed) by the sweep.
    workers : int, optional
        Processes of the sweep's own pool (default ``min(CPUs, variants to solve)``).
        With ``executor=``, at most this many variants are submitted at a time
        (default: all at once).
    out : path, optional
        Folder that receives ``results.csv`` (the returned table, with a
        ``folder`` column) and one plan folder per variant that has a plan,
        named after the variant (made filesystem-safe and unique). Each plan
        folder is written completely or not at all as soon as its variant is
        solved; existing plan folders of the same names are replaced.
    progress : bool, default True
        Show a progress bar (tqdm, on stderr).
    retries : int, default 1
        How often a variant whose task raised or whose worker died is submitted
        again before it is reported as ``"failed"``.
    task : callable, optional
        Replaces :func:`solve_variant` (must be picklable for process and Dask
        executors, take the same payload and return the same dict). A seam for
        tests and instrumentation; leave it alone otherwise.
    **solve_options
        Keyword arguments of :func:`optsupply.solve` for every variant
        (``time_limit``, ``mip_gap``, ``threads``, ``seed``, ``presolve``,
        ``highs_options``); ``threads`` defaults to 1. ``log`` is not supported.

    Returns
    -------
    pandas.DataFrame
        One row per variant in the input order; columns :data:`RESULT_COLUMNS`
        (+ ``folder`` with ``out``). ``status`` is the plan status
        (``optimal``, ``time_limit``, ``infeasible``, ``unbounded``, ``error``),
        ``invalid`` (the changes do not validate; ``error`` holds the problems,
        with file, column and key; the variant is not solved) or ``failed``
        (its task raised or its worker died ``retries + 1`` times; ``error``
        holds the last exception).

    Raises
    ------
    UsageError
        For bad arguments (unknown variants format, negative ``retries``, ``log=``).
    """
    from optsupply.scenario.core import Scenario

    sc = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
    vs = _as_variants(variants)
    if retries is None or int(retries) < 0:
        raise UsageError(f"retries must be 0 or more, not {retries}")
    if workers is not None and int(workers) < 1:
        raise UsageError(f"workers must be 1 or more, not {workers}")
    if solve_options.pop("log", None) is not None:
        raise UsageError("log= is not supported by sweep (solves run in other processes); use progress=True")
    if solve_options.get("threads") is None:
        solve_options["threads"] = 1
    task = task or solve_variant
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:  # never an input, the current folder or a folder optsupply did not write
        out_dir = guard_folder(out_dir, kind="whatif", inputs=[sc.source], force=True, verb="write into it")
        _make_out(out_dir)
    folders = _safe_names([v.name for v in vs]) if out_dir is not None else []
    if out_dir is not None and sc.source is not None:
        src = sc.source.resolve()
        for k, f in enumerate(folders):
            target = (out_dir / f).resolve()
            if target == src or target in src.parents:
                folders[k] = f"{f}-plan"

    n = len(vs)
    rows: list[dict[str, Any] | None] = [None] * n
    jobs: list[int] = []
    for i, v in enumerate(vs):
        try:
            sc.with_changes(v.changes)
        except Exception as exc:  # ScenarioError, or a type error pandas raises for an odd value
            rows[i] = _row(v, INVALID, error=_errors_text(exc))
        else:
            jobs.append(i)

    bar = _progress_bar(n, progress)
    bar.update(n - len(jobs))
    own = executor is None
    pool = _Pool(int(workers or min(_cpu_count(), max(1, len(jobs))))) if own else None
    limit = pool.max_workers if own else (int(workers) if workers else None)

    pending: deque[int] = deque(jobs)
    suspects: deque[int] = deque()
    charged: dict[int, int] = {i: 0 for i in jobs}
    attempts: dict[int, int] = {i: 0 for i in jobs}
    inflight: dict[Future, tuple[int, bool]] = {}

    def finish(i: int, row: dict[str, Any]) -> None:
        rows[i] = row
        bar.update(1)

    def charge(i: int, exc: BaseException, isolate: bool = False) -> None:
        charged[i] += 1
        if charged[i] > retries:
            finish(i, _row(vs[i], FAILED, error=_exc_text(exc)))
        elif isolate:
            suspects.append(i)
        else:
            pending.appendleft(i)

    def record(i: int, result: Any) -> None:
        if not isinstance(result, Mapping) or not isinstance(result.get("kpis"), Mapping):
            finish(i, _row(vs[i], FAILED, error=f"the task returned {type(result).__name__}, not a dict with kpis"))
            return
        kpis = dict(result["kpis"])
        row = _row(vs[i], str(kpis.get("status", "error")), kpis)
        row["cpu_seconds"] = result.get("cpu_seconds")
        plan = result.get("plan")
        if out_dir is not None:
            row["folder"] = None
            if plan is not None:
                try:
                    plan.save(out_dir / folders[i], overwrite=True)
                    row["folder"] = folders[i]
                except (OSError, OptsupplyError) as exc:
                    row["error"] = f"the plan could not be written to {out_dir / folders[i]}: {exc}"
        finish(i, row)

    def submit(i: int, isolated: bool) -> None:
        try:
            variant_sc = _for_worker(sc.with_changes(vs[i].changes))
        except Exception as exc:  # validated above; only an odd, non-deterministic value gets here
            finish(i, _row(vs[i], INVALID, error=_errors_text(exc)))
            return
        payload = {"name": vs[i].name, "scenario": variant_sc, "options": dict(solve_options),
                   "keep_plan": out_dir is not None, "attempt": attempts[i]}
        attempts[i] += 1
        try:
            if own:
                try:
                    fut = pool.get().submit(task, payload)
                except BrokenProcessPool:       # a worker died while idle: this variant is not to blame
                    pool.discard()
                    fut = pool.get().submit(task, payload)
            else:
                fut = executor.submit(task, payload)
        except Exception as exc:  # a broken or shut-down executor, or a payload it cannot send
            if own:
                pool.discard()
            charge(i, exc, isolate=isolated)
            return
        inflight[fut] = (i, isolated)

    try:
        while pending or suspects or inflight:
            isolating = any(iso for _, iso in inflight.values())
            while not isolating:
                if suspects:
                    if not inflight:
                        submit(suspects.popleft(), True)
                        isolating = True
                    break
                if pending and (limit is None or len(inflight) < limit):
                    submit(pending.popleft(), False)
                    continue
                break
            if not inflight:
                continue
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            broken: list[tuple[int, bool, BaseException]] = []
            for fut in done:
                i, iso = inflight.pop(fut)
                exc = _exception(fut)
                if exc is None:
                    record(i, fut.result())
                elif own and isinstance(exc, BrokenProcessPool):
                    broken.append((i, iso, exc))
                else:
                    charge(i, exc)
            if broken:
                # Every other running variant of the broken pool fails too: collect them all.
                for fut in list(inflight):
                    i, iso = inflight.pop(fut)
                    exc = _exception(fut)
                    if exc is None:
                        record(i, fut.result())
                    else:
                        broken.append((i, iso, exc))
                pool.discard()
                if len(broken) == 1 or any(iso for _, iso, _ in broken):
                    for i, _, exc in broken:    # the culprit is known: charge it, rerun it alone
                        charge(i, exc, isolate=True)
                else:                           # one of them killed the pool: rerun each alone, uncharged
                    for i, _, _ in sorted(broken):
                        suspects.append(i)
    except BaseException as exc:
        if own:
            pool.discard()
        for fut, (i, _) in inflight.items():
            fut.cancel()
        for i in range(n):
            if rows[i] is None:
                rows[i] = _row(vs[i], FAILED, error=f"not finished: the sweep was interrupted ({_exc_text(exc)})")
        if out_dir is not None:
            _write_results(out_dir, _to_frame(rows, True))  # type: ignore[arg-type]
        bar.close()
        raise
    finally:
        if own:
            pool.close()
    bar.close()
    table = _to_frame(rows, out_dir is not None)  # type: ignore[arg-type]
    if out_dir is not None:
        _write_results(out_dir, table)
    return table


def _exception(fut: Future) -> BaseException | None:
    """The future's exception (a cancelled future counts as one), or None."""
    try:
        return fut.exception()
    except CancelledError as exc:
        return exc


def _progress_bar(total: int, enabled: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return _NoBar()
    return tqdm(total=total, desc="sweep", unit="variant", file=sys.stderr, disable=not enabled, dynamic_ncols=True)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


# ============================================================================ optsupply.analysis.sweep(...) is callable


class _CallableModule(types.ModuleType):
    """Lets ``optsupply.analysis.sweep(sc, variants, ...)`` work although ``optsupply.analysis.sweep`` is also this module."""

    def __call__(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
