"""DetectorService over gRPC: decode the frame, run the pipeline, encode the faces."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import detector_service_pb2_grpc as pb_grpc
from facestream.v1 import face_pb2, image_pb2
from services.common.ahead import worked_ahead
from services.common.errors import InvalidInput
from services.common.frame_limits import FrameLimits
from services.common.serving import time_left
from services.common.status import grpc_errors, status_of
from services.detector import metrics
from services.detector.identities import IdentityStatus
from services.detector.pipeline import (
    EmotionState,
    FacePipeline,
    FrameResult,
    Options,
    RequestedOptions,
    ScanMode,
    Stream,
)
from services.faces.expressions import ExpressionStatus
from services.faces.imaging import decode_image
from services.faces.models.face_landmarker import BLENDSHAPE_NAMES

_EMOTION_STATUS = {
    EmotionState.OK: face_pb2.EMOTION_STATUS_OK,
    EmotionState.NOT_REQUESTED: face_pb2.EMOTION_STATUS_NOT_REQUESTED,
    EmotionState.UNAVAILABLE: face_pb2.EMOTION_STATUS_UNAVAILABLE,
    EmotionState.FACE_TURNED: face_pb2.EMOTION_STATUS_FACE_TURNED,
}
_IDENTITY_STATUS = {
    IdentityStatus.NOT_REQUESTED: face_pb2.IDENTITY_STATUS_NOT_REQUESTED,
    IdentityStatus.KNOWN: face_pb2.IDENTITY_STATUS_KNOWN,
    IdentityStatus.UNKNOWN: face_pb2.IDENTITY_STATUS_UNKNOWN,
    IdentityStatus.PENDING: face_pb2.IDENTITY_STATUS_PENDING,
    IdentityStatus.UNAVAILABLE: face_pb2.IDENTITY_STATUS_UNAVAILABLE,
}
_EXPRESSION_STATUS = {
    ExpressionStatus.OK: face_pb2.EXPRESSION_STATUS_OK,
    ExpressionStatus.NOT_REQUESTED: face_pb2.EXPRESSION_STATUS_NOT_REQUESTED,
    ExpressionStatus.FACE_TOO_SMALL: face_pb2.EXPRESSION_STATUS_FACE_TOO_SMALL,
    ExpressionStatus.FACE_TURNED: face_pb2.EXPRESSION_STATUS_FACE_TURNED,
    ExpressionStatus.NOT_SEEN: face_pb2.EXPRESSION_STATUS_NOT_SEEN,
    ExpressionStatus.OVER_BUDGET: face_pb2.EXPRESSION_STATUS_OVER_BUDGET,
    ExpressionStatus.UNAVAILABLE: face_pb2.EXPRESSION_STATUS_UNAVAILABLE,
}
_SCAN_MODE = {
    pb.SCAN_MODE_UNSPECIFIED: None,
    pb.SCAN_MODE_FULL: ScanMode.FULL,
    pb.SCAN_MODE_INCREMENTAL: ScanMode.INCREMENTAL,
}


def _requested(options: pb.DetectOptions) -> RequestedOptions:
    """A request's options as the pipeline takes them (unset fields: None)."""
    def given(name: str):
        return getattr(options, name) if options.HasField(name) else None

    return RequestedOptions(options.return_crops, given("classify"), given("min_score"),
                            options.max_faces, _scan_mode(options.scan_mode), given("track"),
                            given("smoothing_half_life_ms"), options.identify,
                            options.expressions)


def _scan_mode(value: int) -> ScanMode | None:
    if value not in _SCAN_MODE:
        raise InvalidInput(f"options.scan_mode is {value}; use SCAN_MODE_FULL (1) or "
                           "SCAN_MODE_INCREMENTAL (2), or leave it unset")
    return _SCAN_MODE[value]


def _face_to_proto(face, labels: list[str], with_crop: bool) -> face_pb2.Face:
    x, y, width, height = face.detection.box
    message = face_pb2.Face(
        box=face_pb2.Box(x=x, y=y, width=width, height=height),
        score=face.detection.score,
        keypoints=[face_pb2.Point(x=float(px), y=float(py)) for px, py in face.detection.keypoints],
        emotion_status=_EMOTION_STATUS[face.emotion_state],
        identity_status=_IDENTITY_STATUS[face.identity_status],
    )
    if face.pose is not None:
        message.pose.CopyFrom(face_pb2.HeadPose(yaw=face.pose.yaw, pitch=face.pose.pitch,
                                                roll=face.pose.roll))
    if face.person is not None:
        message.person_id, message.person_name = face.person.person_id, face.person.name
        message.person_distance = face.person.distance
    if face.scores is not None:
        message.emotion_scores.extend(face.scores.tolist())
        message.emotion = labels[int(face.scores.argmax())]
    message.track_id = face.track_id
    if face.smoothed_scores is not None and labels:
        message.smoothed_scores.extend(face.smoothed_scores.tolist())
        message.smoothed_emotion = labels[face.smoothed_label]
    message.relative_emotion, message.baseline_ready = face.relative_emotion, face.baseline_ready
    message.expression_status = _EXPRESSION_STATUS[face.expression_status]
    if face.expression is not None:
        message.blendshapes.update(zip(BLENDSHAPE_NAMES, face.expression.blendshapes.tolist()))
        message.gaze.CopyFrom(face_pb2.Gaze(yaw=face.expression.gaze.yaw,
                                            pitch=face.expression.gaze.pitch))
        message.looking = face.expression.looking
    if with_crop:
        message.crop.CopyFrom(image_pb2.Image(
            data=face.crop.tobytes(), format=image_pb2.IMAGE_FORMAT_GRAY8,
            width=face.crop.shape[1], height=face.crop.shape[0]))
    return message


def _observe(result: FrameResult, decode_ms: float) -> pb.StageTimings:
    """The frame counted in the metrics; its stage times as the API sends them."""
    metrics.FRAMES.inc()
    metrics.FACES.inc(len(result.faces))
    if result.emotions_error:
        metrics.EMOTIONS_UNAVAILABLE.inc()
    stages = {"decode": decode_ms, **{stage.removesuffix("_ms"): ms for stage, ms
                                       in vars(result.timings).items() if ms is not None}}
    for stage, ms in stages.items():  # track and identify: only frames that had them
        metrics.STAGE_SECONDS.labels(stage).observe(ms / 1000)
    return pb.StageTimings(**{f"{stage}_ms": ms for stage, ms in stages.items()})


@dataclass
class _DecodedFrame:
    """A request's frame, ready for the pipeline."""

    frame: np.ndarray
    options: Options
    decode_ms: float
    captured_at_s: float


@dataclass
class _FoundFrame:
    """A frame between the pipeline's two halves."""

    decoded: _DecodedFrame
    result: FrameResult


def _frame_error(frame_id: int, error: Exception) -> pb.StreamDetectResponse:
    code, message = status_of(error)
    return pb.StreamDetectResponse(frame_id=frame_id,
                                   error=pb.FrameError(code=code.value[0], message=message))


class DetectorServicer(pb_grpc.DetectorServiceServicer):
    def __init__(self, pipeline: FacePipeline, frame_limits: FrameLimits,
                 max_streams: int) -> None:
        self._pipeline = pipeline
        self._frame_limits = frame_limits
        # Per open stream, a thread decodes its next frames and one finds their faces, so
        # that a stream's detection never waits for a decode. Kept between streams: a
        # thread's memory arena stays warm, where new threads would each grow their own.
        self._decoders = ThreadPoolExecutor(max_workers=max_streams,
                                            thread_name_prefix="stream-decode")
        self._finders = ThreadPoolExecutor(max_workers=max_streams,
                                           thread_name_prefix="stream-find")

    def _decoded(self, request, streaming: bool) -> _DecodedFrame:
        """A request's options checked and its frame decoded."""
        arrived_at_s = time.monotonic()
        started = time.perf_counter()
        options = self._pipeline.resolve_options(_requested(request.options), streaming)
        image = request.image
        frame = decode_image(image.data, image.format, image.width, image.height, self._frame_limits)
        decode_ms = (time.perf_counter() - started) * 1000
        capture_time_us = getattr(request, "capture_time_us", 0)
        captured_at_s = capture_time_us / 1e6 if capture_time_us else arrived_at_s
        return _DecodedFrame(frame, options, decode_ms, captured_at_s)

    def _found(self, decoded: _DecodedFrame | Exception,
               stream: Stream | None = None) -> _FoundFrame | Exception:
        """A decoded frame's faces found (the pipeline's `find`); a frame that could not be
        decoded passes its error on."""
        if isinstance(decoded, Exception):
            return decoded
        return _FoundFrame(decoded, self._pipeline.find(decoded.frame, decoded.options, stream))

    def _finished(self, found: _FoundFrame, context,
                  stream: Stream | None = None) -> tuple[FrameResult, pb.StageTimings]:
        """The found frame's crops, emotions, expressions, tracks and identities
        (`finish`)."""
        decoded = found.decoded
        result = self._pipeline.finish(found.result, decoded.frame, decoded.options,
                                       time_left(context), stream, decoded.captured_at_s)
        return result, _observe(result, decoded.decode_ms)

    @grpc_errors
    def Detect(self, request, context):
        found = self._found(self._decoded(request, streaming=False))
        result, timings = self._finished(found, context)
        return pb.DetectResponse(
            faces=[_face_to_proto(f, result.labels, found.decoded.options.return_crops)
                   for f in result.faces],
            emotion_labels=result.labels, timings=timings,
            emotions_unavailable_reason=result.emotions_error,
            identity_unavailable_reason=result.identity_error,
            faces_omitted=result.faces_omitted)

    def _stream_answer(self, frame_id: int, found: _FoundFrame | Exception, context,
                       stream: Stream) -> pb.StreamDetectResponse:
        """One stream frame's answer; a frame that failed answers its error, and the stream
        goes on."""
        if isinstance(found, Exception):
            return _frame_error(frame_id, found)
        try:
            result, timings = self._finished(found, context, stream)
        except Exception as error:  # noqa: BLE001 - one bad frame must not end the stream
            return _frame_error(frame_id, error)
        return pb.StreamDetectResponse(
            frame_id=frame_id,
            faces=[_face_to_proto(f, result.labels, found.decoded.options.return_crops)
                   for f in result.faces],
            emotion_labels=result.labels, timings=timings,
            emotions_unavailable_reason=result.emotions_error,
            identity_unavailable_reason=result.identity_error,
            faces_omitted=result.faces_omitted)

    @grpc_errors
    def StreamDetect(self, request_iterator, context):
        stream = self._pipeline.open_stream()
        metrics.OPEN_STREAMS.inc()
        tracks = 0  # this stream's share of LIVE_TRACKS
        try:
            # The next frames are decoded, and their faces found, while this one's are
            # classified and tracked.
            decoded = worked_ahead(request_iterator,
                                   lambda request: self._decoded(request, streaming=True),
                                   self._decoders)
            for (request, _), found in worked_ahead(
                    decoded, lambda item: self._found(item[1], stream), self._finders):
                answer = self._stream_answer(request.frame_id, found, context, stream)
                metrics.LIVE_TRACKS.inc(stream.live_tracks - tracks)
                tracks = stream.live_tracks
                yield answer
        finally:
            metrics.OPEN_STREAMS.dec()
            metrics.LIVE_TRACKS.dec(tracks)
