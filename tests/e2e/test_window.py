"""The client's live window on a virtual X display (Xvfb), with OpenCV's GUI wheel
(.venv-window): it opens at the annotated frame's size, shrinks to fit the screen, shows
the picture, q stops the client at once, and a photo stays up until a key is pressed."""

from __future__ import annotations

import os
import subprocess
import time

import cv2
import numpy as np
import pytest

from client.overlay import PANEL_WIDTH, size_factor
from client.window import SCREEN_SHARE, TITLE, fitted
from devkit.xdisplay import map_again, screenshot, virtual_display, window_geometry
from tests.conftest import PORTRAIT, ROOT, SAMPLE_CLIP

WINDOW_PYTHON = ROOT / ".venv-window/bin/python"
SCREEN = (1280, 800)


@pytest.fixture(scope="module")
def display():
    if not WINDOW_PYTHON.exists():
        raise pytest.UsageError("missing .venv-window: run `make test`, which builds it")
    with virtual_display(*SCREEN) as name:
        yield name


def start_client(display: str, target: str, source) -> subprocess.Popen:
    env = {**os.environ, "DISPLAY": display, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([str(WINDOW_PYTHON), str(ROOT / "client/webcam.py"), "--source",
                             str(source), "--target", target, "--pace"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def with_panel(width: int, height: int) -> tuple[int, int]:
    """The annotated frame's size for a width x height source: the picture and its bar
    panel."""
    return width + round(PANEL_WIDTH * size_factor(height)), height


def annotated_size(width: int, height: int) -> tuple[int, int]:
    """The window's size for a width x height source: the annotated frame shrunk to fit
    SCREEN."""
    return fitted(*with_panel(width, height), SCREEN)


def wait_for_window(display: str, client: subprocess.Popen, size: tuple[int, int],
                    timeout_s: float = 60) -> tuple[int, int, int, int]:
    """The window's geometry once it has `size`. Qt maps a new window at its 400x300
    default for a moment before the client's resize lands: that is not a failure, staying
    there is."""
    deadline = time.monotonic() + timeout_s
    geometry = None
    while time.monotonic() < deadline and client.poll() is None:
        geometry = window_geometry(display, TITLE)
        if geometry is not None and geometry[2:] == size:
            return geometry
        time.sleep(0.1)
    client.kill()
    raise AssertionError(f"window {geometry} never {size}; "
                         f"client said: {client.communicate()[1][-2000:]}")


def drawn_within(display: str, condition, timeout_s: float = 20) -> bool:
    """Whether `condition()` comes true before the deadline (a window is mapped before its
    first paint, later on a loaded machine).

    Xvfb here runs no window manager, and Qt, mapping its window on a CPU oversubscribed
    3x, missed the first Expose and never painted (3-6 of 20 runs; the same with OpenCV
    alone, any window flags): mapped again, the window is drawn at once. A desktop's
    window manager exposes windows as a matter of course, so the test does it once, when
    nothing is drawn after 3 s."""
    deadline = time.monotonic() + timeout_s
    exposed_again = False
    started = time.monotonic()
    while not condition():
        if time.monotonic() > deadline:
            return False
        if not exposed_again and time.monotonic() - started > 3:
            map_again(display, TITLE)
            exposed_again = True
        time.sleep(0.2)
    return True


def test_the_window_opens_at_the_frame_size_and_shows_it(display, detector_server):
    client = start_client(display, f"127.0.0.1:{detector_server.port}", SAMPLE_CLIP)
    try:
        x, y, width, height = wait_for_window(display, client, (640 + PANEL_WIDTH, 480))

        def window() -> np.ndarray:
            return screenshot(display)[y:y + height, x:x + width]

        # The bar panel's grey beside the clip's picture, not an empty window.
        assert drawn_within(display, lambda: np.median(window()[:, 640:]) == 30)
        assert window()[:, :640].std() > 30
    finally:
        client.kill()
        client.wait()


def test_a_large_frame_is_shrunk_to_fit_the_screen(display, detector_server, tmp_path):
    portrait = cv2.imread(str(PORTRAIT))
    frame = cv2.resize(portrait, (1080, 1080))
    frame = cv2.copyMakeBorder(frame, 0, 0, 420, 420, cv2.BORDER_CONSTANT, value=(90, 90, 90))
    video = tmp_path / "large.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 15, (1920, 1080))
    for _ in range(60):  # 4 s at 15 fps
        writer.write(frame)
    writer.release()
    client = start_client(display, f"127.0.0.1:{detector_server.port}", video)
    annotated = with_panel(1920, 1080)
    try:
        _, _, width, height = wait_for_window(display, client, annotated_size(1920, 1080))
    finally:
        client.kill()
        client.wait()
    assert width <= SCREEN_SHARE * SCREEN[0] and height <= SCREEN_SHARE * SCREEN[1]
    assert abs(width / height - annotated[0] / annotated[1]) < 0.01  # not distorted


def test_without_a_display_the_client_runs_without_a_window(detector_server):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([str(WINDOW_PYTHON), str(ROOT / "client/webcam.py"), "--source",
                           str(PORTRAIT), "--target", f"127.0.0.1:{detector_server.port}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]  # Qt would abort the process (134)
    assert "there is no display (DISPLAY is not set); running without a window" in done.stderr
    assert "frames read 1," in done.stdout


def test_q_stops_the_client_at_once(display, detector_server):
    client = start_client(display, f"127.0.0.1:{detector_server.port}", SAMPLE_CLIP)
    wait_for_window(display, client, annotated_size(640, 480))
    # No window manager on the display: the key goes to the window itself.
    subprocess.run(["xdotool", "search", "--name", TITLE, "key", "--window", "%1", "q"],
                   env={**os.environ, "DISPLAY": display}, check=True, capture_output=True)
    out, err = client.communicate(timeout=30)
    assert client.returncode == 0, err
    read = int(out.split("frames read ")[1].split(",")[0])
    assert read < 90  # the 6 s clip (90 frames) was not played to its end


def test_a_photo_stays_up_until_a_key_is_pressed(display, detector_server):
    client = start_client(display, f"127.0.0.1:{detector_server.port}", PORTRAIT)
    x, y, width, height = wait_for_window(display, client, annotated_size(512, 512))

    def portrait_shown() -> bool:
        return screenshot(display)[y:y + height, x:x + 512].std() > 30

    assert drawn_within(display, portrait_shown)
    time.sleep(2)  # long past the one frame's answer
    assert client.poll() is None, client.communicate()[1][-2000:]
    assert portrait_shown()  # still up, not flashed and gone
    subprocess.run(["xdotool", "search", "--name", TITLE, "key", "--window", "%1", "space"],
                   env={**os.environ, "DISPLAY": display}, check=True, capture_output=True)
    out, err = client.communicate(timeout=30)
    assert client.returncode == 0, err
    assert "press any key in the window to close it" in err
    assert "frames read 1," in out
