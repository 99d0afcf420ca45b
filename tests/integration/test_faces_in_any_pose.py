"""Faces in any pose through the real detector (backend auto: CenterFace and the frontal scan)
over gRPC: whole portraits (heads, hair, a turned face) found, head pose on every face, the
turned status end to end, a face that comes into view found in time."""

from __future__ import annotations

import cv2
import grpc
import numpy as np
import pytest

from client.results import face_to_dict
from devkit.frames import raw_image
from devkit.scenes import background, face_free_pictures
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import detector_service_pb2_grpc as pb_grpc
from facestream.v1 import face_pb2
from services.detector.server import create_server
from services.detector.settings import DetectorSettings
from tests.conftest import CAMERAMAN, FACE_FREE_PHOTO, PORTRAIT

# A face that comes into view in a stream is found within this many frames.
FOUND_WITHIN_FRAMES = 15


def portraits_scene() -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """A 1280x720 frame holding the astronaut's and the cameraman's whole portraits (the
    cameraman's face turned ~60 degrees) and the astronaut's mirrored, at three sizes:
    [(x, y, side)] of each portrait."""
    frame = background(face_free_pictures(), 1280, 720, np.random.default_rng(3))
    astronaut, cameraman = cv2.imread(str(PORTRAIT)), cv2.imread(str(CAMERAMAN))
    placed = [(40, 200, 360, astronaut), (460, 120, 300, cameraman),
              (860, 260, 220, astronaut[:, ::-1])]
    for x, y, side, picture in placed:
        frame[y:y + side, x:x + side] = cv2.resize(picture, (side, side),
                                                   interpolation=cv2.INTER_AREA)
    return frame, [(x, y, side) for x, y, side, _ in placed]


def inside(face, x: int, y: int, side: int) -> bool:
    centre_x, centre_y = face.box.x + face.box.width / 2, face.box.y + face.box.height / 2
    return x <= centre_x <= x + side and y <= centre_y <= y + side


def test_every_portrait_found_once_with_its_pose(detector_stub):
    frame, placed = portraits_scene()
    reply = detector_stub.Detect(pb.DetectRequest(image=raw_image(frame)), timeout=30)
    for x, y, side in placed:
        assert sum(inside(f, x, y, side) for f in reply.faces) == 1, (x, y, side)
    assert len(reply.faces) == len(placed)
    assert all(f.HasField("pose") for f in reply.faces)
    by_x = sorted(reply.faces, key=lambda f: f.box.x)
    # The astronaut and its mirror image turn opposite ways; the cameraman is turned.
    assert by_x[0].pose.yaw * by_x[2].pose.yaw < 0
    assert abs(by_x[1].pose.yaw) > 30


def test_a_face_free_photo_has_no_face(detector_stub):
    photo = cv2.imread(str(FACE_FREE_PHOTO))
    assert len(detector_stub.Detect(pb.DetectRequest(image=raw_image(photo)), timeout=30).faces) == 0


def test_a_portrait_that_comes_into_view_is_found_in_time_and_kept(detector_stub):
    frame, placed = portraits_scene()
    empty = background(face_free_pictures(), 1280, 720, np.random.default_rng(3))
    x, y, side = placed[1]  # the turned cameraman
    frames = [empty] * 3 + [frame] * (FOUND_WITHIN_FRAMES + 10)
    requests = [pb.StreamDetectRequest(frame_id=n + 1, image=raw_image(f), capture_time_us=n * 33_333)
                for n, f in enumerate(frames)]
    answers = list(detector_stub.StreamDetect(iter(requests), timeout=120))
    seen = [any(inside(f, x, y, side) for f in a.faces) for a in answers]
    assert not any(seen[:3])
    first = seen.index(True)
    assert first - 3 < FOUND_WITHIN_FRAMES, first
    assert all(seen[3 + FOUND_WITHIN_FRAMES:]), seen


@pytest.fixture(scope="module")
def strict_detector(classifier_server):
    """A detector that reads no face as frontal enough (max_emotion_yaw 0)."""
    with (create_server(DetectorSettings(
            port=0, classifier_target=f"127.0.0.1:{classifier_server.port}",
            max_emotion_yaw=0.0, recognizer_target="")) as running,
          grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel):
        yield pb_grpc.DetectorServiceStub(channel)


def test_turned_faces_carry_the_status_and_no_scores_to_the_jsonl(strict_detector):
    frame, _ = portraits_scene()
    reply = strict_detector.Detect(pb.DetectRequest(image=raw_image(frame)), timeout=30)
    assert len(reply.faces) == 3
    for face in reply.faces:
        assert face.emotion_status == face_pb2.EMOTION_STATUS_FACE_TURNED
        assert not face.emotion_scores and not face.emotion
        record = face_to_dict(face, list(reply.emotion_labels))
        assert record["emotion"] is None and record["emotion_status"] == "face_turned"
        assert set(record["pose"]) == {"yaw", "pitch", "roll"}
