"""An independent checker of plans: feasibility and profit recomputed from the plan tables.

The checker is an oracle for tests and for planners who want to verify a plan
they received. It knows nothing about how a plan was produced: it reads the
scenario (SPEC §2) and the plan tables (SPEC §4) and re-derives every rule of
the model (SPEC §3) and every KPI from them.

>>> import optsupply as ops
>>> from optsupply.plan.check import check_plan, evaluate_plan, assert_plan_feasible
>>> problems = check_plan(scenario, plan)        # [] when feasible and the KPIs add up
>>> evaluate_plan(scenario, plan)["profit"]
>>> assert_plan_feasible(scenario, plan)          # AssertionError listing every violation

A *plan* is any object with DataFrame attributes ``launches``, ``orders``,
``stock``, ``shipments``, ``sales``, ``advertising``, ``featured`` and
``lanes`` (the columns of SPEC §4) and a ``kpis`` dict as in ``kpis.json``.
Tables hold only nonzero rows: a missing row means zero, and a missing table
means an empty one. A ``date`` column, or any other extra column, is ignored.

Choices made where the specification leaves room
------------------------------------------------
* **Tolerance.** ``a ≤ b`` is violated when ``a > b + tol·max(1, |b|)``;
  ``a = b`` when ``|a − b| > tol·max(1, |a|, |b|)``.
* **What is recomputed from what.** The plan's *decisions* are taken from
  the tables: launches, orders (units, one row = one order), shipments,
  featured products, advertising spend, the advertising uplift and the
  featured uplift the plan counts on. Everything else is derived: base demand
  from the forecast, sales as the sum of shipments, stock from initial stock,
  the pipeline, orders arriving after their lead time and shipments,
  effective spend from spend and carryover, lane volumes from shipments. The
  reported derived columns (``stock.units``, ``sales.sales``,
  ``effective_spend``, ``lanes.volume``, …) are compared with the derived
  values, and the profit in :func:`evaluate_plan` is built from the derived
  values.
* **Receipts** of an order arrive at ``period + lead_time`` (supply.csv); the
  ``arrival`` column must say the same.
* **Uplift split.** Advertising uplift is split over regions in proportion to
  the product's total forecast per region (demand.csv for active products,
  launch_curve.csv for new ones, before seasonality). A product whose
  forecast totals 0 has no share anywhere, so no uplift can be counted on.
* **Before launch** a new product may be stocked (orders arriving early)
  and advertised (spend builds adstock), but nothing of it is sold, shipped,
  featured or counted as uplift.
* **min_products** counts launched ``new`` products of the category or brand.
* **Lanes.** ``used`` must be true whenever the lane carries volume; a lane
  marked used without volume is allowed (the plan merely pays for it). The
  lane fixed cost is paid for every (lane, period) that carries volume or is
  marked used.
* **Lost sales** are ``max(0, potential − sales)`` with potential demand =
  forecast base demand + the uplifts counted on in the sales table.
* **fill_rate** = units_sold / potential_demand, and 1 when potential demand
  is 0.
* **mip_gap** is checked only for status ``optimal``, ``time_limit`` or
  ``interrupted`` when
  ``mip_gap``, ``objective`` and ``best_bound`` are all finite numbers. It may
  be given with either sign and relative to ``|objective|`` or to
  ``|best_bound|`` (HiGHS divides by the incumbent); a bound below the
  objective of this maximisation is reported too.
* **Status.** A plan whose status is not ``optimal``, ``time_limit``,
  ``interrupted`` or ``baseline`` is reported: such a run has no plan to act
  on. ``interrupted`` (an extension of SPEC §4's list) marks the incumbent of
  a solve stopped by Ctrl-C. ``baseline`` (an extension too) marks a plan made
  by rules without a solver, such as :func:`optsupply.baselines.siloed.siloed_plan`;
  it has no bound, so its gap is not checked.

Where the checker lives
-----------------------
This module holds the public functions and the order of the rules
(``_CHECKS``). :mod:`optsupply.plan.check_tables` reads and cleans the input
tables; :mod:`optsupply.plan.check_derive` derives what follows from the
plan's decisions (launch periods, forecast demand, stock, adstock with its own
Hill curve, volumes); :mod:`optsupply.plan.check_rules` holds the rules;
:mod:`optsupply.plan.evaluate` recomputes the profit and checks the KPIs. None
of them imports the model or :mod:`optsupply.curves`: the checker is an
independent oracle.
"""

from __future__ import annotations

from typing import Any

from optsupply.plan.check_derive import launch_periods
from optsupply.plan.check_rules import (
    check_ad_uplift_split,
    check_advertising,
    check_base_demand,
    check_featured_slots,
    check_featured_uplift,
    check_inactive,
    check_inventory_value,
    check_lanes,
    check_launches,
    check_min_products,
    check_orders,
    check_potential_covers_sales,
    check_sales_identities,
    check_shipments,
    check_stock,
    check_warehouses,
)
from optsupply.plan.check_tables import Ctx, read_tables
from optsupply.plan.evaluate import check_kpis, evaluate

__all__ = ["check_plan", "evaluate_plan", "assert_plan_feasible"]


# ---------------------------------------------------------------------- public API


def check_plan(scenario: Any, plan: Any, *, tol: float = 1e-6) -> list[str]:
    """Every violation of the model's rules and every KPI that does not add up.

    Parameters
    ----------
    scenario : optsupply.Scenario
        The scenario the plan was made for.
    plan : object
        Any object with the plan tables of SPEC §4 as DataFrame attributes and
        a ``kpis`` dict.
    tol : float, default 1e-6
        Absolute-and-relative tolerance of every comparison (see the module
        docstring).

    Returns
    -------
    list of str
        One plain-language sentence per violation; empty when the plan is
        feasible and its KPIs match the tables.
    """
    ctx = _prepare(scenario, plan, tol)
    for check in _CHECKS:
        check(ctx)
    return ctx.problems


def evaluate_plan(scenario: Any, plan: Any) -> dict[str, Any]:
    """Profit and its parts, recomputed from the plan tables alone (SPEC §3 objective).

    Parameters
    ----------
    scenario : optsupply.Scenario
        The scenario the plan was made for.
    plan : object
        Any object with the plan tables of SPEC §4 as DataFrame attributes.

    Returns
    -------
    dict
        ``revenue``, ``salvage``, ``profit``, ``costs`` (a dict with the keys
        of :data:`optsupply.plan.core.COST_KEYS`), ``units_sold``, ``potential_demand``,
        ``fill_rate`` (1 when potential demand is 0) and ``launched``.
        Malformed rows (unknown keys, periods outside the horizon) are left out.
    """
    return evaluate(_prepare(scenario, plan, 1e-6))


def assert_plan_feasible(scenario: Any, plan: Any, *, tol: float = 1e-6) -> None:
    """Raise ``AssertionError`` listing every violation :func:`check_plan` finds.

    Raises
    ------
    AssertionError
        When the plan breaks any rule or its KPIs do not add up.
    """
    problems = check_plan(scenario, plan, tol=tol)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise AssertionError(f"the plan has {len(problems)} violation(s):\n{lines}")


# ---------------------------------------------------------------------- preparation


def _prepare(scenario: Any, plan: Any, tol: float) -> Ctx:
    """Read the scenario's tables, clean the plan's (malformed rows are reported in ``problems``) and
    find the launch period of every launched new product."""
    ctx = read_tables(scenario, plan, tol)
    ctx.launch_period = launch_periods(ctx)
    return ctx


# ---------------------------------------------------------------------- the rules, in the order they report


_CHECKS = (
    check_launches,
    check_min_products,
    check_base_demand,
    check_inactive,
    check_featured_uplift,
    check_ad_uplift_split,
    check_sales_identities,
    check_potential_covers_sales,
    check_featured_slots,
    check_advertising,
    check_orders,
    check_stock,
    check_shipments,
    check_lanes,
    check_warehouses,
    check_inventory_value,
    check_kpis,
)
