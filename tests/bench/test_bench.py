"""The benchmark suite (optsupply.bench, ``optsupply bench``): a fast smoke test of its code paths.

Nothing here measures performance; it checks that every spec of the registry
builds at its smallest size, that a run writes the CSV and Markdown with the
documented columns, and that failures and overruns are recorded, not raised.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import optsupply as ops
from optsupply.bench import measure, phases, report, runner, specs
from optsupply.cli import main as cli_main
from optsupply.scenario.generate import generate
from optsupply.scenario.generate_params import SIZES
from tests.conftest import INSTANCES, ROOT

TIMED = ("load", "validate", "baseline", "build", "transfer", "solve", "extract", "check")


# --------------------------------------------------------------------------- registry


def test_registry_lists_every_size_and_shipped_instance() -> None:
    assert specs.SIZES == tuple(SIZES)
    reg = specs.registry()
    assert [s.size for s in reg.values() if s.kind == "generated"] == list(SIZES)
    assert {s.seed for s in reg.values() if s.kind == "generated"} == {1}
    shipped = {Path(s.path).name for s in reg.values() if s.kind == "instance"}
    assert shipped == {"cap41", "cap71", "cap101", "cap131", "spp_12period", "ww_example_3_9",
                       "tiny", "small", "medium", "large"}
    for name in shipped:
        assert (INSTANCES / name / "scenario.toml").is_file()
    assert len(specs.registry(seeds=(1, 2))) == 2 * len(SIZES) + len(shipped)


def test_selection() -> None:
    assert [s.name for s in specs.select_specs()] == list(specs.registry())
    assert [s.name for s in specs.select_specs(["small", "tiny"], [3])] == ["tiny-s3", "small-s3"]
    assert [s.name for s in specs.select_specs(instances=["cap41"])] == ["instances/cap41"]
    assert len(specs.select_specs(["all"], instances=["all"])) == len(specs.registry())
    with pytest.raises(ops.UsageError, match="unknown instance"):
        specs.select_specs(instances=["cap999"])
    with pytest.raises(ops.UsageError, match="unknown size"):
        specs.select_specs(["huge"])


def test_method_is_checked_against_the_solve_signature() -> None:
    specs.check_method("mip")
    with pytest.raises(ops.UsageError):
        specs.check_method("simplex")
    if specs.solve_accepts_method():
        specs.check_method("decompose")
    else:
        with pytest.raises(ops.UsageError, match="only --method mip"):
            specs.check_method("decompose")


# --------------------------------------------------------------------------- phases in this process


def test_two_step_load_gives_the_same_scenario() -> None:
    """load + validate, timed apart, give what Scenario.load / generate give."""
    for spec, expected in ((specs.instance("ww_example_3_9"), ops.Scenario.load(INSTANCES / "ww_example_3_9")),
                           (specs.instance("tiny"), ops.Scenario.load(INSTANCES / "tiny")),
                           (specs.generated("tiny", 1), generate("tiny", 1))):
        run = phases.Run(spec, specs.Options(), None)
        sc = measure.load_scenario(spec, run)
        assert run.row["load_wall_s"] > 0 and run.row["validate_wall_s"] > 0
        assert sc.settings == expected.settings
        for name, df in expected.tables():
            assert getattr(sc, name).equals(df), name


SMALLEST = [specs.generated("tiny", 1)] + [specs.instance(n) for n in specs.INSTANCE_NAMES
                                            if n not in specs.BIG_INSTANCES]


@pytest.mark.parametrize("spec", SMALLEST, ids=lambda s: s.name)
def test_every_family_builds_at_its_smallest_size(spec: specs.Spec) -> None:
    row = measure.run_spec(spec, specs.Options(solve=False))
    assert row["status"] == "built", row["message"]
    for phase in ("load", "validate", "build", "transfer"):
        assert row[f"{phase}_wall_s"] > 0 and row[f"{phase}_cpu_s"] >= 0 and row[f"{phase}_rss_mb"] > 0
    assert row["columns"] > 0 and row["rows"] > 0 and row["nonzeros"] >= row["rows"] // 2
    assert 0 < row["binaries"] <= row["integers"] <= row["columns"]
    assert row["highs_version"].startswith("1.")
    assert row["total_wall_s"] == pytest.approx(sum(row[f"{p}_wall_s"] for p in ("load", "validate", "build",
                                                                                   "transfer")))


@pytest.mark.skipif(not specs.solve_accepts_method(), reason="optsupply.optimizer.optimize.solve has no method argument")
def test_method_is_passed_to_solve() -> None:
    """--method decompose: one timed call of optsupply.optimizer.optimize.solve(method=...), checked like any plan."""
    # a generous limit: the run ends by optimality (well under a second), so a busy machine cannot change it
    row = measure.run_spec(specs.instance("ww_example_3_9"), specs.Options(time_limit=600, method="decompose"))
    assert row["status"] == "optimal", row["message"]
    assert row["method"] == "decompose"
    assert row["solve_wall_s"] > 0 and row["build_wall_s"] is None and row["columns"] is None
    assert row["violations"] == 0 and row["uplift"] == pytest.approx(row["profit"] - row["siloed_profit"])
    assert row["profit"] == pytest.approx(row["expected_profit"])


def test_a_failing_spec_is_recorded(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "scenario.toml").write_text("[horizon]\nperiods = -3\n", encoding="utf-8")
    row = measure.run_spec(specs.instance(str(bad)), specs.Options(time_limit=5))
    assert row["status"] == "error"
    assert row["failed_phase"] in ("load", "validate")
    assert "ScenarioError" in row["message"]


# --------------------------------------------------------------------------- child processes and the CLI


def test_an_overrunning_spec_is_killed() -> None:
    """Any phase (here: the child's imports) that runs past its limit ends the spec, recorded as an error."""
    row = runner.run_in_child(specs.generated("tiny", 1), specs.Options(time_limit=5, phase_timeout=0.2), poll=0.05)
    assert row["status"] == "error"
    assert row["message"].startswith("killed: phase")
    assert row["failed_phase"] and row["solve_wall_s"] is None  # it never reached the solve


def test_a_spec_over_the_memory_limit_is_killed() -> None:
    row = runner.run_in_child(specs.generated("tiny", 1), specs.Options(time_limit=5, max_memory_gb=0.03), poll=0.05)
    assert row["status"] == "error"
    assert "over the limit of 0.0 GB (--max-memory)" in row["message"]


def test_cli_bench_runs_tiny_and_a_refdata_instance(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    code = cli_main(["bench", "--sizes", "tiny", "--instances", "ww_example_3_9", "--time-limit", "600",
                     "--out", str(out), "-q"])
    assert code == 0
    with open(out / "bench.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == list(specs.COLUMNS)
        rows = list(reader)
    assert [r["spec"] for r in rows] == ["tiny-s1", "instances/ww_example_3_9"]
    for r in rows:
        assert r["status"] == "optimal", r["message"]  # both solve in well under a second
        for phase in TIMED:
            assert float(r[f"{phase}_wall_s"]) > 0, phase
            assert float(r[f"{phase}_cpu_s"]) >= 0, phase
        assert float(r["peak_rss_mb"]) >= float(r["import_rss_mb"]) > 0
        assert int(r["columns"]) > 0 and int(r["nonzeros"]) > 0
        assert int(r["violations"]) == 0
        assert r["highs_version"] and r["threads"] == "1" and float(r["time_limit"]) == 600
        profit, siloed = float(r["profit"]), float(r["siloed_profit"])
        assert float(r["uplift"]) == pytest.approx(profit - siloed)
        assert float(r["uplift_pct"]) == pytest.approx(100 * (profit - siloed) / abs(siloed))
        assert profit >= siloed - 1e-6 * abs(siloed)  # the joint plan is at least as good (both optimal here)
        assert float(r["gap"]) >= 0 and r["bound"]
        total = sum(float(r[f"{p}_wall_s"]) for p in specs.PLAN_PHASES)
        assert float(r["total_wall_s"]) == pytest.approx(total)
    assert float(rows[1]["profit"]) == pytest.approx(float(rows[1]["expected_profit"]))  # -1380, the published
    md = (out / "bench.md").read_text(encoding="utf-8")
    assert "| spec | status | columns |" in md and "| tiny-s1 | optimal |" in md
    assert "## Growth curve" in md and "| quantity | points | vs columns |" in md


def test_bench_help_and_a_fast_parser() -> None:
    out = subprocess.run([sys.executable, "-m", "optsupply", "bench", "--help"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    for flag in ("--sizes", "--seeds", "--instances", "--time-limit", "--threads", "--out", "--method", "--no-solve"):
        assert flag in out
    code = ("import sys; from optsupply.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyomo', 'highspy', 'benchmarks')))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_python_dash_m_benchmarks_lists_the_registry() -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--list"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert "xlarge-s1" in out and "instances/cap131" in out


# --------------------------------------------------------------------------- growth curve


def test_loglog_slope_recovers_a_known_exponent() -> None:
    x = [10.0, 100.0, 1_000.0, 50_000.0]
    assert report.loglog_slope(x, [3 * v ** 1.5 for v in x]) == pytest.approx(1.5)
    assert report.loglog_slope(x, [7.0] * 4) == pytest.approx(0.0, abs=1e-12)
    assert report.loglog_slope([10.0], [1.0]) is None
    assert report.loglog_slope([10.0, 10.0], [1.0, 2.0]) is None
    assert report.loglog_slope([10.0, 100.0, 1000.0], [None, 2.0, 0.0]) is None  # one usable point


def test_growth_section_fits_the_ladder() -> None:
    rows = []
    for k, size in enumerate(["tiny", "small", "medium", "large"]):
        cols = 10 ** (k + 2)
        row = phases.empty_row(specs.generated(size), specs.Options())
        row.update(status="optimal" if k < 2 else "time_limit", columns=cols, nonzeros=4 * cols,
                   build_wall_s=2e-5 * cols, build_cpu_s=1e-5 * cols, transfer_wall_s=1e-7 * cols ** 1.3,
                   transfer_cpu_s=1e-7 * cols ** 1.3, total_wall_s=1e-3 * cols ** 0.5, total_cpu_s=1.0,
                   peak_rss_mb=150 + 1e-3 * cols, import_rss_mb=150.0)
        rows.append(row)
    rows.append({**phases.empty_row(specs.instance("cap41"), specs.Options()), "columns": 847, "build_wall_s": 1.0})
    points = report.growth_points(rows)
    assert [p["spec"] for p in points] == ["tiny-s1", "small-s1", "medium-s1", "large-s1"]  # no instances
    slopes = {s["quantity"]: s for s in report.growth_slopes(points)}
    assert slopes["build, CPU s"]["slope_columns"] == pytest.approx(1.0)
    assert slopes["transfer, CPU s"]["slope_nonzeros"] == pytest.approx(1.3)
    assert slopes["total, wall s (optimal or --no-solve only)"]["points"] == 2  # time-limited totals left out
    assert slopes["total, wall s (optimal or --no-solve only)"]["slope_columns"] == pytest.approx(0.5)
    assert slopes["peak RSS above the imports, MB"]["slope_columns"] == pytest.approx(1.0)
    md = "\n".join(report.growth_markdown(rows))
    assert "| build, CPU s | 4 | 1 | 1 |" in md
    assert not math.isnan(slopes["build + transfer, CPU s"]["slope_columns_largest_3"])


# --------------------------------------------------------------------------- an installed package, no checkout


def _install_without_checkout(target: Path) -> None:
    """``pip install --no-deps --no-build-isolation --target TARGET`` of a copy of the package's sources (the
    checkout itself is never built in); where this environment's setuptools cannot build a wheel offline (no
    ``bdist_wheel``), the package folder is copied instead: a wheel of optsupply holds exactly its .py files."""
    src = target.parent / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "optsupply", src / "optsupply", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--no-index", "--target", str(target), str(src)], capture_output=True, text=True)
    if pip.returncode != 0:
        assert "invalid command 'bdist_wheel'" in pip.stdout + pip.stderr, pip.stdout + pip.stderr
        assert not [p for p in (ROOT / "optsupply").rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
        shutil.copytree(src / "optsupply", target / "optsupply", ignore=ignore)
    assert (target / "optsupply" / "bench" / "measure.py").is_file()


@pytest.mark.slow  # about 40 s: an install and four fresh interpreters
def test_bench_runs_from_an_installed_package_without_a_checkout(tmp_path: Path) -> None:
    """optsupply bench after a plain install, from another folder: generated sizes run (each in a child that
    imports the installed package), shipped instances by name are a clear usage error, the checkout is never used."""
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    _install_without_checkout(site)
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import optsupply.bench.specs as s; print(s.__file__, s.INSTANCES)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert where == [str(site / "optsupply" / "bench" / "specs.py"), "None"]  # the installed copy, no checkout
    run = subprocess.run([sys.executable, "-m", "optsupply", "bench", "--sizes", "tiny", "--time-limit", "30",
                          "--out", "OUT", "-q"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    with open(elsewhere / "OUT" / "bench.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["spec"], r["status"]) for r in rows] == [("tiny-s1", "optimal")], rows
    md = (elsewhere / "OUT" / "bench.md").read_text(encoding="utf-8")
    assert "| tiny-s1 | optimal |" in md and "an installed package" in md
    for text in (md, (elsewhere / "OUT" / "bench.csv").read_text(encoding="utf-8"), run.stdout, run.stderr):
        assert str(ROOT) not in text
    shipped = subprocess.run([sys.executable, "-m", "optsupply", "bench", "--instances", "cap41", "--list"],
                             cwd=elsewhere, env=env, capture_output=True, text=True)
    assert shipped.returncode == 2
    assert shipped.stderr.startswith("error: the shipped instance 'cap41' is in the instances/ folder of a source "
                                     "checkout"), shipped.stderr
    listed = subprocess.run([sys.executable, "-m", "optsupply", "bench", "--list"], cwd=elsewhere, env=env,
                            capture_output=True, text=True, check=True).stdout
    assert "xlarge-s1" in listed and "instances/" not in listed
    helped = subprocess.run([sys.executable, "-m", "optsupply", "bench", "--help"], cwd=elsewhere, env=env,
                            capture_output=True, text=True, check=True).stdout
    assert "optsupply-bench in the current folder" in " ".join(helped.split())
