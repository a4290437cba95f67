r"""Seasonal indices per category, and the conventions the forecast of active products shares.

:func:`seasonal_indices` works on the product totals (units summed over
regions) of ``history.csv``: it pools a multiplicative seasonal index per
category and season position over the category's mature products (a few
seasons of history are enough because every product of the category
contributes), and smooths it with the few Fourier harmonics the data support.
:func:`horizon_seasonality` lays the indices over the planning horizon. The
demand forecast of active products that divides by them is
:func:`optsupply.forecasting.active.forecast_active`.

Conventions shared by both
--------------------------
* Periods are calendar integers: history ``< 0`` (``-1`` is the period before
  the horizon), horizon ``0 … H−1``. The season position of period ``t`` is
  ``pos(t) = t mod L`` in ``0 … L−1`` (Python's modulo, also for ``t < 0``),
  so the index of position ``pos`` applies to the same calendar weeks in the
  history and in the horizon.
* ``history.csv`` has rows only where a product sold. A product's series runs
  from its first row to the period before the forecast origin; a period (or a
  region) without a row inside that span is read as **zero sales** — the usual
  sparse sales export — and is not interpolated.
* Nothing here raises on odd data: products with too little history get a
  documented fallback and a note (see
  :func:`optsupply.forecasting.active.forecast_active`).

The seasonal index
------------------
Method (per category, pooled over its *mature* products: products already
selling in the first period of the history, with at least a season ``L`` of
history and some sales). Let ``y[p,t]`` be product ``p``'s total units in
period ``t`` and ``s(pos)`` the index (start ``s ≡ 1``). Only cells
without ad spend enter (ad bursts at random weeks would otherwise leak
into the index: on generated scenarios they doubled its error). Repeat
three times (backfitting):

1. **Level** of each product: ordinary least squares of the deseasonalised
   series on time, :math:`z_{pt} = y_{pt}/s(\mathrm{pos}_t) \approx a_p + b_p t`,
   so ``ℓ[p,t] = max(a_p + b_p t, 0.05·mean z_p)``. A straight line removes
   each product's own level and slow trend, so a growing product does not
   tilt the index; it uses every period (a centred moving average of
   length ``L`` would throw away half a season at each end, half of a
   two-season history).
2. **Raw index** per position, a ratio of sums over products and years
   (the Poisson maximum-likelihood estimate given the levels; it weights
   products by volume and is not upset by zero sales):

   .. math:: r(\mathrm{pos}) = \frac{\sum_{p}\sum_{t:\,\mathrm{pos}_t=\mathrm{pos}} y_{pt}}
                                    {\sum_{p}\sum_{t:\,\mathrm{pos}_t=\mathrm{pos}} \ell_{pt}},
             \qquad W(\mathrm{pos}) = \sum \ell_{pt}.

   The noise variance comes from the scatter of the single cells around
   their position's ratio (pure error, independent of any smoothing
   model), as a sandwich estimate of each ratio's variance pooled over
   positions, :math:`\mathrm{Var}\,r(\mathrm{pos}) \approx \hat\sigma^2 / W(\mathrm{pos})`:

   .. math:: \hat\sigma^2 = \operatorname{mean}_{\mathrm{pos}}\Big[\frac{m}{m-1}
             \frac{\sum_{t:\,\mathrm{pos}} (y_{pt} - r\,\ell_{pt})^2}{W(\mathrm{pos})}\Big]

   (``m`` cells at the position). Unlike the Poisson formula it holds for
   over-dispersed sales too, so the next step does not overfit.
3. **Fourier smoothing.** Weighted least squares of ``r`` on
   ``1, cos(2πk·pos/L), sin(2πk·pos/L)``, k = 1 … K, with the number of
   columns chosen by the Schwarz criterion with the known (pure-error)
   variance, :math:`\mathrm{BIC} = \mathrm{RSS}_W/\hat\sigma^2 + p \ln n_{pos}`,
   over the nested models ``p = 1, 3, 5, …, L`` (``p = 1`` is "no
   seasonality", ``p = L`` the raw index). Yearly retail seasons are smooth,
   so a few harmonics usually win and the noise of single weeks is not
   copied into the forecast; a sharp peak is kept if the data demand it.
   (Mallows' :math:`C_p`, penalty 2 instead of :math:`\ln n_{pos}`,
   overfitted: on pure noise it sometimes kept 17 columns; on generated
   scenarios BIC cut the index error by a quarter.)
4. **Shrinkage towards 1** when the data are thin: the seasonal deviations
   are multiplied by the positive-part James–Stein factor
   :math:`w = \max(0, 1 - (p-1)/\chi^2)`, with
   :math:`\chi^2 = \sum W (\hat s - \hat\beta_0)^2 / \hat\sigma^2` the
   signal-to-noise statistic of the fitted deviations (≈ 1 for a clear
   season, → 0 when it is indistinguishable from noise).
5. ``s = max(1 + w(ŝ/mean ŝ − 1), 0.05)``, renormalised to mean 1 over the
   ``L`` positions.

Categories in ``products.csv`` without mature history (only new products,
only recent launches, history shorter than ``L``) get ``index = 1.0``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["season_length", "seasonal_indices", "horizon_seasonality"]

#: smallest seasonal index used when dividing by an index (a position with almost no sales)
INDEX_FLOOR = 0.05
#: backfitting rounds of seasonal index ↔ product level in :func:`seasonal_indices`
INDEX_ROUNDS = 3


# ---------------------------------------------------------------------- season length


_FREQ_SEASON = {
    "W": 52,
    "M": 12, "MS": 12, "ME": 12, "BM": 12, "BMS": 12, "BME": 12,
    "SM": 24, "SMS": 24, "SME": 24,
    "Q": 4, "QS": 4, "QE": 4, "BQ": 4, "BQS": 4, "BQE": 4,
    "A": 1, "AS": 1, "Y": 1, "YS": 1, "YE": 1, "BA": 1, "BY": 1,
    "D": 7, "B": 5, "H": 24,
}


def season_length(settings: Mapping[str, Any]) -> int:
    """Periods per seasonal cycle implied by ``horizon.freq``.

    The cycle is a year for weekly, monthly and quarterly periods and a week
    for daily ones:

    ========================  =====
    ``horizon.freq``          L
    ========================  =====
    ``W``, ``W-MON``, …       52
    ``M``, ``MS``, ``ME``     12
    ``SM``, ``SMS``           24
    ``Q``, ``QS``, ``QE-DEC``  4
    ``D``                     7
    ``B`` (business days)     5
    ``A``, ``Y`` (yearly)     1 (no seasonality)
    ``H`` (hourly)            24
    absent / unknown          52
    ========================  =====

    A multiple such as ``2W`` divides the cycle: ``L = round(52 / 2) = 26``.

    Parameters
    ----------
    settings : mapping
        Scenario settings (``sc.settings``).

    Returns
    -------
    int
        ``L >= 1``.
    """
    freq = settings.get("horizon.freq") if settings else None
    if not freq or not isinstance(freq, str):
        return 52
    text = freq.strip()
    digits = ""
    while text and text[0].isdigit():
        digits, text = digits + text[0], text[1:]
    mult = max(int(digits), 1) if digits else 1
    base = _FREQ_SEASON.get(text.split("-")[0].upper())
    if base is None:
        logger.debug("unknown horizon.freq %r: season length 52", freq)
        return 52
    return max(1, int(round(base / mult)))


# ---------------------------------------------------------------------- panel of product totals


@dataclass
class _Panel:
    """Product totals on a dense product × period grid (zeros where no row)."""

    products: np.ndarray  # P product ids
    periods: np.ndarray  # T calendar periods, consecutive, ending at origin − 1
    units: np.ndarray  # P × T totals over regions (0 outside a product's span)
    spend: np.ndarray  # P × T ad spend totals
    inside: np.ndarray  # P × T bool: first row <= t <= origin − 1
    first: np.ndarray  # P first period with a row
    n_rows: np.ndarray  # P distinct periods with a row


def _panel(history: pd.DataFrame, origin: int, products: Iterable[str] | None = None) -> _Panel:
    """Dense product × period totals of the history before ``origin``."""
    h = history[history["period"] < origin]
    if products is not None:
        h = h[h["product"].isin(list(products))]
    if h.empty:
        e = np.zeros((0, 0))
        return _Panel(np.array([], dtype=object), np.array([], dtype="int64"), e, e, e.astype(bool),
                      np.array([], dtype="int64"), np.array([], dtype="int64"))
    prods, pi = np.unique(h["product"].to_numpy(dtype=object), return_inverse=True)
    per = h["period"].to_numpy(dtype="int64")
    t0 = int(per.min())
    periods = np.arange(t0, origin, dtype="int64")
    ti = per - t0
    P, T = len(prods), len(periods)
    flat = pi * T + ti
    units = np.bincount(flat, weights=h["units"].fillna(0.0).to_numpy(dtype="float64"),
                        minlength=P * T).reshape(P, T)
    spend_col = h["ad_spend"] if "ad_spend" in h.columns else pd.Series(0.0, index=h.index)
    spend = np.bincount(flat, weights=spend_col.fillna(0.0).to_numpy(dtype="float64"),
                        minlength=P * T).reshape(P, T)
    first = np.full(P, np.iinfo(np.int64).max, dtype="int64")
    np.minimum.at(first, pi, per)
    has = np.zeros(P * T, dtype=bool)
    has[flat] = True
    n_rows = has.reshape(P, T).sum(axis=1)
    inside = periods[None, :] >= first[:, None]
    return _Panel(prods, periods, units, spend, inside, first, n_rows)


def _index_table(indices: pd.DataFrame | None, categories: np.ndarray, L: int) -> np.ndarray:
    """len(categories) × L array of indices (1.0 where a category or position is missing)."""
    table = np.ones((len(categories), L))
    if indices is None or len(indices) == 0 or len(categories) == 0:
        return table
    cat_pos = {c: i for i, c in enumerate(categories)}
    rows = indices["category"].map(cat_pos)
    ok = rows.notna().to_numpy() & indices["pos"].between(0, L - 1).to_numpy()
    vals = indices["index"].to_numpy(dtype="float64")
    ok &= np.isfinite(vals)
    table[rows.to_numpy()[ok].astype("int64"), indices["pos"].to_numpy()[ok].astype("int64")] = vals[ok]
    return table


# ---------------------------------------------------------------------- seasonal indices


def _fourier_design(pos: np.ndarray, L: int, n_cols: int) -> np.ndarray:
    """Columns 1, cos(2πk·pos/L), sin(2πk·pos/L), k = 1, 2, … (and the Nyquist cos(π·pos) for even L)."""
    cols = [np.ones(len(pos))]
    k = 1
    while len(cols) < n_cols:
        ang = 2.0 * np.pi * k * pos / L
        cols.append(np.cos(ang))
        if len(cols) < n_cols and 2 * k != L:
            cols.append(np.sin(ang))
        k += 1
    return np.column_stack(cols[:n_cols])


def _candidate_sizes(L: int, n_obs: int) -> list[int]:
    """Nested Fourier model sizes 1, 3, 5, … up to the saturated L, fitting in n_obs − 1 df (or = L)."""
    sizes = [1]
    p = 1
    while p < L:
        p = min(p + 2, L)  # one harmonic adds cos and sin; the Nyquist harmonic of an even L adds one column
        sizes.append(p)
    return [p for p in sizes if p <= n_obs - 1 or (p == L and n_obs == L)]


def _smooth_index(ratio: np.ndarray, weight: np.ndarray, sigma2: float, L: int) -> tuple[np.ndarray, int, float]:
    """Fourier smoothing (BIC with the pure-error variance) and James–Stein-type shrinkage of a raw index.

    Returns (index over all L positions with mean 1, number of Fourier columns, shrink factor).
    """
    obs = weight > 0
    pos = np.flatnonzero(obs)
    n = len(pos)
    if n == 0 or not np.isfinite(sigma2):
        return np.ones(L), 1, 0.0
    sigma2 = max(sigma2, 1e-12)
    r, w = ratio[obs], weight[obs]
    best = None
    for p in _candidate_sizes(L, n):
        X = _fourier_design(pos.astype(float), L, p)
        sw = np.sqrt(w)
        beta, *_ = np.linalg.lstsq(X * sw[:, None], r * sw, rcond=None)
        rss = float(np.sum(w * (r - X @ beta) ** 2))
        bic = rss / sigma2 + p * math.log(n)
        if best is None or bic < best[0] - 1e-12:
            best = (bic, p, beta)
    _, p, beta = best
    full = _fourier_design(np.arange(L, dtype=float), L, p) @ beta
    if p == 1:
        return np.ones(L), 1, 0.0
    # shrink the seasonal deviations towards 0 (index towards 1): positive-part James–Stein factor
    fitted = _fourier_design(pos.astype(float), L, p) @ beta
    dev = fitted - beta[0]
    chi2 = float(np.sum(w * dev ** 2)) / sigma2
    q = p - 1
    shrink = max(0.0, 1.0 - q / chi2) if chi2 > 0 else 0.0
    mean = float(full.mean())
    if not np.isfinite(mean) or mean <= 0:
        return np.ones(L), p, 0.0
    index = 1.0 + shrink * (full / mean - 1.0)
    index = np.maximum(index, INDEX_FLOOR)
    return index / index.mean(), p, shrink


def seasonal_indices(sc, L: int, *, history: pd.DataFrame | None = None, details: bool = False):
    r"""Multiplicative seasonal index per category and season position.

    The method (mature products, backfitted levels and raw ratios, Fourier
    smoothing chosen by BIC, James–Stein shrinkage towards 1) is in the module
    docstring. Categories in ``products.csv`` without mature history (only new
    products, only recent launches, history shorter than ``L``) get
    ``index = 1.0``.

    Parameters
    ----------
    sc : Scenario
        Uses ``sc.products`` (product, category) and ``sc.history``.
    L : int
        Season length (:func:`season_length`).
    history : DataFrame, optional
        History to use instead of ``sc.history`` (e.g. truncated for a backtest).
    details : bool
        Also return one row per category: category, n_products, n_periods,
        harmonics (Fourier columns ``p``), shrink (``w``), sigma2, status
        ("estimated" | "flat"), note.

    Returns
    -------
    DataFrame
        category, pos (0 … L−1), index (float64, mean 1 per category), sorted;
        with ``details=True`` the tuple ``(indices, info)``.
    """
    L = max(int(L), 1)
    products = sc.products
    categories = np.array(sorted(products["category"].astype(str).unique()), dtype=object)
    hist = sc.history if history is None else history
    origin = int(hist["period"].max()) + 1 if len(hist) else 0
    panel = _panel(hist, origin) if len(hist) else _panel(hist.iloc[:0], 0)
    cat_of = dict(zip(products["product"], products["category"], strict=False))
    table = np.ones((len(categories), L))
    info = []
    t0 = int(panel.periods[0]) if len(panel.periods) else 0
    if L > 1 and len(panel.products):
        pcat = np.array([cat_of.get(p) for p in panel.products], dtype=object)
        totals = panel.units.sum(axis=1)
        span = np.maximum(origin - panel.first, 0)
        mature = (panel.first == t0) & (span >= L) & (totals > 0)
    else:
        pcat = np.array([], dtype=object)
        mature = np.zeros(0, dtype=bool)
    for ci, cat in enumerate(categories):
        sel = np.flatnonzero(mature & (pcat == cat)) if len(pcat) else np.array([], dtype="int64")
        row = {"category": cat, "n_products": len(sel), "n_periods": 0, "harmonics": 1, "shrink": 0.0,
               "sigma2": np.nan, "status": "flat", "note": ""}
        if L == 1:
            row["note"] = "season length 1: no seasonality"
        elif len(sel) == 0:
            row["note"] = ("no mature product (selling since the start of the history, a season or more) in "
                           "the category: index 1")
        else:
            idx, p, w, s2, n = _estimate_category(panel.units[sel], panel.periods, L, panel.spend[sel] <= 0)
            table[ci] = idx
            row.update(n_periods=n, harmonics=p, shrink=w, sigma2=s2,
                       status="estimated" if p > 1 and w > 0 else "flat")
            if p == 1 or w == 0:
                row["note"] = "no seasonality distinguishable from noise: index 1"
        info.append(row)
    out = pd.DataFrame({
        "category": np.repeat(categories, L).astype(object),
        "pos": np.tile(np.arange(L, dtype="int64"), len(categories)),
        "index": table.reshape(-1).astype("float64"),
    })
    if not details:
        return out
    info_df = pd.DataFrame(info, columns=["category", "n_products", "n_periods", "harmonics", "shrink", "sigma2",
                                          "status", "note"])
    return out, info_df


def _estimate_category(Y: np.ndarray, periods: np.ndarray, L: int,
                       use: np.ndarray | None = None) -> tuple[np.ndarray, int, float, float, int]:
    """Backfitting of product levels and the pooled index for one category (see seasonal_indices).

    ``use`` (P × T bool) marks the cells that enter the estimate (default all).
    """
    P, T = Y.shape
    pos = np.mod(periods, L)
    t = (periods - periods.mean()).astype(float)
    M = np.ones((P, T)) if use is None else use.astype(float)
    s = np.ones(L)
    p, w, sigma2 = 1, 0.0, np.nan
    n_p = M.sum(axis=1)
    if np.any(n_p < 2):
        M = M * (n_p >= 2)[:, None]
        n_p = M.sum(axis=1)
    m = np.bincount(pos, weights=M.sum(axis=0), minlength=L)  # cells per position
    for _ in range(INDEX_ROUNDS):
        Z = Y / np.maximum(s[pos], INDEX_FLOOR)[None, :]
        # per-product weighted OLS of z on t over the used cells
        nz = np.maximum(n_p, 1.0)
        tbar = (M @ t) / nz
        zbar = (M * Z).sum(axis=1) / nz
        tc = t[None, :] - tbar[:, None]
        stt = (M * tc * tc).sum(axis=1)
        b = np.where(stt > 0, (M * tc * (Z - zbar[:, None])).sum(axis=1) / np.where(stt > 0, stt, 1.0), 0.0)
        level = zbar[:, None] + b[:, None] * tc
        ell = np.maximum(level, 0.05 * np.maximum(zbar, 1e-9)[:, None]) * M
        num = np.bincount(pos, weights=(M * Y).sum(axis=0), minlength=L)
        den = np.bincount(pos, weights=ell.sum(axis=0), minlength=L)
        ratio = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
        resid = M * (Y - ell * ratio[pos][None, :])  # = ell·(y/ell − r)
        # sandwich variance of each position's ratio of sums, pooled as σ² / W(pos)
        v = np.bincount(pos, weights=np.sum(resid ** 2, axis=0), minlength=L)
        ok = (m > 1) & (den > 0)
        sigma2 = (float(np.mean(v[ok] / den[ok] * m[ok] / (m[ok] - 1))) if ok.any() else np.nan)
        if not np.isfinite(sigma2):
            return np.ones(L), 1, 0.0, sigma2, T
        s_new, p, w = _smooth_index(ratio, den, sigma2, L)
        if np.allclose(s_new, s, atol=1e-6):
            s = s_new
            break
        s = s_new
    return s, p, w, sigma2, T


def horizon_seasonality(indices: pd.DataFrame, categories: Iterable[str], H: int, L: int) -> pd.DataFrame:
    """The ``seasonality.csv`` table: index of every category in every horizon period.

    .. math:: \\mathrm{index}(c, t) = s_c(t \\bmod L), \\quad t = 0 … H-1,

    with ``s_c = 1`` for a category (or position) missing from ``indices``.

    Parameters
    ----------
    indices : DataFrame
        category, pos, index (from :func:`seasonal_indices`).
    categories : iterable of str
        Every category of ``products.csv`` (duplicates are dropped).
    H, L : int
        Horizon and season length.

    Returns
    -------
    DataFrame
        category, period (int64), index (float64), sorted by category, period.
    """
    cats = np.array(sorted({str(c) for c in categories}), dtype=object)
    L = max(int(L), 1)
    H = max(int(H), 0)
    table = _index_table(indices, cats, L)
    periods = np.arange(H, dtype="int64")
    vals = table[:, np.mod(periods, L)] if H else np.zeros((len(cats), 0))
    return pd.DataFrame({
        "category": np.repeat(cats, H).astype(object),
        "period": np.tile(periods, len(cats)),
        "index": vals.reshape(-1).astype("float64"),
    })


# ---------------------------------------------------------------------- active demand
