"""Assemble the detector server: backend, classifier client, pipeline, servicer, health."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import grpc
import numpy as np
from prometheus_client import start_http_server

from facestream.v1 import detector_service_pb2, detector_service_pb2_grpc
from services.common.serving import HealthReporter, build_server
from services.detector.classifier_client import ClassifierClient
from services.detector.pipeline import FacePipeline, TrackingSettings
from services.detector.recognizer_client import RecognizerClient
from services.detector.servicer import DetectorServicer
from services.detector.settings import DetectorSettings

log = logging.getLogger(__name__)

SERVICE_NAME = detector_service_pb2.DESCRIPTOR.services_by_name["DetectorService"].full_name


@dataclass
class RunningDetector:
    server: grpc.Server
    port: int
    health: HealthReporter
    classifier: ClassifierClient | None
    recognizer: RecognizerClient | None = None

    def stop(self, grace_s: float | None = None) -> None:
        self.health.shutting_down()
        self.server.stop(grace_s).wait()
        for client in (self.classifier, self.recognizer):
            if client is not None:
                client.close()


def make_detector(settings: DetectorSettings):
    if settings.backend == "haar":
        from services.detector.haar import HaarDetector  # noqa: PLC0415

        return HaarDetector()
    from services.detector.blazeface import BlazeFaceModel, WholeFrameDetector  # noqa: PLC0415

    if settings.backend == "full_range":
        return WholeFrameDetector(BlazeFaceModel(settings.full_range_model,
                                                 settings.detector_threads), settings.nms_iou)
    model = BlazeFaceModel(settings.detector_model, settings.detector_threads)
    if settings.backend == "short_range":
        return WholeFrameDetector(model, settings.nms_iou)
    from services.detector.face_mesh import FaceMeshModel  # noqa: PLC0415
    from services.detector.scanner import MultiScaleDetector  # noqa: PLC0415

    return MultiScaleDetector(model, settings.nms_iou, settings.min_face_px,
                              settings.max_scan_pixels, settings.stream_scan_frames,
                              FaceMeshModel(settings.face_mesh_model, settings.detector_threads))


def create_server(settings: DetectorSettings) -> RunningDetector:
    """Build and start the detector; SERVING once its backend has run on a frame."""
    detector = make_detector(settings)
    classifier = ClassifierClient.from_settings(settings) if settings.classifier_target else None
    tracking = TrackingSettings(settings.smoothing_half_life_ms, settings.label_margin,
                                settings.track_max_missed_frames)
    recognizer = (RecognizerClient.from_settings(settings) if settings.recognizer_target
                  else None)
    pipeline = FacePipeline(detector, classifier, settings.max_faces,
                            settings.classify_timeout_ms / 1000, tracking, recognizer,
                            settings.identify_timeout_ms / 1000)
    server, port, health = build_server(settings, [SERVICE_NAME])
    detector_service_pb2_grpc.add_DetectorServiceServicer_to_server(
        DetectorServicer(pipeline, settings.min_score, settings.frame_limits), server)
    server.start()
    detector.detect(np.zeros((480, 640, 3), np.uint8), settings.min_score)  # warm-up
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.host)
    health.set_serving(True)
    log.info("serving", extra={"port": port, "backend": settings.backend,
                               "classifier_target": settings.classifier_target,
                               "recognizer_target": settings.recognizer_target})
    return RunningDetector(server, port, health, classifier, recognizer)
