"""The scenario layer: what a planner gives optsupply, read, checked and changed.

``schema`` (every table, column and setting, once) · reading: ``read`` (files
and workbooks), ``text_tables``, ``workbook``, ``cells``, ``coerce`` (typed
tables), ``write`` · ``limits`` (the size limits) · validation: ``checks``
(settings, and every check with file, row and column), ``table_checks``,
``feasibility_checks`` · ``core`` (:class:`Scenario`: load, save, changes) ·
``changes`` and ``sweep_file`` (what-if changes written as text) · the
generator: ``generate``, ``generate_params``, ``generate_market``,
``generate_operations``, ``generate_tables``.

Imports only the foundation (:mod:`optsupply.errors`, :mod:`optsupply.files`,
:mod:`optsupply.curves`); nothing here knows about plans, models or solvers.
"""

from optsupply.scenario.core import Scenario, validate

__all__ = ["Scenario", "validate"]
