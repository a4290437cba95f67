"""The solve layer: from a scenario to a checked plan.

``highs`` (the only package that touches highspy or Pyomo's solver internals:
options, result → status, MIP starts, threads; ``highs.persistent`` one model
changed in place and re-solved, ``highs.arrays`` models passed as arrays,
``highs.iis`` the irreducible infeasible subset) ·
``optimize`` (:func:`solve`: build, start, solve, check, repair) ·
``decompose`` (product-group fix-and-optimize for large scenarios) and
``lagrangian`` (its bound) · ``explain`` (why a scenario has no plan), with
``causes`` (a cause in the planner's terms) and ``explain_elastic`` (the
elastic relaxation) · ``arguments`` (the solver options every command takes).

Named ``optimizer`` rather than ``solve`` so that ``optsupply.solve`` stays
the function planners call.
"""
