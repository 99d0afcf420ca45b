"""Tracks through StreamDetect: a generated clip of two faces whose paths cross."""

from __future__ import annotations

import threading

import grpc
import pytest

from devkit.clips import (
    FIRST_CAPTURE_US,
    crossing_clip,
    id_switches,
    stream_clip,
    tracked_boxes,
)
from devkit.frames import raw_image
from devkit.scenes import astronaut_face
from facestream.v1 import detector_service_pb2 as pb
from tests.integration.test_metrics import scrape, services_with_metrics, value  # noqa: F401


@pytest.fixture(scope="module")
def clip():
    return crossing_clip(astronaut_face(), frames=60, size=96)


def test_crossing_faces_keep_distinct_ids_through_the_crossing(detector_stub, clip):
    responses = stream_clip(detector_stub, clip, pb.DetectOptions(), timeout_s=120)
    assert not any(r.HasField("error") for r in responses)
    switches = id_switches(clip.truth, tracked_boxes(responses))
    assert switches == {0: 0, 1: 0}, switches
    both = [r for r in responses if len(r.faces) == 2]
    assert len(both) >= 40  # both found on most frames, not just the ends
    assert all(r.faces[0].track_id != r.faces[1].track_id for r in both)
    ids = {f.track_id for r in responses for f in r.faces}
    assert ids == {1, 2}, ids  # nobody new appeared, nobody lost their id for good
    first = responses[0].faces
    assert all(f.smoothed_emotion and len(f.smoothed_scores) == len(responses[0].emotion_labels)
               for f in first)


def test_pictures_are_not_tracked_unless_asked(detector_stub, clip):
    stills = stream_clip(detector_stub, clip, pb.DetectOptions(scan_mode=pb.SCAN_MODE_FULL),
                         timeout_s=120)
    assert {f.track_id for r in stills[:3] for f in r.faces} == {0}
    assert all(not f.smoothed_scores and not f.smoothed_emotion for r in stills[:3] for f in r.faces)
    untracked = stream_clip(detector_stub, clip, pb.DetectOptions(track=False), timeout_s=120)
    assert {f.track_id for r in untracked[:3] for f in r.faces} == {0}


def test_tracking_on_a_single_image_is_refused(detector_stub, clip):
    with pytest.raises(grpc.RpcError) as error:
        detector_stub.Detect(pb.DetectRequest(image=raw_image(clip.frames[0]),
                                              options=pb.DetectOptions(track=True)), timeout=10)
    assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "options.track" in error.value.details()


def test_a_half_life_out_of_range_is_a_frame_error_and_the_stream_goes_on(detector_stub, clip):
    requests = [pb.StreamDetectRequest(frame_id=0, image=raw_image(clip.frames[0]),
                                       options=pb.DetectOptions(smoothing_half_life_ms=600000)),
                pb.StreamDetectRequest(frame_id=1, image=raw_image(clip.frames[1]))]
    bad, good = detector_stub.StreamDetect(iter(requests), timeout=30)
    assert bad.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "smoothing_half_life_ms is 600000" in bad.error.message
    assert good.frame_id == 1 and not good.HasField("error")


def test_a_stream_that_ended_leaves_no_tracks_behind(services_with_metrics, clip):
    from facestream.v1 import detector_service_pb2_grpc as pb_grpc

    detector, metrics_port = services_with_metrics
    with grpc.insecure_channel(f"127.0.0.1:{detector.port}") as channel:
        stub = pb_grpc.DetectorServiceStub(channel)
        scraped = threading.Event()

        def requests():  # the stream's scan finds both faces within its first 10 frames
            for i, frame in enumerate(clip.frames[:12]):
                # Stamped as a camera stamps them: unstamped frames sent in a burst are
                # stamped as the detector reads them, and a burst's motion is no face's.
                yield pb.StreamDetectRequest(frame_id=i, image=raw_image(frame),
                                             capture_time_us=int(FIRST_CAPTURE_US
                                                                 + i * 1e6 / clip.fps))
            scraped.wait(30)  # the stream stays open until the metrics are read

        call = stub.StreamDetect(requests(), timeout=60)
        answers = [next(call) for _ in range(12)]
        during = scrape(metrics_port)
        scraped.set()
        list(call)
        assert value(during, "facestream_detector_open_streams") == 1
        assert len(answers[-1].faces) == 2
        assert value(during, "facestream_detector_live_tracks") == 2
    after = scrape(metrics_port)
    assert value(after, "facestream_detector_open_streams") == 0
    assert value(after, "facestream_detector_live_tracks") == 0
