"""The face finder a service's settings ask for: one place, so the detector and the
recognizer find the same faces."""

from __future__ import annotations

import numpy as np

from services.faces.settings import FaceFinderSettings

# A 640x480 frame: what a warm-up detection runs on before a service says SERVING.
WARM_UP_FRAME_SHAPE = (480, 640, 3)


def make_face_finder(settings: FaceFinderSettings):
    """The backend `settings.backend` names, with only its own models loaded."""
    backend = settings.backend
    if backend == "haar":
        from services.faces.haar import HaarDetector  # noqa: PLC0415

        return HaarDetector()
    if backend == "centerface":
        from services.faces.centerface import CenterFaceDetector  # noqa: PLC0415

        return CenterFaceDetector(_centerface(settings), settings.centerface_max_pixels,
                                  settings.nms_iou)
    from services.faces.blazeface import BlazeFaceModel, WholeFrameDetector  # noqa: PLC0415

    if backend == "full_range":
        return WholeFrameDetector(BlazeFaceModel(settings.full_range_model,
                                                 settings.detector_threads), settings.nms_iou)
    model = BlazeFaceModel(settings.detector_model, settings.detector_threads)
    if backend == "short_range":
        return WholeFrameDetector(model, settings.nms_iou)
    from services.faces.face_mesh import FaceMeshModel  # noqa: PLC0415
    from services.faces.scanner import MultiScaleDetector  # noqa: PLC0415

    frontal = MultiScaleDetector(model, settings.nms_iou, settings.min_face_px,
                                 settings.max_scan_pixels, settings.stream_scan_frames,
                                 FaceMeshModel(settings.face_mesh_model, settings.detector_threads))
    if backend == "frontal":
        return frontal
    from services.faces.any_pose import AnyPoseDetector  # noqa: PLC0415

    return AnyPoseDetector(frontal, _centerface(settings), settings.centerface_max_pixels,
                           settings.stream_centerface_pixels, settings.stream_scan_frames,
                           _centerface(settings, threads=1))


def _centerface(settings: FaceFinderSettings, threads: int | None = None):
    from services.faces.centerface import CenterFaceModel  # noqa: PLC0415

    return CenterFaceModel(settings.centerface_model, threads or settings.detector_threads)


def warm_up(finder, min_score: float) -> None:
    """One detection on a blank frame: the models' first call allocates their buffers."""
    finder.detect(np.zeros(WARM_UP_FRAME_SHAPE, np.uint8), min_score)
