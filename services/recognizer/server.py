"""Assemble the recognizer server: face finder, embedders, gallery, servicer, health."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import start_http_server

from facestream.v1 import recognizer_service_pb2, recognizer_service_pb2_grpc
from services.common.serving import RunningServer, build_server
from services.faces.finder import make_face_finder, warm_up
from services.recognizer import metrics
from services.recognizer.core import Recognizer
from services.recognizer.embedding import DIMENSIONS, FaceEmbedder
from services.recognizer.galleries import open_gallery
from services.recognizer.servicer import RecognizerServicer
from services.recognizer.settings import RecognizerSettings

log = logging.getLogger(__name__)

SERVICE_NAME = recognizer_service_pb2.DESCRIPTOR.services_by_name["RecognizerService"].full_name


@dataclass
class RunningRecognizer(RunningServer):
    recognizer: Recognizer | None = None

    def release(self) -> None:
        if self.recognizer is not None:
            self.recognizer.gallery.close()


def create_server(settings: RecognizerSettings) -> RunningRecognizer:
    """Bind, load the models and the gallery, then SERVING."""
    server, port, health = build_server(settings, [SERVICE_NAME])
    servicer = RecognizerServicer(settings.frame_limits,
                                  settings.embeddings_api or bool(settings.token))
    recognizer_service_pb2_grpc.add_RecognizerServiceServicer_to_server(servicer, server)
    server.start()
    # Faces are found exactly as the detector finds them (the same settings and defaults).
    detector = make_face_finder(settings)
    embedders = [FaceEmbedder(settings.shape_predictor, settings.embedding_model)
                 for _ in range(settings.workers)]
    gallery = open_gallery(settings.gallery, DIMENSIONS)
    recognizer = Recognizer(detector, embedders, gallery, settings.match_distance,
                            settings.min_score)
    warm_up(detector, settings.min_score)
    metrics.GALLERY_PEOPLE.set_function(lambda: len(gallery))
    servicer.recognizer = recognizer
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
    health.set_serving(True)
    log.info("serving", extra={"port": port, "people": len(gallery),
                               "embedding_workers": settings.workers})
    return RunningRecognizer(server, port, health, recognizer)
