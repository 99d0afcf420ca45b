"""The gallery of enrolled people: embeddings only, never a face image.

Two stores behind one interface: SQLite (one file, one replica; the default) and
PostgreSQL (several replicas sharing one gallery). Either way searches run on an
in-memory copy, `GalleryMemory`: loaded from the store at start, kept in step with every
change this replica makes and, with PostgreSQL, with every change another replica makes.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from services.recognizer.index import EmbeddingIndex, Match


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    faces: int


@dataclass(frozen=True)
class RestingFace:
    """A person's emotion scores at rest, as a detector learned them from their frames."""

    labels: tuple[str, ...]
    scores: tuple[float, ...]
    frames: int

    def encoded(self) -> tuple[str, bytes, int]:
        """How a store keeps it: labels as JSON, scores as float32 bytes, frames."""
        return json.dumps(list(self.labels)), np.array(self.scores, np.float32).tobytes(), self.frames

    @classmethod
    def decoded(cls, labels: str, scores: bytes, frames: int) -> RestingFace:
        return cls(tuple(json.loads(labels)),
                   tuple(float(v) for v in np.frombuffer(scores, np.float32)), int(frames))


class GalleryMemory:
    """People, their embeddings and the search index, in memory; thread-safe."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._lock = threading.RLock()
        self._index = EmbeddingIndex(dimensions)
        self._names: dict[str, str] = {}  # person_id -> name
        self._faces: dict[str, int] = {}
        self._rests: dict[str, RestingFace] = {}

    def remember(self, person_id: str, name: str, vectors: np.ndarray) -> Person:
        with self._lock:
            self._names[person_id] = name
            self._index.add(person_id, np.asarray(vectors, np.float32).reshape(-1, self.dimensions))
            self._faces[person_id] = self._faces.get(person_id, 0) + len(vectors)
            return Person(person_id, name, self._faces[person_id])

    def replace(self, person_id: str, name: str, vectors: np.ndarray) -> None:
        """The person's embeddings are exactly `vectors` now (what the store holds)."""
        with self._lock:
            self.forget(person_id)
            self.remember(person_id, name, vectors)

    def forget(self, person_id: str) -> int:
        with self._lock:
            if self._names.pop(person_id, None) is None:
                return 0  # not here: spare the index's pass over every embedding
            self._faces.pop(person_id, None)
            self._rests.pop(person_id, None)
            return self._index.remove(person_id)

    def remember_rest(self, person_id: str, rest: RestingFace | None) -> None:
        with self._lock:
            if rest is None:
                self._rests.pop(person_id, None)
            elif person_id in self._names:
                self._rests[person_id] = rest

    def rest_of(self, person_id: str) -> RestingFace | None:
        with self._lock:
            return self._rests.get(person_id)

    def person_named(self, name: str) -> str | None:
        with self._lock:
            return next((pid for pid, known in self._names.items() if known == name), None)

    def knows(self, person_id: str) -> bool:
        with self._lock:
            return person_id in self._names

    def people(self) -> list[Person]:
        with self._lock:
            return sorted((Person(pid, name, self._faces.get(pid, 0))
                           for pid, name in self._names.items()), key=lambda p: p.name)

    def nearest(self, queries: np.ndarray) -> list[tuple[Match, str] | None]:
        """Per query: the closest enrolled face's match and the person's name."""
        with self._lock:
            return [None if match is None else (match, self._names[match.person_id])
                    for match in self._index.nearest(np.asarray(queries, np.float32))]

    def __len__(self) -> int:
        with self._lock:
            return len(self._names)


class Gallery(Protocol):
    """What the recognizer's core needs of a store (GalleryMemory gives the reads)."""

    def enroll(self, name: str, vectors: np.ndarray) -> Person: ...
    def delete(self, person_id: str | None = None, name: str | None = None) -> int | None: ...
    def save_rest(self, person_id: str, rest: RestingFace) -> bool: ...
    def rest_of(self, person_id: str) -> RestingFace | None: ...
    def people(self) -> list[Person]: ...
    def nearest(self, queries: np.ndarray) -> list[tuple[Match, str] | None]: ...
    def close(self) -> None: ...
    def __len__(self) -> int: ...
