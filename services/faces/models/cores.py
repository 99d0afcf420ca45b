"""The machine's cores as the face models' calls share them. A call that asks with
`threads` (a small BlazeFace call) takes several only while that many cores are idle, and
one otherwise: a stream's CenterFace work beside its frontal scan, or other streams'
calls, then run side by side on a thread each instead of oversubscribing the cores, where
LiteRT's threads wait on each other. A call whose threads are fixed counts them with
`holding` (docs/detection.md#threads-per-call)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CoreUse:
    """How many of `cores` threads the models' running calls hold."""

    def __init__(self, cores: int) -> None:
        self.cores = cores
        self._busy = 0
        self._lock = threading.Lock()

    @contextmanager
    def threads(self, wanted: int) -> Iterator[int]:
        """The threads one call runs on: up to `wanted`, as many as cores are idle, at
        least one; held until the call ends."""
        with self._lock:
            granted = max(1, min(wanted, self.cores - self._busy))
            self._busy += granted
        try:
            yield granted
        finally:
            with self._lock:
                self._busy -= granted

    @contextmanager
    def holding(self, threads: int) -> Iterator[None]:
        """A call whose threads are fixed (an onnxruntime session's) holds them."""
        with self._lock:
            self._busy += threads
        try:
            yield
        finally:
            with self._lock:
                self._busy -= threads

    @property
    def busy(self) -> int:
        return self._busy


CORES = CoreUse(os.cpu_count() or 1)
