"""Image embeddings saved once by notebook 02 and read by notebooks 03 and 04, and what is computed on them.

The file is a NumPy ``.npz`` (``outputs/devise/<profile>/embeddings.npz``) written and read by
:class:`EmbeddingSet`::

    embeddings = EmbeddingSet.load(config.run_dir / "embeddings.npz")
    scores = embeddings.scores()                   # (n_images, n_classes) cosine similarities
    zsl = embeddings.subset(embeddings.split == "unseen_test")

Besides the file format this module holds the analysis of notebook 03 that is plain computation
(tested): nearest-label predictions, confusion matrices, the most confused pairs, and a PCA that
projects image embeddings and label vectors into the same plane.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.datasets.errors import require_file
from utils.errors import DatasetFormatError, library_message
from utils.word_vectors import l2_normalize

SPLITS = ("seen_valid", "unseen_test")
"""``split`` values: held-out images of seen classes (``valid/``) and images of unseen classes (``test/``)."""


@dataclass
class EmbeddingSet:
    """Per-image embeddings with everything needed to interpret them.

    Attributes:
        image_embeddings: float32 array of shape (n_images, embedding_dim), as the network outputs them
            (not normalised).
        image_paths: the image files, of shape (n_images,) (strings, relative to the repository root when
            they lie inside it).
        labels: class index of each image into ``class_names``, int64 of shape (n_images,).
        split: ``"seen_valid"`` or ``"unseen_test"`` per image, of shape (n_images,).
        class_names: all class names, of shape (n_classes,), in the data set's order.
        class_word_vectors: label vectors, float32 of shape (n_classes, embedding_dim) (L2-normalised).
        seen_class_mask: bool of shape (n_classes,), True for the classes trained on.
    """

    image_embeddings: np.ndarray
    image_paths: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    class_names: np.ndarray
    class_word_vectors: np.ndarray
    seen_class_mask: np.ndarray

    def __post_init__(self) -> None:
        self.image_embeddings = np.asarray(self.image_embeddings, dtype=np.float32)
        self.image_paths = np.asarray(self.image_paths, dtype=str)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.split = np.asarray(self.split, dtype=str)
        self.class_names = np.asarray(self.class_names, dtype=str)
        self.class_word_vectors = np.asarray(self.class_word_vectors, dtype=np.float32)
        self.seen_class_mask = np.asarray(self.seen_class_mask, dtype=bool)
        n_images, n_classes = len(self.image_embeddings), len(self.class_names)
        if not (len(self.image_paths) == len(self.labels) == len(self.split) == n_images):
            raise ValueError("image_embeddings, image_paths, labels and split must have one row per image")
        if self.class_word_vectors.shape != (n_classes, self.image_embeddings.shape[1]):
            raise ValueError(
                f"class_word_vectors {self.class_word_vectors.shape} must be (n_classes={n_classes}, "
                f"embedding_dim={self.image_embeddings.shape[1]})"
            )
        if self.seen_class_mask.shape != (n_classes,):
            raise ValueError(f"seen_class_mask must have shape ({n_classes},)")

    @property
    def unseen_classes(self) -> np.ndarray:
        return np.flatnonzero(~self.seen_class_mask)

    @property
    def seen_classes(self) -> np.ndarray:
        return np.flatnonzero(self.seen_class_mask)

    def normalized_embeddings(self) -> np.ndarray:
        """Unit-length image embeddings, of shape (n_images, embedding_dim)."""
        return l2_normalize(self.image_embeddings)

    def scores(self) -> np.ndarray:
        """Cosine similarity of every image to every label vector, of shape (n_images, n_classes)."""
        return self.normalized_embeddings() @ l2_normalize(self.class_word_vectors).T

    def subset(self, keep: np.ndarray) -> EmbeddingSet:
        """The images selected by a boolean mask or index array, with the same classes."""
        return EmbeddingSet(
            self.image_embeddings[keep], self.image_paths[keep], self.labels[keep], self.split[keep],
            self.class_names, self.class_word_vectors, self.seen_class_mask,
        )

    def save(self, path: str | Path) -> Path:
        """Write an uncompressed ``.npz`` with one array per field."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{name: getattr(self, name) for name in self.__dataclass_fields__})
        return path

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingSet:
        """Read a file written by :meth:`save` (never unpickling anything).

        Raises:
            DatasetFormatError: one line naming the file, if it is missing, empty, truncated, not an
                ``.npz``, lacks a field, holds an object array, or its arrays do not fit together.
        """
        path = require_file(path, "embeddings file")
        size = path.stat().st_size
        if size == 0:
            raise DatasetFormatError(path, "empty file (0 bytes); rerun the notebook that saves the embeddings")
        try:
            arrays = np.load(path, allow_pickle=False)
            if not isinstance(arrays, np.lib.npyio.NpzFile):
                raise DatasetFormatError(path, "holds a single array, not the .npz of an EmbeddingSet")
            with arrays:
                missing = [name for name in cls.__dataclass_fields__ if name not in arrays.files]
                if missing:
                    raise DatasetFormatError(path, f"lacks the array(s) {', '.join(missing)}")
                fields = {name: arrays[name] for name in cls.__dataclass_fields__}
        except DatasetFormatError:
            raise
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, MemoryError) as error:
            raise DatasetFormatError(
                path, f"not a readable .npz of embeddings ({size} bytes; truncated or corrupt?): {library_message(error)}"
            ) from error
        try:
            return cls(**fields)
        except (ValueError, TypeError, IndexError) as error:
            raise DatasetFormatError(path, f"arrays do not fit together: {library_message(error)}") from error



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
    of point share the axes and an image that lands on its label's triangle really is near it.

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
