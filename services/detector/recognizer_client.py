"""The detector's connection to the recognizer: one Identify call per face region."""

from __future__ import annotations

from concurrent.futures import Future

import grpc
import numpy as np

from facestream.v1 import face_pb2, image_pb2
from facestream.v1 import recognizer_service_pb2 as pb
from facestream.v1 import recognizer_service_pb2_grpc as pb_grpc
from services.common.channels import FAST_RECONNECT_OPTIONS
from services.common.security import bearer_metadata, secure_channel
from services.detector.identities import IdentityUnavailable, PersonMatch, SavedBaseline


class RecognizerClient:
    def __init__(self, target: str, tls_ca: str = "", auth_token: str = "") -> None:
        self.target = target
        self._channel = secure_channel(target, tls_ca, options=FAST_RECONNECT_OPTIONS)
        self._metadata = bearer_metadata(auth_token)
        self._stub = pb_grpc.RecognizerServiceStub(self._channel)

    @classmethod
    def from_settings(cls, settings) -> RecognizerClient:
        return cls(settings.recognizer_target, settings.recognizer_tls_ca,
                   settings.recognizer_auth_token)

    def submit(self, region: np.ndarray, box, timeout_s: float) -> Future:
        """A future of the PersonMatch of the face at `box` in `region` (BGR)."""
        x, y, width, height = box
        request = pb.IdentifyRequest(image=pb.FaceImage(
            image=image_pb2.Image(data=region.tobytes(), format=image_pb2.IMAGE_FORMAT_BGR8,
                                  width=region.shape[1], height=region.shape[0]),
            faces=[face_pb2.Box(x=x, y=y, width=width, height=height)]))
        return self._answered(
            self._stub.Identify.future(request, timeout=timeout_s, metadata=self._metadata),
            lambda response: _person_match(response.identities[0]))

    def save_baseline(self, person_id: str, baseline: SavedBaseline, timeout_s: float) -> Future:
        """A future of None once the recognizer has committed the person's resting face."""
        request = pb.SaveBaselineRequest(person_id=person_id, baseline=pb.Baseline(
            labels=baseline.labels, rest_scores=baseline.rest, frames=baseline.frames))
        return self._answered(
            self._stub.SaveBaseline.future(request, timeout=timeout_s, metadata=self._metadata),
            lambda response: None)

    def _answered(self, call, result_of) -> Future:
        """A future of `result_of(response)` once the call ends, or of IdentityUnavailable
        when it fails; cancelling it cancels the call."""
        answer: Future = Future()

        def done(call_future) -> None:
            try:
                response = call_future.result()
            except grpc.RpcError as error:
                answer.set_exception(IdentityUnavailable(
                    f"recognizer {self.target}: {error.code().name} {error.details()}"))
                return
            except grpc.FutureCancelledError:
                answer.cancel()
                return
            answer.set_result(result_of(response))

        answer.add_done_callback(lambda f: call.cancel() if f.cancelled() else None)
        call.add_done_callback(done)
        return answer

    def close(self) -> None:
        self._channel.close()


def _person_match(identity: pb.Identity) -> PersonMatch:
    baseline = identity.baseline if identity.HasField("baseline") else None
    return PersonMatch(identity.person_id, identity.name, identity.distance,
                       SavedBaseline(tuple(baseline.labels), tuple(baseline.rest_scores),
                                     baseline.frames) if baseline is not None else None)
