"""A throwaway X display (Xvfb, from Debian via deploy/ensure-xvfb.sh), its windows'
geometry and screenshots: for the client's live-window test."""

from __future__ import annotations

import os
import re
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from devkit import ROOT


@contextmanager
def virtual_display(width: int = 1280, height: int = 800):
    """Start Xvfb on a free display number; yield its name (":N")."""
    xvfb = subprocess.run([str(ROOT / "deploy/ensure-xvfb.sh")], check=True,
                          capture_output=True, text=True).stdout.strip()
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                  and not Path(f"/tmp/.X{n}-lock").exists())
    name = f":{number}"
    # -noreset: by default an X server resets when its last client leaves, and refuses
    # connections while it does; each xwininfo probe is such a client, so a window
    # opening just after one could be turned away ("could not connect to display").
    server = subprocess.Popen([xvfb, name, "-screen", "0", f"{width}x{height}x24",
                               "-nolisten", "tcp", "-noreset"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["xwininfo", "-display", name, "-root"],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"Xvfb {name} did not start")
            time.sleep(0.1)
        yield name
    finally:
        server.terminate()
        server.wait(timeout=10)


def window_geometry(display: str, title: str) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) of the window called `title`, or None while there is none."""
    info = subprocess.run(["xwininfo", "-display", display, "-name", title],
                          capture_output=True, text=True)
    if info.returncode != 0:
        return None
    values = {key: int(value) for key, value in re.findall(
        r"(Absolute upper-left X|Absolute upper-left Y|Width|Height):\s+(-?\d+)", info.stdout)}
    return (values["Absolute upper-left X"], values["Absolute upper-left Y"],
            values["Width"], values["Height"])


def screenshot(display: str) -> np.ndarray:
    """The whole screen as a BGR array, read from `xwd`'s dump (TrueColor, 24 or 32 bits
    per pixel: what Xvfb's depth 24 gives)."""
    dump = subprocess.run(["xwd", "-display", display, "-root", "-silent"], check=True,
                          capture_output=True).stdout
    header = np.frombuffer(dump[:100], ">u4")
    header_size, width, height = int(header[0]), int(header[4]), int(header[5])
    bits_per_pixel, bytes_per_line, colours = int(header[11]), int(header[12]), int(header[19])
    if bits_per_pixel not in (24, 32):
        raise ValueError(f"expected 24 or 32 bits per pixel, xwd gave {bits_per_pixel}")
    size = bits_per_pixel // 8
    start = header_size + 12 * colours  # after the header (and window name) and colour map
    rows = np.frombuffer(dump[start:start + bytes_per_line * height], np.uint8)
    pixels = rows.reshape(height, bytes_per_line)[:, :width * size].reshape(height, width, size)
    little_endian = int(header[7]) == 0  # byte_order: 0 = LSBFirst, pixels read as B, G, R(, x)
    return (pixels[:, :, :3] if little_endian else pixels[:, :, size - 1:size - 4:-1]).copy()


def map_again(display: str, title: str) -> None:
    """Unmap and map the window called `title`: a fresh Expose, as a window manager's
    reparenting or a desktop switch gives one."""
    env = {**os.environ, "DISPLAY": display}
    for action in ("windowunmap", "windowmap"):
        subprocess.run(["xdotool", "search", "--name", title, action, "%@"], env=env,
                       check=True, capture_output=True)
