"""The anytime search (method ``lns``): a checked plan first, never a worse one later, a bound from a second process.

Oracles: tiny's optimum from its hand calculation (instances/tiny/expected.json); the independent plan
checker on every plan any phase hands out; the practitioner plan's own evaluation for "never below the start".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optsupply as ops
from optsupply.baselines.siloed import practitioner_plan
from optsupply.model import build_model, prepare
from optsupply.optimizer.highs import SolveOptions, available_cores
from optsupply.optimizer.highs.arrays import CompiledModel
from optsupply.optimizer.neighbourhoods import Chooser, Columns
from optsupply.optimizer.optimize import choose_method
from optsupply.plan.check import check_plan, evaluate_plan
from optsupply.plan.core import TABLE_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ROOT / "instances"
TINY_OPTIMUM = json.loads((INSTANCES / "tiny" / "expected.json").read_text())["expected_profit"]


def _compiled(name: str):
    sc = ops.Scenario.load(INSTANCES / name)
    m, d = build_model(sc, prepare(sc))
    return sc, m, d, CompiledModel(m, SolveOptions.from_scenario(sc.settings, threads=1))


def test_every_column_belongs_to_the_product_and_period_of_its_index():
    _, m, d, cm = _compiled("small")
    cols = Columns.of(cm.columns, d)
    shared = set()
    for v, owner, period in zip(cm.columns, cols.product, cols.period, strict=True):
        key = v.index() if isinstance(v.index(), tuple) else (v.index(),)
        name = f"{v.parent_block().local_name}.{v.parent_component().local_name}"
        if owner == "":
            shared.add(name)
        else:
            assert key[0] == owner and owner in d.products, (name, key)
        ints = [k for k in key if isinstance(k, int)]
        assert period == (ints[0] if ints else -1), (name, key)
    assert shared == {"transport.used", "launch.intro"}  # lanes and onboarding serve several products


def test_a_neighbourhood_frees_its_products_and_window_and_holds_the_rest():
    _, m, d, cm = _compiled("small")
    cols = Columns.of(cm.columns, d)
    p = d.products[0]
    free = cols.free([p], (2, 4))
    assert free.any()
    assert set(cols.product[free]) <= {p, ""}
    periods = cols.period[free]
    assert ((periods == -1) | ((periods >= 2) & (periods <= 4))).all()
    mine = (cols.product == p) & ((cols.period == -1) | ((cols.period >= 2) & (cols.period <= 4)))
    assert free[mine].all()  # nothing of the product inside the window stays held


def test_the_chooser_grows_neighbourhoods_that_close_early_and_shrinks_those_that_do_not():
    sc = ops.Scenario.load(INSTANCES / "medium")
    ch = Chooser(prepare(sc), seed=3)
    nb = ch._products(2)
    ch.record(nb, best=False, closed=True, early=True)
    assert ch.size["products"] == 3.0
    ch.record(nb, best=False, closed=False, early=False)
    assert ch.size["products"] == 2.0
    before = dict(ch.weight)
    ch.record(nb, best=True, closed=True, early=False)
    assert ch.weight["products"] > before["products"]
    focus = Chooser(prepare(sc), focus=["P07", "P03"]).next()
    assert focus.kind == "focus" and set(focus.products) == {"P03", "P07"}


def test_same_seed_gives_the_same_neighbourhoods():
    d = prepare(ops.Scenario.load(INSTANCES / "medium"))
    a, b = Chooser(d, seed=5), Chooser(d, seed=5)
    assert [a.next() for _ in range(20)] == [b.next() for _ in range(20)]


def test_auto_picks_one_mip_for_small_scenarios_and_the_search_for_larger_or_short_runs():
    tiny, small, medium = (ops.Scenario.load(INSTANCES / n) for n in ("tiny", "small", "medium"))
    assert choose_method(tiny, "auto", 60) == "mip"
    assert choose_method(small, "auto", 60) == "mip"
    assert choose_method(small, "auto", 5) == "lns"  # a short run needs a plan first
    assert choose_method(medium, "auto", 300) == "lns"
    assert choose_method(medium, "mip", 300) == "mip"


def test_lns_reaches_tinys_hand_calculated_optimum_with_a_bound_from_the_second_process():
    if available_cores() < 2:
        pytest.skip("the bound process needs a second core")
    plan = ops.solve(INSTANCES / "tiny", method="lns", time_limit=30)
    k = plan.kpis
    assert k["method"] == "lns"
    assert k["profit"] == pytest.approx(TINY_OPTIMUM, rel=1e-6)
    assert k["best_bound"] is not None and k["best_bound"] >= TINY_OPTIMUM - 1e-6
    assert k["status"] == "optimal"
    assert not check_plan(ops.Scenario.load(INSTANCES / "tiny"), plan)


@pytest.mark.slow
def test_every_plan_handed_out_is_checked_and_none_is_below_the_one_before():
    sc = ops.Scenario.load(INSTANCES / "small")
    seen = []
    plan = ops.solve(sc, method="lns", time_limit=120, work_limit=8, on_plan=seen.append)
    start = evaluate_plan(sc, practitioner_plan(sc))["profit"]
    assert seen, "the start plan is handed out before the search"
    profits = [evaluate_plan(sc, p)["profit"] for p in seen + [plan]]  # one evaluation route: no float noise
    for p in seen + [plan]:
        assert not check_plan(sc, p)
    assert profits == sorted(profits)
    assert profits[0] >= start - 1e-6
    assert plan.kpis["profit"] > start  # the search improves on the practitioner's rules here
    assert plan.kpis["neighbourhoods"] == 8


def _tables(plan: ops.Plan) -> dict[str, pd.DataFrame]:
    return {name: getattr(plan, name).reset_index(drop=True) for name in TABLE_COLUMNS}


@pytest.mark.slow
def test_a_work_limit_gives_the_same_plan_on_every_run():
    sc = ops.Scenario.load(INSTANCES / "small")
    a = ops.solve(sc, method="lns", time_limit=300, work_limit=6, seed=2)
    b = ops.solve(sc, method="lns", time_limit=300, work_limit=6, seed=2)
    assert a.kpis["profit"] == b.kpis["profit"]
    for name, df in _tables(a).items():
        pd.testing.assert_frame_equal(df, _tables(b)[name], obj=name)


def test_a_killed_second_process_costs_only_its_bound():
    if available_cores() < 2:
        pytest.skip("the second process needs a second core")
    sc = ops.Scenario.load(INSTANCES / "small")
    killed = []

    def kill(line: dict) -> None:
        if line["phase"] == "worker" and not killed:
            os.kill(line["pid"], signal.SIGKILL)
            killed.append(line["pid"])

    # the second process starts only with 5 s left after start, build and polish: 15 s leave room on a busy machine
    plan = ops.solve(sc, method="lns", time_limit=15, progress=kill)
    assert killed
    k = plan.kpis
    assert k["worker"].startswith("stopped early")
    assert k["best_bound"] is None
    assert k["profit"] >= evaluate_plan(sc, practitioner_plan(sc))["profit"] - 1e-6
    assert not check_plan(sc, plan)


def test_ctrl_c_on_the_command_line_keeps_the_best_plan_written_so_far(tmp_path):
    out = tmp_path / "plan"
    proc = subprocess.Popen([sys.executable, "-m", "optsupply", "solve", str(INSTANCES / "small"), "--method", "lns",
                             "--time-limit", "120", "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.time() + 60
    while not (out / "kpis.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert (out / "kpis.json").exists(), "the start plan is written before the search"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    plan = ops.Plan.load(out)
    assert plan.kpis["status"] == "interrupted"
    assert not check_plan(ops.Scenario.load(INSTANCES / "small"), plan)


def test_the_search_never_changes_a_held_column():
    _, m, d, cm = _compiled("small")
    cols = Columns.of(cm.columns, d)
    plan = practitioner_plan(ops.Scenario.load(INSTANCES / "small"))
    from optsupply.model.fixing import plan_integers

    x = np.zeros(cm.num_cols)
    for v, value in plan_integers(m, d, plan).items():
        if id(v) in cm.col:
            x[cm.col[id(v)]] = value
    first = cm.search(x, cm.integrality.astype(bool))
    assert first.x is not None
    free = cols.free(d.products[:2])
    r = cm.search(first.x, ~free, time_limit=30)
    assert r.objective >= first.objective - 1e-6 * abs(first.objective)
    assert np.allclose(r.x[~free], np.where(cm.integrality.astype(bool), np.round(first.x), first.x)[~free], atol=1e-7)


def test_auto_keeps_one_mip_for_tiny_scenarios_whatever_the_time_limit():
    assert choose_method(ops.Scenario.load(INSTANCES / "tiny"), "auto", 2) == "mip"


def test_a_what_if_search_starts_from_the_previous_plan_and_is_checked_against_the_changed_scenario():
    from optsupply.analysis.whatif import WhatIf

    sc = ops.Scenario.load(INSTANCES / "small")
    session = WhatIf(sc, method="lns", time_limit=8)
    before = session.solve()
    assert session.last_update == "search" and before.kpis["method"] == "lns"
    product = str(sc.products["product"].iloc[0])
    after = session.solve({"products.price": {product: "*1.2"}})
    changed = session.base
    assert session.last_update == "search" and session.last_update.mip_start == "previous plan"
    assert "touched product" in session.last_update.reason
    assert not check_plan(changed, after)
    # the previous plan is feasible for a price change: the new plan is never below it, valued at the new price
    assert after.kpis["profit"] >= evaluate_plan(changed, before)["profit"] - 1e-6


def test_one_mip_reports_the_same_progress_line_as_the_search():
    lines = []
    plan = ops.solve(INSTANCES / "tiny", method="mip", time_limit=30, progress=lines.append)
    phases = [line["phase"] for line in lines]
    assert phases[0] == "build" and phases[-1] == "done"
    assert set(lines[0]) == {"elapsed", "phase", "incumbent", "bound", "bound_kind", "gap"}
    assert lines[-1]["incumbent"] == pytest.approx(plan.kpis["profit"])
    assert plan.kpis["bound_kind"] == "mip" and lines[-1]["bound_kind"] == "mip"  # one MIP: HiGHS's own bound
    elapsed = [line["elapsed"] for line in lines]
    assert elapsed == sorted(elapsed)


def test_the_progress_line_shows_elapsed_phase_profit_bound_and_gap():
    from optsupply.optimizer.progress import progress_line

    line = progress_line(12.25, "search", 80.0, 100.0)  # gap |100 - 80| / 80 = 25 %
    assert line.startswith("[   12.2 s] search")
    assert "80.00" in line and "100.00" in line and "25.00%" in line
    assert "—" in progress_line(1.0, "start", 95.0, None)
    assert "root_cuts" in progress_line(3.0, "search", 80.0, 90.0, "root_cuts")
    assert "lp" not in progress_line(3.0, "search", 80.0, None, "lp")  # no bound, no kind


def test_a_scenario_over_the_model_size_limit_is_searched_by_product_groups(monkeypatch):
    from optsupply.scenario.limits import ENV_MAX_MODEL_COLUMNS

    monkeypatch.setenv(ENV_MAX_MODEL_COLUMNS, "1000")  # small's whole model (about 2,000) is over it, a group is not
    sc = ops.Scenario.load(INSTANCES / "small")
    seen = []
    plan = ops.solve(sc, method="lns", time_limit=20, on_plan=seen.append)
    k = plan.kpis
    assert "product groups were re-planned" in k["message"] and k["neighbourhoods"] >= 2
    assert not check_plan(sc, plan) and all(not check_plan(sc, p) for p in seen)
    assert k["profit"] >= evaluate_plan(sc, practitioner_plan(sc))["profit"] - 1e-6


def _lp_iterations(cm, x) -> tuple[float, int]:
    r = cm.search(x, cm.integrality.astype(bool), lp=True)
    assert r.x is not None
    return r.objective, r.iterations


def test_an_lp_polish_starts_from_the_basis_of_a_model_of_the_same_shape_and_ignores_another():
    from optsupply.model.fixing import plan_integers

    sc = ops.Scenario.load(INSTANCES / "small")
    changed = sc.with_changes({"products.price": {str(sc.products["product"].iloc[0]): "*0.9"}})
    plan = practitioner_plan(sc)

    def start(scenario):
        m, d = build_model(scenario, prepare(scenario))
        cm = CompiledModel(m, SolveOptions.from_scenario(scenario.settings, threads=1))
        x = np.zeros(cm.num_cols)
        for v, value in plan_integers(m, d, plan).items():
            if id(v) in cm.col:
                x[cm.col[id(v)]] = value
        return cm, x

    before, x0 = start(sc)
    _lp_iterations(before, x0)
    basis = before.basis()
    cold, x1 = start(changed)
    cold_objective, cold_iterations = _lp_iterations(cold, x1)
    warm, x2 = start(changed)
    assert warm.set_basis(basis)
    warm_objective, warm_iterations = _lp_iterations(warm, x2)
    assert warm_objective == pytest.approx(cold_objective, rel=1e-7)  # the same LP optimum, from elsewhere
    assert cold_iterations > 0 and warm_iterations < cold_iterations / 2
    _, _, _, tiny = _compiled("tiny")
    assert not tiny.set_basis(basis)  # another shape: ignored


def test_a_previous_plan_over_a_cut_budget_still_gives_its_decisions_to_the_polish():
    from optsupply.optimizer.anytime import Warm, anytime

    sc = ops.Scenario.load(INSTANCES / "small")
    opts = SolveOptions.from_scenario(sc.settings, threads=1, seed=0)
    previous = anytime(sc, opts, work_limit=6, worker=False)
    spend = float(previous.advertising["spend"].sum())
    cut = sc.with_changes({"advertising.total_budget": round(0.97 * spend, 2)})
    assert check_plan(cut, previous)  # the previous plan spends more than the cut budget allows
    warm = Warm()
    repaired = anytime(cut, opts, start=previous, work_limit=0, worker=False, warm=warm)
    baseline_only = anytime(cut, opts, work_limit=0, worker=False)
    assert not check_plan(cut, repaired)
    assert repaired.advertising["spend"].sum() <= 0.97 * spend + 0.01
    assert not repaired.kpis["start"].startswith("given plan") and repaired.kpis["found_by"] == "polish"
    # the previous plan's launches, lanes and orders, re-planned by the LP, beat the baselines' re-planned
    assert repaired.kpis["profit"] > baseline_only.kpis["profit"] + 1.0
    assert warm.basis is not None


def test_ad_spend_over_the_budgets_is_scaled_to_them_with_effective_spend_recomputed_by_adstock():
    from dataclasses import replace

    from optsupply.optimizer.anytime import _within_budgets

    sc = ops.Scenario.load(INSTANCES / "small")  # social: 160 per period; total budget 2,100
    ads = pd.DataFrame({"product": ["P02", "P07", "P02", "P03"], "channel": ["social", "social", "social", "search"],
                        "period": [0, 0, 2, 0], "spend": [120.0, 80.0, 100.0, 1900.0],
                        "effective_spend": [0.0, 0.0, 0.0, 0.0], "uplift": [0.0] * 4})
    out = _within_budgets(sc, replace(practitioner_plan(sc), advertising=ads)).advertising
    # period 0 social: 200 > 160, both scaled by 0.8 (96, 64); period 2 social 100 fits; then the total
    # 96 + 64 + 100 + 1,900 = 2,160 > 2,100: every row by 2,100 / 2,160
    f = 2100 / 2160
    assert out["spend"].tolist() == pytest.approx([96 * f, 64 * f, 100 * f, 1900 * f])
    # adstock over the rows present: P02 social carries 0.46 per period into period 2 (two periods later)
    assert out["effective_spend"].tolist() == pytest.approx([96 * f, 64 * f, 100 * f + 0.46**2 * 96 * f, 1900 * f])
    within = ads.assign(spend=[50.0, 50.0, 50.0, 50.0])
    assert _within_budgets(sc, replace(practitioner_plan(sc), advertising=within)).advertising is within


def test_the_bound_process_reports_the_lp_bound_first_then_the_root_and_tree_bounds():
    """The second process solves the LP relaxation first (kind ``lp``, the same value as the relaxation solved
    here), then HiGHS's MIP: its bounds only ever come down, each labelled ``root_cuts`` or ``mip``."""
    from optsupply.model import build_model
    from optsupply.optimizer.highs import SolveOptions
    from optsupply.optimizer.highs.arrays import CompiledModel
    from optsupply.optimizer.highs.worker import SearchWorker

    sc = ops.Scenario.load(INSTANCES / "tiny")
    m, _ = build_model(sc)
    cm = CompiledModel(m, SolveOptions(threads=1, seed=0))
    cm.set_integer(False)
    lp = cm.solve_lp()[0]
    worker = SearchWorker(cm.arrays, np.zeros(cm.num_cols), 20.0, lp_first=True)
    seen = []
    try:
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            while not worker.messages.empty():
                header, _ = worker.messages.get()
                if header["kind"] in ("bound", "done") and header["value"] is not None:
                    seen.append((header["bound_kind"], header["value"]))
                if header["kind"] == "done":
                    deadline = 0
            time.sleep(0.05)
    finally:
        worker.stop()
    assert seen[0] == ("lp", pytest.approx(lp, rel=1e-7))
    assert {kind for kind, _ in seen[1:]} <= {"root_cuts", "mip"} and len(seen) >= 2
    values = [v for _, v in seen]
    assert values == sorted(values, reverse=True)
    assert values[-1] == pytest.approx(TINY_OPTIMUM, rel=1e-4)  # tiny is proven optimal: the bound meets it
