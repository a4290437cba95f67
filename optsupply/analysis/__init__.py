"""The analysis layer: questions asked of many plans.

``whatif`` (:class:`WhatIf`: re-solve one model under changes) · ``sweep``
(variants in parallel, locally or on Dask) · ``sensitivity`` (shadow prices
and reduced costs of a plan).
"""
