"""The live window: opened at the annotated frame's size, shrunk to fit the screen.

OpenCV's own toolbar and status bar are left out (WINDOW_GUI_NORMAL): with them the Qt
build opened 400 px wide and squeezed the picture. The screen's size comes from X11 where
there is one; elsewhere the window opens at the frame's size.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import cv2
import numpy as np

TITLE = "facestream"
SCREEN_SHARE = 0.9  # of the screen, at most, for the window (room for a desktop's bars)
FLAGS = cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL


def why_no_window() -> str | None:
    """Why no window can open here (None when one can), asked without opening one: a
    trial window stayed up at OpenCV's 400x300 default until the first picture came, and
    Qt aborts the whole process when it finds no X display."""
    if not cv2.currentUIFramework():  # the headless wheel
        return "this OpenCV has no GUI support"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return "there is no display (DISPLAY is not set)"
    return None


def screen_size() -> tuple[int, int] | None:
    """(width, height) of the default X11 screen, or None without one."""
    library = ctypes.util.find_library("X11")
    if library is None:
        return None
    x11 = ctypes.CDLL(library)
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    for name in ("XDefaultScreen", "XCloseDisplay"):
        getattr(x11, name).argtypes = [ctypes.c_void_p]
    for name in ("XDisplayWidth", "XDisplayHeight"):
        getattr(x11, name).argtypes = [ctypes.c_void_p, ctypes.c_int]
    display = x11.XOpenDisplay(None)
    if not display:
        return None
    try:
        screen = x11.XDefaultScreen(display)
        return x11.XDisplayWidth(display, screen), x11.XDisplayHeight(display, screen)
    finally:
        x11.XCloseDisplay(display)


def fitted(width: int, height: int, screen: tuple[int, int] | None) -> tuple[int, int]:
    """The window size for a width x height picture: its own size, or smaller (same
    aspect) when it would not fit SCREEN_SHARE of the screen."""
    if screen is None:
        return width, height
    scale = min(1.0, SCREEN_SHARE * screen[0] / width, SCREEN_SHARE * screen[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


class LiveWindow:
    def __init__(self) -> None:
        self._sized = False

    def show(self, image: np.ndarray) -> bool:
        """Show `image`; False when the user asked to quit (q or Esc)."""
        if not self._sized:  # opened at the first picture's size; the user may resize after
            cv2.namedWindow(TITLE, FLAGS)
            cv2.resizeWindow(TITLE, *fitted(image.shape[1], image.shape[0], screen_size()))
            self._sized = True
        cv2.imshow(TITLE, image)
        return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)

    def hold(self) -> None:
        """Keep the last picture up until a key is pressed in the window or it is closed:
        a photo shown for one frame's millisecond would flash and vanish."""
        while cv2.getWindowProperty(TITLE, cv2.WND_PROP_VISIBLE) >= 1:
            if cv2.waitKey(100) != -1:
                break
        cv2.destroyAllWindows()
