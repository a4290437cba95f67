"""optsupply: plan launches, stock, advertising and routes for new products together.

>>> import optsupply as ops
>>> scenario = ops.Scenario.load("instances/tiny")
>>> plan = ops.solve(scenario, time_limit=60)
>>> plan.kpis["profit"]
502.75
>>> fc = ops.forecast(ops.Scenario.load("instances/medium"))   # history -> forecast tables

Sweeps and shadow prices live in their modules: ``from optsupply.analysis.sweep import
sweep, Variant`` and ``from optsupply.analysis.sensitivity import sensitivity``.

The optimizer (Pyomo, HiGHS) and the forecaster (scipy, statsmodels) are
imported on first use of :func:`solve`, :class:`Plan` or :func:`forecast`,
so reading and validating scenarios stays fast.
"""

from typing import Any

from optsupply.version import __version__
from optsupply.errors import OptsupplyError, Problem, Report, ScenarioError, UsageError
from optsupply.scenario.io import Limits
from optsupply.scenario.core import Scenario, validate


_LAZY = {"solve": ("optsupply.optimizer.optimize", "solve"), "Plan": ("optsupply.plan.core", "Plan"),
         "forecast": ("optsupply.forecasting", "forecast"), "Forecast": ("optsupply.forecasting", "Forecast"),
         "diff": ("optsupply.plan.compare", "diff"), "compare": ("optsupply.plan.compare", "compare"),
         "WhatIf": ("optsupply.analysis.whatif", "WhatIf")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'optsupply' has no attribute {name!r}")


__all__ = ["Scenario", "Limits", "Plan", "solve", "forecast", "Forecast", "diff", "compare", "WhatIf", "validate", "Problem", "Report", "OptsupplyError", "ScenarioError",
           "UsageError", "__version__"]
