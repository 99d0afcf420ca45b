"""The client as users run it: `python client/webcam.py ...` against real services."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from devkit.clips import crossing_clip
from devkit.scenes import astronaut_face
from tests.conftest import GROUP_PHOTO, ROOT, SAMPLE_CLIP

WEBCAM = str(ROOT / "client/webcam.py")


def run_client(*args: str, timeout: float = 180,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, WEBCAM, "--no-display", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def write_mp4(frames, path, fps: float = 15.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                             (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def test_headless_run_over_the_sample_clip(detector_server, tmp_path):
    video, jsonl = tmp_path / "annotated.mp4", tmp_path / "results.jsonl"
    result = run_client("--source", str(SAMPLE_CLIP), "--target", f"127.0.0.1:{detector_server.port}",
                        "--output", str(video), "--jsonl", str(jsonl))
    assert result.returncode == 0, result.stderr
    assert "frames read 90, answered 90, dropped 0, errors 0, faces 90" in result.stdout

    capture = cv2.VideoCapture(str(video))
    assert capture.isOpened()
    assert int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == 640 + 220  # frame + bar panel
    played = 0
    while capture.read()[0]:
        played += 1
    assert played == 90

    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(90))
    for line in lines:
        assert line["source"] == str(SAMPLE_CLIP)
        (face,) = line["faces"]
        assert list(face["scores"]) == line["labels"]  # the model's labels, in its order
        assert len(face["box"]) == 4 and len(face["keypoints"]) == 6
        assert 0.5 <= face["score"] <= 1
        assert face["emotion"] in face["scores"]
        assert abs(sum(face["scores"].values()) - 1) < 0.01
        assert face["emotion"] == max(face["scores"], key=face["scores"].get)
        assert face["track_id"] == 1  # one person, one track, the whole clip
        assert face["smoothed_emotion"] in face["smoothed_scores"]
        assert abs(sum(face["smoothed_scores"].values()) - 1) < 0.01
    assert "tracks: 1\n  #1: 6.0 s in view, 90 frames, mostly happy" in result.stdout


def test_directory_of_images_skips_other_files(detector_server, tmp_path):
    images = tmp_path / "in"
    images.mkdir()
    shutil.copy(GROUP_PHOTO, images / "a_group.jpg")
    cv2.imwrite(str(images / "b_blank.png"), cv2.imread(str(GROUP_PHOTO))[:50, :50] * 0)
    (images / "notes.txt").write_text("not an image")
    out, jsonl = tmp_path / "annotated", tmp_path / "r.jsonl"
    result = run_client("--source", str(images), "--target", f"127.0.0.1:{detector_server.port}",
                        "--output", str(out), "--jsonl", str(jsonl), "--encoding", "raw")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [(line["source"], len(line["faces"])) for line in lines] == [("a_group.jpg", 4),
                                                                       ("b_blank.png", 0)]
    assert all(face["track_id"] == 0 and face["smoothed_emotion"] is None  # pictures stand alone
               for face in lines[0]["faces"])
    assert sorted(p.name for p in out.iterdir()) == ["a_group_000000.jpg", "b_blank_000001.jpg"]
    assert "skipped 1 file that is not an image" in result.stderr
    # One line per file, its faces left to right; -q leaves them out.
    per_file = [line for line in result.stdout.splitlines() if line.startswith(("a_", "b_"))]
    assert len(per_file) == 2 and per_file[1] == "b_blank.png: 0 faces"
    emotions = [face["emotion"] for face in sorted(lines[0]["faces"], key=lambda f: f["box"][0])]
    assert per_file[0] == f"a_group.jpg: 4 faces: {', '.join(emotions)}"
    quiet = run_client("--source", str(images), "--target", f"127.0.0.1:{detector_server.port}", "-q")
    assert quiet.returncode == 0 and "a_group.jpg" not in quiet.stdout and "faces 4" in quiet.stdout


def test_a_video_without_faces_is_an_empty_result_not_an_error(detector_server, tmp_path):
    blank = cv2.imread(str(ROOT / "samples/face_free/coffee.png"))
    video = write_mp4([blank] * 10, tmp_path / "no_faces.mp4")
    timeline, plot = tmp_path / "t.csv", tmp_path / "p.png"
    result = run_client("--source", str(video), "--target", f"127.0.0.1:{detector_server.port}",
                        "--timeline", str(timeline), "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    # The header alone: the score columns follow the model's labels, which a response
    # carries only when it classified a face.
    assert timeline.read_text().splitlines() == [
        "time_s,frame,track,person,emotion,smoothed_emotion,relative_emotion,looking,smile,"
        "eyes_closed"]
    assert cv2.imread(str(plot)) is not None and "tracks: none with emotions" in result.stdout


def test_moved_ports_are_followed_through_the_variables(detector_server, recognizer_server):
    """FACESTREAM_TARGET and FACESTREAM_RECOGNIZER point the client without a flag; a target
    that finds nothing is named with the variable that moves it."""
    from devkit.processes import unused_port

    env = {"FACESTREAM_TARGET": f"127.0.0.1:{detector_server.port}",
           "FACESTREAM_RECOGNIZER": f"127.0.0.1:{recognizer_server.port}"}
    streamed = run_client("--source", str(GROUP_PHOTO), env=env)
    assert streamed.returncode == 0, streamed.stderr
    assert "faces 4" in streamed.stdout
    enrolled = run_client("--enroll", "Moved Port", "--source", str(ROOT / "samples/astronaut.png"),
                          env=env)
    try:
        assert enrolled.returncode == 0, enrolled.stderr
        assert "enrolled Moved Port" in enrolled.stdout
    finally:
        recognizer_server.recognizer.gallery.delete(name="Moved Port")
    nowhere = f"127.0.0.1:{unused_port()}"
    missing = run_client("--source", str(GROUP_PHOTO), "--connect-timeout", "1",
                         env={"FACESTREAM_TARGET": nowhere}, timeout=60)
    assert missing.returncode == 3
    assert f"no detector at {nowhere}" in missing.stderr and "FACESTREAM_TARGET" in missing.stderr


def test_ctrl_c_while_streaming_answers_the_frames_in_flight_and_every_count_agrees(
        detector_server, tmp_path):
    import signal
    import time

    jsonl, video = tmp_path / "r.jsonl", tmp_path / "a.mp4"
    process = subprocess.Popen([sys.executable, WEBCAM, "--no-display", "--pace", "--source",
                                str(SAMPLE_CLIP), "--target", f"127.0.0.1:{detector_server.port}",
                                "--jsonl", str(jsonl), "--output", str(video)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (jsonl.exists() and jsonl.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)  # streaming now: the first lines reached the file (the clip lasts 6 s)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in err, err
    answered = int(out.split("answered ")[1].split(",")[0])
    assert 0 < answered < 90
    assert len(jsonl.read_text().splitlines()) == answered
    capture = cv2.VideoCapture(str(video))
    written = 0
    while capture.read()[0]:
        written += 1
    assert written == answered


def test_timeline_has_a_row_per_track_per_frame_and_the_plot_a_panel_per_track(
        detector_server, tmp_path):
    clip = crossing_clip(astronaut_face(), frames=45, size=96)
    video = tmp_path / "crossing.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), clip.fps, (640, 480))
    for frame in clip.frames:
        writer.write(frame)
    writer.release()
    jsonl, timeline, plot = tmp_path / "r.jsonl", tmp_path / "t.csv", tmp_path / "p.png"
    result = run_client("--source", str(video), "--target", f"127.0.0.1:{detector_server.port}",
                        "--jsonl", str(jsonl), "--timeline", str(timeline), "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    faces = {(line["frame"], face["track_id"]): face
             for line in map(json.loads, jsonl.read_text().splitlines()) for face in line["faces"]}
    with timeline.open() as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["time_s", "frame", "track", "person", "emotion", "smoothed_emotion",
                             "relative_emotion", "looking", "smile", "eyes_closed",
                             "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert {row["looking"] for row in rows} == {""}  # no --expressions: nothing read
    assert sorted((int(r["frame"]), int(r["track"])) for r in rows) == sorted(faces)
    for row in rows:
        face = faces[(int(row["frame"]), int(row["track"]))]
        assert float(row["time_s"]) == pytest.approx(int(row["frame"]) / clip.fps, abs=1e-3)
        assert row["emotion"] == face["emotion"]
        assert float(row["happy"]) == pytest.approx(face["smoothed_scores"]["happy"], abs=1e-4)
    tracks = {track for _, track in faces}
    assert tracks == {1, 2}
    image = cv2.imread(str(plot))
    assert image.shape[:2] == (220 * len(tracks), 1000)  # one 220 px panel per track
    assert f"tracks: {len(tracks)}" in result.stdout


def test_timeline_of_separate_pictures_is_refused(tmp_path):
    result = run_client("--source", str(GROUP_PHOTO), "--timeline", str(tmp_path / "t.csv"))
    assert result.returncode == 2
    assert "separate pictures, which have no tracks" in result.stderr


def test_a_file_named_like_an_image_that_is_none_takes_no_frame_number(detector_server, tmp_path):
    images = tmp_path / "in"
    images.mkdir()
    (images / "a_broken.jpg").write_bytes(b"not a jpeg")
    shutil.copy(GROUP_PHOTO, images / "b_group.jpg")
    jsonl = tmp_path / "r.jsonl"
    result = run_client("--source", str(images), "--target", f"127.0.0.1:{detector_server.port}",
                        "--jsonl", str(jsonl), "-v")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [(line["source"], line["frame"]) for line in lines] == [("b_group.jpg", 0)]
    assert "could not read 1 image file (corrupt or truncated): a_broken.jpg" in result.stderr


def test_a_single_unreadable_image_exits_non_zero_and_a_truncated_one_is_named(
        detector_server, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    target = f"127.0.0.1:{detector_server.port}"
    result = run_client("--source", str(broken), "--target", target)
    assert result.returncode == 1
    assert "could not read 1 image file (corrupt or truncated): broken.png" in result.stderr
    assert f"read no frame from {broken}" in result.stderr
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(GROUP_PHOTO.read_bytes()[:30_000])
    result = run_client("--source", str(truncated), "--target", target)
    assert f"{truncated}: the JPEG ends early" in result.stderr


def test_a_web_server_at_the_target_is_named_as_such(detector_server):
    from devkit.processes import web_gateway

    with web_gateway(f"127.0.0.1:{detector_server.port}") as gateway:
        result = run_client("--source", str(GROUP_PHOTO), "--target",
                            f"127.0.0.1:{gateway.port}", "--connect-timeout", "2")
    assert result.returncode == 3
    assert "answers HTTP (HTTP/1" in result.stderr and "not gRPC" in result.stderr


@pytest.mark.parametrize("target,message", [
    ("localhost", "give HOST:PORT, with the port"),
    ("http://127.0.0.1:50051", "not a URL"),
])
def test_a_target_that_is_no_host_and_port_is_explained(target, message):
    result = run_client("--source", str(GROUP_PHOTO), "--target", target, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr


def test_the_classifier_as_target_is_named_as_not_a_detector(classifier_server):
    result = run_client("--source", str(GROUP_PHOTO), "--target",
                        f"127.0.0.1:{classifier_server.port}", timeout=60)
    assert result.returncode == 1
    assert "is not a facestream detector" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_output_type_is_refused_before_anything_runs(tmp_path):
    result = run_client("--source", str(GROUP_PHOTO), "--output", str(tmp_path / "x.webm"),
                        timeout=60)
    assert result.returncode == 2
    assert ".webm is no video type" in result.stderr
    assert not (tmp_path / "x.webm").exists()


def test_missing_camera_gets_a_clear_message():
    result = run_client("--source", "7", timeout=60)
    assert result.returncode == 2
    assert "cannot open camera 7" in result.stderr


def test_unreachable_detector_gets_a_clear_message(tmp_path):
    from devkit.processes import unused_port

    result = run_client("--source", str(GROUP_PHOTO), "--target", f"127.0.0.1:{unused_port()}",
                        "--connect-timeout", "1", timeout=60)
    assert result.returncode == 3
    assert "no detector at" in result.stderr and "make serve" in result.stderr


def test_help_shows_the_whole_description_and_the_target_default():
    result = run_client("--help", timeout=60)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "stream a camera, video, image(s) or URL to the detector and show or save the " \
           "annotated result" in text
    assert "default 127.0.0.1:50051" in text


def test_ctrl_c_while_waiting_for_the_detector_ends_without_a_traceback():
    import signal
    import time

    from devkit.processes import unused_port

    process = subprocess.Popen([sys.executable, WEBCAM, "--no-display", "--source", str(GROUP_PHOTO),
                                "--target", f"127.0.0.1:{unused_port()}", "--connect-timeout", "60"],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # started, and waiting for a detector that is not there
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert "Traceback" not in err
    assert "stopped while waiting for the detector" in err


def test_enroll_from_the_command_line_then_identify_the_clip(classifier_server, recognizer_server,
                                                             tmp_path):
    from services.detector.server import create_server
    from services.detector.settings import DetectorSettings
    from tests.conftest import FACE_MODEL, PORTRAIT

    recognizer = f"127.0.0.1:{recognizer_server.port}"
    refused = run_client("--enroll", " ", "--source", str(PORTRAIT), "--recognizer", recognizer)
    assert refused.returncode == 1 and "INVALID_ARGUMENT: name is empty" in refused.stderr
    enrolled = run_client("--enroll", "Eileen Collins", "--source", str(PORTRAIT),
                          "--recognizer", recognizer)
    assert enrolled.returncode == 0, enrolled.stderr
    assert enrolled.stdout.startswith("enrolled Eileen Collins from astronaut.png")

    jsonl = tmp_path / "r.jsonl"
    try:
        with create_server(DetectorSettings(
                port=0, detector_model=str(FACE_MODEL), recognizer_target=recognizer,
                classifier_target=f"127.0.0.1:{classifier_server.port}")) as detector:
            result = run_client("--source", str(SAMPLE_CLIP), "--target",
                                f"127.0.0.1:{detector.port}", "--identify", "--pace",
                                "--jsonl", str(jsonl))
    finally:
        recognizer_server.recognizer.gallery.delete(name="Eileen Collins")
    assert result.returncode == 0, result.stderr
    people = [face["person"] for line in map(json.loads, jsonl.read_text().splitlines())
              for face in line["faces"]]
    assert people[0] is None  # the track's first frame: the lookup is still under way
    assert people[-1] == "Eileen Collins" and people.count("Eileen Collins") >= len(people) - 10
    # --pace drops a frame when the machine falls behind, which can shorten the view.
    in_view = re.search(r"#1 \(Eileen Collins\): (\d+\.\d) s in view", result.stdout)
    assert in_view is not None and float(in_view[1]) >= 5.0, result.stdout


def test_enrolling_from_a_group_photo_lists_the_faces_then_takes_the_one_asked_for(
        recognizer_server):
    recognizer = f"127.0.0.1:{recognizer_server.port}"
    listed = run_client("--enroll", "Second", "--source", str(GROUP_PHOTO), "--recognizer",
                        recognizer)
    assert listed.returncode == 1
    assert "shows 4 faces (0: " in listed.stderr and "3: " in listed.stderr
    assert "say which with --face-index" in listed.stderr
    chosen = run_client("--enroll", "Second", "--source", str(GROUP_PHOTO), "--recognizer",
                        recognizer, "--face-index", "1")
    try:
        assert chosen.returncode == 0, chosen.stderr
        assert chosen.stdout.startswith("enrolled Second from group.jpg: the gallery holds "
                                        "1 face of Second")
    finally:
        recognizer_server.recognizer.gallery.delete(name="Second")


def test_faces_over_the_cap_are_counted_and_the_largest_kept(detector_server, tmp_path):
    jsonl = tmp_path / "r.jsonl"
    result = run_client("--source", str(GROUP_PHOTO), "--target",
                        f"127.0.0.1:{detector_server.port}", "--max-faces", "2",
                        "--jsonl", str(jsonl))
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(text) for text in jsonl.read_text().splitlines()]
    assert len(line["faces"]) == 2 and line["faces_omitted"] == 2
    assert "2 more faces found than returned, on 1 frame" in result.stdout


def test_expressions_reach_the_jsonl_with_the_tracks_baseline(detector_server, tmp_path):
    jsonl, timeline, plot = tmp_path / "r.jsonl", tmp_path / "t.csv", tmp_path / "p.png"
    result = run_client("--source", str(SAMPLE_CLIP), "--target",
                        f"127.0.0.1:{detector_server.port}", "--expressions", "--jsonl", str(jsonl),
                        "--timeline", str(timeline), "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    # The summary gains attention, blinks, smile and the emotion against the person's rest.
    assert "looking at the camera" in result.stdout and "blinks/min" in result.stdout
    assert "against their rest: " in result.stdout
    with timeline.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 90 and {row["looking"] for row in rows} <= {"0", "1"}
    assert all(0.0 <= float(row["smile"]) <= 1.0 for row in rows)
    assert rows[-1]["relative_emotion"] and not rows[0]["relative_emotion"]
    picture = cv2.imread(str(plot))
    assert picture.shape[0] > 220 * 1.4  # the emotions panel and the expressions panel below
    faces = [line["faces"][0] for line in map(json.loads, jsonl.read_text().splitlines())]
    assert len(faces) == 90
    for face in faces:
        assert face["expression_status"] == "ok"
        assert len(face["blendshapes"]) == 52 and "jawOpen" in face["blendshapes"]
        assert all(0.0 <= score <= 1.0 for score in face["blendshapes"].values())
        assert set(face["gaze"]) == {"yaw", "pitch"} and isinstance(face["looking"], bool)
    # The astronaut smiles and looks into the camera.
    smiles = [face["blendshapes"]["mouthSmileLeft"] for face in faces]
    assert np.median(smiles) > 0.5
    assert sum(face["looking"] for face in faces) >= 0.7 * len(faces)
    # The track's baseline is learned from its frames, then its relative emotion reported.
    ready = [face["baseline_ready"] for face in faces]
    assert not ready[0] and ready[-1] and ready == sorted(ready)
    assert all((face["relative_emotion"] is not None) == face["baseline_ready"] for face in faces)
    plain = tmp_path / "plain.jsonl"
    assert run_client("--source", str(SAMPLE_CLIP), "--target", f"127.0.0.1:{detector_server.port}",
                      "--jsonl", str(plain)).returncode == 0
    first = json.loads(plain.read_text().splitlines()[0])["faces"][0]
    assert first["expression_status"] == "not_requested" and first["blendshapes"] == {}
