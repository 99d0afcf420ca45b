"""Each person's own resting face: the emotion that stands out against a track's baseline.

A track learns its resting face from its own frontal frames: for each label, a low
quantile of its smoothed score over the recent frames (`REST_QUANTILE`), which stays at the
resting level as long as the person rests for at least that share of the time, so a
person who starts out smiling is not taken to rest smiling once rest frames come, as a mean
of the first seconds would. With blendshapes, the same is learned for each expression
primitive. The relative emotion is the label whose smoothed score rises above its resting
level by at least `margin` (and, with blendshapes, with the face moving from its rest),
otherwise "neutral": a face whose raw labels wander while it rests reads neutral, a real
change of expression does not.
"""

from __future__ import annotations

from collections import deque

import numpy as np

# The share of a track's frames that must be at rest for its baseline to be the rest.
REST_QUANTILE = 0.25
# Frames a baseline remembers: about a minute of a camera stream.
WINDOW_FRAMES = 1800
# The resting levels are recomputed every this many frames (a quantile over the window
# each frame would cost more than it changes).
REFRESH_FRAMES = 5
# Blendshapes that are not expressions: where the eyes look, and blinks.
NOT_EXPRESSIONS = ("_neutral", "eyeLook", "eyeBlink")


class Baseline:
    """One track's resting face; `update` once per frontal frame, in frame order."""

    def __init__(self, labels: list[str], *, ready_frames: int, margin: float,
                 blendshape_names: tuple[str, ...] = (), movement: float = 0.15) -> None:
        self.labels = list(labels)
        self.neutral = self.labels.index("neutral") if "neutral" in self.labels else None
        self.ready_frames = ready_frames
        self.margin = margin
        self.movement = movement
        self._expressive = np.array([not name.startswith(NOT_EXPRESSIONS)
                                     for name in blendshape_names], bool)
        self._scores: deque[np.ndarray] = deque(maxlen=WINDOW_FRAMES)
        self._shapes: deque[np.ndarray] = deque(maxlen=WINDOW_FRAMES)
        self._rest: np.ndarray | None = None
        self._rest_shapes: np.ndarray | None = None
        self._since_refresh = 0

    @property
    def frames(self) -> int:
        return len(self._scores)

    @property
    def ready(self) -> bool:
        return self.frames >= self.ready_frames

    @property
    def rest(self) -> np.ndarray | None:
        """Each label's resting score (None before the first frame)."""
        return self._rest

    def start_from(self, rest: np.ndarray, frames: int) -> None:
        """Begin from a resting face learned before (a person seen again): it counts as
        `frames` frames at that rest."""
        for _ in range(min(frames, WINDOW_FRAMES)):
            self._scores.append(np.asarray(rest, np.float32))
        self._refresh()

    def update(self, smoothed: np.ndarray, blendshapes: np.ndarray | None = None) -> None:
        self._scores.append(np.asarray(smoothed, np.float32))
        if blendshapes is not None and len(blendshapes) == len(self._expressive):
            self._shapes.append(np.asarray(blendshapes, np.float32)[self._expressive])
        self._since_refresh += 1
        if self._rest is None or self._since_refresh >= REFRESH_FRAMES:
            self._refresh()

    def _refresh(self) -> None:
        self._since_refresh = 0
        self._rest = np.quantile(np.stack(self._scores), REST_QUANTILE, axis=0)
        if self._shapes:
            self._rest_shapes = np.quantile(np.stack(self._shapes), REST_QUANTILE, axis=0)

    def relative(self, smoothed: np.ndarray, blendshapes: np.ndarray | None = None) -> str:
        """The label standing out against the rest, "neutral" when none does; "" until the
        baseline is ready."""
        if not self.ready or self._rest is None or self.neutral is None:
            return ""
        excess = np.asarray(smoothed, np.float32) - self._rest
        excess[self.neutral] = -np.inf
        best = int(np.argmax(excess))
        if excess[best] < self.margin or not self._moving(blendshapes):
            return self.labels[self.neutral]
        return self.labels[best]

    def _moving(self, blendshapes: np.ndarray | None) -> bool:
        """Whether the face moves from its rest (True without blendshapes to tell)."""
        if blendshapes is None or self._rest_shapes is None or len(self._shapes) < self.ready_frames:
            return True
        now = np.asarray(blendshapes, np.float32)[self._expressive]
        return bool((now - self._rest_shapes).max() >= self.movement)
