"""Prometheus metrics of the detector."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

FRAMES = Counter("facestream_detector_frames_total", "Frames analysed")
FACES = Counter("facestream_detector_faces_total", "Faces found (rate() gives faces per second)")
STAGE_SECONDS = Histogram("facestream_detector_stage_seconds", "Time per frame in each stage",
                          ["stage"], buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5))
CROPS_BY_REPLICA = Counter("facestream_detector_classified_crops_total",
                           "Crops classified, by the classifier replica that answered", ["replica"])
EMOTIONS_UNAVAILABLE = Counter("facestream_detector_emotions_unavailable_total",
                               "Frames whose faces went back without emotions")
OPEN_STREAMS = Gauge("facestream_detector_open_streams", "StreamDetect streams open now")
LIVE_TRACKS = Gauge("facestream_detector_live_tracks",
                    "Face tracks the open streams hold (each freed with its stream)")
