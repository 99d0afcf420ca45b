"""Anchor layouts, decoding, merging, and the real BlazeFace models through LiteRT."""

from __future__ import annotations

import numpy as np
import pytest

from services.faces.geometry import weighted_nms
from services.faces.models.blazeface import (
    ANCHOR_LAYOUTS,
    BlazeFaceModel,
    SmallFaceScore,
    decode,
    make_anchors,
    read_model_file,
)
from services.faces.whole_frame import WholeFrameDetector
from tests.conftest import FACE_MODEL, FULL_RANGE_MODEL

# The astronaut's eyes in the 512x512 portrait, measured once by eye (pixels).
PORTRAIT_RIGHT_EYE = (207, 101)
PORTRAIT_LEFT_EYE = (251, 109)
SHORT_RANGE = ANCHOR_LAYOUTS[(128, 896)]


def test_anchor_layout_matches_the_short_range_model():
    anchors = make_anchors(128, 128, SHORT_RANGE)
    assert anchors.shape == (896, 2)
    # Stride 8: a 16x16 grid, 2 anchors per cell, row-major, centres in input pixels.
    np.testing.assert_allclose(anchors[0], anchors[1])
    np.testing.assert_allclose(anchors[0], [4, 4])
    np.testing.assert_allclose(anchors[2], [12, 4])
    np.testing.assert_allclose(anchors[32], [4, 12])
    # Stride 16: an 8x8 grid, 6 anchors per cell, starting at 512.
    np.testing.assert_allclose(anchors[512:518], np.tile([8, 8], (6, 1)))
    np.testing.assert_allclose(anchors[-1], [120, 120])


def test_anchor_layout_of_a_resized_input_follows_its_shape():
    anchors = make_anchors(256, 384, SHORT_RANGE)
    assert anchors.shape == (32 * 48 * 2 + 16 * 24 * 6, 2)
    np.testing.assert_allclose(anchors[2 * 47], [380, 4])  # last cell of the first row
    np.testing.assert_allclose(anchors[-1], [376, 248])


def test_full_range_layout_is_read_from_the_file():
    model = read_model_file(FULL_RANGE_MODEL)
    assert (model.input_size, model.layout, model.resizable) == (192, ((4, 1),), False)
    anchors = make_anchors(192, 192, model.layout)
    assert anchors.shape == (2304, 2)  # a 48x48 grid, one anchor per cell
    np.testing.assert_allclose(anchors[:2], [[2, 2], [6, 2]])
    np.testing.assert_allclose(anchors[48], [2, 6])
    short = read_model_file(FACE_MODEL)
    assert (short.input_size, short.layout, short.resizable) == (128, SHORT_RANGE, True)


def test_decode_places_box_and_keypoints_relative_to_the_anchor():
    anchors = make_anchors(128, 128, SHORT_RANGE)
    regressors = np.zeros((1, 896, 16), np.float32)
    logits = np.full((1, 896, 1), -10.0, np.float32)
    index = 600
    logits[0, index, 0] = 3.0
    # centre offset (+12.8, -6.4) px, size 32x64 px, keypoints offset by (k, -k) px
    regressors[0, index, :4] = [12.8, -6.4, 32.0, 64.0]
    regressors[0, index, 4:] = np.array([[k, -k] for k in range(6)], np.float32).reshape(-1)
    scores, boxes, keypoints = decode(regressors, logits, anchors, min_score=0.5)
    assert scores.shape == (1,)
    assert scores[0] == pytest.approx(1 / (1 + np.exp(-3.0)))
    centre = anchors[index] + np.array([12.8, -6.4])
    np.testing.assert_allclose(boxes[0], [centre[0] - 16, centre[1] - 32, 32, 64], atol=1e-4)
    expected = anchors[index] + np.array([[k, -k] for k in range(6)])
    np.testing.assert_allclose(keypoints[0], expected, atol=1e-4)


def test_decode_drops_anchors_below_min_score():
    regressors = np.zeros((1, 896, 16), np.float32)
    logits = np.full((1, 896, 1), 0.0, np.float32)  # every anchor scores exactly 0.5
    anchors = make_anchors(128, 128, SHORT_RANGE)
    assert len(decode(regressors, logits, anchors, 0.51)[0]) == 0
    assert len(decode(regressors, logits, anchors, 0.5)[0]) == 896


def test_weighted_nms_merges_overlapping_anchors_and_keeps_separate_faces():
    scores = np.array([0.9, 0.6, 0.8], np.float32)
    boxes = np.array([[0.10, 0.10, 0.2, 0.2], [0.12, 0.10, 0.2, 0.2], [0.6, 0.6, 0.2, 0.2]])
    keypoints = np.zeros((3, 6, 2))
    keypoints[1] += 0.15
    kept = weighted_nms(scores, boxes, keypoints, iou_threshold=0.3)
    assert [round(score, 2) for score, _, _ in kept] == [0.9, 0.8]
    merged_box = kept[0][1]
    assert merged_box[0] == pytest.approx((0.10 * 0.9 + 0.12 * 0.6) / 1.5)
    assert kept[0][2][0, 0] == pytest.approx(0.15 * 0.6 / 1.5)
    np.testing.assert_allclose(kept[1][1], boxes[2])


def test_weighted_nms_never_averages_a_neighbouring_face_into_a_box():
    """Two faces side by side whose boxes overlap a little (IoU ~0.33): the weaker is
    suppressed, and neither its box nor its keypoints move the kept face."""
    scores = np.array([0.9, 0.85], np.float32)
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.5, 0.0, 1.0, 1.0]])
    keypoints = np.stack([np.full((6, 2), 0.5), np.full((6, 2), 1.0)])
    kept = weighted_nms(scores, boxes, keypoints, iou_threshold=0.3)
    assert len(kept) == 1
    np.testing.assert_allclose(kept[0][1], boxes[0])
    np.testing.assert_allclose(kept[0][2], keypoints[0])


def test_weighted_nms_leaves_a_strong_face_as_it_is_without_the_weak_candidates():
    """Anchors kept below `average_from` (weak ones, kept for small faces) are suppressed
    by a strong face they overlap but not averaged into it; a weak face alone is averaged
    as usual."""
    boxes = np.array([[0.10, 0.10, 0.2, 0.2], [0.12, 0.10, 0.2, 0.2], [0.11, 0.10, 0.2, 0.2],
                      [0.6, 0.6, 0.1, 0.1], [0.61, 0.6, 0.1, 0.1]])
    scores = np.array([0.9, 0.6, 0.35, 0.4, 0.35], np.float32)
    keypoints = np.zeros((5, 6, 2))
    kept = weighted_nms(scores, boxes, keypoints, iou_threshold=0.3, average_from=0.5)
    without_weak = weighted_nms(scores[:2], boxes[:2], keypoints[:2], iou_threshold=0.3)
    assert len(kept) == 2
    np.testing.assert_allclose(kept[0][1], without_weak[0][1])
    assert kept[1][0] == pytest.approx(0.4)
    assert kept[1][1][0] == pytest.approx((0.6 * 0.4 + 0.61 * 0.35) / 0.75)


def test_a_weak_detection_is_kept_only_when_small(detector, portrait):
    """SmallFaceScore: below its score only boxes under its side are kept; the portrait's
    face (a large box) is kept at a weak score only when the side admits it."""
    model = detector._model
    import cv2

    rgb = cv2.resize(cv2.cvtColor(portrait, cv2.COLOR_BGR2RGB), (128, 128))
    face = model.detect_padded(rgb, 0.5, 0.3)[0]
    side = float(max(face[1][2:]))
    above_its_score = SmallFaceScore(face[0] + 0.01, 2 * side)
    assert len(model.detect_padded(rgb, 0.5, 0.3, above_its_score)) == 1
    assert model.detect_padded(rgb, 0.5, 0.3, SmallFaceScore(face[0] + 0.01, side / 2)) == []


@pytest.fixture(scope="module")
def detector():
    return WholeFrameDetector(BlazeFaceModel(FACE_MODEL), nms_iou=0.3)


def test_finds_the_portrait_face_with_its_eyes(detector, portrait):
    faces = detector.detect(portrait, 0.5)
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.8
    np.testing.assert_allclose(face.keypoints[0], PORTRAIT_RIGHT_EYE, atol=6)
    np.testing.assert_allclose(face.keypoints[1], PORTRAIT_LEFT_EYE, atol=6)
    x, y, w, h = face.box
    assert x < PORTRAIT_RIGHT_EYE[0] and x + w > PORTRAIT_LEFT_EYE[0]
    assert y < PORTRAIT_RIGHT_EYE[1] < y + h


@pytest.mark.parametrize("rows,columns", [((0, 320), (0, 512)), ((0, 512), (80, 400))])
def test_coordinates_are_frame_pixels_for_any_aspect_ratio(detector, portrait, rows, columns):
    """Cut a wide and a tall frame out of the portrait: the longer side stays 512, so the
    face keeps its size in the model input and only the letterbox padding changes."""
    reference = detector.detect(portrait, 0.5)[0]
    frame = np.ascontiguousarray(portrait[rows[0]:rows[1], columns[0]:columns[1]])
    faces = detector.detect(frame, 0.5)
    assert len(faces) == 1
    shift = np.array([columns[0], rows[0]], np.float32)
    np.testing.assert_allclose(faces[0].keypoints[:4], reference.keypoints[:4] - shift, atol=4)
    np.testing.assert_allclose(faces[0].box[:2], np.array(reference.box[:2]) - shift, atol=4)


def test_every_face_of_a_group_photo(detector):
    import cv2

    from tests.conftest import GROUP_PHOTO

    faces = detector.detect(cv2.imread(str(GROUP_PHOTO)), 0.5)
    assert len(faces) == 4
    centres = sorted((int((f.box[0] + f.box[2] / 2) // 320), int((f.box[1] + f.box[3] / 2) // 240))
                     for f in faces)
    assert centres == [(0, 0), (0, 1), (1, 0), (1, 1)]  # one face per quadrant


def test_blank_frame_has_no_faces(detector):
    assert detector.detect(np.zeros((480, 640, 3), np.uint8), 0.5) == []


def test_interpreter_pool_serves_many_threads_and_shapes():
    """Many threads, more shapes than idle interpreters kept: every call answers (the soak
    once found an IndexError here when an emptied shape was evicted)."""
    from concurrent.futures import ThreadPoolExecutor

    model = BlazeFaceModel(FACE_MODEL, max_idle=2)
    shapes = [(128, 128), (96, 160), (64, 64), (128, 256)]

    def call(i: int) -> int:
        height, width = shapes[i % len(shapes)]
        model.detect_padded(np.zeros((height, width, 3), np.uint8), 0.5, 0.3)
        return i

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(call, range(200))) == list(range(200))


def test_input_shapes_are_exact_unless_a_shared_square_is_asked_for():
    # A whole frame's coarsest level runs at its own shape (less to compute); the
    # neighbourhood checks, clipped by the frame's edges into many shapes, share the square.
    model = BlazeFaceModel(FACE_MODEL)
    assert model.input_shape_for(96, 128) == (96, 128)
    assert model.input_shape_for(72, 128) == (80, 128)  # sides padded to BLAZEFACE_SIDE_MULTIPLE
    assert model.input_shape_for(72, 128, square=True) == (128, 128)
    assert model.input_shape_for(224, 232, square=True) == (224, 240)  # larger than the square
