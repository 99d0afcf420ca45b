"""Real people through the served pipeline, beside the generated frames: a street crossing
panned at 1920x1080 and a stage clip at 1280x720, made from the tuning data kept outside
the project (../shared/data/real-scenes; never committed). Without that folder the rows
are skipped, and say so."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from devkit import ROOT

REAL_SCENES = ROOT.parent / "shared/data/real-scenes"
PAN_FRAMES = 60  # each way: the pan runs there and back, so the stream never jumps


def street_pan(scenes: Path) -> list[np.ndarray]:
    """The city.jpg crossing (~17 people) enlarged to 2880 px wide and panned 8 px a frame
    under a 1920x1080 window, there and back."""
    city = cv2.resize(cv2.imread(str(scenes / "city.jpg")), (2880, 2030))
    there = [np.ascontiguousarray(city[400:1480, 8 * i:8 * i + 1920]) for i in range(PAN_FRAMES)]
    return there + there[::-1]


def stage_clip(scenes: Path) -> list[np.ndarray]:
    """The Hamilton clip (2-3 people, heads turning) enlarged from 640x360 to 1280x720."""
    capture = cv2.VideoCapture(str(scenes / "short_hamilton_clip.mp4"))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, (1280, 720)))
    capture.release()
    return frames


def real_clips(scenes: Path = REAL_SCENES) -> dict[str, list[np.ndarray]]:
    """name -> frames; empty when the tuning data is not there."""
    if not (scenes / "city.jpg").exists() or not (scenes / "short_hamilton_clip.mp4").exists():
        return {}
    return {"street_1080p": street_pan(scenes), "stage_720p": stage_clip(scenes)}
