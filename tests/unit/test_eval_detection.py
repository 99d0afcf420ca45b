"""The evaluation tool's bookkeeping: faces grouped by the sizes the detection targets
name, and the streamed scenes' tally (found within the window, kept after, false faces)."""

import numpy as np

from devkit.scenes import PastedFace, Scene
from tools.eval_detection import (
    STREAM_DRIFT_PX,
    STREAM_FRAMES,
    evaluate_streams,
    stream_report,
    streamed,
    target_groups,
)


def test_faces_are_counted_in_the_target_groups_their_size_and_frame_belong_to():
    assert target_groups(24, 640) == ["24-31 px"]
    assert target_groups(31.9, 1280) == ["24-31 px"]
    assert target_groups(32, 1280) == ["32-95 px in 1280x720"]
    assert target_groups(95, 1280) == ["32-95 px in 1280x720"]
    assert target_groups(60, 640) == []  # 32-95 px is a target in 1280x720 frames only
    assert target_groups(96, 640) == target_groups(300, 1280) == [">= 96 px"]
    assert target_groups(20, 1280) == []


def _scene_with_one_face(size: int = 60):
    frame = np.zeros((480, 640, 3), np.uint8)
    return Scene(frame, [PastedFace((100.0, 80.0, size, size), "happy")])


def _true_boxes(frames, scene_, first_found: int):
    """A detector that sees the scene's face where it drifted to, from frame `first_found`."""
    x, y, size, _ = scene_.faces[0].box
    return [[(x + STREAM_DRIFT_PX[0] * step, y + STREAM_DRIFT_PX[1] * step, size, size)]
            if step >= first_found else [] for step in range(len(frames))]


def test_a_streamed_scene_starts_empty_and_drifts_frame_by_frame():
    frame = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    frames = streamed(frame)
    assert len(frames) == STREAM_FRAMES + 1
    assert not frames[0].any()
    dx, dy = (int(v * 2) for v in STREAM_DRIFT_PX)  # two steps: whole pixels
    assert np.array_equal(frames[2][dy + 1:, dx + 1:], frame[1:-dy, 1:-dx])


def test_stream_tally_counts_faces_found_within_the_window_and_kept_after():
    scene_ = _scene_with_one_face()
    found_late = evaluate_streams(lambda frames: _true_boxes(frames, scene_, 13), [scene_], [],
                                  within=10)
    faces, found, later, kept = found_late.per_bin[(48, 64)]
    assert (faces, found, later, kept) == (1, 0, STREAM_FRAMES - 10, STREAM_FRAMES - 12)
    found_at_once = evaluate_streams(lambda frames: _true_boxes(frames, scene_, 1), [scene_], [],
                                     within=10)
    assert found_at_once.per_bin[(48, 64)] == [1, 1, STREAM_FRAMES - 10, STREAM_FRAMES - 10]


def test_stream_tally_counts_false_faces_per_face_free_frame_and_stream():
    empty = np.zeros((480, 640, 3), np.uint8)
    one_false_face = evaluate_streams(lambda frames: [[(0.0, 0.0, 50.0, 50.0)]] * len(frames),
                                      [], [empty, empty], within=10)
    assert one_false_face.false_positives == 2 * STREAM_FRAMES  # the empty first frame not counted
    assert one_false_face.face_free_frames == 2 * STREAM_FRAMES
    assert one_false_face.face_free_streams_hit == 2
    assert "1.000 (in 2 of 2 streams)" in stream_report(one_false_face)
