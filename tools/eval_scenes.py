"""Check detection on your own real photos and videos, side by side with other backends and
the `fer` package.

    python -m tools.eval_scenes DIR_OR_FILE ... [--backends auto,frontal] [--fer]

What each input is:
- a dlib imglab XML file (`<image file=..><box top left width height/>`): photos with face
  boxes: recall and extra faces by face size;
- a CSV file with a header `file,faces` (or `file,x,y,width,height`, one row per face):
  photos with counts (or boxes);
- a video (.mp4, .avi, .mov, .mkv): faces per frame, streamed as the detector streams it,
  and the frames with none;
- any other photo: the faces found;
- a folder: every such file in it (not recursing).

The tool runs the face finders in this process (no services), with the detector's default
settings. Nothing it reads is copied anywhere.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import warnings
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from services.detector.settings import DetectorSettings
from services.faces.finder import make_face_finder
from services.faces.geometry import iou

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv"}
SIZE_BINS = ((0, 24), (24, 48), (48, 96), (96, 100_000))
# A labeled face is found when a detection overlaps its box this much (a detector frames a
# face its own way: CenterFace's box includes the forehead).
MATCH_IOU = 0.3

Box = tuple[float, float, float, float]


@dataclass
class LabeledPhoto:
    path: Path
    boxes: list[Box] | None = None  # None: only a count is known
    count: int | None = None


@dataclass
class BoxTally:
    labeled: dict = field(default_factory=lambda: {b: 0 for b in SIZE_BINS})
    found: dict = field(default_factory=lambda: {b: 0 for b in SIZE_BINS})
    extra: int = 0


def read_imglab(path: Path) -> list[LabeledPhoto]:
    root = ElementTree.parse(path).getroot()
    photos = []
    for image in root.iter("image"):
        boxes = [(float(b.get("left")), float(b.get("top")), float(b.get("width")),
                  float(b.get("height"))) for b in image.iter("box")
                 if b.get("ignore") not in ("1", "true")]
        photos.append(LabeledPhoto(path.parent / image.get("file"), boxes))
    return photos


def read_csv(path: Path) -> list[LabeledPhoto]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and "faces" in rows[0]:
        return [LabeledPhoto(path.parent / row["file"], count=int(row["faces"])) for row in rows]
    photos: dict[str, LabeledPhoto] = {}
    for row in rows:
        photo = photos.setdefault(row["file"], LabeledPhoto(path.parent / row["file"], []))
        photo.boxes.append(tuple(float(row[k]) for k in ("x", "y", "width", "height")))
    return list(photos.values())


def collect(inputs: list[Path]) -> tuple[list[LabeledPhoto], list[Path]]:
    """(photos, videos) named by the inputs; a photo a label file names is not also taken
    unlabeled."""
    files = []
    for entry in inputs:
        files += sorted(p for p in entry.iterdir() if p.is_file()) if entry.is_dir() else [entry]
    photos, videos, labeled = [], [], set()
    for path in files:
        if path.suffix.lower() == ".xml":
            photos += read_imglab(path)
        elif path.suffix.lower() == ".csv":
            photos += read_csv(path)
        elif path.suffix.lower() in VIDEO_SUFFIXES:
            videos.append(path)
    labeled = {photo.path.resolve() for photo in photos}
    photos += [LabeledPhoto(p) for p in files if p.suffix.lower() in PHOTO_SUFFIXES
               and p.resolve() not in labeled]
    return photos, videos


def size_bin(box: Box) -> tuple[int, int]:
    side = max(box[2], box[3])
    return next(b for b in SIZE_BINS if b[0] <= side < b[1])


def tally_boxes(tally: BoxTally, labeled: list[Box], found: list[Box]) -> None:
    """Greedy one-to-one matching, best overlaps first."""
    for box in labeled:
        tally.labeled[size_bin(box)] += 1
    if not labeled or not found:
        tally.extra += len(found)
        return
    overlaps = np.stack([iou(np.array(box, np.float32), np.array(found, np.float32))
                         for box in labeled])
    used_labeled, used_found = set(), set()
    for index in np.argsort(-overlaps, axis=None):
        i, j = np.unravel_index(index, overlaps.shape)
        if overlaps[i, j] < MATCH_IOU:
            break
        if i in used_labeled or j in used_found:
            continue
        used_labeled.add(i)
        used_found.add(j)
        tally.found[size_bin(labeled[i])] += 1
    tally.extra += len(found) - len(used_found)


def fer_finder():
    """The `fer` package with its defaults (Haar cascade), as a finder: boxes only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fer.fer import FER  # noqa: PLC0415 - only this comparison needs fer
    logging.getLogger("fer").setLevel(logging.WARNING)
    detector = FER()

    class FerFinder:
        def detect(self, bgr: np.ndarray, min_score: float) -> list[Box]:
            return [tuple(map(float, face["box"])) for face in detector.detect_emotions(bgr)]

        def new_stream(self):
            return self

    return FerFinder()


def boxes_of(faces) -> list[Box]:
    return [face if isinstance(face, tuple) else tuple(face.box) for face in faces]


def evaluate_photos(finder, photos: list[LabeledPhoto], min_score: float) -> dict:
    tally, counts = BoxTally(), []
    for photo in photos:
        image = cv2.imread(str(photo.path))
        if image is None:
            raise SystemExit(f"{photo.path}: not a readable image")
        found = boxes_of(finder.detect(image, min_score))
        if photo.boxes is not None:
            tally_boxes(tally, photo.boxes, found)
        else:
            counts.append((photo.path.name, len(found), photo.count))
    return {"boxes": tally, "counts": counts}


def evaluate_video(finder, path: Path, min_score: float) -> tuple[int, float, int]:
    """(frames, faces per frame, frames with none), streamed frame after frame."""
    capture = cv2.VideoCapture(str(path))
    stream = finder.new_stream() if hasattr(finder, "new_stream") else finder
    per_frame = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        per_frame.append(len(stream.detect(frame, min_score)))
    if not per_frame:
        raise SystemExit(f"{path}: no frame could be read")
    counts = np.array(per_frame)
    return len(counts), float(counts.mean()), int((counts == 0).sum())


def report(name: str, photos: dict, videos: list[tuple[str, tuple[int, float, int]]]) -> None:
    tally: BoxTally = photos["boxes"]
    print(f"== {name}")
    if sum(tally.labeled.values()):
        for low, high in SIZE_BINS:
            labeled, found = tally.labeled[(low, high)], tally.found[(low, high)]
            if labeled:
                span = f"{low}-{high - 1} px" if high < 100_000 else f">= {low} px"
                print(f"  labeled faces {span:>10}: {found}/{labeled} found ({found / labeled:.2f})")
        total, found = sum(tally.labeled.values()), sum(tally.found.values())
        print(f"  labeled faces, all: {found}/{total} found, {tally.extra} extra")
    for file, found, expected in photos["counts"]:
        print(f"  {file}: {found} faces" + (f" (labeled {expected})" if expected is not None else ""))
    for file, (frames, mean, none) in videos:
        print(f"  {file}: {mean:.2f} faces per frame over {frames} frames, {none} with none")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", type=Path, nargs="+", help="files or folders (see above)")
    parser.add_argument("--backends", default="auto,frontal",
                        help="comma-separated detector backends to compare (default auto,frontal)")
    parser.add_argument("--fer", action="store_true", help="also run the fer package")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.inputs if not p.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    photos, videos = collect(args.inputs)
    if not photos and not videos:
        parser.error("no photos, label files or videos among the inputs")
    finders = {}
    for backend in args.backends.split(","):
        settings = DetectorSettings(backend=backend.strip())
        finders[f"facestream {settings.backend}"] = (make_face_finder(settings), settings.min_score)
    if args.fer:
        finders["fer (defaults)"] = (fer_finder(), 0.0)
    for name, (finder, min_score) in finders.items():
        report(name, evaluate_photos(finder, photos, min_score),
               [(v.name, evaluate_video(finder, v, min_score)) for v in videos])
    return 0


if __name__ == "__main__":
    sys.exit(main())
