"""The web gateway's cost: the same JPEG frames, one at a time, straight to StreamDetect
(as the Python client sends them) and through the gateway's WebSocket (as the page sends
them); and eight pages opened at once, each counting its own answers and timing its first
(from opening the page's WebSocket: the wait a user sees before the first boxes)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import cv2
import grpc
import numpy as np

from devkit.frames import clip_frames
from devkit.processes import web_gateway
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import detector_service_pb2_grpc as pb_grpc
from facestream.v1 import image_pb2
from services.gateway.session import HEADER


def jpeg_frames() -> list[bytes]:
    return [cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
            for frame in clip_frames()]


def direct_ms(target: str, frames: list[bytes], seconds: float) -> list[float]:
    """Round trip per frame over StreamDetect, one frame in flight."""
    latencies: list[float] = []
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.DetectorServiceStub(channel)
        sent_at: list[float] = []

        def requests():
            deadline = time.monotonic() + seconds
            index = 0
            while time.monotonic() < deadline or index < 3:
                sent_at.append(time.perf_counter())
                yield pb.StreamDetectRequest(frame_id=index, image=image_pb2.Image(
                    data=frames[index % len(frames)], format=image_pb2.IMAGE_FORMAT_ENCODED))
                index += 1
                while len(latencies) < index:  # one in flight: wait for its answer
                    time.sleep(0.0002)

        for _ in stub.StreamDetect(requests()):
            latencies.append((time.perf_counter() - sent_at[len(latencies)]) * 1000)
    return latencies


@dataclass
class PageRun:
    latencies_ms: list[float]  # round trip per answered frame
    first_answer_ms: float | None  # from opening the WebSocket to the first result


async def page(base: str, frames: list[bytes], seconds: float, one_at_a_time: bool) -> PageRun:
    """A page: frames over the WebSocket, each answer timed."""
    import aiohttp  # noqa: PLC0415

    latencies: list[float] = []
    first_answer_ms = None
    opened = time.perf_counter()
    async with aiohttp.ClientSession() as session, session.ws_connect(base + "/ws") as ws:
        await ws.send_str(json.dumps({"type": "hello", "track": True}))
        deadline, index = time.monotonic() + seconds, 0
        while time.monotonic() < deadline or index < 3:
            started = time.perf_counter()
            await ws.send_bytes(HEADER.pack(time.time() * 1000, index) + frames[index % len(frames)])
            index += 1
            while True:
                message = json.loads((await ws.receive(timeout=30)).data)
                if message["type"] in ("result", "dropped", "error"):
                    break
            if message["type"] == "result":
                answered = time.perf_counter()
                latencies.append((answered - started) * 1000)
                if first_answer_ms is None:
                    first_answer_ms = (answered - opened) * 1000
            if not one_at_a_time:
                await asyncio.sleep(1 / 30)  # a 30 fps camera
    return PageRun(latencies, first_answer_ms)


def gateway_overhead(target: str, seconds: float) -> dict:
    frames = jpeg_frames()
    direct = direct_ms(target, frames, seconds)
    with web_gateway(target) as gateway:
        base = f"http://127.0.0.1:{gateway.port}"
        through = asyncio.run(page(base, frames, seconds, one_at_a_time=True)).latencies_ms

        async def eight() -> list[PageRun]:
            return await asyncio.gather(*(page(base, frames, seconds, False) for _ in range(8)))

        pages = asyncio.run(eight())
    return {"direct_p50_ms": round(float(np.percentile(direct, 50)), 2),
            "gateway_p50_ms": round(float(np.percentile(through, 50)), 2),
            "added_ms": round(float(np.percentile(through, 50) - np.percentile(direct, 50)), 2),
            "eight_pages_fps": [round(len(p.latencies_ms) / seconds, 1) for p in pages],
            "eight_pages_first_answer_ms": sorted(round(p.first_answer_ms)
                                                  for p in pages if p.first_answer_ms is not None)}
