"""Small measuring helpers shared by the benchmark parts."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Rate:
    count: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_s(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

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


def clip_frames(limit: int = 90) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(ROOT / "samples/sample_clip.mp4"))
    frames = []
    while len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    return frames


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory field of /proc/PID/status (VmRSS: resident now, VmHWM: peak), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, in MiB."""
    return memory_mb(pid, "VmHWM")
