"""The :class:`Plan`: what the optimizer decided, as the tables of SPEC §4.

A plan is extracted from the solved model, then cleaned so that its tables
add up exactly with the scenario's costs:

* binaries are rounded and values below ``ZERO`` are set to 0;
* a set-up that pays for nothing is switched off (an order of 0 units, a lane
  used with no volume, an activation without orders);
* stock is recomputed from the cleaned orders and shipments (the balance holds
  exactly);
* ad and featured uplift count only as far as sales rely on them (the plan may
  never count on more than the true response curve);
* the profit and its parts are recomputed from the tables, and ``objective`` is
  that profit. For a time-limited incumbent the cleaned profit can only be
  higher than the solver's incumbent value; ``best_bound`` is the solver's and
  ``mip_gap`` is computed from both.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyomo.environ as pyo

from optsupply.errors import UsageError
from optsupply.files import write_folder
from optsupply.model.data import ModelData
from optsupply.model.pwl import hill
from optsupply.scenario import Scenario

ZERO = 1e-7  # values below this (in units or money) are zero in a plan
DECIMALS = 9  # quantities and money in plan tables are rounded to this many decimals

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

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write kpis.json and one CSV per table; completely or not at all."""
        target = Path(path)
        if target.exists() and any(target.iterdir()) and not overwrite:
            raise UsageError(f"{target} already exists and is not empty (use --force / overwrite=True to replace it)")

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

        return write_folder(target, write)

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


def empty_plan(status: str, scenario_name: str, **extra: Any) -> Plan:
    """A plan without tables, for runs that found none (infeasible, error, …)."""
    tables = {name: pd.DataFrame({c: [] for c in cols}) for name, cols in TABLE_COLUMNS.items()}
    kpis = {"status": status, "profit": None, "objective": None, **extra}
    return Plan(**tables, kpis=kpis, scenario_name=scenario_name)


def _values(var: pyo.Var) -> dict:
    return {k: (v if v is not None else 0.0) for k, v in var.extract_values().items()}


def _frame(rows: list[tuple], name: str) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=TABLE_COLUMNS[name])
    for c in ("period", "arrival"):
        if c in df.columns:
            df[c] = df[c].astype("int64")
    return df


def extract_plan(m: pyo.ConcreteModel, d: ModelData, sc: Scenario) -> tuple[Plan, dict[str, float]]:
    """Plan tables from the model's current values, cleaned; returns (plan, evaluation)."""
    y = _values(m.launch.y)
    launch_at = {p: tau for (p, tau), v in y.items() if v > 0.5}

    ship = {k: round(v, DECIMALS) for k, v in _values(m.transport.ship).items() if v > ZERO}
    order = {k: round(v, DECIMALS) for k, v in _values(m.inventory.order).items() if v > ZERO}

    # stock recomputed from the cleaned flows
    out_pwt: dict[tuple, float] = defaultdict(float)
    for (p, w, r, t), v in ship.items():
        out_pwt[p, w, t] += v
    arrivals: dict[tuple, float] = defaultdict(float)
    for (p, w, t), v in order.items():
        arrivals[p, w, t + d.lead[p, w]] += v
    stock: dict[tuple, float] = {}
    for p, w in d.supply:
        level = d.initial.get((p, w), 0.0)
        for t in d.periods:
            level += arrivals.get((p, w, t), 0.0) + d.pipeline.get((p, w, t), 0.0) - out_pwt.get((p, w, t), 0.0)
            level = round(level, DECIMALS)
            if abs(level) < 1e-6:
                level = 0.0
            stock[p, w, t] = level

    def base(p: str, r: str, t: int) -> float:
        if p not in d.window:
            return d.base.get((p, r, t), 0.0)
        tau = launch_at.get(p)
        return 0.0 if tau is None or tau > t else d.base_new(p, r, t, tau)

    feat = {k for k, v in _values(m.demand.feat).items() if v > 0.5}
    fup_raw = _values(m.demand.fup)
    uplift = _values(m.advertising.uplift)
    spend = {k: round(v, DECIMALS) for k, v in _values(m.advertising.spend).items() if v > ZERO}
    sold: dict[tuple, float] = defaultdict(float)
    for (p, w, r, t), v in ship.items():
        sold[p, r, t] += v

    # uplift counts only as far as sales rely on it
    U: dict[tuple, float] = defaultdict(float)
    for (p, c, t), v in uplift.items():
        U[p, t] += v
    fup = {}
    for p, r, t in d.sell:
        if (p, t) not in feat:
            continue
        # products without a fup variable count on the whole lift while featured
        v = fup_raw[p, r, t] if (p, r, t) in fup_raw else d.lift[p] * base(p, r, t)
        if v > ZERO:
            fup[p, r, t] = min(v, d.lift[p] * base(p, r, t))
    need: dict[tuple, float] = defaultdict(float)
    for p, r, t in d.sell:
        rest = sold.get((p, r, t), 0.0) - base(p, r, t) - fup.get((p, r, t), 0.0)
        if rest > ZERO and d.share.get((p, r), 0) > 0:
            need[p, t] = max(need[p, t], rest / d.share[p, r])
    scale = {}
    for (p, t), total in U.items():
        scale[p, t] = 0.0 if total <= ZERO else min(1.0, need.get((p, t), 0.0) / total)
    for key in list(fup):
        p, r, t = key
        rest = sold.get(key, 0.0) - base(p, r, t) - d.share[p, r] * U.get((p, t), 0.0) * scale.get((p, t), 0.0)
        fup[key] = max(0.0, min(fup[key], rest))

    sales_rows = []
    for p, r, t in d.sell:
        b = base(p, r, t)
        ad = d.share[p, r] * U.get((p, t), 0.0) * scale.get((p, t), 0.0)
        f = fup.get((p, r, t), 0.0)
        s = sold.get((p, r, t), 0.0)
        pot = b + ad + f
        if pot <= ZERO and s <= ZERO:
            continue
        sales_rows.append((p, r, t, b, ad, f, pot, s, max(0.0, pot - s)))

    adv_rows = []
    for (p, c), pars in sorted(d.response.items()):
        eff = 0.0
        for t in d.periods:
            x = spend.get((p, c, t), 0.0)
            eff = x + pars["carryover"] * eff
            u = uplift.get((p, c, t), 0.0) * scale.get((p, t), 0.0)
            if u > 0:  # never above the true curve (the PWL is below it; guard rounding)
                u = min(u, float(hill(eff, pars["max_uplift"], pars["half_saturation"], pars["shape"])))
            if x > ZERO or u > ZERO or eff > ZERO:
                adv_rows.append((p, c, t, x, eff, u))

    lane_vol: dict[tuple, float] = defaultdict(float)
    for (p, w, r, t), v in ship.items():
        lane_vol[w, r, t] += d.volume[p] * v

    plan = Plan(
        launches=_frame(sorted((p, tau) for p, tau in launch_at.items()), "launches"),
        orders=_frame([(p, w, t, t + d.lead[p, w], v) for (p, w, t), v in sorted(order.items())], "orders"),
        stock=_frame([(p, w, t, v) for (p, w, t), v in stock.items() if v > 0], "stock"),
        shipments=_frame([(p, w, r, t, v) for (p, w, r, t), v in ship.items()], "shipments"),
        sales=_frame(sales_rows, "sales"),
        advertising=_frame(adv_rows, "advertising"),
        featured=_frame(sorted(feat), "featured"),
        lanes=_frame([(w, r, t, v, True) for (w, r, t), v in sorted(lane_vol.items()) if v > 0], "lanes"),
        kpis={},
        scenario_name=sc.name,
        dates=_dates(sc),
    )
    return plan, evaluate(plan, d, sc)


def _dates(sc: Scenario) -> list[str] | None:
    start = sc.settings.get("horizon.start")
    if not start:
        return None
    freq = sc.settings.get("horizon.freq") or "D"
    return [ts.strftime("%Y-%m-%d") for ts in pd.date_range(start=start, periods=sc.periods, freq=freq)]


def evaluate(plan: Plan, d: ModelData, sc: Scenario) -> dict[str, Any]:
    """Profit and its parts from the plan's tables and the scenario's costs (SPEC §3 objective)."""
    o, s, sh, sa, adv, ln = plan.orders, plan.stock, plan.shipments, plan.sales, plan.advertising, plan.lanes

    def by_product(df: pd.DataFrame, values: dict[str, float], col: str = "units") -> float:
        if df.empty:
            return 0.0
        return float((df["product"].map(values) * df[col]).sum())

    pw = list(zip(o["product"], o["warehouse"], strict=True))
    launched = plan.launches["product"].tolist()
    groups = set()
    for p in launched:
        groups.add(("category", d.category[p]))
        groups.add(("brand", d.brand[p]))
    onboarding = {("category", g): c for g, c in zip(sc.categories["category"], sc.categories["onboarding_cost"], strict=True)}
    onboarding.update({("brand", g): c for g, c in zip(sc.brands["brand"], sc.brands["onboarding_cost"], strict=True)})
    final = s[s["period"] == d.H - 1] if not s.empty else s
    costs = {
        "purchase": by_product(o, d.unit_cost),
        "ordering": float(sum(d.order_cost[k] for k in pw)),
        "activation": float(sum(d.activation_cost[k] for k in set(pw))),
        "holding": by_product(s, d.holding),
        "transport": float(sum(d.lane_cost[w, r] * d.volume[p] * u for p, w, r, u in
                               zip(sh["product"], sh["warehouse"], sh["region"], sh["units"], strict=True))),
        "lane_fixed": float(sum(d.lane_fixed[w, r] for w, r in zip(ln["warehouse"], ln["region"], strict=True))),
        "advertising": float(adv["spend"].sum()) if not adv.empty else 0.0,
        "launch": float(sum(d.launch_cost[p] for p in launched)),
        "onboarding": float(sum(onboarding.get(g, 0.0) for g in groups)),
        "lost_sale": by_product(sa, d.lost_cost, "lost"),
    }
    revenue = by_product(sa, d.price, "sales")
    salvage = by_product(final, d.salvage)
    units_sold = float(sa["sales"].sum()) if not sa.empty else 0.0
    potential = float(sa["potential_demand"].sum()) if not sa.empty else 0.0
    return {
        "profit": revenue + salvage - sum(costs.values()),
        "revenue": revenue,
        "costs": costs,
        "salvage": salvage,
        "units_sold": units_sold,
        "potential_demand": potential,
        "fill_rate": units_sold / potential if potential > 0 else 1.0,
        "launched": len(launched),
    }


def mip_gap(objective: float | None, bound: float | None) -> float | None:
    """Relative gap |bound − objective| / max(|objective|, 1e-9), as HiGHS reports it."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    return abs(bound - objective) / max(abs(objective), 1e-9)


__all__ = ["Plan", "extract_plan", "evaluate", "empty_plan", "mip_gap", "TABLE_COLUMNS", "COST_KEYS"]
