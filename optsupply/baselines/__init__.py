"""Plans by rules, without a solver: the naive siloed plan and a competent practitioner's plan.

They sit beside the model layer (they read the scenario and build plans with
the plan layer's tables), below the solve layer, which starts its search from
the best of them.

* :mod:`.siloed` — :func:`~optsupply.baselines.siloed.siloed_plan` and
  :func:`~optsupply.baselines.siloed.practitioner_plan`: the rules put together
  into a plan, evaluated like any plan;
* :mod:`.naive`, :mod:`.practitioner` — the launch, marketing and merchandising
  rules of each rule set; :mod:`.supply` — the supply chain rules of both;
* :mod:`.common` — the scenario as arrays and the rule steps both sets share;
* :mod:`.report` — :func:`~optsupply.baselines.report.uplift_report`, a joint
  plan against a baseline.
"""
