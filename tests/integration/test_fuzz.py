"""Random bytes and random field values against both services: no crash, only documented
status codes, and health still SERVING afterwards. Bounded: a fixed number of examples."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facestream.v1 import classifier_service_pb2 as cpb
from facestream.v1 import detector_service_pb2 as dpb
from facestream.v1 import image_pb2
from tests.conftest import GROUP_PHOTO

DOCUMENTED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}
JPEG = GROUP_PHOTO.read_bytes()
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def mutated_jpeg():
    """A real JPEG with a slice overwritten: gets past the header, breaks inside."""
    return st.tuples(st.integers(0, len(JPEG) - 1), st.binary(min_size=1, max_size=64)).map(
        lambda cut: JPEG[:cut[0]] + cut[1] + JPEG[cut[0] + len(cut[1]):])


images = st.builds(
    image_pb2.Image,
    data=st.one_of(st.binary(max_size=4096), mutated_jpeg()),
    format=st.integers(-3, 6),
    width=st.integers(-(2**31), 2**31 - 1) | st.integers(-2, 64),
    height=st.integers(-(2**31), 2**31 - 1) | st.integers(-2, 64),
)
options = st.builds(
    dpb.DetectOptions,
    return_crops=st.booleans(),
    classify=st.booleans(),
    min_score=st.floats(allow_nan=True, allow_infinity=True, width=32),
    max_faces=st.integers(-(2**31), 2**31 - 1),
    scan_mode=st.integers(-3, 5),
)


def parses(message, payload: bytes) -> bool:
    try:
        message.FromString(payload)
    except Exception:  # noqa: BLE001 - protobuf's DecodeError and friends
        return False
    return True


def code_of(call) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def assert_serving(channel) -> None:
    status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.SERVING


@FUZZ
@given(image=images, opts=st.none() | options)
def test_detect_survives_anything(detector_stub, detector_channel, image, opts):
    request = dpb.DetectRequest(image=image)
    if opts is not None:
        request.options.CopyFrom(opts)
    assert code_of(lambda: detector_stub.Detect(request, timeout=20)) in DOCUMENTED


@FUZZ
@given(crops=st.lists(images, min_size=0, max_size=4))
def test_classify_survives_anything(classifier_stub, crops):
    code = code_of(lambda: classifier_stub.Classify(cpb.ClassifyRequest(crops=crops), timeout=20))
    assert code in DOCUMENTED


@FUZZ
@given(payload=st.binary(max_size=2048))
def test_undecodable_messages_are_refused(detector_channel, classifier_channel, payload):
    """Bytes that are not a valid protobuf at all, sent under each method's name."""
    for channel, method, message in (
            (detector_channel, "/facestream.v1.DetectorService/Detect", dpb.DetectRequest),
            (classifier_channel, "/facestream.v1.ClassifierService/Classify", cpb.ClassifyRequest)):
        raw = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        code = code_of(lambda: raw(payload, timeout=20))
        # grpcio itself answers INTERNAL to bytes it cannot parse as the request; bytes
        # that do parse are a request like any other and get a documented status.
        assert code in DOCUMENTED | ({grpc.StatusCode.INTERNAL} if not parses(message, payload) else set())


def test_both_services_still_serving_after_the_fuzzing(detector_channel, classifier_channel, detector_stub):
    assert_serving(detector_channel)
    assert_serving(classifier_channel)
    request = dpb.DetectRequest(image=image_pb2.Image(data=JPEG, format=image_pb2.IMAGE_FORMAT_ENCODED))
    assert len(detector_stub.Detect(request, timeout=10).faces) == 4
