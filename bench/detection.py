"""Detector latency per backend at three frame sizes (in-process, no transport), and the
two runtimes (LiteRT, OpenCV DNN) on each BlazeFace model."""

from __future__ import annotations

import cv2
import numpy as np

from bench.measure import each_frame_for, repeat_for
from devkit import ROOT
from devkit.scenes import astronaut_face, background, face_free_pictures, paste_face, scene
from services.detector.blazeface import BlazeFaceModel, WholeFrameDetector
from services.detector.haar import HaarDetector
from services.detector.server import make_detector
from services.detector.settings import DetectorSettings

FRAME_SIZES = ((640, 480), (1280, 720), (1920, 1080))
MODELS = ("face_detection_short_range", "face_detection_full_range")


def frames_of(width: int, height: int, count: int = 6) -> list[np.ndarray]:
    """Frames with one face of 1/5 the frame height, over face-free pictures."""
    rng = np.random.default_rng(width)
    pictures = face_free_pictures()
    return [scene([(astronaut_face(), "")], [height // 5], width, height, pictures, rng).frame
            for _ in range(count)]


def clip_of(width: int, height: int, count: int = 60) -> list[np.ndarray]:
    """A video: one face of 1/5 the frame height drifting 2 px per frame over a still
    face-free background."""
    backdrop = background(face_free_pictures(), width, height, np.random.default_rng(width))
    size = height // 5
    frames = []
    for index in range(count):
        frame = backdrop.copy()
        paste_face(frame, astronaut_face(), width // 3 + 2 * index, height // 3, size)
        frames.append(frame)
    return frames


def detector_latency(seconds: float) -> dict:
    settings = DetectorSettings()
    short = BlazeFaceModel(ROOT / settings.detector_model, settings.detector_threads)
    full = BlazeFaceModel(ROOT / settings.full_range_model, settings.detector_threads)
    auto = make_detector(settings)
    backends = {"auto, image (full scan)": auto, "short_range": WholeFrameDetector(short),
                "full_range": WholeFrameDetector(full), "haar": HaarDetector()}
    results: dict = {}
    for width, height in FRAME_SIZES:
        frames = frames_of(width, height)
        row = {}
        for name, detector in backends.items():
            detector.detect(frames[0], settings.min_score)  # allocate for this shape
            rate = each_frame_for(seconds, frames, lambda f, d=detector: d.detect(f, settings.min_score))
            row[name] = round(rate.percentile(50), 2)
        stream = auto.new_stream()
        clip = clip_of(width, height)
        for frame in clip[:2 * settings.stream_scan_frames]:  # every shape allocated
            stream.detect(frame, settings.min_score)
        rate = each_frame_for(seconds, clip, lambda f: stream.detect(f, settings.min_score))
        row["auto, stream (per frame)"] = round(rate.percentile(50), 2)
        row["auto, stream p99"] = round(rate.percentile(99), 2)
        results[f"{width}x{height}"] = row
    return results


def runtimes(seconds: float) -> dict:
    """ms per call on one thread, each model at its own input size."""
    results = {}
    for name in MODELS:
        path = str(ROOT / f"models/{name}.tflite")
        model = BlazeFaceModel(path, threads=1)
        size = model.input_size
        square = np.zeros((size, size, 3), np.uint8)
        litert = repeat_for(seconds, lambda m=model, s=square: (m.detect_padded(s, 0.5, 0.3), 1)[1])
        net = cv2.dnn.readNetFromTFLite(path)
        blob = np.zeros((1, 3, size, size), np.float32)
        names = list(net.getUnconnectedOutLayersNames())
        cv2.setNumThreads(1)

        def opencv_call(n=net, b=blob, o=names) -> int:
            n.setInput(b)
            n.forward(o)
            return 1

        opencv = repeat_for(seconds, opencv_call)
        cv2.setNumThreads(-1)
        results[name] = {"litert_ms": round(litert.percentile(50), 2),
                         "opencv_dnn_ms": round(opencv.percentile(50), 2)}
    return results
