"""Detector latency per backend at three frame sizes (in-process, no transport): auto (faces
in any pose) beside frontal (the previous default) in the same run; CenterFace per call at
four input sizes; and the two runtimes (LiteRT, OpenCV DNN) on each BlazeFace model."""

from __future__ import annotations

import cv2
import numpy as np

from bench.measure import each_frame_for, repeat_for
from devkit import ROOT
from devkit.scenes import astronaut_face, background, face_free_pictures, paste_face, scene
from services.detector.settings import DetectorSettings
from services.faces.finder import make_face_finder
from services.faces.models.blazeface import BlazeFaceModel
from services.faces.models.centerface import CenterFaceModel
from services.faces.models.haar import HaarDetector
from services.faces.whole_frame import WholeFrameDetector

FRAME_SIZES = ((640, 480), (1280, 720), (1920, 1080))
CENTERFACE_INPUTS = ((256, 320), (480, 640), (736, 1280), (1088, 1920))
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
    streaming = {"auto": make_face_finder(settings),
                 "frontal": make_face_finder(DetectorSettings(backend="frontal"))}
    backends = {"auto, image (full scan)": streaming["auto"],
                "frontal, image (full scan)": streaming["frontal"],
                "centerface": make_face_finder(DetectorSettings(backend="centerface")),
                "short_range": WholeFrameDetector(short, nms_iou=settings.nms_iou),
                "full_range": WholeFrameDetector(full, nms_iou=settings.nms_iou),
                "haar": HaarDetector()}
    results: dict = {}
    for width, height in FRAME_SIZES:
        frames = frames_of(width, height)
        row = {}
        for name, detector in backends.items():
            detector.detect(frames[0], settings.min_score)  # allocate for this shape
            rate = each_frame_for(seconds, frames, lambda f, d=detector: d.detect(f, settings.min_score))
            row[name] = round(rate.percentile(50), 2)
        clip = clip_of(width, height)
        for name, detector in streaming.items():
            stream = detector.new_stream()
            for frame in clip[:2 * settings.stream_scan_frames]:  # every shape allocated
                stream.detect(frame, settings.min_score)
            rate = each_frame_for(seconds, clip,
                                  lambda f, s=stream: s.detect(f, settings.min_score))
            row[f"{name}, stream (per frame)"] = round(rate.percentile(50), 2)
            row[f"{name}, stream mean"] = round(rate.mean(), 2)
            row[f"{name}, stream p99"] = round(rate.percentile(99), 2)
        results[f"{width}x{height}"] = row
    return results


def centerface_calls(seconds: float) -> dict:
    """ms per CenterFace call (onnxruntime, the detector's threads) at four input sizes."""
    settings = DetectorSettings()
    model = CenterFaceModel(ROOT / settings.centerface_model, settings.detector_threads)
    results = {}
    for height, width in CENTERFACE_INPUTS:
        image = np.zeros((height, width, 3), np.uint8)
        rate = repeat_for(seconds, lambda i=image: (model.detect_raw(i, 0.5), 1)[1])
        results[f"{width}x{height}"] = round(rate.percentile(50), 2)
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
