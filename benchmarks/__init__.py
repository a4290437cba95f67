"""Benchmarks of optsupply (run from the repository root, e.g. ``python -m benchmarks.load_validate``)."""
