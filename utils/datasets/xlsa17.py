"""The xlsa17 "Proposed Split" files: ``att_splits.mat`` and ``res101.mat``.

Y. Xian, B. Schiele, Z. Akata, "Zero-Shot Learning — The Good, the Bad and the Ugly", CVPR 2017, and
Y. Xian, C. H. Lampert, B. Schiele, Z. Akata, "Zero-Shot Learning — A Comprehensive Evaluation of the
Good, the Bad and the Ugly", TPAMI 2018. Every ``.mat`` file is read with :func:`scipy.io.loadmat`.

``att_splits.mat`` holds

* ``att``: (n_attributes, n_classes) class embeddings with L2-normalised columns
  (``binaryAtt_splits.mat`` holds 0/1 here and no ``original_att``);
* ``original_att``: the same before normalisation, in 0..100 (AwA) or 0..1 (CUB, SUN), -1 = missing;
* ``allclasses_names``: an (n_classes, 1) cell of names (absent from FLO's file, see below);
* ``trainval_loc``, ``test_seen_loc``, ``test_unseen_loc`` and usually ``train_loc``, ``val_loc``:
  **1-based** column vectors of image indices into ``res101.mat``.

``res101.mat`` holds ``features`` (2048, n_images) ResNet-101 features, ``labels`` (n_images, 1)
**1-based** indices into ``allclasses_names``, and ``image_files`` an (n_images, 1) cell of paths.

**Everything is converted at this boundary**: image and class indices become 0-based int64 NumPy
arrays, class-major matrices (rows are classes), features (n_images, feature_dim) float32.

Known quirks of the real files, handled here:

* In the original AwA2 (and AwA1) ``att_splits.mat``, ``train_loc``/``val_loc`` are **not** subsets
  of ``trainval_loc``: they contain thousands of ``test_seen_loc`` images. :attr:`AttSplits.train_val_is_clean`
  is False for such files and loading them warns with :class:`Xlsa17SplitWarning`. For (G)ZSL use
  ``trainval`` for training and the two test sets for evaluation, as the paper does; use
  ``train``/``val`` only from a clean file such as ``att_splits_trainval_fixed_2020.mat``.
* Some re-saved files lack ``train_loc``/``val_loc``: those fields are ``None``.
* ``original_att`` is on a 0..100 or a 0..1 scale: :attr:`AttSplits.original_attributes_01` is
  always on 0..1.
* The FLO (Oxford Flowers 102) ``att_splits.mat`` that GZSL work uses (Xian et al., f-CLSWGAN, CVPR
  2018) has no ``allclasses_names``: Oxford 102 Flowers identifies its classes only by their 1-based
  label (``imagelabels.mat``), so the names become ``class_001`` ... ``class_102`` (label ``i`` is
  ``class_{i:03d}``) and :attr:`AttSplits.class_names_generated` is True.

An xlsa17 download (``python -m utils.download xlsa17``) extracts to ``xlsa17/data/<DATASET>/``
(APY, AWA1, AWA2, CUB, SUN; FLO is added by hand from the f-CLSWGAN release): :func:`find_xlsa17_datasets`
finds the data set folders under ``xlsa17/``, ``xlsa17/data`` or one ``xlsa17/data/<DATASET>``.

A file or folder that does not exist raises :class:`~utils.errors.MissingDataError`, naming
``python -m utils.download xlsa17``; a malformed one raises :class:`DatasetFormatError`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.datasets.errors import require_path
from utils.errors import DatasetFormatError

ATT_SPLITS_FILE = "att_splits.mat"
RES101_FILE = "res101.mat"
REQUIRED_LOC_KEYS = ("trainval_loc", "test_seen_loc", "test_unseen_loc")
OPTIONAL_LOC_KEYS = ("train_loc", "val_loc")
CLASS_NAMES_KEY = "allclasses_names"
DATA_FOLDER = "data"


def generated_class_names(n_classes: int) -> list[str]:
    """Names for a file without ``allclasses_names`` (FLO): ``class_001`` ... for labels 1..n_classes."""
    width = max(3, len(str(n_classes)))
    return [f"class_{label:0{width}d}" for label in range(1, n_classes + 1)]


class Xlsa17SplitWarning(UserWarning):
    """An ``att_splits.mat`` whose ``train_loc``/``val_loc`` must not be used (see the module docstring)."""


def load_mat(path: str | Path, variable_names: list[str] | None = None) -> dict[str, object]:
    """The variables of a MATLAB file (without scipy's ``__header__``-style entries).

    Args:
        path: the ``.mat`` file.
        variable_names: read only these variables (default: all).

    Raises:
        MissingDataError: if the file does not exist (naming ``python -m utils.download xlsa17``).
        DatasetFormatError: if the file is not a MATLAB 5 file, or is a v7.3 (HDF5) file, which
            :func:`scipy.io.loadmat` cannot read.
    """
    import scipy.io

    path = require_path(path, "xlsa17", "MATLAB file", kind="file")
    try:
        contents = scipy.io.loadmat(str(path), variable_names=variable_names)
    except NotImplementedError:
        raise DatasetFormatError(
            path, "MATLAB v7.3 (HDF5) file; scipy.io.loadmat reads only v5 files (re-save it with -v7)"
        ) from None
    except Exception as error:  # scipy raises several types (ValueError, TypeError, MatReadError...)
        raise DatasetFormatError(path, f"not a readable MATLAB file ({error})") from None
    return {key: value for key, value in contents.items() if not key.startswith("__")}


def _require_key(contents: dict[str, object], key: str, path: Path) -> np.ndarray:
    if key not in contents:
        raise DatasetFormatError(path, f"key '{key}' is missing (has {', '.join(sorted(contents))})")
    return np.asarray(contents[key])


def _cell_strings(value: np.ndarray, path: Path, key: str) -> list[str]:
    """Strings from a MATLAB cell array of char arrays, e.g. an (n, 1) ``allclasses_names``."""
    strings = []
    for position, item in enumerate(np.asarray(value, dtype=object).ravel()):
        element = item
        while isinstance(element, np.ndarray) and element.dtype == object and element.size == 1:
            element = element.ravel()[0]
        if isinstance(element, np.ndarray) and element.dtype.kind == "U":
            element = "".join(element.ravel().tolist())
        if not isinstance(element, str) or not element.strip():
            raise DatasetFormatError(
                path, f"key '{key}': entry {position + 1} is not a non-empty string ({element!r})"
            )
        strings.append(element.strip())
    return strings


def _integer_vector(value: np.ndarray, path: Path, key: str) -> np.ndarray:
    vector = np.asarray(value)
    if vector.ndim > 2 or (vector.ndim == 2 and 1 not in vector.shape):
        raise DatasetFormatError(path, f"key '{key}' has shape {vector.shape}, expected a vector")
    vector = vector.ravel()
    if vector.dtype.kind not in "iuf" or (
        vector.dtype.kind == "f" and not np.all(vector == np.round(vector))
    ):
        raise DatasetFormatError(path, f"key '{key}' does not hold integers (dtype {vector.dtype})")
    return vector.astype(np.int64)


def _require_finite(
    values: np.ndarray, path: Path, key: str, note: str = "", transposed: bool = False, chunk_rows: int = 4096
) -> None:
    """Raise naming ``path``, ``key`` and how many of ``values`` are NaN or infinite (if any are).

    Every value is checked, in blocks of ``chunk_rows`` rows (no full-size temporary): one pass over
    AwA2's (37322, 2048) float32 features takes some tens of milliseconds.

    Args:
        values: a float (or integer: nothing to check) array of 1 or 2 dimensions.
        path, key: the file and the key the message names.
        note: appended to the message.
        transposed: ``values`` is the transpose of the array as stored (the position named is the
            stored one).
    """
    values = np.asarray(values)
    if values.dtype.kind not in "fc":
        return
    rows = values.reshape(values.shape[0], -1) if values.ndim > 1 else values.reshape(-1, 1)
    n_nan = n_inf = 0
    for start in range(0, rows.shape[0], chunk_rows):
        block = rows[start : start + chunk_rows]
        n_nan += int(np.count_nonzero(np.isnan(block)))
        n_inf += int(np.count_nonzero(np.isinf(block)))
    if not (n_nan or n_inf):
        return
    first = [int(index) + 1 for index in np.argwhere(~np.isfinite(rows))[0]]
    if transposed:
        first.reverse()
    where = f"row {first[0]}, column {first[1]}" if values.ndim == 2 else f"position {first[0]}"
    raise DatasetFormatError(
        path,
        f"key '{key}' has {n_nan + n_inf} of {values.size} values that are not finite ({n_nan} NaN, "
        f"{n_inf} inf; first at {where}, 1-based as stored){note}",
    )


def _one_based_to_zero_based(
    vector: np.ndarray, path: Path, key: str, upper: int | None, what: str
) -> np.ndarray:
    if vector.size and vector.min() < 1:
        raise DatasetFormatError(path, f"key '{key}' holds {vector.min()}; {what} are 1-based (>= 1)")
    if upper is not None and vector.size and vector.max() > upper:
        raise DatasetFormatError(path, f"key '{key}' holds {vector.max()}, beyond the {upper} {what}")
    return vector - 1


@dataclass(frozen=True)
class AttSplits:
    """The contents of an xlsa17 ``att_splits.mat`` (Xian et al., CVPR 2017 / TPAMI 2018), 0-based.

    Attributes:
        path: the file.
        class_names: ``allclasses_names``, of length n_classes; ``class_001`` ... when the file has
            none (FLO), see :attr:`class_names_generated`.
        attributes: ``att`` transposed, of shape (n_classes, n_attributes), float64; rows are
            L2-normalised in ``att_splits.mat``, 0/1 in ``binaryAtt_splits.mat``.
        original_attributes: ``original_att`` transposed, of shape (n_classes, n_attributes), on the
            file's scale (0..100 or 0..1) with the missing marker -1 turned into NaN; None if absent.
        original_attribute_scale: 100.0 or 1.0, the scale of ``original_att``; None if absent.
        trainval_indices: 0-based image indices (``trainval_loc - 1``), int64 of shape (n_trainval,).
        test_seen_indices: 0-based image indices, int64 of shape (n_test_seen,).
        test_unseen_indices: 0-based image indices, int64 of shape (n_test_unseen,).
        train_indices: 0-based ``train_loc``, or None if the file has none.
        val_indices: 0-based ``val_loc``, or None if the file has none.
        train_val_is_clean: True if train and val partition trainval (safe to tune on), False if
            they do not (the original AwA2 file: never use them), None if the file has neither.
        class_names_generated: True if the file has no ``allclasses_names`` (FLO) and
            :attr:`class_names` are ``class_001`` ... (label ``i`` is ``class_{i:03d}``).
    """

    path: Path
    class_names: list[str]
    attributes: np.ndarray
    original_attributes: np.ndarray | None
    original_attribute_scale: float | None
    trainval_indices: np.ndarray
    test_seen_indices: np.ndarray
    test_unseen_indices: np.ndarray
    train_indices: np.ndarray | None
    val_indices: np.ndarray | None
    train_val_is_clean: bool | None
    class_names_generated: bool = False

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_attributes(self) -> int:
        return int(self.attributes.shape[1])

    @property
    def original_attributes_01(self) -> np.ndarray | None:
        """:attr:`original_attributes` divided by its scale, on 0..1 (NaN where missing), or None."""
        if self.original_attributes is None or self.original_attribute_scale is None:
            return None
        return self.original_attributes / self.original_attribute_scale


def load_att_splits(path: str | Path, n_images: int | None = None) -> AttSplits:
    """Read an xlsa17 ``att_splits.mat`` (or ``binaryAtt_splits.mat``), converting to 0-based indices.

    Args:
        path: the ``.mat`` file.
        n_images: the number of images in the matching ``res101.mat``; if given, every location must
            lie in 1..n_images.

    Returns:
        The file's :class:`AttSplits`. Warns with :class:`Xlsa17SplitWarning` if ``train_loc`` and
        ``val_loc`` are present but do not partition ``trainval_loc``.

    A file without ``allclasses_names`` (FLO's) gets the names ``class_001`` ... (one per column of
    ``att``) and :attr:`AttSplits.class_names_generated` True.

    Raises:
        MissingDataError: if the file does not exist (naming ``python -m utils.download xlsa17``).
        DatasetFormatError: naming the file and the key, if a key is missing or malformed, ``att``
            does not have one column per class name, ``att`` or ``original_att`` holds NaN or inf
            (saying how many values), a location is out of range, or the test-seen,
            test-unseen and trainval image sets overlap.
    """
    path = require_path(path, "xlsa17", "xlsa17 splits file", kind="file")
    contents = load_mat(path)
    att = _require_key(contents, "att", path)
    class_names_generated = CLASS_NAMES_KEY not in contents
    if class_names_generated:
        if att.ndim != 2 or att.shape[1] < 1:
            raise DatasetFormatError(
                path, f"key 'att' has shape {att.shape}, expected (n_attributes, n_classes)"
            )
        class_names = generated_class_names(int(att.shape[1]))
    else:
        class_names = _cell_strings(_require_key(contents, CLASS_NAMES_KEY, path), path, CLASS_NAMES_KEY)
    if len(set(class_names)) != len(class_names):
        duplicates = sorted({name for name in class_names if class_names.count(name) > 1})
        raise DatasetFormatError(path, f"key 'allclasses_names' repeats {', '.join(duplicates)}")
    if att.ndim != 2 or att.shape[1] != len(class_names):
        raise DatasetFormatError(
            path, f"key 'att' has shape {att.shape}, expected (n_attributes, {len(class_names)} classes)"
        )
    if att.dtype.kind not in "biuf":
        raise DatasetFormatError(path, f"key 'att' does not hold numbers (dtype {att.dtype})")
    _require_finite(att, path, "att")
    attributes = att.T.astype(np.float64)
    original_attributes, scale = None, None
    if "original_att" in contents:
        original = np.asarray(contents["original_att"])
        if original.dtype.kind not in "biuf":
            raise DatasetFormatError(
                path, f"key 'original_att' does not hold numbers (dtype {original.dtype})"
            )
        original = original.astype(np.float64)
        if original.shape != att.shape:
            raise DatasetFormatError(
                path, f"key 'original_att' has shape {original.shape}, expected {att.shape}"
            )
        _require_finite(original, path, "original_att", note="; missing values must be -1")
        original_attributes = original.T.copy()
        original_attributes[original_attributes == -1.0] = np.nan
        present = original_attributes[~np.isnan(original_attributes)]
        if present.size and (present.min() < 0.0 or present.max() > 100.0):
            raise DatasetFormatError(
                path, f"key 'original_att' has values outside 0..100 (and -1): {present.min():g}"
            )
        scale = 100.0 if present.size and present.max() > 1.0 else 1.0

    locations: dict[str, np.ndarray | None] = {}
    for key in REQUIRED_LOC_KEYS + OPTIONAL_LOC_KEYS:
        if key not in contents:
            if key in REQUIRED_LOC_KEYS:
                _require_key(contents, key, path)
            locations[key] = None
            continue
        vector = _integer_vector(contents[key], path, key)
        locations[key] = _one_based_to_zero_based(vector, path, key, n_images, "images")

    trainval = locations["trainval_loc"]
    test_seen = locations["test_seen_loc"]
    test_unseen = locations["test_unseen_loc"]
    for first, second in (
        ("test_seen_loc", "test_unseen_loc"),
        ("trainval_loc", "test_unseen_loc"),
        ("trainval_loc", "test_seen_loc"),
    ):
        shared = np.intersect1d(locations[first], locations[second])
        if shared.size:
            raise DatasetFormatError(
                path,
                f"keys '{first}' and '{second}' share {shared.size} images (e.g. location {shared[0] + 1})",
            )

    train, val = locations["train_loc"], locations["val_loc"]
    train_val_is_clean: bool | None = None
    if train is not None and val is not None:
        train_val_is_clean = bool(
            np.isin(train, trainval).all()
            and np.isin(val, trainval).all()
            and not np.intersect1d(train, val).size
        )
        if not train_val_is_clean:
            warnings.warn(
                f"{path}: 'train_loc'/'val_loc' do not partition 'trainval_loc' (the original xlsa17 AwA files "
                "mix test_seen images into them); use trainval + test_seen/test_unseen for (G)ZSL",
                Xlsa17SplitWarning,
                stacklevel=2,
            )
    elif (train is None) != (val is None):
        present_key = "train_loc" if train is not None else "val_loc"
        raise DatasetFormatError(path, f"key '{present_key}' is present without its partner")

    return AttSplits(
        path=path,
        class_names=class_names,
        attributes=attributes,
        original_attributes=original_attributes,
        original_attribute_scale=scale,
        trainval_indices=trainval,
        test_seen_indices=test_seen,
        test_unseen_indices=test_unseen,
        train_indices=train,
        val_indices=val,
        train_val_is_clean=train_val_is_clean,
        class_names_generated=class_names_generated,
    )


@dataclass(frozen=True)
class Res101Features:
    """The contents of an xlsa17 ``res101.mat``, 0-based (Xian et al., CVPR 2017 / TPAMI 2018).

    Attributes:
        path: the file.
        features: float32 array of shape (n_images, feature_dim) (the file stores (2048, n_images)).
        labels: 0-based class indices (``labels - 1``), int64 of shape (n_images,).
        image_files: image paths as stored, of length n_images.
    """

    path: Path
    features: np.ndarray
    labels: np.ndarray
    image_files: list[str]

    @property
    def n_images(self) -> int:
        return int(self.labels.shape[0])

    @property
    def feature_dim(self) -> int:
        return int(self.features.shape[1])


def load_res101(path: str | Path, n_classes: int | None = None) -> Res101Features:
    """Read an xlsa17 ``res101.mat``: features transposed to (n_images, 2048) float32, labels 0-based.

    Features of any float dtype are converted to float32 (for AwA2, 2048 × 37322 values: about 300 MB
    as float32, twice that as float64), which is what a network consumes.

    Args:
        path: the ``.mat`` file.
        n_classes: the number of class names in the matching ``att_splits.mat``; if given, every
            label must lie in 1..n_classes.

    Returns:
        The file's :class:`Res101Features`.

    Raises:
        MissingDataError: if the file does not exist (naming ``python -m utils.download xlsa17``).
        DatasetFormatError: naming the file and the key, if a key is missing, ``features`` is not
            (feature_dim, n_images) floats, holds NaN or inf (every value is checked: one pass, about
            0.1 s for AwA2's 2048 × 37322), labels are not 1-based integers in range, or
            ``image_files`` has the wrong length.
    """
    path = require_path(path, "xlsa17", "xlsa17 res101.mat", kind="file")
    contents = load_mat(path)
    labels = _integer_vector(_require_key(contents, "labels", path), path, "labels")
    labels = _one_based_to_zero_based(labels, path, "labels", n_classes, "classes")
    features = _require_key(contents, "features", path)
    if features.ndim != 2 or features.shape[1] != labels.size or features.dtype.kind != "f":
        raise DatasetFormatError(
            path,
            f"key 'features' has shape {features.shape} and dtype {features.dtype}, expected floats of shape "
            f"(feature_dim, {labels.size} images)",
        )
    image_files = _cell_strings(_require_key(contents, "image_files", path), path, "image_files")
    if len(image_files) != labels.size:
        raise DatasetFormatError(
            path, f"key 'image_files' has {len(image_files)} entries, expected {labels.size}"
        )
    with np.errstate(over="ignore"):  # a float64 value beyond float32's range becomes inf: reported next
        features = np.ascontiguousarray(features.T, dtype=np.float32)
    # Checked after the conversion, so a float64 value beyond float32's range (inf there) is caught too.
    _require_finite(features, path, "features", note=" (after conversion to float32)", transposed=True)
    return Res101Features(
        path=path,
        features=features,
        labels=labels,
        image_files=image_files,
    )


@dataclass(frozen=True)
class Xlsa17Dataset:
    """An xlsa17 data set folder: ``att_splits.mat`` and ``res101.mat`` together, 0-based.

    Attributes:
        att_splits: the class names, attributes and image splits.
        res101: the features, labels and image files.
        seen_class_indices: sorted classes of the ``trainval`` images, int64 of shape (n_seen,).
        unseen_class_indices: sorted classes of the ``test_unseen`` images, int64 of shape (n_unseen,).
    """

    att_splits: AttSplits
    res101: Res101Features
    seen_class_indices: np.ndarray
    unseen_class_indices: np.ndarray

    @property
    def class_names(self) -> list[str]:
        return self.att_splits.class_names

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Features and labels of one split (``trainval``, ``test_seen``, ``test_unseen``, ``train``, ``val``).

        Returns:
            ``(features, labels)`` of shapes (n_split, feature_dim) and (n_split,).

        Raises:
            KeyError: for an unknown split, or ``train``/``val`` when the file has none.
            ValueError: for ``train``/``val`` when they do not partition ``trainval``.
        """
        indices = getattr(self.att_splits, f"{name}_indices", None) if name.isidentifier() else None
        if indices is None:
            raise KeyError(f"{self.att_splits.path} has no split {name!r}")
        if name in ("train", "val") and not self.att_splits.train_val_is_clean:
            raise ValueError(
                f"{self.att_splits.path}: 'train_loc'/'val_loc' do not partition 'trainval_loc'; use a fixed file"
            )
        return self.res101.features[indices], self.res101.labels[indices]


def load_xlsa17(
    folder: str | Path, att_splits_file: str = ATT_SPLITS_FILE, res101_file: str = RES101_FILE
) -> Xlsa17Dataset:
    """Read an xlsa17 data set folder (e.g. ``xlsa17/data/AWA2``) and cross-check its two files.

    Seen classes are those of the ``trainval`` images and unseen classes those of the ``test_unseen``
    images (0-based indices into the class names); the two must be disjoint and the ``test_seen``
    images must all belong to seen classes.

    Args:
        folder: the folder.
        att_splits_file: the splits file in it (``att_splits.mat``, ``binaryAtt_splits.mat``, ...).
        res101_file: the features file in it.

    Returns:
        The folder's :class:`Xlsa17Dataset`.

    Raises:
        MissingDataError: if the folder or one of its two files does not exist (naming
            ``python -m utils.download xlsa17``).
        DatasetFormatError: naming the file and what is wrong.
    """
    folder = require_path(folder, "xlsa17", "xlsa17 data set folder", kind="folder")
    res101_path = require_path(folder / res101_file, "xlsa17", f"xlsa17 {res101_file}", kind="file")
    # Read the splits header first: its class count bounds the labels, the labels bound the locations.
    att_path = require_path(folder / att_splits_file, "xlsa17", f"xlsa17 {att_splits_file}", kind="file")
    n_images = read_mat_shapes(res101_path).get("labels")
    att_splits = load_att_splits(att_path, n_images=None if n_images is None else int(np.prod(n_images)))
    res101 = load_res101(res101_path, n_classes=att_splits.n_classes)
    seen, unseen = class_split(att_splits, res101.labels)
    return Xlsa17Dataset(
        att_splits=att_splits, res101=res101, seen_class_indices=seen, unseen_class_indices=unseen
    )


def read_mat_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """``{variable: shape}`` of a MATLAB file, from its header (no data is read).

    Raises:
        MissingDataError: if the file does not exist.
        DatasetFormatError: if it is not a readable MATLAB 5 file.
    """
    import scipy.io

    path = require_path(path, "xlsa17", "MATLAB file", kind="file")
    try:
        return {name: tuple(shape) for name, shape, _ in scipy.io.whosmat(str(path))}
    except NotImplementedError:
        raise DatasetFormatError(
            path, "MATLAB v7.3 (HDF5) file; scipy.io.loadmat reads only v5 files (re-save it with -v7)"
        ) from None
    except Exception as error:
        raise DatasetFormatError(path, f"not a readable MATLAB file ({error})") from None


def load_res101_labels(path: str | Path, n_classes: int | None = None) -> np.ndarray:
    """Only the 0-based ``labels`` of a ``res101.mat`` (its features are not read), int64 of shape (n_images,).

    Raises:
        MissingDataError: if the file does not exist.
        DatasetFormatError: naming the file, if ``labels`` is missing or not 1-based integers in range.
    """
    path = require_path(path, "xlsa17", "xlsa17 res101.mat", kind="file")
    contents = load_mat(path, variable_names=["labels"])
    labels = _integer_vector(_require_key(contents, "labels", path), path, "labels")
    return _one_based_to_zero_based(labels, path, "labels", n_classes, "classes")


def class_split(att_splits: AttSplits, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seen classes (of the ``trainval`` images) and unseen classes (of the ``test_unseen`` images).

    Args:
        att_splits: the splits file's contents.
        labels: 0-based class of every image (``res101.mat``'s labels - 1).

    Returns:
        ``(seen, unseen)``: sorted int64 class indices.

    Raises:
        DatasetFormatError: naming the splits file, if a class is both seen and unseen, or a
            ``test_seen`` image belongs to a class without ``trainval`` images.
    """
    att_path = att_splits.path
    for key, indices in (
        ("trainval_loc", att_splits.trainval_indices),
        ("test_seen_loc", att_splits.test_seen_indices),
        ("test_unseen_loc", att_splits.test_unseen_indices),
    ):
        if indices.size and indices.max() >= labels.size:
            raise DatasetFormatError(
                att_path, f"key '{key}' holds {indices.max() + 1}, beyond the {labels.size} images"
            )
    seen = np.unique(labels[att_splits.trainval_indices])
    unseen = np.unique(labels[att_splits.test_unseen_indices])
    shared = np.intersect1d(seen, unseen)
    if shared.size:
        names = ", ".join(att_splits.class_names[index] for index in shared)
        raise DatasetFormatError(
            att_path, f"classes in both 'trainval_loc' and 'test_unseen_loc' images: {names}"
        )
    stray = np.setdiff1d(np.unique(labels[att_splits.test_seen_indices]), seen)
    if stray.size:
        names = ", ".join(att_splits.class_names[index] for index in stray)
        raise DatasetFormatError(
            att_path, f"key 'test_seen_loc' holds images of classes not in trainval: {names}"
        )
    return seen, unseen


def is_xlsa17_dataset_folder(folder: Path) -> bool:
    """True if ``folder`` holds an xlsa17 ``res101.mat`` or a ``*splits*.mat`` file."""
    return folder.is_dir() and ((folder / RES101_FILE).is_file() or any(folder.glob("*splits*.mat")))


def find_xlsa17_datasets(path: str | Path) -> dict[str, Path]:
    """The xlsa17 data set folders under ``path``, by name (``{"AWA2": .../xlsa17/data/AWA2, ...}``).

    ``path`` may be the ``xlsa17/`` folder that ``python -m utils.download xlsa17`` leaves (it holds
    ``data/<DATASET>/``), its ``data/`` folder, or one data set folder (then the one entry is it).

    Raises:
        MissingDataError: if ``path`` does not exist.
        DatasetFormatError: if it holds no xlsa17 data set folder.
    """
    path = require_path(path, "xlsa17", "xlsa17 folder", kind="folder")
    if is_xlsa17_dataset_folder(path):
        return {path.name: path}
    for parent in (path / DATA_FOLDER, path):
        if parent.is_dir():
            found = {
                child.name: child for child in sorted(parent.iterdir()) if is_xlsa17_dataset_folder(child)
            }
            if found:
                return found
    raise DatasetFormatError(
        path,
        f"no xlsa17 data set folder (<DATASET>/{ATT_SPLITS_FILE}, {RES101_FILE}) here or in {DATA_FOLDER}/",
    )
