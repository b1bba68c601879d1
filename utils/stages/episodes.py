"""Class splits, episodes and the one-shot metrics of notebook 06.

The one-shot protocol: a Siamese encoder is trained on the *train classes* only; the
*held-out classes* never appear in training or validation. Then:

* **triplet accuracy** — over random triplets (anchor, positive of its class, negative of another
  class), the share with ``d(anchor, positive) < d(anchor, negative)``;
* **binary accuracy** — over balanced random pairs, the share labelled correctly by the rule
  "same class iff ``d ≤ threshold``", the threshold chosen on *validation* pairs, never on test;
* **N-way 1-shot accuracy** over all held-out classes — one random support image per held-out
  class, every other held-out image a query, classified by its nearest support (Koch et al.,
  2015); averaged over several draws of the supports. This is the seed project's "mean few-shot
  accuracy", stated precisely;
* **5-way 1-shot / 5-way 5-shot episode accuracy** with a 95% confidence interval — the
  convention of few-shot benchmarks such as CIFAR-FS (Bertinetto et al., "Meta-learning with
  differentiable closed-form solvers", ICLR 2019): in each episode 5 held-out classes, ``n_shot``
  supports and ``n_query`` queries per class; queries go to the nearest class prototype, the mean
  of its support embeddings (Snell et al., "Prototypical Networks for Few-shot Learning", NeurIPS
  2017). The interval is ``1.96 × std / √n_episodes``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.losses import pairwise_distances
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


def triplet_accuracy(
    embeddings: torch.Tensor, labels: np.ndarray, n_triplets: int = 10_000, distance: str = "cosine", seed: int = 0
) -> float:
    """Share of random triplets with ``d(anchor, positive) < d(anchor, negative)``.

    Args:
        embeddings: tensor of shape (n_images, embedding_dim).
        labels: int array of shape (n_images,).
        n_triplets: how many random triplets (:func:`sample_triplets`).
        distance: ``"cosine"`` or ``"euclidean"``.
        seed: the random seed.
    """
    anchors, positives, negatives = (torch.as_tensor(i) for i in sample_triplets(labels, n_triplets, seed))
    positive_distances = _row_distances(embeddings[anchors], embeddings[positives], distance)
    negative_distances = _row_distances(embeddings[anchors], embeddings[negatives], distance)
    return float((positive_distances < negative_distances).float().mean())


def _row_distances(first: torch.Tensor, second: torch.Tensor, distance: str) -> torch.Tensor:
    """Distance between row i of ``first`` and row i of ``second``, shape (n,)."""
    if distance == "cosine":
        return 1.0 - torch.nn.functional.cosine_similarity(first, second, dim=1)
    if distance == "euclidean":
        return (first - second).norm(dim=1)
    raise ValueError(f"unknown distance {distance!r}")


def sample_pairs(labels: np.ndarray, n_pairs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Balanced random pairs: half of one class, half of two classes.

    Returns:
        ``(first, second, same)``: index arrays of shape (n_pairs,) and a bool array, ``True`` for
        same-class pairs.
    """
    anchors, positives, negatives = sample_triplets(labels, n_pairs, seed)
    same = np.arange(n_pairs) % 2 == 0
    return anchors, np.where(same, positives, negatives), same


def pair_distances(embeddings: torch.Tensor, first: np.ndarray, second: np.ndarray, distance: str = "cosine") -> np.ndarray:
    """Distances of the pairs ``(first[i], second[i])``, a float array of shape (n_pairs,)."""
    return _row_distances(embeddings[torch.as_tensor(first)], embeddings[torch.as_tensor(second)], distance).numpy()


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold that maximises the accuracy of "same iff distance ≤ threshold" on these pairs.

    Tries a threshold between every two consecutive sorted distances (and below/above all);
    choose it on validation pairs and apply it to test pairs with :func:`binary_accuracy`.

    Args:
        distances: float array of shape (n_pairs,).
        same: bool array of shape (n_pairs,).
    """
    order = np.argsort(distances, kind="stable")
    sorted_distances = np.asarray(distances, dtype=np.float64)[order]
    sorted_same = np.asarray(same, dtype=bool)[order]
    # Correct answers when the first k sorted pairs are called "same": same pairs among them + different pairs after.
    same_below = np.concatenate([[0], np.cumsum(sorted_same)])
    different_above = (~sorted_same).sum() - np.concatenate([[0], np.cumsum(~sorted_same)])
    correct = same_below + different_above
    n_pairs = len(sorted_distances)
    # A cut can only fall between two distinct values.
    valid = np.ones(n_pairs + 1, dtype=bool)
    valid[1:n_pairs] = sorted_distances[1:] > sorted_distances[:-1]
    n_called_same = int(np.argmax(np.where(valid, correct, -1)))
    if n_called_same == 0:
        return float(np.nextafter(sorted_distances[0], -np.inf))
    if n_called_same == n_pairs:
        return float(sorted_distances[-1])
    return float((sorted_distances[n_called_same - 1] + sorted_distances[n_called_same]) / 2)


def binary_accuracy(distances: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Accuracy of "same class iff distance ≤ threshold" on pairs of shape (n_pairs,)."""
    return float(np.mean((np.asarray(distances) <= threshold) == np.asarray(same, dtype=bool)))


# ---------------------------------------------------------------------------------------------
# N-way 1-shot over all held-out classes, and N-way K-shot episodes
# ---------------------------------------------------------------------------------------------


def mean_confidence_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% confidence interval, ``1.96 × std / √n`` (normal approximation)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float(values.mean()), 0.0
    return float(values.mean()), float(1.96 * values.std(ddof=1) / np.sqrt(len(values)))


def nearest_prototype(
    support_embeddings: torch.Tensor, query_embeddings: torch.Tensor, distance: str = "cosine"
) -> torch.Tensor:
    """Index of the nearest class prototype for each query (Snell et al., NeurIPS 2017).

    Args:
        support_embeddings: tensor of shape (n_way, n_shot, embedding_dim); the prototype of a class
            is the mean of its ``n_shot`` support embeddings (with ``n_shot = 1``, the support itself).
        query_embeddings: tensor of shape (n_query_total, embedding_dim).
        distance: ``"cosine"`` or ``"euclidean"``.

    Returns:
        Long tensor of shape (n_query_total,) with values in ``0 .. n_way - 1``.
    """
    prototypes = support_embeddings.mean(dim=1)
    return pairwise_distances(query_embeddings, prototypes, distance).argmin(dim=1)


def n_way_one_shot_accuracy(
    embeddings: torch.Tensor, labels: np.ndarray, n_draws: int = 10, distance: str = "cosine", seed: int = 0
) -> tuple[float, float]:
    """N-way 1-shot accuracy over *all* classes present: one random support per class, the rest queries.

    Each draw picks one support image per class; every other image is a query, assigned to the
    class of its nearest support. The accuracy is the share of queries classified correctly.

    Args:
        embeddings: tensor of shape (n_images, embedding_dim), e.g. of the held-out images.
        labels: int array of shape (n_images,).
        n_draws: how many independent draws of the support set.
        distance: ``"cosine"`` or ``"euclidean"``.
        seed: the random seed.

    Returns:
        ``(mean accuracy over draws, 95% confidence half-width over draws)``.
    """
    labels = _labels_array(labels)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    accuracies = []
    for _ in range(n_draws):
        support_indices = np.array([rng.choice(np.flatnonzero(labels == label)) for label in classes])
        query_mask = np.ones(len(labels), dtype=bool)
        query_mask[support_indices] = False
        support_embeddings = embeddings[torch.as_tensor(support_indices)][:, None, :]
        predicted = nearest_prototype(support_embeddings, embeddings[torch.as_tensor(query_mask)], distance)
        accuracies.append(float(np.mean(classes[predicted.numpy()] == labels[query_mask])))
    return mean_confidence_interval(accuracies)


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


def episode_accuracy(
    embeddings: torch.Tensor,
    labels: np.ndarray,
    n_way: int = 5,
    n_shot: int = 1,
    n_query: int = 15,
    n_episodes: int = 600,
    distance: str = "cosine",
    seed: int = 0,
) -> tuple[float, float]:
    """Mean N-way K-shot episode accuracy and its 95% confidence half-width (nearest prototype).

    Args:
        embeddings: tensor of shape (n_images, embedding_dim), e.g. of the held-out images.
        labels: int array of shape (n_images,).
        n_way, n_shot, n_query, n_episodes, seed: as :class:`EpisodeSampler`.
        distance: ``"cosine"`` or ``"euclidean"``.

    Returns:
        ``(mean accuracy, 95% half-width)``, both fractions in [0, 1].
    """
    accuracies = []
    for episode in EpisodeSampler(labels, n_way, n_shot, n_query, n_episodes, seed):
        support_embeddings = embeddings[torch.as_tensor(episode.support_indices)]
        query_embeddings = embeddings[torch.as_tensor(episode.query_indices.reshape(-1))]
        predicted = nearest_prototype(support_embeddings, query_embeddings, distance).numpy()
        accuracies.append(float(np.mean(predicted == episode.query_labels)))
    return mean_confidence_interval(accuracies)
