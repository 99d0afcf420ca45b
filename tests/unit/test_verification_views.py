"""The views a candidate is verified in: the mirrored one mapped back into the frame, and
the keypoints a verified face gets from all of them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from devkit.scenes import astronaut_face, face_free_pictures, scene
from services.faces.detection import KEYPOINT_NAMES, MIRRORED_KEYPOINTS, DetectedFace
from services.faces.frontal.scan import MultiScaleDetector
from services.faces.frontal.tuning import FrontalTuning
from services.faces.frontal.verification import mean_keypoints
from services.faces.geometry import iou, mirrored_back
from services.faces.models.blazeface import BlazeFaceModel
from tests.conftest import FACE_MODEL

FRONTAL = FrontalTuning()


def test_each_keypoints_mirror_twin_is_its_other_side():
    for index, twin in enumerate(MIRRORED_KEYPOINTS):
        name, other = KEYPOINT_NAMES[index], KEYPOINT_NAMES[twin]
        assert other == name.replace("right", "?").replace("left", "right").replace("?", "left")


def test_mirroring_back_flips_x_and_swaps_sides():
    points = np.array([[10, 20], [30, 20], [20, 30], [20, 40], [5, 25], [35, 25]], np.float32)
    face = mirrored_back(DetectedFace((4.0, 10.0, 40.0, 40.0), 0.9, points), width=100)
    assert face.box == (56.0, 10.0, 40.0, 40.0)
    # The mirror's right eye at x 10 is the face's left eye, at 100 - 10 in the frame.
    assert face.keypoints[1].tolist() == [90.0, 20.0]
    assert face.keypoints[0].tolist() == [70.0, 20.0]
    assert face.keypoints[:, 0].tolist() == [70.0, 90.0, 80.0, 80.0, 65.0, 95.0]
    assert mirrored_back(face, width=100).keypoints.tolist() == points.tolist()


def test_the_mirrored_view_sees_the_face_where_the_frame_has_it():
    detector = MultiScaleDetector(BlazeFaceModel(FACE_MODEL))
    frame = scene([(astronaut_face(), "")], [120], 640, 480, face_free_pictures(),
                  np.random.default_rng(12), max_angle=0).frame
    [face] = detector.detect(frame, 0.65)
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    plain = detector.look_around(rgb, face.box, FRONTAL.neighbourhood, 0.2)
    mirrored = detector.look_around(rgb, face.box, FRONTAL.neighbourhood, 0.2, mirrored=True)
    assert iou(np.array(plain.box), np.array([mirrored.box]))[0] > 0.8
    # The same eyes, nose and mouth within a few pixels (of a ~100 px box), each on its
    # own side: the face's right eye is on the image's left.
    side = max(plain.box[2:])
    assert np.abs(mirrored.keypoints[:4] - plain.keypoints[:4]).max() < 0.06 * side
    assert mirrored.keypoints[0, 0] < mirrored.keypoints[1, 0]


def _view(score, offset, x=0.0):
    return DetectedFace((x, 0.0, 50.0, 50.0), score, np.full((6, 2), offset, np.float32))


def test_a_verified_face_gets_its_views_keypoints_averaged_by_score():
    face = _view(0.5, 99.0)
    mean = mean_keypoints([_view(0.8, 10.0), None, _view(0.4, 40.0, x=5.0)], face)
    assert mean == pytest.approx(np.full((6, 2), (0.8 * 10 + 0.4 * 40) / 1.2))
    assert mean_keypoints([None, None], face) is face.keypoints


def test_a_view_that_overlaps_the_face_less_than_one_face_does_is_left_out():
    # A view counts from an overlap of VIEW_IOU (0.3): a neighbour's box can reach that,
    # and its eyes must not pull this face's.
    face = _view(0.9, 10.0)
    beside = _view(0.9, 60.0, x=25.0)  # IoU 1/3
    assert mean_keypoints([face, beside], face) == pytest.approx(face.keypoints)
