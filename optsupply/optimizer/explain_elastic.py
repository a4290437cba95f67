"""The elastic relaxation of an infeasible model: the closest plan and the rows it has to break.

See :mod:`optsupply.optimizer.explain` for the method (every row family that
encodes a hard requirement or a capacity gets a weighted slack; the model
minimises the slacks).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Any

import pyomo.environ as pyo

from optsupply.model.data import ModelData
from optsupply.optimizer.highs import SolveOptions, solve_model
from optsupply.plan.core import OPTIMAL, TIME_LIMIT

logger = logging.getLogger(__name__)

from optsupply.optimizer.causes import Cause, _Names, _num, _periods, _span

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
SLACK_TOL = 1e-6


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
