"""Shared fixtures: paths to the shipped instances."""

from __future__ import annotations

import math
import shutil
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

import optsupply as ops

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


def cell(value: object) -> str:
    """A CSV cell as a planner would type it: true/false, inf, blank for None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return "" if value is None else str(value)


def write(folder: Path, toml: str, tables: dict[str, list[dict]]) -> ops.Scenario:
    """A scenario folder from row dicts (header = union of keys, missing = blank), loaded and validated."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(textwrap.dedent(toml).strip() + "\n", encoding="utf-8")
    for name, rows in tables.items():
        cols = list(dict.fromkeys(k for row in rows for k in row))
        lines = [",".join(cols)] + [",".join(cell(row.get(c)) for c in cols) for row in rows]
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ops.Scenario.load(folder)
