"""Alignment geometry: keypoints land on the FER2013 template; rotation is undone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from services.faces.alignment import (
    CROP_SIZE,
    TEMPLATE,
    align_face,
    crop_box,
    similarity_to_template,
)
from services.faces.models.blazeface import BlazeFaceModel
from services.faces.whole_frame import WholeFrameDetector
from tests.conftest import FACE_MODEL


def similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    angle = np.radians(angle_deg)
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([rotation, np.array(shift)[:, None]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


@pytest.mark.parametrize("angle,scale,shift", [(0, 4.0, (100, 50)), (30, 2.5, (300, 10)),
                                               (-45, 7.0, (20, 400)), (170, 1.0, (60, 60))])
def test_keypoints_of_a_transformed_template_map_back_exactly(angle, scale, shift):
    face_points = apply(similarity(angle, scale, shift), TEMPLATE)
    matrix = similarity_to_template(face_points)
    np.testing.assert_allclose(apply(matrix, face_points), TEMPLATE, atol=0.05)
    assert np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])) == pytest.approx(-angle, abs=0.1)


def test_noisy_keypoints_get_a_least_squares_fit():
    rng = np.random.default_rng(7)
    face_points = apply(similarity(10, 3.0, (50, 80)), TEMPLATE) + rng.normal(0, 2, (4, 2))
    matrix = similarity_to_template(face_points)
    residual = np.linalg.norm(apply(matrix, face_points) - TEMPLATE, axis=1)
    assert residual.max() < 2.0  # every point used, none treated as an outlier


def test_eyes_land_on_the_template_in_the_pixels(portrait):
    """Mark the eyes in the image itself, align, and find the marks in the crop."""
    detector = WholeFrameDetector(BlazeFaceModel(FACE_MODEL), nms_iou=0.3)
    face = detector.detect(portrait, 0.5)[0]
    gray = np.full(portrait.shape[:2], 128, np.uint8)
    for x, y in face.keypoints[:2]:
        cv2.circle(gray, (int(round(x)), int(round(y))), 6, 255, -1)
    crop = align_face(gray, face.keypoints)
    assert crop.shape == (CROP_SIZE, CROP_SIZE) and crop.dtype == np.uint8
    for template_point in TEMPLATE[:2]:
        x, y = np.round(template_point).astype(int)
        assert crop[y, x] > 200, f"no eye mark at template point {template_point}"


def _blurred(image: np.ndarray) -> np.ndarray:
    """Compare shapes, not single pixels: a one-pixel shift should not count."""
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.5).ravel()


def _eye_angle(keypoints: np.ndarray) -> float:
    (x0, y0), (x1, y1) = keypoints[:2]
    return float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))


@pytest.mark.parametrize("roll", [-35, 25])
def test_a_rotated_face_comes_out_upright(portrait, roll):
    detector = WholeFrameDetector(BlazeFaceModel(FACE_MODEL), nms_iou=0.3)
    upright = detector.detect(portrait, 0.5)[0]
    upright_crop = align_face(cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY), upright.keypoints)

    rotation = cv2.getRotationMatrix2D((226, 128), roll, 1.0)
    rotated_bgr = cv2.warpAffine(portrait, rotation, (512, 512), borderValue=(90, 90, 90))
    rotated = cv2.cvtColor(rotated_bgr, cv2.COLOR_BGR2GRAY)
    faces = detector.detect(rotated_bgr, 0.5)
    assert len(faces) == 1
    # The detector sees the roll (OpenCV's positive angle turns the eye line by -angle) ...
    assert abs(_eye_angle(faces[0].keypoints) - _eye_angle(upright.keypoints) + roll) < 12
    # ... and alignment takes it out: the crop matches the upright face far better than the
    # same framing with the rotation left in.
    aligned = align_face(rotated, faces[0].keypoints)
    not_derotated = align_face(rotated, upright.keypoints)
    aligned_match = np.corrcoef(_blurred(aligned), _blurred(upright_crop))[0, 1]
    rotated_match = np.corrcoef(_blurred(not_derotated), _blurred(upright_crop))[0, 1]
    assert aligned_match > 0.65
    assert aligned_match > rotated_match + 0.3


def test_large_faces_are_area_averaged_not_aliased():
    """A fine checkerboard face shrunk 8x must come out mid-gray, not a moire pattern."""
    board = (np.indices((960, 960)).sum(axis=0) % 2 * 255).astype(np.uint8)
    face_points = apply(similarity(0, 8.0, (50, 50)), TEMPLATE)
    crop = align_face(board, face_points)
    assert abs(float(crop.mean()) - 127.5) < 10
    assert float(crop.std()) < 20


def test_a_small_face_is_enlarged_bicubically(portrait):
    """A picture seen at half the crop's scale comes back closer to the picture at full
    scale than bilinear enlarging brings it (detail that bilinear smooths away)."""
    full = cv2.resize(cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY), (96, 96),
                      interpolation=cv2.INTER_AREA)
    half = cv2.resize(full, (48, 48), interpolation=cv2.INTER_AREA)
    truth = full[24:72, 24:72].astype(np.float32)  # the crop at full scale
    # Half pixel x covers full pixels 2x and 2x + 1: crop u = 2x + 0.5 - 24.
    points = (TEMPLATE + 23.5) / 2
    crop = align_face(half, points).astype(np.float32)
    bilinear = cv2.warpAffine(half, similarity_to_template(points), (CROP_SIZE, CROP_SIZE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    error = float(np.abs(crop - truth).mean())
    assert error < float(np.abs(bilinear - truth).mean()) - 1.0  # 11.8 against 13.7
    shifted = full[24:72, 26:74].astype(np.float32)
    assert error < float(np.abs(crop - shifted).mean()) - 5  # in place, not merely sharp


def test_box_crop_is_square_and_centred():
    gray = np.zeros((200, 300), np.uint8)
    gray[50:150, 100:200] = 255  # a bright 100x100 square
    crop = crop_box(gray, (100, 50, 100, 100))
    assert crop.shape == (CROP_SIZE, CROP_SIZE)
    assert crop[2:-2, 2:-2].min() > 200
    wide = crop_box(gray, (75, 50, 150, 100))  # 150 wide: square side 150, square stays centred
    assert wide[24, 24] > 200 and wide[24, 2] < 50 and wide[24, 45] < 50
