"""Train the emotion model on FER+ vote distributions.

    python -m training.train --data ../shared/data/ferplus/train --out models/trained/ferplus.keras

Fixed seeds; a seeded 10% validation split; augmentation (mirror, small affine,
brightness and contrast, erasing); AdamW with a warm-up and cosine decay over a fixed
number of epochs, early stopping on validation accuracy (the majority vote); at the end
batch norm's statistics re-estimated on clean faces, then the confusion matrix and
per-class recall on the validation faces, and a model card (JSON) beside the model with
the data, labels, accuracy, command and time taken. With `--teacher-scores` the targets
blend the votes with a teacher's scores (training/teacher.py; `--network teacher` trains
such a teacher, on a GPU).

Nothing in it is TensorFlow's own: the augmentation is NumPy and OpenCV in the feeding
process (training/augment.py), so with `KERAS_BACKEND=jax` it trains too and saves the
same model format.
"""

from __future__ import annotations

import os

# TensorFlow 2.21's oneDNN kernels abort `fit` on this project's CPUs with a heap error
# ("malloc(): corrupted top size"); the plain kernels train fine. Set before TF loads.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from training.augment import SOFTEN_MAX_BLUR, SOFTEN_MIN_SIDE, batches


def confusion(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def recalibrate_batch_norm(model, images: np.ndarray, seed: int, batches: int = 60,
                           batch_size: int = 256) -> None:
    """Batch norm's moving statistics re-estimated on clean faces (half of them mirrored,
    as served faces are either way round). During training they followed augmented
    batches (noise patches, relit faces), which served crops never look like: on a
    checkpoint of the small network this alone raised validation accuracy from 0.637 to
    0.696 (measured). Frozen batch norm (the fine-tuned mini-XCEPTION) is left alone."""
    import keras  # noqa: PLC0415

    layers = [layer for layer in model.layers
              if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
    if not layers:
        return
    for layer in layers:
        layer.momentum = 0.9  # forget the augmented batches within these few dozen
    rng = np.random.default_rng(seed)
    for index in range(batches):
        pick = rng.choice(len(images), min(batch_size, len(images)), replace=False)
        model(images[pick][:, :, ::-1] if index % 2 else images[pick], training=True)


def validation_report(model, x_val: np.ndarray, y_val: np.ndarray) -> dict:
    """The model card's accuracy figures on the validation faces, each scored with its
    mirror image averaged in (as served): accuracy against the majority vote, per-class
    recall, confusion matrix."""
    from training.data import LABELS  # noqa: PLC0415

    scores = (model.predict(x_val, verbose=0) + model.predict(x_val[:, :, ::-1], verbose=0)) / 2
    truth, predicted = y_val.argmax(axis=1), scores.argmax(axis=1)
    matrix = confusion(truth, predicted, len(LABELS))
    return {
        "validation_accuracy_mirror_averaged": round(float((truth == predicted).mean()), 4),
        "per_class_recall": {label: round(float(matrix[i, i] / max(matrix[i].sum(), 1)), 3)
                             for i, label in enumerate(LABELS)},
        "confusion_matrix": matrix.tolist(),
    }


def save_for_serving(model, out: Path) -> None:
    """The network without its optimizer's state (a third of the size: serving never
    needs it)."""
    import keras  # noqa: PLC0415

    keras.Model(model.inputs, model.outputs, name=model.name).save(out)


def train(data: Path, out: Path, epochs: int, batch_size: int, seed: int, patience: int,
          limit: int = 0, start_from: Path | None = None, learning_rate: float = 2e-3,
          erasing: float = 0.5, photometric: bool = True, widths=None, depths=None,
          weight_decay: float = 0.01, max_minutes: float = 0, softening: float = 0.0,
          network: str = "sepnet", teacher_scores: Path | None = None,
          teacher_weight: float = 0.5, teacher_temperature: float = 2.0) -> dict:
    import keras  # noqa: PLC0415

    from training.callbacks import StopAfter  # noqa: PLC0415
    from training.data import LABELS, load_ferplus, scaled, split  # noqa: PLC0415
    from training.model import DEPTHS, WIDTHS, build_model, build_teacher, from_mini_xception  # noqa: PLC0415
    from training.teacher import blended_targets, load_scores  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    started = time.monotonic()
    faces = load_ferplus(data)
    if limit:
        faces.images, faces.targets, faces.names = (faces.images[:limit], faces.targets[:limit],
                                                    faces.names[:limit])
    # The split stays the same whatever `seed` is: a teacher trained with another seed must
    # not have seen the validation faces of the network that learns from it.
    train_idx, val_idx = split(len(faces.images))
    if start_from:
        model = from_mini_xception(start_from, len(LABELS))
    elif network == "teacher":
        model = build_teacher(len(LABELS))
    else:
        model = build_model(len(LABELS), widths or WIDTHS, depths or DEPTHS)
    shape = tuple(model.input_shape[1:])
    targets = faces.targets
    if teacher_scores:  # validation keeps the votes: its accuracy is against the majority
        targets = blended_targets(targets, load_scores(teacher_scores, faces.names),
                                  teacher_weight, teacher_temperature)
    x_train, y_train = scaled(faces.images[train_idx], shape), targets[train_idx]
    x_val, y_val = scaled(faces.images[val_idx], shape), faces.targets[val_idx]
    out.parent.mkdir(parents=True, exist_ok=True)
    steps = max(len(x_train) // batch_size, 1)
    # One epoch of warm-up, then a cosine decay over the remaining epochs: a fixed budget
    # of epochs ends at a small learning rate (a plateau rule halved it too late here).
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate / 20, decay_steps=max(steps * (epochs - 1), 1), alpha=0.01,
        warmup_target=learning_rate, warmup_steps=steps)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
                  loss="categorical_crossentropy",
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
    history = model.fit(
        batches(x_train, y_train, batch_size, seed, photometric, erasing, softening),
        steps_per_epoch=steps, epochs=epochs, validation_data=(x_val, y_val), verbose=2,
        callbacks=[keras.callbacks.EarlyStopping("val_accuracy", patience=patience,
                                                 restore_best_weights=True),
                   # the best model so far is on disk, should a long run be stopped early
                   keras.callbacks.ModelCheckpoint(out, "val_accuracy", save_best_only=True),
                   StopAfter(max_minutes * 60)])
    recalibrate_batch_norm(model, x_train, seed)
    report = validation_report(model, x_val, y_val)
    save_for_serving(model, out)
    card = {
        "model": out.name, "labels": list(LABELS),
        "network": model.name, "backend": keras.backend.backend(), "parameters": int(model.count_params()),
        "input": f"{shape[0]}x{shape[1]} gray (the pipeline's 48x48 crop"
                 f"{', resized' if shape[:2] != (48, 48) else ''}), pixels in [-1, 1]",
        "data": f"FER+ votes ({data}); {len(train_idx)} training and {len(val_idx)} validation "
                "faces (seeded 10% split); faces whose majority is unknown or not-a-face dropped",
        **report,
        "epochs_run": len(history.history["loss"]), "seed": seed,
        "validation_accuracy_by_epoch": [round(float(v), 4)
                                         for v in history.history["val_accuracy"]],
        "teacher": ({"scores": str(teacher_scores), "weight": teacher_weight,
                     "temperature": teacher_temperature} if teacher_scores else None),
        "command": " ".join(sys.argv), "seconds": round(time.monotonic() - started, 1),
        "loss": [round(float(v), 4) for v in history.history["loss"]],
    }
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="FER+ folder: PNGs and label.csv")
    parser.add_argument("--out", type=Path, default=Path("models/trained/ferplus.keras"))
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--widths", type=_ints, help="the network's widths, e.g. 32,64,128,256,512")
    parser.add_argument("--depths", type=_ints, help="separable convolutions per stage, e.g. 2,3,3,2")
    parser.add_argument("--weight-decay", type=float, default=0.01, help="AdamW's decoupled decay")
    parser.add_argument("--max-minutes", type=float, default=0,
                        help="stop after this long (the best epoch so far is kept); 0: no limit")
    parser.add_argument("--start-from", type=Path,
                        help="fine-tune this mini-XCEPTION (.hdf5) with an eight-emotion head "
                             "instead of training the small CNN from scratch")
    parser.add_argument("--learning-rate", type=float, default=2e-3,
                        help="peak learning rate, after a one-epoch warm-up")
    parser.add_argument("--erasing", type=float, default=0.5,
                        help="share of training faces with a random patch erased")
    parser.add_argument("--softening", type=float, default=0.0,
                        help=f"share of training faces resampled from {SOFTEN_MIN_SIDE}-48 px "
                             f"and blurred by up to {SOFTEN_MAX_BLUR} px")
    parser.add_argument("--network", choices=("sepnet", "teacher"), default="sepnet",
                        help="sepnet: the served network (--widths, --depths); teacher: the "
                             "large network whose scores it can learn from (for a GPU)")
    parser.add_argument("--teacher-scores", type=Path,
                        help="a teacher's scores of these faces (python -m training.teacher): "
                             "the training targets blend them with the votes")
    parser.add_argument("--teacher-weight", type=float, default=0.5,
                        help="share of the teacher's distribution in the training targets")
    parser.add_argument("--teacher-temperature", type=float, default=2.0,
                        help="softens the teacher's distribution (1: as it is)")
    parser.add_argument("--no-photometric", action="store_true",
                        help="no brightness and contrast changes (mirror and affine only)")
    parser.add_argument("--patience", type=int, default=8, help="epochs without progress")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N faces")
    args = parser.parse_args(argv)
    card = train(args.data, args.out, args.epochs, args.batch_size, args.seed, args.patience,
                 args.limit, args.start_from, args.learning_rate, args.erasing,
                 not args.no_photometric, args.widths, args.depths, args.weight_decay,
                 args.max_minutes, args.softening, args.network, args.teacher_scores,
                 args.teacher_weight, args.teacher_temperature)
    print(json.dumps({k: card[k] for k in ("validation_accuracy_mirror_averaged",
                                           "per_class_recall", "epochs_run", "seconds")}))
    print("confusion matrix (rows: majority vote, columns: predicted):")
    for row in card["confusion_matrix"]:
        print("  " + " ".join(f"{v:5d}" for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
