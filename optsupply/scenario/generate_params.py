"""The generator's fixed parameters, the formulas it is calibrated with, and the helpers every step uses.

Sizes (:data:`SIZES`, :data:`LAYOUT`), profiles, the shares and constants of
the drawn world, the channels' response character per profile, Bass
parameters for a peak, and the return on ad spend of a Hill response curve
(:func:`best_ad_return`, :func:`profitable_spend`). See
:mod:`optsupply.scenario.generate` for how the world is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optsupply.curves import bass_cdf, bass_increment

#: Every size in one table: its dimensions (products, warehouses, regions, periods, channels) and its
#: structure (categories, new categories, brands, new brands, past periods in ``history.csv``).
_SIZE_TABLE: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "tiny": ((3, 2, 2, 6, 1), (2, 0, 3, 1, 12)),
    "xsmall": ((6, 2, 3, 8, 2), (2, 1, 3, 1, 12)),
    "small": ((12, 2, 4, 12, 2), (3, 1, 5, 1, 52)),
    "medium": ((60, 4, 12, 26, 3), (6, 2, 14, 3, 104)),
    "large": ((250, 8, 25, 52, 4), (12, 3, 40, 8, 104)),
    "xlarge": ((1000, 10, 40, 52, 4), (30, 6, 100, 16, 104)),
}

#: Exact dimensions of each size: products × warehouses × regions × periods × channels.
SIZES: dict[str, dict[str, int]] = {
    size: dict(zip(("products", "warehouses", "regions", "periods", "channels"), dims, strict=True))
    for size, (dims, _) in _SIZE_TABLE.items()
}

#: Further structure per size: categories and brands (how many of them are new),
#: and the number of past periods in ``history.csv``.
LAYOUT: dict[str, dict[str, int]] = {
    size: dict(zip(("categories", "new_categories", "brands", "new_brands", "history_periods"), layout, strict=True))
    for size, (_, layout) in _SIZE_TABLE.items()
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
class Channel:
    """Response character of an advertising channel."""

    name: str
    s_shaped: float  # probability that a response curve on it is S-shaped
    carry_low: float
    carry_high: float
    carry_zero: float  # probability of no carryover at all
    capped: bool  # whether the channel has a finite budget per period


#: Response character shared by both profiles: (channel, carry_low, carry_high, carry_zero, capped).
_CARRYOVER = (
    ("search", 0.05, 0.25, 0.5, False),
    ("social", 0.2, 0.5, 0.0, True),
    ("display", 0.3, 0.6, 0.0, True),
    ("video", 0.4, 0.7, 0.0, True),
)


def _channels(s_shaped: tuple[float, ...]) -> tuple[Channel, ...]:
    """The channels with the given probabilities of an S-shaped curve (in the order of ``_CARRYOVER``)."""
    return tuple(Channel(name, s, low, high, zero, capped)
                 for (name, low, high, zero, capped), s in zip(_CARRYOVER, s_shaped, strict=True))


#: Profile "stress": S-shaped curves on 25-80 % of each channel.
STRESS_CHANNELS: tuple[Channel, ...] = _channels((0.25, 0.6, 0.5, 0.8))
#: Profile "business": search answers intent already there (concave from the first euro, never S-shaped);
#: awareness channels show a threshold now and then, video most often (same carryover as above).
BUSINESS_CHANNELS: tuple[Channel, ...] = _channels((0.0, 0.1, 0.15, 0.4))


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


# --------------------------------------------------------------------------- helpers


def ids(prefix: str, n: int) -> np.ndarray:
    """``prefix`` + zero-padded numbers 1..n, so that text order is numeric order."""
    width = max(2, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def rounded(x: np.ndarray | float, digits: int = 2) -> np.ndarray:
    return np.round(np.asarray(x, dtype="float64"), digits)


def nice(x: float, step: float) -> float:
    """Round up to a multiple of ``step`` (at least one step)."""
    return float(max(step, math.ceil(x / step) * step))


__all__ = ["SIZES", "LAYOUT", "PROFILES", "DEFAULT_PROFILE", "bass_cdf", "bass_curve", "bass_parameters",
           "hill_best_average", "best_ad_return", "profitable_spend"]
