"""The face finder a service's settings ask for: one place, so the detector and the
recognizer find the same faces. Each backend's runtime is imported only when it is used."""

from __future__ import annotations

import numpy as np

from services.faces.settings import FaceFinderSettings

# A 640x480 frame: what a warm-up detection runs on before a service says SERVING.
WARM_UP_FRAME_SHAPE = (480, 640, 3)


def make_face_finder(settings: FaceFinderSettings):
    """The backend `settings.backend` names, with only its own models loaded."""
    backend = settings.backend
    if backend == "haar":
        from services.faces.models.haar import HaarDetector  # noqa: PLC0415

        return HaarDetector()
    if backend == "centerface":
        from services.faces.whole_frame import CenterFaceDetector  # noqa: PLC0415

        return CenterFaceDetector(_centerface(settings), max_pixels=settings.centerface_max_pixels,
                                  nms_iou=settings.nms_iou)
    from services.faces.models.blazeface import BlazeFaceModel  # noqa: PLC0415

    if backend in ("full_range", "short_range"):
        from services.faces.whole_frame import WholeFrameDetector  # noqa: PLC0415

        path = settings.full_range_model if backend == "full_range" else settings.detector_model
        return WholeFrameDetector(BlazeFaceModel(path, settings.detector_threads),
                                  nms_iou=settings.nms_iou)
    from services.faces.frontal.scan import MultiScaleDetector  # noqa: PLC0415
    from services.faces.models.face_mesh import FaceMeshModel  # noqa: PLC0415

    frontal = MultiScaleDetector(BlazeFaceModel(settings.detector_model, settings.detector_threads),
                                 FaceMeshModel(settings.face_mesh_model, settings.detector_threads),
                                 settings=settings)
    if backend == "frontal":
        return frontal
    from services.faces.any_pose.detector import AnyPoseDetector  # noqa: PLC0415

    return AnyPoseDetector(frontal, _centerface(settings), _centerface(settings, threads=1),
                           settings=settings)


def _centerface(settings: FaceFinderSettings, threads: int | None = None):
    from services.faces.models.centerface import CenterFaceModel  # noqa: PLC0415

    return CenterFaceModel(settings.centerface_model, threads or settings.detector_threads)


def warm_up(finder, min_score: float) -> None:
    """One detection on a blank frame: the models' first call allocates their buffers."""
    finder.detect(np.zeros(WARM_UP_FRAME_SHAPE, np.uint8), min_score)
