"""Running specs (the parent's side of the suite): each in a fresh interpreter, watched and killed on overrun.

A child runs ``python -m optsupply.bench.measure`` with the optsupply this
process imported (a source checkout, a folder on ``PYTHONPATH`` or an
installed package), so no phase of it depends on the current folder.
"""

from __future__ import annotations

import json
import os
import select
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import optsupply
from optsupply.bench.measure import run_spec
from optsupply.bench.phases import empty_row, plan_total
from optsupply.bench.report import machine_info, one_line, write_results
from optsupply.bench.specs import Options, Spec


def _phase_limit(phase: str, opts: Options) -> float:
    if phase == "solve":
        limit = opts.time_limit + opts.margin
        return limit if opts.method == "mip" else limit + opts.phase_timeout  # its own build is inside
    return opts.phase_timeout


def _meminfo_gb(key: str) -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024 ** 2
    except (OSError, ValueError, IndexError):
        pass
    return None


def _rss_of_gb(pid: int) -> float | None:
    """Current resident memory of process ``pid`` (Linux /proc; None elsewhere)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 ** 3


def memory_limit_gb(opts: Options) -> float | None:
    """The RSS at which a child is killed: ``max_memory_gb``, or 90 % of what is available now."""
    if opts.max_memory_gb is not None:
        return opts.max_memory_gb or None
    available = _meminfo_gb("MemAvailable")
    return None if available is None else 0.9 * available


def child_command(payload: str) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a child: this interpreter, the optsupply this process runs.

    ``-P``: the current folder is not put on the child's path, so a folder named optsupply there is never
    imported; the folder holding this optsupply is put first on ``PYTHONPATH`` unless it is a site-packages
    folder the interpreter reads anyway (an installed package).
    """
    env = dict(os.environ)
    home = str(Path(optsupply.__file__).resolve().parents[1])
    installed = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
    if home not in {str(Path(p).resolve()) for p in installed}:
        env["PYTHONPATH"] = os.pathsep.join([home] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return [sys.executable, "-P", "-m", "optsupply.bench.measure", payload], env


class _Watch:
    """What the parent knows of a running child: its phase, its latest row, and why it was killed."""

    def __init__(self, spec: Spec, opts: Options):
        self.opts = opts
        self.row = empty_row(spec, opts)
        self.final: dict[str, Any] | None = None
        self.phase, self.phase_start = "start", time.perf_counter()
        self.killed: str | None = None
        self.max_gb = memory_limit_gb(opts)

    def read(self, line: bytes) -> None:
        msg = json.loads(line)
        if "phase" in msg:
            self.phase, self.phase_start = msg["phase"], time.perf_counter()
        if "row" in msg:
            self.row = msg["row"]
        if "final" in msg:
            self.final = msg["final"]

    def overrun(self, pid: int, elapsed: float) -> str | None:
        """Why the child must be killed now (its phase or its memory over the limit), else None."""
        limit = _phase_limit(self.phase, self.opts)
        if elapsed > limit:
            return f"killed: phase '{self.phase}' ran {elapsed:.0f} s, over its limit of {limit:.0f} s"
        rss = _rss_of_gb(pid) if self.max_gb else None
        if rss is not None and rss > self.max_gb:
            return (f"killed: resident memory {rss:.1f} GB in phase '{self.phase}' is over the limit of "
                    f"{self.max_gb:.1f} GB (--max-memory)")
        return None

    def follow(self, proc: subprocess.Popen, rfd: int, on_phase: Callable[[str, float], None] | None,
               poll: float) -> None:
        """Read the child's messages until it is done or killed."""
        buf = b""
        while True:
            ready, _, _ = select.select([rfd], [], [], poll)
            if ready:
                chunk = os.read(rfd, 1 << 16)
                if not chunk:
                    break  # the child closed its end: it is done
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    self.read(line)
            elif proc.poll() is not None:
                break
            elapsed = time.perf_counter() - self.phase_start
            self.killed = self.overrun(proc.pid, elapsed)
            if self.killed:
                proc.kill()
                break
            if on_phase is not None:
                on_phase(self.phase, elapsed)

    def result(self, code: int, stderr: str) -> dict[str, Any]:
        """The final row, or the last partial one with why the child ended without one."""
        if self.final is not None:
            return self.final
        row = self.row
        row["status"] = "error"
        row["failed_phase"] = self.phase
        if self.killed:
            row["message"] = self.killed
        else:
            why = f"signal {-code}" + (" (killed: out of memory?)" if code == -9 else "") if code < 0 else f"code {code}"
            tail = " ".join(stderr.split())[-400:]
            row["message"] = f"the child process exited with {why} in phase '{self.phase}'" + (f": {tail}" if tail else "")
        row["total_wall_s"] = plan_total(row, "wall_s")
        row["total_cpu_s"] = plan_total(row, "cpu_s")
        return row


def run_in_child(spec: Spec, opts: Options, on_phase: Callable[[str, float], None] | None = None,
                 poll: float = 0.5) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter; kill it when a phase overruns its limit."""
    rfd, wfd = os.pipe()
    command, env = child_command(json.dumps({"spec": asdict(spec), "options": asdict(opts), "fd": wfd}))
    watch = _Watch(spec, opts)
    w0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(command, pass_fds=(wfd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, env=env)
        finally:
            os.close(wfd)
        try:
            watch.follow(proc, rfd, on_phase, poll)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            os.close(rfd)
        code = proc.wait()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace").strip()
    row = watch.result(code, stderr)
    row["process_wall_s"] = time.perf_counter() - w0
    return row


def run_suite(specs: Sequence[Spec], opts: Options, out: Path, *, command: str = "", progress: bool = True,
              in_process: bool = False) -> list[dict[str, Any]]:
    """Run ``specs`` one after the other (each in a fresh process unless ``in_process``) and write the results
    into ``out`` after every spec."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(specs), unit="spec", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    try:
        for spec in specs:
            bar.set_description_str(spec.name)

            def show(phase: str, seconds: float, _bar: Any = bar) -> None:
                _bar.set_postfix_str(f"{phase} {seconds:.0f} s", refresh=True)

            if in_process:
                row = run_spec(spec, opts, lambda msg: show(msg["phase"], 0.0) if "phase" in msg else None)
            else:
                row = run_in_child(spec, opts, show)
            rows.append(row)
            bar.update(1)
            bar.write(one_line(row), file=sys.stderr)
            write_results(rows, out, opts, info, command)
    finally:
        bar.close()
    return rows
