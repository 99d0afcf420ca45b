"""Prometheus metrics of the recognizer. Counts only: no names, no ids."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

FACES_EMBEDDED = Counter("facestream_recognizer_faces_embedded_total", "Faces embedded")
ENROLLED_FACES = Counter("facestream_recognizer_enrolled_faces_total",
                         "Faces added to the gallery")
IDENTIFIED = Counter("facestream_recognizer_identified_total",
                     "Faces identified, by outcome", ["outcome"])
GALLERY_PEOPLE = Gauge("facestream_recognizer_gallery_people", "People in the gallery")
