"""Keras model -> .tflite for LiteRT, once per model file.

The converted file is cached under the sha256 of the Keras file, so a user's `--model` is
converted at its first start (which needs TensorFlow) and read from the cache after. The
project's named models are converted at install time (`make models`, the Docker build)
with their expected sha256 checked: the converter gives the same bytes for the same model
and TensorFlow version.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
from pathlib import Path

from services.classifier.model import file_sha256

log = logging.getLogger(__name__)

# sha256 of a Keras file -> sha256 of its .tflite from the pinned TensorFlow: the default
# model's conversion is checked against it (a TensorFlow upgrade must update it).
KNOWN_CONVERSIONS = {
    "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e":  # fer2013
        "a64ec8b1231aa6e9ed2a35f99b6b3ea253cc8b858e62c868faae1224aaf4d7ed",
    "c7ae2835bada23ad9ab7af8ee938e051d0d5be6d92f595e206eb26975e142d80":  # ferplus
        "08793d94ebb1f04c140a5afdb6b21f049a588d35dd30fb5d91f73a1a3323b26c",
}


def converted_path(source_sha256: str, cache: Path) -> Path:
    return cache / f"{source_sha256[:16]}.tflite"


def convert(keras_path: Path) -> bytes:
    """The .tflite bytes of a Keras model file (imports TensorFlow)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # noqa: PLC0415 - only a conversion needs TensorFlow
    import tensorflow as tf  # noqa: PLC0415

    model = keras.models.load_model(keras_path, compile=False)
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def tflite_for(model_path: str | Path, cache: str | Path) -> Path:
    """A .tflite file for `model_path`: itself if it is one, else its cached conversion."""
    model_path, cache = Path(model_path), Path(cache)
    if model_path.suffix == ".tflite":
        return model_path
    source_sha256 = file_sha256(model_path)
    target = converted_path(source_sha256, cache)
    if not target.is_file():
        log.info("converting the model for LiteRT (once; cached)",
                 extra={"model": str(model_path), "cache": str(target)})
        data = convert(model_path)
        expected = KNOWN_CONVERSIONS.get(source_sha256)
        actual = hashlib.sha256(data).hexdigest()
        if expected is not None and actual != expected:
            raise ValueError(f"converting {model_path} gave sha256 {actual}, expected {expected}: "
                             "was TensorFlow upgraded? Update KNOWN_CONVERSIONS")
        cache.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)
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
