r"""Cold-start launch curves for new products, learnt from the scenario's own history.

A new product has no sales history. Its launch curve (units by age, without
seasonality; the optimizer multiplies by ``seasonality.csv``) is

.. math::

    d_{j,r,a} = \hat m_j \, \bigl(F(a+1; \hat p, \hat q) - F(a; \hat p, \hat q)\bigr)\, s_{c(j),r},
    \qquad a = 0, \dots, H-1,

with three ingredients estimated from the history of the products already selling:

1. **Shape** :math:`(\hat p, \hat q)` — pooled over the *analogs* (products
   launched inside the history) of the product's category by a joint robust
   fit with shared :math:`p, q` and one :math:`m_i` per analog
   (:mod:`optsupply.forecasting.analogs`); fallbacks when the category has no
   analog: the analogs of the same brand, then all analogs ("catalogue"), then
   the published priors :math:`p = 0.02, q = 0.4`.
2. **Size** :math:`\hat m_j` — from a robust log-linear model of the *sales level*
   of every active product,

   .. math::

       \log \ell_i = \mu + \gamma\,[i \text{ is an analog}] + \beta\,\log\frac{\text{price}_i}{\bar P_{c(i)}}
                     + u_{c(i)} + v_{b(i)} + w_{c(i)}[i \text{ is an analog}] + \varepsilon_i,

   where :math:`\ell_i` is the median deseasonalised units per period of a
   mature product (periods without ad spend, last season) and the peak rate
   :math:`m_i \max_a g(a; \hat p_c, \hat q_c)` of an analog (its joint-fit
   :math:`m_i` and its category's pooled shape); :math:`\bar P_c` is the
   geometric mean price of the category (all its products, new ones included);
   :math:`u, v, w` are category, brand and category-launch effects shrunk
   towards 0 (ridge penalties :math:`\sigma^2/\tau^2` whose variances
   :math:`\tau^2` are estimated by EM), and the fit is made robust by Huber
   weights (iteratively reweighted); see :func:`_mixed_ridge`. A new product's
   log peak rate is predicted as :math:`\hat x_j^\top \hat\theta` with
   :math:`[\text{analog}] = 1` and the effects of its category and brand (0 for
   a category or brand without active products), with predictive variance
   :math:`v_j^2 = \hat x_j^\top C \hat x_j + \sigma^2 + \sum_{\text{unknown}} \tau^2`
   (capped at 0.5; the prediction is kept within :math:`\pm 1` of the observed
   log levels), and the expected potential is

   .. math:: \hat m_j = \exp\bigl(\hat x_j^\top \hat\theta + v_j^2/2\bigr) \,/\, \max_a g(a; \hat p, \hat q).

   Without any history, the levels of active products come from ``demand.csv``
   (mean demand divided by ``seasonality.csv``); without any level at all,
   from the planner's own ``launch_curve.csv``.

3. **Regional split** :math:`s_{c,r}` — the category's share of units by region
   in the history, shrunk towards the catalogue's shares
   (:math:`s_{c,r} = (U_{c,r} + \kappa\,s_r)/(U_c + \kappa)`, :math:`\kappa = 10 R`
   units), equal shares without history.

``demand_sd`` combines the spread of the products around the level model with
Poisson noise: with :math:`v_j^2` the predictive variance of
:math:`\log \hat m_j` (residual variance, the variances of the unknown effects
and the parameter uncertainty) and :math:`\kappa_j = \sqrt{e^{v_j^2} - 1}`,
:math:`\mathrm{sd}_{j,r,a} = \sqrt{d_{j,r,a} + (\kappa_j d_{j,r,a})^2}`.

The history's arrays and joint fits are remembered per scenario
(:mod:`optsupply.forecasting.analogs`), so the leave-one-out backtest, which calls
:func:`forecast_new_product` once per analog, refits only what a hold-out changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from optsupply.forecasting.analogs import (
    MIN_CLEAN_PERIODS,
    PRIOR_P,
    PRIOR_Q,
    _History,
    _history,
    _joint_fit,
    _series,
    _Shape,
)
from optsupply.curves import bass_increment

logger = logging.getLogger(__name__)

CURVE_COLUMNS = ["product", "region", "age", "demand", "demand_sd"]
EXPLAIN_COLUMNS = ["product", "category", "brand", "level", "analogs", "p", "q", "m", "m_scale", "note"]
LEVEL_WINDOW = 52  #: recent periods used for a mature product's level
SHARE_PRIOR_PER_REGION = 10.0  #: κ / R, the strength of the catalogue prior on a category's regional shares
HUBER_K = 1.345
VAR_PRIOR, VAR_PRIOR_N = 0.25, 2.0  #: prior guess of the level model's residual variance, its weight (observations)
TAU_PRIOR, TAU_PRIOR_N = 0.05, 1.0  #: the same for the variances of the category, brand and launch effects
FIXED_PRIOR_SD = 1.0  #: prior sd of the analog offset and the price elasticity (N(0, 1))
MAX_LOG_VAR = 0.5  #: cap of the predictive variance of log m used for the mean and the sd


class _Model:
    """Everything the cold start learns from the history, for one set of excluded products."""

    def __init__(self, sc, hist: _History, fits: pd.DataFrame, exclude: Iterable[str]):
        self.sc = sc
        self.hist = hist
        self.exclude = frozenset(exclude)
        fits = fits[~fits["product"].isin(self.exclude)] if len(fits) else fits
        self.analog_ids = frozenset(fits["product"]) if len(fits) else frozenset()
        self.series = _series(hist, fits) if len(fits) else {}
        self._shapes: dict[tuple[str, str], _Shape | None] = {}
        self.level_fit = _fit_levels(self)
        self.shares = _region_shares(self)

    def pooled(self, level: str, key: str) -> _Shape | None:
        """Pooled shape of a category (joint fit), a brand or the catalogue ('*'); None without analogs.

        A brand's or the catalogue's shape is the geometric mean of the category
        shapes of its analogs (each analog counts once).
        """
        if (level, key) not in self._shapes:
            self._shapes[(level, key)] = self._category(key) if level == "category" else self._mixed(level, key)
        return self._shapes[(level, key)]

    def _category(self, category: str) -> _Shape | None:
        items = [s for _, s in sorted(self.series.items()) if s.category == category]
        memo = tuple((s.product, float(s.ages[0]), len(s.y), s.scale) for s in items)
        if memo not in self.hist.joint_fits:
            self.hist.joint_fits[memo] = _joint_fit(items) if items else None
        fit = self.hist.joint_fits[memo]
        if fit is None:
            return None
        return _Shape("category", fit[0], fit[1], {s.product: float(m) for s, m in zip(items, fit[2], strict=True)})

    def _mixed(self, level: str, key: str) -> _Shape | None:
        members = [s for _, s in sorted(self.series.items()) if level == "catalogue" or s.brand == key]
        shapes = [(s.product, self.pooled("category", s.category)) for s in members]
        shapes = [(p, sh) for p, sh in shapes if sh is not None and p in sh.m]
        if not shapes:
            return None
        p = float(np.exp(np.mean([np.log(sh.p) for _, sh in shapes])))
        q = float(np.exp(np.mean([np.log(max(sh.q, 1e-6)) for _, sh in shapes])))
        return _Shape(level, p, q, {prod: sh.m[prod] for prod, sh in shapes})

    def shape_for(self, category: str, brand: str) -> _Shape:
        """Category → brand → catalogue → priors."""
        for level, key in (("category", category), ("brand", brand), ("catalogue", "*")):
            s = self.pooled(level, key)
            if s is not None:
                return s
        return _Shape("prior", PRIOR_P, PRIOR_Q, {})


# --------------------------------------------------------------------------- the level model (m)


@dataclass(frozen=True)
class _LevelFit:
    """Robust ridge fit of log sales level on kind, relative price and shrunk category/brand effects."""

    theta: np.ndarray  # fixed effects (intercept, analog, log relative price) then group effects
    cov: np.ndarray  # posterior covariance of theta
    sigma2: float  # residual variance
    tau2: dict  # group name -> variance of its effects
    columns: dict  # (group, level) -> column index
    n_rows: int
    n_analogs: int
    source: str  # "history" or "demand.csv"
    y_range: tuple[float, float]  # smallest and largest log level in the data


def _mixed_ridge(y: np.ndarray, fixed: np.ndarray, fixed_prec: np.ndarray, groups: dict[str, np.ndarray],
                 n_iter: int = 60):
    r"""Robust ridge regression with variance components (random effects) estimated by EM.

    Model :math:`y = X\beta + \sum_g Z_g b_g + \varepsilon`, :math:`b_g \sim N(0, \tau_g^2 I)`,
    :math:`\varepsilon \sim N(0, \sigma^2)`, :math:`\beta_k \sim N(0, 1/\lambda_k)`
    (``fixed_prec`` = :math:`\lambda`). Each iteration solves the penalised normal
    equations with Huber weights :math:`w_i = \min(1, k\sigma/|r_i|)`, :math:`k = 1.345`,

    .. math:: \hat\theta = C\,Z^\top W y/\sigma^2, \qquad
              C = (Z^\top W Z/\sigma^2 + \Lambda)^{-1},

    with :math:`\Lambda = \operatorname{diag}(\lambda, 1/\tau_g^2)`, then updates the
    variances with weak inverse-gamma priors (:math:`\nu_0 = 2` observations of
    :math:`s_0^2 = 0.25` for :math:`\sigma^2`, :math:`\nu_1 = 1` of :math:`t_0^2 = 0.05` for
    each :math:`\tau_g^2`; they matter only with very little data):

    .. math::

        \tau_g^2 = \frac{\|\hat b_g\|^2 + \operatorname{tr} C_{gg} + \nu_1 t_0^2}{J_g + \nu_1},
        \qquad
        \sigma^2 = \frac{\sum_i w_i r_i^2 + \nu_0 s_0^2}{n - \mathrm{df} + \nu_0},
        \quad \mathrm{df} = \operatorname{tr}(C Z^\top W Z)/\sigma^2.
    """
    n = len(y)
    blocks = [fixed] + [np.eye(int(codes.max()) + 1)[codes] * (codes >= 0)[:, None] for codes in groups.values()]
    Z = np.hstack(blocks)
    sizes = [b.shape[1] for b in blocks]
    bounds = np.cumsum([0] + sizes)
    nu0, s0 = VAR_PRIOR_N, VAR_PRIOR
    nt, st = TAU_PRIOR_N, TAU_PRIOR
    tau2 = {g: st for g in groups}
    sigma2 = s0
    w = np.ones(n)
    for _ in range(n_iter):
        prec = np.concatenate([fixed_prec] + [np.full(size, 1.0 / tau2[g])
                                              for g, size in zip(groups, sizes[1:], strict=True)])
        ZtW = Z.T * w
        C = np.linalg.inv(ZtW @ Z / sigma2 + np.diag(prec))
        theta = C @ (ZtW @ y) / sigma2
        r = y - Z @ theta
        df = float(np.trace(C @ (ZtW @ Z)) / sigma2)
        sigma2 = (float((w * r) @ r) + nu0 * s0) / (max(n - df, 0.0) + nu0)
        u = np.abs(r) / np.sqrt(sigma2)
        w = np.where(u <= HUBER_K, 1.0, HUBER_K / np.maximum(u, 1e-12))
        for i, g in enumerate(groups):
            a, b = bounds[i + 1], bounds[i + 2]
            tau2[g] = max((float(theta[a:b] @ theta[a:b] + np.trace(C[a:b, a:b])) + nt * st) / (b - a + nt), 1e-4)
    return theta, C, sigma2, tau2, bounds


def _recent_levels(hist: _History) -> np.ndarray:
    """Median deseasonalised units of each product over its last 52 periods without ad spend (all if < 6)."""
    if hist.levels is None:
        z = hist.z
        levels = np.full(len(hist.products), np.nan)
        for k in range(len(hist.products)):
            have = np.flatnonzero(np.isfinite(z[k]))[-LEVEL_WINDOW:]
            quiet = have[hist.spend[k][have] <= 0]
            use = quiet if len(quiet) >= MIN_CLEAN_PERIODS else have
            if len(use):
                levels[k] = float(np.median(z[k][use]))
        hist.levels = levels
    return hist.levels


def _mature_levels(model: _Model) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers in the history arrays and levels of the mature products (not analogs, not excluded)."""
    hist = model.hist
    levels = _recent_levels(hist)
    keep = ~np.isin(hist.products, list(model.exclude | model.analog_ids)) & np.isfinite(levels)
    rows = np.flatnonzero(keep)
    return rows, levels[rows]


def _demand_levels(sc) -> pd.DataFrame:
    """Fallback without history: mean deseasonalised demand per active product in ``demand.csv``."""
    d = sc.demand.groupby(["product", "period"], as_index=False)["demand"].sum()
    d = d.merge(sc.products[["product", "category", "brand", "price", "status"]], on="product")
    d = d[d["status"] == "active"]
    idx = sc.seasonality.set_index(["category", "period"])["index"]
    i = idx.reindex(pd.MultiIndex.from_frame(d[["category", "period"]])).to_numpy(dtype="float64")
    d["z"] = d["demand"].to_numpy(dtype="float64") / np.where(np.isfinite(i) & (i > 0), i, 1.0)
    return d.groupby(["product", "category", "brand", "price"], as_index=False)["z"].mean()


def _level_data(model: _Model) -> tuple[pd.DataFrame, str]:
    """product, category, brand, log_rel_price, analog, log_level for every usable active product."""
    hist = model.hist
    rows, levels = _mature_levels(model)
    parts = {"product": list(hist.products[rows]), "category": list(hist.category[rows]),
             "brand": list(hist.brand[rows]), "log_price": list(hist.log_price[rows]),
             "analog": [0.0] * len(rows), "level": list(levels)}
    row_of = {p: k for k, p in enumerate(hist.products)}
    for product, s in sorted(model.series.items()):
        shape = model.pooled("category", s.category)
        if shape is None or product not in shape.m:
            continue
        k = row_of[product]
        for key, value in (("product", product), ("category", s.category), ("brand", s.brand),
                           ("log_price", hist.log_price[k]), ("analog", 1.0),
                           ("level", shape.m[product] * shape.peak)):
            parts[key].append(value)
    df = pd.DataFrame(parts)
    source = "history"
    if not (df["level"] > 0).any() and len(model.sc.demand):
        d = _demand_levels(model.sc)
        d = d[~d["product"].isin(model.exclude)]
        df = pd.DataFrame({"product": d["product"], "category": d["category"], "brand": d["brand"],
                           "log_price": np.log(np.maximum(d["price"].to_numpy(dtype="float64"), 1e-9)),
                           "analog": 0.0, "level": d["z"]})
        source = "demand.csv"
    df = df[np.isfinite(df["level"]) & (df["level"] > 0)].reset_index(drop=True)
    cat_logp = model.hist.cat_log_price
    df["lrp"] = df["log_price"] - df["category"].map(cat_logp).astype("float64")
    df["y"] = np.log(df["level"])
    return df, source


def _fit_levels(model: _Model) -> _LevelFit | None:
    r"""The log-linear level model of the module docstring, or None without any level."""
    df, source = _level_data(model)
    if df.empty:
        return None
    analog = df["analog"].to_numpy()
    fixed_cols = [np.ones(len(df))]
    if 0 < analog.sum() < len(df):
        fixed_cols.append(analog)
    has_price = float(np.ptp(df["lrp"])) > 1e-9
    if has_price:
        fixed_cols.append(df["lrp"].to_numpy())
    fixed = np.column_stack(fixed_cols)
    groups, names = {}, {}
    for g, labels in (("category", df["category"]), ("brand", df["brand"]),
                      ("launch", df["category"].where(analog > 0))):
        codes, uniques = pd.factorize(labels)
        if len(uniques):
            groups[g], names[g] = codes, list(uniques)
    fixed_prec = np.r_[1e-6, np.full(fixed.shape[1] - 1, 1.0 / FIXED_PRIOR_SD ** 2)]
    theta, C, sigma2, tau2, bounds = _mixed_ridge(df["y"].to_numpy(), fixed, fixed_prec, groups)
    columns = {("fixed", "intercept"): 0}
    if 0 < analog.sum() < len(df):
        columns[("fixed", "analog")] = 1
    if has_price:
        columns[("fixed", "lrp")] = fixed.shape[1] - 1
    for i, g in enumerate(groups):
        columns.update({(g, name): int(bounds[i + 1]) + j for j, name in enumerate(names[g])})
    y = df["y"].to_numpy()
    return _LevelFit(theta, C, sigma2, tau2, columns, len(df), int(analog.sum()), source,
                     (float(y.min()), float(y.max())))


def _region_shares(model: _Model) -> tuple[dict, np.ndarray]:
    r"""Regional shares per category, :math:`s_{c,r} = (U_{c,r} + \kappa s_r) / (U_c + \kappa)`, and the catalogue's."""
    hist = model.hist
    R = len(hist.regions)
    if R == 0:
        return {}, np.zeros(0)
    pr = hist.product_region
    pr = pr[~pr.index.isin(model.exclude)]
    total = pr.to_numpy(dtype="float64").sum(axis=0)
    catalogue = total / total.sum() if total.sum() > 0 else np.full(R, 1.0 / R)
    cat_of = dict(zip(model.sc.products["product"], model.sc.products["category"], strict=True))
    by_cat = pr.groupby(pr.index.map(lambda p: cat_of.get(p, ""))).sum()
    kappa = SHARE_PRIOR_PER_REGION * R
    shares = {}
    for cat, row in by_cat.iterrows():
        u = row.to_numpy(dtype="float64")
        shares[cat] = (u + kappa * catalogue) / (u.sum() + kappa)
    return shares, catalogue


# --------------------------------------------------------------------------- prediction


@dataclass(frozen=True)
class _Prediction:
    """A new product's launch curve (product level) and how it was made."""

    product: str
    category: str
    brand: str
    shape: _Shape
    m: float
    log_sd: float
    m_scale: float
    note: str

    def curve(self, H: int) -> np.ndarray:
        return self.m * bass_increment(np.arange(H), self.shape.p, self.shape.q)


def _log_peak(fit: _LevelFit, category: str, brand: str, lrp: float) -> tuple[float, float, list[str]]:
    """Predicted log peak rate, its predictive variance and the unknown effects."""
    x = np.zeros(len(fit.theta))
    x[0] = 1.0
    if ("fixed", "analog") in fit.columns:
        x[fit.columns[("fixed", "analog")]] = 1.0
    if ("fixed", "lrp") in fit.columns:
        x[fit.columns[("fixed", "lrp")]] = lrp
    extra, unknown = 0.0, []
    for group, key in (("category", category), ("brand", brand), ("launch", category)):
        col = fit.columns.get((group, key))
        if col is not None:
            x[col] = 1.0
        elif group in fit.tau2:
            extra += fit.tau2[group]
            unknown.append(f"{group} {key}")
    return float(x @ fit.theta), float(x @ fit.cov @ x + fit.sigma2 + extra), unknown


def _planner_m(sc, product: str, shape: _Shape) -> float:
    """Fallback m without any level data: the planner's launch curve total divided by F(H)."""
    lc = sc.launch_curve
    total = float(lc.loc[lc["product"] == product, "demand"].sum()) if len(lc) else 0.0
    share = float(bass_increment(np.arange(max(sc.periods, 1)), shape.p, shape.q).sum())
    return total / share if share > 0 else 0.0


def _predict(model: _Model, product: str, category: str, brand: str, price: float) -> _Prediction:
    shape = model.shape_for(category, brand)
    fit = model.level_fit
    if fit is None:
        m = _planner_m(model.sc, product, shape)
        note = ("no level data in history or demand.csv: m from the planner's launch curve" if m > 0
                else "no level data and no planner launch curve: demand 0")
        return _Prediction(product, category, brand, shape, m, 0.0, 1.0, note)
    lrp = float(np.log(max(price, 1e-9)) - model.hist.cat_log_price.get(category, np.log(max(price, 1e-9))))
    mean, var, unknown = _log_peak(fit, category, brand, lrp)
    mean = float(np.clip(mean, fit.y_range[0] - 1.0, fit.y_range[1] + 1.0))  # no wild extrapolation
    var = min(var, MAX_LOG_VAR)
    m = float(np.exp(mean + 0.5 * var)) / shape.peak
    ref = [v for v in shape.m.values() if v > 0]
    m_scale = m / float(np.exp(np.mean(np.log(ref)))) if ref else 1.0
    beta = fit.theta[fit.columns[("fixed", "lrp")]] if ("fixed", "lrp") in fit.columns else 0.0
    note = (f"p, q: {len(shape.m)} analog(s) at {shape.level} level; m: peak rate from {fit.n_rows} active products "
            f"({fit.source}), price elasticity {beta:+.2f}, relative price {np.exp(lrp):.2f}"
            + (f"; no data for {', '.join(unknown)} (effect 0, wider sd)" if unknown else ""))
    return _Prediction(product, category, brand, shape, m, float(np.sqrt(var)), m_scale, note)


# --------------------------------------------------------------------------- public API


def _season_for(season: pd.DataFrame | None) -> pd.DataFrame | None:
    """Seasonal indices by position (category, pos, index), or ``None`` (history used as it is)."""
    if season is not None and {"category", "pos", "index"} <= set(season.columns):
        return season
    return None


def _model(sc, fits: pd.DataFrame, season: pd.DataFrame | None, exclude: Iterable[str]) -> _Model:
    return _Model(sc, _history(sc, _season_for(season)), fits, exclude)


def cold_start(sc, fits: pd.DataFrame, season_h: pd.DataFrame | None = None, *, exclude: Iterable[str] = (),
               season: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Launch curves of new products (and of products in ``exclude``) from analogs and the level model.

    .. math::

        d_{j,r,a} = \hat m_j\,\bigl(F(a+1) - F(a)\bigr)\,s_{c,r}, \qquad
        \mathrm{sd}_{j,r,a} = \sqrt{d_{j,r,a} + (\kappa_j d_{j,r,a})^2},
        \quad \kappa_j = \sqrt{e^{v_j^2} - 1},

    for ages :math:`a = 0..H-1` (see the module docstring for :math:`\hat p, \hat q`
    pooling, :math:`\hat m_j` and the regional shares :math:`s_{c,r}`).

    Parameters
    ----------
    sc : Scenario
    fits : DataFrame
        :func:`optsupply.forecasting.analogs.fit_analogs` output.
    season_h : DataFrame, optional
        The horizon seasonality (category, period, index); not needed for the
        curve, which is *without* seasonality. If it has a ``pos`` column it is
        used as the seasonal indices by position.
    exclude : iterable of str
        Products treated as unknown: neither analogs nor level data nor part of
        the regional shares; their curves are returned too (for backtests).
    season : DataFrame, optional
        Seasonal indices by position (category, pos, index) used to
        deseasonalise history (pass the ones given to :func:`optsupply.forecasting.analogs.fit_analogs`);
        without them the history is used as it is.

    Returns
    -------
    launch_curve : DataFrame
        product, region, age, demand, demand_sd (every region and age), sorted.
    explain : DataFrame
        product, category, brand, level (``"category"``, ``"brand"``,
        ``"catalogue"`` or ``"prior"``: where p, q came from), analogs (their
        ids, ``;``-joined), p, q, m, m_scale (m over the geometric mean joint-fit
        m of those analogs: the size the price and brand effects gave it; 1.0
        without analogs) and a note in words.
    """
    season = season if season is not None else (season_h if season_h is not None and "pos" in season_h else None)
    model = _model(sc, fits, season, exclude)
    prods = sc.products
    todo = prods[(prods["status"] == "new") | prods["product"].isin(list(model.exclude))]
    todo = todo.sort_values("product")
    preds = [_predict(model, r.product, r.category, r.brand, float(r.price)) for r in todo.itertuples(index=False)]
    logger.debug("cold_start: %d products, levels %s", len(preds), [p.shape.level for p in preds])
    return _curves(model, preds, sc.periods), _explain(preds)


def _curves(model: _Model, preds: list[_Prediction], H: int) -> pd.DataFrame:
    """Product × region × age rows of the launch curves."""
    shares, catalogue = model.shares
    regions = model.hist.regions
    R = len(regions)
    if not preds or R == 0 or H == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("demand", "demand_sd") else
                                          ("int64" if c == "age" else "object")) for c in CURVE_COLUMNS})
    curve = np.array([p.curve(H) for p in preds])  # N × H
    share = np.array([shares.get(p.category, catalogue) for p in preds])  # N × R
    kappa = np.sqrt(np.expm1(np.array([p.log_sd for p in preds]) ** 2))
    d = curve[:, None, :] * share[:, :, None]  # N × R × H
    sd = np.sqrt(d + (kappa[:, None, None] * d) ** 2)
    n = len(preds)
    return pd.DataFrame({
        "product": np.repeat(np.array([p.product for p in preds], dtype=object), R * H),
        "region": np.tile(np.repeat(regions, H), n),
        "age": np.tile(np.arange(H, dtype="int64"), n * R),
        "demand": d.ravel(),
        "demand_sd": sd.ravel(),
    })


def _explain(preds: list[_Prediction]) -> pd.DataFrame:
    return pd.DataFrame({
        "product": [p.product for p in preds], "category": [p.category for p in preds],
        "brand": [p.brand for p in preds], "level": [p.shape.level for p in preds],
        "analogs": [";".join(p.shape.analogs) for p in preds],
        "p": np.array([p.shape.p for p in preds], dtype="float64"),
        "q": np.array([p.shape.q for p in preds], dtype="float64"),
        "m": np.array([p.m for p in preds], dtype="float64"),
        "m_scale": np.array([p.m_scale for p in preds], dtype="float64"),
        "note": [p.note for p in preds],
    }, columns=EXPLAIN_COLUMNS)


def forecast_new_product(sc, fits: pd.DataFrame, product_row, H: int, exclude: Iterable[str] = (), *,
                         season: pd.DataFrame | None = None) -> np.ndarray:
    r"""Product-level launch curve :math:`\hat m\,(F(a+1) - F(a))`, :math:`a = 0..H-1`, of one product.

    The product is forecast as if it were new (without seasonality), from the
    other products only when it is listed in ``exclude`` (leave-one-out backtest).

    Parameters
    ----------
    sc : Scenario
    fits : DataFrame
        :func:`optsupply.forecasting.analogs.fit_analogs` output.
    product_row : Mapping or pandas.Series
        With product, category, brand and price.
    H : int
        Number of ages.
    exclude : iterable of str
        Products treated as unknown (see :func:`cold_start`).
    season : DataFrame, optional
        Seasonal indices by position (pass the ones given to
        :func:`optsupply.forecasting.analogs.fit_analogs`); without them the history is used as it is.

    Returns
    -------
    numpy.ndarray
        Units by age (length ``H``, float64).
    """
    model = _model(sc, fits, season, exclude)
    pred = _predict(model, str(product_row["product"]), str(product_row["category"]), str(product_row["brand"]),
                    float(product_row["price"]))
    return pred.curve(int(H))


__all__ = ["cold_start", "forecast_new_product", "CURVE_COLUMNS", "EXPLAIN_COLUMNS"]
