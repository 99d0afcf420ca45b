"""The browser page in a real headless Chromium (Debian's, installed by
deploy/ensure-chromium.sh), through the real gateway, over real services. The gateway's
refusals are tested against its WebSocket directly in tests/integration/test_web_gateway.py."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from pathlib import Path

import cv2
import pytest
from playwright.sync_api import sync_playwright

from client.labels import intersects
from devkit.frames import clip_frames, write_y4m
from devkit.processes import service_process, unused_port, web_gateway
from tests.conftest import FACE_MODEL, GROUP_PHOTO, ROOT

ARTEFACTS = ROOT / "out/test-artefacts"


def wait_until(page, expression: str, timeout: float = 30_000) -> None:
    """Poll `expression` in the page until it is true. Not Playwright's wait_for_function:
    that evaluates a string inside the page, which the page's own Content-Security-Policy
    (no eval) forbids, and the page is tested under its real policy."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout / 1000:.0f} s: {expression}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def chromium() -> str:
    done = subprocess.run([str(ROOT / "deploy/ensure-chromium.sh")], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory):
    """The sample clip as Chromium's fake camera, played at 30 fps."""
    path = tmp_path_factory.mktemp("camera") / "clip.y4m"
    write_y4m(clip_frames(), path, fps=30)
    return path


@pytest.fixture(scope="module")
def browser(chromium, camera_file):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=[
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={camera_file}"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def gateway(detector_server):
    with web_gateway(f"127.0.0.1:{detector_server.port}") as process:
        yield f"http://127.0.0.1:{process.port}"


def page_state(page) -> dict:
    """What the page knows and its status line, read in one go (results keep arriving)."""
    return page.evaluate("""() => ({answered: facestream.answered, fps: facestream.fps,
        rtt: facestream.rttP50, connection: facestream.connection, detector: facestream.detector,
        faces: facestream.lastResult ? facestream.lastResult.faces : [],
        status: document.getElementById('status').textContent})""")


def test_the_camera_page_draws_a_box_and_label_on_the_face(browser, gateway):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    opened = time.monotonic()
    page.goto(gateway + "/")
    wait_until(page, "facestream.lastResult && facestream.lastResult.faces.length > 0",
               timeout=10_000)
    first_face_s = time.monotonic() - opened
    # The face, and the overlay canvas across its box's left edge (the stroke is a few
    # pixels wide and anti-aliased), read in one go: a newer result redraws the overlay.
    face, pixels = page.evaluate("""() => {
        const face = facestream.lastResult.faces[0];
        const c = document.getElementById('overlay'), at = c.getBoundingClientRect();
        const density = window.devicePixelRatio || 1;
        const [x, y, w, h] = facestream.drawn[0].box;  // page pixels
        const data = c.getContext('2d').getImageData(Math.round((x - at.left) * density) - 3,
          Math.round((y + h / 2 - at.top) * density), 7, 1).data;
        return [face, Array.from(data)]; }""")
    assert face["track_id"] == 1 and face["smoothed_emotion"] == "happy"
    strongest = max((pixels[i:i + 4] for i in range(0, len(pixels), 4)), key=lambda p: p[3])
    assert strongest[3] >= 200, pixels  # the box is drawn there
    assert all(abs(a - b) <= 8 for a, b in zip(strongest[:3], [240, 200, 40])), strongest  # happy
    page.wait_for_timeout(3000)
    state = page_state(page)
    shown = int(state["status"].split("answered ")[1].split(" ")[0])  # it counts frames
    assert shown >= 30 and state["answered"] >= shown
    assert state["connection"] == "open" and state["detector"] == "ok"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "web_page.png"))
    # Timings are printed for the record (make bench measures speed; tests do not).
    print(f"first face after {first_face_s:.2f} s; {state['fps']} fps, rtt p50 {state['rtt']:.1f} ms")
    page.close()


def test_a_photo_chosen_from_disk_gets_its_overlays(browser, gateway):
    page = browser.new_page()
    page.goto(gateway + "/?camera=off")
    page.set_input_files("#file", str(GROUP_PHOTO))
    wait_until(page, "facestream.lastResult && facestream.lastResult.faces.length === 4",
               timeout=10_000)
    faces = page_state(page)["faces"]
    assert all(face["track_id"] == 0 for face in faces)  # a photo stands alone
    assert len(page.query_selector_all("#bars .face")) == 4
    # Each face's head pose, in its panel; these four look at the camera (no "turned").
    assert all(set(face["pose"]) == {"yaw", "pitch", "roll"} for face in faces)
    poses = [p.text_content() for p in page.query_selector_all("#bars .face .pose")]
    assert len(poses) == 4 and all(p.startswith("yaw ") and "turned" not in p for p in poses)
    page.close()


def test_a_stopped_detector_is_reported_and_results_come_back_without_a_reload(browser):
    port = unused_port()
    detector_args = ["--detector-model", str(FACE_MODEL), "--classifier-target", ""]
    with service_process("detector", port, detector_args, quiet=True), \
            web_gateway(f"127.0.0.1:{port}") as gateway:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{gateway.port}/")
            wait_until(page, "facestream.answered > 5", timeout=20_000)
            with_detector = page_state(page)["answered"]
    # (the gateway stopped with the block above; run it again against a detector that
    # goes away while the page stays open)
    with web_gateway(f"127.0.0.1:{port}") as gateway:
        with service_process("detector", port, detector_args, quiet=True):
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{gateway.port}/")
            wait_until(page, "facestream.answered > 5", timeout=20_000)
        # the detector is stopped now; the page stays connected to the gateway
        wait_until(page, "document.getElementById('status').textContent"
                               ".includes('detector unavailable')", timeout=15_000)
        answered = page_state(page)["answered"]
        with service_process("detector", port, detector_args, quiet=True):
            wait_until(page, f"facestream.answered > {answered + 5}", timeout=30_000)
            assert page_state(page)["detector"] == "ok"
        page.close()
    assert with_detector > 5


def webm_clip(path: Path) -> Path:
    """The sample clip as a VP8 WebM file, which Chromium plays."""
    frames = clip_frames()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), 15,
                             (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


PICTURE_GEOMETRY = """() => {
  const state = window.facestream;
  const element = document.querySelector(state.lastResult && document.getElementById('photo').hidden
                                         ? '#video' : '#photo');
  const naturalW = element.videoWidth || element.naturalWidth;
  const naturalH = element.videoHeight || element.naturalHeight;
  const r = element.getBoundingClientRect();
  const overlay = document.getElementById('overlay').getBoundingClientRect();
  return {element: [r.left, r.top, r.width, r.height], natural: [naturalW, naturalH],
          overlay: [overlay.left, overlay.top, overlay.width, overlay.height],
          faces: state.lastResult.faces.map((f) => f.box), drawn: state.drawn,
          page: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
          hidden: [document.getElementById('video').hidden, document.getElementById('photo').hidden]};
}"""


@pytest.mark.parametrize("viewport", [(1280, 800), (800, 900), (1920, 1080)],
                         ids=lambda v: f"{v[0]}x{v[1]}")
@pytest.mark.parametrize("kind", ["photo", "video", "camera"])
def test_boxes_sit_on_the_faces_at_any_window_size(browser, gateway, tmp_path, kind, viewport):
    """Each drawn box's centre, on the screen, is where the API's box maps through the
    displayed (letterboxed) picture: within 3% of the picture's width."""
    width, height = viewport
    page = browser.new_page(viewport={"width": width, "height": height})
    if kind == "camera":
        page.goto(gateway + "/")
    else:
        page.goto(gateway + "/?camera=off")
        media = GROUP_PHOTO if kind == "photo" else webm_clip(tmp_path / "clip.webm")
        page.set_input_files("#file", str(media))
    wait_until(page, "facestream.lastResult && facestream.lastResult.faces.length > 0 && "
               "facestream.drawn.length === facestream.lastResult.faces.length", timeout=20_000)
    geometry = page.evaluate(PICTURE_GEOMETRY)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"page-{kind}-{width}x{height}.png"))
    page.close()
    # The displayed picture: the element's box, the natural picture letterboxed into it.
    ex, ey, ew, eh = geometry["element"]
    natural_w, natural_h = geometry["natural"]
    scale = min(ew / natural_w, eh / natural_h)
    px, py = ex + (ew - natural_w * scale) / 2, ey + (eh - natural_h * scale) / 2
    pw, ph = natural_w * scale, natural_h * scale
    assert geometry["overlay"] == pytest.approx([px, py, pw, ph], abs=1.5)
    # Frames travel downscaled to the page's frame_width (640): API boxes are in those pixels.
    sent = min(1.0, 640 / natural_w)
    drawn = [d["box"] for d in geometry["drawn"]]
    for x, y, w, h in geometry["faces"]:
        expected = (px + (x + w / 2) / sent * scale, py + (y + h / 2) / sent * scale)
        nearest = min(drawn, key=lambda b: (b[0] + b[2] / 2 - expected[0]) ** 2
                      + (b[1] + b[3] / 2 - expected[1]) ** 2)
        assert abs(nearest[0] + nearest[2] / 2 - expected[0]) <= 0.03 * pw
        assert abs(nearest[1] + nearest[3] / 2 - expected[1]) <= 0.03 * pw
    # One picture on the stage, none empty beside it; at 1280x800 nothing scrolls.
    assert geometry["hidden"] == ([True, False] if kind == "photo" else [False, True])
    if viewport == (1280, 800):
        assert geometry["page"][0] <= width and geometry["page"][1] <= height
    labels = [d["label"] for d in geometry["drawn"] if d["label"]]
    for a, b in itertools.combinations(labels, 2):
        assert not intersects(tuple(a), tuple(b))


def test_choosing_a_file_keeps_the_names(browser, gateway):
    """`identify` travels in every options message, not only the hello."""
    page = browser.new_page()
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    page.goto(gateway + "/?camera=off")
    page.set_input_files("#file", str(GROUP_PHOTO))
    wait_until(page, "facestream.lastResult !== null", timeout=10_000)
    page.close()
    texts = [json.loads(p) for p in sent if isinstance(p, str)]
    assert [t["type"] for t in texts][:1] == ["hello"] and any(t["type"] == "options" for t in texts)
    assert all(t.get("identify") is True for t in texts)


def test_photos_chosen_faster_than_answers_each_get_only_their_own_boxes(browser, gateway, tmp_path):
    """Forty choices 0.1 s apart: no overlay is ever drawn over a picture it was not computed
    for, and the page ends on the last photo with that photo's own boxes."""
    photos = {}  # (width, height) -> (path, faces in it)
    for name, image, faces in (("group.jpg", cv2.imread(str(GROUP_PHOTO)), 4),
                               ("astronaut.png", cv2.imread(str(ROOT / "samples/astronaut.png")), 1),
                               ("coffee.png", cv2.imread(str(ROOT / "samples/face_free/coffee.png")), 0)):
        path = tmp_path / name
        cv2.imwrite(str(path), image)
        photos[(image.shape[1], image.shape[0])] = (path, faces)
    assert len(photos) == 3  # each photo known by its size
    choices = [p for _ in range(14) for p in photos.values()][:40]
    page = browser.new_page()
    page.goto(gateway + "/?camera=off")
    wait_until(page, "facestream.connection === 'open'", timeout=10_000)
    for path, _ in choices:
        page.set_input_files("#file", str(path))
        page.wait_for_timeout(100)
    last_path, last_faces = choices[-1]
    wait_until(page, "facestream.lastResult !== null && !facestream.pending", timeout=20_000)
    state = page.evaluate("""() => ({draws: facestream.draws, picture: facestream.picture,
        drawnPicture: facestream.drawnPicture, stale: facestream.stale,
        faces: facestream.lastResult.faces.length, width: document.getElementById('photo').naturalWidth,
        height: document.getElementById('photo').naturalHeight, dropped: facestream.dropped,
        status: document.getElementById('status').textContent})""")
    assert state["draws"], state
    for draw in state["draws"]:
        path, faces = photos[(draw["width"], draw["height"])]
        assert draw["faces"] == faces, f"frame {draw['frame']} drew {draw['faces']} faces over {path.name}"
    assert photos[(state["width"], state["height"])][0] == last_path
    assert state["faces"] == last_faces and state["drawnPicture"] == state["picture"]
    assert state["dropped"] == 0 and "awaiting" not in state["status"]
    print(f"{len(state['draws'])} overlays drawn, {state['stale']} stale answers not drawn")
    page.close()


@pytest.fixture(scope="module")
def identifying_gateway(classifier_server, recognizer_server, recognizer_stub):
    """A gateway over a detector that asks the recognizer, which knows the astronaut."""
    from facestream.v1 import image_pb2
    from facestream.v1 import recognizer_service_pb2 as recognizer_pb
    from services.detector.server import create_server
    from services.detector.settings import DetectorSettings

    portrait = (ROOT / "samples/astronaut.png").read_bytes()
    person = recognizer_stub.Enroll(recognizer_pb.EnrollRequest(name="Eileen Collins", images=[
        recognizer_pb.FaceImage(image=image_pb2.Image(
            data=portrait, format=image_pb2.IMAGE_FORMAT_ENCODED))]), timeout=60)
    try:
        with (create_server(DetectorSettings(
                port=0, detector_model=str(FACE_MODEL),
                classifier_target=f"127.0.0.1:{classifier_server.port}",
                recognizer_target=f"127.0.0.1:{recognizer_server.port}")) as running,
              web_gateway(f"127.0.0.1:{running.port}") as process):
            yield f"http://127.0.0.1:{process.port}"
    finally:
        recognizer_stub.DeletePerson(recognizer_pb.DeletePersonRequest(person_id=person.person_id),
                                     timeout=10)


@pytest.mark.parametrize("viewport", [(1280, 800), (800, 900)], ids=lambda v: f"{v[0]}x{v[1]}")
def test_the_face_panel_names_the_person_and_the_chart_stays_in_view(
        browser, identifying_gateway, tmp_path, viewport):
    """Nine faces of an enrolled person: each panel is titled with her name, and the chart
    stays inside the window (the panels scroll on their own)."""
    tile = cv2.resize(cv2.imread(str(ROOT / "samples/astronaut.png")), (300, 300))
    crowd = tmp_path / "nine.png"
    cv2.imwrite(str(crowd), cv2.vconcat([cv2.hconcat([tile] * 3)] * 3))
    width, height = viewport
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(identifying_gateway + "/?camera=off")
    page.set_input_files("#file", str(crowd))
    wait_until(page, "facestream.lastResult && facestream.lastResult.faces.length === 9",
               timeout=20_000)
    titles = [t.text_content() for t in page.query_selector_all("#bars .face .title")]
    assert len(titles) == 9 and all(t.startswith("Eileen Collins · face #") for t in titles), titles
    chart = page.evaluate("""() => { const r = document.getElementById('chart')
        .getBoundingClientRect(); return [r.top, r.bottom, r.height]; }""")
    assert chart[2] >= 100 and chart[0] >= 0 and chart[1] <= height, chart
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"page-names-{width}x{height}.png"))
    page.close()


def test_the_face_panel_shows_the_expression_beyond_the_label(browser, gateway):
    """The camera shows the smiling astronaut: the panel shows her gaze and that she looks
    into the camera, her strongest blendshapes as bars (a smile among them), and once her
    track's resting face is learned, the emotion relative to it."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(gateway)
    wait_until(page, "document.querySelector('#bars .face .relative')"
                     " && !/learning/.test(document.querySelector('#bars .face .relative')"
                     ".textContent)", timeout=60_000)
    panel = page.query_selector("#bars .face")
    gaze = panel.query_selector(".gaze").text_content()
    assert gaze.startswith("gaze yaw ") and "looking at the camera" in gaze, gaze
    shapes = [row.query_selector("span").text_content()
              for row in panel.query_selector_all(".bar.shape")]
    assert len(shapes) == 5 and {"mouthSmileLeft", "mouthSmileRight"} & set(shapes), shapes
    assert panel.query_selector(".relative").text_content().startswith("relative to their rest: ")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "page-expressions-1280x800.png"))
    page.close()
