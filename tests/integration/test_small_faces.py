"""Faces at every distance, through the real detector (backend auto) over gRPC: small
faces in a large frame, two faces side by side, face-free frames, and a face that comes
into view in the middle of a stream. Scenes are generated from the bundled public-domain
astronaut portrait over scikit-image's face-free sample pictures."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from devkit.frames import raw_image
from devkit.scenes import astronaut_face, background, face_free_pictures, matches, paste_face, scene
from facestream.v1 import detector_service_pb2 as pb
from services.detector.settings import DetectorSettings

STREAM_SCAN_FRAMES = DetectorSettings().stream_scan_frames


def boxes(faces) -> list[tuple[float, float, float, float]]:
    return [(f.box.x, f.box.y, f.box.width, f.box.height) for f in faces]


@pytest.fixture(scope="module")
def pictures():
    return face_free_pictures()


@pytest.mark.parametrize("seed", [1, 2])
def test_eight_small_faces_in_a_720p_frame(detector_stub, pictures, seed):
    rng = np.random.default_rng(seed)
    sizes = [28, 36, 44, 52, 60, 70, 80, 90]
    built = scene([(astronaut_face(), "happy")] * 8, sizes, 1280, 720, pictures, rng,
                  max_angle=10)
    assert len(built.faces) == 8
    reply = detector_stub.Detect(pb.DetectRequest(image=raw_image(built.frame)), timeout=30)
    found = boxes(reply.faces)
    hits = [p for p in built.faces if any(matches(p.box, f) for f in found)]
    assert len(hits) >= 7, f"found {len(hits)} of 8 (sizes {[p.box[2] for p in built.faces]})"
    assert len(found) - len(hits) <= 1  # at most one box that is no pasted face


def test_two_faces_side_by_side_each_with_its_own_keypoints(detector_stub, pictures):
    frame = background(pictures, 640, 480, np.random.default_rng(5))
    face = astronaut_face()
    paste_face(frame, face, 150, 150, 160)
    paste_face(frame, face, 318, 150, 160)  # 8 px apart
    reply = detector_stub.Detect(pb.DetectRequest(image=raw_image(frame)), timeout=30)
    assert all(f.box.width < 240 for f in reply.faces), "one box spans both faces"
    left = [f for f in reply.faces if matches((150, 150, 160, 160), boxes([f])[0])]
    right = [f for f in reply.faces if matches((318, 150, 160, 160), boxes([f])[0])]
    assert len(left) == 1 and len(right) == 1
    for found in (left[0], right[0]):
        x, y, w, h = found.box.x, found.box.y, found.box.width, found.box.height
        for point in found.keypoints[:4]:  # eyes, nose, mouth
            assert x <= point.x <= x + w and y <= point.y <= y + h
    assert (max(p.x for p in left[0].keypoints[:4]) < 318
            < min(p.x for p in right[0].keypoints[:4]))


@pytest.mark.parametrize("width,height,seed", [(640, 480, 11), (1280, 720, 12), (1920, 1080, 13)])
def test_a_face_free_frame_has_no_face(detector_stub, pictures, width, height, seed):
    frame = background(pictures, width, height, np.random.default_rng(seed))
    reply = detector_stub.Detect(pb.DetectRequest(image=raw_image(frame)), timeout=30)
    assert boxes(reply.faces) == []


def test_a_small_face_that_comes_into_view_mid_stream_is_found_and_kept(detector_stub, pictures):
    """A 720p video: a 40 px face appears at frame 10 and drifts; it must be found within
    the scan period and reported on every frame after."""
    backdrop = background(pictures, 1280, 720, np.random.default_rng(21))
    appears, frames = 10, 40
    positions = {}

    def requests():
        for index in range(frames):
            frame = backdrop.copy()
            if index >= appears:
                x, y = 900 + 2 * (index - appears), 500 - (index - appears)
                paste_face(frame, astronaut_face(), x, y, 40)
                positions[index] = (x, y, 40, 40)
            yield pb.StreamDetectRequest(frame_id=index, image=raw_image(frame))

    replies = list(detector_stub.StreamDetect(requests(), timeout=120))
    assert [r.frame_id for r in replies] == list(range(frames))
    assert all(not r.HasField("error") for r in replies)
    for reply in replies[:appears]:
        assert boxes(reply.faces) == []
    seen = [index for index in range(appears, frames)
            if any(matches(positions[index], f) for f in boxes(replies[index].faces))]
    assert seen, "the face was never found"
    assert seen[0] < appears + STREAM_SCAN_FRAMES
    assert seen == list(range(seen[0], frames)), "the face was lost after it was found"


def test_a_folder_of_photos_gets_the_full_scan_on_every_frame(detector_stub, pictures):
    """SCAN_MODE_FULL on a stream: a small face is found on the very first frame."""
    frame = background(pictures, 1280, 720, np.random.default_rng(31))
    paste_face(frame, astronaut_face(), 200, 300, 40)
    options = pb.DetectOptions(scan_mode=pb.SCAN_MODE_FULL)
    replies = list(detector_stub.StreamDetect(
        iter([pb.StreamDetectRequest(frame_id=0, image=raw_image(frame), options=options)]), timeout=30))
    assert any(matches((200, 300, 40, 40), f) for f in boxes(replies[0].faces))


@pytest.mark.parametrize("mode,expected", [
    (pb.SCAN_MODE_INCREMENTAL, "needs the frames of a stream"),
    (7, "options.scan_mode is 7"),
])
def test_scan_modes_detect_cannot_honour_are_refused(detector_stub, pictures, mode, expected):
    frame = background(pictures, 320, 240, np.random.default_rng(41))
    with pytest.raises(grpc.RpcError) as caught:
        detector_stub.Detect(pb.DetectRequest(image=raw_image(frame), options=pb.DetectOptions(
            scan_mode=mode)), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in caught.value.details()
