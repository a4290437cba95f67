"""Synthetic scenarios: determinism, dimensions, clean validation and realistic structure.

The quick run (``-m "not slow"``) covers ``tiny`` and ``small``; everything that touches
``medium``, ``large`` or ``xlarge`` is marked ``slow`` (part of every plain ``pytest`` run).
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optsupply as ops
from optsupply.cli import main as cli_main
from optsupply.files import MARKER
from optsupply.scenario.generate import generate
from optsupply.scenario.generate_params import (LAYOUT, PROFILES, SIZES, bass_curve, bass_parameters, best_ad_return,
                                                hill_best_average, profitable_spend)
from tests.conftest import INSTANCES, ROOT

FAST_SIZES = ["tiny", "small"]
SLOW_SIZES = [pytest.param("medium", marks=pytest.mark.slow), pytest.param("large", marks=pytest.mark.slow),
              pytest.param("xlarge", marks=pytest.mark.slow)]  # xlarge: about 4 s to generate, 10 s to save
ALL_SIZES = FAST_SIZES + SLOW_SIZES


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory):
    """``size -> (folder written by save, scenario loaded back from it)``, generated once per module."""
    cache: dict[str, tuple[Path, ops.Scenario]] = {}

    def get(size: str) -> tuple[Path, ops.Scenario]:
        if size not in cache:
            folder = generate(size, seed=1).save(tmp_path_factory.mktemp(size) / "scenario")
            cache[size] = (folder, ops.Scenario.load(folder))
        return cache[size]

    return get


def file_bytes(folder: Path) -> dict[str, bytes]:
    """The scenario's files (not optsupply's .optsupply marker, which shipped instances never carry)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != MARKER}


def curve_by_age(sc: ops.Scenario) -> dict[str, np.ndarray]:
    """Launch curve of each new product summed over regions, ages 0..H-1 (unlisted ages are zero)."""
    lc = sc.launch_curve.groupby(["product", "age"])["demand"].sum()
    out = {}
    for product, s in lc.groupby(level=0):
        out[product] = s.droplevel(0).reindex(range(sc.periods), fill_value=0.0).to_numpy()
    return out


def is_rise_then_fall(v: np.ndarray) -> bool:
    """Weakly up to a peak after age 0, weakly down after it, and lower at the end than at the peak."""
    k = int(np.argmax(v))
    return 0 < k < len(v) - 1 and v[0] < v[k] and v[-1] < v[k] \
        and bool((np.diff(v[: k + 1]) >= 0).all()) and bool((np.diff(v[k:]) <= 0).all())


# --------------------------------------------------------------------------- sizes and determinism


def test_sizes_are_the_documented_dimensions() -> None:
    assert SIZES == {
        "tiny": {"products": 3, "warehouses": 2, "regions": 2, "periods": 6, "channels": 1},
        "xsmall": {"products": 6, "warehouses": 2, "regions": 3, "periods": 8, "channels": 2},  # benchmark size
        "small": {"products": 12, "warehouses": 2, "regions": 4, "periods": 12, "channels": 2},
        "medium": {"products": 60, "warehouses": 4, "regions": 12, "periods": 26, "channels": 3},
        "large": {"products": 250, "warehouses": 8, "regions": 25, "periods": 52, "channels": 4},
        "xlarge": {"products": 1000, "warehouses": 10, "regions": 40, "periods": 52, "channels": 4},  # not shipped
    }
    assert set(LAYOUT) == set(SIZES)


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    a = generate("tiny", seed=7).save(tmp_path / "a")
    b = generate("tiny", seed=7).save(tmp_path / "b")
    assert file_bytes(a) == file_bytes(b)


def test_same_seed_gives_identical_files_across_processes(tmp_path: Path) -> None:
    """Two fresh interpreters with different hash seeds write the same bytes (no set/dict order leaks)."""
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"small-{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-m", "optsupply", "generate", "--size", "small", "--seed", "3", str(out)],
                       check=True, cwd=ROOT, env=env, capture_output=True)
        outs.append(file_bytes(out))
    assert outs[0] == outs[1]
    assert {"scenario.toml", "products.csv", "demand.csv", "launch_curve.csv", "history.csv"} <= set(outs[0])


@pytest.mark.parametrize("size", FAST_SIZES)
def test_different_seeds_differ(size: str, tmp_path: Path) -> None:
    a = file_bytes(generate(size, seed=1).save(tmp_path / "a"))
    b = file_bytes(generate(size, seed=2).save(tmp_path / "b"))
    assert a["products.csv"] != b["products.csv"]
    assert a["demand.csv"] != b["demand.csv"]
    assert a["history.csv"] != b["history.csv"]


def test_cli_generate_writes_a_valid_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gen"
    assert cli_main(["generate", "--size", "tiny", "--seed", "5", str(out)]) == 0
    assert "wrote tiny scenario (seed 5)" in capsys.readouterr().out
    assert cli_main(["validate", str(out)]) == 0
    assert file_bytes(out) == file_bytes(generate("tiny", seed=5).save(tmp_path / "api"))


def test_bad_size_or_seed_is_a_usage_error() -> None:
    with pytest.raises(ops.UsageError, match="unknown size 'huge'"):
        generate("huge", seed=1)
    with pytest.raises(ops.UsageError, match="seed"):
        generate("tiny", seed=-1)


@pytest.mark.parametrize("size", ALL_SIZES)
def test_dimensions_match_sizes(size: str, saved) -> None:
    _, sc = saved(size)
    dims = SIZES[size]
    assert len(sc.products) == dims["products"]
    assert len(sc.warehouses) == dims["warehouses"]
    assert sc.periods == dims["periods"]
    assert len(sc.channels) == dims["channels"]
    regions = set(sc.lanes["region"])
    assert len(regions) == dims["regions"]
    assert set(sc.demand["region"]) == regions and set(sc.launch_curve["region"]) == regions
    assert sc.products["category"].nunique() == LAYOUT[size]["categories"]
    assert sc.products["brand"].nunique() == LAYOUT[size]["brands"]
    share_new = (sc.products["status"] == "new").mean()
    assert 0.25 <= share_new <= 0.40
    # every active product has demand rows; only rows of zero demand are left out of the full grid
    active = set(sc.products.loc[sc.products["status"] == "active", "product"])
    assert set(sc.demand["product"]) == active
    assert len(sc.demand) <= len(active) * dims["regions"] * dims["periods"]
    assert (sc.demand["demand"] > 0).mean() > 0.99


@pytest.mark.parametrize("size", ALL_SIZES)
def test_generated_scenario_loads_without_errors_or_warnings(size: str, saved) -> None:
    folder, sc = saved(size)
    report = ops.validate(folder)
    assert report.problems == []
    assert sc.warnings == []
    # the returned scenario and the one loaded back from its files are the same
    original = generate(size, seed=1)
    assert original.settings == sc.settings
    for name, df in original.tables():
        pd.testing.assert_frame_equal(df, getattr(sc, name), check_exact=True, obj=name)


# --------------------------------------------------------------------------- structure


def test_settings(saved) -> None:
    _, sc = saved("small")
    s = sc.settings
    assert s["horizon.start"] == "2027-01-04" and s["horizon.freq"] == "W-MON"
    assert 1 <= s["launch.max_per_period"] < sc.periods
    assert 0 < s["finance.max_inventory_value"] < math.inf
    assert 0 < s["advertising.total_budget"] < math.inf
    # generous: the stock owned at the start is worth far less than the cap
    cost = sc.products.set_index("product")["unit_cost"]
    owned = (sc.initial_stock["units"] * sc.initial_stock["product"].map(cost)).sum()
    assert owned <= 0.5 * s["finance.max_inventory_value"]
    for key in ("solver.time_limit", "solver.mip_gap", "solver.threads", "solver.seed"):
        assert s[key] is not None


@pytest.mark.parametrize("size", FAST_SIZES)
def test_response_curves_have_both_characters(size: str, saved) -> None:
    _, sc = saved(size)
    r = sc.response
    assert (r["shape"] > 1).any(), "some S-shaped response curves"
    assert (r["shape"] <= 1).any(), "some concave response curves"
    assert ((r["carryover"] > 0) & (r["carryover"] < 1)).any(), "some carryover"
    assert (r["half_saturation"] > 0).all() and (r["max_uplift"] > 0).all()


@pytest.mark.parametrize("size", ["small", pytest.param("medium", marks=pytest.mark.slow)])
def test_advertising_pays_for_some_products_not_all(size: str, saved) -> None:
    """The best steady-state return on ad spend is above 1 for some response rows and below 1 for others."""
    _, sc = saved(size)
    p = sc.products.set_index("product")
    r = sc.response
    margin = r["product"].map(p["price"] - p["unit_cost"]).to_numpy()
    ret = np.array([best_ad_return(m, row.max_uplift, row.half_saturation, row.shape, row.carryover)
                    for m, row in zip(margin, r.itertuples(), strict=True)])
    assert (ret > 1).any() and (ret < 1).any(), ret
    # the closed form of the Hill curve's best average agrees with a brute-force search
    u = np.linspace(1e-4, 20, 200_001)
    for s in (1.0, 1.5, 2.0, 3.0):
        assert hill_best_average(s) == pytest.approx(np.max(u ** (s - 1) / (1 + u ** s)), rel=1e-3)


@pytest.mark.parametrize("size", FAST_SIZES)
def test_every_region_has_lanes_priced_by_distance(size: str, saved) -> None:
    _, sc = saved(size)
    lanes = sc.lanes.groupby("region").size()
    assert len(lanes) == SIZES[size]["regions"]
    assert (lanes >= min(2, SIZES[size]["warehouses"])).all()
    assert (sc.lanes["cost_per_unit"] > 0).all()
    assert sc.lanes["cost_per_unit"].nunique() > 1
    assert set(sc.lanes["warehouse"]) == set(sc.warehouses["warehouse"]), "every warehouse serves a region"


@pytest.mark.parametrize("size", FAST_SIZES)
def test_launch_curves_rise_then_fall(size: str, saved) -> None:
    _, sc = saved(size)
    curves = curve_by_age(sc)
    assert set(curves) == set(sc.products.loc[sc.products["status"] == "new", "product"])
    for product, v in curves.items():
        assert is_rise_then_fall(v), (product, v)


def test_launch_curve_peaks_differ_between_categories(saved) -> None:
    _, sc = saved("small")
    category = sc.products.set_index("product")["category"]
    peaks: dict[str, set[int]] = {}
    for product, v in curve_by_age(sc).items():
        peaks.setdefault(category[product], set()).add(int(np.argmax(v)))
    assert len(peaks) >= 2
    assert all(len(v) == 1 for v in peaks.values()), "one Bass curve shape per category"
    assert len({min(v) for v in peaks.values()}) >= 2, peaks


def test_bass_parameters_put_the_peak_where_asked() -> None:
    ages = np.arange(40)
    for peak, ratio in ((1, 5.0), (4, 12.0), (11, 20.0)):
        p, q = bass_parameters(peak + 0.5, ratio)
        assert q / p == pytest.approx(ratio)
        assert int(np.argmax(bass_curve(ages, p, q))) == peak
        assert bass_curve(np.arange(10_000), p, q).sum() == pytest.approx(1.0)


@pytest.mark.parametrize("size", FAST_SIZES)
def test_new_products_have_curves_and_no_history(size: str, saved) -> None:
    _, sc = saved(size)
    new = set(sc.products.loc[sc.products["status"] == "new", "product"])
    assert new and not (new & set(sc.demand["product"])) and not (new & set(sc.history["product"]))
    assert new == set(sc.launch_curve["product"])
    assert (sc.launch_curve["age"] < sc.periods).all()
    assert (sc.launch_curve["demand_sd"] > 0).all() and (sc.demand["demand_sd"] > 0).any()


@pytest.mark.parametrize("size", FAST_SIZES)
def test_history_is_past_and_covers_active_products(size: str, saved) -> None:
    _, sc = saved(size)
    h = sc.history
    assert (h["period"] < 0).all()
    assert h["period"].min() == -LAYOUT[size]["history_periods"]
    active = set(sc.products.loc[sc.products["status"] == "active", "product"])
    assert set(h["product"]) == active
    assert (h["units"] == np.round(h["units"])).all()
    assert (h["ad_spend"] > 0).any()


def test_history_matches_the_forecast_level(saved) -> None:
    """Products with long history sell in the past about what demand.csv forecasts (same level and season)."""
    _, sc = saved("small")
    hist = sc.history.groupby("product")["units"].mean() * sc.history["region"].nunique()
    first = sc.history.groupby("product")["period"].min()
    mature = first[first == first.min()].index
    fc = sc.demand.groupby("product")["demand"].sum() / sc.periods
    ratio = hist[mature] / fc[mature]
    assert len(mature) >= 3
    # levels span a wide range across products, yet history and forecast agree per product
    assert fc[mature].max() / fc[mature].min() > 2
    assert np.corrcoef(np.log(hist[mature]), np.log(fc[mature]))[0, 1] > 0.8
    assert ratio.between(0.5, 2.0).all(), ratio


def test_history_shows_take_off_of_recent_launches(saved) -> None:
    """Analogs: active products launched inside the history window, rising then falling like a Bass curve."""
    _, sc = saved("small")
    h = sc.history.groupby(["product", "period"])["units"].sum()
    first = h.reset_index().groupby("product")["period"].min()
    analogs = first[first > -LAYOUT["small"]["history_periods"]].index
    assert len(analogs) >= 1
    new_categories = set(sc.products.loc[sc.products["status"] == "new", "category"])
    analog_categories = set(sc.products.set_index("product").loc[analogs, "category"])
    assert new_categories & analog_categories, "some new products have an analog in their category"
    # aligned by age and normalised, the take-off peaks after the launch period and then declines
    rows = []
    for p in analogs:
        s = h[p].to_numpy()
        assert len(s) >= 4, "history from the launch to at least two periods past the peak"
        rows.append(s[:4] / s.sum())
    mean = np.mean(rows, axis=0)
    k = int(np.argmax(mean))
    assert mean[0] < mean[k]
    assert all(h[p].iloc[-1] < h[p].max() for p in analogs)


@pytest.mark.parametrize("size", FAST_SIZES)
def test_supply_terms(size: str, saved) -> None:
    _, sc = saved(size)
    s = sc.supply
    assert s["lead_time"].between(0, 4).all() and (s["lead_time"] < sc.periods).all()
    assert set(s["product"]) == set(sc.products["product"])
    assert (s["min_order"] <= s["max_order"]).all()
    assert (s["order_cost"] > 0).all()
    if size == "small":
        assert (s["min_order"] > 0).any() and np.isfinite(s["max_order"]).any() and np.isinf(s["max_order"]).any()
        assert (s["activation_cost"] > 0).any() and (s["activation_cost"] == 0).any()
        assert s["lead_time"].nunique() > 1


@pytest.mark.parametrize("size", FAST_SIZES)
def test_product_economics(size: str, saved) -> None:
    _, sc = saved(size)
    p = sc.products
    margin = 1 - p["unit_cost"] / p["price"]
    assert margin.between(0.19, 0.61).all()
    # holding 0.4-0.6 % of unit cost per week (20-30 % a year); leftover stock valued at 85-95 % of cost
    ratio = p["holding_cost"] / p["unit_cost"]
    assert ratio.between(0.0039, 0.0061).all()
    assert (p["salvage_value"] < p["unit_cost"]).all()
    assert (p["salvage_value"] / p["unit_cost"]).between(0.84, 0.96).all()
    assert p["featured_lift"].between(0.1, 0.5).all()
    new = p[p["status"] == "new"]
    assert (new["launch_cost"] > 0).all()
    assert (new["launch_earliest"] <= new["launch_latest"]).all()
    assert (p["volume"] > 0).all() and p["volume"].nunique() > 1
    if size == "small":
        assert (p["lost_sale_cost"] > 0).any() and (p["lost_sale_cost"] == 0).any()
        assert p["must_launch"].any()
        assert not p.loc[p["status"] == "active", "must_launch"].any()


@pytest.mark.parametrize("size", FAST_SIZES)
def test_new_categories_and_brands_have_onboarding_terms(size: str, saved) -> None:
    _, sc = saved(size)
    p = sc.products
    for table, key in ((sc.categories, "category"), (sc.brands, "brand")):
        all_new = p.groupby(key)["status"].agg(lambda s: (s == "new").all())
        new_ids = set(all_new[all_new].index)
        assert set(table[key]) == new_ids
        counts = p.groupby(key).size()
        for _, row in table.iterrows():
            assert row["onboarding_cost"] > 0
            assert 1 <= row["min_products"] <= counts[row[key]]
    if size == "small":
        assert len(sc.categories) >= 1 and len(sc.brands) >= 1
        # a must-launch product never forces a minimum number of launches elsewhere
        must = p[p["must_launch"]]
        assert not must["category"].isin(sc.categories["category"]).any()
        assert not must["brand"].isin(sc.brands["brand"]).any()


@pytest.mark.parametrize("size", FAST_SIZES)
def test_seasonality_slots_and_capacities(size: str, saved) -> None:
    _, sc = saved(size)
    H = sc.periods
    season = sc.seasonality
    assert set(season["category"]) == set(sc.products["category"])
    assert len(season) == H * sc.products["category"].nunique()
    assert (season["index"] > 0).all() and season.groupby("category")["index"].std().gt(0).all()
    assert list(sc.slots["period"]) == list(range(H)) and (sc.slots["slots"] >= 1).all()
    assert np.isfinite(sc.warehouses["storage_capacity"]).all()
    assert np.isfinite(sc.warehouses["throughput_capacity"]).all()
    # stock owned at the start uses at most half of each warehouse's storage (always feasible)
    vol = sc.products.set_index("product")["volume"]
    owned = pd.concat([sc.initial_stock[["product", "warehouse", "units"]],
                       sc.pipeline[["product", "warehouse", "units"]]])
    used = (owned["units"] * owned["product"].map(vol)).groupby(owned["warehouse"]).sum()
    cap = sc.warehouses.set_index("warehouse")["storage_capacity"]
    assert (used <= 0.5 * cap[used.index] + 1e-9).all()


# --------------------------------------------------------------------------- shipped instances (slow)


@pytest.mark.slow
@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_shipped_instances_are_seed_1(size: str, tmp_path: Path) -> None:
    shipped = INSTANCES / size
    assert file_bytes(shipped) == file_bytes(generate(size, seed=1).save(tmp_path / size))


@pytest.mark.slow
def test_large_loads_within_budget() -> None:
    """Loading + validating instances/large takes at most 3 s and 1 GB (see benchmarks/load_validate.py).

    CPU time is asserted, not wall time, so that other work on a shared machine does not fail the test.
    The child's own peak memory is read from /proc (VmHWM): on Linux ``ru_maxrss`` of a process started
    by fork and exec also counts the peak of the process it was forked from, here the test run itself.
    """
    code = ("import resource, time; import optsupply as ops; c = time.process_time(); "
            "ops.Scenario.load('instances/large'); s = time.process_time() - c; "
            "hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')] "
            "if __import__('os').path.exists('/proc/self/status') else []; "
            "print(s, hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    best = math.inf
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True)
        seconds, rss_kb = out.stdout.split()
        best = min(best, float(seconds))
        assert int(rss_kb) < 1024 * 1024
    assert best <= 3.0


# --------------------------------------------------------------------------- profiles: business (default) and stress

#: sha256 of the files (name, NUL, bytes, NUL, in name order) written by the generator before the business profile
#: existed; profile "stress" must keep writing exactly these bytes.
STRESS_HASHES = {
    ("tiny", 1): "2fa847337aaaa74b9859795710f6d71b118c1fca59523eaf2cd1458d4e02661e",
    ("tiny", 7): "a28c9f40107f1f3f5556131f83e714b5906ca760d6e3ecb2aa43448f11e55c98",
    ("xsmall", 3): "53c319cec221f07f00721266c0d1136f2c0e973c5754bd2dea8c26f9bba70355",
    ("small", 1): "a53e0ce568056dfaf9f0723888a0cd250514506c6fc6d987c2f2171858f50d5b",
    ("small", 2): "fb935f428c0d820367d997b04692a88f04f57a59829816e4f6d1fb99e1486098",
    ("medium", 1): "17ce00c4f59c6d49bcbf9ad18462ba1f21151fade4098ecdf212f90c04aa2b57",
    ("large", 1): "3583f25cdd3da16718c41c2cf14de27fa7164aa1d10d1c5e6734949a7637647a",
}


def files_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for name, data in file_bytes(folder).items():
        h.update(name.encode() + b"\0" + data + b"\0")
    return h.hexdigest()


@pytest.mark.parametrize("size, seed", [k if k[0] in FAST_SIZES + ["xsmall"] else pytest.param(*k, marks=pytest.mark.slow)
                                        for k in STRESS_HASHES])
def test_stress_profile_writes_the_earlier_bytes(size: str, seed: int, tmp_path: Path) -> None:
    assert files_hash(generate(size, seed, profile="stress").save(tmp_path / "s")) == STRESS_HASHES[size, seed]


def test_profiles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert PROFILES == ("business", "stress")
    default = file_bytes(generate("small", 1).save(tmp_path / "default"))
    assert default == file_bytes(generate("small", 1, profile="business").save(tmp_path / "business"))
    assert default != file_bytes(generate("small", 1, profile="stress").save(tmp_path / "stress"))
    assert cli_main(["generate", "--size", "tiny", "--seed", "7", "--profile", "stress", str(tmp_path / "cli")]) == 0
    assert "wrote tiny scenario (seed 7, profile stress)" in capsys.readouterr().out
    assert files_hash(tmp_path / "cli") == STRESS_HASHES["tiny", 7]
    with pytest.raises(ops.UsageError, match="unknown profile 'easy'"):
        generate("tiny", 1, profile="easy")


def ad_returns(sc: ops.Scenario) -> np.ndarray:
    p = sc.products.set_index("product")
    r = sc.response
    margin = r["product"].map(p["price"] - p["unit_cost"]).to_numpy()
    return np.array([best_ad_return(m, row.max_uplift, row.half_saturation, row.shape, row.carryover)
                     for m, row in zip(margin, r.itertuples(), strict=True)])


def reachable_demand_share(sc: ops.Scenario) -> float:
    """Share of all base demand (demand.csv and launch_curve.csv) of product-region pairs that some lane can serve
    from a warehouse where the product can be stocked."""
    d = pd.concat([sc.demand[["product", "region", "demand"]], sc.launch_curve[["product", "region", "demand"]]])
    d = d.groupby(["product", "region"], as_index=False)["demand"].sum()
    reach = sc.supply[["product", "warehouse"]].merge(sc.lanes[["warehouse", "region"]], on="warehouse")
    pairs = set(zip(reach["product"], reach["region"], strict=True))
    ok = np.array([(p, r) in pairs for p, r in zip(d["product"], d["region"], strict=True)])
    return float(d.loc[ok, "demand"].sum() / d["demand"].sum())


@pytest.mark.parametrize("size", ["small", pytest.param("medium", marks=pytest.mark.slow),
                                  pytest.param("large", marks=pytest.mark.slow)])
def test_business_profile_looks_like_a_business(size: str, saved) -> None:
    _, sc = saved(size)
    ret = ad_returns(sc)
    assert (ret > 1).mean() >= 0.8, "most response curves can pay"
    assert (ret < 1).any(), "but not every one"
    assert 0 < (sc.response["shape"] > 1).mean() <= 0.3, "S-shaped curves are a minority"
    assert not (sc.response.loc[sc.response["channel"] == "search", "shape"] > 1).any() or size == "tiny"
    assert reachable_demand_share(sc) == 1.0, "every region's demand can be reached by a lane"
    # active products: the warehouses they are stocked in today reach every region with demand
    today = sc.supply[sc.supply["activation_cost"] == 0][["product", "warehouse"]]
    reach = today.merge(sc.lanes[["warehouse", "region"]], on="warehouse")
    served = set(zip(reach["product"], reach["region"], strict=True))
    assert all((p, r) in served for p, r in sc.demand[["product", "region"]].drop_duplicates().itertuples(index=False))
    # the total budget is what pays: the profit-maximising steady spend of each curve while its product can sell
    p = sc.products.set_index("product")
    r = sc.response
    pays = profitable_spend((r["product"].map(p["price"] - p["unit_cost"])).to_numpy(), r["max_uplift"].to_numpy(),
                            r["half_saturation"].to_numpy(), r["shape"].to_numpy(), r["carryover"].to_numpy())
    assert (pays[ret < 1] == 0).all() and (pays[ret > 1.05] > 0).all()
    selling = sc.periods - r["product"].map(p["launch_earliest"]).to_numpy()
    total = float((pays * selling).sum())
    assert total <= sc.settings["advertising.total_budget"] <= total + 100.0
    # leftover stock is valued near cost, stock costs 20-30 % of its cost a year to hold
    assert (p["salvage_value"] / p["unit_cost"]).between(0.84, 0.96).all()
    assert (p["holding_cost"] / p["unit_cost"] * 52).between(0.2, 0.32).all()


def test_profitable_spend_against_the_closed_form() -> None:
    """A concave Hill curve (s = 1): margin · M · e / (e + k) − (1 − c) e is largest at e = k (√ρ − 1), ρ = m M / (k (1 − c))."""
    m, M, k, c = np.array([10.0, 10.0, 2.0]), np.array([50.0, 50.0, 5.0]), np.array([100.0, 100.0, 50.0]), \
        np.array([0.0, 0.4, 0.2])
    rho = m * M / (k * (1 - c))
    expect = np.where(rho > 1, (1 - c) * k * (np.sqrt(rho) - 1), 0.0)
    got = profitable_spend(m, M, k, np.ones(3), c)
    assert got == pytest.approx(expect, rel=2e-3)
    assert got[2] == 0.0  # ρ = 0.25: advertising never pays


@pytest.mark.parametrize("size", FAST_SIZES)
def test_business_fixed_costs_follow_volumes(size: str, saved) -> None:
    """Order costs from the EOQ convention: EOQ = sqrt(2 D S / h) is 2-6 periods of the pair's typical demand D,
    so S = h c² D / 2 with c in [2, 6]; lane fixed costs are 10-30 % of the lane's variable cost at its region's
    typical volume. D is rebuilt from the tables: an active product's mean demand per period in the horizon, a
    new product's mean launch curve over its first H/2 ages, shared equally by its warehouses."""
    _, sc = saved(size)
    H = sc.periods
    p = sc.products.set_index("product")
    typical = (sc.demand.groupby("product")["demand"].sum() / H).reindex(p.index)
    lc = sc.launch_curve[sc.launch_curve["age"] < max(1, H // 2)].groupby("product")["demand"].sum() / max(1, H // 2)
    typical = typical.fillna(lc).clip(lower=0.05)
    s = sc.supply
    D = s["product"].map(typical) / s["product"].map(s.groupby("product").size())
    hD = s["product"].map(p["holding_cost"]) * D
    S = s["order_cost"]
    assert (S >= 1).all()
    assert ((S <= 18 * hD * 1.05 + 0.5) | (S == 1)).all(), (S / hD).max()
    assert ((S >= 2 * hD * 0.95 - 0.5) | (S == 1)).all(), (S / hD).min()
    # lane fixed costs: 10-30 % of cost_per_unit × the region's typical volume per period
    vol = p["volume"]
    region_volume = (sc.demand.assign(v=sc.demand["product"].map(vol) * sc.demand["demand"]).groupby("region")["v"]
                     .sum() / H)
    fixed = sc.lanes[sc.lanes["fixed_cost"] > 0]
    assert len(fixed) > 0
    ratio = fixed["fixed_cost"] / (fixed["cost_per_unit"] * fixed["region"].map(region_volume))
    assert (ratio > 0.02).all() and (ratio < 1.0).all(), ratio  # active demand only: new products add to the volume


def test_stress_product_economics() -> None:
    """Profile stress keeps its own ranges: holding 1-3 % of cost per period, salvage 20-60 % of cost."""
    p = generate("small", 1, profile="stress").products
    assert (p["holding_cost"] / p["unit_cost"]).between(0.009, 0.031).all()
    assert (p["salvage_value"] / p["unit_cost"]).between(0.19, 0.61).all()
