"""Detector settings: flags `--name`, environment `FACESTREAM_NAME`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.server_settings import ImageServerSettings
from services.common.settings import require, setting
from services.detector.pipeline import DEFAULT_MIN_SCORE
from services.detector.scanner import MAX_SCAN_PIXELS
from services.detector.smoothing import HALF_LIFE_MS, LABEL_MARGIN, MAX_HALF_LIFE_MS
from services.detector.tracking import MAX_MISSED_FRAMES

BACKENDS = ("auto", "short_range", "full_range", "haar")


@dataclass(frozen=True)
class DetectorSettings(ImageServerSettings):
    """facestream detector: finds, aligns and classifies the faces of each frame."""

    port: int = setting(50051, "port to listen on; 0 picks a free one")
    backend: str = setting("auto", "face detector: auto = short-range BlazeFace over an image "
                           "pyramid (faces of every size); short_range / full_range = one "
                           "BlazeFace pass over the whole frame (large faces only); haar",
                           choices=list(BACKENDS))
    detector_model: str = setting("models/face_detection_short_range.tflite",
                                  "BlazeFace short-range .tflite file (auto, short_range)")
    full_range_model: str = setting("models/face_detection_full_range.tflite",
                                    "BlazeFace full-range .tflite file (full_range)")
    face_mesh_model: str = setting("models/face_landmark.tflite",
                                   "Face Mesh .tflite file whose face-presence output "
                                   "verifies each new face (auto)")
    detector_threads: int = setting(2, "LiteRT threads per detector call")
    min_face_px: int = setting(24, "smallest face looked for, in frame pixels (auto); "
                               "larger is faster")
    max_scan_pixels: int = setting(MAX_SCAN_PIXELS, "frame pixels the finest scan level may "
                                   "cover (auto); larger frames are scanned downscaled")
    stream_scan_frames: int = setting(10, "frames over which a stream's full scan is spread "
                                      "(auto): a new face is found within this many frames")
    smoothing_half_life_ms: float = setting(
        HALF_LIFE_MS, "default half-life of a track's emotion smoothing, in ms (a stream's "
        "smoothing_half_life_ms option overrides it); 0: raw scores")
    label_margin: float = setting(
        LABEL_MARGIN, "a track's shown emotion changes when another label's share of the "
        "recent frames' vote leads by this much (or no frame voted for it for a half-life)")
    track_max_missed_frames: int = setting(
        MAX_MISSED_FRAMES, "frames a face's track is kept while the face is not seen (a "
        "blink, someone passing)")
    min_score: float = setting(DEFAULT_MIN_SCORE, "default minimum detector score in [0, 1]")
    nms_iou: float = setting(0.3, "overlap (IoU) above which two detections are one face: "
                             "the weaker is merged into the stronger")
    max_faces: int = setting(64, "most faces returned per frame")
    classifier_target: str = setting("127.0.0.1:50052",
                                     "classifier address (dns:///host:port for replicas); "
                                     "empty: no emotions")
    classify_timeout_ms: float = setting(1000.0, "longest wait for the classifier per frame")
    classifier_tls_ca: str = setting("", "PEM CA that signed the classifier's certificate; "
                                         "when set, the classifier is reached over TLS")
    classifier_tls_cert: str = setting("", "PEM client certificate for a mutual-TLS classifier")
    classifier_tls_key: str = setting("", "PEM key of classifier_tls_cert")
    classifier_auth_token: str = setting("", "bearer token the classifier expects")
    recognizer_target: str = setting("127.0.0.1:50053", "recognizer address, asked when a "
                                     "request sets identify; empty: no identities")
    identify_timeout_ms: float = setting(2000.0, "longest wait for the recognizer per face")
    recognizer_tls_ca: str = setting("", "PEM CA that signed the recognizer's certificate; "
                                         "when set, the recognizer is reached over TLS")
    recognizer_auth_token: str = setting("", "bearer token the recognizer expects")

    def validate(self) -> None:
        super().validate()
        require(self.backend not in ("auto", "short_range") or Path(self.detector_model).is_file(),
                "detector_model", self.detector_model, "no such file; run `make models`")
        require(self.backend != "auto" or Path(self.face_mesh_model).is_file(),
                "face_mesh_model", self.face_mesh_model, "no such file; run `make models`")
        require(self.backend != "full_range" or Path(self.full_range_model).is_file(),
                "full_range_model", self.full_range_model, "no such file; run `make models`")
        require(1 <= self.detector_threads <= 64, "detector_threads", self.detector_threads,
                "must be 1..64")
        require(8 <= self.min_face_px <= 4096, "min_face_px", self.min_face_px, "must be 8..4096")
        require(128 * 128 <= self.max_scan_pixels <= 1 << 26, "max_scan_pixels",
                self.max_scan_pixels, "must be 16384..67108864")
        require(1 <= self.stream_scan_frames <= 300, "stream_scan_frames",
                self.stream_scan_frames, "must be 1..300")
        require(0.0 <= self.smoothing_half_life_ms <= MAX_HALF_LIFE_MS, "smoothing_half_life_ms",
                self.smoothing_half_life_ms, f"must be 0..{MAX_HALF_LIFE_MS:.0f}")
        require(0.0 <= self.label_margin < 1.0, "label_margin", self.label_margin,
                "must be within [0, 1)")
        require(0 <= self.track_max_missed_frames <= 300, "track_max_missed_frames",
                self.track_max_missed_frames, "must be 0..300")
        require(0.0 <= self.min_score <= 1.0, "min_score", self.min_score, "must be within [0, 1]")
        require(0.0 < self.nms_iou <= 1.0, "nms_iou", self.nms_iou, "must be within (0, 1]")
        require(1 <= self.max_faces <= 1024, "max_faces", self.max_faces, "must be 1..1024")
        require(self.classify_timeout_ms > 0, "classify_timeout_ms", self.classify_timeout_ms,
                "must be > 0")
        require(bool(self.classifier_tls_cert) == bool(self.classifier_tls_key), "classifier_tls_key",
                self.classifier_tls_key, "classifier_tls_cert and classifier_tls_key go together")
        require(not self.classifier_tls_cert or bool(self.classifier_tls_ca), "classifier_tls_ca",
                self.classifier_tls_ca, "a client certificate needs classifier_tls_ca (TLS) too")
        require(10 <= self.identify_timeout_ms <= 60_000, "identify_timeout_ms",
                self.identify_timeout_ms, "must be 10..60000 ms")
        for name in ("classifier_tls_ca", "classifier_tls_cert", "classifier_tls_key",
                     "recognizer_tls_ca"):
            path = getattr(self, name)
            require(not path or Path(path).is_file(), name, path, "no such file")
