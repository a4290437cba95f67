"""The analysis layer: questions asked of many plans.

``whatif`` (:class:`WhatIf`: re-solve one model under changes; its lean
patches in ``whatif_patches``) · ``sweep`` (variants in parallel, locally or on
Dask; the workers and the pool in ``sweep_workers``) · ``sensitivity``
(shadow prices and reduced costs of a plan) · ``sequential`` (the siloed
baselines with a solver: optimal supply for given commercial decisions, and
commercial-then-supply planning).
"""
