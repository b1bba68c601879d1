"""Index kinds by name, and the two front doors: :func:`build_index` (a config string picks the kind) and
:func:`load_index` (a saved folder, its ``index.json`` checked)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.search.base import (
    FORMAT_VERSION,
    INDEX_METADATA_FILE,
    SPACE,
    HnswIndex,
    IndexMismatchError,
    SearchIndex,
)
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

