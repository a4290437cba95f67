"""Fast what-if re-solves: one model, one persistent HiGHS instance, lean updates.

>>> import optsupply as ops
>>> from optsupply.analysis.whatif import WhatIf
>>> session = WhatIf(ops.Scenario.load("instances/small"), time_limit=60, threads=1)
>>> plan = session.solve()                                        # "cold"
>>> plan = session.solve({"products.price": {"P01": "*0.9"}})     # "lean": objective only
>>> plan = session.solve({"advertising.total_budget": "*0.8"})    # "lean": one right-hand side
>>> session.last_update.kind, session.last_update.reason
>>> session.base                                                  # the scenario just solved

Every plan is made exactly as :func:`optsupply.solve` makes it (same
:func:`~optsupply.model.extract.extract_plan`, same KPI dict); only the way to the
solver's model differs.

Changes are cumulative
----------------------
``session.solve(changes)`` applies ``changes`` to ``session.base`` (the scenario
of the previous solve; at first the scenario the session was made with) and
the result becomes the new ``session.base``. So ``"*1.1"`` twice is ``"*1.21"``.
``solve(changes, from_original=True)`` applies them to ``session.original``
instead. Changes are validated by :meth:`Scenario.with_changes` before anything
else happens: a bad key or value raises :class:`~optsupply.errors.ScenarioError`
and leaves the session exactly as it was.

Design: patch the HiGHS model directly
--------------------------------------
The Pyomo model is built once (from ``session.original``) and held in one
persistent HiGHS instance (:class:`~optsupply.optimizer.highs.persistent.PersistentModel`)
with no automatic updates, so a re-solve pushes nothing from Pyomo. A lean
update changes costs, the objective constant, row and column bounds and
coefficients of the HiGHS model itself, by the HiGHS row and column of each
Pyomo constraint and variable. No Pyomo ``Param`` is needed and the model
code is unchanged. Consequence: after a lean update the Pyomo model's
coefficients are stale (its variables' values are current); it is private to
the session.

Each update goes like this:

1. ``new = base.with_changes(changes)`` (validation), then a cell-by-cell diff
   of ``base`` and ``new``: the changed ``(table, column)`` rows and settings.
2. ``prepare(new)`` — the data :func:`extract_plan` needs anyway, and the
   derived bounds of the changed scenario.
3. Every changed column must have a lean handler (below); otherwise the model
   is rebuilt. Each handler computes its patch from the data and the model's
   components, and may itself ask for a rebuild (a structural side effect).
4. Data-derived bounds must stay valid. The model keeps the bounds it was
   *built* with (``prepare(original)``, or the scenario of the last rebuild), so
   the changed scenario may only lower them: order bounds, shipment bounds,
   featured bounds, the (l,S) demand sums, and the set of Hill chords needed up
   to the budget-reachable spend; its sparse index sets (sell, ship, orders)
   must be subsets of the built ones and the regional demand shares equal. Any
   violation means a rebuild. A return to the built data is therefore always
   lean.
5. Apply the patch, give the previous solution as a MIP start (every
   column) and re-solve. If the change made the previous solution
   infeasible, it is repaired first in a fresh HiGHS instance
   (:meth:`~optsupply.optimizer.highs.persistent.PersistentModel.start_from`:
   the previous integer values fixed and an LP completes the rest, else a
   small MIP; measured on instances/medium, see tests/analysis/test_whatif.py).

A rebuild (``prepare`` + ``build_model`` + a new HiGHS instance) becomes the
new built state; its MIP start is the previous solution mapped onto the new
model's variables by component name and index (a partial start).

Lean changes (anything else is rebuilt)
---------------------------------------
============================================  ==========================================================
``products.price``                            revenue coefficients of shipments
``products.unit_cost``                        purchase cost; working-capital row coefficients
``products.holding_cost``, ``salvage_value``  stock costs / final-stock value
``products.launch_cost``                      launch binaries' cost
``products.lost_sale_cost``                   coefficients of potential demand, objective constant;
                                              rebuild when a featured active product switches
                                              between 0 and > 0 (it changes the featured variables)
``products.launch_earliest/_latest``          narrowing a new product's window fixes launch
                                              binaries to 0 (widening needs new variables: rebuild)
``supply.order_cost``, ``activation_cost``    set-up costs; rebuild if a set-up binary appears/vanishes
``lanes.cost_per_unit``, ``fixed_cost``       transport costs; rebuild if a lane binary appears/vanishes
``lanes.capacity``                            right-hand side or the capacity × used coefficient; a
                                              capacity row the build left out as redundant is added
                                              (``opt.add_constraints``) when a decrease makes it bind
``warehouses.storage_/throughput_capacity``   right-hand sides (rebuild when infinite becomes finite)
``channels.budget``, ``advertising.total_budget``  right-hand sides (decrease lean, increase lean only if
                                              no Hill chord was left out because of the old budget)
``finance.max_inventory_value``               right-hand sides
``launch.max_per_period``, ``slots.slots``    right-hand sides (rebuild if a period gains its first slot)
``demand.demand``                             (active products) demand-cap right-hand sides, featured
                                              bounds and coefficients, the lost-sale constant
``categories/brands.onboarding_cost``         onboarding binaries' cost
``name``, ``currency``, ``horizon.start/freq``, ``solver.*``, ``demand_sd``, ``history``: no model change
============================================  ==========================================================

Known limits: the persistent model relies on private attributes of Pyomo's
contrib HiGHS interface (verified on Pyomo 6.10.1), and HiGHS's thread
scheduler is global: keep one ``threads`` value per process.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from optsupply.model import build_model, prepare
from optsupply.analysis.whatif_patches import (_HANDLERS, _SETTING_HANDLERS, PatchHandlers, _chords, _close, _le,
                                               _offset, _Patch, _Rebuild)
from optsupply.model.data import ModelData
from optsupply.model.inventory import ship_capacity
from optsupply.optimizer.highs import SolveOptions
from optsupply.optimizer.highs.persistent import PersistentModel
from optsupply.optimizer.optimize import choose_method, finish_plan
from optsupply.plan.core import Plan
from optsupply.scenario.core import Scenario
from optsupply.scenario.schema import TABLE_BY_NAME

logger = logging.getLogger(__name__)

COLD, LEAN, REBUILD, SEARCH = "cold", "lean", "rebuild", "search"

# settings and columns that do not reach the model
_NO_MODEL_SETTINGS = {"name", "currency", "horizon.start", "horizon.freq",
                      "solver.time_limit", "solver.mip_gap", "solver.threads", "solver.seed"}
_NO_MODEL_COLUMNS = {("demand", "demand_sd"), ("launch_curve", "demand_sd"), ("history", "units"),
                     ("history", "ad_spend")}


@dataclass(frozen=True, eq=False)
class Update:
    """What the last :meth:`WhatIf.solve` did to the solver's model, and why.

    Compares equal to its ``kind`` string: ``session.last_update == "lean"``.

    Attributes
    ----------
    kind : str
        ``"cold"`` (first solve of a freshly built model), ``"lean"`` (the
        HiGHS model was patched in place), ``"rebuild"`` (a new model) or
        ``"search"`` (a scenario too large for one MIP: the anytime search,
        started from the previous plan, the touched products first).
    reason : str
        Why, in a sentence.
    changed : tuple of str
        The changed ``table.column`` and setting keys.
    mip_start : str
        ``"none"``, ``"full"`` (every column of the previous solution),
        ``"partial"`` (the previous values of the variables that still exist)
        or ``"previous plan"`` (a search started from it).
    seconds : float
        Time to diff, prepare and patch (lean) or build (cold, rebuild).
    """

    kind: str
    reason: str
    changed: tuple[str, ...] = ()
    mip_start: str = "none"
    seconds: float = 0.0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.kind == other
        if isinstance(other, Update):
            return (self.kind, self.reason, self.changed, self.mip_start) == (
                other.kind, other.reason, other.changed, other.mip_start)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.kind)

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"


class WhatIf(PatchHandlers):
    """A what-if session: one model and one persistent HiGHS instance, re-solved after changes.

    Parameters
    ----------
    scenario : Scenario or path
        The starting scenario (``session.original``); a path is loaded first.
    **solve_options
        :class:`~optsupply.optimizer.highs.SolveOptions` fields (``time_limit``,
        ``mip_gap``, ``threads``, ``seed``, ``presolve``, ``log``,
        ``highs_options``) for every solve of the session; missing ones come
        from the solved scenario's ``[solver]`` settings, as in
        :func:`optsupply.solve`.

    Attributes
    ----------
    original : Scenario
        The scenario the session started from.
    base : Scenario
        The current scenario: the one the last :meth:`solve` planned (before
        the first solve, ``original``).
    last_update : Update or None
        What the last :meth:`solve` did (``None`` before the first one).
    plan : Plan or None
        The last plan.

    Examples
    --------
    >>> s = WhatIf(ops.Scenario.load("instances/tiny"), threads=1)
    >>> p0 = s.solve()
    >>> p1 = s.solve({"warehouses.storage_capacity": {"W1": "*0.5"}})
    >>> str(s.last_update)
    'lean: patched in place: warehouses.storage_capacity (1 row)'
    """

    def __init__(self, scenario: Scenario | str | os.PathLike, *, method: str = "auto", **solve_options: Any):
        sc = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
        opts = SolveOptions.from_scenario(sc.settings, **solve_options)  # unknown option names fail here
        self._options = dict(solve_options)
        self.original = sc
        self.base = sc
        self.last_update: Update | None = None
        self.plan: Plan | None = None
        self._fresh = True  # the model has not been solved since it was built
        # scenarios too large for one MIP are planned by the anytime search, from the previous plan
        self._search = choose_method(sc, method, opts.time_limit) == "lns"
        if self._search:
            from optsupply.optimizer.anytime import Warm

            self._warm = Warm()  # the last search's LP basis: the next one's polish starts there
            return
        t0 = time.perf_counter()
        self._build(sc, prepare(sc))
        self._build_seconds = time.perf_counter() - t0

    # ------------------------------------------------------------------ public

    def solve(self, changes: Mapping[str, Any] | None = None, *, from_original: bool = False,
              on_plan: Any = None) -> Plan:
        """Plan ``base`` with ``changes`` applied (cumulative), re-using the model where possible.

        Parameters
        ----------
        changes : mapping, optional
            As for :meth:`Scenario.with_changes` (``{"products.price": {"P1": "*0.9"}}``).
            ``None`` or ``{}`` re-solves ``base`` (after a time-limited run, the
            incumbent is the MIP start).
        from_original : bool, default False
            Apply ``changes`` to ``original`` instead of ``base``.
        on_plan : callable, optional
            For sessions planned by the anytime search: called with each better
            checked plan while the search goes on (as :func:`optsupply.solve`).

        Returns
        -------
        Plan
            As :func:`optsupply.solve` returns it for the changed scenario.
            ``kpis["build_seconds"]`` is the update time (see :attr:`last_update`).

        Raises
        ------
        ScenarioError
            The changes are invalid; the session is unchanged and usable.
        ModelError
            The changed scenario cannot be modelled (as in :func:`optsupply.solve`).
        """
        start = self.original if from_original else self.base
        new = start.with_changes(changes) if changes else start
        if self._search:
            return self._search_from_plan(new, on_plan)
        t0 = time.perf_counter()
        new_data = self._data if new is self.base else prepare(new)
        opts = SolveOptions.from_scenario(new.settings, **self._options)
        keys: tuple[str, ...] = ()
        try:
            diff, settings = _diff(self.base, new)
            keys = tuple(sorted({f"{t}.{c}" for t, c in diff} | set(settings)))
            if self._stale:
                raise _Rebuild("the previous update did not complete")
            patch, why, touched = self._lean_patch(new, new_data, diff, settings)
        except _Rebuild as exc:
            old = self._m if self._pm.solution is not None else None  # its variables hold the last solution
            self._build(new, new_data)
            self._fresh = False
            mip_start = self._map_start(old) if old is not None else "none"
            update = Update(REBUILD, str(exc), keys, mip_start, time.perf_counter() - t0)
        else:
            self._stale = True  # a failure while patching leaves a model that must be rebuilt
            self._apply(patch)
            self._stale = False
            self._data = new_data
            if self._fresh:
                kind, mip_start = (LEAN if touched else COLD), "none"
                seconds = self._build_seconds + (time.perf_counter() - t0)
            else:
                kind, mip_start = LEAN, self._full_start(opts)
                seconds = time.perf_counter() - t0
            update = Update(kind, why, keys, mip_start, seconds)
            self._fresh = False
        self.base = new
        self.last_update = update
        self.plan = self._solve(new, opts, update.seconds)
        return self.plan

    def _search_from_plan(self, new: Scenario, on_plan: Any = None) -> Plan:
        """Plan ``new`` by the anytime search (:mod:`optsupply.optimizer.anytime`), started from the previous
        plan (when it still passes the checker) and searching first around the products the change touches."""
        from optsupply.optimizer.anytime import anytime

        t0 = time.perf_counter()
        diff, settings = _diff_rows(self.base, new)
        focus = _touched_products(new, self.plan, diff, settings) if self.plan is not None else ()
        keys = tuple(sorted({f"{t}.{c}" for t, c in diff} | set(settings)))
        opts = SolveOptions.from_scenario(new.settings, **self._options)
        plan = anytime(new, opts, start=self.plan, focus=focus, on_plan=on_plan, warm=self._warm)
        if plan is None:  # no start plan at all: one MIP finds a plan or explains why there is none
            from optsupply.optimizer.optimize import solve

            plan = solve(new, method="mip", **self._options)
        self.last_update = Update(SEARCH, f"searched from the previous plan, {len(focus)} touched product(s) first"
                                  if self.plan is not None else "searched from the baselines", keys,
                                  "previous plan" if self.plan is not None else "none", time.perf_counter() - t0)
        self.base, self.plan = new, plan
        return plan

    # ------------------------------------------------------------------ building

    def _build(self, sc: Scenario, data: ModelData) -> None:
        """Build the Pyomo model of ``sc`` and a persistent HiGHS instance with no automatic updates."""
        m, data = build_model(sc, data)
        self._m, self._pm = m, PersistentModel(m)
        self._built = data
        self._data = data
        self._offset_ok = _close(_offset(data), self._pm.offset)
        if not self._offset_ok:
            logger.warning("objective constant %r differs from the expected %r: lost-sale and demand changes "
                           "will rebuild the model", self._pm.offset, _offset(data))
        self._groups: dict[str, dict[Any, list[tuple[Any, int]]]] = {}
        self._built_sets = {"sell": set(data.sell), "ship": set(data.ship), "orders": set(data.orders)}
        self._built_ship_cap = ship_capacity(data)
        self._built_chords = _chords(data)
        self._stale = False

    # ------------------------------------------------------------------ solving

    def _solve(self, sc: Scenario, opts: SolveOptions, build_seconds: float) -> Plan:
        return finish_plan(self._pm.solve(opts), self._m, self._data, sc, build_seconds, opts)

    def _full_start(self, opts: SolveOptions) -> str:
        """The previous solution as the MIP start: as it is if still feasible, else repaired
        (:meth:`~optsupply.optimizer.highs.persistent.PersistentModel.start_from`)."""
        return self._pm.start_from(self._pm.solution, opts)

    def _map_start(self, old: pyo.ConcreteModel) -> str:
        """The old model's variable values, by component name and index, as a (partial) MIP start."""
        values: dict[int, float] = {}
        for comp in self._m.component_objects(pyo.Var, descend_into=True):
            prev = old.find_component(comp.name)
            if prev is None:
                continue
            for k, v in comp.items():
                col = self._pm.col(v)
                if col is None or k not in prev:
                    continue
                x = prev[k].value
                if x is not None:
                    values[col] = float(x)
        return self._pm.partial_start(values)

    # ------------------------------------------------------------------ lean updates

    def _apply(self, p: _Patch) -> None:
        pm = self._pm
        if p.cost:
            cols = np.fromiter(p.cost.keys(), dtype=np.int32, count=len(p.cost))
            pm.change_costs(cols, pm.cost[cols] + np.fromiter(p.cost.values(), dtype=float, count=len(p.cost)))
        if p.offset is not None:
            pm.change_offset(p.offset)
        for bounds, change in ((p.rows, pm.change_row_bounds), (p.cols, pm.change_col_bounds)):
            if bounds:
                index = np.fromiter(bounds.keys(), dtype=np.int32, count=len(bounds))
                lo = np.array([v[0] for v in bounds.values()], dtype=float)
                up = np.array([v[1] for v in bounds.values()], dtype=float)
                change(index, lo, up)
        for (row, col), value in p.coef.items():
            pm.change_coeff(row, col, value)
        if p.lane_rows:
            self._add_lane_rows(p.lane_rows)

    def _add_lane_rows(self, rows: Mapping[tuple[str, str, int], float]) -> None:
        """Add lane-capacity rows that the build left out as redundant (same form as in transport.py)."""
        m, b = self._m, self._built
        tr = m.transport
        if not hasattr(m, "whatif_lane_capacity"):
            m.whatif_lane_capacity = pyo.Constraint(pyo.Any)
        extra = m.whatif_lane_capacity
        products: dict[tuple[str, str, int], list[str]] = defaultdict(list)
        for p, w, r, t in b.ship:
            if (w, r, t) in rows:
                products[w, r, t].append(p)
        cons = []
        for (w, r, t), cap in sorted(rows.items()):
            flow = sum(b.volume[p] * tr.ship[p, w, r, t] for p in products[w, r, t])
            extra[w, r, t] = flow <= cap * tr.used[w, r, t] if (w, r, t) in tr.used else flow <= cap
            cons.append(extra[w, r, t])
        self._pm.add_rows(cons, [0.0 if k in tr.used else cap for k, cap in sorted(rows.items())])

    def _lean_patch(self, new: Scenario, nd: ModelData, diff: dict[tuple[str, str], list],
                    settings: list[str]) -> tuple[_Patch, str, bool]:
        """The patch that turns the current HiGHS model into the model of ``new``, why, and whether it
        touches the model at all; raises _Rebuild."""
        patch = _Patch()
        what = []
        for (table, column), keys in sorted(diff.items()):
            if (table, column) in _NO_MODEL_COLUMNS:
                continue
            handler = _HANDLERS.get((table, column))
            if handler is None:
                raise _Rebuild(f"{table}.{column} changed: it is not a lean change (the model is rebuilt)")
            handler(self, keys, nd, patch)
            what.append(f"{table}.{column} ({len(keys)} row{'s' if len(keys) != 1 else ''})")
            if patch.lane_rows and (table, column) == ("lanes", "capacity"):
                what[-1] += f", {len(patch.lane_rows)} lane-capacity row(s) added"
        for key in sorted(settings):
            if key in _NO_MODEL_SETTINGS:
                continue
            handler = _SETTING_HANDLERS.get(key)
            if handler is None:
                raise _Rebuild(f"setting {key} changed: it is not a lean change (the model is rebuilt)")
            handler(self, nd, patch)
            what.append(key)
        self._check_derived(nd)
        offset = _offset(nd)
        if not _close(offset, _offset(self._data)):
            if not self._offset_ok:
                raise _Rebuild("the objective constant (lost-sale cost of demand) changes and could not be "
                               "verified against the solver's model")
            patch.offset = offset
        if not what:
            why = "no model data changed" if not diff and not settings else "only solver or label settings changed"
            return patch, why, patch.offset is not None
        return patch, "patched in place: " + ", ".join(what), True

    def _check_derived(self, nd: ModelData) -> None:
        """Bounds derived from the built data must stay valid for ``nd`` (only lower, never higher)."""
        b = self._built
        for name in ("sell", "ship", "orders"):
            extra = set(getattr(nd, name)) - self._built_sets[name]
            if extra:
                raise _Rebuild(f"the change needs new {name} variables (e.g. {min(extra)}), which the model "
                               "does not have")
        if set(nd.stock) != set(b.stock):
            raise _Rebuild("the stock index changed")
        for p, (lo, hi) in nd.window.items():
            blo, bhi = b.window[p]
            if lo <= hi and (lo < blo or hi > bhi):
                raise _Rebuild(f"the launch window of {p} widens beyond the built one ({blo}..{bhi}): new launch "
                               "variables are needed")
        for name, label in (("order_bound", "order bound"), ("ship_bound", "shipment bound"),
                            ("base_max", "featured demand bound")):
            built, now = getattr(b, name), getattr(nd, name)
            for k, v in now.items():
                if not _le(v, built.get(k, 0.0)):
                    raise _Rebuild(f"the {label} of {k} grows from {built.get(k, 0.0):.6g} to {v:.6g}; the model "
                                   "was built with the smaller one")
        for k, v in ship_capacity(nd).items():
            if not _le(v, self._built_ship_cap.get(k, 0.0)):
                raise _Rebuild(f"the outflow bound of {k} (lot-sizing rows) grows; the model was built with a "
                               "smaller one")
        for k, n in _chords(nd).items():
            if n > self._built_chords.get(k, 0):
                raise _Rebuild(f"more advertising spend is reachable for {k}: Hill chords that were left out are "
                               "needed")
        if set(nd.share) != set(b.share) or any(not _close(v, b.share[k]) for k, v in nd.share.items()):
            raise _Rebuild("regional demand shares change (they are coefficients of the advertising uplift)")

    # -- objective coefficients


# ---------------------------------------------------------------------- the diff


def _row_keys(df: Any, key: tuple[str, ...], rows: np.ndarray) -> list:
    """The model's key of each changed row: a string, or a tuple (periods as int)."""
    out = []
    sub = df.iloc[rows][list(key)]
    for values in sub.itertuples(index=False, name=None):
        values = tuple(int(v) if isinstance(v, (int, np.integer, float, np.floating)) and not isinstance(v, bool)
                       else v for v in values)
        out.append(values[0] if len(values) == 1 else values)
    return out


def _changed(a: Any, b: Any) -> np.ndarray:
    """Row positions where two columns differ (NaN equals NaN)."""
    x, y = a.to_numpy(), b.to_numpy()
    if x.dtype.kind in "fiub" and y.dtype.kind in "fiub":
        x, y = x.astype(float), y.astype(float)
        same = (x == y) | (np.isnan(x) & np.isnan(y))
    else:
        same = np.array([u == v or (_isna(u) and _isna(v)) for u, v in zip(x, y, strict=True)], dtype=bool)
    return np.flatnonzero(~same)


def _isna(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(np.isnan(v))
    except (TypeError, ValueError):
        return False


def _diff(old: Scenario, new: Scenario) -> tuple[dict[tuple[str, str], list], list[str]]:
    """Changed (table, column) → row keys, and changed setting keys. Raises _Rebuild if rows differ."""
    out: dict[tuple[str, str], list] = {}
    if old is not new:
        for name, df in new.tables():
            before = getattr(old, name)
            if before is df:
                continue
            spec = TABLE_BY_NAME[name]
            if len(before) != len(df) or list(before.columns) != list(df.columns):
                raise _Rebuild(f"rows of {name} were added or removed")
            for c in spec.key:
                if len(_changed(before[c], df[c])):
                    raise _Rebuild(f"the rows of {name} differ")
            for c in df.columns:
                if c in spec.key:
                    continue
                rows = _changed(before[c], df[c])
                if len(rows):
                    out[name, c] = _row_keys(df, spec.key, rows)
    settings = sorted(k for k in set(old.settings) | set(new.settings)
                      if not _same_setting(old.settings.get(k), new.settings.get(k)))
    return out, settings


def _diff_rows(old: Scenario, new: Scenario) -> tuple[dict[tuple[str, str], list], list[str]]:
    """:func:`_diff`, or every table's rows marked changed when rows were added or removed."""
    try:
        return _diff(old, new)
    except _Rebuild:
        return {}, ["*"]


def _touched_products(new: Scenario, plan: Plan, diff: dict[tuple[str, str], list], settings: list[str]) -> list[str]:
    """The products a change touches: named in a changed row's key; advertised in ``plan`` for a change of
    channels or budgets; stocked or shipped through a changed warehouse or lane."""
    products = set(map(str, new.products["product"]))
    touched: set[str] = set()
    for (table, _column), keys in diff.items():
        for key in keys:
            parts = key if isinstance(key, tuple) else (key,)
            touched |= {str(k) for k in parts if str(k) in products}
            if table in ("warehouses", "lanes") and not plan.shipments.empty:
                places = {str(k) for k in parts}
                sh = plan.shipments
                touched |= set(sh.loc[sh["warehouse"].astype(str).isin(places) | sh["region"].astype(str).isin(places),
                                      "product"].astype(str))
        if table in ("channels",) and not plan.advertising.empty:
            touched |= set(plan.advertising["product"].astype(str))
    if any("budget" in k for k in settings) and not plan.advertising.empty:
        touched |= set(plan.advertising["product"].astype(str))
    return sorted(touched)


def _same_setting(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(a == b)


__all__ = ["Update", "WhatIf"]
