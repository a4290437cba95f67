"""Disjoint product groups on an executor: shares of the free capacity that always fit together.

Oracles: capacity arithmetic recomputed from the plan tables (volumes × units), and the independent
plan checker on the result.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

import optsupply as ops
from optsupply.baselines.siloed import practitioner_plan
from optsupply.model import prepare
from optsupply.optimizer.decompose import product_groups
from optsupply.optimizer.parallel import shares
from optsupply.plan.check import check_plan, evaluate_plan

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ROOT / "instances"


def _stored(plan: ops.Plan, d, products: set[str]) -> dict:
    st = plan.stock[plan.stock["product"].isin(products)]
    out: dict = {}
    for p, w, t, u in zip(st["product"], st["warehouse"], st["period"], st["units"], strict=True):
        out[w, int(t)] = out.get((w, int(t)), 0.0) + d.volume[p] * u
    return out


@pytest.mark.parametrize("batch", [2, 3])
def test_the_groups_of_a_batch_together_never_get_more_than_the_capacity(batch):
    sc = ops.Scenario.load(INSTANCES / "medium")
    d = prepare(sc)
    plan = practitioner_plan(sc)
    groups = product_groups(d, 4)[:batch]
    in_batch = {p for g in groups for p in g}
    rest = _stored(plan, d, set(d.products) - in_batch)
    allowed: dict = {}
    for g in groups:
        u = shares(d, plan, g, batch)
        for (w, t), pretend in u.storage.items():
            allowed[w, t] = allowed.get((w, t), 0.0) + d.storage[w] - pretend  # what this group may store
    for (w, t), room in allowed.items():
        assert room + rest.get((w, t), 0.0) <= d.storage[w] * (1 + 1e-9) + 1e-6, (w, t)
    slots = {t: sum(d.slots.get(t, 0) - shares(d, plan, g, batch).slots[t] for g in groups) for t in d.periods}
    featured_rest = plan.featured[~plan.featured["product"].isin(in_batch)].groupby("period").size()
    for t, room in slots.items():
        assert room + int(featured_rest.get(t, 0)) <= d.slots.get(t, 0)


def test_a_group_may_use_what_it_uses_today():
    sc = ops.Scenario.load(INSTANCES / "medium")
    d = prepare(sc)
    plan = practitioner_plan(sc)
    g = product_groups(d, 4)[0]
    own = _stored(plan, d, set(g))
    u = shares(d, plan, g, 2)
    for key, used in own.items():
        assert d.storage[key[0]] - u.storage[key] >= used - 1e-6


def test_parallel_rounds_on_an_executor_return_a_checked_plan_never_below_the_start():
    sc = ops.Scenario.load(INSTANCES / "small")
    with ProcessPoolExecutor(2) as ex:
        plan = ops.solve(sc, method="lns", executor=ex, time_limit=25)
    assert plan.kpis["executor"] == "ProcessPoolExecutor" and plan.kpis["tasks"] >= 2
    assert not check_plan(sc, plan)
    assert plan.kpis["profit"] >= evaluate_plan(sc, practitioner_plan(sc))["profit"] - 1e-6


def test_a_failing_task_costs_its_group_only(monkeypatch):
    import optsupply.optimizer.parallel as par

    calls = []
    real = par.plan_group

    def flaky(sc, plan, group, others, seconds, opts):
        calls.append(group)
        if len(calls) % 2:
            raise RuntimeError("worker lost")
        return real(sc, plan, group, others, seconds, opts)

    monkeypatch.setattr(par, "plan_group", flaky)
    sc = ops.Scenario.load(INSTANCES / "small")
    with ThreadPoolExecutor(2) as ex:
        plan = ops.solve(sc, method="lns", executor=ex, time_limit=15)
    assert calls and not check_plan(sc, plan)
