"""Teacher scores: what a large network makes of each FER+ face, for the served network
to learn from alongside the votes (knowledge distillation with the teacher's scores
computed once, so the small network still trains on a CPU).

    python -m training.teacher --model teacher.keras --data ../shared/data/ferplus/train \\
        --out models/teachers/ferplus_teacher_scores.npz

The scores are the teacher's log-probabilities averaged over the face and its mirror image
(the targets of a mirrored training face are the same), for every usable face, by name.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def teacher_log_probabilities(model, scaled_images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(N, classes) float32: the mean of log p(face) and log p(mirrored face)."""
    views = [model.predict(scaled_images, batch_size=batch_size, verbose=0),
             model.predict(scaled_images[:, :, ::-1], batch_size=batch_size, verbose=0)]
    return np.mean([np.log(np.clip(view, 1e-7, 1.0)) for view in views], axis=0).astype(np.float32)


def save_scores(path: Path, names: list[str], log_probabilities: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, names=np.array(names), log_probabilities=log_probabilities)


def load_scores(path: Path, names: list[str]) -> np.ndarray:
    """The teacher's log-probabilities for `names`, in that order."""
    with np.load(path) as saved:
        row = {name: index for index, name in enumerate(saved["names"].tolist())}
        missing = [name for name in names if name not in row]
        if missing:
            raise SystemExit(f"{path}: no teacher scores for {len(missing)} faces "
                             f"(e.g. {missing[0]}); make them again from this data")
        return saved["log_probabilities"][[row[name] for name in names]]


def soft_targets(log_probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """The teacher's distribution softened by `temperature` (1: as it is)."""
    logits = log_probabilities / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def blended_targets(votes: np.ndarray, log_probabilities: np.ndarray, weight: float,
                    temperature: float) -> np.ndarray:
    """The training targets: `weight` of the teacher's softened distribution, the rest the
    votes' (knowledge distillation, Hinton et al. 2015, on distributions computed once)."""
    return ((1 - weight) * votes + weight * soft_targets(log_probabilities, temperature)).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, nargs="+", required=True,
                        help="the trained teacher (.keras); several: their mean log-probabilities")
    parser.add_argument("--data", type=Path, required=True, help="FER+ folder: PNGs and label.csv")
    parser.add_argument("--out", type=Path, default=Path("models/teachers/ferplus_teacher_scores.npz"))
    args = parser.parse_args(argv)
    import keras  # noqa: PLC0415

    from training.data import load_ferplus, scaled  # noqa: PLC0415

    faces = load_ferplus(args.data)
    scores = []
    for path in args.model:
        model = keras.models.load_model(path, compile=False)
        scores.append(teacher_log_probabilities(
            model, scaled(faces.images, tuple(model.input_shape[1:]))))
    scores = np.mean(scores, axis=0)
    save_scores(args.out, faces.names, scores)
    agreement = float((scores.argmax(axis=1) == faces.targets.argmax(axis=1)).mean())
    print(f"{len(faces.names)} faces scored; the teacher agrees with the majority vote on "
          f"{agreement:.3f} of them (training faces included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
