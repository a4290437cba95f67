"""Outputs never touch inputs: one guard (optsupply.files) for every command that writes.

The rule (optsupply/files.py): never into, over or above an input, the current
folder, the home folder or the root; ``--force`` replaces only a folder
optsupply wrote (its ``.optsupply`` marker); a file output never replaces an
input; stale temporary siblings are cleaned by the next write; a failed write
says so; the location is checked before the work, not after.

The first tests replay the data-loss cases found by trying the commands as an
adversarial user would; the property test then throws random relative,
absolute and symlinked targets at random input layouts and checks that not a
byte of an input (or of a folder optsupply did not write) changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optsupply as ops
from optsupply.cli import main
from optsupply.errors import UsageError, WriteError
from optsupply.files import MARKER, clean_stale, guard_file, guard_folder, read_marker, write_file, write_folder
from optsupply.scenario.generate import generate
from tests.conftest import INSTANCES


def snapshot(*roots: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``roots``: path -> bytes (None for a folder)."""
    out: dict[str, bytes | None] = {}
    for root in roots:
        if root.is_file():
            out[str(root)] = root.read_bytes()
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            out[dirpath] = None
            for f in filenames:
                p = Path(dirpath, f)
                out[str(p)] = None if p.is_symlink() else p.read_bytes()
    return out


@pytest.fixture(scope="module")
def tiny_plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plans") / "tp"
    ops.solve(ops.Scenario.load(INSTANCES / "tiny"), threads=1).save(folder)
    return folder


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    dst = tmp_path / "instances" / "tiny"
    shutil.copytree(INSTANCES / "tiny", dst)
    return dst


# ---------------------------------------------------------------------- the reported cases


def test_sensitivity_never_writes_over_or_into_the_scenario(tiny_dir: Path, tiny_plan_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    before = snapshot(tmp_path)
    plan_before = snapshot(tiny_plan_dir)
    for out in (tiny_dir / "demand.csv", tiny_dir, tiny_dir / "new.csv", tiny_plan_dir, tiny_plan_dir / "s.csv"):
        assert main(["sensitivity", str(tiny_dir), "--plan", str(tiny_plan_dir), "--out", str(out),
                     "--no-launch-earlier", "--threads", "1"]) == 2
        err = capsys.readouterr().err
        assert "never writes into or over its inputs" in err and "Traceback" not in err
    assert snapshot(tmp_path) == before and snapshot(tiny_plan_dir) == plan_before


def test_forecast_force_never_deletes_the_scenario_or_the_current_folder(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture) -> None:
    p = tmp_path / "p"
    generate("tiny", seed=1).save(p / "sc")
    (p / "notes.txt").write_text("unrelated")
    before = snapshot(tmp_path)
    monkeypatch.chdir(p)
    for out in (str(p), ".", str(p / "sc"), str(p / "sc" / "fc"), str(tmp_path)):
        assert main(["forecast", str(p / "sc"), "--out", out, "--force", "--no-backtest", "-q"]) == 2
        assert "--out" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_generate_force_never_deletes_the_current_folder_or_a_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture) -> None:
    b = tmp_path / "a" / "b"
    b.mkdir(parents=True)
    (b / "work.txt").write_text("mine")
    (tmp_path / "a" / "other.txt").write_text("also mine")
    before = snapshot(tmp_path)
    monkeypatch.chdir(b)
    for out in ("../b", ".", "..", str(tmp_path / "a"), str(tmp_path), "./../b/../b"):
        assert main(["generate", "--size", "tiny", "--seed", "1", out, "--force"]) == 2
        assert "current folder" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_home_and_root_are_never_replaced(tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    home = tmp_path / "home"
    (home / "docs").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    for out in (str(home), "~", "/"):
        target = os.path.expanduser(out)
        assert main(["solve", str(tiny_dir), "--out", target, "-q", "--force"]) == 2
        assert "home folder" in capsys.readouterr().err or target == "/"
    assert (home / "docs").is_dir()


def test_force_replaces_only_what_optsupply_wrote(tiny_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "budget.xlsx").write_bytes(b"not ours")
    before = snapshot(foreign)
    commands = [["generate", "--size", "tiny", "--seed", "1", str(foreign), "--force"],
                ["solve", str(tiny_dir), "--out", str(foreign), "-q", "--force"],
                ["whatif", str(tiny_dir), "--set", "products.price[P2]=*1.1", "--out", str(foreign), "-q", "--force"]]
    for cmd in commands:
        assert main(cmd) == 2
        assert "not written by optsupply" in capsys.readouterr().err
    assert snapshot(foreign) == before
    # a folder optsupply wrote is replaced with --force
    ours = tmp_path / "ours"
    assert main(["generate", "--size", "tiny", "--seed", "1", str(ours)]) == 0
    assert read_marker(ours) == "scenario"
    assert main(["generate", "--size", "tiny", "--seed", "1", str(ours)]) == 2   # exists: needs --force
    assert main(["generate", "--size", "tiny", "--seed", "2", str(ours), "--force"]) == 0
    assert read_marker(ours) == "scenario" and ops.Scenario.load(ours).warnings == []


def test_whatif_never_writes_over_or_above_its_sweep_file(tiny_dir: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    sweep_file = tmp_path / "s" / "grid.csv"
    sweep_file.parent.mkdir()
    sweep_file.write_text("name,products.price[P2]\nup,*1.1\n")
    before = snapshot(tmp_path)
    for out in (sweep_file, sweep_file.parent, tmp_path):
        assert main(["whatif", str(tiny_dir), "--sweep", str(sweep_file), "--out", str(out), "-q", "--force"]) == 2
        assert "--out" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_compare_out_never_lands_in_a_plan_folder(tiny_plan_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    other = tmp_path / "copy"
    shutil.copytree(tiny_plan_dir, other)
    before = snapshot(tiny_plan_dir) | snapshot(other)
    for out in (tiny_plan_dir / "notes.txt", other / "orders.csv", tiny_plan_dir / "kpis.csv"):
        assert main(["compare", str(tiny_plan_dir), str(other), "--out", str(out)]) == 2
        assert "never writes into or over its inputs" in capsys.readouterr().err
    assert snapshot(tiny_plan_dir) | snapshot(other) == before


def test_symlinks_cannot_smuggle_a_write_into_an_input(tiny_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "link").symlink_to(tiny_dir, target_is_directory=True)
    (tmp_path / "up").symlink_to(tiny_dir.parent, target_is_directory=True)
    before = snapshot(tiny_dir)
    for out in (tmp_path / "link", tmp_path / "link" / "plan", tmp_path / "up", tmp_path / "up" / "tiny" / "p"):
        assert main(["solve", str(tiny_dir), "--out", str(out), "-q", "--force"]) == 2
        assert "input" in capsys.readouterr().err
    assert snapshot(tiny_dir) == before


def test_location_is_checked_before_the_solve(tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    import optsupply.optimizer.optimize

    def no_solve(*args: object, **kwargs: object) -> None:
        raise AssertionError("the solve started although the output cannot be written")

    monkeypatch.setattr(optsupply.optimizer.optimize, "solve", no_solve)
    (tmp_path / "file.txt").write_text("x")
    assert main(["solve", str(tiny_dir), "--out", str(tmp_path / "file.txt" / "plan"), "-q"]) == 2
    assert "is not a folder" in capsys.readouterr().err

    def unwritable(*args: object, **kwargs: object) -> str:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkdtemp", unwritable)
    assert main(["solve", str(tiny_dir), "--out", str(tmp_path / "plan"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "read-only" in err.lower()


def test_a_failed_write_says_so_and_leaves_nothing(tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture) -> None:
    real = pd.DataFrame.to_csv
    calls: list[int] = []

    def disk_full(self: pd.DataFrame, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    assert main(["solve", str(tiny_dir), "--out", str(tmp_path / "plan"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "could not write" in err and "No space left on device" in err and "nothing was written" in err
    assert "internal error" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instances"]
    calls.clear()
    with pytest.raises(WriteError, match="nothing was written"):  # the API raises an OSError naming the target
        ops.Scenario.load(tiny_dir).save(tmp_path / "copy")


def test_stale_temporary_siblings_are_cleaned_by_the_next_write(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    live_pid = os.getppid()  # a process that still runs: its write may be in progress
    target = tmp_path / "plan"
    stale = [tmp_path / f".plan.tmp-{dead_pid}-0a1b2c3d", tmp_path / f".plan.old-{dead_pid}-deadbeef"]
    stale[0].mkdir()
    (stale[0] / "kpis.json").write_text("{}")
    stale[1].write_text("old")
    busy = tmp_path / f".plan.tmp-{live_pid}-12345678"
    busy.mkdir()
    unrelated = tmp_path / ".other.tmp-1-00000000"
    unrelated.mkdir()
    write_folder(target, lambda f: (f / "a.txt").write_text("new"), kind="plan")
    assert not any(p.exists() for p in stale)
    assert busy.exists() and unrelated.exists() and (target / "a.txt").read_text() == "new"
    # the same for files
    (tmp_path / f".x.csv.tmp-{dead_pid}-abcdef01").write_text("half")
    write_file(tmp_path / "x.csv", lambda t: t.write_text("a\n"))
    assert not (tmp_path / f".x.csv.tmp-{dead_pid}-abcdef01").exists()
    assert clean_stale(tmp_path / "x.csv") == []


def test_api_saves_follow_the_same_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = ops.Scenario.load(INSTANCES / "tiny")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="current folder"):
        sc.save(".", overwrite=True)
    src = tmp_path / "src"
    sc.save(src)
    loaded = ops.Scenario.load(src)
    with pytest.raises(UsageError, match="input"):
        loaded.save(src, overwrite=True)
    with pytest.raises(UsageError, match="input"):
        loaded.save(tmp_path, overwrite=True)
    book = tmp_path / "t.xlsx"
    sc.save(book)
    with pytest.raises(UsageError, match="already exists"):
        sc.save(book)
    with pytest.raises(UsageError, match="input"):
        ops.Scenario.load(book).save(book, overwrite=True)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="existing file"):
        sc.save(tmp_path / "notes.txt", overwrite=True)   # neither a folder nor a workbook: refused
    assert (tmp_path / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------------------- property test


KINDS = ["plan", "scenario", "forecast", "whatif"]
FOLDERS = ["a", "a/b", "a/b/c", "d", "d/e", "f"]


@st.composite
def layouts(draw: st.DrawFn) -> dict:
    """Where the inputs, a planner's own folder, an optsupply folder, the current folder and links are."""
    places = draw(st.permutations(FOLDERS))
    return {
        "scenario": places[0] + "/sc",          # a scenario folder (an input)
        "plan": places[1] + "/plan",            # a plan folder read (an input, and optsupply wrote it)
        "book": places[2] + "/book.xlsx",       # a workbook (an input)
        "sweep": places[3] + "/grid.toml",      # a sweep file (an input)
        "foreign": places[4] + "/mine",         # a planner's own folder (not an input)
        "ours": places[5] + "/old-output",      # a folder optsupply wrote earlier (not an input)
        "cwd": draw(st.sampled_from(["", *FOLDERS])),
        "link_to": draw(st.sampled_from(FOLDERS + ["SC", "PLAN"])),
    }


NAMES = ["", ".", "..", "a", "a/b", "d/e", "f/new", "new", "SC", "SC/x", "SC/demand.csv", "PLAN", "PLAN/kpis.json",
         "BOOK", "SWEEP", "FOREIGN", "FOREIGN/sub", "OURS", "OURS/..", "link", "link/x", "link/..", "/", "~"]


def _build(root: Path, lay: dict) -> dict[str, Path]:
    for f in FOLDERS:
        (root / f).mkdir(parents=True, exist_ok=True)
    sc = root / lay["scenario"]
    sc.mkdir()
    (sc / "scenario.toml").write_text("name = 'x'\n")
    (sc / "demand.csv").write_text("product,region,period,units\n")
    plan = root / lay["plan"]
    plan.mkdir()
    (plan / "kpis.json").write_text('{"status": "optimal"}\n')
    (plan / MARKER).write_text('{"kind": "plan"}\n')
    (root / lay["book"]).write_bytes(b"PK\x03\x04workbook")
    (root / lay["sweep"]).write_text("[[variant]]\n")
    foreign = root / lay["foreign"]
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    (foreign / "sub").mkdir()
    (foreign / "sub" / "draft.csv").write_text("x\n")
    ours = root / lay["ours"]
    ours.mkdir()
    (ours / MARKER).write_text('{"kind": "plan"}\n')
    (ours / "kpis.json").write_text("{}\n")
    link_to = {"SC": sc, "PLAN": plan}.get(lay["link_to"], root / lay["link_to"])
    (root / "link").symlink_to(link_to, target_is_directory=True)
    return {"SC": sc, "PLAN": plan, "BOOK": root / lay["book"], "SWEEP": root / lay["sweep"], "FOREIGN": foreign,
            "OURS": ours}


def _spell(name: str, root: Path, cwd: Path, places: dict[str, Path], form: str) -> str:
    """A target path spelled relative to the current folder, absolute, or with a detour through '..'."""
    if name in ("/", "~"):
        return name
    head, _, tail = name.partition("/")
    base = places.get(head, root / head) if head else root
    path = base / tail if tail else base
    if form == "relative":
        return os.path.relpath(path, cwd)
    if form == "detour":
        return str(path.parent / "zz" / ".." / path.name)
    return str(path)


@settings(max_examples=150, deadline=None, derandomize=True, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(lay=layouts(), name=st.sampled_from(NAMES), form=st.sampled_from(["relative", "absolute", "detour"]),
       kind=st.sampled_from(KINDS), force=st.booleans(), same=st.booleans(), as_file=st.booleans())
def test_no_target_ever_changes_an_input(lay: dict, name: str, form: str, kind: str, force: bool, same: bool,
                                         as_file: bool) -> None:
    old_cwd = os.getcwd()
    old_home = os.environ.get("HOME")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        places = _build(root, lay)
        cwd = root / lay["cwd"] if lay["cwd"] else root
        os.environ["HOME"] = str(root / "d")
        inputs = [places["SC"], places["PLAN"], places["BOOK"], places["SWEEP"]]
        protected = snapshot(*inputs, places["FOREIGN"])
        cwd_entries = snapshot(cwd) if cwd.exists() else {}
        try:
            os.chdir(cwd)
            target = os.path.expanduser(_spell(name, root, cwd, places, form))
            try:
                if as_file:
                    path = guard_file(target, inputs=inputs, suffixes=(".csv", ".json"))
                    write_file(path, lambda t: t.write_text("out\n"))
                else:
                    existed = Path(target).exists()
                    marked = read_marker(target) if existed else None
                    path = guard_folder(target, kind=kind, inputs=inputs, force=force, replace_same_kind=same)
                    # what passes is new, empty, or a folder optsupply wrote (and then force or the same kind)
                    assert not existed or not any(Path(target).iterdir()) or (
                        marked is not None and (force or (same and marked == kind)))
                    write_folder(path, lambda f: (f / "out.txt").write_text("out\n"), kind=kind)
                    assert read_marker(path) == kind
            except UsageError:
                pass
        finally:
            os.chdir(old_cwd)
            if old_home is None:
                os.environ.pop("HOME", None)
            else:
                os.environ["HOME"] = old_home
        assert snapshot(*inputs, places["FOREIGN"]) == protected
        # the current folder and everything in it are still there (a new entry may have been added)
        after = snapshot(cwd)
        ours = places["OURS"]
        for k, v in cwd_entries.items():
            if Path(k) != ours and ours not in Path(k).parents:  # only a folder optsupply wrote may be replaced
                assert k in after and after[k] == v, k
