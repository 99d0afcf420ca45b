"""Small measuring helpers shared by the benchmark parts."""

from __future__ import annotations

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


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
