"""Why no plan: infeasible scenarios and the inputs named as their cause.

Two kinds of scenario:

* conflicts visible without a solve: ``optsupply validate`` (and loading) reports them
  as errors naming file, row and column (:func:`optsupply.scenario.feasibility_checks.check_feasibility`);
* conflicts only a solve reveals: ``optsupply.solve`` returns status ``infeasible`` with
  ``kpis["causes"]`` from the elastic relaxation and HiGHS's IIS (:mod:`optsupply.optimizer.explain`),
  and ``optsupply solve`` exits 1 printing each cause.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optsupply as ops
from optsupply.cli import main
from optsupply.errors import Report
from optsupply.optimizer.explain import Cause, explain
from optsupply.scenario.core import Scenario
from tests.conftest import INSTANCES

check_tables = importlib.import_module("optsupply.scenario.checks").check_tables


@pytest.fixture(scope="module")
def tiny() -> ops.Scenario:
    return ops.Scenario.load(INSTANCES / "tiny")


def _pipeline(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["product", "warehouse", "period", "units"])


def _initial(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["product", "warehouse", "units"])


def _edit_csv(folder: Path, table: str, edit) -> None:  # edit: DataFrame -> DataFrame
    path = folder / f"{table}.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else None
    edit(df).to_csv(path, index=False)


def _set(df: pd.DataFrame, key: str, column: str, values: dict) -> pd.DataFrame:
    for k, v in values.items():
        df.loc[df[key] == k, column] = v
    return df


def _validate_fails(folder: Path, capsys: pytest.CaptureFixture) -> str:
    assert main(["validate", str(folder)]) == 2
    return capsys.readouterr().err


def _texts(plan: ops.Plan) -> list[str]:
    assert plan.kpis["status"] == "infeasible"
    assert plan.kpis["profit"] is None
    json.dumps(plan.kpis)  # kpis.json must stay writable
    return [c["text"] for c in plan.kpis["causes"]]


def _one(plan: ops.Plan, file: str, key: str | None, column: str) -> dict:
    hits = [c for c in plan.kpis["causes"] if c["file"] == file and c["key"] == key and c["column"] == column]
    assert hits, f"no cause {file} {key} {column} in {_texts(plan)}"
    return hits[0]


def _write(folder: Path, toml: str, tables: dict[str, str]) -> Path:
    folder.mkdir()
    (folder / "scenario.toml").write_text(toml)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text)
    return folder


# --------------------------------------------------------------------------- caught by validate (no solve)


def test_must_launch_without_supply_is_a_validate_error(tiny_copy: Path, capsys: pytest.CaptureFixture) -> None:
    """1. A must-launch product that supply.csv never stocks."""
    _edit_csv(tiny_copy, "products", lambda df: _set(df, "product", "must_launch", {"P2": "true"}))
    _edit_csv(tiny_copy, "supply", lambda df: df[df["product"] != "P2"])
    err = _validate_fails(tiny_copy, capsys)
    assert "products.csv, row 3, column must_launch: P2 must launch" in err
    assert "supply.csv lists no warehouse for P2" in err


def test_must_launch_without_a_lane_to_its_demand(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """2. Its only warehouse has no lane to the region where it sells."""
    sc = _write(tmp_path / "sc", "[horizon]\nperiods = 4\n", {
        "products": "product,category,brand,price,unit_cost,status,must_launch\nN1,C,B,10,4,new,true\n",
        "launch_curve": "product,region,age,demand\nN1,R1,0,5\nN1,R1,1,5\n",
        "warehouses": "warehouse\nW1\n",
        "supply": "product,warehouse\nN1,W1\n",
        "lanes": "warehouse,region\nW1,R2\n",
    })
    err = _validate_fails(sc, capsys)
    assert "products.csv, row 2, column must_launch: N1 must launch" in err
    assert "none of its warehouses in supply.csv (W1) has a lane in lanes.csv to a region where it has demand" in err
    assert "(R1)" in err


def test_must_launch_whose_stock_cannot_arrive_in_time(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """3. The lead time brings the first receipt after the last period it can sell in."""
    sc = _write(tmp_path / "sc", "[horizon]\nperiods = 6\n", {
        "products": "product,category,brand,price,unit_cost,status,launch_earliest,launch_latest,must_launch\n"
                    "N1,C,B,10,4,new,0,1,true\n",
        "launch_curve": "product,region,age,demand\nN1,R1,0,5\nN1,R1,1,5\n",
        "warehouses": "warehouse\nW1\n",
        "supply": "product,warehouse,lead_time\nN1,W1,4\n",
        "lanes": "warehouse,region\nW1,R1\n",
    })
    err = _validate_fails(sc, capsys)
    assert "products.csv, row 2, column must_launch: N1 must launch" in err
    assert "earliest receipt is in period 4 (W1: lead_time 4 in supply.csv)" in err
    assert "its demand ends in period 2" in err


def test_min_products_above_the_category_size_with_a_must_launch(tiny_copy: Path, capsys: pytest.CaptureFixture) -> None:
    """4. Category C2 has 2 new products, needs 3 once it launches, and P2 must launch."""
    _edit_csv(tiny_copy, "products", lambda df: _set(df, "product", "must_launch", {"P2": "true"}))
    _edit_csv(tiny_copy, "categories", lambda df: _set(df, "category", "min_products", {"C2": "3"}))
    err = _validate_fails(tiny_copy, capsys)
    assert "categories.csv, row 2, column min_products: min_products of category C2 is 3" in err
    assert "only 2 new products have category C2 (P2, P3), and P2 must launch (products.csv row 3)" in err


def test_min_products_above_the_category_size_alone_is_a_warning(tiny: ops.Scenario) -> None:
    sc = tiny.with_changes({"categories.min_products": {"C2": 3}})  # loads: nothing must launch
    assert any("none of them can ever launch" in str(w) and w.column == "min_products" for w in sc.warnings)


def test_must_launch_products_beyond_the_launch_cap(tiny_copy: Path, capsys: pytest.CaptureFixture) -> None:
    """5. Two must-launch products whose windows are period 1 only, one launch per period: exit 2, solve too."""
    _edit_csv(tiny_copy, "products", lambda df: _set(_set(df, "product", "must_launch", {"P2": "true", "P3": "true"}),
                                                     "product", "launch_latest", {"P2": "1", "P3": "1"}))
    err = _validate_fails(tiny_copy, capsys)
    assert "scenario.toml, line 10, key launch.max_per_period: launch.max_per_period = 1 allows at most 1 launch " \
           "in period 1, but 2 must_launch products can only launch then" in err
    assert "P2 (products.csv row 3, window 1), P3 (products.csv row 4, window 1)" in err
    assert main(["solve", str(tiny_copy), "--out", str(tiny_copy.parent / "plan"), "-q"]) == 2
    assert "key launch.max_per_period" in capsys.readouterr().err
    assert not (tiny_copy.parent / "plan").exists()


def test_initial_stock_worth_more_than_the_working_capital_cap(tiny_copy: Path, capsys: pytest.CaptureFixture) -> None:
    """6. 100 units at unit_cost 6 in period 0, at most 21 of them can sell: above max_inventory_value 100."""
    toml = (tiny_copy / "scenario.toml").read_text() + "\n[finance]\nmax_inventory_value = 100\n"
    (tiny_copy / "scenario.toml").write_text(toml)
    (tiny_copy / "initial_stock.csv").write_text("product,warehouse,units\nP1,W2,100\n")
    err = _validate_fails(tiny_copy, capsys)
    assert "scenario.toml, line 23, key finance.max_inventory_value: finance.max_inventory_value is 100" in err
    assert "stock worth at least 474 on hand at the end of period 0" in err
    assert "initial_stock.csv row 2: 100 units of P1 in W2 at the start" in err
    assert "storage_capacity" not in err  # W2 has room


def test_pipeline_volume_above_storage_before_anything_can_leave(tiny_copy: Path, capsys: pytest.CaptureFixture) -> None:
    """7. 50 units of new product P2 arrive in W1 (storage 40) in period 0; P2 cannot launch before period 1."""
    (tiny_copy / "pipeline.csv").write_text("product,warehouse,period,units\nP2,W1,0,50\n")
    err = _validate_fails(tiny_copy, capsys)
    assert "warehouses.csv, row 2, column storage_capacity: storage_capacity of W1 is 40" in err
    assert "pipeline.csv row 2: 50 units of P2 in W1 in period 0" in err
    assert "at most 0 of it can leave by then" in err and "10 over capacity" in err


# --------------------------------------------------------------------------- only a solve can tell


def test_min_products_against_the_launch_cap_and_windows(tiny: ops.Scenario) -> None:
    """8. P2 must launch, so C2 launches and needs P2 and P3, whose windows are period 1: one launch per period."""
    sc = tiny.with_changes({"products.must_launch": {"P2": True}, "products.launch_latest": {"P2": 1, "P3": 1}})
    plan = ops.solve(sc)
    cause = _one(plan, "categories.csv", "C2", "min_products")
    assert cause["row"] == 2 and cause["constraint"] == "launch.min_products" and cause["iis"]
    assert "min_products of category C2 is 2" in cause["text"]
    assert "launch.max_per_period = 1 leave room for only 1" in cause["text"]
    assert "P2 (products.csv row 3, must_launch, window 1)" in cause["text"]
    involved = " | ".join(c["text"] for c in plan.kpis["involved"])
    assert "key launch.max_per_period" in involved and "column must_launch" in involved
    assert plan.kpis["message"].startswith("no feasible plan: categories.csv, row 2 (C2), column min_products")


def test_brand_minimum_against_the_launch_cap(tiny: ops.Scenario) -> None:
    """9. The same conflict through brands.csv, with the category minimum switched off."""
    brands = pd.DataFrame({"brand": ["B2"], "onboarding_cost": [0.0], "min_products": [2]})
    sc = tiny.with_changes({"products.must_launch": {"P3": True}, "products.launch_latest": {"P2": 2, "P3": 2},
                            "products.launch_earliest": {"P2": 2, "P3": 2}, "categories.min_products": {"C2": 0}})
    plan = ops.solve(sc.with_tables({"brands": brands}))
    cause = _one(plan, "brands.csv", "B2", "min_products")
    assert "min_products of brand B2 is 2" in cause["text"] and "P3 (products.csv row 4, must_launch" in cause["text"]


def test_storage_overflow_when_two_warehouses_share_the_demand(tiny: ops.Scenario, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    """10. Pipeline receipts of P1 into W1 (45, storage 40) and W2 (20, storage 0) in period 2: each alone could
    ship out enough, but both serve the same demand (at most 17.78 in period 2). Validate passes; solve exits 1."""
    sc = tiny.with_changes({"warehouses.storage_capacity": {"W2": 0}}).with_tables(
        {"pipeline": _pipeline(("P1", "W1", 2, 45.0), ("P1", "W2", 2, 20.0))})
    folder = sc.save(tmp_path / "sc")
    assert main(["validate", str(folder)]) == 0
    capsys.readouterr()
    assert main(["solve", str(folder), "--out", str(tmp_path / "plan"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "no plan: the scenario has no feasible plan; the conflicting inputs:" in err
    assert "  warehouses.csv, row 2 (W1), column storage_capacity: storage_capacity of W1 is 40, but at least 45" in err
    assert "  warehouses.csv, row 3 (W2), column storage_capacity: storage_capacity of W2 is 0" in err
    assert "pipeline.csv row 2: 45 units of P1 into W1 in period 2" in err
    assert "also involved: demand.csv, row 6 (P1/R1/2), column demand" in err
    assert not (tmp_path / "plan").exists()


def test_working_capital_at_a_later_period(tiny: ops.Scenario, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """11. 40 units of P1 and of P2 arrive in W1 in period 3, but only 20 (volume) leave W1 per period: the stock
    left is worth at least 528 > 500. Each product alone could sell enough, so only the solve sees it."""
    sc = tiny.with_changes({"warehouses.storage_capacity": {"W1": 1000}, "warehouses.throughput_capacity": {"W1": 20},
                            "finance.max_inventory_value": 500}).with_tables(
        {"pipeline": _pipeline(("P1", "W1", 3, 40.0), ("P2", "W1", 3, 40.0))})
    folder = sc.save(tmp_path / "sc")
    assert main(["validate", str(folder)]) == 0
    capsys.readouterr()
    assert main(["solve", str(folder), "--out", str(tmp_path / "plan"), "-q"]) == 1
    err = capsys.readouterr().err
    assert ("  scenario.toml, line 13, key finance.max_inventory_value: finance.max_inventory_value is 500, but the "
            "stock on hand at the end of period 3 is worth at least 528, 28 over") in err
    assert "also involved: warehouses.csv, row 2 (W1), column throughput_capacity: at most 20 (volume)" in err


def test_storage_overflow_because_the_launch_cap_delays_a_launch(tiny: ops.Scenario) -> None:
    """12. Pipeline of new products P2 and P3 (30 each) into W1 (storage 50) in period 1: only one may launch per
    period, so only one of them sells in period 1 and 51 stay."""
    sc = tiny.with_changes({"warehouses.storage_capacity": {"W1": 50}}).with_tables(
        {"pipeline": _pipeline(("P2", "W1", 1, 30.0), ("P3", "W1", 1, 30.0))})
    plan = ops.solve(sc)
    cause = _one(plan, "warehouses.csv", "W1", "storage_capacity")
    assert cause["periods"] == [1] and cause["excess"] == pytest.approx(1.0)
    assert "at least 51 (volume) must be held there at the end of period 1, 1 over" in cause["text"]
    involved = [c["text"] for c in plan.kpis["involved"]]
    assert any("key launch.max_per_period: at most 1 launch per period (period 1)" in t for t in involved)
    assert any(t.startswith("pipeline.csv, row 3 (P3/W1/1), column units") for t in involved)


def test_two_independent_conflicts_are_both_named(tiny: ops.Scenario) -> None:
    """13. The minimum assortment of (8) and the working capital of (11) at once: both causes, one message."""
    sc = tiny.with_changes({"products.must_launch": {"P2": True}, "products.launch_latest": {"P2": 1, "P3": 1},
                            "warehouses.storage_capacity": {"W1": 1000}, "warehouses.throughput_capacity": {"W1": 20},
                            "finance.max_inventory_value": 500}).with_tables(
        {"pipeline": _pipeline(("P1", "W1", 3, 40.0), ("P2", "W1", 3, 40.0))})
    plan = ops.solve(sc)
    _one(plan, "categories.csv", "C2", "min_products")
    _one(plan, "scenario.toml", None, "finance.max_inventory_value")
    assert "categories.csv, row 2 (C2)" in plan.kpis["message"] and "finance.max_inventory_value" in plan.kpis["message"]


# --------------------------------------------------------------------------- the API and the checks themselves


def test_explain_api_and_cause_text(tiny: ops.Scenario) -> None:
    sc = tiny.with_changes({"warehouses.storage_capacity": {"W1": 50}}).with_tables(
        {"pipeline": _pipeline(("P2", "W1", 1, 30.0), ("P3", "W1", 1, 30.0))})
    found = explain(sc)
    assert found.method == "elastic" and found.iis == "valid"
    assert [c.constraint for c in found.causes] == ["inventory.storage"]
    assert str(Cause("products.csv", 7, "P12", "must_launch", "must launch")) == \
        "products.csv, row 7 (P12), column must_launch: must launch"
    assert str(Cause("scenario.toml", 9, None, "launch.max_per_period", "x")) == \
        "scenario.toml, line 9, key launch.max_per_period: x"


def test_feasible_scenarios_pass_the_checks() -> None:
    for name in ("tiny", "small", "cap41", "ww_example_3_9"):
        assert ops.validate(INSTANCES / name).errors == [], name


def test_receipt_checks_are_sound_on_random_variants(tiny: ops.Scenario) -> None:
    """Whatever the storage and working-capital checks flag has no feasible plan (the checks never
    refuse a scenario the model could plan): random receipts and capacities, solved without the checks."""
    from optsupply.scenario.coerce import finalize_dtypes
    from optsupply.model import build_model
    from optsupply.optimizer.highs import SolveOptions, solve_model

    rng = np.random.default_rng(7)
    pairs = list(zip(tiny.supply["product"], tiny.supply["warehouse"]))
    flagged = 0
    for _ in range(5):
        tables = {n: df.copy() for n, df in tiny.tables()}
        rows = {(p, w, int(rng.integers(0, 6))): float(rng.integers(5, 80))
                for p, w in (pairs[i] for i in rng.integers(len(pairs), size=3))}
        tables["pipeline"] = _pipeline(*(k + (u,) for k, u in rows.items()))
        tables["warehouses"]["storage_capacity"] = [float(rng.integers(10, 80)), np.inf]
        tables["warehouses"]["throughput_capacity"] = [float(rng.choice([np.inf, 20.0])), np.inf]
        settings = dict(tiny.settings, **{"finance.max_inventory_value": float(rng.integers(100, 600))})
        present = tiny.present | {"pipeline"}
        report = Report()
        check_tables(tables, dict(tiny.files), present, tiny.periods, report, settings=settings)
        if not report.errors:
            continue
        flagged += 1
        sc = Scenario(settings, finalize_dtypes(tables), present=present, files=tiny.files)
        m, _ = build_model(sc)
        assert solve_model(m, SolveOptions(time_limit=20, threads=1)).status == "infeasible", report.format()
    assert flagged >= 2
