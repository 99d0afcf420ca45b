"""Where annotated frames and results go: a video file or image folder, and JSONL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

VIDEO_SUFFIXES = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v", ".mov": "mp4v"}


class AnnotatedWriter:
    """A video when the path ends in a video suffix, a folder of JPEG images when it has
    no suffix; any other suffix is refused (ValueError) rather than guessed."""

    def __init__(self, path: str, fps: float) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix and suffix not in VIDEO_SUFFIXES and not self.path.is_dir():
            raise ValueError(f"--output {path}: {suffix} is no video type this client writes; "
                             f"use {', '.join(VIDEO_SUFFIXES)}, or a folder name without a suffix "
                             "for JPEG images")
        self._fps = fps if fps > 0 else 15.0
        self._video: cv2.VideoWriter | None = None
        self._size = (0, 0)
        self.frames = 0
        if self.path.suffix.lower() not in VIDEO_SUFFIXES:
            self.path.mkdir(parents=True, exist_ok=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, image: np.ndarray, source: str, index: int) -> None:
        fourcc = VIDEO_SUFFIXES.get(self.path.suffix.lower())
        if fourcc is None:
            name = f"{Path(source).stem or 'frame'}_{index:06d}.jpg"
            cv2.imwrite(str(self.path / name), image)
        else:
            if self._video is None:
                height, width = image.shape[:2]
                self._size = (width, height)
                self._video = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*fourcc),
                                              self._fps, self._size)
                if not self._video.isOpened():
                    raise OSError(f"OpenCV cannot write video {self.path}")
            if (image.shape[1], image.shape[0]) != self._size:
                image = cv2.resize(image, self._size)  # a folder of images of mixed sizes
            self._video.write(image)
        self.frames += 1

    def close(self) -> None:
        if self._video is not None:
            self._video.release()


class JsonlWriter:
    def __init__(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")

    def close(self) -> None:
        self._file.close()
