"""The three baselines of the uplift benchmark, each rule checked against a hand calculation.

(a) the practitioner rules (:func:`optsupply.baselines.siloed.practitioner_plan`), one small hand-built
scenario per rule; (b) optimal supply under the practitioner's commercial decisions
(:func:`optsupply.analysis.sequential.optimal_supply_plan`); (c) sequential-optimal
(:func:`optsupply.analysis.sequential.sequential_plan`); and the joint search started from the best
baseline. Every plan also passes the independent checker (:func:`optsupply.plan.check.check_plan`).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import optsupply as ops
from optsupply.baselines.practitioner import profitable_spend
from optsupply.baselines.report import uplift_report
from optsupply.baselines.siloed import practitioner_plan, siloed_plan
from optsupply.optimizer.decompose import start_plan
from optsupply.optimizer.optimize import _not_below
from optsupply.plan.core import mip_gap
from optsupply.analysis.sequential import commercial_scenario, optimal_supply_plan, sequential_plan
from optsupply.plan.check import check_plan, evaluate_plan
from tests.conftest import write

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ROOT / "instances"


def one_warehouse(products: list[str], lane_cost: float = 0, **supply: object) -> dict[str, list[dict]]:
    """W1 serving R1, lead time 0 unless given, no capacities."""
    return {
        "warehouses": [{"warehouse": "W1"}],
        "supply": [{"product": p, "warehouse": "W1", "lead_time": 0, **supply} for p in products],
        "lanes": [{"warehouse": "W1", "region": "R1", "cost_per_unit": lane_cost}],
    }


def demand(products: list[str], H: int, units: float, sd: float | None = None) -> list[dict]:
    return [{"product": p, "region": "R1", "period": t, "demand": units, "demand_sd": sd}
            for p in products for t in range(H)]


def clean(sc: ops.Scenario, plan: ops.Plan) -> None:
    assert check_plan(sc, plan) == []
    assert plan.kpis["profit"] == pytest.approx(evaluate_plan(sc, plan)["profit"])


def launches_of(plan: ops.Plan) -> dict[str, int]:
    return {str(p): int(t) for p, t in zip(plan.launches["product"], plan.launches["period"], strict=True)}


# ---------------------------------------------------------------------- marketing


def test_ads_spend_where_the_marginal_margin_falls_to_one(tmp_path: Path) -> None:
    """Hill curve M·e/(e + k) (shape 1), M = 8, k = 2; margin m = price − unit_cost.

    P1 (m = 10 − 6 = 4, no carryover): m·M·k/(e + k)² = 1 → (e + 2)² = 64 → e = 6, spent every
    period; uplift 8·6/8 = 6 per period, and margin 4·6 = 24 > spend 6.
    P2 (m = 6.2 − 6 = 0.2): the first unit of spend returns m·M/k = 0.2·4 = 0.8 < 1: no spend.
    P3 (m = 4, carryover 0.5): a unit spent every period buys 1/(1 − 0.5) = 2 of effective spend,
    so 4·64/(e + 2)² = 0.5 → e = √128 − 2 = 9.3137 and the spend is (1 − 0.5)·e = 4.6569 per
    period; effective spend 4.657, 6.985, 8.149 over the three periods.
    """
    tables = {"products": [{"product": "P1", "category": "C", "brand": "B", "price": 10, "unit_cost": 6},
                           {"product": "P2", "category": "C", "brand": "B", "price": 6.2, "unit_cost": 6},
                           {"product": "P3", "category": "C", "brand": "B", "price": 10, "unit_cost": 6}],
              "demand": demand(["P1", "P2", "P3"], 3, 10.0),
              "channels": [{"channel": "search"}],
              "response": [{"product": p, "channel": "search", "max_uplift": 8, "half_saturation": 2,
                            "carryover": c} for p, c in (("P1", 0), ("P2", 0), ("P3", 0.5))],
              **one_warehouse(["P1", "P2", "P3"])}
    sc = write(tmp_path / "ads", "[horizon]\nperiods = 3", tables)
    plan = practitioner_plan(sc)
    clean(sc, plan)
    ads = plan.advertising.set_index(["product", "period"])
    assert sorted(set(ads.index.get_level_values(0))) == ["P1", "P3"]
    for t in range(3):
        assert ads.loc[("P1", t), "spend"] == pytest.approx(6.0)
        assert ads.loc[("P1", t), "uplift"] == pytest.approx(6.0)
    e = math.sqrt(128) - 2
    assert ads.loc[("P3", 0), "spend"] == pytest.approx(0.5 * e)
    eff = [0.5 * e, 0.5 * e * 1.5, 0.5 * e * 1.75]
    for t in range(3):
        assert ads.loc[("P3", t), "effective_spend"] == pytest.approx(eff[t])
        assert ads.loc[("P3", t), "uplift"] == pytest.approx(8 * eff[t] / (eff[t] + 2))
    assert profitable_spend(4, 8, 2, 1, 1) == pytest.approx(6.0)
    assert profitable_spend(0.2, 8, 2, 1, 1) == 0.0


def test_ads_within_total_and_channel_budgets(tmp_path: Path) -> None:
    """P1 and P4 alike (m = 4, M = 8, k = 2) would each spend 6 per period, 36 over 3 periods.

    total_budget 18: the price of spend λ rises until 2 products × 3 periods × x = 18, x = 3:
    3 = √(4·8·2/λ) − 2 → λ = 64/25 = 2.56 (every unit of spend still returns 2.56 of margin).
    With a channel budget of 5 per period as well, each period's 6 is scaled down to 5: 2.5 each.
    """
    tables = {"products": [{"product": p, "category": "C", "brand": "B", "price": 10, "unit_cost": 6}
                           for p in ("P1", "P4")],
              "demand": demand(["P1", "P4"], 3, 10.0),
              "channels": [{"channel": "search"}],
              "response": [{"product": p, "channel": "search", "max_uplift": 8, "half_saturation": 2}
                           for p in ("P1", "P4")],
              **one_warehouse(["P1", "P4"])}
    sc = write(tmp_path / "budget", "[horizon]\nperiods = 3\n[advertising]\ntotal_budget = 18", tables)
    plan = practitioner_plan(sc)
    clean(sc, plan)
    assert list(plan.advertising["spend"]) == pytest.approx([3.0] * 6, rel=1e-6)
    assert 4 * 8 * 2 / (3 + 2) ** 2 == pytest.approx(2.56)
    tables["channels"] = [{"channel": "search", "budget": 5}]
    sc = write(tmp_path / "channel", "[horizon]\nperiods = 3\n[advertising]\ntotal_budget = 18", tables)
    plan = practitioner_plan(sc)
    clean(sc, plan)
    assert list(plan.advertising["spend"]) == pytest.approx([2.5] * 6, rel=1e-6)


# ---------------------------------------------------------------------- merchandising


def test_featured_by_margin_times_lift(tmp_path: Path) -> None:
    """One slot. P1: price 10, unit_cost 9, lift 0.5, demand 10: revenue 100 but a feature adds
    (10 − 9)·0.5·10 = 5 of margin. P2: price 5, unit_cost 2, lift 0.5, demand 6: revenue 30, a
    feature adds 3·0.5·6 = 9. P3 (no lift) gains nothing. The practitioner features P2 in both
    periods; the naive rule (by revenue) features P1."""
    tables = {"products": [{"product": "P1", "category": "C", "brand": "B", "price": 10, "unit_cost": 9,
                            "featured_lift": 0.5},
                           {"product": "P2", "category": "C", "brand": "B", "price": 5, "unit_cost": 2,
                            "featured_lift": 0.5},
                           {"product": "P3", "category": "C", "brand": "B", "price": 50, "unit_cost": 2}],
              "demand": demand(["P1"], 2, 10.0) + demand(["P2"], 2, 6.0) + demand(["P3"], 2, 6.0),
              "slots": [{"period": 0, "slots": 1}, {"period": 1, "slots": 1}],
              **one_warehouse(["P1", "P2", "P3"])}
    sc = write(tmp_path / "feat", "[horizon]\nperiods = 2", tables)
    plan = practitioner_plan(sc)
    clean(sc, plan)
    assert sorted(zip(plan.featured["product"], plan.featured["period"])) == [("P2", 0), ("P2", 1)]
    sales = plan.sales.set_index(["product", "period"])
    assert sales.loc[("P2", 0), "featured_uplift"] == pytest.approx(3.0)
    naive = siloed_plan(sc)
    assert sorted(zip(naive.featured["product"], naive.featured["period"])) == [("P1", 0), ("P1", 1)]
    # margin: practitioner 3·(6 + 3)·2 + 1·10·2 + 48·6·2 against naive 3·6·2 + 1·15·2 + 48·6·2
    assert plan.kpis["profit"] - naive.kpis["profit"] == pytest.approx((54 + 20) - (36 + 30))


# ---------------------------------------------------------------------- launch


def test_launch_counts_every_onboarding_cost(tmp_path: Path) -> None:
    """Two periods, every product's window is period 0, margin 5 per unit (price 10, unit_cost 5);
    net = 5 × forecast units over both periods − launch_cost:

    * N1 (curve 10, 10; launch_cost 20) net 80 and N2 (5, 5) net 50, category C1 onboarding 100:
      together 130 − 100 = 30 > 0, both launch;
    * N3 (4, 4) net 40, alone in C2 with onboarding 60: 40 − 60 < 0, not launched (the naive
      rule launches it: onboarding is not part of its per-product test);
    * N4 (7, 7) net 70, N5 (1, 1; launch_cost 20) net −10, C3 needs min_products 2: topping up
      with N5 (70 − 10 = 60) beats dropping N4 (0): both launch;
    * N6 (5, 5) net 50 in brand B2 (min_products 2) with N7 (1.5, 1.5; launch_cost 20) net −5,
      whose category C5 costs 80 to onboard: topping up costs 5 + 80 = 85 > dropping N6 (50):
      neither launches (the naive rule tops up without C5's cost: 50 − 5 ≥ 0).

    Launch value: 80 + 50 − 100 + 70 − 10 = 90.
    """
    curve = {"N1": 10, "N2": 5, "N3": 4, "N4": 7, "N5": 1, "N6": 5, "N7": 1.5}
    cats = {"N1": "C1", "N2": "C1", "N3": "C2", "N4": "C3", "N5": "C3", "N6": "C4", "N7": "C5"}
    brands = {p: ("B2" if p in ("N6", "N7") else f"B{p}") for p in curve}
    cost = {"N1": 20, "N5": 20, "N7": 20}
    tables = {"products": [{"product": p, "category": cats[p], "brand": brands[p], "price": 10, "unit_cost": 5,
                            "status": "new", "launch_earliest": 0, "launch_latest": 0, "launch_cost": cost.get(p, 0)}
                           for p in curve],
              "categories": [{"category": "C1", "onboarding_cost": 100}, {"category": "C2", "onboarding_cost": 60},
                             {"category": "C3", "min_products": 2}, {"category": "C5", "onboarding_cost": 80}],
              "brands": [{"brand": "B2", "min_products": 2}],
              "launch_curve": [{"product": p, "region": "R1", "age": a, "demand": u} for p, u in curve.items()
                               for a in (0, 1)],
              **one_warehouse(list(curve))}
    sc = write(tmp_path / "launch", "[horizon]\nperiods = 2", tables)
    plan = practitioner_plan(sc)
    clean(sc, plan)
    assert launches_of(plan) == {"N1": 0, "N2": 0, "N4": 0, "N5": 0}
    ev = evaluate_plan(sc, plan)
    assert ev["costs"]["launch"] == pytest.approx(40) and ev["costs"]["onboarding"] == pytest.approx(100)
    # everything is sold (no capacity, lead 0, no order cost): profit = margin − launch − onboarding
    assert ev["profit"] == pytest.approx(5 * 2 * (10 + 5 + 7 + 1) - 40 - 100) == 90
    naive = siloed_plan(sc)
    assert launches_of(naive) == {p: 0 for p in curve}
    assert naive.kpis["profit"] < plan.kpis["profit"]


# ---------------------------------------------------------------------- supply


def test_supply_order_up_to_without_safety_stock(tmp_path: Path) -> None:
    """P1: demand 10 per period (demand_sd 5) over 4 periods, order_cost 20, holding 0.4, lead 0.
    EOQ review period R = round(√(2·20/(0.4·10))) = round(3.16) = 3: orders at 0 and 3, up to the
    forecast of R + L periods without safety stock: 30 at 0, 10 at 3; stock 20, 10, 0, 0; nothing
    left at the end. (The naive rule adds z·σ·√3 = 1.65·5·√3 = 14.29 at period 0.)
    Profit: 40·(10 − 6) − 2·20 − 0.4·30 = 108."""
    tables = {"products": [{"product": "P1", "category": "C", "brand": "B", "price": 10, "unit_cost": 6,
                            "holding_cost": 0.4}],
              "demand": demand(["P1"], 4, 10.0, sd=5.0),
              **one_warehouse(["P1"], order_cost=20)}
    sc = write(tmp_path / "supply", "[horizon]\nperiods = 4", tables)
    plan = practitioner_plan(sc)
    clean(sc, plan)
    assert dict(zip(plan.orders["period"], plan.orders["units"])) == pytest.approx({0: 30.0, 3: 10.0})
    assert dict(zip(plan.stock["period"], plan.stock["units"])) == pytest.approx({0: 20.0, 1: 10.0})
    assert plan.kpis["profit"] == pytest.approx(108.0)
    naive = siloed_plan(sc)
    assert float(naive.orders["units"].iloc[0]) == pytest.approx(30 + 1.65 * 5 * math.sqrt(3))

    # (b): the same commercial decisions, supply optimised: one order of 40 at 0 costs
    # 20 + 0.4·(30 + 20 + 10) = 44, less than two orders (20 + 20 at 0 and 2: 40 + 0.4·20 = 48;
    # the rule's 30 + 10: 40 + 0.4·30 = 52): profit 160 − 44 = 116, value of optimisation 8.
    b = optimal_supply_plan(sc, plan, time_limit=60, threads=1)
    assert b.kpis["status"] == "optimal" and b.kpis["method"] == "supply_optimal"
    assert check_plan(sc, b) == []
    assert dict(zip(b.orders["period"], b.orders["units"])) == pytest.approx({0: 40.0})
    assert b.kpis["profit"] == pytest.approx(116.0, abs=1e-6)
    assert b.kpis["profit"] - plan.kpis["profit"] == pytest.approx(8.0, abs=1e-6)


# ---------------------------------------------------------------------- (b) keeps the commercial decisions


def test_supply_optimal_keeps_the_commercial_decisions() -> None:
    """On instances/tiny (b) keeps (a)'s launches, featured products and ad spend (here: none, as
    no ad pays at the margin) and is never below (a): the rule's supply plan is a feasible point."""
    sc = ops.Scenario.load(INSTANCES / "tiny")
    a = practitioner_plan(sc)
    b = optimal_supply_plan(sc, a, time_limit=60, threads=1)
    assert b.kpis["status"] == "optimal"
    assert check_plan(sc, b) == []
    assert launches_of(b) == launches_of(a)
    assert sorted(zip(b.featured["product"], b.featured["period"])) == sorted(zip(a.featured["product"],
                                                                                    a.featured["period"]))
    assert float(b.advertising["spend"].sum()) == pytest.approx(float(a.advertising["spend"].sum()), abs=1e-6)
    assert b.kpis["profit"] >= a.kpis["profit"] - 1e-6


# ---------------------------------------------------------------------- (c) sequential-optimal


def test_sequential_launches_on_gross_margin_and_pays_for_it(tmp_path: Path) -> None:
    """N1 (new, one period): 10 units at price 10, unit_cost 5, launch_cost 30, but its only lane
    costs 4 per unit. Commercial step (no supply costs): gross margin 50 − 30 = 20 > 0, launch.
    Supply step, launch fixed: selling still earns 10 − 5 − 4 = 1 a unit, so 10 − 30 = −20.
    The joint plan does not launch: 0. Value of integration 0 − (−20) = 20."""
    tables = {"products": [{"product": "N1", "category": "C", "brand": "B", "price": 10, "unit_cost": 5,
                            "status": "new", "launch_cost": 30}],
              "launch_curve": [{"product": "N1", "region": "R1", "age": 0, "demand": 10}],
              **one_warehouse(["N1"], lane_cost=4)}
    sc = write(tmp_path / "seq", "[horizon]\nperiods = 1", tables)
    relaxed = commercial_scenario(sc)
    assert float(relaxed.lanes["cost_per_unit"].sum()) == 0
    c = sequential_plan(sc, time_limit=60, threads=1)
    assert c.kpis["method"] == "sequential" and c.kpis["status"] == "optimal"
    assert c.kpis["commercial_profit"] == pytest.approx(20.0)
    assert check_plan(sc, c) == []
    assert launches_of(c) == {"N1": 0}
    assert c.kpis["profit"] == pytest.approx(-20.0)
    joint = ops.solve(sc, time_limit=60, threads=1)
    assert joint.kpis["profit"] == pytest.approx(0.0, abs=1e-6) and launches_of(joint) == {}


# ---------------------------------------------------------------------- the joint search starts from the best baseline


def test_joint_plan_is_never_below_its_baseline_start() -> None:
    """A time-limited run that ended below the baseline it started from returns the baseline, with
    the run's status and bound (the gap relative to the plan's profit). On instances/tiny:
    practitioner 499, naive siloed rules 43.91, optimum 502.75."""
    sc = ops.Scenario.load(INSTANCES / "tiny")
    a = practitioner_plan(sc)
    assert a.kpis["profit"] == pytest.approx(499.0, abs=0.01)
    weak = siloed_plan(sc)
    weak.kpis = {**weak.kpis, "status": "time_limit", "best_bound": 502.75}
    out = _not_below(sc, weak, a)
    assert out.kpis["status"] == "time_limit" and out.kpis["profit"] == pytest.approx(a.kpis["profit"])
    assert out.kpis["mip_gap"] == pytest.approx(mip_gap(a.kpis["profit"], 502.75))
    assert out.kpis["mip_gap"] == pytest.approx((502.75 - a.kpis["profit"]) / a.kpis["profit"], rel=1e-6)
    assert "below" in out.kpis["message"] and check_plan(sc, out) == []
    best, name = start_plan(sc)
    assert name == "practitioner plan" and best.kpis["profit"] == pytest.approx(a.kpis["profit"])
    joint = ops.solve(sc, time_limit=60, threads=1, start=a)
    assert joint.kpis["profit"] >= a.kpis["profit"] - 1e-6
    report = uplift_report(sc, joint)  # against the practitioner plan by default
    assert report.loc["profit", "siloed"] == pytest.approx(a.kpis["profit"])


def test_decompose_starts_from_the_best_baseline_and_keeps_fixed_commercial_decisions() -> None:
    """instances/tiny by product groups: the search starts from the practitioner plan (499 > the naive
    43.91) and never ends below it; with the commercial decisions fixed ((b) by decompose) the launches,
    featured products and ad spend stay the practitioner's and the profit is at least (a)'s. The group
    MIPs of tiny are solved to optimality in milliseconds; the sweeps end when no group improves."""
    sc = ops.Scenario.load(INSTANCES / "tiny")
    a = practitioner_plan(sc)
    joint = ops.solve(sc, method="decompose", time_limit=120, threads=1)
    assert joint.kpis["start"] == "practitioner plan"
    assert joint.kpis["start_profit"] == pytest.approx(a.kpis["profit"])
    assert joint.kpis["profit"] >= a.kpis["profit"] - 1e-6 and check_plan(sc, joint) == []
    b = optimal_supply_plan(sc, a, method="decompose", time_limit=120, threads=1)
    assert check_plan(sc, b) == [] and b.kpis["method"] == "supply_optimal"
    assert launches_of(b) == launches_of(a)
    assert sorted(zip(b.featured["product"], b.featured["period"])) == sorted(zip(a.featured["product"],
                                                                                    a.featured["period"]))
    assert float(b.advertising["spend"].sum()) == pytest.approx(float(a.advertising["spend"].sum()), abs=1e-6)
    assert b.kpis["profit"] >= a.kpis["profit"] - 1e-6
