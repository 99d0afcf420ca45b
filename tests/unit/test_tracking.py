"""The face tracker on synthetic box sequences: no detector, only boxes and times."""

from __future__ import annotations

from services.detector.tracking import LOST_TRACK_S, MAX_LOST_TRACKS, FaceTracker

FRAME_S = 1 / 30


def box_at(x: float, y: float, size: float = 60.0) -> tuple[float, float, float, float]:
    return (x - size / 2, y - size / 2, size, size)


def run(tracker: FaceTracker, frames: list[list[tuple]]) -> list[list[int]]:
    return [[t.track_id for t in tracker.assign(boxes, index * FRAME_S)]
            for index, boxes in enumerate(frames)]


def test_a_face_moving_steadily_keeps_one_id():
    frames = [[box_at(100 + 12 * i, 200 + 3 * i)] for i in range(60)]  # 360 px/s
    ids = run(FaceTracker(max_missed_frames=30), frames)
    assert {i for row in ids for i in row} == {1}


def test_two_faces_get_distinct_ids_in_any_order():
    tracker = FaceTracker(max_missed_frames=30)
    first = [t.track_id for t in tracker.assign([box_at(100, 100), box_at(400, 100)], 0.0)]
    second = [t.track_id for t in tracker.assign([box_at(402, 101), box_at(101, 99)], FRAME_S)]
    assert first == [1, 2] and second == [2, 1]


def test_crossing_paths_keep_their_ids_when_one_face_hides_the_other():
    """Two faces walk towards each other on one line; while they overlap the detector sees
    only the front one. After they part, each keeps the id it had."""
    frames = []
    for i in range(61):
        left, right = 100 + 8 * i, 580 - 8 * i  # they meet at i = 30
        if abs(left - right) < 50:  # the front face covers the other
            frames.append([box_at(right, 240)])
        else:
            frames.append([box_at(left, 240), box_at(right, 240)])
    tracker = FaceTracker(max_missed_frames=30)
    ids = run(tracker, frames)
    assert ids[0] == [1, 2]
    assert ids[-1] == [1, 2], ids  # left-to-right walker is still 1
    assert all(row in ([1, 2], [2]) for row in ids)


def test_crossing_diagonally_with_both_faces_visible():
    frames = [[box_at(100 + 10 * i, 100 + 6 * i), box_at(500 - 10 * i, 100 + 6 * i)]
              for i in range(41)]
    ids = run(FaceTracker(max_missed_frames=30), frames)
    assert all(row == [1, 2] for row in ids), ids


def test_a_missed_frame_or_few_keep_the_track_and_it_coasts_along():
    tracker = FaceTracker(max_missed_frames=5)
    frames = [[box_at(100 + 10 * i, 200)] if not 10 <= i < 14 else [] for i in range(30)]
    ids = run(tracker, frames)
    assert {i for row in ids for i in row} == {1}


def test_a_face_back_where_it_was_lost_takes_its_track_back():
    tracker = FaceTracker(max_missed_frames=3)
    frames = [[box_at(200, 200)]] * 5 + [[]] * 40 + [[box_at(215, 205)]] * 3  # 1.3 s away
    ids = run(tracker, frames)
    assert ids[0] == [1] and ids[-1] == [1]
    assert tracker.lost == []


def test_a_face_back_after_the_lost_window_gets_a_new_id():
    tracker = FaceTracker(max_missed_frames=3)
    gone = int(LOST_TRACK_S / FRAME_S) + 10
    frames = [[box_at(200, 200)]] * 5 + [[]] * gone + [[box_at(200, 200)]] * 3
    ids = run(tracker, frames)
    assert ids[0] == [1] and ids[-1] == [2]


def test_a_face_back_elsewhere_is_someone_else():
    tracker = FaceTracker(max_missed_frames=3)
    frames = [[box_at(200, 200)]] * 5 + [[]] * 10 + [[box_at(500, 200)]] * 3
    ids = run(tracker, frames)
    assert ids[-1] == [2]
    assert [t.track_id for t in tracker.lost] == [1]


def test_two_lost_faces_are_taken_back_by_the_faces_at_their_places():
    tracker = FaceTracker(max_missed_frames=3)
    frames = ([[box_at(100, 200), box_at(400, 200)]] * 5 + [[]] * 20
              + [[box_at(405, 200), box_at(95, 200)]] * 3)
    ids = run(tracker, frames)
    assert ids[0] == [1, 2] and ids[-1] == [2, 1]


def test_appear_and_disappear_leave_no_stale_tracks():
    tracker = FaceTracker(max_missed_frames=2)
    run(tracker, [[box_at(100 + 50 * k, 100)] for k in range(10)] + [[]] * 3)
    assert tracker.tracks == []


def test_a_new_face_far_from_every_track_is_a_new_track():
    tracker = FaceTracker(max_missed_frames=30)
    tracker.assign([box_at(100, 100)], 0.0)
    (track,) = tracker.assign([box_at(500, 400)], FRAME_S)
    assert track.track_id == 2


def test_a_much_larger_face_at_the_same_place_is_someone_else():
    tracker = FaceTracker(max_missed_frames=30)
    tracker.assign([box_at(300, 300, 40)], 0.0)
    (track,) = tracker.assign([box_at(300, 300, 120)], FRAME_S)
    assert track.track_id == 2


def test_memory_is_bounded_by_the_faces_of_recent_frames():
    tracker = FaceTracker(max_missed_frames=4)
    for frame in range(200):  # 3 faces at new places every frame: every one a new track
        tracker.assign([box_at(50 + 200 * k, 50 + 3 * frame * 60 % 900) for k in range(3)],
                       frame * FRAME_S)
    assert len(tracker.tracks) <= 3 * 5
    assert len(tracker.lost) <= MAX_LOST_TRACKS
