"""A :class:`~optsupply.plan.Plan` read off the solved model, cleaned, and its profit recomputed.

A plan is extracted from the solved model, then cleaned so that its tables
add up exactly with the scenario's costs:

* binaries are rounded and values below ``ZERO`` are set to 0; quantities and
  money are rounded to ``DECIMALS`` decimals, or to ``DIGITS`` significant
  digits where that is finer (so that plans in any unit -- demands of 1e-2 or
  prices of 1e6 -- keep their relative precision);
* a set-up that pays for nothing is switched off (an order of 0 units, a lane
  used with no volume, an activation without orders), and a set-up that is
  off carries nothing (an order or shipment the solver left at 1e-6 units
  under a switched-off binary, within its tolerances, is 0);
* stock is recomputed from the cleaned orders and shipments (the balance holds
  exactly); where the solver's feasibility tolerance let shipments exceed the
  stock on hand by a hair, the shipments are cut so that stock never goes
  below 0; the stock table is never rounded on its own (holding cost and
  salvage are what the flows add up to);
* ad and featured uplift count only as far as sales rely on them (the plan may
  never count on more than the true response curve; sales that relied on more,
  within the solver's tolerance, are cut to the potential demand);
* the profit and its parts are recomputed from the tables, and ``objective`` is
  that profit. For a time-limited incumbent the cleaned profit is higher than
  the solver's incumbent value (but for the tolerance-sized cuts above);
  ``best_bound`` is the solver's and ``mip_gap`` is computed from both.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

import pandas as pd
import pyomo.environ as pyo

from optsupply.curves import hill
from optsupply.model.data import ModelData
from optsupply.plan.core import NOISE, ZERO, Plan, _tidy, period_dates, table_frame
from optsupply.scenario.core import Scenario


def _values(var: pyo.Var) -> dict:
    return {k: (v if v is not None else 0.0) for k, v in var.extract_values().items()}


def extract_plan(m: pyo.ConcreteModel, d: ModelData, sc: Scenario) -> tuple[Plan, dict[str, float]]:
    """Plan tables from the model's current values, cleaned; returns (plan, evaluation)."""
    launch_at = {p: tau for (p, tau), v in _values(m.launch.y).items() if v > 0.5}
    ship, order = _flows(m)
    stock = _stock_levels(ship, order, d)  # cuts shipments the stock cannot cover

    def base(p: str, r: str, t: int) -> float:
        if p not in d.window:
            return d.base.get((p, r, t), 0.0)
        tau = launch_at.get(p)
        return 0.0 if tau is None or tau > t else d.base_new(p, r, t, tau)

    feat = {k for k, v in _values(m.demand.feat).items() if v > 0.5}
    spend = {k: _tidy(v) for k, v in _values(m.advertising.spend).items() if v > ZERO}
    effective, uplift = _effective_uplift(m, d, spend)
    sold: dict[tuple, float] = defaultdict(float)
    for (p, w, r, t), v in ship.items():
        sold[p, r, t] += v
    U: dict[tuple, float] = defaultdict(float)
    for (p, c, t), v in uplift.items():
        U[p, t] += v
    fup, scale = _relied_on(m, d, feat, sold, U, base)
    sales_rows, cut_any = _sales_rows(d, ship, sold, U, scale, fup, base)
    if cut_any:  # less shipped: more stock (never less than 0)
        stock = _stock_levels(ship, order, d)
    adv_rows = []
    for p, c in sorted(d.response):
        for t in d.periods:
            x, eff = spend.get((p, c, t), 0.0), effective[p, c, t]
            u = uplift.get((p, c, t), 0.0) * scale.get((p, t), 0.0)
            if x > ZERO or u > ZERO or eff > ZERO:
                adv_rows.append((p, c, t, x, eff, u))
    lane_vol: dict[tuple, float] = defaultdict(float)
    for (p, w, r, t), v in ship.items():
        lane_vol[w, r, t] += d.volume[p] * v

    plan = Plan(
        launches=table_frame("launches", sorted((p, tau) for p, tau in launch_at.items())),
        orders=table_frame("orders", [(p, w, t, t + d.lead[p, w], v) for (p, w, t), v in sorted(order.items())]),
        stock=table_frame("stock", [(p, w, t, v) for (p, w, t), v in stock.items() if v > 0]),
        shipments=table_frame("shipments", [(p, w, r, t, v) for (p, w, r, t), v in ship.items()]),
        sales=table_frame("sales", sales_rows),
        advertising=table_frame("advertising", adv_rows),
        featured=table_frame("featured", sorted(feat)),
        lanes=table_frame("lanes", [(w, r, t, v, True) for (w, r, t), v in sorted(lane_vol.items()) if v > 0]),
        kpis={},
        scenario_name=sc.name,
        dates=period_dates(sc),
    )
    return plan, evaluate(plan, d, sc)


def _flows(m: pyo.ConcreteModel) -> tuple[dict[tuple, float], dict[tuple, float]]:
    """(shipments, orders) without noise; what a switched-off set-up carries is 0.

    Binaries are rounded: the solver's tolerances let an order of 1e-6 units slip through with
    placed = 1e-9, which would break min_order.
    """
    used = {k for k, v in _values(m.transport.used).items() if v <= 0.5}
    placed = {k for k, v in _values(m.inventory.placed).items() if v <= 0.5}
    inactive = {k for k, v in _values(m.inventory.active_w).items() if v <= 0.5}
    ship = {k: _tidy(v) for k, v in _values(m.transport.ship).items() if v > ZERO and k[1:] not in used}
    order = {k: _tidy(v) for k, v in _values(m.inventory.order).items()
             if v > ZERO and k not in placed and k[:2] not in inactive}
    return ship, order


def _effective_uplift(m: pyo.ConcreteModel, d: ModelData, spend: dict[tuple, float]
                      ) -> tuple[dict[tuple, float], dict[tuple, float]]:
    """(effective spend, uplift) per (p, c, t): effective spend from the cleaned spend, and uplift never above
    the true curve there (the PWL is below it; this guards the solver's tolerances) -- the sales table counts
    the same, clipped, uplift."""
    uplift = _values(m.advertising.uplift)
    effective: dict[tuple, float] = {}
    for (p, c), pars in sorted(d.response.items()):
        eff = 0.0
        for t in d.periods:
            eff = spend.get((p, c, t), 0.0) + pars["carryover"] * eff
            effective[p, c, t] = eff
            v = uplift.get((p, c, t), 0.0)
            if v > 0:
                uplift[p, c, t] = min(v, float(hill(eff, pars["max_uplift"], pars["half_saturation"], pars["shape"])))
    return effective, uplift


def _relied_on(m: pyo.ConcreteModel, d: ModelData, feat: set, sold: dict, U: dict,
               base: Callable[[str, str, int], float]) -> tuple[dict[tuple, float], dict[tuple, float]]:
    """(featured uplift, ad-uplift scale): uplift counts only as far as sales rely on it."""
    fup_raw = _values(m.demand.fup)
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
    return fup, scale


def _sales_rows(d: ModelData, ship: dict, sold: dict, U: dict, scale: dict, fup: dict,
                base: Callable[[str, str, int], float]) -> tuple[list[tuple], bool]:
    """The sales table's rows, and whether shipments were cut: sales that relied on uplift above the true
    curve (within the solver's tolerance) are cut to the potential demand."""
    ships_prt: dict[tuple, list[tuple]] = defaultdict(list)
    for key in ship:
        p, w, r, t = key
        ships_prt[p, r, t].append(key)
    rows = []
    cut_any = False
    for p, r, t in d.sell:
        b = base(p, r, t)
        ad = d.share[p, r] * U.get((p, t), 0.0) * scale.get((p, t), 0.0)
        f = fup.get((p, r, t), 0.0)
        s = sold.get((p, r, t), 0.0)
        pot = b + ad + f
        if pot <= ZERO and s <= ZERO:
            continue
        if s - pot > NOISE * max(1.0, s):
            _cut(ship, ships_prt[p, r, t], s - pot)
            s = pot
            cut_any = True
        rows.append((p, r, t, b, ad, f, pot, s, max(0.0, pot - s)))
    return rows, cut_any


def _stock_levels(ship: dict[tuple, float], order: dict[tuple, float], d: ModelData) -> dict[tuple, float]:
    """End-of-period stock from the cleaned orders and shipments (``ship`` is cut where stock would go below 0).

    Where the solver's feasibility tolerance let shipments exceed the stock on
    hand, the period's largest shipments are cut by the deficit. Levels are
    never rounded, and zeroed only within floating-point noise, so that
    holding cost and salvage are exactly what the flows add up to.
    """
    ships_pwt: dict[tuple, list[tuple]] = defaultdict(list)
    for key in ship:
        p, w, r, t = key
        ships_pwt[p, w, t].append(key)
    arrivals: dict[tuple, float] = defaultdict(float)
    for (p, w, t), v in order.items():
        arrivals[p, w, t + d.lead[p, w]] += v
    stock: dict[tuple, float] = {}
    for p, w in d.supply:
        level = d.initial.get((p, w), 0.0)
        through = abs(level)  # the flows through this stock so far: the scale of its rounding noise
        for t in d.periods:
            keys = ships_pwt.get((p, w, t), [])
            inflow = arrivals.get((p, w, t), 0.0) + d.pipeline.get((p, w, t), 0.0)
            out = sum(ship[k] for k in keys)
            level = level + inflow - out
            through += inflow + out
            if level < -NOISE * through:  # ship only what is on hand
                _cut(ship, keys, -level)
                level = 0.0
            stock[p, w, t] = 0.0 if abs(level) <= NOISE * through else level
    return stock


def _cut(ship: dict[tuple, float], keys: list[tuple], amount: float) -> None:
    """Reduce the shipments ``keys`` by ``amount`` in all, the largest first (deterministic)."""
    for k in sorted((k for k in keys if k in ship), key=lambda k: (-ship[k], k)):
        cut = min(amount, ship[k])
        ship[k] -= cut
        amount -= cut
        if ship[k] <= 0.0:
            del ship[k]
        if amount <= 0.0:
            break


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
        "transport": _by_pair(sh, d.lane_cost, "warehouse", "region", sh["product"].map(d.volume) * sh["units"]),
        "lane_fixed": _by_pair(ln, d.lane_fixed, "warehouse", "region"),
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


def _by_pair(df: pd.DataFrame, values: dict[tuple[str, str], float], a: str, b: str,
             weight: pd.Series | None = None) -> float:
    """Σ values[row's (a, b)] · weight over the rows of df (vectorised; weight 1 when None)."""
    if df.empty:
        return 0.0
    lookup = pd.Series(values, dtype=float)
    keyed = lookup.reindex(pd.MultiIndex.from_arrays([df[a], df[b]])).to_numpy()
    w = 1.0 if weight is None else weight.to_numpy(dtype=float)
    return float((keyed * w).sum())


__all__ = ["extract_plan", "evaluate"]
