"""Plans by rules, without a solver: the naive siloed plan and a competent practitioner's plan.

They sit beside the model layer (they read the scenario and build plans with
the plan layer's tables), below the solve layer, which starts its search from
the best of them.
"""
