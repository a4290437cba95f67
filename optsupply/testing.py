"""The independent plan checker under its long-standing name; it lives in :mod:`optsupply.plan.check`."""

from optsupply.plan.check import assert_plan_feasible, check_plan, evaluate_plan

__all__ = ["check_plan", "evaluate_plan", "assert_plan_feasible"]
