"""Recognizer settings: flags `--name`, environment `FACESTREAM_NAME`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.common.server_settings import ImageServerSettings
from services.common.settings import require, setting
from services.faces.settings import FaceFinderSettings
from services.recognizer.embedding import MATCH_DISTANCE


@dataclass(frozen=True)
class RecognizerSettings(FaceFinderSettings, ImageServerSettings):
    """facestream recognizer: face embeddings, a gallery of enrolled people, identify."""

    port: int = setting(50053, "port to listen on; 0 picks a free one")
    gallery: str = setting("data/gallery.sqlite3", "where the enrolled people's embeddings "
                           "live (never face images): a SQLite file (created if missing), or "
                           "postgresql://user@host:port/db, shared by several replicas")
    embeddings_api: bool = setting(False, "serve Embed and Identify by raw embeddings: a caller "
                                   "holding embeddings can probe the gallery's templates, so "
                                   "off unless asked (or auth_token is set)")
    match_distance: float = setting(MATCH_DISTANCE, "largest embedding distance still the "
                                    "same person (dlib's published 0.6)")
    embedding_workers: int = setting(0, "faces embedded at once, each by its own copy of the "
                                        "network (~100 MB); 0: one per core")
    shape_predictor: str = setting("models/shape_predictor_5_face_landmarks.dat",
                                   "dlib 5-point shape predictor (aligns each face)")
    embedding_model: str = setting("models/dlib_face_recognition_resnet_model_v1.dat",
                                   "dlib face-recognition ResNet")

    @property
    def workers(self) -> int:
        return self.embedding_workers or os.cpu_count() or 1

    def validate(self) -> None:
        super().validate()
        for name in ("shape_predictor", "embedding_model"):
            path = getattr(self, name)
            require(Path(path).is_file(), name, path, "no such file; run `make models`")
        require(bool(self.gallery.strip()), "gallery", self.gallery,
                "give a file path or a postgresql:// URL")
        require(not Path(self.gallery).is_dir(), "gallery", self.gallery,
                "is a folder; give a file path")
        require("://" not in self.gallery
                or self.gallery.startswith(("postgresql://", "postgres://")), "gallery",
                self.gallery, "the only URL kind is postgresql://user@host:port/database")
        require(0 < self.match_distance <= 4, "match_distance", self.match_distance,
                "must be within (0, 4]")
        require(0 <= self.embedding_workers <= 64, "embedding_workers", self.embedding_workers,
                "must be 0..64")
