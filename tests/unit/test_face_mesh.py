"""Face Mesh's face-presence check on real pictures, and how its region is framed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from devkit.scenes import astronaut_face, face_free_pictures, scene
from services.faces.detection import DetectedFace
from services.faces.frontal.scan import MultiScaleDetector
from services.faces.frontal.tuning import FrontalTuning
from services.faces.frontal.verification import candidate_scores, views_score_needed
from services.faces.models.blazeface import BlazeFaceModel, SmallFaceScore
from services.faces.models.face_mesh import FACE_MESH_INPUT_SIZE as INPUT_SIZE
from services.faces.models.face_mesh import FaceMeshModel, region_tensor
from services.faces.whole_frame import WholeFrameDetector
from tests.conftest import FACE_FREE_PHOTO, FACE_MESH_MODEL, FACE_MODEL

FRONTAL = FrontalTuning()


@pytest.fixture(scope="module")
def mesh():
    return FaceMeshModel(FACE_MESH_MODEL)


@pytest.fixture(scope="module")
def portrait_face(portrait):
    faces = WholeFrameDetector(BlazeFaceModel(FACE_MODEL), nms_iou=0.3).detect(portrait, 0.5)
    assert len(faces) == 1
    return faces[0]


def test_the_portrait_face_is_present(mesh, portrait, portrait_face):
    rgb = cv2.cvtColor(portrait, cv2.COLOR_BGR2RGB)
    assert mesh.presence(rgb, portrait_face.box, portrait_face.keypoints) > 0.9


def test_the_same_box_over_a_face_free_picture_is_not(mesh, portrait, portrait_face):
    picture = cv2.imread(str(FACE_FREE_PHOTO))
    picture = cv2.resize(picture, (portrait.shape[1], portrait.shape[0]))
    rgb = cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)
    assert mesh.presence(rgb, portrait_face.box, portrait_face.keypoints) < 0.1


def test_a_box_beside_the_face_is_not_a_face(mesh, portrait, portrait_face):
    rgb = cv2.cvtColor(portrait, cv2.COLOR_BGR2RGB)
    x, y, w, h = portrait_face.box
    beside = (x + 1.5 * w, y + h, w, h)  # the astronaut's shoulder and suit
    keypoints = portrait_face.keypoints + np.array([1.5 * w, h], np.float32)
    assert mesh.presence(rgb, beside, keypoints) < 0.1


def test_region_is_centred_levelled_and_scaled_like_mediapipes():
    # Eyes 40 px apart, turned by 30 degrees about a 100 px box's centre, the left eye
    # marked by a bright dot: the region turns the eyes level and shows the box at
    # 192 / (1.5 * 100) input pixels per frame pixel, so the dot lands 20 * 1.28 px right
    # of the input's centre, on its middle row.
    frame = np.zeros((400, 400, 3), np.uint8)
    angle = np.radians(30)
    offset = 20 * np.array([np.cos(angle), np.sin(angle)])
    eyes = np.array([200 - offset, 200 + offset], np.float32)
    cv2.circle(frame, tuple(int(round(v)) for v in eyes[1]), 2, (255, 255, 255), -1)
    tensor = region_tensor(frame, (150, 150, 100, 100), eyes)
    assert tensor.shape == (1, INPUT_SIZE, INPUT_SIZE, 3)
    assert tensor.dtype == np.float32 and tensor.min() >= 0.0 and tensor.max() <= 1.0
    row, column = np.unravel_index(np.argmax(tensor[0, :, :, 0]), (INPUT_SIZE, INPUT_SIZE))
    scale = INPUT_SIZE / 150
    assert column == pytest.approx(INPUT_SIZE / 2 + 20 * scale, abs=2)
    assert row == pytest.approx(INPUT_SIZE / 2, abs=2)


def test_a_file_that_is_not_face_mesh_is_refused():
    with pytest.raises(ValueError, match="face_landmark"):
        FaceMeshModel(FACE_MODEL)


def test_scan_keeps_the_portrait_face_and_nothing_on_a_face_free_picture(mesh, portrait):
    detector = MultiScaleDetector(BlazeFaceModel(FACE_MODEL), mesh)
    assert len(detector.detect(portrait, 0.65)) == 1
    assert detector.detect(cv2.imread(str(FACE_FREE_PHOTO)), 0.65) == []


def test_many_threads_share_the_model(mesh, portrait, portrait_face):
    from concurrent.futures import ThreadPoolExecutor

    rgb = cv2.cvtColor(portrait, cv2.COLOR_BGR2RGB)
    with ThreadPoolExecutor(8) as pool:
        scores = list(pool.map(lambda _: mesh.presence(rgb, portrait_face.box,
                                                       portrait_face.keypoints), range(32)))
    assert max(scores) - min(scores) < 1e-6 and min(scores) > 0.9


def test_a_face_face_mesh_is_sure_of_scores_the_bonus_above_its_views(mesh):
    # The same candidates and views with and without Face Mesh: where it is sure (the
    # astronaut's face, presence ~1.0), the reported score is the views' plus the bonus.
    frame = scene([(astronaut_face(), "")], [60], 640, 480, face_free_pictures(),
                  np.random.default_rng(60)).frame
    model = BlazeFaceModel(FACE_MODEL)
    views_only = MultiScaleDetector(model).detect(frame, 0.5)
    with_mesh = MultiScaleDetector(model, mesh).detect(frame, 0.5)
    assert len(views_only) == len(with_mesh) == 1
    assert views_only[0].score < 1.0 - FRONTAL.sure_face_bonus
    assert with_mesh[0].score > views_only[0].score
    assert with_mesh[0].score == pytest.approx(views_only[0].score + FRONTAL.sure_face_bonus)


def test_a_small_face_face_mesh_doubts_needs_stronger_views_and_a_large_one_is_ruled_out():
    # Face Mesh's presence below FRONTAL.min_presence rules a candidate out, except a small one it
    # still gives FRONTAL.small_min_presence: its views must then score FRONTAL.small_face_score.
    assert views_score_needed(FRONTAL.min_presence, 200, 0.65, FRONTAL) == 0.65
    assert views_score_needed(0.2, FRONTAL.small_face_px - 1, 0.65, FRONTAL) == FRONTAL.small_face_score
    assert views_score_needed(0.2, FRONTAL.small_face_px - 1, 0.9, FRONTAL) == 0.9  # never below min_score
    assert views_score_needed(0.2, FRONTAL.small_face_px, 0.65, FRONTAL) is None
    assert views_score_needed(FRONTAL.small_min_presence / 2, 30, 0.65, FRONTAL) is None
    # A weak candidate (kept below FRONTAL.candidate_score for being small) gets no allowance.
    assert views_score_needed(0.2, FRONTAL.small_face_px - 1, 0.65, FRONTAL, weak=True) is None
    assert views_score_needed(FRONTAL.min_presence, FRONTAL.small_face_px - 1, 0.65, FRONTAL,
                              weak=True) == 0.65


def _found_with_eye_line_turned(detector, size):
    """The astronaut's face pasted at `size` px, its frame (RGB), and a candidate on its
    box whose eye line is turned 90 degrees, as a detector may place a small face's eyes."""
    frame = scene([(astronaut_face(), "")], [size], 640, 480, face_free_pictures(),
                  np.random.default_rng(3), max_angle=0).frame
    [face] = detector.detect(frame, 0.65)
    eyes = face.keypoints[:2]
    centre = eyes.mean(axis=0)
    askew = face.keypoints.copy()
    askew[:2] = (eyes - centre) @ np.array([[0, 1], [-1, 0]], np.float32) + centre
    return face, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), DetectedFace(face.box, 0.8, askew)


def test_a_small_face_framed_askew_gets_a_second_look_framed_by_its_views(mesh):
    # Framed by the askew candidate, Face Mesh doubts a 40 px face (presence between
    # FRONTAL.second_look_presence and FRONTAL.small_min_presence); framed by the views' box and
    # keypoints it takes it for one.
    detector = MultiScaleDetector(BlazeFaceModel(FACE_MODEL), mesh)
    face, rgb, candidate = _found_with_eye_line_turned(detector, 40)
    presence = mesh.presence(rgb, candidate.box, candidate.keypoints)
    assert FRONTAL.second_look_presence <= presence < FRONTAL.small_min_presence
    assert detector.verify(rgb, [candidate], 0.65, second_look=False) == []
    [seen] = detector.verify(rgb, [candidate], 0.65)
    assert seen.score >= 0.65
    assert np.allclose(seen.box, face.box, atol=2)  # the views' box, on the face
    # A face too large for a second look, framed as askew, is ruled out.
    _, rgb, candidate = _found_with_eye_line_turned(detector, 2 * FRONTAL.small_face_px)
    assert mesh.presence(rgb, candidate.box, candidate.keypoints) < FRONTAL.min_presence
    assert detector.verify(rgb, [candidate], 0.65) == []


def test_weak_candidates_are_looked_for_at_the_finest_level_only():
    lowest, small = candidate_scores(1.0, 1.0, 0.65, FRONTAL)
    assert lowest == FRONTAL.small_candidate_score
    assert small == SmallFaceScore(FRONTAL.candidate_score, FRONTAL.small_candidate_px)
    assert candidate_scores(0.4, 1.0, 0.65, FRONTAL) == (FRONTAL.candidate_score, None)  # a coarser level
    # A request's own min_score below the weak band: every candidate from there, no rule.
    assert candidate_scores(1.0, 1.0, 0.3, FRONTAL) == (0.3, None)
