"""What reading expressions costs: the Face Landmarker's landmarks, blendshapes and gaze
for 1, 4 and 8 faces of a frame, on one thread (the detector's per-face work, alone)."""

from __future__ import annotations

import time

import cv2
import numpy as np

from devkit import ROOT
from services.detector.settings import DetectorSettings
from services.faces.expressions import ExpressionReader, ExpressionSettings
from services.faces.finder import make_face_finder
from services.faces.models.face_landmarker import FaceLandmarker

FACE_COUNTS = (1, 4, 8)


def frame_of(faces: int) -> np.ndarray:
    """A 1280x720 frame with `faces` copies of the astronaut's head, 150 px, in two rows."""
    head = cv2.imread(str(ROOT / "samples/astronaut.png"))[20:240, 120:340]
    head = cv2.resize(head, (150, 150), interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280, 3), 60, np.uint8)
    for index in range(faces):
        x, y = 20 + (index % 4) * 310, 100 + (index // 4) * 330
        frame[y:y + 150, x:x + 150] = head
    return frame


def expressions_ms(seconds: float) -> dict:
    settings = DetectorSettings()
    finder = make_face_finder(settings)
    reader = ExpressionReader(FaceLandmarker(ROOT / settings.face_landmarker_model, threads=1),
                              ExpressionSettings(min_face_px=settings.expression_min_face_px,
                                                 max_yaw=settings.expression_max_yaw,
                                                 looking_cone_deg=settings.looking_cone_deg))
    results = {}
    for count in FACE_COUNTS:
        frame = frame_of(count)
        faces = [(face, None) for face in finder.detect(frame, settings.min_score)]
        if len(faces) != count:
            raise RuntimeError(f"the bench frame shows {len(faces)} faces, not {count}")
        times = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(times) < 5:
            started = time.perf_counter()
            reader.read_all(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), faces, budget=count)
            times.append((time.perf_counter() - started) * 1000)
        p50 = float(np.percentile(times, 50))
        results[str(count)] = {"p50_ms": round(p50, 2), "per_face_ms": round(p50 / count, 2)}
    return results
