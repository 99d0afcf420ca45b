"""Frames of the bundled sample clip, and frames as API images."""

from __future__ import annotations

import cv2
import numpy as np

from client.streaming import encode_frame
from devkit import ROOT
from facestream.v1 import image_pb2

SAMPLE_CLIP = ROOT / "samples/sample_clip.mp4"


def clip_frames(limit: int | None = None) -> list[np.ndarray]:
    """The sample clip's frames (BGR), at most `limit`."""
    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    frames = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def raw_image(frame: np.ndarray) -> image_pb2.Image:
    """A BGR frame as a raw API image (no encoding cost), as the client sends it."""
    return encode_frame(frame, "raw")


def write_y4m(frames: list[np.ndarray], path, fps: int = 15) -> None:
    """Frames (BGR, even sizes) as a YUV4MPEG2 file: what Chromium's fake camera plays
    (--use-file-for-fake-video-capture)."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
