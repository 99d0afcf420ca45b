"""An any-pose stream executing its schedule: the frontal stream's faces, the faces it lost
looked for by CenterFace in their neighbourhoods, and what the discovery passes add. A face
confirmed by neither model ends."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING

import numpy as np

from services.faces.any_pose.combine import combine
from services.faces.any_pose.schedule import AnyPoseSchedule, FramePlan
from services.faces.detection import DetectedFace, KnownFace, moved
from services.faces.geometry import distinct, overlaps, overlaps_any

if TYPE_CHECKING:
    from services.faces.any_pose.detector import AnyPoseDetector


class AnyPoseStream:
    """The per-stream state: the frontal scan's own stream, the schedule, and the faces
    reported or still looked for."""

    def __init__(self, detector: AnyPoseDetector) -> None:
        self._detector = detector
        self._tuning = detector.tuning
        self._schedule = AnyPoseSchedule(stream_scan_frames=detector.stream_scan_frames,
                                         stream_pixels=detector.stream_pixels,
                                         tuning=detector.tuning,
                                         stream_scan_pixels=detector.stream_scan_pixels)
        # A frame over the stream's scan budget leaves its new faces to the tiles, which see
        # them in any pose: its frontal pyramid, of which it runs the coarsest level, would
        # start at their scale.
        self._frontal = detector.frontal.new_stream(self._schedule.frontal_scan_frames,
                                                    detector.stream_scan_pixels,
                                                    self._tuning.tile_scale)
        self._known: list[KnownFace] = []  # last reported, then lost ones still looked for
        # Discovery passes running beside the frames, with the frame their faces join on.
        self._passes: list[tuple[int, Future]] = []

    @property
    def known(self) -> list[KnownFace]:
        return list(self._known)

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        height, width = bgr.shape[:2]
        plan = self._schedule.plan(width, height)
        detector = self._detector
        if plan.first:
            self._passes = []
            self._frontal.scan_frames = self._schedule.frontal_scan_frames
            discovery = detector.discovery_in_background(bgr, plan.discovery, min_score)
            found = combine(self._frontal.detect(bgr, min_score), discovery.result(), min_score,
                            self._tuning)
            self._known = [KnownFace(face) for face in found]
            return found
        keep_score = max(0.0, min_score - detector.frontal.tuning.keep_margin)
        # CenterFace's work of this frame starts beside the frontal scan.
        self._start_passes(bgr, plan, min_score)
        checks = self._start_checks(bgr, keep_score)
        faces = [KnownFace(face) for face in self._frontal_faces(bgr, min_score, keep_score,
                                                                 plan.frontal_scan)]
        lost = [known for known in self._known
                if not np.any(overlaps(known.box, faces) >= self._tuning.same_face_iou)]
        followed, missed = self._follow(bgr, lost, keep_score, checks)
        faces += followed
        faces += self._discovered(bgr, plan, min_score, keep_score, faces)
        return self._report(faces, missed)

    def _frontal_faces(self, bgr: np.ndarray, min_score: float, keep_score: float,
                       scan: bool) -> list[DetectedFace]:
        """The frontal stream's faces; one it keeps below min_score stays only where
        CenterFace sees a face too (a box drifting onto hair or a pillar does not)."""
        return [face for face in self._frontal.detect(bgr, min_score, scan)
                if face.score >= min_score
                or self._detector.look_around(bgr, face.box, keep_score) is not None]

    def _follow(self, bgr: np.ndarray, lost: list[KnownFace], keep_score: float,
                started: dict[int, Future]) -> tuple[list[KnownFace], list[KnownFace]]:
        """(followed, missed): the lost faces CenterFace finds in their neighbourhoods (or
        whose check is not due, at their last box moved as they moved between checks), and
        those it missed, still looked for up to keep_missed_frames where they were last
        confirmed. `started`: checks already running, by id of the face."""
        followed, missed = [], []
        keep_missed = self._detector.frontal.tuning.keep_missed_frames
        for known, due in zip(lost, self._schedule.checks_due(lost), strict=True):
            if not due:
                followed.append(KnownFace(moved(known.face, *known.motion), 0,
                                          known.unconfirmed_frames + 1, known.motion))
                continue
            check = started.get(id(known))
            seen = (check.result() if check is not None
                    else self._detector.look_around(bgr, known.checked_box, keep_score))
            if seen is not None:
                followed.append(KnownFace(seen, 0, 1, _motion(known, seen)))
            elif known.missed < keep_missed:
                missed.append(KnownFace(known.checked_face, known.missed + 1))
        return followed, missed

    def _start_checks(self, bgr: np.ndarray, keep_score: float) -> dict[int, Future]:
        """The checks due of the faces only CenterFace kept, by id of the face: the frontal
        scan most likely loses them again (when it does not, the answer goes unused; the
        faces are the same either way)."""
        kept = [known for known in self._known if known.unconfirmed_frames is not None]
        return {id(known): self._detector.look_around_in_background(bgr, known.checked_box,
                                                                    keep_score)
                for known, due in zip(kept, self._schedule.checks_due(kept), strict=True) if due}

    def _start_passes(self, bgr: np.ndarray, plan: FramePlan, min_score: float) -> None:
        """The part of the discovery pass and the tile due on this frame, started beside
        it; their faces join on this frame, or discovery_lag_frames later."""
        joins_on = plan.frame + self._detector.discovery_lag_frames
        if plan.discovery is not None:
            self._passes.append((joins_on, self._detector.discovery_in_background(
                bgr, plan.discovery, min_score)))
        if plan.tile is not None:
            self._passes.append((joins_on, self._detector.tile_in_background(bgr, plan.tile,
                                                                             min_score)))

    def _discovered(self, bgr: np.ndarray, plan: FramePlan, min_score: float,
                    keep_score: float, faces: list[KnownFace]) -> list[KnownFace]:
        """New faces, where no face is yet, from the passes that join on this frame."""
        due = [running for joins_on, running in self._passes if joins_on <= plan.frame]
        self._passes = [(joins_on, running) for joins_on, running in self._passes
                        if joins_on > plan.frame]
        found = [face for running in due for face in running.result()]
        if not found:
            return []
        new = [face for face in combine([], found, min_score, self._tuning)
               if not np.any(overlaps(face.box, faces) >= self._tuning.same_face_iou)]
        if not self._detector.discovery_lag_frames:
            return [KnownFace(face, 0, 1) for face in new]
        # Found a few frames ago: each is looked for again where it was, in this frame, and
        # kept where it was found when this frame's check cannot tell.
        joined = []
        for face in new:
            seen = self._detector.look_around(bgr, face.box, keep_score)
            if seen is None or np.any(overlaps(seen.box, faces) >= self._tuning.same_face_iou):
                seen = face
            joined.append(KnownFace(seen, 0, 1))
        return joined

    def _report(self, faces: list[KnownFace], missed: list[KnownFace]) -> list[DetectedFace]:
        kept = distinct(faces, self._tuning.same_face_iou)
        reported = [known.face for known in kept]
        self._known = kept + [known for known in missed if not overlaps_any(known.box, reported)]
        return reported


def _motion(known: KnownFace, seen: DetectedFace) -> tuple[float, float]:
    """Pixels a frame `seen` moved since CenterFace last confirmed it; (0, 0) unless both
    boxes are CenterFace's (the models frame a face differently; a missed face, whose box
    stood still, carries no confirmation)."""
    if known.unconfirmed_frames is None:
        return 0.0, 0.0
    (x, y, w, h), (sx, sy, sw, sh) = known.checked_box, seen.box
    frames = known.unconfirmed_frames
    return ((sx + sw / 2 - x - w / 2) / frames, (sy + sh / 2 - y - h / 2) / frames)
