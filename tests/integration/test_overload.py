"""Past capacity, callers get a fast RESOURCE_EXHAUSTED, not an unbounded wait; deadlines
hold from the caller through the detector to the classifier."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from facestream.v1 import classifier_service_pb2 as cpb
from facestream.v1 import classifier_service_pb2_grpc as cgrpc
from facestream.v1 import detector_service_pb2 as dpb
from facestream.v1 import detector_service_pb2_grpc as dgrpc
from facestream.v1 import image_pb2
from tests.conftest import EMOTION_MODEL, FACE_MODEL, GROUP_PHOTO


def crop_request(count: int) -> cpb.ClassifyRequest:
    crop = image_pb2.Image(data=np.zeros((48, 48), np.uint8).tobytes(),
                           format=image_pb2.IMAGE_FORMAT_GRAY8, width=48, height=48)
    return cpb.ClassifyRequest(crops=[crop] * count)


def test_full_batching_queue_answers_resource_exhausted():
    from services.classifier.server import create_server
    from services.classifier.settings import ClassifierSettings

    with create_server(ClassifierSettings(port=0, model=str(EMOTION_MODEL), max_batch_size=4,
                                          max_queue_size=8)) as running:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = cgrpc.ClassifierServiceStub(channel)

            def call(_):
                try:
                    return len(stub.Classify(crop_request(8), timeout=30).results)
                except grpc.RpcError as error:
                    return error

            with ThreadPoolExecutor(24) as pool:
                outcomes = list(pool.map(call, range(48)))
            refused = [o for o in outcomes if isinstance(o, grpc.RpcError)]
            served = [o for o in outcomes if not isinstance(o, grpc.RpcError)]
            assert refused, "48 callers x 8 crops never filled an 8-crop queue"
            assert all(e.code() is grpc.StatusCode.RESOURCE_EXHAUSTED for e in refused)
            assert all("queue full" in e.details() and "of 8 crops" in e.details() for e in refused)
            assert served and all(n == 8 for n in served)
            assert running.classifier.batcher.queue_depth() == 0
            assert len(stub.Classify(crop_request(1), timeout=10).results) == 1


def test_concurrent_rpc_cap_refuses_the_extra_stream(classifier_server):
    from services.detector.server import create_server
    from services.detector.settings import DetectorSettings

    running = create_server(DetectorSettings(port=0, detector_model=str(FACE_MODEL), max_concurrent_rpcs=2,
                                             classifier_target=f"127.0.0.1:{classifier_server.port}"))
    image = image_pb2.Image(data=GROUP_PHOTO.read_bytes(), format=image_pb2.IMAGE_FORMAT_ENCODED)
    release = threading.Event()

    def held_stream():
        yield dpb.StreamDetectRequest(frame_id=0, image=image)
        release.wait(20)

    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = dgrpc.DetectorServiceStub(channel)
            open_streams = [stub.StreamDetect(held_stream(), timeout=30) for _ in range(2)]
            for stream in open_streams:
                assert next(stream).frame_id == 0  # both are in progress now
            with pytest.raises(grpc.RpcError) as raised:
                stub.Detect(dpb.DetectRequest(image=image), timeout=10)
            assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "max_concurrent_rpcs" in raised.value.details()
            # Health checks and reflection stay outside the cap: a busy server is SERVING.
            health = health_pb2_grpc.HealthStub(channel)
            for _ in range(3):
                reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
            listing = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
            names = {s.name for s in next(listing).list_services_response.service}
            assert "facestream.v1.DetectorService" in names
            release.set()
            for stream in open_streams:
                assert list(stream) == []
            assert len(stub.Detect(dpb.DetectRequest(image=image), timeout=10).faces) == 4
    finally:
        release.set()
        running.stop(0)


def test_an_expired_deadline_is_deadline_exceeded_and_the_server_goes_on(detector_stub):
    image = image_pb2.Image(data=GROUP_PHOTO.read_bytes(), format=image_pb2.IMAGE_FORMAT_ENCODED)
    with pytest.raises(grpc.RpcError) as raised:
        detector_stub.Detect(dpb.DetectRequest(image=image), timeout=0.0005)
    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert len(detector_stub.Detect(dpb.DetectRequest(image=image), timeout=10).faces) == 4


def test_health_answers_through_a_reconnect_storm(classifier_server):
    """Callers reopening refused streams without backoff never take a health check down
    with them, and every refusal says the same thing."""
    from services.common.limits import refusal_message
    from services.detector.server import create_server
    from services.detector.settings import DetectorSettings

    cap = 4
    running = create_server(DetectorSettings(port=0, detector_model=str(FACE_MODEL),
                                             max_concurrent_rpcs=cap, max_workers=cap,
                                             classifier_target=f"127.0.0.1:{classifier_server.port}"))
    image = image_pb2.Image(data=GROUP_PHOTO.read_bytes(), format=image_pb2.IMAGE_FORMAT_ENCODED)
    release, storm_over = threading.Event(), threading.Event()
    health_codes: list[object] = []
    refusals: list[str] = []
    lock = threading.Lock()

    def held_stream():
        yield dpb.StreamDetectRequest(frame_id=0, image=image)
        release.wait(60)

    def reopen(stub):
        while not storm_over.is_set():
            try:
                list(stub.StreamDetect(iter([dpb.StreamDetectRequest(frame_id=0, image=image)]),
                                       timeout=10))
            except grpc.RpcError as error:
                with lock:
                    refusals.append(f"{error.code().name}: {error.details()}")

    def probe(health):
        while not storm_over.is_set():
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
                outcome = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.RpcError as error:
                outcome = f"{error.code().name}: {error.details()}"
            with lock:
                health_codes.append(outcome)

    try:
        target = f"127.0.0.1:{running.port}"
        with grpc.insecure_channel(target) as channel:
            stub = dgrpc.DetectorServiceStub(channel)
            open_streams = [stub.StreamDetect(held_stream(), timeout=60) for _ in range(cap)]
            for stream in open_streams:
                assert next(stream).frame_id == 0
            # Each storming caller on a channel of its own, as separate clients would be.
            channels = [grpc.insecure_channel(target) for _ in range(24)]
            workers = [threading.Thread(target=reopen, args=(dgrpc.DetectorServiceStub(c),))
                       for c in channels]
            workers += [threading.Thread(target=probe, args=(health_pb2_grpc.HealthStub(
                grpc.insecure_channel(target)),)) for _ in range(3)]
            for worker in workers:
                worker.start()
            time.sleep(5)
            storm_over.set()
            for worker in workers:
                worker.join(20)
            for c in channels:
                c.close()
            release.set()
            for stream in open_streams:
                assert list(stream) == []
        assert len(refusals) >= 50, "the storm never reached the cap"
        assert set(refusals) == {f"RESOURCE_EXHAUSTED: {refusal_message(cap)}"}
        assert len(health_codes) >= 10 and set(health_codes) == {"SERVING"}, health_codes
    finally:
        release.set()
        storm_over.set()
        running.stop(0)
