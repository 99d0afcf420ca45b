"""Several recognizer replicas sharing one gallery in a real PostgreSQL server: what one
acknowledges, the others find within a second; a replica gone loses nothing."""

from __future__ import annotations

import time

import cv2
import grpc
import numpy as np
import psycopg
import pytest

from facestream.v1 import recognizer_service_pb2 as pb
from facestream.v1 import recognizer_service_pb2_grpc as pb_grpc
from services.recognizer.postgres_gallery import PostgresGallery
from tests.conftest import CAMERAMAN, PORTRAIT
from tests.integration.test_recognizer_service import face_image, views


def vectors(seed: int, count: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, (count, 128)).astype(np.float32)


def eventually(check, timeout_s: float = 1.0):
    """Polls `check` until it returns something true; returns it and the seconds taken."""
    started = time.monotonic()
    while True:
        value = check()
        if value or time.monotonic() - started > timeout_s:
            return value, time.monotonic() - started
        time.sleep(0.01)


@pytest.fixture
def clean_url(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS resting_faces, embeddings, people")
    return postgres_url


def test_replicas_see_each_others_changes_within_a_second(clean_url):
    first, second = PostgresGallery(clean_url, 128), PostgresGallery(clean_url, 128)
    try:
        alice = first.enroll("Alice", vectors(1, 2))
        seen, seconds = eventually(lambda: second.people())
        assert [(p.person_id, p.faces) for p in seen] == [(alice.person_id, 2)], seconds
        (match, name), = second.nearest(vectors(1, 1))
        assert name == "Alice" and match.distance < 1e-5
        # the same name enrolled through the other replica adds to the same person
        again = second.enroll("Alice", vectors(2, 1))
        assert again.person_id == alice.person_id and again.faces == 3
        assert eventually(lambda: first.people()[0].faces == 3)[0]
        assert second.delete(name="Alice") == 3
        assert eventually(lambda: not first.people())[0] is True
        assert first.nearest(vectors(1, 1)) == [None]
        assert first.delete(person_id=alice.person_id) is None
    finally:
        first.close()
        second.close()


def test_a_new_replica_starts_with_the_whole_gallery(clean_url):
    writer = PostgresGallery(clean_url, 128)
    for index in range(50):
        writer.enroll(f"person {index}", vectors(index, 1))
    writer.close()
    reader = PostgresGallery(clean_url, 128)
    try:
        assert len(reader) == 50
        (match, name), = reader.nearest(vectors(17, 1))
        assert name == "person 17"
    finally:
        reader.close()


def test_two_recognizer_services_share_one_gallery(clean_url):
    from services.recognizer.server import create_server
    from services.recognizer.settings import RecognizerSettings

    replicas = [create_server(RecognizerSettings(port=0, gallery=clean_url, embedding_workers=1))
                for _ in range(2)]
    channels = [grpc.insecure_channel(f"127.0.0.1:{r.port}") for r in replicas]
    first, second = (pb_grpc.RecognizerServiceStub(c) for c in channels)
    try:
        portrait = cv2.imread(str(PORTRAIT))
        first.Enroll(pb.EnrollRequest(name="Eileen Collins", images=[face_image(portrait)]),
                     timeout=30)

        def named() -> str:
            return second.Identify(pb.IdentifyRequest(image=face_image(views(portrait)["darker"])),
                                   timeout=30).identities[0].name
        name, seconds = eventually(named, timeout_s=1.0)
        assert name == "Eileen Collins", f"not seen by the other replica after {seconds:.2f} s"
        replicas[0].stop(0)  # one replica gone: the other still answers, with everything
        (person,) = second.ListPeople(pb.ListPeopleRequest(), timeout=5).people
        assert person.name == "Eileen Collins"
        stranger = second.Identify(pb.IdentifyRequest(image=face_image(cv2.imread(str(CAMERAMAN)))),
                                   timeout=30).identities[0]
        assert not stranger.known
    finally:
        for channel in channels:
            channel.close()
        for replica in replicas:
            replica.stop(0)
