"""Approximate cosine search with nmslib's HNSW graph, the index the course teaches.

nmslib is imported when an :class:`NmslibIndex` is created, not when this module is (``_import_nmslib``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from utils.search.base import HnswIndex, IndexMismatchError, _construct

NMSLIB_INDEX_FILE = "index.nmslib"
NMSLIB_DATA_SUFFIX = ".dat"
"""nmslib's ``saveIndex(..., save_data=True)`` writes the vectors to ``<index file>.dat``."""


NMSLIB_CPU_NOTICE = (
    "Your CPU supports instructions that this binary was not compiled to use",
    "For maximum performance, you can install NMSLIB from sources",
    "pip install --no-binary :all: nmslib",
)
"""The three lines nmslib's binary wheel prints on every ``init``: advice, not an error."""


@contextmanager
def _without_cpu_notice() -> Iterator[None]:
    """Pass on everything written to the process's stderr inside the block except :data:`NMSLIB_CPU_NOTICE`.

    nmslib writes the notice from C++ straight to file descriptor 2, below Python's ``sys.stderr``, so ``make
    course`` printed it once per notebook; the descriptor is pointed at a temporary file for the block, and every
    other line (a real error included) is written to ``sys.stderr`` afterwards.
    """
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not line.startswith(NMSLIB_CPU_NOTICE)]
            if kept:
                sys.stderr.write("".join(kept))


def _import_nmslib():
    try:
        import nmslib
    except ImportError:
        raise ModuleNotFoundError("NmslibIndex needs nmslib: pip install nmslib==2.1.2") from None
    return nmslib


class NmslibIndex(HnswIndex):
    """Approximate cosine search with an HNSW graph (Malkov & Yashunin, TPAMI 2018) from nmslib.

    HNSW links every item to about ``M`` neighbours on each of a few layers, coarse to fine, and a
    query walks the graph greedily, keeping ``ef_search`` candidates. Larger ``M`` and
    ``ef_construction`` make a better graph (slower to build, more memory); larger ``ef_search`` raises
    recall and lowers queries per second, and can be changed at any time (:meth:`set_ef_search`).
    ``python -m benchmarks.search_bench`` measures the trade-off.

    Vectors added with :meth:`add` are buffered; the graph is built on the first query or save (or an
    explicit :meth:`build`). nmslib cannot add items to a built HNSW graph, so :meth:`add` after that
    raises; build a new index with all the vectors instead.

    Args:
        dimension: see :class:`SearchIndex`.
        source: see :class:`SearchIndex`.
        M: graph degree (nmslib's ``M``); 16 to 48 suit 50- to 300-d embeddings.
        ef_construction: candidate list size while building (nmslib's ``efConstruction``).
        ef_search: candidate list size while querying (nmslib's ``efSearch``); at least ``k`` is used.
        num_threads: threads for building and batched queries; 0 uses every core.
    """

    kind = "nmslib"
    NMSLIB_SPACE = "cosinesimil"

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
        with _without_cpu_notice():
            self._index = _import_nmslib().init(method="hnsw", space=self.NMSLIB_SPACE)
        self._built = False
        self._query_ef: int | None = None

    def _add_unit_vectors(self, unit_vectors: np.ndarray) -> None:
        if self._built:
            raise RuntimeError(
                "nmslib cannot add items to a built HNSW graph; build a new NmslibIndex with all the vectors"
            )
        self._index.addDataPointBatch(unit_vectors, np.arange(self.count, self.count + len(unit_vectors)))

    def build(self) -> NmslibIndex:
        """Build the HNSW graph from the vectors added so far (done on first query or save if not called)."""
        if not self._built:
            if self.count == 0:
                raise ValueError("cannot build an empty nmslib index: add vectors first")
            self._index.createIndex(
                {"M": self.M, "efConstruction": self.ef_construction, "indexThreadQty": self._threads()},
                print_progress=False,
            )
            self._built = True
            self._query_ef = None
        return self

    def _apply_query_parameters(self, k: int) -> None:
        # efSearch below k cannot return k neighbours; and after loadIndex nmslib forgets it (ENVIRONMENT.md).
        ef = max(self.ef_search, k)
        if self._query_ef != ef:
            self._index.setQueryTimeParams({"efSearch": ef})
            self._query_ef = ef

    def _query_unit_vectors(self, unit_queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.build()
        self._apply_query_parameters(k)
        if len(unit_queries) == 1:
            # One query: knnQuery avoids starting a thread pool, which costs more than the search itself.
            results = [self._index.knnQuery(unit_queries[0], k=k)]
        else:
            results = self._index.knnQueryBatch(unit_queries, k=k, num_threads=self._threads())
        ids = np.full((len(unit_queries), k), -1, dtype=np.int64)
        similarities = np.full((len(unit_queries), k), -np.inf, dtype=np.float32)
        for row, (found_ids, distances) in enumerate(results):
            # nmslib returns ascending distance 1 - cos; a stable sort keeps its order and fixes rare swaps.
            order = np.argsort(distances, kind="stable")
            ids[row, : len(found_ids)] = found_ids[order]
            similarities[row, : len(found_ids)] = 1.0 - distances[order]
        return ids, similarities

    def _save_files(self, folder: Path) -> None:
        self.build()
        self._index.saveIndex(str(folder / NMSLIB_INDEX_FILE), save_data=True)

    @classmethod
    def _from_files(cls, folder: Path, metadata: dict[str, Any]) -> NmslibIndex:
        index = _construct(cls, folder, metadata)
        index_path = folder / NMSLIB_INDEX_FILE
        data_path = folder / (NMSLIB_INDEX_FILE + NMSLIB_DATA_SUFFIX)
        if not index_path.is_file():
            raise IndexMismatchError(index_path, "missing: the nmslib index was not saved here")
        if not data_path.is_file():
            raise IndexMismatchError(
                data_path, f"missing: nmslib keeps the vectors of {index_path.name} here; save the index again"
            )
        for path in (index_path, data_path):
            if path.stat().st_size == 0:
                raise IndexMismatchError(path, "empty file (0 bytes): an interrupted save? save the index again")
        needed = int(metadata["count"]) * int(metadata["dimension"]) * 4
        if data_path.stat().st_size < needed:
            raise IndexMismatchError(
                data_path,
                f"truncated: {data_path.stat().st_size} bytes cannot hold the {metadata['count']} vectors of "
                f"dimension {metadata['dimension']} that index.json announces ({needed} bytes at least)",
            )
        try:
            index._index.loadIndex(str(index_path), load_data=True)
        except (RuntimeError, ValueError, OSError, MemoryError, IndexError) as error:
            raise IndexMismatchError(
                index_path,
                f"nmslib cannot read it or its {data_path.name} (truncated or corrupt? save the index again): "
                f"{type(error).__name__}: {str(error).strip()[:120] or 'no message'}",
            ) from None
        index._built = True
        index._query_ef = None
        if len(index._index) != metadata["count"]:
            raise IndexMismatchError(
                index_path, f"holds {len(index._index)} items, but index.json says {metadata['count']}"
            )
        return index

