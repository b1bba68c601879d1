"""Splits of the data: files on disk and images or classes in memory, one implementation of each.

* :mod:`utils.splits.copy_awa2` — ``python -m utils.splits.copy_awa2 SRC DST [--link] [--test-seen 0.2]``: seen
  classes → ``train/`` (a seeded share → ``test_seen/``), unseen → ``test/`` (copies, or hard links that cost no
  disk), never overwriting, crash-safe;
* :mod:`utils.splits.move_awa2` — ``python -m utils.splits.move_awa2 DST --valid 0.1``: a seeded share of each
  ``train/`` class → ``valid/``;
* :mod:`utils.splits.settings` — ``split_settings.json`` beside a split folder, so that a split made with other
  settings is made again (notebooks 00–04);
* :mod:`utils.splits.classes` — AwA2's class split of a config (standard or proposed), per-class hold-outs, the
  pseudo-unseen validation classes, xlsa17's image split.
* :mod:`utils.splits.folders` — a split folder's ``(path, class)`` items, made by the scripts when missing
  (:func:`~utils.splits.folders.ensure_split`; notebooks 01–04).

Every file operation goes through :mod:`utils.fileops` (temporary name, verify, rename).

The names of :mod:`~utils.splits.folders` are imported on first use (:func:`__getattr__`): it imports the split
scripts, and ``python -m utils.splits.copy_awa2`` must find its module not yet imported when it runs it.
"""

import importlib

from utils.splits.classes import (
    Awa2ClassSplit,
    awa2_class_split,
    choose_pseudo_unseen,
    first_per_class,
    hold_out_per_class,
    split_images,
)
from utils.splits.settings import (
    SplitFolderState,
    prepare_split_folder,
    record_split_settings,
    split_settings,
)

_FOLDERS_NAMES = ("Items", "ensure_split", "folder_items", "seen_class_items", "split_items_per_class", "evaluation_items")

__all__ = [
    "Awa2ClassSplit", "Items", "SplitFolderState", "awa2_class_split", "choose_pseudo_unseen", "ensure_split",
    "evaluation_items", "first_per_class", "folder_items",
    "hold_out_per_class", "prepare_split_folder", "record_split_settings", "seen_class_items", "split_images",
    "split_items_per_class", "split_settings",
]


def __getattr__(name: str):
    """The names of :mod:`utils.splits.folders`, imported when first asked for."""
    if name in _FOLDERS_NAMES:
        return getattr(importlib.import_module("utils.splits.folders"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
