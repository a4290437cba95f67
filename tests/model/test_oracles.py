"""Known-answer tests of the optimizer against oracles computed outside the model.

Every scenario here is written into ``tmp_path`` by the test itself and kept
simple enough that an exact answer follows from plain Python: a closed form,
an enumeration of every decision, or a greedy rule that is provably optimal
for that structure. The common simplifications are one warehouse, lanes with
cost 0 (or a known cost), lead time 0, no order costs (orders then match
demand exactly and nothing is held) and infinite capacities unless a test is
about them.

Every solved plan must also pass the independent plan checker.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from pathlib import Path

import pytest

import optsupply as ops
from optsupply.plan.check import check_plan

# ---------------------------------------------------------------------- helpers


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "inf" if math.isinf(value) else repr(value)
    return str(value)


def write_scenario(folder: Path, toml: str, tables: dict[str, str | list[dict]]) -> Path:
    """Write ``scenario.toml`` and one CSV per table into ``folder``.

    A table is either CSV text (dedented) or a list of row dicts; the header is
    the union of the rows' keys in first-seen order, a missing key is a blank
    cell.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(textwrap.dedent(toml).strip() + "\n", encoding="utf-8")
    for name, content in tables.items():
        if isinstance(content, str):
            text = textwrap.dedent(content).strip() + "\n"
        else:
            columns = list(dict.fromkeys(key for row in content for key in row))
            lines = [",".join(columns)]
            lines += [",".join(_cell(row.get(col)) for col in columns) for row in content]
            text = "\n".join(lines) + "\n"
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def solve_checked(folder: Path) -> tuple[ops.Scenario, ops.Plan]:
    """Load, solve to optimality (gap 0, one thread) and run the plan checker."""
    sc = ops.Scenario.load(folder)
    plan = ops.solve(sc, mip_gap=0.0, threads=1, time_limit=60)
    assert plan.kpis["status"] == "optimal"
    assert check_plan(sc, plan) == []
    return sc, plan


def toml_for(periods: int, extra: str = "") -> str:
    return f"name = \"oracle\"\n[horizon]\nperiods = {periods}\n" + textwrap.dedent(extra)


def one_warehouse(products: list[str], *, lane_cost: dict[str, float] | None = None,
                  warehouse: dict | None = None, lane_capacity: dict[str, float] | None = None) -> dict:
    """warehouses / supply / lanes of the common set-up: W1, lead time 0, no order terms."""
    lane_cost = lane_cost or {"R1": 0.0}
    lane_capacity = lane_capacity or {}
    return {
        "warehouses": [{"warehouse": "W1", **(warehouse or {})}],
        "supply": [{"product": p, "warehouse": "W1", "lead_time": 0} for p in products],
        "lanes": [{"warehouse": "W1", "region": r, "cost_per_unit": c, "capacity": lane_capacity.get(r, math.inf)}
                  for r, c in lane_cost.items()],
    }


def launches_of(plan: ops.Plan) -> dict[str, int]:
    return {str(p): int(t) for p, t in zip(plan.launches["product"], plan.launches["period"])}


def unique_best(scored: list[tuple[float, object]], margin: float = 1e-6) -> tuple[float, object]:
    """The best (value, choice); fails if the runner-up is within ``margin`` (a test design error)."""
    ranked = sorted(scored, key=lambda vc: -vc[0])
    assert len(ranked) == 1 or ranked[0][0] - ranked[1][0] > margin, f"oracle optimum is not unique: {ranked[:2]}"
    return ranked[0]


# ---------------------------------------------------------------------- 1. launch timing


SEASONALITY_1 = {"C1": [1.0, 0.6, 1.3, 1.5, 0.9, 0.4], "C2": [0.5, 1.0, 1.2, 0.8, 1.1, 1.0]}
NEW_1 = {
    # product: category, price, unit_cost, window, launch curve by age (units, region R1)
    "N1": {"category": "C1", "brand": "B1", "price": 10.0, "unit_cost": 6.0, "window": (1, 4),
           "curve": {0: 5.0, 1: 10.0, 2: 6.0, 3: 2.0}},
    "N2": {"category": "C2", "brand": "B2", "price": 12.0, "unit_cost": 7.0, "window": (0, 5),
           "curve": {0: 8.0, 1: 5.0}},
}


def launch_margin(info: dict, tau: int, H: int, season: dict[str, list[float]]) -> float:
    """Σ_a margin · launch_curve(a) · seasonality(category, τ + a) over the ages inside the horizon."""
    m = info["price"] - info["unit_cost"]
    idx = season.get(info["category"], [1.0] * H)
    return sum(m * d * idx[tau + a] for a, d in info["curve"].items() if tau + a < H)


@pytest.mark.parametrize(
    "case, launch_cost, must_launch",
    [
        ("both launch at their best period", {"N1": 30.0, "N2": 20.0}, {}),
        ("N1 is not worth launching", {"N1": 120.0, "N2": 20.0}, {}),
        ("N1 must launch at a loss", {"N1": 120.0, "N2": 20.0}, {"N1": True}),
    ],
    ids=["best-periods", "not-launching", "must-launch-at-a-loss"],
)
def test_launch_timing_matches_enumeration(tmp_path: Path, case: str, launch_cost: dict, must_launch: dict) -> None:
    """Oracle: enumerate every launch period τ in each window and 'not launched'
    (not allowed under must_launch); profit = Σ margin · curve(t−τ) · seasonality(t)
    − launch_cost. The products do not interact, so the joint optimum is the
    enumeration over all pairs."""
    H = 6
    products = [{"product": p, "category": i["category"], "brand": i["brand"], "price": i["price"],
                 "unit_cost": i["unit_cost"], "status": "new", "launch_earliest": i["window"][0],
                 "launch_latest": i["window"][1], "launch_cost": launch_cost[p],
                 "must_launch": must_launch.get(p, False)} for p, i in NEW_1.items()]
    curve = [{"product": p, "region": "R1", "age": a, "demand": d} for p, i in NEW_1.items() for a, d in i["curve"].items()]
    season = [{"category": c, "period": t, "index": v} for c, idx in SEASONALITY_1.items() for t, v in enumerate(idx)]
    write_scenario(tmp_path, toml_for(H), {"products": products, "launch_curve": curve, "seasonality": season,
                                           **one_warehouse(list(NEW_1))})

    options = {}
    for p, i in NEW_1.items():
        lo, hi = i["window"]
        choices = [] if must_launch.get(p) else [(0.0, None)]
        choices += [(launch_margin(i, tau, H, SEASONALITY_1) - launch_cost[p], tau) for tau in range(lo, hi + 1)]
        options[p] = choices
    scored = []
    for combo in itertools.product(*options.values()):
        value = sum(v for v, _ in combo)
        scored.append((value, {p: tau for p, (_, tau) in zip(options, combo) if tau is not None}))
    best_profit, best_launch = unique_best(scored)

    _, plan = solve_checked(tmp_path)
    assert launches_of(plan) == best_launch
    assert plan.kpis["profit"] == pytest.approx(best_profit, abs=1e-6)
    assert plan.kpis["costs"]["launch"] == pytest.approx(sum(launch_cost[p] for p in best_launch), abs=1e-9)
    if case == "both launch at their best period":
        assert best_launch == {"N1": 2, "N2": 1}  # 4·27.7 − 30 = 80.8 and 5·14 − 20 = 50
        assert best_profit == pytest.approx(130.8, abs=1e-9)
    elif case == "N1 is not worth launching":
        assert best_launch == {"N2": 1}
        assert best_profit == pytest.approx(50.0, abs=1e-9)
    else:
        assert best_launch == {"N1": 2, "N2": 1}  # 110.8 − 120 = −9.2
        assert best_profit == pytest.approx(40.8, abs=1e-9)


# ---------------------------------------------------------------------- 2. advertising (Hill s = 1)


AD_PRODUCTS = {
    # product: margin m (price − unit_cost, lane cost 0) and the response per channel: (max_uplift M, half_saturation k)
    "P1": {"price": 15.0, "unit_cost": 10.0, "resp": {"search": (100.0, 50.0), "social": (60.0, 40.0)}},
    "P2": {"price": 20.0, "unit_cost": 12.0, "resp": {"search": (60.0, 80.0), "social": (90.0, 120.0)}},
    "P3": {"price": 9.0, "unit_cost": 6.0, "resp": {"search": (200.0, 100.0)}},
    "P4": {"price": 30.0, "unit_cost": 20.0, "resp": {"search": (40.0, 30.0), "social": (30.0, 60.0)}},
    "P5": {"price": 7.0, "unit_cost": 5.0, "resp": {"search": (20.0, 100.0)}},  # m·M/k = 0.4 < 1: never advertised
}
BASE_DEMAND = 1000.0


def kkt_allocation(terms: dict, budget: float | None) -> tuple[dict, float, float]:
    """Maximise Σ m·M·x/(x+k) − x over x ≥ 0 with Σ x ≤ budget.

    ``terms`` maps a key to (m, M, k). KKT: x = max(0, sqrt(m·M·k/(1+λ)) − k)
    with λ ≥ 0, λ = 0 when the unconstrained optimum fits the budget, else found
    by bisection so that Σ x = budget. Returns (x by key, optimal ad profit, λ).
    """
    def alloc(lam: float) -> dict:
        return {key: max(0.0, math.sqrt(m * M * k / (1.0 + lam)) - k) for key, (m, M, k) in terms.items()}

    lam = 0.0
    x = alloc(0.0)
    if budget is not None and sum(x.values()) > budget:
        lo, hi = 0.0, 1.0
        while sum(alloc(hi).values()) > budget:
            hi *= 2.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if sum(alloc(mid).values()) > budget:
                lo = mid
            else:
                hi = mid
        lam, x = hi, alloc(hi)
    value = sum(m * M * x[key] / (x[key] + k) - x[key] for key, (m, M, k) in terms.items())
    return x, value, lam


def spend_window(m: float, M: float, k: float, lam: float, x_star: float, loss: float) -> tuple[float, float]:
    """Spends x ≥ 0 whose Lagrangian gap L(x*) − L(x), L(x) = m·M·x/(x+k) − (1+λ)·x, is at most ``loss``.

    If the plan's ad profit is within ``loss`` of the optimum, Σ over all terms of
    these gaps is at most ``loss`` (the budget term only adds λ·slack ≥ 0), so
    every single spend must lie in its window. L is concave, so the window is an
    interval around x*, found by bisection on each side.
    """
    def gap(x: float) -> float:
        return (m * M * x_star / (x_star + k) - (1 + lam) * x_star) - (m * M * x / (x + k) - (1 + lam) * x)

    lo = 0.0
    if gap(0.0) > loss:
        a, b = 0.0, x_star
        for _ in range(100):
            mid = 0.5 * (a + b)
            a, b = (mid, b) if gap(mid) > loss else (a, mid)
        lo = b
    a, b = x_star, x_star + k + 1.0
    while gap(b) <= loss:
        b *= 2.0
    for _ in range(100):
        mid = 0.5 * (a + b)
        a, b = (a, mid) if gap(mid) > loss else (mid, b)
    return lo, a


def ad_scenario(folder: Path, H: int, channels: list[str], channel_budget: float | None,
                total_budget: float | None, pwl_tolerance: float = 0.005) -> None:
    extra = f"[advertising]\npwl_tolerance = {pwl_tolerance}\n"
    if total_budget is not None:
        extra += f"total_budget = {total_budget}\n"
    products = [{"product": p, "category": "C1", "brand": "B1", "price": i["price"], "unit_cost": i["unit_cost"]}
                for p, i in AD_PRODUCTS.items()]
    demand = [{"product": p, "region": "R1", "period": t, "demand": BASE_DEMAND} for p in AD_PRODUCTS for t in range(H)]
    response = [{"product": p, "channel": c, "max_uplift": M, "half_saturation": k, "shape": 1, "carryover": 0}
                for p, i in AD_PRODUCTS.items() for c, (M, k) in i["resp"].items() if c in channels]
    budget = math.inf if channel_budget is None else channel_budget
    write_scenario(folder, toml_for(H, extra), {
        "products": products, "demand": demand, "response": response,
        "channels": [{"channel": c, "budget": budget} for c in channels], **one_warehouse(list(AD_PRODUCTS))})


def ad_terms(channels: list[str]) -> dict:
    return {(p, c): (i["price"] - i["unit_cost"], M, k)
            for p, i in AD_PRODUCTS.items() for c, (M, k) in i["resp"].items() if c in channels}


def plan_spend(plan: ops.Plan) -> dict:
    """Spend summed over periods, by (product, channel)."""
    out: dict = {}
    for p, c, x in zip(plan.advertising["product"], plan.advertising["channel"], plan.advertising["spend"]):
        out[(str(p), str(c))] = out.get((str(p), str(c)), 0.0) + float(x)
    return out


def assert_ad_optimum(plan: ops.Plan, terms: dict, x_star: dict, ad_value: float, lam: float, H: int,
                      pwl_tolerance: float) -> float:
    """The plan against the KKT optimum; returns the profit it loses, as a share of the ad-driven part.

    * It never beats the true optimum (a plan may not count on more uplift than
      the true curve gives at its spend).
    * It loses at most what the piecewise-linear response may cost: each curve
      is off by at most pwl_tolerance · max_uplift units, worth
      m · pwl_tolerance · max_uplift per product, channel and period.
    * Every spend per period lies in the window that the plan's own loss allows
      (see spend_window): the true curve at the plan's spend gives at least the
      uplift the plan reports, so its Lagrangian gaps add up to at most that loss.
    """
    base = sum((i["price"] - i["unit_cost"]) * BASE_DEMAND * H for i in AD_PRODUCTS.values())
    optimum = base + H * ad_value
    profit = plan.kpis["profit"]
    assert profit <= optimum + 1e-9 * optimum
    loss = H * sum(m * pwl_tolerance * M for m, M, _ in terms.values())
    assert profit >= optimum - loss
    spend = {(str(p), str(c), int(t)): float(x) for p, c, t, x in zip(
        plan.advertising["product"], plan.advertising["channel"], plan.advertising["period"], plan.advertising["spend"])}
    assert {(p, c) for p, c, _ in spend} <= set(terms)
    for (p, c), (m, M, k) in terms.items():
        lo, hi = spend_window(m, M, k, lam, x_star[(p, c)], max(optimum - profit, 0.0) + 1e-6)
        for t in range(H):
            assert lo - 1e-6 <= spend.get((p, c, t), 0.0) <= hi + 1e-6, (p, c, t, x_star[(p, c)], lo, hi)
    assert plan.kpis["costs"]["advertising"] == pytest.approx(sum(spend.values()), abs=1e-6)
    return (optimum - profit) / (H * ad_value)


@pytest.mark.parametrize("budget", [None, 5000.0], ids=["no-budget", "slack-budget"])
def test_ads_unconstrained_match_closed_form(tmp_path: Path, budget: float | None) -> None:
    """Oracle: with no binding budget each product's spend per period is
    x = max(0, sqrt(m·M·k) − k) (the stationary point of m·M·x/(x+k) − x), and
    profit = Σ m·base_demand + Σ_t Σ_i (m·M·x/(x+k) − x)."""
    H, channels = 2, ["search"]
    ad_scenario(tmp_path, H, channels, channel_budget=budget, total_budget=None)
    terms = ad_terms(channels)
    x_star, ad_value, lam = kkt_allocation(terms, None)
    assert x_star[("P5", "search")] == 0.0
    assert sum(x_star.values()) < 5000.0
    _, plan = solve_checked(tmp_path)
    assert_ad_optimum(plan, terms, x_star, ad_value, lam, H, 0.005)
    assert plan_spend(plan).get(("P5", "search"), 0.0) == 0.0


def test_ads_channel_budget_binds_kkt(tmp_path: Path) -> None:
    """Oracle: a per-period channel budget B below the unconstrained total spend;
    x_i = max(0, sqrt(m_i·M_i·k_i/(1+λ)) − k_i) with λ > 0 by bisection so that
    Σ x_i = B in every period."""
    H, channels, B = 2, ["search"], 200.0
    ad_scenario(tmp_path, H, channels, channel_budget=B, total_budget=None)
    terms = ad_terms(channels)
    unconstrained, *_ = kkt_allocation(terms, None)
    assert sum(unconstrained.values()) > B + 100  # the budget binds clearly
    x_star, ad_value, lam = kkt_allocation(terms, B)
    assert sum(x_star.values()) == pytest.approx(B, rel=1e-9)
    _, plan = solve_checked(tmp_path)
    assert_ad_optimum(plan, terms, x_star, ad_value, lam, H, 0.005)
    per_period = plan.advertising.groupby("period")["spend"].sum()
    for t in range(H):
        assert per_period.get(t, 0.0) <= B + 1e-6
    assert plan.kpis["costs"]["advertising"] == pytest.approx(H * B, rel=1e-4)


@pytest.mark.parametrize("pwl_tolerance", [0.005, 0.001])
def test_ads_total_budget_binds_over_two_channels(tmp_path: Path, pwl_tolerance: float) -> None:
    """Oracle: a horizon budget over two channels and two identical periods. The
    problem is concave and symmetric in time, so each period gets half of the
    budget and one λ prices every (product, channel):
    x = max(0, sqrt(m·M·k/(1+λ)) − k) with Σ x = total_budget / H."""
    H, channels, total = 2, ["search", "social"], 500.0
    ad_scenario(tmp_path, H, channels, channel_budget=None, total_budget=total, pwl_tolerance=pwl_tolerance)
    terms = ad_terms(channels)
    unconstrained, *_ = kkt_allocation(terms, None)
    assert sum(unconstrained.values()) > total / H + 100
    x_star, ad_value, lam = kkt_allocation(terms, total / H)
    _, plan = solve_checked(tmp_path)
    share = assert_ad_optimum(plan, terms, x_star, ad_value, lam, H, pwl_tolerance)
    assert plan.kpis["costs"]["advertising"] == pytest.approx(total, rel=1e-4)
    if pwl_tolerance <= 0.001:
        # here the documented bound, 0.001 · Σ m·M per period, is below 0.5 % of the ad-driven profit
        assert sum(m * pwl_tolerance * M for m, M, _ in terms.values()) < 0.005 * ad_value
        assert share <= 0.005


# ---------------------------------------------------------------------- 3. featured slots


FEATURED = {
    # product: price, unit_cost, featured_lift, base demand by period
    "P1": (10.0, 6.0, 0.5, [10.0, 20.0, 15.0, 5.0]),
    "P2": (11.0, 5.0, 0.2, [30.0, 10.0, 20.0, 25.0]),
    "P3": (8.0, 5.0, 0.8, [8.0, 12.0, 11.0, 16.0]),
    "P4": (12.0, 7.0, 0.3, [12.0, 30.0, 8.0, 14.0]),
    "P5": (6.0, 4.0, 1.0, [6.0, 11.0, 30.0, 9.0]),
}
SLOTS = [1, 2, 0, 3]


def test_featured_slots_match_greedy(tmp_path: Path) -> None:
    """Oracle: products are independent, so featuring p in t adds
    featured_lift · d(p,t) · margin_p and nothing else; per period the best
    choice is the top-k products by that gain (k = slots(t), all gains positive
    and distinct). Profit = Σ margin · d + Σ chosen gains."""
    H = len(SLOTS)
    products = [{"product": p, "category": "C1", "brand": "B1", "price": pr, "unit_cost": uc, "featured_lift": lift}
                for p, (pr, uc, lift, _) in FEATURED.items()]
    demand = [{"product": p, "region": "R1", "period": t, "demand": d}
              for p, (*_, ds) in FEATURED.items() for t, d in enumerate(ds)]
    slots = """
        period,slots
        0,1
        1,2
        2,0
        3,3
    """
    assert SLOTS == [1, 2, 0, 3]
    write_scenario(tmp_path, toml_for(H), {"products": products, "demand": demand, "slots": slots,
                                           **one_warehouse(list(FEATURED))})

    expected: dict[int, set[str]] = {}
    profit = 0.0
    for t in range(H):
        gains = {p: lift * ds[t] * (pr - uc) for p, (pr, uc, lift, ds) in FEATURED.items()}
        ranked = sorted(gains.items(), key=lambda kv: -kv[1])
        assert all(g > 0 for g in gains.values()) and len(set(gains.values())) == len(gains)
        expected[t] = {p for p, _ in ranked[:SLOTS[t]]}
        profit += sum((pr - uc) * ds[t] for pr, uc, _, ds in FEATURED.values())
        profit += sum(g for _, g in ranked[:SLOTS[t]])
    assert expected == {0: {"P2"}, 1: {"P4", "P1"}, 2: set(), 3: {"P3", "P2", "P4"}}

    _, plan = solve_checked(tmp_path)
    got = {t: set() for t in range(H)}
    for p, t in zip(plan.featured["product"], plan.featured["period"]):
        got[int(t)].add(str(p))
    assert got == expected
    assert plan.kpis["profit"] == pytest.approx(profit, abs=1e-6)
    assert plan.sales["featured_uplift"].sum() == pytest.approx(
        sum(FEATURED[p][2] * FEATURED[p][3][t] for t, ps in expected.items() for p in ps), abs=1e-6)


# ---------------------------------------------------------------------- 4. launch rules


RULES_H = 5
RULES_SEASON = {"CA": [1.0, 1.2, 0.9, 1.1, 0.7], "CB": [0.8, 1.0, 1.3, 1.0, 1.2]}
RULES_PRODUCTS = {
    "N1": {"category": "CA", "brand": "B1", "price": 10.0, "unit_cost": 6.0, "window": (0, 3), "launch_cost": 10.0,
           "must_launch": False, "curve": {0: 6.0, 1: 8.0, 2: 4.0}},
    "N2": {"category": "CA", "brand": "B2", "price": 9.0, "unit_cost": 5.0, "window": (1, 4), "launch_cost": 12.0,
           "must_launch": False, "curve": {0: 5.0, 1: 7.0, 2: 5.0, 3: 2.0}},
    "N3": {"category": "CA", "brand": "B2", "price": 15.0, "unit_cost": 10.0, "window": (0, 2), "launch_cost": 60.0,
           "must_launch": False, "curve": {0: 3.0, 1: 4.0, 2: 4.0}},
    "N4": {"category": "CB", "brand": "B1", "price": 8.0, "unit_cost": 5.0, "window": (2, 4), "launch_cost": 40.0,
           "must_launch": True, "curve": {0: 4.0, 1: 5.0}},
    "N5": {"category": "CB", "brand": "B2", "price": 20.0, "unit_cost": 14.0, "window": (0, 4), "launch_cost": 25.0,
           "must_launch": False, "curve": {0: 2.0, 1: 3.0, 2: 3.0, 3: 3.0}},
}
RULES_CATEGORIES = {"CA": (20.0, 2), "CB": (15.0, 0)}  # onboarding_cost, min_products
RULES_BRANDS = {"B1": (10.0, 0), "B2": (5.0, 3)}  # N3 loses money alone; B2 needs it to launch N2 and N5


def rules_oracle(max_per_period: int, *, min_products: bool = True) -> tuple[float, dict[str, int], int]:
    """Enumerate every assignment of a launch period (or none) to each product.

    Returns the best profit, its launches and the number of feasible assignments.
    ``min_products=False`` drops that rule (to show that it binds).
    """
    options = []
    for p, i in RULES_PRODUCTS.items():
        lo, hi = i["window"]
        options.append(([] if i["must_launch"] else [None]) + list(range(lo, hi + 1)))
    scored = []
    for combo in itertools.product(*options):
        launched = {p: tau for p, tau in zip(RULES_PRODUCTS, combo) if tau is not None}
        per_period: dict[int, int] = {}
        for tau in launched.values():
            per_period[tau] = per_period.get(tau, 0) + 1
        if any(n > max_per_period for n in per_period.values()):
            continue
        value = 0.0
        feasible = True
        for groups, attr in ((RULES_CATEGORIES, "category"), (RULES_BRANDS, "brand")):
            for g, (cost, minimum) in groups.items():
                n = sum(1 for p in launched if RULES_PRODUCTS[p][attr] == g)
                if n > 0:
                    value -= cost
                    feasible &= n >= minimum or not min_products
        if not feasible:
            continue
        for p, tau in launched.items():
            value += launch_margin(RULES_PRODUCTS[p], tau, RULES_H, RULES_SEASON) - RULES_PRODUCTS[p]["launch_cost"]
        scored.append((value, launched))
    best_value, best_launch = unique_best(scored)
    return best_value, best_launch, len(scored)


@pytest.mark.parametrize("max_per_period", [1, 2])
def test_launch_rules_match_enumeration(tmp_path: Path, max_per_period: int) -> None:
    """Oracle: enumerate every assignment of launch periods (or no launch) within
    the windows; keep those with must_launch launched, at most max_per_period
    launches per period and min_products per category/brand that launches at all;
    profit = Σ margin · curve · seasonality − launch costs − onboarding cost of
    each category/brand with at least one launch."""
    products = [{"product": p, "category": i["category"], "brand": i["brand"], "price": i["price"],
                 "unit_cost": i["unit_cost"], "status": "new", "launch_earliest": i["window"][0],
                 "launch_latest": i["window"][1], "launch_cost": i["launch_cost"], "must_launch": i["must_launch"]}
                for p, i in RULES_PRODUCTS.items()]
    curve = [{"product": p, "region": "R1", "age": a, "demand": d}
             for p, i in RULES_PRODUCTS.items() for a, d in i["curve"].items()]
    season = [{"category": c, "period": t, "index": v} for c, idx in RULES_SEASON.items() for t, v in enumerate(idx)]
    write_scenario(tmp_path, toml_for(RULES_H, f"[launch]\nmax_per_period = {max_per_period}\n"), {
        "products": products, "launch_curve": curve, "seasonality": season,
        "categories": [{"category": c, "onboarding_cost": oc, "min_products": mp} for c, (oc, mp) in RULES_CATEGORIES.items()],
        "brands": [{"brand": b, "onboarding_cost": oc, "min_products": mp} for b, (oc, mp) in RULES_BRANDS.items()],
        **one_warehouse(list(RULES_PRODUCTS))})

    best_value, best_launch, n_feasible = rules_oracle(max_per_period)
    assert n_feasible > 50  # the rules leave a real choice
    assert "N4" in best_launch  # must_launch, although N4 alone loses money
    _, plan = solve_checked(tmp_path)
    assert launches_of(plan) == best_launch
    assert plan.kpis["profit"] == pytest.approx(best_value, abs=1e-6)
    onboarding = sum(cost for groups, attr in ((RULES_CATEGORIES, "category"), (RULES_BRANDS, "brand"))
                     for g, (cost, _) in groups.items()
                     if any(RULES_PRODUCTS[p][attr] == g for p in best_launch))
    assert plan.kpis["costs"]["onboarding"] == pytest.approx(onboarding, abs=1e-9)
    assert plan.kpis["launched"] == len(best_launch)


def test_launch_rules_oracle_depends_on_the_rules() -> None:
    """The test above checks every rule: the two caps lead to different optima, and
    without min_products both optima would differ (N3 would not launch)."""
    one = rules_oracle(1)
    two = rules_oracle(2)
    assert two[0] > one[0] + 1e-6
    assert two[1] != one[1]
    assert one == (pytest.approx(61.5, abs=1e-9), {"N1": 3, "N2": 1, "N3": 2, "N4": 4, "N5": 0}, 72)
    assert two[:2] == (pytest.approx(119.2, abs=1e-9), {"N1": 0, "N2": 1, "N3": 0, "N4": 2, "N5": 1})
    for cap, with_min in ((1, one), (2, two)):
        without = rules_oracle(cap, min_products=False)
        assert without[0] > with_min[0] + 1e-6
        assert "N3" in with_min[1] and "N3" not in without[1]


# ---------------------------------------------------------------------- 5. lost sales


LOST = {
    # product: price, unit_cost, volume, demand in R1 and R2 (one period)
    "A": (20.0, 10.0, 2.0, {"R1": 10.0, "R2": 10.0}),
    "B": (12.5, 8.0, 1.0, {"R1": 12.0, "R2": 12.0}),
}
LOST_LANES = {"R1": 0.0, "R2": 1.0}  # per unit of volume
THROUGHPUT = 30.0


def lost_sales_oracle(lost_cost: dict[str, float], capacity: dict[str, float]) -> tuple[float, dict[tuple[str, str], float]]:
    """Continuous knapsack per capacity: ``capacity`` maps "W1" (warehouse throughput,
    shared by every region) or a region (its lane) to a volume. Within each, serve
    (product, region) in order of (margin + lost_sale_cost) per unit of volume while
    it is positive; profit = Σ (margin + L)·sales − Σ L·demand."""
    groups: dict[str, list] = {}
    for p, (price, cost, vol, demand) in LOST.items():
        for r, d in demand.items():
            ratio = (price - cost - LOST_LANES[r] * vol + lost_cost[p]) / vol
            groups.setdefault("W1" if "W1" in capacity else r, []).append((ratio, p, r, vol, d))
    sales, profit = {}, 0.0
    for group, items in groups.items():
        items.sort(key=lambda it: -it[0])
        assert len({it[0] for it in items}) == len(items)
        left = capacity[group]
        for ratio, p, r, vol, d in items:
            units = min(d, left / vol) if ratio > 0 else 0.0
            sales[(p, r)] = units
            left -= units * vol
            profit += ratio * vol * units
    profit -= sum(lost_cost[p] * d for p, (*_, demand) in LOST.items() for d in demand.values())
    return profit, sales


@pytest.mark.parametrize(
    "lost_cost, capacity, expected_profit, expected_sales",
    [
        ({"A": 0.0, "B": 0.0}, {"W1": THROUGHPUT}, 145.0,
         {("A", "R1"): 10, ("A", "R2"): 0, ("B", "R1"): 10, ("B", "R2"): 0}),
        ({"A": 0.0, "B": 3.0}, {"W1": THROUGHPUT}, 126.0,
         {("A", "R1"): 3, ("A", "R2"): 0, ("B", "R1"): 12, ("B", "R2"): 12}),
        ({"A": 4.0, "B": 3.0}, {"W1": THROUGHPUT}, 64.0,
         {("A", "R1"): 9, ("A", "R2"): 0, ("B", "R1"): 12, ("B", "R2"): 0}),
        ({"A": 0.0, "B": 0.0}, {"R1": 14.0, "R2": 10.0}, 110.0,
         {("A", "R1"): 7, ("A", "R2"): 5, ("B", "R1"): 0, ("B", "R2"): 0}),
        ({"A": 0.0, "B": 3.0}, {"R1": 14.0, "R2": 10.0}, 93.0,
         {("A", "R1"): 1, ("A", "R2"): 0, ("B", "R1"): 12, ("B", "R2"): 10}),
    ],
    ids=["throughput-no-penalty", "throughput-penalty-on-B", "throughput-penalty-on-both",
         "lanes-no-penalty", "lanes-penalty-on-B"],
)
def test_lost_sales_follow_greedy_on_capacity(tmp_path: Path, lost_cost: dict, capacity: dict,
                                              expected_profit: float, expected_sales: dict) -> None:
    """Oracle: one period, one warehouse; the only binding resource is either the
    warehouse throughput (30 volume, shared by both regions) or each lane's
    capacity. The LP is then a continuous knapsack per resource, solved exactly
    by the greedy on (margin + lost_sale_cost) per unit of volume, so
    lost_sale_cost shifts which product and region are served."""
    products = [{"product": p, "category": "C1", "brand": "B1", "price": pr, "unit_cost": uc, "volume": vol,
                 "lost_sale_cost": lost_cost[p]} for p, (pr, uc, vol, _) in LOST.items()]
    demand = [{"product": p, "region": r, "period": 0, "demand": d}
              for p, (*_, dem) in LOST.items() for r, d in dem.items()]
    warehouse = {"throughput_capacity": capacity["W1"]} if "W1" in capacity else {}
    lane_capacity = {r: c for r, c in capacity.items() if r != "W1"}
    write_scenario(tmp_path, toml_for(1), {
        "products": products, "demand": demand,
        **one_warehouse(list(LOST), lane_cost=LOST_LANES, warehouse=warehouse, lane_capacity=lane_capacity)})

    profit, sales = lost_sales_oracle(lost_cost, capacity)
    assert profit == pytest.approx(expected_profit, abs=1e-9)
    assert sales == pytest.approx(expected_sales, abs=1e-9)

    _, plan = solve_checked(tmp_path)
    got = {(str(p), str(r)): float(s) for p, r, s in zip(plan.sales["product"], plan.sales["region"], plan.sales["sales"])}
    assert {key: got.get(key, 0.0) for key in sales} == pytest.approx(sales, abs=1e-6)
    assert plan.kpis["profit"] == pytest.approx(profit, abs=1e-6)
    lost_units = {p: sum(LOST[p][3].values()) - sum(v for (q, _), v in sales.items() if q == p) for p in LOST}
    assert plan.kpis["costs"]["lost_sale"] == pytest.approx(sum(lost_cost[p] * lost_units[p] for p in LOST), abs=1e-6)


# ---------------------------------------------------------------------- 6. salvage and holding


def test_salvage_below_unit_cost_leaves_no_final_stock(tmp_path: Path) -> None:
    """Oracle: salvage (5) < unit cost (6), no order terms, lead time 0: every unit
    bought is sold in its period, so orders = demand (10 per period), no stock is
    held or left, profit = (10 − 6) · 30 = 120."""
    H = 3
    products = [{"product": "P1", "category": "C1", "brand": "B1", "price": 10.0, "unit_cost": 6.0,
                 "holding_cost": 0.5, "salvage_value": 5.0}]
    demand = [{"product": "P1", "region": "R1", "period": t, "demand": 10.0} for t in range(H)]
    write_scenario(tmp_path, toml_for(H), {"products": products, "demand": demand, **one_warehouse(["P1"])})
    _, plan = solve_checked(tmp_path)
    assert plan.kpis["profit"] == pytest.approx(120.0, abs=1e-6)
    assert plan.orders["units"].sum() == pytest.approx(30.0, abs=1e-6)
    assert plan.stock["units"].sum() == pytest.approx(0.0, abs=1e-6)
    assert plan.kpis["salvage"] == pytest.approx(0.0, abs=1e-9)
    assert plan.kpis["costs"]["holding"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("salvage, expected", [(2.0, 32.5), (0.0, 2.5)])
def test_min_order_leftover_is_salvaged(tmp_path: Path, salvage: float, expected: float) -> None:
    """Oracle (by hand): demand 5, 10, 10; min_order 40, lead time 0, price 10,
    unit cost 6, holding 0.1 per unit per end-of-period stock. Ordering nothing
    earns 0; two orders cost ≥ 80 units; ordering more than 40 only adds
    6 − salvage − holding per unit. So one order of 40 in period 0: stock
    35, 25, 15 → holding 0.1 · 75 = 7.5, 15 units salvaged:
    profit = 250 − 240 − 7.5 + 15 · salvage (32.5 with salvage 2; 2.5 with 0).
    Ordering 40 in period 1 instead (losing 5 units) gives at most
    200 − 240 − 5 + 20 · salvage < that."""
    H = 3
    products = [{"product": "P1", "category": "C1", "brand": "B1", "price": 10.0, "unit_cost": 6.0,
                 "holding_cost": 0.1, "salvage_value": salvage}]
    demand = [{"product": "P1", "region": "R1", "period": t, "demand": d} for t, d in enumerate([5.0, 10.0, 10.0])]
    tables = {"products": products, "demand": demand, **one_warehouse(["P1"])}
    tables["supply"] = [{"product": "P1", "warehouse": "W1", "lead_time": 0, "min_order": 40.0}]
    write_scenario(tmp_path, toml_for(H), tables)
    assert expected == pytest.approx(250 - 240 - 0.1 * (35 + 25 + 15) + 15 * salvage, abs=1e-9)

    _, plan = solve_checked(tmp_path)
    assert plan.kpis["profit"] == pytest.approx(expected, abs=1e-6)
    assert list(zip(plan.orders["period"].astype(int), plan.orders["units"])) == [(0, pytest.approx(40.0, abs=1e-6))]
    final = plan.stock[plan.stock["period"] == H - 1]["units"].sum()
    assert final == pytest.approx(15.0, abs=1e-6)
    assert plan.kpis["salvage"] == pytest.approx(15.0 * salvage, abs=1e-6)
    assert plan.kpis["costs"]["holding"] == pytest.approx(7.5, abs=1e-6)
    assert plan.kpis["revenue"] == pytest.approx(250.0, abs=1e-6)
