"""The second core's bound for a search by product groups: a Lagrangian bound in its own process.

A scenario too large for one model is searched group by group
(:mod:`optsupply.optimizer.parallel`), and no whole-model MIP runs beside it.
:class:`LagrangianWorker` starts ``python -m optsupply.optimizer.bound_worker``
instead: the scenario is saved to a temporary folder, the process loads it and
runs :func:`optsupply.optimizer.lagrangian.lagrangian_bound` over the same
product groups (priced shared capacities, each group's relaxation alone, then
each group's MIP dual bound at the best prices), sending every better bound
(``bound_kind`` ``lagrangian``) as soon as it holds, with the frames of
:mod:`optsupply.optimizer.highs.worker` (JSON headers, nothing unpickled).
It is polled and stopped like the whole-model worker, and a process that dies
costs only its bound.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from optsupply.optimizer.highs.worker import ChildProcess, receive, send
from optsupply.scenario.core import Scenario

__all__ = ["LagrangianWorker"]


class LagrangianWorker(ChildProcess):
    """A Lagrangian bound of ``sc`` by product groups of ``group_size``, within ``seconds``, in its own process.

    ``lower`` (a plan's profit) steers the subgradient steps (Polyak); the bound is valid whatever it is.
    """

    def __init__(self, sc: Scenario, seconds: float, *, group_size: int, lower: float | None = None, seed: int = 0):
        self.folder = Path(tempfile.mkdtemp(prefix="optsupply-bound-"))
        started = time.perf_counter()
        sc.save(self.folder / "scenario")
        job = {"scenario": str(self.folder / "scenario"), "group_size": int(group_size),
               "seconds": max(1.0, float(seconds) - (time.perf_counter() - started)), "lower": lower, "seed": int(seed)}
        self._spawn("optsupply.optimizer.bound_worker", job, {})

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def main() -> None:  # pragma: no cover - runs in the bound process (its effects are tested)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # nothing printed may mix with the frames
    job, _ = receive(sys.stdin.buffer)
    t0 = time.perf_counter()
    deadline = t0 + float(job["seconds"])
    from optsupply.model import prepare
    from optsupply.model.slices import ProductSlices
    from optsupply.optimizer.decompose import product_groups
    from optsupply.optimizer.highs import SolveOptions
    from optsupply.optimizer.lagrangian import lagrangian_bound

    sc = Scenario.load(job["scenario"])
    d = prepare(sc)
    best = [float("inf")]

    def on_bound(value: float) -> None:
        if value < best[0]:
            best[0] = value
            send(out, {"kind": "bound", "value": value, "bound_kind": "lagrangian"})

    bound = lagrangian_bound(sc, ProductSlices(d), product_groups(d, int(job["group_size"])),
                             SolveOptions(threads=1, seed=int(job["seed"])), deadline, job.get("lower"),
                             on_bound=on_bound)
    send(out, {"kind": "done", "value": bound, "bound_kind": "lagrangian"})


if __name__ == "__main__":  # pragma: no cover
    main()
