"""Load generators over gRPC (asyncio, so one client process can keep 64 calls open)."""

from __future__ import annotations

import asyncio
import time

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.measure import Rate
from client.streaming import encode_frame
from facestream.v1 import classifier_service_pb2 as cpb
from facestream.v1 import classifier_service_pb2_grpc as cgrpc
from facestream.v1 import detector_service_pb2 as dpb
from facestream.v1 import detector_service_pb2_grpc as dgrpc
from facestream.v1 import image_pb2


def _run(coroutine):
    return asyncio.run(coroutine)


async def _callers(target: str, callers: int, seconds: float, call_of) -> Rate:
    """`callers` concurrent callers, each making `call_of(channel)()` back to back."""
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(target) as channel:
        call = call_of(channel)
        await call()  # connect first
        stop_at = time.perf_counter() + seconds

        async def caller():
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                await call()
                latencies.append((time.perf_counter() - t0) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        return Rate(len(latencies), time.perf_counter() - started, latencies)


def classify_load(target: str, callers: int, seconds: float, crops: int = 1) -> Rate:
    """`callers` concurrent callers, each sending `crops` crops per request, back to back;
    the rate counts requests."""
    rng = np.random.default_rng(1)
    request = cpb.ClassifyRequest(crops=[image_pb2.Image(
        data=rng.integers(0, 256, (48, 48), dtype=np.uint8).tobytes(),
        format=image_pb2.IMAGE_FORMAT_GRAY8, width=48, height=48) for _ in range(crops)])

    def call_of(channel):
        stub = cgrpc.ClassifierServiceStub(channel)
        return lambda: stub.Classify(request, timeout=30)

    return _run(_callers(target, callers, seconds, call_of))


def no_op_load(target: str, callers: int, seconds: float) -> Rate:
    """The ceiling for any RPC on that server: health checks, which do nothing, from the
    same number of callers through the same server (threads, interceptors, limits)."""
    request = health_pb2.HealthCheckRequest()

    def call_of(channel):
        stub = health_pb2_grpc.HealthStub(channel)
        return lambda: stub.Check(request, timeout=30)

    return _run(_callers(target, callers, seconds, call_of))


async def _streams(target: str, frames: list[np.ndarray], streams: int, seconds: float,
                   encoding: str, interval_s: float = 0.0, expressions: bool = False):
    images = [encode_frame(f, encoding) for f in frames]
    latencies: list[float] = []
    faces = 0
    stages = {"decode": [], "detect": [], "align": [], "classify": [], "track": [],
              "expressions": []}
    request_options = dpb.DetectOptions(expressions=expressions)
    options = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        stub = dgrpc.DetectorServiceStub(channel)
        await channel.channel_ready()
        stop_at = time.perf_counter() + seconds

        async def stream(offset: int):
            nonlocal faces
            call = stub.StreamDetect()
            frame_id = 0
            # One frame in flight per stream: latency is then pure service time.
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                await call.write(dpb.StreamDetectRequest(
                    frame_id=frame_id, image=images[(offset + frame_id) % len(images)],
                    options=request_options))
                response = await call.read()
                latencies.append((time.perf_counter() - t0) * 1000)
                assert response.frame_id == frame_id and not response.HasField("error")
                faces += len(response.faces)
                for name in stages:
                    stages[name].append(getattr(response.timings, f"{name}_ms"))
                frame_id += 1
                if interval_s:  # a camera's pace: the next frame comes interval_s after
                    await asyncio.sleep(max(0.0, t0 + interval_s - time.perf_counter()))
            await call.done_writing()

        started = time.perf_counter()
        await asyncio.gather(*(stream(i * 7) for i in range(streams)))
        elapsed = time.perf_counter() - started
    return (Rate(len(latencies), elapsed, latencies, faces),
            {k: float(np.mean(v)) for k, v in stages.items()})


def stream_load(target: str, frames: list[np.ndarray], streams: int, seconds: float,
                encoding: str = "raw", interval_s: float = 0.0, expressions: bool = False):
    """`streams` concurrent StreamDetect calls over the frames, sent raw (BGR) or as the
    client's JPEGs, each frame as soon as the last is answered or, with `interval_s`, no
    sooner than that after the last was sent (a camera's pace), with `expressions` asked
    for or not: (Rate, mean stage ms)."""
    return _run(_streams(target, frames, streams, seconds, encoding, interval_s, expressions))
