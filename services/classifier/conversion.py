"""Keras model -> .tflite for LiteRT, once per model file.

The converted file is cached under the sha256 of the Keras file, so a user's `--model` is
converted at its first start (which needs TensorFlow) and read from the cache after. The
project's named models are converted at install time (`make models`, the Docker build).

Every conversion is checked before it is cached: the .tflite must answer as the Keras model
does on seeded probe inputs (within CONVERSION_TOLERANCE). Its sha256 is recorded beside
it and checked whenever the cache is read, so a truncated or altered file is converted
again rather than served. The bytes themselves are reproducible on one machine (the same
model, TensorFlow and CPU give the same file) but not across CPUs: an Intel Xeon with
AVX-512 gave other bytes than an AMD EPYC for both named models (measured; oneDNN on or
off made no difference), most likely from the constants TensorFlow folds (batch norm into
the convolutions) with each CPU's own vector code. So no machine-independent sha256 of a
conversion can be promised; what is checked is that it answers as the Keras model does.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import logging
import os
import sys
from pathlib import Path

import numpy as np

from services.classifier.model import file_sha256

log = logging.getLogger(__name__)

# Largest difference in any probability between the Keras model and its conversion on the
# probe inputs (measured: 1.1e-6 for fer2013, 2.7e-7 for ferplus).
CONVERSION_TOLERANCE = 1e-3
PROBE_INPUTS = 64


def converted_path(source_sha256: str, cache: Path) -> Path:
    return cache / f"{source_sha256[:16]}.tflite"


def recorded_sha256_path(converted: Path) -> Path:
    return converted.with_name(converted.name + ".sha256")


def load_keras(keras_path: Path):
    """The Keras model in a file, for conversion (imports TensorFlow)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # noqa: PLC0415 - only a conversion needs TensorFlow

    return keras.models.load_model(keras_path, compile=False)


def convert(model) -> bytes:
    """The .tflite bytes of a loaded Keras model."""
    import tensorflow as tf  # noqa: PLC0415

    # Keras prints the exported signature (~150 TensorSpec lines) on the way: not news.
    with contextlib.redirect_stdout(io.StringIO()):
        return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def check_conversion(model, tflite: bytes, source: Path) -> float:
    """The largest difference between the Keras model's and the .tflite's outputs on
    seeded inputs in the models' pixel range [-1, 1]; ValueError (naming `source`, the
    model's file) above the tolerance."""
    from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415

    probe = np.random.default_rng(0).uniform(
        -1, 1, (PROBE_INPUTS, *model.input_shape[1:])).astype(np.float32)
    expected = np.asarray(model.predict(probe, verbose=0))
    interpreter = Interpreter(model_content=tflite, num_threads=1)
    input_index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(input_index, list(probe.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(input_index, probe)
    interpreter.invoke()
    actual = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    difference = float(np.abs(actual - expected).max()) if actual.shape == expected.shape else np.inf
    if not difference <= CONVERSION_TOLERANCE:
        raise ValueError(f"converting {source} gave a .tflite whose outputs differ from the "
                         f"Keras model's by {difference:.2g} (at most {CONVERSION_TOLERANCE} "
                         "allowed): the converter does not support this model as it is")
    return difference


def _cached(target: Path) -> bool:
    """The cached conversion is there and is the file its recorded sha256 names."""
    record = recorded_sha256_path(target)
    if not (target.is_file() and record.is_file()):
        return False
    if file_sha256(target) == record.read_text(encoding="ascii").strip():
        return True
    log.warning("the cached conversion is not the file recorded beside it; converting again",
                extra={"cache": str(target)})
    return False


def tflite_for(model_path: str | Path, cache: str | Path) -> Path:
    """A .tflite file for `model_path`: itself if it is one, else its cached conversion."""
    model_path, cache = Path(model_path), Path(cache)
    if model_path.suffix == ".tflite":
        return model_path
    target = converted_path(file_sha256(model_path), cache)
    if not _cached(target):
        log.info("converting the model for LiteRT (once; cached)",
                 extra={"model": str(model_path), "cache": str(target)})
        model = load_keras(model_path)  # loaded once: converted, then checked against
        data = convert(model)
        check_conversion(model, data, model_path)
        cache.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)
        recorded_sha256_path(target).write_text(hashlib.sha256(data).hexdigest() + "\n",
                                                encoding="ascii")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="convert Keras models for LiteRT, once")
    parser.add_argument("models", type=Path, nargs="*",
                        help="Keras files; none: every named model (services/classifier/catalog.py)")
    parser.add_argument("--cache", type=Path, default=Path("models/converted"))
    args = parser.parse_args(argv)
    from services.classifier.catalog import MODELS  # noqa: PLC0415

    for model in args.models or [Path(named.path) for named in MODELS.values()]:
        print(f"ok  {tflite_for(model, args.cache)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
