"""The detector's core without gRPC: options, ordering, and the deadline it hands on."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from services.common.errors import InvalidInput
from services.detector.pipeline import (
    EmotionState,
    EmotionsUnavailable,
    FacePipeline,
    Options,
    RequestedOptions,
    ScanMode,
)
from services.detector.settings import DetectorSettings
from services.faces.models.blazeface import BlazeFaceModel
from services.faces.whole_frame import WholeFrameDetector
from tests.conftest import FACE_MODEL, GROUP_PHOTO

SETTINGS = DetectorSettings()


class RecordingEmotions:
    """An emotion source that answers 'happy' and remembers the time it was given."""

    def __init__(self, fail: bool = False) -> None:
        self.timeouts: list[float] = []
        self.fail = fail

    def classify(self, crops, timeout_s):
        self.timeouts.append(timeout_s)
        if self.fail:
            raise EmotionsUnavailable("classifier down")
        scores = np.zeros((len(crops), 2), np.float32)
        scores[:, 1] = 1
        return ["sad", "happy"], scores


@pytest.fixture(scope="module")
def detector():
    return WholeFrameDetector(BlazeFaceModel(FACE_MODEL), nms_iou=0.3)


@pytest.fixture(scope="module")
def group():
    return cv2.imread(str(GROUP_PHOTO))


def test_the_classifier_gets_the_smaller_of_its_timeout_and_the_callers_time_left(detector, group):
    emotions = RecordingEmotions()
    pipeline = FacePipeline(detector, emotions, settings=SETTINGS)
    pipeline.analyse(group, Options(max_faces=64), time_left_s=0.25)
    pipeline.analyse(group, Options(max_faces=64), time_left_s=None)
    pipeline.analyse(group, Options(max_faces=64), time_left_s=30)
    assert emotions.timeouts == [0.25, 1.0, 1.0]


def test_faces_sorted_limited_and_cropped(detector, group):
    pipeline = FacePipeline(detector, RecordingEmotions(), settings=SETTINGS)
    result = pipeline.analyse(group, Options(max_faces=3))
    scores = [face.detection.score for face in result.faces]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert all(face.crop.shape == (48, 48) for face in result.faces)
    assert all(face.emotion_state == EmotionState.OK for face in result.faces)
    assert result.labels == ["sad", "happy"]


def test_over_the_cap_the_largest_faces_stay_and_the_rest_are_counted(detector, group):
    pipeline = FacePipeline(detector, RecordingEmotions(), settings=SETTINGS)
    every = pipeline.analyse(group, Options(max_faces=64)).faces
    assert len(every) == 4
    result = pipeline.analyse(group, Options(max_faces=2))
    assert result.faces_omitted == 2
    areas = sorted((f.detection.box[2] * f.detection.box[3] for f in every), reverse=True)
    assert sorted((f.detection.box[2] * f.detection.box[3] for f in result.faces),
                  reverse=True) == areas[:2]
    scores = [f.detection.score for f in result.faces]
    assert scores == sorted(scores, reverse=True)  # returned in score order still


def test_unavailable_classifier_keeps_the_faces(detector, group):
    pipeline = FacePipeline(detector, RecordingEmotions(fail=True), settings=SETTINGS)
    result = pipeline.analyse(group, Options(max_faces=64))
    assert len(result.faces) == 4
    assert {face.emotion_state for face in result.faces} == {EmotionState.UNAVAILABLE}
    assert result.emotions_error == "classifier down"


def test_option_validation_and_defaults(detector):
    pipeline = FacePipeline(detector, None, settings=DetectorSettings(max_faces=10,
                                                                      min_score=0.5))
    assert pipeline.resolve_options(RequestedOptions()) == Options(
        max_faces=10, min_score=0.5, half_life_ms=300.0)
    assert pipeline.resolve_options(RequestedOptions(True, False, 0.9, 3)) == Options(
        max_faces=3, return_crops=True, classify=False, min_score=0.9, half_life_ms=300.0)
    for bad in (dict(min_score=-0.1), dict(min_score=float("nan")), dict(max_faces=11)):
        with pytest.raises(InvalidInput):
            pipeline.resolve_options(RequestedOptions(**bad))


def test_video_frames_are_tracked_by_default_and_independent_pictures_are_not(detector):
    pipeline = FacePipeline(detector, None, settings=DetectorSettings(max_faces=10))
    video = pipeline.resolve_options(RequestedOptions(), streaming=True)
    assert video.track and video.incremental and video.half_life_ms == 300.0
    stills = pipeline.resolve_options(RequestedOptions(scan_mode=ScanMode.FULL), streaming=True)
    assert not stills.track
    asked = pipeline.resolve_options(RequestedOptions(scan_mode=ScanMode.FULL, track=True,
                                                      half_life_ms=0), streaming=True)
    assert asked.track and asked.half_life_ms == 0
    assert not pipeline.resolve_options(RequestedOptions()).track  # Detect


def test_tracking_options_that_cannot_work_are_refused_with_the_field_named(detector):
    pipeline = FacePipeline(detector, None, settings=DetectorSettings(max_faces=10))
    with pytest.raises(InvalidInput, match="options.track"):
        pipeline.resolve_options(RequestedOptions(track=True))  # Detect: one image
    with pytest.raises(InvalidInput, match="options.smoothing_half_life_ms is 90000"):
        pipeline.resolve_options(RequestedOptions(half_life_ms=90000), streaming=True)


def test_a_stream_tracks_faces_and_smooths_their_scores_in_capture_time(detector, group):
    emotions = RecordingEmotions()
    pipeline = FacePipeline(detector, emotions, settings=SETTINGS)
    stream = pipeline.open_stream()
    options = pipeline.resolve_options(RequestedOptions(), streaming=True)
    first = pipeline.analyse(group, options, stream=stream, captured_at_s=10.0)
    second = pipeline.analyse(group, options, stream=stream, captured_at_s=10.033)
    assert sorted(f.track_id for f in first.faces) == [1, 2, 3, 4]
    by_box = {f.detection.box: f.track_id for f in first.faces}
    assert all(by_box[f.detection.box] == f.track_id for f in second.faces)
    assert all(f.smoothed_label == 1 and f.smoothed_scores[1] == pytest.approx(1.0)
               for f in second.faces)
    alone = pipeline.analyse(group, Options(max_faces=64))  # Detect: no stream, no tracks
    assert {f.track_id for f in alone.faces} == {0}
    assert all(f.smoothed_scores is None for f in alone.faces)


class AlternatingEmotions:
    """Scores that swap between two labels on every call."""

    def __init__(self) -> None:
        self.calls = 0

    def classify(self, crops, timeout_s):
        self.calls += 1
        row = [0.8, 0.2] if self.calls % 2 else [0.2, 0.8]
        return ["sad", "happy"], np.array([row] * len(crops), np.float32)


@pytest.mark.parametrize("half_life_ms", [300, 1001, 2345])
def test_smoothing_carries_over_from_frame_to_frame_at_any_half_life(detector, group, half_life_ms):
    """Any half-life, not only round ones: the smoother is kept, not rebuilt each frame."""
    pipeline = FacePipeline(detector, AlternatingEmotions(), settings=SETTINGS)
    stream = pipeline.open_stream()
    options = pipeline.resolve_options(RequestedOptions(half_life_ms=half_life_ms),
                                       streaming=True)
    pipeline.analyse(group, options, stream=stream, captured_at_s=0.0)
    second = pipeline.analyse(group, options, stream=stream, captured_at_s=0.033)
    for face in second.faces:
        assert face.scores[1] == pytest.approx(0.8)
        assert face.smoothed_scores[1] < 0.3  # mostly the first frame's 0.2, not raw 0.8
        assert face.smoothed_label == 0


def test_faces_turned_beyond_the_yaw_limit_get_no_emotion(detector, group):
    emotions = RecordingEmotions()
    pipeline = FacePipeline(detector, emotions, settings=DetectorSettings(max_emotion_yaw=180.0))
    frontal = pipeline.analyse(group, Options(max_faces=64))
    assert {face.emotion_state for face in frontal.faces} == {EmotionState.OK}
    assert all(face.pose is not None for face in frontal.faces)
    limit = float(np.median([abs(face.pose.yaw) for face in frontal.faces]))
    pipeline.max_emotion_yaw = limit
    result = pipeline.analyse(group, Options(max_faces=64))
    for face in result.faces:
        turned = abs(face.pose.yaw) > limit
        assert face.emotion_state == (EmotionState.FACE_TURNED if turned else EmotionState.OK)
        assert (face.scores is None) == turned
    assert len(emotions.timeouts) == 2  # the crops of the turned faces were never sent
    pipeline.max_emotion_yaw = 0.0
    assert {f.emotion_state for f in pipeline.analyse(group, Options(max_faces=64)).faces} == {
        EmotionState.FACE_TURNED}
    assert len(emotions.timeouts) == 2


def test_a_track_keeps_the_emotion_of_its_frontal_frames_while_turned(detector, group):
    pipeline = FacePipeline(detector, RecordingEmotions(), settings=DetectorSettings(max_emotion_yaw=180.0))
    stream = pipeline.open_stream()
    options = Options(max_faces=64, incremental=True, track=True, half_life_ms=300.0)
    first = pipeline.analyse(group, options, stream=stream, captured_at_s=0.0)
    assert all(face.smoothed_label == 1 for face in first.faces)
    pipeline.max_emotion_yaw = 0.0
    turned = pipeline.analyse(group, options, stream=stream, captured_at_s=0.033)
    assert {face.emotion_state for face in turned.faces} == {EmotionState.FACE_TURNED}
    assert all(face.scores is None and face.smoothed_label == 1 for face in turned.faces)
    assert turned.labels == ["sad", "happy"]
