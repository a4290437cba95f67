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
   be shipped. Weights (:data:`optsupply.optimizer.explain_elastic.ELASTIC`) make the explanation prefer a
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
(:func:`optsupply.scenario.feasibility_checks.check_feasibility`), so a scenario that loads
reaches this module only with the conflicts a solve can reveal.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import pyomo.environ as pyo

from optsupply.model import build_model, prepare
from optsupply.model.data import ModelData
from optsupply.scenario.core import Scenario
from optsupply.optimizer.highs import SolveOptions
from optsupply.optimizer.causes import Cause, Explanation, _Names, _num, _periods, _with
from optsupply.optimizer.explain_elastic import _elastic
from optsupply.optimizer.highs.iis import lp_iis

logger = logging.getLogger(__name__)

IIS_TIME_LIMIT = 30.0  # seconds, at most, for HiGHS's IIS
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


__all__ = ["Cause", "Explanation", "explain", "explain_into"]
