"""Detector settings: flags `--name`, environment `FACESTREAM_NAME`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.api_limits import MAX_HALF_LIFE_MS
from services.common.server_settings import ImageServerSettings
from services.common.settings import require, setting
from services.faces.settings import FaceFinderSettings


@dataclass(frozen=True)
class DetectorSettings(FaceFinderSettings, ImageServerSettings):
    """facestream detector: finds, aligns and classifies the faces of each frame."""

    port: int = setting(50051, "port to listen on; 0 picks a free one")
    # The smoothing and tracking defaults were chosen with tools/eval_tracking.py on
    # generated clips (docs/tracks.md).
    smoothing_half_life_ms: float = setting(
        300.0, "default half-life of a track's emotion smoothing, in ms (a stream's "
        "smoothing_half_life_ms option overrides it); 0: raw scores")
    label_margin: float = setting(
        0.05, "a track's shown emotion changes when another label's share of the "
        "recent frames' vote leads by this much (or no frame voted for it for a half-life)")
    track_max_missed_frames: int = setting(
        30, "frames a face's track is kept while the face is not seen (a "
        "blink, someone passing)")
    max_faces: int = setting(256, "most faces returned per frame (a request may ask for fewer); "
                             "beyond it the largest are kept and the rest counted as omitted")
    # Beyond it the emotion model's confidence falls off: it learned frontal faces
    # (docs/detection.md).
    max_emotion_yaw: float = setting(70.0, "faces turned further than this "
                                     "(|yaw|, degrees) get EMOTION_STATUS_FACE_TURNED and no "
                                     "emotion: the model reads frontal faces")
    face_landmarker_model: str = setting("models/face_landmarker.task", "MediaPipe Face "
                                         "Landmarker bundle (.task) that reads expressions "
                                         "(blendshapes, gaze); empty: expressions unavailable")
    expression_max_faces: int = setting(8, "most faces per frame whose expressions are read "
                                        "(the largest first); the rest are marked over budget")
    expression_min_face_px: float = setting(32.0, "smallest face (box side, px) whose "
                                            "expression is read")
    expression_max_yaw: float = setting(60.0, "faces turned further (|yaw|, degrees) get no "
                                        "expression: the landmark model sees near-frontal "
                                        "faces")
    looking_cone_deg: float = setting(20.0, "a gaze within this many degrees of the camera "
                                      "counts as looking at it")
    baseline_ready_frames: int = setting(45, "frontal frames a track needs before its "
                                         "resting face (baseline) is learned and its "
                                         "relative emotion reported")
    relative_emotion_margin: float = setting(0.25, "a track's relative emotion is a label "
                                             "whose smoothed score rises this much above the "
                                             "track's resting level; otherwise neutral")
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
        require(0.0 <= self.smoothing_half_life_ms <= MAX_HALF_LIFE_MS, "smoothing_half_life_ms",
                self.smoothing_half_life_ms, f"must be 0..{MAX_HALF_LIFE_MS:.0f}")
        require(0.0 <= self.label_margin < 1.0, "label_margin", self.label_margin,
                "must be within [0, 1)")
        require(0 <= self.track_max_missed_frames <= 300, "track_max_missed_frames",
                self.track_max_missed_frames, "must be 0..300")
        require(0.0 <= self.max_emotion_yaw <= 180.0, "max_emotion_yaw", self.max_emotion_yaw,
                "must be 0..180 degrees")
        require(1 <= self.max_faces <= 1024, "max_faces", self.max_faces, "must be 1..1024")
        require(not self.face_landmarker_model or Path(self.face_landmarker_model).is_file(),
                "face_landmarker_model", self.face_landmarker_model,
                "no such file; run `make models`, or set it empty")
        require(0 <= self.expression_max_faces <= 1024, "expression_max_faces",
                self.expression_max_faces, "must be 0..1024")
        require(8 <= self.expression_min_face_px <= 4096, "expression_min_face_px",
                self.expression_min_face_px, "must be 8..4096")
        require(0 <= self.expression_max_yaw <= 90, "expression_max_yaw",
                self.expression_max_yaw, "must be 0..90 degrees")
        require(1 <= self.baseline_ready_frames <= 100_000, "baseline_ready_frames",
                self.baseline_ready_frames, "must be 1..100000")
        require(0.0 < self.relative_emotion_margin < 1.0, "relative_emotion_margin",
                self.relative_emotion_margin, "must be within (0, 1)")
        require(0 < self.looking_cone_deg <= 90, "looking_cone_deg", self.looking_cone_deg,
                "must be within (0, 90] degrees")
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
