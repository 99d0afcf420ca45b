"""Detector settings: flags `--name`, environment `FACESTREAM_NAME`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.settings import require, setting

BACKENDS = ("blazeface", "haar")


@dataclass(frozen=True)
class DetectorSettings:
    """facestream detector: finds, aligns and classifies the faces of each frame."""

    host: str = setting("127.0.0.1", "address to listen on (0.0.0.0 inside containers)")
    port: int = setting(50051, "port to listen on; 0 picks a free one")
    backend: str = setting("blazeface", "face detector", choices=list(BACKENDS))
    detector_model: str = setting("models/face_detection_short_range.tflite",
                                  "BlazeFace short-range .tflite file")
    min_score: float = setting(0.5, "default minimum detector score in [0, 1]")
    nms_iou: float = setting(0.3, "overlap above which the weaker of two boxes is dropped")
    max_faces: int = setting(64, "most faces returned per frame")
    classifier_target: str = setting("127.0.0.1:50052",
                                     "classifier address (dns:///host:port for replicas); "
                                     "empty: no emotions")
    classify_timeout_ms: float = setting(1000.0, "longest wait for the classifier per frame")
    max_frame_pixels: int = setting(4096 * 4096, "largest frame accepted, in pixels")
    max_message_bytes: int = setting(16 * 1024 * 1024, "largest request accepted, in bytes")
    max_workers: int = setting(32, "threads serving RPCs (each stream holds one)")
    grace_s: float = setting(5.0, "seconds to drain in-flight RPCs on SIGTERM")
    metrics_port: int = setting(0, "Prometheus metrics port; 0 disables")
    log_level: str = setting("info", "log level", choices=["debug", "info", "warning", "error"])

    def validate(self) -> None:
        require(0 <= self.port <= 65535, "port", self.port, "must be 0..65535")
        require(0 <= self.metrics_port <= 65535, "metrics_port", self.metrics_port, "must be 0..65535")
        require(self.backend != "blazeface" or Path(self.detector_model).is_file(),
                "detector_model", self.detector_model, "no such file; run `make models`")
        require(0.0 <= self.min_score <= 1.0, "min_score", self.min_score, "must be within [0, 1]")
        require(0.0 < self.nms_iou <= 1.0, "nms_iou", self.nms_iou, "must be within (0, 1]")
        require(1 <= self.max_faces <= 1024, "max_faces", self.max_faces, "must be 1..1024")
        require(self.classify_timeout_ms > 0, "classify_timeout_ms", self.classify_timeout_ms,
                "must be > 0")
        require(64 * 64 <= self.max_frame_pixels <= 1 << 28, "max_frame_pixels",
                self.max_frame_pixels, "must be 4096..268435456")
        require(1024 <= self.max_message_bytes <= 1 << 30, "max_message_bytes",
                self.max_message_bytes, "must be 1 KiB..1 GiB")
        require(1 <= self.max_workers <= 1024, "max_workers", self.max_workers, "must be 1..1024")
        require(self.grace_s >= 0, "grace_s", self.grace_s, "must be >= 0")
