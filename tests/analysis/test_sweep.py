"""Sweeps of what-if variants: --set parsing, sweep files, parallel solving, dead workers, the whatif CLI.

Oracles come from outside the sweep code: cold ``optsupply.solve`` of each
variant in this process, hand-computed cell values from the tiny instance's
CSV files, and the independent plan checker (:func:`optsupply.plan.check.check_plan`).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import optsupply as ops
from optsupply.errors import UsageError
from optsupply.analysis.sweep import RESULT_COLUMNS, sweep
from optsupply.analysis.sweep_workers import solve_variant
from optsupply.cli.whatif import add_parser
from optsupply.scenario.changes import Variant, format_changes, merge_changes, parse_set
from optsupply.scenario.sweep_file import load_sweep
from optsupply.plan.check import check_plan
from tests.conftest import INSTANCES

TINY = INSTANCES / "tiny"
OPTS = {"mip_gap": 0.0, "threads": 1, "time_limit": 60}

# Tiny variants: base, three valid changes, one invalid (negative price).
VARIANTS = [
    Variant("base", {}),
    Variant("P2 dearer", {"products.price": {"P2": "*1.2"}}),
    Variant("slow P2", {"supply.lead_time": {("P2", "W1"): "+1"}, "advertising.total_budget": 100}),
    Variant("costly lanes", {"lanes.cost_per_unit": "*3"}),
    Variant("bad price", {"products.price": {"P2": -3}}),
]


# ----------------------------------------------------------------------------- test seams (run in workers)


def exit_task(payload: dict) -> dict:
    """Kill the worker process for variants named boom-*: ``boom-always`` every time,
    ``boom-once`` on its first attempt only; solve the others normally."""
    name = payload["name"]
    if name == "boom-always" or (name == "boom-once" and payload["attempt"] == 0):
        time.sleep(0.3)   # likely die while the other worker is busy; the assertions hold for any interleaving
        os._exit(1)
    return solve_variant(payload)


def lock_task(payload: dict) -> dict:
    """``dies-holding-lock`` takes Pyomo's capture lock (held while Pyomo hands a model to HiGHS) and
    kills its worker without releasing it, as a worker killed mid-solve would. Every other variant
    first checks that it can take that lock (within 5 s), then solves."""
    from pyomo.common import dependencies

    if not dependencies.capture_output_lock.acquire(timeout=5):
        raise RuntimeError("Pyomo's capture lock is held by another (dead) process")
    if payload["name"] == "dies-holding-lock":
        os._exit(1)
    dependencies.capture_output_lock.release()
    return solve_variant(payload)


def raise_task(payload: dict) -> dict:
    """Raise (an ordinary exception, the worker survives) for ``raises``; solve the others."""
    if payload["name"] == "raises":
        raise RuntimeError(f"task failed on attempt {payload['attempt']}")
    return solve_variant(payload)


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def tiny() -> ops.Scenario:
    return ops.Scenario.load(TINY)


def cold_solve(sc: ops.Scenario) -> ops.Plan:
    """The oracle: optsupply.solve in this process (HiGHS's scheduler reset first, since
    other tests may have solved with another thread count in this process)."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    return ops.solve(sc, **OPTS)


@pytest.fixture(scope="module")
def oracle(tiny: ops.Scenario) -> dict[str, dict]:
    out = {}
    for v in VARIANTS[:4]:
        out[v.name] = cold_solve(tiny.with_changes(v.changes)).kpis
    return out


def assert_matches_oracle(table: pd.DataFrame, oracle: dict[str, dict]) -> None:
    assert list(table["name"]) == [v.name for v in VARIANTS]
    assert list(table.columns[:len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    for name, kpis in oracle.items():
        row = table.set_index("name").loc[name]
        assert row["status"] == kpis["status"] == "optimal"
        assert row["profit"] == pytest.approx(kpis["profit"], rel=1e-7, abs=1e-6)
        assert row["revenue"] == pytest.approx(kpis["revenue"], rel=1e-7, abs=1e-6)
        assert row["cost_transport"] == pytest.approx(kpis["costs"]["transport"], rel=1e-7, abs=1e-6)
        assert row["fill_rate"] == pytest.approx(kpis["fill_rate"], abs=1e-9)
        assert row["launched"] == kpis["launched"]
        assert pd.isna(row["error"])
    bad = table.set_index("name").loc["bad price"]
    assert bad["status"] == "invalid" and pd.isna(bad["profit"])
    assert "products.csv" in bad["error"] and "price" in bad["error"] and "-3" in bad["error"]


def check_plans(tiny: ops.Scenario, out: Path, table: pd.DataFrame) -> None:
    solved = table[table["status"] == "optimal"]
    assert len(solved) >= 1
    for v in VARIANTS:
        row = table.set_index("name").loc[v.name]
        if row["status"] != "optimal":
            assert pd.isna(row["folder"])
            continue
        plan = ops.Plan.load(out / row["folder"])
        assert plan.kpis["profit"] == pytest.approx(row["profit"], rel=1e-9)
        assert check_plan(tiny.with_changes(v.changes), plan) == []
    back = pd.read_csv(out / "results.csv")
    assert list(back["name"]) == list(table["name"])
    assert list(back["status"]) == list(table["status"])


# ----------------------------------------------------------------------------- parse_set


@pytest.mark.parametrize("expr, expected", [
    ("products.price[P1]=*0.9", ("products.price", {"P1": "*0.9"})),
    ("products.price[ P1 ] = 24", ("products.price", {"P1": 24})),
    ("supply.lead_time[P1/W2]=+1", ("supply.lead_time", {("P1", "W2"): "+1"})),
    ("supply.lead_time[P1,W2]=-1", ("supply.lead_time", {("P1", "W2"): "-1"})),
    ("demand.demand[P1/R1/3]=*2", ("demand.demand", {("P1", "R1", "3"): "*2"})),
    ("lanes.capacity[W1/R1]=inf", ("lanes.capacity", {("W1", "R1"): math.inf})),
    ("products.price=*1.1", ("products.price", "*1.1")),
    ("products.must_launch[P2]=true", ("products.must_launch", {"P2": True})),
    ("products.category[P1]=12", ("products.category", {"P1": "12"})),     # text column: stays text
    ("advertising.total_budget=5000", ("advertising.total_budget", 5000)),
    ("advertising.total_budget=2.5e3", ("advertising.total_budget", 2500.0)),
    ("launch.max_per_period=2", ("launch.max_per_period", 2)),
    ("horizon.start=2027-02-01", ("horizon.start", "2027-02-01")),
    ("currency=USD", ("currency", "USD")),
])
def test_parse_set_forms(expr: str, expected: tuple) -> None:
    assert parse_set(expr) == expected


@pytest.mark.parametrize("expr, says", [
    ("products.price[P1]", "has no '=VALUE'"),
    ("products.prize[P1]=3", "no column 'prize' (did you mean 'price'?)"),
    ("prodcts.price=3", "did you mean 'products.price'?"),
    ("advertising.budget=3", "did you mean 'advertising.total_budget'?"),
    ("supply.lead_time[P1]=3", "product/warehouse: write supply.lead_time[PRODUCT/WAREHOUSE]"),
    ("products.price[P1/W1]=3", "identified by product"),
    ("products.price[P1]=abc", "'abc' is not a number, *FACTOR, +DELTA, -DELTA or inf"),
    ("products.price[P1]=--5", "is not a number"),
    ("products.price[P1]=*inf", "must be a finite number"),
    ("products.price[P1]=", "no value after '='"),
    ("products.product[P1]=P9", "key column"),
    ("advertising.total_budget[X]=3", "takes no [KEY]"),
    ("products=3", "name its column"),
    ("products.must_launch[P2]=maybe", "not true or false"),
    ("=3", "nothing before '='"),
    ("price 3", "has no '=VALUE'"),
])
def test_parse_set_errors_say_what_is_wrong(expr: str, says: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_set(expr)
    assert says in str(err.value)
    assert repr(expr) in str(err.value)            # the message quotes the expression


def test_parse_set_error_shows_the_expected_form() -> None:
    with pytest.raises(UsageError, match=r"expected TABLE\.COLUMN\[KEY\]=VALUE, TABLE\.COLUMN=VALUE .* section\.key=VALUE"):
        parse_set("products.price[P1]")


def test_merge_several_sets_of_one_column() -> None:
    changes = merge_changes(parse_set(e) for e in ["products.price[P1]=*0.9", "products.price[P2]=30",
                                                   "advertising.total_budget=100", "products.price[P1]=*0.9"])
    assert changes == {"products.price": {"P1": "*0.9", "P2": 30}, "advertising.total_budget": 100}
    assert format_changes(changes) == "products.price[P1]=*0.9; products.price[P2]=30; advertising.total_budget=100"
    with pytest.raises(UsageError, match=r"products.price\[P1\] is set twice: to \*0.9 and to 20"):
        merge_changes(parse_set(e) for e in ["products.price[P1]=*0.9", "products.price[P1]=20"])
    with pytest.raises(UsageError, match="both for every row and for single rows"):
        merge_changes(parse_set(e) for e in ["products.price=*0.9", "products.price[P1]=20"])


def test_parsed_changes_apply_as_computed_by_hand(tiny: ops.Scenario) -> None:
    """Oracle: the tiny CSVs (P1 price 10, P2 price 20, P2/W1 lead time 1, W1/R1 capacity inf, budget 500)."""
    sets = ["products.price[P1]=*0.9", "products.price[P2]=+5", "supply.lead_time[P2/W1]=+1",
            "lanes.capacity[W1,R2]=7.5", "products.must_launch[P3]=true", "advertising.total_budget=-100",
            "products.holding_cost=*2"]
    v = tiny.with_changes(Variant.from_sets(None, sets).changes)
    price = v.products.set_index("product")["price"]
    assert price["P1"] == pytest.approx(9.0) and price["P2"] == pytest.approx(25.0) and price["P3"] == 15
    lead = v.supply.set_index(["product", "warehouse"])["lead_time"]
    assert lead[("P2", "W1")] == 2 and lead[("P3", "W1")] == 1
    cap = v.lanes.set_index(["warehouse", "region"])["capacity"]
    assert cap[("W1", "R2")] == 7.5 and math.isinf(cap[("W1", "R1")])
    assert bool(v.products.set_index("product")["must_launch"]["P3"]) is True
    assert v.settings["advertising.total_budget"] == pytest.approx(400.0)
    assert list(v.products["holding_cost"]) == pytest.approx([1.0, 2.0, 2.0])
    assert tiny.products.set_index("product")["price"]["P1"] == 10   # the base is untouched


# ----------------------------------------------------------------------------- sweep files


def test_load_sweep_csv(tmp_path: Path) -> None:
    f = tmp_path / "variants.csv"
    f.write_text("name,products.price[P1],supply.lead_time[P2/W1],advertising.total_budget\n"
                 "base,,,\n"
                 "cheap P1,*0.9,,\n"
                 ",,+1,300\n"
                 ",,,\n", encoding="utf-8")
    vs = load_sweep(f)
    assert vs == [Variant("base", {}), Variant("cheap P1", {"products.price": {"P1": "*0.9"}}),
                  Variant("supply.lead_time[P2/W1]=+1; advertising.total_budget=300",
                          {"supply.lead_time": {("P2", "W1"): "+1"}, "advertising.total_budget": 300})]


def test_load_sweep_toml_list_and_grid(tmp_path: Path) -> None:
    f = tmp_path / "sweep.toml"
    f.write_text('[[variant]]\nname = "cheap"\nset = ["products.price[P1]=*0.9", "products.price[P2]=*0.8"]\n\n'
                 '[[variant]]\nset = {"supply.lead_time[P2/W1]" = "+1"}\n\n'
                 '[grid]\n"products.price[P1]" = ["*0.9", "*1.1", 12]\nadvertising.total_budget = [100, inf]\n',
                 encoding="utf-8")
    vs = load_sweep(f)
    assert vs[0] == Variant("cheap", {"products.price": {"P1": "*0.9", "P2": "*0.8"}})
    assert vs[1] == Variant("supply.lead_time[P2/W1]=+1", {"supply.lead_time": {("P2", "W1"): "+1"}})
    grid = vs[2:]
    assert len(grid) == 6                                      # 3 × 2, first key varies slowest
    assert [v.changes["products.price"]["P1"] for v in grid] == ["*0.9", "*0.9", "*1.1", "*1.1", 12, 12]
    assert [v.changes["advertising.total_budget"] for v in grid] == [100, math.inf] * 3
    assert grid[0].name == "products.price[P1]=*0.9; advertising.total_budget=100"
    assert len({v.name for v in vs}) == len(vs)


def test_bad_csv_lists_every_problem_with_row_and_column(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("name,products.prize[P1],advertising.total_budget,supply.lead_time[P2]\n"
                 "a,1,100,\n"
                 "b,,lots,\n"
                 "c,,1,2,3\n"
                 "a,,200,\n", encoding="utf-8")
    with pytest.raises(UsageError) as err:
        load_sweep(f)
    msg = str(err.value)
    assert msg.startswith(f"sweep file {f}: 5 problems")
    assert "row 1, column products.prize[P1]: table products has no column 'prize' (did you mean 'price'?)" in msg
    assert "row 1, column supply.lead_time[P2]: rows of supply are identified by product/warehouse" in msg
    assert "row 3, column advertising.total_budget: 'lots' is not a number" in msg
    assert "row 4: 5 cells, but the header has 4 columns" in msg
    assert "row 5: variant name 'a' is used twice (rows 2 and 5)" in msg
    assert len(err.value.problems) == 5


def test_bad_toml_names_line_and_problem(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text('[[variant]]\nname = "ok"\nset = ["products.price[P1]=*0.9"]\n\n'
                 '[[variant]]\nname = "broken"\nset = ["products.price[P1]=*0.9",\n'
                 '       "products.price[P1]=cheap"]\ncolour = "red"\n\n'
                 '[grid]\n"lanes.capacity[W1]" = [1, 2]\n', encoding="utf-8")
    with pytest.raises(UsageError) as err:
        load_sweep(f)
    msg = str(err.value)
    assert "3 problems" in msg
    assert "line 8, variant 2 (broken): 'cheap' is not a number" in msg
    assert "line 9, variant 2: unknown key 'colour'" in msg
    assert "line 12, lanes.capacity[W1]: rows of lanes are identified by warehouse/region" in msg
    syntax = tmp_path / "syntax.toml"
    syntax.write_text('[[variant]]\nname = "x"\nset = ["a=1" "b=2"]\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"syntax.toml: 1 problem\n  line 3: not valid TOML"):
        load_sweep(syntax)
    syntax.write_text('[[variant]]\nname = "x"\nset = ["a=1"\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"syntax.toml: 1 problem\n  line 4: not valid TOML: Unclosed array"):
        load_sweep(syntax)
    txt = tmp_path / "sweep.txt"
    txt.write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="expected a .csv or .toml file"):
        load_sweep(txt)


# ----------------------------------------------------------------------------- sweep: executors agree with cold solves


def test_sweep_thread_and_process_pools_match_cold_solves(tiny: ops.Scenario, oracle: dict, tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as ex:                 # solves in this process, one at a time
        threads = sweep(tiny, VARIANTS, executor=ex, progress=False, **OPTS)
        assert ex.submit(int, "7").result() == 7      # the caller's executor is not shut down
    assert_matches_oracle(threads, oracle)
    assert "folder" not in threads.columns
    procs = sweep(TINY, VARIANTS, workers=2, progress=False, out=tmp_path / "procs", **OPTS)   # the default pool
    assert_matches_oracle(procs, oracle)
    check_plans(tiny, tmp_path / "procs", procs)
    assert sorted(p.name for p in (tmp_path / "procs").iterdir()) == \
        [".optsupply", "P2_dearer", "base", "costly_lanes", "results.csv", "slow_P2"]


def test_all_invalid_is_still_a_table(tiny: ops.Scenario) -> None:
    table = sweep(tiny, {"neg": {"products.price": -1}, "nokey": {"products.price": {"P9": 1}}}, progress=False)
    assert list(table["status"]) == ["invalid", "invalid"]
    assert "products has no row with product = P9" in table["error"][1]


def test_worker_killed_mid_sweep_loses_nothing(tiny: ops.Scenario, oracle: dict) -> None:
    """A variant that kills its worker breaks the process pool; the sweep replaces the pool, reruns the
    running variants one at a time, reports the killer as failed and every other variant as solved."""
    variants = [VARIANTS[0], Variant("boom-always", {}), VARIANTS[1], Variant("boom-once", {"products.price": "*1.2"}),
                VARIANTS[3]]
    table = sweep(tiny, variants, workers=2, retries=1, progress=False, task=exit_task, **OPTS)
    assert list(table["name"]) == [v.name for v in variants]
    by = table.set_index("name")
    assert by.loc["boom-always", "status"] == "failed"
    assert "BrokenProcessPool" in by.loc["boom-always", "error"] and "died" in by.loc["boom-always", "error"]
    for name in ("base", "P2 dearer", "costly lanes"):
        assert by.loc[name, "status"] == "optimal"
        assert by.loc[name, "profit"] == pytest.approx(oracle[name]["profit"], rel=1e-7)
    cold = cold_solve(tiny.with_changes({"products.price": "*1.2"})).kpis["profit"]
    assert by.loc["boom-once", "status"] == "optimal" and by.loc["boom-once", "profit"] == pytest.approx(cold, rel=1e-7)


def test_innocent_variants_are_not_charged_for_a_pool_break(tiny: ops.Scenario) -> None:
    """retries=0: the variants that were running when boom-always broke the pool are rerun alone,
    uncharged, and succeed; only the killer is reported failed."""
    variants = [VARIANTS[0], Variant("boom-always", {}), VARIANTS[1], VARIANTS[3]]
    table = sweep(tiny, variants, workers=2, retries=0, progress=False, task=exit_task, **OPTS)
    assert list(table["status"]) == ["optimal", "failed", "optimal", "optimal"]


def test_worker_dying_with_pyomos_lock_blocks_no_one(tiny: ops.Scenario) -> None:
    """Workers forked from one fork server that imported Pyomo share its capture lock (a semaphore): a
    worker dying while holding it would block every later solve (for Pyomo's 200 s deadlock timeout).
    Each sweep worker takes its own lock, so the other variants solve."""
    variants = [Variant("dies-holding-lock", {}), VARIANTS[0], VARIANTS[1]]
    table = sweep(tiny, variants, workers=2, retries=0, progress=False, task=lock_task, **OPTS)
    assert list(table["status"]) == ["failed", "optimal", "optimal"], table["error"].tolist()


def test_raising_task_is_retried_then_failed(tiny: ops.Scenario) -> None:
    table = sweep(tiny, [Variant("raises", {}), VARIANTS[0]], workers=2, retries=2, progress=False, task=raise_task, **OPTS)
    assert list(table["status"]) == ["failed", "optimal"]
    assert table["error"][0] == "RuntimeError: task failed on attempt 2"   # three attempts: 0, 1, 2


# ----------------------------------------------------------------------------- dask


@pytest.fixture(scope="module")
def dask_client():
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    # allowed-failures 0: a task whose worker dies fails at once with KilledWorker (the sweep retries it)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address="127.0.0.1:0")  # any free port: runs side by side
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_sweep_matches_cold_solves(dask_client, tiny: ops.Scenario, oracle: dict, tmp_path: Path) -> None:
    table = sweep(tiny, VARIANTS, executor=dask_client.get_executor(), progress=False, out=tmp_path / "dask", **OPTS)
    assert_matches_oracle(table, oracle)
    check_plans(tiny, tmp_path / "dask", table)
    assert len(dask_client.scheduler_info()["workers"]) == 2


def test_dask_worker_killed_mid_sweep_loses_nothing(dask_client, tiny: ops.Scenario, oracle: dict) -> None:
    """boom-once kills its Dask worker (the nanny restarts it); the scheduler fails the tasks that
    were on that worker with KilledWorker, the sweep resubmits them, nothing is lost."""
    before = set(dask_client.scheduler_info()["workers"])
    variants = [VARIANTS[0], Variant("boom-once", {}), VARIANTS[1], VARIANTS[3]]
    table = sweep(tiny, variants, executor=dask_client.get_executor(), retries=1, progress=False, task=exit_task, **OPTS)
    dask_client.wait_for_workers(2, timeout=60)
    assert set(dask_client.scheduler_info()["workers"]) != before      # a worker really died and was replaced
    assert list(table["name"]) == [v.name for v in variants]
    assert list(table["status"]) == ["optimal"] * 4
    by = table.set_index("name")
    assert by.loc["boom-once", "profit"] == pytest.approx(oracle["base"]["profit"], rel=1e-7)
    for name in ("base", "P2 dearer", "costly lanes"):
        assert by.loc[name, "profit"] == pytest.approx(oracle[name]["profit"], rel=1e-7)


# ----------------------------------------------------------------------------- CLI


def whatif(*argv: str) -> int:
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers())
    args = p.parse_args(["whatif", *argv])
    return args.func(args)


def test_cli_set_prints_side_by_side_and_writes_both_plans(tiny: ops.Scenario, oracle: dict, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "wi"
    code = whatif(str(TINY), "--set", "products.price[P2]=*1.2", "--out", str(out), "--gap", "0", "--workers", "2", "-q")
    text = capsys.readouterr().out
    assert code == 0
    base, var = oracle["base"]["profit"], oracle["P2 dearer"]["profit"]
    assert "what-if: products.price[P2]=*1.2" in text
    profit_line = next(ln for ln in text.splitlines() if ln.startswith("profit"))
    assert f"{base:,.2f}" in profit_line and f"{var:,.2f}" in profit_line
    assert f"{var - base:+,.2f} ({(var - base) / base:+.1%})" in profit_line
    assert any(ln.startswith("launches") for ln in text.splitlines())
    assert sorted(p.name for p in out.iterdir()) == [".optsupply", "base", "results.csv", "variant"]
    assert check_plan(tiny.with_changes({"products.price": {"P2": "*1.2"}}), ops.Plan.load(out / "variant")) == []
    # a second run refuses the non-empty folder unless --force
    assert whatif(str(TINY), "--set", "products.price[P2]=*1.2", "--out", str(out), "-q") == 2
    assert "exists and is not empty (use --force" in capsys.readouterr().err


@pytest.mark.parametrize("status, code", [("interrupted", 0), ("baseline", 0), ("time_limit", 0),
                                          ("infeasible", 1), ("error", 1)])
def test_cli_exit_code_follows_whether_the_variant_has_a_plan(status: str, code: int, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """whatif exits as solve does: 0 for every status that carries a plan (an interrupted one too), else 1."""
    import optsupply.cli.whatif as cli_whatif

    def solved(scenario, variants, **kwargs):  # noqa: ANN001, ANN003, ANN202
        rows = [{"name": v.name, "status": "optimal" if k == 0 else status} for k, v in enumerate(variants)]
        return pd.DataFrame(rows, columns=RESULT_COLUMNS).assign(folder=None)

    monkeypatch.setattr(cli_whatif, "sweep", solved)
    assert whatif(str(TINY), "--set", "products.price[P2]=*1.2", "--out", str(tmp_path / "wi"), "-q") == code


def test_cli_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert whatif(str(TINY), "--set", "products.prize[P2]=3", "--out", str(tmp_path / "a")) == 2
    assert "no column 'prize'" in capsys.readouterr().err
    assert whatif(str(TINY), "--set", "products.launch_earliest[P2]=9", "--out", str(tmp_path / "b")) == 2
    assert "products.csv, row 3, column launch_earliest" in capsys.readouterr().err
    assert whatif(str(TINY), "--set", "products.price[P2]=3", "--out", str(TINY)) == 2
    assert "is the input" in capsys.readouterr().err
    assert whatif(str(TINY), "--sweep", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "c")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_sweep_prints_table_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    f = tmp_path / "s.csv"
    # stuck: P2 must launch, so category C2 (min_products 2) needs P2 and P3, both only in period 1, at one launch
    # per period: only a solve finds that (a must_launch the launch cap forbids outright is invalid, see test_infeasible)
    f.write_text("name,products.must_launch[P2],products.launch_latest[P2],products.launch_latest[P3],products.price[P2]\n"
                 "stuck,true,1,1,\n"
                 "dear,,,,*1.2\n"
                 "neg,,,,-30\n", encoding="utf-8")
    code = whatif(str(TINY), "--sweep", str(f), "--out", str(tmp_path / "o"), "--gap", "0", "-q")
    text = capsys.readouterr().out
    assert code == 0
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["name", "status"]
    assert lines[1].split()[:2] == ["stuck", "infeasible"]
    assert lines[2].split()[:2] == ["dear", "optimal"]
    assert lines[3].split()[:2] == ["neg", "invalid"]
    assert "3 variants: 1 infeasible, 1 optimal, 1 invalid" in text or "3 variants:" in text
    table = pd.read_csv(tmp_path / "o" / "results.csv")
    assert list(table["status"]) == ["infeasible", "optimal", "invalid"]
    # nothing planned → 1; every variant invalid → 2
    f.write_text("name,products.must_launch[P2],products.launch_latest[P2],products.launch_latest[P3]\nstuck,true,1,1\n",
                 encoding="utf-8")
    assert whatif(str(TINY), "--sweep", str(f), "--out", str(tmp_path / "o2"), "-q") == 1
    f.write_text("name,products.price[P2]\nneg,-30\nneg2,-40\n", encoding="utf-8")
    assert whatif(str(TINY), "--sweep", str(f), "--out", str(tmp_path / "o3"), "-q") == 2


# ----------------------------------------------------------------------------- small things


def test_cost_columns_follow_the_plan() -> None:
    from optsupply.plan.core import COST_KEYS
    from optsupply.analysis.sweep import COST_KEYS as SWEEP_COSTS

    assert SWEEP_COSTS == COST_KEYS


def test_sweep_is_callable_from_the_package_and_folder_names_are_safe() -> None:
    import optsupply.analysis.sweep as mod
    from optsupply.analysis.sweep import _safe_names

    assert ops.sweep is mod.sweep             # ops.sweep(sc, variants, ...) works, also once the module is imported
    names = _safe_names(["a/b", "A/B", "x*1.1; y=2", "..", "results.csv", "con"])
    assert names == ["a-b", "A-B-2", "xx1.1_y=2", "variant", "results.csv-2", "con_"]
