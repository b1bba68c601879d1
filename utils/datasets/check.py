"""``python -m utils.datasets check PATH [--json] [--label-vectors DIR] [--images]``: recognise and summarise.

Recognised formats (see each loader's module for the details):

* ``awa2``: an AwA2 folder (``classes.txt``, ``predicates.txt``, ...). A folder with ``JPEGImages/``,
  ``predicates.txt`` or a ``predicate-matrix-*.txt`` is taken for one, and a missing required file is
  reported as ``PATH: AwA2 folder: classes.txt missing``. Empty images, and files whose first bytes begin no
  image format (a web page saved as ``.jpg``), are always reported (one 12-byte read each); ``--images`` also
  decodes every image with Pillow (verify, then a full load; about 0.4 s for the sample world's 3000 images),
  which finds truncated or corrupt pixel data too, and adds ``images_checked: N`` to the summary;
* ``xlsa17-att-splits`` / ``xlsa17-res101``: an ``att_splits.mat``-like (also FLO's, without
  ``allclasses_names``) or a ``res101.mat`` file;
* ``xlsa17``: one xlsa17 data set folder (``xlsa17/data/AWA2``) holding its ``.mat`` files;
* ``xlsa17-collection``: the ``xlsa17/`` folder that ``python -m utils.download xlsa17`` leaves, or
  its ``data/`` folder: every data set in it (AWA1, AWA2, APY, CUB, SUN, FLO, ...) summarised;
* ``cifar100``: a ``cifar-100-python`` folder or its parent;
* ``sdl-label-vectors``: a NUS-WIDE label-vector folder in the SDL format;
* ``nus-wide``: a NUS-WIDE folder (``images/`` + ``labels.csv`` with ``image,labels,split`` rows), its
  tags checked against the label vectors in ``../ZS_SDL/data/NUS_WIDE`` (or ``--label-vectors DIR``);
* ``scenes``: the sample world's multi-label scenes folder (``labels.csv`` and ``classes.txt``);
* ``word-vectors``: a fastText ``.vec`` or ``.bin`` file (summarised by :mod:`utils.word_vectors`).

A good input prints a short summary (or one JSON object with ``--json``) and exits 0. A missing
path, an unknown format or a malformed file prints one line to stderr, naming the file and what is
wrong (for a missing data set, also how to fetch it), and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.cli import ArgumentParser, UsageError
from utils.errors import DatasetFormatError, MissingDataError

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def describe_awa2(folder: Path, images: bool = False) -> dict[str, Any]:
    """Summary of an AwA2 folder: classes, attributes, split sizes, images per split if present.

    Args:
        folder: the AwA2 folder.
        images: decode every image under ``JPEGImages/`` (True) or only read their first bytes (False: finds empty files and non-images).

    Raises:
        DatasetFormatError: for a missing or malformed file, or unreadable (or empty) images.
    """
    from utils.datasets.awa2 import IMAGES_FOLDER, check_images, image_index, load_awa2

    dataset = load_awa2(folder)
    summary: dict[str, Any] = {
        "format": "awa2",
        "classes": dataset.n_classes,
        "attributes": dataset.n_attributes,
        "seen_classes": len(dataset.seen_classes),
        "unseen_classes": len(dataset.unseen_classes),
        "missing_continuous_values": int(np.isnan(dataset.continuous_attributes).sum()),
    }
    if (folder / IMAGES_FOLDER).is_dir():
        image_paths, labels = image_index(dataset)
        checked = check_images(image_paths, decode=images, folder=folder / IMAGES_FOLDER)
        summary["images"] = {
            "all": int(labels.size),
            "seen": int(np.isin(labels, dataset.seen_class_indices).sum()),
            "unseen": int(np.isin(labels, dataset.unseen_class_indices).sum()),
        }
        if images:
            summary["images_checked"] = checked
    elif images:
        raise DatasetFormatError(folder, f"--images: AwA2 folder has no {IMAGES_FOLDER}/ to check")
    return summary


def _describe_att_splits_object(att_splits) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "classes": att_splits.n_classes,
        "attributes": att_splits.n_attributes,
        "images": {
            "trainval": int(att_splits.trainval_indices.size),
            "test_seen": int(att_splits.test_seen_indices.size),
            "test_unseen": int(att_splits.test_unseen_indices.size),
        },
        "train_val_is_clean": att_splits.train_val_is_clean,
        "has_original_attributes": att_splits.original_attributes is not None,
        "class_names_generated": att_splits.class_names_generated,
    }
    if att_splits.class_names_generated:
        summary["class_names_note"] = (
            f"no 'allclasses_names' in the file (as in FLO); classes are named {att_splits.class_names[0]} .. "
            f"{att_splits.class_names[-1]} after their 1-based label"
        )
    if att_splits.train_indices is not None:
        summary["images"]["train"] = int(att_splits.train_indices.size)
        summary["images"]["val"] = int(att_splits.val_indices.size)
    return summary


def describe_att_splits(path: Path) -> dict[str, Any]:
    """Summary of an ``att_splits.mat``-like file: classes, attributes, images per split."""
    from utils.datasets.xlsa17 import load_att_splits

    return {"format": "xlsa17-att-splits", **_describe_att_splits_object(load_att_splits(path))}


def describe_res101(path: Path) -> dict[str, Any]:
    """Summary of a ``res101.mat``: images, feature dimension, classes present."""
    from utils.datasets.xlsa17 import load_res101

    res101 = load_res101(path)
    return {
        "format": "xlsa17-res101",
        "images": res101.n_images,
        "feature_dim": res101.feature_dim,
        "classes": int(np.unique(res101.labels).size),
    }


def describe_xlsa17_folder(folder: Path, read_features: bool = True) -> dict[str, Any]:
    """Summary of one xlsa17 data set folder: both files cross-checked, or each ``*splits*.mat`` alone.

    Args:
        folder: e.g. ``xlsa17/data/AWA2``.
        read_features: load ``res101.mat``'s features and check them (True), or read only its labels
            and the features' shape from its header (False: quick, for a whole collection).
    """
    from utils.datasets.xlsa17 import (
        ATT_SPLITS_FILE,
        RES101_FILE,
        class_split,
        load_att_splits,
        load_res101_labels,
        load_xlsa17,
        read_mat_shapes,
    )

    att_path, res101_path = folder / ATT_SPLITS_FILE, folder / RES101_FILE
    other_split_files = sorted(
        path.name for path in folder.glob("*splits*.mat") if path.name != ATT_SPLITS_FILE
    )
    if att_path.is_file() and res101_path.is_file():
        if read_features:
            dataset = load_xlsa17(folder)
            att_splits, n_images, feature_dim = (
                dataset.att_splits,
                dataset.res101.n_images,
                dataset.res101.feature_dim,
            )
            seen, unseen = dataset.seen_class_indices, dataset.unseen_class_indices
        else:
            shapes = read_mat_shapes(res101_path)
            if "features" not in shapes or "labels" not in shapes:
                raise DatasetFormatError(
                    res101_path, f"keys 'features' and 'labels' expected (has {', '.join(sorted(shapes))})"
                )
            n_images = int(np.prod(shapes["labels"]))
            att_splits = load_att_splits(att_path, n_images=n_images)
            labels = load_res101_labels(res101_path, n_classes=att_splits.n_classes)
            feature_dim = int(shapes["features"][0])
            seen, unseen = class_split(att_splits, labels)
        summary = {
            "format": "xlsa17",
            **_describe_att_splits_object(att_splits),
            "res101_images": int(n_images),
            "feature_dim": int(feature_dim),
            "features_checked": read_features,
            "seen_classes": int(seen.size),
            "unseen_classes": int(unseen.size),
        }
        if other_split_files:
            summary["other_split_files"] = other_split_files
        return summary
    split_files = sorted(folder.glob("*splits*.mat"))
    summary: dict[str, Any] = {"format": "xlsa17", "files": {}}
    for path in split_files:
        summary["files"][path.name] = _describe_att_splits_object(load_att_splits(path))
    if res101_path.is_file():
        summary["files"][RES101_FILE] = describe_res101(res101_path)
    if not summary["files"]:
        raise DatasetFormatError(
            folder, f"no {ATT_SPLITS_FILE}, *splits*.mat or {RES101_FILE} in this folder"
        )
    return summary


def describe_xlsa17_collection(folder: Path) -> dict[str, Any]:
    """Summary of every data set under an ``xlsa17/`` (or ``xlsa17/data``) folder, quickly (no features read)."""
    from utils.datasets.xlsa17 import find_xlsa17_datasets

    datasets = find_xlsa17_datasets(folder)
    summaries = {}
    for name, dataset_folder in datasets.items():
        summary = describe_xlsa17_folder(dataset_folder, read_features=False)
        summary.pop("format")
        summaries[name] = {"path": str(dataset_folder), **summary}
    return {"format": "xlsa17-collection", "n_datasets": len(summaries), "datasets": summaries}


def describe_cifar100(folder: Path) -> dict[str, Any]:
    """Summary of a CIFAR-100 python folder (or its parent): class counts, images per split."""
    from utils.datasets.cifar100 import load_cifar100, load_cifar100_meta, resolve_cifar100_folder

    folder = resolve_cifar100_folder(folder)
    meta = load_cifar100_meta(folder)
    summary: dict[str, Any] = {
        "format": "cifar100",
        "fine_classes": len(meta.fine_label_names),
        "coarse_classes": len(meta.coarse_label_names),
        "images": {},
    }
    for split in ("train", "test"):
        if (folder / split).exists():
            summary["images"][split] = load_cifar100(folder, split).n_images
    if not summary["images"]:
        raise DatasetFormatError(folder, "has 'meta' but neither 'train' nor 'test'")
    return summary


def describe_label_vectors(folder: Path) -> dict[str, Any]:
    """Summary of an SDL label-vector folder: labels, dimensions, seen/unseen counts."""
    from utils.datasets.nuswide import load_label_vectors

    label_vectors = load_label_vectors(folder)
    return {
        "format": "sdl-label-vectors",
        "labels": label_vectors.n_labels,
        "dimensions": label_vectors.dim,
        "seen_labels": len(label_vectors.seen_labels),
        "unseen_labels": len(label_vectors.unseen_labels),
    }


def describe_nuswide(folder: Path, label_vectors_dir: Path | None = None) -> dict[str, Any]:
    """Summary of a NUS-WIDE folder: images per split, missing images, tags, label-vector check."""
    from utils.datasets.nuswide import LABEL_VECTORS_BESIDE, load_nuswide

    dataset = load_nuswide(folder, label_vectors_dir)
    splits = dataset.image_splits
    missing = len(dataset.missing_images)
    summary: dict[str, Any] = {
        "format": "nus-wide",
        "images": {
            "listed": dataset.n_images,
            "train": splits.count("train"),
            "test": splits.count("test"),
            "missing": missing,
        },
        "tags_used": len(dataset.tags_used),
        "mean_tags_per_image": round(sum(map(len, dataset.image_tags)) / dataset.n_images, 3),
        "labels_checked": dataset.label_vectors is not None,
        "label_vectors": None if dataset.label_vectors is None else str(dataset.label_vectors.folder),
    }
    if missing:
        summary["missing_examples"] = dataset.missing_images[:5]
        warnings.warn(
            f"{folder / 'labels.csv'}: {missing} of {dataset.n_images} listed images are not under "
            f"{folder / 'images'} (e.g. {dataset.missing_images[0]})",
            stacklevel=2,
        )
    vectors = dataset.label_vectors
    if vectors is None:
        warnings.warn(
            f"{folder}: tags not checked against label names: no label vectors at "
            f"{folder.parent / LABEL_VECTORS_BESIDE} (or give --label-vectors DIR)",
            stacklevel=2,
        )
    else:
        unseen = set(vectors.unseen_labels)
        summary["labels"] = vectors.n_labels
        summary["seen_labels"] = len(vectors.seen_labels)
        summary["unseen_labels"] = len(vectors.unseen_labels)
        summary["label_vector_dimensions"] = vectors.dim
        summary["images_with_unseen_labels"] = sum(
            1 for tags in dataset.image_tags if unseen.intersection(tags)
        )
    return summary


def describe_scenes(folder: Path) -> dict[str, Any]:
    """Summary of a scenes folder: images (per split if given), labels, seen/unseen counts."""
    from utils.datasets.scenes import load_scenes

    scenes = load_scenes(folder)
    images: int | dict[str, int] = scenes.n_images
    if scenes.image_splits is not None:
        images = {"all": scenes.n_images}
        for split in sorted(set(scenes.image_splits)):
            images[split] = scenes.image_splits.count(split)
    return {
        "format": "scenes",
        "images": images,
        "labels": scenes.n_labels,
        "seen_labels": len(scenes.seen_labels),
        "unseen_labels": len(scenes.unseen_labels),
        "images_with_unseen_labels": int(scenes.label_matrix[:, scenes.unseen_mask].any(axis=1).sum()),
        "mean_labels_per_image": round(float(scenes.label_matrix.sum(axis=1).mean()), 3),
        "label_vector_dimensions": None if scenes.label_vectors is None else scenes.label_vectors.dim,
    }


def describe_word_vectors(path: Path) -> dict[str, Any]:
    """Summary of a ``.vec``/``.bin`` file from :func:`utils.word_vectors.describe_word_vector_file`."""
    # Imported lazily: word-vector support (fastText) is heavier and lives in its own module.
    try:
        from utils.word_vectors import describe_word_vector_file
    except ImportError as error:
        raise DatasetFormatError(path, f"word-vector support is unavailable ({error})") from None
    try:
        description = describe_word_vector_file(path)
    except DatasetFormatError:
        raise
    except (OSError, ValueError) as error:
        raise DatasetFormatError(path, str(error)) from None
    return {"format": "word-vectors", **dict(description)}


def describe_mat_file(path: Path) -> dict[str, Any]:
    """Summary of a ``.mat`` file, recognised by its variable names (res101 or att_splits)."""
    import scipy.io

    try:
        names = {name for name, _, _ in scipy.io.whosmat(str(path))}
    except NotImplementedError:
        raise DatasetFormatError(
            path, "MATLAB v7.3 (HDF5) file; scipy.io.loadmat reads only v5 files"
        ) from None
    except Exception as error:
        raise DatasetFormatError(path, f"not a readable MATLAB file ({error})") from None
    if {"features", "labels"} <= names:
        return describe_res101(path)
    if "allclasses_names" in names or {"att", "trainval_loc"} <= names:
        return describe_att_splits(path)
    raise DatasetFormatError(
        path, f"a MATLAB file, but neither res101 nor att_splits (keys: {', '.join(sorted(names))})"
    )


def guess_dataset_key(path: Path) -> str | None:
    """The :data:`~utils.errors.FETCH_HINTS` key a missing path's name suggests, or None.

    ``Animals_with_Attributes2``/``awa2`` → awa2; anything under or named ``xlsa17`` (or ``res101.mat``,
    ``*splits*.mat``) → xlsa17; ``cifar-100-python`` → cifar100; ``*.bin``/``*.vec`` → fasttext;
    ``ZS_SDL/.../NUS_WIDE`` → nus_wide_label_vectors; ``nus_wide`` → nus_wide.
    """
    parts = [part.lower() for part in path.parts]
    name = parts[-1] if parts else ""
    if name.endswith((".bin", ".vec", ".vec.gz")):
        return "fasttext"
    if "zs_sdl" in parts:
        return "nus_wide_label_vectors"
    if any(part.replace("-", "_") == "nus_wide" for part in parts):
        return "nus_wide"
    if "xlsa17" in parts or name == "res101.mat" or (name.endswith(".mat") and "splits" in name):
        return "xlsa17"
    if "cifar-100-python" in parts or name in ("cifar100", "cifar-100"):
        return "cifar100"
    if "animals_with_attributes2" in parts or name == "awa2":
        return "awa2"
    return None


def _is_nuswide_folder(path: Path) -> bool:
    if (path / "classes.txt").is_file() or (path / "wordvec_array.pickle").is_file():
        return False  # a scenes folder, or ZS_SDL's data/NUS_WIDE label vectors
    return (path / "labels.csv").is_file() or path.name.lower().replace("-", "_") == "nus_wide"


def _is_xlsa17_collection(path: Path) -> bool:
    from utils.datasets.xlsa17 import DATA_FOLDER, is_xlsa17_dataset_folder

    for parent in (path / DATA_FOLDER, path):
        if parent.is_dir() and any(
            is_xlsa17_dataset_folder(child) for child in parent.iterdir() if child.is_dir()
        ):
            return True
    return False


def describe(
    path: str | Path, label_vectors: str | Path | None = None, images: bool = False
) -> dict[str, Any]:
    """Recognise ``path`` and summarise it as a JSON-friendly dict with a ``format`` key.

    Args:
        path: the file or folder.
        label_vectors: for a NUS-WIDE folder, the SDL label-vector folder to check its tags against
            (default: ``../ZS_SDL/data/NUS_WIDE`` beside it, if there).
        images: for an AwA2 folder, decode every image (the summary gains ``images_checked``).

    Raises:
        DatasetFormatError: naming the file, if the path is missing, of an unknown format or malformed
            (:class:`MissingDataError`, a subclass, when a data set's file or folder does not exist).
    """
    path = Path(path)
    if not path.exists():
        dataset_key = guess_dataset_key(path)
        if dataset_key is not None:
            raise MissingDataError(path, dataset_key)
        raise DatasetFormatError(path, "no such file or folder")
    if label_vectors is not None and not (path.is_dir() and _is_nuswide_folder(path)):
        raise DatasetFormatError(
            path, "--label-vectors applies only to a NUS-WIDE folder (images/ + labels.csv)"
        )
    from utils.datasets.awa2 import looks_like_awa2

    is_awa2 = path.is_dir() and looks_like_awa2(path)
    if images and not is_awa2:
        raise DatasetFormatError(
            path, "--images applies only to an AwA2 folder (JPEGImages/, predicates.txt, ...)"
        )
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in (".vec", ".bin"):
            summary = describe_word_vectors(path)
        elif suffix == ".mat":
            summary = describe_mat_file(path)
        else:
            raise DatasetFormatError(
                path, "unknown format (expected a .mat, .vec or .bin file, or a data set folder)"
            )
    elif is_awa2:
        summary = describe_awa2(path, images=images)
    elif (path / "labels.csv").is_file() and (path / "classes.txt").is_file():
        summary = describe_scenes(path)
    elif _is_nuswide_folder(path):
        summary = describe_nuswide(path, None if label_vectors is None else Path(label_vectors))
    elif (path / "wordvec_array.pickle").is_file():
        summary = describe_label_vectors(path)
    elif (path / "meta").is_file() or (path / "cifar-100-python" / "meta").is_file():
        summary = describe_cifar100(path)
    elif any(path.glob("*.mat")):
        summary = describe_xlsa17_folder(path)
    elif _is_xlsa17_collection(path):
        summary = describe_xlsa17_collection(path)
    else:
        raise DatasetFormatError(
            path, "unknown format: not an AwA2, xlsa17, CIFAR-100, NUS-WIDE, label-vector or scenes folder"
        )
    return {"path": str(path), **summary}


def _to_json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json_value(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def format_summary(summary: dict[str, Any], indent: str = "") -> str:
    """A short human-readable rendering of :func:`describe`'s dict, one ``key: value`` per line."""
    lines = []
    for key, value in summary.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.append(format_summary(value, indent + "  "))
        elif isinstance(value, list):
            lines.append(f"{indent}{key}:")
            lines.extend(f"{indent}  - {item}" for item in value)
        else:
            lines.append(f"{indent}{key}: {value}")
    return "\n".join(line for line in lines if line)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m utils.datasets`` argument parser with its ``check`` subcommand."""
    parser = ArgumentParser(
        prog="python -m utils.datasets",
        description="Inspect zero-shot learning data sets in their real formats.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="recognise a data set file or folder and summarise it",
        description=(
            "Recognise PATH (an AwA2 folder, att_splits.mat, res101.mat, an xlsa17 data set folder or the "
            "whole xlsa17/ download, a CIFAR-100 python folder, a NUS-WIDE folder, an SDL label-vector folder, "
            "a scenes folder, or a .vec/.bin word-vector file) and print a summary. Exits 2 with one line on "
            "stderr if PATH is missing or malformed."
        ),
    )
    check.add_argument("path", metavar="PATH", help="the file or folder to check")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    check.add_argument(
        "--label-vectors",
        metavar="DIR",
        default=None,
        help="for a NUS-WIDE folder: the SDL label-vector folder (wordvec_array.pickle, classes.pickle, "
        "unseen_classes.pickle) to check its tags against (default: ../ZS_SDL/data/NUS_WIDE beside it)",
    )
    check.add_argument(
        "--images",
        action="store_true",
        help="for an AwA2 folder: decode every image under JPEGImages/ with Pillow (verify and a full load; "
        "about 0.4 s per 3000 small images) and exit 2 naming the first unreadable ones; without it only "
        "empty (0-byte) image files are reported",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help
        return int(exit_request.code or 0)
    except UsageError as error:  # one line naming the option, exit 2, as every CLI here
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            summary = describe(arguments.path, label_vectors=arguments.label_vectors, images=arguments.images)
        if caught:
            summary["warnings"] = [_one_line(str(warning.message)) for warning in caught]
    except (MissingDataError, DatasetFormatError) as error:
        print(f"error: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, ValueError, KeyError, MemoryError) as error:
        print(f"error: {arguments.path}: {_one_line(f'{type(error).__name__}: {error}')}", file=sys.stderr)
        return EXIT_BAD_INPUT
    summary = _to_json_value(summary)
    if arguments.json:
        print(json.dumps(summary, sort_keys=False))
    else:
        print(format_summary(summary))
    return EXIT_OK
