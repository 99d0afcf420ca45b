"""Turn request image bytes into a BGR frame, refusing what cannot or should not be read."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from services.common.errors import InvalidInput
from services.common.frame_limits import FrameLimits

# Values of facestream.v1.ImageFormat, kept here so the core needs no generated code;
# tests/unit/test_api_constants.py checks they equal the stubs.
FORMAT_ENCODED = 1
FORMAT_BGR8 = 2
FORMAT_GRAY8 = 3
_RAW_CHANNELS = {FORMAT_BGR8: 3, FORMAT_GRAY8: 1}


def decode_image(data: bytes, image_format: int, width: int, height: int,
                 limits: FrameLimits, field: str = "image") -> np.ndarray:
    """A (H, W, 3) uint8 BGR frame. Raises InvalidInput or TooLarge naming `field`."""
    if not data:
        raise InvalidInput(f"{field}.data is empty: send a JPEG/PNG file or raw pixels")
    if image_format == FORMAT_ENCODED:
        return _decode_encoded(data, limits, field)
    channels = _RAW_CHANNELS.get(image_format)
    if channels is None:
        raise InvalidInput(f"{field}.format is {image_format}; use IMAGE_FORMAT_ENCODED (1), "
                           "IMAGE_FORMAT_BGR8 (2) or IMAGE_FORMAT_GRAY8 (3)")
    if width <= 0 or height <= 0:
        raise InvalidInput(f"{field}.width and {field}.height must be positive for raw pixels, "
                           f"got {width}x{height}")
    if width * height > limits.max_pixels:
        limits.check(width, height, field)
    expected = width * height * channels
    if len(data) != expected:
        raise InvalidInput(f"{field}.data has {len(data)} bytes; {width}x{height}x{channels} "
                           f"raw pixels need exactly {expected}")
    limits.check(width, height, field)
    pixels = np.frombuffer(data, np.uint8).reshape(height, width, channels)
    return cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if channels == 1 else pixels


# Pillow only reads headers here; the size limit is ours (max_frame_pixels), checked
# against the declared size, so Pillow's own bomb check would only blur the message.
Image.MAX_IMAGE_PIXELS = None


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from an encoded image's header, without decoding its pixels; None
    when the bytes are no image format Pillow knows."""
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            return image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def _decode_encoded(data: bytes, limits: FrameLimits, field: str) -> np.ndarray:
    size = declared_size(data)
    if size is None:
        raise InvalidInput(f"{field}.data ({len(data)} bytes) is not a readable image: "
                           "corrupt, truncated, or not JPEG/PNG/BMP/WebP")
    width, height = size
    # Refused from the header, before decoding allocates width x height x 3 bytes: a
    # decompression bomb (a few KB declaring 20000x20000) costs nothing.
    limits.check(width, height, field)
    try:
        frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        frame = None
    if frame is None:
        raise InvalidInput(f"{field}.data ({len(data)} bytes) is not a readable image: "
                           "corrupt, truncated, or not JPEG/PNG/BMP/WebP")
    limits.check(frame.shape[1], frame.shape[0], field)  # a header that lied
    return frame


def resize_region(rgb: np.ndarray, region: tuple[int, int, int, int], scale: float) -> np.ndarray:
    """The x, y, w, h region of an image, resized by `scale` (see _resized)."""
    x, y, width, height = region
    crop = rgb[y:y + height, x:x + width]
    if scale == 1.0:
        return crop
    return _resized(crop, _scaled_size(width, height, scale))


def pyramid(rgb: np.ndarray, scales: list[float]) -> list[np.ndarray]:
    """The whole image at each of `scales` (finest first), each level made from the one
    before it: resizing costs in proportion to the pixels it reads, and the finer level
    has fewer of them than the frame."""
    height, width = rgb.shape[:2]
    levels, source = [], rgb
    for scale in scales:
        size = _scaled_size(width, height, scale)
        if size != (source.shape[1], source.shape[0]):
            source = _resized(source, size)
        levels.append(source)
    return levels


def _scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """(width, height) of a width x height image resized by `scale`: the same for a
    region resized alone and for a pyramid level, so both map back alike."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resized(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` resized to `size`: bilinear when shrinking less than 2x (it still draws on
    nearly every source pixel); otherwise halved by area averaging down to 2-4x `size`,
    bilinear to exactly 2x, and halved once more.

    Not one call with OpenCV's area averaging: at a fractional factor it takes its generic
    path, several times the cost of these steps (exact halving has a SIMD path) for
    nearly the same pixels (docs/design-notes.md).
    """
    width, height = size
    if image.shape[1] < 2 * width or image.shape[0] < 2 * height:
        return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    while image.shape[1] >= 4 * width and image.shape[0] >= 4 * height:
        image = _halved(image)
    return _halved(cv2.resize(image, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR))


def _halved(image: np.ndarray) -> np.ndarray:
    # An odd last row or column is dropped: the exact-2x path needs even sides, and the
    # error (under one source pixel) is far below the model's box noise.
    even = image[:image.shape[0] // 2 * 2, :image.shape[1] // 2 * 2]
    return cv2.resize(even, (even.shape[1] // 2, even.shape[0] // 2),
                      interpolation=cv2.INTER_AREA)
