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

A NUS-WIDE folder (this project's layout, the one ``utils/stages/sdl.py`` reads in ``full``) is read by
:func:`load_nuswide`::

    $ZSL_DATA_DIR/nus_wide/
        images/...      the Flickr images (any sub-folders), from
                        https://lms.comp.nus.edu.sg/wp-content/uploads/2019/research/nuswide/NUS-WIDE.html
        labels.csv      "image,labels,split": the image path relative to images/, its tags among
                        the 1006 separated by single spaces, and "train" or "test"
    $ZSL_DATA_DIR/ZS_SDL/data/NUS_WIDE/
        wordvec_array.pickle, classes.pickle, unseen_classes.pickle   (github.com/Alibaba-MIIL/ZS_SDL)

A missing folder or file raises :class:`~utils.errors.MissingDataError` naming where to get it. The pickles are read
with :func:`utils.datasets.safe_pickle.load_pickle`: a crafted one naming any global but NumPy's arrays raises
:class:`~utils.errors.DatasetFormatError` before anything it names runs.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.datasets.errors import require_file, require_path
from utils.datasets.safe_pickle import load_pickle
from utils.errors import DatasetFormatError

WORDVEC_FILE = "wordvec_array.pickle"
CLASSES_FILE = "classes.pickle"
UNSEEN_FILE = "unseen_classes.pickle"
CLASS_IDS_FILE = "cls_ids.pickle"


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
    contents = load_pickle(path)
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
    contents = load_pickle(path)
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
    contents = load_pickle(path)
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
    contents = load_pickle(path)
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
        MissingDataError: if ``folder`` does not exist (naming ZS_SDL's repository for NUS-WIDE).
        DatasetFormatError: naming the file, if one is missing or malformed, or the number of vectors
            differs from the number of names.
    """
    folder = require_path(folder, "nus_wide_label_vectors", "label-vector folder", kind="folder")
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


# ------------------------------------------------------------------------- labels.csv and NUS-WIDE

IMAGES_FOLDER = "images"
LABELS_FILE = "labels.csv"
LABELS_HEADER = ["image", "labels"]
SPLIT_COLUMN = "split"
NUSWIDE_SPLITS = ("train", "test")
LABEL_VECTORS_BESIDE = Path("ZS_SDL") / "data" / "NUS_WIDE"
"""Where ZS_SDL's NUS-WIDE label vectors sit relative to the NUS-WIDE folder's parent ($ZSL_DATA_DIR)."""


@dataclass(frozen=True)
class LabelRows:
    """The rows of a ``labels.csv`` (``image,labels[,split]``), in file order.

    Attributes:
        path: the file.
        image_names: the ``image`` column, of length n_images.
        labels: each image's labels (the ``labels`` column split on whitespace).
        splits: the ``split`` column, or None if the file has none.
        line_numbers: the line of each row (1-based; line 1 is the header).
    """

    path: Path
    image_names: list[str]
    labels: list[list[str]]
    splits: list[str] | None
    line_numbers: list[int]


def read_label_rows(
    path: str | Path,
    label_names: Sequence[str] | None = None,
    *,
    names_file: str = CLASSES_FILE,
    require_split: bool = False,
    allowed_splits: Sequence[str] | None = None,
) -> LabelRows:
    """Read a multi-label ``labels.csv``: header ``image,labels`` (optionally ``,split``), one row per image.

    Args:
        path: the CSV file.
        label_names: the known labels; if given, every label must be one of them.
        names_file: the file the known labels come from, named in the error for an unknown label.
        require_split: the ``split`` column must be present.
        allowed_splits: if given, the only allowed values of the ``split`` column.

    Raises:
        DatasetFormatError: naming the file and line of a malformed row (wrong field count, empty
            image name, repeated image, no labels, unknown label, empty or unknown split), a wrong
            header, a missing file, or a file that lists no image at all.
    """
    import csv

    path = require_file(path)
    known = None if label_names is None else set(label_names)
    headers = (
        ([*LABELS_HEADER, SPLIT_COLUMN],)
        if require_split
        else (LABELS_HEADER, [*LABELS_HEADER, SPLIT_COLUMN])
    )
    image_names: list[str] = []
    labels: list[list[str]] = []
    splits: list[str] = []
    line_numbers: list[int] = []
    first_line: dict[str, int] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header not in headers:
            expected = (
                ",".join(headers[-1])
                if require_split
                else f"{','.join(LABELS_HEADER)} (optionally ,{SPLIT_COLUMN})"
            )
            raise DatasetFormatError(path, f"header is {header}, expected {expected}")
        for line_number, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(header):
                raise DatasetFormatError(
                    path, f"line {line_number}: expected {len(header)} fields, got {len(record)}"
                )
            if len(header) == 3:
                split = record[2].strip()
                if not split:
                    raise DatasetFormatError(path, f"line {line_number}: empty {SPLIT_COLUMN}")
                if allowed_splits is not None and split not in allowed_splits:
                    raise DatasetFormatError(
                        path,
                        f"line {line_number}: {SPLIT_COLUMN} {split!r} is not {' or '.join(allowed_splits)}",
                    )
                splits.append(split)
            image_name, label_text = record[0].strip(), record[1].split()
            if not image_name:
                raise DatasetFormatError(path, f"line {line_number}: empty image name")
            if image_name in first_line:
                raise DatasetFormatError(
                    path,
                    f"line {line_number}: image {image_name!r} already listed on line {first_line[image_name]}",
                )
            if not label_text:
                raise DatasetFormatError(path, f"line {line_number}: image {image_name!r} has no labels")
            if known is not None:
                for name in label_text:
                    if name not in known:
                        raise DatasetFormatError(
                            path, f"line {line_number}: unknown label {name!r} (not in {names_file})"
                        )
            first_line[image_name] = line_number
            image_names.append(image_name)
            labels.append(label_text)
            line_numbers.append(line_number)
    if not image_names:
        raise DatasetFormatError(path, "no images listed")
    return LabelRows(
        path=path,
        image_names=image_names,
        labels=labels,
        splits=splits if len(header) == 3 else None,
        line_numbers=line_numbers,
    )


@dataclass(frozen=True)
class NusWideDataset:
    """A NUS-WIDE folder in this project's layout (Chua et al., CIVR 2009; see the module docstring).

    Attributes:
        folder: the ``nus_wide`` folder.
        image_names: the images of ``labels.csv``, relative to ``images/``, in file order.
        image_tags: each image's tags, in file order.
        image_splits: each image's split (``"train"`` or ``"test"``).
        missing_images: the listed images that are not files under ``images/`` (their names).
        label_vectors: the label vectors whose names the tags were checked against, or None if no
            label-vector folder was given or found (the tags were then not checked).
    """

    folder: Path
    image_names: list[str]
    image_tags: list[list[str]]
    image_splits: list[str]
    missing_images: list[str]
    label_vectors: LabelVectors | None

    @property
    def n_images(self) -> int:
        return len(self.image_names)

    @property
    def image_paths(self) -> list[Path]:
        return [self.folder / IMAGES_FOLDER / name for name in self.image_names]

    @property
    def tags_used(self) -> list[str]:
        """The distinct tags of ``labels.csv``, sorted."""
        return sorted({tag for tags in self.image_tags for tag in tags})

    def label_matrix(self) -> np.ndarray:
        """uint8 multi-hot matrix of shape (n_images, n_labels), columns in :attr:`label_vectors` order.

        Raises:
            ValueError: if the dataset was read without label vectors.
        """
        if self.label_vectors is None:
            raise ValueError(f"{self.folder}: read without label vectors, so there is no label order")
        position = {name: index for index, name in enumerate(self.label_vectors.label_names)}
        matrix = np.zeros((self.n_images, self.label_vectors.n_labels), dtype=np.uint8)
        for row, tags in enumerate(self.image_tags):
            matrix[row, [position[tag] for tag in tags]] = 1
        return matrix


def find_label_vectors_folder(folder: str | Path) -> Path | None:
    """The SDL label-vector folder of a NUS-WIDE folder, if one exists.

    Looked for at ``<folder>/../ZS_SDL/data/NUS_WIDE`` (the layout under ``$ZSL_DATA_DIR``), then at
    ``<folder>/label_vectors``.
    """
    folder = Path(folder)
    for candidate in (folder.parent / LABEL_VECTORS_BESIDE, folder / "label_vectors"):
        if (candidate / WORDVEC_FILE).is_file():
            return candidate
    return None


def load_nuswide(
    folder: str | Path, label_vectors_dir: str | Path | None = None, *, find_label_vectors: bool = True
) -> NusWideDataset:
    """Read a NUS-WIDE folder: ``images/...`` and ``labels.csv`` (``image,labels,split`` rows).

    The tags of every row are checked against the label names of an SDL label-vector folder
    (:func:`load_label_vectors`): ``label_vectors_dir`` if given, else the one
    :func:`find_label_vectors_folder` finds (if ``find_label_vectors``). Listed images that are not
    under ``images/`` are collected in :attr:`NusWideDataset.missing_images` rather than raised.

    Raises:
        MissingDataError: if the folder, its ``labels.csv``, its ``images/`` or the given
            label-vector folder does not exist (naming the NUS-WIDE page and ZS_SDL's repository).
        DatasetFormatError: naming the file (and line), for a malformed ``labels.csv`` (see
            :func:`read_label_rows`; splits must be ``train`` or ``test``), a tag that is not a
            label name, or malformed label vectors.
    """
    folder = require_path(folder, "nus_wide", "NUS-WIDE folder", kind="folder")
    labels_path = require_path(folder / LABELS_FILE, "nus_wide", "NUS-WIDE labels.csv", kind="file")
    images_folder = require_path(folder / IMAGES_FOLDER, "nus_wide", "NUS-WIDE image folder", kind="folder")
    if label_vectors_dir is None and find_label_vectors:
        label_vectors_dir = find_label_vectors_folder(folder)
    label_vectors = None if label_vectors_dir is None else load_label_vectors(label_vectors_dir)
    rows = read_label_rows(
        labels_path,
        None if label_vectors is None else label_vectors.label_names,
        names_file=str(None if label_vectors is None else label_vectors.folder / CLASSES_FILE),
        require_split=True,
        allowed_splits=NUSWIDE_SPLITS,
    )
    missing = [name for name in rows.image_names if not (images_folder / name).is_file()]
    return NusWideDataset(
        folder=folder,
        image_names=rows.image_names,
        image_tags=rows.labels,
        image_splits=list(rows.splits or []),
        missing_images=missing,
        label_vectors=label_vectors,
    )
