"""The one progress line every solve method prints: elapsed, phase, incumbent, bound (and its kind), gap.

    [   4.1 s] start       profit   376,364.83   bound            —             gap      —
    [   9.8 s] polish      profit   413,591.70   bound            —             gap      —
    [  52.0 s] search      profit   417,310.44   bound   441,726.30 lp         gap   5.85%
    [  71.2 s] search      profit   418,020.15   bound   435,210.03 root_cuts  gap   4.12%

The kind says where the bound comes from (``lp``: the LP relaxation;
``root_cuts``: HiGHS's root node, with presolve and cuts; ``mip``: branch and
bound; ``lagrangian``: priced product groups).

A line is printed when the phase changes; within a phase when the incumbent
or the bound moved (at most every :data:`OFTEN` seconds), and every
:data:`EVERY` seconds otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from optsupply.plan.core import mip_gap

__all__ = ["Progress", "progress_line"]

EVERY = 10.0  # seconds between two lines that report no change
OFTEN = 1.0  # seconds between two lines of one phase


def progress_line(elapsed: float, phase: str, incumbent: float | None, bound: float | None,
                  kind: str | None = None) -> str:
    """One progress line (module docstring)."""
    def num(v: float | None) -> str:
        return f"{v:12,.2f}" if v is not None else f"{'—':>12}"

    gap = mip_gap(incumbent, bound) if incumbent is not None else None
    label = (kind or "") if bound is not None else ""
    return (f"[{elapsed:7.1f} s] {phase:<11} profit {num(incumbent)}   bound {num(bound)} {label:<10} "
            f"gap {'     —' if gap is None else f'{gap:6.2%}'}")


@dataclass
class Progress:
    """Reports progress lines to ``stream`` (and/or ``callback``), from ``t0`` (a :func:`time.perf_counter`)."""

    stream: TextIO | None = None
    callback: Callable[[dict], None] | None = None
    t0: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        self._last: tuple = ()
        self._when = -1e9

    def __call__(self, phase: str, incumbent: float | None, bound: float | None, *, force: bool = False,
                 kind: str | None = None, **extra: object) -> None:
        now = time.perf_counter()
        state = (phase, None if incumbent is None else round(incumbent, 2), None if bound is None else round(bound, 2))
        if not force and self._last and phase == self._last[0] and (
                now - self._when < OFTEN or (state == self._last and now - self._when < EVERY)):
            return
        self._last, self._when = state, now
        elapsed = now - self.t0
        if self.stream is not None:
            print(progress_line(elapsed, phase, incumbent, bound, kind), file=self.stream, flush=True)
        if self.callback is not None:
            self.callback({"elapsed": elapsed, "phase": phase, "incumbent": incumbent, "bound": bound,
                           "bound_kind": kind if bound is not None else None,
                           "gap": mip_gap(incumbent, bound) if incumbent is not None else None, **extra})
