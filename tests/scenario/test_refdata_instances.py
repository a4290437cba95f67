"""Known-answer instances built from public reference data (see instances/REFDATA.md).

For each instance these tests check that

(a) the folder loads with no errors and no warnings, and ``expected.json`` is
    consistent (expected profit = -published answer, lost_sale_cost above the
    bound that makes full service optimal);
(b) the tables encode the verbatim source file in ``source/`` exactly; the
    source is re-parsed here, independently of ``instances/make_refdata.py``;
(c) an independent oracle built from the SCENARIO TABLES (not from the source)
    reaches the published optimum: a ``scipy.optimize.milp`` (HiGHS) model of
    the classic problem, the same one-period/one-product problem with lost
    sales allowed (the scenario's own semantics), and for lot sizing the cost
    of the published plan plus an exhaustive enumeration of all order plans.

The converter itself is checked for reproducibility (``--check`` rebuilds
every instance and compares the files byte for byte).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, hstack, identity, kron

import optsupply as ops
from tests.conftest import INSTANCES, ROOT

CAP = ["cap41", "cap71", "cap101", "cap131"]
LOT = ["ww_example_3_9", "spp_12period"]
ALL = CAP + LOT

# The published answers as listed in shared reference notes (OR-Library capopt;
# Snyder & Shen Example 3.9; Silver, Pyke & Peterson). expected.json and the
# source copies must both agree with these.
PUBLISHED = {
    "cap41": 1040444.375,
    "cap71": 932615.750,
    "cap101": 796648.437,
    "cap131": 793439.562,
    "ww_example_3_9": 1380.0,
    "spp_12period": 501.2,
}

OTHER_TABLES = ["categories", "brands", "launch_curve", "seasonality", "initial_stock", "pipeline",
                "channels", "response", "slots", "history"]


@functools.lru_cache(maxsize=None)
def load(name: str) -> ops.Scenario:
    return ops.Scenario.load(INSTANCES / name)


@functools.lru_cache(maxsize=None)
def expected(name: str) -> dict:
    return json.loads((INSTANCES / name / "expected.json").read_text(encoding="utf-8"))


def close(a: float, b: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


# =========================================================================== (a) loading, expected.json


@pytest.mark.parametrize("name", ALL)
def test_instance_loads_without_errors_or_warnings(name: str) -> None:
    sc = load(name)
    assert sc.warnings == []
    assert sc.name == name
    assert sc.settings["solver.mip_gap"] <= 1e-9
    toml = (INSTANCES / name / "scenario.toml").read_text(encoding="utf-8")
    assert re.search(r"^time_limit\s*=", toml, re.M), "scenario.toml sets a time limit"


@pytest.mark.parametrize("name", ALL)
def test_expected_json_is_consistent(name: str) -> None:
    exp = expected(name)
    for key in ("source", "source_files", "published_answer", "published_measure", "expected_profit",
                "mapping", "rel_tol", "lost_sale_cost", "lost_sale_cost_bound", "lost_sale_cost_argument"):
        assert key in exp, key
    assert exp["published_answer"] == PUBLISHED[name]
    assert exp["expected_profit"] == -exp["published_answer"]
    assert exp["rel_tol"] == 1e-6
    for f in exp["source_files"]:
        assert (INSTANCES / name / f).is_file(), f
    products = load(name).products
    assert len(products) == 1
    assert products["lost_sale_cost"].iat[0] == exp["lost_sale_cost"]


@pytest.mark.parametrize("name", ALL)
def test_nothing_but_the_mapped_tables(name: str) -> None:
    sc = load(name)
    for table in OTHER_TABLES:
        assert getattr(sc, table).empty, table
    for key in ("launch.max_per_period", "finance.max_inventory_value", "advertising.total_budget"):
        assert sc.settings[key] is None, key
    p = sc.products.iloc[0]
    assert p["price"] == 0 and p["unit_cost"] == 0 and p["salvage_value"] == 0
    assert p["volume"] == 1 and p["status"] == "active" and p["featured_lift"] == 0 and p["launch_cost"] == 0
    assert (sc.warehouses["storage_capacity"] == math.inf).all()
    s = sc.supply
    assert (s["lead_time"] == 0).all() and (s["min_order"] == 0).all() and (s["max_order"] == math.inf).all()
    assert (sc.lanes["fixed_cost"] == 0).all() and (sc.lanes["capacity"] == math.inf).all()
    assert (sc.demand["period"].between(0, sc.periods - 1)).all()


# =========================================================================== OR-Library cap


def parse_cap_source(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """capacity[i], fixed[i], demand[j], cost[i, j] from an OR-Library capinfo file (token stream)."""
    values = iter(path.read_text().split())
    m, n = int(next(values)), int(next(values))
    cap_fixed = np.array([[float(next(values)), float(next(values))] for _ in range(m)])
    demand, cost = np.empty(n), np.empty((m, n))
    for j in range(n):
        demand[j] = float(next(values))
        cost[:, j] = [float(next(values)) for _ in range(m)]
    assert next(values, None) is None, "tokens left over"
    return cap_fixed[:, 0], cap_fixed[:, 1], demand, cost


def capopt_value(path: Path, name: str) -> float:
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == name:
            return float(fields[1])
    raise AssertionError(f"{name} not in {path}")


def cap_arrays(sc: ops.Scenario) -> dict:
    """The CFLP data as the scenario tables hold it (warehouse and region order of the tables)."""
    wh = sc.warehouses["warehouse"].tolist()
    dem = sc.demand.set_index("region")["demand"]
    rg = dem.index.tolist()
    supply = sc.supply.set_index("warehouse")
    lanes = sc.lanes.set_index(["warehouse", "region"])
    volume = float(sc.products["volume"].iat[0])
    return {
        "warehouses": wh,
        "regions": rg,
        "demand": dem.to_numpy(dtype=float),
        "capacity": sc.warehouses["throughput_capacity"].to_numpy(dtype=float) / volume,
        "fixed": supply.loc[wh, "activation_cost"].to_numpy(dtype=float),
        "unit_cost": np.array([[lanes.at[(w, r), "cost_per_unit"] * volume for r in rg] for w in wh]),
        "lost_sale_cost": float(sc.products["lost_sale_cost"].iat[0]),
    }


@pytest.mark.parametrize("name", CAP)
def test_cap_tables_encode_the_source_exactly(name: str) -> None:
    capacity, fixed, demand, cost = parse_cap_source(INSTANCES / name / "source" / f"{name}.txt")
    m, n = len(capacity), len(demand)
    sc = load(name)
    assert sc.periods == 1
    wh = [f"F{i + 1:02d}" for i in range(m)]
    rg = [f"C{j + 1:02d}" for j in range(n)]
    assert sc.warehouses["warehouse"].tolist() == wh
    assert sc.warehouses["throughput_capacity"].tolist() == capacity.tolist()
    assert sc.supply["warehouse"].tolist() == wh
    assert sc.supply["activation_cost"].tolist() == fixed.tolist()
    assert (sc.supply["order_cost"] == 0).all()
    assert sc.demand["region"].tolist() == rg
    assert (sc.demand["period"] == 0).all()
    assert sc.demand["demand"].tolist() == demand.tolist()
    assert (demand > 0).all(), "no customer without demand"
    lanes = sc.lanes.set_index(["warehouse", "region"])
    assert len(lanes) == m * n and lanes.index.is_unique
    for i, w in enumerate(wh):
        for j, r in enumerate(rg):
            assert close(lanes.at[(w, r), "cost_per_unit"] * demand[j], cost[i, j], 1e-12), (w, r)
    assert (sc.products["holding_cost"] == 0).all()
    published = capopt_value(INSTANCES / name / "source" / "capopt.txt", name)
    assert published == PUBLISHED[name] == expected(name)["published_answer"]


def cflp_milp(d: np.ndarray, cap: np.ndarray, f: np.ndarray, cpu: np.ndarray):
    """Classic multi-source CFLP: min sum f_i y_i + sum (cpu_ij d_j) x_ij.

    x_ij = share of j's demand served from i (variables x in row-major (i, j)
    order, then y). sum_i x_ij = 1; sum_j d_j x_ij <= cap_i y_i; x_ij <= y_i.
    """
    m, n = cpu.shape
    c = np.concatenate([(cpu * d[None, :]).ravel(), f])
    assign = hstack([kron(np.ones((1, m)), identity(n)), coo_matrix((n, m))])
    capacity = hstack([kron(identity(m), d[None, :]), -coo_matrix(np.diag(np.where(np.isinf(cap), 0.0, cap)))])
    link = hstack([identity(m * n), -kron(identity(m), np.ones((n, 1)))])
    finite = np.isfinite(cap)
    constraints = [LinearConstraint(assign, 1, 1), LinearConstraint(link, -np.inf, 0)]
    if finite.any():
        constraints.append(LinearConstraint(capacity.tocsr()[np.flatnonzero(finite)], -np.inf, 0))
    integrality = np.concatenate([np.zeros(m * n), np.ones(m)])
    return milp(c, constraints=constraints, integrality=integrality, bounds=Bounds(0, 1),
                options={"mip_rel_gap": 0.0, "time_limit": 120})


def cflp_lost_sales_milp(d: np.ndarray, cap: np.ndarray, f: np.ndarray, cpu: np.ndarray, lost_cost: float):
    """The scenario's own one-period problem with lost sales allowed, as a cost to minimise.

    s_ij = units shipped i -> j (ordering is free and storage unlimited, so
    orders equal shipments). cost = sum f_i y_i + sum cpu_ij s_ij + L sum_j (d_j - sum_i s_ij);
    sum_i s_ij <= d_j; sum_j s_ij <= cap_i y_i; s_ij <= d_j y_i. Returns (result, constant L*D).
    """
    m, n = cpu.shape
    c = np.concatenate([(cpu - lost_cost).ravel(), f])
    served = hstack([kron(np.ones((1, m)), identity(n)), coo_matrix((n, m))])
    capacity = hstack([kron(identity(m), np.ones((1, n))), -coo_matrix(np.diag(np.where(np.isinf(cap), 0.0, cap)))])
    link = hstack([identity(m * n), -kron(identity(m), d[:, None])])
    finite = np.isfinite(cap)
    constraints = [LinearConstraint(served, 0, d), LinearConstraint(link, -np.inf, 0)]
    if finite.any():
        constraints.append(LinearConstraint(capacity.tocsr()[np.flatnonzero(finite)], -np.inf, 0))
    upper = np.concatenate([np.tile(d, m), np.ones(m)])
    integrality = np.concatenate([np.zeros(m * n), np.ones(m)])
    res = milp(c, constraints=constraints, integrality=integrality, bounds=Bounds(0, upper),
               options={"mip_rel_gap": 0.0, "time_limit": 120})
    return res, lost_cost * d.sum()


@pytest.mark.parametrize("name", CAP)
def test_cap_classic_model_from_tables_reaches_published_optimum(name: str) -> None:
    a = cap_arrays(load(name))
    res = cflp_milp(a["demand"], a["capacity"], a["fixed"], a["unit_cost"])
    assert res.status == 0, res.message
    assert close(res.fun, PUBLISHED[name], 1e-6), (res.fun, PUBLISHED[name])


@pytest.mark.parametrize("name", CAP)
def test_cap_lost_sales_model_from_tables_reaches_expected_profit(name: str) -> None:
    a = cap_arrays(load(name))
    res, constant = cflp_lost_sales_milp(a["demand"], a["capacity"], a["fixed"], a["unit_cost"], a["lost_sale_cost"])
    assert res.status == 0, res.message
    m, n = a["unit_cost"].shape
    shipped = res.x[: m * n].reshape(m, n).sum(axis=0)
    assert np.allclose(shipped, a["demand"], rtol=0, atol=1e-6), "every customer is served in full"
    profit = -(res.fun + constant)
    exp = expected(name)
    assert close(profit, exp["expected_profit"], exp["rel_tol"]), (profit, exp["expected_profit"])


@pytest.mark.parametrize("name", CAP)
def test_cap_lost_sale_cost_exceeds_the_full_service_bound(name: str) -> None:
    a = cap_arrays(load(name))
    # the argument in expected.json needs whole-number data and enough total capacity
    assert all(float(v).is_integer() for v in np.concatenate([a["demand"], a["capacity"]]))
    assert a["capacity"].sum() >= a["demand"].sum()
    bound = a["fixed"].max() + a["unit_cost"].max()
    assert close(expected(name)["lost_sale_cost_bound"], bound, 1e-12)
    assert a["lost_sale_cost"] > bound


# =========================================================================== lot sizing (Wagner-Whitin)


def lot_source(name: str) -> dict:
    """demand, K, h, published cost and plan (0-based order quantities), read from the source copy."""
    folder = INSTANCES / name / "source"
    if name == "ww_example_3_9":
        doc = json.loads((folder / "stockpyl_textbook_cases.json").read_text(encoding="utf-8"))
        (case,) = [c for c in doc["cases"] if c["id"] == "example_3_9"]
        data = case["data"]
        return {"demand": data["demand"], "K": data["fixed_cost"], "h": data["holding_cost"],
                "cost": case["expected"]["cost"], "plan": case["expected"]["order_quantities_1based"]}
    case = json.loads((folder / "silver_pyke_peterson_12period.json").read_text(encoding="utf-8"))
    plan = [0] * case["periods"]
    sol = case["optimal_plan_computed_here"]
    for t, q in zip(sol["order_periods_1based"], sol["order_quantities"], strict=True):
        plan[t - 1] = q
    return {"demand": case["demand"], "K": case["setup_cost"], "h": case["holding_cost"],
            "cost": case["known_optimal_cost"], "plan": plan}


def lot_tables(sc: ops.Scenario) -> tuple[list[float], float, float]:
    """demand by period 0..H-1, order cost K and holding cost h, from the scenario tables."""
    d = sc.demand.groupby("period")["demand"].sum().reindex(range(sc.periods), fill_value=0.0)
    return d.tolist(), float(sc.supply["order_cost"].iat[0]), float(sc.products["holding_cost"].iat[0])


def plan_cost(demand: list[float], K: float, h: float, orders: list[float]) -> float:
    """Ordering + holding cost of a plan that must meet all demand from stock (no initial stock)."""
    stock, cost = 0.0, 0.0
    for d, q in zip(demand, orders, strict=True):
        stock += q - d
        assert stock >= 0, "the plan runs out of stock"
        cost += (K if q > 0 else 0.0) + h * stock
    return cost


def all_plans(demand: list[float], K: float, h: float) -> list[tuple[float, tuple[int, ...]]]:
    """(cost, order periods) of every plan with orders in period 0 and any subset of 1..T-1.

    Each order covers the demand up to the next order (the zero-inventory
    property of an optimal plan; meeting demand forces an order in period 0).
    """
    T = len(demand)
    out = []
    for k in range(T):
        for rest in itertools.combinations(range(1, T), k):
            starts = (0, *rest)
            cost = K * len(starts)
            for s, nxt in zip(starts, (*starts[1:], T), strict=True):
                cost += h * sum(demand[u] * (u - s) for u in range(s, nxt))
            out.append((cost, starts))
    assert len(out) == 2 ** (T - 1)
    return out


def lot_lost_sales_milp(demand: list[float], K: float, h: float, lost_cost: float):
    """The scenario's own problem with lost sales allowed, as a cost to minimise.

    Per period t: order q_t, order placed z_t (binary), end stock s_t, sales u_t <= d_t.
    s_t = s_(t-1) + q_t - u_t, s_(-1) = 0; q_t <= (sum d) z_t.
    cost = K sum z + h sum s + L sum (d_t - u_t). Returns (result, constant L*D).
    Variable blocks: q, z, s, u.
    """
    T = len(demand)
    d = np.asarray(demand, dtype=float)
    eye = np.eye(T)
    c = np.concatenate([np.zeros(T), np.full(T, K), np.full(T, h), np.full(T, -lost_cost)])
    balance = np.hstack([-eye, np.zeros((T, T)), eye - np.eye(T, k=-1), eye])  # s_t - s_(t-1) - q_t + u_t = 0
    big_m = np.hstack([eye, -d.sum() * eye, np.zeros((T, T)), np.zeros((T, T))])
    upper = np.concatenate([np.full(T, np.inf), np.ones(T), np.full(T, np.inf), d])
    integrality = np.concatenate([np.zeros(T), np.ones(T), np.zeros(2 * T)])
    res = milp(c, constraints=[LinearConstraint(balance, 0, 0), LinearConstraint(big_m, -np.inf, 0)],
               integrality=integrality, bounds=Bounds(0, upper), options={"mip_rel_gap": 0.0})
    return res, lost_cost * d.sum()


@pytest.mark.parametrize("name", LOT)
def test_lot_tables_encode_the_source_exactly(name: str) -> None:
    src = lot_source(name)
    sc = load(name)
    demand, K, h = lot_tables(sc)
    assert sc.periods == len(src["demand"])
    assert len(sc.demand) == sc.periods and sc.demand["region"].nunique() == 1
    assert demand == [float(x) for x in src["demand"]]
    assert K == src["K"] and h == src["h"]
    assert len(sc.supply) == 1 and len(sc.warehouses) == 1 and len(sc.lanes) == 1
    assert sc.lanes["cost_per_unit"].iat[0] == 0 and sc.supply["activation_cost"].iat[0] == 0
    assert (sc.warehouses["throughput_capacity"] == math.inf).all()
    assert src["cost"] == PUBLISHED[name] == expected(name)["published_answer"]
    assert expected(name)["published_plan"]["order_quantities"] == src["plan"]


@pytest.mark.parametrize("name", LOT)
def test_lot_published_plan_costs_the_published_answer(name: str) -> None:
    demand, K, h = lot_tables(load(name))
    plan = expected(name)["published_plan"]
    assert plan["order_periods"] == [t for t, q in enumerate(plan["order_quantities"]) if q > 0]
    orders = [float(q) for q in plan["order_quantities"]]
    assert sum(orders) == sum(demand), "the plan ends with no stock"
    assert close(plan_cost(demand, K, h, orders), PUBLISHED[name], 1e-9)


@pytest.mark.parametrize("name", LOT)
def test_lot_enumeration_proves_the_published_answer_optimal(name: str) -> None:
    demand, K, h = lot_tables(load(name))
    assert demand[0] > 0, "meeting demand forces an order in period 0"
    plans = all_plans(demand, K, h)
    best = min(cost for cost, _ in plans)
    assert close(best, PUBLISHED[name], 1e-9), best
    argmin = [starts for cost, starts in plans if close(cost, best, 1e-9)]
    assert argmin == [tuple(expected(name)["published_plan"]["order_periods"])], "unique optimum = published plan"


@pytest.mark.parametrize("name", LOT)
def test_lot_lost_sales_model_from_tables_reaches_expected_profit(name: str) -> None:
    demand, K, h = lot_tables(load(name))
    exp = expected(name)
    res, constant = lot_lost_sales_milp(demand, K, h, exp["lost_sale_cost"])
    assert res.status == 0, res.message
    T = len(demand)
    assert np.allclose(res.x[3 * T:], demand, rtol=0, atol=1e-6), "all demand is met"
    profit = -(res.fun + constant)
    assert close(profit, exp["expected_profit"], exp["rel_tol"]), (profit, exp["expected_profit"])


@pytest.mark.parametrize("name", LOT)
def test_lot_lost_sale_cost_exceeds_the_full_service_bound(name: str) -> None:
    sc = load(name)
    demand, K, h = lot_tables(sc)
    assert sc.initial_stock.empty and sc.pipeline.empty
    bound = max(h * (len(demand) - 1), K / min(d for d in demand if d > 0))
    assert close(expected(name)["lost_sale_cost_bound"], bound, 1e-12)
    assert float(sc.products["lost_sale_cost"].iat[0]) > bound


# =========================================================================== the converter


def test_converter_reproduces_the_committed_files() -> None:
    proc = subprocess.run([sys.executable, str(INSTANCES / "make_refdata.py"), "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
