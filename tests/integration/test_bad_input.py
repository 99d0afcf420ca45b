"""Every bad input gets the right status with a message naming the field and the limit,
and the same server then serves the next, good request."""

from __future__ import annotations

import struct
import zlib

import cv2
import grpc
import numpy as np
import pytest

from facestream.v1 import classifier_service_pb2 as cpb
from facestream.v1 import detector_service_pb2 as dpb
from facestream.v1 import image_pb2
from tests.conftest import GROUP_PHOTO

ENCODED = image_pb2.IMAGE_FORMAT_ENCODED
BGR8 = image_pb2.IMAGE_FORMAT_BGR8
GRAY8 = image_pb2.IMAGE_FORMAT_GRAY8
INVALID = grpc.StatusCode.INVALID_ARGUMENT
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: a decompression bomb's calling card."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose frame header is rewritten to claim width x height."""
    data = bytearray(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    start = data.index(b"\xff\xc0")  # SOF0: length, precision, height, width
    data[start + 5:start + 9] = struct.pack(">HH", height, width)
    return bytes(data)


JPEG = GROUP_PHOTO.read_bytes()
RNG = np.random.default_rng(5)

DETECT_CASES = [
    ("empty request", dpb.DetectRequest(), INVALID, "image.data is empty"),
    ("empty bytes", dpb.DetectRequest(image=image_pb2.Image(format=ENCODED)), INVALID, "image.data is empty"),
    ("truncated jpeg", dpb.DetectRequest(image=image_pb2.Image(data=JPEG[:300], format=ENCODED)),
     INVALID, "not a readable image"),
    ("random bytes", dpb.DetectRequest(image=image_pb2.Image(data=RNG.bytes(5000), format=ENCODED)),
     INVALID, "not a readable image"),
    ("raw length mismatch", dpb.DetectRequest(image=image_pb2.Image(data=b"\0" * 100, format=BGR8,
                                                                     width=10, height=10)),
     INVALID, "has 100 bytes; 10x10x3 raw pixels need exactly 300"),
    ("zero width", dpb.DetectRequest(image=image_pb2.Image(data=b"\0" * 100, format=GRAY8,
                                                            width=0, height=10)),
     INVALID, "must be positive"),
    ("negative size", dpb.DetectRequest(image=image_pb2.Image(data=b"\0" * 100, format=GRAY8,
                                                               width=-10, height=-10)),
     INVALID, "must be positive"),
    ("enormous raw", dpb.DetectRequest(image=image_pb2.Image(data=b"\0" * 100, format=BGR8,
                                                              width=2**31 - 1, height=2**31 - 1)),
     EXHAUSTED, "the limit is 16777216"),
    ("decompression bomb", dpb.DetectRequest(image=image_pb2.Image(data=png_claiming(60000, 60000),
                                                                    format=ENCODED)),
     EXHAUSTED, "16777216"),
    # Above the setting, below OpenCV's own 2^30 limit: only our header check refuses these.
    ("5000x5000 png bomb", dpb.DetectRequest(image=image_pb2.Image(data=png_claiming(5000, 5000),
                                                                    format=ENCODED)),
     EXHAUSTED, "5000x5000 = 25000000 pixels; the limit is 16777216"),
    ("5000x5000 jpeg bomb", dpb.DetectRequest(image=image_pb2.Image(data=jpeg_claiming(5000, 5000),
                                                                     format=ENCODED)),
     EXHAUSTED, "5000x5000 = 25000000 pixels; the limit is 16777216"),
    ("format unspecified", dpb.DetectRequest(image=image_pb2.Image(data=JPEG)), INVALID, "image.format is 0"),
    ("unknown format", dpb.DetectRequest(image=image_pb2.Image(data=JPEG, format=42)),
     INVALID, "image.format is 42"),
    ("min_score > 1", dpb.DetectRequest(image=image_pb2.Image(data=JPEG, format=ENCODED),
                                        options=dpb.DetectOptions(min_score=2)),
     INVALID, "options.min_score is 2"),
    ("min_score NaN", dpb.DetectRequest(image=image_pb2.Image(data=JPEG, format=ENCODED),
                                        options=dpb.DetectOptions(min_score=float("nan"))),
     INVALID, "options.min_score is nan"),
    ("min_score -inf", dpb.DetectRequest(image=image_pb2.Image(data=JPEG, format=ENCODED),
                                         options=dpb.DetectOptions(min_score=float("-inf"))),
     INVALID, "options.min_score is -inf"),
    ("absurd max_faces", dpb.DetectRequest(image=image_pb2.Image(data=JPEG, format=ENCODED),
                                           options=dpb.DetectOptions(max_faces=2**31 - 1)),
     INVALID, "it must be 0 (server maximum) to 256"),
    ("negative max_faces", dpb.DetectRequest(image=image_pb2.Image(data=JPEG, format=ENCODED),
                                             options=dpb.DetectOptions(max_faces=-3)),
     INVALID, "options.max_faces is -3"),
]


def good_detect(stub) -> None:
    response = stub.Detect(dpb.DetectRequest(image=image_pb2.Image(data=JPEG, format=ENCODED)), timeout=10)
    assert len(response.faces) == 4


@pytest.mark.parametrize("name,request_,code,message", DETECT_CASES, ids=[c[0] for c in DETECT_CASES])
def test_detect_refuses(detector_stub, name, request_, code, message):
    with pytest.raises(grpc.RpcError) as raised:
        detector_stub.Detect(request_, timeout=10)
    assert raised.value.code() is code, raised.value.details()
    assert message in raised.value.details()
    good_detect(detector_stub)


def test_message_over_the_size_limit(detector_stub):
    too_big = np.zeros((3000, 2000, 3), np.uint8)  # 18 MB raw, over the 16 MiB limit
    request = dpb.DetectRequest(image=image_pb2.Image(data=too_big.tobytes(), format=BGR8,
                                                      width=2000, height=3000))
    with pytest.raises(grpc.RpcError) as raised:
        detector_stub.Detect(request, timeout=10)
    assert raised.value.code() is EXHAUSTED
    assert "larger than max" in raised.value.details()
    good_detect(detector_stub)


def crop(data: bytes = b"\0" * 48 * 48, fmt=GRAY8, width=48, height=48) -> image_pb2.Image:
    return image_pb2.Image(data=data, format=fmt, width=width, height=height)


CLASSIFY_CASES = [
    ("no crops", cpb.ClassifyRequest(), "crops is empty"),
    ("too many crops", cpb.ClassifyRequest(crops=[crop()] * 257), "at most 256"),
    ("wrong size", cpb.ClassifyRequest(crops=[crop(), crop(b"\0" * 64 * 64, width=64, height=64)]),
     "crops[1] is 64x64; crops must be 48x48"),
    ("wrong type", cpb.ClassifyRequest(crops=[crop(b"\0" * 48 * 48 * 3, fmt=BGR8)]),
     "crops must be IMAGE_FORMAT_GRAY8"),
    ("encoded crop", cpb.ClassifyRequest(crops=[crop(cv2.imencode(".png", np.zeros((48, 48), np.uint8))[1]
                                                     .tobytes(), fmt=ENCODED)]), "IMAGE_FORMAT_GRAY8"),
    ("short data", cpb.ClassifyRequest(crops=[crop(b"\0" * 10)]), "crops[0].data has 10 bytes"),
]


@pytest.mark.parametrize("name,request_,message", CLASSIFY_CASES, ids=[c[0] for c in CLASSIFY_CASES])
def test_classify_refuses(classifier_stub, name, request_, message):
    with pytest.raises(grpc.RpcError) as raised:
        classifier_stub.Classify(request_, timeout=10)
    assert raised.value.code() is INVALID
    assert message in raised.value.details()
    assert len(classifier_stub.Classify(cpb.ClassifyRequest(crops=[crop()]), timeout=10).results) == 1


def test_a_truncated_protobuf_is_invalid_argument(detector_channel, detector_stub):
    whole = dpb.DetectRequest(image=image_pb2.Image(data=JPEG, format=ENCODED)).SerializeToString()
    raw_detect = detector_channel.unary_unary("/facestream.v1.DetectorService/Detect",
                                              request_serializer=None,
                                              response_deserializer=dpb.DetectResponse.FromString)
    for broken in (whole[:len(whole) // 2], b"\xff\xff\xff"):
        with pytest.raises(grpc.RpcError) as raised:
            raw_detect(broken, timeout=10)
        assert raised.value.code() is INVALID, raised.value.details()
        assert "no valid Detect message" in raised.value.details()
    good_detect(detector_stub)
