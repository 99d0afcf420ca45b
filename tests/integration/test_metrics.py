"""Prometheus endpoints: requests by status code, batches, faces, replica of each crop."""

from __future__ import annotations

import urllib.request

import grpc
import pytest

from devkit.processes import unused_port
from facestream.v1 import detector_service_pb2 as dpb
from facestream.v1 import detector_service_pb2_grpc as dgrpc
from facestream.v1 import image_pb2
from tests.conftest import EMOTION_MODEL, FACE_MODEL, GROUP_PHOTO


def scrape(port: int) -> str:
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()


def value(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert lines, f"no metric {prefix}"
    return float(lines[0].rsplit(" ", 1)[1])


@pytest.fixture(scope="module")
def services_with_metrics():
    from services.classifier.server import create_server as create_classifier
    from services.classifier.settings import ClassifierSettings
    from services.detector.server import create_server as create_detector
    from services.detector.settings import DetectorSettings

    # Both run in this process, so they share one registry and one metrics port is enough.
    metrics_port = unused_port()
    classifier = create_classifier(ClassifierSettings(port=0, model=str(EMOTION_MODEL),
                                                      replica_id="replica-a"))
    detector = create_detector(DetectorSettings(port=0, detector_model=str(FACE_MODEL),
                                                metrics_port=metrics_port,
                                                classifier_target=f"127.0.0.1:{classifier.port}"))
    yield detector, metrics_port
    detector.stop(0)
    classifier.stop(0)


def test_metrics_count_requests_codes_faces_and_replicas(services_with_metrics):
    detector, metrics_port = services_with_metrics
    image = image_pb2.Image(data=GROUP_PHOTO.read_bytes(), format=image_pb2.IMAGE_FORMAT_ENCODED)
    before = scrape(metrics_port)
    with grpc.insecure_channel(f"127.0.0.1:{detector.port}") as channel:
        stub = dgrpc.DetectorServiceStub(channel)
        for _ in range(3):
            stub.Detect(dpb.DetectRequest(image=image), timeout=10)
        with pytest.raises(grpc.RpcError):
            stub.Detect(dpb.DetectRequest(), timeout=10)
    after = scrape(metrics_port)

    def delta(prefix: str) -> float:
        return value(after, prefix) - (value(before, prefix) if prefix in before else 0.0)

    assert delta('facestream_rpc_requests_total{code="OK",method="Detect"}') >= 3
    assert delta('facestream_rpc_requests_total{code="INVALID_ARGUMENT",method="Detect"}') >= 1
    assert delta("facestream_detector_faces_total") >= 12
    assert delta('facestream_detector_classified_crops_total{replica="replica-a"}') >= 12
    assert delta('facestream_classifier_crops_total{replica="replica-a"}') >= 12
    assert "facestream_classifier_batch_size_bucket" in after
    assert "facestream_classifier_queue_seconds_bucket" in after
    assert 'facestream_rpc_latency_seconds_bucket{le="0.1",method="Detect"}' in after
