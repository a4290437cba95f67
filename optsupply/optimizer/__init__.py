"""The solve layer: from a scenario to a checked plan.

``highs`` (the only module that touches highspy or Pyomo's solver internals:
options, result → status, the persistent instance, MIP starts, IIS, threads) ·
``optimize`` (:func:`solve`: build, start, solve, check, repair) ·
``decompose`` (product-group decomposition for large scenarios) ·
``sequential`` (the siloed plans solved to optimality, for comparison) ·
``explain`` (why a scenario has no plan).

Named ``optimizer`` rather than ``solve`` so that ``optsupply.solve`` stays
the function planners call.
"""
