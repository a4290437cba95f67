"""Shadow prices (optsupply.analysis.sensitivity) against oracles from outside the code.

* hand-built one- or two-product scenarios whose shadow prices follow from a
  line of arithmetic (written next to each test);
* finite differences: the scenario's capacity ± ε, the *unmodified* model
  (with its capacity-derived bounds, so this also checks that removing them in
  sensitivity changes nothing) re-solved with the plan's integers fixed; the
  reported duals of every period summed must lie between the right and the left
  slope (they are equal here: no degeneracy);
* launch_earlier against the difference of two cold solves, featured slots of
  instances/tiny against its README's hand calculation.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import pytest
from pyomo.contrib.solver.solvers.highs import Highs

import optsupply as ops
from optsupply.errors import UsageError
from optsupply.scenario.generate import generate
from optsupply.model import build_model
from optsupply.cli import main
from optsupply.model.fixing import plan_integers
from optsupply.analysis.sensitivity import (COLUMNS, NOTES, NoPlanError, sensitivity,
                                   write_sensitivity)
from optsupply.plan.check import check_plan
from tests.conftest import INSTANCES

PRODUCT_HEADER = ("product,category,brand,price,unit_cost,holding_cost,volume,status,launch_earliest,launch_latest,"
                  "launch_cost,must_launch,salvage_value,lost_sale_cost,featured_lift")
SUPPLY_HEADER = "product,warehouse,lead_time,order_cost,min_order,max_order,activation_cost"


def _scenario(folder: Path, periods: int, products: list[str], warehouses: str, supply: list[str], lanes: str,
              demand: str, extra_toml: str = "", **tables: str) -> ops.Scenario:
    """Write a small scenario folder (tables as CSV text) and load it (validated)."""
    folder.mkdir(parents=True)
    (folder / "scenario.toml").write_text(
        f'name = "{folder.name}"\ncurrency = "EUR"\n\n[horizon]\nperiods = {periods}\n\n'
        f'[solver]\nmip_gap = 0\nthreads = 1\n{extra_toml}\n', encoding="utf-8")
    files = {"products": "\n".join([PRODUCT_HEADER, *products]), "warehouses": warehouses,
             "supply": "\n".join([SUPPLY_HEADER, *supply]), "lanes": lanes, "demand": demand, **tables}
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    return ops.Scenario.load(folder)


def _rows(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    return df[df["kind"] == kind].set_index("key")


def _solve(sc: ops.Scenario, **options: object) -> ops.Plan:
    plan = ops.solve(sc, threads=1, **options)
    assert plan.status == "optimal" and check_plan(sc, plan) == []
    return plan


# ---------------------------------------------------------------------- hand-built oracles


def _one_order_scenario(tmp_path: Path, storage: str, extra_toml: str = "") -> ops.Scenario:
    """P1 (price 10, cost 6, holding 0.5, volume 2) sells 10 per period in 2 periods; an order costs 30.

    Ordering twice earns 20·(10-6-0.5) - 60 = 10; ordering once at t=0 and carrying s units
    earns 3.5·(10+s) - 30 - 0.5·s, best at the largest s the limit allows (s = 5: profit 20).
    Transport is 0.25 per unit of volume = 0.5 per unit.
    """
    return _scenario(
        tmp_path / "one-order", 2, ["P1,C1,B1,10,6,0.5,2,active,,,0,false,0,0,0"],
        f"warehouse,storage_capacity,throughput_capacity\nW1,{storage},", ["P1,W1,0,30,0,inf,0"],
        "warehouse,region,cost_per_unit,fixed_cost,capacity\nW1,R1,0.25,0,inf",
        "product,region,period,demand\nP1,R1,0,10\nP1,R1,1,10", extra_toml)


def test_storage_shadow_price_by_hand(tmp_path: Path) -> None:
    """Storage 10 = 5 units binds at the end of period 0. One more unit of volume = half a unit more
    ordered at t=0, held and sold at t=1: 0.5·(10 - 6 - 0.5 transport - 0.5 holding) = 1.5 per unit of volume."""
    sc = _one_order_scenario(tmp_path, "10")
    plan = _solve(sc)
    assert plan.profit == pytest.approx(20.0)
    df = sensitivity(sc, plan, threads=1)
    st = _rows(df, "storage")
    assert list(st.index) == ["W1/period 0", "W1/period 1"]
    assert st.loc["W1/period 0", "value"] == pytest.approx(1.5, abs=1e-7)
    assert bool(st.loc["W1/period 0", "binding"]) and st.loc["W1/period 0", "usage"] == pytest.approx(10.0)
    assert st.loc["W1/period 1", "value"] == 0.0 and not st.loc["W1/period 1", "binding"]
    assert "full" in st.loc["W1/period 0", "explanation"] and "1.50 EUR" in st.loc["W1/period 0", "explanation"]
    assert set(df["kind"]) == {"storage"}  # no throughput, lane, budget, slot or launch constraint exists
    assert list(df.columns) == COLUMNS
    assert df.attrs["lp_profit"] == pytest.approx(20.0) and df.attrs["plan_profit"] == pytest.approx(20.0)
    assert df.attrs["notes"] == NOTES and "marginal values around the chosen integer plan" in NOTES.lower()


def test_working_capital_shadow_price_by_hand(tmp_path: Path) -> None:
    """Inventory value ≤ 30 lets 5 units (cost 6) be carried; one more EUR of it carries 1/6 unit
    more, worth (10 - 6 - 0.5 - 0.5)/6 = 0.5."""
    sc = _one_order_scenario(tmp_path, "", "\n[finance]\nmax_inventory_value = 30\n")
    plan = _solve(sc)
    df = sensitivity(sc, plan, threads=1)
    wc = _rows(df, "working_capital")
    assert wc.loc["period 0", "value"] == pytest.approx(0.5, abs=1e-7) and bool(wc.loc["period 0", "binding"])
    assert wc.loc["period 1", "value"] == 0.0 and not wc.loc["period 1", "binding"]
    assert "storage" not in set(df["kind"])  # infinite storage: no constraint, no row


def _two_lanes(tmp_path: Path, lane_cap: str, throughput: str) -> ops.Scenario:
    """P1 (price 10, cost 6) has demand 8 in R1 and can come from W1 (lane cost 1) or W2 (lane cost 3)."""
    return _scenario(
        tmp_path / "two-lanes", 1, ["P1,C1,B1,10,6,0,1,active,,,0,false,0,0,0"],
        f"warehouse,storage_capacity,throughput_capacity\nW1,,{throughput}\nW2,,",
        ["P1,W1,0,0,0,inf,0", "P1,W2,0,0,0,inf,0"],
        f"warehouse,region,cost_per_unit,fixed_cost,capacity\nW1,R1,1,0,{lane_cap}\nW2,R1,3,0,inf",
        "product,region,period,demand\nP1,R1,0,8")


def test_lane_capacity_shadow_price_is_the_saving_over_the_dearer_lane(tmp_path: Path) -> None:
    """Lane W1→R1 (capacity 5) is full; each unit more moves a unit off the lane that costs 3: 3 - 1 = 2.
    The model keeps this capacity as a shipment bound only (one product): sensitivity adds the row."""
    sc = _two_lanes(tmp_path, "5", "")
    plan = _solve(sc)
    assert plan.profit == pytest.approx(8 * 4 - 5 * 1 - 3 * 3)
    df = sensitivity(sc, plan, threads=1)
    lane = _rows(df, "lane_capacity")
    assert list(lane.index) == ["W1->R1/period 0"]
    assert lane.iloc[0]["value"] == pytest.approx(2.0, abs=1e-7) and bool(lane.iloc[0]["binding"])


def test_throughput_shadow_price_is_the_saving_over_the_dearer_lane(tmp_path: Path) -> None:
    sc = _two_lanes(tmp_path, "inf", "5")
    plan = _solve(sc)
    df = sensitivity(sc, plan, threads=1)
    thr = _rows(df, "throughput")
    assert list(thr.index) == ["W1/period 0"]  # W2 has no throughput limit
    assert thr.iloc[0]["value"] == pytest.approx(2.0, abs=1e-7) and bool(thr.iloc[0]["binding"])


def _hill(e: float, M: float = 100.0, k: float = 100.0) -> float:
    return M * e / (e + k)


def _ads(tmp_path: Path, budget: str, extra_toml: str = "") -> ops.Scenario:
    """P1 (margin 10 - 5 = 5, no other cost) sells 10 + uplift per period; one channel, Hill curve
    M = 100, k = 100, shape 1 (concave), no carryover. Its slope is ≤ 1, so each EUR spent returns
    at most 5 - 1 = 4 and the budget is always spent."""
    return _scenario(
        tmp_path / "ads", 2, ["P1,C1,B1,10,5,0,1,active,,,0,false,0,0,0"],
        "warehouse,storage_capacity,throughput_capacity\nW1,,", ["P1,W1,0,0,0,inf,0"],
        "warehouse,region,cost_per_unit,fixed_cost,capacity\nW1,R1,0,0,inf",
        "product,region,period,demand\nP1,R1,0,10\nP1,R1,1,10", extra_toml,
        channels=f"channel,budget\nsearch,{budget}",
        response="product,channel,max_uplift,half_saturation,shape,carryover\nP1,search,100,100,1,0")


def _first_chord_slope() -> float:
    """The model's response is the chord of the Hill curve from 0 to its first breakpoint e1
    (about 15.8 here; g(e1) = h(e1) on the concave curve)."""
    from optsupply.model.pwl import hill_pwl

    e1 = float(hill_pwl(100.0, 100.0, 1.0, 0.005).breakpoints[1])
    assert e1 > 10.0  # both budgets below end on the first chord
    return _hill(e1) / e1


def test_channel_budget_shadow_price_is_net_of_spend_and_fulfilment(tmp_path: Path) -> None:
    """Budget 10 per period is spent; one EUR more buys slope·1 units at margin 5 and costs 1 EUR:
    value = 5·slope - 1 (between 5·h(15.8)/15.8 - 1 ≈ 3.32 and the Hill slope at 0: 5·1 - 1 = 4)."""
    sc = _ads(tmp_path, "10")
    plan = _solve(sc)
    df = sensitivity(sc, plan, threads=1)
    ch = _rows(df, "channel_budget")
    expected = 5 * _first_chord_slope() - 1
    assert 3.3 < expected < 4.0
    for t in (0, 1):
        assert ch.loc[f"search/period {t}", "value"] == pytest.approx(expected, abs=1e-6)
        assert bool(ch.loc[f"search/period {t}", "binding"])
    assert "net" in ch.iloc[0]["unit"] and "net" in ch.iloc[0]["explanation"]


def test_total_budget_shadow_price(tmp_path: Path) -> None:
    """Total budget 15 over two periods (7.5 each, still on the first chord): value = 5·slope - 1."""
    sc = _ads(tmp_path, "inf", "\n[advertising]\ntotal_budget = 15\n")
    plan = _solve(sc)
    assert plan.advertising["spend"].sum() == pytest.approx(15.0)
    df = sensitivity(sc, plan, threads=1)
    total = _rows(df, "total_budget")
    assert list(total.index) == ["total"] and pd.isna(total.iloc[0]["period"])
    assert total.iloc[0]["value"] == pytest.approx(5 * _first_chord_slope() - 1, abs=1e-6)
    assert "channel_budget" not in set(df["kind"])  # an infinite channel budget has no constraint


def _ads_profit(tmp_path: Path, name: str, budget: str, extra_toml: str = "") -> float:
    """Profit of an independent cold solve of the ads scenario (gap 0), written into its own folder."""
    sc = _ads(tmp_path / name, budget, extra_toml)
    return _solve(sc, mip_gap=0.0).profit


def _true_curve_bracket(per_period: float, tol: float = 0.005, M: float = 100.0) -> tuple[float, float]:
    """Closed-form bounds on 5·g'(B) − 1 from the true Hill curve h alone (g: any concave piecewise-linear
    response with g(0) = 0 and h − tol·M ≤ g ≤ h, as SPEC §3 requires), at B = the budget per period:
    g'(B) ≤ g(B)/B ≤ h(B)/B (concave through 0), and g'(B) ≥ (g(B') − g(B))/(B' − B)
    ≥ (h(B') − tol·M − h(B))/(B' − B) for every B' > B (best of a grid of B')."""
    B = per_period
    upper = _hill(B) / B
    lower = max((_hill(b2) - tol * M - _hill(B)) / (b2 - B) for b2 in [B + 0.5 * i for i in range(1, 200)])
    return 5 * lower - 1, 5 * upper - 1


@pytest.mark.parametrize("kind, budget, extra, key, per_period", [
    ("channel_budget", "{b}", "", "search/period 0", 10.0),
    ("total_budget", "inf", "\n[advertising]\ntotal_budget = {b}\n", "total", 7.5),
], ids=["channel", "total"])
def test_budget_shadow_prices_match_independent_solves(tmp_path: Path, kind: str, budget: str, extra: str,
                                                       key: str, per_period: float) -> None:
    """Oracle without the piecewise-linear code: the profit of cold solves with the budget B − 1, B and
    B + 1 (B = 10 per period on the channel, 15 in total over the two periods). The LP value is concave
    in the budget, so the shadow price lies between the right slope V(B+1) − V(B) and the left slope
    V(B) − V(B−1) (summed over the periods for the per-period channel budget, where every period's budget
    moves together); and both lie inside the bracket the true Hill curve gives (_true_curve_bracket)."""
    B = 10.0 if kind == "channel_budget" else 15.0

    def fill(b: float) -> tuple[str, str]:
        return budget.format(b=b), extra.format(b=b)

    base = _ads(tmp_path / "base", *fill(B))
    plan = _solve(base, mip_gap=0.0)
    rows = _rows(sensitivity(base, plan, threads=1), kind)
    dual = float(rows["value"].sum())
    right = _ads_profit(tmp_path, "up", *fill(B + 1)) - plan.profit
    left = plan.profit - _ads_profit(tmp_path, "down", *fill(B - 1))
    assert right <= left + 1e-6  # concave
    assert right - 1e-6 <= dual <= left + 1e-6, (dual, right, left)
    lo, hi = _true_curve_bracket(per_period)
    periods = 2 if kind == "channel_budget" else 1  # the per-period duals summed: the budget of both periods
    for value in (dual, right, left):
        assert periods * lo - 1e-6 <= value <= periods * hi + 1e-6, (value, lo, hi)
    assert rows.loc[key, "value"] == pytest.approx(dual / periods, abs=1e-6)


def _featured(tmp_path: Path) -> ops.Scenario:
    """P1 (margin 4) and P2 (margin 3), demand 10 each, featured lift 0.5, one slot."""
    return _scenario(
        tmp_path / "featured", 1,
        ["P1,C1,B1,10,6,0,1,active,,,0,false,0,0,0.5", "P2,C1,B1,10,7,0,1,active,,,0,false,0,0,0.5"],
        "warehouse,storage_capacity,throughput_capacity\nW1,,", ["P1,W1,0,0,0,inf,0", "P2,W1,0,0,0,inf,0"],
        "warehouse,region,cost_per_unit,fixed_cost,capacity\nW1,R1,0,0,inf",
        "product,region,period,demand\nP1,R1,0,10\nP2,R1,0,10", slots="period,slots\n0,1")


def test_featured_slot_by_hand(tmp_path: Path) -> None:
    """The slot goes to P1 (5 more units at margin 4 = 20 > 15); a second slot features P2 as
    well: 0.5·10 units at margin 3 = 15, priced the same with the plan fixed or by re-solving the MIP."""
    sc = _featured(tmp_path)
    plan = _solve(sc)
    assert plan.featured["product"].tolist() == ["P1"]
    for mode, method in (("plan", "resolve_plan"), ("mip", "resolve_mip")):
        slot = _rows(sensitivity(sc, plan, featured=mode, threads=1), "featured_slot")
        assert slot.loc["period 0", "value"] == pytest.approx(15.0, abs=1e-6)
        assert slot.loc["period 0", "method"] == method and bool(slot.loc["period 0", "binding"])
    # a plan that leaves the slot empty: one more slot is worth nothing to it
    unfeatured = replace(plan, featured=plan.featured.iloc[0:0])
    slot = _rows(sensitivity(sc, unfeatured, threads=1), "featured_slot")
    assert slot.loc["period 0", "value"] == 0.0 and slot.loc["period 0", "method"] == "free"
    assert not slot.loc["period 0", "binding"]


# ---------------------------------------------------------------------- instances/tiny


@pytest.fixture(scope="module")
def tiny() -> tuple[ops.Scenario, ops.Plan, pd.DataFrame]:
    sc = ops.Scenario.load(INSTANCES / "tiny")
    plan = _solve(sc)
    return sc, plan, sensitivity(sc, plan, threads=1)


def test_tiny_featured_slots_by_hand(tiny: tuple) -> None:
    """tiny (README): P3 launches in 1, P2 in 2; one slot per period, featured P3, P2, P2, P2, P3.
    A second slot in period t features the other product: lift 0.5 of its base demand, each unit
    earning price - cost - lane cost (R1 0.5, R2 1.0; P2 and P3 have no order cost):
      t=1: P2 is not launched yet -> 0
      t=2: P3 age 1, R1 3 / R2 1 -> 1.5·(15-9-0.5) + 0.5·(15-9-1) = 10.75
      t=3: P3 age 2, R1 2 / R2 1 -> 1·5.5 + 0.5·5 = 8;  t=4: P3 age 3, same demand -> 8
      t=5: P2 age 3, R1 2 / R2 0 -> 1·(20-12-0.5) = 7.5"""
    sc, plan, df = tiny
    assert plan.launches.values.tolist() == [["P2", 2], ["P3", 1]]
    slot = _rows(df, "featured_slot")
    expected = {1: 0.0, 2: 10.75, 3: 8.0, 4: 8.0, 5: 7.5}
    assert sorted(slot["period"].tolist()) == sorted(expected)
    for t, v in expected.items():
        assert slot.loc[f"period {t}", "value"] == pytest.approx(v, abs=1e-6)
        assert bool(slot.loc[f"period {t}", "binding"])
    assert df.attrs["lp_profit"] == pytest.approx(plan.profit, abs=1e-6)
    # nothing else binds in tiny (README: W1's storage of 40 is never approached, ads do not pay)
    caps = df[df["method"] == "lp_dual"]
    assert not caps["binding"].any() and (caps["value"] == 0).all()


def test_tiny_launch_earlier_equals_two_cold_solves(tiny: tuple) -> None:
    """P2 (launched in 2, window 1-3) forced to launch in 1: a cold solve of tiny with P2's window
    set to [1, 1] and must_launch, minus the plan's profit. P3 already launches at its earliest period."""
    sc, plan, df = tiny
    rows = _rows(df, "launch_earlier")
    forced = sc.with_changes({"products.launch_earliest": {"P2": 1}, "products.launch_latest": {"P2": 1},
                              "products.must_launch": {"P2": True}})
    cold = _solve(forced)
    assert cold.launches.set_index("product").loc["P2", "period"] == 1
    assert rows.loc["P2/period 1", "value"] == pytest.approx(cold.profit - plan.profit, abs=1e-6)
    assert rows.loc["P2/period 1", "value"] < 0 and rows.loc["P2/period 1", "status"] == "optimal"
    assert rows.loc["P3/period 0", "status"] == "not_allowed" and pd.isna(rows.loc["P3/period 0", "value"])


# ---------------------------------------------------------------------- finite differences on xsmall


def _fixed_lp_profit(sc: ops.Scenario, plan: ops.Plan) -> float:
    """Profit of the plain model (data-derived bounds and all) with the plan's integers fixed."""
    m, d = build_model(sc)
    for v, val in plan_integers(m, d, plan).items():
        v.domain = pyo.Reals
        v.fix(val)
    res = Highs().solve(m, load_solutions=False, raise_exception_on_nonoptimal_result=False, threads=1)
    assert res.termination_condition.name == "convergenceCriteriaSatisfied"
    return res.incumbent_objective


@pytest.fixture(scope="module")
def xsmall() -> tuple[ops.Scenario, ops.Plan, pd.DataFrame]:
    """xsmall seed 1 (profile stress: its tightened capacities were chosen on that data) tightened so that every
    kind of capacity binds somewhere."""
    sc = generate("xsmall", 1, profile="stress").with_changes({
        "warehouses.storage_capacity": "*0.25", "response.max_uplift": "*4", "channels.budget": {"social": 30.0},
        "finance.max_inventory_value": 1800.0, "advertising.total_budget": 300.0})
    # the optimal plan (gap 1e-4): which capacities bind then does not depend on HiGHS's search path, as a
    # plan within a looser gap would
    plan = _solve(sc, mip_gap=1e-4)
    return sc, plan, sensitivity(sc, plan, threads=1, launch_earlier=False)


def _capacities(sc: ops.Scenario) -> list[tuple[str, str, dict | None, float, str]]:
    """(scenario change key, kind, {row key: capacity} or None for a setting, capacity, key prefix)."""
    out = []
    wh = sc.warehouses.set_index("warehouse")
    for w in wh.index:
        for column, kind in (("storage_capacity", "storage"), ("throughput_capacity", "throughput")):
            cap = wh.loc[w, column]
            out.append((f"warehouses.{column}", kind, {w: cap}, cap, f"{w}/"))
    for (w, r), cap in sc.lanes.set_index(["warehouse", "region"])["capacity"].items():
        out.append(("lanes.capacity", "lane_capacity", {(w, r): cap}, cap, f"{w}->{r}/"))
    for c, cap in sc.channels.set_index("channel")["budget"].items():
        out.append(("channels.budget", "channel_budget", {c: cap}, cap, f"{c}/"))
    out.append(("advertising.total_budget", "total_budget", None, sc.settings["advertising.total_budget"], ""))
    out.append(("finance.max_inventory_value", "working_capital", None, sc.settings["finance.max_inventory_value"], ""))
    return [x for x in out if math.isfinite(x[3])]


def test_duals_match_finite_differences_on_xsmall(xsmall: tuple) -> None:
    sc, plan, df = xsmall
    base = _fixed_lp_profit(sc, plan)
    assert df.attrs["lp_profit"] == pytest.approx(base, rel=1e-9, abs=1e-6)  # removing derived bounds changes nothing
    assert base >= plan.profit - 1e-6 and base <= plan.kpis["best_bound"] + 1e-6 * abs(base)
    nonzero = set()
    for key, kind, where, cap, prefix in _capacities(sc):
        rows = df[(df["kind"] == kind) & df["key"].str.startswith(prefix)]
        assert len(rows) > 0, (kind, prefix)
        dual = float(rows["value"].sum())
        eps = 1e-4 * cap

        def change(delta: float) -> ops.Scenario:
            value = cap + delta
            return sc.with_changes({key: {k: value for k in where} if where else value})

        right = (_fixed_lp_profit(change(eps), plan) - base) / eps
        tol = 1e-5 * max(1.0, abs(dual)) + 2e-6 * abs(base) / eps
        if abs(dual - right) > tol:  # degenerate: the dual lies between the right and the left slope
            left = (base - _fixed_lp_profit(change(-eps), plan)) / eps
            assert right - tol <= dual <= left + tol, (kind, prefix, dual, right, left)
        if dual > 1e-6:
            nonzero.add(kind)
        assert (rows["value"] >= 0).all()
        assert ((rows["value"] == 0) | rows["binding"]).all()  # complementary slackness
    assert nonzero == {"storage", "throughput", "lane_capacity", "channel_budget", "total_budget", "working_capital"}


def test_plan_integers_reproduce_the_plan(xsmall: tuple, tmp_path: Path) -> None:
    """A plan read back from its folder gives the same table (the CSV round trip keeps every integer)."""
    sc, plan, df = xsmall
    plan.save(tmp_path / "plan")
    again = sensitivity(sc, tmp_path / "plan", threads=1, launch_earlier=False)
    pd.testing.assert_frame_equal(df, again, check_exact=False, rtol=1e-7, atol=1e-7)


# ---------------------------------------------------------------------- errors, writing, command line


def test_plan_for_another_scenario_is_refused(tiny: tuple, tmp_path: Path) -> None:
    sc, plan, _ = tiny
    late = sc.with_changes({"products.launch_earliest": {"P2": 3}})  # the plan launches P2 in 2
    with pytest.raises(UsageError, match="launches P2 in period 2.*does not fit"):
        sensitivity(late, plan, threads=1, launch_earlier=False)
    big_orders = sc.with_changes({"supply.min_order": {("P1", "W1"): 100.0}})  # > storage 40 + 15 sold
    with pytest.raises(UsageError, match="does not fit"):
        sensitivity(big_orders, plan, threads=1, launch_earlier=False)
    with pytest.raises(NoPlanError):
        sensitivity(sc, ops.plan.empty_plan("infeasible", "x"), threads=1)
    with pytest.raises(UsageError, match="featured"):
        sensitivity(sc, plan, featured="maybe")


def test_write_sensitivity_is_complete_or_nothing(tiny: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, df = tiny
    path = write_sensitivity(df, tmp_path)
    assert path == tmp_path / "sensitivity.csv"
    back = pd.read_csv(path)
    assert list(back.columns) == COLUMNS and len(back) == len(df)
    assert back["value"].fillna(-1).tolist() == pytest.approx(df["value"].fillna(-1).tolist())
    assert write_sensitivity(df, tmp_path / "x.csv") == tmp_path / "x.csv"

    before = path.read_bytes()

    def broken(self: pd.DataFrame, f: object, **kwargs: object) -> None:
        f.write("kind,key\npartial")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_sensitivity(df, tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sensitivity.csv", "x.csv"]


def test_command_line(tiny: tuple, tmp_path: Path, capsys: pytest.CaptureFixture,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    sc, plan, df = tiny
    plan.save(tmp_path / "plan")
    before = {f.name: f.read_bytes() for f in (tmp_path / "plan").iterdir()}
    monkeypatch.chdir(tmp_path)
    assert main(["sensitivity", str(INSTANCES / "tiny"), "--plan", str(tmp_path / "plan"),
                 "--no-launch-earlier", "--threads", "1"]) == 0
    # the default file sits in the current folder, named after the plan; the plan folder read is untouched
    assert {f.name: f.read_bytes() for f in (tmp_path / "plan").iterdir()} == before
    written = pd.read_csv(tmp_path / "plan-sensitivity.csv")
    assert len(written) == len(df) - (df["kind"] == "launch_earlier").sum()
    out = capsys.readouterr().out
    assert "featured_slot" in out and "marginal values around the chosen integer plan" in out.lower()
    assert main(["sensitivity", str(INSTANCES / "tiny"), "--plan", str(tmp_path / "nowhere")]) == 2
    assert "not a plan folder" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "nowhere")
