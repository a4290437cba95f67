"""Solving end to end: time-limited incumbents, plan files, CLI exit codes, statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import optsupply as ops
from optsupply.cli import main
from optsupply.plan.check import check_plan, evaluate_plan
from tests.conftest import INSTANCES


@pytest.fixture(scope="module")
def small_time_limited() -> tuple[ops.Scenario, ops.Plan]:
    sc = ops.Scenario.load(INSTANCES / "small")
    # stopped by a solution-count limit (not the clock): the same plan on any machine, however busy
    return sc, ops.solve(sc, time_limit=3600, mip_gap=1e-9, threads=1, highs_options={"mip_max_improving_sols": 2})


def test_time_limited_incumbent_adds_up(small_time_limited: tuple) -> None:
    """A plan stopped by the time limit is still feasible and its profit is what its tables add up to."""
    sc, plan = small_time_limited
    assert plan.kpis["status"] == "time_limit"  # a limit stopped it, and time-limited plans are reported so
    assert check_plan(sc, plan) == []
    ev = evaluate_plan(sc, plan)
    assert plan.kpis["profit"] == pytest.approx(ev["profit"], rel=1e-6, abs=1e-6)
    assert plan.kpis["objective"] == plan.kpis["profit"]
    assert plan.kpis["best_bound"] >= plan.kpis["profit"] - 1e-6 * abs(plan.kpis["profit"])


def test_plan_save_and_load_round_trip(small_time_limited: tuple, tmp_path: Path) -> None:
    sc, plan = small_time_limited
    plan.save(tmp_path / "plan")
    back = ops.Plan.load(tmp_path / "plan")
    for name, df in plan.tables().items():
        pd.testing.assert_frame_equal(df.reset_index(drop=True), getattr(back, name), check_dtype=False, obj=name)
    assert back.kpis == json.loads(json.dumps(plan.kpis))
    launches = pd.read_csv(tmp_path / "plan" / "launches.csv")
    assert list(launches.columns) == ["product", "period", "date"]  # the scenario has a start date
    assert check_plan(sc, back) == []


def _write(folder: Path, toml: str, tables: dict[str, str]) -> Path:
    folder.mkdir()
    (folder / "scenario.toml").write_text(toml)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text)
    return folder


BASE = {
    "products": "product,category,brand,price,unit_cost,status,launch_earliest,launch_latest,must_launch\n"
                "N1,C,B,10,4,new,0,2,true\n",
    "launch_curve": "product,region,age,demand\nN1,R1,0,5\nN1,R1,1,5\n",
    "warehouses": "warehouse\nW1\n",
    "supply": "product,warehouse\nN1,W1\n",
    "lanes": "warehouse,region\nW1,R1\n",
}


def test_cli_solve_writes_plan_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sc = _write(tmp_path / "sc", "[horizon]\nperiods = 3\n", BASE)
    assert main(["solve", str(sc), "--out", str(tmp_path / "plan"), "-q"]) == 0
    kpis = json.loads((tmp_path / "plan" / "kpis.json").read_text())
    # launch at 0 sells 5 + 5 at a margin of 6
    assert kpis["status"] == "optimal" and kpis["profit"] == pytest.approx(60.0)
    assert "profit 60.00" in capsys.readouterr().out


def test_cli_solve_infeasible_exits_1_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # N1 must launch, so category C launches and needs N1 and N2, both only in period 0: one launch per period.
    # (max_per_period = 0 with a must-launch product is caught by validation already: exit 2, see test_infeasible.)
    tables = dict(BASE, products=BASE["products"].replace(",0,2,true", ",0,0,true") + "N2,C,B,10,4,new,0,0,false\n",
                  launch_curve=BASE["launch_curve"] + "N2,R1,0,5\n", supply=BASE["supply"] + "N2,W1\n",
                  categories="category,min_products\nC,2\n")
    sc = _write(tmp_path / "sc", "[horizon]\nperiods = 3\n[launch]\nmax_per_period = 1\n", tables)
    assert main(["solve", str(sc), "--out", str(tmp_path / "plan"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "no plan" in err and "categories.csv, row 2 (C), column min_products" in err
    assert not (tmp_path / "plan").exists()


def test_cli_solve_refuses_output_inside_the_scenario(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sc = _write(tmp_path / "sc", "[horizon]\nperiods = 3\n", BASE)
    assert main(["solve", str(sc), "--out", str(sc / "plan"), "-q"]) == 2
    assert "inside the input folder" in capsys.readouterr().err


def test_cli_solve_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tables = dict(BASE, products=BASE["products"].replace(",10,4,", ",-10,4,"))
    sc = _write(tmp_path / "sc", "[horizon]\nperiods = 3\n", tables)
    assert main(["solve", str(sc), "-q"]) == 2
    assert "products.csv, row 2, column price" in capsys.readouterr().err


def test_status_optimal_and_gap_zero_on_tiny() -> None:
    plan = ops.solve(INSTANCES / "tiny")
    assert plan.kpis["status"] == "optimal"
    assert plan.kpis["mip_gap"] == pytest.approx(0.0, abs=1e-9)
    assert plan.kpis["build_seconds"] >= 0 and plan.kpis["solve_seconds"] >= 0


def test_zero_ad_budget_buys_no_uplift() -> None:
    """Regression: with advertising.total_budget = 0 no chord was kept and uplift came for free."""
    import optsupply as ops
    from optsupply.plan.check import check_plan

    sc = ops.Scenario.load("instances/tiny").with_changes({"advertising.total_budget": 0})
    plan = ops.solve(sc, threads=1, mip_gap=1e-9)
    assert check_plan(sc, plan) == []
    assert plan.advertising["uplift"].sum() == 0.0
    # no advertising at all: the same as the plan with every response curve removed
    no_ads = ops.solve(sc.with_tables({"response": sc.response.iloc[0:0]}), threads=1, mip_gap=1e-9)
    assert plan.kpis["profit"] == pytest.approx(no_ads.kpis["profit"], rel=1e-9)


def test_changing_threads_between_solves_in_one_process() -> None:
    """Regression: HiGHS's global scheduler made a second solve with another thread count fail."""
    import optsupply as ops

    sc = ops.Scenario.load("instances/tiny")
    first = ops.solve(sc, threads=2)
    second = ops.solve(sc, threads=1)
    third = ops.solve(sc, threads=2)
    assert [p.kpis["status"] for p in (first, second, third)] == ["optimal"] * 3
    assert second.kpis["profit"] == pytest.approx(502.75, rel=1e-9)


def test_a_switched_off_set_up_carries_nothing() -> None:
    """Within HiGHS's tolerances an order of 1e-6 units can sit under placed = 1e-9 (seen on medium); the
    plan must show no such order (it would break min_order), and the checker must accept the result."""
    from optsupply.model import build_model, prepare
    from optsupply.optimizer.optimize import finish_plan
    from optsupply.optimizer.highs import SolveOptions, solve_model
    from optsupply.plan.check import check_plan

    sc = ops.Scenario.load(INSTANCES / "tiny").with_changes({"supply.min_order": {("P1", "W1"): 10.0}})
    m, d = build_model(sc, prepare(sc))
    result = solve_model(m, SolveOptions(time_limit=60, mip_gap=0.0, threads=1))
    assert result.status == "optimal"
    off = next(k for k, v in m.inventory.placed.items() if v.value < 0.5 and k[:2] == ("P1", "W1"))
    m.inventory.order[off].set_value(2e-6)
    m.inventory.placed[off].set_value(1e-9)
    plan = finish_plan(result, m, d, sc, 0.0)
    o = plan.orders
    assert o[(o["product"] == "P1") & (o["warehouse"] == "W1") & (o["period"] == off[2])].empty
    assert check_plan(sc, plan) == []
