"""The gallery in one SQLite file: one replica's store (the default).

WAL and a full fsync on every commit, so an enrollment that was acknowledged survives a
killed process; embeddings as float32 blobs. Deleted rows are overwritten with zeros
(secure_delete) and the write-ahead log is truncated, so a deleted person's embeddings are
gone from the disk.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path

import numpy as np

from services.recognizer.gallery import GalleryMemory, Person, RestingFace

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
CREATE TABLE IF NOT EXISTS resting_faces (
    person_id TEXT PRIMARY KEY REFERENCES people(person_id) ON DELETE CASCADE,
    labels TEXT NOT NULL,
    scores BLOB NOT NULL,
    frames INTEGER NOT NULL
);
"""
# PRAGMA user_version of a gallery with every table above; a file from before resting faces
# is 0 and gains their table when opened (CREATE TABLE IF NOT EXISTS), its people kept.
SCHEMA_VERSION = 2


class SqliteGallery(GalleryMemory):
    def __init__(self, path: str | Path, dimensions: int) -> None:
        super().__init__(dimensions)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection, used under the lock: SQLite serializes writers anyway.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                       "secure_delete=ON"):
            self._db.execute(f"PRAGMA {pragma}")
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._write_lock = threading.Lock()
        names = dict(self._db.execute("SELECT person_id, name FROM people"))
        vectors: dict[str, list[np.ndarray]] = {pid: [] for pid in names}
        for person_id, blob in self._db.execute("SELECT person_id, vector FROM embeddings"):
            vectors[person_id].append(np.frombuffer(blob, np.float32))
        for person_id, name in names.items():
            self.remember(person_id, name, np.array(vectors[person_id], np.float32))
        for person_id, labels, scores, frames in self._db.execute(
                "SELECT person_id, labels, scores, frames FROM resting_faces"):
            self.remember_rest(person_id, RestingFace.decoded(labels, scores, frames))

    def enroll(self, name: str, vectors: np.ndarray) -> Person:
        """Adds `vectors` to the person called `name` (created when new); committed to
        disk before it returns."""
        vectors = np.ascontiguousarray(vectors, np.float32)
        with self._write_lock:
            person_id = self.person_named(name) or uuid.uuid4().hex
            with self._db:  # one transaction: the person and all their new faces, or nothing
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("INSERT OR IGNORE INTO people (person_id, name) VALUES (?, ?)",
                                 (person_id, name))
                self._db.executemany("INSERT INTO embeddings (person_id, vector) VALUES (?, ?)",
                                     [(person_id, vector.tobytes()) for vector in vectors])
            return self.remember(person_id, name, vectors)

    def save_rest(self, person_id: str, rest: RestingFace) -> bool:
        """Keeps the person's resting face (replacing an earlier one); committed to disk
        before it returns. False when no such person is enrolled."""
        with self._write_lock:
            if not self.knows(person_id):
                return False
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(
                    "INSERT INTO resting_faces (person_id, labels, scores, frames) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET "
                    "labels = excluded.labels, scores = excluded.scores, frames = excluded.frames",
                    (person_id, *rest.encoded()))
            self.remember_rest(person_id, RestingFace.decoded(*rest.encoded()))  # as stored
            return True

    def delete(self, person_id: str | None = None, name: str | None = None) -> int | None:
        """Removes the person and their embeddings for good: embeddings removed, or None
        when no such person is enrolled."""
        with self._write_lock:
            person_id = person_id if name is None else self.person_named(name)
            if person_id is None or not self.knows(person_id):
                return None
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("DELETE FROM embeddings WHERE person_id = ?", (person_id,))
                self._db.execute("DELETE FROM resting_faces WHERE person_id = ?", (person_id,))
                self._db.execute("DELETE FROM people WHERE person_id = ?", (person_id,))
            # The log still holds the rows' old pages until it is checkpointed: fold it into
            # the (zeroed) file and truncate it.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return self.forget(person_id)

    def close(self) -> None:
        with self._write_lock:
            self._db.close()
