"""Which runtime runs the emotion model, and how many workers feed it.

On a GPU, TensorFlow with batch buckets is the right runtime. On a CPU, LiteRT runs the
same model faster per face (docs/benchmarks.md), with one worker per core. `auto`
decides without importing TensorFlow (slow to import, and large): TensorFlow only where an
NVIDIA device is present and TensorFlow is installed.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from services.classifier.model import EmotionRuntime
from services.classifier.settings import ClassifierSettings

NVIDIA_DEVICE = Path("/dev/nvidiactl")


def gpu_present() -> bool:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return NVIDIA_DEVICE.exists() and visible not in ("", "-1")


def choose_runtime(requested: str) -> str:
    if requested != "auto":
        return requested
    if gpu_present() and importlib.util.find_spec("tensorflow") is not None:
        return "tensorflow"
    return "litert"


def load_model(settings: ClassifierSettings) -> tuple[EmotionRuntime, int]:
    """(model, batcher workers) for the settings' runtime, warmed up."""
    runtime = choose_runtime(settings.runtime)
    if runtime == "tensorflow":
        from services.classifier.tensorflow_model import TensorFlowEmotionModel  # noqa: PLC0415

        model: EmotionRuntime = TensorFlowEmotionModel(
            settings.model_path, settings.label_list, settings.pixel_scaling,
            settings.max_batch_size, settings.jit_compile, settings.inference_threads,
            name=settings.model_name)
        workers = 1  # Keras models are not re-entrant; TensorFlow has its own threads
    else:
        from services.classifier.conversion import tflite_for  # noqa: PLC0415
        from services.classifier.litert_model import LiteRTEmotionModel  # noqa: PLC0415
        from services.classifier.model import file_version  # noqa: PLC0415

        source = settings.model_path
        model = LiteRTEmotionModel(tflite_for(source, settings.model_cache), settings.label_list,
                                   settings.pixel_scaling, settings.max_batch_size,
                                   name=settings.model_name, version=file_version(source))
        workers = settings.inference_workers or os.cpu_count() or 1
    model.warm_up()
    return model, workers
