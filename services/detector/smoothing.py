"""A track's emotion over time: scores averaged with a half-life, a label that holds.

Each frame's scores enter an exponential moving average whose weight depends on the
time since the previous frame (frames of a stream arrive irregularly: a camera's own
jitter, frames dropped when the services fall behind): after `half_life_s` an old frame
counts half. These smoothed scores are what a track's probability bars and plots show.

The shown label is the recent frames' vote: each frame votes for its own top label, the
votes are averaged with the same half-life, and the label changes when another
label's share of the vote leads the shown one's by `label_margin` (hysteresis), so two
close labels do not take turns frame by frame. Votes rather than averaged probabilities
decide it because they follow a real change of expression within about one half-life
whatever the scores' confidence: a face that was read as happy at 0.95 and now reads as
sad at 0.5 would need ~1.7 half-lives to tip averaged probabilities (docs/tracks.md
compares votes, averaged probabilities and averaged log-probabilities).

A label no frame has voted for during a whole half-life is out of the running, though:
it is neither shown nor shown again, and gives way to the leader of the labels voted for
even before that one leads it by the margin. This is what a new expression that the
model reads as two labels by turns needs: after one half-life the old label still holds
half the vote and each new one a quarter, and the old label stayed shown for 1.5-2
half-lives (docs/tracks.md has the measurements).
"""

from __future__ import annotations

import numpy as np

# Frame times are floats: a vote exactly one half-life old counts as that old, not a
# rounding error less.
_TIME_TOLERANCE_S = 1e-6


class EmotionSmoother:
    def __init__(self, half_life_s: float, label_margin: float) -> None:
        self.half_life_s = half_life_s
        self.label_margin = label_margin
        self.scores: np.ndarray | None = None
        self.votes: np.ndarray | None = None  # each label's share of the recent frames' votes
        self.label = -1  # index of the shown label
        self._updated_at_s = 0.0
        self._voted_at_s: np.ndarray | None = None  # when each label last had a frame's vote

    def update(self, scores: np.ndarray, now_s: float) -> tuple[np.ndarray, int]:
        """Add one frame's scores taken at `now_s`; the smoothed scores and shown label."""
        scores = np.asarray(scores, np.float64)
        top = int(scores.argmax())
        vote = np.zeros_like(scores)
        vote[top] = 1.0
        if self.half_life_s <= 0 or self.scores is None or self.scores.shape != scores.shape:
            # Off (half-life 0), the first frame, or a model with other labels: raw scores.
            self.scores, self.votes = scores.copy(), vote
            self.label = top
            self._voted_at_s = np.full(scores.shape, -np.inf)
            self._voted_at_s[top] = now_s
        else:
            elapsed = max(now_s - self._updated_at_s, 0.0)  # a timestamp going back: no decay
            kept = 0.5 ** (elapsed / self.half_life_s)
            self.scores = kept * self.scores + (1.0 - kept) * scores
            self.votes = kept * self.votes + (1.0 - kept) * vote
            self._voted_at_s[top] = max(now_s, self._voted_at_s[top])
            # Labels without a vote for a half-life are out of the running.
            silent = now_s - self._voted_at_s >= self.half_life_s - _TIME_TOLERANCE_S
            live = np.where(silent, -1.0, self.votes)
            leader = int(live.argmax())
            if (live[self.label] < 0
                    or self.votes[leader] - self.votes[self.label] >= self.label_margin):
                self.label = leader
        self._updated_at_s = max(now_s, self._updated_at_s)
        return self.scores, self.label
