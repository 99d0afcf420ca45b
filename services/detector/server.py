"""Assemble the detector server: backend, classifier client, pipeline, servicer, health."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import start_http_server

from facestream.v1 import detector_service_pb2, detector_service_pb2_grpc
from services.common.serving import RunningServer, build_server
from services.detector.classifier_client import ClassifierClient
from services.detector.pipeline import FacePipeline
from services.detector.recognizer_client import RecognizerClient
from services.detector.servicer import DetectorServicer
from services.detector.settings import DetectorSettings
from services.faces.expressions import ExpressionReader, ExpressionSettings
from services.faces.finder import make_face_finder, warm_up
from services.faces.models.face_landmarker import FaceLandmarker

log = logging.getLogger(__name__)

SERVICE_NAME = detector_service_pb2.DESCRIPTOR.services_by_name["DetectorService"].full_name


@dataclass
class RunningDetector(RunningServer):
    classifier: ClassifierClient | None = None
    recognizer: RecognizerClient | None = None

    def release(self) -> None:
        for client in (self.classifier, self.recognizer):
            if client is not None:
                client.close()


def expression_reader(settings: DetectorSettings) -> ExpressionReader | None:
    if not settings.face_landmarker_model:
        return None
    return ExpressionReader(
        FaceLandmarker(settings.face_landmarker_model, settings.detector_threads),
        ExpressionSettings(min_face_px=settings.expression_min_face_px,
                           max_yaw=settings.expression_max_yaw,
                           looking_cone_deg=settings.looking_cone_deg))


def create_server(settings: DetectorSettings) -> RunningDetector:
    """Build and start the detector; SERVING once its backend has run on a frame."""
    detector = make_face_finder(settings)
    classifier = ClassifierClient.from_settings(settings) if settings.classifier_target else None
    recognizer = (RecognizerClient.from_settings(settings) if settings.recognizer_target
                  else None)
    pipeline = FacePipeline(detector, classifier, recognizer, expression_reader(settings),
                            settings=settings)
    server, port, health = build_server(settings, [SERVICE_NAME])
    detector_service_pb2_grpc.add_DetectorServiceServicer_to_server(
        DetectorServicer(pipeline, settings.frame_limits, settings.max_concurrent_rpcs), server)
    server.start()
    warm_up(detector, settings.min_score)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
    health.set_serving(True)
    log.info("serving", extra={"port": port, "backend": settings.backend,
                               "classifier_target": settings.classifier_target,
                               "recognizer_target": settings.recognizer_target})
    return RunningDetector(server, port, health, classifier, recognizer)
