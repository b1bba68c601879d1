"""utils.search: nmslib HNSW against exact search, exact search against a loop, save/load, errors, metrics."""

import json

import numpy as np
import pytest

from utils.search import (
    SEARCH_INDEXES,
    ExactIndex,
    IndexMismatchError,
    NmslibIndex,
    build_index,
    drop_self_matches,
    embed_text_queries,
    load_index,
    precision_at_k,
    recall_at_k,
    split_held_out_queries,
)
from utils.word_vectors import UnknownNamesError, VecWordVectors

N_ITEMS, DIMENSION, N_CLUSTERS = 500, 16, 20


def clustered(rng: np.random.Generator, count: int, centers: np.ndarray) -> np.ndarray:
    """Points around random cluster centres, like class-structured embeddings."""
    return (
        centers[rng.integers(0, len(centers), count)] + 0.4 * rng.normal(size=(count, centers.shape[1]))
    ).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(N_CLUSTERS, DIMENSION))
    items = clustered(rng, N_ITEMS, centers)
    queries = clustered(rng, 40, centers)
    labels = [f"class_{i % 7}" for i in range(N_ITEMS)]
    paths = [f"images/{i:04d}.jpg" for i in range(N_ITEMS)]
    return items, queries, labels, paths


def brute_force_top_k(items: np.ndarray, queries: np.ndarray, k: int):
    """Cosine top-k with Python loops over float64, ties to the smaller id."""
    results_ids, results_similarities = [], []
    for query in queries.astype(np.float64):
        scored = []
        for item_id, item in enumerate(items.astype(np.float64)):
            cosine = float(query @ item / (np.linalg.norm(query) * np.linalg.norm(item)))
            scored.append((-cosine, item_id))
        scored.sort()
        results_ids.append([item_id for _, item_id in scored[:k]])
        results_similarities.append([-negative for negative, _ in scored[:k]])
    return np.array(results_ids), np.array(results_similarities)


def test_exact_index_equals_a_brute_force_loop(data):
    items, queries, _, _ = data
    ids, similarities = build_index("exact", items).query(queries[:10], k=7)
    expected_ids, expected_similarities = brute_force_top_k(items, queries[:10], 7)
    assert ids.dtype == np.int64 and similarities.dtype == np.float32
    assert ids.shape == similarities.shape == (10, 7)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(similarities, expected_similarities, atol=1e-5)


def test_exact_index_chunks_queries_without_changing_results(data):
    items, queries, _, _ = data
    whole = ExactIndex().add(items).query(queries, k=5)
    # 4 bytes × 500 items × 3 rows: blocks of three queries, the last one shorter.
    chunked = ExactIndex(chunk_bytes=4 * N_ITEMS * 3).add(items[:200]).add(items[200:]).query(queries, k=5)
    np.testing.assert_array_equal(whole[0], chunked[0])
    # BLAS may sum a block of different height in another order: float32 rounding, no more.
    np.testing.assert_allclose(whole[1], chunked[1], atol=1e-6)


def test_exact_index_with_k_equal_to_count_sorts_everything():
    items = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    ids, similarities = build_index("exact", items).query([[1.0, 0.1]], k=4)
    np.testing.assert_array_equal(ids, [[0, 2, 1, 3]])
    assert np.all(np.diff(similarities[0]) <= 0)


def test_nmslib_top_k_equals_exact_top_k_on_small_data(data):
    items, queries, _, _ = data
    exact_ids, exact_similarities = build_index("exact", items).query(queries, k=10)
    index = build_index("nmslib", items, M=16, ef_construction=200, ef_search=400, num_threads=1)
    ids, similarities = index.query(queries, k=10)
    assert ids.dtype == np.int64 and similarities.dtype == np.float32 and ids.shape == (40, 10)
    np.testing.assert_array_equal(ids, exact_ids)
    np.testing.assert_allclose(similarities, exact_similarities, atol=1e-5)
    assert recall_at_k(ids, exact_ids, k=10) == 1.0


@pytest.mark.parametrize("name", list(SEARCH_INDEXES))
def test_one_query_vector_gives_one_row(data, name):
    if name == "faiss-hnsw":
        pytest.importorskip("faiss")
    items, queries, _, _ = data
    ids, similarities = build_index(
        name, items, **({"ef_search": 200} if name in ("nmslib", "faiss-hnsw") else {})
    ).query(queries[0], k=3)
    assert ids.shape == similarities.shape == (1, 3)


@pytest.mark.parametrize("name", ["nmslib", "exact"])
def test_save_load_round_trip_gives_identical_results_and_metadata(tmp_path, data, name):
    items, queries, labels, paths = data
    # A low efSearch makes the round trip fail if loading forgot to set the saved query parameters.
    parameters = {"M": 8, "ef_construction": 50, "ef_search": 11} if name == "nmslib" else {}
    index = build_index(name, items, labels=labels, paths=paths, source="devise-test", **parameters)
    before = index.query(queries, k=10)
    metadata_path = index.save(tmp_path / name)
    metadata = json.loads(metadata_path.read_text())
    assert metadata["kind"] == name and metadata["dimension"] == DIMENSION and metadata["count"] == N_ITEMS
    assert metadata["source"] == "devise-test" and metadata["space"] == "cosine"
    assert metadata["labels"][:2] == ["class_0", "class_1"] and metadata["paths"][3] == "images/0003.jpg"

    loaded = load_index(tmp_path / name, expected_source="devise-test", expected_dimension=DIMENSION)
    assert type(loaded) is type(index) and loaded.parameters() == index.parameters()
    after = loaded.query(queries, k=10)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert list(loaded.labels[after[0][0]]) == [labels[i] for i in before[0][0]]
    assert loaded.paths[5] == "images/0005.jpg" and len(loaded) == N_ITEMS
    assert type(index).load(tmp_path / name).count == N_ITEMS


def test_loaded_nmslib_index_uses_its_ef_search_after_load(tmp_path, data):
    items, queries, _, _ = data
    index = build_index("nmslib", items, M=4, ef_construction=10, ef_search=10, num_threads=1)
    index.save(tmp_path)
    loaded = load_index(tmp_path)
    loaded.set_ef_search(N_ITEMS)
    exact_ids, _ = build_index("exact", items).query(queries, k=10)
    # With efSearch as large as the index, the loaded graph search is exhaustive.
    assert recall_at_k(loaded.query(queries, k=10)[0], exact_ids) > recall_at_k(
        index.query(queries, k=10)[0], exact_ids
    )
    assert recall_at_k(loaded.query(queries, k=10)[0], exact_ids) >= 0.99


@pytest.mark.parametrize("name", ["nmslib", "exact"])
def test_dimension_and_source_mismatches_are_rejected_naming_the_file(tmp_path, data, name):
    items, queries, _, _ = data
    build_index(name, items, source="devise-glove50").save(tmp_path)
    metadata_path = str(tmp_path / "index.json")
    with pytest.raises(
        IndexMismatchError, match="source 'devise-glove50', expected 'devise-fasttext300'"
    ) as error:
        load_index(tmp_path, expected_source="devise-fasttext300")
    assert metadata_path in str(error.value)
    with pytest.raises(IndexMismatchError, match="dimension 16, expected 300") as error:
        load_index(tmp_path, expected_dimension=300)
    assert metadata_path in str(error.value)
    loaded = load_index(tmp_path)
    with pytest.raises(
        IndexMismatchError,
        match="query vectors have dimension 8, but the index holds vectors of dimension 16",
    ) as error:
        loaded.query(queries[:, :8], k=3)
    assert metadata_path in str(error.value)


def test_index_files_that_disagree_with_index_json_are_rejected(tmp_path, data):
    items, _, _, _ = data
    build_index("exact", items).save(tmp_path)
    metadata = json.loads((tmp_path / "index.json").read_text())
    (tmp_path / "index.json").write_text(json.dumps({**metadata, "count": 10}))
    with pytest.raises(
        IndexMismatchError, match=r"vectors\.npy.*shape \(500, 16\), but index.json says \(10, 16\)"
    ):
        load_index(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({**metadata, "kind": "annoy"}))
    with pytest.raises(IndexMismatchError, match="unknown index kind 'annoy'"):
        load_index(tmp_path)
    with pytest.raises(FileNotFoundError, match="index.json is missing"):
        load_index(tmp_path / "nowhere")
    (tmp_path / "index.json").write_text(json.dumps(metadata))
    with pytest.raises(IndexMismatchError, match="holds a 'exact' index, not 'nmslib'"):
        NmslibIndex.load(tmp_path)


@pytest.mark.parametrize("name", ["nmslib", "exact"])
def test_empty_index_and_bad_k_are_rejected(data, name):
    items, queries, _, _ = data
    with pytest.raises(ValueError, match="empty"):
        build_index(name).query(queries, k=1)
    small = build_index(name, items[:5])
    with pytest.raises(ValueError, match="k must be an integer from 1 to the index's 5 items, got 6"):
        small.query(queries, k=6)
    with pytest.raises(ValueError, match="got 0"):
        small.query(queries, k=0)
    assert small.query(queries, k=5)[0].shape == (40, 5)


@pytest.mark.parametrize("name", ["nmslib", "exact"])
def test_zero_and_non_finite_vectors_are_rejected(data, name):
    items, queries, _, _ = data
    bad_items = items[:20].copy()
    bad_items[[3, 7]] = 0
    with pytest.raises(ValueError, match=r"2 of 20 vectors are zero or not finite \(rows 3, 7\)"):
        build_index(name, bad_items)
    bad_queries = queries[:4].copy()
    bad_queries[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"1 of 4 query vectors .*rows 1\).*cosine similarity is undefined"):
        build_index(name, items).query(bad_queries, k=2)


def test_metadata_must_match_the_vectors(data):
    items, _, labels, _ = data
    with pytest.raises(ValueError, match="labels has 3 entries for 500 vectors"):
        build_index("exact", items, labels=labels[:3])
    index = build_index("exact", items[:10], labels=labels[:10])
    with pytest.raises(ValueError, match="labels must be given for every batch"):
        index.add(items[10:20])
    with pytest.raises(ValueError, match="unknown search index 'faiss'; choose one of nmslib, exact"):
        build_index("faiss")


def test_nmslib_refuses_to_add_after_building(data):
    items, queries, _, _ = data
    index = build_index("nmslib", items[:50])
    index.query(queries, k=1)
    with pytest.raises(RuntimeError, match="cannot add items to a built HNSW graph"):
        index.add(items[50:60])


def test_recall_at_k_hand_cases():
    exact = np.array([[1, 2, 3], [4, 5, 6]])
    assert recall_at_k(exact, exact) == 1.0
    # Row 1 finds 2 of 3 (order does not matter), row 2 finds 1 of 3: (2/3 + 1/3) / 2.
    approximate = np.array([[3, 1, 9], [7, 8, 4]])
    assert recall_at_k(approximate, exact) == pytest.approx(0.5)
    assert recall_at_k(approximate, exact, k=1) == 0.0
    assert recall_at_k(np.array([[1, -1, -1]]), np.array([[1, 2, -1]])) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="k=4 is outside 1..3"):
        recall_at_k(approximate, exact, k=4)


def test_precision_at_k_hand_cases():
    retrieved = np.array([["cat", "cat", "dog"], ["dog", "cat", "cat"]])
    query_labels = np.array(["cat", "dog"])
    assert precision_at_k(retrieved, query_labels) == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert precision_at_k(retrieved, query_labels, k=1) == 1.0
    assert precision_at_k(retrieved, query_labels, k=2) == pytest.approx((1 + 1 / 2) / 2)
    assert precision_at_k(np.array([[2, 2], [0, 1]]), [2, 1], k=2) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="query_labels must have shape"):
        precision_at_k(retrieved, ["cat"])


def test_drop_self_matches_removes_each_query_once():
    ids = np.array([[5, 1, 2], [3, 4, 9], [7, 7, 8]])
    similarities = np.array([[1.0, 0.9, 0.8], [0.9, 0.8, 0.7], [1.0, 1.0, 0.5]])
    kept_ids, kept_similarities = drop_self_matches(ids, similarities, [5, 9, 7])
    np.testing.assert_array_equal(kept_ids, [[1, 2], [3, 4], [7, 8]])
    np.testing.assert_array_equal(kept_similarities, [[0.9, 0.8], [0.9, 0.8], [1.0, 0.5]])
    np.testing.assert_array_equal(drop_self_matches(ids[:1], similarities[:1], [42])[0], [[5, 1]])


def test_held_out_queries_partition_the_items_and_are_never_indexed(data):
    items = data[0]
    indexed, queries = split_held_out_queries(len(items), 20, seed=3)
    assert len(queries) == 20 and np.array_equal(np.sort(np.concatenate([indexed, queries])), np.arange(len(items)))
    assert np.array_equal(queries, split_held_out_queries(len(items), 20, seed=3)[1])
    ids, _ = build_index("exact", items[indexed]).query(items[queries], k=1)
    assert not np.isin(indexed[ids.ravel()], queries).any()
    with pytest.raises(ValueError, match="n_queries"):
        split_held_out_queries(10, 10)


def test_text_queries_find_the_image_of_the_named_class():
    words = ["spotted", "big", "cat", "grey", "whale"]
    vectors = np.eye(5, dtype=np.float32)
    word_vectors = VecWordVectors(words, vectors, "toy")
    query_vectors = embed_text_queries(word_vectors, ["spotted big cat", "grey whale"])
    np.testing.assert_allclose(np.linalg.norm(query_vectors, axis=1), 1.0, rtol=1e-6)
    image_embeddings = np.array([[0, 0, 0, 1, 1], [1, 1, 1, 0, 0], [0, 0, 1, 0, 0]], dtype=np.float32)
    index = build_index("exact", image_embeddings, labels=["whale", "leopard", "persian+cat"])
    ids, _ = index.query(query_vectors, k=1)
    assert list(index.labels[ids[:, 0]]) == ["leopard", "whale"]
    with pytest.raises(UnknownNamesError, match="'purple unicorn'"):
        embed_text_queries(word_vectors, ["purple unicorn"])


def test_labels_and_paths_follow_every_batch_added(data):
    items, queries, labels, paths = data
    index = build_index("exact", items[:10], labels=labels[:10], paths=paths[:10])
    assert len(index.labels) == 10
    index.add(items[10:30], labels=labels[10:30], paths=paths[10:30])
    assert list(index.labels) == labels[:30] and list(index.paths) == paths[:30]
    ids, _ = index.query(items[25], k=1)
    assert ids[0, 0] == 25 and index.labels[ids[0, 0]] == labels[25]
