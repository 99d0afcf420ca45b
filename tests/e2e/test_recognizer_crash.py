"""Nothing acknowledged is lost: 8 callers enroll up to 1,000 people, saving a resting face
for each, and the recognizer is killed with SIGKILL midway: restarted on the same SQLite
file, or, with a PostgreSQL gallery behind two replicas, the other replica answering."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import grpc
import psycopg

from devkit.processes import service_process
from facestream.v1 import face_pb2, image_pb2
from facestream.v1 import recognizer_service_pb2 as pb
from facestream.v1 import recognizer_service_pb2_grpc as pb_grpc
from tests.conftest import PORTRAIT

PEOPLE, CALLERS, KILL_AFTER = 1000, 8, 200


def enrollment(name: str) -> pb.EnrollRequest:
    # The portrait's face region with its box given: the call is the embedding and the
    # write, which is what the crash interrupts.
    region = cv2.imread(str(PORTRAIT))[20:230, 120:330]
    return pb.EnrollRequest(name=name, images=[pb.FaceImage(
        image=image_pb2.Image(data=region.tobytes(), format=image_pb2.IMAGE_FORMAT_BGR8,
                              width=region.shape[1], height=region.shape[0]),
        faces=[face_pb2.Box(x=52, y=51, width=104, height=104)])])


BASELINE = pb.Baseline(labels=["happy", "neutral"], rest_scores=[0.2, 0.8], frames=45)


def enroll_until_killed(process, saved: list[str] | None = None) -> list[str]:
    """8 callers enroll people through `process`, each then saving the person's resting
    face, and the process is killed with SIGKILL once KILL_AFTER enrollments are
    acknowledged; the names acknowledged (and, into `saved`, the person ids whose resting
    face was)."""
    saved = [] if saved is None else saved
    acknowledged: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel:
        stub = pb_grpc.RecognizerServiceStub(channel)

        def enroll(index: int) -> None:
            if killed.is_set():
                return
            name = f"person-{index:04d}"
            try:
                person = stub.Enroll(enrollment(name), timeout=30)
            except grpc.RpcError:
                return  # in flight when the process died: never acknowledged
            with lock:
                acknowledged.append(name)
                if len(acknowledged) == KILL_AFTER:
                    process.popen.send_signal(signal.SIGKILL)
                    killed.set()
            try:
                stub.SaveBaseline(pb.SaveBaselineRequest(person_id=person.person_id,
                                                         baseline=BASELINE), timeout=30)
            except grpc.RpcError:
                return
            with lock:
                saved.append(person.person_id)

        with ThreadPoolExecutor(CALLERS) as pool:
            list(pool.map(enroll, range(PEOPLE)))
    assert process.popen.wait(timeout=10) == -signal.SIGKILL
    assert killed.is_set() and len(acknowledged) >= KILL_AFTER
    return acknowledged


def people_of(process) -> list:
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel:
        return list(pb_grpc.RecognizerServiceStub(channel).ListPeople(pb.ListPeopleRequest(),
                                                                      timeout=10).people)


def check_nothing_lost(acknowledged: list[str], people: list) -> None:
    names = {p.name for p in people}
    assert set(acknowledged) <= names, sorted(set(acknowledged) - names)[:5]
    assert len(names) < PEOPLE  # it really was killed midway
    assert all(p.faces == 1 for p in people)  # no half-written enrollment


def test_sigkill_midway_loses_no_acknowledged_enrollment(tmp_path):
    gallery = tmp_path / "gallery.sqlite3"
    saved: list[str] = []
    with service_process("recognizer", 0, ["--gallery", str(gallery)], quiet=True) as process:
        acknowledged = enroll_until_killed(process, saved)

    with sqlite3.connect(gallery) as db:  # the file opens cleanly after the crash
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = {row[0] for row in db.execute("SELECT person_id FROM resting_faces")}
    assert saved and set(saved) <= kept
    with service_process("recognizer", 0, ["--gallery", str(gallery)], quiet=True) as process:
        check_nothing_lost(acknowledged, people_of(process))


def test_one_of_two_replicas_killed_the_other_has_every_enrollment(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS resting_faces, embeddings, people")
    args = ["--gallery", postgres_url, "--embedding-workers", "1"]
    with service_process("recognizer", 0, args, quiet=True) as survivor, \
            service_process("recognizer", 0, args, quiet=True) as victim:
        acknowledged = enroll_until_killed(victim)
        # The survivor hears of each commit within a fraction of a second (measured in
        # test_shared_gallery.py); a loaded machine gets a few seconds here.
        deadline = time.monotonic() + 5
        while (len(people_of(survivor)) < len(acknowledged)
               and time.monotonic() < deadline):
            time.sleep(0.2)
        check_nothing_lost(acknowledged, people_of(survivor))
