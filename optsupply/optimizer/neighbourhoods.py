"""Neighbourhoods of the anytime search: which columns of the one model a sub-MIP may change.

Every column of the joint model belongs to at most one product (the first
index of ``ship[p,w,r,t]``, ``order[p,w,t]``, ``y[p,τ]``, ``spend[p,c,t]`` …)
and to at most one period (the first whole number in its index); lanes used
and onboarding belong to no product (shared). A neighbourhood names a set of
products and, optionally, a window of periods; its sub-MIP frees

    { columns j : product(j) ∈ P and (period(j) ∈ window or period(j) is none) }
    ∪ { shared columns j : period(j) ∈ window or period(j) is none }

and holds every other column at the incumbent (:meth:`CompiledModel.search`).
The incumbent is feasible for every such sub-MIP, so a neighbourhood search
never loses it. The kinds follow the model's structure (Helber & Sahling's
fix-and-optimize for lot sizing; Pochet & Wolsey ch. 3–4 on time windows):

``products``   a run of products in (category, brand) order: they share onboarding and assortments;
``warehouse``  products a warehouse can stock: they share its storage, throughput and lanes;
``window``     more products, but only a window of periods: orders, stock and shipments over time;
``category``   the products of one category: its launch timing and onboarding together.

:class:`Chooser` picks the next kind by adaptive weights (Ropke & Pisinger,
2006: a kind's weight follows the improvements it found) and sizes each
kind's neighbourhood by how HiGHS closed the last one: a sub-MIP solved to
its gap well within its limit grows the next one by half, a sub-MIP stopped
by its limit shrinks it by a third.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from optsupply.model.data import ModelData

__all__ = ["Columns", "Neighbourhood", "Chooser", "KINDS"]

KINDS = ("products", "warehouse", "window", "category")
GROW, SHRINK = 1.5, 2 / 3  # neighbourhood size after a sub-MIP closed early / hit its limit
EARLY = 0.25  # "closed early": within this share of its limit
REACTION = 0.2  # weight of the latest score in a kind's weight
SCORES = {"best": 3.0, "closed": 1.0, "open": 0.3}  # new best plan / solved, no better / stopped by its limit


@dataclass
class Columns:
    """What each column of the compiled model belongs to: ``product`` ("" for shared columns) and
    ``period`` (-1 for none)."""

    product: np.ndarray
    period: np.ndarray

    @classmethod
    def of(cls, columns: Sequence, d: ModelData) -> Columns:
        """The owners of the compiled model's ``columns`` (Pyomo ``VarData`` in column order)."""
        products = set(d.products)
        owner, when = [], []
        for v in columns:
            k = v.index()
            k = k if isinstance(k, tuple) else (k,)
            owner.append(k[0] if k and k[0] in products else "")
            when.append(next((int(x) for x in k if isinstance(x, (int, np.integer)) and not isinstance(x, bool)), -1))
        return cls(np.array(owner, dtype=object), np.array(when, dtype=np.int64))

    def free(self, products: Iterable[str], window: tuple[int, int] | None = None) -> np.ndarray:
        """Boolean mask of the columns a neighbourhood of ``products`` (and ``window``) frees."""
        mine = np.isin(self.product, list(products)) | (self.product == "")
        if window is None:
            return mine
        a, b = window
        return mine & ((self.period < 0) | ((self.period >= a) & (self.period <= b)))


@dataclass(frozen=True)
class Neighbourhood:
    """The products (and window of periods) one sub-MIP re-plans."""

    kind: str
    products: tuple[str, ...]
    window: tuple[int, int] | None = None

    def __str__(self) -> str:
        shown = ", ".join(self.products[:3]) + (f" +{len(self.products) - 3}" if len(self.products) > 3 else "")
        when = "" if self.window is None else f", periods {self.window[0]}-{self.window[1]}"
        return f"{self.kind} [{shown}{when}]"


@dataclass
class Chooser:
    """Adaptive choice of the next neighbourhood (module docstring); deterministic for a given ``seed``."""

    d: ModelData
    seed: int = 0
    focus: Sequence[str] = ()
    size: dict[str, float] = field(default_factory=dict)
    weight: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        d = self.d
        self.rng = random.Random(self.seed)
        self.order = sorted(d.products, key=lambda p: (d.category[p], d.brand[p], d.products.index(p)))
        self.at_warehouse = {w: sorted({p for p, ww, _ in d.orders if ww == w}, key=self.order.index)
                             for w in d.warehouses}
        self.at_warehouse = {w: ps for w, ps in self.at_warehouse.items() if ps}
        cats: dict[str, list[str]] = {}
        for p in self.order:
            cats.setdefault(d.category[p], []).append(p)
        self.categories = cats
        n = len(d.products)
        kinds = [k for k in KINDS if (k != "warehouse" or len(self.at_warehouse) > 1)
                 and (k != "category" or len(cats) > 1) and (k != "window" or d.H > 3)]
        for k in kinds:
            self.size.setdefault(k, float(min(n, 4 if k == "window" else 2)))
            self.weight.setdefault(k, 1.0)
        self.cursor = {k: 0 for k in kinds}
        focus = set(self.focus)  # what-if: the products a change touches are searched first, two at a time
        self.pending = self._chunks([p for p in self.order if p in focus], 2)

    @staticmethod
    def _chunks(items: Sequence[str], size: int) -> list[tuple[str, ...]]:
        return [tuple(items[i:i + size]) for i in range(0, len(items), size)]

    def next(self) -> Neighbourhood:
        """The next neighbourhood: pending focus groups first, then a kind drawn by weight."""
        if self.pending:
            return Neighbourhood("focus", self.pending.pop(0))
        kinds = list(self.weight)
        kind = self.rng.choices(kinds, weights=[self.weight[k] for k in kinds])[0]
        s = max(1, int(round(self.size[kind])))
        return getattr(self, f"_{kind}")(s)

    def _run_of(self, items: Sequence[str], kind: str, s: int) -> tuple[str, ...]:
        i = self.cursor[kind] % len(items)
        self.cursor[kind] = i + s
        return tuple((list(items) * 2)[i:i + min(s, len(items))])

    def _products(self, s: int) -> Neighbourhood:
        return Neighbourhood("products", self._run_of(self.order, "products", s))

    def _warehouse(self, s: int) -> Neighbourhood:
        names = sorted(self.at_warehouse)
        w = names[self.cursor["warehouse"] % len(names)]
        self.cursor["warehouse"] += 1
        items = self.at_warehouse[w]
        return Neighbourhood("warehouse", tuple(sorted(self.rng.sample(items, min(s, len(items))), key=self.order.index)))

    def _window(self, s: int) -> Neighbourhood:
        H = self.d.H
        length = max(2, math.ceil(H / 3))
        a = self.rng.randrange(0, max(1, H - length + 1))
        return Neighbourhood("window", self._run_of(self.order, "window", s), (a, a + length - 1))

    def _category(self, s: int) -> Neighbourhood:
        names = sorted(self.categories)
        c = names[self.cursor["category"] % len(names)]
        self.cursor["category"] += 1
        items = self.categories[c]
        if len(items) > 2 * s:
            items = sorted(self.rng.sample(items, 2 * s), key=self.order.index)
        return Neighbourhood("category", tuple(items))

    def record(self, nb: Neighbourhood, *, best: bool, closed: bool, early: bool) -> None:
        """Learn from one sub-MIP: ``best`` (it found a better plan), ``closed`` (solved to its gap) and
        ``early`` (within :data:`EARLY` of its limit)."""
        if nb.kind not in self.weight:
            return
        score = SCORES["best" if best else "closed" if closed else "open"]
        self.weight[nb.kind] = (1 - REACTION) * self.weight[nb.kind] + REACTION * score
        n = len(self.d.products)
        if closed and early:
            self.size[nb.kind] = min(float(n), self.size[nb.kind] * GROW)
        elif not closed:
            self.size[nb.kind] = max(1.0, self.size[nb.kind] * SHRINK)
