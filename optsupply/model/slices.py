"""The model data of a group of products: :class:`ProductSlices` splits :class:`ModelData` by product once."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from optsupply.model.data import ModelData

__all__ = ["ProductSlices"]

# ModelData fields keyed by product (dict keys p or tuples starting with p; lists of such tuples)
_BY_PRODUCT = ("price", "unit_cost", "holding", "volume", "salvage", "lost_cost", "lift", "launch_cost", "must_launch",
               "category", "brand", "window", "base", "curve", "shape", "share", "regions_of", "pd_max", "base_max",
               "supply", "lead", "order_cost", "min_order", "max_order", "activation_cost", "initial", "pipeline",
               "response", "curves", "sell", "ship", "orders", "order_bound", "ship_bound", "stock")


class ProductSlices:
    """ModelData split by product once, so a group's data is assembled in time proportional to its size."""

    def __init__(self, d: ModelData):
        self.d = d
        self.parts: dict[str, dict[str, Any]] = {name: defaultdict(dict) if isinstance(getattr(d, name), dict)
                                                 else defaultdict(list) for name in _BY_PRODUCT}
        for name in _BY_PRODUCT:
            value, part = getattr(d, name), self.parts[name]
            if isinstance(value, dict):
                for k, v in value.items():
                    part[k[0] if isinstance(k, tuple) else k][k] = v
            else:
                for k in value:
                    part[k[0]].append(k)

    def restrict(self, group: list[str], *, group_cost: dict | None = None, group_min: dict | None = None,
                 lane_fixed: dict | None = None) -> ModelData:
        """The data of the model of ``group`` alone (bounds derived on the whole scenario stay valid)."""
        d = self.d
        sub = copy.copy(d)
        for name in _BY_PRODUCT:
            part = self.parts[name]
            if isinstance(getattr(d, name), dict):
                merged: dict = {}
                for p in group:
                    merged.update(part.get(p, {}))
                setattr(sub, name, merged)
            else:
                setattr(sub, name, [k for p in group for k in part.get(p, ())])
        members = set(group)
        sub.products = [p for p in d.products if p in members]
        sub.new = [p for p in d.new if p in members]
        gm = {g: [p for p in ps if p in members] for g, ps in d.group_members.items()}
        gm = {g: ps for g, ps in gm.items() if ps}
        sub.group_members = gm
        sub.group_cost = {g: (group_cost or d.group_cost)[g] for g in gm}
        sub.group_min = {g: (group_min or d.group_min)[g] for g in gm}
        if lane_fixed is not None:
            sub.lane_fixed = lane_fixed
        return sub
