"""One spec's row of measurements, filled phase by phase (wall clock, CPU clock, peak RSS)."""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from optsupply.bench.specs import COLUMNS, PLAN_PHASES, SOLVER_SEED, Options, Spec


def rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024.0 * 1024.0) if sys.platform == "darwin" else kb / 1024.0


def empty_row(spec: Spec, opts: Options) -> dict[str, Any]:
    """The row of ``spec`` before anything ran: every column, status ``error``, the instance's expected profit."""
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


def plan_total(row: dict, what: str) -> float | None:
    """The sum of ``<phase>_<what>`` over the phases to a plan (:data:`PLAN_PHASES`), None if none ran."""
    values = [row[f"{p}_{what}"] for p in PLAN_PHASES if row.get(f"{p}_{what}") is not None]
    return float(sum(values)) if values else None


class Run:
    """The row of one spec, filled phase by phase; ``emit`` sends progress and partial rows to the parent."""

    def __init__(self, spec: Spec, opts: Options, emit: Callable[[dict], None] | None):
        self.row = empty_row(spec, opts)
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
        self.row[f"{name}_rss_mb"] = self.row["peak_rss_mb"] = rss_mb()
        self.current = None
        self.emit({"row": self.row})
