"""SDL label-vector folders (NUS-WIDE, COCO): the real pickles, the writer's round trip, bad input."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from utils.datasets import load_label_vectors, write_label_vectors
from utils.datasets.nuswide import read_class_ids, read_wordvec_array
from utils.errors import DatasetFormatError


def _sdl_folder(reference_data: Path, name: str) -> Path:
    folder = reference_data / "word_vectors" / "nuswide_coco_sdl" / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is not in the reference data")
    return folder


def test_reference_nuswide_label_vectors(reference_data: Path) -> None:
    folder = _sdl_folder(reference_data, "NUS_WIDE")
    with (folder / "wordvec_array.pickle").open("rb") as handle:
        raw = pickle.load(handle)
    # The release pickles a bare (dim, n_labels) float32 array, one unit-norm column per label.
    assert isinstance(raw, np.ndarray) and raw.shape == (300, 1006) and raw.dtype == np.float32

    vectors = load_label_vectors(folder)
    assert vectors.n_labels == 1006 and vectors.dim == 300
    assert vectors.label_vectors.shape == (1006, 300) and vectors.label_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors.label_vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors.label_vectors[5], raw[:, 5])
    assert vectors.label_names[0] == "abandoned" and vectors.label_names[-1] == "zoo"
    assert len(vectors.unseen_labels) == 81 and vectors.unseen_mask.sum() == 81
    assert len(vectors.seen_labels) == 925
    assert "dog" in vectors.unseen_labels and not set(vectors.seen_labels) & set(vectors.unseen_labels)


def test_reference_coco_label_vectors_need_names(reference_data: Path) -> None:
    folder = _sdl_folder(reference_data, "COCO")
    vectors = read_wordvec_array(folder / "wordvec_array.pickle")
    # COCO pickles {"wordvec_array": float16 (1, 300, 80)} instead of a bare array.
    assert vectors.shape == (80, 300) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    class_ids = read_class_ids(folder / "cls_ids.pickle", 80)
    assert (class_ids["train"].size, class_ids["test"].size) == (48, 17)

    with pytest.raises(DatasetFormatError, match=r"COCO/classes.pickle: not found; .* needs label_names"):
        load_label_vectors(folder)
    names = [f"category{index}" for index in range(80)]
    coco = load_label_vectors(folder, label_names=names)
    assert coco.unseen_mask.sum() == 17 and len(coco.seen_labels) == 63
    assert [names.index(name) for name in coco.unseen_labels] == class_ids["test"].tolist()


def test_writer_round_trip_and_structure(tmp_path: Path) -> None:
    names = ["zebra", "giant+panda", "seal"]
    vectors = np.random.default_rng(0).normal(size=(3, 5))
    folder = write_label_vectors(tmp_path / "label_vectors", names, vectors, ["seal"])
    loaded = load_label_vectors(folder)
    assert loaded.label_names == names
    np.testing.assert_allclose(loaded.label_vectors, vectors.astype(np.float32))
    assert loaded.seen_labels == ["zebra", "giant+panda"] and loaded.unseen_labels == ["seal"]
    assert loaded.unseen_mask.tolist() == [False, False, True]
    with (folder / "wordvec_array.pickle").open("rb") as handle:
        stored = pickle.load(handle)
    assert stored.shape == (5, 3) and stored.dtype == np.float32
    with (folder / "classes.pickle").open("rb") as handle:
        assert pickle.load(handle) == {0: "zebra", 1: "giant+panda", 2: "seal"}
    with pytest.raises(ValueError, match="unseen labels are not labels"):
        write_label_vectors(tmp_path / "bad", names, vectors, ["okapi"])


def test_unseen_name_not_in_classes_names_the_file(tmp_path: Path) -> None:
    folder = write_label_vectors(tmp_path, ["a", "b"], np.eye(2), ["b"])
    with (folder / "unseen_classes.pickle").open("wb") as handle:
        pickle.dump(["b", "okapi"], handle)
    with pytest.raises(DatasetFormatError) as error:
        load_label_vectors(folder)
    assert (
        str(error.value) == f"{folder / 'unseen_classes.pickle'}: unseen labels not in classes.pickle: okapi"
    )


def test_mismatched_or_malformed_pickles_name_the_file(tmp_path: Path) -> None:
    folder = write_label_vectors(tmp_path, ["a", "b"], np.eye(2), [])
    with (folder / "wordvec_array.pickle").open("wb") as handle:
        pickle.dump(np.ones((4, 3), dtype=np.float32), handle)
    with pytest.raises(
        DatasetFormatError, match=r"wordvec_array.pickle: holds 3 vectors, but there are 2 label names"
    ):
        load_label_vectors(folder)
    with (folder / "wordvec_array.pickle").open("wb") as handle:
        pickle.dump({"vectors": np.ones((4, 2))}, handle)
    with pytest.raises(DatasetFormatError, match=r"wordvec_array.pickle: dict without key 'wordvec_array'"):
        load_label_vectors(folder)
    with (folder / "classes.pickle").open("wb") as handle:
        pickle.dump({0: "a", 2: "b"}, handle)
    with pytest.raises(DatasetFormatError, match=r"classes.pickle: keys are not the indices 0..1"):
        load_label_vectors(folder)
    (folder / "classes.pickle").write_bytes(b"\x80\x04truncated")
    with pytest.raises(DatasetFormatError, match=r"classes.pickle: not a readable pickle"):
        load_label_vectors(folder)
