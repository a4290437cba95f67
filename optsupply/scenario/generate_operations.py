"""The generator's operations: supply, capacities, stock on hand, advertising and launch terms.

Steps of :class:`optsupply.scenario.generate._Builder`, in the order it calls them
(each draws from the shared generator ``self.rng`` in a fixed order).
"""

from __future__ import annotations

import math

import numpy as np

from optsupply.scenario.generate_params import (BUSINESS_CHANNELS, RATE_PER_KM, STRESS_CHANNELS, hill_best_average,
                                                nice, profitable_spend, rounded)


class OperationsDraws:
    """Drawing steps of supply, stock, advertising and launch terms (a part of the generator's builder)."""

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
            self.sup_order_cost = np.clip(rounded(weekly * unit_margin * rng.uniform(0.3, 1.5, size=n), 0),
                                          10.0, 500.0)
        else:
            cycle = rng.uniform(2.0, 6.0, size=n)
            self.sup_order_cost = np.maximum(rounded(self.holding[self.sup_p] * cycle ** 2 * weekly / 2.0, 0), 1.0)
        has_min = rng.random(n) < 0.6
        min_order = np.where(has_min, np.ceil(weekly * rng.uniform(0.5, 2.0, size=n) / 10.0) * 10.0, 0.0)
        has_max = rng.random(n) < 0.25
        max_order = np.where(has_max, np.maximum(2.0 * min_order,
                                                 np.ceil(weekly * rng.uniform(3.0, 8.0, size=n) / 10.0) * 10.0),
                             np.inf)
        self.sup_min = min_order
        self.sup_max = np.maximum(max_order, 10.0)
        horizon_margin = weekly * unit_margin * self.H
        activation = np.maximum(rounded(horizon_margin * rng.uniform(0.03, 0.15, size=n), 0), 20.0)
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
        self.throughput = np.maximum(rounded(need * rng.uniform(0.7, 1.2, size=self.W)), 0.01)
        self.storage = np.maximum(rounded(need * cover * rng.uniform(0.6, 1.2, size=self.W)), 0.01)
        lw, lr = np.nonzero(self.lanes)  # sorted by warehouse, then region
        n = len(lw)
        self.lane_w, self.lane_r = lw, lr
        self.lane_cost = rounded(RATE_PER_KM * self.distance[lw, lr], 2)
        has_fixed = rng.random(n) < 0.5
        if self.stress:
            self.lane_fixed = np.where(has_fixed, rounded(rng.uniform(10.0, 120.0, size=n), 0), 0.0)
        else:  # 10-30 % of what the lane's variable cost would be for its region's typical volume
            lane_var = self.lane_cost * region_volume[lr]
            self.lane_fixed = np.where(has_fixed, rounded(lane_var * rng.uniform(0.1, 0.3, size=n), 2), 0.0)
        has_cap = rng.random(n) < 0.25
        self.lane_capacity = np.where(has_cap, np.maximum(rounded(region_volume[lr] * rng.uniform(0.6, 1.2, size=n)),
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
        channels = (STRESS_CHANNELS if self.stress else BUSINESS_CHANNELS)[: self.C]
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
        shape = np.where(s_shaped, rounded(rng.uniform(1.5, 3.0, size=n)), 1.0)  # concave: the classic Hill
        lo = np.array([channels[c].carry_low for c in rc])
        hi = np.array([channels[c].carry_high for c in rc])
        zero = rng.random(n) < np.array([channels[c].carry_zero for c in rc])
        carry = np.where(zero, 0.0, rounded(lo + (hi - lo) * rng.random(n)))
        # guarantee both characters somewhere (matters only for tiny instances)
        if not (shape > 1).any():
            shape[n - 1] = 2.0
        if not (carry > 0).any():
            carry[0] = 0.3
        max_uplift = np.maximum(rounded(reference[rp] * rng.uniform(0.15, 0.6, size=n)), 0.1)
        # best return on spend (see best_ad_return): stress around 1.2 (ads pay for about 60 % of the curves),
        # business around 2.0 with log-sd 0.45 (they pay for about 94 %); both keep a curve that never pays
        rho = rng.lognormal(math.log(1.2), 0.6, size=n) if self.stress else rng.lognormal(math.log(2.0), 0.45, size=n)
        if n >= 2 and (rho > 1).all():  # keep both cases in small instances too
            rho[int(np.argmin(rho))] = 0.7
        elif n >= 2 and (rho < 1).all():
            rho[int(np.argmax(rho))] = 1.6
        margin = self.price[rp] - self.unit_cost[rp]
        factor = np.array([hill_best_average(s) for s in shape]) / (1.0 - carry)
        half_sat = np.maximum(rounded(margin * max_uplift * factor / rho), 1.0)
        self.resp_p, self.resp_c = rp, rc
        self.resp_max, self.resp_k, self.resp_shape, self.resp_carry = max_uplift, half_sat, shape, carry
        budget = np.full(self.C, np.inf)
        if self.stress:
            # spend caps: search uncapped, other channels about 60 % of their half-saturation spend
            for c, ch in enumerate(channels):
                if ch.capped:
                    total_k = float(half_sat[rc == c].sum())
                    budget[c] = nice(0.6 * total_k, 10.0) if total_k > 0 else 100.0
            self.channel_budget = budget
            self.total_budget = nice(0.3 * float(half_sat.sum()) * self.H, 100.0)
            return
        # budgets sized to what pays: the steady spend that maximises each curve's margin minus spend;
        # capped channels allow 1.5 times their curves' sum per period (room to pulse), the total budget is
        # set in _draw_launch_terms, once the periods each product can sell are known
        self.resp_pays = profitable_spend(margin, max_uplift, half_sat, shape, carry)
        for c, ch in enumerate(channels):
            if ch.capped:
                budget[c] = nice(1.5 * float(self.resp_pays[rc == c].sum()), 10.0)
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
        self.launch_cost = np.where(self.is_new, rounded(self.expected_margin * factor, 0), 0.0)
        if not self.stress:  # the spend that pays on every curve in every period its product can sell
            selling = (H - earliest)[self.resp_p]
            self.total_budget = nice(float((self.resp_pays * selling).sum()), 100.0)
        # onboarding of new categories and brands
        self.cat_onboarding = np.zeros(self.n_cat)
        self.cat_min = np.zeros(self.n_cat, dtype=np.int64)
        for c in np.flatnonzero(self.cat_is_new):
            members = np.flatnonzero(self.cat == c)
            self.cat_onboarding[c] = nice(self.expected_margin[members].sum() * rng.uniform(0.05, 0.25), 100.0)
            self.cat_min[c] = max(1, int(math.floor(0.5 * len(members) + 0.5)))
        self.brand_onboarding = np.zeros(self.n_brand)
        self.brand_min = np.zeros(self.n_brand, dtype=np.int64)
        for b in np.flatnonzero(self.brand_is_new):
            members = np.flatnonzero(self.brand == b)
            self.brand_onboarding[b] = nice(self.expected_margin[members].sum() * rng.uniform(0.03, 0.15), 100.0)
            self.brand_min[b] = int(rng.integers(1, len(members) + 1)) if len(members) > 1 else 1
        # featured slots: a few per period
        base_slots = max(1, int(math.floor(0.04 * N + 0.5)))
        self.slots = base_slots + rng.integers(0, 2, size=H)
