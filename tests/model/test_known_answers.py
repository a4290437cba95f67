"""The optimizer against answers from outside the model.

* instances/tiny: derived by hand in instances/tiny/README.md;
* Wagner–Whitin Example 3.9 (stockpyl; cost 1380) and Silver–Pyke–Peterson
  (cost 501.2) through the scenario format;
* OR-Library cap41/71/101/131 capacitated facility location (capopt optima).

Every solved plan also goes through the independent plan checker.
"""

from __future__ import annotations

import json

import pytest

import optsupply as ops
from optsupply.plan.check import check_plan
from tests.conftest import INSTANCES

KNOWN = ["tiny", "ww_example_3_9", "spp_12period", "cap41", "cap71", "cap101", "cap131"]


@pytest.fixture(scope="module")
def solved() -> dict[str, tuple[ops.Scenario, ops.Plan]]:
    out = {}
    for name in KNOWN:
        sc = ops.Scenario.load(INSTANCES / name)
        out[name] = (sc, ops.solve(sc, mip_gap=0.0, threads=1))
    return out


@pytest.mark.parametrize("name", KNOWN)
def test_published_optimum(name: str, solved: dict) -> None:
    sc, plan = solved[name]
    expected = json.loads((INSTANCES / name / "expected.json").read_text())
    assert plan.kpis["status"] == "optimal"
    assert plan.kpis["profit"] == pytest.approx(expected["expected_profit"], rel=expected["rel_tol"])
    assert plan.kpis["objective"] == plan.kpis["profit"]
    assert plan.kpis["best_bound"] == pytest.approx(expected["expected_profit"], rel=expected["rel_tol"])


@pytest.mark.parametrize("name", KNOWN)
def test_plan_checker_finds_nothing(name: str, solved: dict) -> None:
    sc, plan = solved[name]
    assert check_plan(sc, plan) == []


def test_tiny_plan_is_the_hand_derived_one(solved: dict) -> None:
    _, plan = solved["tiny"]
    expected = json.loads((INSTANCES / "tiny" / "expected.json").read_text())["expected_plan"]
    assert dict(zip(plan.launches["product"], plan.launches["period"])) == expected["launches"]
    p1 = plan.orders[plan.orders["product"] == "P1"]
    assert list(zip(p1["period"], p1["units"])) == [(o["period"], o["units"]) for o in expected["orders"]]
    featured = {int(t): p for p, t in zip(plan.featured["product"], plan.featured["period"]) if t > 0}
    assert featured == {int(t): p for t, p in expected["featured"].items()}
    assert plan.advertising["spend"].sum() == 0
    for key, value in expected["costs"].items():
        assert plan.kpis["costs"][key] == pytest.approx(value, abs=1e-9), key
    assert plan.kpis["revenue"] == pytest.approx(expected["revenue"])


@pytest.mark.parametrize("name", ["ww_example_3_9", "spp_12period"])
def test_lot_sizing_plan_matches_published_orders(name: str, solved: dict) -> None:
    _, plan = solved[name]
    published = json.loads((INSTANCES / name / "expected.json").read_text())["published_plan"]
    quantities = [q for q in published["order_quantities"] if q]
    assert plan.orders["period"].tolist() == published["order_periods"]
    assert plan.orders["units"].tolist() == pytest.approx(quantities)


@pytest.mark.parametrize("name", KNOWN)  # each solves in < 1 s either way
def test_same_optimum_with_presolve_off(name: str, solved: dict) -> None:
    """A guard against solver presolve regressions (wrong MIP optima; HiGHS 1.14 had several, ENGINEERING §4.6)."""
    sc, plan = solved[name]
    off = ops.solve(sc, mip_gap=0.0, threads=1, presolve=False)
    expected = json.loads((INSTANCES / name / "expected.json").read_text())
    assert off.kpis["status"] == "optimal"
    assert off.kpis["profit"] == pytest.approx(plan.kpis["profit"], rel=1e-9)
    assert off.kpis["profit"] == pytest.approx(expected["expected_profit"], rel=expected["rel_tol"])
    assert check_plan(sc, off) == []
