"""``optsupply validate SCENARIO`` on valid and broken scenarios, run in-process.

Exit code 0 for a valid scenario (warnings allowed), 2 when it has errors;
every problem is printed as ``error: FILE, row R, column C: what is wrong``,
never as a traceback, and the input files are left exactly as they were.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from optsupply import Scenario
from optsupply.cli import main

TINY = Path(__file__).resolve().parents[2] / "instances" / "tiny"
LINE = re.compile(r"^(error|warning): [^,:]+(, (row|line) \d+)?(, (column|key) [^:]+)?: \S")
SUMMARY = re.compile(r"^\d+ errors?, \d+ warnings?$")


@pytest.fixture
def sc(tmp_path: Path) -> Path:
    target = tmp_path / "scenario"
    shutil.copytree(TINY, target)
    return target


def set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Replace one cell of a simple CSV table (no quoted commas); ``row`` is the spreadsheet row."""
    path = folder / f"{table}.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[row - 1].split(",")
    cells[lines[0].split(",").index(column)] = value
    lines[row - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def row_of(folder: Path, table: str, first_cell: str) -> int:
    lines = (folder / f"{table}.csv").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.split(",")[0] == first_cell)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_listing(text: str) -> None:
    """Every printed line is a problem, a '... and N more' line or the summary: no traceback."""
    assert "Traceback" not in text and "internal error" not in text, text
    for line in text.splitlines():
        assert LINE.match(line) or SUMMARY.match(line) or line.startswith("  ... and ") \
            or line.endswith("warnings)") or line.endswith("warning)"), f"unexpected output line: {line!r}\n{text}"


def snapshot(path: Path) -> dict[str, tuple[bytes, int]]:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*"))
    return {str(p): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns) for p in files}


# --------------------------------------------------------------------------- exit codes and lines


def test_valid_scenario_exits_0(capsys):
    code, out, err = run(capsys, str(TINY))
    assert code == 0
    assert out.strip() == f"{TINY}: valid (0 warnings)"
    assert err == ""


def test_warnings_only_exit_0_and_are_printed(sc, capsys):
    row = len((sc / "categories.csv").read_text(encoding="utf-8").splitlines()) + 1
    with open(sc / "categories.csv", "a", encoding="utf-8") as f:
        f.write("C9,5,0\n")
    code, out, err = run(capsys, str(sc))
    assert code == 0
    assert (f"warning: categories.csv, row {row}, column category: "
            "unknown category (no product in products.csv has it) 'C9'") in out
    assert out.strip().endswith("valid (1 warning)")
    assert err == ""
    assert_clean_listing(out)


def test_error_exits_2_with_file_row_column(sc, capsys):
    row = row_of(sc, "products", "P2")
    set_cell(sc, "products", row, "price", "abc")
    code, out, err = run(capsys, str(sc))
    assert code == 2
    assert f"error: products.csv, row {row}, column price: 'abc' is not a number" in err.splitlines()
    assert err.strip().splitlines()[-1] == "1 error, 0 warnings"
    assert "valid" not in out
    assert_clean_listing(err)


def test_settings_error_names_line_and_key(sc, capsys):
    toml = sc / "scenario.toml"
    lines = toml.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, start=1) if text.startswith("threads"))
    lines[line - 1] = "threads = 1.5"
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = run(capsys, str(sc))
    assert code == 2
    assert f"error: scenario.toml, line {line}, key solver.threads: must be a whole number, not 1.5" in err.splitlines()


def test_every_problem_in_one_run(sc, capsys):
    set_cell(sc, "products", 2, "price", "-1")
    set_cell(sc, "supply", 3, "warehouse", "W7")
    set_cell(sc, "lanes", 4, "capacity", "lots")
    (sc / "launch_curve.csv").unlink()
    code, _, err = run(capsys, str(sc))
    assert code == 2
    lines = err.splitlines()
    assert "error: products.csv, row 2, column price: negative price or cost -1: must be ≥ 0" in lines
    assert "error: supply.csv, row 3, column warehouse: unknown warehouse (not in warehouses.csv) 'W7'" in lines
    assert "error: lanes.csv, row 4, column capacity: 'lots' is not a number" in lines
    assert "error: launch_curve.csv: required table is missing: products.csv lists new products" in lines
    assert lines[-1] == "4 errors, 0 warnings"
    assert_clean_listing(err)


def test_max_per_kind_shortens_long_runs(sc, capsys):
    n = len((sc / "demand.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert n > 4
    for row in range(2, n + 2):
        set_cell(sc, "demand", row, "demand", f"-{row}.5" if row % 2 else f"-{row}")
    code, _, err_all = run(capsys, str(sc))
    assert code == 2
    shown = [line for line in err_all.splitlines() if line.startswith("error: demand.csv")]
    assert len(shown) == n
    code, _, err = run(capsys, str(sc), "--max-per-kind", "3")
    assert code == 2
    lines = err.splitlines()
    assert [line for line in lines if line.startswith("error: demand.csv")] == shown[:3]
    assert f"  ... and {n - 3} more rows with the same problem in demand.csv, column demand" in lines
    assert lines[-1] == f"{n} errors, 0 warnings"
    assert_clean_listing(err)


def test_max_per_kind_counts_quoted_values_as_one_kind(sc, capsys):
    for row, text in ((2, "x"), (3, "1,5"), (4, "ten")):
        set_cell(sc, "slots", row, "slots", f'"{text}"')
    code, _, err = run(capsys, str(sc), "--max-per-kind", "1")
    assert code == 2
    assert "  ... and 2 more rows with the same problem in slots.csv, column slots" in err.splitlines()


# --------------------------------------------------------------------------- never a traceback


def _ragged(sc: Path) -> None:
    with open(sc / "supply.csv", "a", encoding="utf-8") as f:
        f.write("P2,W2,0,0,0,inf,0,oops\n")


def _latin1(sc: Path) -> None:
    (sc / "products.csv").write_bytes((sc / "products.csv").read_bytes().replace(b"C1", b"C\xe91"))


def _semicolons(sc: Path) -> None:
    (sc / "lanes.csv").write_text((sc / "lanes.csv").read_text().replace(",", ";"))


def _empty(sc: Path) -> None:
    (sc / "demand.csv").write_bytes(b"")


def _no_toml(sc: Path) -> None:
    (sc / "scenario.toml").unlink()


def _toml_syntax(sc: Path) -> None:
    (sc / "scenario.toml").write_text("[horizon\nperiods = 6\n")


def _unclosed_quote(sc: Path) -> None:
    with open(sc / "demand.csv", "a", encoding="utf-8") as f:
        f.write('P1,"R1,0,3\n')


def _binary(sc: Path) -> None:
    (sc / "products.csv").write_bytes(bytes(range(256)) * 4)


def _nul_bytes(sc: Path) -> None:
    (sc / "lanes.csv").write_bytes((sc / "lanes.csv").read_bytes().replace(b"W2", b"W\x002"))


def _everything(sc: Path) -> None:
    _ragged(sc)
    _latin1(sc)
    _semicolons(sc)
    _toml_syntax(sc)
    set_cell(sc, "response", 2, "carryover", "1")


def _missing_column(sc: Path) -> None:
    (sc / "warehouses.csv").write_text("name,storage_capacity\nW1,40\nW2,\n")


BROKEN = {
    "ragged-row": _ragged,
    "not-utf8": _latin1,
    "semicolons": _semicolons,
    "empty-csv": _empty,
    "no-scenario-toml": _no_toml,
    "toml-syntax": _toml_syntax,
    "unclosed-quote": _unclosed_quote,
    "binary-garbage": _binary,
    "nul-bytes": _nul_bytes,
    "missing-column": _missing_column,
    "many-broken-files": _everything,
}


@pytest.mark.parametrize("edit", list(BROKEN.values()), ids=list(BROKEN))
def test_broken_folder_never_shows_a_traceback(edit, sc, capsys):
    edit(sc)
    code, out, err = run(capsys, str(sc))
    assert code == 2, out + err
    assert out == ""
    assert_clean_listing(err)
    assert re.search(r"^[1-9]\d* errors?, \d+ warnings?$", err, re.M)


def test_missing_path_never_shows_a_traceback(tmp_path, capsys):
    code, out, err = run(capsys, str(tmp_path / "nowhere"))
    assert code == 2
    assert f"error: {tmp_path / 'nowhere'}: no such scenario folder or workbook" in err.splitlines()
    assert err.strip().splitlines()[-1] == "1 error, 0 warnings"


@pytest.mark.parametrize("name, data", [("plan.csv", b"a,b\n1,2\n"), ("broken.xlsx", b"PK\x03\x04 not really a zip")],
                         ids=["not-a-scenario", "damaged-xlsx"])
def test_wrong_kind_of_file_never_shows_a_traceback(tmp_path, capsys, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = run(capsys, str(path))
    assert code == 2
    assert_clean_listing(err)
    assert err.startswith(f"error: {name}: ")
    assert err.strip().splitlines()[-1] == "1 error, 0 warnings"


def test_empty_folder(tmp_path, capsys):
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2
    lines = err.splitlines()
    assert "error: scenario.toml: missing: a scenario folder needs scenario.toml (at least [horizon] periods)" in lines
    assert "error: products.csv: required table is missing" in lines
    assert_clean_listing(err)


def test_workbook_errors(tmp_path, capsys):
    path = tmp_path / "scenario.xlsx"
    Scenario.load(TINY).save(path)
    wb = openpyxl.load_workbook(path)
    ws = wb["supply"]
    header = [c.value for c in ws[1]]
    ws.cell(3, header.index("lead_time") + 1, "soon")
    del wb["scenario"]
    wb.save(path)
    code, _, err = run(capsys, str(path))
    assert code == 2
    lines = err.splitlines()
    assert "error: scenario.xlsx[supply], row 3, column lead_time: 'soon' is not a number" in lines
    assert any(line.startswith("error: scenario.xlsx[scenario]: missing sheet") for line in lines)
    assert lines[-1] == "2 errors, 0 warnings"
    assert_clean_listing(err)


def test_usage_error_exits_2(capsys):
    assert main(["validate"]) == 2
    capsys.readouterr()


# --------------------------------------------------------------------------- inputs are never modified


@pytest.mark.parametrize("broken", [False, True], ids=["valid", "with-errors"])
def test_validate_never_modifies_inputs(sc, capsys, broken):
    if broken:
        _everything(sc)
        set_cell(sc, "demand", 3, "period", "1.5")
    before = snapshot(sc)
    run(capsys, str(sc))
    run(capsys, str(sc), "--max-per-kind", "1")
    from optsupply import validate

    validate(sc)
    try:
        Scenario.load(sc)
    except Exception:
        pass
    assert snapshot(sc) == before


def test_validate_never_modifies_a_workbook(tmp_path, capsys):
    path = tmp_path / "scenario.xlsx"
    Scenario.load(TINY).save(path)
    wb = openpyxl.load_workbook(path)
    wb["products"].cell(2, 4, "-3")
    wb.save(path)
    before = snapshot(tmp_path)
    code, _, _ = run(capsys, str(path))
    assert code == 2
    assert snapshot(tmp_path) == before
