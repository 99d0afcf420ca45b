"""The models' calls share the cores: they wait in line for an idle one, take more than
one only while cores are idle and nobody waits, and answer the same on any number."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np

from services.faces.models.blazeface import BlazeFaceModel
from services.faces.models.centerface import CenterFaceModel
from services.faces.models.cores import CORES, CoreUse
from tests.conftest import FACE_MODEL, GROUP_PHOTO, ROOT


def until(condition, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.005)


def test_a_call_gets_its_threads_while_cores_are_idle_and_one_beside_others():
    cores = CoreUse(2)
    with cores.threads(2) as alone:
        assert alone == 2
    with cores.holding(1), cores.threads(2) as beside_another:
        assert beside_another == 1  # never none while a core is idle
        assert cores.busy == 2
    assert cores.busy == 0


def test_a_call_that_needs_every_core_is_not_passed_by_later_small_calls():
    """A new stream's whole level waits for both cores; small calls that come after it
    wait behind it even while a core is idle, or a busy machine would never run it."""
    cores = CoreUse(2)
    started: list[tuple[str, int]] = []
    release = {name: threading.Event() for name in ("level", "check")}

    def call(name: str, take) -> None:
        with take():
            started.append((name, cores.busy))
            release[name].wait(10)

    first = cores.holding(1)
    first.__enter__()  # one core busy, one idle
    level = threading.Thread(target=call, args=("level", lambda: cores.holding(2)))
    level.start()
    until(lambda: cores.waiting == 1, "the level waits")
    check = threading.Thread(target=call, args=("check", lambda: cores.threads(2)))
    check.start()
    until(lambda: cores.waiting == 2, "the check waits behind it, beside an idle core")
    first.__exit__(None, None, None)
    until(lambda: started, "the level runs")
    assert started == [("level", 2)] and cores.waiting == 1
    release["level"].set()
    until(lambda: len(started) == 2, "the check runs")
    assert started[1] == ("check", 2)  # nobody waits behind it: both cores
    release["check"].set()
    level.join()
    check.join()
    assert cores.busy == 0 and cores.waiting == 0


def test_calls_from_many_threads_never_hold_more_threads_than_cores():
    cores = CoreUse(2)
    most = []

    def calls(number: int) -> None:
        for turn in range(200):
            take = cores.holding(2) if (number + turn) % 5 == 0 else cores.threads(2)
            with take:
                most.append(cores.busy)

    workers = [threading.Thread(target=calls, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(most) == 8 * 200 and max(most) <= 2
    assert cores.busy == 0 and cores.waiting == 0


def test_a_small_blazeface_call_runs_on_one_thread_beside_another_models_call():
    model = BlazeFaceModel(FACE_MODEL, threads=2)
    small, large = np.zeros((128, 128, 3), np.uint8), np.zeros((480, 640, 3), np.uint8)
    model.detect_padded(small, 0.5, 0.3)  # alone: its two threads, where there are two cores
    if CORES.cores >= 2:
        with CORES.holding(CORES.cores - 1):  # e.g. a stream's CenterFace call
            model.detect_padded(small, 0.5, 0.3)
    model.detect_padded(large, 0.5, 0.3)  # an image's level keeps its threads
    threads = {key[1:] for key in model._idle}
    assert threads == ({(128, 1), (128, 2), (640, 2)} if CORES.cores >= 2
                       else {(128, 1), (640, 2)})


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
