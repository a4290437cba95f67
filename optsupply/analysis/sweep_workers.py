"""Where a sweep's variants are solved: the task each worker runs and the sweep's own process pool.

Solves in one process run one at a time (Pyomo's HiGHS interface redirects
process-wide file descriptors while it builds a model); parallelism comes
from processes, started by ``forkserver`` where available, else ``spawn``
(forking a process that runs HiGHS threads is unsafe).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Mapping

from optsupply.plan.core import PLAN_STATUSES

__all__ = ["solve_variant", "Pool", "cpu_count", "for_worker"]



_SOLVE_LOCK = threading.Lock()


def solve_variant(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Solve one variant; the task :func:`sweep` sends to its workers.

    Parameters
    ----------
    payload : dict
        ``name``, ``scenario`` (the validated variant :class:`Scenario`),
        ``options`` (keyword arguments of :func:`optsupply.solve`), ``keep_plan``
        (send the plan back, for ``out=``) and ``attempt`` (0 for the first try).

    Returns
    -------
    dict
        ``kpis`` (the plan's KPIs), ``plan`` (the :class:`Plan`, or None unless
        ``keep_plan`` and the plan has tables), ``pid`` and ``cpu_seconds`` (process
        CPU time of the solve).

    Notes
    -----
    Solves in one process run one at a time (Pyomo's HiGHS interface is not
    thread-safe), and HiGHS's global thread scheduler is reset when the
    ``threads`` option differs from this process's previous solve (HiGHS
    otherwise fails the solve).
    """
    from optsupply.optimizer.highs import reset_scheduler_if_threads_change
    from optsupply.optimizer.optimize import solve

    options = dict(payload.get("options") or {})
    with _SOLVE_LOCK:
        _own_capture_lock()
        reset_scheduler_if_threads_change(options.get("threads"))
        cpu = time.process_time()
        plan = solve(payload["scenario"], **options)
        cpu = time.process_time() - cpu
    keep = payload.get("keep_plan") and plan.kpis.get("status") in PLAN_STATUSES and plan.kpis.get("profit") is not None
    return {"kpis": plan.kpis, "plan": plan if keep else None, "pid": os.getpid(), "cpu_seconds": round(cpu, 3)}


def _warm_up() -> None:
    """Worker initializer of the sweep's pool: import the optimizer, take a private Pyomo capture lock."""
    import optsupply.optimizer.optimize  # noqa: F401

    _own_capture_lock()


_LOCK_PID: list[int] = []


def _own_capture_lock() -> None:
    """Give this worker process its own Pyomo capture lock (once per process; workers only).

    Importing Pyomo next to ``multiprocessing`` turns ``pyomo.common.dependencies.capture_output_lock``
    (held while Pyomo's HiGHS interface redirects the process's file descriptors) into a
    ``multiprocessing.Lock``: a semaphore shared by every process forked from the fork server that
    imported Pyomo. Workers would then wait for each other while building models, and a worker
    terminated while holding it (the pool terminates the survivors when a worker dies) would block
    every later worker for Pyomo's 200 s deadlock timeout. File descriptors are per process, so a
    per-process lock is all that is needed. The lock is replaced only in a multiprocessing child
    (a pool or Dask worker), once, before this process's first solve; never in the main process,
    where other threads may hold it.
    """
    if _LOCK_PID == [os.getpid()] or multiprocessing.parent_process() is None:
        return
    _LOCK_PID[:] = [os.getpid()]
    try:
        from pyomo.common import dependencies
    except ImportError:  # pragma: no cover - Pyomo is a dependency
        return
    if hasattr(dependencies, "capture_output_lock"):
        dependencies.capture_output_lock = threading.Lock()


def _start_method() -> str:
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def for_worker(sc: Any) -> Any:
    """The variant scenario without its history table (the optimizer does not read it)."""
    if sc.history.empty:
        return sc
    tables = dict(sc.tables())
    tables["history"] = sc.history.iloc[0:0]
    return type(sc)(sc.settings, tables, present=sc.present, files=sc.files, source=sc.source, warnings=sc.warnings)




class Pool:
    """The sweep's own process pool: created on demand, replaced when it breaks."""

    def __init__(self, max_workers: int):
        self.max_workers = max_workers
        self.executor: ProcessPoolExecutor | None = None
        self.created = 0

    def get(self) -> ProcessPoolExecutor:
        if self.executor is None:
            ctx = multiprocessing.get_context(_start_method())
            if ctx.get_start_method() == "forkserver":
                # Import the optimizer once in the fork server (it starts no HiGHS threads, so
                # forking it is safe): a worker then starts in ~0.03 s instead of ~2 s, and a
                # fresh pool after a break costs nothing. No effect if the server already runs.
                ctx.set_forkserver_preload(["__main__", "optsupply.optimizer.optimize"])
            self.executor = ProcessPoolExecutor(max_workers=self.max_workers, mp_context=ctx, initializer=_warm_up)
            self.created += 1
        return self.executor

    def discard(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
