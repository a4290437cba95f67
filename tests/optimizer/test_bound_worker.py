"""The Lagrangian bound process beside a search by product groups: valid bounds, sent as they improve."""

from __future__ import annotations

import time

import pytest

import optsupply as ops
from optsupply.optimizer.bound_worker import LagrangianWorker
from tests.conftest import INSTANCES

#: instances/small is generate("small", 1), proven optimal within 1e-4 at 27,985.6 (test_bound_validity.py)
SMALL_OPTIMUM = 27985.0


def _messages(worker: LagrangianWorker, seconds: float) -> list[tuple[str, float | None, str | None]]:
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        while not worker.messages.empty():
            header, _ = worker.messages.get()
            seen.append((header["kind"], header["value"], header.get("bound_kind")))
            if header["kind"] == "done":
                return seen
        time.sleep(0.05)
    return seen


def test_the_lagrangian_bound_process_sends_valid_improving_bounds_and_cleans_up():
    sc = ops.Scenario.load(INSTANCES / "small")
    worker = LagrangianWorker(sc, 20.0, group_size=4, lower=27000.0)
    folder = worker.folder
    try:
        seen = _messages(worker, 60.0)
    finally:
        worker.stop()
    assert seen and seen[-1][0] == "done"
    bounds = [value for kind, value, bound_kind in seen if value is not None]
    assert {bound_kind for *_, bound_kind in seen} == {"lagrangian"}
    assert bounds[:-1] == sorted(bounds[:-1], reverse=True)  # each message a better bound
    assert min(bounds) == pytest.approx(bounds[-1])
    assert all(b >= SMALL_OPTIMUM for b in bounds)  # never below the proven optimum
    assert not folder.exists()  # the scenario copy is removed with the process


@pytest.mark.slow
def test_a_search_by_groups_reports_the_lagrangian_bound(monkeypatch):
    """A scenario whose model counts as too large for one search is planned by product groups; the second core
    computes the Lagrangian bound, and the plan's kpis carry it (above the optimum, labelled ``lagrangian``)."""
    import optsupply.optimizer.anytime as anytime

    if anytime.available_cores() < 2:
        pytest.skip("the bound process needs a second core")
    monkeypatch.setattr(anytime, "GROUPS_FROM_COLUMNS", 100)
    plan = ops.solve(INSTANCES / "small", method="lns", time_limit=40)
    k = plan.kpis
    assert k["bound_kind"] == "lagrangian", k["message"]
    assert SMALL_OPTIMUM <= k["best_bound"] and k["profit"] <= k["best_bound"]
    assert k["mip_gap"] == pytest.approx((k["best_bound"] - k["profit"]) / k["profit"])
