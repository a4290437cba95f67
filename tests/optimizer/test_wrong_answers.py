"""No wrong answers: every plan passes the checker on its way out, and numbers the model cannot hold are refused.

* Inputs whose numbers the MIP cannot represent safely (a Hill curve that is a
  step at the spends a plan resolves, demands near HiGHS's infinity) are refused
  by validation with the accepted range: exit code 2, never a traceback and
  never a plan.
* Flat Hill curves inside the accepted range solve to checked plans.
* ``optimize.finish_plan`` (every MIP solve, ``WhatIf`` re-solves) and
  ``optimize.solve(method="decompose")`` run :func:`optsupply.plan.check.check_plan`;
  a plan that breaks a rule is repaired (the LP re-solved with its integer
  decisions fixed) or not returned (status ``error``), never labelled optimal.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optsupply as ops
import optsupply.optimizer.optimize as optimize
from optsupply.cli import main
from optsupply.errors import ScenarioError
from optsupply.curves import hill
from optsupply.model.pwl import hill_pwl
from optsupply.model.extract import evaluate
from optsupply.plan.check import check_plan
from optsupply.analysis.whatif import WhatIf

TINY = Path(__file__).resolve().parents[2] / "instances" / "tiny"
KEY = ("P1", "search")


@pytest.fixture(scope="module")
def tiny() -> ops.Scenario:
    return ops.Scenario.load(TINY)


def _folder(tmp_path: Path, table: str, old: str, new: str) -> Path:
    """A copy of instances/tiny with one line of ``table`` edited."""
    target = tmp_path / "scenario"
    shutil.copytree(TINY, target)
    path = target / f"{table}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, old: str, new: str,
             column: str, accepted: str) -> None:
    """Loading refuses the edited scenario naming file, row, column and range; `solve` exits 2, no plan, no traceback."""
    folder = _folder(tmp_path, table, old, new)
    with pytest.raises(ScenarioError) as err:
        ops.Scenario.load(folder)
    text = str(err.value)
    assert f"{table}.csv, row 2, column {column}" in text and accepted in text, text
    out = tmp_path / "plan"
    assert main(["solve", str(folder), "--out", str(out), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "internal error" not in captured.err, captured.err
    assert accepted in captured.err
    assert not out.exists()


# --- half_saturation = 1e-12: a step at zero spend ----------------------------------------------------


def test_tiny_half_saturation_1e_12_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Was: `optimal`, profit 322.75 against a bound of 613.75, and W1 holding 51 > 40 in period 4."""
    _refused(tmp_path, capsys, "response", "P1,search,6,200,", "P1,search,6,1e-12,", "half_saturation",
             "≥ 0.001 and ≤ 1e+09")


def test_smallest_accepted_half_saturation_gives_a_checked_plan(tiny: ops.Scenario) -> None:
    sc = tiny.with_changes({"response.half_saturation": {KEY: 1e-3}})
    plan = ops.solve(sc, threads=1, mip_gap=0.0)
    assert plan.kpis["status"] == "optimal"
    assert check_plan(sc, plan) == []
    # the curve is all but free here: the plan buys close to the whole max_uplift of 6 units a period
    assert plan.advertising["uplift"].sum() > 0.9 * 6 * 6


# --- Hill shape -------------------------------------------------------------------------------------


def test_tiny_shape_0_1_solves(tiny: ops.Scenario) -> None:
    """Was: "no plan … unbounded" (the first chord of the curve had a slope of 5e17 per unit of money)."""
    sc = tiny.with_changes({"response.shape": {KEY: 0.1}})
    plan = ops.solve(sc, threads=1, mip_gap=0.0)
    assert plan.kpis["status"] == "optimal"
    assert check_plan(sc, plan) == []
    # advertising pays: better than the same scenario without the response, and never above the bound
    without = ops.solve(sc.with_changes({"response.max_uplift": {KEY: 0.0}}), threads=1, mip_gap=0.0)
    assert plan.kpis["profit"] > without.kpis["profit"] + 1.0
    assert plan.kpis["profit"] <= plan.kpis["best_bound"] + 1e-6 * abs(plan.kpis["best_bound"])


def test_tiny_shape_0_001_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Was: OverflowError (a traceback)."""
    _refused(tmp_path, capsys, "response", "6,200,1,0.5", "6,200,0.001,0.5", "shape", "≥ 0.1 and ≤ 100")


def test_tiny_shape_1e5_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Was: ZeroDivisionError in model/pwl.py (a traceback)."""
    _refused(tmp_path, capsys, "response", "6,200,1,0.5", "6,200,1e5,0.5", "shape", "≥ 0.1 and ≤ 100")


def test_pwl_of_extreme_shapes_is_built_or_refused_cleanly() -> None:
    """The construction itself: steep curves build (was ZeroDivisionError), flat ones need a spend range
    (was OverflowError) and then stay below the curve, within tolerance over that range."""
    steep = hill_pwl(6.0, 200.0, 1e5, 0.005)
    e = np.linspace(199.0, 201.0, 20001)
    g = np.interp(e, steep.breakpoints, steep.values, right=steep.values[-1])
    assert np.all(g <= hill(e, 6.0, 200.0, 1e5) + 1e-9)
    with pytest.raises(ValueError, match="max_spend"):
        hill_pwl(6.0, 200.0, 0.001, 0.005)
    for shape in (0.001, 0.1):
        flat = hill_pwl(6.0, 200.0, shape, 0.005, min_spend=1e-5, max_spend=1e12)
        assert flat.breakpoints[1] == pytest.approx(1e-5) and flat.breakpoints[-1] == pytest.approx(1e12)
        assert (flat.resolved_from, flat.resolved_to) == (flat.breakpoints[1], flat.breakpoints[-1])
        e = np.geomspace(1e-9, 1e13, 4001)
        gap = hill(e, 6.0, 200.0, shape) - np.interp(e, flat.breakpoints, flat.values, right=flat.values[-1])
        assert gap.min() >= -1e-9
        inside = (e >= flat.resolved_from) & (e <= flat.resolved_to)
        assert gap[inside].max() <= 0.005 * 6.0 + 1e-12
    # curves that are resolved anyway are not changed by the spend range
    for shape in (0.5, 1.0, 3.0):
        a, b = hill_pwl(6.0, 200.0, shape, 0.005), hill_pwl(6.0, 200.0, shape, 0.005, min_spend=1e-5, max_spend=1e12)
        assert np.array_equal(a.breakpoints, b.breakpoints) and np.array_equal(a.values, b.values)


# --- demand = 1e300 ---------------------------------------------------------------------------------


def test_tiny_demand_1e300_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Was: valid, then "no plan … unbounded" (HiGHS takes 1e20 and more as infinite)."""
    _refused(tmp_path, capsys, "demand", "P1,R1,0,10", "P1,R1,0,1e300", "demand", "≤ 1e+09")


def test_huge_values_are_refused_from_python_too(tiny: ops.Scenario) -> None:
    with pytest.raises(ScenarioError, match=r"demand.*≤ 1e\+09"):
        tiny.with_changes({"demand.demand": {("P1", "R1", 0): 1e300}})
    with pytest.raises(ScenarioError, match="write inf for no limit"):
        tiny.with_changes({"warehouses.storage_capacity": {"W1": 1e15}})
    # inf stays the way to write "no limit"
    assert tiny.with_changes({"warehouses.storage_capacity": {"W1": "inf"}}) is not None


# --- the checker on the way out ------------------------------------------------------------------------


def _overstock(plan: ops.Plan, d, sc: ops.Scenario) -> tuple[ops.Plan, dict]:
    """``plan`` with 100 more units of P1 ordered into W1 in period 0 (and never shipped): W1 overflows."""
    orders = plan.orders
    extra = pd.DataFrame([("P1", "W1", 0, 0, 100.0)], columns=orders.columns)
    plan.orders = (pd.concat([orders[~((orders["product"] == "P1") & (orders["warehouse"] == "W1")
                                       & (orders["period"] == 0))], extra])
                   .sort_values(["product", "warehouse", "period"]).reset_index(drop=True))
    level = orders[(orders["product"] == "P1") & (orders["warehouse"] == "W1") & (orders["period"] == 0)]["units"].sum()
    shift = 100.0 - level
    stock = plan.stock.set_index(["product", "warehouse", "period"])["units"]
    for t in range(sc.periods):
        stock.loc[("P1", "W1", t)] = stock.get(("P1", "W1", t), 0.0) + shift
    plan.stock = stock.reset_index()[["product", "warehouse", "period", "units"]]
    return plan, evaluate(plan, d, sc)


def _corrupt_first_extraction(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = optimize.extract_plan

    def extract(m, d, sc):  # noqa: ANN001, ANN202
        plan, ev = real(m, d, sc)
        calls.append(1)
        return _overstock(plan, d, sc) if len(calls) == 1 else (plan, ev)

    monkeypatch.setattr(optimize, "extract_plan", extract)
    return calls


def test_a_plan_that_breaks_a_rule_is_repaired(tiny: ops.Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _corrupt_first_extraction(monkeypatch)
    plan = ops.solve(tiny, threads=1, mip_gap=0.0)
    assert len(calls) == 2  # the corrupted plan was checked, found wanting, and re-solved
    assert plan.kpis["status"] in ("optimal", "time_limit")
    assert check_plan(tiny, plan) == []
    assert "re-solves the LP" in plan.kpis["message"]


def test_a_plan_that_cannot_be_repaired_is_not_returned(tiny: ops.Scenario, monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _corrupt_first_extraction(monkeypatch)
    monkeypatch.setattr(optimize, "repair_plan", lambda *a, **k: (None, ["still broken"]), raising=False)
    plan = ops.solve(tiny, threads=1, mip_gap=0.0)
    assert plan.kpis["status"] == "error" and plan.kpis["profit"] is None
    assert plan.orders.empty and "storage capacity" in plan.kpis["violations"][0]
    _corrupt_first_extraction(monkeypatch)
    out = tmp_path / "plan"
    assert main(["solve", str(TINY), "--out", str(out), "--quiet"]) == 1
    assert "no plan" in capsys.readouterr().err and not out.exists()


def test_whatif_re_solves_are_checked(tiny: ops.Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    session = WhatIf(tiny, threads=1, mip_gap=0.0)
    session.solve()
    calls = _corrupt_first_extraction(monkeypatch)
    plan = session.solve({"products.price": {"P1": "*1.1"}})
    assert len(calls) == 2
    assert check_plan(session.base, plan) == []
    assert plan.kpis["status"] in ("optimal", "time_limit")


def test_decomposed_plans_are_checked(tiny: ops.Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    import optsupply.optimizer.decompose as dec

    real = dec._sorted
    monkeypatch.setattr(dec, "_sorted", lambda plan: _overstock(real(plan), dec.prepare(tiny), tiny)[0])
    plan = ops.solve(tiny, method="decompose", threads=1, mip_gap=0.0, time_limit=30)
    assert plan.kpis["status"] == "error" and plan.kpis["profit"] is None
    assert any("storage capacity" in v for v in plan.kpis["violations"])


def test_sweep_variants_are_checked(tiny: ops.Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep solves its variants with optimize.solve, so they pass finish_plan's check (here in-process)."""
    from concurrent.futures import ThreadPoolExecutor

    from optsupply.analysis.sweep import sweep

    calls = _corrupt_first_extraction(monkeypatch)
    monkeypatch.setattr(optimize, "repair_plan", lambda *a, **k: (None, ["still broken"]), raising=False)
    with ThreadPoolExecutor(1) as pool:
        results = sweep(tiny, {"dearer P1": {"products.price": {"P1": "*1.1"}}}, executor=pool, progress=False,
                        threads=1, mip_gap=0.0)
    assert len(calls) == 1
    assert results["status"].tolist() == ["error"]
