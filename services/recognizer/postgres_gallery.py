"""The gallery in PostgreSQL: one store shared by several recognizer replicas.

Each replica searches its own in-memory copy (GalleryMemory) and keeps it current through
LISTEN/NOTIFY: every enrollment and deletion notifies, in the same transaction, the id of
the person it changed; each replica's listener re-reads that person within a fraction of
a second of the commit. A listener that loses its connection re-reads everything when it
is back, so nothing missed meanwhile stays missed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict

import numpy as np
import psycopg

from services.recognizer.gallery import GalleryMemory, Person, RestingFace

log = logging.getLogger(__name__)

CHANNEL = "facestream_gallery"
LISTEN_WINDOW_S = 0.2  # notifications are applied at least this often
SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    person_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS embeddings (
    id BIGSERIAL PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(person_id) ON DELETE CASCADE,
    vector BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_by_person ON embeddings(person_id);
CREATE TABLE IF NOT EXISTS resting_faces (
    person_id TEXT PRIMARY KEY REFERENCES people(person_id) ON DELETE CASCADE,
    labels TEXT NOT NULL,
    scores BYTEA NOT NULL,
    frames INTEGER NOT NULL
);
"""


CONNECT_TIMEOUT_S = 5  # per attempt


def connect(url: str, timeout_s: float = 60.0) -> psycopg.Connection:
    """A connection, waiting out a server that is still starting (replicas and their
    database are often started together)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            log.warning("PostgreSQL not reachable yet; retrying")
            time.sleep(1.0)


class PostgresGallery(GalleryMemory):
    def __init__(self, url: str, dimensions: int) -> None:
        super().__init__(dimensions)
        self._url = url
        self._db = connect(url)
        with self._db.transaction():
            # Replicas starting together would race to create the tables.
            self._db.execute("SELECT pg_advisory_xact_lock(7263)")
            self._db.execute(SCHEMA)
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._listener = threading.Thread(target=self._listen, name="gallery-listener",
                                          daemon=True)
        self._listener.start()
        # LISTEN first, then load: a change committed in between is both loaded and
        # notified (re-reading a person is idempotent), never neither.
        if not self._listening.wait(30):
            raise RuntimeError("the gallery's listener could not connect to PostgreSQL")
        self._reload_all(self._db)

    def _reload_all(self, db: psycopg.Connection) -> None:
        names = dict(db.execute("SELECT person_id, name FROM people").fetchall())
        vectors: dict[str, list[np.ndarray]] = defaultdict(list)
        for person_id, blob in db.execute("SELECT person_id, vector FROM embeddings"):
            vectors[person_id].append(np.frombuffer(blob, np.float32))
        for person in self.people():
            if person.person_id not in names:
                self.forget(person.person_id)
        for person_id, name in names.items():
            self.replace(person_id, name, np.array(vectors[person_id], np.float32))
        for person_id, labels, scores, frames in db.execute(
                "SELECT person_id, labels, scores, frames FROM resting_faces"):
            self.remember_rest(person_id, RestingFace.decoded(labels, bytes(scores), frames))

    def _reload_person(self, db: psycopg.Connection, person_id: str) -> Person | None:
        row = db.execute("SELECT name FROM people WHERE person_id = %s", (person_id,)).fetchone()
        if row is None:
            self.forget(person_id)
            return None
        blobs = db.execute("SELECT vector FROM embeddings WHERE person_id = %s ORDER BY id",
                           (person_id,)).fetchall()
        vectors = np.array([np.frombuffer(b, np.float32) for (b,) in blobs], np.float32)
        self.replace(person_id, row[0], vectors)
        rest = db.execute("SELECT labels, scores, frames FROM resting_faces WHERE person_id = %s",
                          (person_id,)).fetchone()
        self.remember_rest(person_id, RestingFace.decoded(rest[0], bytes(rest[1]), rest[2])
                           if rest else None)
        return Person(person_id, row[0], len(vectors))

    def _listen(self) -> None:
        reconnecting = False
        while not self._stop.is_set():
            try:
                # Bounded, so a stop does not wait on an unreachable host.
                with psycopg.connect(self._url, autocommit=True,
                                     connect_timeout=CONNECT_TIMEOUT_S) as db:
                    db.execute(f"LISTEN {CHANNEL}")
                    if reconnecting:
                        self._reload_all(db)
                        log.warning("gallery listener reconnected; gallery re-read")
                    self._listening.set()
                    while not self._stop.is_set():
                        changed = {note.payload for note in db.notifies(timeout=LISTEN_WINDOW_S)}
                        for person_id in changed:
                            self._reload_person(db, person_id)
            except psycopg.Error as error:
                if self._stop.is_set():
                    return
                reconnecting = True
                log.warning("gallery listener lost PostgreSQL; retrying",
                            extra={"error": type(error).__name__})
                self._stop.wait(1.0)

    def enroll(self, name: str, vectors: np.ndarray) -> Person:
        """Adds `vectors` to the person called `name` (created when new); committed before
        it returns, and announced to every replica."""
        vectors = np.ascontiguousarray(vectors, np.float32)
        with self._write_lock:
            with self._db.transaction():
                (person_id,) = self._db.execute(
                    "INSERT INTO people (person_id, name) VALUES (%s, %s) ON CONFLICT (name) "
                    "DO UPDATE SET name = EXCLUDED.name RETURNING person_id",
                    (uuid.uuid4().hex, name)).fetchone()
                with self._db.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO embeddings (person_id, vector) VALUES (%s, %s)",
                        [(person_id, vector.tobytes()) for vector in vectors])
                self._db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, person_id))
            return self._reload_person(self._db, person_id)

    def save_rest(self, person_id: str, rest: RestingFace) -> bool:
        """Keeps the person's resting face (replacing an earlier one), committed and
        announced to every replica before it returns. False when no such person is
        enrolled."""
        with self._write_lock:
            with self._db.transaction():
                if self._db.execute("SELECT 1 FROM people WHERE person_id = %s",
                                    (person_id,)).fetchone() is None:
                    return False
                self._db.execute(
                    "INSERT INTO resting_faces (person_id, labels, scores, frames) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (person_id) DO UPDATE SET "
                    "labels = EXCLUDED.labels, scores = EXCLUDED.scores, "
                    "frames = EXCLUDED.frames", (person_id, *rest.encoded()))
                self._db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, person_id))
            self.remember_rest(person_id, RestingFace.decoded(*rest.encoded()))  # as stored
            return True

    def delete(self, person_id: str | None = None, name: str | None = None) -> int | None:
        """Removes the person and their embeddings, in every replica: embeddings removed,
        or None when no such person is enrolled."""
        with self._write_lock:
            with self._db.transaction():
                if name is not None:
                    row = self._db.execute("SELECT person_id FROM people WHERE name = %s",
                                           (name,)).fetchone()
                    person_id = row[0] if row else None
                if person_id is None:
                    return None
                removed = self._db.execute("DELETE FROM embeddings WHERE person_id = %s",
                                           (person_id,)).rowcount
                self._db.execute("DELETE FROM resting_faces WHERE person_id = %s", (person_id,))
                if self._db.execute("DELETE FROM people WHERE person_id = %s",
                                    (person_id,)).rowcount == 0:
                    return None
                self._db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, person_id))
            # Reclaim the deleted rows' space now rather than at the next autovacuum.
            self._db.execute("VACUUM embeddings, people, resting_faces")
            self.forget(person_id)
            return removed

    def close(self) -> None:
        self._stop.set()
        self._listener.join(timeout=2 * LISTEN_WINDOW_S + 1)
        with self._write_lock:
            self._db.close()
