"""A reason a scenario has no plan, in the planner's terms: :class:`Cause`, :class:`Explanation`, and the
names of the files, rows and columns they point at."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from optsupply.model.data import ModelData
from optsupply.scenario.core import Scenario
from optsupply.scenario.cells import FIRST_DATA_ROW
from optsupply.scenario.schema import SCENARIO_FILE, TABLE_BY_NAME, WORKBOOK_SETTINGS_SHEET

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cause:
    """One input that takes part in the conflict.

    Attributes
    ----------
    file : str
        ``products.csv``, ``scenario.toml``, ``scenario.xlsx[products]``, ...
    row : int or None
        Spreadsheet row of the key (header = row 1); for scenario.toml the line, if known.
    key : str or None
        The row's key (``P12``, ``W1``, ``W1/R2``); None for a setting.
    column : str or None
        The column, or for a setting its ``section.key``.
    message : str
        What conflicts, with the numbers.
    constraint : str
        The model row family (``inventory.storage``), for tools.
    periods : list of int
        Periods in which the row is violated (elastic) or takes part (IIS).
    excess : float or None
        How far the closest plan is over the limit (units of the column), at the worst period.
    iis : bool
        HiGHS's IIS of the LP relaxation contains this row too (confirmed).
    """

    file: str
    row: int | None
    key: str | None
    column: str | None
    message: str
    constraint: str = ""
    periods: tuple[int, ...] = ()
    excess: float | None = None
    iis: bool = False

    @property
    def is_setting(self) -> bool:
        return self.key is None and self.column is not None and "." in self.column

    def __str__(self) -> str:
        where = [self.file]
        if self.is_setting:
            if self.row is not None:
                where.append(f"line {self.row}")
            where.append(f"key {self.column}")
        else:
            if self.row is not None:
                where.append(f"row {self.row}" + (f" ({self.key})" if self.key else ""))
            elif self.key:
                where.append(f"({self.key})")
            if self.column:
                where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["periods"] = list(self.periods)
        out["text"] = str(self)
        return out


@dataclass
class Explanation:
    """What :func:`explain` found."""

    causes: list[Cause] = field(default_factory=list)
    involved: list[Cause] = field(default_factory=list)  # other inputs in HiGHS's IIS
    method: str = "none"  # "elastic", "iis" or "none"
    elastic: str = "not run"  # "relaxed" (some slack), "no slack" (a plan without relaxing anything), "failed"
    iis: str = "not run"  # "valid", "lp feasible" (integrality-only conflict), "invalid", "failed", "not run"
    seconds: float = 0.0

    @property
    def message(self) -> str:
        if not self.causes and self.elastic == "no slack":
            return ("the solver found no feasible plan, but the elastic relaxation found one without relaxing "
                    "anything: the conflict is in integer decisions (order set-ups, lane or activation "
                    "binaries) or numerical; try again with another seed or without presolve")
        if not self.causes:
            return ("no feasible plan exists, and the explanation found no single input to blame "
                    f"(IIS: {self.iis}); check must_launch, min_products, launch.max_per_period, "
                    "storage_capacity, finance.max_inventory_value, initial_stock.csv and pipeline.csv")
        text = "no feasible plan: " + "; ".join(str(c) for c in self.causes)
        if self.involved:
            text += ". Also involved: " + "; ".join(str(c) for c in self.involved)
        return text

    def kpis(self) -> dict[str, Any]:
        """The ``kpis.json`` entries of an infeasible plan."""
        return {"message": self.message, "causes": [c.as_dict() for c in self.causes],
                "involved": [c.as_dict() for c in self.involved], "explain_method": self.method,
                "elastic": self.elastic,
                "iis": self.iis, "explain_seconds": round(self.seconds, 3)}


class _Names:
    """Files, spreadsheet rows and keys of the scenario's inputs."""

    def __init__(self, sc: Scenario, d: ModelData):
        self.sc = sc
        self.d = d
        self._rows: dict[str, dict[tuple, int]] = {}
        self._lines: dict[str, int] | None = None

    def file(self, table: str) -> str:
        return self.sc.files.get(table, TABLE_BY_NAME[table].file)

    def row(self, table: str, *key: Any) -> int | None:
        index = self._rows.get(table)
        if index is None:
            df = getattr(self.sc, table)
            cols = list(TABLE_BY_NAME[table].key)
            index = {}
            for i, k in enumerate(df[cols].itertuples(index=False, name=None)):
                index.setdefault(tuple(_norm(x) for x in k), i + FIRST_DATA_ROW)
            self._rows[table] = index
        return index.get(tuple(_norm(x) for x in key))

    def first_row(self, table: str, *prefix: Any) -> int | None:
        """Row of the first key that starts with ``prefix`` (e.g. a product and region of launch_curve.csv)."""
        self.row(table, *prefix)  # builds the index
        want = tuple(_norm(x) for x in prefix)
        rows = [r for k, r in self._rows[table].items() if k[:len(want)] == want]
        return min(rows) if rows else None

    def cause(self, table: str, key: tuple, column: str, message: str, **kw: Any) -> Cause:
        return Cause(self.file(table), self.row(table, *key), "/".join(str(k) for k in key), column, message, **kw)

    @property
    def settings_file(self) -> str:
        label = self.file("products")
        if label.endswith("]") and "[" in label:  # a workbook: scenario.xlsx[products]
            return f"{label.split('[')[0]}[{WORKBOOK_SETTINGS_SHEET}]"
        return SCENARIO_FILE

    def setting_line(self, key: str) -> int | None:
        """Line of ``section.key`` in the scenario's scenario.toml, when it is a folder that has it."""
        if self._lines is None:
            self._lines = {}
            src = self.sc.source
            path = Path(src) / SCENARIO_FILE if src is not None else None
            if path is not None and path.is_file():
                try:
                    section = ""
                    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                        s = line.split("#")[0].strip()
                        if s.startswith("[") and s.endswith("]"):
                            section = s.strip("[] ")
                        elif "=" in s:
                            name = s.split("=")[0].strip()
                            self._lines.setdefault(f"{section}.{name}" if section else name, n)
                except (OSError, UnicodeDecodeError):
                    pass
        return self._lines.get(key)

    def setting(self, key: str, message: str, **kw: Any) -> Cause:
        line = self.setting_line(key) if self.settings_file == SCENARIO_FILE else None
        return Cause(self.settings_file, line, None, key, message, **kw)

    def product(self, p: str, what: str = "") -> str:
        """``P2 (products.csv row 3, window 1–2)``."""
        lo, hi = self.d.window.get(p, (0, self.d.H - 1))
        bits = [f"{self.file('products')} row {self.row('products', p)}"]
        if what:
            bits.append(what)
        bits.append(f"window {_span(lo, hi)}")
        return f"{p} ({', '.join(bits)})"


def _norm(x: Any) -> Any:
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return int(x)
    return str(x) if not isinstance(x, int) else x


def _with(c: Cause, **changes: Any) -> Cause:
    return Cause(**{**asdict(c), "periods": c.periods, **changes})


def _span(lo: int, hi: int) -> str:
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def _periods(ts: Iterable[int]) -> str:
    """``period 3`` / ``periods 1–3, 5``."""
    ts = sorted({int(t) for t in ts})
    if not ts:
        return ""
    runs, start, prev = [], ts[0], ts[0]
    for t in ts[1:] + [None]:
        if t is not None and t == prev + 1:
            prev = t
            continue
        runs.append(_span(start, prev))
        if t is not None:
            start = prev = t
    return ("period " if len(ts) == 1 else "periods ") + ", ".join(runs)


def _num(x: float) -> str:
    if abs(x - round(x)) < 1e-6:
        return f"{round(x):,}"
    return f"{x:,.2f}"
