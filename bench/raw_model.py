"""The ceiling: the emotion model called in-process on ready batches, on each runtime."""

from __future__ import annotations

import os
import threading
import time

import numpy as np

from bench.measure import repeat_for
from devkit import ROOT
from services.classifier.catalog import FER2013_LABELS, MODELS
from services.classifier.conversion import tflite_for
from services.classifier.litert_model import LiteRTEmotionModel
from services.classifier.tensorflow_model import TensorFlowEmotionModel

BATCHES = (1, 8, 32, 128)
MODEL = ROOT / "models/emotion_model.hdf5"


def crops_for(size: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (size, 48, 48), dtype=np.uint8)


def raw_faces_per_s(seconds: float, batches=BATCHES) -> dict[str, float]:
    """TensorFlow, every core for the model: its ceiling, with nothing else to feed."""
    model = TensorFlowEmotionModel(MODEL, list(FER2013_LABELS), "minus_one_to_one",
                         max_batch_size=max(batches), inference_threads=os.cpu_count() or 1)
    model.warm_up()
    crops = crops_for(max(batches))
    results = {}
    for size in batches:
        batch = crops[:size]
        results[str(size)] = round(repeat_for(seconds, lambda b=batch: len(model.predict(b))).per_s, 1)
    return results


def raw_litert_faces_per_s(seconds: float, batches=BATCHES) -> dict[str, float]:
    """LiteRT, one single-threaded interpreter per core, each in its own thread."""
    model = LiteRTEmotionModel(tflite_for(MODEL, ROOT / "models/converted"), list(FER2013_LABELS),
                               "minus_one_to_one", max_batch_size=max(batches))
    crops = crops_for(max(batches))
    workers = os.cpu_count() or 1
    results = {}
    for size in batches:
        batch = model.preprocess(crops[:size])
        counts = [0] * workers
        ends: list[float] = []
        # The clock starts once every thread has allocated its interpreter.
        ready = threading.Barrier(workers, action=lambda: ends.append(time.perf_counter() + seconds))

        def loop(worker: int, b=batch) -> None:
            model.predict_preprocessed(b)
            ready.wait()
            while True:  # at least one counted call, however short the window
                model.predict_preprocessed(b)
                counts[worker] += len(b)
                if time.perf_counter() >= ends[0]:
                    break

        threads = [threading.Thread(target=loop, args=(w,)) for w in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        started = ends[0] - seconds
        results[str(size)] = round(sum(counts) / (time.perf_counter() - started), 1)
    return results


def tta_cost_ms(seconds: float, batches=(1, 8)) -> dict[str, dict[str, float]]:
    """Median ms per model call, one thread, for `batches` crops and each test-time
    augmentation (the crops' views run in that one call)."""
    from services.classifier.augmentation import TTA_MODES  # noqa: PLC0415
    from services.classifier.core import run_model_batch  # noqa: PLC0415

    model = LiteRTEmotionModel(tflite_for(MODEL, ROOT / "models/converted"), list(FER2013_LABELS),
                               "minus_one_to_one", max_batch_size=64)
    crops = list(model.preprocess(crops_for(max(batches))))
    results: dict[str, dict[str, float]] = {}
    for mode in TTA_MODES:
        run = run_model_batch(model, mode)
        results[mode] = {}
        for size in batches:
            run(crops[:size])  # the interpreter for this batch size is made outside the clock
            rate = repeat_for(seconds / len(TTA_MODES), lambda n=size: len(run(crops[:n])))
            results[mode][str(size)] = round(rate.percentile(50), 3)
    return results


def cost_per_face_ms(seconds: float, batches=(1, 32)) -> dict[str, dict[str, float]]:
    """Each named model on LiteRT, one thread: median ms per face at each batch size (the
    models side by side, on the runtime that serves them on CPU)."""
    results: dict[str, dict[str, float]] = {}
    crops = crops_for(max(batches))
    for name, named in MODELS.items():
        model = LiteRTEmotionModel(tflite_for(ROOT / named.path, ROOT / "models/converted"),
                                   list(named.labels), "minus_one_to_one",
                                   max_batch_size=max(batches))
        results[name] = {}
        for size in batches:
            batch = model.preprocess(crops[:size])
            model.predict_preprocessed(batch)  # the interpreter is made outside the clock
            rate = repeat_for(seconds / len(MODELS),
                              lambda b=batch: len(model.predict_preprocessed(b)))
            results[name][str(size)] = round(rate.percentile(50) / size, 4)
    return results
