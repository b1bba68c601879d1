"""Write features and attributes as an xlsa17 ``res101.mat`` + ``att_splits.mat`` pair, in the exact format.

The xlsa17 "Proposed Split" (Y. Xian, C. H. Lampert, B. Schiele, Z. Akata, TPAMI 2018) ships each
data set as two MATLAB files that most zero-shot papers train from. Writing the sample world's
backbone features in that format lets the notebooks run the real path end to end on a CPU:
:func:`utils.datasets.load_xlsa17` reads what :func:`write_xlsa17_pair` writes, exactly as it reads
the real files. What is written, mirroring the real AwA2 files:

``res101.mat``
    ``features`` (feature_dim, n_images) double; ``labels`` (n_images, 1) double, **1-based** indices
    into ``allclasses_names``; ``image_files`` (n_images, 1) cell of paths.
``att_splits.mat``
    ``att`` (n_attributes, n_classes) double with L2-normalised columns; ``original_att`` the same
    before normalisation (0..100 as AwA2, -1 = missing); ``allclasses_names`` (n_classes, 1) cell;
    ``trainval_loc``, ``test_seen_loc``, ``test_unseen_loc``, ``train_loc``, ``val_loc``: **1-based**
    (n, 1) uint16 column vectors (uint32 beyond 65 535 images).
``binaryAtt_splits.mat`` (optional)
    the same with ``att`` the uint8 0/1 matrix and no ``original_att``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from utils.datasets.xlsa17 import ATT_SPLITS_FILE, RES101_FILE

BINARY_ATT_SPLITS_FILE = "binaryAtt_splits.mat"
LOC_KEYS = ("trainval_loc", "test_seen_loc", "test_unseen_loc", "train_loc", "val_loc")


def _cell_column(strings: Sequence[str]) -> np.ndarray:
    cell = np.empty((len(strings), 1), dtype=object)
    for row, text in enumerate(strings):
        cell[row, 0] = np.array([text])
    return cell


def _one_based_column(indices: np.ndarray, n_images: int) -> np.ndarray:
    indices = np.asarray(indices, dtype=np.int64).ravel()
    if indices.size and (indices.min() < 0 or indices.max() >= n_images):
        raise ValueError(f"image indices must lie in 0..{n_images - 1}")
    dtype = np.uint16 if n_images < 2**16 else np.uint32
    return (indices + 1).astype(dtype).reshape(-1, 1)


def l2_normalised_columns(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` of shape (n_attributes, n_classes) with each column scaled to unit length."""
    norms = np.linalg.norm(matrix, axis=0, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def write_xlsa17_pair(
    folder: str | Path,
    features: np.ndarray,
    labels: np.ndarray,
    image_files: Sequence[str],
    class_names: Sequence[str],
    original_attributes: np.ndarray,
    splits: Mapping[str, np.ndarray],
    binary_attributes: np.ndarray | None = None,
) -> dict[str, Path]:
    """Write ``res101.mat`` and ``att_splits.mat`` (and ``binaryAtt_splits.mat``) into ``folder``.

    Inputs are 0-based and class-major, as :func:`utils.datasets.load_xlsa17` returns them; this
    function converts to the files' 1-based, column-major layout.

    Args:
        folder: destination (created).
        features: float array of shape (n_images, feature_dim).
        labels: 0-based class indices of shape (n_images,).
        image_files: a path per image, of length n_images.
        class_names: the ``allclasses_names``, of length n_classes.
        original_attributes: float array of shape (n_classes, n_attributes), on 0..100 (AwA2) or
            0..1, NaN where missing (written as -1).
        splits: 0-based image indices for ``trainval``, ``test_seen``, ``test_unseen`` and, optionally,
            ``train`` and ``val`` (keys with or without the ``_loc`` suffix).
        binary_attributes: 0/1 array of shape (n_classes, n_attributes); if given,
            ``binaryAtt_splits.mat`` is written too.

    Returns:
        File kind (``res101``, ``att_splits``, ``binary_att_splits``) → path written.

    Raises:
        ValueError: if shapes disagree, a required split is missing or an index is out of range.
    """
    import scipy.io

    folder = Path(folder)
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64).ravel()
    n_images = labels.size
    original = np.asarray(original_attributes, dtype=np.float64)
    if features.shape[0] != n_images or len(image_files) != n_images:
        raise ValueError(f"{features.shape[0]} feature rows, {n_images} labels and {len(image_files)} files differ")
    if original.shape[0] != len(class_names) or labels.min() < 0 or labels.max() >= len(class_names):
        raise ValueError("original_attributes needs one row per class name and labels must index the classes")
    locations = {}
    for key in LOC_KEYS:
        value = splits.get(key, splits.get(key.removesuffix("_loc")))
        if value is None:
            if key in ("train_loc", "val_loc"):
                continue
            raise ValueError(f"split {key.removesuffix('_loc')!r} is required")
        locations[key] = _one_based_column(value, n_images)

    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    res101 = {
        "features": features.T,
        "labels": (labels + 1).astype(np.float64).reshape(-1, 1),
        "image_files": _cell_column(list(image_files)),
    }
    written["res101"] = folder / RES101_FILE
    scipy.io.savemat(str(written["res101"]), res101, format="5", do_compression=False)

    original_with_marker = np.where(np.isnan(original), -1.0, original).T
    att_splits = {
        "att": l2_normalised_columns(original_with_marker),
        "original_att": original_with_marker,
        "allclasses_names": _cell_column(list(class_names)),
        **locations,
    }
    written["att_splits"] = folder / ATT_SPLITS_FILE
    scipy.io.savemat(str(written["att_splits"]), att_splits, format="5")
    if binary_attributes is not None:
        binary = np.asarray(binary_attributes).astype(np.uint8).T
        if binary.shape != original_with_marker.shape:
            raise ValueError(f"binary_attributes has shape {binary.T.shape}, expected {original.shape}")
        binary_splits = {"att": binary, "allclasses_names": _cell_column(list(class_names)), **locations}
        written["binary_att_splits"] = folder / BINARY_ATT_SPLITS_FILE
        scipy.io.savemat(str(written["binary_att_splits"]), binary_splits, format="5")
    return written
