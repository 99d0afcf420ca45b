"""DetectorService over real gRPC, wired to a real classifier."""

from __future__ import annotations

from pathlib import Path

import cv2
import grpc
import numpy as np
import pytest

from devkit.frames import clip_frames
from devkit.processes import unused_port
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import detector_service_pb2_grpc as pb_grpc
from facestream.v1 import face_pb2, image_pb2
from tests.conftest import FACE_MODEL, GROUP_PHOTO, detect_with


def encoded(path_or_image) -> image_pb2.Image:
    if isinstance(path_or_image, np.ndarray):
        data = cv2.imencode(".jpg", path_or_image)[1].tobytes()
    else:
        data = Path(path_or_image).read_bytes()
    return image_pb2.Image(data=data, format=image_pb2.IMAGE_FORMAT_ENCODED)


def assert_plausible_face(face, width: int, height: int) -> None:
    assert 0.5 <= face.score <= 1.0
    assert face.box.x >= -10 and face.box.x + face.box.width <= width + 10
    assert face.box.y >= -10 and face.box.y + face.box.height <= height + 10
    assert 40 <= face.box.width <= 400 and 40 <= face.box.height <= 400
    assert len(face.keypoints) == 6
    eyes_x = [face.keypoints[0].x, face.keypoints[1].x]
    assert all(face.box.x <= x <= face.box.x + face.box.width for x in eyes_x)
    assert face.emotion_status == face_pb2.EMOTION_STATUS_OK
    assert sum(face.emotion_scores) == pytest.approx(1.0, abs=1e-3)


def test_detect_a_photo_with_four_faces(detector_stub):
    response = detector_stub.Detect(pb.DetectRequest(image=encoded(GROUP_PHOTO)), timeout=10)
    assert len(response.faces) == 4
    assert list(response.emotion_labels)[3] == "happy"
    for face in response.faces:
        assert_plausible_face(face, 640, 480)
        assert face.emotion == "happy"  # the astronaut smiles in every copy
        assert not face.HasField("crop")  # crops stay on the server unless asked for
    scores = [face.score for face in response.faces]
    assert scores == sorted(scores, reverse=True)
    assert response.timings.detect_ms > 0 and response.timings.classify_ms > 0


def test_options_crops_limits_and_no_classification(detector_stub):
    options = pb.DetectOptions(return_crops=True, classify=False, max_faces=2)
    response = detector_stub.Detect(pb.DetectRequest(image=encoded(GROUP_PHOTO), options=options),
                                    timeout=10)
    assert len(response.faces) == 2
    for face in response.faces:
        assert face.emotion_status == face_pb2.EMOTION_STATUS_NOT_REQUESTED
        assert len(face.emotion_scores) == 0
        assert (face.crop.width, face.crop.height, len(face.crop.data)) == (48, 48, 48 * 48)


def test_raw_bgr_frame(detector_stub):
    frame = cv2.imread(str(GROUP_PHOTO))
    image = image_pb2.Image(data=frame.tobytes(), format=image_pb2.IMAGE_FORMAT_BGR8,
                            width=frame.shape[1], height=frame.shape[0])
    assert len(detector_stub.Detect(pb.DetectRequest(image=image), timeout=10).faces) == 4


def test_corrupt_jpeg_is_invalid_argument_and_the_server_goes_on(detector_stub):
    data = GROUP_PHOTO.read_bytes()
    corrupt = image_pb2.Image(data=data[:200] + b"\x00" * 50, format=image_pb2.IMAGE_FORMAT_ENCODED)
    with pytest.raises(grpc.RpcError) as raised:
        detector_stub.Detect(pb.DetectRequest(image=corrupt), timeout=10)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "image.data" in raised.value.details() and "not a readable image" in raised.value.details()
    assert len(detector_stub.Detect(pb.DetectRequest(image=encoded(GROUP_PHOTO)), timeout=10).faces) == 4


@pytest.mark.parametrize("options,message", [
    (pb.DetectOptions(min_score=1.5), "options.min_score is 1.5"),
    (pb.DetectOptions(min_score=float("nan")), "options.min_score is nan"),
    (pb.DetectOptions(max_faces=100000), "options.max_faces is 100000"),
    (pb.DetectOptions(max_faces=-1), "options.max_faces is -1"),
])
def test_bad_options_are_invalid_argument(detector_stub, options, message):
    with pytest.raises(grpc.RpcError) as raised:
        detector_stub.Detect(pb.DetectRequest(image=encoded(GROUP_PHOTO), options=options), timeout=10)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert message in raised.value.details()


def test_stream_the_sample_clip_every_frame_answered_in_order(detector_stub):
    frames = clip_frames()
    assert len(frames) == 90
    requests = (pb.StreamDetectRequest(frame_id=1000 + i, image=encoded(frame))
                for i, frame in enumerate(frames))
    responses = list(detector_stub.StreamDetect(requests, timeout=120))
    assert [r.frame_id for r in responses] == [1000 + i for i in range(90)]
    for response in responses:
        assert not response.HasField("error")
        assert len(response.faces) == 1
        assert_plausible_face(response.faces[0], 640, 480)
    happy = sum(r.faces[0].emotion == "happy" for r in responses)
    assert happy >= 80  # she smiles throughout; a few hard frames may disagree


def test_a_bad_frame_mid_stream_gets_its_own_error(detector_stub):
    frames = clip_frames()[:5]
    requests = [pb.StreamDetectRequest(frame_id=i, image=encoded(f)) for i, f in enumerate(frames)]
    requests[2].image.data = b"not an image"
    responses = list(detector_stub.StreamDetect(iter(requests), timeout=30))
    assert [r.frame_id for r in responses] == [0, 1, 2, 3, 4]
    assert responses[2].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "not a readable image" in responses[2].error.message
    assert all(len(r.faces) == 1 for i, r in enumerate(responses) if i != 2)


def test_without_a_classifier_faces_come_back_marked_unavailable():
    from services.detector.settings import DetectorSettings

    response = detect_with(DetectorSettings(port=0, detector_model=str(FACE_MODEL),
                                            classifier_target=f"127.0.0.1:{unused_port()}",
                                            classify_timeout_ms=500),
                           pb.DetectRequest(image=encoded(GROUP_PHOTO)))
    assert len(response.faces) == 4
    assert all(f.emotion_status == face_pb2.EMOTION_STATUS_UNAVAILABLE for f in response.faces)
    assert all(len(f.emotion_scores) == 0 and f.emotion == "" for f in response.faces)
    assert "classifier 127.0.0.1:" in response.emotions_unavailable_reason


def test_a_classifier_known_down_is_skipped_and_reported_once(caplog):
    """Frames keep their faces; once the channel knows no classifier is there, frames stop
    waiting on the call (the reason says so) and the warning is logged once."""
    import logging
    import time

    from services.detector.server import create_server
    from services.detector.settings import DetectorSettings

    with create_server(DetectorSettings(port=0, detector_model=str(FACE_MODEL),
                                        classifier_target=f"127.0.0.1:{unused_port()}")) as running:
        with caplog.at_level(logging.WARNING), \
                grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.DetectorServiceStub(channel)
            reasons = []
            for _ in range(20):
                reply = stub.Detect(pb.DetectRequest(image=encoded(GROUP_PHOTO)), timeout=10)
                assert len(reply.faces) == 4
                reasons.append(reply.emotions_unavailable_reason)
                time.sleep(0.05)
    assert all(reasons)
    assert any("unreachable (reconnecting)" in reason for reason in reasons[1:])
    warnings = [r for r in caplog.records if "classifier unreachable" in r.getMessage()]
    assert len(warnings) == 1


def test_haar_backend_finds_faces_without_keypoints(classifier_server):
    from services.detector.settings import DetectorSettings

    response = detect_with(DetectorSettings(port=0, backend="haar",
                                            classifier_target=f"127.0.0.1:{classifier_server.port}"),
                           pb.DetectRequest(image=encoded(GROUP_PHOTO)))
    assert len(response.faces) >= 3
    assert all(len(f.keypoints) == 0 for f in response.faces)
    assert all(f.emotion_status == face_pb2.EMOTION_STATUS_OK for f in response.faces)
