"""Build the known-answer scenarios from the reference data kept in ``instances/*/source/``.

Run from the repository root::

    python instances/make_refdata.py           # (re)write the scenarios
    python instances/make_refdata.py --check   # rebuild in a scratch folder, compare, exit 1 on any difference

Each instance folder holds a verbatim copy of its published data file(s) in
``source/``. This script reads only those copies and writes, next to them,
``scenario.toml``, the CSV tables and ``expected.json`` (published answer,
expected profit and how one maps to the other). Output is deterministic:
running the script twice gives identical files. The mapping is explained in
``instances/REFDATA.md``.

Families
--------
* OR-Library capacitated warehouse location (``cap41``, ``cap71``, ``cap101``,
  ``cap131``): one period, facilities become warehouses, customers become
  regions; the scenario's optimal profit is minus the published multi-source
  CFLP optimum.
* Uncapacitated lot sizing / Wagner-Whitin (``ww_example_3_9``,
  ``spp_12period``): one product, one warehouse, one region; the optimal
  profit is minus the published minimum ordering + holding cost.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import math
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from optsupply import Scenario
from optsupply.files import MARKER
from optsupply.scenario.coerce import finalize_dtypes
from optsupply.scenario.schema import H_LAST, TABLES, Table

HERE = Path(__file__).resolve().parent

PRODUCT = "item"
REL_TOL = 1e-6
SOLVER = {"solver.mip_gap": 0.0}

# --------------------------------------------------------------------------- helpers


def next_power_of_ten_above(x: float) -> float:
    """The smallest power of ten strictly greater than ``x`` (> 0)."""
    return 10.0 ** (math.floor(math.log10(x)) + 1)


def typed_table(table: Table, rows: list[dict[str, Any]], periods: int) -> pd.DataFrame:
    """A table in the loader's typed form: given values, schema defaults for the rest."""
    data: dict[str, list[Any]] = {}
    for col in table.columns:
        if col.required and any(col.name not in r for r in rows):
            raise ValueError(f"{table.name}: every row needs {col.name}")
        default = periods - 1 if col.default == H_LAST else col.default
        data[col.name] = [r.get(col.name, default) for r in rows]
    return pd.DataFrame(data, columns=table.column_names)


def write_scenario(out: Path, settings: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> None:
    """Write ``scenario.toml`` and the CSV tables into ``out`` (other files there are kept).

    The tables are written with :meth:`optsupply.Scenario.save` into a scratch
    folder (``save`` replaces a whole folder, which would remove ``source/``),
    loaded back to make sure they validate without errors or warnings, and
    then copied into ``out``.
    """
    periods = settings["horizon.periods"]
    tables = {t.name: typed_table(t, rows.get(t.name, []), periods) for t in TABLES}
    scenario = Scenario(settings, finalize_dtypes(tables), present={n for n, r in rows.items() if r})
    with tempfile.TemporaryDirectory() as tmp:
        written = scenario.save(Path(tmp) / out.name)
        loaded = Scenario.load(written)  # raises ScenarioError on any error
        if loaded.warnings:
            raise RuntimeError(f"{out.name}: " + "; ".join(str(w) for w in loaded.warnings))
        out.mkdir(parents=True, exist_ok=True)
        for old in [*out.glob("*.csv"), out / "scenario.toml"]:
            old.unlink(missing_ok=True)
        for f in sorted(written.iterdir()):
            if f.name != MARKER:  # a shipped instance is an input: never a folder optsupply may replace
                shutil.copyfile(f, out / f.name)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def product_row(category: str, brand: str, lost_sale_cost: float, holding_cost: float = 0.0) -> dict[str, Any]:
    """The single product: price 0 and unit_cost 0, so profit is minus the costs."""
    return {"product": PRODUCT, "category": category, "brand": brand, "price": 0.0, "unit_cost": 0.0,
            "holding_cost": holding_cost, "lost_sale_cost": lost_sale_cost}


# --------------------------------------------------------------------------- OR-Library cap


def parse_orlib_cap(text: str) -> tuple[list[float], list[float], list[float], list[list[float]]]:
    """OR-Library ``capinfo`` format, read as a token stream.

    Returns capacities s_i, fixed costs f_i, demands d_j and ``cost[j][i]`` =
    the cost of serving ALL of customer j's demand from warehouse i.
    """
    tokens = text.split()
    m, n = int(tokens[0]), int(tokens[1])
    pos = 2
    capacity, fixed = [], []
    for _ in range(m):
        capacity.append(float(tokens[pos]))
        fixed.append(float(tokens[pos + 1]))
        pos += 2
    demand, cost = [], []
    for _ in range(n):
        demand.append(float(tokens[pos]))
        cost.append([float(x) for x in tokens[pos + 1: pos + 1 + m]])
        pos += 1 + m
    if pos != len(tokens):
        raise ValueError(f"{len(tokens) - pos} tokens left over after {m} warehouses and {n} customers")
    return capacity, fixed, demand, cost


def parse_capopt(text: str) -> dict[str, str]:
    """OR-Library ``capopt``: instance name -> optimal value, as written (one-value lines only)."""
    out = {}
    for line in text.splitlines():
        m = re.fullmatch(r"\s*(cap\d+)\s+([0-9.]+)\s*", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


CAP_CITATION = (
    "J.E. Beasley, 'An algorithm for solving large capacitated warehouse location problems', "
    "European Journal of Operational Research 33 (1988) 314-325; distributed in OR-Library "
    "(J.E. Beasley, 'OR-Library: distributing test problems by electronic mail', Journal of the "
    "Operational Research Society 41 (1990) 1069-1072), files {name} and capopt (optimal values of the "
    "capacitated, multi-source problem: a customer's demand may be split between warehouses). "
    "Copies used: GitHub cristoferapr/cflp-problem @ d8811be8e1763b704413389ea76200748cb919b9, "
    "instances/{name}.txt (one customer per line; numbers identical to OR-Library), and capopt.txt @ "
    "c18d798a793606e8dffbe69f2e83e8929e24ed2e (verbatim OR-Library capopt); copied unchanged into source/."
)


def build_cap(folder: Path, out: Path) -> None:
    name = folder.name
    capacity, fixed, demand, cost = parse_orlib_cap((folder / "source" / f"{name}.txt").read_text())
    published_text = parse_capopt((folder / "source" / "capopt.txt").read_text())[name]
    published = float(published_text)
    m, n = len(capacity), len(demand)
    if any(d <= 0 for d in demand):
        raise ValueError(f"{name}: a customer with zero demand would need special handling")
    if sum(capacity) < sum(demand):
        raise ValueError(f"{name}: total capacity is below total demand, so full service is impossible")
    for v in (*capacity, *demand):
        if not float(v).is_integer():
            raise ValueError(f"{name}: the lost-sale bound below assumes whole-number capacities and demands")
    wh = [f"F{i + 1:02d}" for i in range(m)]
    rg = [f"C{j + 1:02d}" for j in range(n)]

    unit_cost = [[cost[j][i] / demand[j] for i in range(m)] for j in range(n)]  # per unit shipped i -> j
    max_unit_cost = max(max(row) for row in unit_cost)
    bound = max(fixed) + max_unit_cost
    lost_sale_cost = next_power_of_ten_above(bound)

    rows = {
        "products": [product_row("facility-location", "or-library", lost_sale_cost)],
        "warehouses": [{"warehouse": w, "throughput_capacity": capacity[i]} for i, w in enumerate(wh)],
        "supply": [{"product": PRODUCT, "warehouse": w, "lead_time": 0, "activation_cost": fixed[i]}
                   for i, w in enumerate(wh)],
        "demand": [{"product": PRODUCT, "region": r, "period": 0, "demand": demand[j]} for j, r in enumerate(rg)],
        "lanes": [{"warehouse": w, "region": r, "cost_per_unit": unit_cost[j][i]}
                  for i, w in enumerate(wh) for j, r in enumerate(rg)],
    }
    settings = {"name": name, "horizon.periods": 1, "solver.time_limit": 300.0, **SOLVER}
    write_scenario(out, settings, rows)

    write_json(out / "expected.json", {
        "source": CAP_CITATION.format(name=name),
        "source_files": [f"source/{name}.txt", "source/capopt.txt"],
        "problem": (f"capacitated facility location, multi-source: {m} facilities x {n} customers; "
                    "minimise sum_i f_i y_i + sum_ij c_ij x_ij subject to sum_i x_ij = 1, "
                    "sum_j d_j x_ij <= s_i y_i, 0 <= x_ij <= 1, y_i binary"),
        "published_answer": published,
        "published_answer_text": published_text,
        "published_measure": "minimum total cost (fixed facility costs + allocation costs)",
        "published_note": "capopt values are rounded to 3 decimals (its footnote: machines may differ by rounding)",
        "expected_profit": -published,
        "rel_tol": REL_TOL,
        "mapping": (
            "One period, one product 'item' with price 0 and unit_cost 0. Facility i (in file order) is "
            "warehouse F<i> (F01, F02, ...) with throughput_capacity = s_i (volume 1 per unit) and, in supply.csv, "
            "activation_cost = f_i (paid once if anything is ordered into it; lead_time 0, no order cost). "
            "Customer j is region C<j> (C01, C02, ...) with demand d_j in period 0. Every facility-customer pair is a lane "
            "with cost_per_unit = c_ij / d_j, so shipping the share x_ij of j's demand costs c_ij x_ij. "
            "Storage is unlimited and ordering is free, so ordering exactly what is shipped loses nothing. "
            "lost_sale_cost is large enough that every optimal plan serves all demand (see "
            "lost_sale_cost_argument), hence profit = -(activation costs + transport costs) = -(CFLP cost) "
            "and the optimal profit is minus the published optimum."
        ),
        "lost_sale_cost": lost_sale_cost,
        "lost_sale_cost_bound": bound,
        "lost_sale_cost_rule": "the next power of ten above the bound",
        "lost_sale_cost_argument": (
            "Claim: if L > max_i f_i + max_ij c_ij/d_j (the bound), every optimal plan serves all demand. "
            "(1) If some demand of customer j is lost while an activated warehouse i has spare throughput, "
            "serving delta more units of j from i costs c_ij/d_j < L per unit and saves L per unit: better. "
            "(2) So in an optimal plan with lost demand every activated warehouse ships its full capacity and "
            "the lost amount U = sum_j d_j - sum_(activated i) s_i is a whole number >= 1 (capacities and demands "
            "are whole numbers). Total capacity >= total demand, so some warehouse k is not activated; "
            "activating it and shipping delta = min(s_k, U) >= 1 lost units costs at most f_k + delta*max c/d "
            "and saves L*delta > delta*(max f + max c/d) >= f_k + delta*max c/d: better. "
            "Hence no optimal plan loses demand."
        ),
        "size": {"warehouses": m, "regions": n, "total_demand": sum(demand), "total_capacity": sum(capacity)},
    })


# --------------------------------------------------------------------------- lot sizing


def lot_sizing_bound(demand: list[float], order_cost: float, holding_cost: float) -> float:
    """L above this makes serving all demand optimal (argument in expected.json)."""
    return max(holding_cost * (len(demand) - 1), order_cost / min(d for d in demand if d > 0))


LOT_SIZING_ARGUMENT = (
    "Claim: if L > max(h*(T-1), K / min_t d_t) (the bound), every optimal plan meets all demand. "
    "Take a plan that loses u > 0 units in period t. (1) If an order is placed in some period s <= t, "
    "ordering u more units in the last such s and holding them until t costs h*(t-s)*u <= h*(T-1)*u "
    "and saves L*u: better. (2) Otherwise nothing is on hand in t (no initial stock), so all of d_t is lost; "
    "ordering d_t in t costs K and saves L*d_t > K: better. Hence no optimal plan loses demand, "
    "and with holding cost > 0 no optimal plan keeps stock at the end, so the optimal plan is the "
    "Wagner-Whitin optimum."
)


def lot_sizing_mapping(k_name: str, h_name: str) -> str:
    return (
        "One product 'item' (price 0, unit_cost 0), one warehouse W1, one region R1, one lane W1-R1 "
        "with cost 0. Period t of the book is period t-1 here (0-based). supply.csv: lead_time 0, "
        f"order_cost = {k_name} (fixed cost per order); products.csv: holding_cost = {h_name} per unit of "
        "end-of-period stock, the same convention as the Wagner-Whitin model (ending inventory). "
        "No initial stock. lost_sale_cost is large enough that every optimal plan meets all demand "
        "(see lost_sale_cost_argument), so profit = -(order_cost * number of orders + holding_cost * "
        "sum of end-of-period stock) = -(lot-sizing cost), and the optimal profit is minus the "
        "published minimum cost."
    )


def lot_sizing_rows(demand: list[float], order_cost: float, holding_cost: float, lost_sale_cost: float,
                    category: str, brand: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "products": [product_row(category, brand, lost_sale_cost, holding_cost)],
        "warehouses": [{"warehouse": "W1"}],
        "supply": [{"product": PRODUCT, "warehouse": "W1", "lead_time": 0, "order_cost": order_cost}],
        "demand": [{"product": PRODUCT, "region": "R1", "period": t, "demand": d} for t, d in enumerate(demand)],
        "lanes": [{"warehouse": "W1", "region": "R1", "cost_per_unit": 0.0}],
    }


def write_lot_sizing(folder: Path, out: Path, demand: list[float], K: float, h: float, quantities: list[float],
                     published: float, head: dict, plan_text: tuple[str, str], mapping: tuple[str, str]) -> None:
    """Scenario and expected.json of a one-product lot-sizing case (profit = -published cost).

    ``head`` holds the case's own expected.json fields up to ``published_measure``;
    ``plan_text`` is (how periods are numbered, where the plan comes from).
    """
    bound = lot_sizing_bound(demand, K, h)
    lost_sale_cost = next_power_of_ten_above(bound)
    settings = {"name": folder.name, "horizon.periods": len(demand), "solver.time_limit": 60.0, **SOLVER}
    write_scenario(out, settings, lot_sizing_rows(demand, K, h, lost_sale_cost, "lot-sizing", "textbook"))
    write_json(out / "expected.json", {
        **head,
        "published_plan": {
            "order_quantities": quantities,
            "order_periods": [t for t, q in enumerate(quantities) if q > 0],
            "periods": plan_text[0],
            "plan_source": plan_text[1],
        },
        "expected_profit": -published,
        "rel_tol": REL_TOL,
        "mapping": lot_sizing_mapping(*mapping),
        "lost_sale_cost": lost_sale_cost,
        "lost_sale_cost_bound": bound,
        "lost_sale_cost_rule": "the next power of ten above the bound",
        "lost_sale_cost_argument": LOT_SIZING_ARGUMENT,
    })


def build_ww_example_3_9(folder: Path, out: Path) -> None:
    source = "stockpyl_textbook_cases.json"
    doc = json.loads((folder / "source" / source).read_text(encoding="utf-8"))
    case = next(c for c in doc["cases"] if c["id"] == "example_3_9")
    data = case["data"]
    demand = [float(d) for d in data["demand"]]
    if data["num_periods"] != len(demand):
        raise ValueError("num_periods does not match the demand list")
    K, h = float(data["fixed_cost"]), float(data["holding_cost"])
    published = float(case["expected"]["cost"])
    quantities = list(case["expected"]["order_quantities_1based"])  # book period t is entry t-1
    write_lot_sizing(folder, out, demand, K, h, quantities, published, {
        "source": (
            f"{case['book']} (L.V. Snyder and Z.-J.M. Shen, Fundamentals of Supply Chain Theory, 2nd ed., "
            "Wiley 2019): Wagner-Whitin example, T=4, h=2, K=500, d=[90,120,80,70]. Data and answer as "
            f"asserted by stockpyl ({doc['source_repo']} @ {doc['commit']}, {case['answer_source']}); "
            f"compiled in {source}, copied unchanged into source/ (case id example_3_9)."
        ),
        "source_files": [f"source/{source}"],
        "source_case": "example_3_9",
        "problem": "uncapacitated single-item lot sizing (Wagner-Whitin), no initial stock, no backlog",
        "published_answer": published,
        "published_measure": "minimum total cost (fixed ordering cost + holding cost on ending inventory)",
    }, ("0-based (the book's period t is period t-1 here)",
        "stockpyl test_example_3_9 (order quantities of the textbook solution)"), ("K = 500", "h = 2"))


def build_spp_12period(folder: Path, out: Path) -> None:
    source = "silver_pyke_peterson_12period.json"
    case = json.loads((folder / "source" / source).read_text(encoding="utf-8"))
    demand = [float(d) for d in case["demand"]]
    if case["periods"] != len(demand):
        raise ValueError("periods does not match the demand list")
    K, h = float(case["setup_cost"]), float(case["holding_cost"])
    if not math.isclose(h, case["unit_value"] * case["carrying_rate_per_period"], rel_tol=1e-12):
        raise ValueError("holding_cost is not unit_value * carrying_rate_per_period")
    published = float(case["known_optimal_cost"])
    plan = case["optimal_plan_computed_here"]
    quantities = [0] * len(demand)
    for t1, q in zip(plan["order_periods_1based"], plan["order_quantities"], strict=True):
        quantities[t1 - 1] = q
    write_lot_sizing(folder, out, demand, K, h, quantities, published, {
        "source": (
            f"{case['reference']}. Known optimal cost 501.2 as quoted by: "
            + "; ".join(case["answer_sources"])
            + f". Compiled in {source}, copied unchanged into source/."
        ),
        "source_files": [f"source/{source}"],
        "problem": "uncapacitated single-item lot sizing (Wagner-Whitin), no initial stock, no backlog",
        "published_answer": published,
        "published_measure": "minimum total cost (setup cost A per order + holding cost h = v*r on ending inventory)",
    }, ("0-based (the book's month t is period t-1 here)",
        "not the book's printed plan: the unique optimum found by exhaustive enumeration "
        "when the data were compiled (order months 1, 4, 5, 7, 9, 10, 11)"), ("A = 54", "h = v*r = 20*0.02 = 0.4"))


# --------------------------------------------------------------------------- main

BUILDERS = {
    "cap41": build_cap,
    "cap71": build_cap,
    "cap101": build_cap,
    "cap131": build_cap,
    "ww_example_3_9": build_ww_example_3_9,
    "spp_12period": build_spp_12period,
}


def generated_files(folder: Path) -> list[str]:
    """Names of the files this script writes in an instance folder."""
    return sorted(f.name for f in folder.iterdir() if f.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="rebuild into a scratch folder and report differences instead of writing")
    parser.add_argument("names", nargs="*", help=f"instances to build (default: all of {', '.join(BUILDERS)})")
    args = parser.parse_args(argv)
    names = args.names or list(BUILDERS)
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        parser.error(f"unknown instance(s): {', '.join(unknown)}")
    differences = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            folder = HERE / name
            out = Path(tmp) / name if args.check else folder
            BUILDERS[name](folder, out)
            if args.check:
                want, have = generated_files(out), generated_files(folder)
                if want != have:
                    differences.append(f"{name}: files {have} but the script writes {want}")
                    continue
                _, mismatch, errors = filecmp.cmpfiles(folder, out, want, shallow=False)
                differences += [f"{name}/{f} differs from what the script writes" for f in mismatch + errors]
            else:
                print(f"wrote {folder.relative_to(HERE.parent)}")
    for d in differences:
        print(d, file=sys.stderr)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
