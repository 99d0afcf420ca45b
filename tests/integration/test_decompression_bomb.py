"""Four decompression bombs at once: each refused from its header, and the detector never
allocates what they declare."""

from __future__ import annotations

import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from devkit.processes import peak_rss_mb, service_process
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import detector_service_pb2_grpc as pb_grpc
from facestream.v1 import image_pb2

SIDE = 20000  # 400 M pixels declared; a real, valid PNG of zeros (~400 KB)


def zero_png(side: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + one gray row
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return zero_png(SIDE)


def test_four_concurrent_bombs_are_refused_without_the_memory(bomb):
    assert len(bomb) < 1_000_000
    with service_process("detector", 0, ["--classifier-target", ""], quiet=True) as detector:
        before = peak_rss_mb(detector.pid)
        with grpc.insecure_channel(f"127.0.0.1:{detector.port}") as channel:
            stub = pb_grpc.DetectorServiceStub(channel)
            request = pb.DetectRequest(image=image_pb2.Image(
                data=bomb, format=image_pb2.IMAGE_FORMAT_ENCODED))

            def send(_):
                with pytest.raises(grpc.RpcError) as caught:
                    stub.Detect(request, timeout=30)
                return caught.value

            with ThreadPoolExecutor(4) as pool:
                errors = list(pool.map(send, range(4)))
        peak = peak_rss_mb(detector.pid)
    # Decoding one would take 1.2 GB (BGR); the detector stays where it was.
    assert peak < 400 and peak - before < 50, (before, peak)
    for error in errors:
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert f"{SIDE}x{SIDE} = {SIDE * SIDE} pixels" in error.details()
