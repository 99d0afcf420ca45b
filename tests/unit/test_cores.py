"""A model call's threads: more than one only while cores are idle, and the same answers
on any number of them."""

from __future__ import annotations

import cv2
import numpy as np

from services.faces.models.blazeface import BlazeFaceModel
from services.faces.models.centerface import CenterFaceModel
from services.faces.models.cores import CORES, CoreUse
from tests.conftest import FACE_MODEL, GROUP_PHOTO, ROOT


def test_a_call_gets_its_threads_while_cores_are_idle_and_one_beside_others():
    cores = CoreUse(2)
    with cores.threads(2) as first:
        assert first == 2
        with cores.threads(2) as second:
            assert second == 1  # never none: the call runs, on one thread
        assert cores.busy == 2
    with cores.holding(1), cores.threads(2) as beside_a_session:
        assert beside_a_session == 1
    assert cores.busy == 0
    with cores.threads(2) as again:
        assert again == 2


def test_a_small_blazeface_call_runs_on_one_thread_beside_another_models_call():
    model = BlazeFaceModel(FACE_MODEL, threads=2)
    small, large = np.zeros((128, 128, 3), np.uint8), np.zeros((480, 640, 3), np.uint8)
    alone = CORES.cores >= 2
    model.detect_padded(small, 0.5, 0.3)
    with CORES.holding(CORES.cores):  # e.g. CenterFace's calls on every core
        model.detect_padded(small, 0.5, 0.3)
        model.detect_padded(large, 0.5, 0.3)  # an image's level keeps its threads
    threads = {key[1:] for key in model._idle}
    assert threads == ({(128, 1), (128, 2), (640, 2)} if alone else {(128, 1), (640, 2)})


def test_the_models_answer_the_same_on_one_thread_and_on_two():
    """How many threads a call gets depends on timing; its faces must not."""
    group = cv2.imread(str(GROUP_PHOTO))
    rgb = np.ascontiguousarray(cv2.resize(group, (544, 384))[:, :, ::-1])
    on_one, on_two = (BlazeFaceModel(FACE_MODEL, threads=t).detect_padded(rgb, 0.3, 0.3)
                      for t in (1, 2))
    assert on_one and len(on_one) == len(on_two)
    for (score_a, box_a, points_a), (score_b, box_b, points_b) in zip(on_one, on_two, strict=True):
        assert score_a == score_b
        np.testing.assert_array_equal(box_a, box_b)
        np.testing.assert_array_equal(points_a, points_b)
    sessions = [CenterFaceModel(ROOT / "models/centerface.onnx", t) for t in (1, 2)]
    blob = cv2.dnn.blobFromImage(cv2.resize(group, (320, 256)), 1.0, swapRB=True)
    for a, b in zip(*(session._run(blob) for session in sessions), strict=True):
        np.testing.assert_array_equal(a, b)
