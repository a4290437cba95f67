"""The forecast orchestrator, its outputs, odd history and the `optsupply forecast` command."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optsupply as ops
from optsupply.cli import main
from optsupply.forecasting import backtest as bt
from optsupply.scenario.generate import generate
from optsupply.plan.check import check_plan

FORECAST_TABLES = ["demand", "launch_curve", "seasonality", "response"]


@pytest.fixture(scope="module")
def small():
    return generate("small", seed=3)


@pytest.fixture(scope="module")
def small_fc(small):
    return ops.forecast(small)


def _no_nan(df: pd.DataFrame, cols: list[str]) -> None:
    for c in cols:
        assert np.isfinite(df[c].to_numpy(dtype="float64")).all(), c


def test_forecast_tables_are_complete_and_valid(small, small_fc) -> None:
    fc = small_fc
    H = small.periods
    active = set(small.products.loc[small.products["status"] == "active", "product"])
    new = set(small.products.loc[small.products["status"] == "new", "product"])
    assert set(fc.demand["product"]) == active
    assert set(fc.launch_curve["product"]) == new
    assert fc.demand["period"].between(0, H - 1).all()
    assert set(fc.seasonality["category"]) == set(small.products["category"])
    assert sorted(fc.seasonality["period"].unique()) == list(range(H))
    _no_nan(fc.demand, ["demand", "demand_sd"])
    _no_nan(fc.launch_curve, ["demand", "demand_sd"])
    _no_nan(fc.seasonality, ["index"])
    assert (fc.demand["demand"] >= 0).all() and (fc.launch_curve["demand"] >= 0).all()
    # the forecast scenario is the input with exactly these tables replaced
    for name, df in small.tables():
        if name not in FORECAST_TABLES:
            pd.testing.assert_frame_equal(getattr(fc.scenario, name), df)
    assert set(fc.explain["product"]) == new


def test_forecast_is_close_to_the_generating_demand(small, small_fc) -> None:
    """The generator's demand.csv is the expected demand behind the history: an independent oracle."""
    truth = small.demand.groupby("product")["demand"].sum()
    ours = small_fc.demand.groupby("product")["demand"].sum()
    rel = (ours.reindex(truth.index) - truth).abs().sum() / truth.sum()
    assert rel < 0.25, rel


def test_forecast_scenario_solves_to_a_checked_plan() -> None:
    sc = generate("xsmall", seed=2)
    fc = ops.forecast(sc, backtest=False)
    plan = ops.solve(fc.scenario, time_limit=60, threads=1)
    assert plan.kpis["status"] in ("optimal", "time_limit")
    assert check_plan(fc.scenario, plan) == []


def test_save_writes_a_loadable_scenario_and_reports(tmp_path, small_fc) -> None:
    out = small_fc.save(tmp_path / "fc")
    again = ops.Scenario.load(out)
    pd.testing.assert_frame_equal(again.demand, small_fc.demand, check_exact=False, rtol=1e-9)
    for name in ["bass_fits.csv", "forecast_explain.csv", "response_fits.csv", "backtest.csv",
                 "backtest_summary.csv", "notes.csv"]:
        assert (out / "forecast" / name).is_file(), name
    with pytest.raises(ops.UsageError, match="already exists"):
        small_fc.save(out)
    small_fc.save(out, force=True)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_cli_forecast_never_touches_the_scenario(tmp_path, capsys) -> None:
    src = generate("xsmall", seed=1).save(tmp_path / "sc")
    before = _digest(src)
    assert main(["forecast", str(src), "--out", str(src)]) == 2  # its own folder: refused, even with --force
    assert main(["forecast", str(src), "--out", str(src), "--force"]) == 2
    assert main(["forecast", str(src), "--out", str(tmp_path / "fc")]) == 0
    out = capsys.readouterr()
    assert "backtest" in out.out and "optsupply solve" in out.out
    assert "Traceback" not in out.err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    assert main(["forecast", str(src), "--out", str(tmp_path / "other")]) == 2
    assert (tmp_path / "other" / "keep.txt").read_text() == "mine"
    assert _digest(src) == before
    assert main(["solve", str(tmp_path / "fc"), "--out", str(tmp_path / "plan"), "--time-limit", "30", "-q"]) == 0


def test_cli_forecast_without_history_is_a_clear_error(tmp_path, capsys) -> None:
    sc = generate("xsmall", seed=1)
    src = sc.with_tables({"history": sc.history.iloc[0:0]}).save(tmp_path / "nohist")
    assert main(["forecast", str(src), "--out", str(tmp_path / "y")]) == 2
    err = capsys.readouterr().err
    assert "no history" in err and "Traceback" not in err
    assert not (tmp_path / "y").exists()


def test_odd_history_gets_notes_and_fallbacks_never_nan() -> None:
    sc = generate("small", seed=1)
    h = sc.history.copy()
    active = sc.products.loc[sc.products["status"] == "active", "product"].tolist()
    mature = [p for p in active if h.loc[h["product"] == p, "period"].min() == h["period"].min()]
    gap_p, zero_p, single_p, none_p = mature[:4]
    h = h[~((h["product"] == gap_p) & h["period"].between(-30, -20))]          # a gap
    h.loc[h["product"] == zero_p, "units"] = 0.0                                 # an all-zero series
    keep_one = (h["product"] == single_p) & (h["period"] == -1)
    h = h[(h["product"] != single_p) | keep_one]                                 # a single period
    h = h[h["product"] != none_p]                                                # no history at all
    odd = sc.with_tables({"history": h.reset_index(drop=True)})
    fc = ops.forecast(odd)
    notes = fc.notes
    by = {p: " ".join(notes.loc[notes["product"] == p, "message"]) for p in (gap_p, zero_p, single_p, none_p)}
    assert "missing" in by[gap_p]
    assert "zero" in by[zero_p]
    assert "single" in by[single_p]
    assert "without history" in by[none_p]
    assert (notes.loc[notes["product"] == gap_p, "row"].dropna() >= 2).all()
    _no_nan(fc.demand, ["demand", "demand_sd"])
    assert fc.demand.loc[fc.demand["product"] == zero_p, "demand"].sum() == 0.0
    # the product without history keeps the planner's rows
    pd.testing.assert_frame_equal(
        fc.demand[fc.demand["product"] == none_p].reset_index(drop=True),
        sc.demand[sc.demand["product"] == none_p].reset_index(drop=True), check_exact=False, rtol=1e-12)


def test_summary_wape_and_bias_by_hand() -> None:
    cells = pd.DataFrame({
        "test": "t", "method": ["optsupply"] * 3 + ["base"] * 3, "product": "P", "region": "R",
        "origin": pd.NA, "period": [0, 1, 2] * 2, "age": pd.NA,
        "actual": [10.0, 20.0, 10.0] * 2, "forecast": [12.0, 18.0, 10.0, 0.0, 20.0, 30.0]})
    s = bt.summarise(cells).set_index("method")
    assert s.loc["optsupply", "wape"] == pytest.approx(4 / 40)
    assert s.loc["optsupply", "bias"] == pytest.approx(0.0)
    assert s.loc["base", "wape"] == pytest.approx(30 / 40)
    assert s.loc["base", "bias"] == pytest.approx(10 / 40)


def test_backtests_compare_the_same_cells(small_fc) -> None:
    cells = small_fc.backtest
    assert set(cells["test"]) == {"cold_start", "rolling_origin"}
    for test, g in cells.groupby("test"):
        keys = [tuple(x) for x in g[["product", "region", "period"]].astype(str).to_numpy()]
        methods = g["method"].unique()
        assert len(methods) == 2
        per = [sorted(k for k, m in zip(keys, g["method"], strict=True) if m == meth) for meth in methods]
        assert per[0] == per[1]
    # the cold-start actuals are the product's own history totals
    cs = cells[(cells["test"] == "cold_start") & (cells["method"] == "optsupply")]
    h = small_fc.scenario.history.groupby(["product", "period"])["units"].sum()
    for r in cs.head(10).itertuples():
        assert r.actual == pytest.approx(h.get((r.product, r.period), 0.0))


@pytest.mark.parametrize("edit, column, words", [
    (lambda h: h.assign(units=np.where(np.arange(len(h)) == 5, -3.0, h["units"])), "units", "negative"),
    (lambda h: h.assign(product=np.where(np.arange(len(h)) == 7, "P999", h["product"])), "product", "P999"),
])
def test_cli_forecast_bad_history_names_file_row_column(tmp_path, capsys, edit, column, words) -> None:
    src = generate("xsmall", seed=1).save(tmp_path / "sc")
    h = pd.read_csv(src / "history.csv")
    bad = edit(h)
    bad.to_csv(src / "history.csv", index=False)
    before = _digest(src)
    assert main(["forecast", str(src), "--out", str(tmp_path / "fc")]) == 2
    err = capsys.readouterr().err
    row = 7 if column == "units" else 9  # data row i is spreadsheet row i + 2
    assert f"history.csv, row {row}, column {column}" in err and words in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "fc").exists()
    assert _digest(src) == before
