"""Fine-tune the emotion model to give a face and the pipeline's crop of it one reading.

    python -m training.consistency --data ../shared/data/ferplus/train \
        --crops out/train/pipeline_crops.npz --model models/trained/ferplus.keras

The detector's crop of a face is the face resampled: pasted into a frame at another size
and angle, found, aligned and cut out again (training/pipeline_crops.py). The model read
~11% of such crops differently from the faces they came from, mostly faces between two
emotions, where a pixel's difference tips the balance. Each step here takes a batch of
training faces (each mirrored half of the time) and their crops (likewise) and minimizes
the cross-entropy of both against the votes plus the symmetric KL divergence between the
two readings, each side held still in turn (`weight` times it), so neither is pulled
towards a reading the other has not got. Batch norm is re-estimated on clean faces at the
end, as after training. The model card beside the model records the stage.

Written for Keras' TensorFlow backend (a GradientTape loop: two readings of one batch in
one loss do not fit `fit`'s one-input, one-target shape); `make train-emotion` runs it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # see training/train.py

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

_EPSILON = 1e-7


def symmetric_kl(first, second):
    """KL(first || second) + KL(second || first) per row, each with the other side's
    reading held still (no gradient through the reference)."""
    import tensorflow as tf  # noqa: PLC0415

    def kl(reference, other):
        reference = tf.stop_gradient(reference)
        return tf.reduce_sum(reference * (tf.math.log(reference + _EPSILON)
                                          - tf.math.log(other + _EPSILON)), axis=-1)

    return kl(first, second) + kl(second, first)


def fine_tune(data: Path, crops_file: Path, model_path: Path, out: Path, epochs: int = 4,
              weight: float = 1.0, learning_rate: float = 3e-4, batch_size: int = 128,
              seed: int = 2026) -> dict:
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from training.data import load_ferplus, scaled, split  # noqa: PLC0415
    from training.train import (  # noqa: PLC0415
        recalibrate_batch_norm,
        save_for_serving,
        validation_report,
    )

    keras.utils.set_random_seed(seed)
    started = time.monotonic()
    faces = load_ferplus(data)
    train_idx, val_idx = split(len(faces.images))
    pairs = np.load(crops_file)
    index = pairs["index"]
    if np.isin(index, val_idx).any():
        raise SystemExit(f"{crops_file}: holds crops of validation faces; make it from this "
                         "folder with training.pipeline_crops")
    model = keras.models.load_model(model_path)
    shape = tuple(model.input_shape[1:])
    faces_x, crops_x = scaled(faces.images, shape), scaled(pairs["crops"], shape)
    steps = len(index) // batch_size
    optimizer = keras.optimizers.AdamW(
        keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps * epochs,
                                               alpha=0.01), weight_decay=0.01)

    @tf.function
    def step(face_batch, crop_batch, votes):
        with tf.GradientTape() as tape:
            readings = model(tf.concat([face_batch, crop_batch], 0), training=True)
            on_faces, on_crops = readings[:tf.shape(face_batch)[0]], readings[tf.shape(face_batch)[0]:]
            fit = (keras.losses.categorical_crossentropy(votes, on_faces)
                   + keras.losses.categorical_crossentropy(votes, on_crops))
            agreement = symmetric_kl(on_faces, on_crops)
            loss = tf.reduce_mean(fit + weight * agreement)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                      model.trainable_variables))
        return tf.reduce_mean(fit), tf.reduce_mean(agreement)

    rng = np.random.default_rng(0)
    history = []
    for epoch in range(epochs):
        order = rng.permutation(len(index))
        totals = np.zeros(2)
        for k in range(steps):
            batch = order[k * batch_size:(k + 1) * batch_size]
            crop_batch = _mirrored_half(crops_x[batch], rng)
            face_batch = _mirrored_half(faces_x[index[batch]], rng)
            totals += [float(v) for v in step(tf.constant(face_batch), tf.constant(crop_batch),
                                              tf.constant(faces.targets[index[batch]]))]
        history.append({"epoch": epoch, "cross_entropy": round(totals[0] / steps, 4),
                        "symmetric_kl": round(totals[1] / steps, 4)})
        print(json.dumps(history[-1]), flush=True)
    recalibrate_batch_norm(model, faces_x[train_idx], seed)
    report = validation_report(model, faces_x[val_idx], faces.targets[val_idx])
    save_for_serving(model, out)
    card_path = model_path.with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    card.update({
        "model": out.name,
        **report,
        "consistency_fine_tune": {
            "crops": f"{len(index)} pipeline crops of training faces ({crops_file})",
            "epochs": epochs, "weight": weight, "learning_rate": learning_rate,
            "batch_size": batch_size, "history": history,
            "command": " ".join(sys.argv), "seconds": round(time.monotonic() - started, 1)},
    })
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def _mirrored_half(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of `images` with a random half (each with probability 1/2) mirrored."""
    images = images.copy()
    flip = rng.random(len(images)) < 0.5
    images[flip] = images[flip][:, :, ::-1]
    return images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="FER+ folder: PNGs and label.csv")
    parser.add_argument("--crops", type=Path, default=Path("out/train/pipeline_crops.npz"),
                        help="from training.pipeline_crops, of the same folder")
    parser.add_argument("--model", type=Path, default=Path("models/trained/ferplus.keras"),
                        help="the trained model to fine-tune")
    parser.add_argument("--out", type=Path, help="where to write it (default: over --model)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--weight", type=float, default=1.0,
                        help="of the readings' disagreement against the votes' cross-entropy")
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    args = parser.parse_args(argv)
    card = fine_tune(args.data, args.crops, args.model, args.out or args.model, args.epochs,
                     args.weight, args.learning_rate)
    print(json.dumps({k: card[k] for k in ("validation_accuracy_mirror_averaged",
                                           "per_class_recall")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
