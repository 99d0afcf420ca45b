"""Face tracks across a stream's frames: which face in this frame is which face before.

Each frame's faces are matched to the stream's live tracks by the Hungarian assignment
(scipy's `linear_sum_assignment`) over a cost that compares each face with where its
track is predicted to be now: the track's last box moved by its velocity over the time
since. A face that matches no track starts a new one; a track that matches no face is
kept (moving along its velocity for up to MAX_COAST_S) for `max_missed_frames` frames (a
blink, a hand or another face passing in front, the detector losing a face for a moment)
and then put aside as lost. A face that matches no live track is matched against the
tracks lost in the last LOST_TRACK_S seconds where they were last seen, and takes that
track back (its id, smoothing and identity) when it is there: a face the detector finds
only now and then, or a person who looked away for two seconds, keeps one id. Live tracks
are bounded by the faces of the last `max_missed_frames` + 1 frames and lost ones by
MAX_LOST_TRACKS, so a stream's memory stays bounded.

Why not norfair (the tracking library on PyPI): its releases require numpy < 2, which the
rest of this service pins, and it switched ids more often on generated crossings
(docs/tracks.md). Why velocity: two faces whose paths cross are at the same place
mid-crossing; which one re-emerges where is told by where each was heading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from services.detector.track_state import TrackState

# A face may be this far from its track's prediction, in units of the face's size
# (the geometric mean of the two boxes' widths), and still be that track; the allowance
# grows by MISSED_GROWTH per missed frame, since a track unseen for a while is less sure
# of where it is.
MAX_DISTANCE = 0.6
MISSED_GROWTH = 0.2
MAX_ALLOWED_DISTANCE = 2.0
# A track unseen for longer than this stops moving along its velocity: a face that left
# a detector's sight (turned away, blurred) usually stays about where it was.
MAX_COAST_S = 0.5
# Added to the cost per frame a track has gone unseen: when two tracks are predicted at
# one place (one face hidden behind the other), the face seen is the one that was in
# front a moment ago, not the one that has been coasting hidden.
MISSED_PENALTY = 0.15
# How much a face's size may differ from its track's (ratio of widths) and be the same:
# a face the detector finds only now and then can come back with a box much larger than
# the last one, while someone stepping in front is larger still (docs/tracks.md).
MAX_SIZE_RATIO = 2.0
# Weight of each new velocity measurement: one wrong match (two faces crossing) bends a
# track's course by this fraction only.
VELOCITY_GAIN = 0.35
# How long a lost track can still be taken back by a face where it was last seen, and how
# many lost tracks a stream keeps (the most recently lost).
LOST_TRACK_S = 3.0
MAX_LOST_TRACKS = 16
# Velocities are measured over at least this long, so that frames stamped almost at once
# (a burst after a stall) do not make a jump look like a sprint.
MIN_VELOCITY_DT_S = 0.010


def _allowed_pairs(cost: np.ndarray) -> list[tuple[int, int]]:
    """(row, column) pairs of the cheapest assignment, leaving out pairs of infinite cost.
    The assignment wants finite costs: a stand-in above any allowed pair's cost, and a pair
    it picks at the stand-in stays unmatched."""
    allowed = np.isfinite(cost)
    rows, cols = linear_sum_assignment(np.where(allowed, cost, 1e6))
    return [(row, col) for row, col in zip(rows, cols) if allowed[row, col]]


def _centre_and_size(box: tuple[float, float, float, float]) -> tuple[np.ndarray, float]:
    x, y, width, height = box
    return np.array([x + width / 2, y + height / 2]), max(float(width), 1.0)


@dataclass
class Track:
    track_id: int
    centre: np.ndarray
    size: float
    seen_at_s: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # pixels per second
    missed: int = 0
    state: TrackState = field(default_factory=TrackState)  # what other stages keep

    def predicted_centre(self, now_s: float) -> np.ndarray:
        return self.centre + self.velocity * min(max(now_s - self.seen_at_s, 0.0), MAX_COAST_S)

    def update(self, box: tuple[float, float, float, float], now_s: float) -> None:
        centre, size = _centre_and_size(box)
        dt = now_s - self.seen_at_s
        if dt > 0:
            measured = (centre - self.centre) / max(dt, MIN_VELOCITY_DT_S)
            self.velocity += VELOCITY_GAIN * (measured - self.velocity)
        self.centre, self.size, self.seen_at_s, self.missed = centre, size, now_s, 0


class FaceTracker:
    """One stream's tracks. `assign` is called once per frame, in frame order."""

    def __init__(self, max_missed_frames: int) -> None:
        self.max_missed_frames = max_missed_frames
        self.tracks: list[Track] = []
        self.lost: list[Track] = []  # unseen too long to be live, not yet forgotten
        self._next_id = 1

    def assign(self, boxes: list[tuple[float, float, float, float]], now_s: float) -> list[Track]:
        """The track of each box, in the order given; boxes that match none get new ones."""
        matched: list[Track | None] = [None] * len(boxes)
        if self.tracks and boxes:
            for row, col in _allowed_pairs(self._cost(boxes, now_s)):
                matched[col] = self.tracks[row]
        taken = {id(track) for track in matched if track is not None}
        survivors = []
        for track in self.tracks:
            if id(track) not in taken:
                track.missed += 1
                if track.missed > self.max_missed_frames:
                    self.lost.append(track)
                    continue
            survivors.append(track)
        self.tracks = survivors
        self._take_back_lost(boxes, matched, now_s)
        for index, box in enumerate(boxes):
            track = matched[index]
            if track is None:
                centre, size = _centre_and_size(box)
                track = Track(self._next_id, centre, size, now_s)
                self._next_id += 1
                self.tracks.append(track)
                matched[index] = track
            else:
                track.update(box, now_s)
        return matched  # type: ignore[return-value]

    def _take_back_lost(self, boxes, matched: list[Track | None], now_s: float) -> None:
        """Unmatched boxes where a recently lost track was last seen take it back."""
        self.lost = [t for t in self.lost if now_s - t.seen_at_s <= LOST_TRACK_S]
        del self.lost[:-MAX_LOST_TRACKS]
        unmatched = [index for index, track in enumerate(matched) if track is None]
        if not self.lost or not unmatched:
            return
        cost = self._cost([boxes[index] for index in unmatched], now_s, self.lost, lost=True)
        revived = []
        for row, col in _allowed_pairs(cost):
            track = self.lost[row]
            matched[unmatched[col]] = track
            revived.append(track)
        for track in revived:
            self.lost.remove(track)
            self.tracks.append(track)

    def _cost(self, boxes, now_s: float, tracks: list[Track] | None = None,
              lost: bool = False) -> np.ndarray:
        """Tracks x boxes: distance from prediction in face sizes, plus the size change;
        pairs too far apart or too different in size cost infinity. A lost track is
        looked for where it was last seen, as far as the widest allowance."""
        tracks = self.tracks if tracks is None else tracks
        centres, sizes = zip(*(_centre_and_size(box) for box in boxes))
        centres, sizes = np.array(centres), np.array(sizes)
        cost = np.empty((len(tracks), len(boxes)))
        for row, track in enumerate(tracks):
            scale = np.sqrt(sizes * track.size)
            expected = track.centre if lost else track.predicted_centre(now_s)
            distance = np.linalg.norm(centres - expected, axis=1) / scale
            size_change = np.abs(np.log(sizes / track.size))
            allowed = (MAX_ALLOWED_DISTANCE if lost else
                       min(MAX_DISTANCE + MISSED_GROWTH * track.missed, MAX_ALLOWED_DISTANCE))
            row_cost = distance + size_change + MISSED_PENALTY * min(track.missed,
                                                                    self.max_missed_frames)
            row_cost[(distance > allowed) | (size_change > np.log(MAX_SIZE_RATIO))] = np.inf
            cost[row] = row_cost
        return cost
