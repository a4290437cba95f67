"""A corpus of malformed scenarios: every problem names the exact file, row and column.

Each case copies ``instances/tiny`` to a temporary folder, applies one small
edit and checks what :func:`optsupply.validate` reports. Row numbers are
spreadsheet rows (the header is row 1); for ``scenario.toml`` they are lines.
The editing helpers return the row they touched, so the expected row is
computed from the file independently of the code under test.

A case lists the problems it expects. Unless a case says otherwise, these
must be *all* the errors: a problem must not drag along follow-up errors
(for example a missing column must not also be reported as a blank cell on
every row).
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import openpyxl
import pandas as pd
import pytest

import optsupply
from optsupply import Scenario, ScenarioError
from optsupply.scenario import text_tables as _text_tables
from optsupply.errors import Report

TINY = Path(__file__).resolve().parents[2] / "instances" / "tiny"


# --------------------------------------------------------------------------- editing helpers


class Sc:
    """A scenario folder under test, with small text-level editing helpers."""

    def __init__(self, path: Path):
        self.path = path

    # CSV tables --------------------------------------------------------------

    def file(self, table: str) -> Path:
        return self.path / f"{table}.csv"

    def text(self, name: str) -> str:
        return (self.path / name).read_text(encoding="utf-8")

    def write_text(self, name: str, text: str) -> None:
        (self.path / name).write_bytes(text.encode("utf-8"))

    def write_bytes(self, name: str, data: bytes) -> None:
        (self.path / name).write_bytes(data)

    def rows(self, table: str) -> list[list[str]]:
        """All records of a table, the header first (so record i is spreadsheet row i + 1)."""
        with open(self.file(table), newline="", encoding="utf-8") as f:
            return [r for r in csv.reader(f)]

    def write_rows(self, table: str, rows: list[list[str]]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        self.write_text(f"{table}.csv", buf.getvalue())

    def row_of(self, table: str, **key: str) -> int:
        """Spreadsheet row of the first record whose columns match ``key``."""
        rows = self.rows(table)
        header = rows[0]
        for i, r in enumerate(rows[1:], start=2):
            if all(r[header.index(c)] == v for c, v in key.items()):
                return i
        raise LookupError(f"no row {key} in {table}.csv")

    def set(self, table: str, where: int | dict, column: str, value: str) -> int:
        """Replace one cell; ``where`` is a spreadsheet row or a dict of column values. Returns the row."""
        row = where if isinstance(where, int) else self.row_of(table, **where)
        rows = self.rows(table)
        rows[row - 1][rows[0].index(column)] = value
        self.write_rows(table, rows)
        return row

    def drop_column(self, table: str, column: str) -> None:
        rows = self.rows(table)
        j = rows[0].index(column)
        self.write_rows(table, [r[:j] + r[j + 1:] for r in rows])

    def rename_column(self, table: str, old: str, new: str) -> None:
        rows = self.rows(table)
        rows[0][rows[0].index(old)] = new
        self.write_rows(table, rows)

    def append(self, table: str, **values: str) -> int:
        """Append a record (unnamed columns blank); returns its spreadsheet row."""
        if not self.file(table).exists():
            self.write_rows(table, [list(values)])
        rows = self.rows(table)
        unknown = set(values) - set(rows[0])
        assert not unknown, f"{table}.csv has no columns {unknown}"
        rows.append([values.get(c, "") for c in rows[0]])
        self.write_rows(table, rows)
        return len(rows)

    def append_raw(self, table: str, line: str) -> int:
        """Append one line of raw text; returns its spreadsheet row."""
        text = self.text(f"{table}.csv")
        if not text.endswith("\n"):
            text += "\n"
        self.write_text(f"{table}.csv", text + line + "\n")
        return len(self.rows(table))

    def delete(self, table: str, **key: str) -> int:
        rows = self.rows(table)
        header = rows[0]
        keep = [r for r in rows[1:] if not all(r[header.index(c)] == v for c, v in key.items())]
        self.write_rows(table, [header] + keep)
        return len(rows) - 1 - len(keep)

    def remove(self, name: str) -> None:
        (self.path / name).unlink()

    # scenario.toml -----------------------------------------------------------

    def toml_line(self, prefix: str) -> int:
        """1-based line of scenario.toml starting with ``prefix``."""
        for i, line in enumerate(self.text("scenario.toml").splitlines(), start=1):
            if line.strip().startswith(prefix):
                return i
        raise LookupError(prefix)

    def toml_replace_line(self, prefix: str, new: str) -> int:
        lines = self.text("scenario.toml").splitlines()
        i = self.toml_line(prefix)
        lines[i - 1] = new
        self.write_text("scenario.toml", "\n".join(lines) + "\n")
        return i

    def toml_insert_after(self, prefix: str, new: str) -> int:
        lines = self.text("scenario.toml").splitlines()
        i = self.toml_line(prefix)
        lines.insert(i, new)
        self.write_text("scenario.toml", "\n".join(lines) + "\n")
        return i + 1

    def toml_delete_lines(self, *prefixes: str) -> None:
        lines = [ln for ln in self.text("scenario.toml").splitlines()
                 if not any(ln.strip().startswith(p) for p in prefixes)]
        self.write_text("scenario.toml", "\n".join(lines) + "\n")


@pytest.fixture
def sc(tmp_path: Path) -> Sc:
    target = tmp_path / "scenario"
    shutil.copytree(TINY, target)
    return Sc(target)


# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Expect:
    file: str
    row: int | None
    column: str | None
    phrase: str
    severity: str = "error"

    def matches(self, p: optsupply.Problem) -> bool:
        return (p.file == self.file and p.row == self.row and p.column == self.column
                and p.severity == self.severity and self.phrase.lower() in p.message.lower())


def E(file: str, row: int | None, column: str | None, phrase: str) -> Expect:
    return Expect(file, row, column, phrase, "error")


def W(file: str, row: int | None, column: str | None, phrase: str) -> Expect:
    return Expect(file, row, column, phrase, "warning")


@dataclass
class Case:
    id: str
    edit: Callable[[Sc], list[Expect]]
    only: bool = True  # the expected errors are all the errors


CASES: list[Case] = []


def case(id: str, only: bool = True):
    def deco(fn: Callable[[Sc], list[Expect]]) -> Callable[[Sc], list[Expect]]:
        CASES.append(Case(id, fn, only))
        return fn
    return deco


def check(path: Path, expected: list[Expect], only: bool = True) -> optsupply.Report:
    report = optsupply.validate(path)
    listing = "\n".join(str(p) for p in report.problems) or "(no problems)"
    for e in expected:
        assert any(e.matches(p) for p in report.problems), f"expected {e}\nreported:\n{listing}"
    if only:
        extra = [p for p in report.errors if not any(e.matches(p) for e in expected)]
        assert not extra, "unexpected errors:\n" + "\n".join(map(str, extra)) + f"\nreported:\n{listing}"
    expects_error = any(e.severity == "error" for e in expected)
    assert bool(report.errors) == expects_error, listing
    # loading finds the same problems: it raises on errors, and keeps the warnings otherwise
    if report.errors:
        with pytest.raises(ScenarioError) as info:
            Scenario.load(path)
        assert [str(p) for p in info.value.report.problems] == [str(p) for p in report.problems]
        for e in expected:
            assert e.file in str(info.value)
    else:
        scenario = Scenario.load(path)
        assert [str(p) for p in scenario.warnings] == [str(p) for p in report.warnings]
    return report


# --------------------------------------------------------------------------- scenario.toml


@case("toml-syntax-error")
def _(sc: Sc):
    line = sc.toml_replace_line("periods", "periods = = 6")
    return [E("scenario.toml", line, None, "TOML syntax error")]


@case("toml-unclosed-string")
def _(sc: Sc):
    line = sc.toml_replace_line("name", 'name = "tiny')
    return [E("scenario.toml", line, None, "TOML syntax error")]


@case("setting-missing-periods")
def _(sc: Sc):
    section = sc.toml_line("[horizon]")
    sc.toml_delete_lines("periods")
    return [E("scenario.toml", section, "horizon.periods", "required setting is missing")]


@case("setting-missing-horizon-section")
def _(sc: Sc):
    sc.toml_delete_lines("[horizon]", "periods", "start", "freq")
    return [E("scenario.toml", None, "horizon.periods", "required setting is missing")]


@case("setting-periods-text")
def _(sc: Sc):
    line = sc.toml_replace_line("periods", 'periods = "ten"')
    return [E("scenario.toml", line, "horizon.periods", "must be a number")]


@case("setting-periods-zero")
def _(sc: Sc):
    line = sc.toml_replace_line("periods", "periods = 0")
    return [E("scenario.toml", line, "horizon.periods", "out of range")]


@case("setting-periods-dotted-key")
def _(sc: Sc):
    sc.toml_delete_lines("[horizon]", "periods", "start", "freq")
    line = sc.toml_insert_after("currency", 'horizon.periods = "six"')
    return [E("scenario.toml", line, "horizon.periods", "must be a number")]


@case("setting-pwl-tolerance-2")
def _(sc: Sc):
    line = sc.toml_replace_line("pwl_tolerance", "pwl_tolerance = 2")
    return [E("scenario.toml", line, "advertising.pwl_tolerance", "out of range")]


@case("setting-pwl-tolerance-0")
def _(sc: Sc):
    line = sc.toml_replace_line("pwl_tolerance", "pwl_tolerance = 0")
    return [E("scenario.toml", line, "advertising.pwl_tolerance", "> 0")]


@case("setting-threads-fraction")
def _(sc: Sc):
    line = sc.toml_replace_line("threads", "threads = 1.5")
    return [E("scenario.toml", line, "solver.threads", "whole number")]


@case("setting-time-limit-negative")
def _(sc: Sc):
    line = sc.toml_replace_line("time_limit", "time_limit = -1")
    return [E("scenario.toml", line, "solver.time_limit", "out of range")]


@case("setting-mip-gap-nan")
def _(sc: Sc):
    line = sc.toml_replace_line("mip_gap", "mip_gap = nan")
    return [E("scenario.toml", line, "solver.mip_gap", "NaN")]


@case("setting-max-per-period-bool")
def _(sc: Sc):
    line = sc.toml_replace_line("max_per_period", "max_per_period = true")
    return [E("scenario.toml", line, "launch.max_per_period", "must be a number")]


@case("setting-name-not-text")
def _(sc: Sc):
    line = sc.toml_replace_line("name", "name = 5")
    return [E("scenario.toml", line, "name", "must be text")]


@case("setting-start-not-a-date")
def _(sc: Sc):
    line = sc.toml_replace_line("start", 'start = "2027-13-45"')
    return [E("scenario.toml", line, "horizon.start", "not a date")]


@case("setting-start-blank")
def _(sc: Sc):
    line = sc.toml_replace_line("start", 'start = ""')
    return [E("scenario.toml", line, "horizon.start", "not a date")]


@case("setting-freq-unknown")
def _(sc: Sc):
    line = sc.toml_replace_line("freq", 'freq = "fortnightly"')
    return [E("scenario.toml", line, "horizon.freq", "frequency")]


@case("setting-periods-too-large")
def _(sc: Sc):
    line = sc.toml_replace_line("periods", "periods = 99999999999999999999")
    return [E("scenario.toml", line, "horizon.periods", "too large")]


@case("setting-section-written-as-value")
def _(sc: Sc):
    sc.toml_delete_lines("[horizon]", "periods", "start", "freq")
    line = sc.toml_insert_after("currency", "horizon = 6")
    return [W("scenario.toml", line, "horizon", "is a section"),
            E("scenario.toml", line, "horizon.periods", "required setting is missing")]


@case("setting-unknown-key")
def _(sc: Sc):
    line = sc.toml_insert_after("threads", "time_limt = 30")
    return [W("scenario.toml", line, "solver.time_limt", "did you mean 'solver.time_limit'")]


@case("setting-unknown-section")
def _(sc: Sc):
    sc.write_text("scenario.toml", sc.text("scenario.toml") + "\n[finanse]\nmax_inventory_value = 100\n")
    line = sc.toml_line("max_inventory_value")
    return [W("scenario.toml", line, "finanse.max_inventory_value", "did you mean 'finance.max_inventory_value'")]


@case("toml-missing")
def _(sc: Sc):
    sc.remove("scenario.toml")
    return [E("scenario.toml", None, None, "missing")]


@case("toml-not-utf8")
def _(sc: Sc):
    data = sc.text("scenario.toml").replace('currency = "EUR"', 'currency = "\u20ac"').encode("cp1252")
    sc.write_bytes("scenario.toml", data)
    return [E("scenario.toml", 2, None, "not UTF-8")]


# --------------------------------------------------------------------------- files


@case("table-missing-warehouses")
def _(sc: Sc):
    sc.remove("warehouses.csv")
    return [E("warehouses.csv", None, None, "required table is missing")]


@case("table-missing-products")
def _(sc: Sc):
    sc.remove("products.csv")
    return [E("products.csv", None, None, "required table is missing")]


@case("table-missing-demand-with-active-products")
def _(sc: Sc):
    sc.remove("demand.csv")
    return [E("demand.csv", None, None, "active products")]


@case("table-missing-launch-curve-with-new-products")
def _(sc: Sc):
    sc.remove("launch_curve.csv")
    return [E("launch_curve.csv", None, None, "new products")]


@case("table-unknown-file")
def _(sc: Sc):
    shutil.copy(sc.file("products"), sc.path / "product.csv")
    return [W("product.csv", None, None, "did you mean 'products.csv'")]


@case("table-required-without-rows")
def _(sc: Sc):
    sc.write_rows("products", sc.rows("products")[:1])
    return [E("products.csv", None, None, "has no rows")]


@case("csv-tabs")
def _(sc: Sc):
    sc.write_text("supply.csv", sc.text("supply.csv").replace(",", "\t"))
    return [E("supply.csv", 1, None, "tabs")]


@case("csv-empty-file")
def _(sc: Sc):
    sc.write_bytes("products.csv", b"")
    return [E("products.csv", None, None, "is empty")]


@case("csv-only-whitespace")
def _(sc: Sc):
    sc.write_bytes("warehouses.csv", b"\n \n")
    return [E("warehouses.csv", None, None, "is empty")]


@case("csv-not-utf8")
def _(sc: Sc):
    rows = sc.rows("products")
    rows[2][rows[0].index("brand")] = "Caf\u00e9"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    sc.write_bytes("products.csv", buf.getvalue().encode("latin-1"))
    return [E("products.csv", 3, None, "not UTF-8")]


@case("csv-semicolons")
def _(sc: Sc):
    sc.write_text("lanes.csv", sc.text("lanes.csv").replace(",", ";"))
    return [E("lanes.csv", 1, None, "semicolons")]


@case("csv-ragged-row")
def _(sc: Sc):
    row = sc.append_raw("supply", "P2,W2,0,0,0,inf,0,7")
    return [E("supply.csv", row, None, "8 fields but the header has 7")]


@case("csv-ragged-rows-all-reported")
def _(sc: Sc):
    rows = sc.text("demand.csv").splitlines()
    rows[2] += ",x"  # spreadsheet row 3
    rows[5] += ",y,z"  # spreadsheet row 6
    sc.write_text("demand.csv", "\n".join(rows) + "\n")
    return [E("demand.csv", 3, None, "5 fields but the header has 4"),
            E("demand.csv", 6, None, "6 fields but the header has 4")]


@case("csv-unclosed-quote")
def _(sc: Sc):
    sc.append_raw("supply", 'P2,"W2,0,0,0,inf,0')
    return [E("supply.csv", 6, None, "not a valid CSV table")]


@case("csv-first-row-blank")
def _(sc: Sc):
    sc.write_text("lanes.csv", "\n" + sc.text("lanes.csv"))
    return [E("lanes.csv", 1, None, "header")]


@case("csv-blank-header-cell-with-values")
def _(sc: Sc):
    rows = sc.rows("warehouses")
    rows = [r + [v] for r, v in zip(rows, ["", "1", "2"])]
    sc.write_rows("warehouses", rows)
    return [W("warehouses.csv", 1, None, "no header")]


@case("column-missing-required")
def _(sc: Sc):
    sc.drop_column("products", "price")
    return [E("products.csv", 1, "price", "required column is missing")]


@case("column-missing-key")
def _(sc: Sc):
    sc.drop_column("demand", "product")
    return [E("demand.csv", 1, "product", "required column is missing")]


@case("column-missing-products-key")
def _(sc: Sc):
    sc.drop_column("products", "product")
    return [E("products.csv", 1, "product", "required column is missing")]


@case("column-misspelt-required")
def _(sc: Sc):
    sc.rename_column("products", "unit_cost", "unitcost")
    return [E("products.csv", 1, "unit_cost", "is it 'unitcost'"),
            W("products.csv", 1, "unitcost", "unknown column")]


@case("column-unknown")
def _(sc: Sc):
    sc.rename_column("products", "holding_cost", "holding_costs")
    return [W("products.csv", 1, "holding_costs", "did you mean 'holding_cost'")]


@case("column-twice-in-header")
def _(sc: Sc):
    rows = sc.rows("warehouses")
    sc.write_rows("warehouses", [r + [r[1]] for r in rows])
    row = sc.set("warehouses", {"warehouse": "W1"}, "storage_capacity", "-40")  # the first one is used
    return [E("warehouses.csv", 1, "storage_capacity", "twice"),
            E("warehouses.csv", row, "storage_capacity", "negative")]


# --------------------------------------------------------------------------- cells


@case("cell-not-a-number")
def _(sc: Sc):
    row = sc.set("products", {"product": "P2"}, "price", "abc")
    return [E("products.csv", row, "price", "'abc' is not a number")]


@case("cell-decimal-comma-quoted")
def _(sc: Sc):
    row = sc.set("lanes", {"warehouse": "W1", "region": "R2"}, "cost_per_unit", "1,5")
    return [E("lanes.csv", row, "cost_per_unit", "'1,5' is not a number")]


@case("cell-nan-required")
def _(sc: Sc):
    row = sc.set("demand", {"product": "P1", "region": "R2", "period": "3"}, "demand", "NaN")
    return [E("demand.csv", row, "demand", "NaN is not allowed")]


@case("cell-nan-optional")
def _(sc: Sc):
    row = sc.set("products", {"product": "P1"}, "holding_cost", "nan")
    return [E("products.csv", row, "holding_cost", "blank for the default")]


@case("cell-inf-price")
def _(sc: Sc):
    row = sc.set("products", {"product": "P3"}, "price", "inf")
    return [E("products.csv", row, "price", "give a finite number")]


@case("cell-inf-lead-time")
def _(sc: Sc):
    row = sc.set("supply", {"product": "P1", "warehouse": "W1"}, "lead_time", "inf")
    return [E("supply.csv", row, "lead_time", "not infinite")]


@case("cell-negative-price")
def _(sc: Sc):
    row = sc.set("products", {"product": "P1"}, "price", "-10")
    return [E("products.csv", row, "price", "negative")]


@case("cell-negative-unit-cost")
def _(sc: Sc):
    row = sc.set("products", {"product": "P2"}, "unit_cost", "-0.5")
    return [E("products.csv", row, "unit_cost", "negative")]


@case("cell-negative-storage-capacity")
def _(sc: Sc):
    row = sc.set("warehouses", {"warehouse": "W1"}, "storage_capacity", "-40")
    return [E("warehouses.csv", row, "storage_capacity", "negative")]


@case("cell-negative-infinite-capacity")
def _(sc: Sc):
    row = sc.set("lanes", {"warehouse": "W2", "region": "R1"}, "capacity", "-inf")
    return [E("lanes.csv", row, "capacity", "negative")]


@case("cell-negative-order-cost")
def _(sc: Sc):
    row = sc.set("supply", {"product": "P1", "warehouse": "W2"}, "order_cost", "-1")
    return [E("supply.csv", row, "order_cost", "negative cost")]


@case("cell-period-not-whole")
def _(sc: Sc):
    row = sc.set("demand", {"product": "P1", "region": "R1", "period": "2"}, "period", "2.5")
    return [E("demand.csv", row, "period", "not a whole number")]


@case("cell-age-not-whole")
def _(sc: Sc):
    row = sc.set("launch_curve", {"product": "P2", "region": "R1", "age": "1"}, "age", "1.5")
    return [E("launch_curve.csv", row, "age", "not a whole number")]


@case("cell-period-text")
def _(sc: Sc):
    row = sc.set("slots", {"period": "4"}, "period", "four")
    return [E("slots.csv", row, "period", "'four' is not a number")]


@case("cell-period-beyond-horizon")
def _(sc: Sc):
    row = sc.set("demand", {"product": "P1", "region": "R2", "period": "5"}, "period", "6")
    return [E("demand.csv", row, "period", "out of range: the horizon has periods 0 to 5")]


@case("cell-period-negative")
def _(sc: Sc):
    row = sc.set("slots", {"period": "0"}, "period", "-1")
    return [E("slots.csv", row, "period", "out of range")]


@case("cell-launch-latest-beyond-horizon")
def _(sc: Sc):
    row = sc.set("products", {"product": "P3"}, "launch_latest", "6")
    return [E("products.csv", row, "launch_latest", "out of range")]


@case("cell-pipeline-period-beyond-horizon")
def _(sc: Sc):
    row = sc.append("pipeline", product="P1", warehouse="W1", period="9", units="5")
    return [E("pipeline.csv", row, "period", "out of range")]


@case("cell-age-negative")
def _(sc: Sc):
    row = sc.set("launch_curve", {"product": "P3", "region": "R2", "age": "0"}, "age", "-1")
    return [E("launch_curve.csv", row, "age", "negative")]


@case("cell-history-period-not-past")
def _(sc: Sc):
    sc.append("history", product="P1", region="R1", period="-1", units="8")
    row = sc.append("history", product="P1", region="R1", period="0", units="9")
    return [E("history.csv", row, "period", "not in the past")]


@case("cell-bad-bool")
def _(sc: Sc):
    row = sc.set("products", {"product": "P2"}, "must_launch", "maybe")
    return [E("products.csv", row, "must_launch", "'maybe' is not true or false")]


@case("cell-status-wrong-case")
def _(sc: Sc):
    row = sc.set("products", {"product": "P3"}, "status", "New")
    return [E("products.csv", row, "status", "did you mean 'new'")]


@case("cell-period-too-large")
def _(sc: Sc):
    row = sc.set("demand", {"product": "P1", "region": "R1", "period": "1"}, "period", "123456789012345678901234")
    return [E("demand.csv", row, "period", "too large")]


@case("cell-bad-status")
def _(sc: Sc):
    row = sc.set("products", {"product": "P1"}, "status", "discontinued")
    return [E("products.csv", row, "status", "use active or new")]


@case("cell-required-text-blank")
def _(sc: Sc):
    row = sc.set("products", {"product": "P3"}, "category", "")
    return [E("products.csv", row, "category", "missing value")]


@case("cell-product-id-blank", only=False)  # its rows elsewhere then name an unknown product, rightly
def _(sc: Sc):
    row = sc.set("products", {"product": "P1"}, "product", "")
    return [E("products.csv", row, "product", "missing value"),
            E("demand.csv", 2, "product", "unknown product (not in products.csv) 'P1'")]


@case("cell-required-number-blank")
def _(sc: Sc):
    row = sc.set("response", {"product": "P1", "channel": "search"}, "max_uplift", " ")
    return [E("response.csv", row, "max_uplift", "missing value")]


@case("cell-negative-min-products")
def _(sc: Sc):
    row = sc.set("categories", {"category": "C2"}, "min_products", "-2")
    return [E("categories.csv", row, "min_products", "negative")]


@case("cell-negative-slots")
def _(sc: Sc):
    row = sc.set("slots", {"period": "2"}, "slots", "-1")
    return [E("slots.csv", row, "slots", "negative")]


# --------------------------------------------------------------------------- keys and references


@case("duplicate-product")
def _(sc: Sc):
    first = sc.row_of("products", product="P1")
    row = sc.append_raw("products", ",".join(sc.rows("products")[first - 1]))
    return [E("products.csv", row, "product", f"already on row {first}")]


@case("duplicate-demand-composite-key")
def _(sc: Sc):
    first = sc.row_of("demand", product="P1", region="R1", period="0")
    row = sc.append("demand", product="P1", region="R1", period="0", demand="7")
    return [E("demand.csv", row, "period", f"duplicate product/region/period (P1, R1, 0): already on row {first}")]


@case("duplicate-lane")
def _(sc: Sc):
    first = sc.row_of("lanes", warehouse="W2", region="R2")
    row = sc.append("lanes", warehouse="W2", region="R2", cost_per_unit="3")
    return [E("lanes.csv", row, "region", f"already on row {first}")]


@case("duplicate-key-with-bad-cells-not-duplicate")
def _(sc: Sc):
    a = sc.append("demand", product="P1", region="R1", period="x", demand="1")
    b = sc.append("demand", product="P1", region="R1", period="x", demand="1")
    return [E("demand.csv", a, "period", "not a number"), E("demand.csv", b, "period", "not a number")]


@case("unknown-product")
def _(sc: Sc):
    row = sc.append("demand", product="P9", region="R1", period="0", demand="1")
    return [E("demand.csv", row, "product", "unknown product (not in products.csv) 'P9'")]


@case("unknown-product-did-you-mean")
def _(sc: Sc):
    row = sc.set("launch_curve", {"product": "P3", "region": "R1", "age": "2"}, "product", "p3")
    return [E("launch_curve.csv", row, "product", "did you mean 'P3'")]


@case("unknown-warehouse")
def _(sc: Sc):
    row = sc.append("supply", product="P2", warehouse="W3")
    return [E("supply.csv", row, "warehouse", "unknown warehouse (not in warehouses.csv) 'W3'")]


@case("unknown-warehouse-in-lanes")
def _(sc: Sc):
    row = sc.set("lanes", {"warehouse": "W2", "region": "R2"}, "warehouse", "W22")
    return [E("lanes.csv", row, "warehouse", "unknown warehouse")]


@case("unknown-channel")
def _(sc: Sc):
    row = sc.append("response", product="P2", channel="social", max_uplift="3", half_saturation="50")
    return [E("response.csv", row, "channel", "unknown channel (not in channels.csv) 'social'")]


@case("channel-without-channels-table-is-fine")
def _(sc: Sc):
    sc.remove("channels.csv")
    sc.append("response", product="P2", channel="social", max_uplift="3", half_saturation="50")
    return []


@case("unknown-category-in-seasonality")
def _(sc: Sc):
    sc.append("seasonality", category="C2", period="0", index="1.1")
    row = sc.append("seasonality", category="C9", period="0", index="1.2")
    return [E("seasonality.csv", row, "category", "unknown category")]


@case("category-without-product")
def _(sc: Sc):
    row = sc.append("categories", category="C7", onboarding_cost="5")
    return [W("categories.csv", row, "category", "no product in products.csv has it")]


@case("brand-without-product")
def _(sc: Sc):
    sc.append("brands", brand="B2", onboarding_cost="10")
    row = sc.append("brands", brand="B5", onboarding_cost="10")
    return [W("brands.csv", row, "brand", "no product in products.csv has it")]


@case("new-product-without-launch-curve")
def _(sc: Sc):
    assert sc.delete("launch_curve", product="P3") > 0
    row = sc.row_of("products", product="P3")
    return [E("products.csv", row, "status", "new product P3 has no rows in launch_curve.csv")]


@case("demand-row-for-new-product")
def _(sc: Sc):
    row = sc.append("demand", product="P2", region="R1", period="2", demand="4")
    return [E("demand.csv", row, "product", "is new")]


@case("launch-curve-row-for-active-product")
def _(sc: Sc):
    row = sc.append("launch_curve", product="P1", region="R1", age="0", demand="4")
    return [E("launch_curve.csv", row, "product", "is active")]


@case("launch-window-empty")
def _(sc: Sc):
    row = sc.set("products", {"product": "P2"}, "launch_earliest", "4")
    return [E("products.csv", row, "launch_earliest", "after launch_latest 3")]


@case("lead-time-not-shorter-than-horizon")
def _(sc: Sc):
    row = sc.set("supply", {"product": "P2", "warehouse": "W1"}, "lead_time", "6")
    return [E("supply.csv", row, "lead_time", "not shorter than the 6-period horizon")]


@case("carryover-one")
def _(sc: Sc):
    row = sc.set("response", {"product": "P1"}, "carryover", "1")
    return [E("response.csv", row, "carryover", "< 1")]


@case("carryover-negative")
def _(sc: Sc):
    row = sc.set("response", {"product": "P1"}, "carryover", "-0.2")
    return [E("response.csv", row, "carryover", "negative")]


@case("shape-zero")
def _(sc: Sc):
    row = sc.set("response", {"product": "P1"}, "shape", "0")
    return [E("response.csv", row, "shape", "> 0")]


@case("shape-negative")
def _(sc: Sc):
    row = sc.set("response", {"product": "P1"}, "shape", "-1")
    return [E("response.csv", row, "shape", "> 0")]


@case("half-saturation-zero")
def _(sc: Sc):
    row = sc.set("response", {"product": "P1"}, "half_saturation", "0")
    return [E("response.csv", row, "half_saturation", "> 0")]


@case("min-order-above-max-order")
def _(sc: Sc):
    row = sc.set("supply", {"product": "P1", "warehouse": "W1"}, "min_order", "50")
    sc.set("supply", row, "max_order", "10")
    return [E("supply.csv", row, "min_order", "min_order 50 is above max_order 10")]


@case("initial-stock-without-supply")
def _(sc: Sc):
    sc.append("initial_stock", product="P1", warehouse="W1", units="5")
    row = sc.append("initial_stock", product="P2", warehouse="W2", units="5")
    return [E("initial_stock.csv", row, "warehouse", "supply.csv has no row for product P2 in warehouse W2")]


@case("pipeline-without-supply")
def _(sc: Sc):
    row = sc.append("pipeline", product="P3", warehouse="W2", period="1", units="5")
    return [E("pipeline.csv", row, "warehouse", "supply.csv has no row for product P3 in warehouse W2")]


@case("region-with-demand-but-no-lane")
def _(sc: Sc):
    sc.delete("lanes", region="R2")
    d = sc.row_of("demand", region="R2")
    lc = sc.row_of("launch_curve", region="R2")
    return [W("demand.csv", d, "region", "region R2 has demand but no lane"),
            W("launch_curve.csv", lc, "region", "region R2 has demand but no lane")]


@case("launch-curve-age-never-reached")
def _(sc: Sc):
    row = sc.append("launch_curve", product="P2", region="R1", age="6", demand="1")
    return [W("launch_curve.csv", row, "age", "never reached")]


# --------------------------------------------------------------------------- encodings and layout that must read fine


@case("csv-bom-is-fine")
def _(sc: Sc):
    for table in ("products", "demand", "warehouses"):
        sc.write_bytes(f"{table}.csv", b"\xef\xbb\xbf" + sc.file(table).read_bytes())
    sc.write_bytes("scenario.toml", b"\xef\xbb\xbf" + (sc.path / "scenario.toml").read_bytes())
    return []


@case("csv-crlf-is-fine")
def _(sc: Sc):
    for name in ("products.csv", "supply.csv", "lanes.csv", "scenario.toml"):
        sc.write_bytes(name, sc.text(name).replace("\n", "\r\n").encode())
    return []


@case("csv-bom-crlf-error-row")
def _(sc: Sc):
    row = sc.set("products", {"product": "P2"}, "volume", "big")
    sc.write_bytes("products.csv", b"\xef\xbb\xbf" + sc.text("products.csv").replace("\n", "\r\n").encode())
    return [E("products.csv", row, "volume", "'big' is not a number")]


@case("csv-trailing-empty-field-is-fine")
def _(sc: Sc):
    sc.write_text("warehouses.csv", sc.text("warehouses.csv").replace("\n", ",\n"))
    return []


@case("csv-blank-rows-keep-row-numbers")
def _(sc: Sc):
    lines = sc.text("demand.csv").splitlines()
    lines.insert(3, "")       # a blank line as spreadsheet row 4
    lines.insert(5, ",,,")    # a row of empty cells as spreadsheet row 6
    lines[7] = lines[7].rsplit(",", 1)[0] + ",-3"  # spreadsheet row 8
    sc.write_text("demand.csv", "\n".join(lines) + "\n\n")
    return [E("demand.csv", 8, "demand", "negative")]


@case("values-with-spaces-are-fine")
def _(sc: Sc):
    sc.write_text("lanes.csv", sc.text("lanes.csv").replace(",", ", "))
    return []


# --------------------------------------------------------------------------- several problems at once


@case("many-problems-in-many-files")
def _(sc: Sc):
    line = sc.toml_replace_line("threads", "threads = -2")
    a = sc.set("products", {"product": "P1"}, "price", "-1")
    b = sc.set("products", {"product": "P3"}, "status", "old")
    c = sc.append("supply", product="P2", warehouse="W9")
    d = sc.set("demand", {"product": "P1", "region": "R1", "period": "4"}, "period", "x")
    e = sc.set("response", {"product": "P1"}, "carryover", "1.5")
    sc.write_bytes("slots.csv", b"")
    sc.remove("lanes.csv")
    return [
        E("scenario.toml", line, "solver.threads", "out of range"),
        E("products.csv", a, "price", "negative"),
        E("products.csv", b, "status", "not allowed"),
        E("supply.csv", c, "warehouse", "unknown warehouse"),
        E("demand.csv", d, "period", "not a number"),
        E("response.csv", e, "carryover", "out of range"),
        E("slots.csv", None, None, "is empty"),
        E("lanes.csv", None, None, "required table is missing"),
    ]


@case("many-problems-in-one-file")
def _(sc: Sc):
    rows = [sc.set("demand", r, "demand", v) for r, v in ((2, "-1"), (5, "x"), (9, "nan"), (13, "inf"))]
    return [E("demand.csv", rows[0], "demand", "negative"),
            E("demand.csv", rows[1], "demand", "not a number"),
            E("demand.csv", rows[2], "demand", "NaN"),
            E("demand.csv", rows[3], "demand", "finite")]


# --------------------------------------------------------------------------- running the corpus


def test_baseline_is_valid():
    report = optsupply.validate(TINY)
    assert report.problems == []


def test_corpus_is_large_enough():
    assert len(CASES) >= 35
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, sc: Sc):
    expected = case.edit(sc)
    check(sc.path, expected, case.only)


def test_bom_and_crlf_read_the_same_values(sc: Sc):
    plain = Scenario.load(sc.path)
    for name in ("products.csv", "demand.csv", "scenario.toml"):
        data = sc.text(name).replace("\n", "\r\n").encode()
        sc.write_bytes(name, b"\xef\xbb\xbf" + data)
    odd = Scenario.load(sc.path)
    assert list(odd.products.columns) == list(plain.products.columns)
    assert odd.products.equals(plain.products)
    assert odd.demand.equals(plain.demand)
    assert odd.settings == plain.settings


def test_blank_rows_are_ignored(sc: Sc):
    plain = Scenario.load(sc.path)
    sc.write_text("demand.csv", sc.text("demand.csv").replace("\n", "\n\n", 3) + ",,,\n")
    assert Scenario.load(sc.path).demand.equals(plain.demand)


def test_missing_folder():
    report = optsupply.validate(TINY.parent / "no-such-scenario")
    assert len(report.errors) == 1 and "no such scenario" in report.errors[0].message


def test_report_lists_each_problem_once(sc: Sc):
    sc.set("products", {"product": "P1"}, "price", "nan")
    report = optsupply.validate(sc.path)
    assert [(p.file, p.row, p.column) for p in report.errors] == [("products.csv", 2, "price")]


# --------------------------------------------------------------------------- .xlsx workbooks


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.xlsx"
    Scenario.load(TINY).save(path)
    return path


def _sheet_row(ws, column: str, **key: str) -> tuple[int, int]:
    header = [c.value for c in ws[1]]
    for r in range(2, ws.max_row + 1):
        if all(str(ws.cell(r, header.index(k) + 1).value) == v for k, v in key.items()):
            return r, header.index(column) + 1
    raise LookupError(key)


def test_xlsx_roundtrip_is_valid(workbook: Path):
    assert optsupply.validate(workbook).problems == []


def test_xlsx_bad_cell(workbook: Path):
    wb = openpyxl.load_workbook(workbook)
    row, col = _sheet_row(wb["products"], "price", product="P2")
    wb["products"].cell(row, col, "abc")
    wb.save(workbook)
    check(workbook, [E("scenario.xlsx[products]", row, "price", "'abc' is not a number")])
    with pytest.raises(ScenarioError, match=rf"scenario\.xlsx\[products\], row {row}, column price"):
        Scenario.load(workbook)


def test_xlsx_several_bad_cells_and_blank_row(workbook: Path):
    wb = openpyxl.load_workbook(workbook)
    ws = wb["supply"]
    row, col = _sheet_row(ws, "lead_time", product="P2", warehouse="W1")
    ws.cell(row, col, -1)
    ws = wb["demand"]
    ws.insert_rows(4)  # a blank spreadsheet row: later rows keep their sheet numbers
    row2, col2 = _sheet_row(ws, "demand", product="P1", region="R2", period="3")
    ws.cell(row2, col2, "lots")
    wb.save(workbook)
    check(workbook, [E("scenario.xlsx[supply]", row, "lead_time", "negative"),
                     E("scenario.xlsx[demand]", row2, "demand", "'lots' is not a number")])


def test_xlsx_missing_settings_sheet(workbook: Path):
    wb = openpyxl.load_workbook(workbook)
    del wb["scenario"]
    wb.save(workbook)
    check(workbook, [E("scenario.xlsx[scenario]", None, None, "missing sheet")])


def test_xlsx_bad_setting(workbook: Path):
    wb = openpyxl.load_workbook(workbook)
    row, col = _sheet_row(wb["scenario"], "value", key="horizon.periods")
    wb["scenario"].cell(row, col, "ten")
    wb.save(workbook)
    check(workbook, [E("scenario.xlsx[scenario]", row, "horizon.periods", "must be a number")])


def test_xlsx_missing_required_sheet(workbook: Path):
    wb = openpyxl.load_workbook(workbook)
    del wb["warehouses"]
    wb.save(workbook)
    check(workbook, [E("scenario.xlsx[warehouses]", None, None, "required table is missing")])


def test_xlsx_not_a_workbook(tmp_path: Path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip file")
    check(path, [E("broken.xlsx", None, None, "cannot be read as an .xlsx workbook")])


# --------------------------------------------------------------------------- the two ways of reading a CSV file
#
# A well-formed CSV file is read by pandas' C parser (fast); anything else by the csv module, which
# reports every problem. The two must give the same table whenever the fast reading is used.

SMALL = TINY.parent / "small"


def _csv_reading(text: str) -> tuple[object, list[str]]:
    report = Report()
    return _text_tables._csv_text_table(text, "t.csv", report), [str(p) for p in report.problems]


def _assert_same_table(fast, slow) -> None:
    assert list(fast.columns) == list(slow.columns)
    assert fast.index.dtype == slow.index.dtype == "int64"
    assert fast.index.tolist() == slow.index.tolist()
    for c in fast.columns:
        assert fast[c].dtype == slow[c].dtype == object, c
        assert fast[c].tolist() == slow[c].tolist(), c


def _decoded(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


@pytest.mark.parametrize("folder", [TINY, SMALL], ids=["tiny", "small"])
def test_fast_reading_is_used_and_agrees_on_instance_files(folder: Path):
    for path in sorted(folder.glob("*.csv")):
        text = _decoded(path)
        fast = _text_tables._fast_text_table(text)
        assert fast is not None, f"{path.name} should be read by the fast path"
        slow, problems = _csv_reading(text)
        assert problems == []
        _assert_same_table(fast, slow)


def _crlf(t: str) -> str:
    return t.replace("\n", "\r\n")


def _bom_crlf(t: str) -> str:
    return "\ufeff" + _crlf(t)


def _spaces_after_commas(t: str) -> str:
    return t.replace(",", ", ")


def _quoted_first_column(t: str) -> str:
    return "\n".join(f'"{line.split(",", 1)[0]}",{line.split(",", 1)[1]}' if "," in line else line
                     for line in t.split("\n"))


def _short_last_row(t: str) -> str:
    return t.rstrip("\n").rsplit(",", 1)[0] + "\n"


def _no_final_newline(t: str) -> str:
    return t.rstrip("\n")


def _blank_rows(t: str) -> str:
    return t.replace("\n", "\n\n", 3) + ",,,\n"


def _blank_row_crlf(t: str) -> str:
    return _crlf(t.replace("\n", "\n\n", 2))


def _trailing_commas(t: str) -> str:
    return t.replace("\n", ",\n")


def _trailing_spaces(t: str) -> str:
    return t.replace(",", " ,", 4)


def _tab_in_cell(t: str) -> str:
    return t.replace(",", ",\t", 3)


def _multiline_quoted(t: str) -> str:
    head, first, rest = t.split("\n", 2)
    cells = first.split(",")
    cells[1] = f'"{cells[1]}\nmore"'
    return "\n".join([head, ",".join(cells), rest])


# variant -> whether the fast path may take it (False: the csv module must read it, to keep row numbers
# or report a problem)
LAYOUTS = {
    "as-is": (lambda t: t, True),
    "crlf": (_crlf, True),
    "bom-crlf": (_bom_crlf, True),
    "spaces-after-commas": (_spaces_after_commas, True),
    "quoted-first-column": (_quoted_first_column, True),
    "short-last-row": (_short_last_row, True),
    "no-final-newline": (_no_final_newline, True),
    "blank-rows": (_blank_rows, False),
    "blank-row-crlf": (_blank_row_crlf, False),
    "trailing-commas": (_trailing_commas, False),
    "trailing-spaces": (_trailing_spaces, False),
    "tab-in-cell": (_tab_in_cell, False),
    "multiline-quoted": (_multiline_quoted, False),
}


@pytest.mark.parametrize("table", ["demand", "products", "supply", "history"])
@pytest.mark.parametrize("layout", list(LAYOUTS), ids=list(LAYOUTS))
def test_fast_and_csv_reading_agree_on_layouts(layout: str, table: str):
    edit, fast_expected = LAYOUTS[layout]
    text = edit((SMALL / f"{table}.csv").read_text(encoding="utf-8"))
    text = text.removeprefix("\ufeff")  # as _read_text decodes it
    fast = _text_tables._fast_text_table(text)
    slow, problems = _csv_reading(text)
    assert problems == []
    assert (fast is not None) == fast_expected
    if fast is not None:
        _assert_same_table(fast, slow)


def test_fast_and_csv_reading_agree_on_random_text():
    import random

    rng = random.Random(20261128)
    pieces = ["a", "1", "2.5", ",", ",", '"', '"x,y"', '""', " ", "\n", "\r\n", "\r", "\t", "\xa0", ";", "\x00", "é"]
    accepted = 0
    for _ in range(4000):
        lines = [rng.choice(["a,b,c", "a,b,c", "a, b,c", '"a",b,c', "a,a,b", "a,,c", "p,q"])]
        for _ in range(rng.randint(0, 4)):
            if rng.random() < 0.85:
                cells = (rng.choice(["1", "x", "", "2.5", '"u,v"', " y", "é", "1_000"]) for _ in range(rng.choice([2, 3, 3, 3, 4])))
                lines.append(",".join(cells))
            else:
                lines.append("".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))))
        text = rng.choice(["\n", "\r\n"]).join(lines) + rng.choice(["", "\n", "\n\n"])
        fast = _text_tables._fast_text_table(text)
        if fast is None:
            continue
        accepted += 1
        slow, problems = _csv_reading(text)
        assert problems == [], repr(text)
        _assert_same_table(fast, slow)
    assert accepted > 200


def test_fast_and_csv_reading_load_the_same_scenario(monkeypatch: pytest.MonkeyPatch):
    fast = Scenario.load(SMALL)
    monkeypatch.setattr(_text_tables, "_fast_text_table", lambda text: None)
    slow = Scenario.load(SMALL)
    assert fast.settings == slow.settings
    for name, df in fast.tables():
        pd.testing.assert_frame_equal(df, getattr(slow, name), check_exact=True, obj=name)
    assert [str(p) for p in fast.warnings] == [str(p) for p in slow.warnings]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_reports_the_same_with_either_reading(case: Case, sc: Sc, monkeypatch: pytest.MonkeyPatch):
    case.edit(sc)
    fast = [str(p) for p in optsupply.validate(sc.path).problems]
    monkeypatch.setattr(_text_tables, "_fast_text_table", lambda text: None)
    assert [str(p) for p in optsupply.validate(sc.path).problems] == fast
