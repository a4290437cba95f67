"""The second core's work: HiGHS on the whole model, in its own process, beside the neighbourhood search.

:class:`SearchWorker` starts ``python -m optsupply.optimizer.highs.worker``
(a fresh interpreter: nothing of the parent's HiGHS threads is inherited, and
a script or notebook without a ``__main__`` guard is never re-run), hands it
the compiled model's arrays and the search's first plan on its stdin, and
the worker rebuilds the model (:func:`optsupply.optimizer.highs.arrays.lp_of`)
and runs HiGHS's own branch and bound on one thread from that plan. Frames
are a JSON header and raw numeric arrays (nothing is unpickled or
evaluated). It sends back, on its stdout:

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

import json
import math
import os
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


def _send(out: BinaryIO, header: dict, arrays: dict[str, np.ndarray] | None = None) -> None:
    """One frame: the JSON ``header`` (with the arrays' names, dtypes and shapes) and the arrays' bytes."""
    arrays = arrays or {}
    parts = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    head = json.dumps({**header, "_arrays": [[n, a.dtype.str, list(a.shape)] for n, a in parts.items()]}).encode()
    out.write(_FRAME.pack(len(head)) + head)
    for a in parts.values():
        out.write(a.tobytes())
    out.flush()


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


def _receive(stream: BinaryIO) -> tuple[dict, dict[str, np.ndarray]]:
    """The next frame of :func:`_send`: (header, arrays)."""
    header = json.loads(_read(stream, _FRAME.unpack(_read(stream, _FRAME.size))[0]))
    arrays = {}
    for name, dtype, shape in header.pop("_arrays"):
        dt = np.dtype(dtype)
        if dt.kind not in "biuf":  # numbers only
            raise ValueError(f"unexpected array type {dtype}")
        n = int(np.prod(shape)) if shape else 1
        arrays[name] = np.frombuffer(_read(stream, n * dt.itemsize), dtype=dt).reshape(shape)
    return header, arrays


def main() -> None:  # pragma: no cover - runs in the worker process (its effects are tested)
    """The worker process: read the job from stdin, run HiGHS, send frames on the original stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # HiGHS (and anything else) printing to stdout must not mix with the frames
    job, data = _receive(sys.stdin.buffer)
    from optsupply.optimizer.highs.arrays import lp_of, new_highs

    start = data.pop("x_start")
    arrays = {**data, "offset": float(job["offset"])}
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
        _send(out, {"kind": "incumbent", "value": float(event.data_out.objective_function_value)}, {"x": x})

    def interrupt(event: Any) -> None:
        bound, now = float(event.data_out.mip_dual_bound), time.monotonic()
        if math.isfinite(bound) and bound < last[1] and now - last[0] >= BOUND_EVERY:
            last[0], last[1] = now, bound
            _send(out, {"kind": "bound", "value": bound})

    h.cbMipImprovingSolution.subscribe(improving)
    h.cbMipInterrupt.subscribe(interrupt)
    h.run()
    bound = float(h.getInfo().mip_dual_bound)
    _send(out, {"kind": "done", "value": bound if math.isfinite(bound) else None})


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
        job = {"offset": float(self.arrays["offset"]), "time_limit": self.time_limit, "gap": self.gap,
               "seed": self.seed, "options": self.options}
        data = {k: np.asarray(v) for k, v in self.arrays.items() if k != "offset"}
        try:
            _send(self.process.stdin, job, {**data, "x_start": np.asarray(self.start, dtype=float)})
            self.process.stdin.close()
        except OSError:  # the worker died before reading its job: the search goes on without it
            pass

    def _read(self) -> None:
        while True:
            try:
                self.messages.put(_receive(self.process.stdout))
            except (EOFError, OSError, ValueError):
                return

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> WorkerNews:
        """Everything the worker sent since the last call (without waiting)."""
        news = WorkerNews()
        while True:
            try:
                header, arrays = self.messages.get_nowait()
            except queue.Empty:
                break
            kind, value = header["kind"], header["value"]
            if kind == "bound" or (kind == "done" and value is not None):
                news.bound = value if news.bound is None else min(news.bound, value)
            if kind == "incumbent" and (news.incumbent is None or value > news.incumbent[0]):
                news.incumbent = (value, arrays["x"])
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
