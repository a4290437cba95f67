"""The product-group decomposition (``method="decompose"``).

Oracles from outside the decomposition code:

* ``instances/tiny``, whose optimum 502.75 is derived by hand in its README: with
  one group the method is the joint MIP and must find it and prove it; with one
  product per group its bound must stay at or above it and its plan at or below;
* the independent plan checker on every plan — on tiny every coupling is present
  (shared storage, one launch and one featured slot per period, a horizon ad
  budget, a category with onboarding cost and a minimum of two launches), and a
  mutation test shows the checker catches the plans made without the residual
  rows, so the feasibility test can fail;
* the monolithic MIP optimum of small generated scenarios: the decomposition's
  bound is never below it and its plan never above it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import optsupply as ops
import optsupply.optimizer.decompose as dec
from optsupply.model.slices import ProductSlices
from optsupply.optimizer.highs.arrays import CompiledModel
from optsupply.cli import main
from optsupply.errors import UsageError
from optsupply.scenario.generate import generate
from optsupply.model import build_model, prepare
from optsupply.optimizer.optimize import choose_method
from optsupply.optimizer.highs import SolveOptions
from optsupply.plan.check import check_plan, evaluate_plan

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "instances" / "tiny"
TINY_OPTIMUM = 502.75  # instances/tiny/README.md


def opts(limit: float = 30.0) -> SolveOptions:
    return SolveOptions(time_limit=limit, mip_gap=0.0, threads=1, seed=0)


@pytest.fixture(scope="module")
def tiny() -> ops.Scenario:
    return ops.Scenario.load(TINY)


@pytest.mark.parametrize("threads_before", [0, 2])
def test_a_solve_with_another_thread_count_before_does_not_stop_the_groups(tiny: ops.Scenario,
                                                                          threads_before: int) -> None:
    """HiGHS's task scheduler is global: after a solve with another thread count in the same process, every
    group MIP of the decomposition would fail unless it is reset (found as a test-order dependence)."""
    ops.solve(tiny, threads=threads_before, mip_gap=0.0, time_limit=30)
    plan = dec.decompose(tiny, opts(), group_size=3)
    assert plan.kpis["groups_improved"] >= 1 or plan.kpis["start_profit"] == pytest.approx(TINY_OPTIMUM)
    assert plan.kpis["profit"] == pytest.approx(TINY_OPTIMUM, rel=1e-6)


def test_one_group_is_the_joint_mip(tiny: ops.Scenario) -> None:
    plan = dec.decompose(tiny, opts(), group_size=3)
    k = plan.kpis
    assert check_plan(tiny, plan) == []
    assert k["profit"] == pytest.approx(TINY_OPTIMUM, rel=1e-6)
    assert k["best_bound"] == pytest.approx(TINY_OPTIMUM, rel=1e-6)
    assert k["status"] == "optimal" and k["method"] == "decompose" and k["groups"] == 1
    assert k["profit"] == pytest.approx(evaluate_plan(tiny, plan)["profit"])


def test_one_product_per_group_keeps_every_coupling(tiny: ops.Scenario) -> None:
    plan = dec.decompose(tiny, opts(), group_size=1)
    k = plan.kpis
    assert check_plan(tiny, plan) == []
    assert k["profit"] <= TINY_OPTIMUM + 1e-6
    assert k["best_bound"] >= TINY_OPTIMUM - 1e-6
    assert k["profit"] >= k["start_profit"] - 1e-9
    assert k["groups"] == 3
    assert k["mip_gap"] == pytest.approx((k["best_bound"] - k["profit"]) / abs(k["profit"]))
    # C2 needs two launches or none, one launch per period: the plan keeps both rules
    launches = plan.launches
    c2 = launches[launches["product"].isin(["P2", "P3"])]
    assert len(c2) in (0, 2) and launches["period"].is_unique


def test_without_residual_rows_the_checker_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation: sub-MIPs that ignore what the other products use make infeasible plans (here: more
    featured products than slots), so the feasibility tests can fail; the real method stays clean."""
    sc = generate("xsmall", seed=1)
    plan = dec.decompose(sc, opts(10), group_size=1)
    assert check_plan(sc, plan) == []
    monkeypatch.setattr(dec, "_residual_rows", lambda *a, **k: None)
    monkeypatch.setattr(dec, "_group_data", lambda sl, group, others: sl.restrict(group))
    broken = dec.decompose(sc, opts(10), group_size=1)
    assert any("featured slot" in p for p in check_plan(sc, broken))


@pytest.mark.parametrize("seed", [1, pytest.param(3, marks=pytest.mark.slow), pytest.param(5, marks=pytest.mark.slow)])
def test_bound_and_plan_bracket_the_mip_optimum(seed: int) -> None:
    sc = generate("xsmall", seed=seed)
    best = ops.solve(sc, time_limit=60, mip_gap=0.0, threads=1)
    assert best.kpis["status"] == "optimal"
    plan = dec.decompose(sc, opts(60), group_size=2)
    assert check_plan(sc, plan) == []
    assert plan.kpis["best_bound"] >= best.kpis["profit"] - 1e-6 * abs(best.kpis["profit"])
    assert plan.kpis["profit"] <= best.kpis["profit"] + 1e-6 * abs(best.kpis["profit"])


def test_shared_lane_fixed_costs_keep_the_bound_valid(tiny: ops.Scenario) -> None:
    """Fixed lane costs shared by products are split over groups in the bound; it must stay valid."""
    sc = tiny.with_changes({"lanes.fixed_cost": 40.0})
    best = ops.solve(sc, time_limit=60, mip_gap=0.0, threads=1)
    assert best.kpis["status"] == "optimal"
    plan = dec.decompose(sc, opts(), group_size=1)
    assert check_plan(sc, plan) == []
    assert plan.kpis["best_bound"] >= best.kpis["profit"] - 1e-6
    assert plan.kpis["profit"] <= best.kpis["profit"] + 1e-6


def test_restricting_to_all_products_is_the_full_model(tiny: ops.Scenario) -> None:
    d = prepare(tiny)
    whole, _ = build_model(tiny, d)
    part, _ = build_model(tiny, ProductSlices(d).restrict(list(d.products)))
    import pyomo.environ as pyo

    def sizes(m: pyo.ConcreteModel) -> dict[str, int]:
        out = {c.name: len(c) for c in m.component_objects(pyo.Var, descend_into=True)}
        out.update({c.name: len(c) for c in m.component_objects(pyo.Constraint, descend_into=True)})
        return out

    assert sizes(part) == sizes(whole)


def test_groups_keep_categories_together() -> None:
    d = prepare(generate("small", seed=1))
    groups = dec.product_groups(d, 4)
    assert sorted(p for g in groups for p in g) == sorted(d.products)
    assert all(1 <= len(g) <= 4 for g in groups)
    cats = [[d.category[p] for p in g] for g in groups]
    assert all(c == sorted(c) for c in cats)  # ordered by category inside and across groups
    flat = [c for g in cats for c in g]
    assert flat == sorted(flat)


def test_method_option(tiny: ops.Scenario) -> None:
    assert choose_method(tiny, "auto") == "mip"
    assert choose_method(tiny, "decompose") == "decompose"
    with pytest.raises(UsageError, match="method must be one of"):
        choose_method(tiny, "fast")
    plan = ops.solve(tiny, method="decompose", time_limit=30)
    assert plan.kpis["method"] == "decompose" and check_plan(tiny, plan) == []
    assert ops.solve(tiny, method="mip", time_limit=30).kpis["method"] == "mip"


def test_auto_picks_one_mip_up_to_the_size_threshold_and_the_search_beyond() -> None:
    from optsupply.optimizer.optimize import AUTO_MIP_SIZE

    class Sized:  # only products x periods matter to the choice
        def __init__(self, n: int, periods: int) -> None:
            self.products = list(range(n))
            self.settings = {"horizon.periods": periods}

    assert AUTO_MIP_SIZE % 10 == 0
    at = AUTO_MIP_SIZE // 10
    assert choose_method(Sized(at, 10), "auto", 60) == "mip"  # type: ignore[arg-type]
    assert choose_method(Sized(at + 1, 10), "auto", 60) == "lns"  # type: ignore[arg-type]
    assert choose_method(Sized(at + 1, 10), "decompose", 60) == "decompose"  # type: ignore[arg-type]


def test_cli_method_decompose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan"
    code = main(["solve", str(TINY), "--method", "decompose", "--time-limit", "30", "--out", str(out)])
    assert code == 0
    plan = ops.Plan.load(out)
    assert plan.kpis["method"] == "decompose"
    assert "[decompose" in capsys.readouterr().err
    assert check_plan(ops.Scenario.load(TINY), plan) == []


def test_ctrl_c_keeps_the_plan_so_far(tiny: ops.Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during a group's MIP stops the sweeps; the plan so far (always feasible) is returned."""
    real = CompiledModel.run
    calls = []

    def run(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(CompiledModel, "run", run)
    plan = dec.decompose(tiny, opts(), group_size=1)
    assert plan.kpis["status"] == "interrupted" and plan.kpis["best_bound"] is None
    assert plan.kpis["profit"] >= plan.kpis["start_profit"] - 1e-9
    assert check_plan(tiny, plan) == []
