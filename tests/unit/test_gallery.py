"""The gallery's store and index on a real SQLite file: search, restart, delete for good."""

from __future__ import annotations

import numpy as np
import pytest

from services.recognizer.index import EmbeddingIndex
from services.recognizer.sqlite_gallery import SqliteGallery


def vectors(seed: int, count: int, dimensions: int = 128) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.15, (count, dimensions)).astype(np.float32)


def test_nearest_agrees_with_brute_force_after_adds_and_removes():
    index = EmbeddingIndex(128)
    enrolled = {f"p{i}": vectors(i, 3) for i in range(400)}  # grows past the first capacity
    for person, rows in enrolled.items():
        index.add(person, rows)
    for person in ("p3", "p200", "p399"):
        assert index.remove(person) == 3
        del enrolled[person]
    assert len(index) == 3 * len(enrolled)
    queries = vectors(10_000, 25)
    owners = np.array([p for p, rows in enrolled.items() for _ in rows])
    matrix = np.concatenate(list(enrolled.values()))
    distances = np.linalg.norm(queries[:, None, :] - matrix[None, :, :], axis=2)
    for query, match in zip(distances, index.nearest(queries)):
        assert match.person_id == owners[query.argmin()]
        assert match.distance == pytest.approx(query.min(), abs=1e-4)


def test_an_empty_index_matches_nobody():
    assert EmbeddingIndex(128).nearest(vectors(0, 2)) == [None, None]


def test_enrollments_survive_a_restart_and_a_name_adds_faces(tmp_path):
    path = tmp_path / "gallery.sqlite3"
    gallery = SqliteGallery(path, 128)
    alice = gallery.enroll("Alice", vectors(1, 2))
    again = gallery.enroll("Alice", vectors(2, 1))
    bob = gallery.enroll("Bob", vectors(3, 1))
    assert again.person_id == alice.person_id and again.faces == 3
    gallery.close()

    reopened = SqliteGallery(path, 128)
    assert [(p.name, p.faces) for p in reopened.people()] == [("Alice", 3), ("Bob", 1)]
    (found, name), = reopened.nearest(vectors(3, 1))
    assert (found.person_id, name) == (bob.person_id, "Bob") and found.distance < 1e-5
    reopened.close()


def test_delete_removes_the_embeddings_from_the_file(tmp_path):
    path = tmp_path / "gallery.sqlite3"
    gallery = SqliteGallery(path, 128)
    secret = vectors(7, 2)
    person = gallery.enroll("Carol", secret)
    gallery.enroll("Dave", vectors(8, 1))
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret[0].tobytes() in on_disk  # the test can see a stored vector

    assert gallery.delete(person_id=person.person_id) == 2
    assert gallery.delete(name="Carol") is None
    assert [p.name for p in gallery.people()] == ["Dave"]
    (match, name), = gallery.nearest(secret[:1])
    assert name == "Dave"
    for file in tmp_path.iterdir():  # the database, its log and shared-memory files
        data = file.read_bytes()
        assert secret[0].tobytes() not in data and secret[1].tobytes() not in data
        assert b"Carol" not in data
    gallery.close()
