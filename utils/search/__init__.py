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

**Where things live** (each name is also importable from ``utils.search`` itself):

* :mod:`utils.search.base` — :class:`SearchIndex` (the interface), :func:`unit_rows`,
  :class:`IndexMismatchError`, and what every saved index shares: ``INDEX_METADATA_FILE``,
  ``FORMAT_VERSION``, ``SPACE``, ``read_index_metadata`` (the checks of ``index.json``);
* :mod:`utils.search.exact` — :class:`ExactIndex` (``EXACT_VECTORS_FILE``, ``EXACT_CHUNK_BYTES``);
* :mod:`utils.search.nmslib_index` — :class:`NmslibIndex` (``NMSLIB_INDEX_FILE``,
  ``NMSLIB_DATA_SUFFIX``); nmslib is imported when an index is created;
* :mod:`utils.search.faiss_index` — :class:`FaissHnswIndex` (``FAISS_INDEX_FILE``, ``FAISS_HEADER``,
  ``FAISS_HNSW_FOURCC``); FAISS is imported when an index is created;
* :mod:`utils.search.registry` — :data:`SEARCH_INDEXES`, :data:`HNSW_INDEXES`, :func:`build_index`,
  :func:`load_index` (which checks ``index.json``);
* :mod:`utils.search.metrics` — :func:`recall_at_k`, :func:`precision_at_k`, :func:`drop_self_matches`,
  :func:`split_held_out_queries`;
* :mod:`utils.search.text` — :func:`embed_text_queries`.

Imports run one way: ``base`` ← ``exact``, ``nmslib_index``, ``faiss_index`` ← ``registry`` ← this
package; ``metrics`` and ``text`` stand alone.
"""

from utils.search.base import (
    FORMAT_VERSION,
    INDEX_METADATA_FILE,
    SPACE,
    HnswIndex,
    IndexMismatchError,
    SearchIndex,
    unit_rows,
)
from utils.search.exact import EXACT_CHUNK_BYTES, EXACT_VECTORS_FILE, ExactIndex
from utils.search.faiss_index import FAISS_HEADER, FAISS_HNSW_FOURCC, FAISS_INDEX_FILE, FaissHnswIndex
from utils.search.metrics import drop_self_matches, precision_at_k, recall_at_k, split_held_out_queries
from utils.search.nmslib_index import NMSLIB_DATA_SUFFIX, NMSLIB_INDEX_FILE, NmslibIndex
from utils.search.registry import HNSW_INDEXES, SEARCH_INDEXES, build_index, load_index
from utils.search.text import embed_text_queries

__all__ = [
    "EXACT_CHUNK_BYTES",
    "EXACT_VECTORS_FILE",
    "FAISS_HEADER",
    "FAISS_HNSW_FOURCC",
    "FAISS_INDEX_FILE",
    "FORMAT_VERSION",
    "HNSW_INDEXES",
    "INDEX_METADATA_FILE",
    "NMSLIB_DATA_SUFFIX",
    "NMSLIB_INDEX_FILE",
    "SEARCH_INDEXES",
    "SPACE",
    "ExactIndex",
    "FaissHnswIndex",
    "IndexMismatchError",
    "NmslibIndex",
    "HnswIndex",
    "SearchIndex",
    "build_index",
    "drop_self_matches",
    "embed_text_queries",
    "load_index",
    "precision_at_k",
    "recall_at_k",
    "split_held_out_queries",
    "unit_rows",
]
