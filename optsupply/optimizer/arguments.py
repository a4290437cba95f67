"""Command-line arguments that both ``optsupply`` (optsupply.cli) and the benchmark suite (optsupply.bench) take.

One home, below both: the check of the solver options (the rule of a
scenario.toml ``[solver]`` setting, applied to ``--time-limit``, ``--gap``,
``--threads``, ``--seed`` and ``--resolve-time-limit``) and the generator's
sizes and profiles offered as choices.
"""

from __future__ import annotations

from typing import Any

from optsupply.errors import UsageError

#: Command-line options checked by the rule of a scenario.toml [solver] setting
#: (optsupply.scenario.checks.setting_problem): attribute → (flag, setting).
SOLVER_OPTIONS = {"time_limit": ("--time-limit", "solver.time_limit"),
                  "resolve_time_limit": ("--resolve-time-limit", "solver.time_limit"),
                  "gap": ("--gap", "solver.mip_gap"), "threads": ("--threads", "solver.threads"),
                  "seed": ("--seed", "solver.seed")}



def check_solver_args(args: Any) -> None:
    """Refuse (:class:`UsageError`, every problem in one line) solver options that scenario.toml would refuse.

    ``args`` is an :class:`argparse.Namespace` (any object with the attributes of :data:`SOLVER_OPTIONS`;
    missing or ``None`` ones are not checked).
    """
    from optsupply.scenario.checks import setting_problem

    problems = []
    for dest, (flag, key) in SOLVER_OPTIONS.items():
        value = getattr(args, dest, None)
        if value is not None:
            problem = setting_problem(key, value)[1]
            if problem:
                problems.append(f"{flag} {value:g}: {problem}")
    if problems:
        raise UsageError("; ".join(problems))
