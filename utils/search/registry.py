"""Index kinds by name, and the two front doors: :func:`build_index` (a config string picks the kind) and
:func:`load_index` (a saved folder, its ``index.json`` checked)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.search.base import HnswIndex, IndexMismatchError, SearchIndex, read_index_metadata
from utils.search.exact import ExactIndex
from utils.search.faiss_index import FaissHnswIndex
from utils.search.nmslib_index import NmslibIndex

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
        if isinstance(index, HnswIndex):
            index.build()
    return index


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
    metadata_path, metadata = read_index_metadata(folder)
    if metadata["kind"] not in SEARCH_INDEXES:
        raise IndexMismatchError(
            metadata_path, f"unknown index kind {metadata['kind']!r} (known: {', '.join(SEARCH_INDEXES)})"
        )
    return SEARCH_INDEXES[metadata["kind"]]._restore(metadata_path, metadata, expected_source, expected_dimension)
