"""Small data sets in the exact real formats, written into ``tmp_path`` by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from utils.datasets.cifar100 import write_cifar100_meta, write_cifar100_split
from utils.datasets.nuswide import write_label_vectors

AWA2_CLASSES = ["antelope", "grizzly+bear", "giant+panda", "zebra", "seal"]
AWA2_ATTRIBUTES = ["black", "white", "stripes", "big", "water"]
AWA2_SEEN = ["antelope", "grizzly+bear", "zebra"]
AWA2_UNSEEN = ["giant+panda", "seal"]


def write_id_name_file(path: Path, names: list[str]) -> None:
    # AwA2 right-aligns the 1-based id in a 5-wide field, then a TAB.
    path.write_text("".join(f"{index:>5}\t{name}\n" for index, name in enumerate(names, start=1)))


def write_matrix(path: Path, matrix: np.ndarray, fmt: str) -> None:
    path.write_text("".join(" ".join(fmt.format(value) for value in row) + "\n" for row in matrix))


@pytest.fixture
def awa2_folder(tmp_path: Path) -> Path:
    """An AwA2-format folder with 5 classes, 5 attributes and 2 or 3 images per class."""
    root = tmp_path / "awa2"
    root.mkdir()
    write_id_name_file(root / "classes.txt", AWA2_CLASSES)
    write_id_name_file(root / "predicates.txt", AWA2_ATTRIBUTES)
    rng = np.random.default_rng(0)
    continuous = np.round(rng.uniform(0, 100, size=(5, 5)), 2)
    continuous[0, :2] = -1.0
    write_matrix(root / "predicate-matrix-continuous.txt", continuous, "{:7.2f}")
    write_matrix(root / "predicate-matrix-binary.txt", (continuous > 50).astype(int), "{}")
    (root / "trainclasses.txt").write_text("\n".join(AWA2_SEEN) + "\n")
    (root / "testclasses.txt").write_text("\n".join(AWA2_UNSEEN) + "\n")
    for class_index, name in enumerate(AWA2_CLASSES):
        folder = root / "JPEGImages" / name
        folder.mkdir(parents=True)
        for image_id in range(10001, 10003 + (class_index % 2)):
            (folder / f"{name}_{image_id}.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    return root


def write_att_splits(path: Path, **overrides) -> dict:
    """A small ``att_splits.mat``: 4 classes (2 seen, 2 unseen), 3 attributes, 12 images."""
    original = np.array([[10.0, 80.0, -1.0, 5.0], [50.0, 0.0, 20.0, 100.0], [30.0, 30.0, 90.0, 45.0]])
    att = np.where(original < 0, 0.0, original)
    att = att / np.linalg.norm(att, axis=0, keepdims=True)
    names = np.empty((4, 1), dtype=object)
    for index, name in enumerate(["cat", "dog", "horse", "zebra"]):
        names[index, 0] = np.array([name])
    # Image labels (0-based): images 0..7 are cat/dog (seen), 8..11 horse/zebra (unseen).
    contents = {
        "att": att,
        "original_att": original,
        "allclasses_names": names,
        "trainval_loc": np.array([[1], [2], [3], [5], [6], [7]], dtype=np.uint16),
        "train_loc": np.array([[1], [2], [5]], dtype=np.uint16),
        "val_loc": np.array([[3], [6], [7]], dtype=np.uint16),
        "test_seen_loc": np.array([[4], [8]], dtype=np.uint16),
        "test_unseen_loc": np.array([[9], [10], [11], [12]], dtype=np.uint16),
    }
    contents.update(overrides)
    contents = {key: value for key, value in contents.items() if value is not None}
    scipy.io.savemat(path, contents)
    return contents


RES101_LABELS_1_BASED = np.array([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4])


def write_res101(
    path: Path, labels_1_based: np.ndarray = RES101_LABELS_1_BASED, feature_dim: int = 6
) -> np.ndarray:
    """A small ``res101.mat`` with features (feature_dim, n_images) float64; returns the features."""
    n_images = labels_1_based.size
    features = np.arange(feature_dim * n_images, dtype=np.float64).reshape(feature_dim, n_images) / 7.0
    image_files = np.empty((n_images, 1), dtype=object)
    for index in range(n_images):
        image_files[index, 0] = np.array([f"/data/AWA2/JPEGImages/x/x_{index:05d}.jpg"])
    scipy.io.savemat(
        path,
        {
            "features": features,
            "labels": labels_1_based.reshape(-1, 1).astype(np.float64),
            "image_files": image_files,
        },
    )
    return features


@pytest.fixture
def xlsa17_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "xlsa17" / "TOY"
    folder.mkdir(parents=True)
    write_att_splits(folder / "att_splits.mat")
    write_res101(folder / "res101.mat")
    return folder


def cifar_images(n_images: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n_images, 32, 32, 3), dtype=np.uint8)


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    """A parent folder holding a CIFAR-100-format ``cifar-100-python/`` with 6 train and 4 test images."""
    from utils.datasets.cifar100 import (
        CIFAR100_COARSE_LABEL_NAMES,
        CIFAR100_FINE_LABEL_NAMES,
        CIFAR100_FINE_TO_COARSE,
    )

    folder = tmp_path / "cifar" / "cifar-100-python"
    write_cifar100_meta(folder, CIFAR100_FINE_LABEL_NAMES, CIFAR100_COARSE_LABEL_NAMES)
    for name, n_images, seed in (("train", 6, 1), ("test", 4, 2)):
        fine = [(seed * 17 + index * 23) % 100 for index in range(n_images)]
        write_cifar100_split(
            folder,
            name,
            cifar_images(n_images, seed),
            fine,
            [CIFAR100_FINE_TO_COARSE[label] for label in fine],
            [f"{CIFAR100_FINE_LABEL_NAMES[label]}_s_{index:06d}.png" for index, label in enumerate(fine)],
        )
    return folder.parent


SCENE_LABELS = ["zebra", "giant+panda", "seal", "lion"]
SCENE_UNSEEN = ["giant+panda", "seal"]


@pytest.fixture
def scenes_folder(tmp_path: Path) -> Path:
    """A scenes folder with 4 labels (2 unseen), 3 images and SDL-format label vectors."""
    folder = tmp_path / "scenes"
    (folder / "images").mkdir(parents=True)
    write_id_name_file(folder / "classes.txt", SCENE_LABELS)
    (folder / "seen_labels.txt").write_text("zebra\nlion\n")
    (folder / "unseen_labels.txt").write_text("giant+panda\nseal\n")
    rows = {
        "scene_00000.jpg": "zebra",
        "scene_00001.jpg": "zebra giant+panda",
        "scene_00002.jpg": "lion seal zebra",
    }
    (folder / "labels.csv").write_text(
        "image,labels\n" + "".join(f"{name},{labels}\n" for name, labels in rows.items())
    )
    for name in rows:
        (folder / "images" / name).write_bytes(b"\xff\xd8\xff\xd9")
    vectors = np.random.default_rng(0).normal(size=(4, 8))
    write_label_vectors(
        folder / "label_vectors",
        SCENE_LABELS,
        vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
        SCENE_UNSEEN,
    )
    return folder


# ------------------------------------------------ the layouts the project's own tools leave behind


def write_xlsa17_download(root: Path, datasets: tuple[str, ...] = ("AWA2", "CUB", "FLO")) -> Path:
    """``root/xlsa17`` as ``python -m utils.download xlsa17`` leaves it: ``data/<DATASET>/{att_splits,res101}.mat``.

    Every data set is the small one of :func:`write_att_splits`/:func:`write_res101`, with its class
    lists; ``FLO``'s ``att_splits.mat`` has no ``allclasses_names``, like the real one.
    """
    top = root / "xlsa17"
    for name in datasets:
        folder = top / "data" / name
        folder.mkdir(parents=True)
        if name == "FLO":
            write_att_splits(folder / "att_splits.mat", allclasses_names=None)
        else:
            write_att_splits(folder / "att_splits.mat")
            (folder / "trainvalclasses.txt").write_text("cat\ndog\n")
            (folder / "testclasses.txt").write_text("horse\nzebra\n")
        write_res101(folder / "res101.mat")
    return top


@pytest.fixture
def xlsa17_download(tmp_path: Path) -> Path:
    return write_xlsa17_download(tmp_path)


NUSWIDE_TAGS = ["sky", "clouds", "beach", "dog", "sand", "airport"]  # real NUS-WIDE tags
NUSWIDE_UNSEEN = ["dog", "sand", "airport"]  # three of the real 81 unseen tags
NUSWIDE_ROWS = [
    ("0001/140016_215548610_422b79b4d7_m.jpg", "sky clouds", "train"),
    ("0001/169049_2075738376_8385aa8a13_m.jpg", "beach sky", "train"),
    ("0002/231350_154414926_710674646d_m.jpg", "dog", "train"),
    ("0002/264106_2467643421_80a54c63e2_m.jpg", "beach sand sky", "test"),
]


def write_nuswide_labels(path: Path, rows) -> None:
    path.write_text(
        "image,labels,split\n" + "".join(f"{image},{tags},{split}\n" for image, tags, split in rows)
    )


def write_nuswide(data_dir: Path, rows=NUSWIDE_ROWS, label_vectors: bool = True) -> Path:
    """``data_dir/nus_wide`` in docs/data.md's layout, and ZS_SDL's label vectors in ``data_dir/ZS_SDL/data/NUS_WIDE``."""
    folder = data_dir / "nus_wide"
    for image, _, _ in rows:
        (folder / "images" / image).parent.mkdir(parents=True, exist_ok=True)
        (folder / "images" / image).write_bytes(b"\xff\xd8\xff\xd9")
    write_nuswide_labels(folder / "labels.csv", rows)
    if label_vectors:
        vectors = np.random.default_rng(0).normal(size=(len(NUSWIDE_TAGS), 300)).astype(np.float32)
        write_label_vectors(
            data_dir / "ZS_SDL" / "data" / "NUS_WIDE",
            NUSWIDE_TAGS,
            vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
            NUSWIDE_UNSEEN,
        )
    return folder


@pytest.fixture
def nuswide_folder(tmp_path: Path) -> Path:
    return write_nuswide(tmp_path / "data")
