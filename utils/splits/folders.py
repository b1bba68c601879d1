"""The image items of an AwA2 split folder (``train/``, ``valid/``, ``test_seen/``, ``test/``), made by the split scripts
when missing.

Notebooks 01–04 train and evaluate on ``(path, class)`` items of ``config.split_dir``: :func:`ensure_split` runs
:mod:`utils.splits.copy_awa2` and :mod:`utils.splits.move_awa2` when the folder is missing or was made with other
settings (:mod:`utils.splits.settings`, which says so), :func:`folder_items` lists a split's images,
:func:`seen_class_items` and :func:`evaluation_items` give the stages their images (the classes from
:func:`utils.splits.classes.awa2_class_split`) and
:func:`split_items_per_class` holds out a seeded share of each class (:func:`utils.splits.classes.hold_out_per_class`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from utils.config import DeviseConfig
from utils.fileops import list_images
from utils.splits.classes import awa2_class_split, hold_out_per_class
from utils.splits.copy_awa2 import copy_awa2
from utils.splits.move_awa2 import move_awa2
from utils.splits.settings import prepare_split_folder, record_split_settings

Items = list[tuple[Path, str]]
"""``(image path, class name)`` pairs."""


def ensure_split(config: DeviseConfig) -> Path:
    """``config.split_dir`` with ``train/``, ``valid/``, ``test_seen/`` and ``test/`` of the config's split settings,
    made by the split scripts when missing or recorded with other settings (:mod:`utils.splits.settings`, which says
    so). With ``config.split_link`` the images are hard links of the data set's files even where those are writable
    (``copy_awa2 --writable-links``): the library only reads its split folders, and copying would cost the data
    set's size again."""
    split_dir = Path(config.split_dir)
    state = prepare_split_folder(config)
    if not state.up_to_date:
        print(state)
        copied = copy_awa2(Path(config.awa2_dir), split_dir, images_per_class=config.images_per_class,
                           seed=config.seed, link=config.split_link, writable_links=config.split_link, progress=False,
                           test_seen_fraction=config.test_seen_fraction, class_split=awa2_class_split(config))
        for note in copied.notes if config.split_link else ():
            print(note)  # what linking did to the data set's files, as the command says it
        move_awa2(split_dir, valid_fraction=config.valid_fraction, seed=config.seed, progress=False)
        record_split_settings(config)
    return split_dir


def folder_items(folder: Path, classes: Sequence[str] | None = None) -> Items:
    """Every image of ``folder/<class>/`` (:func:`utils.fileops.list_images`) as ``(path, class)``, sorted; only
    ``classes`` if given."""
    wanted = None if classes is None else set(classes)
    class_folders = sorted(path for path in Path(folder).glob("*") if path.is_dir() and not path.name.startswith("."))
    return [
        (path, class_folder.name)
        for class_folder in class_folders
        if wanted is None or class_folder.name in wanted
        for path in list_images(class_folder)
    ]


def split_items_per_class(items: Items, fraction: float, seed: int) -> tuple[Items, Items]:
    """A seeded ``fraction`` of each class's items (at least one when a class has two) → second list
    (:func:`utils.splits.classes.hold_out_per_class`; class by class, in their given order within a class)."""
    kept, held_out = hold_out_per_class([name for _, name in items], fraction, seed)
    return [items[i] for i in kept], [items[i] for i in held_out]


def seen_class_items(config: DeviseConfig) -> tuple[Items, Items, list[str]]:
    """``(train items, valid items, seen class names)`` of ``config.split_dir`` (made if missing): what stage 1 and
    DeViSE train on."""
    split_dir = ensure_split(config)
    seen_classes = awa2_class_split(config).seen_classes
    return folder_items(split_dir / "train", seen_classes), folder_items(split_dir / "valid", seen_classes), seen_classes


def evaluation_items(config: DeviseConfig) -> tuple[Items, Items]:
    """``(seen test items, unseen test items)`` of ``config.split_dir`` (made if missing): ``test_seen/``, the seen
    images no choice has touched (GZSL's S), and ``test/``, every image of the unseen classes (ZSL, GZSL's U)."""
    split_dir = ensure_split(config)
    classes = awa2_class_split(config)
    return folder_items(split_dir / "test_seen", classes.seen_classes), folder_items(split_dir / "test", classes.unseen_classes)
