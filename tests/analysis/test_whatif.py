"""WhatIf sessions: lean re-solves and rebuilds against cold solves of the changed scenario.

Oracles: a cold :func:`optsupply.solve` of the changed scenario (same gap 1e-6,
threads=1), the independent plan checker, and — for changes that leave the
derived bounds alone — the HiGHS model of a fresh build of the changed
scenario, compared array by array with the session's patched model.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse as sp
from pyomo.contrib.solver.solvers.highs import Highs

import optsupply as ops
from optsupply.errors import ScenarioError
from optsupply.scenario.generate import generate
from optsupply.model import build_model
from optsupply.plan.check import check_plan
from optsupply.analysis.whatif import Update, WhatIf
from tests.conftest import INSTANCES

OPTS = {"mip_gap": 1e-6, "threads": 1, "time_limit": 60}


def _tiny_ads() -> ops.Scenario:
    """instances/tiny with advertising worth its money and a binding total budget."""
    return ops.Scenario.load(INSTANCES / "tiny").with_changes(
        {"response.half_saturation": "*0.05", "advertising.total_budget": 20})


def _tiny_lost() -> ops.Scenario:
    """A generated tiny scenario with lost-sale costs on featured active products (solves in ~0.2 s)."""
    return generate("tiny", 3)


def _tiny_cap() -> ops.Scenario:
    """A generated tiny scenario whose storage and throughput capacities bind."""
    return generate("tiny", 8)


SCENARIOS = {"ads": _tiny_ads, "lost": _tiny_lost, "cap": _tiny_cap}


def _cold(sc: ops.Scenario) -> ops.Plan:
    return ops.solve(sc, **OPTS)


@pytest.fixture(scope="module")
def sessions() -> dict[str, tuple[WhatIf, float]]:
    """One session per scenario, solved once; the base profit comes from a cold solve."""
    out = {}
    for name, make in SCENARIOS.items():
        sc = make()
        s = WhatIf(sc, **OPTS)
        plan = s.solve()
        assert s.last_update == "cold"
        base = _cold(sc).kpis["profit"]
        assert plan.kpis["profit"] == pytest.approx(base, rel=2e-6, abs=1e-6)
        out[name] = (s, base)
    return out


def _same_as_cold(session: WhatIf, plan: ops.Plan) -> ops.Plan:
    cold = _cold(session.base)
    assert cold.kpis["status"] == "optimal" and plan.kpis["status"] == "optimal"
    assert plan.kpis["profit"] == pytest.approx(cold.kpis["profit"], rel=2e-6, abs=1e-6)
    assert check_plan(session.base, plan) == []
    return cold


# every change moves the optimum (so a session that ignored it would fail)
LEAN = [
    ("lost", {"products.price": {"P01": "*1.2"}}),
    ("lost", {"products.unit_cost": "*1.15"}),
    ("lost", {"products.lost_sale_cost": {"P01": "*3"}}),
    ("cap", {"warehouses.storage_capacity": "*0.6"}),
    ("cap", {"warehouses.throughput_capacity": "*0.7"}),
    ("lost", {"demand.demand": "*0.8"}),  # active products with lost-sale costs: featured bounds, constant
    ("cap", {"demand.demand": "*0.8", "demand.demand_sd": "*2"}),  # featured without lost-sale cost: coefficients
    ("ads", {"advertising.total_budget": 10}),
    ("ads", {"channels.budget": {"search": 1}}),
    ("ads", {"products.launch_earliest": {"P3": 2}}),
    ("ads", {"supply.order_cost": "*2", "categories.onboarding_cost": "*3"}),
    ("ads", {"launch.max_per_period": 0}),
    ("ads", {"slots.slots": 0}),
]


@pytest.mark.parametrize(("name", "changes"), LEAN, ids=[f"{n}-{next(iter(c))}" for n, c in LEAN])
def test_lean_change_equals_cold_solve(sessions: dict, name: str, changes: dict) -> None:
    s, base_profit = sessions[name]
    plan = s.solve(changes, from_original=True)
    assert s.last_update == "lean", str(s.last_update)
    assert s.last_update.mip_start in ("full", "repaired"), s.last_update.mip_start
    cold = _same_as_cold(s, plan)
    assert abs(cold.kpis["profit"] - base_profit) > 1e-3 * max(1.0, abs(base_profit))  # the change matters
    assert set(plan.kpis) == set(cold.kpis)
    assert plan.tables().keys() == cold.tables().keys()


REBUILD = [
    ("lost", {"demand.demand": "*1.3"}, "order bound"),  # demand increase: derived order bounds grow
    ("cap", {"warehouses.throughput_capacity": "*1.5"}, "bound"),  # capacity increase a bound depended on
    ("ads", {"advertising.total_budget": 100}, "Hill chords"),  # budget increase: chords were cut at 20
    ("ads", {"products.volume": {"P1": "*1.5"}}, "products.volume"),  # coefficients everywhere
    ("ads", {"products.launch_latest": {"P3": 5}}, "launch window"),  # widening needs new launch binaries
]


@pytest.mark.parametrize(("name", "changes", "why"), REBUILD, ids=[w for _, _, w in REBUILD])
def test_structural_change_rebuilds(name: str, changes: dict, why: str) -> None:
    s = WhatIf(SCENARIOS[name](), **OPTS)
    s.solve()
    plan = s.solve(changes)
    assert s.last_update == "rebuild"
    assert why in s.last_update.reason
    assert s.last_update.mip_start in ("full", "partial")
    _same_as_cold(s, plan)
    s.solve({"products.price": "*1.01"})  # the rebuilt model is the new built state: lean again
    assert s.last_update == "lean"


def _lp(lp) -> dict:  # lp: a highspy.HighsLp
    a = lp.a_matrix_
    shape = (lp.num_row_, lp.num_col_)
    parts = (np.array(a.value_), np.array(a.index_), np.array(a.start_))
    colwise = "col" in str(a.format_).lower()
    mat = (sp.csc_matrix(parts, shape=shape) if colwise else sp.csr_matrix(parts, shape=shape)).toarray()
    return {"cost": np.array(lp.col_cost_), "offset": np.array([lp.offset_]), "col_lower": np.array(lp.col_lower_),
            "col_upper": np.array(lp.col_upper_), "row_lower": np.array(lp.row_lower_),
            "row_upper": np.array(lp.row_upper_), "matrix": mat}


def _assert_same_lp(a: dict, b: dict) -> None:
    for k, value in a.items():
        assert value.shape == b[k].shape, k
        np.testing.assert_allclose(value, b[k], rtol=1e-12, atol=1e-9, err_msg=k)


def _fresh_lp(sc: ops.Scenario) -> dict:
    m, _ = build_model(sc)
    opt = Highs()
    opt.set_instance(m)
    return _lp(opt._solver_model.getLp())


def test_patched_model_is_the_fresh_model() -> None:
    """Objective and right-hand-side changes that leave derived bounds alone: array-equal to a fresh build."""
    s = WhatIf(generate("tiny", 9), **OPTS)  # lost-sale costs, lane fixed costs, a working-capital limit
    s.solve()
    changes = {"products.price": {"P01": "*1.1", "P03": 17.5}, "products.unit_cost": "*1.05",
               "products.holding_cost": "*2", "products.salvage_value": "*0.5", "products.launch_cost": "+7",
               "products.lost_sale_cost": {"P01": 2.5, "P03": 1.0}, "supply.order_cost": "*1.5",
               "supply.activation_cost": "*2", "brands.onboarding_cost": "*1.5",
               "lanes.cost_per_unit": "*0.9", "lanes.fixed_cost": "*2", "finance.max_inventory_value": 5000,
               "launch.max_per_period": 2}
    s.solve(changes)
    assert s.last_update == "lean", str(s.last_update)
    _assert_same_lp(_lp(s._pm.lp()), _fresh_lp(s.base))


def test_sequence_is_cumulative_and_returns_to_the_built_model() -> None:
    sc = _tiny_lost()
    s = WhatIf(sc, **OPTS)
    original_lp = _lp(s._pm.lp())
    s.solve()
    steps = [{"products.price": "*1.1"}, {"warehouses.storage_capacity": "*0.8"},
             {"demand.demand": "*0.9", "products.lost_sale_cost": {"P03": "+1"}}, {"products.price": "*1.1"}]
    for changes in steps:
        plan = s.solve(changes)
        assert s.last_update == "lean", str(s.last_update)
        _same_as_cold(s, plan)
    np.testing.assert_allclose(s.base.products["price"], sc.products["price"] * 1.1 * 1.1, rtol=1e-12)
    np.testing.assert_allclose(s.base.demand["demand"], sc.demand["demand"] * 0.9, rtol=1e-12)
    s.solve({}, from_original=True)  # back to the data the model was built from: lean, and the very same model
    assert s.last_update == "lean"
    assert s.base is s.original
    _assert_same_lp(_lp(s._pm.lp()), original_lp)


def test_invalid_changes_raise_and_leave_the_session_usable() -> None:
    s = WhatIf(_tiny_ads(), **OPTS)
    first = s.solve()
    base, update = s.base, s.last_update
    cases = [({"products.prise": 3}, "column products.prise: table products has no column 'prise'"),
             ({"products.price": {"P9": 3}}, "products has no row with product = P9"),
             ({"products.price": -1}, "products.csv, row 2, column price"),
             ({"advertising.total_budget": "*x"}, "column advertising.total_budget")]
    for changes, needle in cases:
        with pytest.raises(ScenarioError) as exc:
            s.solve(changes)
        assert needle in str(exc.value)
        assert s.base is base and s.last_update is update
    again = s.solve()
    assert s.last_update == "lean" and s.last_update.reason == "no model data changed"
    assert again.kpis["profit"] == pytest.approx(first.kpis["profit"], rel=2e-6)
    assert check_plan(s.base, again) == []


def test_update_record() -> None:
    u = Update("lean", "patched in place: products.price (1 row)", ("products.price",), "full", 0.1)
    assert u == "lean" and u != "rebuild" and str(u).startswith("lean: ")


def test_lane_capacity_rows_left_out_are_added() -> None:
    """A capacity row the build left out as redundant is added in place when a decrease makes it bind."""
    sc = generate("tiny", 1)  # W01→R02 (no fixed cost) and W02→R01 (capacity × used) are capacitated
    s = WhatIf(sc, **OPTS)
    base = s.solve().kpis["profit"]
    plan = s.solve({"lanes.capacity": "*0.8"})
    assert s.last_update == "lean" and "row(s) added" in s.last_update.reason, str(s.last_update)
    cold = _same_as_cold(s, plan)
    assert cold.kpis["profit"] < base - 1.0
    plan = s.solve({"lanes.capacity": "*0.5"})  # cumulative: 0.4 × the original; the added rows are updated
    assert s.last_update == "lean", str(s.last_update)
    _same_as_cold(s, plan)


@pytest.mark.parametrize("changes", [{"warehouses.storage_capacity": "*0.6"}, {"products.launch_earliest": {"P03": 3}}],
                         ids=["rows", "integer-bounds"])
def test_infeasible_previous_solution_is_repaired_into_a_feasible_start(changes: dict) -> None:
    """The previous plan breaks the changed model; the MIP start is repaired (LP / small MIP) and accepted."""
    log = io.StringIO()
    s = WhatIf(generate("tiny", 4), log=log, **OPTS)  # launches P03 at 2; storage binds
    s.solve()
    log.seek(0)
    log.truncate()
    plan = s.solve(changes)
    assert s.last_update == "lean" and s.last_update.mip_start == "repaired", str(s.last_update)
    assert "MIP start solution is feasible" in log.getvalue()
    _same_as_cold(s, plan)


def test_short_time_limit_still_returns_the_repaired_start() -> None:
    """HiGHS's own start completion compares time_limit with the instance's cumulative clock and would give
    up at once here (limit 0.01 s after a longer first run); the session's repair keeps a plan."""
    s = WhatIf(generate("xsmall", 1), threads=1)
    s.solve({"solver.mip_gap": 0.02})
    plan = s.solve({"warehouses.storage_capacity": "*0.5", "solver.time_limit": 0.01})
    assert s.last_update.mip_start == "repaired"
    assert plan.kpis["status"] == "time_limit" and plan.kpis["profit"] is not None
    assert check_plan(s.base, plan) == []
