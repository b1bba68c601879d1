"""AwA2 folders: tmp_path worlds in the exact format, bad inputs, and the real metadata files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.utils.datasets.conftest import AWA2_ATTRIBUTES, AWA2_CLASSES, AWA2_SEEN, AWA2_UNSEEN
from utils.config import AWA2_UNSEEN_CLASSES
from utils.datasets import image_index, load_awa2, read_attribute_matrix, read_class_list
from utils.datasets.awa2 import read_id_name_file
from utils.errors import DatasetFormatError


def test_load_awa2_reads_names_matrices_and_split(awa2_folder: Path) -> None:
    dataset = load_awa2(awa2_folder)
    assert dataset.class_names == AWA2_CLASSES
    assert dataset.attribute_names == AWA2_ATTRIBUTES
    assert dataset.binary_attributes.shape == (5, 5) and dataset.binary_attributes.dtype == np.uint8
    assert dataset.continuous_attributes.shape == (5, 5)
    assert np.isnan(dataset.continuous_attributes[0, :2]).all()
    assert np.isnan(dataset.continuous_attributes).sum() == 2
    assert dataset.seen_classes == AWA2_SEEN and dataset.unseen_classes == AWA2_UNSEEN
    assert dataset.seen_class_indices.tolist() == [0, 1, 3]
    assert dataset.unseen_class_indices.tolist() == [2, 4]


def test_image_index_is_sorted_with_classes_txt_labels(awa2_folder: Path) -> None:
    image_paths, labels = image_index(awa2_folder)
    assert labels.dtype == np.int64 and len(image_paths) == labels.size == 12
    assert labels.tolist() == [0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4]
    assert [path.name for path in image_paths[:2]] == ["antelope_10001.jpg", "antelope_10002.jpg"]
    assert all(
        path.parent.name == AWA2_CLASSES[label] for path, label in zip(image_paths, labels, strict=True)
    )

    dataset = load_awa2(awa2_folder)
    unseen_paths, unseen_labels = dataset.image_index(classes=dataset.unseen_classes)
    assert unseen_labels.tolist() == [2, 2, 4, 4]
    assert unseen_paths == [path for path, label in zip(image_paths, labels, strict=True) if label in (2, 4)]


def test_image_index_names_classes_without_folder(awa2_folder: Path) -> None:
    for image in (awa2_folder / "JPEGImages" / "seal").iterdir():
        image.unlink()
    (awa2_folder / "JPEGImages" / "seal").rmdir()
    with pytest.raises(DatasetFormatError, match=r"JPEGImages: no folder for classes seal"):
        image_index(awa2_folder)
    with pytest.raises(DatasetFormatError, match="unknown classes requested: okapi"):
        image_index(awa2_folder, classes=["okapi"])


def test_matrix_row_with_wrong_length_names_file_and_row(awa2_folder: Path) -> None:
    path = awa2_folder / "predicate-matrix-binary.txt"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(" ", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetFormatError) as error:
        load_awa2(awa2_folder)
    assert str(error.value) == f"{path}: row 4 has 4 values, expected 5"


def test_matrix_non_numeric_and_out_of_range_values(awa2_folder: Path) -> None:
    path = awa2_folder / "predicate-matrix-continuous.txt"
    original = path.read_text()
    path.write_text(original.replace(original.split()[7], "n/a", 1))
    with pytest.raises(
        DatasetFormatError, match=r"predicate-matrix-continuous.txt: row 2, column 3: 'n/a' is not a number"
    ):
        load_awa2(awa2_folder)
    path.write_text(original.replace(original.split()[7], "-5.00", 1))
    with pytest.raises(DatasetFormatError, match="outside 0..100"):
        load_awa2(awa2_folder)
    binary = awa2_folder / "predicate-matrix-binary.txt"
    binary.write_text(binary.read_text().replace("0", "2", 1))
    with pytest.raises(
        DatasetFormatError, match=r"predicate-matrix-binary.txt: row 1, column \d+: 2 is not 0 or 1"
    ):
        read_attribute_matrix(binary, 5, 5, kind="binary")


def test_matrix_with_missing_row_names_file(awa2_folder: Path) -> None:
    path = awa2_folder / "predicate-matrix-binary.txt"
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(DatasetFormatError, match=r"predicate-matrix-binary.txt: has 4 rows, expected 5"):
        load_awa2(awa2_folder)


def test_unknown_class_in_split_file_names_file(awa2_folder: Path) -> None:
    path = awa2_folder / "testclasses.txt"
    path.write_text("giant+panda\nseal\nunicorn\n")
    with pytest.raises(DatasetFormatError) as error:
        load_awa2(awa2_folder)
    assert str(error.value) == f"{path}: line 3: unknown class 'unicorn'"


def test_overlapping_or_incomplete_split_is_rejected(awa2_folder: Path) -> None:
    (awa2_folder / "testclasses.txt").write_text("giant+panda\nseal\nzebra\n")
    with pytest.raises(
        DatasetFormatError, match=r"testclasses.txt: classes also listed in trainclasses.txt: zebra"
    ):
        load_awa2(awa2_folder)
    (awa2_folder / "testclasses.txt").write_text("giant+panda\n")
    with pytest.raises(DatasetFormatError, match="in neither trainclasses.txt nor testclasses.txt: seal"):
        load_awa2(awa2_folder)


def test_duplicate_class_names_are_rejected(awa2_folder: Path) -> None:
    (awa2_folder / "trainclasses.txt").write_text("antelope\nzebra\nantelope\ngrizzly+bear\n")
    with pytest.raises(DatasetFormatError, match=r"trainclasses.txt: line 3: duplicate class 'antelope'"):
        load_awa2(awa2_folder)
    classes = awa2_folder / "classes.txt"
    classes.write_text(classes.read_text() + "    6\tzebra\n")
    with pytest.raises(
        DatasetFormatError, match=r"classes.txt: line 6: duplicate name 'zebra' \(first on line 4\)"
    ):
        read_id_name_file(classes)


def test_id_name_file_rejects_bad_ids_and_missing_names(tmp_path: Path) -> None:
    path = tmp_path / "classes.txt"
    path.write_text("1\tantelope\n3\tzebra\n")
    with pytest.raises(DatasetFormatError, match="line 2: id 3 out of order, expected 2"):
        read_id_name_file(path)
    path.write_text("1\tantelope\n2\n")
    with pytest.raises(DatasetFormatError, match="line 2: expected '<id><TAB><name>'"):
        read_id_name_file(path)
    with pytest.raises(DatasetFormatError, match="predicates.txt: file not found"):
        read_id_name_file(tmp_path / "predicates.txt")


def test_loader_follows_the_files_not_fixed_sizes(tmp_path: Path, awa2_folder: Path) -> None:
    """The sample world has ~33 attributes: nothing may assume 85."""
    from tests.utils.datasets.conftest import write_id_name_file, write_matrix

    names = [f"attribute{index}" for index in range(33)]
    write_id_name_file(awa2_folder / "predicates.txt", names)
    matrix = np.random.default_rng(1).integers(0, 2, size=(5, 33))
    write_matrix(awa2_folder / "predicate-matrix-binary.txt", matrix, "{}")
    write_matrix(awa2_folder / "predicate-matrix-continuous.txt", matrix * 60.0, "{:.2f}")
    dataset = load_awa2(awa2_folder)
    assert dataset.binary_attributes.shape == (5, 33)
    np.testing.assert_array_equal(dataset.binary_attributes, matrix)


def test_reference_awa2_metadata(reference_data: Path) -> None:
    folder = reference_data / "awa2_meta"
    dataset = load_awa2(
        folder,
        train_classes_file="trainclasses_standard_DERIVED.txt",
        test_classes_file="testclasses_standard.txt",
    )
    assert len(dataset.class_names) == 50 and len(dataset.attribute_names) == 85
    assert dataset.class_names[:3] == ["antelope", "grizzly+bear", "killer+whale"]
    assert dataset.attribute_names[:3] == ["black", "white", "blue"]
    assert dataset.binary_attributes.shape == dataset.continuous_attributes.shape == (50, 85)
    assert set(np.unique(dataset.binary_attributes)) == {0, 1}
    # This copy stores 0.00 where the original has -1.00 (antelope's first four values).
    assert np.nanmax(dataset.continuous_attributes) <= 100.0
    assert dataset.continuous_attributes[0, :4].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert sorted(dataset.unseen_classes) == sorted(AWA2_UNSEEN_CLASSES)
    assert len(dataset.seen_classes) == 40

    proposed_unseen = read_class_list(
        reference_data / "xlsa17" / "AWA2" / "testclasses.txt", dataset.class_names
    )
    proposed_trainval = read_class_list(
        reference_data / "xlsa17" / "AWA2" / "trainvalclasses.txt", dataset.class_names
    )
    assert len(proposed_unseen) == 10 and len(proposed_trainval) == 40
    assert not set(proposed_unseen) & set(proposed_trainval)
    for fold in (1, 2, 3):
        train = read_class_list(
            reference_data / "xlsa17" / "AWA2" / f"trainclasses{fold}.txt", dataset.class_names
        )
        val = read_class_list(
            reference_data / "xlsa17" / "AWA2" / f"valclasses{fold}.txt", dataset.class_names
        )
        assert (len(train), len(val)) == (27, 13)
        assert set(train) | set(val) == set(proposed_trainval)


def test_sample_world_awa2_when_generated(data_samples: Path) -> None:
    folder = data_samples / "awa2"
    if not (folder / "classes.txt").is_file():
        pytest.skip(f"the sample world has not been generated at {folder} yet")
    dataset = load_awa2(folder)
    assert sorted(dataset.unseen_classes) == sorted(AWA2_UNSEEN_CLASSES)
    assert dataset.binary_attributes.shape == (len(dataset.class_names), len(dataset.attribute_names))
    if (folder / "JPEGImages").is_dir():
        image_paths, labels = dataset.image_index()
        assert len(image_paths) == labels.size > 0
