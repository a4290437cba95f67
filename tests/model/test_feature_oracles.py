"""Model features against answers computed outside the model.

Each test writes a small scenario (or generates one) and computes the expected
optimum itself, from the SPEC's definitions and nothing of optsupply's model
code: the true Hill curve h(e) = M·e^s/(e^s + k^s) and the adstock recursion
e_t = x_t + carryover·e_{t−1} written out here (never optsupply's
piecewise-linear helpers), a Wagner–Whitin dynamic program over stock levels,
enumeration over spend grids, and hand calculations written next to the test.

* adstock (carryover): a dynamic program over effective spend, also around a
  launch (no uplift before it);
* S-shaped Hill curves (shape > 1): enumeration of spend against the true curve;
* ad uplift split over regions: by hand;
* initial stock and pipeline receipts: Wagner–Whitin by dynamic programming;
* decomposition beyond tiny: independent products, where fix-and-optimize must
  reach the optimum, and a generated instance bracketed by the MIP optimum;
* what-if lean re-solves and sweeps: the new optimum from the Wagner–Whitin DP
  or the S-curve enumeration of the changed scenario;
* plans stopped by node, solution or simplex-iteration limits (never the clock):
  status, checker, profit ≤ independent optimum ≤ bound, or no plan at all;
* the generator's documented statistics, with tolerances from the sample size.

Budget shadow prices against independent solves are in tests/analysis/test_sensitivity.py,
the siloed baseline's KPIs by hand in tests/baselines/test_baseline.py.

A plan counts on the piecewise-linear response g ≤ h with h − g ≤ tolerance·M
(SPEC §3), so with ads the solved profit must lie in
[optimum − Σ margin·tolerance·M, optimum] over every product, channel and period.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optsupply as ops
from optsupply.baselines.siloed import practitioner_plan
from optsupply.scenario.generate import generate
from optsupply.scenario.generate_params import LAYOUT, SIZES
from optsupply.analysis.sweep import sweep
from optsupply.plan.check import check_plan, evaluate_plan
from optsupply.analysis.whatif import WhatIf
from tests.model.test_oracles import one_warehouse, toml_for, write_scenario

SOLVE = dict(mip_gap=1e-9, threads=1, time_limit=120, seed=0)


def solve_checked(folder: Path, **options: object) -> tuple[ops.Scenario, ops.Plan]:
    sc = ops.Scenario.load(folder)
    plan = ops.solve(sc, **{**SOLVE, **options})
    assert plan.kpis["status"] == "optimal"
    assert check_plan(sc, plan) == []
    return sc, plan


def hill(e: float | np.ndarray, M: float, k: float, s: float) -> float | np.ndarray:
    """The true Hill curve of SPEC §3, written out here."""
    e = np.asarray(e, dtype=float)
    return M * e ** s / (e ** s + k ** s)


def adstock(spend: list[float], carryover: float) -> list[float]:
    """Effective spend e_t = x_t + carryover·e_{t−1}, e_{−1} = 0."""
    out, e = [], 0.0
    for x in spend:
        e = x + carryover * e
        out.append(e)
    return out


def ad_rows(plan: ops.Plan, product: str, channel: str, H: int) -> tuple[list[float], list[float], list[float]]:
    """Spend, effective spend and uplift per period (0 where the plan has no row)."""
    ads = plan.advertising
    ads = ads[(ads["product"] == product) & (ads["channel"] == channel)].set_index("period")
    col = lambda c: [float(ads[c].get(t, 0.0)) for t in range(H)]  # noqa: E731
    return col("spend"), col("effective_spend"), col("uplift")


def assert_uplift_on_the_true_curve(plan: ops.Plan, product: str, channel: str, H: int, carryover: float,
                                    M: float, k: float, s: float, tol: float) -> None:
    """The plan's effective spend follows the adstock recursion of its spend, and its uplift lies
    within [h(e) − tol·M, h(e)] (no capacity limits here, so the plan counts on all the response gives)."""
    spend, eff, uplift = ad_rows(plan, product, channel, H)
    assert eff == pytest.approx(adstock(spend, carryover), abs=1e-6)
    for e, u in zip(eff, uplift):
        h = float(hill(e, M, k, s))
        assert h - tol * M - 1e-6 <= u <= h + 1e-6, (product, e, u, h)


# ---------------------------------------------------------------------- 1. adstock


ADSTOCK = dict(price=15.0, unit_cost=10.0, M=100.0, k=50.0, carryover=0.5, H=4, tol=0.002, base=1000.0)


def adstock_dp(m: float, M: float, k: float, lam: float, H: int, e_max: float, step: float,
               active: list[bool] | None = None) -> tuple[float, list[float]]:
    """Best Σ_t (m·h(e_t)·[active_t] − x_t) with x_t = e_t − λ·e_{t−1} ≥ 0, by dynamic programming over
    a grid of effective spend (the state):
    V_t(e_{t−1}) = max_{e ≥ λ·e_{t−1}} m·h(e)·[active_t] − (e − λ·e_{t−1}) + V_{t+1}(e).

    The grid optimum is feasible, hence ≤ the true optimum; returns it and its effective spends."""
    active = active or [True] * H
    grid = np.arange(0.0, e_max + step / 2, step)
    gain = m * hill(grid, M, k, 1.0)
    V = np.zeros(len(grid))  # V_H ≡ 0
    choice = []
    for t in reversed(range(H)):
        # rows: previous state i, columns: next state j; feasible when grid[j] ≥ λ·grid[i]
        val = (gain[None, :] if active[t] else 0.0) - (grid[None, :] - lam * grid[:, None]) + V[None, :]
        val[grid[None, :] < lam * grid[:, None] - 1e-12] = -np.inf
        choice.append(np.argmax(val, axis=1))
        V = val[np.arange(len(grid)), choice[-1]]
    i, eff = 0, []
    for t in range(H):
        i = int(choice[H - 1 - t][i])
        eff.append(float(grid[i]))
    return float(V[0]), eff


def adstock_scenario(folder: Path, carryover: float) -> None:
    a = ADSTOCK
    write_scenario(folder, toml_for(a["H"], f"[advertising]\npwl_tolerance = {a['tol']}\n"), {
        "products": [{"product": "P1", "category": "C1", "brand": "B1", "price": a["price"], "unit_cost": a["unit_cost"]}],
        "demand": [{"product": "P1", "region": "R1", "period": t, "demand": a["base"]} for t in range(a["H"])],
        "channels": [{"channel": "tv", "budget": math.inf}],
        "response": [{"product": "P1", "channel": "tv", "max_uplift": a["M"], "half_saturation": a["k"],
                      "shape": 1, "carryover": carryover}],
        **one_warehouse(["P1"])})


def test_adstock_matches_dynamic_program(tmp_path: Path) -> None:
    """Oracle: a DP over the effective spend e_t (the state), with the true Hill curve (s = 1) and
    x_t = e_t − 0.5·e_{t−1}. Cross-check in closed form: x_t = e_t − λe_{t−1} makes the ad profit
    Σ_t m·h(e_t) − c_t·e_t with c_t = 1 − λ before the last period and 1 in it, separable:
    e_t = √(m·M·k/c_t) − k = √(5·100·50/0.5) − 50 = 173.6 (t < 3) and √25000 − 50 = 108.1 (t = 3),
    which keeps e_3 ≥ λ·e_2 = 86.8. Without carryover each period would be worth
    5·h(108.1) − 108.1 = 233.8 instead of 301.4 (t < 3): about 200 less, ≫ the PWL allowance 4."""
    a = ADSTOCK
    adstock_scenario(tmp_path, a["carryover"])
    m, M, k, lam, H = a["price"] - a["unit_cost"], a["M"], a["k"], a["carryover"], a["H"]
    dp_value, dp_eff = adstock_dp(m, M, k, lam, H, e_max=300.0, step=0.2)
    closed = [math.sqrt(m * M * k / (1 - lam)) - k] * (H - 1) + [math.sqrt(m * M * k) - k]
    closed_value = sum(m * float(hill(e, M, k, 1)) for e in closed) - (sum(closed) - lam * sum(closed[:-1]))
    assert dp_eff == pytest.approx(closed, abs=0.2)
    assert closed_value - 1e-2 <= dp_value <= closed_value + 1e-9  # grid ≤ true optimum, and close to it
    no_carry = H * (m * float(hill(math.sqrt(m * M * k) - k, M, k, 1)) - (math.sqrt(m * M * k) - k))
    allowance = H * m * a["tol"] * M
    assert closed_value - no_carry > 50 * allowance

    sc, plan = solve_checked(tmp_path)
    optimum = m * a["base"] * H + closed_value
    profit = plan.kpis["profit"]
    assert optimum - allowance - 1e-6 <= profit <= optimum + 1e-6
    assert_uplift_on_the_true_curve(plan, "P1", "tv", H, lam, M, k, 1.0, a["tol"])
    spend, eff, _ = ad_rows(plan, "P1", "tv", H)
    # spends near the optimum: a 4-unit loss allows only a narrow window around e* (curvature ~0.002/unit²)
    for e, e_star in zip(eff, closed):
        assert abs(e - e_star) < 0.25 * e_star, (eff, closed)
    assert plan.kpis["costs"]["advertising"] == pytest.approx(sum(spend), abs=1e-6)


def test_adstock_around_a_launch_matches_dynamic_program(tmp_path: Path) -> None:
    """Oracle: the same DP with no gain before the launch, for each launch period τ of N's window 1–3
    (must launch; launch curve 200 units at ages 0 and 1, seasonality 0.2 in periods 0–2 and 1.0 after).
    N may spend from period 0 (its spend carries over), but uplift counts only from its launch on —
    then in every later period, also past the launch curve's last age. Launching at 3 sells the curve
    at index 1 (base margin 5·400 = 2000 against 5·80 = 400 at τ = 1) but leaves only two periods of
    ads (about 600 less): τ = 3 is best. Spend before the launch buys λ = 0.5 of a unit of effective
    spend at the launch per unit, worse than spending at the launch, so nothing is spent before it."""
    a = ADSTOCK
    H = 5
    season = [0.2, 0.2, 0.2, 1.0, 1.0]
    write_scenario(tmp_path, toml_for(H, f"[advertising]\npwl_tolerance = {a['tol']}\n"), {
        "products": [{"product": "N", "category": "C1", "brand": "B1", "price": a["price"], "unit_cost": a["unit_cost"],
                      "status": "new", "launch_earliest": 1, "launch_latest": 3, "must_launch": True}],
        "launch_curve": [{"product": "N", "region": "R1", "age": age, "demand": 200.0} for age in (0, 1)],
        "seasonality": [{"category": "C1", "period": t, "index": v} for t, v in enumerate(season)],
        "channels": [{"channel": "tv", "budget": math.inf}],
        "response": [{"product": "N", "channel": "tv", "max_uplift": a["M"], "half_saturation": a["k"],
                      "shape": 1, "carryover": a["carryover"]}],
        **one_warehouse(["N"])})
    m, M, k, lam = a["price"] - a["unit_cost"], a["M"], a["k"], a["carryover"]
    scored = {}
    for tau in (1, 2, 3):
        value, eff = adstock_dp(m, M, k, lam, H, e_max=300.0, step=0.2, active=[t >= tau for t in range(H)])
        assert all(e == 0.0 for e in eff[:tau])
        scored[tau] = m * 200.0 * (season[tau] + season[tau + 1]) + value
    tau = max(scored, key=scored.get)
    assert tau == 3 and scored[3] > max(scored[1], scored[2]) + 100.0
    sc, plan = solve_checked(tmp_path)
    assert dict(zip(plan.launches["product"], plan.launches["period"])) == {"N": 3}
    allowance = (H - tau) * m * a["tol"] * M
    assert scored[3] - allowance - 1e-2 <= plan.kpis["profit"] <= scored[3] + 1e-2  # 1e-2: the DP grid's own error
    spend, p_eff, uplift = ad_rows(plan, "N", "tv", H)
    assert sum(spend[:tau]) == pytest.approx(0.0, abs=1e-6) and sum(uplift[:tau]) == pytest.approx(0.0, abs=1e-9)
    assert_uplift_on_the_true_curve(plan, "N", "tv", H, lam, M, k, 1.0, a["tol"])
    assert plan.sales[plan.sales["period"] < tau]["sales"].sum() == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------------- 2. S-shaped Hill curves


S_CURVES = {
    # product: margin m, (M, k, shape), channel budget per period (own channel each)
    "S1": (5.0, (100.0, 100.0, 2.0), math.inf),   # interior optimum on the concave tail
    "S2": (5.0, (100.0, 100.0, 2.0), 40.0),       # budget inside the convex start: all or nothing
    "S3": (5.0, (100.0, 100.0, 2.0), 70.0),       # budget just past the inflection (57.7)
    "S4": (1.2, (100.0, 100.0, 2.0), math.inf),   # max average return m·h(x)/x = 0.6 < 1: never pays
    "S5": (8.0, (60.0, 40.0, 3.0), math.inf),     # steeper S (s = 3)
    "S6": (8.0, (60.0, 40.0, 3.0), 25.0),         # s = 3, budget in the convex start
}
S_TOL = 0.004


def s_curve_best(m: float, M: float, k: float, s: float, budget: float) -> tuple[float, float, float]:
    """max over x in [0, budget] of m·h(x) − x by enumeration on a fine grid of x/k, refined around the
    best point. Returns (value, x, upper bound on the grid's shortfall: slope bound · half a step)."""
    hi = min(budget, 20.0 * k)
    xs = np.linspace(0.0, hi, 200_001)
    vals = m * hill(xs, M, k, s) - xs
    i = int(np.argmax(vals))
    step = xs[1] - xs[0]
    fine = np.linspace(max(0.0, xs[i] - step), min(hi, xs[i] + step), 2001)
    fv = m * hill(fine, M, k, s) - fine
    j = int(np.argmax(fv))
    slope = m * M * s / k + 1.0  # bounds |d/dx (m·h(x) − x)|: h' = s·h·(1 − h/M)/x ≤ M·s/k for s ≥ 1
    # beyond 20·k the curve is within M/(1+20^s) of M and extra spend only costs: no better point there
    return float(fv[j]), float(fine[j]), slope * (fine[1] - fine[0])


def s_scenario(folder: Path, H: int) -> None:
    products, demand, response, channels = [], [], [], []
    for p, (m, (M, k, s), budget) in S_CURVES.items():
        products.append({"product": p, "category": "C1", "brand": "B1", "price": 10.0 + m, "unit_cost": 10.0})
        demand += [{"product": p, "region": "R1", "period": t, "demand": 500.0} for t in range(H)]
        channels.append({"channel": f"ch_{p}", "budget": budget})
        response.append({"product": p, "channel": f"ch_{p}", "max_uplift": M, "half_saturation": k, "shape": s,
                         "carryover": 0})
    write_scenario(folder, toml_for(H, f"[advertising]\npwl_tolerance = {S_TOL}\n"), {
        "products": products, "demand": demand, "channels": channels, "response": response,
        **one_warehouse(list(S_CURVES))})


def test_s_shaped_curves_match_enumeration(tmp_path: Path) -> None:
    """Oracle: each product has its own channel, so the products are independent and each period is
    the same problem: max_{0 ≤ x ≤ budget} m·h(x) − x, enumerated on a grid of 200 001 spends (refined)
    with the true S-curve. Expected per product: S1 spends past the inflection, S2's budget (40 < k) is
    in the convex start, where the best is all or nothing, S4 never advertises (m·M/(2k) = 0.6 < 1 is
    its best average return for s = 2). The plan must reach each optimum within m·tolerance·M per
    period, and never exceed it."""
    H = 2
    s_scenario(tmp_path, H)
    best = {p: s_curve_best(m, M, k, s, b) for p, (m, (M, k, s), b) in S_CURVES.items()}
    assert best["S4"][1] == 0.0 and best["S4"][0] == 0.0
    assert best["S2"][1] in (0.0, 40.0) and best["S6"][1] in (0.0, 25.0)
    assert best["S1"][1] > 100.0 and best["S3"][1] == pytest.approx(70.0)
    sc, plan = solve_checked(tmp_path)
    ads = plan.advertising
    for p, (m, (M, k, s), _) in S_CURVES.items():
        value, x_star, slack = best[p]
        spend, eff, uplift = ad_rows(plan, p, f"ch_{p}", H)
        assert_uplift_on_the_true_curve(plan, p, f"ch_{p}", H, 0.0, M, k, s, S_TOL)
        got = sum(m * u - x for u, x in zip(uplift, spend))
        assert H * (value - m * S_TOL * M) - 1e-6 <= got <= H * (value + slack) + 1e-6, (p, got, value, x_star)
    base = sum(m * 500.0 * H for m, *_ in S_CURVES.values())
    optimum = base + H * sum(v for v, _, _ in best.values())
    allowance = H * sum(m * S_TOL * M for m, (M, *_), _ in S_CURVES.values())
    assert optimum - allowance - 1e-6 <= plan.kpis["profit"] <= optimum + H * sum(sl for *_, sl in best.values()) + 1e-6
    assert ads[ads["product"] == "S4"]["spend"].sum() == 0.0


# ---------------------------------------------------------------------- 3. uplift split over regions


def test_uplift_split_over_regions_by_hand(tmp_path: Path) -> None:
    """By hand. A (active; price 10, unit cost 6) has demand R1: 10, 50 and R2: 20, 0 in periods 0, 1:
    totals 60 : 20, so every period's uplift goes 3/4 to R1 and 1/4 to R2 (not by the period's own
    demand: 1/3 and 1 to R1). The lane to R2 costs 5 > margin 4, so nothing is sold in R2 and a unit
    of uplift is worth 3/4·4 = 3. Hill M = 100, k = 12, s = 1: x* = √(3·100·12) − 12 = 48,
    h(48) = 100·48/60 = 80 units (60 to R1, 20 to R2), worth 3·80 − 48 = 192 per period.
    Profit = base 4·(10 + 50) + 2·192 = 624 (less at most 2·3·0.005·100 = 3 for the PWL).
    Splitting by the period's own demand would give 65.3 + 273.5 (profit ≤ 579), equally 114 a period.

    N (new, must launch at 0; price 8, unit cost 5) has launch curve R1: 6, 2 and R2: 2, 6 (ages 0, 1)
    and seasonality 2.0, 1.0: shares before seasonality 8 : 8 = 1/2 each (after it, 14 : 10).
    Its R2 is not served either, a unit of uplift is worth 1/2·3 = 1.5; M = 40, k = 15:
    x* = √(1.5·40·15) − 15 = 15, h(15) = 20 units (10 to R1), worth 1.5·20 − 15 = 15 per period.
    Base: R1 sells 6·2 + 2·1 = 14 at margin 3 = 42."""
    H = 2
    products = [{"product": "A", "category": "C1", "brand": "B1", "price": 10.0, "unit_cost": 6.0},
                {"product": "N", "category": "C2", "brand": "B1", "price": 8.0, "unit_cost": 5.0, "status": "new",
                 "launch_earliest": 0, "launch_latest": 0, "must_launch": True}]
    demand = [{"product": "A", "region": r, "period": t, "demand": d}
              for r, ds in (("R1", [10.0, 50.0]), ("R2", [20.0, 0.0])) for t, d in enumerate(ds)]
    curve = [{"product": "N", "region": r, "age": a, "demand": d}
             for r, ds in (("R1", [6.0, 2.0]), ("R2", [2.0, 6.0])) for a, d in enumerate(ds)]
    season = [{"category": "C2", "period": 0, "index": 2.0}, {"category": "C2", "period": 1, "index": 1.0}]
    response = [{"product": "A", "channel": "web", "max_uplift": 100.0, "half_saturation": 12.0, "shape": 1},
                {"product": "N", "channel": "web", "max_uplift": 40.0, "half_saturation": 15.0, "shape": 1}]
    write_scenario(tmp_path, toml_for(H), {
        "products": products, "demand": demand, "launch_curve": curve, "seasonality": season,
        "channels": [{"channel": "web"}], "response": response,
        **one_warehouse(["A", "N"], lane_cost={"R1": 0.0, "R2": 5.0})})
    sc, plan = solve_checked(tmp_path)
    assert plan.kpis["profit"] <= 624.0 + 30.0 + 42.0 + 1e-6
    assert plan.kpis["profit"] >= 624.0 + 30.0 + 42.0 - 2 * (3 * 0.005 * 100 + 1.5 * 0.005 * 40) - 1e-6
    share = {("A", "R1"): 0.75, ("A", "R2"): 0.25, ("N", "R1"): 0.5, ("N", "R2"): 0.5}
    ad = plan.advertising.groupby(["product", "period"])["uplift"].sum()
    sales = plan.sales.set_index(["product", "region", "period"])
    for (p, r), f in share.items():
        for t in range(H):
            assert ad[p, t] > 10.0  # both advertise in both periods
            assert sales.loc[(p, r, t), "ad_uplift"] == pytest.approx(f * ad[p, t], abs=1e-6), (p, r, t)
    assert plan.sales[plan.sales["region"] == "R2"]["sales"].sum() == pytest.approx(0.0, abs=1e-6)
    a_spend = plan.advertising.set_index(["product", "period"])["spend"]
    for t in range(H):
        assert a_spend["A", t] == pytest.approx(48.0, rel=0.2)
        assert a_spend["N", t] == pytest.approx(15.0, rel=0.35)


# ---------------------------------------------------------------------- 4. initial stock and pipeline


WW = dict(demand=[8.0, 12.0, 5.0, 20.0, 7.0, 15.0], price=200.0, unit_cost=5.0, holding=1.0, order_cost=40.0,
          lead=1, initial=15.0, pipeline={3: 10.0})


def wagner_whitin(demand: list[float], *, unit_cost: float, holding: float, order_cost: float, lead: int,
                  initial: float, pipeline: dict[int, float]) -> tuple[float, list[tuple[int, float]]]:
    """Least cost Σ unit_cost·q + order_cost·[q > 0] + holding·(end stock) serving all demand, by a DP
    over the integer stock at the end of each period (all data are whole units, and so are the optimal
    orders). An order placed at t arrives at t + lead ≤ H − 1; period t receives the order placed at
    t − lead and pipeline[t]; stock starts at ``initial``. Returns (cost, [(placed, units)])."""
    H = len(demand)
    cap = int(sum(demand) + initial + sum(pipeline.values()))
    INF = math.inf
    cost = {int(initial): 0.0}  # stock at the end of period t−1 → least cost so far
    paths: dict[int, list] = {int(initial): []}
    for t in range(H):
        new, new_paths = {}, {}
        can_order = t - lead >= 0
        for s0, c0 in cost.items():
            for q in range(0, cap + 1) if can_order else (0,):
                s = s0 + q + pipeline.get(t, 0.0) - demand[t]
                if s < 0 or s > cap:
                    continue
                c = c0 + unit_cost * q + (order_cost if q > 0 else 0.0) + holding * s
                if c < new.get(int(s), INF) - 1e-9:
                    new[int(s)] = c
                    new_paths[int(s)] = paths[s0] + ([(t - lead, float(q))] if q > 0 else [])
        cost, paths = new, new_paths
    best = min(cost, key=lambda s: cost[s])
    return cost[best], paths[best]


def ww_scenario(folder: Path, order_cost: float, initial: float, pipeline: dict[int, float]) -> None:
    w = WW
    H = len(w["demand"])
    tables = {
        "products": [{"product": "P1", "category": "C1", "brand": "B1", "price": w["price"],
                      "unit_cost": w["unit_cost"], "holding_cost": w["holding"]}],
        "demand": [{"product": "P1", "region": "R1", "period": t, "demand": d} for t, d in enumerate(w["demand"])],
        **one_warehouse(["P1"]),
    }
    tables["supply"] = [{"product": "P1", "warehouse": "W1", "lead_time": w["lead"], "order_cost": order_cost}]
    if initial:
        tables["initial_stock"] = [{"product": "P1", "warehouse": "W1", "units": initial}]
    if pipeline:
        tables["pipeline"] = [{"product": "P1", "warehouse": "W1", "period": t, "units": u} for t, u in pipeline.items()]
    write_scenario(folder, toml_for(H), tables)


def ww_profit(order_cost: float = WW["order_cost"], initial: float = WW["initial"],
              pipeline: dict[int, float] | None = None) -> tuple[float, list[tuple[int, float]]]:
    """Revenue of all demand (price 200 ≫ any saving from losing a unit: at most 5 + 40 + 6·1) minus the WW cost."""
    pipeline = WW["pipeline"] if pipeline is None else pipeline
    cost, orders = wagner_whitin(WW["demand"], unit_cost=WW["unit_cost"], holding=WW["holding"],
                                 order_cost=order_cost, lead=WW["lead"], initial=initial, pipeline=pipeline)
    return WW["price"] * sum(WW["demand"]) - cost, orders


@pytest.mark.parametrize("initial, pipeline", [(15.0, {3: 10.0}), (8.0, {1: 30.0}), (40.0, {}), (8.0, {})],
                         ids=["stock-and-pipeline", "large-pipeline", "stock-only", "stock-for-period-0"])
def test_initial_stock_and_pipeline_match_wagner_whitin(tmp_path: Path, initial: float, pipeline: dict) -> None:
    """Oracle: the Wagner–Whitin DP above (lead time 1, so period 0 is served only from the initial
    stock). The free units are not bought (no unit cost) but are held like any other (holding on
    end-of-period stock); each case's optimum differs from the one that ignores the initial stock or
    the pipeline, so the test fails if the model drops either."""
    ww_scenario(tmp_path, WW["order_cost"], initial, pipeline)
    profit, orders = ww_profit(initial=initial, pipeline=pipeline)
    if pipeline:
        assert ww_profit(initial=initial, pipeline={})[0] < profit - 1.0
    sc, plan = solve_checked(tmp_path)
    assert plan.kpis["profit"] == pytest.approx(profit, abs=1e-6)
    got = sorted((int(t), float(u)) for t, u in zip(plan.orders["period"], plan.orders["units"]))
    assert [t for t, _ in got] == [t for t, _ in orders]
    assert [u for _, u in got] == pytest.approx([u for _, u in orders], abs=1e-6)
    assert plan.kpis["fill_rate"] == pytest.approx(1.0)


# ---------------------------------------------------------------------- 5. decomposition beyond tiny


def independent_products(folder: Path) -> dict[str, float]:
    """Four products that share nothing that binds (one warehouse and lanes without capacity or fixed
    cost, no budgets, slots or launch caps): the joint optimum is the sum of each product's own.
    Returns the oracle values known outside the solver: W's Wagner–Whitin profit."""
    H = len(WW["demand"])
    w = WW
    products = [
        {"product": "W", "category": "C1", "brand": "B1", "price": w["price"], "unit_cost": w["unit_cost"],
         "holding_cost": w["holding"]},
        {"product": "V", "category": "C1", "brand": "B1", "price": 12.0, "unit_cost": 7.0, "holding_cost": 0.5},
        {"product": "N1", "category": "C2", "brand": "B2", "price": 20.0, "unit_cost": 12.0, "status": "new",
         "launch_earliest": 0, "launch_latest": 4, "launch_cost": 30.0, "holding_cost": 0.2},
        {"product": "N2", "category": "C3", "brand": "B3", "price": 9.0, "unit_cost": 6.0, "status": "new",
         "launch_earliest": 1, "launch_latest": 3, "launch_cost": 25.0},
    ]
    demand = [{"product": "W", "region": "R1", "period": t, "demand": d} for t, d in enumerate(w["demand"])]
    demand += [{"product": "V", "region": r, "period": t, "demand": d}
               for r, ds in (("R1", [5, 9, 14, 3, 8, 11]), ("R2", [4, 0, 6, 10, 2, 7])) for t, d in enumerate(ds)]
    curve = [{"product": "N1", "region": "R1", "age": a, "demand": d} for a, d in enumerate([3.0, 9.0, 12.0, 6.0])]
    curve += [{"product": "N2", "region": "R2", "age": a, "demand": d} for a, d in enumerate([10.0, 6.0, 2.0])]
    season = [{"category": "C2", "period": t, "index": v} for t, v in enumerate([1.0, 0.8, 1.2, 1.4, 1.0, 0.7])]
    supply = [{"product": "W", "warehouse": "W1", "lead_time": 1, "order_cost": w["order_cost"]},
              {"product": "V", "warehouse": "W1", "lead_time": 0, "order_cost": 25.0},
              {"product": "N1", "warehouse": "W1", "lead_time": 1, "order_cost": 15.0},
              {"product": "N2", "warehouse": "W1", "lead_time": 0, "order_cost": 10.0, "min_order": 12.0}]
    write_scenario(folder, toml_for(H), {
        "products": products, "demand": demand, "launch_curve": curve, "seasonality": season,
        "warehouses": [{"warehouse": "W1"}], "supply": supply,
        "initial_stock": [{"product": "W", "warehouse": "W1", "units": w["initial"]}],
        "pipeline": [{"product": "W", "warehouse": "W1", "period": t, "units": u} for t, u in w["pipeline"].items()],
        "lanes": [{"warehouse": "W1", "region": "R1", "cost_per_unit": 0.5}, {"warehouse": "W1", "region": "R2",
                                                                               "cost_per_unit": 1.0}]})
    return {"W": ww_profit()[0]}


def test_decompose_reaches_the_optimum_of_independent_products(tmp_path: Path) -> None:
    """Oracle: with nothing shared that binds, fixing the other products changes nothing for a group, so
    one sweep of fix-and-optimize (groups of two products) solves every product to its own optimum and
    the Lagrangian bound (no coupling row to price) is the sum of the groups' optima. The optimum is
    proven by the joint MIP (gap 1e-9), and W's part of it is its Wagner–Whitin profit."""
    known = independent_products(tmp_path)
    sc = ops.Scenario.load(tmp_path)
    best = ops.solve(sc, method="mip", **SOLVE)
    assert best.kpis["status"] == "optimal" and check_plan(sc, best) == []
    optimum = best.kpis["profit"]
    w_profit = best.sales[best.sales["product"] == "W"]["sales"].sum() * WW["price"] - WW["unit_cost"] * \
        best.orders[best.orders["product"] == "W"]["units"].sum() - WW["order_cost"] * (best.orders["product"] == "W").sum() \
        - WW["holding"] * best.stock[best.stock["product"] == "W"]["units"].sum() \
        - 0.5 * best.shipments[best.shipments["product"] == "W"]["units"].sum()
    assert w_profit == pytest.approx(known["W"] - 0.5 * sum(WW["demand"]), abs=1e-6)  # lane R1 costs 0.5 a unit

    plan = ops.solve(sc, method="decompose", mip_gap=1e-9, threads=1, time_limit=20, seed=0)
    k = plan.kpis
    assert k["method"] == "decompose" and k["groups"] == 2
    assert check_plan(sc, plan) == []
    assert k["profit"] == pytest.approx(optimum, rel=1e-7)
    assert k["best_bound"] is not None and k["best_bound"] >= optimum - 1e-6 * abs(optimum)
    assert k["best_bound"] == pytest.approx(optimum, rel=1e-6)
    assert k["status"] == "optimal"
    assert k["profit"] > k["start_profit"] + 1.0  # the sweeps did the work, not the siloed start


@pytest.mark.slow  # about 4 s: the MIP to optimality, then 3 s of decomposition
def test_decompose_brackets_the_mip_optimum_on_xsmall_seed_4() -> None:
    """Oracle: the MIP optimum of generated xsmall seed 4, proven by the joint MIP (gap 1e-9): the
    decomposition's plan is at most it and its bound at least it."""
    sc = generate("xsmall", 4)
    best = ops.solve(sc, method="mip", **SOLVE)
    assert best.kpis["status"] == "optimal"
    optimum = best.kpis["profit"]
    plan = ops.solve(sc, method="decompose", mip_gap=1e-9, threads=1, time_limit=3, seed=0)
    assert check_plan(sc, plan) == []
    assert plan.kpis["profit"] <= optimum + 1e-6 * abs(optimum)
    assert plan.kpis["best_bound"] is None or plan.kpis["best_bound"] >= optimum - 1e-6 * abs(optimum)
    assert plan.kpis["profit"] >= plan.kpis["start_profit"] - 1e-9


# ---------------------------------------------------------------------- 6. what-if and sweeps


def test_whatif_lean_resolves_match_wagner_whitin(tmp_path: Path) -> None:
    """Oracle: the Wagner–Whitin DP for each changed scenario. Order cost 40 → 10 → 100 and the price
    200 → 150 are lean updates (objective coefficients); a different initial stock is a rebuild. Each
    new optimum must be the DP's, not only the cold solve's."""
    ww_scenario(tmp_path, WW["order_cost"], WW["initial"], WW["pipeline"])
    session = WhatIf(ops.Scenario.load(tmp_path), **SOLVE)
    steps = [
        ({}, None, ww_profit()[0]),
        ({"supply.order_cost": {("P1", "W1"): 10.0}}, "lean", ww_profit(order_cost=10.0)[0]),
        ({"supply.order_cost": {("P1", "W1"): 100.0}}, "lean", ww_profit(order_cost=100.0)[0]),
        ({"products.price": {"P1": 150.0}}, "lean", ww_profit(order_cost=100.0)[0] - 50.0 * sum(WW["demand"])),
        ({"initial_stock.units": {("P1", "W1"): 30.0}}, None, ww_profit(order_cost=100.0, initial=30.0)[0]
         - 50.0 * sum(WW["demand"])),
    ]
    values = [v for *_, v in steps]
    assert len({round(v, 6) for v in values}) == len(values)  # every step changes the optimum
    for changes, kind, expected in steps:
        plan = session.solve(changes) if changes else session.solve()
        assert plan.kpis["status"] == "optimal"
        assert check_plan(session.base, plan) == []
        assert plan.kpis["profit"] == pytest.approx(expected, abs=1e-6), changes
        if kind:
            assert session.last_update.kind == kind, session.last_update
    back = session.solve({"supply.order_cost": {("P1", "W1"): 10.0}}, from_original=True)
    assert back.kpis["profit"] == pytest.approx(ww_profit(order_cost=10.0)[0], abs=1e-6)


def test_whatif_lean_budget_cuts_match_enumeration(tmp_path: Path) -> None:
    """Oracle: the S-curve enumeration with the changed budgets. Lowering channel budgets only changes
    right-hand sides (lean); each product's new optimum is max_{0 ≤ x ≤ new budget} m·h(x) − x."""
    H = 2
    s_scenario(tmp_path, H)
    session = WhatIf(ops.Scenario.load(tmp_path), **SOLVE)
    session.solve()
    cuts = {"ch_S3": 50.0, "ch_S6": 15.0, "ch_S2": 20.0}
    plan = session.solve({"channels.budget": cuts})
    assert session.last_update.kind == "lean", session.last_update
    assert plan.kpis["status"] == "optimal" and check_plan(session.base, plan) == []
    best = {p: s_curve_best(m, M, k, s, cuts.get(f"ch_{p}", b)) for p, (m, (M, k, s), b) in S_CURVES.items()}
    old = {p: s_curve_best(m, M, k, s, b) for p, (m, (M, k, s), b) in S_CURVES.items()}
    assert all(best[c[3:]][0] < old[c[3:]][0] - 1.0 for c in cuts)  # every cut costs something
    optimum = sum(m * 500.0 * H for m, *_ in S_CURVES.values()) + H * sum(v for v, _, _ in best.values())
    slack = H * sum(sl for *_, sl in best.values())
    allowance = H * sum(m * S_TOL * M for m, (M, *_), _ in S_CURVES.values())
    assert optimum - allowance - 1e-6 <= plan.kpis["profit"] <= optimum + slack + 1e-6
    for c, budget in cuts.items():
        assert (plan.advertising[plan.advertising["channel"] == c]["spend"] <= budget + 1e-6).all()


def test_sweep_matches_wagner_whitin(tmp_path: Path) -> None:
    """Oracle: the Wagner–Whitin DP of every variant (order cost, initial stock, pipeline, price)."""
    ww_scenario(tmp_path, WW["order_cost"], WW["initial"], WW["pipeline"])
    variants = {
        "base": ({}, ww_profit()[0]),
        "cheap orders": ({"supply.order_cost": 5.0}, ww_profit(order_cost=5.0)[0]),
        "dear orders": ({"supply.order_cost": 150.0}, ww_profit(order_cost=150.0)[0]),
        "more stock": ({"initial_stock.units": 45.0}, ww_profit(initial=45.0)[0]),
        "bigger pipeline": ({"pipeline.units": 25.0}, ww_profit(pipeline={3: 25.0})[0]),
        "lower price": ({"products.price": "*0.5"}, ww_profit()[0] - 100.0 * sum(WW["demand"])),
    }
    with ThreadPoolExecutor(1) as ex:
        table = sweep(ops.Scenario.load(tmp_path), {n: c for n, (c, _) in variants.items()}, executor=ex,
                      progress=False, **SOLVE).set_index("name")
    for name, (_, expected) in variants.items():
        assert table.loc[name, "status"] == "optimal", table.loc[name, "error"]
        assert table.loc[name, "profit"] == pytest.approx(expected, abs=1e-6), name
    assert len({round(v, 6) for _, v in variants.values()}) == len(variants)


# ---------------------------------------------------------------------- 7. plans stopped by a limit


@pytest.mark.parametrize("limit", [{"mip_max_improving_sols": 1}, {"mip_max_improving_sols": 2}])
def test_solution_limit_plan_below_the_wagner_whitin_optimum(tmp_path: Path, limit: dict) -> None:
    """Stopped after the first (second) improving solution: status time_limit (a limit stopped it), the
    plan passes the checker, and profit ≤ the DP optimum (independent) ≤ the reported bound."""
    ww_scenario(tmp_path, WW["order_cost"], WW["initial"], WW["pipeline"])
    sc = ops.Scenario.load(tmp_path)
    # HiGHS's own stopped search (no baseline start, which could already be optimal here)
    plan = ops.solve(sc, **{**SOLVE, "highs_options": limit}, baseline_start=False)
    optimum = ww_profit()[0]
    k = plan.kpis
    if k["status"] == "optimal":  # HiGHS may prove its second solution optimal
        assert limit["mip_max_improving_sols"] > 1 and k["profit"] == pytest.approx(optimum, abs=1e-6)
    else:
        assert k["status"] == "time_limit"
        assert k["profit"] < optimum - 1.0  # really stopped early
    assert check_plan(sc, plan) == []
    assert k["profit"] <= optimum + 1e-6 <= k["best_bound"] + 2e-6
    assert k["mip_gap"] == pytest.approx((k["best_bound"] - k["profit"]) / abs(k["profit"]), rel=1e-6, abs=1e-9)


def test_solution_limit_on_s_curves_keeps_the_plan_under_the_true_curve(tmp_path: Path) -> None:
    """S-shaped curves need binaries; stopped at the first improving solution, the plan still counts on no
    more uplift than the true curve gives, passes the checker, and its profit is at most the true
    optimum (enumeration), which is at most the bound plus the PWL allowance."""
    H = 2
    s_scenario(tmp_path, H)
    sc = ops.Scenario.load(tmp_path)
    plan = ops.solve(sc, **{**SOLVE, "highs_options": {"mip_max_improving_sols": 1}}, baseline_start=False)
    k = plan.kpis
    assert k["status"] == "time_limit" and check_plan(sc, plan) == []
    best = {p: s_curve_best(m, M, k_, s, b) for p, (m, (M, k_, s), b) in S_CURVES.items()}
    optimum = sum(m * 500.0 * H for m, *_ in S_CURVES.values()) + H * sum(v for v, _, _ in best.values())
    slack = H * sum(sl for *_, sl in best.values())
    allowance = H * sum(m * S_TOL * M for m, (M, *_), _ in S_CURVES.values())
    assert k["profit"] <= optimum + slack + 1e-6
    assert optimum - allowance <= k["best_bound"] + 1e-6
    assert k["profit"] <= k["best_bound"] + 1e-6
    for p, (m, (M, k_, s), _) in S_CURVES.items():
        assert_uplift_on_the_true_curve(plan, p, f"ch_{p}", H, 0.0, M, k_, s, 1.0)  # ≤ h (any shortfall)


def test_node_limit_on_xsmall() -> None:
    """One branch-and-bound node (presolve off so the root does not close the gap): a plan with status
    time_limit that the checker accepts, profit < bound; HiGHS reports a real gap."""
    sc = generate("xsmall", 2)
    plan = ops.solve(sc, **{**SOLVE, "presolve": False, "highs_options": {"mip_max_nodes": 1}})
    k = plan.kpis
    assert k["status"] == "time_limit"
    assert check_plan(sc, plan) == []
    assert k["profit"] < k["best_bound"] - 1e-6 * abs(k["best_bound"])
    assert k["mip_gap"] > 1e-6


def test_limits_without_an_incumbent_give_no_plan(tmp_path: Path) -> None:
    """A node limit of 0 (the S-curve MIP) or a simplex iteration limit (the adstock LP) stops before any
    plan exists: status time_limit, no profit and empty tables — never a made-up plan."""
    s_scenario(tmp_path / "s", 2)
    adstock_scenario(tmp_path / "a", 0.5)
    for folder, limit in ((tmp_path / "s", {"mip_max_nodes": 0}), (tmp_path / "a", {"simplex_iteration_limit": 1})):
        plan = ops.solve(ops.Scenario.load(folder), **{**SOLVE, "highs_options": limit})
        assert plan.kpis["status"] == "time_limit", limit
        assert plan.kpis["profit"] is None
        assert plan.orders.empty and plan.sales.empty and plan.advertising.empty


# ---------------------------------------------------------------------- 9. the generator's statistics


GEN_SEEDS = range(1, 13)
NOISE_SD = 0.35  # documented product-level log-sd (optsupply/scenario/generate.py, "Products")
ELASTICITY = 1.5  # documented: demand ∝ brand strength · (price / category price) ** −1.5


@pytest.fixture(scope="module")
def medium_products() -> pd.DataFrame:
    """One row per mature or new product of generated medium scenarios (seeds 1–12): its demand size
    read from the tables, log price, and its brand and category (per seed).

    * mature products (active, with history from the first past period; analogs start later): the mean
      per period of demand.csv summed over regions; seasonality and the small trend multiply it by
      a factor common to the category (up to a trend noise of ~1 %), absorbed by a category effect;
    * new products: the peak of launch_curve.csv summed over regions, i.e. the market potential times
      the peak of the category's Bass curve — again a category factor (a separate one: new products).
    """
    rows = []
    for seed in GEN_SEEDS:
        sc = generate("medium", seed)
        Hh = LAYOUT["medium"]["history_periods"]
        pr = sc.products.set_index("product")
        first = sc.history.groupby("product")["period"].min()
        level = sc.demand.groupby(["product", "period"])["demand"].sum().groupby("product").mean()
        peak = sc.launch_curve.groupby(["product", "age"])["demand"].sum().groupby("product").max()
        sizes = [(p, "mature", level[p]) for p in first[first == -Hh].index]
        sizes += [(p, "new", peak[p]) for p in pr.index[pr["status"] == "new"]]
        for p, kind, size in sizes:
            rows.append({"size": math.log(size), "log_price": math.log(pr.loc[p, "price"]),
                         "brand": f"{seed}/{pr.loc[p, 'brand']}", "category": f"{seed}/{pr.loc[p, 'category']}/{kind}",
                         "kind": kind})
    return pd.DataFrame(rows)


def _fit(df: pd.DataFrame, brand: str | None) -> tuple[float, float, float, int]:
    """log size = β·log price + brand effect + category effect + ε by least squares.

    ``brand``: None (no brand effects), "shared" (one effect per brand, for mature and new products
    alike) or "by_kind" (separate effects for a brand's mature and new products). Returns (β, the SE
    of β with σ = NOISE_SD, the residual sum of squares, the residual degrees of freedom)."""
    parts = [df[["log_price"]].to_numpy()]
    if brand is not None:
        key = df["brand"] if brand == "shared" else df["brand"] + "/" + df["kind"]
        parts.append(pd.get_dummies(key, dtype=float).to_numpy())
    cats = pd.get_dummies(df["category"], dtype=float).to_numpy()
    parts.append(cats[:, 1:] if brand is not None else cats)
    X = np.hstack(parts)
    beta, _, rank, _ = np.linalg.lstsq(X, df["size"].to_numpy(), rcond=None)
    resid = df["size"].to_numpy() - X @ beta
    se = NOISE_SD * math.sqrt(np.linalg.pinv(X.T @ X)[0, 0])
    return float(beta[0]), se, float(resid @ resid), len(df) - rank


def test_generated_demand_follows_brand_and_relative_price(medium_products: pd.DataFrame) -> None:
    """Documented: size = brand strength · (price / category price)^−1.5 · lognormal(0, 0.35), for mature
    and new products alike. In logs, a regression on log price with one effect per brand (shared by
    mature and new products) and one per category (and kind) must find

    * the slope −1.5 within 4 standard errors (σ/√Sxx of the sample);
    * a residual sd of 0.35 within 4 of its standard errors (σ/√(2·dof)), plus 0.01 for the small
      trend and the rounding of demand to cents;
    * no significant gain from separate brand effects for mature and new products: the F statistic of
      that nested comparison below its 1 − 10⁻⁴ quantile (the brand strength is the same factor);
    * a much wider residual without brand effects: brand strength carries a real part of the size."""
    from scipy import stats

    df = medium_products
    assert (df["kind"] == "mature").sum() > 200 and (df["kind"] == "new").sum() > 200
    slope, se, rss, dof = _fit(df, "shared")
    assert dof > 200
    assert abs(slope + ELASTICITY) <= 4 * se, (slope, se)
    sd = math.sqrt(rss / dof)
    assert abs(sd - NOISE_SD) <= 4 * NOISE_SD / math.sqrt(2 * dof) + 0.01, (sd, dof)
    _, _, rss_kind, dof_kind = _fit(df, "by_kind")
    q = dof - dof_kind
    F = ((rss - rss_kind) / q) / (rss_kind / dof_kind)
    assert q > 20 and F < stats.f.ppf(1 - 1e-4, q, dof_kind), (F, q, dof_kind)
    _, _, rss_nb, dof_nb = _fit(df, None)
    sd_no_brand = math.sqrt(rss_nb / dof_nb)
    assert sd_no_brand > NOISE_SD + 8 * NOISE_SD / math.sqrt(2 * dof_nb), sd_no_brand


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_generated_share_of_new_products_and_history(size: str) -> None:
    """Documented: about a third of the products are new (NEW_SHARE 0.32), new categories hold only new
    products, and history.csv covers LAYOUT's history_periods past periods: every active product has a
    row per region for each period from its first on to −1, mature ones from −history_periods, and new
    products have none."""
    N = SIZES[size]["products"]
    Hh = LAYOUT[size]["history_periods"]
    shares = []
    for seed in (1, 2, 3):
        sc = generate(size, seed)
        pr = sc.products.set_index("product")
        new = set(pr.index[pr["status"] == "new"])
        shares.append(len(new) / N)
        assert not new & set(sc.history["product"])
        hist = sc.history
        assert hist["period"].min() == -Hh and hist["period"].max() == -1
        regions = sc.demand["region"].nunique()
        for p, g in hist.groupby("product"):
            lo = int(g["period"].min())
            assert len(g) == regions * (-lo), p  # one row per region and period, no gaps
            assert set(g["period"]) == set(range(lo, 0)), p
        first = hist.groupby("product")["period"].min()
        assert (first == -Hh).sum() >= N / 4  # the mature products (analogs start later)
        if not sc.categories.empty:
            new_cats = set(sc.categories["category"])
            assert set(pr.index[pr["category"].isin(new_cats)]) <= new
    assert all(abs(s - 0.32) <= 1.0 / N for s in shares), shares


def test_a_baseline_above_the_model_bound_is_returned_without_a_bound(tmp_path: Path) -> None:
    """With the practitioner plan as start, HiGHS stopped at its first improving solution: the plan returned is
    never below the start, passes the checker, and never shows a bound below its own profit (the model's bound
    holds for the piecewise-linear curves, which lie under the true ones the baseline is valued on)."""
    s_scenario(tmp_path, 2)
    sc = ops.Scenario.load(tmp_path)
    plan = ops.solve(sc, **{**SOLVE, "highs_options": {"mip_max_improving_sols": 1}})
    k = plan.kpis
    assert check_plan(sc, plan) == []
    start = evaluate_plan(sc, practitioner_plan(sc))["profit"]
    assert k["profit"] >= start - 1e-6
    assert k["best_bound"] is None or k["best_bound"] >= k["profit"] - 1e-6
