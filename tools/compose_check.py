"""`make test-docker`: the compose deployment, end to end, on this machine.

Builds the images on the local base image, starts `--scale classifier=3`, streams the
sample clip from the host through the published port and checks that every frame was
answered and all three replicas served crops; then streams again, stops one replica
mid-stream and checks that no frame was lost; then loads the browser page from the web
service and sends it a frame over its WebSocket, as the page does; then enrolls the
astronaut with the recognizer, checks that the detector names her, restarts the
recognizer and checks that its gallery volume kept her; then moves the gallery to
PostgreSQL (profile `replicated`), scales the recognizer to two and checks that what one
enrolls the other lists within a second. Always tears down.
Prints image sizes, build time, each replica's share and the frames lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import aiohttp
import cv2
import grpc

from client.sources import Frame
from client.streaming import FrameStreamer
from devkit import ROOT
from devkit.frames import clip_frames
from devkit.processes import unused_port, wait_serving
from facestream.v1 import detector_service_pb2 as detector_pb
from facestream.v1 import detector_service_pb2_grpc as pb_grpc
from facestream.v1 import face_pb2, image_pb2
from facestream.v1 import recognizer_service_pb2 as recognizer_pb
from facestream.v1 import recognizer_service_pb2_grpc as recognizer_pb_grpc
from services.gateway.session import HEADER

PROJECT = "facestream-check"


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


class Compose:
    def __init__(self, env: dict[str, str], profiles: tuple[str, ...] = ()) -> None:
        self._base = [*compose_command(), "-p", PROJECT, "-f", str(ROOT / "compose.yaml"),
                      *(arg for profile in profiles for arg in ("--profile", profile))]
        self._env = {**os.environ, **env}
        self.env = env

    def __call__(self, *args: str, capture: bool = False) -> str:
        result = subprocess.run([*self._base, *args], cwd=ROOT, env=self._env, check=True,
                                text=True, capture_output=capture)
        return result.stdout if capture else ""


def clip_repeated(repeat: int) -> list[Frame]:
    images = clip_frames()
    return [Frame("clip", i, images[i % len(images)]) for i in range(len(images) * repeat)]


def stream(target: str, frames: list[Frame], on_answer=None) -> dict:
    with grpc.insecure_channel(target) as channel:
        streamer = FrameStreamer(pb_grpc.DetectorServiceStub(channel), window=4, drop_when_behind=False)
        ids, degraded = [], 0
        for frame, response, _ in streamer.run(frames):
            ids.append(frame.index)
            statuses = {face.emotion_status for face in response.faces}
            degraded += response.HasField("error") or statuses != {face_pb2.EMOTION_STATUS_OK}
            if on_answer:
                on_answer(len(ids))
    return {"sent": len(frames), "answered": len(ids), "in_order": ids == sorted(ids),
            "without_emotions": degraded}


def crops_by_replica(metrics_port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    shares = {}
    for line in text.splitlines():
        if line.startswith("facestream_detector_classified_crops_total{"):
            replica = line.split('replica="', 1)[1].split('"', 1)[0]
            shares[replica] = float(line.rsplit(" ", 1)[1])
    return shares


def build(compose: Compose) -> None:
    started = time.monotonic()
    Compose(compose.env, profiles=("replicated",))("build")  # PostgreSQL's image too
    build_s = time.monotonic() - started
    for image in ("facestream/detector:latest", "facestream/classifier:latest",
                  "facestream/web:latest", "facestream/recognizer:latest",
                  "facestream/postgres:latest"):
        size = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image],
                              check=True, capture_output=True, text=True).stdout.strip()
        print(f"image {image}: {int(size) / 1e6:.0f} MB")
    print(f"build: {build_s:.0f} s")


def check_every_replica_serves(target: str, metrics_port: int) -> list[str]:
    """One pass of the clip: every frame answered in order, crops spread over 3 replicas."""
    first = stream(target, clip_repeated(1))
    shares = crops_by_replica(metrics_port)
    total = sum(shares.values())
    print(f"clip: {json.dumps(first)}")
    print("replica shares: " + ", ".join(f"{r} {n:.0f} ({n / total:.0%})" for r, n in sorted(shares.items())))
    failures = []
    if first["answered"] != first["sent"] or not first["in_order"]:
        failures.append(f"not every frame answered in order: {first}")
    if len(shares) != 3 or min(shares.values()) == 0:
        failures.append(f"expected 3 replicas serving crops, got {shares}")
    return failures


def check_a_replica_stopping_loses_nothing(compose: Compose, target: str) -> list[str]:
    """Four passes of the clip; one replica is stopped after frame 100."""
    victim = compose("ps", "-q", "classifier", capture=True).split()[1]
    stopper: list[threading.Thread] = []
    stop_errors: list[str] = []

    def docker_stop() -> None:
        result = subprocess.run(["docker", "stop", victim], capture_output=True, text=True)
        if result.returncode != 0:
            stop_errors.append(f"docker stop {victim[:12]} failed: {result.stderr.strip()}")

    def stop_one(answered: int) -> None:
        if answered == 100 and not stopper:
            stopper.append(threading.Thread(target=docker_stop))
            stopper[0].start()

    second = stream(target, clip_repeated(4), on_answer=stop_one)
    for thread in stopper:
        thread.join()
    lost = second["sent"] - second["answered"]
    print(f"replica {victim[:12]} stopped after frame 100: {json.dumps(second)}; frames lost {lost}")
    failures = list(stop_errors)
    if not stopper:
        failures.append("the replica was never stopped")
    if lost or not second["in_order"]:
        failures.append(f"frames lost or reordered with a replica stopping: {second}")
    if second["without_emotions"]:
        failures.append(f"{second['without_emotions']} frames came back without emotions")
    return failures


def check_the_web_page(web_port: int) -> list[str]:
    """The page loads, and a frame sent over its WebSocket comes back with the face."""
    base = f"http://127.0.0.1:{web_port}"
    frame = cv2.imencode(".jpg", clip_frames(1)[0])[1].tobytes()

    async def round_trip() -> dict:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 60
            while True:  # the web service starts once the detector is healthy
                try:
                    async with session.get(base + "/healthz") as health:
                        if health.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{base}/healthz not ready after 60 s")
                await asyncio.sleep(1)
            page = await (await session.get(base + "/")).text()
            async with session.ws_connect(base + "/ws") as ws:
                await ws.send_str(json.dumps({"type": "hello", "track": True}))
                await ws.send_bytes(HEADER.pack(time.time() * 1000, 0) + frame)
                while True:
                    message = json.loads((await ws.receive(timeout=30)).data)
                    if message["type"] != "status":
                        return {"page_has_title": "<title>facestream</title>" in page, **message}

    try:
        answer = asyncio.run(round_trip())
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        return [f"web page: {error}"]
    faces = len(answer.get("faces", []))
    print(f"web page: loaded {answer['page_has_title']}; a frame over its WebSocket: "
          f"{answer['type']}, {faces} face(s)")
    if not answer["page_has_title"] or answer["type"] != "result" or faces != 1:
        return [f"web page: expected the page and one face back, got {answer}"]
    return []


def check_identity_survives_a_restart(compose: Compose, target: str,
                                      recognizer_port: int) -> list[str]:
    """Enroll from the host, the detector names her, the gallery outlives the container."""
    recognizer = f"127.0.0.1:{recognizer_port}"
    portrait = (ROOT / "samples/astronaut.png").read_bytes()
    try:
        wait_serving(recognizer, None, 120)
        with grpc.insecure_channel(recognizer) as channel:
            stub = recognizer_pb_grpc.RecognizerServiceStub(channel)
            stub.Enroll(recognizer_pb.EnrollRequest(name="Eileen Collins", images=[
                recognizer_pb.FaceImage(image=image_pb2.Image(
                    data=portrait, format=image_pb2.IMAGE_FORMAT_ENCODED))]), timeout=60)
        with grpc.insecure_channel(target) as channel:
            detector = pb_grpc.DetectorServiceStub(channel)
            request = detector_pb.DetectRequest(
                image=image_pb2.Image(data=portrait, format=image_pb2.IMAGE_FORMAT_ENCODED),
                options=detector_pb.DetectOptions(identify=True))
            named = [f.person_name for f in detector.Detect(request, timeout=60).faces]
        compose("restart", "recognizer")
        wait_serving(recognizer, None, 120)
        with grpc.insecure_channel(recognizer) as channel:
            stub = recognizer_pb_grpc.RecognizerServiceStub(channel)
            kept = [p.name for p in stub.ListPeople(recognizer_pb.ListPeopleRequest(),
                                                    timeout=10).people]
    except (grpc.RpcError, SystemExit) as error:
        return [f"recognizer: {error}"]
    print(f"recognizer: the detector named {named}; after a restart the gallery holds {kept}")
    failures = []
    if named != ["Eileen Collins"]:
        failures.append(f"recognizer: expected the detector to name Eileen Collins, got {named}")
    if kept != ["Eileen Collins"]:
        failures.append(f"recognizer: the gallery lost her across a restart: {kept}")
    return failures


def two_unused_ports() -> int:
    """A port p such that p and p + 1 are both free (a scaled service's host port range)."""
    while True:
        port = unused_port()
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue


def check_replicas_share_a_gallery(compose: Compose) -> list[str]:
    """Two recognizers over one PostgreSQL gallery: enrolled through one, listed by the other."""
    first = two_unused_ports()
    replicated = Compose({**compose.env, "FACESTREAM_HOST_RECOGNIZER_PORT": f"{first}-{first + 1}",
                          "FACESTREAM_GALLERY": "postgresql://postgres:facestream@postgres:5432/facestream"},
                         profiles=("replicated",))
    replicated("up", "-d", "--scale", "classifier=3", "--scale", "recognizer=2")
    targets = [f"127.0.0.1:{first}", f"127.0.0.1:{first + 1}"]
    portrait = (ROOT / "samples/astronaut.png").read_bytes()
    try:
        for target in targets:
            wait_serving(target, None, 180)
        with grpc.insecure_channel(targets[0]) as one, grpc.insecure_channel(targets[1]) as other:
            first_replica = recognizer_pb_grpc.RecognizerServiceStub(one)
            second_replica = recognizer_pb_grpc.RecognizerServiceStub(other)
            first_replica.Enroll(recognizer_pb.EnrollRequest(name="Ada", images=[
                recognizer_pb.FaceImage(image=image_pb2.Image(
                    data=portrait, format=image_pb2.IMAGE_FORMAT_ENCODED))]), timeout=60)
            started, listed = time.monotonic(), []
            while "Ada" not in listed and time.monotonic() - started < 1.0:
                listed = [p.name for p in second_replica.ListPeople(
                    recognizer_pb.ListPeopleRequest(), timeout=10).people]
            seconds = time.monotonic() - started
    except (grpc.RpcError, SystemExit) as error:
        return [f"replicated recognizers: {error}"]
    print(f"replicated recognizers: enrolled through one, the other lists {listed} "
          f"after {seconds:.2f} s")
    return [] if "Ada" in listed else [f"replicated recognizers: the other replica lists {listed}"]


def main() -> int:
    # Docker publishes these on the host; it cannot report ports it picked to compose.
    port, metrics_port, web_port = unused_port(), unused_port(), unused_port()
    recognizer_port = unused_port()
    compose = Compose({"FACESTREAM_HOST_PORT": str(port), "FACESTREAM_HOST_METRICS_PORT": str(metrics_port),
                       "FACESTREAM_HOST_WEB_PORT": str(web_port),
                       "FACESTREAM_HOST_RECOGNIZER_PORT": str(recognizer_port)})
    failures = []
    try:
        build(compose)
        compose("up", "-d", "--scale", "classifier=3")
        target = f"127.0.0.1:{port}"
        try:
            wait_serving(target, None, 240)
        except SystemExit as error:  # the services' logs below say why
            failures.append(str(error))
        else:
            failures += check_every_replica_serves(target, metrics_port)
            failures += check_a_replica_stopping_loses_nothing(compose, target)
            failures += check_the_web_page(web_port)
            failures += check_identity_survives_a_restart(compose, target, recognizer_port)
            failures += check_replicas_share_a_gallery(compose)
    finally:
        if failures:
            print(compose("logs", "--no-color", "--tail", "200", capture=True)[-20000:])
        Compose(compose.env, profiles=("replicated",))("down", "-v", "--remove-orphans")
    for failure in failures:
        print(f"FAILED: {failure}")
    print("test-docker: " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
