"""The second core's work: HiGHS on the whole model, in its own process, beside the neighbourhood search.

:class:`SearchWorker` starts ``python -m optsupply.optimizer.highs.worker``
(a fresh interpreter: nothing of the parent's HiGHS threads is inherited, and
a script or notebook without a ``__main__`` guard is never re-run), hands it
the compiled model's arrays and the search's first plan on its stdin, and
the worker rebuilds the model (:func:`optsupply.optimizer.highs.arrays.lp_of`)
and runs HiGHS's own branch and bound on one thread from that plan. Frames
are a JSON header and raw numeric arrays (nothing is unpickled or
evaluated). It sends back, on its stdout:

* ``("bound", value, bound_kind)``: a dual bound on the whole model (valid
  for every plan of the model), as it improves. With ``lp_first`` the
  worker first solves the LP relaxation (``"lp"``); then HiGHS's MIP
  reports its bound during the root node (``"root_cuts"``: the root LP
  tightened by presolve and cut rounds) and in branch and bound (``"mip"``);
* ``("incumbent", objective, x)``: each improving solution HiGHS finds (the
  search adopts it when it beats its own: a second search strategy);
* ``("done", value, bound_kind)``: the run ended (its final bound, or None).

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

__all__ = ["SearchWorker", "WorkerNews", "ChildProcess", "send", "receive"]

BOUND_EVERY = 1.0  # seconds between two bound messages
LP_IPM_FROM = 20_000  # columns from which the LP relaxation is solved by the interior-point method (as the MIP's LPs)
_FRAME = struct.Struct("<Q")


def send(out: BinaryIO, header: dict, arrays: dict[str, np.ndarray] | None = None) -> None:
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


def receive(stream: BinaryIO) -> tuple[dict, dict[str, np.ndarray]]:
    """The next frame of :func:`send`: (header, arrays)."""
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
    job, data = receive(sys.stdin.buffer)
    import highspy

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
    every = np.arange(n, dtype=np.int32)
    if job.get("lp_first"):
        h.changeColsIntegrality(n, every, np.zeros(n, dtype=np.uint8))
        h.setOptionValue("solver", "ipm" if n > LP_IPM_FROM else "choose")
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            send(out, {"kind": "bound", "value": float(h.getInfo().objective_function_value), "bound_kind": "lp"})
        h.setOptionValue("solver", "choose")
        h.changeColsIntegrality(n, every, np.asarray(arrays["integrality"], dtype=np.uint8))
    h.setSolution(n, every, start)
    last = [0.0, math.inf]

    def improving(event: Any) -> None:
        x = np.array(event.data_out.mip_solution, dtype=float)
        send(out, {"kind": "incumbent", "value": float(event.data_out.objective_function_value)}, {"x": x})

    def interrupt(event: Any) -> None:
        bound, now = float(event.data_out.mip_dual_bound), time.monotonic()
        if math.isfinite(bound) and bound < last[1] and now - last[0] >= BOUND_EVERY:
            last[0], last[1] = now, bound
            send(out, {"kind": "bound", "value": bound, "bound_kind": _kind(event.data_out.mip_node_count)})

    h.cbMipImprovingSolution.subscribe(improving)
    h.cbMipInterrupt.subscribe(interrupt)
    h.run()
    info = h.getInfo()
    bound = float(info.mip_dual_bound)
    send(out, {"kind": "done", "value": bound if math.isfinite(bound) else None,
                "bound_kind": _kind(info.mip_node_count)})


def _kind(nodes: int) -> str:
    """Which bound HiGHS's MIP dual bound is: the root node's (LP, presolve, cuts) or branch and bound's."""
    return "root_cuts" if nodes <= 0 else "mip"


@dataclass
class WorkerNews:
    """What the worker sent since the last poll: its best bound and best incumbent (objective, x)."""

    bound: float | None = None
    bound_kind: str | None = None  # "lp", "root_cuts" or "mip" (module docstring)
    incumbent: tuple[float, np.ndarray] | None = None
    done: bool = False
    alive: bool = True


class ChildProcess:
    """``python -m <module>`` in its own session, given one job frame on its stdin; its frames are read by a
    thread and handed out by :meth:`poll` (bounds, incumbents, done), and :meth:`stop` ends it."""

    def _spawn(self, module: str, job: dict, arrays: dict[str, np.ndarray]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", module],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        start_new_session=True)  # Ctrl-C in the terminal reaches the search only
        self.messages: queue.Queue = queue.Queue()
        self.finished = False
        threading.Thread(target=self._read, daemon=True).start()
        try:
            send(self.process.stdin, job, arrays)
            self.process.stdin.close()
        except OSError:  # the worker died before reading its job: the search goes on without it
            pass

    def _read(self) -> None:
        while True:
            try:
                self.messages.put(receive(self.process.stdout))
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
            if (kind == "bound" or kind == "done") and value is not None and (news.bound is None or value <= news.bound):
                news.bound, news.bound_kind = value, header.get("bound_kind")
            if kind == "incumbent" and (news.incumbent is None or value > news.incumbent[0]):
                news.incumbent = (value, arrays["x"])
            if kind == "done":
                news.done = self.finished = True
        news.alive = self.finished or self.process.poll() is None
        return news

    def stop(self) -> None:
        """End the process, whatever it is doing."""
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


@dataclass
class SearchWorker(ChildProcess):
    """HiGHS on the whole model in a second process (module docstring)."""

    arrays: dict
    start: np.ndarray
    time_limit: float
    gap: float = 1e-4
    seed: int = 0
    options: dict = field(default_factory=dict)
    lp_first: bool = False

    def __post_init__(self) -> None:
        job = {"offset": float(self.arrays["offset"]), "time_limit": self.time_limit, "gap": self.gap,
               "seed": self.seed, "options": self.options, "lp_first": self.lp_first}
        data = {k: np.asarray(v) for k, v in self.arrays.items() if k != "offset"}
        self._spawn("optsupply.optimizer.highs.worker", job, {**data, "x_start": np.asarray(self.start, dtype=float)})


if __name__ == "__main__":  # pragma: no cover
    main()
