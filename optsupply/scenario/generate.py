"""Realistic synthetic scenarios of a given size, for examples, tests and benchmarks.

>>> from optsupply.scenario.generate import generate
>>> from optsupply.scenario.generate_params import SIZES
>>> sc = generate("small", seed=1)          # a validated Scenario
>>> sc.save("my-small")                     # scenario.toml + CSV tables (a new folder)
>>> SIZES["small"]
{'products': 12, 'warehouses': 2, 'regions': 4, 'periods': 12, 'channels': 2}
>>> hard = generate("small", seed=1, profile="stress")   # the earlier, harder generator

Everything is drawn from one :func:`numpy.random.default_rng` generator in a
fixed order, and every table is built in a fixed row order, so the same size,
seed and profile always give the same scenario (and the same files, byte for
byte).

Profiles
--------
``business`` (the default) draws economics a business would recognise; each
range and its reason is in ``instances/GENERATED.md`` ("Parameters and why").
``stress`` is the generator as it was before, byte for byte: best ad returns
around 1.2, S-shaped curves on 25-80 % of each channel, leftover stock salvaged
at 20-60 % of cost, holding 1-3 % of cost a week, orders costing 0.3-1.5 weeks
of margin, flat lane fixed costs and products that cannot reach every region;
for hard benchmark cases. Both draw the same demand, launch curves and
seasonality for the same size and seed.

How the world is built
----------------------
* **Map.** Regions are points on a 1000 km × 1000 km map with a population
  weight; warehouses sit near populous regions. A region is served by its
  two (sometimes three) nearest warehouses, and every warehouse serves at
  least one region. A lane's ``cost_per_unit`` is proportional to its road
  distance (1.2 × the straight line plus 15 km of local delivery).
* **Products.** Three kinds: *mature* active products (steady demand with a
  small trend), *analogs* (active products launched in the recent past, whose
  history shows a Bass take-off; a cold-start forecaster learns from them)
  and *new* candidate products (no history, demand given by ``launch_curve``).
  About a third of the products are new. New categories hold only new
  products; new brands appear both in new and in existing categories.
  How much a product sells (the level of a mature product, the market
  potential ``m`` of an analog or new one) is its brand's strength times
  ``(price / category price) ** -1.5`` times product-level noise (log-sd
  0.35), so that brand and relative price carry the signal a cold-start
  forecaster can use.
* **Diffusion.** Every category has its own Bass parameters ``p`` and ``q``,
  chosen so that the category's launch curves peak at a different age. The
  demand of a new product at age ``a`` is ``m · (F(a+1) − F(a))`` with the
  Bass cumulative ``F``, split over regions by the product's regional
  demand shares; analogs follow the same curve of their category.
* **Seasonality.** A yearly (52-period) cycle per category with one or two
  harmonics multiplies the demand of every product of the category; the
  part inside the horizon is written to ``seasonality.csv`` for the launch
  curves of new products, and active demand already contains it.
* **Demand.** ``demand.csv`` holds the expected demand of active products
  by region and period (rows that round to zero are left out: zero demand).
* **History.** Units sold in the past are drawn around the same expected
  demand as the forecast in ``demand.csv`` (same level, trend, seasonality and
  gamma-Poisson noise, whose standard deviation is ``demand_sd``), plus the
  uplift of the advertising recorded in ``ad_spend`` under the product's
  response curves.
* **Capacities** of warehouses (storage, throughput) and of some lanes are
  set at 60–120 % of the typical need, so that some bind. Initial stock and
  pipeline receipts use at most half of a warehouse's storage, so every
  generated scenario is feasible.
* **Reach** (business). Every product can reach every region: an active
  product's warehouses of today, a new product's candidate warehouses, reach
  all regions through their lanes (a region still unreached adds its
  nearest warehouse).
* **Fixed costs** follow what they buy: an order costs what makes the
  economic order quantity 2–6 periods of the pair's demand (business; stress:
  0.3–1.5 periods of the pair's gross margin), a lane's fixed cost is 10–30 %
  of its variable cost at its region's typical volume (stress: 10–120 flat),
  opening a pair costs 3–15 % of its margin over the horizon, launching a
  product 5–30 % of its expected margin (80–150 % for about one in seven,
  which rarely pay), onboarding a category or brand a share of its products'
  margin.
* **Stock at the end** is valued at 85–95 % of unit cost, since it stays
  sellable (business; stress: 20–60 %); holding costs 0.4–0.6 % of unit cost
  a period, 20–30 % a year (stress: 1–3 %).
* **Advertising.** Channels have their own response character (search:
  concave, little carryover; social, display, video: with carryover,
  S-shaped for a minority — business 10/15/40 %, stress 60/50/80 %, and
  search 0/25 %). ``half_saturation`` is set from the product's margin,
  ``max_uplift``, shape and carryover so that the best steady-state return
  on spend (:func:`~optsupply.scenario.generate_params.best_ad_return`) is spread around 2.0 (business, log-sd
  0.45: it pays for most curves) or 1.2 (stress, log-sd 0.6: for some).
  Business budgets are sized to what pays (:func:`~optsupply.scenario.generate_params.profitable_spend`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from optsupply.errors import Report, UsageError
from optsupply.scenario.checks import check_settings, check_tables
from optsupply.scenario.coerce import empty_table, finalize_dtypes
from optsupply.scenario.core import Scenario
from optsupply.scenario.generate_market import MarketDraws
from optsupply.scenario.generate_operations import OperationsDraws
from optsupply.scenario.generate_params import DEFAULT_PROFILE, LAYOUT, PROFILES, SIZES
from optsupply.scenario.generate_tables import TableWriter
from optsupply.scenario.schema import TABLES

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- public entry point


def generate(size: str, seed: int, profile: str = DEFAULT_PROFILE) -> Scenario:
    """A realistic, validated synthetic scenario.

    Parameters
    ----------
    size : {"tiny", "xsmall", "small", "medium", "large", "xlarge"}
        Dimensions as in :data:`~optsupply.scenario.generate_params.SIZES` (structure in
        :data:`~optsupply.scenario.generate_params.LAYOUT`).
    seed : int
        Seed of the random generator (a whole number ≥ 0). The same size,
        seed and profile always give the same scenario.
    profile : {"business", "stress"}
        ``business`` (default): economics a business would recognise (see
        ``instances/GENERATED.md``, "Parameters and why"). ``stress``: the
        earlier generator, unchanged byte for byte, whose scenarios are harder
        than a business (advertising that mostly cannot pay, many S-shaped
        curves, stock salvaged far below cost, heavy order costs, demand no lane
        reaches): for hard benchmark cases.

    Returns
    -------
    Scenario
        With no validation errors and no warnings.

    Raises
    ------
    UsageError
        For an unknown size or profile, or a negative seed.
    """
    if size not in SIZES:
        raise UsageError(f"unknown size '{size}': use one of {', '.join(SIZES)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UsageError(f"the seed must be a whole number ≥ 0, not {seed!r}")
    if profile not in PROFILES:
        raise UsageError(f"unknown profile '{profile}': use one of {', '.join(PROFILES)}")
    settings, tables = _Builder(size, int(seed), profile).build()
    scenario = _validated(settings, tables)
    logger.info("generated %s scenario (seed %d, profile %s): %r", size, seed, profile, scenario)
    return scenario


def _validated(settings: dict[str, Any], tables: dict[str, pd.DataFrame]) -> Scenario:
    """Run the loader's checks on generated tables; any problem is a bug here."""
    report = Report()
    typed = check_settings(settings, {}, "generated scenario.toml", report)
    full = {t.name: tables.get(t.name, empty_table(t)) for t in TABLES}
    present = {name for name, df in full.items() if not df.empty}
    check_tables(full, {t.name: t.file for t in TABLES}, present, typed["horizon.periods"], report)
    if report.problems:
        raise RuntimeError("the generator built a scenario that does not validate cleanly:\n" + report.format())
    return Scenario(typed, finalize_dtypes(full), present=present)


# --------------------------------------------------------------------------- the builder


class _Builder(MarketDraws, OperationsDraws, TableWriter):
    """Draws one scenario; every ``_draw_*`` step uses the shared generator in a fixed order."""

    def __init__(self, size: str, seed: int, profile: str = DEFAULT_PROFILE):
        self.size = size
        self.seed = seed
        self.stress = profile == "stress"
        self.rng = np.random.default_rng(seed)
        dims, layout = SIZES[size], LAYOUT[size]
        self.N = dims["products"]
        self.W = dims["warehouses"]
        self.R = dims["regions"]
        self.H = dims["periods"]
        self.C = dims["channels"]
        self.n_cat, self.n_new_cat = layout["categories"], layout["new_categories"]
        self.n_brand, self.n_new_brand = layout["brands"], layout["new_brands"]
        self.Hh = layout["history_periods"]
        self.tables: dict[str, pd.DataFrame] = {}

    def build(self) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
        self._draw_map()
        self._draw_categories()
        self._draw_products()
        self._draw_demand()
        self._draw_supply()
        self._draw_capacities()
        self._draw_stock()
        self._draw_advertising()
        self._draw_history()
        self._draw_launch_terms()
        self._write_tables()
        logger.debug("rows: %s", {k: len(v) for k, v in self.tables.items()})
        return self._settings(), self.tables
