"""The emotion model on LiteRT (XNNPACK): the runtime for CPUs.

The same model converted to .tflite (conversion.py) runs faster per face on a CPU than
through TensorFlow, whose per-call cost dominates for a model this small
(docs/benchmarks.md). Each
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
    bucket_chunks,
    bucket_sizes,
    checked_input_shape,
    file_version,
    preprocess_crops,
)
from services.common.crop import CROP_SIZE


class LiteRTEmotionModel:
    """A .tflite classifier with an (H, W, C) input and a softmax over `labels`."""

    def __init__(self, tflite_path: str | Path, labels: list[str], pixel_scaling: str,
                 max_batch_size: int, name: str | None = None, version: str | None = None) -> None:
        self._path = str(tflite_path)
        probe = Interpreter(self._path)
        shape = checked_input_shape(tflite_path, tuple(probe.get_input_details()[0]["shape"][1:]),
                                    int(probe.get_output_details()[0]["shape"][-1]), labels)
        self._pixel_scaling = pixel_scaling
        self.buckets = bucket_sizes(max_batch_size)
        self.info = ModelInfo(name or Path(tflite_path).stem,
                              version or file_version(Path(tflite_path)), tuple(labels), shape,
                              "CPU (LiteRT)")
        self._local = threading.local()

    def _interpreter(self, batch_size: int) -> tuple[Interpreter, int, int]:
        """This thread's interpreter for `batch_size`, with its input and output indices
        (looked up once: the details calls build dicts, too slow for every batch)."""
        interpreters = getattr(self._local, "by_size", None)
        if interpreters is None:
            interpreters = self._local.by_size = {}
        entry = interpreters.get(batch_size)
        if entry is None:
            interpreter = Interpreter(self._path, num_threads=1)
            input_index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(input_index, [batch_size, *self.info.input_shape])
            interpreter.allocate_tensors()
            entry = (interpreter, input_index, interpreter.get_output_details()[0]["index"])
            interpreters[batch_size] = entry
        return entry

    def preprocess(self, crops: np.ndarray) -> np.ndarray:
        """(N, 48, 48) uint8 grayscale -> (N, H, W, C) float32 as the model was trained."""
        return preprocess_crops(crops, self.info.input_shape, self._pixel_scaling)

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """Scores (N, labels) for (N, 48, 48) uint8 crops, N <= the largest bucket."""
        return self.predict_preprocessed(self.preprocess(crops))

    def predict_preprocessed(self, batch: np.ndarray) -> np.ndarray:
        """Scores (N, labels) for an (N, H, W, C) batch from `preprocess`.

        The batch runs as bucket-sized chunks (5 faces as 4 + 1) rather than padded up to
        a bucket (5 as 8): on XNNPACK a face costs about the same at any batch size, so
        padding is wasted work (docs/design-notes.md).
        """
        scores, start = [], 0
        for size in bucket_chunks(len(batch), self.buckets):
            interpreter, input_index, output_index = self._interpreter(size)
            interpreter.set_tensor(input_index, batch[start:start + size])
            interpreter.invoke()
            scores.append(interpreter.get_tensor(output_index))
            start += size
        return scores[0] if len(scores) == 1 else np.concatenate(scores)

    def warm_up(self) -> None:
        """Allocate this thread's interpreter for every bucket (workers allocate their own
        on first use)."""
        for size in self.buckets:
            self.predict(np.zeros((size, CROP_SIZE, CROP_SIZE), np.uint8))
