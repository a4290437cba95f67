"""Property-based tests: corrupted scenario files never crash the reader.

Starting from two valid scenarios (``instances/tiny`` and a generated
``xsmall``), hypothesis corrupts one file at a time: cell edits (random text,
numbers, blank, NaN, inf, negative), dropped, extra and renamed columns,
duplicated rows, files cut at a random byte, bad encodings, a UTF-8 BOM, CRLF
line ends, semicolon separators, empty, missing and random files, and a
broken ``scenario.toml``; a workbook copy of tiny gets the same treatment.
For each, :meth:`Scenario.load` either succeeds with a correct read (a BOM
or CRLF line ends read exactly as the clean file; an edited cell reads as its
text says) or raises :class:`ScenarioError` whose problems name known files,
with 1-based rows; ``optsupply validate`` returns 0 or 2 and never raises.
``with_changes`` and ``with_tables`` get random values and frames the same way.

Semicolon- or tab-separated files are an error that says so (not read): see
the README, "Accepted input and size limits".

The ``input-default`` profile is bounded (well under a minute); the same
properties run with 400 examples each in the tests marked ``slow`` (profile
``input-slow``), which every plain ``pytest`` run includes. Every crash found is pinned by a plain test in the
last section.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optsupply
from optsupply import Scenario
from optsupply.cli import main
from optsupply.errors import OptsupplyError, ScenarioError
from optsupply.scenario.schema import H_LAST, SETTINGS, TABLE_BY_NAME, TABLES

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "instances" / "tiny"

settings.register_profile("input-default", max_examples=25, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("input-slow", max_examples=400, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DEFAULT = settings.get_profile("input-default")
SLOW = settings.get_profile("input-slow")

_TRUE = {"true", "1", "yes", "y", "t"}


# --------------------------------------------------------------------------- the base scenarios


@dataclass
class Base:
    name: str
    files: dict[str, bytes]  # file name -> bytes
    scenario: Scenario  # the clean read


_BASES: dict[str, Base] = {}
_TMP: list[Path] = []  # a folder for the generated scenario and the workbook, made on first use


def _tmp() -> Path:
    if not _TMP:
        _TMP.append(Path(tempfile.mkdtemp(prefix="optsupply-props-")))
    return _TMP[0]


def _base(name: str) -> Base:
    if name not in _BASES:
        if name == "tiny":
            folder = TINY
        else:
            from optsupply.scenario.generate import generate

            folder = _tmp() / name
            if not folder.exists():
                generate("xsmall", seed=3).save(folder)
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())
                 if p.suffix in (".csv", ".toml")}
        _BASES[name] = Base(name, files, Scenario.load(folder))
    return _BASES[name]


def _workbook() -> tuple[Path, Scenario]:
    path = _tmp() / "tiny.xlsx"
    if not path.exists():
        Scenario.load(TINY).save(path)
    return path, Scenario.load(path)


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    for folder in _TMP:
        shutil.rmtree(folder, ignore_errors=True)
    _TMP.clear()


# --------------------------------------------------------------------------- helpers


def _records(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _csv_bytes(records: list[list[str]]) -> bytes:
    """CSV text of the records; a value with a separator, quote or line end (also a lone ``\\r``, which
    ``csv.writer`` leaves bare when lines end with ``\\n``) is quoted."""
    def field(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v

    return "".join(",".join(field(v) for v in r) + "\n" for r in records).encode("utf-8")


def _write(files: dict[str, bytes]) -> tempfile.TemporaryDirectory:
    tmp = tempfile.TemporaryDirectory(prefix="optsupply-case-")
    folder = Path(tmp.name) / "scenario"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return tmp


def _labels(scenario_path: Path) -> set[str]:
    """Every file label a problem may name."""
    if scenario_path.suffix == ".xlsx":
        sheets = [t.name for t in TABLES] + ["scenario"]
        return {scenario_path.name} | {f"{scenario_path.name}[{s}]" for s in sheets}
    return {t.file for t in TABLES} | {"scenario.toml", str(scenario_path)}


def load_or_error(path: Path) -> Scenario | ScenarioError:
    """Load; a ScenarioError is returned (and checked), anything else propagates and fails the test."""
    try:
        return Scenario.load(path)
    except ScenarioError as exc:
        problems = exc.report.problems
        assert exc.report.errors, "a ScenarioError without an error"
        labels = _labels(path)
        for p in problems:
            assert p.file in labels or (p.file.endswith(".csv") and p.severity == "warning"), str(p)
            assert p.row is None or (isinstance(p.row, int) and p.row >= 1), str(p)
            assert p.column is None or isinstance(p.column, str), str(p)
            assert p.message and "Traceback" not in p.message, str(p)
        assert "Traceback" not in str(exc)
        return exc


def cli_validate(path: Path) -> int:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    assert code in (0, 2), f"exit {code}: {err.getvalue()}"
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue(), err.getvalue()
    return code


def assert_same(a: Scenario, b: Scenario, skip: tuple[str, ...] = ()) -> None:
    assert a.settings == b.settings
    for name, df in a.tables():
        if name in skip:
            continue
        pd.testing.assert_frame_equal(df, getattr(b, name), check_exact=True, obj=name)


def _names(problems) -> set[str]:
    return {p.file for p in problems}


def _run(files: dict[str, bytes], cli: bool = False) -> Scenario | ScenarioError:
    """Load the files as a scenario folder (and, with ``cli``, validate it on the command line)."""
    tmp = _write(files)
    try:
        folder = Path(tmp.name) / "scenario"
        result = load_or_error(folder)
        if cli:
            assert (cli_validate(folder) == 0) == isinstance(result, Scenario)
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == files, "an input file was modified"
        return result
    finally:
        tmp.cleanup()


# --------------------------------------------------------------------------- strategies

SPECIAL = ["", " ", "nan", "NaN", "NA", "null", "inf", "-inf", "Infinity", "-1", "-0", "0", "1e400", "-1e400",
           "1e-400", "9007199254740993", "1.5", "2.5e3", "1_000", "0x10", "1,5", "true", "FALSE", "yes", "n",
           "new", "active", "New", "P1", "P2", "W1", "R1", "C1", "B1", "search", '"', '""', "'", "\x00",
           "\ufeff", "\xa0", "\t", "é", "١٢", "²", "nan(1)", "=1+1", "-", "+", ".", "e", "1e", "--1"]

cell_text = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=12),
    st.integers(min_value=-10**20, max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)

def _expected_cell(table: str, column: str, text: str, horizon: int) -> Any:
    """What a successful read must give for a cell holding ``text``."""
    col = TABLE_BY_NAME[table].column(column)
    t = text.strip()
    if t == "":
        if col.default == H_LAST:
            return horizon - 1
        return col.default
    if col.dtype == "float":
        return float(t)
    if col.dtype == "int":
        return int(float(t))
    if col.dtype == "bool":
        return t.lower() in _TRUE
    return t


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (np.bool_, bool)) or isinstance(b, (np.bool_, bool)):
        return bool(a) == bool(b)
    return a == b


# --------------------------------------------------------------------------- properties: cells


def _cell_edit_body(base_name: str, data: st.DataObject, cli: bool = False) -> None:
    base = _base(base_name)
    file = data.draw(st.sampled_from(sorted(f for f in base.files if f.endswith(".csv"))), label="file")
    records = _records(base.files[file])
    row = data.draw(st.integers(0, len(records) - 1), label="row")
    col = data.draw(st.integers(0, len(records[0]) - 1), label="col")
    text = data.draw(cell_text, label="text")
    records[row][col] = text
    result = _run({**base.files, file: _csv_bytes(records)}, cli=cli)
    table = file.removesuffix(".csv")
    if isinstance(result, ScenarioError):
        # the edited file is named, as the file of a problem or in a message (an edited id breaks references)
        assert file in str(result), str(result)
        return
    if row == 0:  # a renamed optional column takes its default: the other tables are as they were
        assert_same(result, base.scenario, skip=(table,))
        return
    name = records[0][col]
    got = getattr(result, table)[name].iat[row - 1]
    want = _expected_cell(table, name, text, result.periods)
    assert _equal(got, want), (file, row, name, text, got, want)
    # everything else is unchanged
    clean = getattr(base.scenario, table).copy()
    changed = getattr(result, table).copy()
    clean_col = clean[name].astype(object)
    clean_col.iat[row - 1] = changed[name].iat[row - 1]
    clean[name] = clean_col.astype(clean[name].dtype) if clean[name].dtype != object else clean_col
    pd.testing.assert_frame_equal(changed, clean, check_exact=True, check_dtype=False)
    for other, df in base.scenario.tables():
        if other != table:
            pd.testing.assert_frame_equal(getattr(result, other), df, check_exact=True, obj=other)


@settings(settings(DEFAULT, max_examples=20))
@given(base_name=st.sampled_from(["tiny", "xsmall"]), data=st.data())
def test_cell_edits(base_name: str, data: st.DataObject) -> None:
    _cell_edit_body(base_name, data)


@pytest.mark.slow
@settings(SLOW)
@given(base_name=st.sampled_from(["tiny", "xsmall"]), data=st.data())
def test_cell_edits_slow(base_name: str, data: st.DataObject) -> None:
    _cell_edit_body(base_name, data)


# --------------------------------------------------------------------------- properties: structure

STRUCTURE = ["drop_column", "extra_column", "duplicate_row", "truncate", "latin1", "invalid_utf8", "bom",
             "crlf", "bom_crlf", "semicolons", "empty", "missing", "random_bytes", "swap_rows", "header_only",
             "blank_rows", "tabs"]


def _structure_body(base_name: str, kind: str, data: st.DataObject, cli: bool = False) -> None:
    base = _base(base_name)
    file = data.draw(st.sampled_from(sorted(base.files)), label="file")
    original = base.files[file]
    files = dict(base.files)
    is_csv = file.endswith(".csv")
    table = file.removesuffix(".csv")
    records = _records(original) if is_csv else None
    expect: str | None = None  # "same": equal to the clean read; "error": fails naming the file
    if kind == "drop_column" and is_csv:
        j = data.draw(st.integers(0, len(records[0]) - 1), label="col")
        files[file] = _csv_bytes([r[:j] + r[j + 1:] for r in records])
        dropped = records[0][j]
        expect = "error" if TABLE_BY_NAME[table].column(dropped).required else None
    elif kind == "extra_column" and is_csv:
        name = data.draw(st.one_of(st.text(max_size=10), st.sampled_from(["x", "price", "product", " note ", ""])),
                         label="name")
        values = data.draw(st.lists(cell_text, min_size=len(records) - 1, max_size=len(records) - 1), label="values")
        j = data.draw(st.integers(0, len(records[0])), label="at")
        new = [r[:j] + [v] + r[j:] for r, v in zip(records, [name, *values], strict=True)]
        files[file] = _csv_bytes(new)
        clean_name = name.strip().lstrip("\ufeff").strip()
        known = set(TABLE_BY_NAME[table].column_names) | {c.strip() for c in records[0]}
        if clean_name and clean_name not in known:
            expect = "same"
    elif kind == "duplicate_row" and is_csv and len(records) > 1:
        i = data.draw(st.integers(1, len(records) - 1), label="row")
        files[file] = _csv_bytes(records[: i + 1] + [records[i]] + records[i + 1:])
        expect = "error"
    elif kind == "swap_rows" and is_csv and len(records) > 2:
        i = data.draw(st.integers(1, len(records) - 2), label="row")
        records[i], records[i + 1] = records[i + 1], records[i]
        files[file] = _csv_bytes(records)
    elif kind == "truncate":
        cut = data.draw(st.integers(0, max(0, len(original) - 1)), label="cut")
        files[file] = original[:cut]
    elif kind == "latin1":
        pos = data.draw(st.integers(0, len(original)), label="pos")
        files[file] = original[:pos] + "é".encode("latin-1") + original[pos:]
        expect = "error"
    elif kind == "invalid_utf8":
        pos = data.draw(st.integers(0, len(original)), label="pos")
        junk = data.draw(st.binary(min_size=1, max_size=6), label="junk")
        files[file] = original[:pos] + junk + original[pos:]
        try:
            files[file].decode("utf-8-sig")
        except UnicodeDecodeError:
            expect = "error"
    elif kind == "bom":
        files[file] = b"\xef\xbb\xbf" + original
        expect = "same"
    elif kind == "crlf":
        files[file] = original.replace(b"\n", b"\r\n")
        expect = "same"
    elif kind == "bom_crlf":
        files[file] = b"\xef\xbb\xbf" + original.replace(b"\n", b"\r\n")
        expect = "same"
    elif kind == "semicolons" and is_csv:
        files[file] = original.replace(b",", b";")
        expect = "error"
    elif kind == "tabs" and is_csv:
        files[file] = original.replace(b",", b"\t")
        expect = "error"
    elif kind == "empty":
        files[file] = b""
        expect = "error"
    elif kind == "header_only" and is_csv:
        files[file] = original.split(b"\n", 1)[0] + b"\n"
    elif kind == "blank_rows" and is_csv:
        lines = original.split(b"\n")
        at = data.draw(st.integers(1, len(lines)), label="at")
        blank = data.draw(st.sampled_from([b"", b",,", b"  ", b" , ,"]), label="blank")
        files[file] = b"\n".join(lines[:at] + [blank] + lines[at:])
        expect = "same"
    elif kind == "missing":
        del files[file]
        if file == "scenario.toml" or TABLE_BY_NAME[table].presence == "required":
            expect = "error"
    elif kind == "random_bytes":
        files[file] = data.draw(st.binary(max_size=200), label="bytes")
    else:
        return
    result = _run(files, cli=cli)
    if expect == "same":
        assert isinstance(result, Scenario), str(result)
        assert_same(result, base.scenario)
    elif expect == "error":
        assert isinstance(result, ScenarioError), f"{kind} of {file} was accepted"
        assert file in _names(result.report.errors), str(result)
    elif isinstance(result, ScenarioError):
        assert result.report.errors
    elif kind == "missing":
        assert getattr(result, table).empty
    elif kind == "drop_column":
        assert_same(result, base.scenario, skip=(table,))


@settings(settings(DEFAULT, max_examples=30))
@given(base_name=st.sampled_from(["tiny", "xsmall"]), kind=st.sampled_from(STRUCTURE), data=st.data())
def test_structure_corruptions(base_name: str, kind: str, data: st.DataObject) -> None:
    _structure_body(base_name, kind, data)


@pytest.mark.slow
@settings(SLOW)
@given(base_name=st.sampled_from(["tiny", "xsmall"]), kind=st.sampled_from(STRUCTURE), data=st.data())
def test_structure_corruptions_slow(base_name: str, kind: str, data: st.DataObject) -> None:
    _structure_body(base_name, kind, data)


class _Fixed:
    """Stands in for ``st.data()``: the named file, 0 for every other draw."""

    def __init__(self, file: str):
        self.file = file

    def draw(self, strategy, label=None):
        return self.file if label == "file" else 0


@pytest.mark.parametrize("base_name", ["tiny", "xsmall"])
@pytest.mark.parametrize("variant", [b"\xef\xbb\xbf", b"\r\n", b"\xef\xbb\xbf\r\n"], ids=["bom", "crlf", "bom+crlf"])
def test_bom_and_crlf_on_every_file_read_as_the_clean_files(base_name: str, variant: bytes) -> None:
    base = _base(base_name)
    bom = variant.startswith(b"\xef")
    crlf = variant.endswith(b"\r\n")
    files = {name: (b"\xef\xbb\xbf" if bom else b"") + (data.replace(b"\n", b"\r\n") if crlf else data)
             for name, data in base.files.items()}
    result = _run(files, cli=True)
    assert isinstance(result, Scenario), str(result)
    assert_same(result, base.scenario)
    assert [str(w) for w in result.warnings] == [str(w) for w in base.scenario.warnings]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["bom", "crlf", "bom_crlf", "semicolons", "tabs", "empty", "missing", "latin1",
                                  "header_only"])
def test_each_corruption_on_every_file(kind: str) -> None:
    """Not random: each of these on every file of tiny."""
    for file in sorted(_base("tiny").files):
        _structure_body("tiny", kind, _Fixed(file))


# --------------------------------------------------------------------------- properties: scenario.toml

toml_value = st.recursive(
    st.one_of(st.integers(min_value=-2**63, max_value=2**63 - 1), st.floats(), st.text(max_size=10), st.booleans(),
              st.dates(), st.datetimes(), st.times()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3)),
    max_leaves=5,
)
setting_key = st.one_of(st.sampled_from([s.key for s in SETTINGS]), st.sampled_from(["horizon", "solver", "x.y", "products"]),
                        st.text(min_size=1, max_size=8))


def _toml_body(base_name: str, data: st.DataObject) -> None:
    import tomllib

    base = _base(base_name)
    text = base.files["scenario.toml"].decode("utf-8")
    how = data.draw(st.sampled_from(["set", "delete_line", "duplicate_line", "replace_line", "garbage"]), label="how")
    lines = text.splitlines()
    if how == "set":
        settings_ = tomllib.loads(text)
        key = data.draw(setting_key, label="key")
        value = data.draw(toml_value, label="value")
        head, _, tail = key.rpartition(".")
        target = settings_
        if head:
            if not isinstance(settings_.get(head), dict):
                settings_[head] = {}
            target = settings_[head]
        target[tail] = value
        try:
            new = tomli_w.dumps(settings_)
        except Exception:  # noqa: BLE001 - not every drawn value can be written as TOML
            return
    elif how == "delete_line":
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        new = "\n".join(lines[:i] + lines[i + 1:])
    elif how == "duplicate_line":
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        new = "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    elif how == "replace_line":
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        lines[i] = data.draw(st.text(max_size=30), label="text")
        new = "\n".join(lines)
    else:
        new = data.draw(st.text(max_size=60), label="text")
    result = _run({**base.files, "scenario.toml": new.encode("utf-8", "surrogatepass")})
    if isinstance(result, Scenario):
        assert isinstance(result.settings["horizon.periods"], int) and result.periods >= 1


@settings(settings(DEFAULT, max_examples=20))
@given(base_name=st.sampled_from(["tiny", "xsmall"]), data=st.data())
def test_scenario_toml_corruptions(base_name: str, data: st.DataObject) -> None:
    _toml_body(base_name, data)


@pytest.mark.slow
@settings(SLOW)
@given(base_name=st.sampled_from(["tiny", "xsmall"]), data=st.data())
def test_scenario_toml_corruptions_slow(base_name: str, data: st.DataObject) -> None:
    _toml_body(base_name, data)


# --------------------------------------------------------------------------- properties: workbooks

xlsx_value = st.one_of(
    cell_text.filter(lambda s: not s.startswith("=")),
    st.integers(min_value=-10**15, max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.datetimes(min_value=pd.Timestamp("1900-03-01").to_pydatetime(), max_value=pd.Timestamp("2100-01-01").to_pydatetime()),
    st.dates(min_value=pd.Timestamp("1900-03-01").date(), max_value=pd.Timestamp("2100-01-01").date()),
)


def _workbook_body(data: st.DataObject) -> None:
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    path, clean = _workbook()
    how = data.draw(st.sampled_from(["cell", "truncate", "delete_sheet", "random"]), label="how")
    with tempfile.TemporaryDirectory(prefix="optsupply-xlsx-") as tmp:
        target = Path(tmp) / "case.xlsx"
        if how == "cell" or how == "delete_sheet":
            wb = openpyxl.load_workbook(path)
            sheet = data.draw(st.sampled_from(wb.sheetnames), label="sheet")
            ws = wb[sheet]
            if how == "delete_sheet":
                del wb[sheet]
            else:
                row = data.draw(st.integers(1, ws.max_row + 1), label="row")
                col = data.draw(st.integers(1, ws.max_column + 1), label="col")
                value = data.draw(xlsx_value, label="value")
                if isinstance(value, str):
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)
                ws.cell(row=row, column=col, value=value)
            wb.save(target)
        elif how == "truncate":
            raw = path.read_bytes()
            target.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1), label="cut")])
        else:
            target.write_bytes(data.draw(st.binary(max_size=300), label="bytes"))
        result = load_or_error(target)
        cli_validate(target)
        if how in ("truncate", "random") and isinstance(result, ScenarioError):
            assert "case.xlsx" in str(result)


@settings(settings(DEFAULT, max_examples=8))
@given(data=st.data())
def test_workbook_corruptions(data: st.DataObject) -> None:
    _workbook_body(data)


@pytest.mark.slow
@settings(SLOW)
@given(data=st.data())
def test_workbook_corruptions_slow(data: st.DataObject) -> None:
    _workbook_body(data)


# --------------------------------------------------------------------------- the command line


@settings(settings(DEFAULT, max_examples=10))
@given(base_name=st.sampled_from(["tiny", "xsmall"]), kind=st.sampled_from(["cell", *STRUCTURE]), data=st.data())
def test_cli_validate_exits_0_or_2(base_name: str, kind: str, data: st.DataObject) -> None:
    if kind == "cell":
        _cell_edit_body(base_name, data, cli=True)
    else:
        _structure_body(base_name, kind, data, cli=True)


@pytest.mark.slow
@settings(SLOW)
@given(base_name=st.sampled_from(["tiny", "xsmall"]), kind=st.sampled_from(["cell", *STRUCTURE]), data=st.data())
def test_cli_validate_exits_0_or_2_slow(base_name: str, kind: str, data: st.DataObject) -> None:
    if kind == "cell":
        _cell_edit_body(base_name, data, cli=True)
    else:
        _structure_body(base_name, kind, data, cli=True)


# --------------------------------------------------------------------------- with_changes / with_tables

change_value = st.one_of(
    cell_text,
    st.none(),
    st.booleans(),
    st.integers(min_value=-10**30, max_value=10**30),
    st.floats(),
    st.sampled_from(["*0.5", "*2", "+1", "-1", "*x", "*1e400", "+inf", "*-1", "-0", "*nan", "+1e-400"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
    st.dates(),
)
ALL_COLUMNS = [f"{t.name}.{c.name}" for t in TABLES for c in t.columns]


def _changes_body(base_name: str, data: st.DataObject) -> None:
    sc = _base(base_name).scenario
    changes: dict[Any, Any] = {}
    by_row: set[Any] = set()
    for _ in range(data.draw(st.integers(1, 3), label="n")):
        key = data.draw(st.one_of(st.sampled_from(ALL_COLUMNS + [s.key for s in SETTINGS]),
                                  st.text(max_size=12), st.integers()), label="key")
        table_name, _, _ = str(key).partition(".")
        if table_name in TABLE_BY_NAME and data.draw(st.booleans(), label="by row"):
            df = getattr(sc, table_name)
            spec = TABLE_BY_NAME[table_name]
            keys = [k if len(k) > 1 else k[0] for k in df[list(spec.key)].itertuples(index=False, name=None)]
            row_key = data.draw(st.one_of(st.sampled_from(keys), st.text(max_size=4)) if keys else st.text(max_size=4),
                                label="row key")
            changes[key] = {row_key: data.draw(change_value, label="value")}
            by_row.add(key)
        else:
            changes[key] = data.draw(change_value, label="value")
            by_row.discard(key)
    try:
        new = sc.with_changes(changes)
    except OptsupplyError as exc:
        assert "Traceback" not in str(exc)
        return
    for name, df in new.tables():  # the dtypes of a loaded scenario
        for col in df.columns:
            assert df[col].dtype == getattr(sc, name)[col].dtype, (name, col)
    for key, value in changes.items():  # a plain number given for one row is taken exactly
        table_name, _, column = str(key).partition(".")
        if key in by_row and column in TABLE_BY_NAME[table_name].column_names:
            col = TABLE_BY_NAME[table_name].column(column)
            (row_key, v), = value.items()
            if col.dtype == "float" and isinstance(v, float) and not isinstance(v, bool) and len(changes) == 1:
                df = getattr(new, table_name)
                spec = TABLE_BY_NAME[table_name]
                keys = [str(k if len(k) > 1 else k[0]) for k in df[list(spec.key)].itertuples(index=False, name=None)]
                assert df[column].iat[keys.index(str(row_key).strip())] == v


@settings(settings(DEFAULT, max_examples=60))
@given(base_name=st.sampled_from(["tiny", "xsmall"]), data=st.data())
def test_with_changes_never_crashes(base_name: str, data: st.DataObject) -> None:
    _changes_body(base_name, data)


@pytest.mark.slow
@settings(SLOW)
@given(base_name=st.sampled_from(["tiny", "xsmall"]), data=st.data())
def test_with_changes_never_crashes_slow(base_name: str, data: st.DataObject) -> None:
    _changes_body(base_name, data)


FRAME_EDITS = ["astype_str", "astype_object", "numbers_as_float", "nullable", "drop_column", "extra_column",
               "rename_column", "cell", "shuffle", "categorical", "none_cell", "duplicate_row", "empty", "not_a_frame"]


def _tables_body(base_name: str, data: st.DataObject) -> None:
    sc = _base(base_name).scenario
    name = data.draw(st.sampled_from([n for n, df in sc.tables() if not df.empty]), label="table")
    df = getattr(sc, name).copy()
    edit = data.draw(st.sampled_from(FRAME_EDITS), label="edit")
    same = False  # the result must equal the scenario
    column = data.draw(st.sampled_from(list(df.columns)), label="column")
    if edit == "astype_str":
        df = df.astype(str)
        same = True
    elif edit == "astype_object":
        df = df.astype(object)
        same = True
    elif edit == "numbers_as_float":
        df = df.apply(lambda s: s.astype("float64") if s.dtype.kind in "iu" else s)
        same = True
    elif edit == "nullable":
        df = df.convert_dtypes()
        same = True
    elif edit == "categorical":
        df[column] = df[column].astype("category")
        same = True
    elif edit == "shuffle":
        df = df.sample(frac=1.0, random_state=data.draw(st.integers(0, 100), label="seed"))
    elif edit == "drop_column":
        df = df.drop(columns=[column])  # an optional column takes its default, a required one is missing
    elif edit == "extra_column":
        value = data.draw(change_value, label="value")
        df[data.draw(st.text(max_size=8), label="name")] = pd.Series([value] * len(df), index=df.index, dtype=object)
    elif edit == "rename_column":
        df = df.rename(columns={column: data.draw(st.text(max_size=8), label="name")})
    elif edit == "cell":
        cells = df[column].astype(object).tolist()
        cells[data.draw(st.integers(0, len(df) - 1), label="row")] = data.draw(change_value, label="value")
        df[column] = pd.Series(cells, index=df.index, dtype=object)
    elif edit == "none_cell":
        cells = df[column].astype(object).tolist()
        cells[0] = data.draw(st.sampled_from([None, np.nan, pd.NA, pd.NaT]), label="na")
        df[column] = pd.Series(cells, index=df.index, dtype=object)
    elif edit == "duplicate_row":
        df = pd.concat([df, df.iloc[[0]]])
    elif edit == "empty":
        df = df.iloc[0:0]
    elif edit == "not_a_frame":
        df = data.draw(st.sampled_from([None, [], {}, "products.csv", df.to_dict("list")]), label="thing")
    try:
        new = sc.with_tables({name: df})
    except OptsupplyError as exc:
        assert not same, f"{edit} of {name}: {exc}"
        return
    if same:
        assert_same(new, sc)
    for tname, tdf in new.tables():
        for col in tdf.columns:
            assert tdf[col].dtype == getattr(sc, tname)[col].dtype, (tname, col)


@settings(settings(DEFAULT, max_examples=30))
@given(base_name=st.sampled_from(["tiny", "xsmall"]), data=st.data())
def test_with_tables_never_crashes(base_name: str, data: st.DataObject) -> None:
    _tables_body(base_name, data)


@pytest.mark.slow
@settings(SLOW)
@given(base_name=st.sampled_from(["tiny", "xsmall"]), data=st.data())
def test_with_tables_never_crashes_slow(base_name: str, data: st.DataObject) -> None:
    _tables_body(base_name, data)


def test_api_errors_are_optsupply_errors() -> None:
    assert issubclass(ScenarioError, OptsupplyError)
    assert optsupply.ScenarioError is ScenarioError


# --------------------------------------------------------------------------- regressions: crashes found


def _toml_with(extra: str, replace: tuple[str, str] | None = None) -> dict[str, bytes]:
    base = _base("tiny")
    text = base.files["scenario.toml"].decode()
    if replace:
        text = text.replace(*replace)
    return {**base.files, "scenario.toml": (text + "\n" + extra + "\n").encode()}


def _errors(result: Scenario | ScenarioError) -> list[str]:
    assert isinstance(result, ScenarioError), "expected errors"
    return [str(p) for p in result.report.errors]


def test_huge_whole_number_for_a_number_setting() -> None:
    # was: OverflowError (int too large to convert to float)
    found = _errors(_run(_toml_with("[finance]\nmax_inventory_value = " + "9" * 400), cli=True))
    assert found == ["error: scenario.toml, line 23, key finance.max_inventory_value: a 400-digit number is too large"]
    found = _errors(_run(_toml_with("", ("periods = 6", "periods = " + "9" * 400))))
    assert found == ["error: scenario.toml, line 5, key horizon.periods: a 400-digit number is too large: "
                     "whole numbers can be at most 2**53"]


def test_whole_number_too_long_for_python() -> None:
    # was: ValueError from tomllib (exceeds the limit of 4300 digits for integer string conversion)
    found = _errors(_run(_toml_with("[finance]\nmax_inventory_value = " + "9" * 5000), cli=True))
    assert found == ["error: scenario.toml, line 23: a number has more than 4,000 digits: write it with an "
                     "exponent (1e400)"]


@pytest.mark.parametrize("start,freq,message", [
    ("2027-01-04", "99999999999999999999D", "is not a pandas frequency"),  # was: OverflowError
    ("2027-01-04", "0D", "does not move forward"),  # was: accepted, then a crash dating the plan
    ("2027-01-04", "-1W", "does not move forward"),  # was: accepted, dates running backwards
    ("9999-12-31", "D", "cannot all be given dates"),  # was: accepted, then a crash dating the plan
    ("2027-01-04", "1000000000D", "cannot all be given dates"),
])
def test_period_dates_that_cannot_be_computed(start: str, freq: str, message: str) -> None:
    files = _toml_with("", ("2027-01-04", start))
    files["scenario.toml"] = files["scenario.toml"].replace(b"W-MON", freq.encode())
    found = _errors(_run(files, cli=True))
    assert len(found) == 1 and found[0].startswith("error: scenario.toml, line ") and message in found[0], found


def test_scenario_path_that_cannot_be_opened(tmp_path: Path) -> None:
    # was: OSError (file name too long) from Path.is_dir
    path = tmp_path / ("x" * 300)
    with pytest.raises(ScenarioError, match="cannot be opened: File name too long"):
        Scenario.load(path)
    assert cli_validate(path) == 2


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return _base("tiny").scenario


def test_no_op_changes_give_an_equal_scenario(tiny: Scenario) -> None:
    for same in (tiny.with_changes({}), tiny.with_tables({}),
                 tiny.with_tables({name: df for name, df in tiny.tables()}),
                 tiny.with_changes({"products.price": {"P1": tiny.products["price"].iat[0]}})):
        assert_same(same, tiny)
        assert same.present == tiny.present and same.warnings == tiny.warnings


@pytest.mark.parametrize("value,expected", [("true", True), ("yes", True), (" TRUE ", True), ("1", True), (1, True),
                                            (True, True), ("false", False), ("no", False), (0, False), ("", False),
                                            (None, False), (np.True_, True)])
def test_with_changes_reads_booleans_like_a_csv_cell(tiny: Scenario, value: Any, expected: bool) -> None:
    # was: TypeError "Invalid value 'true' for dtype 'bool'" leaking from pandas
    new = tiny.with_changes({"products.must_launch": {"P2": value}})
    assert new.products["must_launch"].tolist() == [False, expected, False]
    assert new.products["must_launch"].dtype == bool


@pytest.mark.parametrize("changes,expected", [
    ({"products.price": {"P2": "12"}}, ("products", "price", 1, 12.0)),  # was: TypeError
    ({"slots.slots": {0: "2"}}, ("slots", "slots", 0, 2)),  # was: TypeError
    ({"products.launch_latest": {"P2": ""}}, ("products", "launch_latest", 1, 5)),  # blank: H-1; was: TypeError
    ({"products.launch_latest": {"P2": None}}, ("products", "launch_latest", 1, 5)),
    ({"products.holding_cost": {"P1": None}}, ("products", "holding_cost", 0, 0.0)),  # blank: the default
    ({"products.launch_latest": {"P2": "+1"}}, ("products", "launch_latest", 1, 4)),
    ({"products.launch_earliest": "+1"}, ("products", "launch_earliest", 2, 2)),
    ({"products.category": {"P1": "+1"}}, ("products", "category", 0, "+1")),  # text is text; was: TypeError
    ({"name": "*2"}, None),  # a text setting is text; was: TypeError
    ({"products.price": {"P1": np.float32(2.5)}}, ("products", "price", 0, 2.5)),
    ({"products.launch_earliest": {"P2": np.int64(2)}}, ("products", "launch_earliest", 1, 2)),
    ({"horizon.periods": "*1.5", "products.launch_latest": {"P3": ""}}, ("products", "launch_latest", 2, 8)),
])
def test_with_changes_reads_values_like_csv_cells(tiny: Scenario, changes: dict, expected: tuple | None) -> None:
    new = tiny.with_changes(changes)
    if expected:
        table, column, row, value = expected
        assert getattr(new, table)[column].iat[row] == value
    for name, df in new.tables():
        for col in df.columns:
            assert df[col].dtype == getattr(tiny, name)[col].dtype, (name, col)


@pytest.mark.parametrize("changes,message", [
    ({"products.price": {"P2": "abc"}}, "products.csv, row 3, column price: 'abc' is not a number"),  # was: TypeError
    ({"products.price": "x"}, "products.csv, row 2, column price: 'x' is not a number"),  # was: 'NaN is not allowed'
    ({"products.price": [1, 2]}, "products.csv, row 2, column price: '[1, 2]' is not a number"),
    ({"products.price": {"P1": {"a": 1}}}, "products.csv, row 2, column price: '{'a': 1}' is not a number"),  # was: ValueError
    ({"products.price": {"P1": None}}, "products.csv, row 2, column price: missing value (this column is required)"),
    ({"products.must_launch": {"P2": "x"}}, "products.csv, row 3, column must_launch: 'x' is not true or false"),
    ({"products.must_launch": "*2"}, "products.csv, row 2, column must_launch: '*2' is not true or false"),
    # was: accepted as launch_earliest 1 (a silent wrong read)
    ({"products.launch_earliest": {"P2": 1.5}}, "products.csv, row 3, column launch_earliest: '1.5' is not a whole number"),
    # was: accepted, a product neither active nor new
    ({"products.status": {"P2": 5}}, "products.csv, row 3, column status: '5' is not allowed: use active or new"),
    ({5: 3}, "changes, column 5: a change is named 'TABLE.COLUMN' or 'section.key' (text), not int"),  # was: AttributeError
    ({"horizon.periods": 10**400}, "changes, column horizon.periods: a 401-digit number is too large"),  # was: OverflowError
    ({"advertising.total_budget": 10**400}, "changes, column advertising.total_budget: a 401-digit number is too large"),
    ({"products.price": "*x"}, "products.csv, row 2, column price: '*x' is not a number"),
])
def test_with_changes_reports_what_it_cannot_read(tiny: Scenario, changes: dict, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        tiny.with_changes(changes)
    assert any(message in str(p) for p in info.value.report.errors), str(info.value)


def test_with_changes_needs_a_mapping(tiny: Scenario) -> None:
    with pytest.raises(optsupply.UsageError, match="with_changes takes a mapping"):  # was: AttributeError
        tiny.with_changes([("products.price", 1)])
    with pytest.raises(optsupply.UsageError, match="with_tables takes a mapping"):
        tiny.with_tables([("demand", None)])


def _frame_edits(sc: Scenario) -> dict[str, tuple[dict, str | None]]:
    d, p = sc.demand, sc.products
    return {  # name -> (tables, an error message it gives, or None when it is read correctly)
        "text numbers": ({"demand": d.astype(str)}, None),
        "object dtypes": ({"demand": d.astype(object), "products": p.astype(object)}, None),
        "nullable dtypes": ({"demand": d.convert_dtypes(), "products": p.convert_dtypes()}, None),
        "categorical": ({"demand": d.assign(region=d["region"].astype("category"))}, None),
        "text booleans": ({"products": p.assign(must_launch=p["must_launch"].map({True: "true", False: "false"}))}, None),
        "missing column": ({"demand": d.drop(columns=["demand"])},  # was: KeyError
                           "demand.csv, row 1, column demand: required column is missing"),
        "optional column dropped": ({"demand": d.drop(columns=["demand_sd"])}, None),  # was: KeyError
        "no columns": ({"products": pd.DataFrame()},  # was: KeyError
                       "products.csv, row 1, column product: required column is missing"),
        "None ids": ({"demand": d.assign(region=None)},  # was: AttributeError
                     "demand.csv, row 2, column region: missing value (this column is required)"),
        "not a frame": ({"demand": [1, 2]}, "demand.csv: must be a pandas DataFrame, not list"),  # was: AttributeError
        "None frame": ({"demand": None}, "demand.csv: must be a pandas DataFrame, not NoneType"),
        "column twice": ({"demand": pd.concat([d, d[["demand"]]], axis=1)},  # was: AttributeError
                         "demand.csv, row 1, column demand: column appears twice"),
        "nullable NA": ({"demand": d.assign(period=pd.array([pd.NA] * len(d), dtype="Int64"))},  # was: TypeError
                        "demand.csv, row 2, column period: missing value (this column is required)"),
        "complex": ({"demand": d.assign(demand=1 + 2j)},  # was: ComplexWarning
                    "demand.csv, row 2, column demand: '(1+2j)' is not a number"),
        "dates": ({"demand": d.assign(demand=pd.Timestamp("2020-01-01"))},
                  "demand.csv, row 2, column demand: '2020-01-01' is not a number"),
        # were accepted: "false" read as True, a status neither active nor new, period 2.5 cut to 2
        "false text": ({"products": p.assign(must_launch="false").assign(must_launch=["no", "false", "x"])},
                       "products.csv, row 4, column must_launch: 'x' is not true or false"),
        "bad status": ({"products": p.assign(status="old")},
                       "products.csv, row 2, column status: 'old' is not allowed: use active or new"),
        "fraction period": ({"demand": d.assign(period=d["period"] + 0.5)},
                            "demand.csv, row 2, column period: 0.5 is not a whole number"),
        "huge period": ({"demand": d.assign(period=2**60)},
                        "demand.csv, row 2, column period: 1.15292e+18 is too large"),
    }


@pytest.mark.parametrize("case", list(_frame_edits(Scenario.load(TINY))))
def test_with_tables_reads_frames_like_files(tiny: Scenario, case: str) -> None:
    tables, message = _frame_edits(tiny)[case]
    if message is None:
        new = tiny.with_tables(tables)
        assert_same(new, tiny)
        return
    with pytest.raises(ScenarioError) as info:
        tiny.with_tables(tables)
    assert any(message in str(p) for p in info.value.report.errors), str(info.value)
