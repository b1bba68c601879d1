"""Nearest-neighbour search over embeddings: nmslib HNSW, FAISS HNSW and exact NumPy search behind one interface.

Notebook 04 searches three ways in DeViSE's visual-semantic space (Frome et al., NeurIPS 2013),
where image embeddings and label word vectors share one cosine geometry:

* image → image: the index holds image embeddings, the queries are image embeddings;
* image → text: the index holds class-name vectors, the queries are image embeddings;
* text → image: the index holds image embeddings, the queries are word vectors of free text
  (:func:`embed_text_queries`, e.g. ``"spotted big cat"``).

Three implementations of :class:`SearchIndex` answer the same calls:

* :class:`NmslibIndex` — approximate search with Hierarchical Navigable Small World graphs
  (Y. A. Malkov, D. A. Yashunin, "Efficient and robust approximate nearest neighbor search using
  Hierarchical Navigable Small World graphs", TPAMI 2018) through nmslib's ``hnsw`` method, the
  default the course teaches;
* :class:`FaissHnswIndex` — the same algorithm from FAISS (``IndexHNSWFlat``), an optional dependency
  (imported only when selected) that ``benchmarks/search_bench.py`` measured faster at the same recall;
* :class:`ExactIndex` — brute force: unit vectors, one matrix product, ``argpartition``, sort.

The exact one is the reference the approximate ones are measured against (:func:`recall_at_k`), the
way pytorch-metric-learning's accuracy calculator takes a pluggable ``knn_func``. A config string
picks one through :data:`SEARCH_INDEXES` and :func:`build_index`.

**Similarity.** All rank by cosine similarity, best first; vectors are L2-normalised on the way in,
and a zero (or non-finite) vector is rejected because its cosine is undefined. nmslib's space
``cosinesimil`` returns the distance ``1 - cos``, converted back here; FAISS's inner product of unit
vectors is the cosine itself.

**Saved indexes** are folders: ``index.json`` (kind, space, dimension, count, parameters, the
``source`` the embeddings came from, and the per-item ``labels`` and ``paths``) beside the index's
own files. :func:`load_index` checks them, and so does every query: a dimension or source that does
not match fails with a message naming the file.

Example::

    index = build_index("nmslib", image_embeddings, labels=image_labels, paths=image_paths,
                        source="devise-resnet34-glove50")
    ids, similarities = index.query(query_embeddings, k=10)       # each of shape (n_queries, 10)
    index.save(outputs_dir() / "indexes" / "images")
    exact_ids, _ = build_index("exact", image_embeddings).query(query_embeddings, k=10)
    print(recall_at_k(ids, exact_ids, k=10))
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.datasets.errors import DatasetFormatError
from utils.word_vectors import read_npy

INDEX_METADATA_FILE = "index.json"
NMSLIB_INDEX_FILE = "index.nmslib"
NMSLIB_DATA_SUFFIX = ".dat"
"""nmslib's ``saveIndex(..., save_data=True)`` writes the vectors to ``<index file>.dat``."""
EXACT_VECTORS_FILE = "vectors.npy"
FAISS_INDEX_FILE = "index.faiss"
FORMAT_VERSION = 1
SPACE = "cosine"

EXACT_CHUNK_BYTES = 256 * 2**20
"""Memory bound of one block of the exact similarity matrix (queries × items, float32)."""


class IndexMismatchError(DatasetFormatError):
    """A saved index does not fit what it is used with (dimension, source, or its own files), or is corrupt.

    A :class:`~utils.datasets.errors.DatasetFormatError` (so a :class:`ValueError`) whose message is one
    line: ``"<file>: <problem>"``.

    Attributes:
        path: the file at fault (``index.json``, or ``None`` for an index built in memory).
        problem: what does not match.
    """

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        where = f"{self.path}: " if self.path is not None else "index built in memory: "
        ValueError.__init__(self, where + " ".join(str(problem).split()))

    def __reduce__(self) -> tuple:
        return type(self), (self.path, self.problem)


# ---------------------------------------------------------------------------------- helpers


def _as_float32_rows(vectors: Any, name: str) -> np.ndarray:
    """``vectors`` as a C-contiguous float32 array of shape (n, dim); one vector becomes one row."""
    if hasattr(vectors, "detach"):
        vectors = vectors.detach().cpu().numpy()
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n, dim), not {array.shape}")
    return np.ascontiguousarray(array)


def unit_rows(vectors: Any, name: str = "vectors") -> np.ndarray:
    """Rows scaled to unit L2 norm, refusing rows whose cosine similarity is undefined.

    Args:
        vectors: array of shape (n, dim) (or (dim,), one row).
        name: what the rows are, for the error message.

    Returns:
        Float32 array of shape (n, dim) with unit-norm rows.

    Raises:
        ValueError: listing the rows that are zero or hold NaN/inf.
    """
    array = _as_float32_rows(vectors, name)
    norms = np.linalg.norm(array.astype(np.float64), axis=1)
    bad = np.flatnonzero(~np.isfinite(norms) | (norms == 0))
    if bad.size:
        shown = ", ".join(map(str, bad[:10].tolist())) + (" ..." if bad.size > 10 else "")
        raise ValueError(
            f"{bad.size} of {len(array)} {name} are zero or not finite (rows {shown}); "
            "cosine similarity is undefined for them"
        )
    return (array / norms[:, None].astype(np.float32)).astype(np.float32)


def _json_list(values: Any, name: str, count: int) -> list | None:
    """Per-item metadata as a JSON-friendly list of length ``count`` (``None`` stays ``None``)."""
    if values is None:
        return None
    items = np.asarray(values).tolist() if not isinstance(values, list | tuple) else list(values)
    items = [str(item) if isinstance(item, os.PathLike) else item for item in items]
    if len(items) != count:
        raise ValueError(f"{name} has {len(items)} entries for {count} vectors")
    return [item.item() if isinstance(item, np.generic) else item for item in items]


# -------------------------------------------------------------------------------- interface


class SearchIndex:
    """Cosine nearest-neighbour search over vectors of shape (n_items, dimension), with item metadata.

    Add vectors (and, optionally, a label and a file path per item) with :meth:`add`, then
    :meth:`query`; :meth:`save` and :meth:`load` keep the index with its metadata. Item ids are
    row numbers in the order of addition, so ``index.labels[ids]`` gives the labels of the hits.

    Args:
        dimension: the vectors' dimension; ``None`` takes it from the first :meth:`add`.
        source: the embedding model the vectors came from (a free string such as
            ``"devise-resnet34-glove50"``), saved with the index and checked on load.

    Attributes:
        kind: the name under which :data:`SEARCH_INDEXES` lists the class.
        dimension: the vectors' dimension (``None`` before the first :meth:`add`).
        source: see above.
        count: how many items the index holds.
        labels: array of shape (count,) of per-item labels, or ``None``.
        paths: array of shape (count,) of per-item file paths (strings), or ``None``.
        path: the ``index.json`` the index was loaded from or saved to (``None`` if neither).
    """

    kind = "base"

    def __init__(self, dimension: int | None = None, source: str = "") -> None:
        self.dimension = None if dimension is None else int(dimension)
        self.source = str(source)
        self.count = 0
        self._labels: list | None = None
        self._paths: list | None = None
        self.path: Path | None = None

    # ----------------------------------------------------------------------- metadata

    def _as_array(self, name: str, dtype: Any = None) -> np.ndarray | None:
        """``self._<name>`` as an array, converted once per list (``add`` replaces the list)."""
        values = getattr(self, f"_{name}")
        cached = self.__dict__.setdefault("_array_cache", {}).get(name)
        if values is None:
            return None
        if cached is None or cached[0] is not values:
            cached = (values, np.asarray(values, dtype=dtype))
            self._array_cache[name] = cached
        return cached[1]

    @property
    def labels(self) -> np.ndarray | None:
        return self._as_array("labels")

    @property
    def paths(self) -> np.ndarray | None:
        return self._as_array("paths", dtype=object)

    def parameters(self) -> dict[str, Any]:
        """The implementation's parameters, saved in ``index.json``."""
        return {}

    def metadata(self) -> dict[str, Any]:
        """Everything ``index.json`` records about the index."""
        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "space": SPACE,
            "dimension": self.dimension,
            "count": self.count,
            "parameters": self.parameters(),
            "source": self.source,
            "labels": self._labels,
            "paths": self._paths,
        }

    def _describe(self) -> str:
        return f"{self.kind} index of {self.count} items, dimension {self.dimension}, source {self.source!r}"

    # ---------------------------------------------------------------------- building

    def add(self, vectors: Any, labels: Sequence | np.ndarray | None = None, paths: Sequence | None = None):
        """Add items to the index.

        Args:
            vectors: array (or tensor) of shape (n, dimension); rows are L2-normalised here.
            labels: per-item labels of shape (n,) (class ids or names), or ``None``.
            paths: per-item file paths of shape (n,), or ``None``.

        Returns:
            The index itself, so calls chain.

        Raises:
            ValueError: for zero or non-finite rows, a wrong dimension, metadata of the wrong
                length, or metadata given for some batches and not for others.
        """
        unit_vectors = unit_rows(vectors, "vectors")
        if len(unit_vectors) == 0:
            raise ValueError("no vectors to add (shape (0, dim))")
        self._check_dimension(unit_vectors.shape[1], "vectors to add")
        new_labels = _json_list(labels, "labels", len(unit_vectors))
        new_paths = _json_list(paths, "paths", len(unit_vectors))
        for name, old, new in (("labels", self._labels, new_labels), ("paths", self._paths, new_paths)):
            if self.count and (old is None) != (new is None):
                raise ValueError(f"{name} must be given for every batch added or for none")
        self._add_unit_vectors(unit_vectors)
        self.dimension = unit_vectors.shape[1]
        if new_labels is not None:
            self._labels = (self._labels or []) + new_labels
        if new_paths is not None:
            self._paths = (self._paths or []) + new_paths
        self.count += len(unit_vectors)
        return self

    def _add_unit_vectors(self, unit_vectors: np.ndarray) -> None:
        raise NotImplementedError

    def _check_dimension(self, dimension: int, what: str) -> None:
        if self.dimension is not None and dimension != self.dimension:
            raise IndexMismatchError(
                self.path,
                f"{what} have dimension {dimension}, but the index holds vectors of dimension "
                f"{self.dimension} ({self._describe()}); embed them with the same model",
            )

    # ----------------------------------------------------------------------- queries

    def query(self, vectors: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items most cosine-similar to each query vector, best first.

        Args:
            vectors: array (or tensor) of shape (n_queries, dimension), or (dimension,) for one query.
            k: neighbours per query, 1 ≤ k ≤ :attr:`count`.

        Returns:
            ``(ids, similarities)``: int64 item ids of shape (n_queries, k) and float32 cosine
            similarities of shape (n_queries, k), each row sorted from most to least similar. An
            approximate index may find fewer than ``k`` items for a query; the missing places hold
            id ``-1`` and similarity ``-inf``.

        Raises:
            ValueError: for an empty index, ``k`` outside 1..count, zero or non-finite queries.
            IndexMismatchError: if the queries' dimension is not the index's (naming the file).
        """
        if self.count == 0:
            raise ValueError(f"cannot query an empty {self.kind} index: add vectors first")
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= self.count:
            raise ValueError(f"k must be an integer from 1 to the index's {self.count} items, got {k!r}")
        queries = _as_float32_rows(vectors, "query vectors")
        self._check_dimension(queries.shape[1], "query vectors")
        unit_queries = unit_rows(queries, "query vectors")
        if len(unit_queries) == 0:
            return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
        return self._query_unit_vectors(unit_queries, int(k))

    def _query_unit_vectors(self, unit_queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    # --------------------------------------------------------------------- save/load

    def save(self, folder: str | Path) -> Path:
        """Write the index and ``index.json`` into ``folder`` (created if needed).

        Returns:
            The path of ``index.json``.

        Raises:
            ValueError: for an empty index.
        """
        if self.count == 0:
            raise ValueError(f"cannot save an empty {self.kind} index")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._save_files(folder)
        metadata_path = folder / INDEX_METADATA_FILE
        metadata_path.write_text(json.dumps(self.metadata(), indent=1) + "\n")
        self.path = metadata_path
        return metadata_path

    def _save_files(self, folder: Path) -> None:
        raise NotImplementedError

    @classmethod
    def _from_files(cls, folder: Path, metadata: dict[str, Any]) -> SearchIndex:
        raise NotImplementedError

    @classmethod
    def load(
        cls, folder: str | Path, expected_source: str | None = None, expected_dimension: int | None = None
    ) -> SearchIndex:
        """Load an index saved by :meth:`save`; see :func:`load_index`."""
        index = load_index(folder, expected_source=expected_source, expected_dimension=expected_dimension)
        if not isinstance(index, cls):
            raise IndexMismatchError(index.path, f"holds a {index.kind!r} index, not {cls.kind!r}")
        return index

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(count={self.count}, dimension={self.dimension}, source={self.source!r})"
        )


# ------------------------------------------------------------------------------------ exact


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


# ----------------------------------------------------------------------------------- nmslib


def _import_nmslib():
    try:
        import nmslib
    except ImportError:
        raise ModuleNotFoundError("NmslibIndex needs nmslib: pip install nmslib==2.1.2") from None
    return nmslib


class NmslibIndex(SearchIndex):
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
        super().__init__(dimension, source)
        self.M = int(M)
        self.ef_construction = int(ef_construction)
        self.ef_search = int(ef_search)
        self.num_threads = int(num_threads)
        self._index = _import_nmslib().init(method="hnsw", space=self.NMSLIB_SPACE)
        self._built = False
        self._query_ef: int | None = None

    def parameters(self) -> dict[str, Any]:
        return {
            "M": self.M,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "num_threads": self.num_threads,
        }

    def _threads(self) -> int:
        return self.num_threads if self.num_threads > 0 else (os.cpu_count() or 1)

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

    def set_ef_search(self, ef_search: int) -> None:
        """Change ``ef_search`` (recall against speed) without rebuilding."""
        self.ef_search = int(ef_search)

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


# ------------------------------------------------------------------------------------ FAISS


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


class FaissHnswIndex(SearchIndex):
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
        super().__init__(dimension, source)
        self.M = int(M)
        self.ef_construction = int(ef_construction)
        self.ef_search = int(ef_search)
        self.num_threads = int(num_threads)
        if self.M < 2:
            raise ValueError(f"M must be at least 2, got {self.M}")
        self._faiss = _import_faiss()
        self._index: Any = None

    def parameters(self) -> dict[str, Any]:
        return {
            "M": self.M,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "num_threads": self.num_threads,
        }

    def _set_threads(self) -> None:
        self._faiss.omp_set_num_threads(self.num_threads if self.num_threads > 0 else (os.cpu_count() or 1))

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

    def set_ef_search(self, ef_search: int) -> None:
        """Change ``ef_search`` (recall against speed) without rebuilding."""
        self.ef_search = int(ef_search)

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


def _construct(cls: type[SearchIndex], folder: Path, metadata: dict[str, Any]) -> SearchIndex:
    """An empty index of ``cls`` with the dimension, source and parameters ``index.json`` records."""
    try:
        return cls(metadata["dimension"], metadata.get("source", ""), **metadata.get("parameters", {}))
    except (TypeError, ValueError) as error:
        raise IndexMismatchError(
            folder / INDEX_METADATA_FILE,
            f"parameters {metadata.get('parameters')!r} do not fit a {cls.kind} index ({error})",
        ) from None


# ---------------------------------------------------------------------------- name → builder

SEARCH_INDEXES: dict[str, type[SearchIndex]] = {
    "nmslib": NmslibIndex,
    "exact": ExactIndex,
    "faiss-hnsw": FaissHnswIndex,
}
"""Index kinds by name, so a config string picks one: ``"nmslib"`` (the default the course teaches),
``"exact"``, or ``"faiss-hnsw"`` (optional: needs ``pip install faiss-cpu``)."""
HNSW_INDEXES = ("nmslib", "faiss-hnsw")
"""The :data:`SEARCH_INDEXES` that take ``M``, ``ef_construction``, ``ef_search`` and ``num_threads`` and
have :meth:`set_ef_search`."""


def build_index(
    name: str,
    vectors: Any = None,
    *,
    labels: Sequence | np.ndarray | None = None,
    paths: Sequence | None = None,
    source: str = "",
    **parameters: Any,
) -> SearchIndex:
    """Create an index of kind ``name`` and, if ``vectors`` are given, add them (and build it).

    Args:
        name: a key of :data:`SEARCH_INDEXES`.
        vectors: array of shape (n_items, dimension), or ``None`` for an empty index.
        labels: per-item labels of shape (n_items,), or ``None``.
        paths: per-item file paths of shape (n_items,), or ``None``.
        source: the embedding model the vectors came from (checked when the index is loaded).
        **parameters: the implementation's parameters (``M``, ``ef_construction``, ``ef_search``,
            ``num_threads`` for ``"nmslib"`` and ``"faiss-hnsw"``).

    Returns:
        The index; an HNSW index given vectors is already built.

    Raises:
        ValueError: for an unknown name (listing the known ones).
        ModuleNotFoundError: for ``"faiss-hnsw"`` when FAISS is not installed (one line saying how).
    """
    if name not in SEARCH_INDEXES:
        raise ValueError(f"unknown search index {name!r}; choose one of {', '.join(SEARCH_INDEXES)}")
    index = SEARCH_INDEXES[name](source=source, **parameters)
    if vectors is not None:
        index.add(vectors, labels=labels, paths=paths)
        if isinstance(index, NmslibIndex | FaissHnswIndex):
            index.build()
    return index


def _check_metadata_types(metadata_path: Path, metadata: dict[str, Any]) -> None:
    """Refuse an ``index.json`` whose fields have the wrong type or range (an edited file)."""
    for name in ("dimension", "count"):
        value = metadata[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise IndexMismatchError(metadata_path, f"{name} is {value!r}, not a positive integer")
    for name, kind in (("kind", str), ("space", str), ("source", str), ("parameters", dict)):
        if name in metadata and not isinstance(metadata[name], kind):
            raise IndexMismatchError(
                metadata_path, f"{name} is {metadata[name]!r}, not a JSON {'string' if kind is str else 'object'}"
            )
    for name in ("labels", "paths"):
        if metadata.get(name) is not None and not isinstance(metadata[name], list):
            raise IndexMismatchError(metadata_path, f"{name} is a JSON {type(metadata[name]).__name__}, not a list")


def load_index(
    folder: str | Path, expected_source: str | None = None, expected_dimension: int | None = None
) -> SearchIndex:
    """Load an index saved by :meth:`SearchIndex.save`, checking its metadata.

    Args:
        folder: the folder holding ``index.json``.
        expected_source: the embedding model the caller's queries come from; ``None`` skips the check.
        expected_dimension: the caller's query dimension; ``None`` skips the check (queries are
            still checked).

    Returns:
        The index, of the kind ``index.json`` names, with its labels and paths.

    Raises:
        FileNotFoundError: if ``index.json`` is missing.
        IndexMismatchError: naming the file, for an unknown kind or format, a source or dimension
            other than expected, or index files that disagree with ``index.json``.
    """
    metadata_path = Path(folder) / INDEX_METADATA_FILE
    if not metadata_path.is_file():
        raise FileNotFoundError(f"no saved search index at {folder}: {metadata_path} is missing")
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise IndexMismatchError(
            metadata_path, f"not valid JSON ({error}; truncated or edited? save the index again)"
        ) from None
    except (UnicodeDecodeError, OSError) as error:
        raise IndexMismatchError(metadata_path, f"cannot be read as UTF-8 JSON ({type(error).__name__})") from None
    if not isinstance(metadata, dict):
        raise IndexMismatchError(metadata_path, f"holds a JSON {type(metadata).__name__}, not an object")
    missing = {"kind", "dimension", "count", "space"} - set(metadata)
    if missing:
        raise IndexMismatchError(metadata_path, f"lacks the field(s) {', '.join(sorted(missing))}")
    _check_metadata_types(metadata_path, metadata)
    if metadata.get("format_version") != FORMAT_VERSION or metadata["space"] != SPACE:
        raise IndexMismatchError(
            metadata_path,
            f"format {metadata.get('format_version')!r} in space {metadata['space']!r}; "
            f"this code reads format {FORMAT_VERSION} in space {SPACE!r}",
        )
    if metadata["kind"] not in SEARCH_INDEXES:
        raise IndexMismatchError(
            metadata_path, f"unknown index kind {metadata['kind']!r} (known: {', '.join(SEARCH_INDEXES)})"
        )
    source = metadata.get("source", "")
    if expected_source is not None and source != expected_source:
        raise IndexMismatchError(
            metadata_path,
            f"was built from embeddings of source {source!r}, expected {expected_source!r}; "
            "rebuild the index from the current embeddings",
        )
    if expected_dimension is not None and metadata["dimension"] != expected_dimension:
        raise IndexMismatchError(
            metadata_path,
            f"holds vectors of dimension {metadata['dimension']}, expected {expected_dimension}",
        )
    folder = metadata_path.parent
    index = SEARCH_INDEXES[metadata["kind"]]._from_files(folder, metadata)
    index.count = int(metadata["count"])
    index._labels = metadata.get("labels")
    index._paths = metadata.get("paths")
    for name in ("labels", "paths"):
        values = getattr(index, f"_{name}")
        if values is not None and len(values) != index.count:
            raise IndexMismatchError(metadata_path, f"has {len(values)} {name} for {index.count} items")
    index.path = metadata_path
    return index


# ------------------------------------------------------------------------------------ metrics


def _ids_matrix(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n_queries, k), not {array.shape}")
    return array


def recall_at_k(approximate_ids: Any, exact_ids: Any, k: int | None = None) -> float:
    """Mean share of each query's exact top-k that the approximate top-k found.

    The retrieval figure of ANN benchmarks (Malkov & Yashunin, TPAMI 2018): for each query,
    ``|approximate[:k] ∩ exact[:k]| / k``, averaged over queries. Padding ids ``-1`` never count.

    Args:
        approximate_ids: int array of shape (n_queries, ≥ k) from the index under test.
        exact_ids: int array of shape (n_queries, ≥ k) from :class:`ExactIndex`.
        k: how many neighbours to compare; ``None`` uses the exact ids' width.

    Returns:
        Recall@k in [0, 1].

    Raises:
        ValueError: for mismatched shapes, no queries, or ``k`` wider than either array.
    """
    approximate, exact = _ids_matrix(approximate_ids, "approximate_ids"), _ids_matrix(exact_ids, "exact_ids")
    k = exact.shape[1] if k is None else int(k)
    if len(approximate) != len(exact) or len(exact) == 0:
        raise ValueError(
            f"need the same, non-zero number of queries, got {len(approximate)} and {len(exact)}"
        )
    if not 1 <= k <= min(approximate.shape[1], exact.shape[1]):
        raise ValueError(
            f"k={k} is outside 1..{min(approximate.shape[1], exact.shape[1])} (the arrays' widths)"
        )
    hits = [
        len(set(found[:k].tolist()) & set(truth[:k].tolist()) - {-1})
        for found, truth in zip(approximate, exact, strict=True)
    ]
    return float(np.mean(hits) / k)


def precision_at_k(retrieved_labels: Any, query_labels: Any, k: int | None = None) -> float:
    """Mean share of each query's top-k results whose label is the query's label.

    For text → image retrieval the query label is the class the text names; for image → image, the
    query image's class.

    Args:
        retrieved_labels: array of shape (n_queries, ≥ k), the labels of the hits (``index.labels[ids]``).
        query_labels: array of shape (n_queries,), the label each query should retrieve.
        k: how many hits count; ``None`` uses the whole width.

    Returns:
        Precision@k in [0, 1].

    Raises:
        ValueError: for mismatched shapes, no queries, or ``k`` outside 1..width.
    """
    retrieved = _ids_matrix(retrieved_labels, "retrieved_labels")
    wanted = np.asarray(query_labels)
    if wanted.ndim != 1 or len(wanted) != len(retrieved) or len(wanted) == 0:
        raise ValueError(
            f"query_labels must have shape ({len(retrieved)},) and be non-empty, not {wanted.shape}"
        )
    k = retrieved.shape[1] if k is None else int(k)
    if not 1 <= k <= retrieved.shape[1]:
        raise ValueError(f"k={k} is outside 1..{retrieved.shape[1]}")
    return float(np.mean(retrieved[:, :k] == wanted[:, None]))


def drop_self_matches(ids: Any, similarities: Any, query_ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """Remove each query's own item from its results (image → image search over indexed images).

    Query with ``k + 1`` and pass the result here to get ``k`` neighbours that exclude the query
    itself; a row where the query's id is absent loses its last result instead.

    Args:
        ids: int array of shape (n_queries, k + 1).
        similarities: array of shape (n_queries, k + 1).
        query_ids: int array of shape (n_queries,), the item id of each query.

    Returns:
        ``(ids, similarities)`` of shape (n_queries, k), order kept.
    """
    ids, similarities = _ids_matrix(ids, "ids"), _ids_matrix(similarities, "similarities")
    query_ids = np.asarray(query_ids).reshape(-1, 1)
    if ids.shape != similarities.shape or len(query_ids) != len(ids) or ids.shape[1] < 2:
        raise ValueError(f"need ids and similarities of one shape (n_queries, k + 1 ≥ 2), got {ids.shape}")
    is_self = ids == query_ids
    # Mark the last column for removal in rows without a self match, so every row loses exactly one.
    is_self[~is_self.any(axis=1), -1] = True
    is_self &= np.cumsum(is_self, axis=1) == 1
    keep = ~is_self
    width = ids.shape[1] - 1
    return ids[keep].reshape(-1, width), similarities[keep].reshape(-1, width)


def embed_text_queries(word_vectors: Any, texts: Sequence[str]) -> np.ndarray:
    """Free-text queries (``"spotted big cat"``) as unit vectors in the word-vector space.

    Uses :meth:`utils.word_vectors.WordVectors.embed_names`: several words give the mean of their
    unit vectors, the fastText sentence-vector convention, as class names do in DeViSE training.

    Args:
        word_vectors: a :class:`utils.word_vectors.WordVectors`.
        texts: the queries.

    Returns:
        Float32 array of shape (n_texts, word_vectors.dim) with unit-norm rows.

    Raises:
        UnknownNamesError: listing every text with a word that cannot be embedded.
    """
    return word_vectors.embed_names(list(texts), normalize=True)


__all__ = [
    "HNSW_INDEXES",
    "SEARCH_INDEXES",
    "ExactIndex",
    "FaissHnswIndex",
    "IndexMismatchError",
    "NmslibIndex",
    "SearchIndex",
    "build_index",
    "drop_self_matches",
    "embed_text_queries",
    "load_index",
    "precision_at_k",
    "recall_at_k",
    "unit_rows",
]
