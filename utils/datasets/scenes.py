"""The sample world's multi-label scenes: this project's own format, documented here.

Multi-label zero-shot learning as in Semantic Diversity Learning (Ben-Cohen et al., ICCV 2021): each
scene shows one to four animals, some of whose classes are never seen in training. A scenes folder::

    scenes/
        images/<file>.jpg
        labels.csv          header "image,labels"; then e.g. "scene_00012.jpg,zebra giant+panda"
                            (the labels of an image are class names separated by single spaces);
                            an optional third column "split" assigns each image to a split
                            ("image,labels,split" / "train_00012.jpg,zebra giant+panda,train")
        classes.txt         the label names, AwA2 format: "<id><TAB><name>" with 1-based ids
        seen_labels.txt     one label name per line
        unseen_labels.txt   one label name per line
        label_vectors/      optional: the labels' word vectors in the SDL format (see nuswide.py)

Seen and unseen labels must partition ``classes.txt``; every row of ``labels.csv`` names an existing
image and at least one known label; every image in ``images/`` has a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.datasets.awa2 import read_class_list, read_id_name_file
from utils.datasets.errors import require_folder
from utils.datasets.nuswide import LabelVectors, load_label_vectors, read_label_rows
from utils.errors import DatasetFormatError
from utils.fileops import list_images

IMAGES_FOLDER = "images"
LABELS_FILE = "labels.csv"
CLASSES_FILE = "classes.txt"
SEEN_FILE = "seen_labels.txt"
UNSEEN_FILE = "unseen_labels.txt"
LABEL_VECTORS_FOLDER = "label_vectors"


@dataclass(frozen=True)
class ScenesDataset:
    """A folder of multi-label scenes with a seen/unseen label split.

    Attributes:
        folder: the scenes folder.
        image_paths: the images in ``labels.csv`` order, of length n_images.
        label_matrix: uint8 multi-hot matrix of shape (n_images, n_labels).
        label_names: label names in ``classes.txt`` order, of length n_labels.
        seen_labels: seen label names, in ``classes.txt`` order.
        unseen_labels: unseen label names, in ``classes.txt`` order.
        seen_mask: bool array of shape (n_labels,), True for seen labels.
        unseen_mask: bool array of shape (n_labels,), True for unseen labels.
        label_vectors: the labels' word vectors (rows in ``label_names`` order), or None if the
            folder has no ``label_vectors/``.
        image_splits: the ``split`` column (e.g. ``"train"``/``"test"``) of each image, of length
            n_images, or None if ``labels.csv`` has no such column.
    """

    folder: Path
    image_paths: list[Path]
    label_matrix: np.ndarray
    label_names: list[str]
    seen_labels: list[str]
    unseen_labels: list[str]
    seen_mask: np.ndarray
    unseen_mask: np.ndarray
    label_vectors: LabelVectors | None
    image_splits: list[str] | None = None

    @property
    def n_images(self) -> int:
        return len(self.image_paths)

    @property
    def n_labels(self) -> int:
        return len(self.label_names)


def read_labels_csv(path: Path, label_names: list[str]) -> tuple[list[str], np.ndarray, list[str] | None]:
    """Read a scenes ``labels.csv`` (one row per image: its file name, its labels, optionally its split).

    Args:
        path: the CSV file.
        label_names: every label, in the order of the label-matrix columns.

    Returns:
        ``(image_names, label_matrix, image_splits)``: names of shape (n_images,), a 0/1 matrix of shape
        (n_images, n_labels), and the split of each image (``None`` when the file has no split column).

    Raises:
        DatasetFormatError: naming the file and line of a malformed row or an unknown label.
    """
    rows = read_label_rows(path, label_names, names_file=CLASSES_FILE)
    position = {name: index for index, name in enumerate(label_names)}
    label_matrix = np.zeros((len(rows.image_names), len(label_names)), dtype=np.uint8)
    for row, labels in enumerate(rows.labels):
        label_matrix[row, [position[name] for name in labels]] = 1
    return rows.image_names, label_matrix, rows.splits


def load_scenes(folder: str | Path) -> ScenesDataset:
    """Read a scenes folder (format in the module docstring).

    Args:
        folder: the ``scenes`` folder.

    Returns:
        The :class:`ScenesDataset`.

    Raises:
        DatasetFormatError: naming the file and what is wrong: a missing file, an unknown label, an
            image listed but absent (or present but not listed), seen/unseen lists that do not
            partition the labels, or label vectors for other labels.
    """
    folder = require_folder(folder, "scenes folder")
    label_names = read_id_name_file(folder / CLASSES_FILE)
    seen_path, unseen_path = folder / SEEN_FILE, folder / UNSEEN_FILE
    seen = set(read_class_list(seen_path, known_classes=label_names))
    unseen = set(read_class_list(unseen_path, known_classes=label_names))
    if seen & unseen:
        raise DatasetFormatError(
            unseen_path, f"labels also in {SEEN_FILE}: {', '.join(sorted(seen & unseen))}"
        )
    unassigned = [name for name in label_names if name not in seen | unseen]
    if unassigned:
        raise DatasetFormatError(
            unseen_path, f"labels in neither {SEEN_FILE} nor {UNSEEN_FILE}: {', '.join(unassigned)}"
        )

    image_names, label_matrix, image_splits = read_labels_csv(folder / LABELS_FILE, label_names)
    images_folder = require_folder(folder / IMAGES_FOLDER, "image folder")
    on_disk = {path.name for path in list_images(images_folder)}
    missing = [name for name in image_names if name not in on_disk]
    if missing:
        raise DatasetFormatError(
            folder / LABELS_FILE, f"{len(missing)} listed images are not in images/: {', '.join(missing[:5])}"
        )
    unlisted = sorted(on_disk - set(image_names))
    if unlisted:
        raise DatasetFormatError(
            images_folder, f"{len(unlisted)} images have no row in {LABELS_FILE}: {', '.join(unlisted[:5])}"
        )

    label_vectors = None
    if (folder / LABEL_VECTORS_FOLDER).is_dir():
        label_vectors = load_label_vectors(folder / LABEL_VECTORS_FOLDER)
        if label_vectors.label_names != label_names:
            raise DatasetFormatError(
                label_vectors.folder / "classes.pickle", f"label names differ from {folder / CLASSES_FILE}"
            )
        if set(label_vectors.unseen_labels) != unseen:
            raise DatasetFormatError(
                label_vectors.folder / "unseen_classes.pickle", f"unseen labels differ from {unseen_path}"
            )

    seen_mask = np.array([name in seen for name in label_names], dtype=bool)
    return ScenesDataset(
        folder=folder,
        image_paths=[images_folder / name for name in image_names],
        label_matrix=label_matrix,
        label_names=label_names,
        seen_labels=[name for name in label_names if name in seen],
        unseen_labels=[name for name in label_names if name in unseen],
        seen_mask=seen_mask,
        unseen_mask=~seen_mask,
        label_vectors=label_vectors,
        image_splits=image_splits,
    )
