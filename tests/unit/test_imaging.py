"""Decoding request images: what is accepted and what is refused, with which error."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from services.common.errors import InvalidInput, TooLarge
from services.common.frame_limits import FrameLimits
from services.faces.imaging import (
    FORMAT_BGR8,
    FORMAT_ENCODED,
    FORMAT_GRAY8,
    decode_image,
    pyramid,
    resize_region,
)
from tests.conftest import GROUP_PHOTO

LIMIT = FrameLimits(4096 * 4096)


def test_encoded_png_and_raw_formats_decode_to_bgr():
    image = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    png = cv2.imencode(".png", image)[1].tobytes()
    np.testing.assert_array_equal(decode_image(png, FORMAT_ENCODED, 0, 0, LIMIT), image)
    np.testing.assert_array_equal(decode_image(image.tobytes(), FORMAT_BGR8, 40, 30, LIMIT), image)
    gray = decode_image(image[..., 0].tobytes(), FORMAT_GRAY8, 40, 30, LIMIT)
    assert gray.shape == (30, 40, 3)


@pytest.mark.parametrize("data,fmt,width,height,message", [
    (b"", FORMAT_ENCODED, 0, 0, "image.data is empty"),
    (b"\xff\xd8\xff\xe0garbage", FORMAT_ENCODED, 0, 0, "not a readable image"),
    (b"x" * 100, 0, 10, 10, "image.format is 0"),
    (b"x" * 100, 9, 10, 10, "image.format is 9"),
    (b"x" * 299, FORMAT_BGR8, 10, 10, "has 299 bytes; 10x10x3 raw pixels need exactly 300"),
    (b"x" * 100, FORMAT_GRAY8, 0, 10, "must be positive"),
    (b"x" * 100, FORMAT_GRAY8, -10, -10, "must be positive"),
])
def test_unreadable_images_are_invalid_input(data, fmt, width, height, message):
    with pytest.raises(InvalidInput, match=message):
        decode_image(data, fmt, width, height, LIMIT)


def test_truncated_jpeg_is_invalid_input(portrait):
    jpeg = cv2.imencode(".jpg", portrait)[1].tobytes()
    with pytest.raises(InvalidInput):
        decode_image(jpeg[:len(jpeg) // 3], FORMAT_ENCODED, 0, 0, LIMIT)


def test_too_many_pixels_is_refused_before_reading_raw_data():
    with pytest.raises(TooLarge, match="100000x100000"):
        decode_image(b"x", FORMAT_BGR8, 100_000, 100_000, LIMIT)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height gray pixels, its pixel data empty."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("width,height,message", [
    (1, 1_000_000, "each side must be 16..8192 px"),
    (9000, 100, "each side must be 16..8192 px"),
    (2000, 100, "an aspect ratio of 20:1; at most 16:1"),
    (100, 1700, "an aspect ratio of 17:1; at most 16:1"),
])
def test_shapes_the_models_cannot_use_are_refused_before_decoding(width, height, message):
    with pytest.raises(InvalidInput, match=message):
        decode_image(png_declaring(width, height), FORMAT_ENCODED, 0, 0, LIMIT)
    with pytest.raises(InvalidInput, match=message):
        decode_image(b"\0" * (width * height), FORMAT_GRAY8, width, height, LIMIT)


def test_the_widest_accepted_shapes_decode():
    image = np.zeros((16, 256, 3), np.uint8)
    assert decode_image(image.tobytes(), FORMAT_BGR8, 256, 16, LIMIT).shape == (16, 256, 3)


def test_too_many_pixels_in_an_encoded_image(portrait):
    png = cv2.imencode(".png", portrait)[1].tobytes()
    with pytest.raises(TooLarge, match="512x512"):
        decode_image(png, FORMAT_ENCODED, 0, 0, FrameLimits(100 * 100))


def test_pyramid_levels_have_each_scales_size_and_match_resizing_the_frame_itself():
    # Each level is made from the one before it (cheaper); it must still be the frame at
    # that scale, as resizing the frame directly gives it, not a blurred or shifted copy.
    frame = cv2.resize(cv2.imread(str(GROUP_PHOTO)), (1280, 720))
    scales = [1.0, 0.4, 0.16, 0.1]
    levels = pyramid(frame, scales)
    assert [level.shape[:2] for level in levels] == [(720, 1280), (288, 512), (115, 205), (72, 128)]
    assert levels[0] is frame
    for scale, level in zip(scales[1:], levels[1:]):
        direct = resize_region(frame, (0, 0, 1280, 720), scale)
        assert np.abs(level.astype(int) - direct).mean() < 1.5  # a 1 px shift: 3.9-10.9


@pytest.mark.parametrize("region, size", [
    ((100, 50, 375, 375), 128),   # a face's neighbourhood, 2.9x
    ((0, 0, 1280, 720), 0.1),     # a whole frame's coarsest level, 10x
    ((10, 10, 250, 250), 128),    # just under 2x: bilinear alone
])
def test_shrinking_matches_area_averaging(region, size):
    # The resize takes OpenCV's cheap paths (exact halving, bilinear) instead of area
    # averaging at a fractional factor; the pixels must stay what area averaging gives,
    # not an aliased or shifted copy.
    frame = cv2.resize(cv2.imread(str(GROUP_PHOTO)), (1280, 720))
    x, y, width, height = region
    scale = size / max(width, height) if size > 1 else size
    shrunk = resize_region(frame, region, scale)
    expected = cv2.resize(frame[y:y + height, x:x + width], shrunk.shape[1::-1],
                          interpolation=cv2.INTER_AREA)
    assert shrunk.shape == expected.shape
    assert np.abs(shrunk.astype(int) - expected).mean() < 1.0
