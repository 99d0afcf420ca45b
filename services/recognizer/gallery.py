"""The gallery of enrolled people: embeddings only, never a face image.

`SqliteGallery` is the store: one SQLite file (WAL, fsync on every commit, so an
enrollment that was acknowledged survives a killed process), embeddings as float32
blobs. Searches run on an in-memory EmbeddingIndex loaded from the file at start and kept
in step with every change. Deleted rows are overwritten with zeros (secure_delete) and the
write-ahead log is truncated, so a deleted person's embeddings are gone from the disk.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.recognizer.index import EmbeddingIndex, Match

SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    person_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS embeddings (
    id INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(person_id) ON DELETE CASCADE,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_by_person ON embeddings(person_id);
"""


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    faces: int


class SqliteGallery:
    def __init__(self, path: str | Path, dimensions: int) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dimensions = dimensions
        # One connection, used under the lock: SQLite serializes writers anyway.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                       "secure_delete=ON"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._index = EmbeddingIndex(dimensions)
        self._names: dict[str, str] = {}  # person_id -> name
        self._faces: dict[str, int] = {}
        for person_id, name in self._db.execute("SELECT person_id, name FROM people"):
            self._names[person_id], self._faces[person_id] = name, 0
        for person_id, blob in self._db.execute("SELECT person_id, vector FROM embeddings"):
            self._add_to_index(person_id, np.frombuffer(blob, np.float32)[None, :])

    def _add_to_index(self, person_id: str, vectors: np.ndarray) -> None:
        self._index.add(person_id, vectors)
        self._faces[person_id] = self._faces.get(person_id, 0) + len(vectors)

    def enroll(self, name: str, vectors: np.ndarray) -> Person:
        """Adds `vectors` to the person called `name` (created when new); committed to
        disk before it returns."""
        vectors = np.ascontiguousarray(vectors, np.float32)
        with self._lock:
            row = self._db.execute("SELECT person_id FROM people WHERE name = ?", (name,)).fetchone()
            person_id = row[0] if row else uuid.uuid4().hex
            with self._db:  # one transaction: the person and all their new faces, or nothing
                self._db.execute("BEGIN IMMEDIATE")
                if row is None:
                    self._db.execute("INSERT INTO people (person_id, name) VALUES (?, ?)",
                                     (person_id, name))
                self._db.executemany("INSERT INTO embeddings (person_id, vector) VALUES (?, ?)",
                                     [(person_id, vector.tobytes()) for vector in vectors])
            self._names[person_id] = name
            self._add_to_index(person_id, vectors)
            return Person(person_id, name, self._faces[person_id])

    def delete(self, person_id: str | None = None, name: str | None = None) -> int | None:
        """Removes the person and their embeddings for good: embeddings removed, or None
        when no such person is enrolled."""
        with self._lock:
            if person_id is None:
                person_id = next((pid for pid, n in self._names.items() if n == name), None)
            if person_id not in self._names:
                return None
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("DELETE FROM embeddings WHERE person_id = ?", (person_id,))
                self._db.execute("DELETE FROM people WHERE person_id = ?", (person_id,))
            # The log still holds the rows' old pages until it is checkpointed: fold it into
            # the (zeroed) file and truncate it.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            del self._names[person_id]
            self._faces.pop(person_id, None)
            return self._index.remove(person_id)

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

    def close(self) -> None:
        with self._lock:
            self._db.close()
