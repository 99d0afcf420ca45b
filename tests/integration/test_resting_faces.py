"""A person's resting face kept with them in the recognizer's gallery: saved over the API,
there after a restart (SQLite and PostgreSQL), returned with their identity; a gallery
written before resting faces existed opens with every person; a detector's track meeting
an enrolled person saves theirs, and the next stream starts from it."""

from __future__ import annotations

import sqlite3

import cv2
import grpc
import numpy as np
import psycopg
import pytest

from devkit.frames import clip_frames, raw_image
from facestream.v1 import detector_service_pb2 as dpb
from facestream.v1 import detector_service_pb2_grpc as dgrpc
from facestream.v1 import recognizer_service_pb2 as pb
from facestream.v1 import recognizer_service_pb2_grpc as pb_grpc
from services.recognizer.gallery import RestingFace
from services.recognizer.postgres_gallery import PostgresGallery
from services.recognizer.sqlite_gallery import SqliteGallery
from tests.conftest import FACE_MODEL, PORTRAIT
from tests.integration.test_recognizer_service import face_image

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# float32 values: what a store keeps of a resting face's scores.
REST = RestingFace(LABELS, tuple(float(v) for v in np.array(
    (0.05, 0.01, 0.04, 0.1, 0.3, 0.05, 0.45), np.float32)), 120)
# The gallery schema as the release before resting faces wrote it.
PREVIOUS_SCHEMA = """
CREATE TABLE people (person_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE embeddings (
    id INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(person_id) ON DELETE CASCADE,
    vector BLOB NOT NULL
);
CREATE INDEX embeddings_by_person ON embeddings(person_id);
"""


def vectors(seed: int, count: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, (count, 128)).astype(np.float32)


def test_a_gallery_from_before_resting_faces_opens_with_every_person(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(PREVIOUS_SCHEMA)
        for index, name in enumerate(("Ada", "Grace", "Katherine")):
            db.execute("INSERT INTO people VALUES (?, ?)", (f"id{index}", name))
            db.executemany("INSERT INTO embeddings (person_id, vector) VALUES (?, ?)",
                           [(f"id{index}", v.tobytes()) for v in vectors(index, 2)])
    gallery = SqliteGallery(path, 128)
    try:
        assert [(p.name, p.faces) for p in gallery.people()] == [
            ("Ada", 2), ("Grace", 2), ("Katherine", 2)]
        assert gallery.rest_of("id1") is None
        assert gallery.save_rest("id1", REST) and not gallery.save_rest("nobody", REST)
    finally:
        gallery.close()
    reopened = SqliteGallery(path, 128)
    try:
        assert reopened.rest_of("id1") == REST and len(reopened) == 3
        assert reopened.delete(person_id="id1") == 2 and reopened.rest_of("id1") is None
    finally:
        reopened.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM resting_faces").fetchone() == (0,)
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 2


def test_postgresql_keeps_a_resting_face_for_every_replica_and_a_restart(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS resting_faces, embeddings, people")
        db.execute(PREVIOUS_SCHEMA.replace("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY")
                   .replace("BLOB", "BYTEA"))
        db.execute("INSERT INTO people VALUES ('id0', 'Ada')")
        db.execute("INSERT INTO embeddings (person_id, vector) VALUES ('id0', %s)",
                   (vectors(0).tobytes(),))
    first, second = PostgresGallery(postgres_url, 128), PostgresGallery(postgres_url, 128)
    try:
        assert [p.name for p in first.people()] == ["Ada"]  # the older tables, migrated
        assert first.save_rest("id0", REST)
        for _ in range(100):  # the other replica hears of it within a fraction of a second
            if second.rest_of("id0") == REST:
                break
            second._stop.wait(0.02)
        assert second.rest_of("id0") == REST
    finally:
        first.close()
        second.close()
    restarted = PostgresGallery(postgres_url, 128)
    try:
        assert restarted.rest_of("id0") == REST
    finally:
        restarted.close()


def test_the_api_saves_a_resting_face_and_identify_returns_it_after_a_restart(tmp_path):
    from services.recognizer.server import create_server
    from services.recognizer.settings import RecognizerSettings

    settings = RecognizerSettings(port=0, gallery=str(tmp_path / "g.sqlite3"),
                                  embedding_workers=1)
    portrait = cv2.imread(str(PORTRAIT))
    with create_server(settings) as running, \
            grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.RecognizerServiceStub(channel)
        person = stub.Enroll(pb.EnrollRequest(name="Eileen Collins",
                                              images=[face_image(portrait)]), timeout=30)
        baseline = pb.Baseline(labels=LABELS, rest_scores=REST.scores, frames=REST.frames)
        for request, code in (
                (pb.SaveBaselineRequest(person_id="nobody", baseline=baseline),
                 grpc.StatusCode.NOT_FOUND),
                (pb.SaveBaselineRequest(person_id=person.person_id, baseline=pb.Baseline(
                    labels=LABELS, rest_scores=[0.5], frames=3)),
                 grpc.StatusCode.INVALID_ARGUMENT),
                (pb.SaveBaselineRequest(person_id=person.person_id, baseline=pb.Baseline(
                    labels=LABELS, rest_scores=[2.0] * 7, frames=3)),
                 grpc.StatusCode.INVALID_ARGUMENT)):
            with pytest.raises(grpc.RpcError) as refused:
                stub.SaveBaseline(request, timeout=5)
            assert refused.value.code() == code, refused.value.details()
        stub.SaveBaseline(pb.SaveBaselineRequest(person_id=person.person_id,
                                                 baseline=baseline), timeout=5)
    with create_server(settings) as running, \
            grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        (identity,) = pb_grpc.RecognizerServiceStub(channel).Identify(
            pb.IdentifyRequest(image=face_image(portrait)), timeout=30).identities
    assert identity.known and identity.person_id == person.person_id
    assert tuple(identity.baseline.labels) == LABELS and identity.baseline.frames == REST.frames
    assert np.allclose(identity.baseline.rest_scores, REST.scores, atol=1e-6)


def stream_identified(detector_port: int) -> list:
    frames = clip_frames()
    with grpc.insecure_channel(f"127.0.0.1:{detector_port}") as channel:
        stub = dgrpc.DetectorServiceStub(channel)
        requests = (dpb.StreamDetectRequest(frame_id=index, image=raw_image(frame),
                                            capture_time_us=index * 66_667,
                                            options=dpb.DetectOptions(identify=True))
                    for index, frame in enumerate(frames))
        return [response.faces[0] for response in stub.StreamDetect(requests, timeout=120)]


def test_a_tracks_resting_face_is_saved_with_its_person_and_the_next_stream_starts_from_it(
        tmp_path, classifier_server):
    from services.detector.server import create_server as create_detector
    from services.detector.settings import DetectorSettings
    from services.recognizer.server import create_server
    from services.recognizer.settings import RecognizerSettings

    with create_server(RecognizerSettings(port=0, gallery=str(tmp_path / "g.sqlite3"),
                                          embedding_workers=1)) as recognizer:
        target = f"127.0.0.1:{recognizer.port}"
        with grpc.insecure_channel(target) as channel:
            stub = pb_grpc.RecognizerServiceStub(channel)
            stub.Enroll(pb.EnrollRequest(name="Eileen Collins", images=[
                face_image(cv2.imread(str(PORTRAIT)))]), timeout=30)
        settings = DetectorSettings(port=0, detector_model=str(FACE_MODEL),
                                    classifier_target=f"127.0.0.1:{classifier_server.port}",
                                    recognizer_target=target, baseline_ready_frames=30)
        with create_detector(settings) as detector:
            first = stream_identified(detector.port)
        assert first[-1].person_name == "Eileen Collins" and first[-1].baseline_ready
        learned_at = next(i for i, face in enumerate(first) if face.baseline_ready)
        assert learned_at >= 29  # learned from its own frames
        with grpc.insecure_channel(target) as channel:
            (identity,) = pb_grpc.RecognizerServiceStub(channel).Identify(
                pb.IdentifyRequest(image=face_image(cv2.imread(str(PORTRAIT)))),
                timeout=30).identities
        assert identity.baseline.frames >= 30 and len(identity.baseline.rest_scores) == 7
        # A new detector (nothing in memory): the track starts from the saved rest as soon
        # as it is identified, before 30 frames of its own.
        with create_detector(settings) as detector:
            second = stream_identified(detector.port)
        ready_at = next(i for i, face in enumerate(second) if face.baseline_ready)
        known_at = next(i for i, face in enumerate(second) if face.person_name)
        assert ready_at <= known_at + 1 < learned_at
        print(f"first stream: baseline learned at frame {learned_at}; second: identified at "
              f"frame {known_at}, baseline ready at frame {ready_at}")
