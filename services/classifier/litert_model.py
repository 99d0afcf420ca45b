"""The emotion model on LiteRT (XNNPACK): the runtime for CPUs.

The same model converted to .tflite (conversion.py) runs ~5x faster per face on a CPU
than through TensorFlow, whose per-call cost dominates for a model this small. Each
batcher worker thread owns its interpreters (one per bucket size), and `invoke` releases
the GIL, so one worker per core keeps every core busy.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from services.classifier.model import (
    ModelInfo,
    bucket_sizes,
    file_version,
    pad_to_bucket,
    preprocess_crops,
)
from services.common.crop import CROP_SIZE


class LiteRTEmotionModel:
    """A .tflite classifier with an (H, W, C) input and a softmax over `labels`."""

    def __init__(self, tflite_path: str | Path, labels: list[str], pixel_scaling: str,
                 max_batch_size: int, name: str | None = None, version: str | None = None) -> None:
        self._path = str(tflite_path)
        probe = Interpreter(self._path)
        shape = tuple(int(v) for v in probe.get_input_details()[0]["shape"][1:])
        outputs = int(probe.get_output_details()[0]["shape"][-1])
        if len(shape) != 3 or shape[2] not in (1, 3):
            raise ValueError(f"{tflite_path}: input shape {shape} is not (height, width, 1 or 3)")
        if outputs != len(labels):
            raise ValueError(f"{tflite_path} has {outputs} outputs but {len(labels)} labels were "
                             f"given: {','.join(labels)}")
        self._pixel_scaling = pixel_scaling
        self.buckets = bucket_sizes(max_batch_size)
        self.info = ModelInfo(name or Path(tflite_path).stem,
                              version or file_version(Path(tflite_path)), tuple(labels),
                              (shape[0], shape[1], shape[2]), "CPU (LiteRT)")
        self._local = threading.local()

    def _interpreter(self, batch_size: int) -> Interpreter:
        interpreters = getattr(self._local, "by_size", None)
        if interpreters is None:
            interpreters = self._local.by_size = {}
        interpreter = interpreters.get(batch_size)
        if interpreter is None:
            interpreter = Interpreter(self._path, num_threads=1)
            index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(index, [batch_size, *self.info.input_shape])
            interpreter.allocate_tensors()
            interpreters[batch_size] = interpreter
        return interpreter

    def preprocess(self, crops: np.ndarray) -> np.ndarray:
        """(N, 48, 48) uint8 grayscale -> (N, H, W, C) float32 as the model was trained."""
        return preprocess_crops(crops, self.info.input_shape, self._pixel_scaling)

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """Scores (N, labels) for (N, 48, 48) uint8 crops, N <= the largest bucket."""
        return self.predict_preprocessed(self.preprocess(crops))

    def predict_preprocessed(self, batch: np.ndarray) -> np.ndarray:
        """Scores (N, labels) for an (N, H, W, C) batch from `preprocess`."""
        padded = pad_to_bucket(batch, self.buckets)
        interpreter = self._interpreter(len(padded))
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], padded)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[:len(batch)]

    def warm_up(self) -> None:
        """Allocate this thread's interpreter for every bucket (workers allocate their own
        on first use, ~1 ms each)."""
        for size in self.buckets:
            self.predict(np.zeros((size, CROP_SIZE, CROP_SIZE), np.uint8))
