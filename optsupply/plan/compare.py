"""KPI tables of several plans side by side (:func:`compare`), their decisions table by table
(:func:`compare_details`), and reading plan folders to compare (:func:`load_plan`).

>>> import optsupply as ops
>>> ops.compare([base, other], names=["base", "P2 +5"])   # KPIs side by side with Δ and Δ%
>>> ops.compare_details(["base-plan", "p2-plan"])["launches"]

On the command line::

    optsupply compare base-plan p2-plan [--names base,p2] [--out kpis.csv] [--details]

Conventions as in :mod:`optsupply.plan.diff`.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from optsupply.errors import UsageError
from optsupply.files import guard_file, write_file
from optsupply.plan.core import COST_KEYS, Plan

from optsupply.plan.diff import MONEY_KPIS, SHARE_KPIS, delta_of, diff, is_number, lane_periods, launch_map, norm


# ---------------------------------------------------------------------- compare


def _load_plans(plans: Sequence[Any]) -> list[Plan]:
    out = []
    for item in plans:
        if isinstance(item, Plan):
            out.append(item)
        elif isinstance(item, (str, os.PathLike)):
            out.append(load_plan(item))
        else:
            raise UsageError(f"expected a Plan or a plan folder, got {type(item).__name__}")
    return out


def load_plan(path: str | os.PathLike) -> Plan:
    """:meth:`Plan.load` with planner-readable errors.

    Raises
    ------
    UsageError
        Naming the folder, if it is not a plan folder (no ``kpis.json``) or a file in it cannot be read.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise UsageError(f"{path} is not a plan folder (no such folder)")
    if not (folder / "kpis.json").is_file():
        raise UsageError(f"{path} is not a plan folder (it has no kpis.json; write one with `optsupply solve`)")
    _check_kpis(folder / "kpis.json")
    try:
        return Plan.load(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: cannot read the plan ({type(exc).__name__}: {exc})") from None


def _check_kpis(path: Path) -> None:
    """:class:`UsageError` naming ``path`` unless it is a JSON object (KPI name -> value) that can be read."""
    import json

    try:
        kpis = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise UsageError(f"{path}: values are nested too deeply (hundreds of levels) to be read; kpis.json is an "
                         "object of KPI names and values, as `optsupply solve` writes it") from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise UsageError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(kpis, dict):
        kind = {list: "a list", str: "a text", bool: "true or false", type(None): "null"}.get(type(kpis), "a number")
        raise UsageError(f"{path}: is {kind}, not an object of KPI names and values (as `optsupply solve` writes it)")
    costs = kpis.get("costs")
    if costs is not None and not isinstance(costs, dict):
        raise UsageError(f"{path}: 'costs' must be an object of cost names and amounts")


def unique_names(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    taken = set(names)
    counts: dict[str, int] = defaultdict(int)
    for n in names:
        counts[n] += 1
        if counts[n] == 1:
            out.append(n)
            continue
        i = counts[n]
        while f"{n} ({i})" in taken:
            i += 1
        out.append(f"{n} ({i})")
        taken.add(out[-1])
    return out


def plan_names(plans: Sequence[Plan], names: Sequence[str] | str | None) -> list[str]:
    if names is None:
        return unique_names([p.scenario_name or f"plan {i + 1}" for i, p in enumerate(plans)])
    if isinstance(names, str):
        names = names.split(",")
    names = [str(n).strip() for n in names]
    if len(names) != len(plans):
        raise UsageError(f"{len(names)} name{'s' * (len(names) != 1)} for {len(plans)} plans; give one name per plan")
    if any(not n for n in names):
        raise UsageError("plan names must not be empty")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError(f"plan names must be different; repeated: {', '.join(dup)}")
    return names


def _kpi_index(plans: Sequence[Plan]) -> list[str]:
    costs = list(COST_KEYS)
    for p in plans:
        for c in (p.kpis.get("costs") or {}):
            if c not in costs:
                costs.append(c)
    return ["status", "profit", "revenue", *(f"cost.{c}" for c in costs), "salvage", "best_bound", "mip_gap",
            "units_sold", "potential_demand", "fill_rate", "launched"]


def _kpi(plan: Plan, name: str) -> Any:
    if name.startswith("cost."):
        return norm((plan.kpis.get("costs") or {}).get(name[5:]))
    return norm(plan.kpis.get(name))


def compare(plans: Sequence[Plan | str | os.PathLike], names: Sequence[str] | None = None) -> pd.DataFrame:
    """The KPIs of several plans side by side, with changes against the first.

    Parameters
    ----------
    plans : sequence of Plan or plan folder paths
        At least one plan; folders are read with :meth:`Plan.load`.
    names : sequence of str, optional
        Column names, one per plan, all different. Default: each plan's
        ``scenario_name`` (made unique with `` (2)``, `` (3)``, …), or
        ``plan 1``, ``plan 2``, … for plans without one.

    Returns
    -------
    pandas.DataFrame
        Index (named ``kpi``): ``status``, ``profit``, ``revenue``, each cost as
        ``cost.<name>``, ``salvage``, ``best_bound``, ``mip_gap``,
        ``units_sold``, ``potential_demand``, ``fill_rate``, ``launched``.
        Columns: one per plan, then for every plan after the first
        ``Δ <name>`` (its value − the first plan's) and ``Δ% <name>`` (that
        difference in percent of |first plan's value|; empty when the first
        value is 0). Missing values are ``None``; ``status`` has no deltas.

    Raises
    ------
    UsageError
        For an empty list, a folder that is not a plan folder, or bad names.
    """
    loaded = _load_plans(list(plans))
    if not loaded:
        raise UsageError("compare needs at least one plan")
    labels = plan_names(loaded, names)
    index = _kpi_index(loaded)
    data: dict[str, list[Any]] = {n: [_kpi(p, k) for k in index] for n, p in zip(labels, loaded, strict=True)}
    first = data[labels[0]]
    for n in labels[1:]:
        deltas, pcts = [], []
        for k, v0, v in zip(index, first, data[n], strict=True):
            d, rel = delta_of(v0, v) if k != "status" else (None, None)
            deltas.append(d)
            pcts.append(None if rel is None else 100.0 * rel)
        data[f"Δ {n}"] = deltas
        data[f"Δ% {n}"] = pcts
    df = pd.DataFrame(data, index=pd.Index(index, name="kpi"), dtype=object)
    return df


def compare_details(plans: Sequence[Plan | str | os.PathLike],
                    names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Launches, lanes and costs of several plans side by side.

    Parameters
    ----------
    plans, names
        As in :func:`compare`.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"launches"``: product × plan, the launch period (nullable integer,
        ``<NA>`` = not launched), every product launched in any plan;
        ``"lanes"``: (warehouse, region) × plan, the number of periods the
        lane is used in, every lane used in any plan;
        ``"costs"``: cost name × plan, money.
    """
    loaded = _load_plans(list(plans))
    if not loaded:
        raise UsageError("compare needs at least one plan")
    labels = plan_names(loaded, names)
    launches = [launch_map(p) for p in loaded]
    products = sorted(set().union(*launches))
    ldf = pd.DataFrame({n: pd.array([m.get(p) for p in products], dtype="Int64") for n, m in zip(labels, launches, strict=True)},
                       index=pd.Index(products, name="product", dtype=object))
    lanes = [lane_periods(p) for p in loaded]
    keys = sorted(set().union(*lanes))
    lane_df = pd.DataFrame({n: [len(m.get(k, ())) for k in keys] for n, m in zip(labels, lanes, strict=True)},
                           index=pd.MultiIndex.from_tuples(keys, names=["warehouse", "region"]) if keys else
                           pd.MultiIndex.from_arrays([[], []], names=["warehouse", "region"]),
                           dtype="int64")
    cost_names = [k[5:] for k in _kpi_index(loaded) if k.startswith("cost.")]
    costs = pd.DataFrame({n: [np.nan if (v := _kpi(p, f"cost.{c}")) is None else float(v) for c in cost_names]
                          for n, p in zip(labels, loaded, strict=True)},
                         index=pd.Index(cost_names, name="cost", dtype=object), dtype="float64")
    return {"launches": ldf, "lanes": lane_df, "costs": costs}


def write_csv(table: pd.DataFrame, path: str | os.PathLike, inputs: Sequence[str | os.PathLike] = ()) -> Path:
    """Write ``table`` as CSV completely or not at all (a temporary file renamed into place).

    ``path`` may not be one of ``inputs`` or lie in one of them (the plan
    folders compared), nor replace a file that is not a ``.csv``
    (:func:`optsupply.files.guard_file`).
    """
    target = guard_file(path, inputs=inputs)
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            table.to_csv(f, lineterminator="\n")

    return write_file(target, write)


# ---------------------------------------------------------------------- formatting


def _kind(kpi: str) -> str:
    if kpi.startswith("cost.") or kpi in MONEY_KPIS:
        return "money"
    if kpi in SHARE_KPIS:
        return "share"
    if kpi == "launched":
        return "count"
    if kpi == "status":
        return "text"
    return "units"


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_value(kind: str, v: Any) -> str:
    if _missing(v):
        return ""
    if kind == "text" or not is_number(v):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    if kind == "share":
        return f"{v:.2%}"
    if kind == "count":
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def _fmt_delta(kind: str, d: Any) -> str:
    if _missing(d) or not is_number(d):
        return ""
    if d == 0:  # unchanged: no sign
        return {"share": "0.00 pp", "count": "0"}.get(kind, "0.00")
    if kind == "share":
        return f"{100 * d:+.2f} pp"
    if kind == "count":
        return f"{d:+,.0f}"
    return f"{d:+,.2f}"


def _fmt_pct(p: Any) -> str:
    if _missing(p) or not is_number(p):
        return ""
    return "0.00%" if p == 0 else f"{p:+.2f}%"


def format_kpi_table(table: pd.DataFrame) -> str:
    """The table of :func:`compare` as readable text: money with thousands separators, deltas signed."""
    cells = {}
    for col in table.columns:
        fmt = _fmt_pct if col.startswith("Δ% ") else None
        values = []
        for kpi, v in table[col].items():
            kind = _kind(str(kpi))
            if fmt is not None:
                values.append(fmt(v))
            elif col.startswith("Δ "):
                values.append(_fmt_delta(kind, v))
            else:
                values.append(fmt_value(kind, v))
        cells[col] = values
    return pd.DataFrame(cells, index=table.index).to_string()


__all__ = ["diff", "compare", "compare_details", "load_plan", "format_kpi_table", "write_csv"]
