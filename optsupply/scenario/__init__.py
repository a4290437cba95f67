"""The scenario layer: what a planner gives optsupply, read, checked and changed.

``schema`` (every table, column and setting, once) · ``io`` (reading files and
workbooks into typed tables, the size limits) · ``checks`` (validation: every
problem with file, row and column) · ``core`` (:class:`Scenario`: load, save,
changes) · ``generate`` (synthetic scenarios of every size).

Imports only the foundation (:mod:`optsupply.errors`, :mod:`optsupply.files`,
:mod:`optsupply.curves`); nothing here knows about plans, models or solvers.
"""

from optsupply.scenario.core import Scenario, validate

__all__ = ["Scenario", "validate"]
