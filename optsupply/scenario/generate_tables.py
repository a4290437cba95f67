"""The generator's output: the drawn world as typed tables and settings.

:meth:`TableWriter._write_tables` and :meth:`TableWriter._settings` are the
last steps of :class:`optsupply.scenario.generate._Builder`; :func:`frame`
builds one typed table in schema column order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from optsupply.scenario.generate_params import DISPERSION, FREQ, START, nice, rounded
from optsupply.scenario.schema import H_LAST, TABLE_BY_NAME


def frame(table: str, columns: dict[str, Any], horizon: int) -> pd.DataFrame:
    """A typed table in schema column order; omitted optional columns get their default."""
    spec = TABLE_BY_NAME[table]
    n = len(next(iter(columns.values())))
    out: dict[str, Any] = {}
    for col in spec.columns:
        if col.name in columns:
            values = columns[col.name]
        else:
            if col.required:
                raise KeyError(f"{table}.{col.name} is required")
            values = [horizon - 1 if col.default == H_LAST else col.default] * n
        dtype = {"str": object, "float": "float64", "int": "int64", "bool": bool}[col.dtype]
        out[col.name] = np.asarray(values, dtype=dtype)
    return pd.DataFrame(out, columns=spec.column_names)


class TableWriter:
    """The tables and settings of a drawn scenario (a part of the generator's builder)."""

    def _write_tables(self) -> None:
        """Every table of the drawn world into ``self.tables``, in schema order."""
        self._write_assortment()
        self._write_demand_tables()
        self._write_network()
        self._write_advertising()
        assert self.N == len(self.tables["products"])

    def _write_assortment(self) -> None:
        """products, and the onboarding terms of the new categories and brands."""
        H = self.H
        f = self.tables
        f["products"] = frame("products", {
            "product": self.products,
            "category": self.categories[self.cat],
            "brand": self.brands[self.brand],
            "price": self.price,
            "unit_cost": self.unit_cost,
            "holding_cost": self.holding,
            "volume": self.volume,
            "status": np.where(self.is_new, "new", "active").astype(object),
            "launch_earliest": self.earliest,
            "launch_latest": self.latest,
            "launch_cost": self.launch_cost,
            "must_launch": self.must,
            "salvage_value": self.salvage,
            "lost_sale_cost": self.lost_sale_cost,
            "featured_lift": self.featured_lift,
        }, H)
        new_cat = np.flatnonzero(self.cat_is_new)
        if len(new_cat):
            f["categories"] = frame("categories", {
                "category": self.categories[new_cat],
                "onboarding_cost": self.cat_onboarding[new_cat],
                "min_products": self.cat_min[new_cat],
            }, H)
        new_brand = np.flatnonzero(self.brand_is_new)
        f["brands"] = frame("brands", {
            "brand": self.brands[new_brand],
            "onboarding_cost": self.brand_onboarding[new_brand],
            "min_products": self.brand_min[new_brand],
        }, H)

    def _write_demand_tables(self) -> None:
        """demand of active products, launch curves of new ones, seasonality."""
        H = self.H
        f = self.tables
        # demand of active products: product × region × period with gamma-Poisson sd; rows whose
        # demand rounds to zero (the tails of recent launches) are left out, as they mean zero demand
        active = np.flatnonzero(~self.is_new)
        mu = self.base[active][:, None, self.hor_cols] * self.shares[active][:, :, None]  # A × R × H
        demand = rounded(mu)
        keep = demand > 0
        keep[~keep.any(axis=(1, 2)), :, 0] = True  # a product with no demand left still has its rows
        ai, ri, ti = np.nonzero(keep)  # C order: product, region, period
        f["demand"] = frame("demand", {
            "product": self.products[active][ai], "region": self.regions[ri], "period": ti,
            "demand": demand[ai, ri, ti],
            "demand_sd": rounded(np.sqrt(mu + mu ** 2 / DISPERSION))[ai, ri, ti],
        }, H)
        # launch curves of new products: product × region × age, zero ages left out
        new = np.flatnonzero(self.is_new)
        lc = self.curve[new][:, None, :] * self.shares[new][:, :, None]  # Nn × R × H
        lc_demand = rounded(lc)
        lc_sd = rounded(np.sqrt(lc + (0.4 * lc) ** 2))
        pi, ri, ai = np.nonzero(lc_demand > 0)
        f["launch_curve"] = frame("launch_curve", {
            "product": self.products[new][pi], "region": self.regions[ri], "age": ai,
            "demand": lc_demand[pi, ri, ai], "demand_sd": lc_sd[pi, ri, ai],
        }, H)
        f["seasonality"] = frame("seasonality", {
            "category": np.repeat(self.categories, H),
            "period": np.tile(np.arange(H), self.n_cat),
            "index": self.season[:, self.hor_cols].ravel(),
        }, H)

    def _write_network(self) -> None:
        """warehouses, supply, stock on hand and on its way, lanes."""
        H = self.H
        f = self.tables
        f["warehouses"] = frame("warehouses", {
            "warehouse": self.warehouses, "storage_capacity": self.storage, "throughput_capacity": self.throughput,
        }, H)
        f["supply"] = frame("supply", {
            "product": self.products[self.sup_p], "warehouse": self.warehouses[self.sup_w],
            "lead_time": self.sup_lead, "order_cost": self.sup_order_cost, "min_order": self.sup_min,
            "max_order": self.sup_max, "activation_cost": self.sup_activation,
        }, H)
        if len(self.init_p):
            f["initial_stock"] = frame("initial_stock", {
                "product": self.products[self.init_p], "warehouse": self.warehouses[self.init_w],
                "units": self.init_units,
            }, H)
        if len(self.pipe_p):
            order = np.lexsort((self.pipe_t, self.pipe_w, self.pipe_p))
            f["pipeline"] = frame("pipeline", {
                "product": self.products[self.pipe_p[order]], "warehouse": self.warehouses[self.pipe_w[order]],
                "period": self.pipe_t[order], "units": self.pipe_units[order],
            }, H)
        f["lanes"] = frame("lanes", {
            "warehouse": self.warehouses[self.lane_w], "region": self.regions[self.lane_r],
            "cost_per_unit": self.lane_cost, "fixed_cost": self.lane_fixed, "capacity": self.lane_capacity,
        }, H)

    def _write_advertising(self) -> None:
        """channels and response curves; featured slots and history, the last tables."""
        H = self.H
        f = self.tables
        f["channels"] = frame("channels", {"channel": self.channels, "budget": self.channel_budget}, H)
        f["response"] = frame("response", {
            "product": self.products[self.resp_p], "channel": self.channels[self.resp_c],
            "max_uplift": self.resp_max, "half_saturation": self.resp_k,
            "shape": self.resp_shape, "carryover": self.resp_carry,
        }, H)
        f["slots"] = frame("slots", {"period": np.arange(H), "slots": self.slots}, H)
        f["history"] = frame("history", self.history, H)

    def _settings(self) -> dict[str, Any]:
        n_new = int(self.is_new.sum())
        typical_value = float((self.unit_cost * self.typical).sum())
        inventory_cap = nice(max(6.0 * typical_value, 2.0 * self.owned_value), 1000.0)
        solver_time = {"tiny": 60.0, "xsmall": 60.0, "small": 120.0, "medium": 300.0, "large": 600.0,
                       "xlarge": 1200.0}[self.size]
        return {
            "name": f"generated-{self.size}-seed{self.seed}",
            "currency": "EUR",
            "horizon.periods": self.H,
            "horizon.start": START,
            "horizon.freq": FREQ,
            "launch.max_per_period": max(1, math.ceil(1.5 * n_new / self.H)),
            "finance.max_inventory_value": inventory_cap,
            "advertising.total_budget": self.total_budget,
            "advertising.pwl_tolerance": 0.005,
            "solver.time_limit": solver_time,
            "solver.mip_gap": 0.005,
            "solver.threads": 0,
            "solver.seed": 0,
        }
