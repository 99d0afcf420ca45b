"""A model call's threads: more than one only while cores are idle."""

from __future__ import annotations

import numpy as np

from services.faces.models.blazeface import BlazeFaceModel
from services.faces.models.cores import CORES, CoreUse
from tests.conftest import FACE_MODEL


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


def test_blazeface_runs_on_one_thread_beside_another_models_call():
    model = BlazeFaceModel(FACE_MODEL, threads=2, max_running=2)
    image = np.zeros((128, 128, 3), np.uint8)
    alone = CORES.cores >= 2
    model.detect_padded(image, 0.5, 0.3)
    with CORES.holding(CORES.cores):  # e.g. CenterFace's calls on every core
        model.detect_padded(image, 0.5, 0.3)
    threads = {key[2] for key in model._idle}
    assert threads == ({1, 2} if alone else {1})
