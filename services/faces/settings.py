"""How faces are found: the settings the detector and the recognizer share, so that both
find the same faces in the same picture. Each default lives here once; importing this
loads no model runtime."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.settings import require, setting
from services.faces.detection import DEFAULT_MIN_SCORE

BACKENDS = ("auto", "frontal", "short_range", "full_range", "centerface", "haar")


@dataclass(frozen=True)
class FaceFinderSettings:
    """A mixin of a service's settings; put it first among the bases."""

    backend: str = setting("auto", "face detector: auto = faces in any pose (CenterFace) and "
                           "small frontal faces (short-range BlazeFace over an image pyramid); "
                           "frontal = the pyramid alone; short_range / full_range / centerface "
                           "= one pass of that model over the whole frame; haar",
                           choices=list(BACKENDS))
    detector_model: str = setting("models/face_detection_short_range.tflite",
                                  "BlazeFace short-range .tflite file (auto, frontal, short_range)")
    full_range_model: str = setting("models/face_detection_full_range.tflite",
                                    "BlazeFace full-range .tflite file (full_range)")
    face_mesh_model: str = setting("models/face_landmark.tflite",
                                   "Face Mesh .tflite file whose face-presence output "
                                   "verifies each new face (auto, frontal)")
    centerface_model: str = setting("models/centerface.onnx",
                                    "CenterFace .onnx file, prepared by `make models` (auto, "
                                    "centerface)")
    detector_threads: int = setting(2, "threads a detector model call may use: a BlazeFace "
                                       "call takes more than one only while cores are idle; "
                                       "2 answers one stream sooner")
    min_face_px: int = setting(24, "smallest face looked for, in frame pixels (auto, frontal); "
                               "larger is faster")
    max_scan_pixels: int = setting(1536 * 864, "frame pixels the finest scan level may "
                                   "cover (auto, frontal); larger frames are scanned "
                                   "downscaled")
    stream_scan_pixels: int = setting(1280 * 720, "frame pixels a stream's frame may have "
                                      "for the frontal scan (auto): a larger frame leaves "
                                      "new faces to CenterFace's tiles (0.5) and runs only "
                                      "the frontal scan's coarsest level")
    stream_scan_frames: int = setting(10, "frames over which a stream's full scan is spread "
                                      "(auto, frontal): a new face is found within this many "
                                      "frames")
    centerface_max_pixels: int = setting(1024 * 576, "frame pixels CenterFace "
                                         "sees in an image (auto, centerface); larger "
                                         "frames are downscaled to it")
    stream_centerface_pixels: int = setting(320 * 240, "frame pixels "
                                            "CenterFace sees when it looks for new faces in a "
                                            "stream (auto), once every stream_scan_frames "
                                            "(frames up to 640x480: in three parts, one a "
                                            "frame)")
    stream_discovery_lag_frames: int = setting(0, "frames a stream's CenterFace discovery "
                                               "pass (and tile) may run beside before its "
                                               "faces join (auto): 0 runs it within its frame; "
                                               "more spreads its cost, so no frame stalls, and "
                                               "finds new faces that many frames later")
    min_score: float = setting(DEFAULT_MIN_SCORE, "default minimum detector score in [0, 1]")
    nms_iou: float = setting(0.3, "overlap (IoU) above which two detections are one face: "
                             "the weaker is merged into the stronger")

    def validate(self) -> None:
        getattr(super(), "validate", lambda: None)()
        uses = {
            "detector_model": ("auto", "frontal", "short_range"),
            "face_mesh_model": ("auto", "frontal"),
            "full_range_model": ("full_range",),
            "centerface_model": ("auto", "centerface"),
        }
        for name, backends in uses.items():
            path = getattr(self, name)
            require(self.backend not in backends or Path(path).is_file(), name, path,
                    "no such file; run `make models`")
        require(1 <= self.detector_threads <= 64, "detector_threads", self.detector_threads,
                "must be 1..64")
        require(8 <= self.min_face_px <= 4096, "min_face_px", self.min_face_px, "must be 8..4096")
        for name in ("max_scan_pixels", "stream_scan_pixels"):
            require(128 * 128 <= getattr(self, name) <= 1 << 26, name, getattr(self, name),
                    "must be 16384..67108864")
        require(1 <= self.stream_scan_frames <= 300, "stream_scan_frames",
                self.stream_scan_frames, "must be 1..300")
        for name in ("centerface_max_pixels", "stream_centerface_pixels"):
            require(64 * 64 <= getattr(self, name) <= 1 << 24, name, getattr(self, name),
                    "must be 4096..16777216")
        require(0 <= self.stream_discovery_lag_frames <= 30, "stream_discovery_lag_frames",
                self.stream_discovery_lag_frames, "must be 0..30")
        require(0.0 <= self.min_score <= 1.0, "min_score", self.min_score, "must be within [0, 1]")
        require(0.0 < self.nms_iou <= 1.0, "nms_iou", self.nms_iou, "must be within (0, 1]")
