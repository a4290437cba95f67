"""Inputs that would exhaust the machine are refused up front, and bad options give one clean error line.

* :class:`~optsupply.scenario.limits.Limits` bounds the columns of a table (a workbook sheet's
  used range is checked while it is streamed, before its rows become a table),
  the horizon, the model's estimated columns and a sweep's variants; each limit
  has an environment variable and a ``Limits`` field to raise it.
* Solver threads are capped at the cores available (with a note); the time
  limit covers preparing, building and transferring the model.
* ``--time-limit``, ``--gap``, ``--threads`` and ``--seed`` follow the rule of
  scenario.toml's ``[solver]`` settings in every command that takes them.
* Exit 2 with one line (no traceback, no "internal error") for deeply nested
  TOML, a kpis.json that is not an object, ids that read back as missing,
  history values the forecast cannot handle, bad season lengths.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import optsupply as ops
from optsupply import Limits, Scenario, ScenarioError, UsageError
from optsupply.scenario import coerce as _coerce
from optsupply.scenario import workbook as _workbook
from optsupply.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "instances" / "tiny"
SMALL = ROOT / "instances" / "small"


def cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def one_error_line(code: int, text: str) -> str:
    """The single error line of a clean usage error (exit 2); a progress line ("solving ...") and the count of a
    scenario's problems may come with it."""
    assert code == 2, text
    assert "internal error" not in text and "Traceback" not in text, text
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("solving <")
             and ln != "1 error, 0 warnings"]
    assert len(lines) == 1, text
    assert lines[0].startswith("error: "), text
    return lines[0]


def problems(path: Path, **kw) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        Scenario.load(path, **kw)
    return [str(p) for p in info.value.report.problems]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the "unused-*" outputs below must never be written; if they were, not here


@pytest.fixture
def sc(tmp_path: Path) -> Path:
    target = tmp_path / "tiny"
    shutil.copytree(TINY, target)
    return target


def set_toml(folder: Path, old: str, new: str) -> None:
    path = folder / "scenario.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def workbook_with_cell(tmp_path: Path, cell: str, sheet: str = "products") -> Path:
    book = tmp_path / "book.xlsx"
    Scenario.load(TINY).save(book)
    wb = openpyxl.load_workbook(book)
    wb[sheet][cell] = "x"
    wb.save(book)
    return book


# ------------------------------------------------------------------------------------------- Limits


def test_limits_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = Limits()
    assert (limits.max_columns, limits.max_periods, limits.max_model_columns, limits.max_variants) == \
        (1_000, 1_000, 3_000_000, 10_000)
    for var, name, value in [("OPTSUPPLY_MAX_COLUMNS", "max_columns", 7), ("OPTSUPPLY_MAX_PERIODS", "max_periods", 8),
                             ("OPTSUPPLY_MAX_MODEL_COLUMNS", "max_model_columns", 9),
                             ("OPTSUPPLY_MAX_VARIANTS", "max_variants", 10)]:
        monkeypatch.setenv(var, str(value))
        assert getattr(Limits(), name) == value
        monkeypatch.setenv(var, "-1")
        with pytest.raises(UsageError, match=var):
            Limits()
        monkeypatch.delenv(var)


@pytest.mark.parametrize("kw", [{"max_columns": 0}, {"max_periods": 2.5}, {"max_model_columns": True},
                                {"max_variants": "many"}])
def test_limits_refuse_bad_values(kw: dict) -> None:
    with pytest.raises(UsageError, match=next(iter(kw))):
        Limits(**kw)


# ------------------------------------------------------------------------------------------- workbooks


def test_xlsx_far_cell_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """A 12 KB workbook with one cell at XFD1048576 used to take 24 GB; now about 100 MB under a 1.5 GB cap."""
    book = workbook_with_cell(tmp_path, "XFD1048576")
    assert book.stat().st_size < 50_000
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000)); "
            "from optsupply.cli import main; sys.exit(main(['validate', sys.argv[1]]))")
    run = subprocess.run([sys.executable, "-c", code, str(book)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    assert run.returncode == 2, run.stderr[-2000:]
    assert ("error: book.xlsx[products], row 1048576: the sheet's used range reaches cell XFD1048576: it has 16,384 "
            "columns, more than the limit of 1,000 (raise it with OPTSUPPLY_MAX_COLUMNS or Limits(max_columns=...))"
            in run.stderr)
    assert "internal error" not in run.stderr


def test_xlsx_wide_sheet_is_refused_before_its_rows_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = workbook_with_cell(tmp_path, "XFD2000")
    converted = []
    cell_text = _workbook.cell_text
    monkeypatch.setattr(_workbook, "cell_text", lambda v: converted.append(1) or cell_text(v))
    found = problems(book)
    assert any("book.xlsx[products], row 2000: the sheet's used range reaches cell XFD2000" in p for p in found)
    assert len(converted) < 1_000  # the sheet's 16,384 x 2,000 cells are never turned into text


def test_xlsx_columns_within_a_raised_limit_are_read(tmp_path: Path) -> None:
    book = workbook_with_cell(tmp_path, "AZ3")
    assert problems(book, limits=Limits(max_columns=20))[0].startswith(
        "error: book.xlsx[products], row 3: the sheet's used range reaches cell AZ3: it has 52 columns")
    report = ops.validate(book, limits=Limits(max_columns=52))
    assert report.ok and any("column AZ has values but no header" in str(p) for p in report.warnings)


def test_xlsx_far_row_in_column_a_stays_small(tmp_path: Path) -> None:
    """A cell at A1048576 is within the limits: the blank rows between cost next to nothing."""
    book = workbook_with_cell(tmp_path, "A60000")
    found = problems(book)
    assert found and all("book.xlsx[products], row 60000, column " in p for p in found)  # nothing per blank row


def test_csv_header_beyond_the_column_limit(sc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    df = pd.read_csv(sc / "products.csv", dtype=str, keep_default_na=False)
    wide = pd.concat([df, pd.DataFrame({f"extra{i}": [""] * len(df) for i in range(1_000)})], axis=1)
    wide.to_csv(sc / "products.csv", index=False)
    assert problems(sc) == [f"error: products.csv, row 1: has {wide.shape[1]:,} columns, more than the limit of "
                            "1,000 (raise it with OPTSUPPLY_MAX_COLUMNS or Limits(max_columns=...))"]
    monkeypatch.setenv("OPTSUPPLY_MAX_COLUMNS", "2000")
    Scenario.load(sc)


def test_many_unknown_columns_are_one_warning_past_twenty(sc: Path) -> None:
    df = pd.read_csv(sc / "products.csv", dtype=str, keep_default_na=False)
    extra = pd.DataFrame({f"extra{i}": [""] * len(df) for i in range(900)})
    pd.concat([df, extra], axis=1).to_csv(sc / "products.csv", index=False)
    report = ops.validate(sc)
    assert report.ok
    unknown = [str(p) for p in report.warnings if "unknown column" in p.message]
    assert len(unknown) == 21
    assert unknown[-1] == "warning: products.csv, row 1: 880 more unknown columns (extra20, extra21, extra22, ...), ignored"
    code, text = cli("validate", str(sc))
    assert code == 0 and len(text.splitlines()) < 30


def test_many_unknown_settings_are_one_warning_past_twenty(sc: Path) -> None:
    with open(sc / "scenario.toml", "a") as f:
        f.write("\n[extra]\n" + "".join(f"k{i} = {i}\n" for i in range(5000)))
    report = ops.validate(sc)
    assert report.ok and len(report.warnings) == 21
    assert str(report.warnings[-1]) == "warning: scenario.toml: 4,980 more unknown settings (extra.k20, extra.k21, " \
                                       "extra.k22, ...), ignored"


# ------------------------------------------------------------------------------------------- horizon and model size


def test_horizon_beyond_the_limit(sc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_toml(sc, "periods = 6", "periods = 100000")
    message = ("error: scenario.toml, line 5, key horizon.periods: 100,000 periods, more than the limit of 1,000 "
               "(raise it with OPTSUPPLY_MAX_PERIODS or Limits(max_periods=...))")
    assert problems(sc) == [message]
    code, text = cli("solve", str(sc), "--time-limit", "20", "--out", str(sc.parent / "plan"))
    assert code == 2 and message in text
    set_toml(sc, "periods = 100000", "periods = 1500")
    assert problems(sc)[0].endswith("1,500 periods, more than the limit of 1,000 (raise it with OPTSUPPLY_MAX_PERIODS "
                                    "or Limits(max_periods=...))")
    assert Scenario.load(sc, limits=Limits(max_periods=1500)).periods == 1500
    monkeypatch.setenv("OPTSUPPLY_MAX_PERIODS", "1500")
    assert Scenario.load(sc).periods == 1500


def test_with_changes_keeps_the_horizon_limit() -> None:
    tiny = Scenario.load(TINY)
    with pytest.raises(ScenarioError, match="5,000 periods, more than the limit of 1,000"):
        tiny.with_changes({"horizon.periods": 5000})
    roomy = Scenario.load(TINY, limits=Limits(max_periods=5000))
    assert roomy.with_changes({"horizon.periods": 5000}).limits.max_periods == 5000


def test_model_estimate_is_close_and_high() -> None:
    import pyomo.environ as pyo

    from optsupply.model import build_model, estimated_columns, prepare

    for path in (TINY, SMALL):
        scenario = Scenario.load(path)
        data = prepare(scenario)
        model, _ = build_model(scenario, data)
        actual = sum(1 for _ in model.component_data_objects(pyo.Var))
        assert actual <= estimated_columns(data) <= 1.5 * actual


def test_model_beyond_the_size_limit_is_refused_before_it_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    from optsupply.model import ModelError

    small = Scenario.load(TINY, limits=Limits(max_model_columns=100))
    with pytest.raises(ModelError, match=r"the model of 'tiny' would have about [0-9,]+ columns .*more than the limit "
                                         r"of 100 \(raise it with OPTSUPPLY_MAX_MODEL_COLUMNS"):
        ops.solve(small)
    monkeypatch.setenv("OPTSUPPLY_MAX_MODEL_COLUMNS", "100")
    line = one_error_line(*cli("solve", str(TINY), "-q", "--out", "unused-plan"))
    assert "more than the limit of 100 (raise it with OPTSUPPLY_MAX_MODEL_COLUMNS" in line
    assert not Path("unused-plan").exists()


# ------------------------------------------------------------------------------------------- the time limit


def test_time_limit_spent_before_highs_starts() -> None:
    plan = ops.solve(TINY, method="mip", time_limit=1e-9)
    assert plan.kpis["status"] == "time_limit" and plan.kpis["profit"] is None
    assert "ran out while preparing the model data" in plan.kpis["message"]
    assert "before HiGHS could start" in plan.kpis["message"]


def test_build_and_transfer_check_the_clock() -> None:
    from optsupply.errors import TimeLimitSpent
    from optsupply.model import build_model
    from optsupply.optimizer.highs import SolveOptions, solve_model
    from optsupply.plan.core import TIME_LIMIT

    scenario = Scenario.load(TINY)
    with pytest.raises(TimeLimitSpent, match="while building the model"):
        build_model(scenario, deadline=time.perf_counter() - 1)
    model, _ = build_model(scenario)
    result = solve_model(model, SolveOptions(time_limit=5), deadline=time.perf_counter() - 1)
    assert (result.status, result.has_solution) == (TIME_LIMIT, False)
    assert "ran out while building the model" in result.message
    # time left: transferred first, then HiGHS gets what is left (plenty here)
    result = solve_model(model, SolveOptions(time_limit=60, mip_gap=0), deadline=time.perf_counter() + 60)
    assert result.status == "optimal" and result.objective == pytest.approx(502.75)


def test_cli_time_limit_spent_is_no_plan_with_a_message(tmp_path: Path) -> None:
    code, text = cli("solve", str(TINY), "--time-limit", "1e-9", "--method", "mip", "-q", "--out", str(tmp_path / "p"))
    assert code == 1
    assert "no plan: the solver reported 'time_limit' (the time limit of 1e-09 s ran out" in text
    assert "internal error" not in text


# ------------------------------------------------------------------------------------------- threads


def test_threads_are_capped_at_the_cores(caplog: pytest.LogCaptureFixture) -> None:
    from optsupply.optimizer import highs as _solver
    from optsupply.optimizer.highs import SolveOptions, available_cores, solve_options

    cores = available_cores()
    _solver._threads_noted.discard(100_000)  # noted once per process
    with caplog.at_level(logging.WARNING, logger="optsupply.optimizer.highs"):
        opts = SolveOptions(threads=100_000)
    assert opts.threads == cores
    assert f"note: 100000 solver threads asked for, but {cores} core" in caplog.text
    assert solve_options(opts)["threads"] == cores
    assert SolveOptions(threads=1).threads == 1 and SolveOptions(threads=0).threads == 0
    assert SolveOptions.from_scenario({"solver.threads": 100_000}).threads == cores


def test_threads_from_the_command_line_and_scenario(sc: Path, tmp_path: Path) -> None:
    from optsupply.optimizer.highs import available_cores

    run = subprocess.run([sys.executable, "-m", "optsupply", "solve", str(TINY), "--threads", "100000", "-q",
                          "--out", str(tmp_path / "p1")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"note: 100000 solver threads asked for, but {available_cores()} core" in run.stderr
    set_toml(sc, "threads = 1", "threads = 100000")
    plan = ops.solve(sc)
    assert plan.kpis["status"] == "optimal"
    assert ops.Scenario.load(sc).settings["solver.threads"] == 100_000  # accepted, capped when solving
    assert available_cores() >= 1


# ------------------------------------------------------------------------------------------- solver options


BAD_OPTIONS = [(["--time-limit", "-1"], "--time-limit -1: -1.0 is out of range: must be > 0"),
               (["--time-limit", "nan"], "--time-limit nan: NaN is not allowed"),
               (["--threads", "-3"], "--threads -3: -3 is out of range: must be ≥ 0"),
               (["--gap", "-1"], "--gap -1: -1.0 is out of range: must be ≥ 0 and ≤ 1"),
               (["--gap", "5"], "--gap 5: 5.0 is out of range: must be ≥ 0 and ≤ 1")]
COMMANDS = {"solve": ["solve", str(TINY), "--out", "unused-plan"],
            "whatif": ["whatif", str(TINY), "--set", "products.price[P1]=*0.9", "--out", "unused-whatif"],
            "sensitivity": ["sensitivity", str(TINY), "--out", "unused.csv"],
            "bench": ["bench", "--sizes", "tiny", "--out", "unused-bench"]}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("option,message", BAD_OPTIONS)
def test_bad_solver_options_are_one_clean_line(command: str, option: list[str], message: str) -> None:
    line = one_error_line(*cli(*COMMANDS[command], *option))
    assert line == f"error: {message}"
    assert not any(Path(p).exists() for p in ("unused-plan", "unused-whatif", "unused.csv", "unused-bench"))


def test_every_problem_of_the_options_at_once() -> None:
    line = one_error_line(*cli("sensitivity", str(TINY), "--time-limit", "-1", "--gap", "5", "--resolve-time-limit",
                               "0", "--seed", "-2"))
    for part in ("--time-limit -1", "--gap 5", "--resolve-time-limit 0", "--seed -2"):
        assert part in line


@pytest.mark.parametrize("setting,value,message", [
    ("mip_gap", "5", "key solver.mip_gap: 5.0 is out of range: must be ≥ 0 and ≤ 1"),
    ("mip_gap", "-1", "key solver.mip_gap: -1.0 is out of range: must be ≥ 0 and ≤ 1"),
    ("time_limit", "-1", "key solver.time_limit: -1.0 is out of range: must be > 0"),
    ("threads", "-3", "key solver.threads: -3 is out of range: must be ≥ 0"),
])
def test_the_same_rule_in_scenario_toml(sc: Path, setting: str, value: str, message: str) -> None:
    old = {"mip_gap": "mip_gap = 0", "time_limit": "time_limit = 60", "threads": "threads = 1"}[setting]
    set_toml(sc, old, f"{setting} = {value}")
    found = problems(sc)
    assert len(found) == 1 and found[0].startswith("error: scenario.toml, line ") and found[0].endswith(message)


@pytest.mark.parametrize("kw", [{"time_limit": -1}, {"mip_gap": 5}, {"threads": -3}, {"time_limit": math.nan}])
def test_the_same_rule_in_the_api(kw: dict) -> None:
    with pytest.raises(UsageError, match=f"{next(iter(kw))}="):
        ops.solve(TINY, **kw)


# ------------------------------------------------------------------------------------------- sweeps


def write_grid(path: Path, keys: list[str], n: int) -> Path:
    lines = ["[grid]"] + [f'"{k}" = [' + ", ".join(f'"*{1 + i / 100}"' for i in range(n)) + "]" for k in keys]
    path.write_text("\n".join(lines) + "\n")
    return path


GRID_KEYS = ["products.price[P1]", "products.price[P2]", "products.price[P3]", "products.unit_cost[P1]",
             "products.unit_cost[P2]", "advertising.total_budget"]


def test_a_huge_grid_is_counted_not_expanded(tmp_path: Path) -> None:
    from optsupply.scenario.sweep_file import load_sweep

    grid = write_grid(tmp_path / "grid.toml", GRID_KEYS, 50)
    assert grid.stat().st_size < 4_000
    with pytest.raises(UsageError, match=r"the grid makes 15,625,000,000 variants \(50 × 50 × 50 × 50 × 50 × 50 "
                                         r"values\), more than the limit of 10,000 \(raise it with "
                                         r"OPTSUPPLY_MAX_VARIANTS or Limits\(max_variants=...\)\)"):
        load_sweep(grid)
    code, text = cli("whatif", str(TINY), "--sweep", str(grid), "--out", str(tmp_path / "out"))
    assert code == 2 and "15,625,000,000 variants" in text and "internal error" not in text


def test_variant_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from optsupply.scenario.sweep_file import load_sweep

    grid = write_grid(tmp_path / "grid.toml", GRID_KEYS[:2], 2)
    assert len(load_sweep(grid)) == 4
    with pytest.raises(UsageError, match="the grid makes 4 variants"):
        load_sweep(grid, limits=Limits(max_variants=3))
    listed = tmp_path / "sweep.csv"
    listed.write_text("name,products.price[P1]\n" + "".join(f"v{i},*{1 + i / 10}\n" for i in range(5)))
    assert len(load_sweep(listed)) == 5
    monkeypatch.setenv("OPTSUPPLY_MAX_VARIANTS", "3")
    with pytest.raises(UsageError, match="5 variants, more than the limit of 3"):
        load_sweep(listed)


# ------------------------------------------------------------------------------------------- forecast


@pytest.mark.parametrize("length", ["1000000000", "-3", "0"])
def test_bad_season_length(tmp_path: Path, length: str) -> None:
    code, text = cli("forecast", str(SMALL), "--season-length", length, "--no-backtest", "-q",
                     "--out", str(tmp_path / "fc"))
    assert code == 2 and "internal error" not in text
    assert (f"error: season length {int(length)}: must be a whole number of periods from 1 (no seasonality) to "
            "1,000 (raise the limit with OPTSUPPLY_MAX_PERIODS or Limits(max_periods=...))") in text
    assert not (tmp_path / "fc").exists()


def test_season_length_limits_in_the_api() -> None:
    from optsupply.forecasting import check_season_length

    small = Scenario.load(SMALL)
    for bad in (0, -3, 10**9, 2.5, True, "12"):
        with pytest.raises(UsageError, match="season length"):
            ops.forecast(small, season_length=bad, backtest=False)
    assert check_season_length(1000, small) == 1000 and check_season_length(12.0) == 12


def test_history_magnitudes_blame_history(tmp_path: Path) -> None:
    folder = tmp_path / "small"
    shutil.copytree(SMALL, folder)
    df = pd.read_csv(folder / "history.csv", dtype=str, keep_default_na=False)
    df.loc[5, "units"] = "1e300"
    df.loc[6, "ad_spend"] = "1e300"
    df.to_csv(folder / "history.csv", index=False)
    assert problems(folder) == [
        "error: history.csv, row 7, column units: 1e+300 is out of range: must be ≥ 0 and ≤ 1e+12",
        "error: history.csv, row 8, column ad_spend: 1e+300 is out of range: must be ≥ 0 and ≤ 1e+12"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, text = cli("forecast", str(folder), "--no-backtest", "-q", "--out", str(tmp_path / "fc"))
    assert code == 2 and "demand.csv" not in text and "history.csv, row 7, column units" in text
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_largest_history_values_forecast_without_warnings(tmp_path: Path) -> None:
    folder = tmp_path / "small"
    shutil.copytree(SMALL, folder)
    df = pd.read_csv(folder / "history.csv", dtype=str, keep_default_na=False)
    df.loc[5, "units"] = "1e12"
    df.loc[6, "ad_spend"] = "1e12"
    df.to_csv(folder / "history.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fc = ops.forecast(Scenario.load(folder), backtest=False)
    assert fc.scenario.demand["demand"].notna().all()


# ------------------------------------------------------------------------------------------- clean errors


def test_deeply_nested_scenario_toml(sc: Path) -> None:
    with open(sc / "scenario.toml", "a") as f:
        f.write("\n[extra]\nx = " + "[" * 100_000 + "]" * 100_000 + "\n")
    found = problems(sc)
    assert len(found) == 1
    assert found[0].startswith("error: scenario.toml, line 23: values are nested too deeply")
    assert "to be read: a setting is a single value" in found[0]
    line = one_error_line(*cli("solve", str(sc), "--out", str(sc.parent / "plan")))
    assert "nested too deeply" in line


def test_deeply_nested_inline_tables_and_keys(sc: Path) -> None:
    text = (sc / "scenario.toml").read_text()
    (sc / "scenario.toml").write_text("x = " + "{a=" * 3000 + "1" + "}" * 3000 + "\n" + text)
    assert problems(sc)[0].startswith("error: scenario.toml, line 1: values are nested too deeply")
    (sc / "scenario.toml").write_text(text + "\n[deep]\nk" + ".k" * 5000 + " = 1\n")
    report = ops.validate(sc)
    assert report.ok and "unknown setting" in str(report.warnings[0])


def test_deeply_nested_sweep_file(tmp_path: Path) -> None:
    sweep = tmp_path / "deep.toml"
    sweep.write_text('[[variant]]\nname = "x"\nset = ' + "[" * 100_000 + "]" * 100_000 + "\n")
    code, text = cli("whatif", str(TINY), "--sweep", str(sweep), "--out", str(tmp_path / "out"))
    assert code == 2 and "line 3: values are nested too deeply" in text and "internal error" not in text


@pytest.fixture(scope="module")
def tiny_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plans") / "tiny-plan"
    ops.solve(TINY, method="mip").save(out)
    return out


@pytest.mark.parametrize("kpis,message", [
    ("[1, 2]", "kpis.json: is a list, not an object of KPI names and values"),
    ("[" * 100_000 + "]" * 100_000, "kpis.json: values are nested too deeply"),
    ('{"status": "optimal", "costs": [1]}', "kpis.json: 'costs' must be an object"),
    ("7", "kpis.json: is a number, not an object"),
])
def test_compare_refuses_a_kpis_json_that_is_not_an_object(tiny_plan: Path, tmp_path: Path, kpis: str,
                                                           message: str) -> None:
    other = tmp_path / "other"
    shutil.copytree(tiny_plan, other)
    (other / "kpis.json").write_text(kpis)
    line = one_error_line(*cli("compare", str(tiny_plan), str(other)))
    assert message in line and str(other) in line


def test_ctrl_c_before_the_solve_exits_130_as_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Scenario, "load", classmethod(lambda cls, *a, **k: interrupted()))
    code, text = cli("solve", str(TINY), "--out", "unused-plan")
    assert code == 130 and text.strip() == "interrupted (Ctrl-C)"
    assert "130 interrupted by Ctrl-C" in build_parser().format_help()
    assert "130" in (ROOT / "README.md").read_text().split("## Limits")[1]


MISSING_IDS = ["NaN", "NA", "null", "None", "n/a", "N/A", "nan", "#N/A", "NULL", "<NA>", "NONE"]


@pytest.mark.parametrize("name", MISSING_IDS)
def test_ids_that_read_back_as_missing_are_refused(sc: Path, name: str) -> None:
    for file in ("lanes.csv", "demand.csv", "launch_curve.csv"):
        path = sc / file
        path.write_text(path.read_text().replace("R1,", f"{name},"))
    found = problems(sc)
    assert found and all("cannot be an id: it reads back as a missing value" in p for p in found)
    assert f"error: lanes.csv, row 2, column region: '{name}' cannot be an id" in "\n".join(found)


def test_missing_id_product_and_with_tables(sc: Path) -> None:
    tiny = Scenario.load(TINY)
    products = tiny.products.copy()
    products.loc[0, "product"] = "NA"
    with pytest.raises(ScenarioError, match=r"products.csv, row 2, column product: 'NA' cannot be an id"):
        tiny.with_tables({"products": products})


def test_read_as_missing_matches_pandas() -> None:
    text = "id\n" + "\n".join(sorted(_coerce.READ_AS_MISSING)) + "\n"
    assert pd.read_csv(io.StringIO(text), dtype=str)["id"].isna().all()


def test_plan_round_trip_keeps_unusual_but_valid_ids(sc: Path, tmp_path: Path) -> None:
    for file in ("lanes.csv", "demand.csv", "launch_curve.csv"):
        path = sc / file
        path.write_text(path.read_text().replace("R1,", "NAM,"))
    plan = ops.solve(sc, method="mip")
    plan.save(tmp_path / "plan")
    back = ops.Plan.load(tmp_path / "plan")
    assert set(back.sales["region"]) == set(plan.sales["region"]) and "NAM" in set(back.sales["region"])
    json.loads((tmp_path / "plan" / "kpis.json").read_text())


def test_sensitivity_refuses_a_kpis_json_that_is_not_an_object(tmp_path: Path) -> None:
    plan = tmp_path / "plan"
    plan.mkdir()
    (plan / "kpis.json").write_text("[1, 2]")
    code, text = cli("sensitivity", str(TINY), "--plan", str(plan), "--no-launch-earlier")
    assert code == 2 and "internal error" not in text
    assert "is a list, not an object" in text


def test_a_closed_pipe_is_not_an_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """`optsupply schema | head -1`: the reader went away; the command ends quietly (exit 0), no traceback."""

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["schema"]) == 0
    assert "internal error" not in capsys.readouterr().err
