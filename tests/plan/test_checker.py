"""The independent plan checker, against the hand-solved plan of instances/tiny and corrupted copies of it."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

import optsupply as ops
from optsupply.plan.check import assert_plan_feasible, check_plan, evaluate_plan
from tests.conftest import INSTANCES

# ---------------------------------------------------------------------- the optimal plan of tiny, by hand


@dataclass
class HandPlan:
    """A plan as plain DataFrames, the way the checker reads any plan."""

    launches: pd.DataFrame
    orders: pd.DataFrame
    stock: pd.DataFrame
    shipments: pd.DataFrame
    sales: pd.DataFrame
    advertising: pd.DataFrame
    featured: pd.DataFrame
    lanes: pd.DataFrame
    kpis: dict = field(default_factory=dict)

    def copy(self) -> HandPlan:
        return copy.deepcopy(self)


def frame(columns: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns.split())


SALES_COLUMNS = "product region period base_demand ad_uplift featured_uplift potential_demand sales lost"


def sales_row(product: str, region: str, period: int, base: float, featured: float = 0.0) -> tuple:
    """A sales row where the plan sells its whole potential demand (no ads in tiny's optimum)."""
    potential = base + featured
    return (product, region, period, base, 0.0, featured, potential, potential, 0.0)


def tiny_sales() -> pd.DataFrame:
    rows = []
    # P1: active, 10 per period in R1 and 5 in R2, no featured lift.
    for t in range(6):
        rows += [sales_row("P1", "R1", t, 10), sales_row("P1", "R2", t, 5)]
    # P3 launched in period 1 (ages 0..4 in periods 1..5), featured in periods 1 and 5 (lift 0.5).
    p3_r1 = {1: 3, 2: 3, 3: 2, 4: 2, 5: 2}
    p3_r2 = {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
    for t in range(1, 6):
        lift = 0.5 if t in (1, 5) else 0.0
        rows += [sales_row("P3", "R1", t, p3_r1[t], lift * p3_r1[t]), sales_row("P3", "R2", t, p3_r2[t], lift * p3_r2[t])]
    # P2 launched in period 2 (ages 0..3 in periods 2..5), featured in periods 2, 3 and 4.
    p2_r1 = {2: 4, 3: 6, 4: 4, 5: 2}
    p2_r2 = {2: 2, 3: 2, 4: 2}
    for t in range(2, 6):
        lift = 0.5 if t in (2, 3, 4) else 0.0
        rows.append(sales_row("P2", "R1", t, p2_r1[t], lift * p2_r1[t]))
        if t in p2_r2:
            rows.append(sales_row("P2", "R2", t, p2_r2[t], lift * p2_r2[t]))
    return frame(SALES_COLUMNS, rows)


TINY_KPIS = {
    "status": "optimal", "profit": 502.75, "objective": 502.75, "best_bound": 502.75, "mip_gap": 0.0,
    "revenue": 1847.5, "salvage": 0.0,
    "costs": {"purchase": 1108.5, "ordering": 60.0, "activation": 0.0, "holding": 22.5, "transport": 93.75,
              "lane_fixed": 0.0, "advertising": 0.0, "launch": 20.0, "onboarding": 40.0, "lost_sale": 0.0},
    "units_sold": 142.5, "potential_demand": 142.5, "fill_rate": 1.0, "launched": 2,
    "build_seconds": 0.1, "solve_seconds": 0.1,
}


def tiny_plan() -> HandPlan:
    """The optimal plan of instances/tiny (README): every row written out."""
    sales = tiny_sales()
    # All sales are shipped from W1, in the period and to the region where they are sold.
    shipments = sales.assign(warehouse="W1", units=sales["sales"])[["product", "warehouse", "region", "period", "units"]]
    return HandPlan(
        launches=frame("product period", [("P3", 1), ("P2", 2)]),
        orders=frame("product warehouse period arrival units", [
            ("P1", "W1", 0, 0, 30.0), ("P1", "W1", 2, 2, 30.0), ("P1", "W1", 4, 4, 30.0),
            # P3 just in time (lead time 1): period t's sales are ordered in t-1.
            ("P3", "W1", 0, 1, 6.0), ("P3", "W1", 1, 2, 4.0), ("P3", "W1", 2, 3, 3.0), ("P3", "W1", 3, 4, 3.0),
            ("P3", "W1", 4, 5, 4.5),
            ("P2", "W1", 1, 2, 9.0), ("P2", "W1", 2, 3, 12.0), ("P2", "W1", 3, 4, 9.0), ("P2", "W1", 4, 5, 2.0),
        ]),
        stock=frame("product warehouse period units", [("P1", "W1", 0, 15.0), ("P1", "W1", 2, 15.0), ("P1", "W1", 4, 15.0)]),
        shipments=shipments,
        sales=sales,
        advertising=frame("product channel period spend effective_spend uplift", []),
        featured=frame("product period", [("P3", 1), ("P2", 2), ("P2", 3), ("P2", 4), ("P3", 5)]),
        lanes=frame("warehouse region period volume used", [
            ("W1", "R1", 0, 10.0, True), ("W1", "R1", 1, 14.5, True), ("W1", "R1", 2, 19.0, True),
            ("W1", "R1", 3, 21.0, True), ("W1", "R1", 4, 18.0, True), ("W1", "R1", 5, 15.0, True),
            ("W1", "R2", 0, 5.0, True), ("W1", "R2", 1, 6.5, True), ("W1", "R2", 2, 9.0, True),
            ("W1", "R2", 3, 9.0, True), ("W1", "R2", 4, 9.0, True), ("W1", "R2", 5, 6.5, True),
        ]),
        kpis=copy.deepcopy(TINY_KPIS),
    )


@pytest.fixture(scope="module")
def tiny() -> ops.Scenario:
    return ops.Scenario.load(INSTANCES / "tiny")


@pytest.fixture
def plan() -> HandPlan:
    return tiny_plan()


def reported(problems: list[str], *phrases: str) -> bool:
    """Some problem mentions every phrase (case-insensitive)."""
    return any(all(p.lower() in problem.lower() for p in phrases) for problem in problems)


def assert_reported(problems: list[str], *phrases: str) -> None:
    assert reported(problems, *phrases), f"no problem mentions {phrases}; got:\n" + "\n".join(problems)


def set_value(df: pd.DataFrame, where: dict, column: str, value) -> pd.DataFrame:
    """A copy of ``df`` with ``column`` set to ``value`` on the one row matching ``where``."""
    mask = pd.Series(True, index=df.index)
    for k, v in where.items():
        mask &= df[k] == v
    assert mask.sum() == 1, f"{where} matches {mask.sum()} rows"
    out = df.copy()
    out.loc[mask, column] = value
    return out


def add_rows(df: pd.DataFrame, rows: list[tuple]) -> pd.DataFrame:
    return pd.concat([df, pd.DataFrame(rows, columns=df.columns)], ignore_index=True)


def lanes_from(shipments: pd.DataFrame) -> pd.DataFrame:
    """The lanes table that goes with ``shipments`` (every product has volume 1 in tiny)."""
    lanes = shipments.groupby(["warehouse", "region", "period"], as_index=False)["units"].sum()
    return lanes.rename(columns={"units": "volume"}).assign(used=True)


# ---------------------------------------------------------------------- the optimal plan passes


def test_hand_solved_plan_is_feasible(tiny: ops.Scenario, plan: HandPlan) -> None:
    assert check_plan(tiny, plan) == []
    assert_plan_feasible(tiny, plan)


def test_hand_solved_plan_profit_and_parts(tiny: ops.Scenario, plan: HandPlan) -> None:
    value = evaluate_plan(tiny, plan)
    assert value["profit"] == pytest.approx(502.75, abs=1e-9)
    assert value["revenue"] == pytest.approx(1847.5, abs=1e-9)
    assert value["salvage"] == pytest.approx(0.0, abs=1e-9)
    expected_costs = {"purchase": 1108.5, "ordering": 60.0, "activation": 0.0, "holding": 22.5, "transport": 93.75,
                      "lane_fixed": 0.0, "advertising": 0.0, "launch": 20.0, "onboarding": 40.0, "lost_sale": 0.0}
    assert value["costs"].keys() == expected_costs.keys()
    for key, cost in expected_costs.items():
        assert value["costs"][key] == pytest.approx(cost, abs=1e-9), key
    assert value["units_sold"] == pytest.approx(142.5)
    assert value["potential_demand"] == pytest.approx(142.5)
    assert value["fill_rate"] == pytest.approx(1.0)
    assert value["launched"] == 2


def test_date_column_and_csv_style_flags_are_accepted(tiny: ops.Scenario, plan: HandPlan) -> None:
    dates = pd.date_range("2027-01-04", periods=6, freq="W-MON")
    for name in ("launches", "orders", "stock", "shipments", "sales", "featured", "lanes"):
        df = getattr(plan, name)
        setattr(plan, name, df.assign(date=dates[df["period"].to_numpy()]))
    plan.lanes = plan.lanes.assign(used=plan.lanes["used"].map({True: "true"}))  # as read back from CSV
    assert check_plan(tiny, plan) == []


def test_assert_plan_feasible_lists_every_violation(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.stock = set_value(plan.stock, {"period": 0}, "units", 14.0)
    plan.kpis["profit"] = 600.0
    with pytest.raises(AssertionError) as info:
        assert_plan_feasible(tiny, plan)
    assert "stock balance" in str(info.value) and "kpis profit" in str(info.value)


def test_salvage_and_holding_follow_the_final_stock(tiny: ops.Scenario, plan: HandPlan) -> None:
    # 5 more P1 units ordered in period 4 are held at the end of periods 4 and 5 and salvaged at 3 each.
    plan.orders = set_value(plan.orders, {"product": "P1", "period": 4}, "units", 35.0)
    plan.stock = add_rows(set_value(plan.stock, {"period": 4}, "units", 20.0), [("P1", "W1", 5, 5.0)])
    value = evaluate_plan(tiny, plan)
    assert value["salvage"] == pytest.approx(15.0)
    assert value["costs"]["purchase"] == pytest.approx(1108.5 + 30.0)
    assert value["costs"]["holding"] == pytest.approx(22.5 + 2 * 2.5)
    assert value["profit"] == pytest.approx(502.75 + 15.0 - 30.0 - 5.0)
    assert reported(check_plan(tiny, plan), "kpis profit")  # the KPIs were not updated


# ---------------------------------------------------------------------- advertising: a feasible plan and its breaches


def hill(e: float, s: float = 1.0) -> float:
    """P1's search response in tiny: max_uplift 6, half saturation 200, shape s."""
    return 6.0 * e**s / (e**s + 200.0**s) if e > 0 else 0.0


def with_ads(plan: HandPlan, spend: dict[int, float], uplift: dict[int, float] | None = None, *,
             carryover: float = 0.5, shape: float = 1.0) -> HandPlan:
    """``plan`` plus P1 search spend per period, its effective spend and the uplift on the true curve.

    ``uplift`` overrides the uplift of some periods. The plan counts on the uplift (split 2:1 over R1/R2 as
    P1's demand) but sells no more: it becomes lost demand, and the KPIs are updated to match.
    """
    plan = plan.copy()
    rows, effective = [], 0.0
    uplift = dict(uplift or {})
    for t in range(6):
        effective = spend.get(t, 0.0) + carryover * effective
        u = uplift.get(t, hill(effective, shape))
        if spend.get(t, 0.0) or effective:
            rows.append(("P1", "search", t, spend.get(t, 0.0), effective, u))
            uplift[t] = u
    plan.advertising = frame("product channel period spend effective_spend uplift", rows)
    sales = plan.sales.copy()
    for t, u in uplift.items():
        for region, share in (("R1", 2 / 3), ("R2", 1 / 3)):
            mask = (sales["product"] == "P1") & (sales["region"] == region) & (sales["period"] == t)
            sales.loc[mask, "ad_uplift"] = share * u
            sales.loc[mask, "potential_demand"] += share * u
            sales.loc[mask, "lost"] += share * u
    plan.sales = sales
    total_uplift = sum(uplift.values())
    total_spend = sum(spend.values())
    plan.kpis["costs"]["advertising"] = total_spend
    plan.kpis["profit"] = plan.kpis["objective"] = plan.kpis["best_bound"] = 502.75 - total_spend
    plan.kpis["potential_demand"] = 142.5 + total_uplift
    plan.kpis["fill_rate"] = 142.5 / (142.5 + total_uplift)
    return plan


def test_advertising_plan_on_the_curve_is_feasible(tiny: ops.Scenario, plan: HandPlan) -> None:
    ads = with_ads(plan, {0: 100.0})
    assert check_plan(tiny, ads) == []
    value = evaluate_plan(tiny, ads)
    assert value["costs"]["advertising"] == pytest.approx(100.0)
    # effective spend 100, 50, 25, ... -> uplift 6e/(e+200)
    expected_uplift = sum(6 * e / (e + 200) for e in (100, 50, 25, 12.5, 6.25, 3.125))
    assert value["potential_demand"] == pytest.approx(142.5 + expected_uplift)


def test_ad_uplift_above_the_true_hill_curve(tiny: ops.Scenario, plan: HandPlan) -> None:
    ads = with_ads(plan, {0: 100.0}, uplift={0: 2.5})  # the curve gives 6·100/300 = 2
    problems = check_plan(tiny, ads)
    assert_reported(problems, "uplift of P1 on search in period 0 is 2.5", "above the response curve", "= 2 ")
    assert len(problems) == 1, problems


def test_ad_uplift_above_an_s_shaped_curve(tiny_copy: Path, plan: HandPlan) -> None:
    text = (tiny_copy / "response.csv").read_text().replace("P1,search,6,200,1,0.5", "P1,search,6,200,2,0")
    (tiny_copy / "response.csv").write_text(text)
    scenario = ops.Scenario.load(tiny_copy)
    # s = 2, carryover 0: at spend 100 the curve is 6·100²/(100² + 200²) = 1.2
    assert check_plan(scenario, with_ads(plan, {0: 100.0}, carryover=0.0, shape=2.0)) == []
    # 1.5 lies above the S-shaped curve at that spend
    problems = check_plan(scenario, with_ads(plan, {0: 100.0}, {0: 1.5}, carryover=0.0, shape=2.0))
    assert_reported(problems, "uplift of P1 on search in period 0 is 1.5", "above the response curve", "= 1.2")
    assert len(problems) == 1, problems


def test_wrong_effective_spend(tiny: ops.Scenario, plan: HandPlan) -> None:
    ads = with_ads(plan, {0: 100.0})
    ads.advertising = set_value(ads.advertising, {"period": 1}, "effective_spend", 40.0)  # carryover gives 50
    assert_reported(check_plan(tiny, ads), "effective spend", "period 1", "gives 50")


def test_channel_budget_exceeded(tiny: ops.Scenario, plan: HandPlan) -> None:
    ads = with_ads(plan, {0: 150.0})  # search's budget is 100 per period
    problems = check_plan(tiny, ads)
    assert_reported(problems, "channel search", "budget 100")
    assert not reported(problems, "response curve")


def test_total_advertising_budget_exceeded(tiny: ops.Scenario, plan: HandPlan) -> None:
    ads = with_ads(plan, {t: 100.0 for t in range(6)})  # 600 > advertising.total_budget 500
    problems = check_plan(tiny, ads)
    assert_reported(problems, "total advertising spend", "total_budget")
    assert not reported(problems, "per-period budget")


def test_ad_uplift_split_over_regions(tiny: ops.Scenario, plan: HandPlan) -> None:
    ads = with_ads(plan, {0: 90.0})
    sales = ads.sales
    r1 = (sales["product"] == "P1") & (sales["period"] == 0) & (sales["region"] == "R1")
    r2 = (sales["product"] == "P1") & (sales["period"] == 0) & (sales["region"] == "R2")
    # all of the uplift counted in R1 instead of 2:1
    moved = float(sales.loc[r2, "ad_uplift"].iloc[0])
    for mask, delta in ((r1, moved), (r2, -moved)):
        for col in ("ad_uplift", "potential_demand", "lost"):
            sales.loc[mask, col] += delta
    assert_reported(check_plan(tiny, ads), "ad uplift of P1 in R1 in period 0", "share 0.666667")


# ---------------------------------------------------------------------- stock and orders


def test_stock_imbalance(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.stock = set_value(plan.stock, {"period": 2}, "units", 14.0)
    assert_reported(check_plan(tiny, plan), "stock balance", "P1 at W1", "period 2")


def test_missing_stock_row_counts_as_zero(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.stock = plan.stock[plan.stock["period"] != 4]
    assert_reported(check_plan(tiny, plan), "stock balance", "period 4", "give 15")


def test_negative_stock(tiny: ops.Scenario, plan: HandPlan) -> None:
    # without the period-2 order, P1's shipments in periods 2 and 3 draw stock below zero
    plan.orders = plan.orders[~((plan.orders["product"] == "P1") & (plan.orders["period"] == 2))]
    problems = check_plan(tiny, plan)
    assert_reported(problems, "negative stock", "P1 at W1", "-15", "period 2")
    assert_reported(problems, "negative stock", "-30", "period 3")


def test_negative_units_in_a_table(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.stock = add_rows(plan.stock, [("P2", "W1", 0, -1.0)])
    assert_reported(check_plan(tiny, plan), "negative units")


def test_order_arriving_after_the_horizon(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.orders = add_rows(plan.orders, [("P2", "W1", 5, 6, 1.0)])
    assert_reported(check_plan(tiny, plan), "P2 at W1 placed in period 5", "after the horizon")


def test_order_arrival_disagrees_with_lead_time(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.orders = set_value(plan.orders, {"product": "P2", "period": 1}, "arrival", 3)
    assert_reported(check_plan(tiny, plan), "lead time 1", "period 2")


def test_order_for_a_pair_without_supply(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.orders = add_rows(plan.orders, [("P2", "W2", 1, 2, 1.0)])
    assert_reported(check_plan(tiny, plan), "supply.csv has no row for P2 in W2")


def test_order_below_min_order(tiny: ops.Scenario, plan: HandPlan) -> None:
    scenario = tiny.with_changes({"supply.min_order": {("P3", "W1"): 5}})
    problems = check_plan(scenario, plan)
    assert_reported(problems, "P3 at W1 placed in period 1", "below min_order 5")
    assert not reported(problems, "P3 at W1 placed in period 0", "min_order")


# ---------------------------------------------------------------------- launches and the category rule


def test_launch_outside_its_window(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.launches = frame("product period", [("P3", 1), ("P2", 4)])  # P2's window is 1..3
    assert_reported(check_plan(tiny, plan), "launch of P2 in period 4", "window 1 … 3")


def test_two_launches_in_one_period(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.launches = frame("product period", [("P3", 2), ("P2", 2)])  # at most one launch per period
    assert_reported(check_plan(tiny, plan), "2 launches in period 2", "max_per_period = 1")


def test_product_launched_twice(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.launches = add_rows(plan.launches, [("P2", 3)])
    assert_reported(check_plan(tiny, plan), "P2 is launched 2 times")


def test_active_product_cannot_launch(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.launches = add_rows(plan.launches, [("P1", 0)])
    assert_reported(check_plan(tiny, plan), "P1 is an active product")


def test_must_launch_product_not_launched(tiny: ops.Scenario, plan: HandPlan) -> None:
    scenario = tiny.with_changes({"products.must_launch": {"P2": True}})
    plan.launches = frame("product period", [("P3", 1)])
    assert_reported(check_plan(scenario, plan), "P2 must launch")


def test_category_min_products_broken(tiny: ops.Scenario, plan: HandPlan) -> None:
    # only P2 launches: everything about P3 is removed, so only the category rule (and the KPIs) break
    for name in ("launches", "orders", "shipments", "sales", "featured"):
        df = getattr(plan, name)
        setattr(plan, name, df[df["product"] != "P3"])
    plan.lanes = lanes_from(plan.shipments)
    problems = check_plan(tiny, plan)
    assert_reported(problems, "category C2 launches 1 product(s) (P2)", "at least 2")
    assert all("kpis" in p or "category C2" in p for p in problems), problems


def test_selling_before_launch(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.shipments = add_rows(plan.shipments, [("P2", "W1", "R1", 1, 1.0)])
    plan.sales = add_rows(plan.sales, [("P2", "R1", 1, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0)])
    problems = check_plan(tiny, plan)
    assert_reported(problems, "P2 is shipped from W1 to R1 in period 1 while not active", "launches in period 2")
    assert_reported(problems, "P2 has sales 1", "while not active")


def test_base_demand_must_follow_the_launch(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.sales = set_value(plan.sales, {"product": "P2", "region": "R1", "period": 3}, "base_demand", 4.0)
    assert_reported(check_plan(tiny, plan), "base demand of P2 in R1 in period 3", "forecast gives 6", "age 1")


# ---------------------------------------------------------------------- featured slots


def test_more_featured_than_slots(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.featured = add_rows(plan.featured, [("P1", 1)])
    assert_reported(check_plan(tiny, plan), "period 1 features 2 product(s) (P1, P3)", "1 featured slot")


def test_period_without_slots_row_has_none(tiny_copy: Path, plan: HandPlan) -> None:
    (tiny_copy / "slots.csv").write_text("period,slots\n0,1\n1,1\n2,1\n3,1\n4,1\n")
    scenario = ops.Scenario.load(tiny_copy)
    assert_reported(check_plan(scenario, plan), "period 5 features 1 product(s) (P3)", "0 featured slot")


def test_featured_uplift_above_lift_times_base(tiny: ops.Scenario, plan: HandPlan) -> None:
    where = {"product": "P2", "region": "R1", "period": 3}
    for col, value in (("featured_uplift", 4.0), ("potential_demand", 10.0), ("sales", 10.0)):
        plan.sales = set_value(plan.sales, where, col, value)
    problems = check_plan(tiny, plan)
    assert_reported(problems, "featured uplift of P2 in R1 in period 3 is 4", "featured_lift × base demand = 3")


def test_featured_uplift_without_featuring(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.featured = plan.featured[plan.featured["period"] != 5]
    assert_reported(check_plan(tiny, plan), "P3 is not featured in period 5")


# ---------------------------------------------------------------------- sales rows


def test_lost_is_not_potential_minus_sales(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.sales = set_value(plan.sales, {"product": "P1", "region": "R1", "period": 0}, "lost", 1.0)
    assert_reported(check_plan(tiny, plan), "lost sales of P1 in R1 in period 0 are 1", "potential demand − sales = 0")


def test_sales_must_equal_shipments(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.sales = set_value(plan.sales, {"product": "P1", "region": "R2", "period": 1}, "sales", 4.0)
    plan.sales = set_value(plan.sales, {"product": "P1", "region": "R2", "period": 1}, "lost", 1.0)
    assert_reported(check_plan(tiny, plan), "sales of P1 in R2 in period 1 are 4", "shipments to R2 total 5")


def test_sales_above_potential(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.shipments = set_value(plan.shipments, {"product": "P1", "region": "R1", "period": 1}, "units", 11.0)
    plan.sales = set_value(plan.sales, {"product": "P1", "region": "R1", "period": 1}, "sales", 11.0)
    plan.sales = set_value(plan.sales, {"product": "P1", "region": "R1", "period": 1}, "lost", -1.0)
    assert_reported(check_plan(tiny, plan), "sales of P1 in R1 in period 1 are 11", "above the potential demand 10")


# ---------------------------------------------------------------------- routes and capacities


def test_lane_capacity_exceeded(tiny: ops.Scenario, plan: HandPlan) -> None:
    scenario = tiny.with_changes({"lanes.capacity": {("W1", "R1"): 5}})
    problems = check_plan(scenario, plan)
    assert_reported(problems, "lane W1 → R1 carries volume 10 in period 0", "capacity 5")
    assert not reported(problems, "lane W1 → R2", "capacity")


def test_shipment_on_a_lane_that_does_not_exist(tiny_copy: Path, plan: HandPlan) -> None:
    lanes = tiny_copy / "lanes.csv"
    lanes.write_text("".join(line for line in lanes.read_text().splitlines(keepends=True) if not line.startswith("W1,R2")))
    scenario = ops.Scenario.load(tiny_copy)
    problems = check_plan(scenario, plan)
    assert_reported(problems, "shipment of P1 from W1 to R2 in period 0 uses no lane")


def test_lanes_table_must_report_the_shipped_volume(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.lanes = set_value(plan.lanes, {"region": "R1", "period": 3}, "volume", 20.0)
    plan.lanes = set_value(plan.lanes, {"region": "R2", "period": 3}, "used", False)
    problems = check_plan(tiny, plan)
    assert_reported(problems, "volume of W1 → R1 in period 3 is 20", "add up to 21")
    assert_reported(problems, "lane W1 → R2 carries volume 9 in period 3 but is not marked used")


def test_storage_capacity_exceeded(tiny: ops.Scenario, plan: HandPlan) -> None:
    scenario = tiny.with_changes({"warehouses.storage_capacity": {"W1": 10}})
    problems = check_plan(scenario, plan)
    assert_reported(problems, "warehouse W1 holds volume 15 at the end of period 0", "storage capacity 10")
    assert not reported(problems, "period 1", "storage")


def test_throughput_capacity_exceeded(tiny: ops.Scenario, plan: HandPlan) -> None:
    scenario = tiny.with_changes({"warehouses.throughput_capacity": {"W1": 29}})
    problems = check_plan(scenario, plan)
    assert_reported(problems, "warehouse W1 ships out volume 30 in period 3", "throughput capacity 29")
    assert not reported(problems, "period 2", "throughput")  # 28 in period 2


def test_inventory_value_cap(tiny: ops.Scenario, plan: HandPlan) -> None:
    scenario = tiny.with_changes({"finance.max_inventory_value": 80.0})
    assert_reported(check_plan(scenario, plan), "inventory value 90 at the end of period 0", "max_inventory_value 80")


# ---------------------------------------------------------------------- keys and KPIs


def test_unknown_keys_and_periods(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.featured = add_rows(plan.featured, [("P9", 3)])
    plan.shipments = add_rows(plan.shipments, [("P1", "W1", "R7", 1, 1.0)])
    plan.launches = add_rows(plan.launches, [("P3", 6)])
    plan.stock = add_rows(plan.stock, [("P1", "W1", 1.5, 0.0)])
    problems = check_plan(tiny, plan)
    assert_reported(problems, "unknown product 'P9'")
    assert_reported(problems, "unknown region 'R7'")
    assert_reported(problems, "period 6, outside the horizon 0 … 5")
    assert_reported(problems, "not a whole period")


def test_kpi_profit_mismatch(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.kpis["profit"] = 600.0
    problems = check_plan(tiny, plan)
    assert_reported(problems, "kpis profit is 600", "add up to 502.75")
    assert not reported(problems, "kpis objective")


def test_kpi_cost_and_counts_mismatch(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.kpis["costs"]["holding"] = 20.0
    plan.kpis["launched"] = 1
    plan.kpis["fill_rate"] = 0.9
    del plan.kpis["costs"]["transport"]
    problems = check_plan(tiny, plan)
    assert_reported(problems, "kpis costs.holding is 20", "22.5")
    assert_reported(problems, "kpis launched is 1", "add up to 2")
    assert_reported(problems, "kpis fill_rate is 0.9")
    assert_reported(problems, "kpis has no costs.transport")


def test_mip_gap_must_match_bound_and_objective(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.kpis.update(best_bound=510.0, mip_gap=0.0)
    assert_reported(check_plan(tiny, plan), "kpis mip_gap is 0")
    plan.kpis.update(mip_gap=(510.0 - 502.75) / 502.75)
    assert check_plan(tiny, plan) == []
    plan.kpis.update(best_bound=500.0, mip_gap=-2.75 / 502.75)
    assert_reported(check_plan(tiny, plan), "best_bound 500 is below the objective")


def test_bound_kind_must_name_a_known_bound_beside_one(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.kpis.update(best_bound=510.0, mip_gap=(510.0 - 502.75) / 502.75, bound_kind="root_cuts")
    assert check_plan(tiny, plan) == []
    plan.kpis.update(bound_kind="guess")
    assert_reported(check_plan(tiny, plan), "kpis bound_kind is 'guess', not one of lp, root_cuts, mip, lagrangian")
    plan.kpis.update(best_bound=None, mip_gap=None, bound_kind="lp")
    assert_reported(check_plan(tiny, plan), "kpis bound_kind is 'lp', but there is no best_bound")


def test_status_without_a_plan_is_reported(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.kpis["status"] = "infeasible"
    assert_reported(check_plan(tiny, plan), "status is 'infeasible'")


# ---------------------------------------------------------------------- stock from initial stock and the pipeline


def test_initial_stock_and_pipeline_enter_the_stock_balance(tiny_copy: Path, plan: HandPlan) -> None:
    (tiny_copy / "initial_stock.csv").write_text("product,warehouse,units\nP1,W1,5\n")
    (tiny_copy / "pipeline.csv").write_text("product,warehouse,period,units\nP2,W1,3,2\n")
    scenario = ops.Scenario.load(tiny_copy)
    problems = check_plan(scenario, plan)
    assert_reported(problems, "stock balance", "P1 at W1 at the end of period 1 is 0", "give 5")
    assert_reported(problems, "stock balance", "P2 at W1 at the end of period 3 is 0", "give 2")
    # the stock table that goes with them: 5 more P1 units throughout, 2 more P2 units from period 3
    plan.stock = frame("product warehouse period units",
                       [("P1", "W1", t, 20.0 if t % 2 == 0 else 5.0) for t in range(6)]
                       + [("P2", "W1", t, 2.0) for t in (3, 4, 5)])
    problems = check_plan(scenario, plan)
    assert not reported(problems, "stock balance"), problems
    value = evaluate_plan(scenario, plan)
    assert value["costs"]["holding"] == pytest.approx(22.5 + 0.5 * 5 * 6 + 1.0 * 2 * 3)
    assert value["salvage"] == pytest.approx(3.0 * 5)  # P1's salvage value is 3, P2's is 0
    assert_reported(problems, "kpis costs.holding is 22.5", "add up to 43.5")


# ---------------------------------------------------------------------- lane fixed costs


def test_lane_fixed_cost_per_period_carrying_or_marked_used(tiny: ops.Scenario, plan: HandPlan) -> None:
    scenario = tiny.with_changes(
        {"lanes.fixed_cost": {("W1", "R1"): 2.0, ("W2", "R1"): 7.0}})
    # W2 → R1 marked used in period 0 without carrying anything: allowed, but paid for
    plan.lanes = add_rows(plan.lanes, [("W2", "R1", 0, 0.0, True)])
    value = evaluate_plan(scenario, plan)
    assert value["costs"]["lane_fixed"] == pytest.approx(2.0 * 6 + 7.0)
    plan.kpis["costs"]["lane_fixed"] = 19.0
    plan.kpis["profit"] = plan.kpis["objective"] = plan.kpis["best_bound"] = 502.75 - 19.0
    assert check_plan(scenario, plan) == []


# ---------------------------------------------------------------------- a textbook lot-sizing plan


WW_FILES = {
    "scenario.toml": 'name = "ww"\n[horizon]\nperiods = 4\n',
    "products.csv": "product,category,brand,price,unit_cost,holding_cost,lost_sale_cost\nitem,c,b,0,0,2,10\n",
    "demand.csv": "product,region,period,demand\nitem,R1,0,90\nitem,R1,1,120\nitem,R1,2,80\nitem,R1,3,70\n",
    "warehouses.csv": "warehouse\nW1\n",
    "supply.csv": "product,warehouse,lead_time,order_cost\nitem,W1,0,500\n",
    "lanes.csv": "warehouse,region\nW1,R1\n",
}


def test_wagner_whitin_textbook_plan(tmp_path: Path) -> None:
    """Snyder & Shen example 3.9: order 210 in period 0 and 150 in period 2, total cost 1380."""
    for name, text in WW_FILES.items():
        (tmp_path / name).write_text(text)
    scenario = ops.Scenario.load(tmp_path)
    demand = {0: 90.0, 1: 120.0, 2: 80.0, 3: 70.0}
    plan = HandPlan(
        launches=frame("product period", []),
        orders=frame("product warehouse period arrival units", [("item", "W1", 0, 0, 210.0), ("item", "W1", 2, 2, 150.0)]),
        stock=frame("product warehouse period units", [("item", "W1", 0, 120.0), ("item", "W1", 2, 70.0)]),
        shipments=frame("product warehouse region period units", [("item", "W1", "R1", t, d) for t, d in demand.items()]),
        sales=frame(SALES_COLUMNS, [("item", "R1", t, d, 0.0, 0.0, d, d, 0.0) for t, d in demand.items()]),
        advertising=frame("product channel period spend effective_spend uplift", []),
        featured=frame("product period", []),
        lanes=frame("warehouse region period volume used", [("W1", "R1", t, d, True) for t, d in demand.items()]),
        kpis={"status": "optimal", "profit": -1380.0, "objective": -1380.0, "best_bound": -1380.0, "mip_gap": 0.0,
              "revenue": 0.0, "salvage": 0.0, "units_sold": 360.0, "potential_demand": 360.0, "fill_rate": 1.0,
              "launched": 0, "costs": {"purchase": 0.0, "ordering": 1000.0, "activation": 0.0, "holding": 380.0,
                                       "transport": 0.0, "lane_fixed": 0.0, "advertising": 0.0, "launch": 0.0,
                                       "onboarding": 0.0, "lost_sale": 0.0}},
    )
    assert check_plan(scenario, plan) == []
    assert evaluate_plan(scenario, plan)["profit"] == pytest.approx(-1380.0)
    # losing the last period's demand instead of ordering for it costs 10 per unit
    plan.shipments = plan.shipments[plan.shipments["period"] != 3]
    value = evaluate_plan(scenario, plan)
    assert value["costs"]["lost_sale"] == pytest.approx(700.0)
    assert value["fill_rate"] == pytest.approx(290.0 / 360.0)


def test_duplicate_rows_are_reported(tiny: ops.Scenario, plan: HandPlan) -> None:
    plan.featured = add_rows(plan.featured, [("P2", 3)])
    assert_reported(check_plan(tiny, plan), "the featured table lists product P2, period 3 more than once")


def test_shipments_beyond_any_demand(tiny: ops.Scenario, plan: HandPlan) -> None:
    # P2 has no R2 demand at age 3 (period 5): shipping there sells to nobody, whatever the sales table says
    plan.shipments = add_rows(plan.shipments, [("P2", "W1", "R2", 5, 1.0)])
    assert_reported(check_plan(tiny, plan), "1 units of P2 are shipped to R2 in period 5", "potential demand 0")
