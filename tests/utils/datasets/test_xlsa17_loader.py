"""xlsa17 ``att_splits.mat``/``res101.mat``: small files with the real quirks, the real split files, full scale."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from tests.utils.datasets.conftest import RES101_LABELS_1_BASED, write_att_splits, write_res101
from utils.datasets import Xlsa17SplitWarning, load_att_splits, load_res101, load_xlsa17
from utils.errors import DatasetFormatError, MissingDataError


def test_att_splits_are_converted_to_zero_based_class_major(tmp_path: Path) -> None:
    contents = write_att_splits(tmp_path / "att_splits.mat")
    splits = load_att_splits(tmp_path / "att_splits.mat")
    assert splits.class_names == ["cat", "dog", "horse", "zebra"]
    assert splits.attributes.shape == (4, 3)
    np.testing.assert_allclose(splits.attributes, contents["att"].T)
    np.testing.assert_allclose(np.linalg.norm(splits.attributes, axis=1), 1.0)
    assert splits.trainval_indices.tolist() == [0, 1, 2, 4, 5, 6]
    assert splits.test_seen_indices.tolist() == [3, 7]
    assert splits.test_unseen_indices.tolist() == [8, 9, 10, 11]
    assert splits.train_indices.tolist() == [0, 1, 4] and splits.val_indices.tolist() == [2, 5, 6]
    assert splits.trainval_indices.dtype == np.int64
    assert splits.train_val_is_clean is True
    assert np.isnan(splits.original_attributes[2, 0])
    assert splits.original_attribute_scale == 100.0
    np.testing.assert_allclose(splits.original_attributes_01[1], [0.8, 0.0, 0.3])


def test_original_att_on_a_0_to_1_scale_is_detected(tmp_path: Path) -> None:
    original = np.array([[0.1, 0.8, -1.0, 0.05], [0.5, 0.0, 0.2, 1.0], [0.3, 0.3, 0.9, 0.45]])
    write_att_splits(tmp_path / "att_splits.mat", original_att=original)
    splits = load_att_splits(tmp_path / "att_splits.mat")
    assert splits.original_attribute_scale == 1.0
    np.testing.assert_allclose(splits.original_attributes_01[1], [0.8, 0.0, 0.3])


def test_train_val_outside_trainval_is_flagged_and_warned(tmp_path: Path) -> None:
    # The original AwA2 file puts test_seen images into train_loc/val_loc.
    write_att_splits(tmp_path / "att_splits.mat", val_loc=np.array([[3], [4]], dtype=np.uint16))
    with pytest.warns(Xlsa17SplitWarning, match="do not partition 'trainval_loc'"):
        splits = load_att_splits(tmp_path / "att_splits.mat")
    assert splits.train_val_is_clean is False


def test_files_without_train_val_give_none(tmp_path: Path) -> None:
    write_att_splits(tmp_path / "att_splits.mat", train_loc=None, val_loc=None, original_att=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        splits = load_att_splits(tmp_path / "att_splits.mat")
    assert splits.train_indices is None and splits.val_indices is None
    assert splits.train_val_is_clean is None
    assert splits.original_attributes is None and splits.original_attributes_01 is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"trainval_loc": None}, r"key 'trainval_loc' is missing"),
        ({"test_unseen_loc": np.array([[0], [9]])}, r"key 'test_unseen_loc' holds 0; images are 1-based"),
        (
            {"test_seen_loc": np.array([[4], [9]])},
            r"keys 'test_seen_loc' and 'test_unseen_loc' share 1 images",
        ),
        ({"trainval_loc": np.array([[1], [12]])}, r"keys 'trainval_loc' and 'test_unseen_loc' share"),
        ({"att": np.ones((3, 5))}, r"key 'att' has shape \(3, 5\), expected \(n_attributes, 4 classes\)"),
        ({"original_att": np.ones((3, 3))}, r"key 'original_att' has shape"),
        ({"trainval_loc": np.array([[1.5], [2.0]])}, r"key 'trainval_loc' does not hold integers"),
        ({"val_loc": None}, r"key 'train_loc' is present without its partner"),
    ],
)
def test_malformed_att_splits_name_file_and_key(tmp_path: Path, overrides: dict, message: str) -> None:
    path = tmp_path / "att_splits.mat"
    write_att_splits(path, **overrides)
    with pytest.raises(DatasetFormatError, match=message) as error:
        load_att_splits(path)
    assert str(error.value).startswith(f"{path}: ")


def test_locations_beyond_the_images_are_rejected(tmp_path: Path) -> None:
    write_att_splits(tmp_path / "att_splits.mat")
    with pytest.raises(DatasetFormatError, match="key 'test_unseen_loc' holds 12, beyond the 11 images"):
        load_att_splits(tmp_path / "att_splits.mat", n_images=11)


def test_res101_features_are_transposed_float32_and_labels_zero_based(tmp_path: Path) -> None:
    features = write_res101(tmp_path / "res101.mat")
    res101 = load_res101(tmp_path / "res101.mat")
    assert res101.features.shape == (12, 6) and res101.features.dtype == np.float32
    np.testing.assert_allclose(res101.features, features.T.astype(np.float32))
    assert res101.labels.tolist() == (RES101_LABELS_1_BASED - 1).tolist()
    assert res101.labels.dtype == np.int64
    assert res101.image_files[3] == "/data/AWA2/JPEGImages/x/x_00003.jpg"


def test_malformed_res101_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "res101.mat"
    write_res101(path, labels_1_based=np.array([0, 1, 2]))
    with pytest.raises(DatasetFormatError, match=r"res101.mat: key 'labels' holds 0; classes are 1-based"):
        load_res101(path)
    write_res101(path)
    with pytest.raises(DatasetFormatError, match=r"key 'labels' holds 4, beyond the 3 classes"):
        load_res101(path, n_classes=3)
    scipy.io.savemat(
        path, {"features": np.ones((5, 12)), "labels": np.ones((11, 1)), "image_files": np.ones(2)}
    )
    with pytest.raises(DatasetFormatError, match=r"key 'features' has shape \(5, 12\)"):
        load_res101(path)
    path.write_bytes(b"not a mat file at all")
    with pytest.raises(DatasetFormatError, match="not a readable MATLAB file"):
        load_res101(path)
    with pytest.raises(
        MissingDataError, match=r"res101.mat not found: .*missing.mat; .*python -m utils.download xlsa17"
    ):
        load_res101(tmp_path / "missing.mat")


def test_load_xlsa17_combines_both_files(xlsa17_folder: Path) -> None:
    dataset = load_xlsa17(xlsa17_folder)
    assert dataset.seen_class_indices.tolist() == [0, 1]
    assert dataset.unseen_class_indices.tolist() == [2, 3]
    features, labels = dataset.split("test_unseen")
    assert features.shape == (4, 6) and labels.tolist() == [2, 2, 3, 3]
    assert dataset.split("train")[1].tolist() == [0, 0, 1]
    with pytest.raises(KeyError):
        dataset.split("nonsense")


def test_load_xlsa17_rejects_unseen_classes_in_trainval(xlsa17_folder: Path) -> None:
    # Image 9 (label "horse") moved into trainval: horse is then both seen and unseen.
    write_att_splits(
        xlsa17_folder / "att_splits.mat",
        trainval_loc=np.array([[1], [2], [3], [5], [9]]),
        test_unseen_loc=np.array([[10], [11], [12]]),
        train_loc=None,
        val_loc=None,
    )
    with pytest.raises(
        DatasetFormatError,
        match=r"att_splits.mat: classes in both 'trainval_loc' and 'test_unseen_loc' images: horse",
    ):
        load_xlsa17(xlsa17_folder)


# ---------------------------------------------------------------- the real files


def _reference_file(reference_data: Path, relative: str) -> Path:
    path = reference_data / "xlsa17" / relative
    if not path.is_file():
        pytest.skip(f"{path} is not in the reference data")
    return path


def test_reference_awa2_att_splits(reference_data: Path) -> None:
    with pytest.warns(Xlsa17SplitWarning):
        splits = load_att_splits(_reference_file(reference_data, "AWA2/att_splits.mat"))
    assert splits.attributes.shape == (50, 85) and splits.n_classes == 50
    np.testing.assert_allclose(np.linalg.norm(splits.attributes, axis=1), 1.0, atol=1e-6)
    assert splits.class_names[:2] == ["antelope", "grizzly+bear"]
    assert (splits.trainval_indices.size, splits.test_seen_indices.size, splits.test_unseen_indices.size) == (
        23527,
        5882,
        7913,
    )
    # trainval + test_seen + test_unseen partition all 37322 images of res101.mat.
    every_image = np.concatenate(
        [splits.trainval_indices, splits.test_seen_indices, splits.test_unseen_indices]
    )
    assert np.array_equal(np.sort(every_image), np.arange(37322))
    assert splits.train_val_is_clean is False
    assert splits.original_attribute_scale == 100.0
    assert np.isnan(splits.original_attributes).sum() == 4
    assert np.nanmax(splits.original_attributes_01) == 1.0

    unseen_names = (reference_data / "xlsa17" / "AWA2" / "testclasses.txt").read_text().split()
    meta = np.load(reference_data / "xlsa17_image_meta" / "AWA2_image_meta.npz")
    unseen_classes = np.unique(meta["labels"][splits.test_unseen_indices])
    assert sorted(splits.class_names[index] for index in unseen_classes) == sorted(unseen_names)


def test_reference_awa2_fixed_and_binary_files(reference_data: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = load_att_splits(_reference_file(reference_data, "AWA2/att_splits_trainval_fixed_2020.mat"))
    assert fixed.train_val_is_clean is True
    assert (fixed.train_indices.size, fixed.val_indices.size) == (16187, 7340)
    assert np.array_equal(
        np.sort(np.concatenate([fixed.train_indices, fixed.val_indices])), np.sort(fixed.trainval_indices)
    )

    with pytest.warns(Xlsa17SplitWarning):
        binary = load_att_splits(_reference_file(reference_data, "AWA2/binaryAtt_splits.mat"))
    assert binary.attributes.shape == (50, 85)
    assert set(np.unique(binary.attributes)) == {0.0, 1.0}
    assert binary.original_attributes is None
    assert np.array_equal(binary.test_unseen_indices, fixed.test_unseen_indices)


def test_reference_awa1_att_splits(reference_data: Path) -> None:
    with pytest.warns(Xlsa17SplitWarning):
        splits = load_att_splits(_reference_file(reference_data, "AWA1/att_splits.mat"), n_images=30475)
    assert splits.attributes.shape == (50, 85)
    every_image = np.concatenate(
        [splits.trainval_indices, splits.test_seen_indices, splits.test_unseen_indices]
    )
    assert np.array_equal(np.sort(every_image), np.arange(30475))


@pytest.mark.slow
def test_full_scale_res101_round_trip(reference_data: Path, tmp_path: Path) -> None:
    """A res101.mat of the real AwA2 shape, labels and splits, with synthetic features.

    The released features are float64 (2048 × 37322, ~600 MB); this test writes float32 (~300 MB),
    which MATLAB v5 files store natively, to keep the run short. The loader returns float32 either way.
    """
    meta_path = reference_data / "xlsa17_image_meta" / "AWA2_image_meta.npz"
    att_path = _reference_file(reference_data, "AWA2/att_splits_trainval_fixed_2020.mat")
    meta = np.load(meta_path)
    labels, image_files = meta["labels"].astype(np.int64), meta["image_files"]
    n_images = labels.size
    assert n_images == 37322

    start = time.perf_counter()
    folder = tmp_path / "AWA2"
    folder.mkdir()
    (folder / "att_splits.mat").symlink_to(att_path)
    # Each feature column encodes its image index, so transposition errors cannot hide.
    features = np.empty((2048, n_images), dtype=np.float32)
    features[:] = np.arange(n_images, dtype=np.float32)
    features[1] = labels
    image_cell = np.empty((n_images, 1), dtype=object)
    image_cell[:, 0] = list(image_files)
    scipy.io.savemat(
        folder / "res101.mat",
        {
            "features": features,
            "labels": (labels + 1).reshape(-1, 1).astype(np.uint8),
            "image_files": image_cell,
        },
    )
    del features

    dataset = load_xlsa17(folder)
    res101 = dataset.res101
    assert res101.features.shape == (37322, 2048) and res101.features.dtype == np.float32
    assert np.array_equal(res101.features[:, 0], np.arange(n_images, dtype=np.float32))
    assert np.array_equal(res101.features[:, 1], labels.astype(np.float32))
    assert np.array_equal(res101.labels, labels)
    assert res101.image_files[0] == str(image_files[0]) and res101.image_files[-1] == str(image_files[-1])
    for key in ("trainval_loc", "test_seen_loc", "test_unseen_loc"):
        assert np.array_equal(getattr(dataset.att_splits, key.replace("_loc", "_indices")), meta[key])
    assert np.array_equal(dataset.seen_class_indices, np.sort(meta["seenclasses"]))
    assert np.array_equal(dataset.unseen_class_indices, np.sort(meta["unseenclasses"]))
    _, train_labels = dataset.split("train")
    assert np.isin(train_labels, dataset.seen_class_indices).all()
    assert time.perf_counter() - start < 60
