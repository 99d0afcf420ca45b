"""A stream's incremental frontal scan: the full scan cannot run on every frame, so the
neighbourhood of every face found recently is re-checked on each frame (saved where the
frame's own share of the scan saw the face), while `StreamSchedule` spreads the levels'
tiles over `stream_scan_frames` frames. A face coming into view is found within that many
frames (one more when its score is marginal and the next frame must confirm it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from services.faces.detection import DetectedFace, KnownFace
from services.faces.frontal.schedule import StreamSchedule
from services.faces.frontal.verification import strong_candidate_score
from services.faces.geometry import best_overlapping, merge, overlaps_any

if TYPE_CHECKING:
    from services.faces.frontal.scan import MultiScaleDetector


class StreamScan:
    """The per-stream state of the incremental scan; lives and dies with its stream."""

    def __init__(self, detector: MultiScaleDetector, scan_frames: int | None = None,
                 scan_pixels: int | None = None, over_budget_scale: float = 1.0) -> None:
        """`scan_frames`: the frames the full scan is spread over (stream_scan_frames);
        `scan_pixels`: what its finest level may cover (max_scan_pixels; the first frame
        gets the full scan of an image), and `over_budget_scale` the finest it may be in a
        frame larger than that. `scan_frames` may change between frame sizes: the schedule
        of a size is made on its first frame."""
        self._detector = detector
        self.scan_frames = scan_frames or detector.stream_scan_frames
        self._scan_pixels = scan_pixels
        self._over_budget_scale = over_budget_scale
        self._tuning = detector.tuning
        self._frame_size: tuple[int, int] | None = None
        self._schedule: StreamSchedule | None = None
        self._known: list[KnownFace] = []
        self._pending: list[DetectedFace] = []  # verified last frame, not yet reported

    def detect(self, bgr: np.ndarray, min_score: float, scan: bool = True) -> list[DetectedFace]:
        """`scan=False` leaves this frame's share of the scan to the next frame but for the
        whole frame's coarsest level (a face close to the camera needs no neighbourhood
        check then); the known faces are still followed."""
        height, width = bgr.shape[:2]
        if self._frame_size != (width, height):  # first frame, or the source changed size
            self._frame_size = (width, height)
            scales = self._detector.scales(width, height, self._scan_pixels,
                                           self._over_budget_scale)
            self._schedule = StreamSchedule(width, height, scales, self.scan_frames,
                                            self._tuning)
            self._known, self._pending = [], []
            # The faces in view from the start are found at once by the full scan, as an
            # image gets it, rather than within stream_scan_frames frames.
            return self._report([], self._detector.detect(bgr, min_score), min_score)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        scanned = self._scan_share(rgb, min_score, scan)
        tracked = self._followed(rgb, scanned, min_score) + self._confirmed(rgb, scanned,
                                                                             min_score)
        new = [face for face in scanned if not overlaps_any(face.box, tracked)]
        # No second looks here: on a stream a texture that passes one would be kept frame
        # after frame, while a face Face Mesh doubts gets a new chance on each next frame.
        return self._report(tracked, self._detector.verify(rgb, new, min_score,
                                                           second_look=False), min_score)

    def _scan_share(self, rgb: np.ndarray, min_score: float,
                    scan: bool) -> list[DetectedFace]:
        """This frame's jobs of the schedule (without `scan`, those of every frame only),
        merged: the strong candidates they find."""
        strong = strong_candidate_score(min_score, self._tuning)
        scanned = []
        for job in self._schedule.next_jobs() if scan else self._schedule.every_frame:
            scanned += self._detector.run_job(rgb, job, strong)
        return merge(scanned, self._detector.nms_iou, strong)

    def _followed(self, rgb: np.ndarray, scanned: list[DetectedFace],
                  min_score: float) -> list[DetectedFace]:
        """Known faces found again: in this frame's scan, else by their neighbourhood
        check, else by the verification's second view (one view's score jumps with a
        pixel's shift of the crop)."""
        tuning, detector = self._tuning, self._detector
        keep_score = max(0.0, min_score - tuning.keep_margin)
        followed = []
        for known in self._known:
            seen = (best_overlapping(known.box, scanned, tuning.sighting_iou, keep_score)
                    or detector.look_around(rgb, known.box, tuning.neighbourhood, keep_score)
                    or detector.look_around(rgb, known.box, tuning.verify_views[1][0],
                                            keep_score))
            if seen is not None:
                followed.append(seen)
        return followed

    def _confirmed(self, rgb: np.ndarray, scanned: list[DetectedFace],
                   min_score: float) -> list[DetectedFace]:
        """Last frame's marginal new faces that pass again on this frame."""
        confirmed = []
        for face in self._pending:
            seen = (best_overlapping(face.box, scanned, self._tuning.sighting_iou, min_score)
                    or next(iter(self._detector.verify(rgb, [face], min_score,
                                                       second_look=False)), None))
            if seen is not None:
                confirmed.append(seen)
        return confirmed

    def _report(self, tracked: list[DetectedFace], verified: list[DetectedFace],
                min_score: float) -> list[DetectedFace]:
        """The faces tracked and the new faces verified clearly; the marginal new ones wait
        for the next frame's check."""
        sure = min_score + self._tuning.confirm_margin
        faces = merge(tracked + [f for f in verified if f.score >= sure], self._detector.nms_iou)
        self._pending = [f for f in verified if f.score < sure]
        known = [KnownFace(face) for face in faces]
        known += [KnownFace(k.face, k.missed + 1) for k in self._known
                  if not overlaps_any(k.box, faces)
                  and k.missed < self._tuning.keep_missed_frames]
        self._known = known
        return faces
