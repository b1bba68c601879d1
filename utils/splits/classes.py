"""In-memory splits of images and classes, one implementation for every stage.

* :func:`awa2_class_split` — AwA2's seen and unseen classes of a config's ``awa2_split``, the one place notebooks
  00–04, the split scripts' glue and the stages read them from;
* :func:`hold_out_per_class` — a seeded share of each class's items held out (notebooks 02 and 05);
* :func:`choose_pseudo_unseen` — the seen classes that play unseen ones while γ is chosen (02, 05);
* :func:`xlsa17_validation_classes` — the Proposed Split's own validation classes, where its folder has them (02, 05);
* :func:`split_images` — xlsa17's trainval / test_seen / test_unseen (+ train / val) of an image set (05);
* :func:`first_per_class` — a per-class cap on an image set (05, the budgets).

The split *scripts* (:mod:`utils.splits.copy_awa2`, :mod:`utils.splits.move_awa2`) choose files on disk
instead, as a seeded function of each class's file names, so that a re-run after a crash picks the same files.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.config import DataConfig, DeviseConfig
from utils.datasets import load_awa2, read_class_list, require_data
from utils.datasets.xlsa17 import (
    ATT_SPLITS_FILE,
    RES101_FILE,
    Xlsa17SplitWarning,
    class_split,
    load_att_splits,
    load_res101_labels,
)
from utils.errors import ConfigError, DatasetFormatError

__all__ = [
    "Awa2ClassSplit", "awa2_class_split", "choose_pseudo_unseen", "first_per_class", "hold_out_per_class",
    "split_images", "xlsa17_validation_classes",
]

XLSA17_VALIDATION_FILE = "valclasses1.txt"
"""xlsa17's first train/val fold of its trainval classes (AwA2: 27 train + 13 validation classes)."""


@dataclass(frozen=True)
class Awa2ClassSplit:
    """AwA2's seen and unseen classes under one class split.

    Attributes:
        name: ``standard`` or ``proposed`` (:data:`utils.config.AWA2_SPLITS`).
        seen_classes: the classes trained on, in ``classes.txt`` order for ``proposed`` (``trainclasses.txt``
            order for ``standard``).
        unseen_classes: the classes never trained on, in the same kind of order (``testclasses.txt``).
        source: the file the unseen classes come from.
    """

    name: str
    seen_classes: list[str]
    unseen_classes: list[str]
    source: Path


def awa2_class_split(config: DataConfig | DeviseConfig) -> Awa2ClassSplit:
    """The seen and unseen classes of ``config.awa2_split``: the one function everything that needs them calls.

    ``standard`` reads ``trainclasses.txt``/``testclasses.txt`` of ``config.awa2_dir`` (Lampert et al., TPAMI
    2014). ``proposed`` reads Xian et al.'s Proposed Split from ``config.xlsa17_dir``: the unseen classes are those
    of the ``test_unseen_loc`` images of ``att_splits.mat`` (their classes are ``res101.mat``'s labels), the seen
    ones those of ``trainval_loc`` (:func:`utils.datasets.xlsa17.class_split`); none of the unseen ones is an
    ImageNet-1k class.

    Raises:
        MissingDataError: one line naming ``att_splits.mat`` (or ``res101.mat``) and how to fetch xlsa17, if missing.
        DatasetFormatError: naming ``att_splits.mat``, if it names a class the AwA2 folder does not have.
    """
    awa2 = load_awa2(config.awa2_dir)
    if config.awa2_split == "standard":
        return Awa2ClassSplit("standard", list(awa2.seen_classes), list(awa2.unseen_classes),
                              Path(awa2.root) / "testclasses.txt")
    folder = Path(config.xlsa17_dir)
    require_data(xlsa17=folder / ATT_SPLITS_FILE)
    with warnings.catch_warnings():
        # Only trainval and test_unseen are read here; the real AwA2 file's unclean train/val need no warning.
        warnings.simplefilter("ignore", Xlsa17SplitWarning)
        att_splits = load_att_splits(folder / ATT_SPLITS_FILE)
    labels = load_res101_labels(folder / RES101_FILE, n_classes=att_splits.n_classes)
    seen, unseen = (set(np.asarray(att_splits.class_names)[indices]) for indices in class_split(att_splits, labels))
    strangers = sorted((seen | unseen) - set(awa2.class_names))
    if strangers:
        raise DatasetFormatError(att_splits.path, f"classes not in {awa2.root}: {', '.join(strangers)}")
    return Awa2ClassSplit("proposed", [name for name in awa2.class_names if name in seen],
                          [name for name in awa2.class_names if name in unseen], att_splits.path)


def hold_out_per_class(
    item_classes: Sequence, fraction: float, seed: int | np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(kept, held_out)`` of the items, holding out a seeded ``fraction`` of each class.

    Classes are visited in sorted order and each class's positions are permuted by the generator; a class
    with two items or more keeps at least one and gives at least one (``min(n - 1, max(1, round(f·n)))``),
    a class with one item keeps it. Both arrays list positions class by class (sorted classes), ascending
    within a class.

    Args:
        item_classes: the class (index or name) of every item, of length n_items.
        fraction: the share of each class to hold out.
        seed: a seed, or a ``numpy.random.Generator`` to draw from.

    Returns:
        Two int arrays of positions into ``item_classes``.
    """
    classes = np.asarray(item_classes)
    generator = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    kept, held_out = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for class_value in np.unique(classes):
        members = np.flatnonzero(classes == class_value)
        order = generator.permutation(members.size)
        n_out = min(members.size - 1, max(1, int(round(fraction * members.size)))) if members.size > 1 else 0
        held_out.append(np.sort(members[order[:n_out]]))
        kept.append(np.sort(members[order[n_out:]]))
    return np.concatenate(kept), np.concatenate(held_out)


def choose_pseudo_unseen(
    seen_classes: Sequence, n_classes: int, generator: np.random.Generator, setting: str = "n_validation_classes"
) -> np.ndarray:
    """``n_classes`` of ``seen_classes`` drawn without replacement, sorted: the pseudo-unseen validation classes.

    Calibrated stacking's γ is chosen on them (Chao et al., ECCV 2016): they are left out of training so that
    they look unseen (Xian et al., TPAMI 2018, the xlsa17 protocol).

    Args:
        seen_classes: the split's seen classes.
        n_classes: how many to draw.
        generator: the seeded generator that draws them.
        setting: the name of the setting ``n_classes`` comes from, for the error.

    Raises:
        ConfigError: naming ``setting`` and both counts, unless at least one seen class is left to train on.
    """
    seen_classes = np.asarray(seen_classes)
    if n_classes >= len(seen_classes):
        raise ConfigError(
            f"{setting} = {n_classes}: the split has only {len(seen_classes)} seen classes, and at least one must "
            f"stay in training; choose at most {max(len(seen_classes) - 1, 0)} (or give the folder xlsa17's "
            f"{XLSA17_VALIDATION_FILE})"
        )
    return np.sort(generator.choice(seen_classes, n_classes, replace=False))


def xlsa17_validation_classes(xlsa17_dir: str | Path, seen_classes: Sequence[str]) -> list[str] | None:
    """The validation classes of the Proposed Split's first fold (``valclasses1.txt``), or ``None`` without the file.

    xlsa17 divides its trainval classes three ways into train and validation classes (``trainclasses{k}.txt``,
    ``valclasses{k}.txt``) so that hyperparameters are chosen on classes the split itself sets aside (Xian et al.,
    TPAMI 2018), not on a draw of one's own; the course uses the first fold wherever the folder has it (the original
    AwA2 ``att_splits.mat``'s ``train_loc``/``val_loc`` mix in test images and cannot stand in for it).

    Args:
        xlsa17_dir: the data set's xlsa17 folder (``xlsa17/data/AWA2``).
        seen_classes: the split's seen classes: every listed name must be one of them.

    Returns:
        The listed names in file order, or ``None`` if the folder has no ``valclasses1.txt``.

    Raises:
        DatasetFormatError: naming the file, if it is empty, lists a name twice or names a class that is not seen.
    """
    path = Path(xlsa17_dir) / XLSA17_VALIDATION_FILE
    if not path.is_file():
        return None
    listed = read_class_list(path)
    strangers = [name for name in listed if name not in set(seen_classes)]
    if strangers:
        raise DatasetFormatError(path, f"validation classes that are not seen classes: {', '.join(strangers)}")
    return listed


def split_images(
    labels: np.ndarray,
    seen_classes: Sequence[int],
    unseen_classes: Sequence[int],
    test_seen_fraction: float = 0.2,
    n_validation_classes: int = 10,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """An xlsa17-style split of an image set: trainval / test_seen / test_unseen, and train / val.

    Every image of an unseen class goes to ``test_unseen``; a seeded ``test_seen_fraction`` of each
    seen class to ``test_seen``, the rest to ``trainval``. ``n_validation_classes`` seen classes,
    chosen with the seed, are the pseudo-unseen validation classes: ``val`` holds their trainval
    images and ``train`` the trainval images of the other seen classes, so train and val partition
    trainval (as in xlsa17's clean ``att_splits_trainval_fixed_2020.mat``).

    Args:
        labels: class index of every image, of shape (n_images,).
        seen_classes: class indices trained on.
        unseen_classes: class indices never trained on.
        test_seen_fraction: share of each seen class held out for GZSL testing.
        n_validation_classes: how many seen classes become validation classes.
        seed: seed of the choice.

    Returns:
        ``{"trainval", "test_seen", "test_unseen", "train", "val"}`` → sorted 0-based image indices,
        and ``"validation_classes"`` → the sorted validation class indices.
    """
    labels = np.asarray(labels)
    generator = np.random.default_rng(seed)
    trainval, test_seen = [], []
    for class_index in seen_classes:
        images = generator.permutation(np.flatnonzero(labels == class_index))
        n_test = int(round(test_seen_fraction * images.size))
        test_seen.append(images[:n_test])
        trainval.append(images[n_test:])
    trainval_indices = np.sort(np.concatenate(trainval))
    validation_classes = choose_pseudo_unseen(seen_classes, n_validation_classes, generator)
    is_val = np.isin(labels[trainval_indices], validation_classes)
    return {
        "trainval": trainval_indices,
        "test_seen": np.sort(np.concatenate(test_seen)),
        "test_unseen": np.flatnonzero(np.isin(labels, np.asarray(unseen_classes))),
        "train": trainval_indices[~is_val],
        "val": trainval_indices[is_val],
        "validation_classes": validation_classes,
    }


def first_per_class(labels: np.ndarray, images_per_class: int | None) -> np.ndarray:
    """Indices of the first ``images_per_class`` images of every class (all images if ``None``), sorted."""
    labels = np.asarray(labels)
    if images_per_class is None:
        return np.arange(labels.size)
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:images_per_class] for c in np.unique(labels)]))
