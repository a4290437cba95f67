"""The generator's market: map, categories and brands, products, demand and past sales.

Steps of :class:`optsupply.scenario.generate._Builder`, in the order it calls them
(each draws from the shared generator ``self.rng`` in a fixed order). Past
sales (``_draw_history``) are drawn after the advertising of
:mod:`optsupply.scenario.generate_operations`, whose response curves they use.
"""

from __future__ import annotations

import datetime as _dt
import math

import numpy as np

from optsupply.scenario.generate_params import (ANALOG_SHARE, DISPERSION, LOCAL_KM, MAP_KM, MUST_LAUNCH_SHARE, NEW_SHARE,
                                                PRICE_ELASTICITY, ROAD_FACTOR, SEASON_LENGTH, START, bass_curve,
                                                bass_parameters, ids, rounded)


class MarketDraws:
    """Drawing steps of the market (a part of the generator's builder)."""

    # ------------------------------------------------------------------ map

    def _draw_map(self) -> None:
        rng = self.rng
        self.regions = ids("R", self.R)
        self.warehouses = ids("W", self.W)
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
        self.categories = ids("C", self.n_cat)
        self.brands = ids("B", self.n_brand)
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
        self.season = rounded(self.season, 3)  # C × (Hh + H), the index as written
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
        self.products = ids("P", N)
        # economics
        self.price = rounded(np.floor(self.cat_price[self.cat] * rng.lognormal(0.0, 0.35, size=N)) + 0.99)
        self.margin_share = rng.uniform(0.2, 0.6, size=N)
        self.unit_cost = rounded(self.price * (1.0 - self.margin_share))
        if self.stress:  # 1-3 % of unit cost per week (52-156 % a year)
            self.holding = rounded(self.unit_cost * rng.uniform(0.01, 0.03, size=N), 3)
        else:  # 0.4-0.6 % per week: the usual 20-30 % of unit cost per year
            self.holding = np.maximum(rounded(self.unit_cost * rng.uniform(0.004, 0.006, size=N), 3), 0.001)
        self.volume = np.maximum(rounded(self.cat_volume[self.cat] * rng.lognormal(0.0, 0.4, size=N), 4), 0.0005)
        if self.stress:  # leftover stock dumped at 20-60 % of cost
            self.salvage = rounded(self.unit_cost * rng.uniform(0.2, 0.6, size=N))
        else:  # leftover stock stays sellable: valued at cost less 5-15 % (carrying and markdown until it sells)
            self.salvage = np.minimum(rounded(self.unit_cost * rng.uniform(0.85, 0.95, size=N)),
                                      self.unit_cost - 0.01)
        has_lost = rng.random(N) < 0.35
        self.lost_sale_cost = np.where(has_lost, rounded(self.price * rng.uniform(0.05, 0.25, size=N)), 0.0)
        self.featured_lift = rounded(rng.uniform(0.1, 0.5, size=N))
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
            x = np.where(on, rounded(self.resp_k[row] * rng.uniform(0.3, 1.5, size=Hh)), 0.0)
            if self.kind[i] == "analog":
                x[self.t_all[:Hh] < self.launched_at[i]] = 0.0
            spend[i] += x
            uplift[i] += self._uplift(row, x)
        mu = (self.base[:, self.hist_cols] + uplift)[:, None, :] * self.shares[:, :, None]  # N × R × Hh
        gamma = rng.gamma(DISPERSION, 1.0 / DISPERSION, size=mu.shape)
        units = rng.poisson(mu * gamma).astype("float64")
        ad = rounded(spend[:, None, :] * self.shares[:, :, None])
        period = np.broadcast_to(self.t_all[:Hh][None, None, :], mu.shape)
        has_row = ~self.is_new[:, None, None] & (period >= self.launched_at[:, None, None])
        has_row = np.broadcast_to(has_row, mu.shape)
        pi, ri, ti = np.nonzero(has_row)  # C order: product, region, period
        self.history = {
            "product": self.products[pi], "region": self.regions[ri], "period": self.t_all[:Hh][ti],
            "units": units[pi, ri, ti], "ad_spend": ad[pi, ri, ti],
        }
