"""The detector's core: frame -> faces -> aligned crops -> emotions. No gRPC here."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

import cv2
import numpy as np

from services.common.api_limits import MAX_HALF_LIFE_MS
from services.common.errors import InvalidInput
from services.detector.baseline import Baseline
from services.detector.identities import (
    IdentitySource,
    IdentityStatus,
    PersonMatch,
    identify_now,
    identify_tracked,
)
from services.detector.person_baselines import share_baseline
from services.detector.settings import DetectorSettings
from services.detector.smoothing import EmotionSmoother
from services.detector.track_state import TrackState
from services.detector.tracking import FaceTracker
from services.faces.alignment import normalize
from services.faces.detection import DEFAULT_MIN_SCORE, DetectedFace
from services.faces.expressions import Expression, ExpressionReader, ExpressionStatus
from services.faces.models.face_landmarker import BLENDSHAPE_NAMES
from services.faces.pose import HeadPose, head_pose

log = logging.getLogger(__name__)


class FaceDetector(Protocol):
    """Backends with video support also have `new_stream()`, which returns an object
    with the same `detect` that keeps state from frame to frame."""

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]: ...


class EmotionsUnavailable(Exception):
    """The emotion source could not score the crops; faces go back without emotions."""


class EmotionSource(Protocol):
    """Raises EmotionsUnavailable when it cannot answer."""

    def classify(self, crops: list[np.ndarray], timeout_s: float) -> tuple[list[str], np.ndarray]: ...


class EmotionState(Enum):
    OK = "ok"
    NOT_REQUESTED = "not_requested"
    UNAVAILABLE = "unavailable"
    FACE_TURNED = "face_turned"  # turned beyond the yaw limit: the model cannot read it


class ScanMode(Enum):
    FULL = "full"
    INCREMENTAL = "incremental"


@dataclass(frozen=True)
class RequestedOptions:
    """What one request asked for; None (or 0 for max_faces) means the server's default."""

    return_crops: bool = False
    classify: bool | None = None
    min_score: float | None = None
    max_faces: int = 0
    scan_mode: ScanMode | None = None
    track: bool | None = None
    half_life_ms: float | None = None
    identify: bool = False
    expressions: bool = False


@dataclass(frozen=True, kw_only=True)
class Options:
    """What a frame is analysed with: a request's options with the server's defaults."""

    max_faces: int
    return_crops: bool = False
    classify: bool = True
    min_score: float = DEFAULT_MIN_SCORE
    incremental: bool = False  # a video frame: scan it incrementally when the backend can
    track: bool = False  # give faces track ids (and smoothed emotions) across the stream
    half_life_ms: float = 0.0  # of the emotion smoothing; 0 = raw scores
    identify: bool = False  # say who each face is (the recognizer's gallery)
    expressions: bool = False  # read blendshapes, gaze and looking


class Stream:
    """What a pipeline remembers about one video stream; lives as long as the stream."""

    def __init__(self, detector: FaceDetector, max_missed_frames: int) -> None:
        new_stream = getattr(detector, "new_stream", None)
        self.scan = new_stream() if new_stream is not None else None
        self.tracker = FaceTracker(max_missed_frames)
        self.labels: list[str] = []  # the classifier's, from its last answer on this stream

    @property
    def live_tracks(self) -> int:
        return len(self.tracker.tracks)


@dataclass
class Face:
    detection: DetectedFace
    crop: np.ndarray | None = None  # aligned in `finish`, with the pose
    pose: HeadPose | None = None
    emotion_state: EmotionState = EmotionState.NOT_REQUESTED
    scores: np.ndarray | None = None
    track_id: int = 0  # 0: not tracked
    smoothed_scores: np.ndarray | None = None
    smoothed_label: int = -1  # index into the labels; -1 without smoothed scores
    track_state: TrackState | None = None  # tracked faces only
    identity_status: IdentityStatus = IdentityStatus.NOT_REQUESTED
    person: PersonMatch | None = None
    expression_status: ExpressionStatus = ExpressionStatus.NOT_REQUESTED
    expression: Expression | None = None
    relative_emotion: str = ""  # against the track's resting face; "" until it is learned
    baseline_ready: bool = False


@dataclass
class StageTimes:
    """Milliseconds per stage of one frame; None for a stage the frame did not have."""

    detect_ms: float = 0.0
    align_ms: float = 0.0
    classify_ms: float = 0.0
    track_ms: float | None = None
    identify_ms: float | None = None
    expressions_ms: float | None = None


@dataclass
class FrameResult:
    faces: list[Face]
    labels: list[str] = field(default_factory=list)
    emotions_error: str = ""
    identity_error: str = ""
    timings: StageTimes = field(default_factory=StageTimes)
    faces_omitted: int = 0  # found, but over max_faces


def _align(faces: list[Face], frame: np.ndarray) -> None:
    """Each face's 48x48 crop and its head pose."""
    if not faces:
        return
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    size = (frame.shape[1], frame.shape[0])
    for face in faces:
        detection = face.detection
        face.crop = normalize(gray, detection.box, detection.keypoints)
        face.pose = head_pose(detection.keypoints, size)


@contextmanager
def _timed(timings: StageTimes, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        setattr(timings, stage, (time.perf_counter() - started) * 1000)


class FacePipeline:
    def __init__(self, detector: FaceDetector, emotions: EmotionSource | None,
                 identities: IdentitySource | None = None,
                 expressions: ExpressionReader | None = None, *,
                 settings: DetectorSettings = DetectorSettings()) -> None:
        self._detector = detector
        self._emotions = emotions
        self._identities = identities
        self._expressions = expressions
        self._expression_budget = settings.expression_max_faces
        self.default_min_score = settings.min_score
        self.max_emotion_yaw = settings.max_emotion_yaw
        self.max_faces = settings.max_faces
        self._classify_timeout_s = settings.classify_timeout_ms / 1000
        self._identify_timeout_s = settings.identify_timeout_ms / 1000
        self._half_life_ms = settings.smoothing_half_life_ms
        self._label_margin = settings.label_margin
        self._max_missed_frames = settings.track_max_missed_frames
        self._baseline_ready_frames = settings.baseline_ready_frames
        self._relative_margin = settings.relative_emotion_margin

    def open_stream(self) -> Stream:
        return Stream(self._detector, self._max_missed_frames)

    def resolve_options(self, requested: RequestedOptions, streaming: bool = False) -> Options:
        """The request's options checked, the server's defaults filled in (the one place
        they are): InvalidInput names the field and its range."""
        scan_mode, track, half_life_ms = (requested.scan_mode, requested.track,
                                          requested.half_life_ms)
        min_score, max_faces = requested.min_score, requested.max_faces
        if scan_mode == ScanMode.INCREMENTAL and not streaming:
            raise InvalidInput("options.scan_mode is SCAN_MODE_INCREMENTAL, which needs the "
                               "frames of a stream (StreamDetect); Detect sees one image")
        if track and not streaming:
            raise InvalidInput("options.track is set, which needs the frames of a stream "
                               "(StreamDetect); Detect sees one image and has no tracks")
        half_life = self._half_life_ms if half_life_ms is None else half_life_ms
        if not 0.0 <= half_life <= MAX_HALF_LIFE_MS:
            raise InvalidInput(f"options.smoothing_half_life_ms is {half_life_ms}; it must be 0 "
                               f"(no smoothing) to {MAX_HALF_LIFE_MS:.0f}")
        score = self.default_min_score if min_score is None else min_score
        if not 0.0 <= score <= 1.0:  # NaN fails this too
            raise InvalidInput(f"options.min_score is {min_score}; it must be within [0, 1]")
        if max_faces < 0 or max_faces > self.max_faces:
            raise InvalidInput(f"options.max_faces is {max_faces}; it must be 0 (server maximum) "
                               f"to {self.max_faces}")
        incremental = streaming if scan_mode is None else scan_mode == ScanMode.INCREMENTAL
        # Tracks are for video: a stream of independent pictures (the full scan) has none
        # unless asked for.
        track = incremental if track is None else track
        classify = True if requested.classify is None else requested.classify
        return Options(max_faces=max_faces or self.max_faces, return_crops=requested.return_crops,
                       classify=classify, min_score=score, incremental=incremental, track=track,
                       half_life_ms=half_life, identify=requested.identify,
                       expressions=requested.expressions)

    def analyse(self, frame: np.ndarray, options: Options, time_left_s: float | None = None,
                stream: Stream | None = None, captured_at_s: float = 0.0) -> FrameResult:
        """`captured_at_s`: when the frame was taken, in seconds on any one clock per
        stream; it times the emotion smoothing."""
        return self.finish(self.find(frame, options, stream), frame, options, time_left_s,
                           stream, captured_at_s)

    def find(self, frame: np.ndarray, options: Options,
             stream: Stream | None = None) -> FrameResult:
        """The first half of `analyse`: the frame's faces found. A stream's next frame may
        be found while `finish` completes this one: the two halves share none of the
        stream's state, and all that `find` does is what the next frame must wait for."""
        timings = StageTimes()
        with _timed(timings, "detect_ms"):
            detections, omitted = self._detect(frame, options, stream)
        return FrameResult([Face(d) for d in detections], timings=timings,
                           faces_omitted=omitted)

    def finish(self, result: FrameResult, frame: np.ndarray, options: Options,
               time_left_s: float | None = None, stream: Stream | None = None,
               captured_at_s: float = 0.0) -> FrameResult:
        """The second half of `analyse`: the crops and poses, then the emotions,
        expressions, tracks and identities of the faces `find` returned for this frame."""
        faces, timings = result.faces, result.timings
        with _timed(timings, "align_ms"):
            _align(faces, frame)
        with _timed(timings, "classify_ms"):
            if options.classify and faces:
                self._classify(result, time_left_s, stream)
        if options.expressions and faces:  # before tracking: a track's baseline learns them
            with _timed(timings, "expressions_ms"):
                self._read_expressions(result, frame)
        if options.track and stream is not None:
            with _timed(timings, "track_ms"):
                self.track(result, stream, options, captured_at_s)
        if options.identify and faces:
            with _timed(timings, "identify_ms"):
                self._identify(result, frame, time_left_s)
        return result

    def _detect(self, frame: np.ndarray, options: Options,
                stream: Stream | None) -> tuple[list[DetectedFace], int]:
        """The frame's faces, best first, and how many were left out over max_faces."""
        detector = self._detector
        if options.incremental and stream is not None and stream.scan is not None:
            detector = stream.scan
        detections = detector.detect(frame, options.min_score)
        # Over the cap, the largest faces stay (then the most confident): in a crowd the
        # near faces are the ones a person looks at.
        detections.sort(key=lambda face: (face.box[2] * face.box[3], face.score), reverse=True)
        omitted = max(0, len(detections) - options.max_faces)
        return sorted(detections[:options.max_faces], key=lambda face: face.score,
                      reverse=True), omitted

    def _read_expressions(self, result: FrameResult, frame: np.ndarray) -> None:
        if self._expressions is None:
            for face in result.faces:
                face.expression_status = ExpressionStatus.UNAVAILABLE
            return
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        answers = self._expressions.read_all(
            rgb, [(face.detection, face.pose) for face in result.faces], self._expression_budget)
        for face, (status, expression) in zip(result.faces, answers, strict=True):
            face.expression_status, face.expression = status, expression

    def track(self, result: FrameResult, stream: Stream, options: Options,
              captured_at_s: float) -> None:
        """Give each face of the frame its track id and, with scores, smoothed scores and
        the emotion relative to the track's resting face."""
        tracks = stream.tracker.assign([face.detection.box for face in result.faces], captured_at_s)
        for face, track in zip(result.faces, tracks, strict=True):
            state = face.track_state = track.state
            face.track_id = track.track_id
            face.baseline_ready = state.baseline is not None and state.baseline.ready
            if face.scores is None:
                # A turned face shows what its track's frontal frames said.
                if face.emotion_state is EmotionState.FACE_TURNED and state.smoother is not None:
                    face.smoothed_scores = state.smoother.scores
                    face.smoothed_label = state.smoother.label
                continue
            if state.smoother is None or state.smoother_half_life_ms != options.half_life_ms:
                # A new track, or the stream changed its half-life.
                state.smoother = EmotionSmoother(options.half_life_ms / 1000, self._label_margin)
                state.smoother_half_life_ms = options.half_life_ms
            face.smoothed_scores, face.smoothed_label = state.smoother.update(face.scores,
                                                                              captured_at_s)
            self._relate_to_baseline(face, state, result.labels)

    def _relate_to_baseline(self, face: Face, state: TrackState, labels: list[str]) -> None:
        """Teach the track's baseline this frontal frame; the emotion standing out."""
        if state.baseline is None or state.baseline.labels != labels:
            state.baseline = Baseline(labels, ready_frames=self._baseline_ready_frames,
                                      margin=self._relative_margin,
                                      blendshape_names=BLENDSHAPE_NAMES)
        shapes = face.expression.blendshapes if face.expression is not None else None
        state.baseline.update(face.smoothed_scores, shapes)
        face.relative_emotion = state.baseline.relative(face.smoothed_scores, shapes)
        face.baseline_ready = state.baseline.ready

    def _classify(self, result: FrameResult, time_left_s: float | None,
                  stream: Stream | None) -> None:
        readable = []
        for face in result.faces:
            if face.pose is not None and abs(face.pose.yaw) > self.max_emotion_yaw:
                face.emotion_state = EmotionState.FACE_TURNED
            else:
                readable.append(face)
        if self._emotions is None:
            self._mark_unavailable(result, "no classifier configured (--classifier-target)")
            return
        timeout = self._classify_timeout_s if time_left_s is None else min(
            self._classify_timeout_s, time_left_s)
        if not readable:
            # The stream's labels name the smoothed emotions its turned faces still show.
            result.labels = stream.labels if stream is not None else []
            return
        try:
            labels, scores = self._emotions.classify([f.crop for f in readable], timeout)
        except EmotionsUnavailable as error:
            self._mark_unavailable(result, str(error))
            return
        result.labels = labels
        if stream is not None:
            stream.labels = labels
        for face, row in zip(readable, scores, strict=True):
            face.emotion_state, face.scores = EmotionState.OK, row

    def _identify(self, result: FrameResult, frame: np.ndarray, time_left_s: float | None) -> None:
        """Tracked faces: the track's identity (looked up in the background); others:
        asked now, within the time left."""
        if self._identities is None:
            result.identity_error = "no recognizer configured (--recognizer-target)"
            for face in result.faces:
                face.identity_status = IdentityStatus.UNAVAILABLE
            return
        timeout = self._identify_timeout_s if time_left_s is None else min(
            self._identify_timeout_s, time_left_s)
        boxes = [face.detection.box for face in result.faces]
        if all(face.track_state is not None for face in result.faces):
            states = [face.track_state.identity for face in result.faces]
            now_s = time.monotonic()
            identify_tracked(self._identities, frame, boxes, states, now_s,
                             self._identify_timeout_s)
            for face, state in zip(result.faces, states):
                face.identity_status, face.person = state.status, state.match
                result.identity_error = result.identity_error or state.error
                share_baseline(face.track_state, self._identities, now_s,
                               self._identify_timeout_s)
            return
        for face, answer in zip(result.faces, identify_now(self._identities, frame, boxes,
                                                           timeout), strict=True):
            face.identity_status, face.person = answer.status, answer.match
            result.identity_error = result.identity_error or answer.error

    @staticmethod
    def _mark_unavailable(result: FrameResult, reason: str) -> None:
        log.debug("faces without emotions: %s", reason)
        result.emotions_error = reason
        for face in result.faces:
            if face.emotion_state is not EmotionState.FACE_TURNED:
                face.emotion_state = EmotionState.UNAVAILABLE
