"""Class splits, image sets and the seeded samples (triplets, pairs, supports, episodes) of notebook 06.

The one-shot protocol: a Siamese encoder is trained on the *train classes* only; the *held-out classes* never
appear in training or validation. This module decides which images each figure is computed on; the figures
themselves are one-shot metrics of :mod:`utils.metrics`, computed on these samples:

* **triplet accuracy** — random triplets (anchor, positive of its class, negative of another class):
  :func:`sample_triplets`;
* **binary accuracy** — balanced random pairs, the threshold chosen on *validation* pairs, never on test:
  :func:`sample_pairs`;
* **N-way 1-shot accuracy** over all held-out classes — one random support image per held-out class, every other
  held-out image a query (Koch et al., 2015), over several draws of the supports: :func:`one_shot_supports`. This
  is the seed project's "mean few-shot accuracy", stated precisely;
* **5-way 1-shot / 5-way 5-shot episode accuracy** — the convention of few-shot benchmarks such as CIFAR-FS
  (Bertinetto et al., "Meta-learning with differentiable closed-form solvers", ICLR 2019): in each episode 5
  held-out classes, ``n_shot`` supports and ``n_query`` queries per class: :class:`EpisodeSampler`.

Sampling is data handling, so it stays with the stage's image sets; every function that only scores given samples
(distances, nearest prototype, accuracies, the 95% confidence interval) is pure maths in :mod:`utils.metrics`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from utils.datasets.cifar100 import split_classes_by_ratio, split_classes_from_files

# ---------------------------------------------------------------------------------------------
# Class splits and the image sets they induce
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassSplit:
    """Which classes a Siamese encoder may learn from, and which it is tested on.

    Attributes:
        name: e.g. ``"30-70"`` (percent of classes to train on − percent held out) or ``"cifar-fs"``.
        train_classes: classes whose training images the encoder learns from.
        held_out_classes: classes for one-shot evaluation, never seen in training or validation.
        validation_classes: extra classes kept for validation only (CIFAR-FS's ``val.txt``).
    """

    name: str
    train_classes: tuple[str, ...]
    held_out_classes: tuple[str, ...]
    validation_classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        groups = (self.train_classes, self.held_out_classes, self.validation_classes)
        names = [name for group in groups for name in group]
        if len(set(names)) != len(names):
            raise ValueError(f"split {self.name!r} puts a class in two groups")


def class_split_name(train_fraction: float) -> str:
    """``0.3`` → ``"30-70"``: the seed's names, percent of classes trained on − held out."""
    percent = round(100 * train_fraction)
    return f"{percent}-{100 - percent}"


def ratio_class_split(class_names: Sequence[str], train_fraction: float, seed: int = 0) -> ClassSplit:
    """A seeded split of ``class_names``: ``train_fraction`` of them to train, the rest held out.

    Wraps :func:`utils.datasets.cifar100.split_classes_by_ratio`.
    """
    train_classes, held_out_classes = split_classes_by_ratio(class_names, train_fraction, seed)
    return ClassSplit(class_split_name(train_fraction), tuple(train_classes), tuple(held_out_classes))


def file_class_split(folder: str | Path, name: str = "cifar-fs") -> ClassSplit:
    """The split of CIFAR-FS-style lists: ``train.txt`` to train, ``val.txt`` to validate, ``test.txt`` held out.

    Bertinetto et al. (ICLR 2019) use 64 / 16 / 20 of CIFAR-100's fine classes.
    """
    lists = split_classes_from_files(folder)
    return ClassSplit(name, tuple(lists["train"]), tuple(lists["test"]), tuple(lists.get("val", ())))


@dataclass(frozen=True)
class LabelledImages:
    """Images with their class labels.

    Attributes:
        images: uint8 array of shape (n_images, H, W, C).
        labels: int64 array of shape (n_images,), indices into the data set's class names.
    """

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def classes(self) -> np.ndarray:
        """The distinct labels, sorted."""
        return np.unique(self.labels)


@dataclass(frozen=True)
class OneShotData:
    """The four image sets of a one-shot study on one class split.

    Attributes:
        split: the class split.
        class_names: all class names; labels index into it.
        train: training images of the train classes, minus the validation share.
        validation: the validation share of the train classes' training images, plus every image of
            the split's validation classes; chooses the binary threshold and the best epoch.
        seen_test: test images of the train classes (new images, known classes), as the seed reported.
        held_out: every image (train and test files) of the held-out classes, for one-shot evaluation.
    """

    split: ClassSplit
    class_names: list[str]
    train: LabelledImages
    validation: LabelledImages
    seen_test: LabelledImages
    held_out: LabelledImages


def _cap_per_class(labels: np.ndarray, cap: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices keeping at most ``cap`` random images of each class (all when ``cap`` is ``None``)."""
    kept = []
    for label in np.unique(labels):
        indices = np.flatnonzero(labels == label)
        if cap is not None and len(indices) > cap:
            indices = np.sort(rng.choice(indices, size=cap, replace=False))
        kept.append(indices)
    return np.sort(np.concatenate(kept)) if kept else np.zeros(0, dtype=np.int64)


def build_one_shot_data(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    class_names: Sequence[str],
    split: ClassSplit,
    validation_fraction: float = 0.1,
    max_images_per_class: int | None = None,
    seed: int = 0,
) -> OneShotData:
    """Arrange a data set's train and test files into the image sets of a one-shot study.

    Args:
        train_images: uint8 array of shape (n_train, H, W, C), the data set's training files.
        train_labels: int array of shape (n_train,).
        test_images: uint8 array of shape (n_test, H, W, C), the data set's test files.
        test_labels: int array of shape (n_test,).
        class_names: names indexed by the labels.
        split: which classes to train on and which to hold out.
        validation_fraction: share of each train class's training images kept for validation.
        max_images_per_class: keep at most this many images per class and file (smoke subsets).
        seed: seeds the validation draw and the subsets.

    Returns:
        The :class:`OneShotData`; no image of a held-out class is in ``train`` or ``validation``.
    """
    rng = np.random.default_rng(seed)
    index_of = {name: index for index, name in enumerate(class_names)}
    train_ids = np.array([index_of[name] for name in split.train_classes], dtype=np.int64)
    validation_ids = np.array([index_of[name] for name in split.validation_classes], dtype=np.int64)
    held_out_ids = np.array([index_of[name] for name in split.held_out_classes], dtype=np.int64)
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)

    def select(images: np.ndarray, labels: np.ndarray, classes: np.ndarray) -> LabelledImages:
        indices = np.flatnonzero(np.isin(labels, classes))
        indices = indices[_cap_per_class(labels[indices], max_images_per_class, rng)]
        return LabelledImages(images[indices], labels[indices].astype(np.int64))

    seen_train = select(train_images, train_labels, train_ids)
    is_validation = np.zeros(len(seen_train), dtype=bool)
    for label in seen_train.classes:
        indices = np.flatnonzero(seen_train.labels == label)
        n_validation = int(round(validation_fraction * len(indices)))
        is_validation[rng.choice(indices, size=n_validation, replace=False)] = True
    validation_only = [select(images, labels, validation_ids) for images, labels in
                       ((train_images, train_labels), (test_images, test_labels))]
    held_out_parts = [select(images, labels, held_out_ids) for images, labels in
                      ((train_images, train_labels), (test_images, test_labels))]
    return OneShotData(
        split=split,
        class_names=list(class_names),
        train=LabelledImages(seen_train.images[~is_validation], seen_train.labels[~is_validation]),
        validation=_concatenate(
            [LabelledImages(seen_train.images[is_validation], seen_train.labels[is_validation]), *validation_only]
        ),
        seen_test=select(test_images, test_labels, train_ids),
        held_out=_concatenate(held_out_parts),
    )


def _concatenate(parts: Sequence[LabelledImages]) -> LabelledImages:
    return LabelledImages(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]))


# ---------------------------------------------------------------------------------------------
# Triplets and pairs
# ---------------------------------------------------------------------------------------------


def _labels_array(labels: np.ndarray | torch.Tensor) -> np.ndarray:
    return labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)


def sample_triplets(labels: np.ndarray, n_triplets: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random triplets (anchor, positive of the anchor's class, negative of another class).

    Args:
        labels: int array of shape (n_images,); anchors come from classes with two or more images.
        n_triplets: how many triplets.
        seed: the random seed.

    Returns:
        ``(anchors, positives, negatives)``, index arrays of shape (n_triplets,).

    Raises:
        ValueError: if no class has two images or there is only one class.
    """
    labels = _labels_array(labels)
    rng = np.random.default_rng(seed)
    classes, class_sizes = np.unique(labels, return_counts=True)
    if len(classes) < 2 or class_sizes.max() < 2:
        raise ValueError("triplets need two classes and a class with at least two images")
    # Images sorted by class: class c occupies positions starts[c] .. starts[c] + sizes[c] - 1.
    by_class = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(class_sizes)[:-1]])
    class_of = np.searchsorted(classes, labels)
    position_of = np.empty(len(labels), dtype=np.int64)
    position_of[by_class] = np.arange(len(labels))
    anchors = rng.choice(np.flatnonzero(class_sizes[class_of] >= 2), size=n_triplets)
    anchor_classes = class_of[anchors]
    # A uniform pick among the class's other images: draw from size - 1 slots and skip the anchor's own slot.
    offsets = rng.integers(0, class_sizes[anchor_classes] - 1)
    offsets += offsets >= position_of[anchors] - starts[anchor_classes]
    positives = by_class[starts[anchor_classes] + offsets]
    negatives = rng.integers(0, len(labels), size=n_triplets)
    while (clash := labels[negatives] == labels[anchors]).any():
        negatives[clash] = rng.integers(0, len(labels), size=int(clash.sum()))
    return anchors, positives, negatives


def sample_pairs(labels: np.ndarray, n_pairs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Balanced random pairs: half of one class, half of two classes.

    Returns:
        ``(first, second, same)``: index arrays of shape (n_pairs,) and a bool array, ``True`` for
        same-class pairs.
    """
    anchors, positives, negatives = sample_triplets(labels, n_pairs, seed)
    same = np.arange(n_pairs) % 2 == 0
    return anchors, np.where(same, positives, negatives), same


# ---------------------------------------------------------------------------------------------
# N-way 1-shot over all held-out classes, and N-way K-shot episodes
# ---------------------------------------------------------------------------------------------


def one_shot_supports(labels: np.ndarray, n_draws: int, seed: int = 0) -> np.ndarray:
    """Seeded draws of one support image per class, for N-way 1-shot over *all* classes present (Koch et al., 2015).

    Every image not drawn as a support is a query of that draw
    (:func:`utils.metrics.n_way_one_shot_accuracy`).

    Args:
        labels: int array of shape (n_images,).
        n_draws: how many independent draws of the support set.
        seed: the random seed.

    Returns:
        Image indices of shape (n_draws, n_classes); column j shows the j-th smallest label.
    """
    labels = _labels_array(labels)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    return np.array([[rng.choice(np.flatnonzero(labels == label)) for label in classes] for _ in range(n_draws)])


@dataclass(frozen=True)
class Episode:
    """One N-way K-shot task.

    Attributes:
        classes: the episode's classes (data-set labels) of shape (n_way,).
        support_indices: image indices of shape (n_way, n_shot); row i shows ``classes[i]``.
        query_indices: image indices of shape (n_way, n_query); row i shows ``classes[i]``.
    """

    classes: np.ndarray
    support_indices: np.ndarray
    query_indices: np.ndarray

    @property
    def query_labels(self) -> np.ndarray:
        """Episode labels (``0 .. n_way - 1``) of the flattened queries, shape (n_way * n_query,)."""
        n_way, n_query = self.query_indices.shape
        return np.repeat(np.arange(n_way), n_query)


class EpisodeSampler:
    """Seeded N-way K-shot episodes over the classes of ``labels``.

    Each episode draws ``n_way`` distinct classes, then ``n_shot + n_query`` distinct images of each;
    classes with fewer images are never drawn. The same seed gives the same episodes.

    Args:
        labels: int array of shape (n_images,).
        n_way: classes per episode.
        n_shot: support images per class.
        n_query: query images per class.
        n_episodes: episodes per iteration.
        seed: the random seed.

    Raises:
        ValueError: if fewer than ``n_way`` classes have ``n_shot + n_query`` images.
    """

    def __init__(
        self, labels: np.ndarray, n_way: int = 5, n_shot: int = 1, n_query: int = 15, n_episodes: int = 600, seed: int = 0
    ) -> None:
        labels = _labels_array(labels)
        self.n_way, self.n_shot, self.n_query, self.n_episodes, self.seed = n_way, n_shot, n_query, n_episodes, seed
        self.indices_by_class = {
            label: np.flatnonzero(labels == label)
            for label in np.unique(labels)
            if np.sum(labels == label) >= n_shot + n_query
        }
        if len(self.indices_by_class) < n_way:
            raise ValueError(
                f"{n_way}-way episodes need {n_way} classes with {n_shot + n_query} images; "
                f"{len(self.indices_by_class)} qualify"
            )

    def __len__(self) -> int:
        return self.n_episodes

    def __iter__(self) -> Iterator[Episode]:
        rng = np.random.default_rng(self.seed)
        eligible = np.array(sorted(self.indices_by_class))
        for _ in range(self.n_episodes):
            classes = rng.choice(eligible, size=self.n_way, replace=False)
            chosen = np.stack([
                rng.choice(self.indices_by_class[label], size=self.n_shot + self.n_query, replace=False)
                for label in classes
            ])
            yield Episode(classes, chosen[:, : self.n_shot], chosen[:, self.n_shot:])


