"""CIFAR-100 python pickles: writers and loader round trip, torchvision's parser, class names and splits."""

from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.utils.datasets.conftest import cifar_images
from utils.datasets import (
    CIFAR100_COARSE_LABEL_NAMES,
    CIFAR100_FINE_LABEL_NAMES,
    CIFAR100_FINE_TO_COARSE,
    load_cifar100,
    split_classes_by_ratio,
    split_classes_from_files,
    write_cifar100_meta,
    write_cifar100_split,
)
from utils.errors import DatasetFormatError

# The published fine → coarse table (e.g. ryanchankh/cifar100coarse `sparse2coarse`), an independent check.
PUBLISHED_FINE_TO_COARSE = [
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
    0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2, 4, 6, 19, 5, 5, 8, 19,
    18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
]  # fmt: skip


def test_class_name_constants_match_cifar100() -> None:
    assert len(CIFAR100_FINE_LABEL_NAMES) == 100 and len(set(CIFAR100_FINE_LABEL_NAMES)) == 100
    assert list(CIFAR100_FINE_LABEL_NAMES) == sorted(CIFAR100_FINE_LABEL_NAMES)
    assert CIFAR100_FINE_LABEL_NAMES[:4] == ("apple", "aquarium_fish", "baby", "bear")
    assert CIFAR100_FINE_LABEL_NAMES[-3:] == ("wolf", "woman", "worm")
    assert len(CIFAR100_COARSE_LABEL_NAMES) == 20
    assert (
        CIFAR100_COARSE_LABEL_NAMES[0] == "aquatic_mammals"
        and CIFAR100_COARSE_LABEL_NAMES[-1] == "vehicles_2"
    )
    assert list(CIFAR100_FINE_TO_COARSE) == PUBLISHED_FINE_TO_COARSE
    assert set(Counter(CIFAR100_FINE_TO_COARSE).values()) == {5}


def test_written_folder_reads_back_pixel_exact(cifar_root: Path) -> None:
    train = load_cifar100(cifar_root, "train")
    assert train.images.shape == (6, 32, 32, 3) and train.images.dtype == np.uint8
    np.testing.assert_array_equal(train.images, cifar_images(6, seed=1))
    assert train.fine_labels.dtype == np.int64
    assert [CIFAR100_FINE_TO_COARSE[label] for label in train.fine_labels] == train.coarse_labels.tolist()
    assert train.filenames[0].endswith("_s_000000.png")
    assert train.fine_label_names == list(CIFAR100_FINE_LABEL_NAMES)
    test = load_cifar100(cifar_root / "cifar-100-python", "test")
    assert test.n_images == 4 and test.split == "test"


def test_written_pickles_have_the_real_structure(cifar_root: Path) -> None:
    folder = cifar_root / "cifar-100-python"
    with (folder / "train").open("rb") as handle:
        raw = handle.read()
    assert raw[:2] == b"\x80\x04"  # protocol 4: compact arrays; loading is the same as for the protocol-2 originals
    contents = pickle.loads(raw, encoding="latin1")
    assert set(contents) == {"filenames", "batch_label", "fine_labels", "coarse_labels", "data"}
    assert contents["batch_label"] == "training batch 1 of 1"
    assert contents["data"].shape == (6, 3072) and contents["data"].dtype == np.uint8
    assert isinstance(contents["fine_labels"], list) and isinstance(contents["fine_labels"][0], int)
    with (folder / "test").open("rb") as handle:
        assert pickle.load(handle, encoding="latin1")["batch_label"] == "testing batch 1 of 1"
    with (folder / "meta").open("rb") as handle:
        assert set(pickle.load(handle, encoding="latin1")) == {"fine_label_names", "coarse_label_names"}


def test_plane_order_is_red_green_blue(tmp_path: Path) -> None:
    images = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    images[0, 2, 5] = (200, 100, 50)  # row 2, column 5
    folder = tmp_path / "cifar-100-python"
    write_cifar100_meta(folder, CIFAR100_FINE_LABEL_NAMES, CIFAR100_COARSE_LABEL_NAMES)
    write_cifar100_split(folder, "test", images, [0], [4], ["apple_s_000001.png"])
    with (folder / "test").open("rb") as handle:
        data = pickle.load(handle, encoding="latin1")["data"][0]
    pixel = 2 * 32 + 5
    assert (data[pixel], data[1024 + pixel], data[2048 + pixel]) == (200, 100, 50)
    assert tuple(load_cifar100(folder, "test").images[0, 2, 5]) == (200, 100, 50)


def test_bytes_keys_from_python2_style_pickles_are_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    write_cifar100_meta(folder, CIFAR100_FINE_LABEL_NAMES, CIFAR100_COARSE_LABEL_NAMES)
    images = cifar_images(2)
    contents = {
        b"filenames": [b"a.png", b"b.png"],
        b"batch_label": b"testing batch 1 of 1",
        b"fine_labels": [3, 99],
        b"coarse_labels": [8, 13],
        b"data": images.transpose(0, 3, 1, 2).reshape(2, 3072),
    }
    with (folder / "test").open("wb") as handle:
        pickle.dump(contents, handle, protocol=2)
    split = load_cifar100(folder, "test")
    assert split.filenames == ["a.png", "b.png"] and split.fine_labels.tolist() == [3, 99]
    np.testing.assert_array_equal(split.images, images)


def test_torchvision_parses_our_files_but_refuses_their_md5(
    cifar_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torchvision_cifar = pytest.importorskip("torchvision.datasets.cifar")
    with pytest.raises(RuntimeError, match="not found or corrupted"):
        torchvision_cifar.CIFAR100(str(cifar_root), train=True, download=False)
    # With the checksum check bypassed, torchvision's own parser reads exactly what we wrote.
    monkeypatch.setattr(torchvision_cifar, "check_integrity", lambda *args, **kwargs: True)
    for train, split in ((True, "train"), (False, "test")):
        dataset = torchvision_cifar.CIFAR100(str(cifar_root), train=train, download=False)
        ours = load_cifar100(cifar_root, split)
        np.testing.assert_array_equal(dataset.data, ours.images)
        assert dataset.targets == ours.fine_labels.tolist()
        assert dataset.classes == list(CIFAR100_FINE_LABEL_NAMES)


def test_malformed_files_name_file_and_key(cifar_root: Path) -> None:
    folder = cifar_root / "cifar-100-python"
    with (folder / "train").open("rb") as handle:
        contents = pickle.load(handle, encoding="latin1")
    broken = dict(contents, fine_labels=contents["fine_labels"][:-1])
    with (folder / "train").open("wb") as handle:
        pickle.dump(broken, handle, protocol=2)
    with pytest.raises(
        DatasetFormatError, match=r"cifar-100-python/train: key 'fine_labels' has shape \(5,\)"
    ):
        load_cifar100(cifar_root, "train")
    with (folder / "train").open("wb") as handle:
        pickle.dump(dict(contents, coarse_labels=[20] * 6), handle, protocol=2)
    with pytest.raises(DatasetFormatError, match=r"key 'coarse_labels' holds labels outside 0..19"):
        load_cifar100(cifar_root, "train")
    del contents["data"]
    with (folder / "train").open("wb") as handle:
        pickle.dump(contents, handle, protocol=2)
    with pytest.raises(DatasetFormatError, match=r"train: key 'data' is missing"):
        load_cifar100(cifar_root, "train")
    (folder / "test").write_bytes(b"garbage")
    with pytest.raises(DatasetFormatError, match=r"test: not a readable pickle"):
        load_cifar100(cifar_root, "test")
    with pytest.raises(DatasetFormatError, match="no CIFAR-100 'meta' file"):
        load_cifar100(cifar_root.parent, "test")


def test_split_classes_by_ratio_is_seeded_and_complete() -> None:
    for train_fraction in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        train, test = split_classes_by_ratio(CIFAR100_FINE_LABEL_NAMES, train_fraction, seed=3)
        assert len(train) == round(train_fraction * 100) and len(train) + len(test) == 100
        assert sorted(train + test) == sorted(CIFAR100_FINE_LABEL_NAMES)
        assert (train, test) == split_classes_by_ratio(CIFAR100_FINE_LABEL_NAMES, train_fraction, seed=3)
    assert split_classes_by_ratio(CIFAR100_FINE_LABEL_NAMES, 0.5, seed=0) != split_classes_by_ratio(
        CIFAR100_FINE_LABEL_NAMES, 0.5, seed=1
    )
    with pytest.raises(ValueError, match="leaves no train or no test class"):
        split_classes_by_ratio(["a", "b"], 0.1)


def test_reference_cifar_fs_splits(reference_data: Path) -> None:
    splits = split_classes_from_files(reference_data / "fewshot_splits" / "cifar_fs")
    assert {name: len(names) for name, names in splits.items()} == {"train": 64, "val": 16, "test": 20}
    assert sorted(splits["train"] + splits["val"] + splits["test"]) == list(CIFAR100_FINE_LABEL_NAMES)


def test_class_list_with_unknown_or_shared_name_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("apple\nbaby\n")
    (tmp_path / "test.txt").write_text("bear\nunicorn\n")
    with pytest.raises(DatasetFormatError, match=r"test.txt: line 2: unknown class 'unicorn'"):
        split_classes_from_files(tmp_path)
    (tmp_path / "test.txt").write_text("bear\napple\n")
    with pytest.raises(DatasetFormatError, match=r"test.txt: class 'apple' is also in train.txt"):
        split_classes_from_files(tmp_path)
    (tmp_path / "test.txt").write_text("bear\n")
    assert split_classes_from_files(tmp_path) == {"train": ["apple", "baby"], "test": ["bear"]}
