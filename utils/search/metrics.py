"""Retrieval metrics: recall@k of an approximate index against exact search, precision@k of labels, removing a
query's own item from its results, and holding queries out of the index."""

from __future__ import annotations

from typing import Any

import numpy as np


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



def split_held_out_queries(n_items: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split item ids into those to index and held-out queries that are never indexed.

    Recall@k of an approximate index must be measured with queries it does not hold: an indexed query is found first
    by both searches (its own item is the nearest), which inflates recall, and real queries are new vectors (the
    benchmarks of Malkov & Yashunin, TPAMI 2018, and of ``benchmarks/search_bench.py`` draw them apart).

    Args:
        n_items: how many vectors there are.
        n_queries: how many of them to hold out as queries (1 ≤ n_queries < n_items).
        seed: seed of the draw.

    Returns:
        ``(indexed_ids, query_ids)``: sorted int arrays that partition ``0..n_items-1``.

    Raises:
        ValueError: when ``n_queries`` leaves no queries or nothing to index.
    """
    if not 1 <= n_queries < n_items:
        raise ValueError(f"n_queries must lie in 1..{n_items - 1} (n_items={n_items}), not {n_queries}")
    query_ids = np.sort(np.random.default_rng(seed).choice(n_items, size=n_queries, replace=False))
    return np.setdiff1d(np.arange(n_items), query_ids), query_ids
