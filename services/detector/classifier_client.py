"""The detector's connection to the classifier service(s).

`dns:///host:port` targets are balanced round-robin over every address DNS returns (every
replica), and calls that a replica going away fails (UNAVAILABLE, or CANCELLED while it
shuts down) are retried on another.
"""

from __future__ import annotations

import json
import logging
import threading

import grpc
import numpy as np

from facestream.v1 import classifier_service_pb2 as pb
from facestream.v1 import classifier_service_pb2_grpc as pb_grpc
from facestream.v1 import image_pb2
from services.common.channels import FAST_RECONNECT_OPTIONS
from services.common.security import bearer_metadata, secure_channel
from services.detector import metrics
from services.detector.pipeline import EmotionsUnavailable

log = logging.getLogger(__name__)

SERVICE_CONFIG = json.dumps({
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [{
        "name": [{"service": "facestream.v1.ClassifierService"}],
        "retryPolicy": {
            "maxAttempts": 4,
            "initialBackoff": "0.02s",
            "maxBackoff": "0.2s",
            "backoffMultiplier": 2,
            # UNAVAILABLE: a replica gone or going away. CANCELLED: a replica that is
            # shutting down cancels the calls it had accepted but not yet started (seen
            # when stopping one of three replicas under load). Classify is idempotent,
            # so either is safe to send to another replica.
            "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
        },
    }],
})


class ClassifierClient:
    def __init__(self, target: str, max_message_bytes: int, tls_ca: str = "", tls_cert: str = "",
                 tls_key: str = "", auth_token: str = "") -> None:
        self.target = target
        self._channel = secure_channel(target, tls_ca, tls_cert, tls_key, options=[
            ("grpc.service_config", SERVICE_CONFIG),
            ("grpc.enable_retries", 1),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            *FAST_RECONNECT_OPTIONS,
        ])
        self._metadata = bearer_metadata(auth_token)
        self._stub = pb_grpc.ClassifierServiceStub(self._channel)
        # The channel's state, kept by gRPC's callback: while it is TRANSIENT_FAILURE (no
        # classifier reachable) frames skip the call instead of waiting out its retries.
        self._state = grpc.ChannelConnectivity.IDLE
        self._reachable = True  # what was logged last
        self._state_lock = threading.Lock()
        self._channel.subscribe(self._on_state, try_to_connect=True)

    def _on_state(self, state: grpc.ChannelConnectivity) -> None:
        with self._state_lock:
            self._state = state
        if state is grpc.ChannelConnectivity.READY:
            self._note_reachable(True, "")
        elif state is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            self._note_reachable(False, "cannot connect")

    def _note_reachable(self, reachable: bool, reason: str) -> None:
        """Log once per change between reachable and unreachable."""
        with self._state_lock:
            changed, self._reachable = self._reachable != reachable, reachable
        if changed and reachable:
            log.warning("classifier reachable again", extra={"target": self.target})
        elif changed:
            log.warning("classifier unreachable; faces go without emotions until it is back",
                        extra={"target": self.target, "reason": reason})

    @classmethod
    def from_settings(cls, settings) -> ClassifierClient:
        return cls(settings.classifier_target, settings.max_message_bytes, settings.classifier_tls_ca,
                   settings.classifier_tls_cert, settings.classifier_tls_key,
                   settings.classifier_auth_token)

    def classify(self, crops: list[np.ndarray], timeout_s: float) -> tuple[list[str], np.ndarray]:
        """Labels and (N, labels) scores for N 48x48 crops, or EmotionsUnavailable."""
        with self._state_lock:
            failing = self._state is grpc.ChannelConnectivity.TRANSIENT_FAILURE
        if failing:
            raise EmotionsUnavailable(f"classifier {self.target} unreachable (reconnecting)")
        request = pb.ClassifyRequest(crops=[
            image_pb2.Image(data=crop.tobytes(), format=image_pb2.IMAGE_FORMAT_GRAY8,
                            width=crop.shape[1], height=crop.shape[0])
            for crop in crops
        ])
        try:
            response, call = self._stub.Classify.with_call(request, timeout=timeout_s,
                                                           metadata=self._metadata)
        except grpc.RpcError as error:
            reason = f"classifier {self.target}: {error.code().name} {error.details()}"
            if error.code() is grpc.StatusCode.UNAVAILABLE:
                self._note_reachable(False, reason)
            raise EmotionsUnavailable(reason) from None
        replica = dict(call.trailing_metadata() or ()).get("facestream-replica", "unknown")
        metrics.CROPS_BY_REPLICA.labels(replica).inc(len(crops))
        scores = np.array([list(r.scores) for r in response.results], np.float32)
        return list(response.labels), scores

    def close(self) -> None:
        self._channel.unsubscribe(self._on_state)
        self._channel.close()
