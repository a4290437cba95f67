r"""The analogs of the cold start: products launched inside the history, their Bass fits and pooled shapes.

Every product with history is held as wide arrays (:class:`_History`: units,
ad spend and deseasonalised units by period). A product launched inside the
history is an *analog*: :func:`fit_analogs` fits its own Bass curve, and the
shape of a new product's launch curve (:mod:`optsupply.forecasting.coldstart`)
is pooled over analogs:

**Shape** :math:`(\hat p, \hat q)` — pooled over the *analogs* (products
   launched inside the history, see :func:`fit_analogs`) of the product's
   category by a joint robust fit with shared :math:`p, q` and one :math:`m_i`
   per analog,

   .. math::

       \min_{p, q, m_1..m_k} \sum_i \sum_{a} \rho\!\left(
           \frac{m_i\, g(a; p, q) - y_{i,a}}{\sigma_i}\right)^{\!2},
       \qquad g(a) = F(a+1) - F(a),

   where :math:`y_{i,a}` is analog *i*'s deseasonalised total at age *a*
   (periods with ad spend left out), :math:`\sigma_i` its own residual scale
   (1.4826 × MAD of its own fit's residuals, at least :math:`\sqrt{\bar y_i}`) and
   :math:`\rho` the soft-L1 loss. Fallbacks when the category has no analog:
   the analogs of the same brand, then all analogs ("catalogue") — there the
   geometric mean of the analogs' category shapes — then the published priors
   :math:`p = 0.02, q = 0.4`.


The work done on a scenario's history (wide arrays, joint fits) is remembered
for the last two scenarios, so the leave-one-out backtest, which calls
:func:`optsupply.forecasting.coldstart.forecast_new_product` once per analog, refits only what a hold-out changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from optsupply.curves import _increment, bass_increment
from optsupply.forecasting.bass import BassFit, detect_launch, fit_bass

logger = logging.getLogger(__name__)

__all__ = ["fit_analogs", "PRIOR_P", "PRIOR_Q", "FIT_COLUMNS"]

PRIOR_P, PRIOR_Q = 0.02, 0.4  #: Bass priors when no analog is available
FIT_COLUMNS = ["product", "category", "brand", "launch_period", "n_periods", "m", "p", "q", "se_m", "se_p",
               "se_q", "rse", "converged", "message"]
MIN_CLEAN_PERIODS = 6  #: fewest periods without ad spend for fitting on those alone
PEAK_AGES = 520  #: ages scanned for the peak of a Bass curve
JOINT_RUNS = 2  #: starting points solved from in a joint fit


# --------------------------------------------------------------------------- history in arrays


@dataclass
class _History:
    """Product totals as arrays: one row per product with history, one column per history period."""

    products: np.ndarray  # P ids (any status, sorted)
    category: np.ndarray  # P
    brand: np.ndarray  # P
    log_price: np.ndarray  # P
    periods: np.ndarray  # T (first history period .. last)
    units: np.ndarray  # P × T, NaN where the product had no row
    spend: np.ndarray  # P × T
    z: np.ndarray  # P × T deseasonalised units (NaN where no row)
    regions: np.ndarray  # R ids
    product_region: pd.DataFrame  # units per product (rows) and region (columns)
    cat_log_price: dict  # category -> mean log price of all its products
    joint_fits: dict = field(default_factory=dict)  # memo of _joint_fit by analog set
    levels: np.ndarray | None = None  # memo of _recent_levels


def _season_lookup(season: pd.DataFrame | None) -> tuple[int, dict[str, np.ndarray]]:
    """Season length L and category → index by position 0..L−1 (categories absent: 1.0)."""
    if season is None or season.empty or not {"category", "pos", "index"} <= set(season.columns):
        return 1, {}
    L = int(season["pos"].max()) + 1
    table = {}
    for cat, g in season.groupby("category", sort=True):
        v = np.ones(L)
        v[g["pos"].to_numpy(dtype="int64")] = g["index"].to_numpy(dtype="float64")
        table[cat] = np.where(np.isfinite(v) & (v > 0), v, 1.0)
    return L, table


def _regions(sc) -> np.ndarray:
    parts = [sc.lanes["region"], sc.history["region"], sc.demand["region"], sc.launch_curve["region"]]
    return np.array(sorted(set(pd.concat(parts, ignore_index=True).astype(str))), dtype=object)


def _category_log_price(products: pd.DataFrame) -> dict:
    logp = np.log(np.maximum(products["price"].to_numpy(dtype="float64"), 1e-9))
    return pd.Series(logp).groupby(products["category"].to_numpy()).mean().to_dict()


def _wide(tot: pd.DataFrame, ids: np.ndarray, periods: np.ndarray, column: str, fill: float) -> np.ndarray:
    out = np.full((len(ids), len(periods)), fill)
    if len(ids) and len(periods):
        pi = pd.Index(ids).get_indexer(tot["product"])
        ti = tot["period"].to_numpy(dtype="int64") - periods[0]
        out[pi, ti] = tot[column].to_numpy(dtype="float64")
    return out


def _build_history(sc, season: pd.DataFrame | None) -> _History:
    """Wide arrays of units, spend and deseasonalised units per product and history period."""
    prods = sc.products.set_index("product")
    h = sc.history[sc.history["product"].isin(prods.index)]
    tot = h.groupby(["product", "period"], as_index=False)[["units", "ad_spend"]].sum()
    ids = np.array(sorted(tot["product"].unique()), dtype=object)
    info = prods.reindex(ids)
    periods = np.arange(int(tot["period"].min()), int(tot["period"].max()) + 1) if len(tot) else np.arange(0)
    units = _wide(tot, ids, periods, "units", np.nan)
    L, table = _season_lookup(season)
    cats = info["category"].to_numpy(dtype=object)
    index = np.ones_like(units)
    for k, c in enumerate(cats):
        if c in table:
            index[k] = table[c][np.mod(periods, L)]
    regions = _regions(sc)
    prodreg = h.groupby(["product", "region"])["units"].sum().unstack(fill_value=0.0) \
        .reindex(columns=regions, fill_value=0.0)
    return _History(
        products=ids, category=cats,
        brand=info["brand"].to_numpy(dtype=object),
        log_price=np.log(np.maximum(info["price"].to_numpy(dtype="float64"), 1e-9)),
        periods=periods, units=units, spend=_wide(tot, ids, periods, "ad_spend", 0.0),
        z=units / np.maximum(index, 0.05), regions=regions, product_region=prodreg,
        cat_log_price=_category_log_price(sc.products))


_CACHE: list[tuple[object, object, object, _History]] = []


def _history(sc, season: pd.DataFrame | None) -> _History:
    """:func:`_build_history`, remembered for the last two (scenario, history, season) objects."""
    for s, h, se, data in _CACHE:
        if s is sc and h is sc.history and se is season:
            return data
    data = _build_history(sc, season)
    _CACHE.insert(0, (sc, sc.history, season, data))
    del _CACHE[2:]
    return data


# --------------------------------------------------------------------------- analogs


def _analog_series(hist: _History, k: int, launch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ages, deseasonalised units and spend of product row ``k`` from its launch on (rows present only)."""
    z = hist.z[k]
    keep = (hist.periods >= launch) & np.isfinite(z)
    return (hist.periods[keep] - launch).astype("float64"), z[keep], hist.spend[k][keep]


def _clean(ages: np.ndarray, y: np.ndarray, spend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leave out periods with ad spend when enough periods remain (at least 6 and half of them)."""
    quiet = spend <= 0
    if quiet.sum() >= max(MIN_CLEAN_PERIODS, len(y) // 2):
        return ages[quiet], y[quiet]
    return ages, y


def _fit_row(hist: _History, k: int, launch: int) -> BassFit:
    ages, y, spend = _analog_series(hist, k, launch)
    a, v = _clean(ages, y, spend)
    return fit_bass(v, a, form="increment", loss="soft_l1")


def fit_analogs(sc, season: pd.DataFrame | None) -> pd.DataFrame:
    r"""Bass fits of every product launched inside the history (the analogs).

    For each product with history (active ones; a ``new`` product with history
    serves as an analog too), the launch is found by
    :func:`~optsupply.forecasting.bass.detect_launch` on its total units (sum over
    regions). Its deseasonalised series :math:`y_a = u_{L+a} / I_{c}(L+a)` from
    the launch :math:`L` on is fitted by :func:`~optsupply.forecasting.bass.fit_bass`
    with ``form="increment"`` (:math:`y_a \approx m (F(a+1) - F(a))`) and the
    robust ``soft_l1`` loss; periods with ad spend are left out when at least
    six (and half of the periods) remain, so ad bursts do not lift the curve.

    Parameters
    ----------
    sc : Scenario
    season : DataFrame or None
        Seasonal indices: category, pos (``period mod L``), index. Categories
        not listed get 1.0. Remembered for :func:`optsupply.forecasting.coldstart.cold_start` and
        :func:`optsupply.forecasting.coldstart.forecast_new_product` on the same scenario.

    Returns
    -------
    DataFrame
        Columns product, category, brand, launch_period, n_periods, m, p, q,
        se_m, se_p, se_q, rse, converged, message; sorted by product.
    """
    hist = _history(sc, season)
    first = int(hist.periods[0]) if len(hist.periods) else None
    rows = []
    for k, product in enumerate(hist.products):
        ok = np.isfinite(hist.units[k])
        launch = detect_launch(hist.periods[ok], hist.units[k][ok], history_start=first)
        if launch is None:
            continue
        f = _fit_row(hist, k, launch)
        rows.append((product, hist.category[k], hist.brand[k], launch, int((hist.periods[ok] >= launch).sum()),
                     f.m, f.p, f.q, f.se_m, f.se_p, f.se_q, f.rse, f.converged, f.message))
    logger.debug("fit_analogs: %d launches in history, %d converged", len(rows), sum(r[12] for r in rows))
    out = pd.DataFrame(rows, columns=FIT_COLUMNS)
    out = out.astype({"launch_period": "int64", "n_periods": "int64", "converged": bool,
                      **{c: "float64" for c in FIT_COLUMNS[5:12]}})
    return out.sort_values("product", ignore_index=True)


# --------------------------------------------------------------------------- pooled shape (p, q)


@dataclass(frozen=True)
class _Series:
    """One analog's deseasonalised series from its launch on (ad periods left out) and its residual scale."""

    product: str
    category: str
    brand: str
    ages: np.ndarray
    y: np.ndarray
    scale: float
    pq: tuple[float, float]  # the analog's own fit (NaN if it did not converge)


@dataclass(frozen=True)
class _Shape:
    """Pooled Bass shape and the joint-fit market potential of each analog it used."""

    level: str
    p: float
    q: float
    m: dict

    @property
    def analogs(self) -> tuple[str, ...]:
        return tuple(sorted(self.m))

    @property
    def peak(self) -> float:
        return _peak(self.p, self.q)


def _peak(p: float, q: float) -> float:
    r"""Largest per-period share :math:`\max_a (F(a+1) - F(a))` of a Bass curve."""
    return float(bass_increment(np.arange(PEAK_AGES), p, q).max())


def _series(hist: _History, fits: pd.DataFrame) -> dict[str, _Series]:
    """Usable analog series (at least two periods with a positive total) keyed by product."""
    row = {p: k for k, p in enumerate(hist.products)}
    out = {}
    for f in fits.itertuples(index=False):
        k = row.get(f.product)
        if k is None or pd.isna(f.launch_period):
            continue
        ages, y, spend = _analog_series(hist, k, int(f.launch_period))
        ages, y = _clean(ages, y, spend)
        if (y > 0).sum() < 2:
            continue
        ok = bool(f.converged) and np.isfinite([f.m, f.p, f.q]).all()
        resid = y - f.m * bass_increment(ages, f.p, f.q) if ok else y - np.median(y)
        mad = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
        scale = max(mad, float(np.sqrt(max(y.mean(), 1.0))))
        out[f.product] = _Series(f.product, hist.category[k], hist.brand[k], ages, y, scale,
                                 (float(f.p), float(f.q)) if ok else (np.nan, np.nan))
    return out


def _joint_problem(items: list[_Series]):
    """Residuals and Jacobian of the joint fit: shared p, q, one m per analog, scaled residuals."""
    ages = np.concatenate([s.ages for s in items])
    y = np.concatenate([s.y for s in items])
    w = np.concatenate([np.full(len(s.y), 1.0 / s.scale) for s in items])
    who = np.concatenate([np.full(len(s.y), i) for i, s in enumerate(items)])
    k = len(items)
    h = 1e-30

    def fun(x):
        return (x[2:][who] * bass_increment(ages, x[0], x[1]) - y) * w

    def jac(x):
        g = _increment(ages, x[0], x[1])
        J = np.zeros((len(y), 2 + k))
        J[:, 0] = x[2:][who] * np.imag(_increment(ages, x[0] + 1j * h, x[1])) / h * w
        J[:, 1] = x[2:][who] * np.imag(_increment(ages, x[0], x[1] + 1j * h)) / h * w
        J[np.arange(len(y)), 2 + who] = g * w
        return J

    return fun, jac


def _profiled_m(items: list[_Series], p: float, q: float) -> np.ndarray:
    """Least-squares ``m_i = Σ y g / Σ g²`` of each analog for a given shape (floored at Σy)."""
    out = []
    for s in items:
        g = bass_increment(s.ages, p, q)
        gg = float(g @ g)
        out.append(max(float(s.y @ g) / gg if gg > 0 else 0.0, float(s.y.clip(0).sum()), 1e-6))
    return np.array(out)


def _joint_starts(items: list[_Series], fun, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    """Starting points of the joint fit, best first: the median of the analogs' own (p, q), priors, a grid."""
    own = np.array([s.pq for s in items])
    own = own[np.isfinite(own).all(axis=1)]
    pq = [(PRIOR_P, PRIOR_Q), (0.01, 0.3), (0.05, 0.8), (0.1, 1.5)]
    if len(own):
        pq.insert(0, (float(np.exp(np.median(np.log(own[:, 0])))), float(np.median(own[:, 1]))))
    scored = []
    for i, (p0, q0) in enumerate(pq):
        x0 = np.clip(np.r_[p0, q0, _profiled_m(items, p0, q0)], lo, hi)
        r = fun(x0)
        scored.append((float(r @ r), i, x0))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [x for _, _, x in scored[:JOINT_RUNS]]


def _joint_fit(items: list[_Series]) -> tuple[float, float, np.ndarray] | None:
    r"""Shared (p, q) and per-analog m by robust least squares (soft-L1, scaled residuals)."""
    fun, jac = _joint_problem(items)
    k = len(items)
    lo = np.r_[1e-6, 0.0, np.full(k, 1e-9)]
    hi = np.r_[1.0 - 1e-9, 3.0 - 1e-9, np.full(k, np.inf)]
    best = None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for x0 in _joint_starts(items, fun, lo, hi):
            res = least_squares(fun, x0, jac=jac, bounds=(lo, hi), method="trf", loss="soft_l1", f_scale=1.5,
                                x_scale="jac", max_nfev=200)
            if np.isfinite(res.cost) and np.isfinite(res.x).all() and (best is None or res.cost < best.cost):
                best = res
    if best is None:
        return None
    return float(best.x[0]), float(best.x[1]), best.x[2:]
