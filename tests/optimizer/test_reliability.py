"""Reliability: reproducible plans, safe output folders, Ctrl-C, read-only inputs, numerical range.

* Determinism: the same scenario, options, seed and threads give byte-identical
  plan tables and the same KPIs apart from timing -- in one process and across
  processes with different string-hash seeds. Runs stop on optimality or on a
  node / solution-count limit, never on a wall-clock limit (which depends on the
  machine's load).
* Safe outputs: plan folders are written next to the target and renamed into
  place; ``--out`` may not be (in) the scenario, contain it, or be a foreign
  folder without ``--force``.
* Ctrl-C during ``optsupply solve`` stops HiGHS and writes its incumbent with
  status ``interrupted`` (exit 0: a plan was written, as with a time limit).
* Input files are never opened for writing.
* Numerical range: the same scenario in other units (prices 0.01 … 1e6,
  volumes 1e-3 … 1e3, demands 1e-2 … 1e6) gives plans the checker accepts, and
  the same optimum.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest

import optsupply as ops
from optsupply.optimizer import highs as solver_mod
from optsupply.cli import main
from optsupply.errors import UsageError
from optsupply.files import write_folder
from optsupply.scenario.generate import generate
from optsupply.plan.check import check_plan, evaluate_plan
from tests.conftest import INSTANCES, ROOT

TIMING = {"build_seconds", "solve_seconds"}  # KPIs that may differ between identical runs


# ---------------------------------------------------------------------- helpers


def hard_small() -> ops.Scenario:
    """small seed 1 of the generator's stress profile (the shipped instances/small before the business profile):
    minutes to optimality at a tight gap, so a limit or a stop ends the run, not the gap."""
    return generate("small", 1, profile="stress")


def plan_bytes(plan: ops.Plan, folder: Path) -> dict[str, bytes]:
    """The bytes of every file Plan.save writes, kpis.json without its timing fields."""
    plan.save(folder, overwrite=True)
    return folder_bytes(folder)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    out = {f.name: f.read_bytes() for f in sorted(folder.iterdir())}
    kpis = json.loads(out.pop("kpis.json"))
    out["kpis.json"] = json.dumps({k: v for k, v in kpis.items() if k not in TIMING}, sort_keys=True).encode()
    return out


def assert_same_plan(a: dict[str, bytes], b: dict[str, bytes]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name] == b[name], f"{name} differs between identical runs"


# ---------------------------------------------------------------------- determinism


def test_identical_runs_give_identical_plan_files_tiny(tmp_path: Path) -> None:
    sc = ops.Scenario.load(INSTANCES / "tiny")
    first = plan_bytes(ops.solve(sc, threads=1, seed=0), tmp_path / "a")
    second = plan_bytes(ops.solve(sc, threads=1, seed=0), tmp_path / "b")
    assert_same_plan(first, second)


def test_identical_runs_with_two_threads(tmp_path: Path) -> None:
    """HiGHS's parallel tree search with 2 workers is deterministic too (same threads, same seed)."""
    sc = generate("tiny", seed=3)
    first = plan_bytes(ops.solve(sc, threads=2, seed=3), tmp_path / "a")
    second = plan_bytes(ops.solve(sc, threads=2, seed=3), tmp_path / "b")
    assert_same_plan(first, second)


def test_identical_runs_solved_to_optimality_xsmall(tmp_path: Path) -> None:
    sc = generate("xsmall", seed=3)
    plans = [ops.solve(sc, threads=1, seed=0, time_limit=600) for _ in range(2)]
    assert [p.kpis["status"] for p in plans] == ["optimal", "optimal"]  # stopped by the gap, not the clock
    assert_same_plan(plan_bytes(plans[0], tmp_path / "a"), plan_bytes(plans[1], tmp_path / "b"))


def test_identical_runs_stopped_by_a_solution_limit_small(tmp_path: Path) -> None:
    """small seed 1, profile stress (hard) does not solve in seconds: stop it on HiGHS's count of improving solutions."""
    sc = hard_small()
    opts = dict(threads=1, seed=0, mip_gap=1e-9, time_limit=600, highs_options={"mip_max_improving_sols": 2})
    plans = [ops.solve(sc, **opts) for _ in range(2)]
    assert [p.kpis["status"] for p in plans] == ["time_limit", "time_limit"]  # a limit stopped it
    assert check_plan(sc, plans[0]) == []
    assert_same_plan(plan_bytes(plans[0], tmp_path / "a"), plan_bytes(plans[1], tmp_path / "b"))


@pytest.mark.slow
def test_identical_runs_stopped_by_a_node_limit_small(tmp_path: Path) -> None:
    sc = hard_small()
    opts = dict(threads=1, seed=0, mip_gap=1e-9, time_limit=1200, highs_options={"mip_max_nodes": 30})
    plans = [ops.solve(sc, **opts) for _ in range(2)]
    assert_same_plan(plan_bytes(plans[0], tmp_path / "a"), plan_bytes(plans[1], tmp_path / "b"))


def _cli(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "optsupply", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


@pytest.mark.parametrize("size", ["tiny", pytest.param("xsmall", marks=pytest.mark.slow)])
def test_identical_plan_files_across_processes_and_hash_seeds(size: str, tmp_path: Path) -> None:
    """Two `optsupply solve` processes with different PYTHONHASHSEED (set and dict orders) write the same bytes."""
    scenario = tmp_path / size
    generate(size, seed=3).save(scenario)
    procs = []
    for h in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": h}
        procs.append(_cli("solve", str(scenario), "--out", str(tmp_path / f"plan{h}"), "--threads", "1",
                          "--seed", "0", "--time-limit", "600", "--method", "mip", "-q", env=env))
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert_same_plan(folder_bytes(tmp_path / "plan1"), folder_bytes(tmp_path / "plan2"))


@pytest.mark.slow
def test_decompose_tables_are_reproducible_but_not_its_bound(tmp_path: Path) -> None:
    """method="decompose" gives the same plan when every group MIP finishes within its share of the time;
    its Lagrangian bound runs until a wall-clock deadline, so best_bound / mip_gap (and the status derived
    from them) may differ between runs -- they are not compared."""
    sc = generate("xsmall", seed=3)
    plans = [ops.solve(sc, method="decompose", threads=1, seed=0, time_limit=20) for _ in range(2)]
    for p in plans:
        assert check_plan(sc, p) == []
    for name, df in plans[0].tables().items():
        pd.testing.assert_frame_equal(df, getattr(plans[1], name), check_exact=True, obj=name)
    assert plans[0].kpis["profit"] == plans[1].kpis["profit"]


# ---------------------------------------------------------------------- safe output folders


@pytest.fixture(scope="module")
def tiny_plan() -> ops.Plan:
    return ops.solve(ops.Scenario.load(INSTANCES / "tiny"), threads=1)


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_failed_save_leaves_the_old_plan_and_no_temporary_folder(tiny_plan: ops.Plan, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "plan"
    tiny_plan.save(target)
    before = {f.name: f.read_bytes() for f in target.iterdir()}

    calls = []
    real = pd.DataFrame.to_csv

    def failing_to_csv(self: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 4:  # midway: kpis.json and three tables are written
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing_to_csv)
    with pytest.raises(OSError, match="disk full"):
        tiny_plan.save(target, overwrite=True)
    assert {f.name: f.read_bytes() for f in target.iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_interrupted_save_of_a_new_folder_leaves_nothing(tiny_plan: ops.Plan, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tiny_plan.save(tmp_path / "plan")
    assert list(tmp_path.iterdir()) == []


def test_failed_rename_restores_the_old_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "a.txt").write_text("old")
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(src).name.startswith(".out.tmp-"):
            raise OSError("rename failed")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="rename failed"):
        write_folder(target, lambda folder: (folder / "b.txt").write_text("new"))
    assert [f.name for f in target.iterdir()] == ["a.txt"] and (target / "a.txt").read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_save_replaces_the_old_folder_completely(tiny_plan: ops.Plan, tmp_path: Path) -> None:
    target = tmp_path / "plan"
    tiny_plan.save(target)
    (target / "stale.csv").write_text("x\n")
    with pytest.raises(UsageError):
        tiny_plan.save(target)
    tiny_plan.save(target, overwrite=True)
    assert sorted(f.name for f in target.iterdir()) == sorted(
        [".optsupply", "kpis.json", *(f"{t}.csv" for t in tiny_plan.tables())])
    assert _leftovers(tmp_path) == []
    mode = stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o777 & ~umask  # not mkdtemp's private 0o700


def test_save_never_replaces_a_file_or_a_foreign_folder(tiny_plan: ops.Plan, tmp_path: Path) -> None:
    """overwrite=True replaces only a folder optsupply wrote: never a file, never someone else's folder."""
    target = tmp_path / "plan"
    target.write_text("not a folder")
    for overwrite in (False, True):
        with pytest.raises(UsageError, match="existing file"):
            tiny_plan.save(target, overwrite=overwrite)
    assert target.read_text() == "not a folder"
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(UsageError, match="not written by optsupply"):
            tiny_plan.save(folder, overwrite=overwrite)
    assert [f.name for f in folder.iterdir()] == ["notes.txt"]


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    dst = tmp_path / "work" / "tiny"
    shutil.copytree(INSTANCES / "tiny", dst)
    return dst


@pytest.mark.parametrize("where", ["scenario", "inside", "deep inside", "parent", "workbook"])
def test_out_may_not_be_the_scenario_inside_it_or_contain_it(where: str, scenario_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    scenario = scenario_dir
    out = {"scenario": scenario_dir, "inside": scenario_dir / "plan", "deep inside": scenario_dir / "a" / "b",
           "parent": scenario_dir.parent, "workbook": None}[where]
    if where == "workbook":
        scenario = tmp_path / "tiny.xlsx"
        ops.Scenario.load(scenario_dir).save(scenario)
        out = scenario
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for force in ([], ["--force"]):
        assert main(["solve", str(scenario), "--out", str(out), "-q", *force]) == 2
        assert "--out" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_out_next_to_a_workbook_is_fine(scenario_dir: Path, tmp_path: Path) -> None:
    """A plan folder may sit next to the .xlsx scenario it was made from (the default SCENARIO-plan in its folder)."""
    book = tmp_path / "tiny.xlsx"
    ops.Scenario.load(scenario_dir).save(book)
    assert main(["solve", str(book), "--out", str(tmp_path / "tiny-plan"), "-q"]) == 0
    assert json.loads((tmp_path / "tiny-plan" / "kpis.json").read_text())["status"] == "optimal"


def test_out_may_not_be_the_current_folder(scenario_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["solve", str(scenario_dir), "--out", ".", "-q", "--force"]) == 2
    assert "current folder" in capsys.readouterr().err


def test_foreign_folder_is_never_replaced_and_old_plan_is(scenario_dir: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    """Only folders optsupply wrote (its .optsupply marker) are replaced; a planner's folder or file never is."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    # a folder that looks like a plan (kpis.json with a status) but has no marker is still someone else's
    (out / "kpis.json").write_text('{"status": "optimal"}')
    for force in ([], ["--force"]):
        assert main(["solve", str(scenario_dir), "--out", str(out), "-q", *force]) == 2
        assert "not written by optsupply" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"
    # a marker of another kind: replaced only with --force
    other = tmp_path / "other"
    generate("tiny", seed=1).save(other)
    assert main(["solve", str(scenario_dir), "--out", str(other), "-q"]) == 2
    assert "holds an optsupply scenario" in capsys.readouterr().err
    assert main(["solve", str(scenario_dir), "--out", str(other), "-q", "--force"]) == 0
    assert (other / "kpis.json").is_file() and not (other / "scenario.toml").exists()
    # an old plan folder is replaced without --force, completely
    (other / "sensitivity.csv").write_text("x\n")
    assert main(["solve", str(scenario_dir), "--out", str(other), "-q"]) == 0
    assert not (other / "sensitivity.csv").exists()
    # an empty folder is fine; an existing file is never replaced by a plan folder
    (tmp_path / "empty").mkdir()
    assert main(["solve", str(scenario_dir), "--out", str(tmp_path / "empty"), "-q"]) == 0
    (tmp_path / "file").write_text("x")
    for force in ([], ["--force"]):
        assert main(["solve", str(scenario_dir), "--out", str(tmp_path / "file"), "-q", *force]) == 2
    assert (tmp_path / "file").read_text() == "x"
    capsys.readouterr()
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------------- Ctrl-C


def _stop_at_first_incumbent(monkeypatch: pytest.MonkeyPatch, stop: Any) -> None:
    """Make every solve call ``stop(solver)`` when HiGHS finds its first improving solution (an event, not a clock)."""
    real = solver_mod._StoppableHighs._solve

    def solve_with_hook(self: Any) -> Any:
        fired: list[int] = []

        def on_improving(event: Any) -> None:
            if not fired:
                fired.append(1)
                stop(self)

        self._solver_model.cbMipImprovingSolution += on_improving
        try:
            return real(self)
        finally:
            self._solver_model.cbMipImprovingSolution -= on_improving

    monkeypatch.setattr(solver_mod._StoppableHighs, "_solve", solve_with_hook)


def test_stop_request_keeps_the_incumbent(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process: a stop request (what Ctrl-C does) once HiGHS has an incumbent gives that incumbent as the plan.

    The hard small scenario needs minutes to optimality at gap 1e-9, so the run can only end this early by the stop.
    """
    _stop_at_first_incumbent(monkeypatch, lambda solver: solver.request_stop())
    sc = hard_small()
    plan = ops.solve(sc, threads=1, mip_gap=1e-9, time_limit=3600)
    assert plan.kpis["status"] == "interrupted"
    assert plan.kpis["profit"] is not None
    assert plan.kpis["best_bound"] >= plan.kpis["profit"] - 1e-6
    assert check_plan(sc, plan) == []


def test_stop_requested_before_the_solve_gives_no_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    real = solver_mod._StoppableHighs._solve

    def stop_first(self: Any) -> Any:
        self.request_stop()
        return real(self)

    monkeypatch.setattr(solver_mod._StoppableHighs, "_solve", stop_first)
    sc = hard_small()
    plan = ops.solve(sc, threads=1, time_limit=3600)
    assert plan.kpis["status"] == "interrupted"
    assert plan.kpis["profit"] is None  # stopped before HiGHS could find any plan
    assert "interrupted" in plan.kpis["message"]


def test_ctrl_c_handler_only_in_the_main_thread_with_the_default_handler() -> None:
    stopper = solver_mod._StoppableHighs()
    seen = []

    def in_thread() -> None:
        with solver_mod.ctrl_c_stops(stopper):
            seen.append(signal.getsignal(signal.SIGINT))

    t = threading.Thread(target=in_thread)
    t.start()
    t.join()
    assert seen == [signal.getsignal(signal.SIGINT)]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with solver_mod.ctrl_c_stops(stopper):
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # someone chose to ignore Ctrl-C
    finally:
        signal.signal(signal.SIGINT, previous)
    if previous is signal.default_int_handler:
        with solver_mod.ctrl_c_stops(stopper):
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _default_sigint() -> None:  # the child gets Python's KeyboardInterrupt handler even if we run in the background
    signal.signal(signal.SIGINT, signal.SIG_DFL)


_SIGINT_AT_FIRST_INCUMBENT = """
import os, signal, sys
from optsupply.optimizer import highs as solver
from optsupply.cli import main

real = solver._StoppableHighs._solve

def solve(self):
    fired = []
    def on_improving(event):
        if not fired:
            fired.append(1)
            os.kill(os.getpid(), signal.SIGINT)   # what a planner's Ctrl-C sends
    self._solver_model.cbMipImprovingSolution += on_improving
    return real(self)

solver._StoppableHighs._solve = solve
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_during_cli_solve_writes_the_incumbent(tmp_path: Path) -> None:
    """A real SIGINT to `optsupply solve` on the hard small scenario (minutes to optimality), sent by the process
    itself when HiGHS reports its first incumbent: an event, not a guess at how long the transfer takes."""
    out = tmp_path / "plan"
    scenario = hard_small().save(tmp_path / "small")
    proc = subprocess.run([sys.executable, "-c", _SIGINT_AT_FIRST_INCUMBENT, "solve", str(scenario),
                           "--out", str(out), "--threads", "1", "--gap", "0", "--time-limit", "3600",
                           "--method", "mip", "-q"], cwd=ROOT, text=True, capture_output=True, timeout=1800,
                          preexec_fn=_default_sigint)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("interrupted: profit")
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["status"] == "interrupted"
    sc = ops.Scenario.load(scenario)
    assert check_plan(sc, ops.Plan.load(out)) == []
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------------- read-only inputs

_WATCHED: list[Path] = []
_WRITES: list[str] = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_CHANGING_EVENTS = {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree", "os.chmod", "os.truncate",
                    "os.utime", "os.link", "os.symlink", "shutil.move", "shutil.copyfile"}


def _inside(path: Any) -> bool:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        return False
    p = Path(os.path.abspath(path))
    return any(p == w or w in p.parents for w in _WATCHED)


def _audit(event: str, args: tuple) -> None:
    if not _WATCHED:
        return
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, 0))[:3]
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
        if writing and _inside(path):
            _WRITES.append(f"open({path!r}, {mode!r}, {flags})")
    elif event in _CHANGING_EVENTS:
        if any(_inside(a) for a in args[:2]):
            _WRITES.append(f"{event}{tuple(args)!r}")


_HOOKED: list[bool] = []


@pytest.fixture
def read_only_scenario(tmp_path: Path) -> Iterator[Path]:
    """A scenario folder with history (for forecast), chmod'ed read-only and watched for writes.

    As root the permissions do not stop a write, so an audit hook records every
    open-for-writing, rename, delete or chmod inside the folder in this process,
    and the files' bytes and times are compared afterwards (other processes).
    """
    folder = tmp_path / "ro"
    generate("tiny", seed=1).save(folder)
    files = sorted(folder.iterdir())
    for f in files:
        f.chmod(0o444)
    folder.chmod(0o555)
    snapshot = {f.name: (f.read_bytes(), f.stat().st_mtime_ns, f.stat().st_mode) for f in files}
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED.append(True)
    _WRITES.clear()
    _WATCHED[:] = [folder.resolve()]
    try:
        yield folder
        assert _WRITES == [], "inputs opened for writing"
        assert {f.name: (f.read_bytes(), f.stat().st_mtime_ns, f.stat().st_mode) for f in folder.iterdir()} == snapshot
    finally:
        _WATCHED.clear()
        folder.chmod(0o755)
        for f in folder.iterdir():
            f.chmod(0o644)


def test_inputs_are_never_opened_for_writing(read_only_scenario: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    sc = str(read_only_scenario)
    assert main(["validate", sc]) == 0
    assert main(["solve", sc, "--out", str(tmp_path / "plan"), "-q", "--threads", "1"]) == 0
    assert main(["forecast", sc, "--out", str(tmp_path / "fc"), "--no-backtest", "-q"]) == 0
    assert main(["whatif", sc, "--set", "products.price[P01]=*0.9", "--out", str(tmp_path / "wi"),
                 "--threads", "1"]) == 0
    capsys.readouterr()
    assert (tmp_path / "plan" / "kpis.json").is_file() and (tmp_path / "fc" / "scenario.toml").is_file()


def test_the_audit_hook_sees_writes(read_only_scenario: Path) -> None:
    """The guard itself works: a write into the watched folder is recorded."""
    try:
        with open(read_only_scenario / "products.csv", "a"):
            pass
    except PermissionError:  # not root: the permissions stopped it
        pass
    assert _WRITES
    _WRITES.clear()


# ---------------------------------------------------------------------- numerical range


def rescale(sc: ops.Scenario, money: float = 1.0, volume: float = 1.0,
            units: dict[str, float] | None = None) -> ops.Scenario:
    """The same scenario in other units: money x ``money``, volume x ``volume``, product p's unit x ``units[p]``.

    Its optimal plans are the original's, with quantities of p times units[p],
    and its profit is ``money`` times the original's.
    """
    units = units or {}
    names = ["products", "categories", "brands", "demand", "launch_curve", "warehouses", "supply", "initial_stock",
             "pipeline", "lanes", "channels", "response"]
    t = {n: getattr(sc, n).copy() for n in names}

    def u(products: pd.Series) -> pd.Series:
        return products.map(lambda p: units.get(p, 1.0)).astype(float)

    P = t["products"]
    up = u(P["product"])
    for c in ("price", "unit_cost", "holding_cost", "salvage_value", "lost_sale_cost"):
        P[c] = P[c] * money / up
    P["launch_cost"] = P["launch_cost"] * money
    P["volume"] = P["volume"] * volume / up
    for n in ("categories", "brands"):
        t[n]["onboarding_cost"] = t[n]["onboarding_cost"] * money
    for n, col in (("demand", "demand"), ("launch_curve", "demand"), ("initial_stock", "units"), ("pipeline", "units")):
        t[n][col] = t[n][col] * u(t[n]["product"])
        if "demand_sd" in t[n]:
            t[n]["demand_sd"] = t[n]["demand_sd"] * u(t[n]["product"])
    S = t["supply"]
    S["order_cost"] = S["order_cost"] * money
    S["activation_cost"] = S["activation_cost"] * money
    S["min_order"] = S["min_order"] * u(S["product"])
    S["max_order"] = S["max_order"] * u(S["product"])
    for c in ("storage_capacity", "throughput_capacity"):
        t["warehouses"][c] = t["warehouses"][c] * volume
    L = t["lanes"]
    L["cost_per_unit"] = L["cost_per_unit"] * money / volume
    L["fixed_cost"] = L["fixed_cost"] * money
    L["capacity"] = L["capacity"] * volume
    t["channels"]["budget"] = t["channels"]["budget"] * money
    R = t["response"]
    R["half_saturation"] = R["half_saturation"] * money
    R["max_uplift"] = R["max_uplift"] * u(R["product"])
    settings = {k: sc.settings[k] * money for k in ("finance.max_inventory_value", "advertising.total_budget")
                if sc.settings.get(k) is not None}
    if money >= 1:  # keep every step valid: raise money caps before the money values, lower them after
        return (sc.with_changes(settings) if settings else sc).with_tables(t)
    out = sc.with_tables(t)
    return out.with_changes(settings) if settings else out


TINY_UNITS = {
    "cents": dict(money=1e-3),  # prices 0.01 .. 0.02
    "millions": dict(money=1e5),  # prices 1e6 .. 2e6
    "bulk": dict(money=100, units={"P1": 1e5, "P2": 1e5, "P3": 1e5}),  # prices 0.01 .., demands 5e5 .. 1e6
    "rare": dict(units={"P1": 2e-3, "P2": 2.5e-3, "P3": 1e-2}),  # demands 0.01 .. 0.04, prices 1.5e3 .. 8e3
    "small volumes": dict(volume=1e-3),
    "large volumes": dict(volume=1e3),
    "mixed": dict(money=100, volume=100, units={"P1": 1e5, "P2": 2.5e-3, "P3": 1.0}),
    "mixed 2": dict(money=1e4, volume=1e-2, units={"P1": 1e-3, "P2": 1e5, "P3": 3.0}),
}


@pytest.mark.parametrize("case", list(TINY_UNITS))
def test_tiny_in_other_units_gives_the_same_optimum(case: str) -> None:
    kw = TINY_UNITS[case]
    sc = rescale(ops.Scenario.load(INSTANCES / "tiny"), **kw)
    plan = ops.solve(sc, mip_gap=0.0, threads=1)
    assert plan.kpis["status"] == "optimal"
    assert check_plan(sc, plan) == []
    assert plan.kpis["profit"] == pytest.approx(502.75 * kw.get("money", 1.0), rel=1e-7)
    ev = evaluate_plan(sc, plan)
    assert plan.kpis["profit"] == pytest.approx(ev["revenue"] + ev["salvage"] - sum(ev["costs"].values()), rel=1e-9)


def _random_units(size: str, seed: int, draw: int) -> tuple[ops.Scenario, ops.Scenario, float]:
    base = generate(size, seed=seed)
    rng = np.random.default_rng(draw)
    money = float(10 ** rng.uniform(-2, 4))
    volume = float(10 ** rng.uniform(-2, 3))
    units = {p: float(10 ** rng.uniform(-3, 4)) for p in base.products["product"]}
    return base, rescale(base, money=money, volume=volume, units=units), money


@pytest.mark.parametrize("size, seed, draw", [("tiny", 1, 0), ("tiny", 1, 2)])
def test_random_units_per_product(size: str, seed: int, draw: int) -> None:
    """Products on wildly different scales in one scenario (prices 3 .. 8e5, demands 1e-5 .. 6e4)."""
    base, sc, money = _random_units(size, seed, draw)
    ref = ops.solve(base, threads=1, mip_gap=1e-9)
    plan = ops.solve(sc, threads=1, mip_gap=1e-9)
    assert check_plan(sc, plan) == []
    assert plan.kpis["status"] == ref.kpis["status"] == "optimal"
    assert plan.kpis["profit"] / money == pytest.approx(ref.kpis["profit"], rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("size, seed, draw", [(s, seed, d) for s, seed in (("tiny", 6), ("xsmall", 3), ("xsmall", 4))
                                              for d in range(3)])
def test_random_units_per_product_more(size: str, seed: int, draw: int) -> None:
    base, sc, money = _random_units(size, seed, draw)
    ref = ops.solve(base, threads=1)
    plan = ops.solve(sc, threads=1)
    assert check_plan(sc, plan) == []
    gap = sc.settings["solver.mip_gap"]
    assert plan.kpis["profit"] / money == pytest.approx(ref.kpis["profit"], rel=2 * gap)
