"""utils.search.FaissHnswIndex, the optional second HNSW backend: agreement with exact search, save/load, errors."""

import json
import shutil
import sys

import numpy as np
import pytest

from utils.search import (
    HNSW_INDEXES,
    SEARCH_INDEXES,
    ExactIndex,
    FaissHnswIndex,
    IndexMismatchError,
    build_index,
    load_index,
    recall_at_k,
)

N_ITEMS, DIMENSION, N_CLUSTERS = 600, 16, 20


@pytest.fixture(scope="module")
def faiss():
    return pytest.importorskip("faiss")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(N_CLUSTERS, DIMENSION))
    items = (centers[rng.integers(0, N_CLUSTERS, N_ITEMS)] + 0.4 * rng.normal(size=(N_ITEMS, DIMENSION)))
    queries = centers[rng.integers(0, N_CLUSTERS, 40)] + 0.4 * rng.normal(size=(40, DIMENSION))
    labels = [f"class_{i % 7}" for i in range(N_ITEMS)]
    paths = [f"images/{i:04d}.jpg" for i in range(N_ITEMS)]
    return items.astype(np.float32), queries.astype(np.float32), labels, paths


@pytest.fixture(scope="module")
def saved(faiss, data, tmp_path_factory):
    items, _, labels, paths = data
    folder = tmp_path_factory.mktemp("faiss") / "index"
    build_index("faiss-hnsw", items, labels=labels, paths=paths, source="test", num_threads=1).save(folder)
    return folder


def _copy(saved, tmp_path):
    return shutil.copytree(saved, tmp_path / "index")


def test_a_config_string_selects_faiss_and_nmslib_stays_first():
    assert list(SEARCH_INDEXES)[0] == "nmslib" and SEARCH_INDEXES["faiss-hnsw"] is FaissHnswIndex
    assert set(HNSW_INDEXES) <= set(SEARCH_INDEXES) and "exact" not in HNSW_INDEXES


def test_faiss_top_k_agrees_with_exact_search(faiss, data):
    items, queries, _, _ = data
    index = build_index("faiss-hnsw", items, ef_search=100, num_threads=1)
    ids, similarities = index.query(queries, k=10)
    exact_ids, exact_similarities = ExactIndex().add(items).query(queries, k=10)
    assert ids.shape == similarities.shape == (40, 10) and ids.dtype == np.int64
    assert recall_at_k(ids, exact_ids, k=10) >= 0.98
    hits = ids == exact_ids
    np.testing.assert_allclose(similarities[hits], exact_similarities[hits], atol=1e-5)
    assert np.all(np.diff(similarities, axis=1) <= 1e-6)  # best first


def test_one_query_vector_gives_one_row(faiss, data):
    items, queries, _, _ = data
    ids, similarities = build_index("faiss-hnsw", items).query(queries[0], k=3)
    assert ids.shape == similarities.shape == (1, 3)


def test_faiss_grows_after_queries_unlike_nmslib(faiss, data):
    items, queries, _, _ = data
    index = build_index("faiss-hnsw", items[:300], ef_search=200, num_threads=1)
    index.query(queries, k=5)
    index.add(items[300:])
    assert index.count == N_ITEMS
    ids, _ = index.query(queries, k=5)
    assert recall_at_k(ids, ExactIndex().add(items).query(queries, k=5)[0]) >= 0.98


def test_save_load_round_trip_gives_identical_results_and_metadata(faiss, data, tmp_path):
    items, queries, labels, paths = data
    # A low ef_search makes the round trip fail if loading forgot the saved query parameters.
    index = build_index("faiss-hnsw", items, labels=labels, paths=paths, source="devise-test",
                        M=4, ef_construction=10, ef_search=11, num_threads=1)
    before = index.query(queries, k=10)
    metadata = json.loads(index.save(tmp_path / "faiss").read_text())
    assert metadata["kind"] == "faiss-hnsw" and metadata["count"] == N_ITEMS and metadata["dimension"] == DIMENSION
    assert metadata["parameters"]["ef_search"] == 11 and metadata["space"] == "cosine"

    loaded = load_index(tmp_path / "faiss", expected_source="devise-test", expected_dimension=DIMENSION)
    assert type(loaded) is FaissHnswIndex and loaded.parameters() == index.parameters()
    after = loaded.query(queries, k=10)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert loaded.paths[5] == "images/0005.jpg" and list(loaded.labels[:2]) == ["class_0", "class_1"]
    assert FaissHnswIndex.load(tmp_path / "faiss").count == N_ITEMS


@pytest.mark.parametrize(
    ("corrupt", "fragment"),
    [
        ("half", "FAISS cannot read it"),
        ("header", "truncated"),
        ("zero", "empty file"),
        ("missing", "missing"),
        ("text", "not FAISS's IndexHNSWFlat mark"),
        ("tail", "FAISS cannot read it"),
        ("vectors", "truncated"),
    ],
)
def test_a_corrupt_saved_index_names_its_file(saved, tmp_path, corrupt, fragment):
    folder = _copy(saved, tmp_path)
    path = folder / "index.faiss"
    content = path.read_bytes()
    if corrupt == "half":
        path.write_bytes(content[: len(content) // 2])
    elif corrupt == "header":
        path.write_bytes(content[:10])
    elif corrupt == "zero":
        path.write_bytes(b"")
    elif corrupt == "missing":
        path.unlink()
    elif corrupt == "text":
        path.write_text("this is not an index\n" * 10)
    elif corrupt == "tail":
        path.write_bytes(content[:-8])
    else:  # the header intact, too few bytes for the vectors it announces
        path.write_bytes(content[: N_ITEMS * DIMENSION * 4 - 1])
    with pytest.raises(IndexMismatchError) as caught:
        load_index(folder)
    assert str(caught.value).startswith(f"{path}: ") and fragment in str(caught.value)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < len(str(path)) + 300


def test_another_index_s_file_is_rejected_naming_it(saved, data, tmp_path):
    items, _, _, _ = data
    other = build_index("faiss-hnsw", items[:100], num_threads=1).save(tmp_path / "other").parent
    folder = _copy(saved, tmp_path)
    shutil.copy(other / "index.faiss", folder / "index.faiss")
    with pytest.raises(IndexMismatchError, match="header announces 100 vectors of dimension 16") as caught:
        load_index(folder)
    assert str(folder / "index.faiss") in str(caught.value)


def test_dimension_and_source_mismatches_name_the_file(saved, data):
    _, queries, _, _ = data
    with pytest.raises(IndexMismatchError, match="source 'test', expected 'other'"):
        load_index(saved, expected_source="other")
    loaded = load_index(saved)
    with pytest.raises(IndexMismatchError, match="dimension 8") as caught:
        loaded.query(queries[:, :8], k=3)
    assert str(saved / "index.json") in str(caught.value)


def test_edited_parameters_name_index_json(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    metadata = json.loads((folder / "index.json").read_text())
    metadata["parameters"] = {"warp": 9}
    (folder / "index.json").write_text(json.dumps(metadata))
    with pytest.raises(IndexMismatchError, match="do not fit a faiss-hnsw index"):
        load_index(folder)


def test_an_unknown_method_string_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown search index 'faiss'; choose one of nmslib, exact, faiss-hnsw"):
        build_index("faiss", np.eye(3, dtype=np.float32))


def test_faiss_missing_gives_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # makes `import faiss` raise ImportError
    with pytest.raises(ModuleNotFoundError, match=r'needs FAISS: pip install faiss-cpu==1\.15\.1') as caught:
        build_index("faiss-hnsw", np.eye(3, dtype=np.float32))
    assert "\n" not in str(caught.value)
    assert build_index("nmslib", np.eye(3, dtype=np.float32)).count == 3  # the default needs no FAISS
