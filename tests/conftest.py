"""Shared fixtures: paths to the shipped instances."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Every property test draws the same examples on every run (a failure in CI replays anywhere) and prints
# the blob that reproduces it; tests may raise max_examples but keep these.
settings.register_profile("optsupply", derandomize=True, print_blob=True, deadline=None)
settings.load_profile("optsupply")

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    """A private copy of instances/tiny that a test may edit."""
    dst = tmp_path / "tiny"
    shutil.copytree(INSTANCES / "tiny", dst)
    return dst
