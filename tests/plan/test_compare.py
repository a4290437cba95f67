"""diff / compare / compare_details and `optsupply compare`.

Oracles from outside the code:

* instances/tiny is solved by hand in its README (profit 502.75: P3 launches
  in period 1, P2 in period 2).
* "P2 +5": P2's unit margin rises by 5 (R1 12.5, R2 12). By the README's
  method, margin by age is P2 74, 99, 74, 25, 25 and P3 21.5, 21.5, 16, 16, 16;
  a featured slot is worth half of it. Launching P2 at 1 and P3 at 2 gives
  297 + 75 + (37 + 49.5 + 37 + 12.5 + 12.5) − 60 = 460.5, better than P3 at 1,
  P2 at 2 (272 + 91 + 146.75 − 60 = 449.75) and every other pair, so the profit
  is 217.5 + 460.5 = 678 and both launches move.
* "no R2": the W1→R2 lane costs 1000 per period used, more than anything R2
  can earn, and serving R2 from W2 does not pay (P1 would need W2's activation
  25 plus orders of 20 to earn at most 2.5 a unit on 30 units), so R2 is never
  served: lane W1/R2 is switched off in all six periods. P1 then sells 10 per
  period; its cheapest lot sizing is two orders of 30 (periods 0 and 3):
  60 · 3.5 − 2 · 20 − 0.5 · 10 · (1 + 2) · 2 = 140. P2/P3 sell in R1 only
  (margin by age P2 30, 45, 30, 15, 15; P3 16.5, 16.5, 11, 11, 11): P2 at 1 and
  P3 at 2 give 135 + 55 + (15 + 22.5 + 15 + 7.5 + 7.5) − 60 = 197.5 (P3 at 1, P2
  at 2: 194.25), so the profit is 337.5.
* The hand-built plan pair below has a diff known row by row.
* Every other expected value is the hand difference of the two plans' KPIs or
  tables, computed here from the plans with plain dictionaries.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd
import pytest

import optsupply as ops
from optsupply.cli.compare import add_parser
from optsupply.plan.compare import compare, compare_details, write_csv
from optsupply.plan.diff import diff
from optsupply.errors import UsageError
from optsupply.plan.core import COST_KEYS, TABLE_COLUMNS
from optsupply.plan.check import check_plan
from tests.conftest import INSTANCES

# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tiny() -> ops.Scenario:
    return ops.Scenario.load(INSTANCES / "tiny")


@pytest.fixture(scope="module")
def plans(tiny: ops.Scenario) -> dict[str, ops.Plan]:
    """base, P2 +5, no R2 — each solved once, checked by the independent plan checker."""
    scenarios = {
        "base": tiny,
        "p2": tiny.with_changes({"products.price": {"P2": "+5"}}),
        "nor2": tiny.with_changes({"lanes.fixed_cost": {("W1", "R2"): 1000}}),
    }
    out = {}
    for name, sc in scenarios.items():
        plan = ops.solve(sc, threads=1)
        assert plan.kpis["status"] == "optimal"
        assert check_plan(sc, plan) == []
        out[name] = plan
    return out


@pytest.fixture(scope="module")
def plan_dirs(plans: dict[str, ops.Plan], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plans")
    return {name: plan.save(root / f"{name}-plan") for name, plan in plans.items()}


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in TABLE_COLUMNS[name]})


def _plan(**tables: pd.DataFrame | dict) -> ops.Plan:
    kpis = tables.pop("kpis")
    full = {name: tables.get(name, _empty(name)) for name in TABLE_COLUMNS}
    return ops.Plan(**full, kpis=kpis, scenario_name="hand")


def _kpis(profit: float, revenue: float, purchase: float, units: float, launched: int, seconds: float) -> dict:
    costs = dict.fromkeys(COST_KEYS, 0.0)
    costs["purchase"] = purchase
    return {"status": "optimal", "profit": profit, "revenue": revenue, "costs": costs, "salvage": 0.0,
            "objective": profit, "best_bound": profit, "mip_gap": 0.0, "units_sold": units,
            "potential_demand": 40.0, "fill_rate": units / 40.0, "launched": launched,
            "build_seconds": seconds, "solve_seconds": seconds, "solver": "HiGHS test", "scenario": "hand"}


@pytest.fixture
def hand_pair() -> tuple[ops.Plan, ops.Plan]:
    """N1 moves from 2 to 1, N2 is dropped, N3 added; lane W2/R1 is switched off in periods 1 and 2, W1/R1 on in 3."""
    a = _plan(
        launches=pd.DataFrame({"product": ["N1", "N2"], "period": [2, 3]}),
        orders=pd.DataFrame({"product": ["N1", "N1", "N1"], "warehouse": ["W1"] * 3, "period": [1, 2, 2],
                             "arrival": [1, 2, 2], "units": [10.0, 3.0, 2.0]}),
        featured=pd.DataFrame({"product": ["N1", "N1"], "period": [2, 3]}),
        advertising=pd.DataFrame({"product": ["N1", "N1"], "channel": ["search", "search"], "period": [1, 2],
                                  "spend": [100.0, 50.0], "effective_spend": [100.0, 50.0], "uplift": [1.0, 1.0]}),
        lanes=pd.DataFrame({"warehouse": ["W1", "W1", "W1", "W2", "W2"], "region": ["R1"] * 5,
                            "period": [0, 1, 2, 1, 2], "volume": [5.0, 5.0, 5.0, 2.0, 2.0], "used": [True] * 5}),
        kpis=_kpis(100.0, 300.0, 150.0, 30.0, 2, 0.5),
    )
    b = _plan(
        launches=pd.DataFrame({"product": ["N1", "N3"], "period": [1, 4]}),
        orders=pd.DataFrame({"product": ["N1", "N1"], "warehouse": ["W1", "W1"], "period": [0, 2],
                             "arrival": [0, 2], "units": [10.0, 5.0]}),
        featured=pd.DataFrame({"product": ["N1", "N1"], "period": [1, 2]}),
        advertising=pd.DataFrame({"product": ["N1", "N1"], "channel": ["search", "tv"], "period": [1, 1],
                                  "spend": [120.0, 40.0], "effective_spend": [120.0, 40.0], "uplift": [1.0, 1.0]}),
        lanes=pd.DataFrame({"warehouse": ["W1"] * 4, "region": ["R1"] * 4, "period": [0, 1, 2, 3],
                            "volume": [5.0] * 4, "used": [True] * 4}),
        kpis={**_kpis(120.0, 330.0, 160.0, 32.0, 2, 9.0), "mip_gap": None},  # e.g. no finite bound
    )
    return a, b


def _rows(df: pd.DataFrame) -> list[tuple]:
    return [tuple(r) for r in df.itertuples(index=False)]


# ---------------------------------------------------------------------- scenario diff


def test_scenario_noop_changes_give_no_rows(tiny: ops.Scenario, tmp_path: Path) -> None:
    assert diff(tiny, tiny).empty
    assert diff(tiny, tiny.with_changes({"products.price": {"P1": "*1"}})).empty
    assert diff(tiny, ops.Scenario.load(tiny.save(tmp_path / "copy"))).empty
    # ×1.3 then ×(1/1.3) is not bit-exact (15 → 14.999999999999998), but within the 1e-12 tolerance
    back = tiny.with_changes({"products.price": "*1.3"}).with_changes({"products.price": f"*{1 / 1.3}"})
    assert any(x != y for x, y in zip(back.products["price"], tiny.products["price"], strict=True))
    assert diff(tiny, back).empty
    assert list(diff(tiny, back).columns) == ["what", "table", "key", "column", "old", "new"]


def test_scenario_with_changes_is_visible(tiny: ops.Scenario) -> None:
    d = diff(tiny, tiny.with_changes({"products.price": {"P1": "*1.1"}}))
    assert len(d) == 1
    r = d.iloc[0]
    assert (r["what"], r["table"], r["key"], r["column"], r["old"]) == ("value", "products", "P1", "price", 10.0)
    assert r["new"] == pytest.approx(11.0, rel=1e-15)


def test_scenario_three_key_change_has_exactly_those_rows(tiny: ops.Scenario) -> None:
    changed = tiny.with_changes({"advertising.total_budget": 300,
                                 "supply.order_cost": {("P1", "W2"): 35},
                                 "warehouses.storage_capacity": {"W1": "+10"}})
    assert _rows(diff(tiny, changed)) == [
        ("setting", "scenario.toml", None, "advertising.total_budget", 500.0, 300),
        ("value", "warehouses", "W1", "storage_capacity", 40.0, 50.0),
        ("value", "supply", "P1/W2", "order_cost", 20.0, 35.0),
    ]
    # the other direction swaps old and new
    back = diff(changed, tiny)
    assert list(back["old"]) == [300, 50.0, 35.0] and list(back["new"]) == [500.0, 40.0, 20.0]


def test_scenario_rows_added_and_removed(tiny: ops.Scenario) -> None:
    lanes = tiny.lanes[~((tiny.lanes["warehouse"] == "W2") & (tiny.lanes["region"] == "R2"))]
    extra = pd.DataFrame({"warehouse": ["W2"], "region": ["R3"], "cost_per_unit": [2.0], "fixed_cost": [0.0],
                          "capacity": [5.0]})
    changed = tiny.with_tables({"lanes": pd.concat([lanes, extra], ignore_index=True)})
    d = diff(tiny, changed)
    assert list(d["what"]) == ["row_removed", "row_added"]
    assert list(d["key"]) == ["W2/R2", "W2/R3"]
    assert d.iloc[0]["new"] is None and "cost_per_unit=1.5" in d.iloc[0]["old"]
    assert d.iloc[1]["old"] is None and "capacity=5" in d.iloc[1]["new"]


def test_diff_refuses_mixed_or_unknown_types(tiny: ops.Scenario, hand_pair: tuple) -> None:
    with pytest.raises(UsageError, match="Scenario"):
        diff(tiny, hand_pair[0])
    with pytest.raises(UsageError):
        diff(tiny.products, tiny.products)


# ---------------------------------------------------------------------- plan diff


def test_hand_built_plan_pair(hand_pair: tuple) -> None:
    a, b = hand_pair
    d = diff(a, b)
    assert list(d.columns) == ["what", "table", "key", "column", "old", "new", "delta", "rel_delta"]
    decisions = _rows(d[d["what"] != "kpi"])
    assert decisions == [
        ("launch_moved", "launches", "N1", "period", 2, 1, -1, -0.5),
        ("launch_dropped", "launches", "N2", "period", 3, None, None, None),
        ("launch_added", "launches", "N3", "period", None, 4, None, None),
        ("lane_switched_on", "lanes", "W1/R1", "period", None, "3", 1, pytest.approx(1 / 3)),
        ("lane_switched_off", "lanes", "W2/R1", "period", "1, 2", None, -2, -1.0),
        ("order_changed", "orders", "N1/W1/0", "units", 0.0, 10.0, 10.0, None),
        ("order_changed", "orders", "N1/W1/1", "units", 10.0, 0.0, -10.0, -1.0),
        # N1/W1/2: 3 + 2 units in a, 5 in b: unchanged
        ("featured_changed", "featured", "N1", "period", "2, 3", "1, 2", 0, 0.0),
        ("ad_spend_changed", "advertising", "N1/search", "spend", 150.0, 120.0, -30.0, -0.2),
        ("ad_spend_changed", "advertising", "N1/tv", "spend", 0.0, 40.0, 40.0, None),
    ]
    kpi = d[d["what"] == "kpi"].set_index("column")
    assert "build_seconds" not in kpi.index and "solve_seconds" not in kpi.index and "solver" not in kpi.index
    assert "status" not in kpi.index
    assert {f"cost.{c}" for c in COST_KEYS} <= set(kpi.index)
    assert kpi.loc["profit", "delta"] == 20.0 and kpi.loc["profit", "rel_delta"] == pytest.approx(0.2)
    assert kpi.loc["cost.purchase", "delta"] == 10.0
    assert kpi.loc["cost.holding", "delta"] == 0.0 and kpi.loc["cost.holding", "rel_delta"] is None  # old 0
    assert kpi.loc["launched", "delta"] == 0
    assert kpi.loc["fill_rate", "delta"] == pytest.approx(0.05)
    assert kpi.loc["mip_gap", "old"] == 0.0 and kpi.loc["mip_gap", "new"] is None
    assert kpi.loc["mip_gap", "delta"] is None and kpi.loc["mip_gap", "rel_delta"] is None
    t = compare([a, b], names=["a", "b"])
    assert t.loc["mip_gap", "b"] is None and t.loc["mip_gap", "Δ b"] is None and t.loc["mip_gap", "Δ% b"] is None
    assert t.loc["profit", "Δ b"] == 20.0 and t.loc["profit", "Δ% b"] == pytest.approx(20.0)


def test_plan_diff_of_a_plan_with_itself_has_only_kpi_rows(hand_pair: tuple) -> None:
    a, _ = hand_pair
    d = diff(a, a)
    assert set(d["what"]) == {"kpi"}
    assert all(x == 0 for x in d["delta"])


def test_plan_diff_equals_hand_difference(plans: dict[str, ops.Plan]) -> None:
    base, p2 = plans["base"], plans["p2"]
    assert base.kpis["profit"] == pytest.approx(502.75, abs=1e-6)  # instances/tiny/README.md
    assert p2.kpis["profit"] == pytest.approx(678.0, abs=1e-6)  # module docstring
    d = diff(base, p2)
    kpi = d[d["what"] == "kpi"].set_index("column")
    assert kpi.loc["profit", "delta"] == pytest.approx(678.0 - 502.75, abs=1e-6)
    flat = {"cost." + c: (base.kpis["costs"][c], p2.kpis["costs"][c]) for c in COST_KEYS}
    flat.update({k: (base.kpis[k], p2.kpis[k]) for k in ("profit", "revenue", "salvage", "best_bound", "units_sold",
                                                            "potential_demand", "fill_rate", "launched")})
    for name, (old, new) in flat.items():
        assert kpi.loc[name, "old"] == old and kpi.loc[name, "new"] == new, name
        assert kpi.loc[name, "delta"] == pytest.approx(new - old, abs=1e-12), name
        expected_rel = None if old == 0 else (new - old) / abs(old)
        assert kpi.loc[name, "rel_delta"] == (pytest.approx(expected_rel) if expected_rel is not None else None), name

    # launches: README (P3 1, P2 2) → docstring (P2 1, P3 2)
    assert _rows(d[d["what"].str.startswith("launch")])[:2] == [
        ("launch_moved", "launches", "P2", "period", 2, 1, -1, -0.5),
        ("launch_moved", "launches", "P3", "period", 1, 2, 1, 1.0),
    ]
    assert len(d[d["what"].str.startswith("launch")]) == 2

    # orders: the hand difference of the two orders tables
    def orders(plan: ops.Plan) -> dict:
        out: dict = {}
        for r in plan.orders.itertuples():
            k = f"{r.product}/{r.warehouse}/{r.period}"
            out[k] = out.get(k, 0.0) + r.units
        return out

    oa, ob = orders(base), orders(p2)
    expected = {k: (oa.get(k, 0.0), ob.get(k, 0.0)) for k in set(oa) | set(ob)
                if abs(oa.get(k, 0.0) - ob.get(k, 0.0)) > 1e-6}
    assert expected  # the launches moved, so the orders did
    got = {r.key: (r.old, r.new) for r in d[d["what"] == "order_changed"].itertuples()}
    assert got == expected
    for r in d[d["what"] == "order_changed"].itertuples():
        assert r.delta == pytest.approx(r.new - r.old)

    # featured: compare each product's featured periods by hand
    def featured(plan: ops.Plan) -> dict:
        out: dict = {}
        for r in plan.featured.itertuples():
            out.setdefault(r.product, set()).add(int(r.period))
        return out

    fa, fb = featured(base), featured(p2)
    changed = {p for p in set(fa) | set(fb) if fa.get(p, set()) != fb.get(p, set())}
    rows = d[d["what"] == "featured_changed"]
    assert set(rows["key"]) == changed
    for r in rows.itertuples():
        assert r.delta == len(fb.get(r.key, ())) - len(fa.get(r.key, ()))
    # no lanes switched, no ad spend in either plan (README §1)
    assert not d["what"].isin(["lane_switched_on", "lane_switched_off", "ad_spend_changed"]).any()


def test_plan_diff_lane_switched_off(plans: dict[str, ops.Plan]) -> None:
    base, nor2 = plans["base"], plans["nor2"]
    assert nor2.kpis["profit"] == pytest.approx(337.5, abs=1e-6)  # module docstring
    d = diff(base, nor2)
    lanes = d[d["what"].str.startswith("lane")]
    assert _rows(lanes) == [("lane_switched_off", "lanes", "W1/R2", "period", "0, 1, 2, 3, 4, 5", None, -6, -1.0)]
    p1 = d[(d["what"] == "order_changed") & d["key"].str.startswith("P1/")]
    # README: P1 orders 30 in periods 0, 2, 4; without R2: 30 in periods 0 and 3
    assert {r.key: (r.old, r.new) for r in p1.itertuples()} == {
        "P1/W1/2": (30.0, 0.0), "P1/W1/3": (0.0, 30.0), "P1/W1/4": (30.0, 0.0)}


# ---------------------------------------------------------------------- compare


def test_compare_kpi_table(plans: dict[str, ops.Plan]) -> None:
    base, p2, nor2 = plans["base"], plans["p2"], plans["nor2"]
    t = compare([base, p2, nor2])
    assert list(t.columns) == ["tiny", "tiny (2)", "tiny (3)", "Δ tiny (2)", "Δ% tiny (2)", "Δ tiny (3)", "Δ% tiny (3)"]
    assert list(t.index) == ["status", "profit", "revenue", *(f"cost.{c}" for c in COST_KEYS), "salvage", "best_bound",
                             "mip_gap", "units_sold", "potential_demand", "fill_rate", "launched"]
    assert t.loc["status", "tiny (2)"] == "optimal"
    assert t.loc["profit", "Δ tiny (2)"] == pytest.approx(175.25, abs=1e-6)
    assert t.loc["profit", "Δ% tiny (2)"] == pytest.approx(100 * 175.25 / 502.75)
    assert t.loc["profit", "Δ tiny (3)"] == pytest.approx(337.5 - 502.75, abs=1e-6)
    for c in COST_KEYS:
        old, new = base.kpis["costs"][c], nor2.kpis["costs"][c]
        assert t.loc[f"cost.{c}", "tiny (3)"] == new
        assert t.loc[f"cost.{c}", "Δ tiny (3)"] == pytest.approx(new - old, abs=1e-12)
        assert t.loc[f"cost.{c}", "Δ% tiny (3)"] == (None if old == 0 else pytest.approx(100 * (new - old) / old))
    assert t.loc["status", "Δ tiny (2)"] is None

    named = compare([base, p2], names=["base", "P2 +5"])
    assert list(named.columns) == ["base", "P2 +5", "Δ P2 +5", "Δ% P2 +5"]
    nameless = [ops.Plan(**base.tables(), kpis=base.kpis), ops.Plan(**p2.tables(), kpis=p2.kpis)]
    assert list(compare(nameless).columns)[:2] == ["plan 1", "plan 2"]
    with pytest.raises(UsageError, match="one name per plan"):
        compare([base, p2], names=["only"])
    with pytest.raises(UsageError, match="different"):
        compare([base, p2], names=["x", "x"])


def test_compare_accepts_plan_folders(plans: dict[str, ops.Plan], plan_dirs: dict[str, Path], tmp_path: Path) -> None:
    from_dirs = compare([str(plan_dirs["base"]), plan_dirs["p2"]], names=["a", "b"])
    from_objects = compare([plans["base"], plans["p2"]], names=["a", "b"])
    pd.testing.assert_frame_equal(from_dirs, from_objects)
    with pytest.raises(UsageError, match="not-a-plan"):
        compare([plan_dirs["base"], tmp_path / "not-a-plan"])
    with pytest.raises(UsageError, match=str(INSTANCES / "tiny")):
        compare([plan_dirs["base"], INSTANCES / "tiny"])  # a scenario folder: no kpis.json


def test_compare_details(plans: dict[str, ops.Plan]) -> None:
    base, p2, nor2 = plans["base"], plans["p2"], plans["nor2"]
    det = compare_details([base, p2, nor2], names=["base", "p2", "nor2"])
    assert set(det) == {"launches", "lanes", "costs"}
    assert det["launches"].to_dict() == {"base": {"P2": 2, "P3": 1}, "p2": {"P2": 1, "P3": 2},
                                         "nor2": {"P2": 1, "P3": 2}}
    assert det["lanes"].to_dict() == {"base": {("W1", "R1"): 6, ("W1", "R2"): 6},
                                      "p2": {("W1", "R1"): 6, ("W1", "R2"): 6},
                                      "nor2": {("W1", "R1"): 6, ("W1", "R2"): 0}}
    for name, plan in (("base", base), ("p2", p2), ("nor2", nor2)):
        assert det["costs"][name].to_dict() == plan.kpis["costs"]
    # a product launched in one plan only: blank (<NA>) in the other
    dropped = ops.Plan(**{**base.tables(), "launches": base.launches.iloc[:1]}, kpis=base.kpis, scenario_name="x")
    launches = compare_details([base, dropped])["launches"]
    assert launches.loc["P3", "tiny"] == 1 and pd.isna(launches.loc["P3", "x"])


# ---------------------------------------------------------------------- CLI


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="optsupply")
    sub = parser.add_subparsers()
    add_parser(sub)
    args = parser.parse_args(["compare", *argv])
    return args.func(args)


def test_cli_prints_kpis_launches_and_lanes(plan_dirs: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    code = _cli([str(plan_dirs["base"]), str(plan_dirs["p2"]), str(plan_dirs["nor2"])])
    out = capsys.readouterr().out
    assert code == 0
    assert "base-plan" in out and "p2-plan" in out  # default names: the folder names
    assert "1,847.50" in out  # revenue of the README, with a thousands separator
    assert "+175.25" in out and "-165.25" in out  # profit deltas 678 − 502.75 and 337.5 − 502.75
    assert "+34.86%" in out
    assert "P2 2 → 1" in out and "P3 1 → 2" in out
    assert "W1/R2 off in periods 0, 1, 2, 3, 4, 5" in out
    assert "launches:" not in out  # detail tables only with --details


def test_cli_details_and_names(plan_dirs: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    code = _cli([str(plan_dirs["base"]), str(plan_dirs["nor2"]), "--names", "base,no R2", "--details"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Δ no R2" in out and "Δ% no R2" in out
    assert "launches:" in out and "lanes:" in out and "costs:" in out
    assert "1,108.50" in out  # README purchase cost, in the costs table


def test_cli_out_csv_round_trips(plans: dict[str, ops.Plan], plan_dirs: dict[str, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "reports" / "kpis.csv"
    assert _cli([str(plan_dirs["base"]), str(plan_dirs["p2"]), "--names", "base,p2", "--out", str(out)]) == 0
    capsys.readouterr()
    back = pd.read_csv(out, index_col="kpi")
    table = compare([plans["base"], plans["p2"]], names=["base", "p2"])
    assert list(back.columns) == list(table.columns) and list(back.index) == list(table.index)
    for kpi in table.index:
        for col in table.columns:
            v, w = table.loc[kpi, col], back.loc[kpi, col]
            if v is None:
                assert pd.isna(w), (kpi, col)
            elif isinstance(v, str):
                assert w == v
            else:
                assert float(w) == v, (kpi, col)  # written with full precision
    assert float(back.loc["profit", "Δ p2"]) == pytest.approx(175.25, abs=1e-6)
    assert sorted(os.listdir(out.parent)) == ["kpis.csv"]  # no temporary file left behind


def test_write_csv_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "kpis.csv"
    target.write_text("old\n")

    def broken(self: pd.DataFrame, f: object, **kw: object) -> None:
        f.write("kpi,half a line")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_csv(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["kpis.csv"]


@pytest.mark.parametrize("case", ["scenario folder", "missing folder", "one plan", "bad names"])
def test_cli_usage_errors_exit_2(case: str, plan_dirs: dict[str, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture) -> None:
    base = str(plan_dirs["base"])
    argv, needle = {
        "scenario folder": ([base, str(INSTANCES / "tiny")], str(INSTANCES / "tiny")),
        "missing folder": ([base, str(tmp_path / "nope")], "nope"),
        "one plan": ([base], "at least 2"),
        "bad names": ([base, str(plan_dirs["p2"]), "--names", "a,b,c"], "one name per plan"),
    }[case]
    out_file = tmp_path / "k.csv"
    assert _cli([*argv, "--out", str(out_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err
    assert not out_file.exists()


def test_cli_help_has_examples() -> None:
    parser = argparse.ArgumentParser(prog="optsupply")
    sub = parser.add_subparsers()
    p = add_parser(sub)
    text = p.format_help()
    assert "PLAN_DIR" in text and "--names" in text and "--out" in text and "--details" in text
    assert "examples:" in text
