"""Shared fixtures: paths to the shipped instances."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    """A private copy of instances/tiny that a test may edit."""
    dst = tmp_path / "tiny"
    shutil.copytree(INSTANCES / "tiny", dst)
    return dst
