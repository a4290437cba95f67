"""What benchmark numbers were measured on: CPU, cores, memory, versions, the optsupply revision."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import optsupply


def source_checkout() -> Path | None:
    """The source checkout optsupply runs from (the folder with its pyproject.toml, instances/ and benchmarks/),
    or None when it runs from an installed package."""
    root = Path(optsupply.__file__).resolve().parents[1]
    try:
        pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return root if 'name = "optsupply"' in pyproject and (root / "instances").is_dir() else None


#: The source checkout optsupply runs from, None for an installed package (the git revision is read there).
CHECKOUT = source_checkout()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 ** 2:.1f} GB"
    except OSError:
        pass
    return "unknown"


def _git_revision() -> str:
    if CHECKOUT is None:
        return "unknown (an installed package, not a source checkout)"
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=CHECKOUT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=CHECKOUT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    import numpy
    import pandas

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {
        "cpu": _cpu_model(),
        "nproc": str(usable),
        "memory": _memory_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "optsupply": optsupply.__version__,
        "optsupply revision": _git_revision(),
        "load average before the runs (1, 5, 15 min)": load,
    }
