"""optsupply: plan launches, stock, advertising and routes for new products together.

>>> import optsupply as ops
>>> scenario = ops.Scenario.load("instances/tiny")
>>> plan = ops.solve(scenario, time_limit=60)
>>> plan.kpis["profit"]
502.75
>>> fc = ops.forecast(ops.Scenario.load("instances/medium"))   # history -> forecast tables

Everything a planner or analyst calls is here: ``Scenario``, ``solve``,
``Plan``, ``WhatIf``, ``sweep`` / ``Variant`` / ``load_sweep``, ``sensitivity``,
``explain``, ``forecast``, ``diff`` / ``compare``, ``check_plan`` /
``evaluate_plan``, ``practitioner_plan`` / ``siloed_plan`` (the baselines).

The package is layered (each layer imports only the ones below it):
``scenario`` (schema, reading, checks, changes, the generator) → ``plan``
(tables, statuses, the independent checker, comparisons; no solver) →
``model`` | ``baselines`` | ``forecasting`` → ``optimizer`` (HiGHS, solve,
decomposition, infeasibility) → ``analysis`` (what-if, sweeps, shadow
prices, sequential baselines) → ``bench`` → ``cli``.

The optimizer (Pyomo, HiGHS) and the forecaster (scipy, statsmodels) are
imported on first use of what needs them, so reading and validating
scenarios stays fast.
"""

from typing import Any

from optsupply.errors import OptsupplyError, Problem, Report, ScenarioError, UsageError
from optsupply.scenario import Scenario, validate
from optsupply.scenario.limits import Limits
from optsupply.version import __version__

_LAZY = {"solve": ("optsupply.optimizer.optimize", "solve"), "Plan": ("optsupply.plan.core", "Plan"),
         "forecast": ("optsupply.forecasting", "forecast"), "Forecast": ("optsupply.forecasting", "Forecast"),
         "diff": ("optsupply.plan.diff", "diff"), "compare": ("optsupply.plan.compare", "compare"),
         "WhatIf": ("optsupply.analysis.whatif", "WhatIf"), "sweep": ("optsupply.analysis.sweep", "sweep"),
         "Variant": ("optsupply.scenario.changes", "Variant"), "load_sweep": ("optsupply.scenario.sweep_file", "load_sweep"),
         "sensitivity": ("optsupply.analysis.sensitivity", "sensitivity"),
         "explain": ("optsupply.optimizer.explain", "explain"),
         "check_plan": ("optsupply.plan.check", "check_plan"), "evaluate_plan": ("optsupply.plan.check", "evaluate_plan"),
         "practitioner_plan": ("optsupply.baselines.siloed", "practitioner_plan"),
         "siloed_plan": ("optsupply.baselines.siloed", "siloed_plan")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'optsupply' has no attribute {name!r}")


__all__ = ["Scenario", "Limits", "validate", "solve", "Plan", "WhatIf", "sweep", "Variant", "load_sweep", "sensitivity",
           "explain", "forecast", "Forecast", "diff", "compare", "check_plan", "evaluate_plan", "practitioner_plan",
           "siloed_plan", "Problem", "Report", "OptsupplyError", "ScenarioError", "UsageError", "__version__"]
