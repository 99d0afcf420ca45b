"""Stream frames to StreamDetect with a bounded window of frames in flight.

When the window is full, a live source's frame is dropped (and counted) instead of
queued, so what is shown never lags behind the camera; a file source waits instead,
unless pacing at the file's own frame rate was asked for.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import cv2

from client.sources import Frame
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import image_pb2

_END = object()


# Stages a stream may not have (no tracks, no identities): left out of the summary then.
OPTIONAL_STAGES = ("track_ms", "identify_ms")


@dataclass
class StreamStats:
    read: int = 0
    sent: int = 0
    dropped: int = 0
    answered: int = 0
    errors: int = 0
    faces: int = 0
    faces_omitted: int = 0  # found but over max_faces
    frames_omitting: int = 0  # frames that left faces out
    without_emotions: int = 0  # frames whose faces came back without emotions
    last_emotions_reason: str = ""
    latencies_ms: list[float] = field(default_factory=list)
    stage_ms: dict[str, float] = field(default_factory=dict)  # sums over answered frames

    def add_timings(self, timings: pb.StageTimings) -> None:
        for name in ("decode_ms", "detect_ms", "align_ms", "classify_ms", "track_ms",
                     "identify_ms"):
            value = getattr(timings, name)
            if value or name not in OPTIONAL_STAGES:
                self.stage_ms[name] = self.stage_ms.get(name, 0.0) + value


def encode_frame(image, encoding: str) -> image_pb2.Image:
    if encoding == "raw":
        height, width = image.shape[:2]
        return image_pb2.Image(data=image.tobytes(), format=image_pb2.IMAGE_FORMAT_BGR8,
                               width=width, height=height)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError("cannot JPEG-encode frame")
    return image_pb2.Image(data=data.tobytes(), format=image_pb2.IMAGE_FORMAT_ENCODED)


class FrameStreamer:
    def __init__(self, stub, window: int, drop_when_behind: bool, encoding: str = "jpeg",
                 options: pb.DetectOptions | None = None, pace_fps: float = 0.0,
                 timeout_s: float | None = None, metadata: tuple = ()) -> None:
        self._metadata = metadata
        self._stub = stub
        self._window = threading.BoundedSemaphore(window)
        self._drop = drop_when_behind
        self._encoding = encoding
        self._options = options
        self._pace_interval = 1.0 / pace_fps if pace_fps > 0 else 0.0
        self._timeout_s = timeout_s
        self._in_flight: dict[int, tuple[Frame, float]] = {}
        self._lock = threading.Lock()
        self._requests: queue.Queue = queue.Queue()
        self._stop = threading.Event()  # set by run() when its caller is done
        self._finish = threading.Event()  # set by finish(): read no more frames
        # Capture times travel as microseconds from this epoch: one clock for the stream.
        self._epoch_us = int(time.time() * 1e6)
        self.stats = StreamStats()
        self.error: BaseException | None = None

    def finish(self) -> None:
        """Read no more frames; those in flight are still answered, then run() ends."""
        self._finish.set()

    @property
    def finishing(self) -> bool:
        return self._finish.is_set()

    def _done(self) -> bool:
        return self._stop.is_set() or self._finish.is_set()

    def _take_window_slot(self) -> bool:
        """A slot for one more frame in flight: at once or never when dropping frames,
        else wait for one, but give up when the stream stops."""
        if self._drop:
            return self._window.acquire(blocking=False)
        while not self._done():
            if self._window.acquire(timeout=0.1):
                return True
        return False

    def _produce(self, frames: Iterable[Frame]) -> None:
        frames = iter(frames)
        try:
            started = time.monotonic()
            for frame_id, frame in enumerate(frames):
                if self._done():
                    break
                self.stats.read += 1
                if self._pace_interval:
                    delay = started + frame_id * self._pace_interval - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if not self._take_window_slot():
                    if self._done():
                        break
                    self.stats.dropped += 1
                    continue
                request = pb.StreamDetectRequest(
                    frame_id=frame_id, image=encode_frame(frame.image, self._encoding),
                    capture_time_us=self._epoch_us + int(frame.time_s * 1e6))
                if self._options is not None:
                    request.options.CopyFrom(self._options)
                with self._lock:
                    self._in_flight[frame_id] = (frame, time.monotonic())
                self.stats.sent += 1
                self._requests.put(request)
        except BaseException as error:  # noqa: BLE001 - reported by run()
            self.error = error
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()  # a source generator releases its camera or file now
            self._requests.put(_END)

    def _request_iterator(self) -> Iterator[pb.StreamDetectRequest]:
        while (request := self._requests.get()) is not _END:
            yield request

    def run(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, pb.StreamDetectResponse, float]]:
        """Yield (frame, response, latency in ms) for every frame sent, in order."""
        producer = threading.Thread(target=self._produce, args=(frames,), daemon=True,
                                    name="frame-producer")
        producer.start()
        responses = self._stub.StreamDetect(self._request_iterator(), timeout=self._timeout_s,
                                            metadata=self._metadata)
        try:
            for response in responses:
                with self._lock:
                    frame, sent_at = self._in_flight.pop(response.frame_id)
                self._window.release()
                latency_ms = (time.monotonic() - sent_at) * 1000
                self.stats.answered += 1
                self.stats.latencies_ms.append(latency_ms)
                if response.HasField("error"):
                    self.stats.errors += 1
                else:
                    self.stats.faces += len(response.faces)
                    self.stats.faces_omitted += response.faces_omitted
                    self.stats.frames_omitting += response.faces_omitted > 0
                    self.stats.add_timings(response.timings)
                    if response.emotions_unavailable_reason:
                        self.stats.without_emotions += 1
                        self.stats.last_emotions_reason = response.emotions_unavailable_reason
                yield frame, response, latency_ms
        finally:
            self._stop.set()
            responses.cancel()
            producer.join()
        if self.error is not None:
            raise self.error
