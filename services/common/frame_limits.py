"""The shapes of frame a service accepts from its callers."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import InvalidInput, TooLarge


@dataclass(frozen=True)
class FrameLimits:
    """The frames a service accepts. The pixel count bounds the decoded frame; the sides and
    the aspect ratio bound the model inputs it becomes (a 1 x 1,000,000 image has few pixels
    but pads to an input of many)."""

    max_pixels: int = 4096 * 4096
    min_side: int = 16
    max_side: int = 8192
    max_aspect: float = 16.0

    def check(self, width: int, height: int, field: str) -> None:
        """Raises TooLarge for too many pixels, InvalidInput for a shape outside the limits."""
        if width * height > self.max_pixels:
            raise TooLarge(f"{field} is {width}x{height} = {width * height} pixels; the limit "
                           f"is {self.max_pixels}: downscale it")
        if not self.min_side <= min(width, height) or max(width, height) > self.max_side:
            raise InvalidInput(f"{field} is {width}x{height}; each side must be "
                               f"{self.min_side}..{self.max_side} px")
        if max(width, height) > self.max_aspect * min(width, height):
            raise InvalidInput(f"{field} is {width}x{height}, an aspect ratio of "
                               f"{max(width, height) / min(width, height):.0f}:1; at most "
                               f"{self.max_aspect:g}:1 is accepted: crop or pad it")
