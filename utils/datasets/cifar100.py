"""CIFAR-100, "python version": read, write and split its classes.

A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", tech. report, 2009
(https://www.cs.toronto.edu/~kriz/cifar.html). The archive unpacks to::

    cifar-100-python/
        train   pickled dict: data (50000, 3072) uint8, fine_labels, coarse_labels, filenames, batch_label
        test    the same with 10000 images
        meta    pickled dict: fine_label_names (100), coarse_label_names (20)

The pickles were written by Python 2, so they are loaded with ``encoding="latin1"`` (their keys then
come back as ``str``; with ``encoding="bytes"`` they would be ``bytes``, which is also accepted), and
through :mod:`utils.datasets.safe_pickle`: plain data and NumPy arrays only, any other global a
crafted file names is refused with a :class:`DatasetFormatError` before it can run.
Each row of ``data`` holds 1024 red, then 1024 green, then 1024 blue values, each plane row-major.

The writers below produce the same structure (``str`` keys), so the embedded sample
world can ship a CIFAR-100-format set. torchvision's :class:`~torchvision.datasets.CIFAR100`
parses these files identically, but it refuses them unless their MD5 sums equal those of the real
archive (``_check_integrity``), so read sample-world files with :func:`load_cifar100`.

Class splits for one-shot studies: :func:`split_classes_by_ratio` (seeded, e.g. a 10-90 ... 90-10
sweep) and :func:`split_classes_from_files` for CIFAR-FS (Bertinetto et al., "Meta-learning with
differentiable closed-form solvers", ICLR 2019: 64 train / 16 val / 20 test fine classes).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.datasets.errors import require_folder, require_path
from utils.datasets.safe_pickle import load_pickle
from utils.errors import DatasetFormatError

FOLDER_NAME = "cifar-100-python"
SPLITS = ("train", "test")
IMAGE_SHAPE = (32, 32, 3)
BATCH_LABELS = {"train": "training batch 1 of 1", "test": "testing batch 1 of 1"}

CIFAR100_COARSE_TO_FINE: dict[str, tuple[str, ...]] = {
    "aquatic_mammals": ("beaver", "dolphin", "otter", "seal", "whale"),
    "fish": ("aquarium_fish", "flatfish", "ray", "shark", "trout"),
    "flowers": ("orchid", "poppy", "rose", "sunflower", "tulip"),
    "food_containers": ("bottle", "bowl", "can", "cup", "plate"),
    "fruit_and_vegetables": ("apple", "mushroom", "orange", "pear", "sweet_pepper"),
    "household_electrical_devices": ("clock", "keyboard", "lamp", "telephone", "television"),
    "household_furniture": ("bed", "chair", "couch", "table", "wardrobe"),
    "insects": ("bee", "beetle", "butterfly", "caterpillar", "cockroach"),
    "large_carnivores": ("bear", "leopard", "lion", "tiger", "wolf"),
    "large_man-made_outdoor_things": ("bridge", "castle", "house", "road", "skyscraper"),
    "large_natural_outdoor_scenes": ("cloud", "forest", "mountain", "plain", "sea"),
    "large_omnivores_and_herbivores": ("camel", "cattle", "chimpanzee", "elephant", "kangaroo"),
    "medium_mammals": ("fox", "porcupine", "possum", "raccoon", "skunk"),
    "non-insect_invertebrates": ("crab", "lobster", "snail", "spider", "worm"),
    "people": ("baby", "boy", "girl", "man", "woman"),
    "reptiles": ("crocodile", "dinosaur", "lizard", "snake", "turtle"),
    "small_mammals": ("hamster", "mouse", "rabbit", "shrew", "squirrel"),
    "trees": ("maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"),
    "vehicles_1": ("bicycle", "bus", "motorcycle", "pickup_truck", "train"),
    "vehicles_2": ("lawn_mower", "rocket", "streetcar", "tank", "tractor"),
}
"""The 20 superclasses of the CIFAR web page, five fine classes each."""

CIFAR100_COARSE_LABEL_NAMES: tuple[str, ...] = tuple(CIFAR100_COARSE_TO_FINE)
"""``meta['coarse_label_names']``: the 20 coarse names in label order (alphabetical)."""

CIFAR100_FINE_LABEL_NAMES: tuple[str, ...] = tuple(
    sorted(name for names in CIFAR100_COARSE_TO_FINE.values() for name in names)
)
"""``meta['fine_label_names']``: the 100 fine names in label order (alphabetical)."""

CIFAR100_FINE_TO_COARSE: tuple[int, ...] = tuple(
    next(index for index, names in enumerate(CIFAR100_COARSE_TO_FINE.values()) if fine in names)
    for fine in CIFAR100_FINE_LABEL_NAMES
)
"""Coarse label of each fine label: ``CIFAR100_FINE_TO_COARSE[fine_label] == coarse_label``."""


def resolve_cifar100_folder(root: str | Path) -> Path:
    """The ``cifar-100-python`` folder: ``root`` itself, or ``root/cifar-100-python``.

    Raises:
        MissingDataError: if ``root`` does not exist (naming ``python -m utils.download cifar100``).
        DatasetFormatError: if neither holds a ``meta`` file.
    """
    root = require_path(root, "cifar100", "CIFAR-100 folder", kind="folder")
    for candidate in (root, root / FOLDER_NAME):
        if (candidate / "meta").is_file():
            return candidate
    raise DatasetFormatError(root, f"no CIFAR-100 'meta' file here or in {FOLDER_NAME}/")


def _text(value: object) -> str:
    return value.decode("latin1") if isinstance(value, bytes) else str(value)


def _load_pickled_dict(path: Path) -> dict[str, object]:
    # Plain data and NumPy arrays only: a crafted pickle naming any other global (os.system, eval, ...)
    # raises DatasetFormatError naming the file and the global before anything runs.
    contents = load_pickle(path, encoding="latin1")
    if not isinstance(contents, dict):
        raise DatasetFormatError(path, f"holds a {type(contents).__name__}, expected a dict")
    return {_text(key): value for key, value in contents.items()}


def _require(contents: dict[str, object], key: str, path: Path) -> object:
    if key not in contents:
        raise DatasetFormatError(path, f"key '{key}' is missing (has {', '.join(sorted(contents))})")
    return contents[key]


def _name_list(contents: dict[str, object], key: str, path: Path) -> list[str]:
    names = [_text(name) for name in _require(contents, key, path)]
    if len(set(names)) != len(names):
        raise DatasetFormatError(path, f"key '{key}' repeats names")
    return names


@dataclass(frozen=True)
class Cifar100Meta:
    """CIFAR-100's ``meta`` file.

    Attributes:
        fine_label_names: the 100 fine class names in label order.
        coarse_label_names: the 20 superclass names in label order.
    """

    fine_label_names: list[str]
    coarse_label_names: list[str]


def load_cifar100_meta(root: str | Path) -> Cifar100Meta:
    """Read ``meta`` from a ``cifar-100-python`` folder (or its parent).

    Raises:
        DatasetFormatError: naming the file, if it is missing or lacks a name list.
    """
    path = resolve_cifar100_folder(root) / "meta"
    contents = _load_pickled_dict(path)
    return Cifar100Meta(
        fine_label_names=_name_list(contents, "fine_label_names", path),
        coarse_label_names=_name_list(contents, "coarse_label_names", path),
    )


@dataclass(frozen=True)
class Cifar100Split:
    """One split (``train`` or ``test``) of CIFAR-100 (Krizhevsky, 2009).

    Attributes:
        split: ``"train"`` or ``"test"``.
        images: uint8 array of shape (n_images, 32, 32, 3), RGB, height × width × channel.
        fine_labels: int64 array of shape (n_images,), indices into ``fine_label_names``.
        coarse_labels: int64 array of shape (n_images,), indices into ``coarse_label_names``.
        filenames: the original file name of each image, of length n_images.
        fine_label_names: the fine class names in label order.
        coarse_label_names: the superclass names in label order.
    """

    split: str
    images: np.ndarray
    fine_labels: np.ndarray
    coarse_labels: np.ndarray
    filenames: list[str]
    fine_label_names: list[str]
    coarse_label_names: list[str]

    @property
    def n_images(self) -> int:
        return int(self.images.shape[0])


def _label_array(
    contents: dict[str, object], key: str, path: Path, n_images: int, n_names: int
) -> np.ndarray:
    labels = np.asarray(_require(contents, key, path))
    if labels.shape != (n_images,) or labels.dtype.kind not in "iu":
        raise DatasetFormatError(
            path,
            f"key '{key}' has shape {labels.shape} and dtype {labels.dtype}, expected {n_images} integers",
        )
    if n_images and (labels.min() < 0 or labels.max() >= n_names):
        raise DatasetFormatError(path, f"key '{key}' holds labels outside 0..{n_names - 1}")
    return labels.astype(np.int64)


def load_cifar100(root: str | Path, split: str = "train") -> Cifar100Split:
    """Read one split of a CIFAR-100 python folder, with the class names from ``meta``.

    Args:
        root: the ``cifar-100-python`` folder or the folder that contains it.
        split: ``"train"`` or ``"test"``.

    Returns:
        The split as a :class:`Cifar100Split`; ``data`` rows (R, G, B planes of 1024) become images
        of shape (32, 32, 3).

    Raises:
        ValueError: for an unknown ``split``.
        MissingDataError: if ``root`` does not exist (naming ``python -m utils.download cifar100``).
        DatasetFormatError: naming the file and the key, if a file is missing or malformed.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    folder = resolve_cifar100_folder(root)
    meta = load_cifar100_meta(folder)
    path = folder / split
    contents = _load_pickled_dict(path)
    data = np.asarray(_require(contents, "data", path))
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.dtype != np.uint8:
        raise DatasetFormatError(
            path, f"key 'data' has shape {data.shape} and dtype {data.dtype}, expected uint8 (n_images, 3072)"
        )
    n_images = data.shape[0]
    fine_labels = _label_array(contents, "fine_labels", path, n_images, len(meta.fine_label_names))
    coarse_labels = _label_array(contents, "coarse_labels", path, n_images, len(meta.coarse_label_names))
    filenames = [_text(name) for name in _require(contents, "filenames", path)]
    if len(filenames) != n_images:
        raise DatasetFormatError(path, f"key 'filenames' has {len(filenames)} entries, expected {n_images}")
    images = np.ascontiguousarray(data.reshape(n_images, 3, 32, 32).transpose(0, 2, 3, 1))
    return Cifar100Split(
        split=split,
        images=images,
        fine_labels=fine_labels,
        coarse_labels=coarse_labels,
        filenames=filenames,
        fine_label_names=meta.fine_label_names,
        coarse_label_names=meta.coarse_label_names,
    )


def write_cifar100_split(
    folder: str | Path,
    name: str,
    images: np.ndarray,
    fine_labels: Sequence[int] | np.ndarray,
    coarse_labels: Sequence[int] | np.ndarray,
    filenames: Sequence[str],
) -> Path:
    """Write ``folder/name`` (``train`` or ``test``) in CIFAR-100's exact pickle format.

    Args:
        folder: the ``cifar-100-python`` folder (created if needed).
        name: ``"train"`` or ``"test"``; sets ``batch_label`` as the real files do.
        images: uint8 array of shape (n_images, 32, 32, 3), RGB.
        fine_labels: fine labels of shape (n_images,).
        coarse_labels: coarse labels of shape (n_images,).
        filenames: a file name per image, of length n_images.

    Returns:
        The written file.

    Raises:
        ValueError: if the shapes or types do not match.
    """
    if name not in SPLITS:
        raise ValueError(f"name must be one of {SPLITS}, not {name!r}")
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE or images.dtype != np.uint8:
        raise ValueError(
            f"images must be uint8 of shape (n_images, 32, 32, 3), got {images.dtype} {images.shape}"
        )
    n_images = images.shape[0]
    if not (len(fine_labels) == len(coarse_labels) == len(filenames) == n_images):
        raise ValueError(f"need {n_images} fine labels, coarse labels and filenames")
    contents = {
        "filenames": [str(filename) for filename in filenames],
        "batch_label": BATCH_LABELS[name],
        "fine_labels": [int(label) for label in fine_labels],
        "coarse_labels": [int(label) for label in coarse_labels],
        "data": np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(n_images, 3 * 32 * 32)),
    }
    return _write_pickle(Path(folder) / name, contents)


def write_cifar100_meta(
    folder: str | Path, fine_label_names: Sequence[str], coarse_label_names: Sequence[str]
) -> Path:
    """Write ``folder/meta`` in CIFAR-100's exact pickle format.

    Args:
        folder: the ``cifar-100-python`` folder (created if needed).
        fine_label_names: fine class names in label order.
        coarse_label_names: superclass names in label order.

    Returns:
        The written file.
    """
    contents = {
        "fine_label_names": [str(name) for name in fine_label_names],
        "coarse_label_names": [str(name) for name in coarse_label_names],
    }
    return _write_pickle(Path(folder) / "meta", contents)


def _write_pickle(path: Path, contents: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        # The real files are protocol 2 (Python 2), but Python 3 can only write a NumPy array in protocol 2
        # by latin-1-encoding its bytes, which inflates them by half; protocol 4 keeps the array's raw bytes
        # and loads the same way (``encoding="latin1"``, as torchvision does; see utils.datasets.safe_pickle).
        pickle.dump(contents, handle, protocol=4)
    return path


def split_classes_by_ratio(
    class_names: Sequence[str], train_fraction: float, seed: int = 0
) -> tuple[list[str], list[str]]:
    """A seeded random split of classes into train and test classes.

    ``round(train_fraction * n_classes)`` classes go to train, so a sweep over 0.1, ..., 0.9 on
    CIFAR-100 gives the 10-90 ... 90-10 splits. Each list keeps the order of ``class_names``.

    Args:
        class_names: all classes, of length n_classes.
        train_fraction: share of classes to train on, strictly between 0 and 1.
        seed: the random seed; the same seed gives the same split.

    Returns:
        ``(train_classes, test_classes)``, disjoint and together equal to ``class_names``.

    Raises:
        ValueError: if the fraction leaves either side empty or names repeat.
    """
    names = list(class_names)
    if len(set(names)) != len(names):
        raise ValueError("class_names repeats names")
    n_train = round(train_fraction * len(names))
    if not 0.0 < train_fraction < 1.0 or not 0 < n_train < len(names):
        raise ValueError(f"train_fraction={train_fraction} leaves no train or no test class of {len(names)}")
    chosen = set(np.random.default_rng(seed).permutation(len(names))[:n_train].tolist())
    train_classes = [name for index, name in enumerate(names) if index in chosen]
    test_classes = [name for index, name in enumerate(names) if index not in chosen]
    return train_classes, test_classes


def split_classes_from_files(
    folder: str | Path, known_classes: Sequence[str] = CIFAR100_FINE_LABEL_NAMES
) -> dict[str, list[str]]:
    """Class splits from ``train.txt``, ``val.txt``, ``test.txt`` (CIFAR-FS format), checked.

    Args:
        folder: the folder of the lists (one fine label name per line; ``val.txt`` optional).
        known_classes: the names a list may use (default: CIFAR-100's fine label names).

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}`` (``val`` omitted if its file is absent).

    Raises:
        DatasetFormatError: naming the file, for a missing list, an unknown or repeated name, or a
            name listed in two files.
    """
    from utils.datasets.awa2 import read_class_list

    folder = require_folder(folder, "class-split folder")
    splits: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for split in ("train", "val", "test"):
        path = folder / f"{split}.txt"
        if split == "val" and not path.exists():
            continue
        names = read_class_list(path, known_classes=known_classes)
        for name in names:
            if name in owner:
                raise DatasetFormatError(path, f"class {name!r} is also in {owner[name]}.txt")
            owner[name] = split
        splits[split] = names
    return splits
