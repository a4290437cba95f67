"""The plan layer: what optsupply returns, checked and compared without a model or a solver.

``core`` (:class:`Plan`, its tables and KPIs, the statuses, ``COST_KEYS``) ·
``check`` (the independent checker: feasibility and profit recomputed from the
plan tables and the scenario alone; its parts are ``check_tables`` reading and
cleaning the input tables, ``check_derive`` what follows from the plan's
decisions, ``check_rules`` the rules and ``evaluate`` the profit and the KPI
check) · ``diff`` (what changed between two scenarios or two plans) ·
``compare`` (KPI tables of several plans side by side).

Imports the scenario layer and the foundation, never Pyomo or HiGHS: a plan
can be read, checked and compared on a machine without a solver.
"""

from optsupply.plan.core import Plan, empty_plan

__all__ = ["Plan", "empty_plan"]
