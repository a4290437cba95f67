"""Bounds are valid: the model's LP relaxation and HiGHS's bound after its root node never fall below an
optimum known from outside the model.

Oracles: instances/tiny (derived by hand), Wagner–Whitin Example 3.9 and Silver–Pyke–Peterson (published
lot-sizing optima), OR-Library cap41/71/101/131 (capopt). A relaxation that cuts off the optimum (a wrong
(l,S) row, a too-tight outflow bound) puts a bound below it: the last test breaks the (l,S) rows on purpose
and checks that these tests would see it.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict

import pytest

import optsupply as ops
from optsupply.model import build_model, prepare
from optsupply.optimizer.highs import SolveOptions
from optsupply.optimizer.highs.arrays import CompiledModel
from tests.conftest import INSTANCES

KNOWN = ["tiny", "ww_example_3_9", "spp_12period", "cap41", "cap71", "cap101", "cap131"]


def _optimum(name: str) -> tuple[float, float]:
    expected = json.loads((INSTANCES / name / "expected.json").read_text())
    return float(expected["expected_profit"]), float(expected["rel_tol"])


def _bounds(sc: ops.Scenario) -> dict[str, float]:
    """The LP relaxation's optimum and HiGHS's dual bound after its root node (presolve, cuts), maximised."""
    m, d = build_model(sc, prepare(sc))
    cm = CompiledModel(m, SolveOptions(threads=1, seed=0))
    cm.set_integer(False)
    lp = cm.solve_lp()
    assert lp is not None
    root = cm.mip_bound(60.0, nodes=1)  # after the root node: presolve and cut rounds
    assert root is not None and math.isfinite(root)
    return {"lp": lp[0], "root_cuts": root}


@pytest.mark.parametrize("name", KNOWN)
def test_no_bound_is_below_the_known_optimum(name: str) -> None:
    optimum, rel = _optimum(name)
    bounds = _bounds(ops.Scenario.load(INSTANCES / name))
    for kind, bound in bounds.items():
        assert bound >= optimum - rel * abs(optimum), (kind, bound, optimum)
    assert bounds["lp"] >= bounds["root_cuts"] - 1e-6 * abs(bounds["lp"])  # cuts only ever tighten


def test_a_broken_cut_puts_a_bound_below_a_known_optimum(monkeypatch) -> None:
    """(l,S) rows built as if nothing could be shipped (order ≤ stock at period l) cut off optimal plans."""
    import optsupply.model.inventory as inventory

    monkeypatch.setattr(inventory, "ship_capacity", lambda d: defaultdict(float))
    below = []
    for name in ["tiny", "ww_example_3_9", "spp_12period"]:
        optimum, rel = _optimum(name)
        if min(_bounds(ops.Scenario.load(INSTANCES / name)).values()) < optimum - rel * abs(optimum):
            below.append(name)
    assert below


#: generated small instances whose optimum HiGHS proved within a relative gap of 1e-4 (two threads, 60-100 s
#: runs); the values are the proven plans' profits rounded down, so every valid bound is at least as high
PROVEN_SMALL = {1: 27985.0, 2: 9304.5, 4: 22088.0}


@pytest.fixture(scope="module")
def proven_small() -> dict[int, ops.Scenario]:
    from optsupply.scenario.generate import generate

    return {seed: generate("small", seed) for seed in PROVEN_SMALL}


def _lp(sc: ops.Scenario) -> float:
    m, d = build_model(sc, prepare(sc))
    cm = CompiledModel(m, SolveOptions(threads=1, seed=0))
    cm.set_integer(False)
    lp = cm.solve_lp()
    assert lp is not None
    return lp[0]


@pytest.mark.parametrize("seed", sorted(PROVEN_SMALL))
def test_the_lp_bound_of_a_proven_small_instance_is_not_below_its_optimum(proven_small, seed: int) -> None:
    assert _lp(proven_small[seed]) >= PROVEN_SMALL[seed]


def test_the_uplift_links_tighten_the_lp_and_stay_above_the_optima(proven_small) -> None:
    """With and without the rows of model/links.py: tighter with them, and above the optimum either way."""
    for seed, optimum in PROVEN_SMALL.items():
        sc = proven_small[seed]
        d = prepare(sc)
        d.uplift_links = False
        m, _ = build_model(sc, d)
        cm = CompiledModel(m, SolveOptions(threads=1, seed=0))
        cm.set_integer(False)
        without = cm.solve_lp()[0]
        with_links = _lp(sc)
        assert optimum <= with_links <= without + 1e-6 * abs(without)
    assert with_links < without - 1e-3 * abs(without)  # seed 4: 22,498 -> 22,252


@pytest.mark.parametrize("break_it", ["uplift left out", "featured demand halved"])
def test_a_broken_uplift_link_puts_a_bound_below_an_optimum(monkeypatch, proven_small, break_it: str) -> None:
    """The uplift links count the uplift a plan buys (V) and a featured new product's demand by launch period;
    leaving V out, or halving the launch demand, cuts off optimal plans, and the optima above see it."""
    import optsupply.model.links as links

    if break_it == "uplift left out":
        monkeypatch.setattr(links, "_uplift", lambda m: (lambda p, r, t: 0.0))
    else:
        real = links._launch_demand
        monkeypatch.setattr(links, "_launch_demand", lambda d, p, r, t, tau: 0.5 * real(d, p, r, t, tau))
    below = [f"small-s{seed}" for seed, optimum in PROVEN_SMALL.items() if _lp(proven_small[seed]) < optimum]
    tiny, rel = _optimum("tiny")
    if _lp(ops.Scenario.load(INSTANCES / "tiny")) < tiny - rel * abs(tiny):
        below.append("tiny")
    assert below


def _optimum_of(sc: ops.Scenario, links: bool) -> tuple[float, float]:
    """(MIP optimum, LP bound) of ``sc`` with or without the uplift links, HiGHS to a 1e-7 gap."""
    d = prepare(sc)
    d.uplift_links = links
    m, _ = build_model(sc, d)
    cm = CompiledModel(m, SolveOptions(threads=1, seed=0, mip_gap=1e-7))
    r = cm.run(120.0)
    assert r.status == "optimal"
    cm.set_integer(False)
    return r.objective, cm.solve_lp()[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_uplift_links_keep_every_optimum_of_the_model_without_them(seed: int) -> None:
    """The links are valid inequalities: the model with them has the same optimum as the model without
    them (solved to optimality on generated xsmall instances), and its LP bound stays above that optimum."""
    from optsupply.scenario.generate import generate

    sc = generate("xsmall", seed)
    without, lp_without = _optimum_of(sc, links=False)
    with_links, lp_with = _optimum_of(sc, links=True)
    assert with_links == pytest.approx(without, rel=1e-6)
    assert without - 1e-6 * abs(without) <= lp_with <= lp_without + 1e-6 * abs(lp_without)
