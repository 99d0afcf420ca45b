"""Frame sources: a camera, a video file or URL, one image, or a directory of images."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}


class SourceError(Exception):
    """The source cannot be opened; the message says what to do."""


@dataclass
class Frame:
    source: str  # file name for images, the path or URL for video, "camera:N"
    index: int  # frame number within that source
    image: np.ndarray  # BGR
    # When it was taken: a file's video time, or seconds since the camera opened (0 for
    # pictures). Sent as the frame's capture time; it times the smoothing and timelines.
    time_s: float = 0.0


class FrameSource:
    """Iterates frames. `live` sources (cameras, URLs) produce frames on their own clock,
    so a client that falls behind must drop frames rather than queue them. `stills`
    sources (an image, a folder of images) are independent pictures, not a video: each
    needs the detector's full scan."""

    def __init__(self, name: str, live: bool, fps: float, frames: Iterator[Frame],
                 stills: bool = False, skipped: list[str] | None = None,
                 unreadable: list[str] | None = None) -> None:
        self.name, self.live, self.fps, self.stills = name, live, fps, stills
        self._frames = frames
        self.skipped = skipped if skipped is not None else []  # files that were no image
        self.unreadable = unreadable if unreadable is not None else []  # images not decoded

    def __iter__(self) -> Iterator[Frame]:
        return self._frames


def _capture_frames(capture: cv2.VideoCapture, name: str, file_fps: float = 0.0) -> Iterator[Frame]:
    """A file's frames are timed by its frame rate (`file_fps`), however fast they are
    read; a camera's or URL's by the clock."""
    index = 0
    opened_at = time.monotonic()
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                return
            yield Frame(name, index, image,
                        index / file_fps if file_fps else time.monotonic() - opened_at)
            index += 1
    finally:
        capture.release()


def _image_frames(paths: list[Path], unreadable: list[str]) -> Iterator[Frame]:
    """Frames numbered as read: an image that cannot be decoded takes no number (it is noted
    in `unreadable`)."""
    index = 0
    for path in paths:
        data = path.read_bytes()
        if data.startswith(b"\xff\xd8") and b"\xff\xd9" not in data[-64:]:
            # libjpeg's own warning ("Premature end of JPEG file") names no file.
            print(f"webcam: {path}: the JPEG ends early (truncated?); showing what is there",
                  file=sys.stderr)
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
        if image is None:
            unreadable.append(path.name)
            continue
        yield Frame(path.name, index, image)
        index += 1


def open_source(spec: str) -> FrameSource:
    """Camera index ("0"), video file, image file, directory of images, or stream URL."""
    if spec.isdigit():
        capture = cv2.VideoCapture(int(spec))
        if not capture.isOpened():
            raise SourceError(f"cannot open camera {spec}: is one connected and free? "
                              "Use --source with a video file, an image, or a directory instead")
        return FrameSource(f"camera:{spec}", True, capture.get(cv2.CAP_PROP_FPS) or 30.0,
                           _capture_frames(capture, f"camera:{spec}"))
    if "://" in spec:
        capture = cv2.VideoCapture(spec)
        if not capture.isOpened():
            raise SourceError(f"cannot open stream {spec}")
        return FrameSource(spec, True, capture.get(cv2.CAP_PROP_FPS) or 30.0,
                           _capture_frames(capture, spec))
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            raise SourceError(f"{spec} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        skipped = [p.name for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
        unreadable: list[str] = []
        return FrameSource(spec, False, 0.0, _image_frames(images, unreadable), stills=True,
                           skipped=skipped, unreadable=unreadable)
    if not path.is_file():
        raise SourceError(f"{spec}: no such file, directory or camera index")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        unreadable = []
        return FrameSource(spec, False, 0.0, _image_frames([path], unreadable), stills=True,
                           unreadable=unreadable)
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SourceError(f"{spec} is not a video OpenCV can read")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    return FrameSource(spec, False, fps, _capture_frames(capture, spec, fps))
