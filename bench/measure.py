"""Small measuring helpers shared by the benchmark parts."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Rate:
    count: int
    seconds: float
    latencies_ms: list[float]
    faces: int = 0  # found over all the frames, where a row counts them

    @property
    def per_s(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def mean(self) -> float:
        return float(np.mean(self.latencies_ms)) if self.latencies_ms else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0


def each_frame_for(seconds: float, frames: list[np.ndarray], process: Callable[[np.ndarray], object]) -> Rate:
    """Call process(frame) over the frames, round and round, for `seconds`."""
    cycle = itertools.cycle(frames)

    def step() -> int:
        process(next(cycle))
        return 1

    return repeat_for(seconds, step)


def repeat_for(seconds: float, step: Callable[[], int]) -> Rate:
    """Call step() (which returns items done) until `seconds` pass; at least 3 calls."""
    latencies, count, calls = [], 0, 0
    started = time.perf_counter()
    while calls < 3 or time.perf_counter() - started < seconds:
        t0 = time.perf_counter()
        count += step()
        latencies.append((time.perf_counter() - t0) * 1000)
        calls += 1
    return Rate(count, time.perf_counter() - started, latencies)
