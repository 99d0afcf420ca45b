"""What tracks and smoothed emotions cost per frame: the detector's own tracking step
(FacePipeline.track) on eight faces moving on their own paths, with seven scores each."""

from __future__ import annotations

import time

import numpy as np

from services.detector.pipeline import Face, FacePipeline, FrameResult, Options
from services.faces.detection import DetectedFace

FACES = 8


def tracking_ms(seconds: float) -> dict:
    pipeline = FacePipeline(None, None)
    stream = pipeline.open_stream()
    options = Options(max_faces=FACES, track=True, half_life_ms=300.0)
    rng = np.random.default_rng(0)
    crop = np.zeros((48, 48), np.uint8)
    times, frame = [], 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or frame < 30:
        faces = []
        for k in range(FACES):  # a row of faces, each drifting on its own sine path
            x = 80 + 140 * k + 30 * np.sin(frame / 20 + k)
            y = 300 + 40 * np.cos(frame / 25 + k)
            scores = rng.dirichlet(np.ones(7)).astype(np.float32)
            faces.append(Face(DetectedFace((x, y, 90.0, 90.0), 0.9), crop, "ok", scores))
        result = FrameResult(faces)
        started = time.perf_counter()
        pipeline.track(result, stream, options, frame / 30)
        times.append((time.perf_counter() - started) * 1000)
        frame += 1
    return {"faces": FACES, "p50_ms": round(float(np.percentile(times, 50)), 3),
            "mean_ms": round(float(np.mean(times)), 3),
            "tracks": len({face.track_id for face in result.faces})}
