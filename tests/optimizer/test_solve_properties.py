"""Property-based solve tests: random valid scenarios → a plan the checker accepts, KPIs that add up.

Scenarios come from :func:`optsupply.scenario.generate.generate` with a drawn seed, then
random valid ``with_changes`` tweaks (prices, costs, demand, capacities,
budgets, featured slots). Solves stop on the gap or on a node limit (never on
the wall clock), so a run is reproducible.

The quick run (``-m "not slow"``) is bounded (a few examples of the ``tiny``
size); the ``slow`` tests, part of every plain ``pytest`` run, draw many more,
with ``xsmall`` scenarios too.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, reject, settings
from hypothesis import strategies as st

import optsupply as ops
from optsupply.errors import ScenarioError
from optsupply.scenario.generate import generate
from optsupply.plan.core import COST_KEYS
from optsupply.plan.check import check_plan, evaluate_plan

OPTIONS: dict[str, Any] = dict(threads=1, seed=0, mip_gap=0.02, time_limit=600, highs_options={"mip_max_nodes": 50})
TIMING = {"build_seconds", "solve_seconds"}
FAST = settings(max_examples=10, deadline=None, derandomize=True, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SLOW = settings(FAST, max_examples=80)


def _factor(lo: float, hi: float) -> st.SearchStrategy[str]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda f: f"*{f:.4f}")


@st.composite
def tweaked(draw: st.DrawFn, sizes: tuple[str, ...]) -> tuple[str, int, dict[str, Any]]:
    """(size, seed, changes): a generated scenario and random valid tweaks of it."""
    size = draw(st.sampled_from(sizes))
    seed = draw(st.integers(0, 10_000))
    sc = _generated(size, seed)
    products = list(sc.products["product"])
    changes: dict[str, Any] = {}

    def some(keys: list[Any]) -> list[Any]:
        return draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True))

    if draw(st.booleans()):
        changes["products.price"] = {p: draw(_factor(0.6, 1.8)) for p in some(products)}
    if draw(st.booleans()):
        changes["products.unit_cost"] = {p: draw(_factor(0.5, 1.2)) for p in some(products)}
    if draw(st.booleans()):
        changes["products.holding_cost"] = draw(_factor(0.0, 3.0))
    if draw(st.booleans()):
        changes["supply.order_cost"] = draw(_factor(0.0, 2.0))
    if draw(st.booleans()):
        changes["lanes.cost_per_unit"] = draw(_factor(0.5, 2.0))
    if draw(st.booleans()):
        changes["demand.demand"] = draw(_factor(0.5, 2.0))
    if draw(st.booleans()):
        changes["warehouses.storage_capacity"] = {w: draw(_factor(0.7, 3.0)) for w in some(list(sc.warehouses["warehouse"]))}
    if draw(st.booleans()):
        changes["warehouses.throughput_capacity"] = draw(_factor(0.7, 3.0))
    if draw(st.booleans()) and not sc.lanes.empty:
        changes["lanes.capacity"] = draw(_factor(0.7, 3.0))
    if draw(st.booleans()) and sc.settings.get("advertising.total_budget") is not None:
        changes["advertising.total_budget"] = draw(st.floats(0.0, 3.0)) * sc.settings["advertising.total_budget"]
    if draw(st.booleans()) and not sc.channels.empty:
        # not *0: an unlimited (inf) budget times 0 is NaN in with_changes (reported to the lead)
        changes["channels.budget"] = draw(_factor(0.1, 2.0))
    if draw(st.booleans()) and not sc.slots.empty:
        periods = [int(t) for t in sc.slots["period"]]
        changes["slots.slots"] = {t: draw(st.integers(0, 3)) for t in some(periods)}
    return size, seed, changes


_CACHE: dict[tuple[str, int], ops.Scenario] = {}


def _generated(size: str, seed: int) -> ops.Scenario:
    if (size, seed) not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[size, seed] = generate(size, seed=seed)
    return _CACHE[size, seed]


def _scenario(size: str, seed: int, changes: dict[str, Any]) -> ops.Scenario:
    try:
        return _generated(size, seed).with_changes(changes)
    except ScenarioError:  # e.g. a lower capacity than the stock already on hand: not a valid scenario
        reject()


def _assert_plan_adds_up(sc: ops.Scenario, plan: ops.Plan) -> None:
    k = plan.kpis
    assert check_plan(sc, plan) == []
    ev = evaluate_plan(sc, plan)
    assert ev["profit"] == pytest.approx(ev["revenue"] + ev["salvage"] - sum(ev["costs"].values()), rel=1e-9, abs=1e-9)
    assert k["profit"] == pytest.approx(ev["profit"], rel=1e-6, abs=1e-6)
    assert k["objective"] == k["profit"]
    assert k["revenue"] == pytest.approx(ev["revenue"], rel=1e-6, abs=1e-6)
    assert k["salvage"] == pytest.approx(ev["salvage"], rel=1e-6, abs=1e-6)
    for key in COST_KEYS:
        assert k["costs"][key] == pytest.approx(ev["costs"][key], rel=1e-6, abs=1e-6), key
    assert k["profit"] == pytest.approx(k["revenue"] + k["salvage"] - sum(k["costs"].values()), rel=1e-9, abs=1e-6)
    if k["best_bound"] is not None:
        assert k["best_bound"] >= k["profit"] - 1e-6 * max(1.0, abs(k["profit"]))


def _check_solve(size: str, seed: int, changes: dict[str, Any]) -> None:
    sc = _scenario(size, seed, changes)
    plan = ops.solve(sc, **OPTIONS)
    status = plan.kpis["status"]
    if status in ("optimal", "time_limit") and plan.kpis["profit"] is not None:
        _assert_plan_adds_up(sc, plan)
    else:  # the tweaks may leave no feasible plan (e.g. a must-launch product without room); never an error
        assert status == "infeasible", plan.kpis
        assert all(df.empty for df in plan.tables().values())


@FAST
@given(tweaked(("tiny",)))
def test_random_scenarios_solve_to_plans_that_add_up(case: tuple[str, int, dict[str, Any]]) -> None:
    _check_solve(*case)


@pytest.mark.slow
@SLOW
@given(tweaked(("tiny", "xsmall")))
# found by this test: the model's ad uplift exceeded the true curve by 1.8e-6 (solver tolerance); the plan
# clipped the advertising table but not the sales table
@example(("xsmall", 2234, {"products.price": {"P05": "*0.9286"}, "products.unit_cost": {"P03": "*1.1000", "P01": "*1.1000"},
                           "products.holding_cost": "*2.4162", "supply.order_cost": "*1.2582",
                           "lanes.cost_per_unit": "*1.5000", "demand.demand": "*0.7695",
                           "advertising.total_budget": 197.60550871933737, "channels.budget": "*1.8329"}))
def test_random_scenarios_solve_to_plans_that_add_up_many(case: tuple[str, int, dict[str, Any]]) -> None:
    _check_solve(*case)


def test_found_case_uplift_above_the_curve_is_clipped_in_sales_too() -> None:
    """The case hypothesis found (the @example above), replayed in every run."""
    _check_solve("xsmall", 2234, {"products.price": {"P05": "*0.9286"},
                                  "products.unit_cost": {"P03": "*1.1000", "P01": "*1.1000"},
                                  "products.holding_cost": "*2.4162", "supply.order_cost": "*1.2582",
                                  "lanes.cost_per_unit": "*1.5000", "demand.demand": "*0.7695",
                                  "advertising.total_budget": 197.60550871933737, "channels.budget": "*1.8329"})


def _check_no_op(size: str, seed: int) -> None:
    sc = _generated(size, seed)
    same = sc.with_changes({})
    a, b = ops.solve(sc, **OPTIONS), ops.solve(same, **OPTIONS)
    assert {k: v for k, v in a.kpis.items() if k not in TIMING} == {k: v for k, v in b.kpis.items() if k not in TIMING}
    for name, df in a.tables().items():
        assert df.equals(getattr(b, name)), name


@settings(FAST, max_examples=4)
@given(st.integers(0, 10_000))
def test_no_op_changes_give_the_identical_plan(seed: int) -> None:
    _check_no_op("tiny", seed)


@pytest.mark.slow
@settings(SLOW, max_examples=20)
@given(st.sampled_from(["tiny", "xsmall"]), st.integers(0, 10_000))
def test_no_op_changes_give_the_identical_plan_many(size: str, seed: int) -> None:
    _check_no_op(size, seed)
