"""The :class:`Plan`: what the optimizer decided, as the tables of SPEC §4, and the names every layer shares.

``TABLE_COLUMNS`` (the plan tables and their columns), ``COST_KEYS`` (the
cost families of the objective, in report order), the rounding constants and
:func:`mip_gap`. How a plan is read off a solved model, and cleaned so that
its tables add up exactly, is :mod:`optsupply.model.extract`. No Pyomo here.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optsupply.files import guard_folder, write_folder
from optsupply.scenario.core import Scenario

ZERO = 1e-7  # values below this (in units or money) are zero in a plan
DECIMALS = 9  # quantities and money in plan tables are rounded to this many decimals ...
DIGITS = 12  # ... or kept to this many significant digits where that is finer (small values)
NOISE = 1e-15  # a stock level within NOISE x (the flows through it) of 0 is floating-point noise, shown as 0


def _tidy(value: float) -> float:
    """``value`` without the solver's floating-point noise (10.000000000000002 -> 10.0)."""
    if value == 0.0 or not math.isfinite(value):
        return value
    return round(value, max(DECIMALS, DIGITS - 1 - math.floor(math.log10(abs(value)))))

TABLE_COLUMNS: dict[str, list[str]] = {
    "launches": ["product", "period"],
    "orders": ["product", "warehouse", "period", "arrival", "units"],
    "stock": ["product", "warehouse", "period", "units"],
    "shipments": ["product", "warehouse", "region", "period", "units"],
    "sales": ["product", "region", "period", "base_demand", "ad_uplift", "featured_uplift", "potential_demand", "sales", "lost"],
    "advertising": ["product", "channel", "period", "spend", "effective_spend", "uplift"],
    "featured": ["product", "period"],
    "lanes": ["warehouse", "region", "period", "volume", "used"],
}
#: Every status a plan's ``kpis["status"]`` can have.
OPTIMAL, TIME_LIMIT, INTERRUPTED = "optimal", "time_limit", "interrupted"
BASELINE = "baseline"  # a plan by rules (the solver was not run, or found nothing better in time)
INFEASIBLE, UNBOUNDED, ERROR = "infeasible", "unbounded", "error"
STATUSES = (OPTIMAL, TIME_LIMIT, INTERRUPTED, BASELINE, INFEASIBLE, UNBOUNDED, ERROR)
#: The statuses the solver gives a plan with: proven optimal, stopped by the time limit or by Ctrl-C (the best found).
SOLVER_PLAN_STATUSES = (OPTIMAL, TIME_LIMIT, INTERRUPTED)
#: The statuses that carry a plan (tables and a profit); the others carry none.
PLAN_STATUSES = SOLVER_PLAN_STATUSES + (BASELINE,)
COST_KEYS = ("purchase", "ordering", "activation", "holding", "transport", "lane_fixed", "advertising", "launch",
             "onboarding", "lost_sale")


@dataclass
class Plan:
    """A plan: one DataFrame per SPEC §4 table plus ``kpis`` (as in kpis.json)."""

    launches: pd.DataFrame
    orders: pd.DataFrame
    stock: pd.DataFrame
    shipments: pd.DataFrame
    sales: pd.DataFrame
    advertising: pd.DataFrame
    featured: pd.DataFrame
    lanes: pd.DataFrame
    kpis: dict[str, Any]
    scenario_name: str = ""
    dates: list[str] | None = field(default=None, repr=False)

    @property
    def status(self) -> str:
        return self.kpis["status"]

    @property
    def profit(self) -> float | None:
        return self.kpis.get("profit")

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLE_COLUMNS}

    def with_kpis(self, kpis: dict[str, Any], scenario_name: str | None = None) -> Plan:
        """A plan with the same tables (shared, not copied) and other ``kpis``."""
        return Plan(**self.tables(), kpis=kpis, scenario_name=self.scenario_name if scenario_name is None
                    else scenario_name, dates=self.dates)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write kpis.json and one CSV per table; completely or not at all.

        The folder is written next to ``path`` and renamed into place
        (:func:`optsupply.files.write_folder`): a failed or interrupted save
        leaves the old folder as it was. An existing folder is replaced only
        with ``overwrite=True`` and only when optsupply wrote it (its
        ``.optsupply`` marker); a folder optsupply did not write, a file, the
        current or home folder are never replaced
        (:func:`optsupply.files.guard_folder`). The same plan always gives the
        same bytes.
        """
        target = guard_folder(path, kind="plan", force=overwrite, what="plan folder")

        def write(folder: Path) -> None:
            with open(folder / "kpis.json", "w", encoding="utf-8") as f:
                json.dump(self.kpis, f, indent=2)
                f.write("\n")
            for name, df in self.tables().items():
                out = df
                if self.dates is not None and "period" in df.columns:
                    out = df.copy()
                    out.insert(list(df.columns).index("period") + 1, "date", [self.dates[t] for t in df["period"]])
                out.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")

        return write_folder(target, write, kind="plan")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Plan:
        """Read a plan folder written by :meth:`save`."""
        folder = Path(path)
        kpis = json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
        tables = {}
        for name, cols in TABLE_COLUMNS.items():
            df = pd.read_csv(folder / f"{name}.csv", dtype={c: str for c in ("product", "warehouse", "region", "channel")})
            tables[name] = df[[c for c in cols]]
        return cls(**tables, kpis=kpis, scenario_name=kpis.get("scenario", ""))


def table_frame(name: str, rows: Any) -> pd.DataFrame:
    """Plan table ``name`` from ``rows`` (tuples in :data:`TABLE_COLUMNS` order, or a dict of columns); periods
    as int64."""
    if isinstance(rows, dict):
        df = pd.DataFrame({c: rows[c] for c in TABLE_COLUMNS[name]})
    else:
        df = pd.DataFrame(rows, columns=TABLE_COLUMNS[name])
    for c in ("period", "arrival"):
        if c in df.columns:
            df[c] = df[c].astype("int64")
    return df


def empty_plan(status: str, scenario_name: str, **extra: Any) -> Plan:
    """A plan without tables, for runs that found none (infeasible, error, …)."""
    tables = {name: pd.DataFrame({c: [] for c in cols}) for name, cols in TABLE_COLUMNS.items()}
    kpis = {"status": status, "profit": None, "objective": None, **extra}
    return Plan(**tables, kpis=kpis, scenario_name=scenario_name)


def period_dates(sc: Scenario) -> list[str] | None:
    """The date of every period (YYYY-MM-DD) when the scenario has ``horizon.start``, else None."""
    start = sc.settings.get("horizon.start")
    if not start:
        return None
    freq = sc.settings.get("horizon.freq") or "D"
    return [ts.strftime("%Y-%m-%d") for ts in pd.date_range(start=start, periods=sc.periods, freq=freq)]


#: where a plan's ``best_bound`` comes from: the LP relaxation, HiGHS's root node (presolve and cut rounds),
#: HiGHS's branch and bound, or the Lagrangian bound of priced product groups
BOUND_KINDS = ("lp", "root_cuts", "mip", "lagrangian")


def profit_kpis(ev: dict[str, Any], bound: float | None = None, bound_kind: str | None = None) -> dict[str, Any]:
    """The KPIs of a plan's evaluation (:func:`optsupply.plan.check.evaluate_plan` or
    :func:`optsupply.model.extract.evaluate`) with ``bound``, in the order kpis.json lists them.

    ``bound_kind`` says where the bound comes from (:data:`BOUND_KINDS`); None without a bound."""
    return {
        "profit": ev["profit"],
        "revenue": ev["revenue"],
        "costs": ev["costs"],
        "salvage": ev["salvage"],
        "objective": ev["profit"],
        "best_bound": bound,
        "mip_gap": mip_gap(ev["profit"], bound),
        "bound_kind": bound_kind if bound is not None else None,
        "units_sold": ev["units_sold"],
        "potential_demand": ev["potential_demand"],
        "fill_rate": ev["fill_rate"],
        "launched": ev["launched"],
    }


def mip_gap(objective: float | None, bound: float | None) -> float | None:
    """Relative gap |bound − objective| / max(|objective|, 1e-9), as HiGHS reports it."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    return abs(bound - objective) / max(abs(objective), 1e-9)


__all__ = ["Plan", "empty_plan", "table_frame", "mip_gap", "profit_kpis", "period_dates", "TABLE_COLUMNS", "COST_KEYS"]
