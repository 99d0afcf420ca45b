"""The pipeline's own crops of the training faces, for the consistency fine-tune.

    python -m training.pipeline_crops --data ../shared/data/ferplus/train --out out/train/pipeline_crops.npz

Each training face (the seeded split's training part; never a validation face) is pasted
once into a 640x480 frame over a face-free picture, 56-260 px, rolled up to 20 degrees,
relit and blurred, then found, aligned and cropped by the detector's own core, as a
served frame would be. The file holds the faces' indices (into the FER+ folder's usable
faces, training.data.load_ferplus order) and their crops. ~17 min on 2 cores for FER+'s
25,547 training faces, of which ~96% are found.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

SCENE_SIZE = (640, 480)
FACE_PX = (56, 261)
MAX_ROLL_DEG = 20.0
BRIGHTNESS = (0.7, 1.3)
MAX_BLUR_PX = 1.0


def pipeline_crops(images: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the faces found, their 48x48 crops) for gray 48x48 `images`."""
    from devkit.crops import crop_of_pasted  # noqa: PLC0415
    from devkit.scenes import background, face_free_pictures, paste_face  # noqa: PLC0415
    from services.detector.settings import DetectorSettings  # noqa: PLC0415
    from services.faces.finder import make_face_finder  # noqa: PLC0415

    detector = make_face_finder(DetectorSettings(backend="frontal"))
    rng = np.random.default_rng(seed)
    pictures = face_free_pictures()
    width, height = SCENE_SIZE
    found, crops = [], []
    for index, face in enumerate(images):
        size = int(rng.integers(*FACE_PX))
        frame = background(pictures, width, height, rng)
        x, y = int(rng.integers(0, width - size)), int(rng.integers(0, height - size))
        paste_face(frame, face, x, y, size, angle=float(rng.uniform(-MAX_ROLL_DEG, MAX_ROLL_DEG)),
                   brightness=float(rng.uniform(*BRIGHTNESS)),
                   blur=float(rng.uniform(0, MAX_BLUR_PX)))
        crop = crop_of_pasted(detector, frame, (x, y, size, size))
        if crop is not None:
            crops.append(crop)
            found.append(index)
    return np.array(found, np.int64), np.array(crops, np.uint8).reshape(-1, 48, 48)


def _worker(job: tuple[np.ndarray, int]) -> tuple[np.ndarray, np.ndarray]:
    return pipeline_crops(*job)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="FER+ folder: PNGs and label.csv")
    parser.add_argument("--out", type=Path, default=Path("out/train/pipeline_crops.npz"))
    parser.add_argument("--workers", type=int, default=2,
                        help="processes; worker k takes every workers-th face from the k-th")
    parser.add_argument("--seed", type=int, default=100, help="worker k's scenes use seed + k")
    args = parser.parse_args(argv)
    from training.data import load_ferplus, split  # noqa: PLC0415

    faces = load_ferplus(args.data)
    train_idx, _ = split(len(faces.images))
    shares = [train_idx[k::args.workers] for k in range(args.workers)]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(_worker, [(faces.images[share], args.seed + k)
                                          for k, share in enumerate(shares)]))
    index = np.concatenate([share[found] for share, (found, _) in zip(shares, results, strict=True)])
    crops = np.concatenate([crops for _, crops in results])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, index=index, crops=crops)
    print(f"{len(index)} of {len(train_idx)} training faces found and cropped -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
