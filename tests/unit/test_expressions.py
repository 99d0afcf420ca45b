"""Expressions beyond the label, with the real Face Landmarker: landmarks where the face is,
blendshapes that mean what they say, gaze that flips in the mirror, the per-frame budget."""

from __future__ import annotations

import zipfile

import cv2
import numpy as np
import pytest

from services.faces.detection import DetectedFace
from services.faces.expressions import ExpressionReader, ExpressionSettings, ExpressionStatus
from services.faces.finder import make_face_finder
from services.faces.geometry import mirrored_back
from services.faces.models.face_landmarker import BLENDSHAPE_NAMES, FaceLandmarker
from services.faces.settings import FaceFinderSettings
from tests.conftest import CAMERAMAN, FACE_LANDMARKER_MODEL, GROUP_PHOTO, PORTRAIT

SETTINGS = ExpressionSettings(min_face_px=32, max_yaw=60, looking_cone_deg=20)
SMILE = [BLENDSHAPE_NAMES.index("mouthSmileLeft"), BLENDSHAPE_NAMES.index("mouthSmileRight")]


@pytest.fixture(scope="module")
def landmarker():
    return FaceLandmarker(FACE_LANDMARKER_MODEL)


@pytest.fixture(scope="module")
def finder():
    return make_face_finder(FaceFinderSettings())


def faces_of(finder, path):
    bgr = cv2.imread(str(path))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), finder.detect(bgr, 0.65)


def test_the_landmarks_put_the_irises_in_the_eyes_the_detector_found(landmarker, finder):
    rgb, (face,) = faces_of(finder, PORTRAIT)
    landmarks = landmarker.landmarks(rgb, face.box, face.keypoints)
    assert landmarks.points.shape == (478, 3) and landmarks.presence > 0.9
    side = max(face.box[2:])
    # 468 is the right iris's centre (the picture's left), 473 the left one's.
    assert np.linalg.norm(landmarks.points[468, :2] - face.keypoints[0]) < 0.08 * side
    assert np.linalg.norm(landmarks.points[473, :2] - face.keypoints[1]) < 0.08 * side
    x, y, w, h = face.box
    inside = ((landmarks.points[:, 0] > x - 0.2 * w) & (landmarks.points[:, 0] < x + 1.2 * w)
              & (landmarks.points[:, 1] > y - 0.4 * h) & (landmarks.points[:, 1] < y + 1.4 * h))
    assert inside.mean() > 0.95


def test_a_smile_reads_as_a_smile_and_a_still_face_does_not(landmarker, finder):
    smiles = {}
    for path in (PORTRAIT, CAMERAMAN):  # Eileen Collins smiles; the cameraman does not
        rgb, (face,) = faces_of(finder, path)
        scores = landmarker.blendshapes(landmarker.landmarks(rgb, face.box, face.keypoints))
        assert scores.shape == (52,) and scores.min() >= 0.0 and scores.max() <= 1.0
        smiles[path] = float(scores[SMILE].mean())
    assert smiles[PORTRAIT] > 0.5 and smiles[PORTRAIT] > 5 * smiles[CAMERAMAN]


def test_the_gaze_flips_in_the_mirror_and_the_portraits_look_at_the_camera(landmarker, finder):
    reader = ExpressionReader(landmarker, SETTINGS)
    rgb, faces = faces_of(finder, GROUP_PHOTO)
    mirror = np.ascontiguousarray(rgb[:, ::-1])
    for face in faces:
        status, seen = reader.read(rgb, face)
        _, mirrored = reader.read(mirror, mirrored_back(face, rgb.shape[1]))
        assert status is ExpressionStatus.OK and seen.looking
        assert mirrored.gaze.yaw == pytest.approx(-seen.gaze.yaw, abs=3.0)
        assert mirrored.gaze.pitch == pytest.approx(seen.gaze.pitch, abs=3.0)
    rgb, (turned,) = faces_of(finder, CAMERAMAN)
    status, seen = reader.read(rgb, turned)
    assert status is ExpressionStatus.OK and abs(seen.gaze.yaw) > 30 and not seen.looking


def test_a_frame_reads_its_largest_faces_within_the_budget_and_says_why_not_the_rest(
        landmarker, finder):
    reader = ExpressionReader(landmarker, SETTINGS)
    rgb, faces = faces_of(finder, GROUP_PHOTO)
    tiny = DetectedFace((5.0, 5.0, 20.0, 20.0), 0.9, faces[0].keypoints)
    answers = reader.read_all(rgb, [(face, None) for face in faces] + [(tiny, None)], budget=2)
    statuses = [status for status, _ in answers]
    assert statuses[-1] is ExpressionStatus.FACE_TOO_SMALL
    assert statuses[:-1].count(ExpressionStatus.OK) == 2
    assert statuses[:-1].count(ExpressionStatus.OVER_BUDGET) == len(faces) - 2
    read = [max(face.box[2:]) for face, (status, _) in zip(faces, answers) if
            status is ExpressionStatus.OK]
    skipped = [max(face.box[2:]) for face, (status, _) in zip(faces, answers) if
               status is ExpressionStatus.OVER_BUDGET]
    assert min(read) >= max(skipped)


def test_a_bundle_without_the_blendshape_model_is_refused_by_name(tmp_path):
    broken = tmp_path / "face_landmarker.task"
    with zipfile.ZipFile(FACE_LANDMARKER_MODEL) as source, zipfile.ZipFile(broken, "w") as out:
        for name in source.namelist():
            if name != "face_blendshapes.tflite":
                out.writestr(name, source.read(name))
    with pytest.raises(ValueError, match="face_blendshapes.tflite"):
        FaceLandmarker(broken)
