"""Prometheus metrics of the classifier."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

BATCH_SIZE = Histogram(
    "facestream_classifier_batch_size", "Crops per model call",
    ["replica"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
QUEUE_SECONDS = Histogram(
    "facestream_classifier_queue_seconds", "Time a crop waited before its batch ran",
    ["replica"], buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
CROPS = Counter("facestream_classifier_crops_total", "Crops classified", ["replica"])
