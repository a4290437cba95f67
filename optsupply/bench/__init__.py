"""The benchmark suite, shipped with the package so that ``optsupply bench`` runs after ``pip install``.

``suite`` (every generator size and shipped instance, phase by phase, each in
a fresh process) · ``machine`` (what the numbers were measured on). The
scripts and recorded results live in the source tree's ``benchmarks/``,
which imports this package, never the reverse.
"""
