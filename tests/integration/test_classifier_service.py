"""ClassifierService over real gRPC on a loopback port, with the real model."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest

from facestream.v1 import classifier_service_pb2 as pb
from facestream.v1 import image_pb2
from services.classifier.catalog import FER2013_LABELS


def crop_message(crop: np.ndarray) -> image_pb2.Image:
    return image_pb2.Image(data=crop.tobytes(), format=image_pb2.IMAGE_FORMAT_GRAY8,
                           width=crop.shape[1], height=crop.shape[0])


def test_model_info(classifier_stub):
    info = classifier_stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=5)
    assert list(info.labels) == list(FER2013_LABELS)
    assert list(info.input_shape) == [64, 64, 1]
    assert (info.crop_width, info.crop_height) == (48, 48)
    assert info.name == "emotion_model" and info.version == "59534287fdfb"
    assert info.tta == "mirror"  # the default: each crop and its mirror image
    assert info.max_batch_size == 16  # 32 model inputs: 16 crops and their mirror images


def test_scores_per_crop_in_request_order(classifier_stub):
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 48, 48), dtype=np.uint8)
    response, call = classifier_stub.Classify.with_call(
        pb.ClassifyRequest(crops=[crop_message(a), crop_message(b), crop_message(a)]), timeout=5)
    scores = np.array([list(r.scores) for r in response.results])
    assert scores.shape == (3, 7)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(scores[0], scores[2], atol=1e-5)
    assert not np.allclose(scores[0], scores[1])
    assert list(response.labels) == list(FER2013_LABELS)
    assert dict(call.trailing_metadata()).get("facestream-replica")


def test_concurrent_callers_are_batched_together(classifier_server, classifier_stub):
    crop = crop_message(np.full((48, 48), 128, np.uint8))
    before = classifier_server.classifier.batcher.stats.batches
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(
            lambda _: classifier_stub.Classify(pb.ClassifyRequest(crops=[crop]), timeout=10),
            range(64)))
    assert all(len(r.results) == 1 for r in responses)
    batches = classifier_server.classifier.batcher.stats.batches - before
    assert batches < 64  # 64 single-crop requests shared model calls


@pytest.mark.parametrize("crop,message", [
    (image_pb2.Image(data=b"x" * 48 * 48, format=image_pb2.IMAGE_FORMAT_GRAY8, width=48, height=47),
     "crops[0] is 48x47"),
    (image_pb2.Image(data=b"x" * 100, format=image_pb2.IMAGE_FORMAT_GRAY8, width=48, height=48),
     "crops[0].data has 100 bytes"),
    (image_pb2.Image(data=b"x" * 48 * 48 * 3, format=image_pb2.IMAGE_FORMAT_BGR8, width=48, height=48),
     "must be IMAGE_FORMAT_GRAY8"),
])
def test_bad_crops_are_invalid_argument_and_the_next_call_succeeds(classifier_stub, crop, message):
    with pytest.raises(grpc.RpcError) as raised:
        classifier_stub.Classify(pb.ClassifyRequest(crops=[crop]), timeout=5)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert message in raised.value.details()
    good = crop_message(np.zeros((48, 48), np.uint8))
    assert len(classifier_stub.Classify(pb.ClassifyRequest(crops=[good]), timeout=5).results) == 1


def test_empty_request_is_invalid_argument(classifier_stub):
    with pytest.raises(grpc.RpcError) as raised:
        classifier_stub.Classify(pb.ClassifyRequest(), timeout=5)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "crops is empty" in raised.value.details()


def test_a_model_served_by_name_says_its_eight_labels():
    from facestream.v1 import classifier_service_pb2_grpc
    from services.classifier.catalog import LABELS, MODELS
    from services.classifier.server import create_server
    from services.classifier.settings import ClassifierSettings

    with create_server(ClassifierSettings(port=0, model="ferplus", max_batch_size=8,
                                          inference_workers=1)) as running:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = classifier_service_pb2_grpc.ClassifierServiceStub(channel)
            info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=5)
            crop = np.full((48, 48), 120, np.uint8)
            response = stub.Classify(pb.ClassifyRequest(crops=[crop_message(crop)]), timeout=5)
    assert info.name == "ferplus" and info.version == MODELS["ferplus"].sha256[:12]
    assert list(info.labels) == list(LABELS) and "contempt" in info.labels
    assert len(response.results[0].scores) == 8 and list(response.labels) == list(LABELS)
