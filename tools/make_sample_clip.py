"""Build the bundled sample media from the public-domain astronaut portrait.

- samples/sample_clip.mp4: 640x480, 15 fps, 6 s; a virtual camera pans, zooms and rolls
  over the face (up to 20 degrees), so alignment and tracking have real work to do.
- samples/frames/frame_NN.jpg: every 15th frame of the clip as JPEG, for clients that
  cannot decode video (the Node.js example).
- samples/group.jpg: one 640x480 frame with four faces of different sizes, one mirrored
  and one rolled, for multi-face tests and benchmarks.

The output is deterministic for a given OpenCV build.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FRAME_SIZE = (640, 480)
FPS = 15
SECONDS = 6
FACE_CENTRE = (226.0, 128.0)  # the astronaut's face in the 512x512 portrait
BACKGROUND = (96, 96, 96)
STILL_EVERY = 15


def camera_at(t: float) -> tuple[float, float, float, float]:
    """Centre x, centre y, scale and roll (degrees) of the face at time t in [0, 1]."""
    w, h = FRAME_SIZE
    x = w / 2 + 150 * math.sin(2 * math.pi * t)
    y = h / 2 + 60 * math.sin(4 * math.pi * t)
    scale = 1.6 + 0.7 * math.sin(2 * math.pi * t + math.pi / 3)
    roll = 20 * math.sin(2 * math.pi * 1.5 * t)
    return x, y, scale, roll


def place(image: np.ndarray, centre: tuple[float, float], scale: float, roll: float,
          canvas: np.ndarray, head_only: bool = False) -> None:
    """Draw `image` onto `canvas`, its face centred at `centre`, scaled and rolled.

    With head_only, only a window around the head is drawn, so that several copies can
    share one canvas without covering each other's faces.
    """
    matrix = cv2.getRotationMatrix2D(FACE_CENTRE, roll, scale)
    matrix[:, 2] += np.array(centre) - np.array(FACE_CENTRE)
    h, w = canvas.shape[:2]
    warped = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    source_mask = np.zeros(image.shape[:2], np.uint8)
    if head_only:
        cx, cy = int(FACE_CENTRE[0]), int(FACE_CENTRE[1])
        source_mask[max(cy - 110, 0):cy + 110, cx - 90:cx + 90] = 255
    else:
        source_mask[:] = 255
    mask = cv2.warpAffine(source_mask, matrix, (w, h)) > 0
    canvas[mask] = warped[mask]


def make_clip(portrait: np.ndarray, path: Path, stills: Path) -> int:
    stills.mkdir(exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, FRAME_SIZE)
    if not writer.isOpened():
        raise SystemExit(f"OpenCV cannot write {path}")
    frames = FPS * SECONDS
    for index in range(frames):
        canvas = np.full((FRAME_SIZE[1], FRAME_SIZE[0], 3), BACKGROUND, np.uint8)
        x, y, scale, roll = camera_at(index / frames)
        place(portrait, (x, y), scale, roll, canvas)
        writer.write(canvas)
        if index % STILL_EVERY == 0:
            cv2.imwrite(str(stills / f"frame_{index:02d}.jpg"), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
    writer.release()
    return frames


def make_group(portrait: np.ndarray, path: Path) -> None:
    canvas = np.full((FRAME_SIZE[1], FRAME_SIZE[0], 3), BACKGROUND, np.uint8)
    # Mirror about the face's own vertical axis so FACE_CENTRE still marks the face.
    mirror = np.float32([[-1, 0, 2 * FACE_CENTRE[0]], [0, 1, 0]])
    mirrored = cv2.warpAffine(portrait, mirror, portrait.shape[1::-1])
    place(portrait, (120, 120), 1.0, 0, canvas, head_only=True)
    place(mirrored, (500, 115), 0.9, 0, canvas, head_only=True)
    place(portrait, (140, 355), 0.9, -10, canvas, head_only=True)
    place(portrait, (460, 350), 1.0, 12, canvas, head_only=True)
    cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 92])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT / "samples")
    args = parser.parse_args(argv)
    portrait = cv2.imread(str(args.samples / "astronaut.png"), cv2.IMREAD_COLOR)
    if portrait is None:
        raise SystemExit(f"{args.samples / 'astronaut.png'} is missing: run `make models` first")
    frames = make_clip(portrait, args.samples / "sample_clip.mp4", args.samples / "frames")
    make_group(portrait, args.samples / "group.jpg")
    print(f"ok  samples/sample_clip.mp4  {frames} frames  {FRAME_SIZE[0]}x{FRAME_SIZE[1]} @ {FPS} fps")
    print(f"ok  samples/frames/  {frames // STILL_EVERY} stills")
    print("ok  samples/group.jpg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
