"""The package's architecture as tests: the layering contract, no import cycle, one home for HiGHS.

The layers are declared once, in ``pyproject.toml`` (``[tool.importlinter]``):
cli > bench > analysis > optimizer > model | baselines | forecasting > plan >
scenario > files | curves > errors | version. A module may import only from
its own layer or a lower one, at module level or inside a function.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "optsupply"


def _lint(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` run on the package found first on the path from ``root`` (its pyproject's contract)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)


def test_the_layering_contract_holds() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "optsupply layers KEPT" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """The contract is not vacuous: the scenario layer importing the command line is reported."""
    shutil.copytree(PACKAGE, tmp_path / "optsupply", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    core = tmp_path / "optsupply" / "scenario" / "core.py"
    core.write_text(core.read_text(encoding="utf-8") + "\n\ndef _upward():\n    import optsupply.cli  # noqa: F401\n",
                    encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "optsupply.scenario is not allowed to import optsupply.cli" in result.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.find_modules_directly_imported_by(w)))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycle() -> None:
    """No two modules import each other, directly or around a loop, at module level or inside a function."""
    graph = grimp.build_graph("optsupply", cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("x.a", "x.b"), ("x.b", "x.c"), ("x.c", "x.a"), ("x.c", "x.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["x.a", "x.b", "x.c"]]


#: What only optsupply.optimizer.highs may touch: highspy itself and the private state of Pyomo's HiGHS interface.
SOLVER_INTERNALS = re.compile(r"^\s*(import highspy|from highspy)|\b_solver_model\b|_pyomo_(var|con)_to_solver_(var|con)_map"
                              r"|\bfrom pyomo\.contrib\.solver\b|\bimport pyomo\.contrib\.solver\b", re.M)


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")))
def test_only_the_highs_module_touches_solver_internals(path: str) -> None:
    if path.startswith("optsupply/optimizer/highs"):
        return
    text = (ROOT / path).read_text(encoding="utf-8")
    hits = [m.group(0).strip() for m in SOLVER_INTERNALS.finditer(text)]
    assert hits == [], f"{path} reaches into the solver: {hits}"


#: A module is read in one sitting: above this many lines it holds more than one concern.
MAX_MODULE_LINES = 600


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")))
def test_modules_stay_small(path: str) -> None:
    lines = len((ROOT / path).read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path} has {lines} lines; split it by concern"
