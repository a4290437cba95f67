"""optsupply: plan launches, stock, advertising and routes for new products together."""

from optsupply.errors import OptsupplyError, Problem, Report, ScenarioError, UsageError
from optsupply.scenario import Scenario, validate

__version__ = "0.1.0"

__all__ = ["Scenario", "validate", "Problem", "Report", "OptsupplyError", "ScenarioError", "UsageError", "__version__"]
