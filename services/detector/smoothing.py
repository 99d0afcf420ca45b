"""A track's emotion over time: scores averaged with a half-life, a label that holds.

Each frame's scores enter an exponential moving average whose weight depends on the
time since the previous frame (frames of a stream arrive irregularly: a camera's own
jitter, frames dropped when the services fall behind): after `half_life_s` an old score
counts half. The shown label changes only when another label's smoothed score leads the
shown one's by `label_margin` (hysteresis), so two labels close to each other do not
take turns frame by frame. A half-life of 0 turns both off: the raw scores and label.
"""

from __future__ import annotations

import numpy as np

# The longest half-life a stream may ask for: beyond a minute a track's label would
# hardly move at all.
MAX_HALF_LIFE_MS = 60_000.0


class EmotionSmoother:
    def __init__(self, half_life_s: float, label_margin: float) -> None:
        self.half_life_s = half_life_s
        self.label_margin = label_margin
        self.scores: np.ndarray | None = None
        self.label = -1  # index of the shown label
        self._updated_at_s = 0.0

    def update(self, scores: np.ndarray, now_s: float) -> tuple[np.ndarray, int]:
        """Add one frame's scores taken at `now_s`; the smoothed scores and shown label."""
        scores = np.asarray(scores, np.float64)
        if self.half_life_s <= 0 or self.scores is None or self.scores.shape != scores.shape:
            # Off (half-life 0), the first frame, or a model with other labels: raw scores.
            self.scores = scores.copy()
            self.label = int(scores.argmax())
        else:
            elapsed = max(now_s - self._updated_at_s, 0.0)  # a timestamp going back: no decay
            kept = 0.5 ** (elapsed / self.half_life_s) if self.half_life_s > 0 else 0.0
            self.scores = kept * self.scores + (1.0 - kept) * scores
            leader = int(self.scores.argmax())
            if self.scores[leader] - self.scores[self.label] >= self.label_margin:
                self.label = leader
        self._updated_at_s = max(now_s, self._updated_at_s)
        return self.scores, self.label
