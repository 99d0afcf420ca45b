"""Face verification accuracy on labeled pairs, through the recognizer's own core.

    python -m tools.eval_identity --pairs ../shared/data/identity-pairs/pairs.csv

The CSV has file_x, file_y and Decision (Yes: same person); photos sit beside it. Each
photo's largest face is found and embedded as the recognizer does; prints accuracy at the
recognizer's threshold, the distance ranges of same and different pairs, and the
embedding time per face.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from services.faces.frontal.scan import MultiScaleDetector
from services.faces.models.blazeface import BlazeFaceModel
from services.recognizer.embedding import MATCH_DISTANCE, FaceEmbedder
from services.recognizer.settings import RecognizerSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, required=True, help="CSV: file_x,file_y,Decision")
    parser.add_argument("--threshold", type=float, default=MATCH_DISTANCE)
    args = parser.parse_args(argv)
    defaults = RecognizerSettings()
    detector = MultiScaleDetector(BlazeFaceModel(defaults.detector_model, 1), settings=defaults)
    embedder = FaceEmbedder(defaults.shape_predictor, defaults.embedding_model)
    with args.pairs.open(newline="", encoding="utf-8") as file:
        rows = [(r["file_x"].strip(), r["file_y"].strip(), r["Decision"].strip() == "Yes")
                for r in csv.DictReader(file)]
    embeddings, times, missing = {}, [], []
    for name in sorted({n for row in rows for n in row[:2]}):
        image = cv2.imread(str(args.pairs.parent / name))
        faces = detector.detect(image, 0.7) if image is not None else []
        if not faces:
            missing.append(name)
            continue
        largest = max(faces, key=lambda f: f.box[2] * f.box[3])
        started = time.perf_counter()
        embeddings[name] = embedder.embed(image, [largest.box])[0]
        times.append((time.perf_counter() - started) * 1000)
    same, different, right = [], [], 0
    for first, second, is_same in rows:
        if first not in embeddings or second not in embeddings:
            continue
        distance = float(np.linalg.norm(embeddings[first] - embeddings[second]))
        (same if is_same else different).append(distance)
        right += (distance <= args.threshold) == is_same
    judged = len(same) + len(different)
    print(json.dumps({
        "pairs": len(rows), "judged": judged, "photos_without_a_face": missing,
        "threshold": args.threshold, "accuracy": round(right / max(judged, 1), 4),
        "same_person_distance": [round(min(same), 3), round(max(same), 3)] if same else None,
        "different_person_distance": ([round(min(different), 3), round(max(different), 3)]
                                      if different else None),
        "embed_ms_p50": round(float(np.median(times)), 1) if times else None,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
