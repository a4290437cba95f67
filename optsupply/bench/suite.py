"""The benchmark suite: every generator size and every shipped instance, phase by phase.

Run from the repository root (``optsupply bench`` and ``python -m benchmarks``
take the same arguments)::

    optsupply bench                                  # everything: sizes tiny … xlarge (seed 1) + instances/*
    optsupply bench --sizes tiny xsmall small --instances cap41 ww_example_3_9 --time-limit 60
    optsupply bench --sizes tiny small medium large xlarge --no-solve     # growth curve of build/transfer/memory
    optsupply bench --list                           # the registry, nothing run

Every spec (a generated size and seed, or a scenario folder) runs in a fresh
Python process, so its peak RSS is its own. The child imports everything
first (import time is not part of any phase), then times, each with a wall
clock and a CPU clock (the process's CPU, all threads):

``load``
    generating the tables (generated specs) or reading the files (instances);
``validate``
    the loader's checks and typing (what :meth:`Scenario.load` does after reading);
``baseline``
    the siloed baseline (:func:`optsupply.baselines.siloed.siloed_plan`), its profit
    is compared with the joint plan's (not part of the total);
``build``
    :func:`optsupply.model.prepare` + :func:`optsupply.model.build_model`;
``transfer``
    ``Highs.set_instance`` of Pyomo's contrib interface (automatic updates
    switched off, as in :class:`optsupply.analysis.whatif.WhatIf`, so that the solve
    after it does not scan the model again);
``solve``
    HiGHS (``run``) and mapping its termination to optsupply's status;
``extract``
    loading the incumbent's values and :func:`optsupply.optimizer.optimize.finish_plan`;
``check``
    :func:`optsupply.plan.check.check_plan` (not part of the total).

``total`` is load + validate + build + transfer + solve + extract: the time
``optsupply solve`` needs to a plan. With ``--method decompose`` or ``auto``
(when :func:`optsupply.optimizer.optimize.solve` accepts ``method``) the ``solve`` phase
is one call of that function, with its own build inside; build, transfer and
extract are then empty and so is the model size.

A spec whose solve runs longer than ``--time-limit`` + ``--margin``, any
other phase longer than ``--phase-timeout``, or whose resident memory grows
past ``--max-memory`` GB (default: 90 % of the memory available when it
starts, so that the machine never runs out), is killed and recorded with
status ``error``; so is one that fails. The suite always continues.

Results: ``bench.csv`` (one row per spec, every measurement) and ``bench.md``
(one table, plus the growth curve: time and memory against model size with
fitted log-log slopes) in ``--out`` (default ``benchmarks/results/bench/``),
rewritten after every spec. See ``benchmarks/README.md`` for the columns.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import gc
import json
import math
import os
import platform
import resource
import select
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ROOT / "instances"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "bench"

#: Generator sizes in ladder order (the keys of :data:`optsupply.scenario.generate.SIZES`).
SIZES = ("tiny", "xsmall", "small", "medium", "large", "xlarge")
#: Shipped instances (folders under ``instances/``), smallest of each family first.
INSTANCE_NAMES = ("ww_example_3_9", "spp_12period", "cap41", "cap71", "cap101", "cap131",
                  "tiny", "small", "medium", "large")
#: Shipped instances too big for a quick run (the smoke test skips them).
BIG_INSTANCES = ("medium", "large")
PHASES = ("load", "validate", "baseline", "build", "transfer", "solve", "extract", "check")
#: Phases that add up to ``total``: the time to a plan.
PLAN_PHASES = ("load", "validate", "build", "transfer", "solve", "extract")
METHODS = ("mip", "decompose", "auto")
SOLVER_SEED = 0

COLUMNS = (
    ["spec", "kind", "size", "seed", "path", "method", "status", "message", "failed_phase",
     "profit", "solver_objective", "bound", "gap", "nodes", "expected_profit",
     "siloed_profit", "uplift", "uplift_pct", "siloed_message", "violations", "first_violation",
     "columns", "binaries", "integers", "rows", "nonzeros",
     "time_limit", "mip_gap", "threads", "solver_seed", "highs_version"]
    + [f"{p}_{m}" for p in PHASES for m in ("wall_s", "cpu_s", "rss_mb")]
    + ["total_wall_s", "total_cpu_s", "import_wall_s", "import_rss_mb", "peak_rss_mb", "process_wall_s"]
)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Spec:
    """One benchmark case: a generated ``size`` and ``seed``, or a scenario at ``path``."""

    name: str
    kind: str  # "generated" or "instance"
    size: str = ""
    seed: int | None = None
    path: str = ""


@dataclass(frozen=True)
class Options:
    """How every spec is run (the command-line arguments)."""

    time_limit: float = 300.0
    threads: int = 1
    gap: float | None = None  # None: the scenario's [solver] mip_gap
    method: str = "mip"
    solve: bool = True
    margin: float = 120.0
    phase_timeout: float = 3600.0
    max_memory_gb: float | None = None  # None: 90 % of the memory available when the spec starts; 0: no limit


def generated(size: str, seed: int = 1) -> Spec:
    return Spec(f"{size}-s{seed}", "generated", size=size, seed=int(seed))


def instance(name_or_path: str) -> Spec:
    """A shipped instance by name (``cap41``) or any scenario folder / workbook by path."""
    if name_or_path in INSTANCE_NAMES:
        return Spec(f"instances/{name_or_path}", "instance", path=str(INSTANCES / name_or_path))
    path = Path(name_or_path)
    if not path.exists():
        from optsupply.errors import UsageError

        raise UsageError(f"unknown instance '{name_or_path}': use one of {', '.join(INSTANCE_NAMES)}, "
                         "or the path of a scenario folder or workbook")
    return Spec(str(name_or_path), "instance", path=str(path.resolve()))


def registry(seeds: Sequence[int] = (1,)) -> dict[str, Spec]:
    """Every spec of the suite: the generator sizes × ``seeds``, then the shipped instances."""
    specs = [generated(size, seed) for size in SIZES for seed in seeds]
    specs += [instance(name) for name in INSTANCE_NAMES]
    return {s.name: s for s in specs}


def select_specs(sizes: Sequence[str] | None = None, seeds: Sequence[int] | None = None,
                 instances: Sequence[str] | None = None) -> list[Spec]:
    """The specs to run. With neither ``sizes`` nor ``instances``, the whole registry."""
    from optsupply.errors import UsageError

    seeds = list(seeds) if seeds else [1]
    if any(s < 0 for s in seeds):
        raise UsageError("--seeds must be whole numbers ≥ 0")
    if sizes is None and instances is None:
        return list(registry(seeds).values())
    chosen_sizes = list(SIZES) if sizes and "all" in sizes else list(sizes or [])
    for size in chosen_sizes:
        if size not in SIZES:
            raise UsageError(f"unknown size '{size}': use one of {', '.join(SIZES)}")
    chosen_sizes = [s for s in SIZES if s in chosen_sizes]  # ladder order
    names = list(INSTANCE_NAMES) if instances and "all" in instances else list(instances or [])
    specs = [generated(size, seed) for size in chosen_sizes for seed in seeds]
    specs += [instance(n) for n in dict.fromkeys(names)]
    return specs


def solve_accepts_method() -> bool:
    """Whether :func:`optsupply.optimizer.optimize.solve` takes a ``method`` keyword (a decomposition exists)."""
    import inspect

    from optsupply.optimizer import optimize

    return "method" in inspect.signature(optimize.solve).parameters


def check_method(method: str) -> None:
    from optsupply.errors import UsageError

    if method not in METHODS:
        raise UsageError(f"unknown --method '{method}': use one of {', '.join(METHODS)}")
    if method != "mip" and not solve_accepts_method():
        raise UsageError(f"--method {method}: this optsupply.optimizer.optimize.solve has no 'method' argument "
                         "(no decomposition); only --method mip is available")


# --------------------------------------------------------------------------- measuring (in the child)


def _rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024.0 * 1024.0) if sys.platform == "darwin" else kb / 1024.0


def _empty_row(spec: Spec, opts: Options) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(spec=spec.name, kind=spec.kind, size=spec.size or None, seed=spec.seed, path=spec.path or None,
               method=opts.method, status="error", time_limit=opts.time_limit if opts.solve else None,
               threads=opts.threads, solver_seed=SOLVER_SEED)
    if spec.kind == "instance":
        expected = Path(spec.path) / "expected.json"
        if expected.is_file():
            with contextlib.suppress(ValueError, OSError):
                row["expected_profit"] = json.loads(expected.read_text(encoding="utf-8")).get("expected_profit")
    return row


class _Run:
    """The row of one spec, filled phase by phase; ``emit`` sends progress and partial rows to the parent."""

    def __init__(self, spec: Spec, opts: Options, emit: Callable[[dict], None] | None):
        self.row = _empty_row(spec, opts)
        self.emit = emit or (lambda msg: None)
        self.current: str | None = None

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.current = name
        self.emit({"phase": name})
        w0, c0 = time.perf_counter(), time.process_time()
        yield
        self.row[f"{name}_wall_s"] = time.perf_counter() - w0
        self.row[f"{name}_cpu_s"] = time.process_time() - c0
        self.row[f"{name}_rss_mb"] = self.row["peak_rss_mb"] = _rss_mb()
        self.current = None
        self.emit({"row": self.row})


def _import_everything() -> None:
    """Import what the phases use, so that no phase pays for an import."""
    import importlib

    for module in ("pyomo.environ", "pyomo.contrib.solver.solvers.highs", "optsupply.baselines.siloed", "optsupply.scenario.generate",
                   "optsupply.model", "optsupply.optimizer.optimize", "optsupply.plan.core", "optsupply.optimizer.highs", "optsupply.plan.check"):
        importlib.import_module(module)


def load_scenario(spec: Spec, run: _Run) -> Any:
    """The ``load`` and ``validate`` phases: the same steps (and the same scenario) as
    :func:`optsupply.scenario.generate.generate` or :meth:`optsupply.Scenario.load`, timed separately."""
    if spec.kind == "generated":
        from optsupply.scenario.generate import SIZES as GEN_SIZES
        from optsupply.scenario.generate import _Builder
        from optsupply.scenario.generate import _validated as validated_generated

        if spec.size not in GEN_SIZES:
            raise ValueError(f"unknown size '{spec.size}'")
        with run.phase("load"):
            settings, tables = _Builder(spec.size, int(spec.seed or 0)).build()
        with run.phase("validate"):
            return validated_generated(settings, tables)
    from optsupply.scenario import io as _io
    from optsupply.errors import Report, ScenarioError
    from optsupply.scenario.core import Scenario
    from optsupply.scenario.checks import check_settings, check_tables

    path = Path(spec.path)
    report = Report()
    with run.phase("load"):
        raw = _io.read_raw(path, report)
    with run.phase("validate"):  # the rest of optsupply.scenario.core._load
        settings = check_settings(raw.settings, raw.setting_lines, raw.settings_file, report)
        horizon = settings.get("horizon.periods")
        tables, present = _io.coerce(raw, horizon, report)
        check_tables(tables, raw.files, present, horizon, report)
        if not report.ok:
            raise ScenarioError(report)
        return Scenario(settings, _io.finalize_dtypes(tables), present=present, files=raw.files, source=path,
                        warnings=report.warnings)


def model_size(h: Any) -> dict[str, int]:
    """Columns, integer and binary columns, rows and nonzeros of a highspy model."""
    lp = h.getLp()
    integ = np.fromiter((int(x) for x in lp.integrality_), dtype=np.int8, count=len(lp.integrality_))
    n_col = int(h.getNumCol())
    if len(integ) == 0:
        integ = np.zeros(n_col, dtype=np.int8)
    is_int = integ == 1  # HighsVarType.kInteger
    lo, up = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
    return {"columns": n_col, "integers": int(is_int.sum()), "binaries": int((is_int & (lo >= 0) & (up <= 1)).sum()),
            "rows": int(h.getNumRow()), "nonzeros": int(h.getNumNz())}


def run_spec(spec: Spec, opts: Options, emit: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Run one spec in this process and return its row (status ``error`` with the message if it failed)."""
    run = _Run(spec, opts, emit)
    row = run.row
    w0 = time.perf_counter()
    _import_everything()
    row["import_wall_s"] = time.perf_counter() - w0
    row["import_rss_mb"] = row["peak_rss_mb"] = _rss_mb()
    try:
        _run(spec, opts, run)
    except Exception as exc:  # recorded, the suite continues
        row.update(status="error", message=f"{type(exc).__name__}: {exc}".strip(), failed_phase=run.current)
        tb = traceback.format_exc(limit=-3)
        row["message"] += " | " + " ".join(tb.split())[-400:]
    row["total_wall_s"] = _sum(row, "wall_s")
    row["total_cpu_s"] = _sum(row, "cpu_s")
    row["peak_rss_mb"] = _rss_mb()
    return row


def _sum(row: dict, what: str) -> float | None:
    values = [row[f"{p}_{what}"] for p in PLAN_PHASES if row.get(f"{p}_{what}") is not None]
    return float(sum(values)) if values else None


def _run(spec: Spec, opts: Options, run: _Run) -> None:
    from optsupply.baselines.siloed import siloed_plan
    from optsupply.plan.check import check_plan

    row = run.row
    sc = load_scenario(spec, run)
    if opts.solve:
        with run.phase("baseline"):
            try:
                base = siloed_plan(sc)
                row["siloed_profit"] = base.kpis.get("profit")
                del base
            except Exception as exc:  # a scenario the rules cannot plan: recorded, the joint plan still runs
                row["siloed_message"] = f"{type(exc).__name__}: {exc}"
            gc.collect()
    method = _resolve_method(sc, opts.method)
    if method == "mip" or not opts.solve:
        plan = _mip(sc, opts, run)
        if opts.method != "mip" and plan is not None:
            plan.kpis["method"] = "mip"
    else:
        plan = _solve_with_method(sc, opts, run)
    if plan is None:
        return
    k = plan.kpis
    row.update(status=k.get("status"), profit=k.get("profit"), solver_objective=k.get("solver_objective"),
               bound=k.get("best_bound"), gap=k.get("mip_gap"))
    if k.get("message") and k.get("profit") is None:
        row["message"] = str(k["message"])
    if k.get("method"):
        row["method"] = k["method"] if k["method"] == opts.method else f"{opts.method} ({k['method']})"
    if k.get("profit") is not None:
        with run.phase("check"):
            problems = check_plan(sc, plan)
        row["violations"] = len(problems)
        row["first_violation"] = problems[0] if problems else None
        if row["siloed_profit"] is not None:
            row["uplift"] = k["profit"] - row["siloed_profit"]
            if row["siloed_profit"] != 0:
                row["uplift_pct"] = 100.0 * row["uplift"] / abs(row["siloed_profit"])


def _resolve_method(sc: Any, method: str) -> str:
    """``auto`` resolved the way optsupply.optimizer.optimize resolves it (when it says how), else as given."""
    if method != "auto":
        return method
    from optsupply.optimizer import optimize

    choose = getattr(optimize, "choose_method", None)
    return choose(sc, method) if choose is not None else method


def _mip(sc: Any, opts: Options, run: _Run) -> Any:
    """Build, transfer, solve and extract with the phases timed separately (the plain MIP)."""
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    from optsupply.model import build_model, prepare
    from optsupply.optimizer.optimize import finish_plan
    from optsupply.optimizer.highs import (
        OPTIMAL,
        TIME_LIMIT,
        SolveOptions,
        SolveResult,
        _disambiguate,
        _status,
        lean_highs,
        solve_options,
    )

    row = run.row
    with run.phase("build"):
        data = prepare(sc)
        m, data = build_model(sc, data)
    opt = lean_highs()
    with run.phase("transfer"):
        opt.set_instance(m)
    h = opt._solver_model  # the highspy object the interface filled
    row.update(model_size(h))
    row["highs_version"] = ".".join(str(x) for x in opt.version())
    if not opts.solve:
        row["status"] = "built"
        return None
    so = SolveOptions.from_scenario(sc.settings, time_limit=opts.time_limit, mip_gap=opts.gap, threads=opts.threads,
                                    seed=SOLVER_SEED)
    row["mip_gap"] = so.mip_gap
    with run.phase("solve"):
        res = opt.solve(m, **solve_options(so, tee=[]))
        term = res.termination_condition
        if term == TerminationCondition.infeasibleOrUnbounded:
            term = _disambiguate(m, so)
        has_solution = res.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
        status = _status(term, has_solution)
        ok = has_solution and status in (OPTIMAL, TIME_LIMIT)
        bound = res.objective_bound
        if bound is not None and not math.isfinite(bound):
            bound = None
        nodes = getattr(res.extra_info, "mip_node_count", None)
    row["nodes"] = nodes
    row["status"] = status
    with run.phase("extract"):
        if ok:
            res.solution_loader.load_vars()
        result = SolveResult(status, ok, res.incumbent_objective, bound, row["solve_wall_s"], str(term.name),
                             row["highs_version"], nodes)
        return finish_plan(result, m, data, sc, row["build_wall_s"])


def _solve_with_method(sc: Any, opts: Options, run: _Run) -> Any:
    """One call of ``optsupply.optimizer.optimize.solve(..., method=...)``: its build, solve and extract in one phase."""
    from optsupply.optimizer.optimize import solve

    with run.phase("solve"):
        plan = solve(sc, method=opts.method, time_limit=opts.time_limit, mip_gap=opts.gap, threads=opts.threads,
                     seed=SOLVER_SEED)
    solver = str(plan.kpis.get("solver") or "")
    if solver.startswith("HiGHS "):
        run.row["highs_version"] = solver.split(" ", 1)[1]
    run.row["mip_gap"] = opts.gap
    return plan


# --------------------------------------------------------------------------- the child process


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    return str(x)


def _child_main(payload: str) -> int:
    msg = json.loads(payload)
    out = os.fdopen(int(msg["fd"]), "w", buffering=1, encoding="utf-8")

    def emit(obj: dict) -> None:
        out.write(json.dumps(obj, default=_json_default) + "\n")
        out.flush()

    row = run_spec(Spec(**msg["spec"]), Options(**msg["options"]), emit)
    emit({"final": row})
    out.close()
    return 0


def _phase_limit(phase: str, opts: Options) -> float:
    if phase == "solve":
        limit = opts.time_limit + opts.margin
        return limit if opts.method == "mip" else limit + opts.phase_timeout  # its own build is inside
    return opts.phase_timeout


def _meminfo_gb(key: str) -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024 ** 2
    except (OSError, ValueError, IndexError):
        pass
    return None


def _rss_of_gb(pid: int) -> float | None:
    """Current resident memory of process ``pid`` (Linux /proc; None elsewhere)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 ** 3


def memory_limit_gb(opts: Options) -> float | None:
    """The RSS at which a child is killed: ``max_memory_gb``, or 90 % of what is available now."""
    if opts.max_memory_gb is not None:
        return opts.max_memory_gb or None
    available = _meminfo_gb("MemAvailable")
    return None if available is None else 0.9 * available


def run_in_child(spec: Spec, opts: Options, on_phase: Callable[[str, float], None] | None = None,
                 poll: float = 0.5) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter; kill it when a phase overruns its limit."""
    rfd, wfd = os.pipe()
    payload = json.dumps({"spec": asdict(spec), "options": asdict(opts), "fd": wfd})
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    row = _empty_row(spec, opts)
    final = None
    phase, phase_start = "start", time.perf_counter()
    killed = None
    max_gb = memory_limit_gb(opts)
    w0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen([sys.executable, "-m", "optsupply.bench.suite", "--child", payload], pass_fds=(wfd,),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                                    cwd=ROOT)
        finally:
            os.close(wfd)
        buf = b""
        try:
            while True:
                ready, _, _ = select.select([rfd], [], [], poll)
                if ready:
                    chunk = os.read(rfd, 1 << 16)
                    if not chunk:
                        break  # the child closed its end: it is done
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        msg = json.loads(line)
                        if "phase" in msg:
                            phase, phase_start = msg["phase"], time.perf_counter()
                        if "row" in msg:
                            row = msg["row"]
                        if "final" in msg:
                            final = msg["final"]
                elif proc.poll() is not None:
                    break
                elapsed = time.perf_counter() - phase_start
                if elapsed > _phase_limit(phase, opts):
                    killed = (f"killed: phase '{phase}' ran {elapsed:.0f} s, over its limit of "
                              f"{_phase_limit(phase, opts):.0f} s")
                    proc.kill()
                    break
                rss = _rss_of_gb(proc.pid) if max_gb else None
                if rss is not None and rss > max_gb:
                    killed = (f"killed: resident memory {rss:.1f} GB in phase '{phase}' is over the limit of "
                              f"{max_gb:.1f} GB (--max-memory)")
                    proc.kill()
                    break
                if on_phase is not None:
                    on_phase(phase, elapsed)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            os.close(rfd)
        code = proc.wait()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace").strip()
    if final is not None:
        row = final
    else:
        row["status"] = "error"
        row["failed_phase"] = phase
        if killed:
            row["message"] = killed
        else:
            why = f"signal {-code}" + (" (killed: out of memory?)" if code == -9 else "") if code < 0 else f"code {code}"
            tail = " ".join(stderr.split())[-400:]
            row["message"] = f"the child process exited with {why} in phase '{phase}'" + (f": {tail}" if tail else "")
        row["total_wall_s"] = _sum(row, "wall_s")
        row["total_cpu_s"] = _sum(row, "cpu_s")
    row["process_wall_s"] = time.perf_counter() - w0
    return row


# --------------------------------------------------------------------------- the suite (parent)


def run_suite(specs: Sequence[Spec], opts: Options, out: Path, *, command: str = "", progress: bool = True,
              in_process: bool = False) -> list[dict[str, Any]]:
    """Run ``specs`` one after the other (each in a fresh process unless ``in_process``) and write the results
    into ``out`` after every spec."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(specs), unit="spec", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    try:
        for spec in specs:
            bar.set_description_str(spec.name)

            def show(phase: str, seconds: float, _bar: Any = bar) -> None:
                _bar.set_postfix_str(f"{phase} {seconds:.0f} s", refresh=True)

            if in_process:
                row = run_spec(spec, opts, lambda msg: show(msg["phase"], 0.0) if "phase" in msg else None)
            else:
                row = run_in_child(spec, opts, show)
            rows.append(row)
            bar.update(1)
            bar.write(one_line(row), file=sys.stderr)
            write_results(rows, out, opts, info, command)
    finally:
        bar.close()
    return rows


def one_line(row: dict[str, Any]) -> str:
    parts = [f"{row['spec']}: {row['status']}"]
    if row.get("columns") is not None:
        parts.append(f"{row['columns']:,} columns")
    if row.get("total_wall_s") is not None:
        parts.append(f"total {row['total_wall_s']:.2f} s")
    if row.get("peak_rss_mb") is not None:
        parts.append(f"{row['peak_rss_mb']:.0f} MB")
    if row.get("profit") is not None:
        parts.append(f"profit {row['profit']:,.2f}")
    if row.get("gap") is not None:
        parts.append(f"gap {row['gap']:.2%}")
    if row.get("uplift_pct") is not None:
        parts.append(f"uplift {row['uplift_pct']:+.1f} %")
    if row.get("status") == "error":
        parts.append(str(row.get("message"))[:200])
    return ", ".join(parts)


def machine_info() -> dict[str, str]:
    try:
        from optsupply.bench.machine import machine

        return machine()
    except Exception:  # pragma: no cover - the description is a courtesy
        return {"python": platform.python_version(), "nproc": str(os.cpu_count())}


# --------------------------------------------------------------------------- growth curve


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Slope ``b`` of the least-squares fit ``log y = a + b log x`` (``y ∝ x**b``); None without two
    distinct positive points."""
    pts = [(float(a), float(b)) for a, b in zip(x, y, strict=True)
           if a is not None and b is not None and a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)]
    if len({a for a, _ in pts}) < 2:
        return None
    lx, ly = np.log([a for a, _ in pts]), np.log([b for _, b in pts])
    return float(np.polyfit(lx, ly, 1)[0])


def _plus(*values: Any) -> float | None:
    return None if any(v is None for v in values) else float(sum(values))


def growth_points(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ladder: generated specs with a model size, smallest first, with the quantities the curve fits."""
    pts = []
    for r in rows:
        if r.get("kind") != "generated" or not r.get("columns") or r.get("build_wall_s") is None:
            continue
        complete = r.get("status") in ("optimal", "built")  # a time-limited total is cut off by the limit
        above = None if r.get("peak_rss_mb") is None or r.get("import_rss_mb") is None \
            else r["peak_rss_mb"] - r["import_rss_mb"]
        pts.append({
            "spec": r["spec"], "status": r["status"], "columns": r["columns"], "nonzeros": r["nonzeros"],
            "build_wall_s": r["build_wall_s"], "build_cpu_s": r["build_cpu_s"],
            "transfer_wall_s": r.get("transfer_wall_s"), "transfer_cpu_s": r.get("transfer_cpu_s"),
            "build_transfer_cpu_s": _plus(r["build_cpu_s"], r.get("transfer_cpu_s")),
            "total_wall_s": r.get("total_wall_s") if complete else None,
            "total_cpu_s": r.get("total_cpu_s") if complete else None,
            "peak_rss_mb": r.get("peak_rss_mb"), "rss_above_imports_mb": above,
        })
    return sorted(pts, key=lambda p: p["columns"])


GROWTH_QUANTITIES = (
    ("build_wall_s", "build, wall s"), ("build_cpu_s", "build, CPU s"),
    ("transfer_wall_s", "transfer, wall s"), ("transfer_cpu_s", "transfer, CPU s"),
    ("build_transfer_cpu_s", "build + transfer, CPU s"),
    ("total_wall_s", "total, wall s (optimal or --no-solve only)"), ("total_cpu_s", "total, CPU s (same)"),
    ("peak_rss_mb", "peak RSS, MB"), ("rss_above_imports_mb", "peak RSS above the imports, MB"),
)


def growth_slopes(points: Sequence[dict[str, Any]], largest: int = 3) -> list[dict[str, Any]]:
    """Per quantity: log-log slopes against columns and nonzeros, over all points and over the ``largest``."""
    out = []
    for key, label in GROWTH_QUANTITIES:
        pts = [p for p in points if p.get(key) is not None and p[key] > 0]
        top = pts[-largest:]
        out.append({
            "quantity": label, "points": len(pts),
            "slope_columns": loglog_slope([p["columns"] for p in pts], [p[key] for p in pts]),
            "slope_nonzeros": loglog_slope([p["nonzeros"] for p in pts], [p[key] for p in pts]),
            f"slope_columns_largest_{largest}": loglog_slope([p["columns"] for p in top], [p[key] for p in top]),
            f"slope_nonzeros_largest_{largest}": loglog_slope([p["nonzeros"] for p in top], [p[key] for p in top]),
        })
    return out


# --------------------------------------------------------------------------- writing the results


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if abs(v) >= 1e5:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


SUMMARY_COLUMNS = (
    ("spec", "spec"), ("status", "status"), ("columns", "columns"), ("binaries", "binaries"), ("rows", "rows"),
    ("nonzeros", "nonzeros"), ("load_wall_s", "load s"), ("validate_wall_s", "validate s"),
    ("build_wall_s", "build s"), ("transfer_wall_s", "transfer s"), ("solve_wall_s", "solve s"),
    ("extract_wall_s", "extract s"), ("check_wall_s", "check s"), ("total_wall_s", "total s"),
    ("total_cpu_s", "total CPU s"), ("peak_rss_mb", "peak MB"), ("profit", "profit"), ("bound", "bound"),
    ("gap", "gap"), ("siloed_profit", "siloed profit"), ("uplift_pct", "uplift %"), ("violations", "violations"),
)


def write_results(rows: Sequence[dict[str, Any]], out: Path, opts: Options, info: dict[str, str],
                  command: str = "") -> tuple[Path, Path]:
    """``bench.csv`` and ``bench.md`` in ``out``; returns their paths."""
    from optsupply.files import write_file

    out = Path(out)
    csv_path, md_path = out / "bench.csv", out / "bench.md"

    def write_csv(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(COLUMNS), extrasaction="ignore")
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in COLUMNS})

    write_file(csv_path, write_csv)
    text = summary_markdown(rows, opts, info, command)
    write_file(md_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return csv_path, md_path


def check_out(out: Path, inputs: Sequence[str]) -> Path:
    """Before any spec runs: bench.csv and bench.md may be written in ``out`` (never in a scenario read).

    Returns the folder to write to (links and ``..`` resolved)."""
    from optsupply.files import guard_file

    guard_file(Path(out) / "bench.md", inputs=inputs, suffixes=(".md",))
    return guard_file(Path(out) / "bench.csv", inputs=inputs).parent


def summary_markdown(rows: Sequence[dict[str, Any]], opts: Options, info: dict[str, str], command: str = "") -> str:
    gap = "the scenario's [solver] mip_gap" if opts.gap is None else f"{opts.gap:g}"
    versions = sorted({str(r["highs_version"]) for r in rows if r.get("highs_version")})
    lines = [
        "# Benchmark suite",
        "",
        f"`{command or 'optsupply bench'}`, {_dt.datetime.now().isoformat(timespec='minutes')}; "
        f"HiGHS {', '.join(versions) or '–'}, threads = {opts.threads} (0 = HiGHS default), seed {SOLVER_SEED}, "
        + (f"time limit {opts.time_limit:g} s, gap {gap}, method {opts.method}." if opts.solve
           else "build only (`--no-solve`)."),
        "",
        ("Each spec ran in a fresh process; times are wall seconds per phase (CPU in bench.csv), "
        "`total` = load + validate + build + transfer + solve + extract, `peak MB` the child's peak RSS. "
        "`uplift %` is the joint plan's profit over the siloed baseline's, relative to |siloed profit|. "
        "Columns are described in benchmarks/README.md."),
        "",
    ]
    body = []
    for r in rows:
        cells = []
        for key, _ in SUMMARY_COLUMNS:
            v = r.get(key)
            if key == "gap" and v is not None:
                cells.append(f"{100 * v:.2f} %")
            elif key in ("profit", "bound", "siloed_profit") and isinstance(v, float):
                cells.append(f"{v:,.2f}")
            elif key == "uplift_pct" and v is not None:
                cells.append(f"{v:+.1f}")
            elif key in ("peak_rss_mb",) and v is not None:
                cells.append(f"{v:,.0f}")
            else:
                cells.append(_fmt(v))
        body.append(cells)
    lines += _table([label for _, label in SUMMARY_COLUMNS], body)
    notes = [r for r in rows if r.get("status") == "error" or r.get("siloed_message") or r.get("violations")]
    if notes:
        lines += ["", "Problems:", ""]
        for r in notes:
            if r.get("status") == "error":
                lines.append(f"* `{r['spec']}` failed in phase {r.get('failed_phase') or '–'}: {r.get('message')}")
            if r.get("siloed_message"):
                lines.append(f"* `{r['spec']}`: no siloed baseline: {r['siloed_message']}")
            if r.get("violations"):
                lines.append(f"* `{r['spec']}`: the checker found {r['violations']} violation(s), "
                             f"the first: {r.get('first_violation')}")
    lines += ["", *growth_markdown(rows)]
    lines += ["", "## Machine", "", *_table(["", ""], [[k, str(v)] for k, v in info.items()]), ""]
    return "\n".join(lines)


def growth_markdown(rows: Sequence[dict[str, Any]]) -> list[str]:
    points = growth_points(rows)
    lines = ["## Growth curve", ""]
    if not points:
        return lines + [("No generated spec with a built model in this run (run e.g. "
                        "`optsupply bench --sizes tiny small medium large xlarge --no-solve`).")]
    lines += [
        ("Generated sizes, smallest model first. Build and transfer are measured for every size, also when the "
        "solve did not finish; `total` enters the fit only for complete runs (optimal, or build only with "
        "`--no-solve`, where it is load + validate + build + transfer), since a time-limited total is set by "
        "the limit. `above imports` is the peak RSS minus the RSS after the child's imports."),
        "",
    ]
    body = [[p["spec"], p["status"], _fmt(p["columns"]), _fmt(p["nonzeros"]),
             _fmt(p["build_wall_s"]), _fmt(p["build_cpu_s"]), _fmt(p["transfer_wall_s"]), _fmt(p["transfer_cpu_s"]),
             _fmt(None if not p["build_transfer_cpu_s"] else 1e6 * p["build_transfer_cpu_s"] / p["columns"]),
             _fmt(p["total_wall_s"]), _fmt(p["peak_rss_mb"], 4), _fmt(p["rss_above_imports_mb"], 4)]
            for p in points]
    lines += _table(["spec", "status", "columns", "nonzeros", "build s", "build CPU s", "transfer s",
                     "transfer CPU s", "build+transfer CPU µs/column", "total s", "peak MB", "above imports MB"],
                    body)
    largest = 3
    slopes = growth_slopes(points, largest)
    lines += ["", (f"Fitted log-log slopes b of y ∝ size^b (`numpy.polyfit` on the logs), over all points and "
              f"over the {largest} largest models (the asymptotic trend; small models are dominated by fixed "
              "costs). b = 1 is linear growth."), ""]
    lines += _table(["quantity", "points", "vs columns", "vs nonzeros", f"vs columns, largest {largest}",
                     f"vs nonzeros, largest {largest}"],
                    [[s["quantity"], str(s["points"]), _fmt(s["slope_columns"], 3), _fmt(s["slope_nonzeros"], 3),
                      _fmt(s[f"slope_columns_largest_{largest}"], 3), _fmt(s[f"slope_nonzeros_largest_{largest}"], 3)]
                     for s in slopes])
    return lines


# --------------------------------------------------------------------------- command line


def options_from_args(args: argparse.Namespace) -> Options:
    from optsupply.errors import UsageError

    if args.time_limit is not None and args.time_limit <= 0:
        raise UsageError("--time-limit must be positive")
    if args.threads is not None and args.threads < 0:
        raise UsageError("--threads must be 0 (HiGHS default) or more")
    if args.max_memory is not None and args.max_memory < 0:
        raise UsageError("--max-memory must be 0 (no limit) or more")
    return Options(time_limit=float(args.time_limit), threads=int(args.threads), gap=args.gap, method=args.method,
                   solve=not args.no_solve, margin=float(args.margin), phase_timeout=float(args.phase_timeout),
                   max_memory_gb=args.max_memory)


def command_text(args: argparse.Namespace, prog: str = "optsupply bench") -> str:
    """The command line that reproduces ``args`` (for the summary)."""
    parts = [prog]
    for flag, value in (("--sizes", args.sizes), ("--seeds", args.seeds), ("--instances", args.instances)):
        if value:
            parts += [flag, *(shlex.quote(str(v)) for v in value)]
    for flag, value, default in (("--time-limit", args.time_limit, 300.0), ("--threads", args.threads, 1),
                                 ("--gap", args.gap, None), ("--method", args.method, "mip"),
                                 ("--margin", args.margin, 120.0), ("--phase-timeout", args.phase_timeout, 3600.0),
                                 ("--max-memory", args.max_memory, None)):
        if value != default:
            parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if args.no_solve:
        parts.append("--no-solve")
    if args.out:
        parts += ["--out", shlex.quote(str(args.out))]
    return " ".join(parts)


def run_from_args(args: argparse.Namespace, prog: str = "optsupply bench") -> int:
    """The ``optsupply bench`` / ``python -m benchmarks`` command: 0 when every spec ran, 1 when one failed."""
    from optsupply.cli import check_solver_args

    check_solver_args(args)
    specs = select_specs(args.sizes, args.seeds, args.instances)
    if args.list:
        for s in specs:
            print(f"{s.name:<28} {s.kind:<10} {s.path or f'size {s.size}, seed {s.seed}'}")
        return 0
    opts = options_from_args(args)
    if opts.solve:
        check_method(opts.method)
    out = Path(args.out) if args.out else DEFAULT_OUT
    out = check_out(out, [s.path for s in specs if s.path])
    rows = run_suite(specs, opts, out, command=command_text(args, prog), progress=not args.quiet)
    failed = [r["spec"] for r in rows if r.get("status") == "error"]
    print(f"{len(rows)} spec(s) run, {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}; "
          f"results in {out / 'bench.csv'} and {out / 'bench.md'}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks`` (the same arguments as ``optsupply bench``)."""
    from optsupply.cli import EXIT_BAD_INPUT, add_bench_arguments
    from optsupply.errors import OptsupplyError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return _child_main(argv[1])
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_bench_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_from_args(args, prog="python -m benchmarks")
    except OptsupplyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
