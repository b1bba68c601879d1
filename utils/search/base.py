"""The interface every search index answers, and what they share.

:class:`SearchIndex` is the interface (add, query, save, load, metadata); :func:`unit_rows` the check
every vector passes on the way in (unit L2 norm, no zero or non-finite rows); :class:`IndexMismatchError`
the error for a saved index that does not fit its use or its own files; :func:`read_index_metadata` the checks
of ``index.json`` every load runs. The constants name the files and format every saved index shares. The
implementations live in :mod:`utils.search.exact`, :mod:`utils.search.nmslib_index` and
:mod:`utils.search.faiss_index`; :mod:`utils.search.registry` knows them by name, this module knows none of them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.errors import PathError

INDEX_METADATA_FILE = "index.json"
FORMAT_VERSION = 1
SPACE = "cosine"


class IndexMismatchError(PathError):
    """A saved index does not fit what it is used with (dimension, source, or its own files), or is corrupt.

    A :class:`~utils.errors.PathError` (so a :class:`ValueError`) whose message is one
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


def read_index_metadata(folder: str | Path) -> tuple[Path, dict[str, Any]]:
    """The ``index.json`` of a saved index, checked: its fields, their types, the format and the space.

    Whether its ``kind`` is one this code knows is the caller's check (:meth:`SearchIndex.load`, ``load_index``).

    Args:
        folder: the folder holding ``index.json``.

    Returns:
        ``(path of index.json, its contents)``.

    Raises:
        FileNotFoundError: if ``index.json`` is missing.
        IndexMismatchError: naming the file, if it is not JSON, lacks a field, holds a field of the wrong type, or
            is of another format or space.
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
    return metadata_path, metadata


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
        """Load an index of this class's kind saved by :meth:`save`; ``utils.search.load_index`` loads any kind.

        Args:
            folder, expected_source, expected_dimension: as for ``load_index``.

        Raises:
            FileNotFoundError: if ``index.json`` is missing.
            IndexMismatchError: naming the file, if it holds another kind of index, or as ``load_index``.
        """
        metadata_path, metadata = read_index_metadata(folder)
        if metadata["kind"] != cls.kind:
            raise IndexMismatchError(metadata_path, f"holds a {metadata['kind']!r} index, not {cls.kind!r}")
        return cls._restore(metadata_path, metadata, expected_source, expected_dimension)

    @classmethod
    def _restore(
        cls,
        metadata_path: Path,
        metadata: dict[str, Any],
        expected_source: str | None = None,
        expected_dimension: int | None = None,
    ) -> SearchIndex:
        """The index ``metadata`` (read by :func:`read_index_metadata`) describes, once it fits the caller's
        source and dimension, with its labels and paths.

        Raises:
            IndexMismatchError: naming ``metadata_path``, for a source or dimension other than expected, or index
                files that disagree with ``index.json``.
        """
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
        index = cls._from_files(metadata_path.parent, metadata)
        index.count = int(metadata["count"])
        index._labels = metadata.get("labels")
        index._paths = metadata.get("paths")
        for name in ("labels", "paths"):
            values = getattr(index, f"_{name}")
            if values is not None and len(values) != index.count:
                raise IndexMismatchError(metadata_path, f"has {len(values)} {name} for {index.count} items")
        index.path = metadata_path
        return index

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(count={self.count}, dimension={self.dimension}, source={self.source!r})"
        )


class HnswIndex(SearchIndex):
    """What every HNSW backend shares (Malkov & Yashunin, TPAMI 2018): its knobs, their ``index.json`` record,
    ``ef_search`` changed without a rebuild, and the thread count. Subclasses build, query, save and load.

    Args:
        dimension: see :class:`SearchIndex`.
        source: see :class:`SearchIndex`.
        M: graph degree; 16 to 48 suit 50- to 300-d embeddings.
        ef_construction: candidate list size while building.
        ef_search: candidate list size while querying; at least ``k`` is used.
        num_threads: threads for building and batched queries; 0 uses every core.
    """

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

    def parameters(self) -> dict[str, Any]:
        return {
            "M": self.M,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "num_threads": self.num_threads,
        }

    def set_ef_search(self, ef_search: int) -> None:
        """Change ``ef_search`` (recall against speed) without rebuilding."""
        self.ef_search = int(ef_search)

    def _threads(self) -> int:
        return self.num_threads if self.num_threads > 0 else (os.cpu_count() or 1)


def _construct(cls: type[SearchIndex], folder: Path, metadata: dict[str, Any]) -> SearchIndex:
    """An empty index of ``cls`` with the dimension, source and parameters ``index.json`` records."""
    try:
        return cls(metadata["dimension"], metadata.get("source", ""), **metadata.get("parameters", {}))
    except (TypeError, ValueError) as error:
        raise IndexMismatchError(
            folder / INDEX_METADATA_FILE,
            f"parameters {metadata.get('parameters')!r} do not fit a {cls.kind} index ({error})",
        ) from None

