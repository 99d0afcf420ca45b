"""Tiny images of absurd shapes (1 x 1,000,000 pixels, a few KB each) are refused from their
declared shape, quickly and without the memory their model inputs would take: through Detect,
StreamDetect, the recognizer's Embed and the page's gateway."""

from __future__ import annotations

import asyncio
import json
import struct
import time
import zlib

import aiohttp
import grpc
import pytest

from devkit.processes import memory_mb, service_process, web_gateway
from facestream.v1 import detector_service_pb2 as dpb
from facestream.v1 import detector_service_pb2_grpc as dpb_grpc
from facestream.v1 import image_pb2
from facestream.v1 import recognizer_service_pb2 as rpb
from facestream.v1 import recognizer_service_pb2_grpc as rpb_grpc
from services.gateway.session import HEADER
from tests.conftest import GROUP_PHOTO

ENCODED = image_pb2.IMAGE_FORMAT_ENCODED
# The detector's and recognizer's resident memory may grow this much over the whole run.
MAX_GROWTH_MB = 50
# Each refusal is answered this fast, end to end on loopback.
MAX_ANSWER_S = 0.1


def gray_png(width: int, height: int) -> bytes:
    """A real, valid grayscale PNG of zeros, compressed to a few KB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + one gray row
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))


WIDE_PNG = gray_png(1_000_000, 1)
TALL_PNG = gray_png(1, 1_000_000)
RAW_LINE = image_pb2.Image(data=b"\0" * 16_000_000, format=image_pb2.IMAGE_FORMAT_GRAY8,
                           width=16_000_000, height=1)
IMAGES = {
    "1x1,000,000 png": image_pb2.Image(data=TALL_PNG, format=ENCODED),
    "1,000,000x1 png": image_pb2.Image(data=WIDE_PNG, format=ENCODED),
    "raw 16,000,000x1 gray": RAW_LINE,
}


def timed_refusal(call) -> tuple[grpc.RpcError, float]:
    started = time.perf_counter()
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value, time.perf_counter() - started


def test_the_pngs_are_tiny():
    assert len(WIDE_PNG) < 4096 and len(TALL_PNG) < 4096


def test_detector_refuses_narrow_images_fast_and_without_memory():
    with service_process("detector", 0, ["--classifier-target", "", "--recognizer-target", ""],
                         quiet=True) as detector, \
            grpc.insecure_channel(f"127.0.0.1:{detector.port}",
                                  options=[("grpc.max_send_message_length", 32 << 20)]) as channel:
        stub = dpb_grpc.DetectorServiceStub(channel)
        # The baseline is a server that has served: one good image and one of the raw size,
        # on each RPC.
        stub.Detect(dpb.DetectRequest(image=image_pb2.Image(
            data=GROUP_PHOTO.read_bytes(), format=ENCODED)), timeout=30)
        square = image_pb2.Image(data=b"\0" * 16_000_000, format=image_pb2.IMAGE_FORMAT_GRAY8,
                                 width=4000, height=4000)
        stub.Detect(dpb.DetectRequest(image=square), timeout=60)
        list(stub.StreamDetect(iter([dpb.StreamDetectRequest(frame_id=1, image=square)]),
                               timeout=60))
        before = memory_mb(detector.pid)
        for name, image in IMAGES.items():
            error, took = timed_refusal(
                lambda image=image: stub.Detect(dpb.DetectRequest(image=image), timeout=10))
            assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, (name, error.details())
            assert "each side must be" in error.details() or "aspect ratio" in error.details()
            assert took < MAX_ANSWER_S + 0.2 * (name.startswith("raw")), (name, took)
        answers = list(stub.StreamDetect(iter(
            [dpb.StreamDetectRequest(frame_id=n + 1, image=image)
             for n, image in enumerate(IMAGES.values())]), timeout=30))
        assert [a.frame_id for a in answers] == [1, 2, 3]
        assert all(a.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0] for a in answers)
        growth = memory_mb(detector.pid) - before
    assert growth < MAX_GROWTH_MB, growth


def test_recognizer_embed_refuses_narrow_images():
    with service_process("recognizer", 0, ["--embeddings-api", "true"], quiet=True) as recognizer:
        before = memory_mb(recognizer.pid)
        with grpc.insecure_channel(f"127.0.0.1:{recognizer.port}") as channel:
            stub = rpb_grpc.RecognizerServiceStub(channel)
            for name in ("1x1,000,000 png", "1,000,000x1 png"):
                request = rpb.EmbedRequest(image=rpb.FaceImage(image=IMAGES[name]))
                error, took = timed_refusal(lambda request=request: stub.Embed(request, timeout=10))
                assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, (name, error.details())
                assert "image.image is" in error.details()
                assert took < MAX_ANSWER_S, (name, took)
        growth = memory_mb(recognizer.pid) - before
    assert growth < MAX_GROWTH_MB, growth


def test_the_page_gateway_passes_on_the_refusal():
    async def check(base: str) -> list[dict]:
        answers = []
        async with aiohttp.ClientSession() as session, \
                session.ws_connect(base + "/ws", headers={"Origin": base}) as ws:
            await ws.send_str(json.dumps({"type": "hello"}))
            for number, png in enumerate((TALL_PNG, WIDE_PNG), start=1):
                await ws.send_bytes(HEADER.pack(time.time() * 1000, number) + png)
                while True:
                    message = json.loads((await asyncio.wait_for(ws.receive(), 20)).data)
                    if message["type"] != "status":
                        answers.append(message)
                        break
        return answers

    with service_process("detector", 0, ["--classifier-target", "", "--recognizer-target", ""],
                         quiet=True) as detector:
        before = memory_mb(detector.pid)
        with web_gateway(f"127.0.0.1:{detector.port}") as gateway:
            answers = asyncio.run(check(f"http://127.0.0.1:{gateway.port}"))
        growth = memory_mb(detector.pid) - before
    assert [a["type"] for a in answers] == ["error", "error"], answers
    assert all("each side must be" in a["message"] for a in answers), answers
    assert growth < MAX_GROWTH_MB, growth
