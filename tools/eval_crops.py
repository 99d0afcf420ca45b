"""How faithfully the detector's crops reproduce the faces the emotion model learned from.

    python -m tools.eval_crops --faces DIR [--count 400] [--model NAME or FILE [--labels L1,L2,...]]
    python -m tools.eval_crops --ferplus ../shared/data/ferplus/train --model ferplus

DIR holds labeled 48x48 faces (one subfolder per label, e.g. FER2013's); --ferplus takes
the validation faces of the training's own seeded split of a FER+ folder, each labeled
with its majority vote (so a model is never judged on faces it trained on). Each face is
pasted into a 640x480 frame over a face-free picture, at several sizes and roll angles,
and found, aligned and cropped by the detector's own core (no services needed). Each crop
is compared with the face it came from:
- pixel error: mean absolute difference (0-255) over the central 40x40 pixels, after
  moving the crop by the best sub-pixel shift (phase correlation), so that what is left
  is blur, resampling and a wrong scale or angle, not a shift of a pixel;
- label agreement: how often the emotion model gives the crop the label it gives the
  original face (what the pipeline loses, with no label noise in the way);
- accuracy against the faces' own labels, for the originals and for the crops, and the
  label agreement again, with each test-time augmentation (`tta`) the classifier offers.
  A label the model does not have (contempt, for the seven-label fer2013 model) counts as
  wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from devkit.crops import crop_of_pasted
from devkit.scenes import background, face_free_pictures, paste_face
from services.classifier.augmentation import TTA_MODES, crops_per_batch
from services.classifier.core import run_model_batch
from services.classifier.runtime import load_model
from services.classifier.settings import ClassifierSettings
from services.detector.settings import DetectorSettings
from services.faces.finder import make_face_finder
from tools.eval_detection import labeled_faces

SIZES = (64, 96, 150, 250)
ANGLES = (0.0, 10.0, 20.0)
CENTRE = slice(4, 44)


def pixel_error(original: np.ndarray, crop: np.ndarray) -> float:
    """Mean absolute difference over the centre after the best sub-pixel shift."""
    a, b = original.astype(np.float32), crop.astype(np.float32)
    window = cv2.createHanningWindow(a.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(a, b, window)
    moved = cv2.warpAffine(b, np.float32([[1, 0, -dx], [0, 1, -dy]]), b.shape[::-1],
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return float(np.abs(moved[CENTRE, CENTRE] - a[CENTRE, CENTRE]).mean())


def crops_of(faces, detector, seed: int) -> list[tuple[int, int, float, np.ndarray]]:
    """(face index, size, angle, crop) for every pasted face the detector found."""
    rng = np.random.default_rng(seed)
    pictures = face_free_pictures()
    found = []
    for index, (face, _) in enumerate(faces):
        for size in SIZES:
            angle = float(ANGLES[int(rng.integers(len(ANGLES)))] * rng.choice([-1, 1]))
            frame = background(pictures, 640, 480, rng)
            x, y = int(rng.integers(0, 640 - size)), int(rng.integers(0, 480 - size))
            paste_face(frame, face, x, y, size, angle=angle)
            crop = crop_of_pasted(detector, frame, (x, y, size, size))
            if crop is not None:
                found.append((index, size, abs(angle), crop))
    return found


def ferplus_validation_faces(folder: Path) -> list[tuple[np.ndarray, str]]:
    from training.data import LABELS, load_ferplus, split  # noqa: PLC0415

    faces = load_ferplus(folder)
    _, validation = split(len(faces.images))
    return [(faces.images[i], LABELS[int(faces.targets[i].argmax())]) for i in validation]


def evaluate(faces, count: int, seed: int, model_name: str, labels: str = "") -> None:
    rng = np.random.default_rng(seed)
    faces = [faces[int(i)] for i in rng.choice(len(faces), size=min(count, len(faces)), replace=False)]
    settings = ClassifierSettings(runtime="litert", model=model_name, labels=labels)
    model, _ = load_model(settings)
    labels = list(model.info.labels)
    truth = np.array([labels.index(label) if label in labels else -1 for _, label in faces])
    originals = np.stack([cv2.resize(face, (48, 48), interpolation=cv2.INTER_AREA)
                          for face, _ in faces])
    found = crops_of([(o, label) for o, (_, label) in zip(originals, faces)],
                     make_face_finder(DetectorSettings()), seed)
    crops = np.stack([crop for *_, crop in found])
    which = np.array([index for index, *_ in found])
    sizes = np.array([size for _, size, _, _ in found])
    angles = np.array([angle for _, _, angle, _ in found])
    errors = np.array([pixel_error(originals[i], crop) for i, crop in zip(which, crops)])

    def predict(images: np.ndarray, tta: str) -> np.ndarray:
        run, chunk = run_model_batch(model, tta), crops_per_batch(settings.max_batch_size, tta)
        return np.concatenate([np.stack(run(list(model.preprocess(images[k:k + chunk]))))
                               for k in range(0, len(images), chunk)]).argmax(axis=1)

    # Each augmentation's labels for the originals and the crops, computed once.
    labels_by_tta = {tta: (predict(originals, tta), predict(crops, tta)) for tta in TTA_MODES}
    original_labels, crop_labels = labels_by_tta["none"]
    agree = crop_labels == original_labels[which]
    print(f"model {model.info.name} ({len(labels)} labels); {len(faces)} faces x {len(SIZES)} "
          f"sizes; found {len(found)} of {len(faces) * len(SIZES)}")
    print(f"{'size px':>8} {'found':>6} {'pixel error':>11} {'label agreement':>15}")
    for size in SIZES:
        here = sizes == size
        print(f"{size:>8} {here.sum() / len(faces):>6.1%} {errors[here].mean():>11.2f} "
              f"{agree[here].mean():>15.1%}")
    for angle in sorted(set(angles)):
        here = angles == angle
        print(f"{'roll ' + format(angle, '.0f'):>8} {'':>6} {errors[here].mean():>11.2f} "
              f"{agree[here].mean():>15.1%}")
    print(f"{'all':>8} {'':>6} {errors.mean():>11.2f} {agree.mean():>15.1%}")
    print(f"accuracy against the faces' labels ({(truth < 0).sum()} faces with a label the "
          "model lacks, counted wrong):")
    for tta, (original_labels, crop_labels) in labels_by_tta.items():
        on_crops = crop_labels == truth[which]
        with_misses = on_crops.sum() / (len(truth) * len(SIZES))
        print(f"  tta {tta:<14} originals {(original_labels == truth).mean():.1%}  "
              f"crops {on_crops.mean():.1%}  counting misses {with_misses:.1%}  "
              f"crop label = original's {(crop_labels == original_labels[which]).mean():.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--faces", type=Path, help="folder of labeled faces, one subfolder per label")
    source.add_argument("--ferplus", type=Path,
                        help="FER+ folder (label.csv): its validation split, majority labels")
    parser.add_argument("--count", type=int, default=400, help="faces to use (default 400)")
    parser.add_argument("--model", default=ClassifierSettings().model,
                        help="the classifier's --model: a name or a file (default: its default)")
    parser.add_argument("--labels", default="",
                        help="the classifier's --labels, for a model file (default: its default)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    faces = labeled_faces(args.faces) if args.faces else ferplus_validation_faces(args.ferplus)
    evaluate(faces, args.count, args.seed, args.model, args.labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
