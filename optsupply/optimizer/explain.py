"""Why no plan: the inputs that make a scenario infeasible, in the planner's terms.

When HiGHS proves that a scenario has no feasible plan, :func:`explain` finds
out why and names the conflicting inputs by file, row, key and column::

    warehouses.csv, row 2 (W1), column storage_capacity: storage_capacity of W1 is 40, but ...

Two tools, on the same Pyomo model the solve used:

1. **Elastic relaxation.** Every row family that encodes a hard requirement
   or a capacity that fixed inputs can violate gets a non-negative slack
   variable named after the row it relaxes, and the model minimises the
   weighted sum of the slacks instead of maximising profit (launches get a
   tiny cost so that the closest plan launches only what it must)::

       Σ_τ y[p,τ] + s = 1                    launch_once, must_launch products (relaxed: "cannot launch")
       Σ_p y[p,t] − s ≤ max_per_period       per_period
       Σ y + s ≥ min_products·intro          min_products
       Σ vol·stock − s ≤ storage_capacity    storage
       Σ unit_cost·stock − s ≤ max_inventory_value   working_capital

   These are the only rows the rest of the model can be pushed against:
   launches are forced only by must_launch (and, through the "introduced"
   binary, by min_products), and stock only by initial stock and pipeline
   receipts, which have to be held (storage, working capital) until they can
   be shipped. Weights (:data:`ELASTIC`) make the explanation prefer a
   shortfall of a minimum assortment over a larger launch cap, and both over
   dropping a must-launch product; storage and working capital slacks are
   relative to their capacity. Every row with a positive slack becomes a
   :class:`Cause`, with the numbers of the closest plan (what would have to
   be held, launched, ...).
2. **HiGHS IIS.** When the LP relaxation (integrality dropped) is itself
   infeasible, HiGHS's ``getIis`` (``iis_strategy`` 6: elastic LP, reduced to
   a true IIS; ENGINEERING.md §4.2) returns an irreducible set of rows and
   variable bounds. They are translated to the same planner terms: causes
   whose row is in the IIS are marked ``iis=True`` (confirmed), and the other
   inputs in it (pipeline receipts, throughput and lane capacities, demand
   limits, ...) are listed as ``involved``. If the elastic model finds
   nothing, the IIS alone explains.

Infeasibilities that need no solve (a must-launch product without supply,
a minimum assortment larger than the category, must-launch products that do
not fit under the launch cap, receipts that cannot fit in storage or under
the working-capital cap) are errors of ``optsupply validate`` already
(:func:`optsupply.scenario.checks.check_feasibility`), so a scenario that loads
reaches this module only with the conflicts a solve can reveal.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pyomo.environ as pyo

from optsupply.model import build_model, prepare
from optsupply.model.data import ModelData
from optsupply.scenario.core import Scenario
from optsupply.scenario.schema import SCENARIO_FILE, TABLE_BY_NAME, WORKBOOK_SETTINGS_SHEET
from optsupply.optimizer.highs import SolveOptions, solve_model
from optsupply.optimizer.highs.iis import lp_iis
from optsupply.plan.core import OPTIMAL, TIME_LIMIT

logger = logging.getLogger(__name__)

FIRST_DATA_ROW = 2  # the header is spreadsheet row 1 (as in optsupply.scenario.io)

#: family -> (weight per unit of slack, relative to the row's bound?)
ELASTIC: dict[str, tuple[float, bool]] = {
    "launch.min_products": (1.0, False),
    "launch.per_period": (1.2, False),
    "launch.launch_once": (3.0, False),
    "inventory.storage": (1.0, True),
    "inventory.working_capital": (1.0, True),
}
LAUNCH_TIE_BREAK = 1e-4  # cost of a launch in the elastic model: the closest plan launches only what it must
ELASTIC_TIME_LIMIT = 60.0  # seconds, at most, for the elastic MIP
IIS_TIME_LIMIT = 30.0  # seconds, at most, for HiGHS's IIS
SLACK_TOL = 1e-6


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


# --------------------------------------------------------------------------- entry points


def explain(scenario: Scenario, *, model: pyo.ConcreteModel | None = None, data: ModelData | None = None,
            options: SolveOptions | None = None) -> Explanation:
    """Why ``scenario`` has no feasible plan.

    ``model`` and ``data`` may be the (unsolvable) model of the solve; the model
    is modified (slacks added, objective replaced), so do not use it afterwards.
    Never raises for a scenario that loads: what cannot be explained is said so
    in the message.
    """
    t0 = time.perf_counter()
    opts = options or SolveOptions.from_scenario(scenario.settings)
    if data is None:
        data = prepare(scenario)
    if model is None:
        model, data = build_model(scenario, data)
    names = _Names(scenario, data)
    out = Explanation()
    iis_rows: list[Any] = []
    iis_cols: list[tuple[Any, int]] = []
    try:
        out.iis, iis_rows, iis_cols = lp_iis(model, opts, IIS_TIME_LIMIT)
    except Exception as exc:  # noqa: BLE001 - the IIS is a help, never a reason to fail
        logger.info("HiGHS IIS failed: %s", exc)
        out.iis = "failed"
    try:
        found = _elastic(model, data, names, opts)
        out.elastic = "failed" if found is None else "relaxed" if found else "no slack"
        out.causes = found or []
        out.method = "elastic" if out.causes else "none"
    except Exception as exc:  # noqa: BLE001
        logger.info("elastic relaxation failed: %s", exc)
        out.elastic = "failed"
    involved = _translate_iis(iis_rows, iis_cols, data, names)
    if out.causes:
        in_iis = {(c.constraint, c.key) for c in involved}
        out.causes = [_with(c, iis=(c.constraint, c.key) in in_iis) for c in out.causes]
        mine = {(c.file, c.row, c.column) for c in out.causes}
        out.involved = [c for c in involved if (c.file, c.row, c.column) not in mine]
    elif involved:
        out.causes, out.method = involved, "iis"
    out.seconds = time.perf_counter() - t0
    return out


def explain_into(plan: Any, scenario: Scenario, *, model: pyo.ConcreteModel | None = None,
                 data: ModelData | None = None, options: SolveOptions | None = None) -> None:
    """Put the explanation of an infeasible ``plan`` into its kpis (``causes``, ``message``, ...)."""
    try:
        found = explain(scenario, model=model, data=data, options=options)
    except Exception as exc:  # noqa: BLE001 - a failed explanation must not hide the status
        logger.warning("could not explain why there is no plan: %s", exc)
        plan.kpis.setdefault("causes", [])
        plan.kpis["message"] = f"no feasible plan (the explanation failed: {type(exc).__name__}: {exc})"
        return
    plan.kpis.update(found.kpis())


# --------------------------------------------------------------------------- names


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


# --------------------------------------------------------------------------- elastic relaxation


def _elastic(m: pyo.ConcreteModel, d: ModelData, names: _Names, opts: SolveOptions) -> list[Cause] | None:
    """Causes from the elastic model; [] when it needs no slack, None when it has no solution either."""
    rows = _add_slacks(m)
    if not rows:
        return None
    limit = min(float(opts.time_limit or ELASTIC_TIME_LIMIT), ELASTIC_TIME_LIMIT)
    run = solve_model(m, SolveOptions(time_limit=limit, mip_gap=1e-6, threads=opts.threads, seed=opts.seed,
                                      presolve=opts.presolve, highs_options=dict(opts.highs_options)))
    if run.status not in (OPTIMAL, TIME_LIMIT) or not run.has_solution:
        logger.info("the elastic relaxation found no solution either (%s)", run.status)
        return None
    slack = m.elastic.s
    relaxed: dict[str, dict[Any, float]] = defaultdict(dict)
    for i, (fam, idx, _con, scale) in enumerate(rows):
        v = pyo.value(slack[i], exception=False) or 0.0
        if v > SLACK_TOL * max(1.0, scale):
            relaxed[fam][idx] = float(v)
    plan = _Closest(m, d)
    causes: list[Cause] = []
    for (kind, g), v in sorted(relaxed.get("launch.min_products", {}).items()):
        causes.append(_min_products_cause(kind, g, v, plan, d, names))
    if relaxed.get("launch.per_period"):
        causes.extend(_per_period_causes(relaxed["launch.per_period"], plan, d, names))
    for p, v in sorted(relaxed.get("launch.launch_once", {}).items()):
        causes.append(_must_launch_cause(p, v, plan, d, names))
    by_w: dict[str, dict[int, float]] = defaultdict(dict)
    for (w, t), v in relaxed.get("inventory.storage", {}).items():
        by_w[w][t] = v
    for w in sorted(by_w):
        causes.append(_storage_cause(w, by_w[w], plan, d, names))
    if relaxed.get("inventory.working_capital"):
        causes.append(_working_capital_cause(relaxed["inventory.working_capital"], plan, d, names))
    return causes


def _add_slacks(m: pyo.ConcreteModel) -> list[tuple[str, Any, Any, float]]:
    """Slack every row of the :data:`ELASTIC` families; minimise their weighted sum. Returns the rows."""
    rows: list[tuple[str, Any, Any, float]] = []
    for fam in ELASTIC:
        block, name = fam.split(".")
        con = getattr(getattr(m, block, None), name, None)
        if con is None:
            continue
        for idx, c in con.items():
            if not c.active:
                continue
            if fam == "launch.launch_once" and not c.equality:
                continue  # only must_launch rows force anything
            bound = c.upper if c.upper is not None else c.lower
            rows.append((fam, idx, c, abs(float(pyo.value(bound)))))
    if not rows:
        return rows
    b = m.elastic = pyo.Block()
    b.s = pyo.Var(range(len(rows)), domain=pyo.NonNegativeReals)
    b.rows = pyo.ConstraintList()
    cost = 0.0
    for i, (fam, _idx, c, scale) in enumerate(rows):
        s = b.s[i]
        up = None if c.upper is None else float(pyo.value(c.upper))
        lo = None if c.lower is None else float(pyo.value(c.lower))
        if c.equality:  # Σ_τ y = 1 → Σ_τ y + s = 1: "cannot launch", never "launches twice"
            b.rows.add(c.body + s == up)
        elif up is not None:
            b.rows.add(c.body - s <= up)
        else:
            b.rows.add(c.body + s >= lo)
        c.deactivate()
        weight, relative = ELASTIC[fam]
        cost = cost + (weight / max(1.0, scale) if relative else weight) * s
    launches = sum(m.launch.y[k] for k in m.launch.y) if len(m.launch.y) else 0.0
    for obj in m.component_data_objects(pyo.Objective, active=True):
        obj.deactivate()
    b.obj = pyo.Objective(expr=cost + LAUNCH_TIE_BREAK * launches, sense=pyo.minimize)
    return rows


class _Closest:
    """The elastic model's solution: the plan closest to feasible."""

    def __init__(self, m: pyo.ConcreteModel, d: ModelData):
        self.launch = {p: t for (p, t), v in _vals(m.launch.y).items() if v > 0.5}
        self.intro = {k for k, v in _vals(m.launch.intro).items() if v > 0.5}
        self.stock = {k: v for k, v in _vals(m.inventory.stock).items() if v > 1e-9}
        self.ship = {k: v for k, v in _vals(m.transport.ship).items() if v > 1e-9}
        self.d = d

    def shipped(self, w: str, until: int, since: int = 0) -> float:
        """Volume shipped out of ``w`` in periods ``since`` … ``until``."""
        d = self.d
        return sum(v * d.volume[p] for (p, ww, _r, t), v in self.ship.items() if ww == w and since <= t <= until)

    def forced_by(self, p: str) -> str:
        """Why the closest plan launches ``p``: must_launch, or a group's minimum assortment."""
        d = self.d
        if d.must_launch.get(p):
            return "must_launch"
        for kind in ("category", "brand"):
            g = d.category[p] if kind == "category" else d.brand[p]
            if (kind, g) in self.intro and d.group_min.get((kind, g), 0) > 0:
                return f"{kind} {g} min_products {d.group_min[kind, g]}"
        return ""


def _vals(var: pyo.Var) -> dict[Any, float]:
    return {k: float(v.value) for k, v in var.items() if v.value is not None}


def _min_products_cause(kind: str, g: str, short: float, plan: _Closest, d: ModelData, names: _Names) -> Cause:
    table = "categories" if kind == "category" else "brands"
    need = d.group_min[kind, g]
    members = d.group_members[kind, g]
    can = max(0, need - int(round(short)))
    forced = [p for p in members if d.must_launch[p]]
    why = (f"{', '.join(names.product(p, 'must_launch') for p in forced)} must launch, so {g} launches; "
           if forced else f"{g} launches; ")
    windows = ", ".join(f"{p} {_span(*d.window[p])}" for p in members)
    cap = d.max_per_period
    if cap is not None:
        others = sorted(p for p, _t in plan.launch.items() if p not in members and plan.forced_by(p))
        reason = (f"their launch windows ({windows}) and launch.max_per_period = {cap} leave room for only {can}"
                  + (f" next to the other launches that must happen ({', '.join(others)})" if others else ""))
    else:
        reason = f"the launch windows ({windows}) allow only {can}"
    launched = sorted((t, p) for p, t in plan.launch.items() if p in members)
    closest = (f" (the closest plan launches {', '.join(f'{p} in period {t}' for t, p in launched)})"
               if launched else "")
    msg = (f"min_products of {kind} {g} is {need}: {why}but only {can} of its {len(members)} new products can "
           f"launch: {reason}{closest}")
    return names.cause(table, (g,), "min_products", msg, constraint="launch.min_products", excess=float(short))


def _per_period_causes(over: dict[int, float], plan: _Closest, d: ModelData, names: _Names) -> list[Cause]:
    cap = int(d.max_per_period or 0)
    forced = {p: t for p, t in plan.launch.items() if plan.forced_by(p)}
    causes, done = [], set()
    for t in sorted(over):
        if t in done:
            continue
        # the interval around t whose launches (windows inside it) exceed the cap the most (Hall's condition)
        best = None
        for a in range(t + 1):
            for b in range(t, d.H):
                inside = [p for p in forced if a <= d.window[p][0] and d.window[p][1] <= b]
                excess = len(inside) - cap * (b - a + 1)
                if excess > 0 and (best is None or (excess, -(b - a)) > (best[0], -(best[2] - best[1]))):
                    best = (excess, a, b, inside)
        if best is None:
            at = sorted(p for p, tt in plan.launch.items() if tt == t)
            listed = ", ".join(names.product(p, plan.forced_by(p)) for p in at)
            msg = (f"launch.max_per_period is {cap}, but period {t} needs {cap + int(round(over[t]))} launches: "
                   f"{listed}")
            periods = (t,)
        else:
            excess, a, b, inside = best
            listed = ", ".join(names.product(p, plan.forced_by(p)) for p in sorted(inside, key=lambda p: (d.window[p], p)))
            msg = (f"launch.max_per_period is {cap}: {_periods(range(a, b + 1))} allow {cap * (b - a + 1)} "
                   f"launch{'es' * (cap * (b - a + 1) != 1)}, but {len(inside)} products can only launch in them: {listed}")
            periods = tuple(range(a, b + 1))
        done.update(periods)
        causes.append(names.setting("launch.max_per_period", msg, constraint="launch.per_period",
                                    periods=periods, excess=float(sum(v for tt, v in over.items() if tt in periods))))
    return causes


def _must_launch_cause(p: str, short: float, plan: _Closest, d: ModelData, names: _Names) -> Cause:
    lo, hi = d.window[p]
    msg = (f"{p} must launch (must_launch = true) in {_periods(range(lo, hi + 1))}, but no plan can launch it "
           "together with the other requirements")
    if d.max_per_period is not None:
        taken = sorted(f"{q} in period {t}" for q, t in plan.launch.items() if lo <= t <= hi)
        if taken:
            msg += f": launch.max_per_period = {d.max_per_period} is used by {', '.join(taken)}"
    return names.cause("products", (p,), "must_launch", msg, constraint="launch.launch_once", excess=float(short))


def _receipt_rows(d: ModelData, names: _Names, w: str | None, until: int, weight: dict[str, float],
                  limit: int = 4) -> tuple[float, str, str]:
    """Initial stock and pipeline receipts into ``w`` (None: every warehouse) up to ``until``.

    Returns their total (times ``weight``), a listing of the largest rows and the files they are in.
    """
    items, files = [], []
    for (p, ww), u in d.initial.items():
        if w in (None, ww):
            items.append((u * weight[p], f"{names.file('initial_stock')} row {names.row('initial_stock', p, ww)}: "
                                         f"{_num(u)} units of {p} in {ww} at the start"))
            files.append(names.file("initial_stock"))
    for (p, ww, t), u in d.pipeline.items():
        if w in (None, ww) and t <= until:
            items.append((u * weight[p], f"{names.file('pipeline')} row {names.row('pipeline', p, ww, t)}: "
                                         f"{_num(u)} units of {p} into {ww} in period {t}"))
            files.append(names.file("pipeline"))
    items.sort(key=lambda x: -x[0])
    total = sum(x[0] for x in items)
    shown = "; ".join(x[1] for x in items[:limit])
    if len(items) > limit:
        shown += f"; and {len(items) - limit} more rows"
    files = list(dict.fromkeys(files))
    return total, shown, (" and ".join(files) + (" bring" if len(files) > 1 else " brings")) if files else "receipts bring"


def _storage_cause(w: str, over: dict[int, float], plan: _Closest, d: ModelData, names: _Names) -> Cause:
    t = max(over, key=lambda k: (over[k], -k))
    cap = d.storage[w]
    held = cap + over[t]
    inflow, rows, files = _receipt_rows(d, names, w, t, d.volume)
    first = min([0] if any(ww == w for _p, ww in d.initial) else
                [tt for (_p, ww, tt) in d.pipeline if ww == w] or [t])
    out = plan.shipped(w, t, since=first)
    thr = d.throughput[w]
    limits = (f"its lanes, demand and throughput_capacity {_num(thr)} per period" if math.isfinite(thr)
              else "its lanes and demand")
    msg = (f"storage_capacity of {w} is {_num(cap)}, but at least {_num(held)} (volume) must be held there at the "
           f"end of period {t}, {_num(over[t])} over: {files} {_num(inflow)} into {w} by then ({rows}), and "
           f"the plan closest to feasible ships only {_num(out)} of it out in {_periods(range(first, t + 1))} "
           f"(what {limits} allow)")
    if len(over) > 1:
        msg += f"; over capacity in {_periods(over)}"
    return names.cause("warehouses", (w,), "storage_capacity", msg, constraint="inventory.storage",
                       periods=tuple(sorted(over)), excess=float(over[t]))


def _working_capital_cause(over: dict[int, float], plan: _Closest, d: ModelData, names: _Names) -> Cause:
    t = max(over, key=lambda k: (over[k], -k))
    cap = float(d.max_inventory_value or 0.0)
    value = cap + over[t]
    held = sorted(((d.unit_cost[p] * v, p, w, v) for (p, w, tt), v in plan.stock.items() if tt == t and d.unit_cost[p] > 0),
                  reverse=True)
    listed = ", ".join(f"{_num(v)} units of {p} in {w} at unit_cost {_num(d.unit_cost[p])}" for _, p, w, v in held[:4])
    inflow, rows, files = _receipt_rows(d, names, None, t, d.unit_cost)
    msg = (f"finance.max_inventory_value is {_num(cap)}, but the stock on hand at the end of period {t} is worth at "
           f"least {_num(value)}, {_num(over[t])} over ({listed}): {files} stock worth {_num(inflow)} by "
           f"then ({rows}) that cannot all be sold by then")
    if len(over) > 1:
        msg += f"; over the cap in {_periods(over)}"
    return names.setting("finance.max_inventory_value", msg, constraint="inventory.working_capital",
                         periods=tuple(sorted(over)), excess=float(over[t]))


# --------------------------------------------------------------------------- the IIS as planner inputs


def _translate_iis(rows: list[Any], cols: list[tuple[Any, int]], d: ModelData, names: _Names) -> list[Cause]:
    """IIS rows and bounds as planner inputs, merged by (file, row, column) over periods."""
    found: dict[tuple, tuple[Cause, set[int]]] = {}

    def add(c: Cause | None, period: int | None = None) -> None:
        if c is None:
            return
        k = (c.file, c.row, c.key, c.column)
        if k not in found:
            found[k] = (c, set())
        if period is not None:
            found[k][1].add(int(period))

    for con in rows:
        fam, idx = con.parent_component().name, con.index()
        for c, t in _iis_row(fam, idx, d, names):
            add(c, t)
    for var, _bound in cols:
        fam, idx = var.parent_component().name, var.index()
        for c, t in _iis_col(fam, idx, d, names):
            add(c, t)
    out = []
    for c, ts in found.values():
        msg = c.message + (f" ({_periods(ts)})" if ts else "")
        out.append(_with(c, message=msg, periods=tuple(sorted(ts)), iis=True))
    return out


def _iis_row(fam: str, idx: Any, d: ModelData, names: _Names) -> list[tuple[Cause, int | None]]:
    if fam == "launch.launch_once":
        p = idx
        lo, hi = d.window[p]
        if d.must_launch[p]:
            return [(names.cause("products", (p,), "must_launch", f"{p} must launch, in {_periods(range(lo, hi + 1))}",
                                 constraint=fam), None)]
        return [(names.cause("products", (p,), "launch_latest", f"{p} launches at most once, in "
                             f"{_periods(range(lo, hi + 1))}", constraint=fam), None)]
    if fam == "launch.per_period":
        return [(names.setting("launch.max_per_period", f"at most {d.max_per_period} "
                               f"launch{'es' * (d.max_per_period != 1)} per period",
                               constraint=fam), idx)]
    if fam == "launch.min_products":
        kind, g = idx
        table = "categories" if kind == "category" else "brands"
        return [(names.cause(table, (g,), "min_products", f"once any product of {kind} {g} launches, at least "
                             f"{d.group_min[kind, g]} of its new products launch", constraint=fam), None)]
    if fam == "launch.intro_link":
        kind, g, p = idx
        return [(names.cause("products", (p,), kind, f"{p} belongs to {kind} {g}", constraint=fam), None)]
    if fam == "inventory.balance":
        p, w, t = idx
        out = []
        if (p, w, t) in d.pipeline:
            out.append((names.cause("pipeline", (p, w, t), "units", f"{_num(d.pipeline[p, w, t])} units of {p} "
                                    f"arrive in {w} in period {t}", constraint=fam), None))
        if t == 0 and (p, w) in d.initial:
            out.append((names.cause("initial_stock", (p, w), "units", f"{_num(d.initial[p, w])} units of {p} are in "
                                    f"{w} at the start", constraint=fam), None))
        return out
    if fam == "inventory.storage":
        w, t = idx
        return [(names.cause("warehouses", (w,), "storage_capacity", f"{w} holds at most {_num(d.storage[w])} "
                             "(volume) at the end of a period", constraint=fam), t)]
    if fam == "inventory.working_capital":
        return [(names.setting("finance.max_inventory_value", f"stock may be worth at most "
                               f"{_num(d.max_inventory_value or 0)} at the end of a period", constraint=fam), idx)]
    if fam == "transport.throughput":
        w, t = idx
        return [(names.cause("warehouses", (w,), "throughput_capacity", f"at most {_num(d.throughput[w])} (volume) "
                             f"leaves {w} per period", constraint=fam), t)]
    if fam == "transport.lane_capacity":
        w, r, t = idx
        return [(names.cause("lanes", (w, r), "capacity", f"lane {w} → {r} carries at most "
                             f"{_num(d.lane_cap[w, r])} (volume) per period", constraint=fam), t)]
    if fam == "demand.demand_cap":
        p, r, t = idx
        return [(_demand_cause(p, r, t, d, names, fam), t)]
    return []  # stock flows, launch bookkeeping and set-up rows are not inputs


def _demand_cause(p: str, r: str, t: int, d: ModelData, names: _Names, fam: str) -> Cause:
    if p in d.window:
        return Cause(names.file("launch_curve"), names.first_row("launch_curve", p, r), f"{p}/{r}", "demand",
                     f"{p} sells at most its launch-curve demand in {r} (plus ad and featured uplift)", constraint=fam)
    return names.cause("demand", (p, r, t), "demand", f"{p} sells at most its demand in {r} (plus ad and featured "
                       "uplift)", constraint=fam)


def _iis_col(fam: str, idx: Any, d: ModelData, names: _Names) -> list[tuple[Cause, int | None]]:
    if fam == "transport.ship":
        p, w, r, t = idx
        bound = d.ship_bound.get(idx, math.inf)
        vol = d.volume[p]
        if vol > 0 and math.isfinite(d.lane_cap[w, r]) and d.lane_cap[w, r] / vol <= bound + 1e-9:
            return [(names.cause("lanes", (w, r), "capacity", f"lane {w} → {r} carries at most "
                                 f"{_num(d.lane_cap[w, r])} (volume) per period", constraint="transport.lane_capacity"), t)]
        if vol > 0 and math.isfinite(d.throughput[w]) and d.throughput[w] / vol <= bound + 1e-9:
            return [(names.cause("warehouses", (w,), "throughput_capacity", f"at most {_num(d.throughput[w])} (volume) "
                                 f"leaves {w} per period", constraint="transport.throughput"), t)]
        return [(_demand_cause(p, r, t, d, names, "demand.demand_cap"), t)]
    if fam == "inventory.order":
        p, w, t = idx
        if math.isfinite(d.max_order[p, w]):
            return [(names.cause("supply", (p, w), "max_order", f"orders of {p} into {w} are at most "
                                 f"{_num(d.max_order[p, w])} units", constraint="inventory.order"), t)]
    return []


__all__ = ["ELASTIC", "Cause", "Explanation", "explain", "explain_into"]
