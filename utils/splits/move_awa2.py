"""Move a seeded fraction of each ``DST/train/<class>/`` into ``DST/valid/<class>/``.

Usage::

    python -m utils.splits.move_awa2 DST --valid 0.1 --seed 0 [--dry-run] [--quiet]

``DST`` is a folder written by :mod:`utils.splits.copy_awa2`. Which images of a class are validation images
is a deterministic function of the seed, the class name and the class's **full** set of image
names (``train/<class>/`` together with ``valid/<class>/``), never of what has been moved so far.
So re-running the command, also after it was killed half-way, picks the same images and completes
the move; each image ends up exactly once, in ``train/`` or in ``valid/``. Re-running with another
seed or fraction moves images back and forth until the split matches the new setting.
``DST/test_seen/`` (the seen test images of ``copy_awa2 --test-seen``) is never read or touched: its images were
never in ``train/``.

Number of validation images of a class with ``n`` images and fraction ``f``: ``round(n * f)``
(halves round up), but at least 1 when ``n >= 2`` and ``f > 0``, and at most ``n - 1`` so every
class keeps a training image; a class with fewer than 2 images keeps them all in ``train/``.

Moves are verified copies followed by deleting the source (see :mod:`utils.fileops`). A split made
with ``python -m utils.splits.copy_awa2 --link`` holds hard links of the data set's images; such an image is
moved by one rename when ``valid/`` is on the same file system as ``train/`` (it stays a link of the
data set, costs no copy, and is under exactly one split name at every instant). Across file systems
it is copied and verified, then only the ``train/`` (or ``valid/``) name is unlinked: the data set's
own file is never touched. So there is no ``--link`` option here: a move keeps a link a link by
itself, and a plain copy stays a plain copy.

Before anything is moved (also with ``--dry-run``) the split folders are checked with symlinks
followed (:meth:`pathlib.Path.resolve` and :func:`os.path.samefile`): ``valid/`` and ``train/``
being one folder (either a symlink to the other), one lying inside the other, a ``valid/<class>/``
that is a ``train/<class>/`` folder (or the other way round), two class folders of one split that
are one folder, and an image present in both splits as one file (hard links) are refused with
exit status 2; a "move" onto itself would otherwise delete the only copy. Hard links *to the data set*
(a split made with ``--link``) are not refused: each image is then in one split only.
Exit status: 0 when done, 1 when there were conflicts, 2 on an error (a one-line message).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from utils.cli import ArgumentParser, cli_entry
from utils.errors import ProjectError
from utils.fileops import (
    TransferSummary,
    list_images,
    path_within,
    progress_disabled,
    remove_partials,
    resolve_path,
    safe_move,
    same_file_reason,
)

TRAIN_SPLIT = "train"
VALID_SPLIT = "valid"


class MoveError(ProjectError):
    """A problem with the inputs (missing folder, bad fraction); its message is one line."""


@dataclass
class ClassMovePlan:
    """One class: its full set of image names, the validation names, and what must move."""

    class_name: str
    image_names: list[str]
    valid_names: list[str]
    to_valid: list[str]
    to_train: list[str]
    already_in_valid: int


@dataclass
class MoveSummary:
    """What :func:`move_awa2` did (or would do, in a dry run).

    Attributes:
        classes: number of classes.
        images: images over ``train/`` and ``valid/`` together, each counted once.
        valid_images: how many of them the split puts in ``valid/``.
        already_in_valid: validation images that were already in ``valid/`` (nothing to do).
        to_valid: the moves ``train/ -> valid/``.
        to_train: the moves ``valid/ -> train/`` (only after a change of seed or fraction).
        dry_run: ``True`` when nothing was touched.
    """

    classes: int = 0
    images: int = 0
    valid_images: int = 0
    already_in_valid: int = 0
    to_valid: TransferSummary = field(default_factory=TransferSummary)
    to_train: TransferSummary = field(default_factory=TransferSummary)
    dry_run: bool = False

    @property
    def conflicts(self) -> list[tuple[Path, Path]]:
        """Every ``(source, destination)`` pair left untouched because the two files differ."""
        return self.to_valid.conflicts + self.to_train.conflicts

    @property
    def ok(self) -> bool:
        """``True`` when there was no conflict."""
        return not self.conflicts

    def to_text(self) -> str:
        """A human-readable account of the counts, then the conflicts."""
        verb = "would move" if self.dry_run else "moved"
        lines = [
            f"classes: {self.classes}, images: {self.images}, valid images: {self.valid_images}",
            f"{verb} train -> valid: {self.to_valid.moved} (already in valid: {self.already_in_valid})",
            f"{verb} valid -> train: {self.to_train.moved}",
            f"conflicts: {len(self.conflicts)}",
        ]
        removed = self.to_valid.removed_partials + self.to_train.removed_partials
        if removed:
            lines.append(
                f"{'would remove' if self.dry_run else 'removed'} {removed} leftover .partial file(s)"
            )
        for source, destination in self.conflicts:
            lines.append(f"conflict: {destination} and {source} differ (both left untouched)")
        if self.dry_run:
            lines.append("dry run: nothing was touched")
        return "\n".join(lines)


def held_out_count(n_images: int, fraction: float) -> int:
    """How many of a class's ``n_images`` a ``fraction`` holds out (to ``valid/`` here, to ``test_seen/`` in
    :mod:`utils.splits.copy_awa2`; see the module docstring for the rule)."""
    if fraction <= 0 or n_images < 2:
        return 0
    rounded = math.floor(n_images * fraction + 0.5)
    return min(max(rounded, 1), n_images - 1)


def choose_valid_names(
    image_names: Iterable[str], valid_fraction: float, seed: int, class_name: str
) -> list[str]:
    """The validation images of one class, sorted: a seeded sample of its sorted full name set."""
    names = sorted(set(image_names))
    generator = random.Random(f"{seed}:{class_name}")
    return sorted(generator.sample(names, held_out_count(len(names), valid_fraction)))


def plan_move(dst: Path, valid_fraction: float, seed: int = 0) -> list[ClassMovePlan]:
    """Per class, which images belong in ``valid/`` and which must move to get there.

    Raises:
        MoveError: if ``dst/train`` is missing or the fraction is not in ``[0, 1)``.
    """
    dst = Path(dst)
    if not 0 <= valid_fraction < 1:
        raise MoveError(f"--valid must be a fraction in [0, 1), not {valid_fraction}")
    if not dst.is_dir():
        raise MoveError(f"folder not found: {dst}")
    if not (dst / TRAIN_SPLIT).is_dir():
        raise MoveError(f"no train/ folder (run utils.splits.copy_awa2 first): {dst / TRAIN_SPLIT}")
    check_split_folders(dst)
    class_names = sorted(
        {
            path.name
            for split in (TRAIN_SPLIT, VALID_SPLIT)
            if (dst / split).is_dir()
            for path in (dst / split).iterdir()
            if path.is_dir() and not path.name.startswith(".")
        }
    )
    plans = []
    for class_name in class_names:
        train_names = _image_names(dst / TRAIN_SPLIT / class_name)
        valid_names_now = _image_names(dst / VALID_SPLIT / class_name)
        _refuse_hard_linked_images(dst, class_name, train_names & valid_names_now)
        image_names = sorted(train_names | valid_names_now)
        valid_names = choose_valid_names(image_names, valid_fraction, seed, class_name)
        chosen = set(valid_names)
        plans.append(
            ClassMovePlan(
                class_name=class_name,
                image_names=image_names,
                valid_names=valid_names,
                to_valid=[name for name in valid_names if name in train_names],
                to_train=[name for name in image_names if name not in chosen and name in valid_names_now],
                already_in_valid=sum(name not in train_names for name in valid_names),
            )
        )
    return plans


_REFUSAL = "refusing to move anything"


def check_split_folders(dst: Path) -> None:
    """Refuse split folders where a move would land on its own source.

    Symlinks are followed: paths are compared resolved (:meth:`pathlib.Path.resolve`) and by device
    and inode (:func:`os.path.samefile`).

    Raises:
        MoveError: ``valid/`` is ``train/`` (a symlink either way, or the same directory), one lies
            inside the other, a class folder of one split is (or lies inside) the other split or
            one of its class folders, or two class folders of one split are one folder. One line
            naming the paths.
    """
    dst = Path(dst)
    train, valid = dst / TRAIN_SPLIT, dst / VALID_SPLIT
    if os.path.lexists(valid):
        reason = same_file_reason(train, valid)
        if reason is not None:
            raise MoveError(f"{valid} is the same folder as {train} ({reason}); {_REFUSAL}")
        for inner, outer in ((valid, train), (train, valid)):
            if path_within(inner, outer):
                raise MoveError(
                    f"{inner} lies inside {outer} (it resolves to {resolve_path(inner)}); {_REFUSAL}"
                )
    seen: dict[tuple[int, int], Path] = {}  # (device, inode) -> the first class folder found there
    for split, other in ((TRAIN_SPLIT, VALID_SPLIT), (VALID_SPLIT, TRAIN_SPLIT)):
        for folder in _class_folders(dst / split):
            folder_stat = os.stat(folder)
            twin = seen.setdefault((folder_stat.st_dev, folder_stat.st_ino), folder)
            if twin != folder:
                reason = same_file_reason(twin, folder) or "one folder under two names"
                raise MoveError(f"{folder} is the same folder as {twin} ({reason}); {_REFUSAL}")
            if os.path.lexists(dst / other) and path_within(folder, dst / other):
                raise MoveError(
                    f"{folder} lies inside {dst / other} (it resolves to {resolve_path(folder)}); {_REFUSAL}"
                )


def _class_folders(split_folder: Path) -> list[Path]:
    if not split_folder.is_dir():
        return []
    return sorted(path for path in split_folder.iterdir() if path.is_dir() and not path.name.startswith("."))


def _refuse_hard_linked_images(dst: Path, class_name: str, names_in_both: Iterable[str]) -> None:
    """Refuse an image whose ``train/`` and ``valid/`` copies are one file (a hard link, a symlink).

    Only a name present in *both* splits is checked: an image of a split made with ``--link`` is a hard
    link of the data set's image, in one split only, and moves by a rename that keeps it so (never
    leaving it in both splits), so linked splits pass.
    """
    for name in sorted(names_in_both):
        train_image = dst / TRAIN_SPLIT / class_name / name
        valid_image = dst / VALID_SPLIT / class_name / name
        reason = same_file_reason(train_image, valid_image)
        if reason is not None:
            raise MoveError(f"{valid_image} is the same file as {train_image} ({reason}); {_REFUSAL}")


def move_awa2(
    dst: Path, valid_fraction: float = 0.1, seed: int = 0, dry_run: bool = False, progress: bool | None = True
) -> MoveSummary:
    """Move a seeded fraction of each ``dst/train/<class>/`` into ``dst/valid/<class>/``.

    Safe to re-run, also after being killed: the same images are chosen and the move is completed.

    Args:
        dst: a folder with ``train/<class>/`` (as written by :func:`utils.splits.copy_awa2.copy_awa2`).
        valid_fraction: share of each class's images that goes to ``valid/``, in ``[0, 1)``.
        seed: seed of the choice.
        dry_run: count what would happen; touch nothing.
        progress: show a progress bar on stderr (``None``: only when stderr is a terminal).

    Returns:
        The counts; ``summary.ok`` is ``False`` when some files conflicted.

    Raises:
        MoveError: if ``dst/train`` is missing, the fraction is not in ``[0, 1)``, or the split
            folders overlap (see :func:`check_split_folders`); raised before anything is moved.
    """
    dst = Path(dst)
    plans = plan_move(dst, valid_fraction, seed)
    summary = MoveSummary(
        classes=len(plans),
        images=sum(len(plan.image_names) for plan in plans),
        valid_images=sum(len(plan.valid_names) for plan in plans),
        already_in_valid=sum(plan.already_in_valid for plan in plans),
        to_valid=TransferSummary(dry_run=dry_run),
        to_train=TransferSummary(dry_run=dry_run),
        dry_run=dry_run,
    )
    summary.to_valid.removed_partials += remove_partials(dst / VALID_SPLIT, dry_run=dry_run)
    summary.to_train.removed_partials += remove_partials(dst / TRAIN_SPLIT, dry_run=dry_run)
    total = sum(len(plan.to_valid) + len(plan.to_train) for plan in plans)
    with tqdm(
        total=total, desc="move to valid", unit="img", file=sys.stderr, disable=progress_disabled(progress)
    ) as bar:
        for plan in plans:
            train_folder = dst / TRAIN_SPLIT / plan.class_name
            valid_folder = dst / VALID_SPLIT / plan.class_name
            for name in plan.to_valid:
                safe_move(train_folder / name, valid_folder / name, summary=summary.to_valid, dry_run=dry_run)
                bar.update(1)
            for name in plan.to_train:
                safe_move(valid_folder / name, train_folder / name, summary=summary.to_train, dry_run=dry_run)
                bar.update(1)
    return summary


def _image_names(folder: Path) -> set[str]:
    return {path.name for path in list_images(folder)} if folder.is_dir() else set()


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m utils.splits.move_awa2``."""
    parser = ArgumentParser(
        prog="python -m utils.splits.move_awa2",
        description="Move a seeded fraction of each DST/train/<class>/ into DST/valid/<class>/ (safe to re-run).",
    )
    parser.add_argument(
        "dst", type=Path, metavar="DST", help="folder with train/<class>/ (from utils.splits.copy_awa2)"
    )
    parser.add_argument(
        "--valid",
        type=float,
        default=0.1,
        metavar="FRACTION",
        help="share of each class for valid/ (default 0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the choice (default 0)")
    parser.add_argument("--dry-run", action="store_true", help="print what would happen; touch nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


@cli_entry("python -m utils.splits.move_awa2")
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 1 conflicts, 2 error: one line, :mod:`utils.cli`)."""
    arguments = build_parser().parse_args(argv)
    show_progress = False if arguments.quiet else None
    # MoveError and OSError become one line on stderr in the error boundary (utils.cli).
    if arguments.dry_run:
        for plan in plan_move(arguments.dst, arguments.valid, arguments.seed):
            print(
                f"{plan.class_name}: {len(plan.valid_names)} of {len(plan.image_names)} image(s) in valid/ "
                f"({len(plan.to_valid)} to move there, {len(plan.to_train)} back to train/)"
            )
    summary = move_awa2(
        arguments.dst, arguments.valid, arguments.seed, dry_run=arguments.dry_run, progress=show_progress
    )
    print(summary.to_text())
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
