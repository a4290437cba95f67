"""Sweep files: many what-if variants of one scenario in a CSV or TOML file (:func:`load_sweep`)."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping

from optsupply.errors import Problem, UsageError
from optsupply.scenario.cells import did_you_mean
from optsupply.scenario.limits import ENV_MAX_VARIANTS, Limits, over_limit
from optsupply.scenario.read import TOO_DEEP, deepest_line, flatten
from optsupply.scenario.changes import (FORM, Variant, _Bad, _change, _parse_target, _parse_value, _split_expr,
                                        _Target, default_name, merge_changes)

__all__ = ["load_sweep"]




def _variant(name: str, pairs: list[tuple[str, Any]], problems: list[Problem], where: Problem) -> Variant | None:
    """The variant of ``pairs`` (named after its changes when ``name`` is empty); None, with the problem
    reported at ``where``, when the changes contradict each other."""
    try:
        changes = merge_changes(pairs)
    except UsageError as exc:
        problems.append(dataclasses.replace(where, message=str(exc)))
        return None
    return Variant(name or default_name(changes), changes)


def load_sweep(path: str | os.PathLike, *, limits: Limits | None = None) -> list[Variant]:
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
    max_variants = (limits if limits is not None else Limits()).max_variants
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
        name = cells[name_col].strip() if name_col is not None else ""
        variant = None if bad else _variant(name, pairs, problems, Problem(file, i, None, ""))
        if variant is not None:
            variants.append((variant, i))
    return variants, problems


def _line_of(lines: list[str], needle: str, start: int = 0) -> int | None:
    """1-based number of the first line at or after ``start`` (0-based) that contains ``needle``."""
    for k in range(start, len(lines)):
        if needle in lines[k]:
            return k + 1
    return None


def _too_many_variants(what: str, max_variants: int) -> str:
    return over_limit(what, max_variants, "max_variants", ENV_MAX_VARIANTS)


def _load_toml(path: Path, max_variants: int) -> tuple[list[tuple[Variant, int]], list[Problem]]:
    text = _read_text(path)
    file = path.name
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        return [], [Problem(file, deepest_line(text), None, TOO_DEEP)]
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
                                    + did_you_mean(key, ["variant", "grid"])))
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
                                        f"unknown key '{k}': a variant has name and set" + did_you_mean(k, ["name", "set"])))
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
        variant = None if bad else _variant(name, pairs, problems, Problem(file, line0, label, ""))
        if variant is not None:
            variants.append((variant, line0))
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
    return flatten(dict(table), f"{prefix}." if prefix else "")


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
