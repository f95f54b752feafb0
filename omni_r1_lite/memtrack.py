"""Seconds and peak memory of named phases: resident memory and the bytes of live torch tensors.

`PhaseMeter` times a block and records two peaks:

- **RSS** (resident memory of the process, sampled every few milliseconds by a thread; what the
  operating system sees, allocator caches and libraries included);
- **live tensor bytes**: on CUDA ``torch.cuda.max_memory_allocated`` (reset at the start of each
  phase); on a CPU, where torch keeps no such count, `LiveTensors` tracks every storage an
  operation creates (a ``TorchDispatchMode``: each op's outputs are registered with a weak
  reference; a storage counts until its last tensor dies), on top of the tensors that already
  existed when the phase began (found with the garbage collector; storages that no operation
  made, such as weights a loader maps from a file, are found the same way at the end of the
  phase). Both count what a memory plan
  estimates: tensors, without allocator caching or fragmentation, without the CUDA context.

A phase that raises is recorded as ``ok=False`` with the error, and the error propagates unless
``PhaseMeter(keep_going=True)``.

>>> import torch
>>> meter = PhaseMeter(device="cpu", sample_seconds=0.001)
>>> with meter.phase("matmul"):
...     x = torch.ones(1024, 1024)        # 4 MiB
...     y = (x @ x).sum()                 # another 4 MiB while the product lives
>>> r = meter.records["matmul"]
>>> r.ok, r.peak_tensor_bytes >= 8 * 2**20, r.peak_rss_bytes > 0
(True, True, True)
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import threading
import time
import traceback
import warnings
import weakref
from collections.abc import Iterator
from typing import Any

GIB = 2**30


def rss_bytes() -> int:
    """Resident memory of this process (``/proc/self/statm``; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _storage_key(t: Any) -> tuple[int, int] | None:
    try:
        st = t.untyped_storage()
    except (RuntimeError, NotImplementedError):  # e.g. meta or sparse tensors
        return None
    ptr = st.data_ptr()
    return (ptr, st.nbytes()) if ptr else None


def existing_tensor_bytes(device_type: str = "cpu") -> tuple[set[int], int]:
    """Storages of the tensors alive now on ``device_type`` (found with the garbage collector):
    their addresses and their total bytes (each storage once)."""
    import torch

    seen: dict[int, int] = {}
    with warnings.catch_warnings():  # isinstance() on some deprecated module proxies warns
        warnings.simplefilter("ignore")
        for obj in gc.get_objects():
            try:
                if isinstance(obj, torch.Tensor) and obj.device.type == device_type:
                    key = _storage_key(obj)
                    if key is not None:
                        seen[key[0]] = key[1]
            except ReferenceError:
                continue
    return set(seen), sum(seen.values())


class LiveTensors:
    """The bytes of CPU tensor storages alive while the block runs, and their peak.

    Use as a context manager; ``peak`` and ``current`` include the tensors that existed at entry
    (``baseline``). Storages made by operations run inside the block are counted from their first
    tensor to the death of their last one (views share their base's storage and count once).
    """

    def __init__(self):
        self.baseline = 0
        self.current = 0
        self.peak = 0
        self._known: set[int] = set()
        self._refs: dict[int, int] = {}
        self._bytes: dict[int, int] = {}
        self._mode: Any = None
        self._lock = threading.Lock()

    def _release(self, ptr: int) -> None:
        with self._lock:
            n = self._refs.get(ptr, 0) - 1
            if n > 0:
                self._refs[ptr] = n
                return
            self._refs.pop(ptr, None)
            self.current -= self._bytes.pop(ptr, 0)

    def _track(self, t: Any) -> None:
        if t.device.type != "cpu":
            return
        key = _storage_key(t)
        if key is None or key[0] in self._known:
            return
        ptr, nbytes = key
        with self._lock:
            if ptr in self._refs:
                self._refs[ptr] += 1
                if nbytes > self._bytes[ptr]:  # resized in place
                    self.current += nbytes - self._bytes[ptr]
                    self._bytes[ptr] = nbytes
            else:
                self._refs[ptr] = 1
                self._bytes[ptr] = nbytes
                self.current += nbytes
            self.peak = max(self.peak, self.current)
        weakref.finalize(t, self._release, ptr)

    def __enter__(self) -> LiveTensors:
        import torch
        from torch.utils._python_dispatch import TorchDispatchMode
        from torch.utils._pytree import tree_leaves

        self._known, self.baseline = existing_tensor_bytes("cpu")
        self.current = self.peak = self.baseline
        tracker = self

        class _Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                for leaf in tree_leaves(out):
                    if isinstance(leaf, torch.Tensor):
                        tracker._track(leaf)
                return out

        self._mode = _Mode()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._mode.__exit__(*exc)
        self._mode = None
        # storages no operation made (memory-mapped from a file by a checkpoint loader, say) are
        # invisible to the mode: count what is alive at the end once more
        self.peak = max(self.peak, existing_tensor_bytes("cpu")[1])


@dataclasses.dataclass
class PhaseRecord:
    """One phase: ``ok``, wall-clock ``seconds``, peak RSS and peak live tensor bytes, the error."""

    name: str
    ok: bool
    seconds: float
    peak_rss_bytes: int
    peak_tensor_bytes: int
    error: str | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def peak_rss_gib(self) -> float:
        return self.peak_rss_bytes / GIB

    @property
    def peak_tensor_gib(self) -> float:
        return self.peak_tensor_bytes / GIB


class _RssSampler(threading.Thread):
    def __init__(self, every: float):
        super().__init__(daemon=True)
        self.every, self.peak, self._halt = every, rss_bytes(), threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.every):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return max(self.peak, rss_bytes())


class PhaseMeter:
    """Measure named phases (see the module docstring).

    Args:
        device: ``"cpu"`` (tensors tracked with `LiveTensors`) or ``"cuda"`` (the allocator's peak).
        sample_seconds: how often RSS is read.
        track_tensors: set False to skip the CPU tensor tracking (it costs a little per operation).
        keep_going: record a failing phase and carry on instead of raising.
    """

    def __init__(self, device: str = "cpu", sample_seconds: float = 0.01, track_tensors: bool = True,
                 keep_going: bool = False):
        self.device = str(device)
        self.sample_seconds = sample_seconds
        self.track_tensors = track_tensors
        self.keep_going = keep_going
        self.records: dict[str, PhaseRecord] = {}

    @contextlib.contextmanager
    def phase(self, name: str, **info: Any) -> Iterator[dict[str, Any]]:
        """Measure the block as phase ``name``; the yielded dict lands in the record's ``info``."""
        import torch

        cuda = self.device.startswith("cuda")
        gc.collect()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        sampler = _RssSampler(self.sample_seconds)
        sampler.start()
        tracker = LiveTensors() if (self.track_tensors and not cuda) else contextlib.nullcontext()
        error = None
        t0 = time.perf_counter()
        extra = dict(info)
        try:
            with tracker:
                yield extra
            if cuda:
                torch.cuda.synchronize()
        except BaseException as e:  # recorded, then re-raised unless keep_going
            error = f"{type(e).__name__}: {e}"
            extra["traceback"] = traceback.format_exc(limit=12)
            if not self.keep_going or isinstance(e, KeyboardInterrupt):
                self._record(name, False, t0, sampler, tracker, cuda, error, extra)
                raise
        self._record(name, error is None, t0, sampler, tracker, cuda, error, extra)

    def _record(self, name, ok, t0, sampler, tracker, cuda, error, extra) -> None:
        import torch

        seconds = time.perf_counter() - t0
        peak_rss = sampler.stop()
        if cuda:
            peak_t = int(torch.cuda.max_memory_allocated())
        elif isinstance(tracker, LiveTensors):
            peak_t = int(tracker.peak)
        else:
            peak_t = 0
        self.records[name] = PhaseRecord(name, ok, seconds, peak_rss, peak_t, error, extra)
