"""Identity joined to detection: the detector asks the real recognizer (real models,
real SQLite gallery) per face in Detect and once per track in StreamDetect."""

from __future__ import annotations

import time

import cv2
import grpc
import pytest
from prometheus_client import REGISTRY

from devkit.frames import raw_image
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import detector_service_pb2_grpc, face_pb2
from facestream.v1 import recognizer_service_pb2 as recognizer_pb
from services.detector.server import create_server
from services.detector.settings import DetectorSettings
from tests.conftest import CAMERAMAN, FACE_MODEL, PORTRAIT, SAMPLE_CLIP
from tests.integration.test_recognizer_service import face_image

NAME = "Eileen Collins"


@pytest.fixture(scope="module")
def enrolled(recognizer_stub):
    person = recognizer_stub.Enroll(recognizer_pb.EnrollRequest(
        name=NAME, images=[face_image(cv2.imread(str(PORTRAIT)))]), timeout=30)
    yield person
    recognizer_stub.DeletePerson(recognizer_pb.DeletePersonRequest(person_id=person.person_id),
                                 timeout=5)


def detector_for(recognizer_target: str):
    return create_server(DetectorSettings(port=0, detector_model=str(FACE_MODEL),
                                          classifier_target="",
                                          recognizer_target=recognizer_target))


@pytest.fixture(scope="module")
def stub(recognizer_server):
    with (detector_for(f"127.0.0.1:{recognizer_server.port}") as running,
          grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel):
        yield detector_service_pb2_grpc.DetectorServiceStub(channel)


def detect(stub, path, identify=True):
    return stub.Detect(pb.DetectRequest(image=raw_image(cv2.imread(str(path))),
                                        options=pb.DetectOptions(identify=identify)), timeout=30)


def test_detect_names_an_enrolled_face_and_not_a_stranger(stub, enrolled):
    response = detect(stub, PORTRAIT)
    (her,) = response.faces
    assert response.timings.identify_ms > 0  # the lookup is part of this answer
    assert her.identity_status == face_pb2.IDENTITY_STATUS_KNOWN
    assert (her.person_name, her.person_id) == (NAME, enrolled.person_id)
    assert her.person_distance < 0.6  # the enrolled photo itself: ~0
    (him,) = detect(stub, CAMERAMAN).faces
    assert him.identity_status == face_pb2.IDENTITY_STATUS_UNKNOWN
    assert him.person_name == "" and him.person_distance == 0.0  # no distance for a stranger


def test_identity_is_only_given_when_asked(stub, enrolled):
    (face,) = detect(stub, PORTRAIT, identify=False).faces
    assert face.identity_status == face_pb2.IDENTITY_STATUS_NOT_REQUESTED
    assert face.person_name == ""


def identify_calls() -> float:
    return sum(REGISTRY.get_sample_value("facestream_recognizer_identified_total",
                                         {"outcome": outcome}) or 0.0
               for outcome in ("known", "unknown"))


def test_a_stream_resolves_identity_once_per_track_not_per_frame(stub, enrolled):
    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    frames = []
    while len(frames) < 60:
        ok, frame = capture.read()
        assert ok
        frames.append(frame)
    before = identify_calls()

    def requests():
        for index, frame in enumerate(frames):
            yield pb.StreamDetectRequest(frame_id=index, image=raw_image(frame),
                                         options=pb.DetectOptions(identify=True))
            time.sleep(0.03)  # a camera's pace: the lookup finishes in the background

    responses = list(stub.StreamDetect(requests(), timeout=120))
    statuses = [r.faces[0].identity_status for r in responses if r.faces]
    assert statuses[0] == face_pb2.IDENTITY_STATUS_PENDING  # answered without waiting
    assert statuses[-1] == face_pb2.IDENTITY_STATUS_KNOWN
    assert responses[-1].faces[0].person_name == NAME
    known_from = statuses.index(face_pb2.IDENTITY_STATUS_KNOWN)
    assert all(s == face_pb2.IDENTITY_STATUS_KNOWN for s in statuses[known_from:])
    # one track over ~2-3 s: one lookup (a refresh every 3 s at most adds one)
    assert 1 <= identify_calls() - before <= 2


def test_without_a_recognizer_faces_say_identity_unavailable():
    with detector_for("") as running, grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        response = detect(detector_service_pb2_grpc.DetectorServiceStub(channel), PORTRAIT)
    (face,) = response.faces
    assert face.identity_status == face_pb2.IDENTITY_STATUS_UNAVAILABLE
    assert "no recognizer configured (--recognizer-target)" in response.identity_unavailable_reason
