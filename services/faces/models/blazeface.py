"""MediaPipe BlazeFace models (short-range and full-range) through LiteRT: no TensorFlow.

A model sees an RGB image scaled to [-1, 1] and scores SSD anchors. For each anchor it
regresses a box centre offset, box size and 6 keypoints, in input pixels. The two models
differ in input size and anchor layout, which are read off the file (input shape, anchor
count) rather than assumed:

- short-range: 128x128, 896 anchors: a 16x16 grid with 2 per cell (stride 8) and an 8x8
  grid with 6 per cell (stride 16). It is fully convolutional: LiteRT resizes it to any
  input whose sides are multiples of 16, where it finds faces of ~24-96 input pixels
  anywhere. That is what lets the scanner look at a whole frame at native resolution in
  one call instead of many overlapping 128x128 tiles.
- full-range: 192x192, 2304 anchors: a 48x48 grid with 1 per cell (stride 4). Its graph
  does not resize, so it only ever sees 192x192.

LiteRT with XNNPACK runs these faster than OpenCV DNN (docs/benchmarks.md), and it also runs
the sparse full-range file, which OpenCV cannot load.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from services.faces.detection import DetectedFace
from services.faces.geometry import Region, padded_shape, weighted_nms
from services.faces.imaging import resize_region
from services.faces.models.cores import CORES

# A call of at most this many input pixels (a stream's scan job or face check) runs on one
# thread beside other calls. A larger one (an image's whole pyramid level) always runs on
# its `threads`: it gains from them, and a second interpreter of a large shape holds tens
# of MB.
SMALL_CALL_PIXELS = 320 * 320
# (input size, anchor count) of a model file -> ((stride, anchors per cell), ...).
ANCHOR_LAYOUTS = {
    (128, 896): ((8, 2), (16, 6)),
    (192, 2304): ((4, 1),),
}
# Every side of a resized input must be a multiple of the largest stride.
BLAZEFACE_SIDE_MULTIPLE = 16
# uint8 -> the models' [-1, 1] input, as a table (cv2.LUT: ~10x numpy's arithmetic).
_NORMALISED = (np.arange(256, dtype=np.float32) / 127.5 - 1.0).astype(np.float32)


def make_anchors(height: int, width: int, layout) -> np.ndarray:
    """(N, 2) anchor centres in input pixels, row-major over each grid, in output order."""
    centres = []
    for stride, per_cell in layout:
        ys, xs = np.meshgrid(np.arange(height // stride), np.arange(width // stride),
                             indexing="ij")
        cells = np.stack([(xs + 0.5) * stride, (ys + 0.5) * stride], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def decode(regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray, min_score: float):
    """Raw outputs -> (scores (K,), boxes (K, 4) as x, y, w, h, keypoints (K, 6, 2)).

    Everything is in input pixels; only anchors scoring at least `min_score` are kept.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1), -80.0, 80.0)))
    keep = scores >= min_score
    raw = regressors.reshape(-1, 16)[keep]
    centres = anchors[keep]
    size = raw[:, 2:4]
    boxes = np.concatenate([centres + raw[:, 0:2] - size / 2, size], axis=1)
    keypoints = centres[:, None, :] + raw[:, 4:16].reshape(-1, 6, 2)
    return scores[keep], boxes, keypoints


@dataclass(frozen=True)
class SmallFaceScore:
    """A weaker score accepted for small faces: a detection must score `score`, or less
    (down to the call's min_score) when its box is smaller than `max_side` pixels."""

    score: float
    max_side: float


@dataclass(frozen=True)
class ModelFile:
    path: str
    input_size: int  # the square input the file declares
    layout: tuple  # ((stride, anchors per cell), ...)
    resizable: bool  # whether the graph runs at other input sizes


def read_model_file(path: str | Path) -> ModelFile:
    """Input size and outputs as the file declares them; anchors from the known layouts."""
    path = str(path)
    interpreter = Interpreter(path)
    shape = interpreter.get_input_details()[0]["shape"]
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
        raise ValueError(f"{path}: input shape {list(shape)} is not (1, S, S, 3)")
    widths = sorted(int(o["shape"][-1]) for o in interpreter.get_output_details())
    if widths != [1, 16]:
        raise ValueError(f"{path}: expected a 16-wide regressor and a 1-wide score output, "
                         f"got widths {widths}")
    size = int(shape[1])
    count = max(int(o["shape"][1]) for o in interpreter.get_output_details())
    layout = ANCHOR_LAYOUTS.get((size, count))
    if layout is None:
        raise ValueError(f"{path}: no known BlazeFace anchor layout for a {size}x{size} input "
                         f"with {count} anchors")
    return ModelFile(path, size, layout, resizable=_resizes(path, size))


def _resizes(path: str, size: int) -> bool:
    interpreter = Interpreter(path)
    try:
        interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"],
                                        [1, size + BLAZEFACE_SIDE_MULTIPLE, size * 2, 3])
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError):
        return False
    return True


class _Runner:
    """One interpreter allocated for one input shape, with that shape's anchors."""

    def __init__(self, model: ModelFile, height: int, width: int, threads: int) -> None:
        self.interpreter = Interpreter(model.path, num_threads=threads)
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        if (height, width) != (model.input_size, model.input_size):
            self.interpreter.resize_tensor_input(self.input_index, [1, height, width, 3])
        self.interpreter.allocate_tensors()
        outputs = {int(o["shape"][-1]): o["index"] for o in self.interpreter.get_output_details()}
        self.regressors, self.scores = outputs[16], outputs[1]
        self.anchors = make_anchors(height, width, model.layout)
        # The input is filled in place call after call: allocating a fresh one per call
        # costs more than the small models' inference (docs/detection.md).
        self.input = np.zeros((1, height, width, 3), np.float32)

    def run(self, rgb: np.ndarray, min_score: float):
        """Faces of an RGB uint8 image placed top-left in the input, the rest zero."""
        height, width = rgb.shape[:2]
        self.input[0, :height, :width] = cv2.LUT(rgb, _NORMALISED)
        self.input[0, height:] = 0.0
        self.input[0, :height, width:] = 0.0
        self.interpreter.set_tensor(self.input_index, self.input)
        self.interpreter.invoke()
        return decode(self.interpreter.get_tensor(self.regressors),
                      self.interpreter.get_tensor(self.scores), self.anchors, min_score)


class BlazeFaceModel:
    """One BlazeFace file, runnable at many input shapes from many threads.

    Allocating an interpreter for a shape is slow for large shapes, so idle interpreters
    are kept per shape and thread count, the least recently used dropped beyond `max_idle`
    (each holds its shape's activations, which grow with the input's pixels).
    """

    def __init__(self, model_path: str | Path, threads: int = 1, max_idle: int = 16) -> None:
        self.file = read_model_file(model_path)
        self.input_size = self.file.input_size
        self._threads = threads
        self._max_idle = max_idle
        self._idle: OrderedDict[tuple[int, int, int], list[_Runner]] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def _threads_for(self, height: int, width: int) -> Iterator[int]:
        """Calls wait for idle cores (cores.py), so no more run at once than cores, each
        with its own interpreter and activations."""
        if height * width > SMALL_CALL_PIXELS:
            with CORES.holding(self._threads):
                yield self._threads
        else:
            with CORES.threads(self._threads) as threads:
                yield threads

    @contextmanager
    def _runner(self, height: int, width: int):
        with self._threads_for(height, width) as threads:
            key = (height, width, threads)
            runner = self._take_idle(key) or _Runner(self.file, height, width, threads)
            try:
                yield runner
            finally:
                self._put_idle(key, runner)

    def _take_idle(self, key: tuple[int, int, int]) -> _Runner | None:
        with self._lock:
            runners = self._idle.get(key)
            if not runners:
                return None
            runner = runners.pop()
            if not runners:
                del self._idle[key]  # no empty lists: eviction takes from the oldest shape
            return runner

    def _put_idle(self, key: tuple[int, int, int], runner: _Runner) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(runner)
            self._idle.move_to_end(key)
            while sum(map(len, self._idle.values())) > self._max_idle:
                oldest = next(iter(self._idle))
                self._idle[oldest].pop(0)
                if not self._idle[oldest]:
                    del self._idle[oldest]

    def input_shape_for(self, height: int, width: int,
                        square: bool = False) -> tuple[int, int]:
        """The input shape that holds a height x width image: its sides padded up to
        BLAZEFACE_SIDE_MULTIPLE, or with `square` the model's own square when it fits
        (neighbourhood checks clipped by the frame's edge come in many shapes; one
        interpreter serves them all). Exact shapes cost less than the padded square."""
        fits = height <= self.input_size and width <= self.input_size
        if not self.file.resizable or (square and fits):
            return self.input_size, self.input_size
        return padded_shape(height, width, BLAZEFACE_SIDE_MULTIPLE)

    def detect_padded(self, rgb: np.ndarray, min_score: float, nms_iou: float,
                      small: SmallFaceScore | None = None, square: bool = False):
        """Faces of an RGB uint8 image no larger than some input shape, placed top-left and
        zero-padded to it (see input_shape_for for `square`): [(score, box, keypoints)] in
        the image's pixels. With `small`, min_score holds for faces smaller than
        small.max_side only; larger ones need small.score."""
        height, width = rgb.shape[:2]
        shape = self.input_shape_for(height, width, square)
        if shape[0] < height or shape[1] < width:
            raise ValueError(f"a {width}x{height} image does not fit a {shape[1]}x{shape[0]} input")
        with self._runner(*shape) as runner:
            scores, boxes, keypoints = runner.run(rgb, min_score)
        if small is not None:
            keep = (scores >= small.score) | (boxes[:, 2:].max(axis=1) < small.max_side)
            scores, boxes, keypoints = scores[keep], boxes[keep], keypoints[keep]
        if len(scores) == 0:
            return []
        return weighted_nms(scores, boxes, keypoints, nms_iou,
                            small.score if small is not None else 0.0)

    def detect_region(self, rgb: np.ndarray, region: Region, scale: float, min_score: float,
                      nms_iou: float, small: SmallFaceScore | None = None,
                      square: bool = False) -> list[DetectedFace]:
        """Faces in the x, y, w, h `region` of an RGB frame seen at `scale`, in frame
        pixels (with `small.max_side` in frame pixels too)."""
        return self.detect_scaled(resize_region(rgb, region, scale), scale, min_score, nms_iou,
                                  region[:2], small, square)

    def detect_scaled(self, image: np.ndarray, scale: float, min_score: float, nms_iou: float,
                      origin: tuple[int, int] = (0, 0), small: SmallFaceScore | None = None,
                      square: bool = False) -> list[DetectedFace]:
        """Faces in `image`, a region of a frame (its corner at `origin`) resized by
        `scale`, in frame pixels (with `small.max_side` in frame pixels too)."""
        if small is not None:
            small = SmallFaceScore(small.score, small.max_side * scale)
        offset = np.array(origin, np.float32)
        faces = []
        for score, box, points in self.detect_padded(image, min_score, nms_iou, small, square):
            corner = box[:2] / scale + offset
            size = box[2:] / scale
            faces.append(DetectedFace(
                (float(corner[0]), float(corner[1]), float(size[0]), float(size[1])),
                score, (points / scale + offset).astype(np.float32)))
        return faces
