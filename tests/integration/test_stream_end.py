"""A client that quits mid-stream is normal: one line at info, no error, no traceback."""

from __future__ import annotations

import logging
import threading
import time

from devkit.frames import clip_frames, raw_image
from facestream.v1 import detector_service_pb2 as pb


def test_a_client_quitting_mid_stream_logs_no_error(detector_stub, caplog):
    frames = [raw_image(frame) for frame in clip_frames(5)]
    answered = threading.Event()
    more = threading.Event()

    def requests():
        yield pb.StreamDetectRequest(frame_id=0, image=frames[0])
        more.wait(10)  # the stream stays open, mid-way, until the client cancels it
        yield pb.StreamDetectRequest(frame_id=1, image=frames[1])

    with caplog.at_level(logging.INFO):
        call = detector_stub.StreamDetect(requests(), timeout=30)
        for _ in call:
            answered.set()
            call.cancel()  # the user pressed q
            break
        more.set()
        deadline = time.monotonic() + 15  # the server notices the cancellation on its own time
        while time.monotonic() < deadline and not any(
                "the client ended the stream" in r.getMessage() for r in caplog.records):
            time.sleep(0.05)
    assert answered.is_set()
    assert any("the client ended the stream" in r.getMessage() for r in caplog.records)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
