"""optsupply: plan launches, stock, advertising and routes for new products together.

>>> import optsupply as ops
>>> scenario = ops.Scenario.load("instances/tiny")
>>> plan = ops.solve(scenario, time_limit=60)
>>> plan.kpis["profit"]
502.75
"""

from optsupply.errors import OptsupplyError, Problem, Report, ScenarioError, UsageError
from optsupply.optimize import solve
from optsupply.plan import Plan
from optsupply.scenario import Scenario, validate

__version__ = "0.1.0"

__all__ = ["Scenario", "Plan", "solve", "validate", "Problem", "Report", "OptsupplyError", "ScenarioError",
           "UsageError", "__version__"]
