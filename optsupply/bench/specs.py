"""The registry of the benchmark suite: what a spec is, which specs exist, how every spec is run.

The generated sizes always exist; the shipped instances are the folders under
``instances/`` of the source checkout optsupply runs from, so an installed
package (no checkout) has only the sizes, plus any scenario folder given by path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from optsupply.bench.machine import CHECKOUT
from optsupply.errors import UsageError
from optsupply.scenario.generate_params import SIZES as GENERATOR_SIZES

#: The shipped instances of the source checkout; None when optsupply runs from an installed package.
INSTANCES = CHECKOUT / "instances" if CHECKOUT is not None else None
#: Where results go without --out: the checkout's benchmarks/results/bench/, else optsupply-bench/ in the
#: current folder (an installed package has no benchmarks/ folder).
DEFAULT_OUT = CHECKOUT / "benchmarks" / "results" / "bench" if CHECKOUT is not None else Path("optsupply-bench")

#: Generator sizes in ladder order (the keys of :data:`optsupply.scenario.generate_params.SIZES`).
SIZES = tuple(GENERATOR_SIZES)
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
    if name_or_path in INSTANCE_NAMES and INSTANCES is not None:
        return Spec(f"instances/{name_or_path}", "instance", path=str(INSTANCES / name_or_path))
    path = Path(name_or_path)
    if not path.exists():
        if name_or_path in INSTANCE_NAMES or name_or_path == "all":
            raise UsageError(f"the shipped instance '{name_or_path}' is in the instances/ folder of a source "
                             "checkout, and this optsupply is an installed package: run it from a checkout, or "
                             "give the path of a scenario folder or workbook")
        shipped = f"use one of {', '.join(INSTANCE_NAMES)}, or " if INSTANCES is not None else "use "
        raise UsageError(f"unknown instance '{name_or_path}': {shipped}the path of a scenario folder or workbook")
    return Spec(str(name_or_path), "instance", path=str(path.resolve()))


def registry(seeds: Sequence[int] = (1,)) -> dict[str, Spec]:
    """Every spec of the suite: the generator sizes × ``seeds``, then the shipped instances (with a checkout)."""
    specs = [generated(size, seed) for size in SIZES for seed in seeds]
    if INSTANCES is not None:
        specs += [instance(name) for name in INSTANCE_NAMES]
    return {s.name: s for s in specs}


def select_specs(sizes: Sequence[str] | None = None, seeds: Sequence[int] | None = None,
                 instances: Sequence[str] | None = None) -> list[Spec]:
    """The specs to run. With neither ``sizes`` nor ``instances``, the whole registry."""
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
    names = list(instances or [])
    if "all" in names and INSTANCES is not None:
        names = list(INSTANCE_NAMES)
    specs = [generated(size, seed) for size in chosen_sizes for seed in seeds]
    specs += [instance(n) for n in dict.fromkeys(names)]
    return specs


def solve_accepts_method() -> bool:
    """Whether :func:`optsupply.optimizer.optimize.solve` takes a ``method`` keyword (a decomposition exists)."""
    import inspect

    from optsupply.optimizer import optimize

    return "method" in inspect.signature(optimize.solve).parameters


def check_method(method: str) -> None:
    if method not in METHODS:
        raise UsageError(f"unknown --method '{method}': use one of {', '.join(METHODS)}")
    if method != "mip" and not solve_accepts_method():
        raise UsageError(f"--method {method}: this optsupply.optimizer.optimize.solve has no 'method' argument "
                         "(no decomposition); only --method mip is available")
