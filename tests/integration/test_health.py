"""grpc.health.v1: NOT_SERVING until the model is loaded and warmed, then SERVING, and
NOT_SERVING again while shutting down. Reflection lists the services."""

from __future__ import annotations

import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devkit.processes import unused_port
from tests.conftest import EMOTION_MODEL

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def test_classifier_health_follows_the_model(tmp_path):
    from services.classifier.server import create_server
    from services.classifier.settings import ClassifierSettings

    port = unused_port()
    started: dict = {}
    # An empty model cache: the model is converted for LiteRT first, which takes seconds,
    # all of them NOT_SERVING.
    settings = ClassifierSettings(port=port, model=str(EMOTION_MODEL), model_cache=str(tmp_path))
    thread = threading.Thread(target=lambda: started.setdefault("server", create_server(settings)))
    thread.start()
    seen = []
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                for service in ("", "facestream.v1.ClassifierService"):
                    status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=1).status
                    seen.append((service, status))
            except grpc.RpcError:
                time.sleep(0.05)  # not bound yet
                continue
            if seen[-1][1] == SERVING and not thread.is_alive():
                break
            time.sleep(0.05)
        thread.join()
        running = started["server"]
        assert ("", NOT_SERVING) in seen and ("facestream.v1.ClassifierService", NOT_SERVING) in seen
        assert seen[-1] == ("facestream.v1.ClassifierService", SERVING)
        running.health.shutting_down()
        assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status == NOT_SERVING
    running.stop(0)


def test_detector_reports_serving(detector_channel):
    health = health_pb2_grpc.HealthStub(detector_channel)
    for service in ("", "facestream.v1.DetectorService"):
        assert health.Check(health_pb2.HealthCheckRequest(service=service), timeout=2).status == SERVING


def test_classifier_goes_not_serving_when_its_workers_are_lost():
    """The batcher calls this when its last worker dies (tests/unit/test_batcher.py
    kills one); here: the server wired it to its health."""
    from services.classifier.server import create_server
    from services.classifier.settings import ClassifierSettings

    with create_server(ClassifierSettings(port=0, model=str(EMOTION_MODEL))) as running:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            check = health_pb2.HealthCheckRequest(service="facestream.v1.ClassifierService")
            assert health.Check(check, timeout=5).status == SERVING
            running.classifier.batcher._on_worker_lost()
            assert health.Check(check, timeout=5).status == NOT_SERVING
