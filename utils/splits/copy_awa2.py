"""Copy an AwA2 folder into a zero-shot layout: seen classes in ``train/`` (and ``test_seen/``), unseen ones in ``test/``.

Usage::

    python -m utils.splits.copy_awa2 SRC DST [--link [--writable-links]] [--dry-run] [--images-per-class N] [--seed S]
                              [--test-seen FRACTION] [--seen-classes FILE] [--unseen-classes FILE] [--quiet]

``SRC`` is an AwA2 root (``JPEGImages/<class>/*.jpg``, ``trainclasses.txt``, ``testclasses.txt``).
Each seen class's images are copied to ``DST/train/<class>/`` and each unseen class's to
``DST/test/<class>/``; the source is never modified. With ``--test-seen FRACTION`` a seeded share of each seen
class goes to ``DST/test_seen/<class>/`` instead of ``train/``: the seen test images of generalised zero-shot
learning (S), which neither training nor any choice made on ``valid/`` ever sees (Xian et al., TPAMI 2018, hold
out about 20%, xlsa17's ``test_seen_loc``). Which images is a function of the seed, the class name and the
class's image names (the rule of :func:`utils.splits.move_awa2.held_out_count`), so a re-run picks the same ones.
Every copy is verified and renamed into place
(see :mod:`utils.fileops`), so the command can be re-run at any time, also after being killed: files
already present with the same bytes are skipped, files present with other bytes are reported as
conflicts and left alone.

With ``--link`` each image becomes a **hard link** of the source image instead of a copy
(:func:`utils.fileops.safe_link`): the split costs no disk space, because the two names share one
file and its bytes. A hard link cannot be made read-only apart from the data set's name (the mode belongs to
the shared file), so a link of a *writable* image would let an edit through the split change the data set,
silently. Such images are therefore copied unless ``--writable-links`` asks for links anyway; images the user
made read-only (``chmod -R a-w SRC/JPEGImages``) are linked, read-only under both names. The summary says on
stdout which happened and why. (Symlinks would not help: writing through a symlink writes its target. Making the
sources read-only ourselves would change the data set.) Where links are impossible (``DST`` on another file
system, or a file system without hard links) the images are copied and verified instead, and the
summary says so once: ``hard links not possible from SRC to DST (cross-device): copying instead``.
The guarantees are those of a copy: nothing is overwritten, the source is never modified or removed,
and a re-run skips what is in place (a link or a copy with the same bytes counts as done).

The class split comes from ``trainclasses.txt`` (seen) and ``testclasses.txt`` (unseen), one
name per line with ``+`` for spaces, or from the files given with ``--seen-classes`` /
``--unseen-classes`` (e.g. ``xlsa17/data/AWA2/testclasses.txt``, the Proposed Split's). Without those files the
standard split in :data:`utils.config.AWA2_UNSEEN_CLASSES` is used for the unseen classes and every other class
folder is seen; the summary says so. From Python, ``class_split`` (:func:`utils.splits.awa2_class_split`) gives
the two lists instead.

Exit status: 0 when done, 1 when there were conflicts, 2 on an error (a one-line message).

Before anything is copied (also with ``--dry-run``) the paths are checked with symlinks followed
(:meth:`pathlib.Path.resolve` and :func:`os.path.samefile`): ``DST`` equal to ``SRC``, ``DST``
inside ``SRC`` (for example ``SRC/JPEGImages``, or a symlink into ``SRC``), ``SRC`` inside ``DST``,
and a ``DST/<split>/`` or ``DST/<split>/<class>/`` folder that resolves into ``SRC`` are refused
with exit status 2, so the source is never written to.

Then move part of ``train/`` into ``valid/`` with ``python -m utils.splits.move_awa2 DST --valid 0.1`` (a
linked image is moved by a rename, so it stays a link). A seen image already in
``DST/valid/<class>/`` (moved there earlier) counts as present, so re-running the copy after the move
never puts an image into both ``train/`` and ``valid/``. A ``DST`` whose ``train/``, ``valid/`` or ``test_seen/``
(or ``test/``) already holds an image this run puts in another of them (a split made with another ``--test-seen``,
``--seed`` or class list) is refused with exit status 2 before anything is copied, so no image ever lands in both a
training and a test folder; make that split in a new ``DST``.
"""

from __future__ import annotations

import argparse
import os
import random
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from utils.cli import ArgumentParser, cli_entry, positive_int
from utils.config import AWA2_UNSEEN_CLASSES
from utils.datasets import read_class_list
from utils.datasets.awa2 import plus_spelling_hint
from utils.errors import ProjectError
from utils.fileops import (
    CONFLICT,
    IDENTICAL,
    LinkFallback,
    TransferSummary,
    files_identical,
    list_images,
    path_within,
    progress_disabled,
    remove_partials,
    resolve_path,
    safe_copy,
    safe_link,
    same_file_reason,
)
from utils.splits.classes import Awa2ClassSplit
from utils.splits.move_awa2 import held_out_count

SEEN_CLASSES_FILE = "trainclasses.txt"
UNSEEN_CLASSES_FILE = "testclasses.txt"
SPLIT_OF_SEEN = "train"
SPLIT_OF_SEEN_TEST = "test_seen"
SPLIT_OF_UNSEEN = "test"
# move_awa2 moves part of train/ here; a seen image found here counts as already copied.
SPLIT_OF_VALID = "valid"


class CopyError(ProjectError):
    """A problem with the inputs (missing folder, bad class list); its message is one line."""


@dataclass
class ClassCopyPlan:
    """The images of one class and where they go."""

    class_name: str
    split: str
    source_images: list[Path]
    destination_folder: Path


@dataclass
class CopySummary:
    """What :func:`copy_awa2` did (or would do, in a dry run), per split.

    Attributes:
        split_classes: ``{"train": [...], "test": [...]}`` (and ``"test_seen"``), the classes copied to each split.
        split_transfers: per split, the counts of :class:`utils.fileops.TransferSummary`.
        notes: remarks about how the class split was decided, and a fallback from links to copies.
        dry_run: ``True`` when nothing was written.
        link: ``True`` in link mode (``--link``): the table then counts links in their own column.
    """

    split_classes: dict[str, list[str]] = field(default_factory=dict)
    split_transfers: dict[str, TransferSummary] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    link: bool = False

    @property
    def conflicts(self) -> list[tuple[Path, Path]]:
        """Every ``(source, destination)`` pair left untouched because the destination differs."""
        return [pair for transfer in self.split_transfers.values() for pair in transfer.conflicts]

    @property
    def ok(self) -> bool:
        """``True`` when there was no conflict."""
        return not self.conflicts

    def to_text(self) -> str:
        """A human-readable table of the counts per split, then the notes and the conflicts."""
        copied_label = "would copy" if self.dry_run else "copied"
        linked_label = "would link" if self.dry_run else "linked"
        linked_header = f" {linked_label:>10}" if self.link else ""
        lines = [
            f"{'split':<9} {'classes':>7}{linked_header} {copied_label:>10} {'already present':>15} {'conflicts':>9}"
        ]
        for split, transfer in self.split_transfers.items():
            linked_cell = f" {transfer.linked:>10}" if self.link else ""
            lines.append(
                f"{split:<9} {len(self.split_classes[split]):>7}{linked_cell} {transfer.copied:>10} "
                f"{transfer.skipped_identical:>15} {len(transfer.conflicts):>9}"
            )
        removed = sum(transfer.removed_partials for transfer in self.split_transfers.values())
        if removed:
            verb = "would remove" if self.dry_run else "removed"
            lines.append(f"{verb} {removed} leftover .partial file(s) of an interrupted run")
        lines.extend(f"note: {note}" for note in self.notes)
        for source, destination in self.conflicts:
            lines.append(f"conflict: {destination} exists and differs from {source} (both left untouched)")
        if self.dry_run:
            lines.append("dry run: nothing was written")
        return "\n".join(lines)


def choose_subset(
    images: Sequence[Path], images_per_class: int | None, seed: int, class_name: str
) -> list[Path]:
    """A deterministic subset of at most ``images_per_class`` images, sorted by name.

    The sample is drawn from the sorted list with a generator seeded by ``seed`` and the class name,
    so it does not depend on the order the file system lists files in, and classes differ.
    """
    images = sorted(images)
    if images_per_class is None or images_per_class >= len(images):
        return images
    generator = random.Random(f"{seed}:{class_name}")
    return sorted(generator.sample(images, images_per_class))


def choose_seen_test(images: Sequence[Path], fraction: float, seed: int, class_name: str) -> list[Path]:
    """The ``test_seen/`` images of one seen class, sorted: a seeded sample of its sorted images, as many as
    :func:`utils.splits.move_awa2.held_out_count` says (none for ``fraction`` 0)."""
    images = sorted(images)
    generator = random.Random(f"{seed}:{class_name}:{SPLIT_OF_SEEN_TEST}")
    return sorted(generator.sample(images, held_out_count(len(images), fraction)))


def resolve_class_split(
    src: Path,
    seen_classes_file: Path | None = None,
    unseen_classes_file: Path | None = None,
    class_split: Awa2ClassSplit | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """The seen and unseen classes of the AwA2 root ``src``, and notes on where they came from.

    ``class_split`` (:func:`utils.splits.awa2_class_split`), when given, names them instead of the list files.

    Raises:
        CopyError: if a given list file is missing, a listed class has no folder, or a class is
            both seen and unseen.
    """
    images_root = Path(src) / "JPEGImages"
    folders = sorted(
        path.name for path in images_root.iterdir() if path.is_dir() and not path.name.startswith(".")
    )
    notes: list[str] = []
    if class_split is not None:
        seen_classes, unseen_classes = list(class_split.seen_classes), list(class_split.unseen_classes)
        notes.append(f"class split: {class_split.name} ({class_split.source})")
        return _checked_class_split(src, folders, seen_classes, unseen_classes, notes)

    unseen_path = Path(unseen_classes_file) if unseen_classes_file else Path(src) / UNSEEN_CLASSES_FILE
    if unseen_classes_file and not unseen_path.is_file():
        raise CopyError(f"unseen-class list not found: {unseen_path}")
    if unseen_path.is_file():
        unseen_classes = read_class_list(unseen_path)
    else:
        unseen_classes = list(AWA2_UNSEEN_CLASSES)
        notes.append(
            f"{unseen_path} not found: used AwA2's standard unseen classes (utils.config.AWA2_UNSEEN_CLASSES)"
        )

    seen_path = Path(seen_classes_file) if seen_classes_file else Path(src) / SEEN_CLASSES_FILE
    if seen_classes_file and not seen_path.is_file():
        raise CopyError(f"seen-class list not found: {seen_path}")
    if seen_path.is_file():
        seen_classes = read_class_list(seen_path)
    else:
        seen_classes = [name for name in folders if name not in set(unseen_classes)]
        notes.append(f"{seen_path} not found: every class folder that is not unseen counts as seen")
    return _checked_class_split(src, folders, seen_classes, unseen_classes, notes)


def _checked_class_split(
    src: Path, folders: list[str], seen_classes: list[str], unseen_classes: list[str], notes: list[str]
) -> tuple[list[str], list[str], list[str]]:
    images_root = Path(src) / "JPEGImages"
    both = sorted(set(seen_classes) & set(unseen_classes))
    if both:
        raise CopyError(f"class {both[0]!r} is both seen and unseen in the class lists of {src}")
    for class_name in [*seen_classes, *unseen_classes]:
        if not (images_root / class_name).is_dir():
            raise CopyError(f"class {class_name!r} is listed but has no folder: {images_root / class_name}"
                            f"{plus_spelling_hint(class_name, folders)}")
    unlisted = sorted(set(folders) - set(seen_classes) - set(unseen_classes))
    if unlisted:
        notes.append(
            f"{len(unlisted)} class folder(s) in neither list were not copied: {', '.join(unlisted)}"
        )
    return seen_classes, unseen_classes, notes


def check_source_and_destination(src: Path, dst: Path, destination_folders: Sequence[Path] = ()) -> None:
    """Refuse a destination that would write into the source tree (or a source inside the destination).

    Symlinks are followed: paths are compared resolved (:meth:`pathlib.Path.resolve`) and by device
    and inode (:func:`os.path.samefile`). ``destination_folders`` are the folders the copy would
    write to or read from under ``dst`` (``DST/train/<class>``, ...); each one that exists must not
    lie inside ``src`` either (``DST/train`` a symlink to ``SRC/JPEGImages``, say).

    Raises:
        CopyError: ``dst`` equal to ``src``, ``dst`` inside ``src``, ``src`` inside ``dst``, or a
            destination folder inside ``src``; one line naming the paths.
    """
    src, dst = Path(src), Path(dst)
    refusal = "refusing to copy anything (the source must not be modified)"
    reason = same_file_reason(src, dst)
    if reason is not None:
        raise CopyError(f"DST {dst} is the same folder as SRC {src} ({reason}); {refusal}")
    if path_within(dst, src):
        how = (
            "a folder inside it"
            if _lexically_within(dst, src)
            else f"through a symlink: it resolves to {resolve_path(dst)}"
        )
        raise CopyError(f"DST {dst} is inside SRC {src} ({how}); {refusal}")
    if path_within(src, dst):
        raise CopyError(f"SRC {src} is inside DST {dst} (SRC resolves to {resolve_path(src)}); {refusal}")
    for folder in destination_folders:
        if os.path.lexists(folder) and path_within(folder, src):
            raise CopyError(
                f"destination folder {folder} resolves into SRC {src} (to {resolve_path(folder)}); {refusal}"
            )


def _lexically_within(inner: Path, outer: Path) -> bool:
    """``True`` when ``inner`` is inside ``outer`` by its spelling alone (no symlink followed)."""
    inner_absolute, outer_absolute = Path(os.path.abspath(inner)), Path(os.path.abspath(outer))
    return outer_absolute in inner_absolute.parents


def plan_copy(
    src: Path,
    dst: Path,
    images_per_class: int | None = None,
    seed: int = 0,
    seen_classes_file: Path | None = None,
    unseen_classes_file: Path | None = None,
    test_seen_fraction: float = 0.0,
    class_split: Awa2ClassSplit | None = None,
) -> tuple[list[ClassCopyPlan], list[str]]:
    """Which images of which class go to which folder, and notes on the class split.

    Raises:
        CopyError: if ``src`` is not an AwA2 root, its class lists do not match its folders, the fraction is not
            in ``[0, 1)``, or ``dst`` already holds an image in another split (:func:`check_split_membership`).
    """
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise CopyError(f"AwA2 folder not found: {src}")
    if not (src / "JPEGImages").is_dir():
        raise CopyError(f"no JPEGImages/ folder in the AwA2 folder: {src / 'JPEGImages'}")
    if images_per_class is not None and images_per_class < 1:
        raise CopyError(f"--images-per-class must be at least 1, not {images_per_class}")
    if not 0 <= test_seen_fraction < 1:
        raise CopyError(f"--test-seen must be a fraction in [0, 1), not {test_seen_fraction}")
    check_source_and_destination(src, dst)
    seen_classes, unseen_classes, notes = resolve_class_split(src, seen_classes_file, unseen_classes_file, class_split)
    plans = []
    for split, class_names in ((SPLIT_OF_SEEN, seen_classes), (SPLIT_OF_UNSEEN, unseen_classes)):
        for class_name in class_names:
            images = choose_subset(list_images(src / "JPEGImages" / class_name), images_per_class, seed, class_name)
            held_out = choose_seen_test(images, test_seen_fraction, seed, class_name) if split == SPLIT_OF_SEEN else []
            held_out_set = set(held_out)
            kept = [image for image in images if image not in held_out_set]
            plans.append(ClassCopyPlan(class_name, split, kept, dst / split / class_name))
            if test_seen_fraction > 0 and split == SPLIT_OF_SEEN:
                plans.append(ClassCopyPlan(class_name, SPLIT_OF_SEEN_TEST, held_out,
                                           dst / SPLIT_OF_SEEN_TEST / class_name))
    split_folders = [dst / split for split in (SPLIT_OF_SEEN, SPLIT_OF_UNSEEN, SPLIT_OF_VALID, SPLIT_OF_SEEN_TEST)]
    class_folders = [plan.destination_folder for plan in plans]
    class_folders += [dst / split / plan.class_name for plan in plans if plan.split == SPLIT_OF_SEEN
                      for split in (SPLIT_OF_VALID, SPLIT_OF_SEEN_TEST)]
    check_source_and_destination(src, dst, [*split_folders, *class_folders])
    check_split_membership(dst, plans)
    return plans, notes


def check_split_membership(dst: Path, plans: Sequence[ClassCopyPlan]) -> None:
    """Refuse a ``dst`` that already holds an image in another split than this plan puts it.

    A seen image is planned for ``train/`` (where :mod:`utils.splits.move_awa2` may move it on to ``valid/``) or for
    ``test_seen/``, an unseen one for ``test/``; finding it in another of them means the folder was split with
    another ``--test-seen``, ``--seed`` or class split, and copying would put one image in a training and a test
    folder at once.

    Raises:
        CopyError: naming the first such image and what to do; raised before anything is written.
    """
    home = {SPLIT_OF_SEEN: (SPLIT_OF_SEEN, SPLIT_OF_VALID), SPLIT_OF_SEEN_TEST: (SPLIT_OF_SEEN_TEST,),
            SPLIT_OF_UNSEEN: (SPLIT_OF_UNSEEN,)}
    every_split = (SPLIT_OF_SEEN, SPLIT_OF_VALID, SPLIT_OF_SEEN_TEST, SPLIT_OF_UNSEEN)
    for plan in plans:
        for split in every_split:
            if split in home[plan.split]:
                continue
            for image in plan.source_images:
                found = Path(dst) / split / plan.class_name / image.name
                if found.exists():
                    raise CopyError(
                        f"{found} belongs in {plan.split}/ with these settings: {dst} was split with another "
                        f"--test-seen, --seed or class split; make this split in a new DST (nothing was copied)"
                    )


def copy_awa2(
    src: Path,
    dst: Path,
    dry_run: bool = False,
    images_per_class: int | None = None,
    seed: int = 0,
    progress: bool | None = True,
    seen_classes_file: Path | None = None,
    unseen_classes_file: Path | None = None,
    link: bool = False,
    test_seen_fraction: float = 0.0,
    class_split: Awa2ClassSplit | None = None,
    writable_links: bool = False,
) -> CopySummary:
    """Copy (or link) AwA2's seen classes to ``dst/train/<class>/`` and its unseen ones to ``dst/test/<class>/``.

    Args:
        src: an AwA2 root with ``JPEGImages/<class>/`` and the class lists.
        dst: the destination root (created if needed).
        dry_run: decide and count what would happen; write nothing.
        images_per_class: copy at most this many images per class (a seeded, deterministic subset).
        seed: seed of the subset.
        progress: show a progress bar on stderr (``None``: only when stderr is a terminal).
        seen_classes_file: list of seen classes (default ``src/trainclasses.txt``).
        unseen_classes_file: list of unseen classes (default ``src/testclasses.txt``).
        link: hard-link each read-only image instead of copying it (no disk space; the link shares the source's
            file, read-only under both names). Writable images are copied unless ``writable_links``. Where links
            are impossible the images are copied and ``summary.notes`` says so once
            (:class:`utils.fileops.LinkFallback`); ``summary.notes`` also says how many images were linked or
            copied for safety.
        test_seen_fraction: share of each seen class copied to ``dst/test_seen/<class>/`` instead of ``train/``
            (:func:`choose_seen_test`; 0: none, and no ``test_seen/``).
        class_split: the seen and unseen classes (:func:`utils.splits.awa2_class_split`), instead of the list files.
        writable_links: with ``link``, hard-link writable images too: an edit through ``dst`` then edits the data
            set's image (the library only reads its split folders, so :func:`utils.splits.ensure_split` asks for it).

    Returns:
        The counts per split; ``summary.ok`` is ``False`` when some destination files conflicted.

    Raises:
        CopyError: if ``src`` is not an AwA2 root, its class lists do not match its folders,
            ``dst`` would write into ``src`` (see :func:`check_source_and_destination`), or ``dst`` holds a split
            made with another ``test_seen_fraction``, seed or class split (:func:`check_split_membership`); raised
            before anything is written.
    """
    plans, notes = plan_copy(src, dst, images_per_class, seed, seen_classes_file, unseen_classes_file,
                             test_seen_fraction, class_split)
    summary = CopySummary(notes=notes, dry_run=dry_run, link=link)
    fallback = LinkFallback()
    writable_sources = 0
    for split in dict.fromkeys(plan.split for plan in plans):
        summary.split_classes[split] = [plan.class_name for plan in plans if plan.split == split]
        summary.split_transfers[split] = TransferSummary(dry_run=dry_run)
        summary.split_transfers[split].removed_partials += remove_partials(Path(dst) / split, dry_run=dry_run)
    total = sum(len(plan.source_images) for plan in plans)
    with tqdm(
        total=total,
        desc="link AwA2" if link else "copy AwA2",
        unit="img",
        file=sys.stderr,
        disable=progress_disabled(progress),
    ) as bar:
        for plan in plans:
            transfer = summary.split_transfers[plan.split]
            for image in plan.source_images:
                destination = plan.destination_folder / image.name
                moved_copy = Path(dst) / SPLIT_OF_VALID / plan.class_name / image.name
                if plan.split == SPLIT_OF_SEEN and not destination.exists() and moved_copy.is_file():
                    # Copying it back into train/ would put the image in both train/ and valid/.
                    outcome = IDENTICAL if files_identical(image, moved_copy) else CONFLICT
                    transfer.record(outcome, image, moved_copy)
                elif link and (writable_links or not is_writable(image)):
                    safe_link(image, destination, summary=transfer, dry_run=dry_run, fallback=fallback)
                else:
                    if link:
                        writable_sources += 1
                    safe_copy(image, destination, summary=transfer, dry_run=dry_run)
                bar.update(1)
    summary.notes.extend(fallback.messages(Path(src), Path(dst)))
    if link:
        summary.notes.extend(_link_notes(summary, Path(src), writable_sources, writable_links))
    return summary


def is_writable(path: Path) -> bool:
    """Whether any write permission bit of ``path`` is set (its mode, not ``os.access``, which root always passes)."""
    return bool(path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _link_notes(summary: CopySummary, src: Path, writable_sources: int, writable_links: bool) -> list[str]:
    """What link mode did with the data set's files, in words: linked (read-only or writable) or copied for safety."""
    verb = "would be" if summary.dry_run else "are"
    notes = []
    linked = sum(transfer.linked for transfer in summary.split_transfers.values())
    if linked and writable_links:
        notes.append(f"{linked} image(s) {verb} hard links of {src}'s files (--writable-links): editing one through "
                     "the split edits the data set's image")
    elif linked:
        notes.append(f"{linked} image(s) {verb} hard links of {src}'s read-only files: read-only in the split too")
    if writable_sources:
        notes.append(
            f"{writable_sources} image(s) of {src} are writable, so they {verb} copied, not linked (a hard link shares "
            f"the file: an edit through the split would change the data set); to link them, make them read-only "
            f"first (chmod -R a-w {src / 'JPEGImages'}) or pass --writable-links"
        )
    return notes


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m utils.splits.copy_awa2``."""
    parser = ArgumentParser(
        prog="python -m utils.splits.copy_awa2",
        description="Copy AwA2's seen classes to DST/train/<class>/ and its unseen classes to DST/test/<class>/.",
        epilog=(
            "--link makes hard links instead of copies: no disk space, but a link shares the source's file, so "
            "editing a linked image edits the data set's image. So only read-only images are linked (make them so "
            "with chmod -R a-w SRC/JPEGImages) and writable ones are copied, unless --writable-links asks for links "
            "anyway; the summary says which. Where links are impossible (another file system) the images are "
            "copied and verified instead, with one message saying so. Nothing is overwritten and the source is "
            "never modified either way."
        ),
    )
    parser.add_argument(
        "src", type=Path, metavar="SRC", help="AwA2 root (JPEGImages/, trainclasses.txt, testclasses.txt)"
    )
    parser.add_argument("dst", type=Path, metavar="DST", help="destination root")
    parser.add_argument(
        "--link",
        action="store_true",
        help="hard-link the read-only images instead of copying them (no disk space; links share the source's "
        "file); writable ones are copied unless --writable-links; falls back to verified copies where links are "
        "impossible",
    )
    parser.add_argument(
        "--writable-links",
        action="store_true",
        help="with --link, hard-link writable images too: editing one through the split edits the data set's image",
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would happen; write nothing")
    parser.add_argument(
        "--images-per-class",
        type=positive_int,
        default=None,
        metavar="N",
        help="copy a seeded subset of N images per class",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the subset and of test_seen/ (default 0)")
    parser.add_argument(
        "--test-seen",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="share of each seen class for DST/test_seen/<class>/, the seen test images (default 0: none)",
    )
    parser.add_argument(
        "--seen-classes",
        type=Path,
        default=None,
        metavar="FILE",
        help="seen-class list (default SRC/trainclasses.txt)",
    )
    parser.add_argument(
        "--unseen-classes",
        type=Path,
        default=None,
        metavar="FILE",
        help="unseen-class list (default SRC/testclasses.txt)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


@cli_entry("python -m utils.splits.copy_awa2")
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 1 conflicts, 2 error: one line, :mod:`utils.cli`)."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.writable_links and not arguments.link:
        parser.error("--writable-links applies only with --link")
    show_progress = False if arguments.quiet else None
    # CopyError and OSError become one line on stderr in the error boundary (utils.cli).
    if arguments.dry_run:
        plans, _ = plan_copy(
            arguments.src,
            arguments.dst,
            arguments.images_per_class,
            arguments.seed,
            arguments.seen_classes,
            arguments.unseen_classes,
            arguments.test_seen,
        )
        how = " as hard links" if arguments.link else ""
        for plan in plans:
            print(
                f"{plan.split}: {len(plan.source_images)} image(s) of {plan.class_name}{how} -> "
                f"{plan.destination_folder}"
            )
    summary = copy_awa2(
        arguments.src,
        arguments.dst,
        dry_run=arguments.dry_run,
        images_per_class=arguments.images_per_class,
        seed=arguments.seed,
        progress=show_progress,
        seen_classes_file=arguments.seen_classes,
        unseen_classes_file=arguments.unseen_classes,
        link=arguments.link,
        test_seen_fraction=arguments.test_seen,
        writable_links=arguments.writable_links,
    )
    print(summary.to_text())
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
