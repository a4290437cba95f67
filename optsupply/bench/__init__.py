"""The benchmark suite, shipped with the package so that ``optsupply bench`` runs after ``pip install``.

``suite`` (the command: every generator size and shipped instance, phase by
phase, each in a fresh process) · ``specs`` (the registry) · ``arguments``
(its command-line arguments) · ``measure`` with ``phases`` and ``mip`` (one
spec measured, in the child) · ``runner`` (the children, watched and killed
on overrun) · ``report`` (bench.csv, bench.md, the growth curve) ·
``machine`` (what the numbers were measured on). The scripts and recorded
results live in the source tree's ``benchmarks/``, which imports this
package, never the reverse.
"""
