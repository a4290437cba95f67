"""Scenario API: load, save round trips, with_changes, README reference."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest

import optsupply as ops
from optsupply.scenario.schema import README_BEGIN, README_END, TABLES, format_reference
from tests.conftest import INSTANCES, ROOT


def assert_same_scenario(a: ops.Scenario, b: ops.Scenario) -> None:
    assert a.settings == b.settings
    for name, df in a.tables():
        pd.testing.assert_frame_equal(df, getattr(b, name), check_exact=True, obj=name)


def test_tables_follow_schema_order_and_dtypes() -> None:
    sc = ops.Scenario.load(INSTANCES / "tiny")
    for table in TABLES:
        df = getattr(sc, table.name)
        assert list(df.columns) == table.column_names
        for col in table.columns:
            s = df[col.name]
            expected = {"float": pd.api.types.is_float_dtype, "int": pd.api.types.is_integer_dtype,
                        "bool": pd.api.types.is_bool_dtype, "str": pd.api.types.is_string_dtype}[col.dtype]
            assert expected(s), (table.name, col.name, s.dtype)


def test_defaults_are_filled() -> None:
    sc = ops.Scenario.load(INSTANCES / "tiny")
    p1 = sc.products.set_index("product").loc["P1"]
    assert p1["launch_earliest"] == 0 and p1["launch_latest"] == sc.periods - 1  # blank -> 0 and H-1
    w2 = sc.warehouses.set_index("warehouse").loc["W2"]
    assert w2["storage_capacity"] == float("inf")  # blank capacity -> inf
    assert sc.demand["demand_sd"].eq(0).all()  # absent optional column -> default
    assert sc.settings["finance.max_inventory_value"] is None
    assert sc.initial_stock.empty and list(sc.initial_stock.columns) == ["product", "warehouse", "units"]


def test_folder_round_trip_is_exact(tmp_path: Path) -> None:
    sc = ops.Scenario.load(INSTANCES / "tiny")
    sc.save(tmp_path / "copy")
    assert_same_scenario(sc, ops.Scenario.load(tmp_path / "copy"))
    # and a second save writes the same bytes
    ops.Scenario.load(tmp_path / "copy").save(tmp_path / "copy2")
    for f in sorted((tmp_path / "copy").iterdir()):
        assert f.read_bytes() == (tmp_path / "copy2" / f.name).read_bytes(), f.name


def test_workbook_round_trip_is_exact(tmp_path: Path) -> None:
    sc = ops.Scenario.load(INSTANCES / "tiny")
    sc.save(tmp_path / "tiny.xlsx")
    back = ops.Scenario.load(tmp_path / "tiny.xlsx")
    assert_same_scenario(sc, back)
    assert back.files["products"] == "tiny.xlsx[products]"


def test_float_precision_survives_round_trip(tiny_copy: Path, tmp_path: Path) -> None:
    sc = ops.Scenario.load(tiny_copy).with_changes({"lanes.cost_per_unit": {("W1", "R1"): 0.1 + 0.2}})
    sc.save(tmp_path / "out")
    back = ops.Scenario.load(tmp_path / "out")
    assert back.lanes["cost_per_unit"].iat[0] == 0.1 + 0.2  # exact, not 0.3


def test_save_refuses_to_overwrite_and_writes_nothing_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = ops.Scenario.load(INSTANCES / "tiny")
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    for overwrite in (False, True):  # a folder optsupply did not write is never replaced
        with pytest.raises(ops.UsageError, match="not written by optsupply"):
            sc.save(target, overwrite=overwrite)
    assert (target / "keep.txt").read_text() == "mine"

    def broken(self: ops.Scenario, folder: Path) -> None:
        (folder / "scenario.toml").write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(ops.Scenario, "_write_folder", broken)
    with pytest.raises(OSError):
        sc.save(tmp_path / "new")
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left behind


def test_load_never_writes_inputs(tiny_copy: Path) -> None:
    before = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in tiny_copy.iterdir()}
    for f in tiny_copy.iterdir():
        f.chmod(stat.S_IRUSR)
    try:
        sc = ops.Scenario.load(tiny_copy)
        sc.with_changes({"products.price": {"P1": 11.0}})
    finally:
        for f in tiny_copy.iterdir():
            f.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in tiny_copy.iterdir()} == before


class TestWithChanges:
    def test_absolute_relative_and_settings(self) -> None:
        sc = ops.Scenario.load(INSTANCES / "tiny")
        v = sc.with_changes({
            "products.price": {"P2": 24.0},
            "products.unit_cost": "*1.1",
            "warehouses.storage_capacity": {"W1": "*0.5"},
            "lanes.cost_per_unit": {("W1", "R2"): "+0.25"},
            "advertising.total_budget": 300,
            "solver.time_limit": "*2",
        })
        price = v.products.set_index("product")["price"]
        assert price["P2"] == 24.0 and price["P1"] == 10.0
        assert v.products["unit_cost"].tolist() == pytest.approx([6.6, 13.2, 9.9])
        assert v.warehouses.set_index("warehouse").loc["W1", "storage_capacity"] == 20.0
        assert v.lanes.set_index(["warehouse", "region"]).loc[("W1", "R2"), "cost_per_unit"] == 1.25
        assert v.settings["advertising.total_budget"] == 300 and v.settings["solver.time_limit"] == 120.0
        # the original is untouched
        assert sc.products.set_index("product")["price"]["P2"] == 20.0
        assert sc.settings["advertising.total_budget"] == 500.0
        assert v.products["unit_cost"].dtype == "float64"

    def test_no_op_gives_equal_scenario(self) -> None:
        sc = ops.Scenario.load(INSTANCES / "tiny")
        assert_same_scenario(sc, sc.with_changes({}))

    def test_int_column_stays_int(self) -> None:
        sc = ops.Scenario.load(INSTANCES / "tiny")
        v = sc.with_changes({"supply.lead_time": {("P2", "W1"): 2}, "slots.slots": "+1"})
        assert v.supply["lead_time"].dtype == "int64" and v.slots["slots"].tolist() == [2] * 6

    @pytest.mark.parametrize("changes, column, phrase", [
        ({"prodcts.price": 1.0}, "prodcts.price", "did you mean 'products.price'"),
        ({"products.prize": 1.0}, "products.prize", "did you mean 'price'"),
        ({"products.price": {"P9": 1.0}}, "products.price", "no row with product = P9"),
        ({"products.product": {"P1": "P7"}}, "products.product", "key column"),
        ({"lanes.capacity": {("W1", "R9"): 5}}, "lanes.capacity", "no row"),
    ])
    def test_unknown_names_fail_before_anything_else(self, changes: dict, column: str, phrase: str) -> None:
        sc = ops.Scenario.load(INSTANCES / "tiny")
        with pytest.raises(ops.ScenarioError) as err:
            sc.with_changes(changes)
        (problem,) = err.value.report.errors
        assert problem.column == column and phrase in problem.message

    def test_invalid_result_is_reported_with_file_row_column(self) -> None:
        sc = ops.Scenario.load(INSTANCES / "tiny")
        with pytest.raises(ops.ScenarioError) as err:
            sc.with_changes({"products.price": {"P3": -1.0}, "response.carryover": 1.0,
                             "advertising.pwl_tolerance": 2})
        found = {(p.file, p.row, p.column) for p in err.value.report.errors}
        assert ("products.csv", 4, "price") in found
        assert ("response.csv", 2, "carryover") in found
        assert ("changes", None, "advertising.pwl_tolerance") in found


def test_readme_format_reference_matches_schema() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert README_BEGIN in text and README_END in text
    embedded = text.split(README_BEGIN, 1)[1].split(README_END, 1)[0].lstrip("\n")
    assert embedded == format_reference(), "README drifted from the schema: run `optsupply schema --write README.md`"


def test_every_shipped_instance_loads_without_errors() -> None:
    folders = sorted(p for p in INSTANCES.iterdir() if (p / "scenario.toml").is_file())
    assert folders, "no shipped instances"
    for folder in folders:
        if folder.name in {"large", "medium"}:
            continue  # covered by the slow test below
        assert ops.Scenario.load(folder).warnings == [], folder.name


@pytest.mark.slow
def test_large_instances_load() -> None:
    for name in ("medium", "large"):
        if (INSTANCES / name).is_dir():
            ops.Scenario.load(INSTANCES / name)


def test_with_changes_addresses_rows_keyed_by_a_period() -> None:
    """Tables keyed by an integer column (demand, slots, …) take keys as numbers or text."""
    import optsupply as ops

    sc = ops.Scenario.load("instances/small")
    row = sc.demand.iloc[3]
    key = (row["product"], row["region"], int(row["period"]))
    for k in (key, (key[0], key[1], str(key[2]))):
        changed = sc.with_changes({"demand.demand": {k: 123.0}})
        assert changed.demand.iloc[3]["demand"] == 123.0
        assert (changed.demand["demand"] != sc.demand["demand"]).sum() == 1
    slot_period = int(sc.slots["period"].iloc[0])
    changed = sc.with_changes({"slots.slots": {slot_period: "+1"}})
    assert changed.slots["slots"].iloc[0] == sc.slots["slots"].iloc[0] + 1


def test_factor_zero_cuts_an_unlimited_value_to_zero() -> None:
    """'*0' on an unlimited (inf) budget means no budget, not NaN (inf·0), in both the all-rows and keyed forms."""
    import math
    import warnings

    import optsupply as ops

    sc = ops.Scenario.load(Path(__file__).resolve().parents[2] / "instances" / "small")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        every = sc.with_changes({"channels.budget": "*0"})
        one = sc.with_changes({"channels.budget": {sc.channels["channel"].iat[0]: "*0"}})
    assert (every.channels["budget"] == 0).all()
    assert one.channels["budget"].iat[0] == 0
    assert not any(math.isnan(v) for v in one.channels["budget"])
