"""One call from a scenario to a plan: prepare, build, solve, extract, clean.

>>> import optsupply as ops
>>> plan = ops.solve(ops.Scenario.load("instances/tiny"), time_limit=60)
>>> plan.kpis["profit"], plan.launches
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any

from optsupply.errors import TimeLimitSpent, UsageError
from optsupply.model import build_model, prepare
from optsupply.plan import Plan, empty_plan, extract_plan, mip_gap
from optsupply.scenario import Scenario
from optsupply.solver import SolveOptions, SolveResult, solve_model

logger = logging.getLogger(__name__)


METHODS = ("mip", "decompose", "auto")
AUTO_DECOMPOSE_PRODUCTS = 100  # ``method="auto"``: decompose from this many products on


def choose_method(scenario: Scenario, method: str) -> str:
    """``mip`` or ``decompose`` for ``method`` (``auto``: decompose large scenarios)."""
    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if method != "auto":
        return method
    return "decompose" if len(scenario.products) >= AUTO_DECOMPOSE_PRODUCTS else "mip"


def solve(scenario: Scenario | str | os.PathLike, *, method: str = "mip", **options: Any) -> Plan:
    """Plan ``scenario`` (a :class:`Scenario` or a path to one).

    Parameters
    ----------
    scenario : Scenario or path
        The scenario; a path is loaded (and validated) first.
    method : {"mip", "decompose", "auto"}
        ``mip`` solves the joint model as one MIP; ``decompose`` plans product
        groups in turn with the rest fixed, against a bound that stays valid
        (:mod:`optsupply.decompose`; for scenarios too large for one MIP);
        ``auto`` decomposes from ``AUTO_DECOMPOSE_PRODUCTS`` products on.
    **options
        :class:`~optsupply.solver.SolveOptions` fields: ``time_limit``, ``mip_gap``,
        ``threads``, ``seed``, ``presolve``, ``log`` (a stream for HiGHS's progress
        log), ``highs_options``. Missing ones come from the scenario's ``[solver]``.

    Returns
    -------
    Plan
        ``plan.kpis["status"]`` is ``optimal`` or ``time_limit`` when the plan has
        tables; ``infeasible``, ``unbounded`` or ``error`` when no plan exists. An
        infeasible plan's kpis name the conflicting inputs: ``causes`` (file, row,
        key, column, message), ``involved`` and a readable ``message``
        (:mod:`optsupply.explain`).
    """
    sc = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
    opts = SolveOptions.from_scenario(sc.settings, **options)
    if choose_method(sc, method) == "decompose":
        from optsupply.decompose import decompose

        return decompose(sc, opts)
    t0 = time.perf_counter()
    # the time limit covers the whole run: preparing, building and transferring the model count too
    deadline = t0 + opts.time_limit if opts.time_limit is not None and math.isfinite(opts.time_limit) else None
    logger.info("building the model of %s", sc.name)
    data = prepare(sc)
    try:
        if deadline is not None and time.perf_counter() > deadline:
            raise TimeLimitSpent("while preparing the model data")
        model, data = build_model(sc, data, deadline=deadline)
    except TimeLimitSpent as exc:
        return time_limit_spent(sc, opts, str(exc), time.perf_counter() - t0)
    build_seconds = time.perf_counter() - t0
    logger.info("built in %.2f s; solving with HiGHS (time limit %s s, gap %s)", build_seconds, opts.time_limit, opts.mip_gap)
    result = solve_model(model, opts, deadline=deadline)
    plan = finish_plan(result, model, data, sc, build_seconds)
    if plan.kpis.get("status") == "infeasible":  # name the conflicting inputs (optsupply.explain)
        from optsupply.explain import explain_into

        logger.info("no feasible plan; looking for the conflicting inputs")
        explain_into(plan, sc, model=model, data=data, options=opts)
    return plan


def time_limit_spent(sc: Scenario, opts: SolveOptions, where: str, seconds: float) -> Plan:
    """The plan (none, status ``time_limit``) of a run whose time limit ran out before HiGHS started."""
    message = (f"the time limit of {opts.time_limit:g} s ran out {where}, after {seconds:.1f} s, before HiGHS "
               "could start: give more time (--time-limit) or plan a smaller scenario")
    logger.info("%s", message)
    return empty_plan("time_limit", sc.name, mip_gap=None, message=message, build_seconds=round(seconds, 3),
                      solve_seconds=0.0, best_bound=None, scenario=sc.name)


def finish_plan(result: SolveResult, model: Any, data: Any, sc: Scenario, build_seconds: float) -> Plan:
    """The plan of a solver run: the cleaned incumbent's tables and the kpis.json dict (or an empty plan)."""
    common = {"build_seconds": round(build_seconds, 3), "solve_seconds": round(result.solve_seconds, 3),
              "best_bound": result.best_bound, "solver": f"HiGHS {result.solver_version}", "scenario": sc.name}
    if not result.has_solution:
        return empty_plan(result.status, sc.name, mip_gap=None, message=result.message or result.termination, **common)
    plan, ev = extract_plan(model, data, sc)
    profit = ev["profit"]
    if result.objective is not None and abs(profit - result.objective) > 1e-6 * max(1.0, abs(result.objective)):
        logger.info("cleaned plan profit %.6f differs from the solver's incumbent %.6f", profit, result.objective)
    plan.kpis = {
        "status": result.status,
        "profit": profit,
        "revenue": ev["revenue"],
        "costs": ev["costs"],
        "salvage": ev["salvage"],
        "objective": profit,
        "best_bound": result.best_bound,
        "mip_gap": mip_gap(profit, result.best_bound),
        "units_sold": ev["units_sold"],
        "potential_demand": ev["potential_demand"],
        "fill_rate": ev["fill_rate"],
        "launched": ev["launched"],
        "build_seconds": common["build_seconds"],
        "solve_seconds": common["solve_seconds"],
        "solver_objective": result.objective,
        "method": "mip",
        "solver": common["solver"],
        "scenario": sc.name,
    }
    return plan
