"""The results of the benchmark suite: ``bench.csv`` (every measurement) and ``bench.md`` (one table, the
growth curve of time and memory against model size with fitted log-log slopes, the machine)."""

from __future__ import annotations

import csv
import datetime as _dt
import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from optsupply.bench.specs import COLUMNS, SOLVER_SEED, Options


#: The measurements of a spec's one-line summary: column, how it is shown (when it is not None).
ONE_LINE = (("columns", "{:,} columns"), ("total_wall_s", "total {:.2f} s"), ("peak_rss_mb", "{:.0f} MB"),
            ("profit", "profit {:,.2f}"), ("gap", "gap {:.2%}"), ("uplift_pct", "uplift {:+.1f} %"))


def one_line(row: dict[str, Any]) -> str:
    parts = [f"{row['spec']}: {row['status']}"]
    parts += [fmt.format(row[key]) for key, fmt in ONE_LINE if row.get(key) is not None]
    if row.get("status") == "error":
        parts.append(str(row.get("message"))[:200])
    return ", ".join(parts)


def machine_info() -> dict[str, str]:
    try:
        from optsupply.bench.machine import machine

        return machine()
    except Exception:  # pragma: no cover - the description is a courtesy
        return {"python": platform.python_version(), "nproc": str(os.cpu_count())}


# --------------------------------------------------------------------------- growth curve


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Slope ``b`` of the least-squares fit ``log y = a + b log x`` (``y ∝ x**b``); None without two
    distinct positive points."""
    pts = [(float(a), float(b)) for a, b in zip(x, y, strict=True)
           if a is not None and b is not None and a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)]
    if len({a for a, _ in pts}) < 2:
        return None
    lx, ly = np.log([a for a, _ in pts]), np.log([b for _, b in pts])
    return float(np.polyfit(lx, ly, 1)[0])


def _plus(*values: Any) -> float | None:
    return None if any(v is None for v in values) else float(sum(values))


def growth_points(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ladder: generated specs with a model size, smallest first, with the quantities the curve fits."""
    pts = []
    for r in rows:
        if r.get("kind") != "generated" or not r.get("columns") or r.get("build_wall_s") is None:
            continue
        complete = r.get("status") in ("optimal", "built")  # a time-limited total is cut off by the limit
        above = None if r.get("peak_rss_mb") is None or r.get("import_rss_mb") is None \
            else r["peak_rss_mb"] - r["import_rss_mb"]
        pts.append({
            "spec": r["spec"], "status": r["status"], "columns": r["columns"], "nonzeros": r["nonzeros"],
            "build_wall_s": r["build_wall_s"], "build_cpu_s": r["build_cpu_s"],
            "transfer_wall_s": r.get("transfer_wall_s"), "transfer_cpu_s": r.get("transfer_cpu_s"),
            "build_transfer_cpu_s": _plus(r["build_cpu_s"], r.get("transfer_cpu_s")),
            "total_wall_s": r.get("total_wall_s") if complete else None,
            "total_cpu_s": r.get("total_cpu_s") if complete else None,
            "peak_rss_mb": r.get("peak_rss_mb"), "rss_above_imports_mb": above,
        })
    return sorted(pts, key=lambda p: p["columns"])


GROWTH_QUANTITIES = (
    ("build_wall_s", "build, wall s"), ("build_cpu_s", "build, CPU s"),
    ("transfer_wall_s", "transfer, wall s"), ("transfer_cpu_s", "transfer, CPU s"),
    ("build_transfer_cpu_s", "build + transfer, CPU s"),
    ("total_wall_s", "total, wall s (optimal or --no-solve only)"), ("total_cpu_s", "total, CPU s (same)"),
    ("peak_rss_mb", "peak RSS, MB"), ("rss_above_imports_mb", "peak RSS above the imports, MB"),
)


def growth_slopes(points: Sequence[dict[str, Any]], largest: int = 3) -> list[dict[str, Any]]:
    """Per quantity: log-log slopes against columns and nonzeros, over all points and over the ``largest``."""
    out = []
    for key, label in GROWTH_QUANTITIES:
        pts = [p for p in points if p.get(key) is not None and p[key] > 0]
        top = pts[-largest:]
        out.append({
            "quantity": label, "points": len(pts),
            "slope_columns": loglog_slope([p["columns"] for p in pts], [p[key] for p in pts]),
            "slope_nonzeros": loglog_slope([p["nonzeros"] for p in pts], [p[key] for p in pts]),
            f"slope_columns_largest_{largest}": loglog_slope([p["columns"] for p in top], [p[key] for p in top]),
            f"slope_nonzeros_largest_{largest}": loglog_slope([p["nonzeros"] for p in top], [p[key] for p in top]),
        })
    return out


# --------------------------------------------------------------------------- writing the results


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if abs(v) >= 1e5:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


SUMMARY_COLUMNS = (
    ("spec", "spec"), ("status", "status"), ("columns", "columns"), ("binaries", "binaries"), ("rows", "rows"),
    ("nonzeros", "nonzeros"), ("load_wall_s", "load s"), ("validate_wall_s", "validate s"),
    ("build_wall_s", "build s"), ("transfer_wall_s", "transfer s"), ("solve_wall_s", "solve s"),
    ("extract_wall_s", "extract s"), ("check_wall_s", "check s"), ("total_wall_s", "total s"),
    ("total_cpu_s", "total CPU s"), ("peak_rss_mb", "peak MB"), ("profit", "profit"), ("bound", "bound"),
    ("gap", "gap"), ("siloed_profit", "siloed profit"), ("uplift_pct", "uplift %"), ("violations", "violations"),
)


def write_results(rows: Sequence[dict[str, Any]], out: Path, opts: Options, info: dict[str, str],
                  command: str = "") -> tuple[Path, Path]:
    """``bench.csv`` and ``bench.md`` in ``out``; returns their paths."""
    from optsupply.files import write_file

    out = Path(out)
    csv_path, md_path = out / "bench.csv", out / "bench.md"

    def write_csv(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(COLUMNS), extrasaction="ignore")
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in COLUMNS})

    write_file(csv_path, write_csv)
    text = summary_markdown(rows, opts, info, command)
    write_file(md_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return csv_path, md_path


def check_out(out: Path, inputs: Sequence[str]) -> Path:
    """Before any spec runs: bench.csv and bench.md may be written in ``out`` (never in a scenario read).

    Returns the folder to write to (links and ``..`` resolved)."""
    from optsupply.files import guard_file

    guard_file(Path(out) / "bench.md", inputs=inputs, suffixes=(".md",))
    return guard_file(Path(out) / "bench.csv", inputs=inputs).parent


def summary_markdown(rows: Sequence[dict[str, Any]], opts: Options, info: dict[str, str], command: str = "") -> str:
    gap = "the scenario's [solver] mip_gap" if opts.gap is None else f"{opts.gap:g}"
    versions = sorted({str(r["highs_version"]) for r in rows if r.get("highs_version")})
    lines = [
        "# Benchmark suite",
        "",
        f"`{command or 'optsupply bench'}`, {_dt.datetime.now().isoformat(timespec='minutes')}; "
        f"HiGHS {', '.join(versions) or '–'}, threads = {opts.threads} (0 = HiGHS default), seed {SOLVER_SEED}, "
        + (f"time limit {opts.time_limit:g} s, gap {gap}, method {opts.method}." if opts.solve
           else "build only (`--no-solve`)."),
        "",
        ("Each spec ran in a fresh process; times are wall seconds per phase (CPU in bench.csv), "
        "`total` = load + validate + build + transfer + solve + extract, `peak MB` the child's peak RSS. "
        "`uplift %` is the joint plan's profit over the siloed baseline's, relative to |siloed profit|. "
        "Columns are described in benchmarks/README.md."),
        "",
    ]
    body = []
    for r in rows:
        cells = []
        for key, _ in SUMMARY_COLUMNS:
            v = r.get(key)
            if key == "gap" and v is not None:
                cells.append(f"{100 * v:.2f} %")
            elif key in ("profit", "bound", "siloed_profit") and isinstance(v, float):
                cells.append(f"{v:,.2f}")
            elif key == "uplift_pct" and v is not None:
                cells.append(f"{v:+.1f}")
            elif key in ("peak_rss_mb",) and v is not None:
                cells.append(f"{v:,.0f}")
            else:
                cells.append(_fmt(v))
        body.append(cells)
    lines += _table([label for _, label in SUMMARY_COLUMNS], body)
    notes = [r for r in rows if r.get("status") == "error" or r.get("siloed_message") or r.get("violations")]
    if notes:
        lines += ["", "Problems:", ""]
        for r in notes:
            if r.get("status") == "error":
                lines.append(f"* `{r['spec']}` failed in phase {r.get('failed_phase') or '–'}: {r.get('message')}")
            if r.get("siloed_message"):
                lines.append(f"* `{r['spec']}`: no siloed baseline: {r['siloed_message']}")
            if r.get("violations"):
                lines.append(f"* `{r['spec']}`: the checker found {r['violations']} violation(s), "
                             f"the first: {r.get('first_violation')}")
    lines += ["", *growth_markdown(rows)]
    lines += ["", "## Machine", "", *_table(["", ""], [[k, str(v)] for k, v in info.items()]), ""]
    return "\n".join(lines)


def growth_markdown(rows: Sequence[dict[str, Any]]) -> list[str]:
    points = growth_points(rows)
    lines = ["## Growth curve", ""]
    if not points:
        return lines + [("No generated spec with a built model in this run (run e.g. "
                        "`optsupply bench --sizes tiny small medium large xlarge --no-solve`).")]
    lines += [
        ("Generated sizes, smallest model first. Build and transfer are measured for every size, also when the "
        "solve did not finish; `total` enters the fit only for complete runs (optimal, or build only with "
        "`--no-solve`, where it is load + validate + build + transfer), since a time-limited total is set by "
        "the limit. `above imports` is the peak RSS minus the RSS after the child's imports."),
        "",
    ]
    body = [[p["spec"], p["status"], _fmt(p["columns"]), _fmt(p["nonzeros"]),
             _fmt(p["build_wall_s"]), _fmt(p["build_cpu_s"]), _fmt(p["transfer_wall_s"]), _fmt(p["transfer_cpu_s"]),
             _fmt(None if not p["build_transfer_cpu_s"] else 1e6 * p["build_transfer_cpu_s"] / p["columns"]),
             _fmt(p["total_wall_s"]), _fmt(p["peak_rss_mb"], 4), _fmt(p["rss_above_imports_mb"], 4)]
            for p in points]
    lines += _table(["spec", "status", "columns", "nonzeros", "build s", "build CPU s", "transfer s",
                     "transfer CPU s", "build+transfer CPU µs/column", "total s", "peak MB", "above imports MB"],
                    body)
    largest = 3
    slopes = growth_slopes(points, largest)
    lines += ["", (f"Fitted log-log slopes b of y ∝ size^b (`numpy.polyfit` on the logs), over all points and "
              f"over the {largest} largest models (the asymptotic trend; small models are dominated by fixed "
              "costs). b = 1 is linear growth."), ""]
    lines += _table(["quantity", "points", "vs columns", "vs nonzeros", f"vs columns, largest {largest}",
                     f"vs nonzeros, largest {largest}"],
                    [[s["quantity"], str(s["points"]), _fmt(s["slope_columns"], 3), _fmt(s["slope_nonzeros"], 3),
                      _fmt(s[f"slope_columns_largest_{largest}"], 3), _fmt(s[f"slope_nonzeros_largest_{largest}"], 3)]
                     for s in slopes])
    return lines
