"""Sweeps: solve many what-if variants of one scenario, in parallel, into one tidy table.

>>> import optsupply as ops
>>> from optsupply import Variant, load_sweep
>>> sc = ops.Scenario.load("instances/small")
>>> variants = [Variant("base", {}),
...             Variant("cheaper", {"products.price": "*0.9"}),
...             Variant("more ads", {"advertising.total_budget": 8000})]
>>> table = ops.sweep(sc, variants, workers=2, time_limit=60, out="small-sweep")
>>> table[["name", "status", "profit", "fill_rate"]]
>>> ops.sweep(sc, load_sweep("grid.toml"))         # variants from a CSV or TOML file

One row per variant, in the order given: ``name``, ``changes`` (as text),
``status`` (a plan status, ``"invalid"`` or ``"failed"``), ``profit``,
``revenue``, ``salvage``, one ``cost_<part>`` column per cost, ``fill_rate``,
``launched``, ``mip_gap``, ``best_bound``, ``solve_seconds`` (HiGHS),
``cpu_seconds`` (CPU time of the whole task in its worker: build, solve,
extract) and ``error`` (plus ``folder`` when ``out=`` is given).

Where the work runs
-------------------
By default each variant is solved by :func:`optsupply.solve`
(:func:`~optsupply.analysis.sweep_workers.solve_variant`) in a
:class:`concurrent.futures.ProcessPoolExecutor` of ``workers`` processes
(``forkserver`` start method where available, else ``spawn``: HiGHS runs
threads, and forking a process that has them is unsafe). Each solve uses
``threads=1`` unless you pass ``threads=``; the parallelism comes from the
processes. The validated variant scenario is sent to the worker (without its
``history`` table, which the optimizer does not use): pickling it costs
1-5 ms for instances/small and instances/medium and about 50 ms for
instances/large, against 80-750 ms for loading the base scenario again and
applying the changes in the worker.

``executor=`` takes any :class:`concurrent.futures.Executor` and is not shut
down by the sweep. On a Dask cluster::

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")      # or Client(LocalCluster(...))
    ops.sweep(sc, variants, executor=client.get_executor())

The workers need optsupply installed (same version) and, for ``out=``, nothing
else: plans travel back to this process, which writes every file. Give the Dask
workers one thread each (``nthreads=1``); within one process solves run one at
a time anyway, because Pyomo's HiGHS interface redirects process-wide file
descriptors while it builds a model, and two solves at once in one process
deadlock. For the same reason a ``ThreadPoolExecutor`` works but does not run
solves in parallel. If you bring your own ``ProcessPoolExecutor``, give it
``mp_context=multiprocessing.get_context("forkserver")`` (or ``"spawn"``): the
``fork`` default of Python < 3.14 on Linux copies a process whose HiGHS
threads may be running.

Robustness
----------
A variant whose task raises, or whose worker dies (``BrokenProcessPool``, Dask
``KilledWorker``, …), is resubmitted up to ``retries`` times, then reported as
``"failed"`` with the error; no variant is ever dropped and finished results
are kept. With the built-in pool, a dead worker breaks the pool: the sweep
starts a fresh one. As a pool break cannot tell which of the running variants
killed it, those variants are rerun one at a time (without being charged a
retry), so a variant that keeps killing its worker is charged and reported
``"failed"`` while the innocent ones finish normally.

Command line: ``optsupply whatif SCENARIO --set EXPR ...`` or ``--sweep FILE``
(see :mod:`optsupply.cli.whatif`).
"""

from __future__ import annotations

import os
import re
import sys
from collections import deque
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from optsupply.analysis.sweep_workers import Pool, cpu_count, for_worker, solve_variant
from optsupply.errors import OptsupplyError, ScenarioError, UsageError
from optsupply.files import guard_folder, mark, read_marker, write_file
from optsupply.plan.core import COST_KEYS, PLAN_STATUSES
from optsupply.scenario.changes import Variant, default_name, format_changes
from optsupply.scenario.sweep_file import load_sweep

__all__ = ["sweep", "RESULT_COLUMNS"]


#: Columns of the table :func:`sweep` returns (``folder`` is added when ``out=`` is given).
RESULT_COLUMNS = ["name", "changes", "status", "profit", "revenue", "salvage", *[f"cost_{k}" for k in COST_KEYS],
                  "fill_rate", "launched", "mip_gap", "best_bound", "solve_seconds", "cpu_seconds", "error"]

INVALID, FAILED = "invalid", "failed"


# ============================================================================ the sweep


def _as_variants(variants: Any) -> list[Variant]:
    if isinstance(variants, (str, os.PathLike)):
        return load_sweep(variants)
    if isinstance(variants, Mapping):
        return [Variant(str(name), dict(changes or {})) for name, changes in variants.items()]
    out = []
    for k, v in enumerate(variants):
        if isinstance(v, Variant):
            out.append(v)
        elif isinstance(v, tuple) and len(v) == 2:
            out.append(Variant(str(v[0]), dict(v[1] or {})))
        elif isinstance(v, Mapping):
            out.append(Variant(default_name(v), dict(v)))
        else:
            raise UsageError(f"variant {k + 1}: expected a Variant, a (name, changes) pair or a changes dict, "
                             f"not {type(v).__name__}")
    return out


def _errors_text(exc: Exception) -> str:
    if isinstance(exc, ScenarioError):
        errors = exc.report.errors or exc.report.problems
        return "; ".join(str(p).removeprefix("error: ") for p in errors)
    return f"{type(exc).__name__}: {exc}"


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    if isinstance(exc, BrokenProcessPool):
        return f"{name}: the worker process died while solving this variant ({text})"
    return f"{name}: {text}" if text else name


def _row(v: Variant, status: str, kpis: Mapping[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
    k = kpis or {}
    costs = k.get("costs") or {}
    row: dict[str, Any] = {"name": v.name, "changes": format_changes(v.changes), "status": status,
                           "profit": k.get("profit"), "revenue": k.get("revenue"), "salvage": k.get("salvage")}
    for c in COST_KEYS:
        row[f"cost_{c}"] = costs.get(c)
    row.update({"fill_rate": k.get("fill_rate"), "launched": k.get("launched"), "mip_gap": k.get("mip_gap"),
                "best_bound": k.get("best_bound"), "solve_seconds": k.get("solve_seconds"), "cpu_seconds": None,
                "error": error})
    if error is None and status not in PLAN_STATUSES and k.get("message"):
        row["error"] = str(k["message"])
    return row


def _safe_names(names: Sequence[str]) -> list[str]:
    """Filesystem-safe, unique (also ignoring case) folder names."""
    used = {"results.csv"}
    out = []
    reserved = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
    for name in names:
        s = name.replace("*", "x").replace("/", "-").replace("[", "-").replace("]", "")
        s = re.sub(r"[^A-Za-z0-9._+=-]+", "_", s).strip("._ ")[:80].rstrip("._ ") or "variant"
        if s.lower().split(".")[0] in reserved:
            s = f"{s}_"
        cand, k = s, 2
        while cand.lower() in used:
            cand, k = f"{s}-{k}", k + 1
        used.add(cand.lower())
        out.append(cand)
    return out


def _make_out(out: Path) -> None:
    """Create the sweep's folder with optsupply's marker, so that a later ``--force`` may write into it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        if read_marker(out) is None:
            mark(out, "whatif")
    except OSError as exc:
        raise UsageError(f"cannot create the output folder {out}: {exc}") from None


def _write_results(out: Path, table: pd.DataFrame) -> None:
    write_file(out / "results.csv", lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))


def _to_frame(rows: list[dict[str, Any]], with_folder: bool) -> pd.DataFrame:
    cols = RESULT_COLUMNS + (["folder"] if with_folder else [])
    df = pd.DataFrame(rows, columns=cols)
    df["launched"] = df["launched"].astype("Int64")
    for c in cols:
        if c not in ("name", "changes", "status", "error", "folder", "launched"):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


def sweep(scenario: Any, variants: Any, *, executor: Executor | None = None, workers: int | None = None,
          out: str | os.PathLike | None = None, progress: bool = True, retries: int = 1,
          task: Callable[[dict[str, Any]], dict[str, Any]] | None = None, **solve_options: Any) -> pd.DataFrame:
    """Solve every variant of ``scenario`` and return one row per variant.

    Parameters
    ----------
    scenario : Scenario or path
        The base scenario (a path is loaded and validated first).
    variants : list of Variant, mapping or path
        :class:`Variant` objects, ``(name, changes)`` pairs or changes dicts
        (named after their changes), a ``{name: changes}`` mapping, or the path
        of a sweep file (:func:`load_sweep`).
    executor : concurrent.futures.Executor, optional
        Where to solve: any executor (``ThreadPoolExecutor``, a
        ``ProcessPoolExecutor``, ``dask.distributed.Client(...).get_executor()``, …).
        It is not shut down. Default: a process pool made (and closed) by the sweep.
    workers : int, optional
        Processes of the sweep's own pool (default ``min(CPUs, variants to solve)``).
        With ``executor=``, at most this many variants are submitted at a time
        (default: all at once).
    out : path, optional
        Folder that receives ``results.csv`` (the returned table, with a
        ``folder`` column) and one plan folder per variant that has a plan,
        named after the variant (made filesystem-safe and unique). Each plan
        folder is written completely or not at all as soon as its variant is
        solved; existing plan folders of the same names are replaced.
    progress : bool, default True
        Show a progress bar (tqdm, on stderr).
    retries : int, default 1
        How often a variant whose task raised or whose worker died is submitted
        again before it is reported as ``"failed"``.
    task : callable, optional
        Replaces :func:`solve_variant` (must be picklable for process and Dask
        executors, take the same payload and return the same dict). A seam for
        tests and instrumentation; leave it alone otherwise.
    **solve_options
        Keyword arguments of :func:`optsupply.solve` for every variant
        (``time_limit``, ``mip_gap``, ``threads``, ``seed``, ``presolve``,
        ``highs_options``); ``threads`` defaults to 1. ``log`` is not supported.

    Returns
    -------
    pandas.DataFrame
        One row per variant in the input order; columns :data:`RESULT_COLUMNS`
        (+ ``folder`` with ``out``). ``status`` is the plan status
        (``optimal``, ``time_limit``, ``infeasible``, ``unbounded``, ``error``),
        ``invalid`` (the changes do not validate; ``error`` holds the problems,
        with file, column and key; the variant is not solved) or ``failed``
        (its task raised or its worker died ``retries + 1`` times; ``error``
        holds the last exception).

    Raises
    ------
    UsageError
        For bad arguments (unknown variants format, negative ``retries``, ``log=``).
    """
    from optsupply.scenario.core import Scenario

    sc = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
    vs = _as_variants(variants)
    if retries is None or int(retries) < 0:
        raise UsageError(f"retries must be 0 or more, not {retries}")
    if workers is not None and int(workers) < 1:
        raise UsageError(f"workers must be 1 or more, not {workers}")
    if solve_options.pop("log", None) is not None:
        raise UsageError("log= is not supported by sweep (solves run in other processes); use progress=True")
    if solve_options.get("threads") is None:
        solve_options["threads"] = 1
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:  # never an input, the current folder or a folder optsupply did not write
        out_dir = guard_folder(out_dir, kind="whatif", inputs=[sc.source], force=True, verb="write into it")
        _make_out(out_dir)
    run = _Sweep(sc, vs, solve_options, task or solve_variant, int(retries), out_dir,
                 _Submitter(executor, workers, vs), _progress_bar(len(vs), progress))
    return run.run()


class _Submitter:
    """Where the variants go: the sweep's own process pool (replaced when it breaks) or the caller's executor."""

    def __init__(self, executor: Executor | None, workers: int | None, variants: list[Variant]):
        self.executor = executor
        self.own = executor is None
        self.pool = Pool(int(workers or min(cpu_count(), max(1, len(variants))))) if self.own else None
        self.limit = self.pool.max_workers if self.pool is not None else (int(workers) if workers else None)

    def submit(self, task: Callable, payload: dict[str, Any]) -> Future:
        if self.pool is None:
            return self.executor.submit(task, payload)
        try:
            return self.pool.get().submit(task, payload)
        except BrokenProcessPool:       # a worker died while idle: this variant is not to blame
            self.pool.discard()
            return self.pool.get().submit(task, payload)

    def discard(self) -> None:
        if self.pool is not None:
            self.pool.discard()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


class _Sweep:
    """One run of :func:`sweep`: the queue of variants, retries, isolation of a variant that kills its worker.

    ``pending`` variants run as many at a time as the executor allows; a variant whose task raised is
    charged a retry and queued again; after a pool break the variants that were running are rerun one at
    a time (``suspects``), so that the one that kills its worker is charged and the others are not.
    """

    def __init__(self, sc: Any, vs: list[Variant], solve_options: dict[str, Any], task: Callable, retries: int,
                 out_dir: Path | None, submitter: _Submitter, bar: Any):
        self.sc, self.vs, self.solve_options, self.task, self.retries = sc, vs, solve_options, task, retries
        self.out_dir, self.submitter, self.bar = out_dir, submitter, bar
        self.folders = self._folders() if out_dir is not None else []
        self.rows: list[dict[str, Any] | None] = [None] * len(vs)
        jobs = self._validated()
        bar.update(len(vs) - len(jobs))
        self.pending: deque[int] = deque(jobs)
        self.suspects: deque[int] = deque()
        self.charged = {i: 0 for i in jobs}
        self.attempts = {i: 0 for i in jobs}
        self.inflight: dict[Future, tuple[int, bool]] = {}

    def _folders(self) -> list[str]:
        """One plan folder per variant, never the scenario's own folder or one above it."""
        folders = _safe_names([v.name for v in self.vs])
        if self.sc.source is not None:
            src = self.sc.source.resolve()
            for k, f in enumerate(folders):
                target = (self.out_dir / f).resolve()
                if target == src or target in src.parents:
                    folders[k] = f"{f}-plan"
        return folders

    def _validated(self) -> list[int]:
        """The variants to solve; the others get their ``invalid`` row now."""
        jobs = []
        for i, v in enumerate(self.vs):
            try:
                self.sc.with_changes(v.changes)
            except Exception as exc:  # ScenarioError, or a type error pandas raises for an odd value
                self.rows[i] = _row(v, INVALID, error=_errors_text(exc))
            else:
                jobs.append(i)
        return jobs

    # ------------------------------------------------------------------ results

    def finish(self, i: int, row: dict[str, Any]) -> None:
        self.rows[i] = row
        self.bar.update(1)

    def charge(self, i: int, exc: BaseException, isolate: bool = False) -> None:
        self.charged[i] += 1
        if self.charged[i] > self.retries:
            self.finish(i, _row(self.vs[i], FAILED, error=_exc_text(exc)))
        elif isolate:
            self.suspects.append(i)
        else:
            self.pending.appendleft(i)

    def record(self, i: int, result: Any) -> None:
        if not isinstance(result, Mapping) or not isinstance(result.get("kpis"), Mapping):
            self.finish(i, _row(self.vs[i], FAILED,
                                error=f"the task returned {type(result).__name__}, not a dict with kpis"))
            return
        kpis = dict(result["kpis"])
        row = _row(self.vs[i], str(kpis.get("status", "error")), kpis)
        row["cpu_seconds"] = result.get("cpu_seconds")
        plan = result.get("plan")
        if self.out_dir is not None:
            row["folder"] = None
            if plan is not None:
                target = self.out_dir / self.folders[i]
                try:
                    plan.save(target, overwrite=True)
                    row["folder"] = self.folders[i]
                except (OSError, OptsupplyError) as exc:
                    row["error"] = f"the plan could not be written to {target}: {exc}"
        self.finish(i, row)

    # ------------------------------------------------------------------ submitting

    def submit(self, i: int, isolated: bool) -> None:
        try:
            variant_sc = for_worker(self.sc.with_changes(self.vs[i].changes))
        except Exception as exc:  # validated above; only an odd, non-deterministic value gets here
            self.finish(i, _row(self.vs[i], INVALID, error=_errors_text(exc)))
            return
        payload = {"name": self.vs[i].name, "scenario": variant_sc, "options": dict(self.solve_options),
                   "keep_plan": self.out_dir is not None, "attempt": self.attempts[i]}
        self.attempts[i] += 1
        try:
            fut = self.submitter.submit(self.task, payload)
        except Exception as exc:  # a broken or shut-down executor, or a payload it cannot send
            self.submitter.discard()
            self.charge(i, exc, isolate=isolated)
            return
        self.inflight[fut] = (i, isolated)

    def _fill(self) -> None:
        """Submit what may run now: one suspect alone, or pending variants up to the executor's limit."""
        limit = self.submitter.limit
        if any(iso for _, iso in self.inflight.values()):
            return
        while True:
            if self.suspects:
                if not self.inflight:
                    self.submit(self.suspects.popleft(), True)
                return
            if self.pending and (limit is None or len(self.inflight) < limit):
                self.submit(self.pending.popleft(), False)
                continue
            return

    def _collect(self) -> None:
        """Wait for the next finished variants and record or charge them."""
        done, _ = wait(list(self.inflight), return_when=FIRST_COMPLETED)
        broken: list[tuple[int, bool, BaseException]] = []
        for fut in done:
            i, iso = self.inflight.pop(fut)
            exc = _exception(fut)
            if exc is None:
                self.record(i, fut.result())
            elif self.submitter.own and isinstance(exc, BrokenProcessPool):
                broken.append((i, iso, exc))
            else:
                self.charge(i, exc)
        if broken:
            self._pool_broke(broken)

    def _pool_broke(self, broken: list[tuple[int, bool, BaseException]]) -> None:
        """Every other running variant of the broken pool fails too: collect them all, then find the culprit."""
        for fut in list(self.inflight):
            i, iso = self.inflight.pop(fut)
            exc = _exception(fut)
            if exc is None:
                self.record(i, fut.result())
            else:
                broken.append((i, iso, exc))
        self.submitter.discard()
        if len(broken) == 1 or any(iso for _, iso, _ in broken):
            for i, _, exc in broken:    # the culprit is known: charge it, rerun it alone
                self.charge(i, exc, isolate=True)
        else:                           # one of them killed the pool: rerun each alone, uncharged
            for i, _, _ in sorted(broken):
                self.suspects.append(i)

    # ------------------------------------------------------------------ the run

    def run(self) -> pd.DataFrame:
        try:
            while self.pending or self.suspects or self.inflight:
                self._fill()
                if self.inflight:
                    self._collect()
        except BaseException as exc:
            self._abort(exc)
            raise
        finally:
            self.submitter.close()
        self.bar.close()
        table = _to_frame(self.rows, self.out_dir is not None)  # type: ignore[arg-type]
        if self.out_dir is not None:
            _write_results(self.out_dir, table)
        return table

    def _abort(self, exc: BaseException) -> None:
        """Interrupted (Ctrl-C) or failed: cancel what runs, report every unfinished variant, write the table."""
        self.submitter.discard()
        for fut in self.inflight:
            fut.cancel()
        for i, v in enumerate(self.vs):
            if self.rows[i] is None:
                self.rows[i] = _row(v, FAILED, error=f"not finished: the sweep was interrupted ({_exc_text(exc)})")
        if self.out_dir is not None:
            _write_results(self.out_dir, _to_frame(self.rows, True))  # type: ignore[arg-type]
        self.bar.close()


def _exception(fut: Future) -> BaseException | None:
    """The future's exception (a cancelled future counts as one), or None."""
    try:
        return fut.exception()
    except CancelledError as exc:
        return exc


def _progress_bar(total: int, enabled: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return _NoBar()
    return tqdm(total=total, desc="sweep", unit="variant", file=sys.stderr, disable=not enabled, dynamic_ncols=True)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass
