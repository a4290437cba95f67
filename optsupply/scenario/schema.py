"""The scenario schema: every table, column and setting, defined once.

This module is data. Reading (:mod:`optsupply.scenario.read`), dtype coercion, defaults,
validation (:mod:`optsupply.scenario.checks`) and the format reference in the README
(:func:`format_reference`) are all driven by the definitions below, so a new
column is added in exactly one place.

Conventions
-----------
* ``dtype`` is one of ``"str"``, ``"float"``, ``"int"``, ``"bool"``.
* ``default`` is the value a blank cell (or an absent optional column) takes.
  The token ``"H-1"`` means the last period of the horizon. ``math.inf`` is
  written ``inf`` (or left blank where the default is ``inf``).
* ``lower``/``upper`` bound the allowed values; ``upper_open`` makes the upper
  bound strict (``carryover < 1``), ``lower_open`` the lower one (``shape > 0``).
* ``ref`` names the table whose key a column must match (``"products"``).
* ``period`` columns are integer periods checked against the horizon: ``"horizon"``
  means ``0 <= period <= H-1``, ``"history"`` means ``period < 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

H_LAST = "H-1"  # default token: last period of the horizon

# Numeric ranges (README "Limits" > "Numeric ranges"). HiGHS takes any bound or cost of 1e20 or more as infinite
# and works to absolute tolerances of about 1e-7 (primal feasibility) on values held in doubles (16 digits), so
# one value of 1e9 already uses up 16 - 7 = 9 of them: larger values, and the sums the model forms of them, lose
# the tolerance to rounding (the plan then breaks a capacity or the solver reports a wrong status).
MAX_AMOUNT = 1e9  # units (demand, stock, orders, uplift) and money per unit, per order or per period
MAX_TOTAL = 1e12  # capacities (volume per period) and budgets: sums over many products
MAX_MULTIPLIER = 1e3  # seasonality index and featured_lift: multiply demand, which is ≤ MAX_AMOUNT
MAX_VOLUME = 1e6  # volume of one unit
# Hill curves: below half_saturation 1e-3 (money per period) or outside shape 0.1 … 100 the curve is a step at
# the spends a plan resolves (1e-5 … 1e12, see optsupply.model.pwl); see the README for the reasoning.
MIN_HALF_SATURATION = 1e-3
SHAPE_RANGE = (0.1, 100.0)


@dataclass(frozen=True)
class Column:
    """One column of a scenario table."""

    name: str
    dtype: str
    doc: str
    unit: str = ""
    required: bool = False
    default: Any = None
    lower: float | None = None
    upper: float | None = None
    lower_open: bool = False
    upper_open: bool = False
    allow_inf: bool = False
    ref: str | None = None
    period: str | None = None  # "horizon" | "history" | None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    """One scenario table: a CSV file in a folder, a sheet in a workbook."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    presence: str = "optional"  # "required" | "optional" | "when active" | "when new"

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _id(name: str, doc: str, ref: str | None = None) -> Column:
    return Column(name, "str", doc, required=True, ref=ref)


def _product_warehouse() -> tuple[Column, Column]:
    """The key columns of a product in a warehouse (supply, initial stock, pipeline)."""
    return _id("product", "product id", ref="products"), _id("warehouse", "warehouse id", ref="warehouses")


#: largest units and ad spend of one history row: the forecast squares and sums them, which stays exact and finite
#: far beyond this (a trillion units a period), while 1e300 would overflow
HISTORY_MAX = 1e12


def _money(name: str, doc: str, unit: str = "currency", default: float = 0.0, upper: float = MAX_AMOUNT,
           **kw: Any) -> Column:
    return Column(name, "float", doc, unit=unit, default=default, lower=0.0, upper=upper, **kw)


def _capacity(name: str, doc: str, unit: str) -> Column:
    return Column(name, "float", doc, unit=unit, default=math.inf, lower=0.0, upper=MAX_TOTAL, allow_inf=True)


def _units(name: str, doc: str, **kw: Any) -> Column:
    return Column(name, "float", doc, unit="units", lower=0.0, upper=MAX_AMOUNT, **kw)


def _forecast(name: str, doc: str, when: Column, demand_doc: str, presence: str) -> Table:
    """A demand forecast by product, region and ``when`` (a calendar period, or an age since launch)."""
    return Table(
        name,
        doc,
        (
            _id("product", "product id", ref="products"),
            Column("region", "str", "region id", required=True),
            when,
            _units("demand", demand_doc, required=True),
            Column("demand_sd", "float", "standard deviation of the forecast", unit="units", default=0.0, lower=0.0),
        ),
        key=("product", "region", when.name),
        presence=presence,
    )


def _onboarding(name: str, group: str) -> Table:
    """The onboarding terms of a group of products (``categories``: a category, ``brands``: a brand)."""
    return Table(
        name,
        f"Onboarding terms of a {group} (optional; unlisted {name} have none).",
        (
            _id(group, f"{group} id"),
            _money("onboarding_cost", f"paid once if any product of the {group} launches"),
            Column("min_products", "int", "if any of its products launch, at least this many launch", unit="products", default=0, lower=0),
        ),
        key=(group,),
    )


TABLES: tuple[Table, ...] = (
    Table(
        "products",
        "Every product the plan may sell: active ones and candidate new ones.",
        (
            _id("product", "product id"),
            Column("category", "str", "category id", required=True),
            Column("brand", "str", "brand id", required=True),
            Column("price", "float", "selling price per unit", unit="currency/unit", required=True, lower=0.0, upper=MAX_AMOUNT),
            Column("unit_cost", "float", "purchase cost per unit ordered", unit="currency/unit", required=True, lower=0.0, upper=MAX_AMOUNT),
            _money("holding_cost", "cost per unit on hand at the end of a period", unit="currency/unit/period"),
            Column("volume", "float", "volume of one unit (storage, throughput, lanes)", unit="volume/unit", default=1.0, lower=0.0, upper=MAX_VOLUME),
            Column("status", "str", "`active` (sold today) or `new` (candidate launch)", default="active", choices=("active", "new")),
            Column("launch_earliest", "int", "first period a new product may launch", unit="period", default=0, period="horizon"),
            Column("launch_latest", "int", "last period a new product may launch", unit="period", default=H_LAST, period="horizon"),
            _money("launch_cost", "fixed cost paid when the product launches"),
            Column("must_launch", "bool", "a new product that has to launch", default=False),
            _money("salvage_value", "value per unit left in stock at the end", unit="currency/unit"),
            _money("lost_sale_cost", "penalty per unit of unmet demand, on top of the lost margin", unit="currency/unit"),
            Column("featured_lift", "float", "share of base demand added while featured", unit="share", default=0.0, lower=0.0, upper=MAX_MULTIPLIER),
        ),
        key=("product",),
        presence="required",
    ),
    _onboarding("categories", "category"),
    _onboarding("brands", "brand"),
    _forecast("demand", "Calendar demand forecast of `active` products.",
              Column("period", "int", "period", unit="period", required=True, period="horizon"),
              "forecast demand", "when active"),
    _forecast("launch_curve", "Demand of a `new` product by age since its launch (age 0 = launch period).",
              Column("age", "int", "periods since launch", unit="periods", required=True, lower=0),
              "forecast demand at that age", "when new"),
    Table(
        "seasonality",
        "Multiplies launch-curve demand of a category in a period (default 1).",
        (
            Column("category", "str", "category id (of a product in products.csv)", required=True),
            Column("period", "int", "period", unit="period", required=True, period="horizon"),
            Column("index", "float", "seasonal multiplier", unit="factor", required=True, lower=0.0, upper=MAX_MULTIPLIER),
        ),
        key=("category", "period"),
    ),
    Table(
        "warehouses",
        "Warehouses and their capacities.",
        (
            _id("warehouse", "warehouse id"),
            _capacity("storage_capacity", "volume on hand at the end of a period", "volume"),
            _capacity("throughput_capacity", "volume shipped out per period", "volume/period"),
        ),
        key=("warehouse",),
        presence="required",
    ),
    Table(
        "supply",
        "Which product can be stocked in which warehouse, and on what terms.",
        (
            *_product_warehouse(),
            Column("lead_time", "int", "periods from order to receipt", unit="periods", default=0, lower=0),
            _money("order_cost", "fixed cost per order placed", unit="currency/order"),
            _units("min_order", "minimum units per order", default=0.0),
            _units("max_order", "maximum units per order", default=math.inf, allow_inf=True),
            _money("activation_cost", "fixed cost paid once if the product is ever ordered into this warehouse"),
        ),
        key=("product", "warehouse"),
        presence="required",
    ),
    Table(
        "initial_stock",
        "Units on hand before period 0.",
        (
            *_product_warehouse(),
            _units("units", "units on hand", required=True),
        ),
        key=("product", "warehouse"),
    ),
    Table(
        "pipeline",
        "Receipts already on the way.",
        (
            *_product_warehouse(),
            Column("period", "int", "period of arrival", unit="period", required=True, period="horizon"),
            _units("units", "units arriving", required=True),
        ),
        key=("product", "warehouse", "period"),
    ),
    Table(
        "lanes",
        "Routes from warehouses to regions; a region is served only over its lanes.",
        (
            _id("warehouse", "warehouse id", ref="warehouses"),
            Column("region", "str", "region id", required=True),
            _money("cost_per_unit", "cost per unit of volume shipped", unit="currency/volume"),
            _money("fixed_cost", "cost per period in which the lane carries anything", unit="currency/period"),
            _capacity("capacity", "volume per period", "volume/period"),
        ),
        key=("warehouse", "region"),
        presence="required",
    ),
    Table(
        "channels",
        "Advertising channels and their spend caps (optional; channels named in response.csv are otherwise uncapped).",
        (
            _id("channel", "channel id"),
            _capacity("budget", "spend cap per period", "currency/period"),
        ),
        key=("channel",),
    ),
    Table(
        "response",
        "Hill response of demand to advertising, per product and channel.",
        (
            _id("product", "product id", ref="products"),
            _id("channel", "channel id", ref="channels"),
            Column("max_uplift", "float", "units per period at saturation, summed over regions", unit="units/period", required=True, lower=0.0, upper=MAX_AMOUNT),
            Column("half_saturation", "float", "spend per period giving half of max_uplift", unit="currency/period", required=True, lower=MIN_HALF_SATURATION, upper=MAX_AMOUNT),
            Column("shape", "float", "Hill exponent (>1: S-shaped)", unit="", default=1.0, lower=SHAPE_RANGE[0], upper=SHAPE_RANGE[1]),
            Column("carryover", "float", "adstock decay", unit="share", default=0.0, lower=0.0, upper=1.0, upper_open=True),
        ),
        key=("product", "channel"),
    ),
    Table(
        "slots",
        "Featured (recommendation) slots per period.",
        (
            Column("period", "int", "period", unit="period", required=True, period="horizon"),
            Column("slots", "int", "products that can be featured in that period", unit="products", required=True, lower=0),
        ),
        key=("period",),
    ),
    Table(
        "history",
        "Past sales, used by `optsupply forecast`, not by the optimizer.",
        (
            _id("product", "product id", ref="products"),
            Column("region", "str", "region id", required=True),
            Column("period", "int", "past period (< 0)", unit="period", required=True, period="history"),
            Column("units", "float", "units sold", unit="units", required=True, lower=0.0, upper=HISTORY_MAX),
            _money("ad_spend", "advertising spend in that period", upper=HISTORY_MAX),
        ),
        key=("product", "region", "period"),
    ),
)

TABLE_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


@dataclass(frozen=True)
class Setting:
    """One key of scenario.toml, addressed as ``section.key``."""

    key: str
    dtype: str  # "int" | "float" | "str"
    doc: str
    required: bool = False
    default: Any = None
    lower: float | None = None
    upper: float | None = None
    lower_open: bool = False
    upper_open: bool = False
    kind: str | None = None  # "date" | "freq" for extra checks


SETTINGS: tuple[Setting, ...] = (
    Setting("name", "str", "scenario name", default=""),
    Setting("currency", "str", "currency label, for display only", default=""),
    Setting("horizon.periods", "int", "number of planning periods H", required=True, lower=1),
    Setting("horizon.start", "str", "date of period 0, for labels (YYYY-MM-DD)", kind="date"),
    Setting("horizon.freq", "str", "pandas offset alias of a period, for labels (e.g. W-MON)", kind="freq"),
    Setting("launch.max_per_period", "int", "new launches allowed per period", lower=0),
    Setting("finance.max_inventory_value", "float", "cap on sum(unit_cost * stock) each period", lower=0.0, upper=MAX_TOTAL),
    Setting("advertising.total_budget", "float", "ad spend cap over the whole horizon", lower=0.0, upper=MAX_TOTAL),
    Setting("advertising.pwl_tolerance", "float", "max error of the piecewise-linear response, as a share of max_uplift",
            default=0.005, lower=0.0, upper=1.0, lower_open=True, upper_open=True),
    Setting("solver.time_limit", "float", "solver time limit in seconds", default=300.0, lower=0.0, lower_open=True),
    Setting("solver.mip_gap", "float", "relative MIP gap", default=0.005, lower=0.0, upper=1.0),
    Setting("solver.threads", "int", "solver threads (0 = HiGHS default; more than the cores available are "
            "capped at the cores, with a note)", default=0, lower=0),
    Setting("solver.seed", "int", "solver random seed", default=0, lower=0, upper=2**31 - 1),
)

SETTING_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(s.key.split(".")[0] for s in SETTINGS if "." in s.key))

SCENARIO_FILE = "scenario.toml"
WORKBOOK_SETTINGS_SHEET = "scenario"


def _fmt_default(col: Column) -> str:
    if col.required:
        return ""
    d = col.default
    if d is None:
        return ""
    if isinstance(d, bool):
        return "false" if not d else "true"
    if isinstance(d, float) and math.isinf(d):
        return "inf"
    if isinstance(d, float) and d.is_integer():
        return str(int(d))
    return str(d)


def _fmt_range(lower: float | None, upper: float | None, lo_open: bool, up_open: bool) -> str:
    def num(x: float) -> str:
        if abs(x) >= 1e5:
            return f"{x:.0e}".replace("e+0", "e").replace("e+", "e")
        return str(int(x)) if float(x).is_integer() else str(x)

    parts = []
    if lower is not None:
        parts.append(("> " if lo_open else "≥ ") + num(lower))
    if upper is not None:
        parts.append(("< " if up_open else "≤ ") + num(upper))
    return ", ".join(parts)


def _column_rule(col: Column) -> str:
    rules = []
    if col.period == "horizon":
        rules.append("0 … H-1")
    elif col.period == "history":
        rules.append("< 0")
    rng = _fmt_range(col.lower, col.upper, col.lower_open, col.upper_open)
    if rng:
        rules.append(rng)
    if col.choices:
        rules.append(" or ".join(f"`{c}`" for c in col.choices))
    if col.ref:
        rules.append(f"in {col.ref}.csv")
    return "; ".join(rules)


def format_reference() -> str:
    """The scenario format reference as Markdown (embedded in the README).

    A test compares the README with this text, so the two cannot drift apart.
    """
    lines = ["### scenario.toml", "", "| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        default = "**required**" if s.required else ("" if s.default is None else str(s.default))
        rng = _fmt_range(s.lower, s.upper, s.lower_open, s.upper_open)
        lines.append(f"| `{s.key}` | {s.dtype} | {default} | {rng} | {s.doc} |")
    for t in TABLES:
        lines += ["", f"### {t.file} ({t.presence})", "", t.doc, ""]
        lines.append(f"Key: {', '.join(t.key)}.")
        lines += ["", "| column | type | unit | default | allowed | meaning |", "|---|---|---|---|---|---|"]
        for c in t.columns:
            default = "**required**" if c.required else _fmt_default(c)
            lines.append(f"| `{c.name}` | {c.dtype} | {c.unit} | {default} | {_column_rule(c)} | {c.doc} |")
    return "\n".join(lines) + "\n"


__all__ = [
    "Column",
    "Table",
    "Setting",
    "TABLES",
    "TABLE_BY_NAME",
    "SETTINGS",
    "SETTING_BY_KEY",
    "SECTIONS",
    "SCENARIO_FILE",
    "WORKBOOK_SETTINGS_SHEET",
    "H_LAST",
    "format_reference",
]


README_BEGIN = "<!-- format-reference:begin (generated by `optsupply schema --write README.md`) -->"
README_END = "<!-- format-reference:end -->"


def write_reference(readme: str) -> None:
    """Replace the format reference between the markers in ``readme``."""
    from pathlib import Path

    from optsupply.errors import UsageError
    from optsupply.files import write_file

    path = Path(readme)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--write {readme}: cannot read it ({exc})") from None
    if README_BEGIN not in text or README_END not in text:  # only ever the part between the markers
        raise UsageError(f"--write {readme}: it has no {README_BEGIN} ... {README_END} markers; "
                         "add them where the reference goes")
    head, _, rest = text.partition(README_BEGIN)
    _, _, tail = rest.partition(README_END)
    new = f"{head}{README_BEGIN}\n{format_reference()}{README_END}{tail}"
    write_file(path, lambda tmp: tmp.write_text(new, encoding="utf-8"))

