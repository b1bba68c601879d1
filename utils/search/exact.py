"""Exact cosine search with NumPy: the reference the approximate indexes are measured against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from utils.search.base import IndexMismatchError, SearchIndex, _construct
from utils.word_vectors import read_npy

EXACT_VECTORS_FILE = "vectors.npy"

EXACT_CHUNK_BYTES = 256 * 2**20
"""Memory bound of one block of the exact similarity matrix (queries × items, float32)."""


class ExactIndex(SearchIndex):
    """Exact cosine search: unit vectors, one matrix product per block of queries, top-k by partition.

    Costs O(n_queries × count × dimension) per query batch, which BLAS makes fast up to some
    hundred thousand items; it is the reference every approximate index is measured against.
    Ties are broken by the smaller item id, so results are deterministic.

    Args:
        dimension: see :class:`SearchIndex`.
        source: see :class:`SearchIndex`.
        chunk_bytes: memory bound of one (queries × items) float32 similarity block.
    """

    kind = "exact"

    def __init__(self, dimension: int | None = None, source: str = "", chunk_bytes: int = EXACT_CHUNK_BYTES):
        super().__init__(dimension, source)
        self.chunk_bytes = int(chunk_bytes)
        self._blocks: list[np.ndarray] = []
        self._vectors: np.ndarray | None = None

    @property
    def vectors(self) -> np.ndarray:
        """The unit-normalised item vectors, of shape (count, dimension)."""
        if self._blocks:
            parts = ([] if self._vectors is None else [self._vectors]) + self._blocks
            self._vectors, self._blocks = np.concatenate(parts), []
        if self._vectors is None:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        return self._vectors

    def _add_unit_vectors(self, unit_vectors: np.ndarray) -> None:
        self._blocks.append(unit_vectors)

    def _query_unit_vectors(self, unit_queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        items = self.vectors
        n_queries = len(unit_queries)
        ids = np.empty((n_queries, k), dtype=np.int64)
        similarities = np.empty((n_queries, k), dtype=np.float32)
        rows_per_chunk = max(1, self.chunk_bytes // (4 * self.count))
        for start in range(0, n_queries, rows_per_chunk):
            stop = min(start + rows_per_chunk, n_queries)
            block = unit_queries[start:stop] @ items.T
            if k < self.count:
                candidates = np.argpartition(-block, k - 1, axis=1)[:, :k]
            else:
                candidates = np.broadcast_to(np.arange(self.count), block.shape)
            candidate_similarities = np.take_along_axis(block, candidates, axis=1)
            # lexsort's last key is the primary one: similarity descending, then id ascending for ties.
            order = np.lexsort((candidates, -candidate_similarities), axis=1)
            ids[start:stop] = np.take_along_axis(candidates, order, axis=1)
            similarities[start:stop] = np.take_along_axis(candidate_similarities, order, axis=1)
        return ids, similarities

    def _save_files(self, folder: Path) -> None:
        np.save(folder / EXACT_VECTORS_FILE, self.vectors)

    def parameters(self) -> dict[str, Any]:
        return {"chunk_bytes": self.chunk_bytes}

    @classmethod
    def _from_files(cls, folder: Path, metadata: dict[str, Any]) -> ExactIndex:
        index = _construct(cls, folder, metadata)
        vectors_path = folder / EXACT_VECTORS_FILE
        if not vectors_path.is_file():
            raise IndexMismatchError(vectors_path, "missing: the exact index's vectors were not saved here")
        vectors = read_npy(vectors_path, error=IndexMismatchError)
        expected = (metadata["count"], metadata["dimension"])
        if vectors.shape != expected:
            raise IndexMismatchError(
                vectors_path, f"holds vectors of shape {vectors.shape}, but index.json says {expected}"
            )
        index._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return index

