"""Assemble the classifier server: model, batcher, servicer, health, metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import start_http_server

from facestream.v1 import classifier_service_pb2, classifier_service_pb2_grpc
from services.classifier import metrics
from services.classifier.augmentation import crops_per_batch
from services.classifier.batcher import DynamicBatcher
from services.classifier.core import EmotionClassifier, run_model_batch
from services.classifier.runtime import load_model
from services.classifier.servicer import ClassifierServicer
from services.classifier.settings import ClassifierSettings
from services.common.serving import RunningServer, build_server

log = logging.getLogger(__name__)

SERVICE_NAME = classifier_service_pb2.DESCRIPTOR.services_by_name["ClassifierService"].full_name


@dataclass
class RunningClassifier(RunningServer):
    classifier: EmotionClassifier | None = None

    def release(self) -> None:
        if self.classifier is not None:
            self.classifier.batcher.stop()


def create_server(settings: ClassifierSettings) -> RunningClassifier:
    """Bind, start serving health (NOT_SERVING), load and warm the model, then SERVING."""
    server, port, health = build_server(
        settings, [SERVICE_NAME],
        # Bounded connection age makes clients re-resolve DNS and find new replicas.
        extra_options=[("grpc.max_connection_age_ms", 60_000),
                       ("grpc.max_connection_age_grace_ms", 10_000)],
    )
    servicer = ClassifierServicer(settings.replica_id)
    classifier_service_pb2_grpc.add_ClassifierServiceServicer_to_server(servicer, server)
    server.start()
    log.info("listening; loading model", extra={"port": port, "model": settings.model})
    model, workers = load_model(settings)

    # Each metric's child for this replica, looked up once: the batcher's thread reports
    # every batch, and labels() is a locked dictionary lookup.
    batch_size = metrics.BATCH_SIZE.labels(settings.replica_id)
    crops = metrics.CROPS.labels(settings.replica_id)
    queue_seconds = metrics.QUEUE_SECONDS.labels(settings.replica_id)

    def observe(size: int, waits: list[float]) -> None:
        batch_size.observe(size)
        crops.inc(size)
        for seconds in waits:
            queue_seconds.observe(seconds)

    # The model sees each crop's test-time views in the same batch: fewer crops per batch.
    batcher = DynamicBatcher(run_model_batch(model, settings.tta),
                             crops_per_batch(settings.max_batch_size, settings.tta),
                             settings.max_queue_delay_ms, settings.max_queue_size, observe,
                             workers=workers,
                             # No worker, no answers: stop taking traffic (and say so).
                             on_worker_lost=lambda: health.set_serving(False))
    batcher.start()
    classifier = EmotionClassifier(model, batcher, settings.tta)
    servicer.classifier = classifier
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
    health.set_serving(True)
    log.info("serving", extra={"port": port, "device": model.info.device,
                               "max_batch_size": settings.max_batch_size, "workers": workers,
                               "tta": settings.tta})
    return RunningClassifier(server, port, health, classifier)
