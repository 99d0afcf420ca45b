"""Check detection and emotion accuracy on your own labeled faces.

    python tools/eval_detection.py --faces DIR            # starts local services
    python tools/eval_detection.py --faces DIR --target HOST:PORT --fer

DIR is an image folder of labeled faces (one subfolder per emotion label, e.g. FER2013's
angry/ disgust/ fear/ happy/ neutral/ sad/ surprise/). From it the tool builds one-face
640x480 scenes (faces 60-300 px) and eight-face 1280x720 scenes (24-120 px), rotated up
to 20 degrees, brighter or darker, some blurred, over face-free backgrounds, plus
face-free frames; sends each through DetectorService.Detect; and prints recall and
emotion accuracy by face size and false positives per face-free frame. `--fer` runs the
`fer` package (its defaults, Haar cascade; installed by `make bench`) on the same frames.
`--streams` also sends each scene as a video (StreamDetect, the incremental scan): an
empty first frame, then the scene drifting 1 px a frame, so its faces come into view on
the second frame; it prints how many are found within `--within` frames and how often
they are kept after, and false faces per frame of the face-free frames streamed alike.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import grpc
import numpy as np

from devkit.frames import raw_image
from devkit.processes import local_services
from devkit.scenes import Scene, face_free_pictures, matches, scene
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import detector_service_pb2_grpc as pb_grpc
from facestream.v1 import image_pb2

SIZE_BINS = ((24, 32), (32, 48), (48, 64), (64, 96), (96, 150), (150, 301))
# The sizes the detection targets are stated for: (name, smallest px, largest px + 1,
# frame width or None for any frame).
TARGET_GROUPS = (("24-31 px", 24, 32, None), ("32-95 px in 1280x720", 32, 96, 1280),
                 (">= 96 px", 96, 10_000, None))
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}

# frame -> [(box x, y, w, h, emotion label or "")]
Detect = Callable[[np.ndarray], list[tuple[tuple[float, float, float, float], str]]]
# Frames a scene is streamed for after its empty first frame; each moves it by
# STREAM_DRIFT_PX (x, y) from the one before, as a slowly panning camera would.
STREAM_FRAMES = 20
STREAM_DRIFT_PX = (1.0, 0.5)


def labeled_faces(folder: Path) -> list[tuple[np.ndarray, str]]:
    faces = []
    for label_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for path in sorted(label_dir.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
                if image is not None:
                    faces.append((image, label_dir.name))
    if not faces:
        raise SystemExit(f"{folder}: no labeled faces (expected one subfolder per label)")
    return faces


def build_scenes(faces: list[tuple[np.ndarray, str]], pictures: list[np.ndarray],
                 one_face: int, eight_face: int, face_free: int,
                 seed: int = 2026) -> tuple[list[Scene], list[np.ndarray]]:
    rng = np.random.default_rng(seed)

    def pick(count: int) -> list[tuple[np.ndarray, str]]:
        return [faces[int(i)] for i in rng.integers(len(faces), size=count)]

    scenes = [scene(pick(1), [int(rng.integers(60, 301))], 640, 480, pictures, rng)
              for _ in range(one_face)]
    scenes += [scene(pick(8), [int(s) for s in rng.integers(24, 121, size=8)], 1280, 720,
                     pictures, rng) for _ in range(eight_face)]
    sizes = ((640, 480), (1280, 720), (1920, 1080))
    empty = [scene([], [], *sizes[i % len(sizes)], pictures, rng).frame for i in range(face_free)]
    return scenes, empty


@dataclass
class Tally:
    faces: int = 0
    found: int = 0
    labeled_right: int = 0
    per_bin: dict = field(default_factory=lambda: {b: [0, 0, 0] for b in SIZE_BINS})
    per_group: dict = field(default_factory=lambda: {g[0]: [0, 0] for g in TARGET_GROUPS})
    false_positives: int = 0
    face_free_frames: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def row(self, low: int, high: int) -> tuple[int, float, float]:
        total, found, right = self.per_bin[(low, high)]
        return total, found / total if total else float("nan"), right / found if found else float("nan")


def size_bin(size: float) -> tuple[int, int] | None:
    return next((b for b in SIZE_BINS if b[0] <= size < b[1]), None)


def target_groups(size: float, frame_width: int) -> list[str]:
    return [name for name, low, high, width in TARGET_GROUPS
            if low <= size < high and width in (None, frame_width)]


def evaluate(detect: Detect, scenes: list[Scene], face_free: list[np.ndarray]) -> Tally:
    tally = Tally()
    for item in scenes:
        started = time.perf_counter()
        found = detect(item.frame)
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        unused = list(found)
        for pasted in item.faces:
            hit = next((f for f in unused if matches(pasted.box, f[0])), None)
            counts = tally.per_bin[size_bin(pasted.box[2])]
            counts[0] += 1
            tally.faces += 1
            for group in target_groups(pasted.box[2], item.frame.shape[1]):
                tally.per_group[group][0] += 1
                tally.per_group[group][1] += hit is not None
            if hit is not None:
                unused.remove(hit)
                counts[1] += 1
                tally.found += 1
                right = hit[1] == pasted.label
                counts[2] += right
                tally.labeled_right += right
    for frame in face_free:
        tally.false_positives += len(detect(frame))
        tally.face_free_frames += 1
    return tally


def drift(step: int) -> tuple[float, float]:
    """How far (x, y) a streamed scene has moved after `step` frames."""
    return STREAM_DRIFT_PX[0] * step, STREAM_DRIFT_PX[1] * step


def drifted_box(box: tuple[float, float, float, float],
                step: int) -> tuple[float, float, float, float]:
    """Where a box of the scene lies after drift(step)."""
    dx, dy = drift(step)
    return box[0] + dx, box[1] + dy, box[2], box[3]


def drifted(frame: np.ndarray, step: int) -> np.ndarray:
    """The frame moved by drift(step), its edges repeated."""
    dx, dy = drift(step)
    shift = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(frame, shift, (frame.shape[1], frame.shape[0]),
                          borderMode=cv2.BORDER_REPLICATE)


def streamed(frame: np.ndarray) -> list[np.ndarray]:
    """A frame as a video: an empty first frame (the stream's full scan finds nothing), then
    the frame drifting for STREAM_FRAMES frames, so what it shows comes into view."""
    return [np.zeros_like(frame)] + [drifted(frame, step) for step in range(1, STREAM_FRAMES + 1)]


# [frame, ...] -> per frame [box x, y, w, h]
StreamDetect = Callable[[list[np.ndarray]], list[list[tuple[float, float, float, float]]]]


@dataclass
class StreamTally:
    within: int  # frames a face that comes into view may take to be found
    per_bin: dict = field(default_factory=lambda: {b: [0, 0, 0, 0] for b in SIZE_BINS})
    false_positives: int = 0
    face_free_streams_hit: int = 0
    face_free_streams: int = 0

    @property
    def face_free_frames(self) -> int:
        """Face-free frames scored: each stream's, after its empty first frame."""
        return self.face_free_streams * STREAM_FRAMES


def evaluate_streams(detect: StreamDetect, scenes: list[Scene], face_free: list[np.ndarray],
                     within: int) -> StreamTally:
    """Per size bin: faces, found within `within` frames of coming into view, and
    face-frames after that: in all, and found."""
    tally = StreamTally(within)
    for item in scenes:
        seen = detect(streamed(item.frame))[1:]
        for pasted in item.faces:
            size = pasted.box[2]
            found = [any(matches(drifted_box(pasted.box, step), box) for box in boxes)
                     for step, boxes in enumerate(seen, start=1)]
            counts = tally.per_bin[size_bin(size)]
            counts[0] += 1
            counts[1] += any(found[:within])
            counts[2] += len(found[within:])
            counts[3] += sum(found[within:])
    for frame in face_free:
        faces = sum(len(boxes) for boxes in detect(streamed(frame))[1:])
        tally.false_positives += faces
        tally.face_free_streams += 1
        tally.face_free_streams_hit += faces > 0
    return tally


def stream_report(tally: StreamTally) -> str:
    after = f"found on frames {tally.within + 1}-{STREAM_FRAMES}"
    lines = [f"streams: faces come into view on frame 1 of {STREAM_FRAMES}, drifting "
             f"{STREAM_DRIFT_PX[0]:g}, {STREAM_DRIFT_PX[1]:g} px a frame",
             f"face px   faces  found within {tally.within} frames  {after}"]
    for (low, high), (faces, found, later, kept) in tally.per_bin.items():
        if faces:
            lines.append(f"{low:>3}-{high - 1:<4} {faces:>7}  {found / faces:>22.3f}  "
                         f"{kept / max(1, later):>{len(after)}.3f}")
    lines.append(f"false faces per face-free stream frame: "
                 f"{tally.false_positives / max(1, tally.face_free_frames):.3f} (in "
                 f"{tally.face_free_streams_hit} of {tally.face_free_streams} streams)")
    return "\n".join(lines)


def grpc_detect(channel: grpc.Channel) -> Detect:
    stub = pb_grpc.DetectorServiceStub(channel)

    def detect(frame: np.ndarray):
        ok, encoded = cv2.imencode(".png", frame)
        reply = stub.Detect(pb.DetectRequest(image=image_pb2.Image(
            data=encoded.tobytes(), format=image_pb2.IMAGE_FORMAT_ENCODED)), timeout=30)
        return [((f.box.x, f.box.y, f.box.width, f.box.height), f.emotion) for f in reply.faces]

    return detect


def grpc_stream_detect(channel: grpc.Channel) -> StreamDetect:
    stub = pb_grpc.DetectorServiceStub(channel)

    def detect(frames: list[np.ndarray]):
        requests = (pb.StreamDetectRequest(frame_id=index, image=raw_image(frame),
                                           options=pb.DetectOptions(classify=False))
                    for index, frame in enumerate(frames))
        replies = sorted(stub.StreamDetect(requests, timeout=120), key=lambda r: r.frame_id)
        for reply in replies:
            if reply.HasField("error"):
                raise RuntimeError(f"frame {reply.frame_id}: {reply.error.message}")
        return [[(f.box.x, f.box.y, f.box.width, f.box.height) for f in reply.faces]
                for reply in replies]

    return detect


def fer_detect() -> Detect:
    import logging  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fer.fer import FER  # noqa: PLC0415 - an optional peer, installed by `make bench`
        detector = FER()
    logging.getLogger("fer").setLevel(logging.WARNING)

    def detect(frame: np.ndarray):
        return [(tuple(float(v) for v in found["box"]), max(found["emotions"], key=found["emotions"].get))
                for found in detector.detect_emotions(frame)]

    return detect


def report(tallies: dict[str, Tally]) -> str:
    names = list(tallies)
    lines = ["face px   faces  " + "  ".join(f"{n:>22}" for n in names),
             "                 " + "  ".join(f"{'recall':>10} {'emotion':>11}" for _ in names)]
    for low, high in SIZE_BINS:
        total = tallies[names[0]].row(low, high)[0]
        if not total:
            continue
        cells = []
        for name in names:
            _, recall, accuracy = tallies[name].row(low, high)
            cells.append(f"{recall:>10.3f} {accuracy:>11.3f}")
        lines.append(f"{low:>3}-{high - 1:<4} {total:>7}  " + "  ".join(cells))
    for name in names:
        tally = tallies[name]
        lines.append(f"{name}: recall {tally.found / max(1, tally.faces):.3f}, emotion right "
                     f"{tally.labeled_right / max(1, tally.found):.3f} of found, false positives "
                     f"{tally.false_positives / max(1, tally.face_free_frames):.3f} per face-free "
                     f"frame, latency p50 {np.percentile(tally.latencies_ms, 50):.1f} ms")
        lines.append(f"{name}: recall by the sizes the targets name: " + ", ".join(
            f"{group} {found / total:.3f} ({total})"
            for group, (total, found) in tally.per_group.items() if total))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, required=True, help="image folder of labeled faces")
    parser.add_argument("--target", help="a running detector (default: start local services)")
    parser.add_argument("--fer", action="store_true", help="also run the fer package")
    parser.add_argument("--one-face", type=int, default=200, help="one-face 640x480 scenes")
    parser.add_argument("--eight-face", type=int, default=100, help="eight-face 1280x720 scenes")
    parser.add_argument("--face-free", type=int, default=60, help="frames without a face")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--streams", action="store_true",
                        help="also stream each scene and face-free frame as a video")
    parser.add_argument("--within", type=int, default=10,
                        help="frames a face coming into view may take to be found (streams)")
    args = parser.parse_args(argv)
    if not 1 <= args.within < STREAM_FRAMES:
        parser.error(f"--within is {args.within}; it must be 1 to {STREAM_FRAMES - 1} (a scene "
                     f"is streamed for {STREAM_FRAMES} frames)")
    scenes, empty = build_scenes(labeled_faces(args.faces), face_free_pictures(),
                                 args.one_face, args.eight_face, args.face_free, args.seed)
    tallies = {}
    streams = []

    def run(target: str) -> None:
        with grpc.insecure_channel(target) as channel:
            tallies["facestream"] = evaluate(grpc_detect(channel), scenes, empty)
            if args.streams:
                streams.append(evaluate_streams(grpc_stream_detect(channel), scenes, empty,
                                                args.within))

    if args.target:
        run(args.target)
    else:
        with local_services(quiet=True) as (target, _):
            run(target)
    if args.fer:
        tallies["fer"] = evaluate(fer_detect(), scenes, empty)
    print(report(tallies))
    for tally in streams:
        print(stream_report(tally))
    return 0


if __name__ == "__main__":
    sys.exit(main())
