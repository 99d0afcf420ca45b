"""The per-track summary and plot: time in view counts the time seen, not the gaps."""

from __future__ import annotations

import cv2
import pytest

from client.timeline import Timeline, plot

FRAME_S = 0.1


def face(track_id: int, happy: float) -> dict:
    return {"track_id": track_id, "emotion": "happy", "smoothed_emotion": "happy",
            "smoothed_scores": {"happy": happy, "sad": 1 - happy}, "person": None}


def test_time_in_view_leaves_out_the_gap_and_one_frame_is_singular(tmp_path):
    timeline = Timeline()
    for frame in list(range(10)) + list(range(30, 40)):  # out of view for 2 s in between
        timeline.add(frame * FRAME_S, frame, [face(1, 1.0)])
    timeline.add(5 * FRAME_S, 5, [face(2, 0.5)])
    history = timeline.tracks[1]
    assert history.seen_s(FRAME_S) == pytest.approx(20 * FRAME_S)
    assert history.gaps(FRAME_S) == [9]
    summary = timeline.summary(FRAME_S)
    assert "#1: 2.0 s in view, 20 frames" in summary
    assert "#2: 0.1 s in view, 1 frame," in summary
    path = tmp_path / "plot.png"
    plot(timeline, str(path), FRAME_S)
    assert cv2.imread(str(path)).shape[:2] == (440, 1000)
