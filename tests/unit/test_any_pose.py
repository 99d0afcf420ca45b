"""Faces in any pose: CenterFace's decoding, its merge with the frontal scan, head pose."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager

import cv2
import numpy as np
import pytest

from services.faces.any_pose import detector as any_pose_detector
from services.faces.any_pose.combine import calibrated, combine, raw_threshold
from services.faces.any_pose.schedule import AnyPoseSchedule
from services.faces.any_pose.tuning import AnyPoseTuning
from services.faces.detection import DEFAULT_MIN_SCORE, DetectedFace, KnownFace, moved
from services.faces.finder import make_face_finder
from services.faces.geometry import iou
from services.faces.models.centerface import CENTERFACE_STRIDE as STRIDE
from services.faces.models.centerface import CenterFaceModel, decode, six_keypoints
from services.faces.models.cores import CoreUse
from services.faces.pose import HEAD_MODEL, head_pose
from services.faces.settings import FaceFinderSettings
from tests.conftest import PORTRAIT, ROOT

CENTERFACE_MODEL = ROOT / "models/centerface.onnx"
ANY_POSE = AnyPoseTuning()
SUPPORT_FROM_PX = ANY_POSE.support_from_px


def maps_with_one_face(grid=(8, 10), cell=(3, 4), score=0.9, size_hw=(40.0, 32.0),
                       offset_yx=(0.25, -0.5)):
    heatmap = np.zeros((1, 1, *grid), np.float32)
    size = np.zeros((1, 2, *grid), np.float32)
    offset = np.zeros((1, 2, *grid), np.float32)
    landmarks = np.zeros((1, 10, *grid), np.float32)
    y, x = cell
    heatmap[0, 0, y, x] = score
    heatmap[0, 0, 0, 0] = 0.2  # a weak peak, under the threshold below
    size[0, :, y, x] = np.log(np.array(size_hw) / STRIDE)
    offset[0, :, y, x] = offset_yx
    # (y, x) of each landmark relative to the box, in box units
    relative = [(0.4, 0.3), (0.4, 0.7), (0.6, 0.5), (0.8, 0.35), (0.8, 0.65)]
    for index, (ry, rx) in enumerate(relative):
        landmarks[0, 2 * index, y, x], landmarks[0, 2 * index + 1, y, x] = ry, rx
    return heatmap, size, offset, landmarks


def test_decoding_a_known_output():
    scores, boxes, points = decode(*maps_with_one_face(), min_score=0.5)
    assert scores.tolist() == pytest.approx([0.9])
    # centre ((4 - 0.5 + 0.5) * 4, (3 + 0.25 + 0.5) * 4) = (16, 15); 32 wide, 40 high
    np.testing.assert_allclose(boxes[0], [0.0, -5.0, 32.0, 40.0], atol=1e-4)
    np.testing.assert_allclose(points[0, 0], [0.3 * 32, -5 + 0.4 * 40], atol=1e-4)
    np.testing.assert_allclose(points[0, 4], [0.65 * 32, -5 + 0.8 * 40], atol=1e-4)
    assert len(decode(*maps_with_one_face(), min_score=0.1)[0]) == 2


def test_six_keypoints_put_the_mouth_between_its_corners():
    landmarks = np.array([[10, 20], [30, 20], [20, 30], [12, 40], [28, 40]], np.float32)
    points = six_keypoints(landmarks, (0.0, 0.0, 40.0, 50.0))
    np.testing.assert_allclose(points[3], [20, 40])
    np.testing.assert_allclose(points[4:], [[0, 20], [40, 20]])


def test_the_calibration_maps_centerfaces_threshold_onto_the_default_min_score():
    assert calibrated(0.5) == pytest.approx(DEFAULT_MIN_SCORE)
    assert calibrated(1.0) == pytest.approx(1.0)
    assert raw_threshold(DEFAULT_MIN_SCORE) == pytest.approx(0.5)
    assert calibrated(raw_threshold(0.8)) == pytest.approx(0.8)


def face(x, y, side, score, height=None):
    return DetectedFace((float(x), float(y), float(side), float(height or side)), score,
                        np.zeros((6, 2), np.float32))


def test_one_face_seen_by_both_is_one_face_with_the_frontal_box():
    frontal = [face(100, 100, 60, 0.9)]
    centerface = [face(98, 90, 62, 0.8, height=80)]
    merged = combine(frontal, centerface, DEFAULT_MIN_SCORE)
    assert len(merged) == 1
    assert merged[0].box == frontal[0].box
    assert merged[0].score == pytest.approx(0.9)


def test_neighbours_stay_two_and_centerface_adds_the_turned_face():
    frontal = [face(100, 100, 60, 0.9)]
    centerface = [face(98, 92, 60, 0.8, height=76), face(165, 95, 60, 0.7, height=76)]
    merged = combine(frontal, centerface, DEFAULT_MIN_SCORE)
    assert len(merged) == 2
    assert merged[1].box == centerface[1].box
    assert merged[1].score == pytest.approx(calibrated(0.7))


def test_a_large_frontal_face_centerface_does_not_support_is_dropped():
    large, small = face(100, 100, SUPPORT_FROM_PX + 10, 0.8), face(400, 100, 40, 0.8)
    merged = combine([large, small], [face(400, 95, 40, 0.1, height=50)], DEFAULT_MIN_SCORE)
    assert [f.box for f in merged] == [small.box]
    supported = combine([large], [face(100, 100, SUPPORT_FROM_PX, 0.35)], DEFAULT_MIN_SCORE)
    assert len(supported) == 1


def test_centerface_faces_below_the_threshold_are_not_added():
    assert combine([], [face(10, 10, 50, 0.45)], DEFAULT_MIN_SCORE) == []


@pytest.fixture(scope="module")
def portrait():
    return cv2.imread(str(PORTRAIT))


def test_centerface_finds_the_astronaut_in_the_picture(portrait):
    model = CenterFaceModel(CENTERFACE_MODEL)
    faces = model.detect_scaled(portrait, 0.5, 0.5, 0.3)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    # The astronaut's face is around (180-300, 60-200) in the 512x512 picture.
    assert 150 < x + w / 2 < 300 and 80 < y + h / 2 < 200


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


@pytest.fixture(scope="module")
def finder():
    return make_face_finder(FaceFinderSettings(backend="frontal"))


def pose_of(finder, image):
    faces = finder.detect(image, DEFAULT_MIN_SCORE)
    assert len(faces) == 1
    return head_pose(faces[0].keypoints, (image.shape[1], image.shape[0]))


@pytest.mark.parametrize("degrees", [-30, -15, 15, 30])
def test_roll_follows_the_picture_rotated_in_its_plane(finder, portrait, degrees):
    upright = pose_of(finder, portrait).roll
    # OpenCV turns a positive angle counter-clockwise; roll counts clockwise.
    assert pose_of(finder, rotated(portrait, degrees)).roll == pytest.approx(
        upright - degrees, abs=5.0)


def test_yaw_changes_sign_in_the_mirror_image(finder, portrait):
    yaw = pose_of(finder, portrait).yaw
    mirrored = pose_of(finder, portrait[:, ::-1].copy()).yaw
    assert yaw * mirrored < 0


@pytest.mark.parametrize("yaw", [-70, -40, 20, 55])
def test_a_projected_head_turned_by_a_known_yaw_is_read_back(yaw):
    width, height = 640, 480
    turn = np.radians(-yaw)  # the model turns the other way round its own y axis
    rotation = np.array([[np.cos(turn), 0, np.sin(turn)], [0, 1, 0],
                         [-np.sin(turn), 0, np.cos(turn)]])
    points3d = HEAD_MODEL @ rotation.T + np.array([0, 0, 600.0])
    focal = max(width, height)
    points = np.stack([focal * points3d[:, 0] / points3d[:, 2] + width / 2,
                       focal * points3d[:, 1] / points3d[:, 2] + height / 2], axis=1)
    keypoints = np.vstack([points, np.zeros((2, 2))]).astype(np.float32)
    pose = head_pose(keypoints, (width, height))
    assert pose.yaw == pytest.approx(yaw, abs=3.0)
    assert abs(pose.pitch) < 3.0 and abs(pose.roll) < 3.0


def test_a_1080p_stream_looks_through_tiles_and_finds_a_small_face_where_it_is(portrait):
    finder = make_face_finder(FaceFinderSettings(backend="auto"))
    schedule = AnyPoseSchedule(stream_scan_frames=10, stream_pixels=finder.stream_pixels,
                               tuning=ANY_POSE)
    assert schedule.tiles_for(640, 480) == []  # the whole-frame pass already sees it at 0.5
    tiles = schedule.tiles_for(1920, 1080)
    covered = np.zeros((1080, 1920), bool)
    for x, y, w, h in tiles:
        covered[y:y + h, x:x + w] = True
    assert covered.all() and len(tiles) == 2
    # The astronaut's face at ~55 px: under CenterFace's smallest in the whole-frame pass
    # (~10 px at 320x240), ~27 px in a tile at ANY_POSE.tile_scale.
    frame = np.full((1080, 1920, 3), 90, np.uint8)
    small = cv2.resize(portrait, (200, 200), interpolation=cv2.INTER_AREA)
    frame[700:900, 1500:1700] = small
    whole = finder.discovery_pass(frame, DEFAULT_MIN_SCORE)
    assert not [f for f in whole if f.score >= 0.5]
    tile = next(t for t in tiles if t[0] <= 1550 and t[0] + t[2] >= 1650 and t[1] <= 740
                and t[1] + t[3] >= 860)
    faces = [f for f in finder.tile_pass(frame, tile, DEFAULT_MIN_SCORE) if f.score >= 0.5]
    assert len(faces) == 1 and ANY_POSE.tile_scale == 0.5
    x, y, w, h = faces[0].box
    assert 1500 < x + w / 2 < 1700 and 700 < y + h / 2 < 900


def _known(missed=0, unconfirmed=None, x=0.0):
    return KnownFace(DetectedFace((x, 0.0, 40.0, 40.0), 0.8), missed, unconfirmed)


def test_a_stream_over_the_frontal_scan_budget_gives_the_frontal_scan_no_share():
    """A frame over stream_scan_pixels (which has tiles) leaves the frontal pyramid out of
    every frame after its first; one within it keeps its share but on discovery frames."""
    schedule = AnyPoseSchedule(stream_scan_frames=10, stream_pixels=320 * 240, tuning=ANY_POSE,
                               stream_scan_pixels=1280 * 720)
    plans = [schedule.plan(1920, 1080) for _ in range(21)]
    assert not any(plan.frontal_scan for plan in plans[1:])
    assert [i for i, plan in enumerate(plans) if plan.tile] == [3, 6, 9, 12, 15, 18]
    plans = [schedule.plan(1280, 720) for _ in range(21)]
    assert [i for i, plan in enumerate(plans[1:], 1) if not plan.frontal_scan] == [10, 20]


def test_the_stream_schedule_plans_discovery_and_tiles_in_turn():
    schedule = AnyPoseSchedule(stream_scan_frames=4, stream_pixels=320 * 240, tuning=ANY_POSE)
    plans = [schedule.plan(1920, 1080) for _ in range(13)]
    assert plans[0].first and not any(plan.first for plan in plans[1:])
    assert [i for i, plan in enumerate(plans) if plan.discovery] == [0, 4, 8, 12]
    tiles = [(i, plan.tile) for i, plan in enumerate(plans) if plan.tile is not None]
    assert [i for i, _ in tiles] == [3, 6, 9, 12]  # one every tile_period frames
    assert tiles[0][1] != tiles[1][1] and tiles[0][1] == tiles[2][1]  # the two, in turn
    assert schedule.plan(640, 480).first  # a new size starts over


def test_a_stream_without_tiles_runs_its_discovery_pass_in_parts_that_cover_every_face_size():
    """640x480 (no tiles): two bands across its width, overlapping by
    discovery_band_overlap_px of the downscaled frame, and the whole frame at half the
    scale for faces too large to lie whole in a band; one part a frame, on the last three
    frames of each period, so the first period's all come within stream_scan_frames of the
    first frame. A 1280x720 stream, whose tiles make frames costlier already, keeps its
    pass whole."""
    schedule = AnyPoseSchedule(stream_scan_frames=10, stream_pixels=320 * 240, tuning=ANY_POSE)
    plans = [schedule.plan(640, 480) for _ in range(21)]
    whole = schedule.whole_pass(640, 480)
    assert plans[0].first and plans[0].discovery == whole and whole.region == (0, 0, 640, 480)
    parts = {i: plan.discovery for i, plan in enumerate(plans[1:], 1) if plan.discovery}
    assert sorted(parts) == [8, 9, 10, 18, 19, 20]
    assert all(not plans[i].frontal_scan for i in parts) and schedule.frontal_scan_frames == 7
    assert [parts[i] for i in (8, 9, 10)] == [parts[i] for i in (18, 19, 20)]
    coarse, *bands = (parts[i] for i in (8, 9, 10))
    assert coarse.region == whole.region and coarse.scale == whole.scale / 2
    assert len(bands) == ANY_POSE.discovery_bands and all(b.scale == whole.scale for b in bands)
    covered = np.zeros((480, 640), int)
    for x, y, w, h in (band.region for band in bands):
        covered[y:y + h, x:x + w] += 1
    assert covered.min() == 1
    # A face up to the overlap less a band's margin on each side lies whole, clear of the
    # border, in one band; the coarse part keeps the faces from a smaller size up.
    overlap_px = int((covered == 2).any(axis=0).sum())
    assert overlap_px >= ANY_POSE.discovery_band_overlap_px / whole.scale
    assert coarse.min_face_px < overlap_px - 2 * bands[0].border_margin_px
    assert not any(plan.discovery for plan in plans if plan.frontal_scan and not plan.first)

    plans = [schedule.plan(1280, 720) for _ in range(21)]
    assert [i for i, plan in enumerate(plans) if plan.discovery] == [0, 10, 20]
    assert [i for i, plan in enumerate(plans) if not plan.frontal_scan] == [10, 20]
    assert plans[10].discovery == schedule.whole_pass(1280, 720)
    assert schedule.frontal_scan_frames == 9
    # A frame too small for two bands of that overlap keeps its pass whole too.
    assert schedule.discovery_parts(96, 72) == [schedule.whole_pass(96, 72)]


_FACE_CROPS = {"portrait": (0, 512, 0, 512), "head": (40, 280, 105, 345),
               "close-up": (60, 240, 135, 315)}


@pytest.mark.parametrize(("crop", "side", "centre_x", "found_by"), [
    ("portrait", 240, 320, {1, 2}),  # a 42 px face whole in both bands
    ("portrait", 480, 384, {0, 2}),  # 85 px: the second band's, and the coarse part's
    ("head", 360, 320, {0}),  # 134 px across both bands' inner borders
    ("close-up", 240, 320, {0}),  # 116 px, in the first band but at its border
    ("close-up", 480, 256, {0}),  # 236 px
])
def test_the_parts_of_a_discovery_pass_find_a_face_whole_wherever_it_lies(
        portrait, crop, side, centre_x, found_by):
    """A face the whole pass finds is found by a part that sees it whole: by the bands when
    it lies whole in one, clear of its inner border, and by the coarse pass when larger
    than half the overlap. A band that sees only part of a face (and would box that part)
    leaves it."""
    finder = make_face_finder(FaceFinderSettings(backend="auto"))
    schedule = AnyPoseSchedule(stream_scan_frames=10, stream_pixels=finder.stream_pixels,
                               tuning=ANY_POSE)
    top, bottom, left, right = _FACE_CROPS[crop]
    frame = np.full((480, 640, 3), 90, np.uint8)
    x0, y0 = min(640 - side, centre_x - side // 2), (480 - side) // 2
    frame[y0:y0 + side, x0:x0 + side] = cv2.resize(portrait[top:bottom, left:right],
                                                   (side, side))

    def faces(part):
        found = finder.discovery_in_background(frame, part, DEFAULT_MIN_SCORE).result()
        return combine([], found, DEFAULT_MIN_SCORE, ANY_POSE)

    (whole,) = faces(schedule.whole_pass(640, 480))
    per_part = [faces(part) for part in schedule.discovery_parts(640, 480)]
    assert {i for i, found in enumerate(per_part) if found} == found_by
    for found in per_part:
        assert all(iou(np.array(face.box), np.array([whole.box]))[0] > 0.75 for face in found)


def test_faces_only_centerface_keeps_are_checked_every_frame_until_a_crowd():
    schedule = AnyPoseSchedule(stream_scan_frames=10, stream_pixels=320 * 240, tuning=ANY_POSE)
    few = [_known(unconfirmed=1, x=100.0 * i) for i in range(ANY_POSE.checks_per_frame)]
    assert schedule.checks_due(few) == [True] * len(few)
    # In a crowd a face confirmed lately keeps its last box until recheck_frames; one the
    # frontal scan reported (never confirmed by CenterFace) or one already missed is due.
    crowd = [_known(unconfirmed=1, x=100.0 * i) for i in range(ANY_POSE.checks_per_frame)]
    crowd += [_known(unconfirmed=ANY_POSE.recheck_frames), _known(), _known(missed=1,
                                                                         unconfirmed=1)]
    assert schedule.checks_due(crowd) == [False] * ANY_POSE.checks_per_frame + [True] * 3


def _a_stream_that_saw_the_astronaut(portrait):
    """(finder, a 640x480 frame with the astronaut's face, that face as CenterFace finds it,
    a stream that has seen the frame)."""
    finder = make_face_finder(FaceFinderSettings(backend="auto"))
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[140:340, 220:420] = cv2.resize(portrait, (200, 200), interpolation=cv2.INTER_AREA)
    (seen,) = [f for f in finder.discovery_pass(frame, DEFAULT_MIN_SCORE) if f.score >= 0.5]
    stream = finder.new_stream()
    stream.detect(frame, DEFAULT_MIN_SCORE)
    return finder, frame, seen, stream


def test_a_lost_face_is_followed_where_centerface_sees_it_and_a_crowd_keeps_its_boxes(portrait):
    finder, frame, seen, stream = _a_stream_that_saw_the_astronaut(portrait)
    # The follow path: CenterFace finds the lost face in its neighbourhood and confirms it
    # now; on a frame without it the face is missed, and still looked for.
    followed, missed = stream._follow(frame, [KnownFace(seen)], 0.5, {})
    assert not missed and followed[0].unconfirmed_frames == 1
    x, y, w, h = followed[0].box
    assert 220 < x + w / 2 < 420 and 140 < y + h / 2 < 340
    blank = np.full_like(frame, 90)
    followed, missed = stream._follow(blank, [KnownFace(seen)], 0.5, {})
    assert not followed and missed[0].missed == 1
    # The crowd recheck: more lost faces than checks_per_frame, all confirmed lately, keep
    # their last boxes without one CenterFace call, one frame older each.
    crowd = [KnownFace(DetectedFace((60.0 * i, 10.0, 40.0, 40.0), 0.8), 0, 1)
             for i in range(ANY_POSE.checks_per_frame + 1)]
    calls = []
    look_around = finder.look_around
    finder.look_around = lambda *args: calls.append(args) or look_around(*args)
    try:
        followed, missed = stream._follow(blank, crowd, 0.5, {})
    finally:
        finder.look_around = look_around
    assert not calls and not missed
    assert [k.box for k in followed] == [k.box for k in crowd]
    assert {k.unconfirmed_frames for k in followed} == {2}


def test_a_crowds_boxes_move_on_between_checks_as_their_faces_moved_between_the_last_two(
        portrait):
    """A face CenterFace keeps and a crowd spaces out is moved on frames without a check by
    what it moved a frame between its last two checks; its check looks where it was last
    confirmed, and a face the check misses waits there."""
    _, frame, seen, stream = _a_stream_that_saw_the_astronaut(portrait)
    step = (2.0, -1.0)
    crowd = [KnownFace(DetectedFace((60.0 * i, 100.0, 40.0, 40.0), 0.8,
                                    np.full((6, 2), 60.0 * i + 20, np.float32)), 0, 1, step)
             for i in range(ANY_POSE.checks_per_frame + 1)]
    followed, missed = stream._follow(frame, crowd, 0.5, {})
    assert not missed and {k.unconfirmed_frames for k in followed} == {2}
    for before, after in zip(crowd, followed, strict=True):
        assert after.box == (before.box[0] + 2.0, 99.0, 40.0, 40.0) and after.motion == step
        assert np.allclose(after.face.keypoints, before.face.keypoints + np.float32(step))
        assert after.checked_box == before.box
    # Confirmed three frames ago at 3 steps short of where the face is; moved one step a
    # frame since (twice), its check due now: the face found, its motion measured anew.
    last_checked = moved(seen, -3 * step[0], -3 * step[1])
    known = KnownFace(moved(last_checked, 2 * step[0], 2 * step[1]), 0, 3, step)
    assert known.checked_box == pytest.approx(last_checked.box)
    (found,), missed = stream._follow(frame, [known], 0.5, {})
    assert not missed and found.unconfirmed_frames == 1
    assert found.box == pytest.approx(seen.box, abs=5.0)
    assert found.motion == pytest.approx(step, abs=1.0)
    followed, (waiting,) = stream._follow(np.full_like(frame, 90), [known], 0.5, {})
    assert not followed and waiting.missed == 1
    assert waiting.box == pytest.approx(last_checked.box)


@pytest.mark.parametrize("lag", [0, 2])
def test_a_turned_face_coming_into_view_is_discovered_within_the_scan_and_the_lag(portrait, lag):
    """A face only CenterFace finds (turned too far for the frontal scan) walks into an
    empty 640x480 stream: the discovery pass finds it within stream_scan_frames frames,
    plus the lag when the pass runs beside the frames; the same answer on every run."""
    settings = FaceFinderSettings(backend="auto", stream_scan_frames=5,
                                  stream_discovery_lag_frames=lag)
    finder = make_face_finder(settings)
    turned = cv2.resize(cv2.imread(str(ROOT / "samples/camera.png")), (200, 200))
    empty = np.full((480, 640, 3), 90, np.uint8)

    def frames():
        for index in range(30):
            frame = empty.copy()
            if index >= 3:  # it comes into view on frame 3, drifting right
                x = 150 + 2 * index
                frame[140:340, x:x + 200] = turned
            yield frame

    runs = []
    for _ in range(2):
        stream = finder.new_stream()
        runs.append([len(stream.detect(frame, DEFAULT_MIN_SCORE)) for frame in frames()])
    assert runs[0] == runs[1]  # deterministic, however fast the passes run
    first_seen = runs[0].index(1)
    assert 3 <= first_seen <= 3 + settings.stream_scan_frames + lag
    assert runs[0][first_seen:] == [1] * (30 - first_seen)
    print(f"lag {lag}: found on frame {first_seen}")


class InlineExecutor(Executor):
    """Runs each piece of work when it is submitted: the order of a single thread."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        done: Future = Future()
        done.set_result(fn(*args, **kwargs))
        return done


def _turned_face_walking_in(count: int = 24):
    """A portrait in view from the start and a turned face (CenterFace's alone) walking in."""
    portrait = cv2.resize(cv2.imread(str(PORTRAIT)), (120, 120))
    turned = cv2.resize(cv2.imread(str(ROOT / "samples/camera.png")), (160, 160))
    for index in range(count):
        frame = np.full((480, 640, 3), 90, np.uint8)
        frame[60:180, 40 + index:160 + index] = portrait
        if index >= 4:
            frame[260:420, 300 + 3 * index:460 + 3 * index] = turned
        yield frame


def test_centerface_work_beside_the_frontal_scan_finds_what_it_finds_after_it():
    """The passes and checks started beside the frontal scan, on other threads, give the
    faces of the same work done in order on one thread."""
    settings = FaceFinderSettings(backend="auto", stream_scan_frames=5)
    runs = []
    for executor in (None, InlineExecutor()):
        finder = make_face_finder(settings)
        if executor is not None:
            finder._background = executor
        stream = finder.new_stream()
        runs.append([[face.box for face in stream.detect(frame, DEFAULT_MIN_SCORE)]
                     for frame in _turned_face_walking_in()])
    assert runs[0] == runs[1]
    assert max(len(boxes) for boxes in runs[0]) == 2  # both faces were followed


@contextmanager
def _frontal_jobs(finder) -> Iterator[list]:
    """The frontal scan's jobs the finder runs meanwhile, in order."""
    jobs = []
    run_job = finder.frontal.run_job
    finder.frontal.run_job = lambda rgb, job, *rest: jobs.append(job) or run_job(rgb, job, *rest)
    try:
        yield jobs
    finally:
        finder.frontal.run_job = run_job


def test_a_frame_with_a_part_of_the_discovery_pass_leaves_the_frontal_scan_share_to_the_others(
        monkeypatch):
    """No frame runs both a part of the discovery pass and a share of the frontal pyramid
    (only the whole frame's coarsest level, which every frame runs); the other frames of
    each stream_scan_frames still visit the whole pyramid. A 640x480 stream over 5 frames
    runs its three parts on the last three frames of each period."""
    finder = make_face_finder(FaceFinderSettings(backend="auto", stream_scan_frames=5))
    parts = []
    start = finder.discovery_in_background
    monkeypatch.setattr(finder, "discovery_in_background",
                        lambda bgr, part, *rest: parts.append(part) or start(bgr, part, *rest))
    stream = finder.new_stream()
    per_frame, parts_per_frame = [], []
    with _frontal_jobs(finder) as jobs:
        for frame in _turned_face_walking_in(12):
            jobs.clear()
            parts.clear()
            stream.detect(frame, DEFAULT_MIN_SCORE)
            per_frame.append(list(jobs))
            parts_per_frame.append(list(parts))
    discovery_frames = [i for i in range(1, 12) if parts_per_frame[i]]
    assert discovery_frames == [3, 4, 5, 8, 9, 10]
    assert [len(parts_per_frame[i]) for i in discovery_frames] == [1] * 6
    assert parts_per_frame[3:6] == parts_per_frame[8:11]  # the same three, in turn
    for i in discovery_frames:
        assert per_frame[i] and all(job.coarsest for job in per_frame[i])
    assert all(any(not job.coarsest for job in per_frame[i])
               for i in range(1, 12) if i not in discovery_frames)

    def visited(frames):
        return {(job.scale, job.region) for i in frames for job in per_frame[i]}

    # Frames 1-2 visit every job of the pyramid, as frames 6-7 do again.
    assert visited([1, 2]) == visited([6, 7])
    assert len(visited([1, 2])) > len(visited([1]))


def test_a_1080p_stream_leaves_new_faces_to_the_tiles_and_runs_only_the_coarsest_frontal_level(
        portrait):
    """A stream frame over stream_scan_pixels gets no share of the frontal pyramid but its
    coarsest level: its pyramid would be no finer than the tiles' scale, and the tiles find
    those faces in any pose, small ones (under the frontal scan's ~48 px there) included. A
    720p stream, within the budget, keeps its pyramid from the finest level."""
    settings = FaceFinderSettings(backend="auto")
    finder = make_face_finder(settings)
    assert 1280 * 720 <= settings.stream_scan_pixels < 1920 * 1080
    with _frontal_jobs(finder) as jobs:
        stream = finder.new_stream()
        for _ in range(3):
            stream.detect(np.full((720, 1280, 3), 90, np.uint8), DEFAULT_MIN_SCORE)
    assert max(job.scale for job in jobs) == 1.0
    stream = finder.new_stream()
    frame = np.full((1080, 1920, 3), 90, np.uint8)
    with _frontal_jobs(finder) as jobs:
        stream.detect(frame, DEFAULT_MIN_SCORE)  # the first frame: the full scan, no face
        # The astronaut's face at ~25-31 px (one tile) and at ~80 px (the other tile).
        frame[600:750, 1200:1350] = cv2.resize(portrait, (150, 150), interpolation=cv2.INTER_AREA)
        frame[300:700, 200:600] = cv2.resize(portrait, (400, 400), interpolation=cv2.INTER_AREA)
        found = [stream.detect(frame, DEFAULT_MIN_SCORE) for _ in range(12)]
    assert jobs and all(job.coarsest for job in jobs)
    frames_per_tile_round = ANY_POSE.tile_period * 2  # two tiles cover a 1080p frame
    assert all(len(faces) == 2 for faces in found[frames_per_tile_round:])
    small, large = sorted(found[-1], key=lambda face: face.box[2])
    x, y, w, h = small.box
    assert 1200 < x + w / 2 < 1350 and 600 < y + h / 2 < 750 and max(w, h) < 36
    x, y, w, h = large.box
    assert 200 < x + w / 2 < 600 and 300 < y + h / 2 < 700 and 60 < max(w, h) < 130


def test_the_discovery_pass_takes_both_cores_while_idle_and_one_beside_another_call(
        monkeypatch, portrait):
    """One stream's discovery frame waits for the pass alone, so it runs on the image
    model's two threads while both cores are idle; beside another call it runs on the
    stream model's one. Its faces are the same either way."""
    cores = CoreUse(2)
    monkeypatch.setattr(any_pose_detector, "CORES", cores)
    finder = make_face_finder(FaceFinderSettings(backend="auto", detector_threads=2))
    ran = []
    for model in (finder.centerface, finder.stream_centerface):
        def detect_resized(*args, model=model, run=model.detect_resized, **kwargs):
            ran.append((model.threads, cores.busy))
            return run(*args, **kwargs)
        monkeypatch.setattr(model, "detect_resized", detect_resized)
    whole = AnyPoseSchedule(stream_scan_frames=10, stream_pixels=finder.stream_pixels,
                            tuning=ANY_POSE).whole_pass(portrait.shape[1], portrait.shape[0])
    idle = finder.discovery_in_background(portrait, whole, DEFAULT_MIN_SCORE).result()
    with cores.holding(1):
        beside = finder.discovery_in_background(portrait, whole, DEFAULT_MIN_SCORE).result()
    assert ran == [(2, 2), (1, 2)]  # (the model's threads, the cores held meanwhile)
    assert idle and [face.box for face in idle] == [face.box for face in beside]
    assert cores.busy == 0
