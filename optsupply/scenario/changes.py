"""What-if changes written as text: ``TABLE.COLUMN[KEY]=VALUE`` expressions and named variants.

:func:`parse_set` reads one ``--set`` expression into a change of
:meth:`~optsupply.scenario.Scenario.with_changes`, :func:`merge_changes`
combines several, :func:`format_changes` writes them back as text, and a
:class:`Variant` is a named set of changes (one row of a sweep).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from optsupply.errors import UsageError
from optsupply.scenario.cells import did_you_mean
from optsupply.scenario.write import fmt_float
from optsupply.scenario.schema import SETTING_BY_KEY, TABLE_BY_NAME, TABLES

__all__ = ["Variant", "parse_set", "merge_changes", "format_changes", "default_name", "FORM", "VALUE_FORM"]

FORM = ("TABLE.COLUMN[KEY]=VALUE, TABLE.COLUMN=VALUE (every row) or section.key=VALUE (a setting), "
        "e.g. products.price[P1]=*0.9, supply.lead_time[P1/W2]=+1, advertising.total_budget=5000")
VALUE_FORM = "a number, *FACTOR, +DELTA, -DELTA or inf"




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
        raise _Bad(f"'{key}' is neither a table column nor a setting" + did_you_mean(key, options))
    spec = TABLE_BY_NAME[first]
    if second is None:
        raise _Bad(f"'{first}' is a table; name its column: {first}.COLUMN=VALUE or {first}.COLUMN[KEY]=VALUE")
    if second not in spec.column_names:
        raise _Bad(f"table {first} has no column '{second}'" + did_you_mean(second, spec.column_names))
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
        return f"{op}{fmt_float(x, whole_below=1e15)}"
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


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return fmt_float(v, whole_below=1e15)
    return str(v)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or _fmt_value(a) == _fmt_value(b)
