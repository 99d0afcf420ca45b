"""The machine's cores as the face models' calls share them: a call waits in line until
a core is idle, so the running calls' threads never outnumber the cores (LiteRT's threads
wait on each other when they share one). A call that asks with `threads` (a small
BlazeFace call) takes several only while that many are idle and nobody waits, one
otherwise; a call whose threads are fixed (an image's whole level, an onnxruntime
session) waits for all of them with `holding`. One line for all: a new stream's first
frame is not passed by the running streams' small calls
(docs/detection.md#threads-per-call)."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class CoreUse:
    """How many of `cores` threads the models' running calls hold, and who waits next."""

    def __init__(self, cores: int) -> None:
        self.cores = cores
        self._busy = 0
        self._lock = threading.Lock()
        self._line: deque[tuple[int, threading.Condition]] = deque()  # (least, its wake-up)

    def _take(self, least: int, wanted: int) -> int:
        least = min(least, self.cores)
        with self._lock:
            if self._line or self.cores - self._busy < least:
                turn = threading.Condition(self._lock)
                self._line.append((least, turn))
                while self._line[0][1] is not turn or self.cores - self._busy < least:
                    turn.wait()
                self._line.popleft()
            idle = self.cores - self._busy
            granted = least if self._line else min(wanted, idle)
            self._busy += granted
            self._wake_next()  # the next in line may fit beside this call
            return granted

    def _wake_next(self) -> None:
        if self._line and self.cores - self._busy >= self._line[0][0]:
            self._line[0][1].notify()

    def _give_back(self, threads: int) -> None:
        with self._lock:
            self._busy -= threads
            self._wake_next()

    @contextmanager
    def threads(self, wanted: int) -> Iterator[int]:
        """The threads one call runs on: up to `wanted` while that many cores are idle and
        no call waits, else one; held until the call ends."""
        granted = self._take(1, wanted)
        try:
            yield granted
        finally:
            self._give_back(granted)

    @contextmanager
    def holding(self, threads: int) -> Iterator[None]:
        """A call whose threads are fixed waits until as many cores are idle (all of them,
        if it has more threads than the machine has cores), and holds them."""
        granted = self._take(threads, threads)
        try:
            yield
        finally:
            self._give_back(granted)

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def waiting(self) -> int:
        return len(self._line)


CORES = CoreUse(os.cpu_count() or 1)
