"""Shared fixtures: real servers on loopback ports, real models, the bundled samples."""

from __future__ import annotations

from pathlib import Path

import cv2
import grpc
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CLIP = ROOT / "samples/sample_clip.mp4"
GROUP_PHOTO = ROOT / "samples/group.jpg"
PORTRAIT = ROOT / "samples/astronaut.png"
CAMERAMAN = ROOT / "samples/camera.png"  # a second person (scikit-image, public domain)
FACE_FREE_PHOTO = ROOT / "samples/face_free/rocket.jpg"
EMOTION_MODEL = ROOT / "models/emotion_model.hdf5"
FACE_MODEL = ROOT / "models/face_detection_short_range.tflite"
FULL_RANGE_MODEL = ROOT / "models/face_detection_full_range.tflite"
FACE_MESH_MODEL = ROOT / "models/face_landmark.tflite"
FACE_LANDMARKER_MODEL = ROOT / "models/face_landmarker.task"


def pytest_sessionstart(session):
    missing = [p for p in (SAMPLE_CLIP, GROUP_PHOTO, PORTRAIT, CAMERAMAN, FACE_FREE_PHOTO,
                           EMOTION_MODEL, FACE_MODEL, FULL_RANGE_MODEL, FACE_MESH_MODEL)
               if not p.exists()]
    if missing:
        raise pytest.UsageError(f"missing {', '.join(map(str, missing))}: run `make test`, "
                                "which fetches models and builds the samples first")


@pytest.fixture(scope="session")
def portrait():
    return cv2.imread(str(PORTRAIT))


@pytest.fixture(scope="session")
def classifier_server():
    from services.classifier.server import create_server
    from services.classifier.settings import ClassifierSettings

    with create_server(ClassifierSettings(port=0, model=str(EMOTION_MODEL),
                                          max_batch_size=32)) as running:
        yield running


@pytest.fixture(scope="session")
def detector_server(classifier_server):
    from services.detector.server import create_server
    from services.detector.settings import DetectorSettings

    with create_server(DetectorSettings(
            port=0, detector_model=str(FACE_MODEL),
            classifier_target=f"127.0.0.1:{classifier_server.port}")) as running:
        yield running


@pytest.fixture(scope="session")
def recognizer_server(tmp_path_factory):
    from services.recognizer.server import create_server
    from services.recognizer.settings import RecognizerSettings

    gallery = tmp_path_factory.mktemp("recognizer") / "gallery.sqlite3"
    with create_server(RecognizerSettings(port=0, gallery=str(gallery),
                                          embeddings_api=True)) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server (Debian's package) on a loopback port, for the session."""
    from devkit.postgres import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def recognizer_channel(recognizer_server):
    with grpc.insecure_channel(f"127.0.0.1:{recognizer_server.port}") as channel:
        yield channel


@pytest.fixture(scope="session")
def recognizer_stub(recognizer_channel):
    from facestream.v1 import recognizer_service_pb2_grpc

    return recognizer_service_pb2_grpc.RecognizerServiceStub(recognizer_channel)


@pytest.fixture(scope="session")
def classifier_channel(classifier_server):
    with grpc.insecure_channel(f"127.0.0.1:{classifier_server.port}") as channel:
        yield channel


@pytest.fixture(scope="session")
def detector_channel(detector_server):
    with grpc.insecure_channel(f"127.0.0.1:{detector_server.port}") as channel:
        yield channel


@pytest.fixture(scope="session")
def detector_stub(detector_channel):
    from facestream.v1 import detector_service_pb2_grpc

    return detector_service_pb2_grpc.DetectorServiceStub(detector_channel)


@pytest.fixture(scope="session")
def classifier_stub(classifier_channel):
    from facestream.v1 import classifier_service_pb2_grpc

    return classifier_service_pb2_grpc.ClassifierServiceStub(classifier_channel)


def detect_with(settings, request):
    """Start a detector with `settings`, send one Detect `request` in plaintext, stop it."""
    from facestream.v1 import detector_service_pb2_grpc
    from services.detector.server import create_server

    with (create_server(settings) as running,
          grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel):
        stub = detector_service_pb2_grpc.DetectorServiceStub(channel)
        return stub.Detect(request, timeout=10)
