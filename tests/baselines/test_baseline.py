"""The siloed baseline: each rule checked against a hand calculation, every plan against the checker.

Oracles from outside the baseline code:

* the independent plan checker (:func:`optsupply.plan.check.check_plan`) on every
  scenario; the KPIs (which the baseline takes from
  :func:`~optsupply.plan.check.evaluate_plan`) against the plan's tables priced by the
  scenario's costs in this file (:func:`table_kpis`), and by hand on tiny;
* ``instances/tiny``, whose optimum 502.75 is derived by hand in its README,
  and whose siloed plan is worked out below rule by rule;
* the MIP optimum on generated scenarios: a joint plan can never be worse;
* small hand-built scenarios, one per rule, with the expected decisions and
  quantities computed in the test.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import optsupply as ops
from optsupply.baselines.common import BaselineError
from optsupply.baselines.report import uplift_report
from optsupply.baselines.siloed import siloed_plan
from optsupply.baselines.supply import REVIEW_RULES, SAFETY_Z, WAREHOUSE_RULES
from optsupply.scenario.generate import generate
from optsupply.plan.check import check_plan
from tests.conftest import write

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ROOT / "instances"

def problems(sc: ops.Scenario, plan: ops.Plan) -> list[str]:
    return check_plan(sc, plan)


def table_kpis(sc: ops.Scenario, plan: ops.Plan) -> dict:
    """The KPIs of SPEC §3/§4 from the plan's tables and the scenario's prices and costs, written out
    here (not :func:`optsupply.plan.check.evaluate_plan`, whose numbers the baseline reports)."""
    pr = sc.products.set_index("product")
    sup = sc.supply.set_index(["product", "warehouse"])
    lanes = sc.lanes.set_index(["warehouse", "region"])
    H = int(sc.settings["horizon.periods"])
    sales, orders, stock, ship = plan.sales, plan.orders, plan.stock, plan.shipments
    launched = set(plan.launches["product"])

    def onboarding(table: pd.DataFrame, column: str) -> float:
        groups = {pr.loc[p, column] for p in launched}
        return float(sum(c for g, c in zip(table[column], table["onboarding_cost"]) if g in groups))

    costs = {
        "purchase": float((orders["units"] * orders["product"].map(pr["unit_cost"])).sum()),
        "ordering": float(sum(sup.loc[(p, w), "order_cost"] for p, w in zip(orders["product"], orders["warehouse"]))),
        "activation": float(sum(sup.loc[pw, "activation_cost"] for pw in set(zip(orders["product"], orders["warehouse"])))),
        "holding": float((stock["units"] * stock["product"].map(pr["holding_cost"])).sum()),
        "transport": float(sum(u * pr.loc[p, "volume"] * lanes.loc[(w, r), "cost_per_unit"]
                               for p, w, r, u in zip(ship["product"], ship["warehouse"], ship["region"], ship["units"]))),
        "lane_fixed": float(sum(lanes.loc[(w, r), "fixed_cost"] for w, r, used in
                                zip(plan.lanes["warehouse"], plan.lanes["region"], plan.lanes["used"]) if used)),
        "advertising": float(plan.advertising["spend"].sum()),
        "launch": float(sum(pr.loc[p, "launch_cost"] for p in launched)),
        "onboarding": onboarding(sc.categories, "category") + onboarding(sc.brands, "brand"),
        "lost_sale": float((sales["lost"] * sales["product"].map(pr["lost_sale_cost"])).sum()),
    }
    final = stock[stock["period"] == H - 1]
    out = {
        "revenue": float((sales["sales"] * sales["product"].map(pr["price"])).sum()),
        "salvage": float((final["units"] * final["product"].map(pr["salvage_value"])).sum()),
        "units_sold": float(sales["sales"].sum()),
        "potential_demand": float(sales["potential_demand"].sum()),
        "launched": len(launched),
        "costs": costs,
    }
    out["fill_rate"] = out["units_sold"] / out["potential_demand"] if out["potential_demand"] else 1.0
    out["profit"] = out["revenue"] + out["salvage"] - sum(costs.values())
    # the tables agree with each other: sales = shipments, sales + lost = potential demand
    assert out["units_sold"] == pytest.approx(float(ship["units"].sum()), rel=1e-9, abs=1e-6)
    assert (sales["sales"] + sales["lost"]).to_numpy() == pytest.approx(sales["potential_demand"].to_numpy(), abs=1e-6)
    return out


def assert_kpis_match(sc: ops.Scenario, plan: ops.Plan) -> None:
    truth = table_kpis(sc, plan)
    k = plan.kpis
    assert k["status"] == "baseline" and k["method"] == "siloed"
    assert k["best_bound"] is None and k["mip_gap"] is None
    assert k["profit"] == pytest.approx(truth["profit"], rel=1e-9, abs=1e-6) and k["objective"] == k["profit"]
    for key in ("revenue", "salvage", "units_sold", "potential_demand", "fill_rate", "launched"):
        assert k[key] == pytest.approx(truth[key], rel=1e-9, abs=1e-6), key
    assert k["costs"] == pytest.approx(truth["costs"], rel=1e-9, abs=1e-6)


def one_warehouse(products: list[str], **supply: object) -> dict[str, list[dict]]:
    """W1 serving R1 at no cost, lead time 0 unless given, no capacities."""
    return {
        "warehouses": [{"warehouse": "W1"}],
        "supply": [{"product": p, "warehouse": "W1", "lead_time": 0, **supply} for p in products],
        "lanes": [{"warehouse": "W1", "region": "R1", "cost_per_unit": 0}],
    }


def launches_of(plan: ops.Plan) -> dict[str, int]:
    return {str(p): int(t) for p, t in zip(plan.launches["product"], plan.launches["period"], strict=True)}


# ---------------------------------------------------------------------- instances/tiny, by hand


@pytest.fixture(scope="module")
def tiny() -> tuple[ops.Scenario, ops.Plan]:
    sc = ops.Scenario.load(INSTANCES / "tiny")
    return sc, siloed_plan(sc)


def test_tiny_decisions_follow_the_rules(tiny: tuple[ops.Scenario, ops.Plan]) -> None:
    """Launch: margins P2 (20−12)·24 = 192 and P3 (15−9)·17 = 102 both cover the launch cost 10; one
    launch per period, P2 (net 182) first at 1, P3 pushed to 2 (margin from 2: 6·14 = 84 ≥ 10);
    category C2 then has its 2 products. Featured (one slot, only P2 and P3 have a lift): revenue
    P2 by age 6·20, 8·20, 6·20, 2·20, 2·20 from period 1; P3 4·15, 4·15, 3·15, 3·15 from period 2:
    P2 in 1, 2, 3 and P3 in 4, 5 (45 > 40). Ads: the whole budget 500 goes to P1 (the only
    advertisable product) on search, 500/6 per period (below the channel's 100)."""
    sc, plan = tiny
    assert launches_of(plan) == {"P2": 1, "P3": 2}
    assert sorted(zip(plan.featured["product"], plan.featured["period"])) == [
        ("P2", 1), ("P2", 2), ("P2", 3), ("P3", 4), ("P3", 5)]
    ads = plan.advertising.sort_values("period")
    assert list(ads["product"]) == ["P1"] * 6 and list(ads["channel"]) == ["search"] * 6
    assert list(ads["spend"]) == pytest.approx([500 / 6] * 6)
    eff = 0.0
    for row in ads.itertuples():
        eff = 500 / 6 + 0.5 * eff
        assert row.effective_spend == pytest.approx(eff)
        assert row.uplift == pytest.approx(6 * eff / (eff + 200))
    # uplift split over regions 2 : 1 (P1's demand 10 : 5)
    p1 = plan.sales[plan.sales["product"] == "P1"].set_index(["region", "period"])["ad_uplift"]
    for row in ads.itertuples():
        assert p1["R1", row.period] == pytest.approx(row.uplift * 2 / 3)
        assert p1["R2", row.period] == pytest.approx(row.uplift / 3)
    assert problems(sc, plan) == []
    assert_kpis_match(sc, plan)


def test_tiny_profit_by_hand(tiny: tuple[ops.Scenario, ops.Plan]) -> None:
    """No demand_sd and no capacity binds, so supply serves exactly the potential demand.
    P1 sells 90 + ΣU; P2 24 base + 10 featured (half of 6, 8, 6); P3 14 + 3 (half of 3, 3).
    P2 and P3 have no order_cost (R = 1): ordered every period, one period ahead (lead 1), held
    nowhere. P1 (W1 serves both regions; lead 0): D̄ = (90 + ΣU)/6 ≈ 17.4, so
    R = round(√(2·20 / (0.5·17.4))) = round(2.14) = 2: orders at 0, 2, 4 of two periods' demand
    (ordering 3·20; the stock 15 + U_t + … ≤ 40 fits W1), holding the next period's demand at the
    ends of 0, 2, 4 (holding 0.5 per unit)."""
    sc, plan = tiny
    eff, uplift = 0.0, []
    for _ in range(6):
        eff = 500 / 6 + 0.5 * eff
        uplift.append(6 * eff / (eff + 200))
    U = sum(uplift)
    assert round(math.sqrt(2 * 20 / (0.5 * (90 + U) / 6))) == 2
    p1, p2, p3 = 90 + U, 34.0, 17.0
    revenue = 10 * p1 + 20 * p2 + 15 * p3
    purchase = 6 * p1 + 12 * p2 + 9 * p3
    # transport: P1 R1 (60 + 2U/3)·0.5 + R2 (30 + U/3)·1; P2 R1 25·0.5 + R2 9·1; P3 R1 12·0.5 + R2 5·1
    transport = (60 + 2 * U / 3) * 0.5 + (30 + U / 3) + 12.5 + 9 + 6 + 5
    holding = 0.5 * sum(15 + uplift[t] for t in (1, 3, 5))
    profit = revenue - purchase - 3 * 20 - holding - transport - 500 - 20 - 40
    k = plan.kpis
    # every KPI by hand: P2 and P3 launch (launch cost 10 each), C2 is onboarded (40), the whole ad
    # budget 500 is spent, nothing is lost (fill rate 1), nothing is left at the end (salvage 0), no
    # activation or lane fixed costs are incurred
    assert k["costs"]["purchase"] == pytest.approx(purchase)
    assert k["costs"]["advertising"] == pytest.approx(500.0)
    assert k["costs"]["launch"] == pytest.approx(20.0) and k["costs"]["onboarding"] == pytest.approx(40.0)
    assert k["costs"]["lost_sale"] == pytest.approx(0.0, abs=1e-9)
    assert k["costs"]["activation"] == pytest.approx(0.0, abs=1e-9) and k["costs"]["lane_fixed"] == pytest.approx(0.0, abs=1e-9)
    assert k["units_sold"] == pytest.approx(p1 + p2 + p3) and k["potential_demand"] == pytest.approx(p1 + p2 + p3)
    assert k["launched"] == 2 and k["objective"] == k["profit"]
    p1_orders = plan.orders[plan.orders["product"] == "P1"]
    assert list(p1_orders["period"]) == [0, 2, 4]
    assert list(p1_orders["units"]) == pytest.approx([15 + uplift[t] + 15 + uplift[t + 1] for t in (0, 2, 4)])
    assert k["costs"]["ordering"] == pytest.approx(60)
    assert k["costs"]["holding"] == pytest.approx(holding) and k["salvage"] == pytest.approx(0, abs=1e-9)
    assert k["fill_rate"] == pytest.approx(1.0)
    assert k["revenue"] == pytest.approx(revenue)
    assert k["costs"]["transport"] == pytest.approx(transport)
    assert k["profit"] == pytest.approx(profit)
    assert k["profit"] <= 502.75  # the hand-derived optimum (README)
    # ordering every period (the first rule): 6 orders of P1, nothing held
    every = siloed_plan(sc, review="every_period")
    assert every.kpis["review"] == "every_period"
    assert every.kpis["costs"]["ordering"] == pytest.approx(120)
    assert every.kpis["costs"]["holding"] == pytest.approx(0, abs=1e-9)
    assert every.kpis["profit"] == pytest.approx(profit - 60 + holding)
    assert problems(sc, every) == []


def test_uplift_report_on_tiny(tiny: tuple[ops.Scenario, ops.Plan]) -> None:
    sc, silo = tiny
    joint = ops.solve(sc, threads=1)
    report = uplift_report(sc, joint, silo)
    assert report.loc["profit", "joint"] == pytest.approx(502.75)
    assert report.loc["profit", "siloed"] == pytest.approx(silo.kpis["profit"])
    assert report.loc["profit", "delta"] == pytest.approx(502.75 - silo.kpis["profit"])
    money = [m for m in report.index if m in ("revenue", "salvage") or m.startswith("cost.")]
    assert len(money) == 12
    assert report.loc[money, "profit_contribution"].sum() == pytest.approx(report.loc["profit", "delta"])
    # the joint plan buys no ads (README §1): the whole 500 is where part of the uplift comes from
    assert report.loc["cost.advertising", "profit_contribution"] == pytest.approx(500)
    assert report.loc["cost.advertising", "relative_delta"] == pytest.approx(-1.0)
    assert math.isnan(report.loc["cost.activation", "relative_delta"])  # 0 in both plans
    assert list(report.columns) == ["joint", "siloed", "delta", "relative_delta", "profit_contribution"]


# ---------------------------------------------------------------------- launch rules


def new_product(name: str, **kw: object) -> dict:
    row = {"product": name, "category": "C1", "brand": "B1", "price": 10, "unit_cost": 6, "status": "new",
           "launch_earliest": 2, "launch_latest": 4, "launch_cost": 0}
    row.update(kw)
    return row


def curve(name: str, units: float = 5.0, ages: int = 4) -> list[dict]:
    return [{"product": name, "region": "R1", "age": a, "demand": units} for a in range(ages)]


@pytest.mark.parametrize("launch_cost, must, expected", [(80.0, False, {"N": 2}), (80.01, False, {}),
                                                         (1000.0, True, {"N": 2})],
                         ids=["margin-covers-cost", "margin-below-cost", "must-launch"])
def test_launch_only_when_margin_covers_cost(tmp_path: Path, launch_cost: float, must: bool, expected: dict) -> None:
    """Margin at the earliest period 2 (H = 6): (10 − 6) · 5 units · 4 ages = 80."""
    sc = write(tmp_path, "[horizon]\nperiods = 6", {
        "products": [new_product("N", launch_cost=launch_cost, must_launch=must)],
        "launch_curve": curve("N"), **one_warehouse(["N"])})
    plan = siloed_plan(sc)
    assert launches_of(plan) == expected
    assert problems(sc, plan) == []


def test_max_per_period_pushes_launches(tmp_path: Path) -> None:
    """One launch per period, all from period 2 (H = 6). M must launch: it goes first and takes 2.
    The others by net forecast value at period 2: A (4·10·4 = 160) is pushed to 3 (margin 120
    there); D (80) can launch only in 2: dropped; B (80 − 10 = 70) is pushed to 4, where its margin
    4·5·2 = 40 still covers 10; C (80 − 65 = 15) finds no free period in its window: dropped."""
    sc = write(tmp_path, "[horizon]\nperiods = 6\n[launch]\nmax_per_period = 1", {
        "products": [new_product("A"), new_product("B", launch_cost=10), new_product("C", launch_cost=65),
                     new_product("D", launch_latest=2), new_product("M", launch_latest=3, must_launch=True,
                                                                    launch_cost=500)],
        "launch_curve": curve("A", 10.0) + curve("B") + curve("C") + curve("D") + curve("M"),
        **one_warehouse(["A", "B", "C", "D", "M"])})
    plan = siloed_plan(sc)
    assert launches_of(plan) == {"M": 2, "A": 3, "B": 4}
    assert problems(sc, plan) == []


def test_must_launch_that_cannot_fit_is_an_error(tmp_path: Path) -> None:
    """Validation rejects such a scenario; one whose settings were changed after loading reaches the rules."""
    sc = write(tmp_path, "[horizon]\nperiods = 6\n[launch]\nmax_per_period = 2", {
        "products": [new_product(p, launch_latest=2, must_launch=True) for p in ("M1", "M2")],
        "launch_curve": curve("M1") + curve("M2"), **one_warehouse(["M1", "M2"])})
    sc.settings["launch.max_per_period"] = 1
    with pytest.raises(BaselineError, match="M2"):
        siloed_plan(sc)


@pytest.mark.parametrize("onboarding, expected", [(100.0, {"A": 2, "B": 2}), (200.0, {})],
                         ids=["topped-up", "dropped"])
def test_min_products_tops_up_or_drops(tmp_path: Path, onboarding: float, expected: dict) -> None:
    """Category C2 needs 2 products. A is worth launching (margin 160, cost 10); B is not on its own
    (margin 80 < cost 90). Topped up, the group forecasts 150 + (−10) = 140 − onboarding:
    100 → B is added (at its earliest period 2: no launch limit), 200 → A is dropped too."""
    sc = write(tmp_path, "[horizon]\nperiods = 6", {
        "products": [new_product("A", category="C2", launch_cost=10),
                     new_product("B", category="C2", launch_cost=90)],
        "categories": [{"category": "C2", "onboarding_cost": onboarding, "min_products": 2}],
        "launch_curve": curve("A", 10.0) + curve("B"), **one_warehouse(["A", "B"])})
    plan = siloed_plan(sc)
    assert launches_of(plan) == expected
    assert problems(sc, plan) == []


# ---------------------------------------------------------------------- advertising and featuring


def test_budget_split_by_forecast_revenue(tmp_path: Path) -> None:
    """Budget 1000 over H = 4. Forecast revenue: A 20·10·4 = 800, B 10·10·4 = 400, N (new, launched
    at 2) 10·10·2 = 200; X is never launched (margin < cost) and gets nothing. Shares 8/14, 4/14,
    2/14. A's share is split over search and social, spread over 4 periods; social's budget of 50
    per period cuts it to 50. N spends only while active (periods 2, 3)."""
    H = 4
    products = [{"product": "A", "category": "C1", "brand": "B1", "price": 20, "unit_cost": 10},
                {"product": "B", "category": "C1", "brand": "B1", "price": 10, "unit_cost": 5},
                new_product("N", launch_earliest=2, launch_latest=2),
                new_product("X", launch_earliest=1, launch_latest=1, launch_cost=1e6)]
    demand = [{"product": p, "region": "R1", "period": t, "demand": 10} for p in ("A", "B") for t in range(H)]
    response = [{"product": p, "channel": c, "max_uplift": 5, "half_saturation": 100, "shape": s, "carryover": 0.4}
                for p, c, s in (("A", "search", 1), ("A", "social", 2), ("B", "search", 1), ("N", "search", 1),
                                ("X", "search", 1))]
    sc = write(tmp_path, f"[horizon]\nperiods = {H}\n[advertising]\ntotal_budget = 1000", {
        "products": products, "demand": demand, "launch_curve": curve("N", 10.0) + curve("X"),
        "channels": [{"channel": "search"}, {"channel": "social", "budget": 50}],
        "response": response, **one_warehouse(["A", "B", "N", "X"])})
    plan = siloed_plan(sc)
    spend = {(p, c, int(t)): x for p, c, t, x in plan.advertising[["product", "channel", "period", "spend"]]
             .itertuples(index=False)}
    for t in range(H):
        assert spend["A", "search", t] == pytest.approx(1000 * 8 / 14 / 2 / 4)
        assert spend["A", "social", t] == pytest.approx(50)  # 71.4 cut to the channel budget
        assert spend["B", "search", t] == pytest.approx(1000 * 4 / 14 / 4)
    assert [spend.get(("N", "search", t), 0.0) for t in range(H)] == pytest.approx([0, 0] + [1000 * 2 / 14 / 2] * 2)
    assert not (plan.advertising["product"] == "X").any()
    for row in plan.advertising.itertuples():  # uplift = the true Hill curve at the adstocked spend
        shape = 2 if row.channel == "social" else 1
        assert row.uplift == pytest.approx(5 * row.effective_spend ** shape / (row.effective_spend ** shape + 100 ** shape))
    assert problems(sc, plan) == []


def test_featured_goes_to_highest_forecast_revenue(tmp_path: Path) -> None:
    """One slot. Revenue per period: A 10·10 = 100 (no lift), B 10·8 = 80 (lift 0.5), C 20·5 = 100 in
    period 0 and 20·3 = 60 in period 1 (lift 0.2). A never gains from a slot; C wins period 0, B
    period 1. Featured uplift = lift · base demand."""
    sc = write(tmp_path, "[horizon]\nperiods = 2", {
        "products": [{"product": p, "category": "C1", "brand": "B1", "price": price, "unit_cost": 1,
                      "featured_lift": lift} for p, price, lift in (("A", 10, 0), ("B", 10, 0.5), ("C", 20, 0.2))],
        "demand": [{"product": p, "region": "R1", "period": t, "demand": d}
                   for p, ds in (("A", (10, 10)), ("B", (8, 8)), ("C", (5, 3))) for t, d in enumerate(ds)],
        "slots": [{"period": 0, "slots": 1}, {"period": 1, "slots": 1}], **one_warehouse(["A", "B", "C"])})
    plan = siloed_plan(sc)
    assert sorted(zip(plan.featured["product"], plan.featured["period"])) == [("B", 1), ("C", 0)]
    lift = plan.sales.set_index(["product", "period"])["featured_uplift"]
    assert lift["C", 0] == pytest.approx(1.0) and lift["B", 1] == pytest.approx(4.0)
    assert lift["A", 0] == 0 and lift["B", 0] == 0
    assert problems(sc, plan) == []


# ---------------------------------------------------------------------- supply


def order_up_to_scenario(folder: Path, storage: float | None = None, **supply: object) -> ops.Scenario:
    """One product, demand 10 ± 2 per period in R1, H = 5, lead time 1, 5 units in stock."""
    return write(folder, "[horizon]\nperiods = 5", {
        "products": [{"product": "P", "category": "C1", "brand": "B1", "price": 10, "unit_cost": 6}],
        "demand": [{"product": "P", "region": "R1", "period": t, "demand": 10, "demand_sd": 2} for t in range(5)],
        "warehouses": [{"warehouse": "W1", "storage_capacity": math.inf if storage is None else storage}],
        "supply": [{"product": "P", "warehouse": "W1", "lead_time": 1, **supply}],
        "initial_stock": [{"product": "P", "warehouse": "W1", "units": 5}],
        "lanes": [{"warehouse": "W1", "region": "R1", "cost_per_unit": 0}]})


def orders_of(plan: ops.Plan) -> dict[int, float]:
    return {int(t): float(u) for t, u in zip(plan.orders["period"], plan.orders["units"], strict=True)}


def test_order_up_to_by_hand(tmp_path: Path) -> None:
    """S = 2 periods of demand + z·2·√2 = 20 + 4.667 = 24.667 (lead time 1). Position at 0 = 5 →
    order 19.667 (arrives 1); period 0 sells the 5 on hand. At 1: 0 + 19.667 → order 5; sells 10,
    9.667 left. At 2: 9.667 + 5 → order 10; 4.667 left. At 3: 4.667 + 10 → order 10. At 4 an order
    would arrive after the horizon. The safety stock 4.667 is left at the end."""
    ss = SAFETY_Z * 2 * math.sqrt(2)
    sc = order_up_to_scenario(tmp_path)
    plan = siloed_plan(sc)
    assert orders_of(plan) == pytest.approx({0: 15 + ss, 1: 5, 2: 10, 3: 10})
    assert list(plan.orders["arrival"]) == [1, 2, 3, 4]
    stock = dict(zip(plan.stock["period"], plan.stock["units"], strict=True))
    assert stock == pytest.approx({1: ss + 5, 2: ss, 3: ss, 4: ss})
    assert plan.kpis["units_sold"] == pytest.approx(45)  # 5 lost in period 0
    assert problems(sc, plan) == []


def test_order_up_to_respects_min_and_max_order(tmp_path: Path) -> None:
    """S = 24.667 as above. max_order 18 caps the first order (19.667). At 1 the position is 18 →
    6.667, raised to min_order 12; at 2: 8 + 12 = 20 → 4.667 → 12; at 3: 10 + 12 = 22 → 12. The
    stock grows by 2 a period from there: 8, 10, 12, 14 at the ends of periods 1 … 4."""
    sc = order_up_to_scenario(tmp_path, min_order=12, max_order=18)
    plan = siloed_plan(sc)
    assert orders_of(plan) == pytest.approx({0: 18, 1: 12, 2: 12, 3: 12})
    stock = dict(zip(plan.stock["period"], plan.stock["units"], strict=True))
    assert stock == pytest.approx({1: 8, 2: 10, 3: 12, 4: 14})
    assert problems(sc, plan) == []


def test_orders_cut_when_storage_would_overflow(tmp_path: Path) -> None:
    """Storage 8. The order placed at 0 (19.667) arrives at 1 and would leave 9.667 > 8: it is cut
    to 18. The order at 1 was already placed (5); at 2 the position is 8 + 5 → order 11.667; at 3
    it is 3 + 11.667 → order 10. End stocks 8, 3, 4.667, 4.667 stay within storage."""
    ss = SAFETY_Z * 2 * math.sqrt(2)
    sc = order_up_to_scenario(tmp_path, storage=8)
    plan = siloed_plan(sc)
    assert orders_of(plan) == pytest.approx({0: 18, 1: 5, 2: 20 + ss - 13, 3: 10})
    stock = dict(zip(plan.stock["period"], plan.stock["units"], strict=True))
    assert stock == pytest.approx({1: 8, 2: 3, 3: ss, 4: ss})
    assert problems(sc, plan) == []


def test_new_product_is_prestocked_for_its_launch(tmp_path: Path) -> None:
    """Lead time 2, launch at 2: the first order is placed at 0 and arrives at the launch."""
    sc = write(tmp_path, "[horizon]\nperiods = 6", {
        "products": [new_product("N")], "launch_curve": curve("N"), **one_warehouse(["N"], lead_time=2)})
    plan = siloed_plan(sc)
    assert launches_of(plan) == {"N": 2}
    assert orders_of(plan) == pytest.approx({0: 5, 1: 5, 2: 5, 3: 5})
    assert list(plan.orders["arrival"]) == [2, 3, 4, 5]
    assert plan.kpis["fill_rate"] == pytest.approx(1.0)
    assert problems(sc, plan) == []


def periodic_scenario(folder: Path, order_cost: float, lead_time: int, demand_sd: float | None = None,
                      initial: float = 0.0, storage: float | None = None, periods: int = 8) -> ops.Scenario:
    """One product (holding cost 1, volume 1), demand 10 per period in R1, one warehouse."""
    return write(folder, f"[horizon]\nperiods = {periods}", {
        "products": [{"product": "P", "category": "C1", "brand": "B1", "price": 10, "unit_cost": 6,
                      "holding_cost": 1}],
        "demand": [{"product": "P", "region": "R1", "period": t, "demand": 10, "demand_sd": demand_sd}
                   for t in range(periods)],
        "warehouses": [{"warehouse": "W1", "storage_capacity": math.inf if storage is None else storage}],
        "supply": [{"product": "P", "warehouse": "W1", "lead_time": lead_time, "order_cost": order_cost}],
        "initial_stock": [{"product": "P", "warehouse": "W1", "units": initial}],
        "lanes": [{"warehouse": "W1", "region": "R1", "cost_per_unit": 0}]})


def stock_of(plan: ops.Plan) -> dict[int, float]:
    return {int(t): float(u) for t, u in zip(plan.stock["period"], plan.stock["units"], strict=True)}


def test_periodic_review_by_hand(tmp_path: Path) -> None:
    """R = round(√(2·K / (h·D̄))) = round(√(2·31.25 / (1·10))) = round(2.5) = 3 (half up), lead time 1,
    demand 10 ± 2, H = 8, nothing in stock. Reviews at 0, 3, 6 (the first demand is at 0), each up
    to R + L = 4 periods of demand plus z·2·√4 = 6.6:
    0: S = 40 + 6.6, position 0 → order 46.6 (arrives 1; period 0's 10 are lost).
    Stock at the ends of 1, 2: 36.6, 26.6. 3: S = 46.6, position 26.6 → order 20 (arrives 4).
    Ends of 3, 4, 5: 16.6, 26.6, 16.6. 6: the window is cut at the horizon, 6 … 7:
    S = 20 + z·2·√2 = 24.667, position 16.6 → order 8.067; ends of 6, 7: 6.6, 4.667."""
    z = SAFETY_Z
    ss4, ss2 = z * 2 * 2, z * 2 * math.sqrt(2)
    sc = periodic_scenario(tmp_path, order_cost=31.25, lead_time=1, demand_sd=2)
    plan = siloed_plan(sc)
    assert plan.kpis["review"] == "eoq" and plan.kpis["warehouses"] == "per_region"
    assert orders_of(plan) == pytest.approx({0: 40 + ss4, 3: 20, 6: 20 + ss2 - (ss4 + 10)})
    assert list(plan.orders["arrival"]) == [1, 4, 7]
    assert stock_of(plan) == pytest.approx({1: 30 + ss4, 2: 20 + ss4, 3: 10 + ss4, 4: 20 + ss4, 5: 10 + ss4,
                                            6: ss4, 7: ss2})
    assert plan.kpis["costs"]["ordering"] == pytest.approx(3 * 31.25)
    assert plan.kpis["units_sold"] == pytest.approx(70)
    assert problems(sc, plan) == []
    # R = 1: up to 2 periods + z·2·√2 every period; the order of 0 covers period 1 too (0's demand is lost)
    every = siloed_plan(sc, review="every_period")
    assert orders_of(every) == pytest.approx({0: 20 + ss2, **{t: 10 for t in range(2, 7)}})
    assert problems(sc, every) == []


def test_periodic_review_two_periods_by_hand(tmp_path: Path) -> None:
    """R = round(√(2·20 / (1·10))) = 2, lead time 0, no demand_sd, 15 in stock, H = 6. Reviews at
    0, 2, 4 up to two periods of demand: order 20 − 15 = 5, then 20 and 20; 10 held at the ends of
    0, 2, 4 and nothing at the ends of 1, 3, 5 (holding 30, ordering 3·20)."""
    sc = periodic_scenario(tmp_path, order_cost=20, lead_time=0, initial=15, periods=6)
    plan = siloed_plan(sc)
    assert orders_of(plan) == pytest.approx({0: 5, 2: 20, 4: 20})
    assert stock_of(plan) == pytest.approx({0: 10, 2: 10, 4: 10})
    assert plan.kpis["costs"]["holding"] == pytest.approx(30)
    assert plan.kpis["costs"]["ordering"] == pytest.approx(60)
    assert plan.kpis["fill_rate"] == pytest.approx(1.0)
    assert problems(sc, plan) == []


def test_storage_shortens_the_review_period(tmp_path: Path) -> None:
    """K = 45: R = √(2·45 / (1·10)) = 3, whose cycle holds 20 at the end of an arrival period:
    more than the storage of 15. Priced storage (holding 1 + λ per unit) gives R = 2 (from
    λ > 2·45 / (2.5²·10) − 1 = 0.44 on), whose cycle holds 10: orders of 20 at 0, 2, 4, 6."""
    sc = periodic_scenario(tmp_path, order_cost=45, lead_time=0, storage=15)
    plan = siloed_plan(sc)
    assert orders_of(plan) == pytest.approx({0: 20, 2: 20, 4: 20, 6: 20})
    assert plan.kpis["fill_rate"] == pytest.approx(1.0)
    assert problems(sc, plan) == []
    roomy = siloed_plan(periodic_scenario(tmp_path / "roomy", order_cost=45, lead_time=0))
    assert orders_of(roomy) == pytest.approx({0: 30, 3: 30, 6: 20})


def three_warehouses(folder: Path) -> ops.Scenario:
    """Demand R1 30, R2 10 per period, H = 2, lead time 0, 10 units in W2; W1→R1 carries at most 25."""
    return write(folder, "[horizon]\nperiods = 2", {
        "products": [{"product": "P", "category": "C1", "brand": "B1", "price": 100, "unit_cost": 6}],
        "demand": [{"product": "P", "region": r, "period": t, "demand": d} for r, d in (("R1", 30), ("R2", 10))
                   for t in range(2)],
        "warehouses": [{"warehouse": w} for w in ("W1", "W2", "W3")],
        "supply": [{"product": "P", "warehouse": w} for w in ("W1", "W2", "W3")],
        "initial_stock": [{"product": "P", "warehouse": "W2", "units": 10}],
        "lanes": [{"warehouse": "W1", "region": "R1", "cost_per_unit": 1, "capacity": 25},
                  {"warehouse": "W1", "region": "R2", "cost_per_unit": 5},
                  {"warehouse": "W2", "region": "R1", "cost_per_unit": 3},
                  {"warehouse": "W2", "region": "R2", "cost_per_unit": 1},
                  {"warehouse": "W3", "region": "R1", "cost_per_unit": 0}]})


def shipments_of(plan: ops.Plan) -> dict[tuple[str, str, int], float]:
    return {(w, r, int(t)): u for w, r, t, u in plan.shipments[["warehouse", "region", "period", "units"]]
            .itertuples(index=False)}


def orders_by_warehouse(plan: ops.Plan) -> dict[tuple[str, int], float]:
    return {(w, int(t)): float(u) for w, t, u in zip(plan.orders["warehouse"], plan.orders["period"],
                                                      plan.orders["units"], strict=True)}


def test_home_warehouse_and_cheapest_lane(tmp_path: Path) -> None:
    """The earlier rule, ``warehouses="home"``.
    Demand R1 30, R2 10 per period (shares 3/4, 1/4). W1 reaches both (costs 1, 5: weighted 2);
    W2 both (3, 1: weighted 2.5); W3 only R1 (cost 0, but 3/4 coverage). Home = W1 (full coverage,
    cheapest). Period 0: the position counts W2's 10 units → order 30 into W1; R2 is served from W2
    (lane 1 < 5), R1 from W1 over its lane of capacity 25 (5 lost, 5 left). Period 1: order 40 − 5
    = 35; W1 serves R1 (25) and R2 (10)."""
    sc = three_warehouses(tmp_path)
    plan = siloed_plan(sc, warehouses="home")
    assert plan.kpis["warehouses"] == "home"
    assert set(plan.orders["warehouse"]) == {"W1"}
    assert orders_of(plan) == pytest.approx({0: 30, 1: 35})
    ship = shipments_of(plan)
    assert ship == pytest.approx({("W2", "R2", 0): 10, ("W1", "R1", 0): 25, ("W1", "R1", 1): 25, ("W1", "R2", 1): 10})
    assert problems(sc, plan) == []


def test_per_region_warehouses_on_the_home_example(tmp_path: Path) -> None:
    """The same scenario with the default rule: R1's cheapest lane is W3's (0 < 1 < 3), R2's W2's
    (1 < 5). W3 orders up to R1's 30 every period; W2 holds 10 at the start, so it orders nothing
    in period 0 and 10 in period 1. Everything is served (the capacity of W1→R1 no longer matters):
    transport 30·0 + 10·1 per period."""
    sc = three_warehouses(tmp_path)
    plan = siloed_plan(sc)
    assert plan.kpis["warehouses"] == "per_region"
    assert orders_by_warehouse(plan) == pytest.approx({("W3", 0): 30, ("W3", 1): 30, ("W2", 1): 10})
    assert shipments_of(plan) == pytest.approx({("W3", "R1", 0): 30, ("W3", "R1", 1): 30,
                                                ("W2", "R2", 0): 10, ("W2", "R2", 1): 10})
    assert plan.kpis["fill_rate"] == pytest.approx(1.0)
    assert plan.kpis["costs"]["transport"] == pytest.approx(20)
    assert problems(sc, plan) == []


def test_home_warehouse_first_then_spill(tmp_path: Path) -> None:
    """``warehouses="home_spill"`` on the same scenario: home W1 takes R1 and R2 (its own lane to R2
    costs 5, W2's 1). W1→R1 carries at most 25 of R1's 30: the 5 spill to R1's cheapest other route,
    W3 (cost 0). No order_cost, so R = 1: W1 orders 35 and W3 5 every period; W2 has nothing
    planned and keeps its 10 units. Transport per period 25·1 + 10·5 + 5·0 = 75."""
    sc = three_warehouses(tmp_path)
    plan = siloed_plan(sc, warehouses="home_spill")
    assert plan.kpis["warehouses"] == "home_spill"
    assert orders_by_warehouse(plan) == pytest.approx({("W1", 0): 35, ("W1", 1): 35, ("W3", 0): 5, ("W3", 1): 5})
    assert shipments_of(plan) == pytest.approx({**{("W1", "R1", t): 25 for t in range(2)},
                                                **{("W1", "R2", t): 10 for t in range(2)},
                                                **{("W3", "R1", t): 5 for t in range(2)}})
    assert plan.kpis["costs"]["transport"] == pytest.approx(150)
    assert plan.kpis["fill_rate"] == pytest.approx(1.0)
    assert problems(sc, plan) == []


def test_each_region_from_its_cheapest_warehouse(tmp_path: Path) -> None:
    """One product, demand R1 20 ± 3 and R2 10 ± 4 per period, H = 3. Lanes: W1→R1 1, W1→R2 4,
    W2→R1 3, W2→R2 2, so R1 is planned at W1 and R2 at W2 (the home rule would put both at W1:
    weighted costs 2/3·1 + 1/3·4 = 2 against 2/3·3 + 1/3·2 = 8/3).

    W1 (lead time 1, 25 units in stock): S = 2·20 + z·√(3² + 3²) = 40 + 7.000. Period 0: position 25
    → order 22.000 (arrives 1); ships 20, 5 left. Period 1: position 5 + 22.000 → order 20; ships 20,
    7.000 left. Period 2: an order would arrive after the horizon; ships 20 (arrived), 7.000 left.
    W2 (lead time 0): S = 10 + z·4 = 16.6. Orders 16.6, then 10, 10; 6.6 left each period."""
    ss1, ss2 = SAFETY_Z * math.sqrt(18), SAFETY_Z * 4
    sc = write(tmp_path, "[horizon]\nperiods = 3", {
        "products": [{"product": "P", "category": "C1", "brand": "B1", "price": 100, "unit_cost": 6}],
        "demand": [{"product": "P", "region": r, "period": t, "demand": d, "demand_sd": s}
                   for r, d, s in (("R1", 20, 3), ("R2", 10, 4)) for t in range(3)],
        "warehouses": [{"warehouse": "W1"}, {"warehouse": "W2"}],
        "supply": [{"product": "P", "warehouse": "W1", "lead_time": 1},
                   {"product": "P", "warehouse": "W2", "lead_time": 0}],
        "initial_stock": [{"product": "P", "warehouse": "W1", "units": 25}],
        "lanes": [{"warehouse": "W1", "region": "R1", "cost_per_unit": 1},
                  {"warehouse": "W1", "region": "R2", "cost_per_unit": 4},
                  {"warehouse": "W2", "region": "R1", "cost_per_unit": 3},
                  {"warehouse": "W2", "region": "R2", "cost_per_unit": 2}]})
    plan = siloed_plan(sc)
    assert orders_by_warehouse(plan) == pytest.approx({("W1", 0): 15 + ss1, ("W1", 1): 20,
                                                       ("W2", 0): 10 + ss2, ("W2", 1): 10, ("W2", 2): 10})
    assert shipments_of(plan) == pytest.approx({**{("W1", "R1", t): 20 for t in range(3)},
                                                **{("W2", "R2", t): 10 for t in range(3)}})
    stock = {(w, int(t)): u for w, t, u in plan.stock[["warehouse", "period", "units"]].itertuples(index=False)}
    assert stock == pytest.approx({("W1", 0): 5, ("W1", 1): ss1, ("W1", 2): ss1,
                                   ("W2", 0): ss2, ("W2", 1): ss2, ("W2", 2): ss2})
    assert plan.kpis["fill_rate"] == pytest.approx(1.0)
    assert plan.kpis["costs"]["transport"] == pytest.approx(3 * (20 * 1 + 10 * 2))
    assert problems(sc, plan) == []
    home = siloed_plan(sc, warehouses="home")
    assert set(home.orders["warehouse"]) == {"W1"}
    assert problems(sc, home) == []


def spill_scenario(folder: Path, cap_on: str, third: bool) -> ops.Scenario:
    """Region R1 wants A 6 and B 8 units a period (volume 1, H = 2, lead time 0). Lanes to R1 cost
    1 from W1, 2 from W2, 3 from W3 (when there is a W3). W1 can handle 10 a period (its throughput,
    or its lane's capacity), W2 3, W3 any amount. A's margin is 2, B's 5."""
    warehouses = ["W1", "W2"] + (["W3"] if third else [])
    wh_rows = [{"warehouse": "W1", "throughput_capacity": 10 if cap_on == "throughput" else math.inf},
               {"warehouse": "W2", "throughput_capacity": 3}] + ([{"warehouse": "W3"}] if third else [])
    return write(folder, "[horizon]\nperiods = 2", {
        "products": [{"product": "A", "category": "C1", "brand": "B1", "price": 10, "unit_cost": 8},
                     {"product": "B", "category": "C1", "brand": "B1", "price": 10, "unit_cost": 5}],
        "demand": [{"product": p, "region": "R1", "period": t, "demand": d} for p, d in (("A", 6), ("B", 8))
                   for t in range(2)],
        "warehouses": wh_rows,
        "supply": [{"product": p, "warehouse": w} for p in ("A", "B") for w in warehouses],
        "lanes": [{"warehouse": w, "region": "R1", "cost_per_unit": i + 1,
                   "capacity": 10 if (w == "W1" and cap_on == "lane") else math.inf}
                  for i, w in enumerate(warehouses)]})


@pytest.mark.parametrize("cap_on", ["throughput", "lane"])
def test_full_warehouse_spills_lowest_margin_first(tmp_path: Path, cap_on: str) -> None:
    """W1 would carry 6 + 8 = 14 > 10: the lower-margin A spills its excess 4 — 3 to W2 (all its
    room), the last 1 to W3. B stays at W1 with A's other 2. Orders follow the plan (lead time 0, no
    demand_sd): W1 A 2, B 8; W2 A 3; W3 A 1 each period; everything is served. Transport per
    period: (2 + 8)·1 + 3·2 + 1·3 = 19."""
    sc = spill_scenario(tmp_path, cap_on, third=True)
    plan = siloed_plan(sc)
    orders = {(p, w, int(t)): u for p, w, t, u in plan.orders[["product", "warehouse", "period", "units"]]
              .itertuples(index=False)}
    assert orders == pytest.approx({(p, w, t): u for t in range(2)
                                    for p, w, u in (("A", "W1", 2), ("B", "W1", 8), ("A", "W2", 3), ("A", "W3", 1))})
    ship = {(p, w, int(t)): u for p, w, t, u in plan.shipments[["product", "warehouse", "period", "units"]]
            .itertuples(index=False)}
    assert ship == pytest.approx(orders)
    assert plan.kpis["fill_rate"] == pytest.approx(1.0)
    assert plan.kpis["costs"]["transport"] == pytest.approx(2 * 19)
    assert problems(sc, plan) == []
    # the earlier rule keeps both at W1 (home: the cheapest lane), which serves only 10 of the 14
    home = siloed_plan(sc, warehouses="home")
    assert set(home.orders["warehouse"]) == {"W1"}
    assert home.kpis["units_sold"] == pytest.approx(20)
    assert problems(sc, home) == []


def test_demand_that_fits_nowhere_is_not_planned(tmp_path: Path) -> None:
    """Without W3, A's last unit a period finds no room: it is neither ordered nor served.
    Orders W1 A 2, B 8, W2 A 3; sold 13 of 14 a period."""
    sc = spill_scenario(tmp_path, "throughput", third=False)
    plan = siloed_plan(sc)
    orders = {(p, w, int(t)): u for p, w, t, u in plan.orders[["product", "warehouse", "period", "units"]]
              .itertuples(index=False)}
    assert orders == pytest.approx({(p, w, t): u for t in range(2)
                                    for p, w, u in (("A", "W1", 2), ("B", "W1", 8), ("A", "W2", 3))})
    assert plan.kpis["units_sold"] == pytest.approx(26)
    lost = plan.sales.set_index(["product", "period"])["lost"]
    assert lost["A", 0] == pytest.approx(1) and lost["A", 1] == pytest.approx(1)
    assert lost["B", 0] == pytest.approx(0, abs=1e-9)
    assert problems(sc, plan) == []


def test_every_kpi_by_hand_with_lost_sales_salvage_and_fixed_costs(tmp_path: Path) -> None:
    """The KPIs that tiny leaves at 0, by hand. H = 3, W1 → R1 (0.5 per unit of volume, fixed 3 per
    period used), W1 ships at most 12 units a period; no demand_sd (no safety stock).
    A: price 10, cost 6, demand 10 a period, lead 0, no order cost (R = 1), activation 5.
    B: price 8, cost 5, holding 0.1, salvage 3, lost_sale_cost 0.5, demand 4 a period, 15 units in
    stock at the start, activation 7.
    Planned demand 14 > 12: the lower-margin B (3 < 4) gives up 2 units a period, which fit nowhere.
    A orders 10 in each period (purchase 180, activation 5); B's stock 15 covers its planned 2 a period,
    so B never orders (no activation). Each period ships A 10 + B 2 = 12; B's other 2 are lost.
    revenue 30·10 + 6·8 = 348; B's stock 13, 11, 9: holding 0.1·33 = 3.3, salvage 3·9 = 27;
    transport 0.5·36 = 18; lane fixed 3·3 = 9; lost sale 0.5·6 = 3;
    profit = 348 + 27 − 180 − 5 − 3.3 − 18 − 9 − 3 = 156.7; sold 36 of 42 (fill rate 6/7)."""
    sc = write(tmp_path, "[horizon]\nperiods = 3", {
        "products": [{"product": "A", "category": "C1", "brand": "B1", "price": 10, "unit_cost": 6},
                     {"product": "B", "category": "C1", "brand": "B1", "price": 8, "unit_cost": 5, "holding_cost": 0.1,
                      "salvage_value": 3, "lost_sale_cost": 0.5}],
        "demand": [{"product": p, "region": "R1", "period": t, "demand": d} for p, d in (("A", 10), ("B", 4))
                   for t in range(3)],
        "warehouses": [{"warehouse": "W1", "throughput_capacity": 12}],
        "supply": [{"product": "A", "warehouse": "W1", "lead_time": 0, "activation_cost": 5},
                   {"product": "B", "warehouse": "W1", "lead_time": 0, "activation_cost": 7}],
        "initial_stock": [{"product": "B", "warehouse": "W1", "units": 15}],
        "lanes": [{"warehouse": "W1", "region": "R1", "cost_per_unit": 0.5, "fixed_cost": 3}],
    })
    plan = siloed_plan(sc)
    k = plan.kpis
    assert problems(sc, plan) == []
    assert k["revenue"] == pytest.approx(348.0) and k["salvage"] == pytest.approx(27.0)
    assert k["costs"] == pytest.approx({"purchase": 180.0, "ordering": 0.0, "activation": 5.0, "holding": 3.3,
                                        "transport": 18.0, "lane_fixed": 9.0, "advertising": 0.0, "launch": 0.0,
                                        "onboarding": 0.0, "lost_sale": 3.0})
    assert k["profit"] == pytest.approx(156.7) and k["objective"] == k["profit"]
    assert k["units_sold"] == pytest.approx(36.0) and k["potential_demand"] == pytest.approx(42.0)
    assert k["fill_rate"] == pytest.approx(6 / 7) and k["launched"] == 0
    assert_kpis_match(sc, plan)


def test_full_storage_spills(tmp_path: Path) -> None:
    """Storage counts the safety stock of the planned demand, per region as if stocked alone.
    One region, H = 2, lead time 0, volume 1: A 10 ± 4 (margin 2), B 10 ± 2 (margin 5). At W1
    (lane cost 1, storage 8) that is 1.65·4 + 1.65·2 = 9.9 > 8: A spills 1.9 / (6.6 / 10) = 2.879
    units to W2 (lane cost 2, no limits), which fills W1's storage exactly. Each pair orders up to
    its planned demand plus z·σ of it: A at W1 7.121 + z·0.7121·4, A at W2 2.879 + z·0.2879·4,
    B at W1 10 + z·2; the stock left at the end of a period is those safety stocks."""
    sc = write(tmp_path, "[horizon]\nperiods = 2", {
        "products": [{"product": "A", "category": "C1", "brand": "B1", "price": 10, "unit_cost": 8},
                     {"product": "B", "category": "C1", "brand": "B1", "price": 10, "unit_cost": 5}],
        "demand": [{"product": p, "region": "R1", "period": t, "demand": 10, "demand_sd": s}
                   for p, s in (("A", 4), ("B", 2)) for t in range(2)],
        "warehouses": [{"warehouse": "W1", "storage_capacity": 8}, {"warehouse": "W2"}],
        "supply": [{"product": p, "warehouse": w} for p in ("A", "B") for w in ("W1", "W2")],
        "lanes": [{"warehouse": "W1", "region": "R1", "cost_per_unit": 1},
                  {"warehouse": "W2", "region": "R1", "cost_per_unit": 2}]})
    z = SAFETY_Z
    moved = (z * 4 + z * 2 - 8) / (z * 4 / 10)
    f1, f2 = (10 - moved) / 10, moved / 10
    ss_a1, ss_a2, ss_b = z * f1 * 4, z * f2 * 4, z * 2  # one product per pair: pooled over one region
    plan = siloed_plan(sc)
    orders = {(p, w, int(t)): u for p, w, t, u in plan.orders[["product", "warehouse", "period", "units"]]
              .itertuples(index=False)}
    assert orders == pytest.approx({("A", "W1", 0): 10 - moved + ss_a1, ("A", "W1", 1): 10 - moved,
                                    ("A", "W2", 0): moved + ss_a2, ("A", "W2", 1): moved,
                                    ("B", "W1", 0): 10 + ss_b, ("B", "W1", 1): 10})
    held = plan.stock[plan.stock["warehouse"] == "W1"].groupby("period")["units"].sum()
    assert list(held) == pytest.approx([ss_a1 + ss_b] * 2)
    assert ss_a1 + ss_b == pytest.approx(8)
    assert plan.kpis["fill_rate"] == pytest.approx(1.0)
    assert problems(sc, plan) == []


def test_unknown_warehouse_rule(tiny: tuple[ops.Scenario, ops.Plan]) -> None:
    with pytest.raises(ops.UsageError, match="per_region"):
        siloed_plan(tiny[0], warehouses="nearest")
    with pytest.raises(ops.UsageError, match="every_period"):
        siloed_plan(tiny[0], review="weekly")


# ---------------------------------------------------------------------- every scenario


SCENARIOS = [("instances/tiny", lambda: ops.Scenario.load(INSTANCES / "tiny"))]
SCENARIOS += [(f"tiny-{s}", lambda s=s: generate("tiny", s)) for s in (1, 2)]
SCENARIOS += [(f"xsmall-{s}", lambda s=s: generate("xsmall", s)) for s in range(1, 6)]
SCENARIOS += [("small-2", lambda: generate("small", 2)),
              ("instances/small", lambda: ops.Scenario.load(INSTANCES / "small")),
              ("instances/medium", lambda: ops.Scenario.load(INSTANCES / "medium"))]


@pytest.mark.parametrize("make", [m for _, m in SCENARIOS], ids=[n for n, _ in SCENARIOS])
def test_checker_finds_nothing(make) -> None:  # noqa: ANN001
    sc = make()
    plan = siloed_plan(sc)
    assert problems(sc, plan) == []
    assert_kpis_match(sc, plan)


OTHER_RULES = [(w, r) for r in REVIEW_RULES for w in WAREHOUSE_RULES if (w, r) != ("per_region", "eoq")]


@pytest.mark.parametrize("make", [m for n, m in SCENARIOS if n.startswith(("xsmall", "instances/small"))],
                         ids=[n for n, _ in SCENARIOS if n.startswith(("xsmall", "instances/small"))])
def test_checker_finds_nothing_with_the_other_rules(make) -> None:  # noqa: ANN001
    sc = make()
    for warehouses, review in OTHER_RULES:
        plan = siloed_plan(sc, warehouses=warehouses, review=review)
        assert (plan.kpis["warehouses"], plan.kpis["review"]) == (warehouses, review)
        assert problems(sc, plan) == [], (warehouses, review)
        assert_kpis_match(sc, plan)


@pytest.mark.parametrize("seed", range(1, 6))
def test_joint_plan_is_never_worse(seed: int) -> None:
    """A joint plan is at least as good as the siloed one. Asserted against the MIP's *incumbent*,
    which is a stronger claim than against the optimum (incumbent ≤ optimum), so a 5 % gap is
    enough and keeps the test fast (with gap 1e-6 the optima are 7206.92, 7232.02, 17388.04,
    10498.05 and 2097.12; the incumbents here are within 0.01 % of them). The siloed plan counts
    on the true Hill curve where the MIP uses its piecewise-linear under-estimate (within 0.5 % of
    max_uplift), so in principle it could gain that sliver; with the siloed rules it never comes close."""
    sc = generate("xsmall", seed)
    joint = ops.solve(sc, mip_gap=0.05, threads=1, time_limit=60)
    assert joint.status == "optimal"
    silo = siloed_plan(sc)
    assert silo.kpis["profit"] <= joint.kpis["profit"] <= joint.kpis["best_bound"] + 1e-6
    report = uplift_report(sc, joint, silo)
    assert report.loc["profit", "delta"] == pytest.approx(joint.kpis["profit"] - silo.kpis["profit"])


def test_plan_round_trips_through_a_folder(tmp_path: Path, tiny: tuple[ops.Scenario, ops.Plan]) -> None:
    sc, plan = tiny
    loaded = ops.Plan.load(plan.save(tmp_path / "plan"))
    assert loaded.kpis["status"] == "baseline"
    assert problems(sc, loaded) == []


@pytest.mark.slow
def test_large_instance() -> None:
    sc = ops.Scenario.load(INSTANCES / "large")
    plan = siloed_plan(sc)
    assert plan.kpis["build_seconds"] + plan.kpis["solve_seconds"] < 60
    assert problems(sc, plan) == []
