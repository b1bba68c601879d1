"""Notebook 03's error analysis of the DeViSE embeddings: plain computation, tested.

Nearest-label predictions, confusion matrices, the most confused pairs, and a PCA that projects image embeddings
and label vectors into the same plane. The embeddings themselves are an :class:`utils.zsl.EmbeddingSet`, saved by
notebook 02 and read by notebooks 03 and 04.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from utils.word_vectors import l2_normalize


def confusion_matrix(true_labels: np.ndarray, predicted_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of shape (n_classes, n_classes): row = true class, column = predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true_labels), np.asarray(predicted_labels)), 1)
    return matrix


def most_confused_pairs(
    confusion: np.ndarray, class_names: list[str] | np.ndarray, top: int = 5
) -> list[tuple[str, str, int]]:
    """The off-diagonal cells with the most images, as ``(true class, predicted class, count)``.

    Ties keep row-major order; cells with count 0 are never listed.
    """
    confusion = np.asarray(confusion)
    off_diagonal = confusion.copy()
    np.fill_diagonal(off_diagonal, 0)
    order = np.argsort(-off_diagonal, axis=None, kind="stable")[:top]
    rows, columns = np.unravel_index(order, confusion.shape)
    return [
        (str(class_names[row]), str(class_names[column]), int(off_diagonal[row, column]))
        for row, column in zip(rows, columns, strict=True)
        if off_diagonal[row, column] > 0
    ]


def pca_projection(
    image_embeddings: np.ndarray, label_vectors: np.ndarray, n_components: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Project normalised image embeddings and label vectors into one PCA plane.

    The PCA is fitted on the unit-length image embeddings *and* label vectors together, so both kinds
    of point share the axes. Two components keep only part of the distances: points close in the plane may
    be far apart in the dimensions left out.

    Args:
        image_embeddings: array of shape (n_images, embedding_dim).
        label_vectors: array of shape (n_labels, embedding_dim).

    Returns:
        ``(image_points, label_points)`` of shapes (n_images, n_components) and (n_labels, n_components).
    """
    from sklearn.decomposition import PCA

    images, labels = l2_normalize(np.asarray(image_embeddings)), l2_normalize(np.asarray(label_vectors))
    pca = PCA(n_components=n_components, random_state=0).fit(np.concatenate([images, labels]))
    return pca.transform(images), pca.transform(labels)


def nearest_label_counts(scores: np.ndarray, true_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """How many images of each class land nearest to each label vector: (n_classes, n_classes) counts.

    The same as the confusion matrix of nearest-label predictions over ``scores``' columns.
    """
    return confusion_matrix(true_labels, np.asarray(scores).argmax(1), n_classes)


def snapshot_classes(probe_paths: Sequence[str], pca_classes: Sequence[str]) -> tuple[list[str], str | None]:
    """The classes the PCA snapshots of notebook 02 show, and a warning when they are not the configured ones.

    The probe images lie in one folder per class; the snapshots keep them in the order of the split's listing, which
    need not be the order of ``config.pca_classes``. Only which classes were recorded matters, so the two are compared
    as sets, and the classes come back in the configured order (then any others in the order found).

    Args:
        probe_paths: the snapshot's image paths (``snapshots["paths"]``), each ``.../<class name>/<image>``.
        pca_classes: the classes asked for (``config.pca_classes``).

    Returns:
        ``(classes, warning)``: the snapshot's classes, and ``None`` or a sentence saying which classes the snapshots
        show instead of the configured ones and how to record those.
    """
    shown = list(dict.fromkeys(Path(path).parent.name for path in probe_paths))
    classes = [name for name in pca_classes if name in shown] + [name for name in shown if name not in pca_classes]
    if set(shown) == set(pca_classes):
        return classes, None
    return classes, (f"snapshots show {classes}; set config.retrain = True in notebook 02 to record "
                     f"{list(pca_classes)}")
