"""TLS, mutual TLS and bearer tokens, between real servers and clients."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from facestream.v1 import classifier_service_pb2 as cpb
from facestream.v1 import classifier_service_pb2_grpc as cgrpc
from facestream.v1 import detector_service_pb2 as dpb
from facestream.v1 import detector_service_pb2_grpc as dgrpc
from facestream.v1 import face_pb2, image_pb2
from tests.certs import make_certificates
from tests.conftest import EMOTION_MODEL, FACE_MODEL, GROUP_PHOTO, ROOT, detect_with

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def mtls_classifier(certs):
    """A classifier that wants TLS, a client certificate and a token."""
    from services.classifier.server import create_server
    from services.classifier.settings import ClassifierSettings

    with create_server(ClassifierSettings(
            port=0, model=str(EMOTION_MODEL), tls_cert=certs["server_cert"],
            tls_key=certs["server_key"], tls_client_ca=certs["ca"], auth_token=TOKEN)) as running:
        yield running


def tls_channel(certs, port: int, client_cert: bool) -> grpc.Channel:
    read = lambda key: Path(certs[key]).read_bytes()  # noqa: E731
    credentials = grpc.ssl_channel_credentials(
        read("ca"), read("client_key") if client_cert else None,
        read("client_cert") if client_cert else None)
    return grpc.secure_channel(f"127.0.0.1:{port}", credentials)


def group_request() -> dpb.DetectRequest:
    return dpb.DetectRequest(image=image_pb2.Image(data=GROUP_PHOTO.read_bytes(),
                                                   format=image_pb2.IMAGE_FORMAT_ENCODED))


def test_mutual_tls_refuses_a_client_without_a_certificate(certs, mtls_classifier):
    with tls_channel(certs, mtls_classifier.port, client_cert=False) as channel, \
            pytest.raises(grpc.RpcError) as raised:
            cgrpc.ClassifierServiceStub(channel).GetModelInfo(
                cpb.GetModelInfoRequest(), timeout=5, metadata=(("authorization", f"Bearer {TOKEN}"),))
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE


def test_plaintext_is_refused_by_a_tls_server(mtls_classifier):
    with grpc.insecure_channel(f"127.0.0.1:{mtls_classifier.port}") as channel, \
            pytest.raises(grpc.RpcError) as raised:
            cgrpc.ClassifierServiceStub(channel).GetModelInfo(cpb.GetModelInfoRequest(), timeout=5)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer wrong"),),
                                      (("authorization", TOKEN),)])
def test_missing_or_wrong_token_is_unauthenticated(certs, mtls_classifier, metadata):
    with tls_channel(certs, mtls_classifier.port, client_cert=True) as channel:
        with pytest.raises(grpc.RpcError) as raised:
            cgrpc.ClassifierServiceStub(channel).GetModelInfo(cpb.GetModelInfoRequest(), timeout=5,
                                                              metadata=metadata)
        assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "bearer token" in raised.value.details()
        # Health stays open for probes.
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == \
            health_pb2.HealthCheckResponse.SERVING


def test_certificate_and_token_get_through(certs, mtls_classifier):
    with tls_channel(certs, mtls_classifier.port, client_cert=True) as channel:
        info = cgrpc.ClassifierServiceStub(channel).GetModelInfo(
            cpb.GetModelInfoRequest(), timeout=5, metadata=(("authorization", f"Bearer {TOKEN}"),))
    assert info.labels[3] == "happy"


@pytest.fixture(scope="module")
def tls_detector(certs, mtls_classifier):
    """A TLS detector with a token, reaching the classifier over mutual TLS with a token."""
    from services.detector.server import create_server
    from services.detector.settings import DetectorSettings

    with create_server(DetectorSettings(
            port=0, detector_model=str(FACE_MODEL), tls_cert=certs["server_cert"],
            tls_key=certs["server_key"], auth_token=TOKEN,
            classifier_target=f"localhost:{mtls_classifier.port}", classifier_tls_ca=certs["ca"],
            classifier_tls_cert=certs["client_cert"], classifier_tls_key=certs["client_key"],
            classifier_auth_token=TOKEN)) as running:
        yield running


def test_tls_all_the_way_with_tokens(certs, tls_detector):
    with tls_channel(certs, tls_detector.port, client_cert=False) as channel:
        stub = dgrpc.DetectorServiceStub(channel)
        response = stub.Detect(group_request(), timeout=10,
                               metadata=(("authorization", f"Bearer {TOKEN}"),))
        assert len(response.faces) == 4
        assert all(f.emotion_status == face_pb2.EMOTION_STATUS_OK for f in response.faces)
        with pytest.raises(grpc.RpcError) as raised:
            stub.Detect(group_request(), timeout=10)
        assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_detector_without_the_classifier_token_returns_faces_without_emotions(certs, mtls_classifier):
    from services.detector.settings import DetectorSettings

    response = detect_with(DetectorSettings(
        port=0, detector_model=str(FACE_MODEL), classifier_target=f"localhost:{mtls_classifier.port}",
        classifier_tls_ca=certs["ca"], classifier_tls_cert=certs["client_cert"],
        classifier_tls_key=certs["client_key"]), group_request())
    assert len(response.faces) == 4
    assert all(f.emotion_status == face_pb2.EMOTION_STATUS_UNAVAILABLE for f in response.faces)


def test_webcam_client_over_tls_with_a_token(certs, tls_detector, tmp_path):
    jsonl = tmp_path / "r.jsonl"
    result = subprocess.run(
        [sys.executable, str(ROOT / "client/webcam.py"), "--no-display", "--source", str(GROUP_PHOTO),
         "--target", f"localhost:{tls_detector.port}", "--tls-ca", certs["ca"], "--jsonl", str(jsonl)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"FACESTREAM_AUTH_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert '"emotion": "happy"' in jsonl.read_text()


def test_the_token_can_come_from_a_file(tmp_path):
    from facestream.v1 import detector_service_pb2 as dpb
    from facestream.v1 import detector_service_pb2_grpc as dgrpc
    from services.detector.server import create_server
    from services.detector.settings import DetectorSettings

    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    with create_server(DetectorSettings(port=0, classifier_target="", recognizer_target="",
                                        auth_token_file=str(token_file))) as running:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = dgrpc.DetectorServiceStub(channel)
            image = image_pb2.Image(data=GROUP_PHOTO.read_bytes(),
                                    format=image_pb2.IMAGE_FORMAT_ENCODED)
            with pytest.raises(grpc.RpcError) as raised:
                stub.Detect(dpb.DetectRequest(image=image), timeout=10)
            assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
            reply = stub.Detect(dpb.DetectRequest(image=image), timeout=30,
                                metadata=(("authorization", "Bearer from-a-file"),))
            assert len(reply.faces) == 4
