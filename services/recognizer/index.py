"""Exact nearest-neighbour search over enrolled embeddings, in memory (numpy).

Every gallery backend keeps one of these beside its store and searches it, never the
store: a search among 100k embeddings is one matrix product (measured in `make bench`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Match:
    person_id: str
    distance: float


class EmbeddingIndex:
    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._vectors = np.zeros((0, dimensions), np.float32)
        self._squared_norms = np.zeros(0, np.float32)
        self._owners = np.zeros(0, object)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, person_id: str, vectors: np.ndarray) -> None:
        count = len(vectors)
        if self._size + count > len(self._vectors):  # grow by doubling: O(1) amortized adds
            capacity = max(2 * len(self._vectors), self._size + count, 1024)
            self._vectors = _resized(self._vectors, capacity)
            self._squared_norms = _resized(self._squared_norms, capacity)
            self._owners = _resized(self._owners, capacity)
        end = self._size + count
        self._vectors[self._size:end] = vectors
        self._squared_norms[self._size:end] = np.einsum("ij,ij->i", vectors, vectors)
        self._owners[self._size:end] = person_id
        self._size = end

    def remove(self, person_id: str) -> int:
        keep = self._owners[:self._size] != person_id
        removed = int(self._size - keep.sum())
        if removed:
            self._size = int(keep.sum())
            self._vectors[:self._size] = self._vectors[:len(keep)][keep]
            self._squared_norms[:self._size] = self._squared_norms[:len(keep)][keep]
            self._owners[:self._size] = self._owners[:len(keep)][keep]
        return removed

    def nearest(self, queries: np.ndarray) -> list[Match | None]:
        """The closest enrolled embedding's owner and distance, per query row."""
        if self._size == 0:
            return [None] * len(queries)
        vectors = self._vectors[:self._size]
        # |q - v|^2 = |q|^2 + |v|^2 - 2 q.v, for every pair at once
        squared = (np.einsum("ij,ij->i", queries, queries)[:, None]
                   + self._squared_norms[:self._size][None, :] - 2.0 * queries @ vectors.T)
        best = squared.argmin(axis=1)
        distances = np.sqrt(np.maximum(squared[np.arange(len(queries)), best], 0.0))
        return [Match(str(self._owners[i]), float(d)) for i, d in zip(best, distances)]


def _resized(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.zeros((capacity, *array.shape[1:]), array.dtype)
    grown[:len(array)] = array
    return grown
