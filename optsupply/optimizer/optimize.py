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
from dataclasses import replace
from typing import Any

from optsupply.errors import TimeLimitSpent, UsageError
from optsupply.model import build_model, prepare
from optsupply.model.extract import extract_plan
from optsupply.plan.core import ERROR, OPTIMAL, TIME_LIMIT, Plan, empty_plan, profit_kpis
from optsupply.scenario.core import Scenario
from optsupply.optimizer.highs import SolveOptions, SolveResult, solve_model, time_limit_spent_message
from optsupply.plan.check import check_plan
from optsupply.optimizer.progress import Progress

logger = logging.getLogger(__name__)


METHODS = ("auto", "mip", "lns", "decompose")
#: ``method="auto"``: one MIP up to this many product-periods (HiGHS closes the gap itself), else ``lns``
AUTO_MIP_SIZE = 400
#: ... given at least this many seconds (a shorter run needs a plan first), unless at most AUTO_TINY_SIZE
AUTO_MIP_SECONDS, AUTO_TINY_SIZE = 20.0, 100


def choose_method(scenario: Scenario, method: str, time_limit: float | None = None) -> str:
    """``mip``, ``lns`` or ``decompose`` for ``method``.

    ``auto`` picks one MIP for scenarios of at most :data:`AUTO_MIP_SIZE` products × periods
    (``tiny``, ``small``: HiGHS finds and proves good plans itself) given at least
    :data:`AUTO_MIP_SECONDS` (any time for at most :data:`AUTO_TINY_SIZE`), and the anytime search
    (:mod:`optsupply.optimizer.anytime`) otherwise.
    """
    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if method != "auto":
        return method
    size = len(scenario.products) * int(scenario.settings.get("horizon.periods", 0) or 0)
    short = time_limit is not None and time_limit < AUTO_MIP_SECONDS and size > AUTO_TINY_SIZE
    return "mip" if size <= AUTO_MIP_SIZE and not short else "lns"


def solve(scenario: Scenario | str | os.PathLike, *, method: str = "auto", **options: Any) -> Plan:
    """Plan ``scenario`` (a :class:`Scenario` or a path to one).

    Parameters
    ----------
    scenario : Scenario or path
        The scenario; a path is loaded (and validated) first.
    method : {"auto", "mip", "lns", "decompose"}
        ``mip`` solves the joint model as one MIP; ``lns`` makes a checked plan
        within seconds and improves it by large-neighbourhood search on one model,
        with HiGHS's bound from a second process (:mod:`optsupply.optimizer.anytime`);
        ``decompose`` plans product groups in turn with the rest fixed, against a
        Lagrangian bound (:mod:`optsupply.optimizer.decompose`); ``auto`` (the
        default) picks ``mip`` or ``lns`` by size and time limit (:func:`choose_method`).
    **options
        :class:`~optsupply.optimizer.highs.SolveOptions` fields: ``time_limit``, ``mip_gap``,
        ``threads``, ``seed``, ``presolve``, ``log`` (a stream for the progress
        lines and HiGHS's log), ``highs_options``. Missing ones come from the
        scenario's ``[solver]``. For ``lns`` also: ``on_plan`` (called with each
        better checked plan as soon as it exists), ``progress`` (called with each
        progress line as a dict), ``work_limit`` (a number of neighbourhoods
        instead of the clock: the same run gives the same plan on any machine), ``executor``
        (any :class:`concurrent.futures.Executor`, e.g. a Dask client's: disjoint product
        groups are re-planned on its workers, ``batch`` at a time, :mod:`optsupply.optimizer.parallel`).

    Returns
    -------
    Plan
        ``plan.kpis["status"]`` is ``optimal`` or ``time_limit`` when the plan has
        tables; ``infeasible``, ``unbounded`` or ``error`` when no plan exists. An
        infeasible plan's kpis name the conflicting inputs: ``causes`` (file, row,
        key, column, message), ``involved`` and a readable ``message``
        (:mod:`optsupply.optimizer.explain`).
    """
    sc = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
    start = options.pop("start", None)
    use_start = options.pop("baseline_start", True)
    search = {k: options.pop(k) for k in ("on_plan", "progress", "work_limit") if k in options}
    executor, batch = options.pop("executor", None), options.pop("batch", 2)
    opts = SolveOptions.from_scenario(sc.settings, **options)
    chosen = choose_method(sc, method, opts.time_limit)
    if chosen == "lns" and executor is not None:
        from optsupply.optimizer.parallel import parallel_search

        return parallel_search(sc, opts, executor, start=start, batch=batch, on_plan=search.get("on_plan"),
                               progress=search.get("progress"))
    if chosen == "lns":
        from optsupply.optimizer.anytime import anytime

        plan = anytime(sc, opts, start=start, **search)
        if plan is not None:
            return plan
        logger.info("no start plan for the search: solving one MIP")  # one MIP finds a plan or explains why none
    if chosen == "decompose":
        from optsupply.optimizer.decompose import decompose

        return checked_decomposition(sc, decompose(sc, opts, start=start))
    t0 = time.perf_counter()
    report = Progress(opts.log, search.get("progress"), t0)
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
    base, values = _baseline_start(sc, model, data, start) if use_start else (None, None)
    build_seconds = time.perf_counter() - t0
    report("build", None, None, force=True)
    logger.info("built in %.2f s; solving with HiGHS (time limit %s s, gap %s)", build_seconds, opts.time_limit, opts.mip_gap)
    result = solve_model(model, opts, deadline=deadline, start=values,
                         progress=lambda incumbent, bound: report("mip", incumbent, bound, kind="mip"))
    plan = finish_plan(result, model, data, sc, build_seconds, opts)
    if base is not None:
        plan = _not_below(sc, plan, base)
    report("done", plan.kpis.get("profit"), plan.kpis.get("best_bound"), force=True, kind=plan.kpis.get("bound_kind"))
    if plan.kpis.get("status") == "infeasible":  # name the conflicting inputs (optsupply.optimizer.explain)
        from optsupply.optimizer.explain import explain_into

        logger.info("no feasible plan; looking for the conflicting inputs")
        explain_into(plan, sc, model=model, data=data, options=opts)
    return plan


def _baseline_start(sc: Scenario, model: Any, data: Any, start: Plan | None) -> tuple[Plan | None, Any]:
    """The baseline plan to start from (``start``, else the practitioner plan) and its integer decisions
    as a MIP start; (None, None) when there is none or it does not fit the model."""
    from optsupply.errors import OptsupplyError
    from optsupply.model.fixing import plan_integers

    try:
        if start is None:
            from optsupply.baselines.siloed import practitioner_plan

            start = practitioner_plan(sc)
        return start, plan_integers(model, data, start)
    except OptsupplyError as exc:
        logger.info("no baseline MIP start: %s", exc)
        return None, None


def _not_below(sc: Scenario, plan: Plan, base: Plan) -> Plan:
    """``plan``, or the baseline ``base`` when a run stopped by a limit ended below it (HiGHS may drop a
    MIP start whose completion by its LP fails): a time-limited plan is never worse than the baseline.

    The baseline then carries the run's status and bound (its gap recomputed) and says so in
    ``kpis["message"]``; it must pass the checker.
    """
    k = plan.kpis
    if k.get("profit") is None or k.get("status") == OPTIMAL:
        return plan
    from optsupply.plan.check import evaluate_plan

    if check_plan(sc, base):
        return plan
    ev = evaluate_plan(sc, base)
    if ev["profit"] <= k["profit"] + 1e-9 * max(1.0, abs(k["profit"])):
        return plan
    logger.info("the solver's plan (%.2f) is below the baseline it started from (%.2f): returning the baseline",
                k["profit"], ev["profit"])
    out = base.with_kpis({})
    bound = k.get("best_bound")
    note = ""
    if bound is not None and ev["profit"] > bound + 1e-9 * max(1.0, abs(bound)):
        # the model counts ad uplift on a piecewise-linear curve below the true one, so its bound holds for the
        # model, not for a plan valued on the true curve: no valid bound is known for this plan
        bound, note = None, ("; its profit (valued on the true response curves) is above the model's bound "
                             f"{k['best_bound']:,.2f}, which holds for the piecewise-linear curves only, so no "
                             "bound is reported")
    out.kpis = {**k, **profit_kpis(ev, bound, k.get("bound_kind")),
                "message": (f"the solver's best plan within the limit ({k['profit']:,.2f}) was below the "
                            f"{base.kpis.get('method', 'baseline')} plan it started from; this is that plan{note}")}
    return out


def time_limit_spent(sc: Scenario, opts: SolveOptions, where: str, seconds: float) -> Plan:
    """The plan (none, status ``time_limit``) of a run whose time limit ran out before HiGHS started."""
    message = time_limit_spent_message(opts.time_limit, where, seconds)
    logger.info("%s", message)
    return empty_plan("time_limit", sc.name, mip_gap=None, message=message, build_seconds=round(seconds, 3),
                      solve_seconds=0.0, best_bound=None, scenario=sc.name)


def checked_decomposition(sc: Scenario, plan: Plan) -> Plan:
    """The plan of :func:`optsupply.optimizer.decompose.decompose` if it passes the checker, else no plan (status ``error``).

    Its parts were made by sub-MIPs of the product groups and put together; a
    combined plan that breaks a rule (which the residual capacity rows should
    prevent) is not returned.
    """
    if plan.kpis.get("profit") is None:
        return plan
    problems = check_plan(sc, plan)
    if not problems:
        return plan
    logger.warning("the combined plan breaks %d rule(s) of the scenario (first: %s)", len(problems), problems[0])
    k = plan.kpis
    return _refused(sc, problems, f"the combined plan of the product groups breaks {len(problems)} rule(s) of the "
                                  f"scenario and is not returned (first: {'; '.join(problems[:3])})",
                    method="decompose", best_bound=k.get("best_bound"), build_seconds=k.get("build_seconds"),
                    solve_seconds=k.get("solve_seconds"), solver=k.get("solver"), scenario=sc.name)


def _refused(sc: Scenario, problems: list[str], message: str, **kpis: Any) -> Plan:
    """No plan (status ``error``): the run's plan breaks ``problems`` (the first 20 kept in ``violations``)."""
    return empty_plan(ERROR, sc.name, mip_gap=None, violations=problems[:20], message=message, **kpis)


def finish_plan(result: SolveResult, model: Any, data: Any, sc: Scenario, build_seconds: float,
                options: SolveOptions | None = None) -> Plan:
    """The plan of a solver run: the cleaned incumbent's tables and the kpis.json dict (or an empty plan).

    This is the one place where a solver run becomes a plan, and every plan it
    returns has passed the independent checker (:func:`optsupply.plan.check.check_plan`).
    When the cleaned incumbent breaks a rule (the solver's tolerances, or data
    at the edge of what double precision holds), the plan's integer decisions
    are fixed and the LP is solved again (:func:`repair_plan`); if that plan
    fails the check too, the run has no plan: status ``error`` with a message
    naming the first violations. A repaired plan says so in ``kpis["message"]``.
    """
    common = {"build_seconds": round(build_seconds, 3), "solve_seconds": round(result.solve_seconds, 3),
              "best_bound": result.best_bound, "solver": f"HiGHS {result.solver_version}", "scenario": sc.name}
    if not result.has_solution:
        return empty_plan(result.status, sc.name, mip_gap=None, message=result.message or result.termination, **common)
    plan = _plan_of(model, data, sc, result, common)
    problems = check_plan(sc, plan)
    if not problems:
        return plan
    logger.warning("the solver's plan breaks %d rule(s) of the scenario (first: %s); re-solving the LP with its "
                   "integer decisions fixed", len(problems), problems[0])
    opts = options if options is not None else SolveOptions.from_scenario(sc.settings)
    repaired, still = repair_plan(sc, plan, opts, result, common)
    if repaired is not None:
        repaired.kpis["message"] = (f"the solver's plan broke {len(problems)} rule(s) after cleaning (first: "
                                    f"{problems[0]}); this plan re-solves the LP with its launches, orders, lanes and "
                                    "featured products fixed, and passes the checker")
        return repaired
    return _refused(sc, problems, f"the solver's plan breaks {len(problems)} rule(s) of the scenario (first: "
                                  f"{'; '.join(problems[:3])}) and re-solving it with its integer decisions fixed "
                                  f"did not help ({still[0] if still else 'no plan'}); this can happen when the data "
                                  "spans more orders of magnitude than the solver's tolerances allow (see Limits in "
                                  "the README)", **common)


def _plan_of(model: Any, data: Any, sc: Scenario, result: SolveResult, common: dict[str, Any]) -> Plan:
    """The cleaned plan of the model's current values, with its kpis (status and bound from ``result``)."""
    plan, ev = extract_plan(model, data, sc)
    profit = ev["profit"]
    if result.objective is not None and abs(profit - result.objective) > 1e-6 * max(1.0, abs(result.objective)):
        logger.info("cleaned plan profit %.6f differs from the solver's incumbent %.6f", profit, result.objective)
    plan.kpis = {
        "status": result.status,
        **profit_kpis(ev, result.best_bound, "mip"),
        "build_seconds": common["build_seconds"],
        "solve_seconds": common["solve_seconds"],
        "solver_objective": result.objective,
        "method": "mip",
        "solver": common["solver"],
        "scenario": sc.name,
    }
    return plan


def repair_plan(sc: Scenario, plan: Plan, opts: SolveOptions, result: SolveResult,
                common: dict[str, Any]) -> tuple[Plan | None, list[str]]:
    """Re-solve ``plan`` with its integer decisions fixed (an LP); (the checked plan, []) or (None, violations).

    The integers are fixed as :func:`optsupply.model.fixing.fix_plan` fixes
    them; the status and best bound stay those of the original run (the
    repaired plan's profit is never above that bound: it is a feasible point
    of the same model).
    """
    from optsupply.errors import OptsupplyError
    from optsupply.model.fixing import fix_plan

    try:
        d = prepare(sc)
        m, d = build_model(sc, d)
        fix_plan(m, d, plan)
    except OptsupplyError as exc:
        return None, [f"its integer decisions cannot be fixed: {exc}"]
    lp = solve_model(m, replace(opts, mip_gap=0.0))
    if not lp.has_solution:
        return None, [f"with its integer decisions fixed the LP is {lp.status}"]
    fixed = replace(result, objective=lp.objective)
    repaired = _plan_of(m, d, sc, fixed, common)
    gap = repaired.kpis["mip_gap"]
    if result.status == OPTIMAL and (gap is None or gap > float(opts.mip_gap or 0.0) + 1e-9):
        repaired.kpis["status"] = TIME_LIMIT  # no longer proven within the requested gap
    repaired.kpis["solve_seconds"] = round(result.solve_seconds + lp.solve_seconds, 3)
    still = check_plan(sc, repaired)
    if still:
        return None, still
    return repaired, []
