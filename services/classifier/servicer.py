"""ClassifierService over gRPC: decode crops, call the core, encode scores."""

from __future__ import annotations

import numpy as np

from facestream.v1 import classifier_service_pb2 as pb
from facestream.v1 import classifier_service_pb2_grpc as pb_grpc
from facestream.v1 import image_pb2
from services.classifier.core import EmotionClassifier
from services.common.crop import CROP_SIZE
from services.common.errors import InvalidInput, NotReady
from services.common.serving import time_left
from services.common.status import grpc_errors


def crop_from_proto(image: image_pb2.Image, field: str) -> np.ndarray:
    if image.format != image_pb2.IMAGE_FORMAT_GRAY8:
        raise InvalidInput(f"{field}.format is {image.format}; crops must be "
                           f"IMAGE_FORMAT_GRAY8 ({image_pb2.IMAGE_FORMAT_GRAY8})")
    if (image.width, image.height) != (CROP_SIZE, CROP_SIZE):
        raise InvalidInput(f"{field} is {image.width}x{image.height}; crops must be "
                           f"{CROP_SIZE}x{CROP_SIZE} (align them first, or use DetectorService)")
    if len(image.data) != CROP_SIZE * CROP_SIZE:
        raise InvalidInput(f"{field}.data has {len(image.data)} bytes; a {CROP_SIZE}x{CROP_SIZE} "
                           f"GRAY8 crop has {CROP_SIZE * CROP_SIZE}")
    return np.frombuffer(image.data, np.uint8).reshape(CROP_SIZE, CROP_SIZE)


class ClassifierServicer(pb_grpc.ClassifierServiceServicer):
    """Registered before the server starts; answers UNAVAILABLE until `classifier` is set
    (the model is loaded and warmed)."""

    def __init__(self, replica_id: str) -> None:
        self.classifier: EmotionClassifier | None = None
        self._replica = (("facestream-replica", replica_id),)

    @property
    def _classifier(self) -> EmotionClassifier:
        if self.classifier is None:
            raise NotReady("the model is still loading; retry shortly (health says NOT_SERVING)")
        return self.classifier

    @grpc_errors
    def Classify(self, request, context):
        crops = [crop_from_proto(crop, f"crops[{i}]") for i, crop in enumerate(request.crops)]
        scores = self._classifier.classify(crops, time_left(context))
        context.set_trailing_metadata(self._replica)
        return pb.ClassifyResponse(
            results=[pb.EmotionScores(scores=row.tolist()) for row in scores],
            labels=self._classifier.info.labels,
        )

    @grpc_errors
    def GetModelInfo(self, request, context):
        info = self._classifier.info
        context.set_trailing_metadata(self._replica)
        return pb.GetModelInfoResponse(
            name=info.name, version=info.version, labels=info.labels,
            input_shape=list(info.input_shape), crop_width=CROP_SIZE, crop_height=CROP_SIZE,
            max_batch_size=self._classifier.batcher.max_batch_size, device=info.device,
            tta=self._classifier.tta,
        )
