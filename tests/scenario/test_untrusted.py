"""Scenario files from someone else: nothing in them is executed, sizes are bounded, paths stay inside.

* The package never evaluates, executes or unpickles anything (a scan of its source).
* A workbook formula is read as the value Excel saved with it, with a warning
  naming the sheet and cell, and is never computed; a formula without a saved
  value is an error naming the cell.
* :class:`~optsupply.scenario.limits.Limits` (or ``OPTSUPPLY_MAX_FILE_MB`` /
  ``OPTSUPPLY_MAX_ROWS``) bounds every file and every table, with a clear error.
* Only the fixed file names directly in the scenario folder are read:
  ``scenario.toml`` cannot name other files, and a table file that is a link to
  a file outside the folder is refused.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tokenize
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from optsupply import Scenario, ScenarioError, UsageError
from optsupply.cli import main
from optsupply import Limits

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "optsupply"
TINY = ROOT / "instances" / "tiny"


@pytest.fixture
def sc(tmp_path: Path) -> Path:
    target = tmp_path / "scenario"
    shutil.copytree(TINY, target)
    return target


def problems(path: Path, **kw) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        Scenario.load(path, **kw)
    return [str(p) for p in info.value.report.problems]


def cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def assert_same(a: Scenario, b: Scenario) -> None:
    assert a.settings == b.settings
    for name, df in a.tables():
        pd.testing.assert_frame_equal(df, getattr(b, name), check_exact=True, obj=name)


# --------------------------------------------------------------------------- nothing is executed

# names that run or unpickle data; each use needs an entry (file, name) -> reason here
FORBIDDEN = {"eval", "exec", "pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve",
             "read_pickle", "to_pickle", "allow_pickle", "unsafe_load", "full_load", "UnsafeLoader", "__import__"}
ALLOWED: dict[tuple[str, str], str] = {}


def forbidden_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) of every forbidden name, and of ``yaml.load`` without ``SafeLoader``, in Python source.

    Names are read as tokens, so words in strings, docstrings and comments do not count.
    """
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.string in FORBIDDEN:
            found.append((tok.start[0], tok.string))
    code = "\n".join(_code_lines(source))
    for m in re.finditer(r"\byaml\s*\.\s*load\s*\(", code):
        depth, end = 1, m.end()
        while end < len(code) and depth:  # the call's arguments, up to its closing parenthesis
            depth += {"(": 1, ")": -1}.get(code[end], 0)
            end += 1
        if "SafeLoader" not in code[m.end():end]:
            found.append((code.count("\n", 0, m.start()) + 1, "yaml.load without SafeLoader"))
    return found


def _code_lines(source: str) -> list[str]:
    """The source with strings and comments blanked, line for line."""
    lines = source.splitlines()
    out = [list(line) for line in lines]
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.STRING, tokenize.COMMENT):
            (r0, c0), (r1, c1) = tok.start, tok.end
            for r in range(r0, r1 + 1):
                row = out[r - 1]
                start = c0 if r == r0 else 0
                end = c1 if r == r1 else len(row)
                row[start:end] = " " * (end - start)
    return ["".join(r) for r in out]


def test_the_scan_finds_what_it_looks_for() -> None:
    bad = ("import pickle\nx = eval(text)\ndf.eval('a + b')\nexec(code)\npd.read_pickle(p)\n"
           "yaml.load(f)\nyaml.load(f, Loader=yaml.SafeLoader)\n'''eval( in a docstring'''\n# exec( in a comment\n")
    assert [what for _, what in forbidden_uses(bad)] == ["pickle", "eval", "eval", "exec", "read_pickle",
                                                        "yaml.load without SafeLoader"]


def test_package_never_evaluates_executes_or_unpickles() -> None:
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for line, what in forbidden_uses(path.read_text(encoding="utf-8")):
            if (rel, what) not in ALLOWED:
                offences.append(f"{rel}:{line}: {what}")
    assert not offences, "code that could run what a user supplies:\n" + "\n".join(offences)


# --------------------------------------------------------------------------- workbook formulas


def _sheet_xml_name(book: Path, sheet: str) -> str:
    with zipfile.ZipFile(book) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{sheet}"[^>]*r:id="([^"]+)"', workbook).group(1)
    target = re.search(rf'<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels) \
        or re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
    name = target.group(1).lstrip("/")
    return name if name.startswith("xl/") else f"xl/{name}"


def patch_cell(book: Path, sheet: str, ref: str, cell_xml: str) -> None:
    """Replace one cell's XML (``<c r="D2" ...>...</c>``) in a sheet of the workbook, in place."""
    member = _sheet_xml_name(book, sheet)
    with zipfile.ZipFile(book) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    xml = entries[member].decode()
    xml, n = re.subn(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', cell_xml, xml, count=1)
    assert n == 1, f"no cell {ref} in {sheet}"
    entries[member] = xml.encode()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.xlsx"
    Scenario.load(TINY).save(path)
    return path


def test_formula_is_read_as_its_saved_value_never_computed(book: Path) -> None:
    # products row 2 (P1) price is 10; the formula would give 2 if it were computed
    patch_cell(book, "products", "D2", '<c r="D2"><f>1+1</f><v>10</v></c>')
    sc = Scenario.load(book)
    assert sc.products.loc[sc.products["product"] == "P1", "price"].item() == 10.0
    assert_same(sc, Scenario.load(TINY))
    warnings = [str(w) for w in sc.warnings]
    assert warnings == ["warning: tiny.xlsx[products], row 2, column price: cell D2 holds a formula (=1+1): "
                        "the value saved with it, '10', is used; formulas are never computed"]


def test_dangerous_formulas_are_not_run(book: Path) -> None:
    # formulas that would reach out if a spreadsheet program computed them: the saved values are used
    patch_cell(book, "products", "A2", '<c r="A2" t="str"><f>WEBSERVICE("http://example.invalid/x")</f><v>P1</v></c>')
    patch_cell(book, "warehouses", "A2", """<c r="A2" t="str"><f>cmd|' /C calc'!A0</f><v>W1</v></c>""")
    sc = Scenario.load(book)
    assert_same(sc, Scenario.load(TINY))
    text = "\n".join(str(w) for w in sc.warnings)
    assert "tiny.xlsx[products], row 2, column product: cell A2 holds a formula (=WEBSERVICE(" in text
    assert "tiny.xlsx[warehouses], row 2, column warehouse: cell A2 holds a formula" in text


def test_formula_without_saved_value_is_an_error_naming_the_cell(book: Path) -> None:
    wb = openpyxl.load_workbook(book)
    wb["products"]["E3"] = "=D3*0.6"  # openpyxl saves no value with a formula
    wb["scenario"]["B2"] = "=3+3"
    wb.save(book)
    found = problems(book)
    assert "error: tiny.xlsx[products], row 3, column unit_cost: cell E3 holds a formula (=D3*0.6) with no saved " \
           "value: formulas are never computed, so open and save the workbook in Excel, or replace the formula " \
           "by its value" in found
    assert any(p.startswith("error: tiny.xlsx[scenario], row 2, column value: cell B2 holds a formula (=3+3)")
               for p in found), found
    assert not any("missing value" in p for p in found), found  # said once, as a formula
    code, out = cli("validate", str(book))
    assert code == 2 and "cell E3 holds a formula" in out


def test_workbook_settings_key_given_twice_is_an_error(book: Path) -> None:
    wb = openpyxl.load_workbook(book)
    ws = wb["scenario"]
    ws.append(["horizon.periods", "5"])
    wb.save(book)
    found = problems(book)
    assert any("tiny.xlsx[scenario], row" in p and "setting horizon.periods appears twice" in p for p in found), found


# --------------------------------------------------------------------------- limits


def test_default_limits() -> None:
    limits = Limits()
    assert (limits.max_file_mb, limits.max_rows) == (500.0, 5_000_000)


def test_file_size_limit_names_the_file(sc: Path) -> None:
    size = (sc / "demand.csv").stat().st_size
    limit_mb = (size - 1) / 1e6
    found = problems(sc, limits=Limits(max_file_mb=limit_mb))
    assert f"error: demand.csv: is {size:,} bytes, more than the limit of {limit_mb:g} MB (raise it with " \
           "OPTSUPPLY_MAX_FILE_MB or Limits(max_file_mb=...))" in found
    # a file exactly at the limit is fine
    Scenario.load(sc, limits=Limits(max_file_mb=max(f.stat().st_size for f in sc.iterdir()) / 1e6))


def test_row_limit_names_the_table(sc: Path) -> None:
    n = len(Scenario.load(sc).launch_curve)  # the longest table
    assert Scenario.load(sc, limits=Limits(max_rows=n)).launch_curve.shape[0] == n  # at the limit: fine
    found = problems(sc, limits=Limits(max_rows=n - 1))
    assert found == [f"error: launch_curve.csv: has more than {n - 1:,} rows, the limit (raise it with "
                     "OPTSUPPLY_MAX_ROWS or Limits(max_rows=...))"]


def test_row_limit_counts_rows_not_line_ends(sc: Path) -> None:
    # a quoted value with line ends in it: more line ends than rows, and the table is not over the limit
    lines = (sc / "launch_curve.csv").read_text().splitlines()
    n = len(lines) - 1  # the longest table
    lines = [lines[0] + ",note", lines[1] + ',"a\nlong\n\nnote\n"'] + [line + "," for line in lines[2:]]
    (sc / "launch_curve.csv").write_text("\n".join(lines) + "\n")
    assert len(Scenario.load(sc, limits=Limits(max_rows=n)).launch_curve) == n
    assert any("launch_curve.csv: has more than" in p for p in problems(sc, limits=Limits(max_rows=n - 1)))


def test_limits_from_environment(sc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTSUPPLY_MAX_ROWS", "3")
    assert Limits().max_rows == 3
    found = problems(sc)
    assert any(p.startswith("error: demand.csv: has more than 3 rows") for p in found), found
    code, out = cli("validate", str(sc))
    assert code == 2 and "demand.csv: has more than 3 rows" in out
    assert Scenario.load(sc, limits=Limits(max_rows=100))  # an explicit Limits wins
    monkeypatch.setenv("OPTSUPPLY_MAX_ROWS", "")
    monkeypatch.setenv("OPTSUPPLY_MAX_FILE_MB", "0.0001")
    assert Limits().max_file_mb == 0.0001
    assert any("more than the limit of 0.0001 MB" in p for p in problems(sc))


@pytest.mark.parametrize("name,value", [("OPTSUPPLY_MAX_ROWS", "lots"), ("OPTSUPPLY_MAX_ROWS", "2.5"),
                                        ("OPTSUPPLY_MAX_ROWS", "0"), ("OPTSUPPLY_MAX_FILE_MB", "-1"),
                                        ("OPTSUPPLY_MAX_FILE_MB", "inf"), ("OPTSUPPLY_MAX_FILE_MB", "nan")])
def test_bad_limit_in_environment_is_a_usage_error(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError, match=name):
        Scenario.load(TINY)
    code, out = cli("validate", str(TINY))
    assert code == 2 and name in out and "Traceback" not in out


@pytest.mark.parametrize("kw", [{"max_rows": 0}, {"max_rows": 2.5}, {"max_file_mb": 0}, {"max_file_mb": "big"},
                                {"max_rows": True}])
def test_bad_limits_are_usage_errors(kw: dict) -> None:
    with pytest.raises(UsageError):
        Limits(**kw)


def test_workbook_limits(book: Path) -> None:
    found = problems(book, limits=Limits(max_rows=5))
    assert "error: tiny.xlsx[demand]: has more than 5 rows, the limit (raise it with OPTSUPPLY_MAX_ROWS or " \
           "Limits(max_rows=...))" in found
    size = book.stat().st_size
    found = problems(book, limits=Limits(max_file_mb=(size - 1) / 1e6))
    assert len(found) == 1 and found[0].startswith("error: tiny.xlsx: is ") and "more than the limit" in found[0]
    with zipfile.ZipFile(book) as z:
        unpacked = sum(i.file_size for i in z.infolist())
    assert unpacked > size
    found = problems(book, limits=Limits(max_file_mb=(size + unpacked) / 2e6))  # the file fits, its contents do not
    assert len(found) == 1 and found[0].startswith("error: tiny.xlsx: unpacks to ") and "more than the limit" in found[0]


def test_scenario_toml_size_limit(sc: Path) -> None:
    with open(sc / "scenario.toml", "a") as f:
        f.write("# " + "x" * 5000 + "\n")
    found = problems(sc, limits=Limits(max_file_mb=0.004))
    assert any(p.startswith("error: scenario.toml: is ") and "bytes, more than the limit of 0.004 MB" in p
               for p in found), found


# --------------------------------------------------------------------------- paths stay inside the folder


@pytest.mark.parametrize("toml", [
    'products = "/etc/passwd"\n',
    '[tables]\ndemand = "../outside/demand.csv"\n',
    '[tables]\nproducts = "/tmp/../etc/passwd"\nwarehouses = "~/warehouses.csv"\n',
    'include = "../outside/scenario.toml"\n',
])
def test_scenario_toml_cannot_name_other_files(sc: Path, toml: str) -> None:
    outside = sc.parent / "outside"
    outside.mkdir()
    (outside / "demand.csv").write_text("this is not read\n\x00\x01")
    (outside / "scenario.toml").write_text("[horizon]\nperiods = 1\n")
    text = (sc / "scenario.toml").read_text()
    (sc / "scenario.toml").write_text(toml + text if not toml.startswith("[") else text + "\n" + toml)
    loaded = Scenario.load(sc)
    assert_same(loaded, Scenario.load(TINY))
    assert loaded.warnings and all("unknown setting, ignored" in str(w) for w in loaded.warnings)


def test_link_to_a_file_outside_the_folder_is_refused(sc: Path) -> None:
    outside = sc.parent / "elsewhere.csv"
    shutil.move(sc / "demand.csv", outside)
    (sc / "demand.csv").symlink_to(outside)
    found = problems(sc)
    assert found[0] == ("error: demand.csv: is a symbolic link to a file outside the scenario folder, which is "
                        "never read: copy the file into the folder")
    assert str(outside) not in "\n".join(found)  # where the link points is not shown


def test_relative_link_escaping_the_folder_is_refused(sc: Path) -> None:
    (sc.parent / "secret.toml").write_text("[horizon]\nperiods = 6\n")
    (sc / "scenario.toml").unlink()
    (sc / "scenario.toml").symlink_to(Path("..") / "secret.toml")
    found = problems(sc)
    assert any(p.startswith("error: scenario.toml: is a symbolic link to a file outside the scenario folder")
               for p in found), found


def test_link_inside_the_folder_and_a_linked_folder_are_fine(sc: Path, tmp_path: Path) -> None:
    (sc / "data").mkdir()
    shutil.move(sc / "demand.csv", sc / "data" / "demand.csv")
    (sc / "demand.csv").symlink_to(Path("data") / "demand.csv")
    assert_same(Scenario.load(sc), Scenario.load(TINY))
    link = tmp_path / "linked"
    link.symlink_to(sc)
    assert_same(Scenario.load(link), Scenario.load(TINY))


def test_link_loop_is_reported_not_followed(sc: Path) -> None:
    (sc / "products.csv").unlink()
    (sc / "products.csv").symlink_to("products.csv")
    found = problems(sc)
    assert any(p.startswith("error: products.csv:") for p in found), found


def test_loading_writes_nothing(sc: Path) -> None:
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sc.iterdir()}
    Scenario.load(sc)
    code, _ = cli("validate", str(sc))
    assert code == 0
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sc.iterdir()} == before
