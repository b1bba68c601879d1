"""Approximate cosine search with FAISS's HNSW graph (``IndexHNSWFlat``), an optional dependency.

FAISS is imported when a :class:`FaissHnswIndex` is created, not when this module is (``_import_faiss``), so
the rest of :mod:`utils.search` works without it.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from utils.search.base import HnswIndex, IndexMismatchError, _construct

FAISS_INDEX_FILE = "index.faiss"


def _import_faiss():
    try:
        import faiss
    except ImportError:
        raise ModuleNotFoundError(
            'the "faiss-hnsw" search index needs FAISS: pip install faiss-cpu==1.15.1 (or use index "nmslib")'
        ) from None
    return faiss


FAISS_HEADER = struct.Struct("<4siq")
"""The start of a FAISS ``IndexHNSWFlat`` file: fourcc ``IHNf``, dimension (int32), item count (int64)."""
FAISS_HNSW_FOURCC = b"IHNf"


def _faiss_problem(error: Exception) -> str:
    """FAISS's multi-line C++ error as its last clause, e.g. ``read error in …: 704 != 1024``."""
    text = " ".join(str(error).split())
    match = re.search(r"\.cpp:\d+: (?:Error: )?(.*)", text)
    return (match.group(1) if match else text)[:160] or "no message"


class FaissHnswIndex(HnswIndex):
    """Approximate cosine search with an HNSW graph (Malkov & Yashunin, TPAMI 2018) from FAISS.

    The same algorithm and parameters as :class:`NmslibIndex` (FAISS's ``IndexHNSWFlat``, which keeps
    the full vectors), compiled with the host's SIMD instructions; ``python -m benchmarks.search_bench``
    compares the two. Unit vectors are searched by inner product, which is their cosine similarity.
    Unlike nmslib's graph, FAISS's grows: :meth:`add` inserts into it at once, before or after queries.

    Args:
        dimension: see :class:`SearchIndex`.
        source: see :class:`SearchIndex`.
        M: graph degree (FAISS's ``M``; the bottom layer gets ``2 M`` links, as in nmslib).
        ef_construction: candidate list size while building (FAISS's ``efConstruction``).
        ef_search: candidate list size while querying (FAISS's ``efSearch``); at least ``k`` is used.
        num_threads: OpenMP threads for adding and batched queries; 0 uses every core. FAISS's thread
            count is process-wide, so it is set before each add and query.
    """

    kind = "faiss-hnsw"

    def __init__(
        self,
        dimension: int | None = None,
        source: str = "",
        M: int = 16,
        ef_construction: int = 200,
        ef_search: int = 100,
        num_threads: int = 0,
    ) -> None:
        super().__init__(dimension, source, M, ef_construction, ef_search, num_threads)
        if self.M < 2:
            raise ValueError(f"M must be at least 2, got {self.M}")
        self._faiss = _import_faiss()
        self._index: Any = None

    def _set_threads(self) -> None:
        self._faiss.omp_set_num_threads(self._threads())

    def _add_unit_vectors(self, unit_vectors: np.ndarray) -> None:
        if self._index is None:
            self._index = self._faiss.IndexHNSWFlat(
                int(unit_vectors.shape[1]), self.M, self._faiss.METRIC_INNER_PRODUCT
            )
            self._index.hnsw.efConstruction = self.ef_construction
        self._set_threads()
        self._index.add(unit_vectors)

    def build(self) -> FaissHnswIndex:
        """Nothing to do (FAISS builds the graph as items are added); for symmetry with :class:`NmslibIndex`."""
        if self.count == 0:
            raise ValueError("cannot build an empty faiss-hnsw index: add vectors first")
        return self

    def _query_unit_vectors(self, unit_queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._index.hnsw.efSearch = max(self.ef_search, k)
        self._set_threads()
        similarities, ids = self._index.search(unit_queries, k)
        # FAISS returns descending inner products, and id -1 where it found fewer than k items.
        ids = ids.astype(np.int64, copy=False)
        similarities = np.where(ids >= 0, similarities, -np.inf).astype(np.float32, copy=False)
        order = np.argsort(-similarities, axis=1, kind="stable")  # keeps FAISS's order, fixes rare swaps
        return np.take_along_axis(ids, order, axis=1), np.take_along_axis(similarities, order, axis=1)

    def _save_files(self, folder: Path) -> None:
        self._faiss.write_index(self._index, str(folder / FAISS_INDEX_FILE))

    @classmethod
    def _from_files(cls, folder: Path, metadata: dict[str, Any]) -> FaissHnswIndex:
        index = _construct(cls, folder, metadata)
        index_path = folder / FAISS_INDEX_FILE
        if not index_path.is_file():
            raise IndexMismatchError(index_path, "missing: the FAISS index was not saved here")
        size = index_path.stat().st_size
        if size == 0:
            raise IndexMismatchError(index_path, "empty file (0 bytes): an interrupted save? save the index again")
        count, dimension = int(metadata["count"]), int(metadata["dimension"])
        if size < FAISS_HEADER.size:
            raise IndexMismatchError(
                index_path, f"truncated: {size} bytes, shorter than a FAISS index's {FAISS_HEADER.size}-byte header"
            )
        with open(index_path, "rb") as file:
            fourcc, saved_dimension, saved_count = FAISS_HEADER.unpack(file.read(FAISS_HEADER.size))
        if fourcc != FAISS_HNSW_FOURCC:
            raise IndexMismatchError(
                index_path, f"starts with {fourcc!r}, not FAISS's IndexHNSWFlat mark {FAISS_HNSW_FOURCC!r} "
                "(corrupt, or another kind of file? save the index again)",
            )
        if (saved_count, saved_dimension) != (count, dimension):
            raise IndexMismatchError(
                index_path,
                f"its header announces {saved_count} vectors of dimension {saved_dimension}, but index.json says "
                f"{count} of dimension {dimension} (another index's file? save the index again)",
            )
        needed = count * dimension * 4
        if size < needed:
            raise IndexMismatchError(
                index_path,
                f"truncated: {size} bytes cannot hold the {count} vectors of dimension {dimension} that "
                f"index.json announces ({needed} bytes at least)",
            )
        try:
            graph = index._faiss.read_index(str(index_path))
        except (RuntimeError, ValueError, OSError, MemoryError) as error:
            raise IndexMismatchError(
                index_path,
                f"FAISS cannot read it (truncated or corrupt? save the index again): {_faiss_problem(error)}",
            ) from None
        if not isinstance(graph, index._faiss.IndexHNSWFlat) or graph.metric_type != index._faiss.METRIC_INNER_PRODUCT:
            raise IndexMismatchError(
                index_path, f"holds a FAISS {type(graph).__name__} (metric {graph.metric_type}), not an "
                "inner-product IndexHNSWFlat",
            )
        if graph.ntotal != count:
            raise IndexMismatchError(index_path, f"holds {graph.ntotal} items, but index.json says {count}")
        index._index = graph
        return index

