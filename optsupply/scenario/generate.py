"""Realistic synthetic scenarios of a given size, for examples, tests and benchmarks.

>>> from optsupply.scenario.generate import generate, SIZES
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
  on spend (:func:`best_ad_return`) is spread around 2.0 (business, log-sd
  0.45: it pays for most curves) or 1.2 (stress, log-sd 0.6: for some).
  Business budgets are sized to what pays (:func:`profitable_spend`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optsupply.errors import Report, UsageError
from optsupply.curves import bass_cdf, bass_increment
from optsupply.scenario.coerce import empty_table, finalize_dtypes
from optsupply.scenario.core import Scenario
from optsupply.scenario.schema import H_LAST, TABLE_BY_NAME, TABLES
from optsupply.scenario.checks import check_settings, check_tables

logger = logging.getLogger(__name__)

#: Exact dimensions of each size: products × warehouses × regions × periods × channels.
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"products": 3, "warehouses": 2, "regions": 2, "periods": 6, "channels": 1},
    "xsmall": {"products": 6, "warehouses": 2, "regions": 3, "periods": 8, "channels": 2},
    "small": {"products": 12, "warehouses": 2, "regions": 4, "periods": 12, "channels": 2},
    "medium": {"products": 60, "warehouses": 4, "regions": 12, "periods": 26, "channels": 3},
    "large": {"products": 250, "warehouses": 8, "regions": 25, "periods": 52, "channels": 4},
    "xlarge": {"products": 1000, "warehouses": 10, "regions": 40, "periods": 52, "channels": 4},
}

#: Further structure per size: categories and brands (how many of them are new),
#: and the number of past periods in ``history.csv``.
LAYOUT: dict[str, dict[str, int]] = {
    "tiny": {"categories": 2, "new_categories": 0, "brands": 3, "new_brands": 1, "history_periods": 12},
    "xsmall": {"categories": 2, "new_categories": 1, "brands": 3, "new_brands": 1, "history_periods": 12},
    "small": {"categories": 3, "new_categories": 1, "brands": 5, "new_brands": 1, "history_periods": 52},
    "medium": {"categories": 6, "new_categories": 2, "brands": 14, "new_brands": 3, "history_periods": 104},
    "large": {"categories": 12, "new_categories": 3, "brands": 40, "new_brands": 8, "history_periods": 104},
    "xlarge": {"categories": 30, "new_categories": 6, "brands": 100, "new_brands": 16, "history_periods": 104},
}

NEW_SHARE = 0.32  #: share of products that are new candidates
ANALOG_SHARE = 0.25  #: share of products that are recently launched analogs (at least one)
MUST_LAUNCH_SHARE = 0.15  #: share of new products that must launch
START = "2027-01-04"  #: date of period 0 (a Monday)
FREQ = "W-MON"  #: weekly periods
SEASON_LENGTH = 52  #: periods in a seasonal cycle (a year of weeks)
PRICE_ELASTICITY = 1.5  #: demand scales with (price / category price) ** -PRICE_ELASTICITY
DISPERSION = 15.0  #: gamma-Poisson shape k: Var = mu + mu**2 / k
MAP_KM = 1000.0  #: side of the square map
ROAD_FACTOR, LOCAL_KM = 1.2, 15.0  #: road distance = ROAD_FACTOR * straight line + LOCAL_KM
RATE_PER_KM = 0.4  #: transport cost per unit of volume (m³) and km

#: Generator profiles: ``business`` (the default) draws economics a business would recognise;
#: ``stress`` is the earlier generator, kept byte for byte for hard benchmark cases.
PROFILES = ("business", "stress")
DEFAULT_PROFILE = "business"


@dataclass(frozen=True)
class _Channel:
    """Response character of an advertising channel."""

    name: str
    s_shaped: float  # probability that a response curve on it is S-shaped
    carry_low: float
    carry_high: float
    carry_zero: float  # probability of no carryover at all
    capped: bool  # whether the channel has a finite budget per period


_CHANNELS: tuple[_Channel, ...] = (  # profile "stress": S-shaped curves on 25-80 % of each channel
    _Channel("search", 0.25, 0.05, 0.25, 0.5, False),
    _Channel("social", 0.6, 0.2, 0.5, 0.0, True),
    _Channel("display", 0.5, 0.3, 0.6, 0.0, True),
    _Channel("video", 0.8, 0.4, 0.7, 0.0, True),
)

#: Profile "business": search answers intent already there (concave from the first euro, never S-shaped);
#: awareness channels show a threshold now and then, video most often (same carryover as above).
_BUSINESS_CHANNELS: tuple[_Channel, ...] = (
    _Channel("search", 0.0, 0.05, 0.25, 0.5, False),
    _Channel("social", 0.1, 0.2, 0.5, 0.0, True),
    _Channel("display", 0.15, 0.3, 0.6, 0.0, True),
    _Channel("video", 0.4, 0.4, 0.7, 0.0, True),
)


# --------------------------------------------------------------------------- Bass diffusion


# Bass cumulative and per-period increment live in optsupply.curves (imported above);
# ``bass_curve`` is kept as this module's name for the per-period increment ``F(a+1) − F(a)``.
bass_curve = bass_increment


def bass_parameters(peak: float, ratio: float) -> tuple[float, float]:
    """Bass ``p`` and ``q`` with ``q/p = ratio`` whose density peaks at time ``peak``.

    The density peaks at ``t* = ln(q/p) / (p+q)``, so ``p + q = ln(ratio) / peak``.
    """
    if ratio <= 1.0 or peak <= 0.0:
        raise ValueError("a Bass curve with a peak needs q/p > 1 and a positive peak time")
    total = math.log(ratio) / peak
    p = total / (1.0 + ratio)
    return p, total - p


# --------------------------------------------------------------------------- advertising response


def hill_best_average(shape: float) -> float:
    """Largest average uplift per unit of spend of a Hill curve with ``max_uplift = half_saturation = 1``.

    ``max_u h(u)/u`` for ``h(u) = u^s / (1 + u^s)``: 1 (at ``u → 0``) for
    ``s = 1``, ``(s−1)^((s−1)/s) / s`` (at ``u^s = s−1``) for ``s > 1``.
    Concave curves with ``s < 1`` have no finite maximum.
    """
    if shape < 1.0:
        return math.inf
    if shape == 1.0:
        return 1.0
    return (shape - 1.0) ** ((shape - 1.0) / shape) / shape


def best_ad_return(margin: float, max_uplift: float, half_saturation: float, shape: float,
                   carryover: float) -> float:
    """Best steady-state gross margin per unit of ad spend of a response curve.

    Spending ``x`` every period builds effective spend ``x / (1 − carryover)``;
    the return is ``margin · uplift / x`` at the best ``x``. Above 1,
    advertising the product can pay (before stock, holding and transport
    costs); below 1 it never does.
    """
    return margin * max_uplift / half_saturation * hill_best_average(shape) / (1.0 - carryover)


def profitable_spend(margin: np.ndarray, max_uplift: np.ndarray, half_saturation: np.ndarray, shape: np.ndarray,
                     carryover: np.ndarray) -> np.ndarray:
    """Steady spend per period that maximises ``margin · uplift − spend`` (0 where advertising never pays).

    Spending ``x`` every period builds effective spend ``e = x / (1 − carryover)``; the profit per
    period ``margin · max_uplift · h(e / half_saturation) − (1 − carryover) · e`` is maximised over a
    fine grid of ``e / half_saturation`` (0.001 to 100, 4001 points), and is 0 at ``x = 0``.
    """
    u = np.logspace(-3.0, 2.0, 4001)[None, :]
    s = np.asarray(shape, dtype="float64")[:, None]
    k = np.asarray(half_saturation, dtype="float64")[:, None]
    gain = np.asarray(margin, dtype="float64")[:, None] * np.asarray(max_uplift, dtype="float64")[:, None] \
        * u ** s / (1.0 + u ** s)
    cost = (1.0 - np.asarray(carryover, dtype="float64"))[:, None] * k * u
    profit = gain - cost
    best = np.argmax(profit, axis=1)
    rows = np.arange(len(best))
    return np.where(profit[rows, best] > 0.0, cost[rows, best], 0.0)


# --------------------------------------------------------------------------- public entry point


def generate(size: str, seed: int, profile: str = DEFAULT_PROFILE) -> Scenario:
    """A realistic, validated synthetic scenario.

    Parameters
    ----------
    size : {"tiny", "xsmall", "small", "medium", "large", "xlarge"}
        Dimensions as in :data:`SIZES` (structure in :data:`LAYOUT`).
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


# --------------------------------------------------------------------------- helpers


def _ids(prefix: str, n: int) -> np.ndarray:
    """``prefix`` + zero-padded numbers 1..n, so that text order is numeric order."""
    width = max(2, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _round(x: np.ndarray | float, digits: int = 2) -> np.ndarray:
    return np.round(np.asarray(x, dtype="float64"), digits)


def _nice(x: float, step: float) -> float:
    """Round up to a multiple of ``step`` (at least one step)."""
    return float(max(step, math.ceil(x / step) * step))


def _frame(table: str, columns: dict[str, Any], horizon: int) -> pd.DataFrame:
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


# --------------------------------------------------------------------------- the builder


class _Builder:
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
        return self._settings(), self.tables

    # ------------------------------------------------------------------ map

    def _draw_map(self) -> None:
        rng = self.rng
        self.regions = _ids("R", self.R)
        self.warehouses = _ids("W", self.W)
        self.region_xy = rng.uniform(0.0, MAP_KM, size=(self.R, 2))
        self.population = rng.lognormal(0.0, 0.7, size=self.R)
        self.region_share = self.population / self.population.sum()
        # warehouses near the most populous regions (drawn by population weight), jittered
        anchors = rng.choice(self.R, size=self.W, replace=False, p=self.region_share)
        jitter = rng.normal(0.0, 0.05 * MAP_KM, size=(self.W, 2))
        self.wh_xy = np.clip(self.region_xy[anchors] + jitter, 0.0, MAP_KM)
        straight = np.linalg.norm(self.wh_xy[:, None, :] - self.region_xy[None, :, :], axis=2)
        self.distance = ROAD_FACTOR * straight + LOCAL_KM  # W × R road km
        # lanes: each region to its 2 (sometimes 3) nearest warehouses; every warehouse serves someone
        lanes = np.zeros((self.W, self.R), dtype=bool)
        order = np.argsort(self.distance, axis=0, kind="stable")
        for r in range(self.R):
            k = min(self.W, 2 + int(rng.random() < 0.3))
            lanes[order[:k, r], r] = True
        for w in range(self.W):
            if not lanes[w].any():
                lanes[w, int(np.argmin(self.distance[w]))] = True
        self.lanes = lanes
        self.nearest_wh = order[0]  # R: the warehouse that naturally serves each region

    # ------------------------------------------------------------------ categories and brands

    def _draw_categories(self) -> None:
        rng = self.rng
        H = self.H
        self.categories = _ids("C", self.n_cat)
        self.brands = _ids("B", self.n_brand)
        self.cat_is_new = np.arange(self.n_cat) >= self.n_cat - self.n_new_cat
        self.brand_is_new = np.arange(self.n_brand) >= self.n_brand - self.n_new_brand
        # Bass: distinct integer peak ages per category where the horizon allows it
        peak_max = max(2, min(12, H // 3))
        choices = np.arange(1, peak_max + 1)
        reps = math.ceil(self.n_cat / len(choices))
        self.cat_peak = np.concatenate([rng.permutation(choices) for _ in range(reps)])[: self.n_cat]
        ratio = rng.uniform(5.0, 20.0, size=self.n_cat)
        pq = [bass_parameters(float(k) + 0.5, float(r)) for k, r in zip(self.cat_peak, ratio, strict=True)]
        self.cat_p = np.array([x[0] for x in pq])
        self.cat_q = np.array([x[1] for x in pq])
        # category economics
        self.cat_price = rng.lognormal(math.log(30.0), 0.6, size=self.n_cat)
        # m³ per unit, bulkier in dearer categories
        self.cat_volume = 0.008 * (self.cat_price / 30.0) ** 0.7 * rng.lognormal(0.0, 0.5, size=self.n_cat)
        # yearly seasonality: index(t) = 1 + a1 cos(2π(t−φ)/52) + a2 cos(4π(t−φ2)/52)
        a1 = rng.uniform(0.05, 0.35, size=self.n_cat)
        a2 = rng.uniform(0.0, 0.1, size=self.n_cat)
        phi1 = rng.uniform(0.0, SEASON_LENGTH, size=self.n_cat)
        phi2 = rng.uniform(0.0, SEASON_LENGTH, size=self.n_cat)
        self.t_all = np.arange(-self.Hh, H)
        w0 = (_dt.date.fromisoformat(START).timetuple().tm_yday - 1) / 7.0  # week of the year at period 0
        tt = (self.t_all + w0)[None, :]
        self.season = (1.0 + a1[:, None] * np.cos(2 * np.pi * (tt - phi1[:, None]) / SEASON_LENGTH)
                       + a2[:, None] * np.cos(4 * np.pi * (tt - phi2[:, None]) / SEASON_LENGTH))
        self.season = _round(self.season, 3)  # C × (Hh + H), the index as written
        # brand strength multiplies the demand of every product of the brand
        self.brand_strength = rng.lognormal(0.0, 0.5, size=self.n_brand)

    # ------------------------------------------------------------------ products

    def _draw_products(self) -> None:
        rng = self.rng
        N = self.N
        n_new = max(1, int(math.floor(NEW_SHARE * N + 0.5)))
        n_analog = max(1, int(math.floor(ANALOG_SHARE * N + 0.5)))
        n_active = N - n_new
        n_must = int(math.floor(MUST_LAUNCH_SHARE * n_new + 0.5))
        n_mature = n_active - n_analog
        exist_cat = np.flatnonzero(~self.cat_is_new)
        new_cat = np.flatnonzero(self.cat_is_new)
        exist_brand = np.flatnonzero(~self.brand_is_new)
        new_brand = np.flatnonzero(self.brand_is_new)
        if (n_mature < max(1, len(exist_cat) - n_analog) or n_active < len(exist_brand)
                or n_new - n_must < 2 * len(new_cat) or n_new - n_must < len(new_brand)):
            raise ValueError(f"size {self.size}: too few products for its categories and brands")
        # kinds in a fixed layout, shuffled into product ids below
        kind = np.array(["mature"] * n_mature + ["analog"] * n_analog + ["new"] * n_new, dtype=object)
        cat = np.empty(N, dtype=int)
        brand = np.empty(N, dtype=int)
        active = np.arange(n_active)
        # active products: every existing category and brand gets one, analogs cycle over categories
        analog_idx = np.arange(n_mature, n_active)
        cat[analog_idx] = exist_cat[np.arange(n_analog) % len(exist_cat)]
        mature_idx = np.arange(n_mature)
        cat[mature_idx] = rng.choice(exist_cat, size=n_mature)
        covered = set(cat[analog_idx].tolist())
        uncovered = [c for c in exist_cat.tolist() if c not in covered]
        cat[mature_idx[: len(uncovered)]] = uncovered  # categories the analogs did not reach
        brand[active] = rng.choice(exist_brand, size=n_active)
        brand[rng.permutation(active)[: len(exist_brand)]] = exist_brand
        # new products: the must-launch ones are line extensions (existing category and brand);
        # of the others, two per new category and one per new brand first, the rest at random
        must = np.zeros(N, dtype=bool)
        must[N - n_must:] = True
        cat[N - n_must:] = rng.choice(exist_cat, size=n_must)
        brand[N - n_must:] = rng.choice(exist_brand, size=n_must)
        free_idx = np.arange(n_active, N - n_must)
        n_free = len(free_idx)
        cat_pool = np.concatenate([np.repeat(new_cat, 2),
                                   rng.choice(np.arange(self.n_cat), size=n_free - 2 * len(new_cat))])
        cat[free_idx] = rng.permutation(cat_pool)
        brand_weights = np.where(self.brand_is_new, 3.0, 1.0)
        brand_pool = np.concatenate([new_brand, rng.choice(np.arange(self.n_brand), size=n_free - len(new_brand),
                                                           p=brand_weights / brand_weights.sum())])
        brand[free_idx] = rng.permutation(brand_pool)
        # new categories never hold active products, and every existing category keeps one
        assert not self.cat_is_new[cat[active]].any()
        assert set(exist_cat) <= set(cat[active]), "every existing category has an active product"
        # a shuffled order so that ids do not reveal the kind
        perm = rng.permutation(N)
        self.kind = kind[perm]
        self.cat = cat[perm]
        self.brand = brand[perm]
        self.is_new = self.kind == "new"
        self.must = must[perm]
        self.products = _ids("P", N)
        # economics
        self.price = _round(np.floor(self.cat_price[self.cat] * rng.lognormal(0.0, 0.35, size=N)) + 0.99)
        self.margin_share = rng.uniform(0.2, 0.6, size=N)
        self.unit_cost = _round(self.price * (1.0 - self.margin_share))
        if self.stress:  # 1-3 % of unit cost per week (52-156 % a year)
            self.holding = _round(self.unit_cost * rng.uniform(0.01, 0.03, size=N), 3)
        else:  # 0.4-0.6 % per week: the usual 20-30 % of unit cost per year
            self.holding = np.maximum(_round(self.unit_cost * rng.uniform(0.004, 0.006, size=N), 3), 0.001)
        self.volume = np.maximum(_round(self.cat_volume[self.cat] * rng.lognormal(0.0, 0.4, size=N), 4), 0.0005)
        if self.stress:  # leftover stock dumped at 20-60 % of cost
            self.salvage = _round(self.unit_cost * rng.uniform(0.2, 0.6, size=N))
        else:  # leftover stock stays sellable: valued at cost less 5-15 % (carrying and markdown until it sells)
            self.salvage = np.minimum(_round(self.unit_cost * rng.uniform(0.85, 0.95, size=N)),
                                      self.unit_cost - 0.01)
        has_lost = rng.random(N) < 0.35
        self.lost_sale_cost = np.where(has_lost, _round(self.price * rng.uniform(0.05, 0.25, size=N)), 0.0)
        self.featured_lift = _round(rng.uniform(0.1, 0.5, size=N))
        # regional split of each product's demand: population share with product-level noise
        noise = rng.lognormal(0.0, 0.25, size=(N, self.R))
        shares = self.region_share[None, :] * noise
        self.shares = shares / shares.sum(axis=1, keepdims=True)  # N × R

    # ------------------------------------------------------------------ demand

    def _draw_demand(self) -> None:
        """Expected base demand by product and calendar period (history and horizon)."""
        rng = self.rng
        N, T = self.N, len(self.t_all)
        t = self.t_all.astype("float64")
        base = np.zeros((N, T))  # expected product-level demand before advertising
        self.launched_at = np.full(N, np.iinfo(np.int64).min, dtype=np.int64)  # for analogs
        self.bass_m = np.zeros(N)
        # a product sells more when its brand is strong and when it is cheap for its category
        appeal = self.brand_strength[self.brand] * (self.price / self.cat_price[self.cat]) ** (-PRICE_ELASTICITY)
        level = 30.0 * appeal * rng.lognormal(0.0, 0.35, size=N)
        trend = rng.normal(0.0, 0.002, size=N)
        peak_demand = 40.0 * appeal * rng.lognormal(0.0, 0.35, size=N)
        age0 = rng.random(N)  # position of an analog's launch within its allowed range
        season = self.season[self.cat]  # N × T
        for i in range(N):
            c = self.cat[i]
            p, q = self.cat_p[c], self.cat_q[c]
            k = int(self.cat_peak[c])
            m = peak_demand[i] / float(bass_curve(np.array([k]), p, q)[0])
            if self.kind[i] == "mature":
                base[i] = level[i] * (1.0 + trend[i]) ** t * season[i]
            elif self.kind[i] == "analog":
                # history from the launch to past the peak; still selling well at the start of the horizon
                lo = min(max(4, k + 2), self.Hh)
                hi = max(lo, min(self.Hh, lo + max(1, k // 2)))
                launch = -int(lo + math.floor(age0[i] * (hi - lo + 1)))
                self.launched_at[i] = launch
                ages = t - launch
                curve = np.where(ages >= 0, bass_curve(np.maximum(ages, 0.0), p, q), 0.0)
                base[i] = m * curve * season[i]
                self.bass_m[i] = m
            else:
                self.bass_m[i] = m
        self.base = base
        self.hist_cols = slice(0, self.Hh)
        self.hor_cols = slice(self.Hh, self.Hh + self.H)
        # launch curves of new products (without seasonality), product level, ages 0..H-1
        ages = np.arange(self.H)
        self.curve = np.zeros((N, self.H))
        for i in np.flatnonzero(self.is_new):
            c = self.cat[i]
            self.curve[i] = self.bass_m[i] * bass_curve(ages, self.cat_p[c], self.cat_q[c])
        # typical demand per period inside the horizon, product level
        typical = base[:, self.hor_cols].mean(axis=1)
        half = max(1, self.H // 2)
        typical[self.is_new] = self.curve[self.is_new, :half].mean(axis=1)
        self.typical = np.maximum(typical, 0.05)

    # ------------------------------------------------------------------ supply

    def _draw_supply(self) -> None:
        rng = self.rng
        rows = []  # (product, warehouse, established)
        for i in range(self.N):
            # the home warehouse is drawn by the product's regional demand it serves naturally
            serve = np.bincount(self.nearest_wh, weights=self.shares[i], minlength=self.W) + 0.05
            k = 1 + int(rng.binomial(self.W - 1, 0.35)) if self.W > 1 else 1
            whs = rng.choice(self.W, size=k, replace=False, p=serve / serve.sum())
            n_established = 0 if self.is_new[i] else (1 + int(k > 1 and rng.random() < 0.5))
            if self.stress:
                for j, w in enumerate(whs):
                    rows.append((i, int(w), j < n_established))
                continue
            # every region with demand is reached: today's supply of an active product serves all of them,
            # a new product's candidate warehouses could; missing regions get their nearest warehouse
            pairs = {int(w): j < n_established for j, w in enumerate(whs)}
            reach = [w for w, est in pairs.items() if est or self.is_new[i]]
            covered = self.lanes[reach].any(axis=0)
            for r in np.argsort(-self.shares[i], kind="stable"):
                if not covered[r]:
                    w = int(self.nearest_wh[r])
                    pairs[w] = not self.is_new[i]
                    covered |= self.lanes[w]
            rows += [(i, w, est) for w, est in pairs.items()]
        rows.sort(key=lambda r: (r[0], r[1]))
        n = len(rows)
        self.sup_p = np.array([r[0] for r in rows])
        self.sup_w = np.array([r[1] for r in rows])
        self.sup_established = np.array([r[2] for r in rows], dtype=bool)
        per_wh = np.bincount(self.sup_p, minlength=self.N)[self.sup_p]
        weekly = self.typical[self.sup_p] / per_wh  # typical units per period through this pair
        self.sup_lead = rng.integers(0, 5, size=n)
        # fixed costs in proportion to what the pair earns: opening a new pair costs 3-15 % of its gross margin
        # over the horizon; an order costs (stress) 0.3-1.5 periods of the pair's gross margin, or (business)
        # what makes the economic order quantity 2-6 periods of the pair's demand: EOQ = sqrt(2 D S / h)
        # = c·D  <=>  S = h c² D / 2
        unit_margin = (self.price - self.unit_cost)[self.sup_p]
        if self.stress:
            self.sup_order_cost = np.clip(_round(weekly * unit_margin * rng.uniform(0.3, 1.5, size=n), 0),
                                          10.0, 500.0)
        else:
            cycle = rng.uniform(2.0, 6.0, size=n)
            self.sup_order_cost = np.maximum(_round(self.holding[self.sup_p] * cycle ** 2 * weekly / 2.0, 0), 1.0)
        has_min = rng.random(n) < 0.6
        min_order = np.where(has_min, np.ceil(weekly * rng.uniform(0.5, 2.0, size=n) / 10.0) * 10.0, 0.0)
        has_max = rng.random(n) < 0.25
        max_order = np.where(has_max, np.maximum(2.0 * min_order,
                                                 np.ceil(weekly * rng.uniform(3.0, 8.0, size=n) / 10.0) * 10.0),
                             np.inf)
        self.sup_min = min_order
        self.sup_max = np.maximum(max_order, 10.0)
        horizon_margin = weekly * unit_margin * self.H
        activation = np.maximum(_round(horizon_margin * rng.uniform(0.03, 0.15, size=n), 0), 20.0)
        self.sup_activation = np.where(self.sup_established, 0.0, activation)

    # ------------------------------------------------------------------ capacities

    def _draw_capacities(self) -> None:
        rng = self.rng
        # typical volume demanded per region and period
        region_volume = (self.typical * self.volume) @ self.shares  # R
        self.region_volume = region_volume
        need = np.bincount(self.nearest_wh, weights=region_volume, minlength=self.W)
        need = np.where(need > 0, need, 0.5 * need[need > 0].mean())
        mean_lead = float(self.sup_lead.mean())
        cover = 2.0 + mean_lead  # periods of stock on hand, typically
        self.throughput = np.maximum(_round(need * rng.uniform(0.7, 1.2, size=self.W)), 0.01)
        self.storage = np.maximum(_round(need * cover * rng.uniform(0.6, 1.2, size=self.W)), 0.01)
        lw, lr = np.nonzero(self.lanes)  # sorted by warehouse, then region
        n = len(lw)
        self.lane_w, self.lane_r = lw, lr
        self.lane_cost = _round(RATE_PER_KM * self.distance[lw, lr], 2)
        has_fixed = rng.random(n) < 0.5
        if self.stress:
            self.lane_fixed = np.where(has_fixed, _round(rng.uniform(10.0, 120.0, size=n), 0), 0.0)
        else:  # 10-30 % of what the lane's variable cost would be for its region's typical volume
            lane_var = self.lane_cost * region_volume[lr]
            self.lane_fixed = np.where(has_fixed, _round(lane_var * rng.uniform(0.1, 0.3, size=n), 2), 0.0)
        has_cap = rng.random(n) < 0.25
        self.lane_capacity = np.where(has_cap, np.maximum(_round(region_volume[lr] * rng.uniform(0.6, 1.2, size=n)),
                                                          0.01), np.inf)

    # ------------------------------------------------------------------ initial stock, pipeline

    def _draw_stock(self) -> None:
        rng = self.rng
        est = np.flatnonzero(self.sup_established)
        per_product = np.bincount(self.sup_p[est], minlength=self.N)
        p, w = self.sup_p[est], self.sup_w[est]
        stock = np.floor(self.typical[p] / per_product[p] * rng.uniform(1.0, 3.0, size=len(est)))
        has_pipe = rng.random(len(est)) < 0.3
        pipe_period = rng.integers(0, min(4, self.H), size=len(est))
        pipe = np.where(has_pipe, np.floor(self.typical[p] / per_product[p] * rng.uniform(1.0, 3.0, size=len(est))),
                        0.0)
        # at most half of a warehouse's storage goes to stock already owned or on its way
        used = np.bincount(w, weights=(stock + pipe) * self.volume[p], minlength=self.W)
        scale = np.minimum(1.0, 0.5 * self.storage / np.maximum(used, 1e-12))
        stock = np.floor(stock * scale[w])
        pipe = np.floor(pipe * scale[w])
        keep = stock > 0
        self.init_p, self.init_w, self.init_units = p[keep], w[keep], stock[keep]
        keep = pipe > 0
        self.pipe_p, self.pipe_w, self.pipe_t, self.pipe_units = p[keep], w[keep], pipe_period[keep], pipe[keep]
        self.owned_value = float((self.unit_cost[self.init_p] * self.init_units).sum()
                                 + (self.unit_cost[self.pipe_p] * self.pipe_units).sum())

    # ------------------------------------------------------------------ advertising

    def _draw_advertising(self) -> None:
        rng = self.rng
        channels = (_CHANNELS if self.stress else _BUSINESS_CHANNELS)[: self.C]
        self.channels = np.array([c.name for c in channels], dtype=object)
        rows = []  # (product, channel)
        # products worth advertising: not at the end of their life (a unit a period or more at their peak)
        reference = np.where(self.is_new, self.curve.max(axis=1), self.typical)
        advertises = (rng.random(self.N) < 0.75) & (reference >= 1.0)
        for i in range(self.N):
            picks = rng.random(self.C) < 0.6
            if advertises[i]:
                if not picks.any():
                    picks[int(rng.integers(self.C))] = True
                rows += [(i, c) for c in np.flatnonzero(picks)]
        if len(rows) < 2:  # enough rows to show both response characters
            rows = sorted(set(rows) | {(i, 0) for i in range(min(2, self.N))})
        n = len(rows)
        rp = np.array([r[0] for r in rows])
        rc = np.array([r[1] for r in rows])
        s_prob = np.array([channels[c].s_shaped for c in rc])
        s_shaped = rng.random(n) < s_prob
        shape = np.where(s_shaped, _round(rng.uniform(1.5, 3.0, size=n)), 1.0)  # concave: the classic Hill
        lo = np.array([channels[c].carry_low for c in rc])
        hi = np.array([channels[c].carry_high for c in rc])
        zero = rng.random(n) < np.array([channels[c].carry_zero for c in rc])
        carry = np.where(zero, 0.0, _round(lo + (hi - lo) * rng.random(n)))
        # guarantee both characters somewhere (matters only for tiny instances)
        if not (shape > 1).any():
            shape[n - 1] = 2.0
        if not (carry > 0).any():
            carry[0] = 0.3
        max_uplift = np.maximum(_round(reference[rp] * rng.uniform(0.15, 0.6, size=n)), 0.1)
        # best return on spend (see best_ad_return): stress around 1.2 (ads pay for about 60 % of the curves),
        # business around 2.0 with log-sd 0.45 (they pay for about 94 %); both keep a curve that never pays
        rho = rng.lognormal(math.log(1.2), 0.6, size=n) if self.stress else rng.lognormal(math.log(2.0), 0.45, size=n)
        if n >= 2 and (rho > 1).all():  # keep both cases in small instances too
            rho[int(np.argmin(rho))] = 0.7
        elif n >= 2 and (rho < 1).all():
            rho[int(np.argmax(rho))] = 1.6
        margin = self.price[rp] - self.unit_cost[rp]
        factor = np.array([hill_best_average(s) for s in shape]) / (1.0 - carry)
        half_sat = np.maximum(_round(margin * max_uplift * factor / rho), 1.0)
        self.resp_p, self.resp_c = rp, rc
        self.resp_max, self.resp_k, self.resp_shape, self.resp_carry = max_uplift, half_sat, shape, carry
        budget = np.full(self.C, np.inf)
        if self.stress:
            # spend caps: search uncapped, other channels about 60 % of their half-saturation spend
            for c, ch in enumerate(channels):
                if ch.capped:
                    total_k = float(half_sat[rc == c].sum())
                    budget[c] = _nice(0.6 * total_k, 10.0) if total_k > 0 else 100.0
            self.channel_budget = budget
            self.total_budget = _nice(0.3 * float(half_sat.sum()) * self.H, 100.0)
            return
        # budgets sized to what pays: the steady spend that maximises each curve's margin minus spend;
        # capped channels allow 1.5 times their curves' sum per period (room to pulse), the total budget is
        # set in _draw_launch_terms, once the periods each product can sell are known
        self.resp_pays = profitable_spend(margin, max_uplift, half_sat, shape, carry)
        for c, ch in enumerate(channels):
            if ch.capped:
                budget[c] = _nice(1.5 * float(self.resp_pays[rc == c].sum()), 10.0)
        self.channel_budget = budget

    def _uplift(self, row: int, spend: np.ndarray) -> np.ndarray:
        """Product-level uplift per period of one response row for a spend series (with adstock)."""
        eff = np.zeros_like(spend)
        carry = self.resp_carry[row]
        prev = 0.0
        for t, x in enumerate(spend):
            prev = x + carry * prev
            eff[t] = prev
        s, k = self.resp_shape[row], self.resp_k[row]
        es = np.power(eff, s)
        return self.resp_max[row] * es / (es + k ** s)

    # ------------------------------------------------------------------ history

    def _draw_history(self) -> None:
        rng = self.rng
        Hh = self.Hh
        # past advertising: bursts of spend around the half-saturation level
        spend = np.zeros((self.N, Hh))
        uplift = np.zeros((self.N, Hh))
        for row in range(len(self.resp_p)):
            i = self.resp_p[row]
            if self.is_new[i]:
                continue
            on = rng.random(Hh) < 0.25
            x = np.where(on, _round(self.resp_k[row] * rng.uniform(0.3, 1.5, size=Hh)), 0.0)
            if self.kind[i] == "analog":
                x[self.t_all[:Hh] < self.launched_at[i]] = 0.0
            spend[i] += x
            uplift[i] += self._uplift(row, x)
        mu = (self.base[:, self.hist_cols] + uplift)[:, None, :] * self.shares[:, :, None]  # N × R × Hh
        gamma = rng.gamma(DISPERSION, 1.0 / DISPERSION, size=mu.shape)
        units = rng.poisson(mu * gamma).astype("float64")
        ad = _round(spend[:, None, :] * self.shares[:, :, None])
        period = np.broadcast_to(self.t_all[:Hh][None, None, :], mu.shape)
        has_row = ~self.is_new[:, None, None] & (period >= self.launched_at[:, None, None])
        has_row = np.broadcast_to(has_row, mu.shape)
        pi, ri, ti = np.nonzero(has_row)  # C order: product, region, period
        self.history = {
            "product": self.products[pi], "region": self.regions[ri], "period": self.t_all[:Hh][ti],
            "units": units[pi, ri, ti], "ad_spend": ad[pi, ri, ti],
        }

    # ------------------------------------------------------------------ launch terms

    def _draw_launch_terms(self) -> None:
        rng = self.rng
        H, N = self.H, self.N
        new = np.flatnonzero(self.is_new)
        earliest = np.zeros(N, dtype=np.int64)
        latest = np.full(N, H - 1, dtype=np.int64)
        lo = rng.integers(1, max(2, H // 3) + 1, size=N)
        width = rng.integers(max(1, H // 4), max(2, (3 * H) // 4) + 1, size=N)
        earliest[new] = lo[new]
        latest[new] = np.minimum(H - 2, lo[new] + width[new])
        latest = np.maximum(latest, earliest)
        # must-launch line extensions get a wide window early in the horizon
        earliest[self.must] = 1
        latest[self.must] = max(1, min(H - 1, H // 2))
        self.earliest, self.latest = earliest, latest
        # expected gross margin inside the horizon when launched at the earliest period
        margin = self.price - self.unit_cost
        remaining = np.array([self.curve[i, : H - earliest[i]].sum() for i in range(N)])
        self.expected_margin = margin * remaining
        factor = np.where(rng.random(N) < 0.15, rng.uniform(0.8, 1.5, size=N), rng.uniform(0.05, 0.3, size=N))
        self.launch_cost = np.where(self.is_new, _round(self.expected_margin * factor, 0), 0.0)
        if not self.stress:  # the spend that pays on every curve in every period its product can sell
            selling = (H - earliest)[self.resp_p]
            self.total_budget = _nice(float((self.resp_pays * selling).sum()), 100.0)
        # onboarding of new categories and brands
        self.cat_onboarding = np.zeros(self.n_cat)
        self.cat_min = np.zeros(self.n_cat, dtype=np.int64)
        for c in np.flatnonzero(self.cat_is_new):
            members = np.flatnonzero(self.cat == c)
            self.cat_onboarding[c] = _nice(self.expected_margin[members].sum() * rng.uniform(0.05, 0.25), 100.0)
            self.cat_min[c] = max(1, int(math.floor(0.5 * len(members) + 0.5)))
        self.brand_onboarding = np.zeros(self.n_brand)
        self.brand_min = np.zeros(self.n_brand, dtype=np.int64)
        for b in np.flatnonzero(self.brand_is_new):
            members = np.flatnonzero(self.brand == b)
            self.brand_onboarding[b] = _nice(self.expected_margin[members].sum() * rng.uniform(0.03, 0.15), 100.0)
            self.brand_min[b] = int(rng.integers(1, len(members) + 1)) if len(members) > 1 else 1
        # featured slots: a few per period
        base_slots = max(1, int(math.floor(0.04 * N + 0.5)))
        self.slots = base_slots + rng.integers(0, 2, size=H)

    # ------------------------------------------------------------------ tables

    def _write_tables(self) -> None:
        H, N = self.H, self.N
        f = self.tables
        f["products"] = _frame("products", {
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
            f["categories"] = _frame("categories", {
                "category": self.categories[new_cat],
                "onboarding_cost": self.cat_onboarding[new_cat],
                "min_products": self.cat_min[new_cat],
            }, H)
        new_brand = np.flatnonzero(self.brand_is_new)
        f["brands"] = _frame("brands", {
            "brand": self.brands[new_brand],
            "onboarding_cost": self.brand_onboarding[new_brand],
            "min_products": self.brand_min[new_brand],
        }, H)
        # demand of active products: product × region × period with gamma-Poisson sd; rows whose
        # demand rounds to zero (the tails of recent launches) are left out, as they mean zero demand
        active = np.flatnonzero(~self.is_new)
        mu = self.base[active][:, None, self.hor_cols] * self.shares[active][:, :, None]  # A × R × H
        demand = _round(mu)
        keep = demand > 0
        keep[~keep.any(axis=(1, 2)), :, 0] = True  # a product with no demand left still has its rows
        ai, ri, ti = np.nonzero(keep)  # C order: product, region, period
        f["demand"] = _frame("demand", {
            "product": self.products[active][ai], "region": self.regions[ri], "period": ti,
            "demand": demand[ai, ri, ti],
            "demand_sd": _round(np.sqrt(mu + mu ** 2 / DISPERSION))[ai, ri, ti],
        }, H)
        # launch curves of new products: product × region × age, zero ages left out
        new = np.flatnonzero(self.is_new)
        lc = self.curve[new][:, None, :] * self.shares[new][:, :, None]  # Nn × R × H
        lc_demand = _round(lc)
        lc_sd = _round(np.sqrt(lc + (0.4 * lc) ** 2))
        pi, ri, ai = np.nonzero(lc_demand > 0)
        f["launch_curve"] = _frame("launch_curve", {
            "product": self.products[new][pi], "region": self.regions[ri], "age": ai,
            "demand": lc_demand[pi, ri, ai], "demand_sd": lc_sd[pi, ri, ai],
        }, H)
        f["seasonality"] = _frame("seasonality", {
            "category": np.repeat(self.categories, H),
            "period": np.tile(np.arange(H), self.n_cat),
            "index": self.season[:, self.hor_cols].ravel(),
        }, H)
        f["warehouses"] = _frame("warehouses", {
            "warehouse": self.warehouses, "storage_capacity": self.storage, "throughput_capacity": self.throughput,
        }, H)
        f["supply"] = _frame("supply", {
            "product": self.products[self.sup_p], "warehouse": self.warehouses[self.sup_w],
            "lead_time": self.sup_lead, "order_cost": self.sup_order_cost, "min_order": self.sup_min,
            "max_order": self.sup_max, "activation_cost": self.sup_activation,
        }, H)
        if len(self.init_p):
            f["initial_stock"] = _frame("initial_stock", {
                "product": self.products[self.init_p], "warehouse": self.warehouses[self.init_w],
                "units": self.init_units,
            }, H)
        if len(self.pipe_p):
            order = np.lexsort((self.pipe_t, self.pipe_w, self.pipe_p))
            f["pipeline"] = _frame("pipeline", {
                "product": self.products[self.pipe_p[order]], "warehouse": self.warehouses[self.pipe_w[order]],
                "period": self.pipe_t[order], "units": self.pipe_units[order],
            }, H)
        f["lanes"] = _frame("lanes", {
            "warehouse": self.warehouses[self.lane_w], "region": self.regions[self.lane_r],
            "cost_per_unit": self.lane_cost, "fixed_cost": self.lane_fixed, "capacity": self.lane_capacity,
        }, H)
        f["channels"] = _frame("channels", {"channel": self.channels, "budget": self.channel_budget}, H)
        f["response"] = _frame("response", {
            "product": self.products[self.resp_p], "channel": self.channels[self.resp_c],
            "max_uplift": self.resp_max, "half_saturation": self.resp_k,
            "shape": self.resp_shape, "carryover": self.resp_carry,
        }, H)
        f["slots"] = _frame("slots", {"period": np.arange(H), "slots": self.slots}, H)
        f["history"] = _frame("history", self.history, H)
        logger.debug("rows: %s", {k: len(v) for k, v in f.items()})
        assert N == len(f["products"])

    def _settings(self) -> dict[str, Any]:
        n_new = int(self.is_new.sum())
        typical_value = float((self.unit_cost * self.typical).sum())
        inventory_cap = _nice(max(6.0 * typical_value, 2.0 * self.owned_value), 1000.0)
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


__all__ = ["SIZES", "LAYOUT", "PROFILES", "DEFAULT_PROFILE", "generate", "bass_cdf", "bass_curve", "bass_parameters",
           "hill_best_average", "best_ad_return", "profitable_spend"]
