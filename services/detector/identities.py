"""Who each face is: the recognizer asked per face (Detect) or once per track (streams).

A track's identity is looked up in the background and refreshed every few seconds, so a
stream keeps its frame rate: embedding a face takes longer than a frame on a small CPU
(docs/recognizer.md). No gRPC here: the IdentitySource (the recognizer client) hides it.
"""

from __future__ import annotations

from concurrent.futures import Future, wait
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import numpy as np

from services.faces.imaging import resize_region

REFRESH_S = 3.0  # a track's identity is looked up again after this long
REGION_MARGIN = 0.5  # of the face's size, on each side: the aligner needs the face's edges
REGION_FACE_PX = 160  # faces are sent at most this wide (the recognizer's chip is 150)


class IdentityStatus(Enum):
    NOT_REQUESTED = "not_requested"
    KNOWN = "known"
    UNKNOWN = "unknown"
    PENDING = "pending"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class SavedBaseline:
    """A person's resting face as the recognizer keeps it with them."""

    labels: tuple[str, ...]
    rest: tuple[float, ...]
    frames: int


@dataclass(frozen=True)
class PersonMatch:
    person_id: str  # "" when nobody enrolled is close enough
    name: str
    distance: float
    baseline: SavedBaseline | None = None  # their saved resting face, if any

    @property
    def status(self) -> IdentityStatus:
        return IdentityStatus.KNOWN if self.person_id else IdentityStatus.UNKNOWN


class IdentityUnavailable(Exception):
    """The recognizer could not answer; the message says why."""


class IdentitySource(Protocol):
    def submit(self, region: np.ndarray, box: tuple[float, float, float, float],
               timeout_s: float) -> Future:
        """Identify the face at `box` in the BGR `region`: a future of a PersonMatch (or
        of IdentityUnavailable)."""

    def save_baseline(self, person_id: str, baseline: SavedBaseline, timeout_s: float) -> Future:
        """Keep the person's resting face with them: a future of None (or of
        IdentityUnavailable)."""


def face_region(frame: np.ndarray, box) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The part of the frame around a face, downscaled to a face at most REGION_FACE_PX
    wide, and the face's box in it: a few KB to send instead of the frame."""
    x, y, width, height = box
    height_px, width_px = frame.shape[:2]
    left = int(max(0, x - REGION_MARGIN * width))
    top = int(max(0, y - REGION_MARGIN * height))
    right = int(min(width_px, x + (1 + REGION_MARGIN) * width))
    bottom = int(min(height_px, y + (1 + REGION_MARGIN) * height))
    scale = min(1.0, REGION_FACE_PX / max(width, 1.0))
    region = resize_region(frame, (left, top, right - left, bottom - top), scale)
    return (np.ascontiguousarray(region),
            ((x - left) * scale, (y - top) * scale, width * scale, height * scale))


@dataclass
class TrackIdentity:
    """A track's identity: what the recognizer said last, and the lookup in flight."""

    match: PersonMatch | None = None
    resolved_at_s: float = float("-inf")
    pending: Future | None = None
    error: str = ""

    def collect(self, now_s: float) -> None:
        if self.pending is None or not self.pending.done():
            return
        future, self.pending = self.pending, None
        try:
            self.match, self.error = future.result(), ""
        except IdentityUnavailable as error:
            self.error = str(error)
        self.resolved_at_s = now_s

    def due(self, now_s: float) -> bool:
        return self.pending is None and now_s - self.resolved_at_s >= REFRESH_S

    @property
    def status(self) -> IdentityStatus:
        if self.match is not None:
            return self.match.status
        return IdentityStatus.UNAVAILABLE if self.error else IdentityStatus.PENDING


@dataclass(frozen=True)
class IdentityAnswer:
    """What the recognizer said of one face: a match (known or not), or why it said nothing."""

    match: PersonMatch | None = None
    error: str = ""

    @property
    def status(self) -> IdentityStatus:
        return self.match.status if self.match is not None else IdentityStatus.UNAVAILABLE


def identify_now(source: IdentitySource, frame: np.ndarray, boxes, timeout_s: float
                 ) -> list[IdentityAnswer]:
    """Per box, the recognizer's answer; waits for every one."""
    futures = [source.submit(*face_region(frame, box), timeout_s) for box in boxes]
    wait(futures, timeout=timeout_s)
    answers = []
    for future in futures:
        if not future.done():
            future.cancel()
            answers.append(IdentityAnswer(
                error=f"the recognizer did not answer within {timeout_s:.1f} s"))
            continue
        try:
            answers.append(IdentityAnswer(match=future.result()))
        except IdentityUnavailable as error:
            answers.append(IdentityAnswer(error=str(error)))
    return answers


def identify_tracked(source: IdentitySource, frame: np.ndarray, boxes, states: list[TrackIdentity],
                     now_s: float, timeout_s: float) -> None:
    """Starts a lookup for each track whose identity is missing or stale; the answers are
    collected on later frames."""
    for box, state in zip(boxes, states, strict=True):
        state.collect(now_s)
        if state.due(now_s):
            state.pending = source.submit(*face_region(frame, box), timeout_s)
