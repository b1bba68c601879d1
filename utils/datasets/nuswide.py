"""Label word vectors in the format of Semantic Diversity Learning (SDL) for NUS-WIDE.

A. Ben-Cohen, N. Zamir, E. Ben-Baruch, I. Friedman, L. Zelnik-Manor, "Semantic Diversity Learning
for Zero-Shot Multi-label Classification", ICCV 2021 (github.com/Alibaba-MIIL/ZS_SDL, ``data/``).
The label set is NUS-WIDE's (Chua et al., CIVR 2009): 1006 tags, of which 81 are unseen.

A folder in this format holds three pickles (protocol 4 in the release)::

    wordvec_array.pickle   the vectors as columns: an ndarray of shape (dim, n_labels) (NUS-WIDE:
                           float32 (300, 1006), unit-norm columns). The COCO release instead pickles
                           {"wordvec_array": ndarray of shape (1, dim, n_labels)} (float16); both read.
    classes.pickle         {index: name} for index 0 .. n_labels - 1
    unseen_classes.pickle  a list of the unseen label names (81 for NUS-WIDE)

The COCO release of ZS_SDL has no ``classes.pickle`` and no ``unseen_classes.pickle``; it has
``cls_ids.pickle`` = ``{"train": set, "val": set, "test": set}`` of label indices (48 seen / 17
unseen of COCO's 80 categories, the split of Bansal et al., ECCV 2018). :func:`load_label_vectors`
reads such a folder when given the label names; the test indices are the unseen labels.

:func:`write_label_vectors` writes the NUS-WIDE structure, so the sample world's multi-label scenes
ship their label vectors in it.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.datasets.errors import DatasetFormatError, require_file, require_folder

WORDVEC_FILE = "wordvec_array.pickle"
CLASSES_FILE = "classes.pickle"
UNSEEN_FILE = "unseen_classes.pickle"
CLASS_IDS_FILE = "cls_ids.pickle"


def _load_pickle(path: Path) -> object:
    path = require_file(path)
    try:
        with path.open("rb") as handle:
            return pickle.load(handle, encoding="latin1")
    except Exception as error:  # a truncated or foreign file can raise almost anything from pickle
        raise DatasetFormatError(path, f"not a readable pickle ({type(error).__name__}: {error})") from None


def read_wordvec_array(path: str | Path) -> np.ndarray:
    """Label vectors from an SDL ``wordvec_array.pickle``, one row per label.

    Args:
        path: the pickle: an array of shape (dim, n_labels), or a dict ``{"wordvec_array": array}``
            whose array has shape (dim, n_labels) or (1, dim, n_labels).

    Returns:
        float32 array of shape (n_labels, dim).

    Raises:
        DatasetFormatError: naming the file, for any other structure or non-finite values.
    """
    path = Path(path)
    contents = _load_pickle(path)
    if isinstance(contents, dict):
        if "wordvec_array" not in contents:
            raise DatasetFormatError(
                path, f"dict without key 'wordvec_array' (has {sorted(map(str, contents))})"
            )
        contents = contents["wordvec_array"]
    if not isinstance(contents, np.ndarray) or contents.dtype.kind != "f":
        raise DatasetFormatError(
            path, f"holds {type(contents).__name__}, expected a float array (dim, n_labels)"
        )
    array = contents[0] if contents.ndim == 3 and contents.shape[0] == 1 else contents
    if array.ndim != 2:
        raise DatasetFormatError(
            path, f"array has shape {contents.shape}, expected (dim, n_labels) or (1, dim, n_labels)"
        )
    if not np.all(np.isfinite(array)):
        raise DatasetFormatError(path, "array holds NaN or infinite values")
    return np.ascontiguousarray(array.T, dtype=np.float32)


def read_label_names(path: str | Path) -> list[str]:
    """Label names from an SDL ``classes.pickle`` (``{index: name}``), in index order.

    Raises:
        DatasetFormatError: naming the file, if it is not such a dict with indices 0..n-1 and
            distinct string names.
    """
    path = Path(path)
    contents = _load_pickle(path)
    if not isinstance(contents, dict):
        raise DatasetFormatError(path, f"holds a {type(contents).__name__}, expected a dict index -> name")
    keys = sorted(contents, key=lambda key: (not isinstance(key, int), key if isinstance(key, int) else 0))
    if keys != list(range(len(contents))):
        raise DatasetFormatError(path, f"keys are not the indices 0..{len(contents) - 1}")
    names = [contents[index] for index in keys]
    if not all(isinstance(name, str) and name for name in names):
        raise DatasetFormatError(path, "a label name is not a non-empty string")
    if len(set(names)) != len(names):
        raise DatasetFormatError(path, "label names repeat")
    return names


def read_unseen_labels(path: str | Path, label_names: Sequence[str]) -> list[str]:
    """Unseen label names from an SDL ``unseen_classes.pickle``, checked against ``label_names``.

    Raises:
        DatasetFormatError: naming the file, for a non-sequence, a repeated name, or a name that is
            not in ``label_names``.
    """
    path = Path(path)
    contents = _load_pickle(path)
    if not isinstance(contents, list | tuple | set | frozenset | np.ndarray):
        raise DatasetFormatError(path, f"holds a {type(contents).__name__}, expected a list of label names")
    names = [str(name) for name in contents]
    if len(set(names)) != len(names):
        raise DatasetFormatError(path, "unseen label names repeat")
    known = set(label_names)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise DatasetFormatError(path, f"unseen labels not in {CLASSES_FILE}: {', '.join(unknown[:10])}")
    return names


@dataclass(frozen=True)
class LabelVectors:
    """Word vectors of a multi-label label set and its seen/unseen partition (SDL format, ICCV 2021).

    Attributes:
        folder: the folder read.
        label_names: label names in index order, of length n_labels.
        label_vectors: float32 array of shape (n_labels, dim); row ``i`` belongs to ``label_names[i]``.
        seen_labels: labels not listed as unseen, in index order.
        unseen_labels: the unseen labels, in index order.
        unseen_mask: bool array of shape (n_labels,), True for unseen labels.
    """

    folder: Path
    label_names: list[str]
    label_vectors: np.ndarray
    seen_labels: list[str]
    unseen_labels: list[str]
    unseen_mask: np.ndarray

    @property
    def n_labels(self) -> int:
        return len(self.label_names)

    @property
    def dim(self) -> int:
        return int(self.label_vectors.shape[1])


def read_class_ids(path: str | Path, n_labels: int) -> dict[str, np.ndarray]:
    """Label-index splits from an SDL COCO ``cls_ids.pickle`` (``{"train": set, "val": set, "test": set}``).

    Returns:
        ``{split: sorted int64 array of label indices}``.

    Raises:
        DatasetFormatError: naming the file, for another structure, an index outside 0..n_labels-1,
            or an index in two splits.
    """
    path = Path(path)
    contents = _load_pickle(path)
    if not isinstance(contents, dict) or "test" not in contents:
        raise DatasetFormatError(path, "expected a dict with a 'test' set of label indices")
    splits: dict[str, np.ndarray] = {}
    for split, indices in contents.items():
        try:
            array = np.array(sorted(int(index) for index in indices), dtype=np.int64)
        except (TypeError, ValueError):
            raise DatasetFormatError(path, f"split {split!r} does not hold integer label indices") from None
        if array.size and (array.min() < 0 or array.max() >= n_labels):
            raise DatasetFormatError(path, f"split {split!r} holds indices outside 0..{n_labels - 1}")
        for other, other_array in splits.items():
            if np.intersect1d(array, other_array).size:
                raise DatasetFormatError(path, f"splits {other!r} and {split!r} share label indices")
        splits[str(split)] = array
    return splits


def load_label_vectors(folder: str | Path, label_names: Sequence[str] | None = None) -> LabelVectors:
    """Read an SDL label-vector folder (``wordvec_array.pickle``, ``classes.pickle``, ``unseen_classes.pickle``).

    Args:
        folder: the folder (e.g. ZS_SDL's ``data/NUS_WIDE``).
        label_names: names in index order, needed only for a folder without ``classes.pickle``
            (ZS_SDL's ``data/COCO``, whose unseen labels then come from ``cls_ids.pickle``).

    Returns:
        The :class:`LabelVectors`, with vectors as rows.

    Raises:
        DatasetFormatError: naming the file, if one is missing or malformed, or the number of vectors
            differs from the number of names.
    """
    folder = require_folder(folder, "label-vector folder")
    if (folder / CLASSES_FILE).exists() or label_names is None:
        if not (folder / CLASSES_FILE).exists() and (folder / CLASS_IDS_FILE).exists():
            raise DatasetFormatError(
                folder / CLASSES_FILE,
                f"not found; a folder with only {CLASS_IDS_FILE} (COCO) needs label_names",
            )
        label_names = read_label_names(folder / CLASSES_FILE)
    label_names = [str(name) for name in label_names]
    label_vectors = read_wordvec_array(folder / WORDVEC_FILE)
    if label_vectors.shape[0] != len(label_names):
        raise DatasetFormatError(
            folder / WORDVEC_FILE,
            f"holds {label_vectors.shape[0]} vectors, but there are {len(label_names)} label names",
        )
    if not (folder / UNSEEN_FILE).exists() and (folder / CLASS_IDS_FILE).exists():
        test_indices = read_class_ids(folder / CLASS_IDS_FILE, len(label_names))["test"]
        unseen = {label_names[index] for index in test_indices}
    else:
        unseen = set(read_unseen_labels(folder / UNSEEN_FILE, label_names))
    unseen_mask = np.array([name in unseen for name in label_names], dtype=bool)
    return LabelVectors(
        folder=folder,
        label_names=label_names,
        label_vectors=label_vectors,
        seen_labels=[name for name in label_names if name not in unseen],
        unseen_labels=[name for name in label_names if name in unseen],
        unseen_mask=unseen_mask,
    )


def write_label_vectors(
    folder: str | Path,
    label_names: Sequence[str],
    label_vectors: np.ndarray,
    unseen_labels: Sequence[str],
) -> Path:
    """Write a label-vector folder in the NUS-WIDE SDL structure (readable by :func:`load_label_vectors`).

    Args:
        folder: the folder to write (created if needed).
        label_names: label names in index order, of length n_labels.
        label_vectors: array of shape (n_labels, dim); stored transposed as float32 (dim, n_labels).
        unseen_labels: the unseen label names (a subset of ``label_names``).

    Returns:
        The folder.

    Raises:
        ValueError: if the shapes disagree, names repeat, or an unseen label is not a label.
    """
    names = [str(name) for name in label_names]
    vectors = np.asarray(label_vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(names):
        raise ValueError(f"label_vectors must have shape ({len(names)}, dim), got {vectors.shape}")
    if len(set(names)) != len(names):
        raise ValueError("label_names repeat")
    unknown = [name for name in unseen_labels if name not in set(names)]
    if unknown:
        raise ValueError(f"unseen labels are not labels: {unknown}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, contents in (
        (WORDVEC_FILE, np.ascontiguousarray(vectors.T)),
        (CLASSES_FILE, dict(enumerate(names))),
        (UNSEEN_FILE, [str(name) for name in unseen_labels]),
    ):
        with (folder / file_name).open("wb") as handle:
            pickle.dump(contents, handle, protocol=4)
    return folder
