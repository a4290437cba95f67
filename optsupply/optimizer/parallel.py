"""Neighbourhoods on many workers: disjoint product groups against fixed shares of the free capacity.

One machine runs the anytime search (:mod:`optsupply.optimizer.anytime`) on
one model. Beyond one machine, neighbourhoods that share no decision can run
at the same time on any :class:`concurrent.futures.Executor` (a process pool,
or ``dask.distributed.Client(...).get_executor()`` for a cluster). A round:

1. the products are cut into disjoint groups (:func:`product_groups`: same
   category and brand together); a batch of ``batch`` groups is sent out;
2. each shared capacity's free part (capacity − what the whole plan uses:
   storage, throughput, lanes, working capital, channel and total budgets,
   featured slots, launches per period) is split evenly over the batch: a
   group may use what it uses today plus its share, so the groups' new plans
   fit together whatever each does (whole shares for slots and launches);
3. each worker builds its group's model (the rest of the plan fixed, as in
   :mod:`optsupply.optimizer.decompose`), solves it from the group's current
   decisions (its MIP start) and returns the group's new rows;
4. all the batch's new rows replace the old ones together; the combined plan
   is kept when it passes the checker and earns more; otherwise each group's
   rows are tried alone, best first (each alone fits the capacities).

The result is never below the start and every plan kept has passed
:func:`optsupply.plan.check.check_plan`. A task that fails or whose worker
dies costs its group's turn only.

>>> from concurrent.futures import ProcessPoolExecutor
>>> with ProcessPoolExecutor(2) as ex:
...     plan = ops.solve("instances/medium", method="lns", executor=ex, time_limit=120)
"""

from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import Executor, Future, wait
from dataclasses import replace
from typing import Any, Callable

import pandas as pd

from optsupply.model import build_model, prepare
from optsupply.model.data import ModelData
from optsupply.model.extract import evaluate, extract_plan
from optsupply.model.slices import ProductSlices
from optsupply.optimizer.decompose import (_group_data, _replace, _residual_rows, _sorted, _start, _usage, _Usage,
                                           product_groups, start_plan)
from optsupply.optimizer.highs import SolveOptions, highs_version
from optsupply.optimizer.progress import Progress
from optsupply.plan.check import check_plan
from optsupply.plan.core import INTERRUPTED, TIME_LIMIT, Plan, empty_plan, profit_kpis
from optsupply.scenario.core import Scenario

logger = logging.getLogger(__name__)

__all__ = ["parallel_search", "plan_group", "shares"]

GROUP_SIZE = 4  # products per task
TASK_SECONDS = 20.0  # seconds per group MIP at most
TOL = 1e-9


def _capacity(d: ModelData) -> dict[str, Any]:
    return {"throughput": d.throughput, "storage": d.storage, "lane": d.lane_cap, "channel": d.channel_budget,
            "capital": d.max_inventory_value, "spend": d.total_budget, "slots": d.slots,
            "launches": d.max_per_period}


def shares(d: ModelData, plan: Plan, group: list[str], batch: int) -> _Usage:
    """What the other products "use" of each shared capacity when ``group`` is one of ``batch`` groups
    solved at once: their real use plus the free part the other groups of the batch may take.

    ``capacity − shares`` is then what the group uses today plus ``1/batch`` of what is free (rounded
    down for featured slots and launches), so the batch's new plans fit together. Onboarding counts
    as done where the other products really launched.
    """
    every = _usage(plan, d)
    mine = _usage(plan, d, keep=pd.Series([p for p in d.products if p not in set(group)]))
    cap, k = _capacity(d), max(1, int(batch))

    def pretend(name: str, key: Any, capacity: float, integer: bool = False) -> float:
        free = max(0.0, capacity - _get(every, name, key))
        share = math.floor(free / k) if integer else free / k
        return max(0.0, capacity - _get(mine, name, key) - share)

    out = _Usage(launched_in=_usage(plan, d, keep=pd.Series(group)).launched_in)
    for w in d.warehouses:
        for t in d.periods:
            if math.isfinite(cap["throughput"][w]):
                out.throughput[w, t] = pretend("throughput", (w, t), cap["throughput"][w])
            if math.isfinite(cap["storage"][w]):
                out.storage[w, t] = pretend("storage", (w, t), cap["storage"][w])
    for (w, r), c in cap["lane"].items():
        if math.isfinite(c):
            for t in d.periods:
                out.lane[w, r, t] = pretend("lane", (w, r, t), c)
    if cap["capital"] is not None:
        out.capital = {t: pretend("capital", t, cap["capital"]) for t in d.periods}
    for c, budget in cap["channel"].items():
        if math.isfinite(budget):
            for t in d.periods:
                out.channel[c, t] = pretend("channel", (c, t), budget)
    if cap["spend"] is not None:
        out.spend = pretend("spend", None, cap["spend"])
    out.slots = {t: pretend("slots", t, cap["slots"].get(t, 0), integer=True) for t in d.periods}
    if cap["launches"] is not None:
        out.launches = {t: pretend("launches", t, cap["launches"], integer=True) for t in d.periods}
    return out


def _get(u: _Usage, name: str, key: Any) -> float:
    if name == "spend":
        return float(u.spend)
    return float(getattr(u, name).get(key, 0.0))


def plan_group(sc: Scenario, plan: Plan, group: list[str], others: _Usage, seconds: float,
               opts: SolveOptions) -> Plan | None:
    """The group's new rows: its model with the rest of ``plan`` fixed (``others`` its use of the shared
    capacities, :func:`shares`), solved from the group's current decisions; None when HiGHS found
    nothing. Runs anywhere: everything it needs is in its arguments (picklable).

    A lane's fixed cost counts as paid only where the other products really ship on it.
    """
    from optsupply.optimizer.highs.arrays import CompiledModel

    d, slices = _prepared(sc)
    data = _group_data(slices, group, others)
    m, _ = build_model(sc, data)
    _residual_rows(m, data, d, others)
    paid = set(_usage(plan, d, keep=pd.Series(group)).lane)
    for key, used in m.transport.used.items():
        if used.fixed and key not in paid:  # a share of a lane nobody else uses: the group pays for it
            used.unfix()
    start = _start(m, data, plan, set(group))
    run = CompiledModel(m, replace(opts, threads=1, log=None)).run(seconds, start)
    if not run.ok:
        return None
    return extract_plan(m, data, sc)[0]


_PREPARED: list = []  # (scenario, data, slices) of the last scenario a task of this process prepared
_LOCK = threading.Lock()


def _prepared(sc: Scenario) -> tuple[ModelData, ProductSlices]:
    """``prepare(sc)`` and its product slices, once per scenario object in this process (the tasks of one
    search on threads share the scenario object; a remote worker prepares its copy once per task)."""
    with _LOCK:
        if _PREPARED and _PREPARED[0][0] is sc:
            return _PREPARED[0][1], _PREPARED[0][2]
        d = prepare(sc)
        _PREPARED[:] = [(sc, d, ProductSlices(d))]
        return d, _PREPARED[0][2]


def parallel_search(sc: Scenario, opts: SolveOptions, executor: Executor, *, start: Plan | None = None,
                    batch: int = 2, group_size: int = GROUP_SIZE, task_seconds: float = TASK_SECONDS,
                    on_plan: Callable[[Plan], None] | None = None,
                    progress: Callable[[dict], None] | None = None) -> Plan:
    """Rounds of disjoint group MIPs on ``executor`` (module docstring) until the time limit."""
    t0 = time.perf_counter()
    limit = float(opts.time_limit) if opts.time_limit is not None else 300.0
    deadline = t0 + limit
    report = Progress(opts.log, progress, t0)
    plan, name = start_plan(sc, start)
    if plan is None:
        return empty_plan("error", sc.name, message=f"no start plan: {name}", method="lns")
    d = prepare(sc)
    profit = start_profit = evaluate(plan, d, sc)["profit"]
    report("start", profit, None, force=True)
    groups = product_groups(d, group_size)
    tasks = rounds = kept = 0
    interrupted = False
    overhead = 1.0  # seconds a batch takes beyond its solver limit (group builds, merging, checking): measured
    try:
        while time.perf_counter() < deadline - overhead:
            rounds += 1
            changed = False
            for i in range(0, len(groups), batch):
                left = deadline - time.perf_counter() - overhead
                if left < 1.0:  # a batch started now would end after the time limit
                    break
                part = groups[i:i + batch]
                seconds = min(task_seconds, left)
                b0 = time.perf_counter()
                futures: list[tuple[list[str], Future]] = [
                    (g, executor.submit(plan_group, sc, plan, g, shares(d, plan, g, len(part)), seconds, opts))
                    for g in part]
                wait([f for _, f in futures])
                tasks += len(futures)
                new, gained = _merge(sc, d, plan, profit, futures)
                if new is not None:
                    plan, profit, changed = new, gained, True
                    kept += 1
                    if on_plan is not None:
                        on_plan(_finished(sc, d, plan, TIME_LIMIT, "the best plan so far; the search goes on"))
                report("parallel", profit, None)
                overhead = max(overhead, time.perf_counter() - b0 - seconds)
            if not changed:
                break
    except KeyboardInterrupt:
        interrupted = True
    out = _finished(sc, d, plan, INTERRUPTED if interrupted else TIME_LIMIT,
                    f"{rounds} round(s) of {tasks} group MIPs on {type(executor).__name__}")
    out.kpis.update({"start": name, "start_profit": start_profit, "tasks": tasks, "rounds": rounds,
                     "batches_kept": kept, "executor": type(executor).__name__, "batch": batch,
                     "solve_seconds": round(time.perf_counter() - t0, 3)})
    report("done", out.kpis["profit"], None, force=True)
    return out


def _merge(sc: Scenario, d: ModelData, plan: Plan, profit: float,
           futures: list[tuple[list[str], Future]]) -> tuple[Plan | None, float]:
    """The batch's rows together when that passes the checker and earns more, else the best group alone."""
    parts = []
    for group, f in futures:
        try:
            part = f.result()
        except Exception as exc:  # noqa: BLE001 - a failed task (or a dead worker) costs its group's turn only
            logger.warning("a group's task failed (%s); its products keep their plan", exc)
            continue
        if part is not None:
            parts.append((group, part))
    if not parts:
        return None, profit
    combined = plan
    for group, part in parts:
        combined = _replace(combined, part, set(group), d)
    candidates = [combined] + [_replace(plan, part, set(group), d) for group, part in parts]
    best, best_profit = None, profit
    for cand in candidates:
        ev = evaluate(cand, d, sc)
        p = ev["profit"]
        if p > best_profit + TOL * max(1.0, abs(best_profit)):
            cand.kpis = {"status": TIME_LIMIT, **profit_kpis(ev, None), "method": "lns"}
            if not check_plan(sc, cand):
                best, best_profit = cand, p
                if cand is combined:
                    break
    return best, best_profit


def _finished(sc: Scenario, d: ModelData, plan: Plan, status: str, message: str) -> Plan:
    out = _sorted(plan.with_kpis({}))
    out.kpis = {"status": status, **profit_kpis(evaluate(out, d, sc), None), "method": "lns",
                "solver": "HiGHS " + highs_version(), "scenario": sc.name, "message": message}
    return out
