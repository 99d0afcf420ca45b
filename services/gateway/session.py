"""One page's stream: frames from the page's WebSocket to StreamDetect, results back.

The real-time rule of the Python client holds here too: at most `window` frames are in
flight; a frame that arrives while the window is full is dropped and counted, never
queued, so what the page shows never lags behind its camera. When the detector goes away
the page is told ("detector unavailable"), frames are dropped meanwhile, and the stream
is opened again with back-off; the page itself stays connected.

A page's binary message is one frame: a 12-byte header (capture time in ms as a
little-endian float64, then the page's frame number as a little-endian uint32) and the
JPEG or PNG bytes. Every frame gets one JSON text message back: `result` (the faces),
`error` (what was wrong with it) or `dropped` (the detector was behind or away); `status`
messages say when the detector goes away and comes back.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc

from client.results import response_to_record
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import image_pb2
from services.common.api_limits import MAX_HALF_LIFE_MS

log = logging.getLogger(__name__)

HEADER = struct.Struct("<dI")
# A capture time beyond this (the year 2286, in ms) is no clock's.
MAX_CAPTURE_MS = 1e13
RETRY_DELAYS_S = (0.25, 0.5, 1.0, 2.0, 4.0)

Send = Callable[[dict], Awaitable[None]]


class FrameRefused(ValueError):
    """A page's message cannot be a frame; the message says why, for the page."""


def parse_frame(data: bytes, max_bytes: int) -> tuple[float, int, bytes]:
    """(capture time in ms, frame number, image bytes) of one binary message."""
    if len(data) > max_bytes + HEADER.size:
        raise FrameRefused(f"frame of {len(data) - HEADER.size} bytes is larger than the "
                           f"gateway's max_frame_bytes ({max_bytes}): send smaller frames")
    if len(data) <= HEADER.size:
        raise FrameRefused("a frame needs a 12-byte header and the image bytes; this message "
                           f"has {len(data)} bytes")
    captured_ms, number = HEADER.unpack_from(data)
    if not 0.0 <= captured_ms <= MAX_CAPTURE_MS:  # NaN fails this too
        raise FrameRefused(f"the frame header's capture time is {captured_ms!r}; give "
                           "milliseconds since the epoch (Date.now()), or 0")
    return captured_ms, number, data[HEADER.size:]


class MessageRate:
    """At most `per_s` messages in any second; `allow()` says whether this one fits."""

    def __init__(self, per_s: int) -> None:
        self.per_s = per_s
        self._times: deque[float] = deque()

    def allow(self, now_s: float) -> bool:
        while self._times and now_s - self._times[0] >= 1.0:
            self._times.popleft()
        if len(self._times) >= self.per_s:
            return False
        self._times.append(now_s)
        return True


@dataclass
class PageOptions:
    track: bool = True  # video and camera; off for a photo
    half_life_ms: int | None = None  # None: the detector's default
    identify: bool = False  # names from the recognizer's gallery
    expressions: bool = True  # blendshapes, gaze and looking: on unless the page says not

    def to_proto(self) -> pb.DetectOptions:
        options = pb.DetectOptions(
            track=self.track, identify=self.identify, expressions=self.expressions,
            scan_mode=pb.SCAN_MODE_INCREMENTAL if self.track else pb.SCAN_MODE_FULL)
        if self.half_life_ms is not None:
            options.smoothing_half_life_ms = self.half_life_ms
        return options


def page_options(message: dict) -> PageOptions:
    """The options of a hello or options message; FrameRefused says what is wrong."""
    half_life = message.get("half_life_ms")
    if half_life is not None:
        if (isinstance(half_life, bool) or not isinstance(half_life, int | float)
                or not 0 <= half_life <= MAX_HALF_LIFE_MS):
            raise FrameRefused(f"half_life_ms is {half_life!r}; give milliseconds from 0 to "
                               f"{MAX_HALF_LIFE_MS:.0f}, or leave it out for the detector's default")
        half_life = int(half_life)
    return PageOptions(bool(message.get("track", True)), half_life,
                       bool(message.get("identify", False)),
                       bool(message.get("expressions", True)))


class PageStream:
    """Owns one StreamDetect call for one page; `offer` each frame, results go to `send`."""

    def __init__(self, open_call: Callable[[], grpc.aio.StreamStreamCall], send: Send,
                 window: int) -> None:
        self._open_call = open_call
        self._send = send
        self._window = window
        self._call: grpc.aio.StreamStreamCall | None = None
        self._reader: asyncio.Task | None = None
        self._in_flight: dict[int, float] = {}  # frame number -> when it was sent (monotonic)
        self._retry = 0
        self._reopen_at = 0.0
        self.options = PageOptions()
        self.dropped = 0
        self.detector_ok: bool | None = None

    async def offer(self, captured_ms: float, number: int, image: bytes) -> bool:
        """Send the frame on, or drop it (False) when the window is full or the detector is
        away."""
        if len(self._in_flight) >= self._window or not await self._ensure_call():
            self.dropped += 1
            # Told at once, so the page frees the frame's slot in its own window.
            await self._send({"type": "dropped", "frame": number, "dropped": self.dropped})
            return False
        request = pb.StreamDetectRequest(
            frame_id=number, options=self.options.to_proto(),
            capture_time_us=max(int(captured_ms * 1000), 1),
            image=image_pb2.Image(data=image, format=image_pb2.IMAGE_FORMAT_ENCODED))
        self._in_flight[number] = time.monotonic()
        try:
            await self._call.write(request)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError) as error:
            await self._lost(error)
            return False
        return True

    async def _ensure_call(self) -> bool:
        if self._call is not None:
            return True
        if time.monotonic() < self._reopen_at:
            return False
        self._call = self._open_call()
        self._reader = asyncio.create_task(self._read(self._call))
        return True

    async def _read(self, call: grpc.aio.StreamStreamCall) -> None:
        try:
            while True:
                response = await call.read()
                if response is grpc.aio.EOF:
                    return
                await self._answer(response)
        except grpc.aio.AioRpcError as error:
            if call is self._call:
                await self._lost(error)
        except asyncio.CancelledError:
            pass

    async def _answer(self, response: pb.StreamDetectResponse) -> None:
        sent_at = self._in_flight.pop(response.frame_id, None)
        self._retry = 0
        if not self.detector_ok:
            self.detector_ok = True
            await self._send({"type": "status", "detector": "ok"})
        record = response_to_record("page", response.frame_id, response)
        if "error" in record:
            await self._send({"type": "error", "frame": response.frame_id,
                              "message": record["error"]["message"]})
            return
        await self._send({
            "type": "result", "frame": response.frame_id, "faces": record["faces"],
            "labels": list(response.emotion_labels),
            "gateway_ms": round((time.monotonic() - sent_at) * 1000, 1) if sent_at else None,
            "dropped": self.dropped,
            "emotions_unavailable": record.get("emotions_unavailable", ""),
            "faces_omitted": record["faces_omitted"]})

    async def _lost(self, error: BaseException) -> None:
        """The stream broke: tell the page, forget what was in flight, reopen later."""
        call, self._call = self._call, None
        if call is not None:
            call.cancel()
        self._in_flight.clear()
        delay = RETRY_DELAYS_S[min(self._retry, len(RETRY_DELAYS_S) - 1)]
        self._retry += 1
        self._reopen_at = time.monotonic() + delay
        detail = error.details() if isinstance(error, grpc.aio.AioRpcError) else str(error)
        if self.detector_ok is not False:
            log.warning("detector stream lost", extra={"detail": detail})
        self.detector_ok = False
        await self._send({"type": "status", "detector": "unavailable",
                          "message": f"detector unavailable ({detail}); retrying in {delay:.2f} s"})

    async def close(self) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.cancel()
        if self._reader is not None:
            self._reader.cancel()
