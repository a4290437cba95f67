"""The second core's work: HiGHS on the whole model, in its own process, beside the neighbourhood search.

:class:`SearchWorker` starts ``python -m optsupply.optimizer.highs.worker``
(a fresh interpreter: nothing of the parent's HiGHS threads is inherited, and
a script or notebook without a ``__main__`` guard is never re-run), hands it
the compiled model's arrays and the search's first plan on its stdin, and
the worker rebuilds the model (:func:`optsupply.optimizer.highs.arrays.lp_of`)
and runs HiGHS's own branch and bound on one thread from that plan. It sends
back, as pickled frames on its stdout:

* ``("bound", value)``: HiGHS's dual bound on the whole model (valid for
  every plan of the model), as it improves;
* ``("incumbent", objective, x)``: each improving solution HiGHS finds (the
  search adopts it when it beats its own: a second search strategy);
* ``("done", value)``: the run ended (its final bound, or None).

The worker ignores Ctrl-C (the search, in the main process, decides what
happens) and is stopped by :meth:`SearchWorker.stop`. A worker that dies
costs nothing but its own work: :meth:`SearchWorker.poll` then reports
``alive = False`` and the search goes on without it.
"""

from __future__ import annotations

import math
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

__all__ = ["SearchWorker", "WorkerNews"]

BOUND_EVERY = 1.0  # seconds between two bound messages
_FRAME = struct.Struct("<Q")


def _send(out: BinaryIO, message: tuple) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_FRAME.pack(len(data)) + data)
    out.flush()


def _receive(stream: BinaryIO) -> Any:
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        raise EOFError
    size = _FRAME.unpack(head)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def main() -> None:  # pragma: no cover - runs in the worker process (its effects are tested)
    """The worker process: read the job from stdin, run HiGHS, send frames on the original stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # HiGHS (and anything else) printing to stdout must not mix with the frames
    job = _receive(sys.stdin.buffer)
    from optsupply.optimizer.highs.arrays import lp_of, new_highs

    arrays, start = job["arrays"], job["start"]
    h = new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", int(job["seed"]))
    h.setOptionValue("mip_rel_gap", float(job["gap"]))
    h.setOptionValue("time_limit", max(1.0, float(job["time_limit"])))
    for key, value in job["options"].items():
        h.setOptionValue(key, value)
    h.passModel(lp_of(arrays))
    n = len(arrays["cost"])
    h.setSolution(n, np.arange(n, dtype=np.int32), start)
    last = [0.0, math.inf]

    def improving(event: Any) -> None:
        x = np.array(event.data_out.mip_solution, dtype=float)
        _send(out, ("incumbent", float(event.data_out.objective_function_value), x))

    def interrupt(event: Any) -> None:
        bound, now = float(event.data_out.mip_dual_bound), time.monotonic()
        if math.isfinite(bound) and bound < last[1] and now - last[0] >= BOUND_EVERY:
            last[0], last[1] = now, bound
            _send(out, ("bound", bound))

    h.cbMipImprovingSolution.subscribe(improving)
    h.cbMipInterrupt.subscribe(interrupt)
    h.run()
    bound = float(h.getInfo().mip_dual_bound)
    _send(out, ("done", bound if math.isfinite(bound) else None))


@dataclass
class WorkerNews:
    """What the worker sent since the last poll: its best bound and best incumbent (objective, x)."""

    bound: float | None = None
    incumbent: tuple[float, np.ndarray] | None = None
    done: bool = False
    alive: bool = True


@dataclass
class SearchWorker:
    """HiGHS on the whole model in a second process (module docstring)."""

    arrays: dict
    start: np.ndarray
    time_limit: float
    gap: float = 1e-4
    seed: int = 0
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "optsupply.optimizer.highs.worker"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        start_new_session=True)  # Ctrl-C in the terminal reaches the search only
        self.messages: queue.Queue = queue.Queue()
        self.finished = False
        threading.Thread(target=self._read, daemon=True).start()
        job = {"arrays": self.arrays, "start": self.start, "time_limit": self.time_limit, "gap": self.gap,
               "seed": self.seed, "options": self.options}
        try:
            _send(self.process.stdin, job)
            self.process.stdin.close()
        except OSError:  # the worker died before reading its job: the search goes on without it
            pass

    def _read(self) -> None:
        while True:
            try:
                self.messages.put(_receive(self.process.stdout))
            except (EOFError, OSError, pickle.UnpicklingError, ValueError):
                return

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> WorkerNews:
        """Everything the worker sent since the last call (without waiting)."""
        news = WorkerNews()
        while True:
            try:
                kind, *rest = self.messages.get_nowait()
            except queue.Empty:
                break
            if kind == "bound" or (kind == "done" and rest[0] is not None):
                news.bound = rest[0] if news.bound is None else min(news.bound, rest[0])
            if kind == "incumbent" and (news.incumbent is None or rest[0] > news.incumbent[0]):
                news.incumbent = (rest[0], rest[1])
            if kind == "done":
                news.done = self.finished = True
        news.alive = self.finished or self.process.poll() is None
        return news

    def stop(self) -> None:
        """End the worker, whatever it is doing."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(2.0)
            except subprocess.TimeoutExpired:  # pragma: no cover - a worker deaf to SIGTERM
                self.process.kill()
                self.process.wait(2.0)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


if __name__ == "__main__":  # pragma: no cover
    main()
