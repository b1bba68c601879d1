"""Bad paths given to the split scripts: overlapping or symlinked folders are refused before any write.

Every case calls the command line as a shell does (``python -m utils.splits.move_awa2 ...``), checks exit
status 2 with one line on stderr naming the path, and that the whole tree (every file's SHA-256,
every folder and symlink) is exactly what it was, with and without ``--dry-run``.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from utils.splits.copy_awa2 import CopyError, copy_awa2
from utils.splits.move_awa2 import MoveError, move_awa2

CLASSES = {"seen": ["antelope", "beaver"], "unseen": ["zebra"]}
IMAGES_PER_CLASS = 4


def make_awa2(root: Path) -> Path:
    """A tiny AwA2-shaped folder: ``JPEGImages/<class>/*.jpg`` and the two class lists."""
    for class_name in [*CLASSES["seen"], *CLASSES["unseen"]]:
        folder = root / "JPEGImages" / class_name
        folder.mkdir(parents=True)
        for index in range(IMAGES_PER_CLASS):
            (folder / f"{class_name}_{10001 + index}.jpg").write_bytes(
                f"{class_name} {index}\n".encode() * (index + 1)
            )
    (root / "trainclasses.txt").write_text("".join(f"{name}\n" for name in CLASSES["seen"]))
    (root / "testclasses.txt").write_text("".join(f"{name}\n" for name in CLASSES["unseen"]))
    return root


def make_split(root: Path) -> Path:
    """A tiny ``train/<class>/`` folder, as utils.splits.copy_awa2 writes it."""
    for class_name in CLASSES["seen"]:
        folder = root / "train" / class_name
        folder.mkdir(parents=True)
        for index in range(IMAGES_PER_CLASS):
            (folder / f"{class_name}_{10001 + index}.jpg").write_bytes(
                f"{class_name} {index}\n".encode() * (index + 1)
            )
    return root


def tree_state(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (symlinks not followed): file -> SHA-256, symlink -> target, folder."""
    state = {}
    for folder, folder_names, file_names in os.walk(root, followlinks=False):
        for name in [*folder_names, *file_names]:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                state[key] = f"symlink -> {os.readlink(path)}"
            elif path.is_dir():
                state[key] = "folder"
            else:
                state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def run_cli(module: str, arguments, repo_root: Path):
    environment = {**os.environ, "PYTHONPATH": str(repo_root)}
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, arguments), "--quiet"],
        cwd=repo_root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_refused(finished, *expected_parts):
    assert finished.returncode == 2, (finished.stdout, finished.stderr)
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), finished.stderr
    assert "Traceback" not in finished.stderr
    for part in expected_parts:
        assert str(part) in lines[0], (part, lines[0])
    return lines[0]


# --- move_awa2: valid/ and train/ must be different folders ------------------------------------


def valid_links_to_train(split: Path) -> tuple[Path, str]:
    (split / "valid").symlink_to("train")
    return split / "valid", "is the same folder as"


def valid_class_links_to_train_class(split: Path) -> tuple[Path, str]:
    (split / "valid").mkdir()
    (split / "valid" / "antelope").symlink_to(Path("..") / "train" / "antelope")
    return split / "valid" / "antelope", "is the same folder as"


def valid_class_links_to_another_train_class(split: Path) -> tuple[Path, str]:
    (split / "valid").mkdir()
    (split / "valid" / "antelope").symlink_to(Path("..") / "train" / "beaver")
    return split / "valid" / "antelope", "is the same folder as"


def train_links_to_valid(split: Path) -> tuple[Path, str]:
    (split / "train").rename(split / "valid")
    (split / "train").symlink_to("valid")
    return split / "train", "is the same folder as"


def valid_links_inside_train(split: Path) -> tuple[Path, str]:
    (split / "train" / "antelope" / "old").mkdir()
    (split / "valid").symlink_to(Path("train") / "antelope" / "old")
    return split / "valid", "lies inside"


def image_hard_linked_into_valid(split: Path) -> tuple[Path, str]:
    (split / "valid" / "antelope").mkdir(parents=True)
    name = "antelope_10001.jpg"
    os.link(split / "train" / "antelope" / name, split / "valid" / "antelope" / name)
    return split / "valid" / "antelope" / name, "is the same file as"


MOVE_CASES = [
    valid_links_to_train,
    valid_class_links_to_train_class,
    valid_class_links_to_another_train_class,
    train_links_to_valid,
    valid_links_inside_train,
    image_hard_linked_into_valid,
]


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
@pytest.mark.parametrize("prepare", MOVE_CASES, ids=[case.__name__ for case in MOVE_CASES])
def test_move_refuses_overlapping_split_folders(tmp_path, repo_root, prepare, dry_run):
    split = make_split(tmp_path / "d")
    named_path, phrase = prepare(split)
    before = tree_state(split)

    finished = run_cli(
        "utils.splits.move_awa2", [split, "--valid", "0.5", *(["--dry-run"] if dry_run else [])], repo_root
    )

    line = assert_refused(finished, named_path, phrase, "refusing to move anything")
    assert finished.stdout == ""
    assert tree_state(split) == before
    with pytest.raises(MoveError) as raised:
        move_awa2(split, 0.5, progress=False, dry_run=dry_run)
    assert line == f"error: {raised.value}"
    assert tree_state(split) == before


def test_move_valid_symlink_to_train_message(tmp_path, repo_root):
    split = make_split(tmp_path / "d")
    (split / "valid").symlink_to("train")

    finished = run_cli("utils.splits.move_awa2", [split, "--valid", "0.4"], repo_root)

    assert finished.stderr.strip() == (
        f"error: {split / 'valid'} is the same folder as {split / 'train'} (a symlink to it); "
        "refusing to move anything"
    )


def test_move_still_works_on_separate_folders_and_an_interrupted_move(tmp_path, repo_root):
    """A file in both splits that is a *copy* (not the same inode) is an interrupted move: completed."""
    split = make_split(tmp_path / "d")
    everything = {path.name: path.read_bytes() for path in (split / "train").rglob("*.jpg")}
    finished = run_cli("utils.splits.move_awa2", [split, "--valid", "0.5"], repo_root)
    assert finished.returncode == 0, finished.stderr
    moved = sorted((split / "valid").rglob("*.jpg"))
    assert moved
    # Recreate one train copy as if the run had died between copy and delete.
    (split / "train" / moved[0].parent.name / moved[0].name).write_bytes(moved[0].read_bytes())

    finished = run_cli("utils.splits.move_awa2", [split, "--valid", "0.5"], repo_root)

    assert finished.returncode == 0, finished.stderr
    after = {path.name: path.read_bytes() for path in split.rglob("*.jpg")}
    assert after == everything
    assert sum(1 for _ in split.rglob("*.jpg")) == len(everything)


# --- copy_awa2: the destination must not be (inside) the source, nor the other way round ---------


def dst_is_src(tmp_path: Path, src: Path) -> tuple[Path, Path, str]:
    return src, src, "is the same folder as SRC"


def dst_is_src_spelled_differently(tmp_path: Path, src: Path) -> tuple[Path, Path, str]:
    return src / ".." / src.name, src / ".." / src.name, "is the same folder as SRC"


def dst_is_src_jpegimages(tmp_path: Path, src: Path) -> tuple[Path, Path, str]:
    return src / "JPEGImages", src / "JPEGImages", "is inside SRC"


def dst_is_a_new_folder_inside_src(tmp_path: Path, src: Path) -> tuple[Path, Path, str]:
    return src / "out" / "split", src / "out" / "split", "is inside SRC"


def dst_is_a_symlink_into_src(tmp_path: Path, src: Path) -> tuple[Path, Path, str]:
    link = tmp_path / "link"
    link.symlink_to(src / "JPEGImages")
    return link, link, "is inside SRC"


def dst_is_a_symlink_to_src(tmp_path: Path, src: Path) -> tuple[Path, Path, str]:
    link = tmp_path / "link"
    link.symlink_to(src)
    return link, link, "is the same folder as SRC"


def src_is_inside_dst(tmp_path: Path, src: Path) -> tuple[Path, Path, str]:
    return tmp_path, src, "is inside DST"


def dst_train_is_a_symlink_into_src(tmp_path: Path, src: Path) -> tuple[Path, Path, str]:
    dst = tmp_path / "split"
    dst.mkdir()
    (dst / "train").symlink_to(src / "JPEGImages")
    return dst, dst / "train", "resolves into SRC"


def dst_class_folder_is_a_symlink_into_src(tmp_path: Path, src: Path) -> tuple[Path, Path, str]:
    dst = tmp_path / "split"
    (dst / "test").mkdir(parents=True)
    (dst / "test" / "zebra").symlink_to(src / "JPEGImages" / "zebra")
    return dst, dst / "test" / "zebra", "resolves into SRC"


COPY_CASES = [
    dst_is_src,
    dst_is_src_spelled_differently,
    dst_is_src_jpegimages,
    dst_is_a_new_folder_inside_src,
    dst_is_a_symlink_into_src,
    dst_is_a_symlink_to_src,
    src_is_inside_dst,
    dst_train_is_a_symlink_into_src,
    dst_class_folder_is_a_symlink_into_src,
]


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
@pytest.mark.parametrize("prepare", COPY_CASES, ids=[case.__name__ for case in COPY_CASES])
def test_copy_refuses_a_destination_overlapping_the_source(tmp_path, repo_root, prepare, dry_run):
    src = make_awa2(tmp_path / "AwA2")
    dst, named_path, phrase = prepare(tmp_path, src)
    before = tree_state(tmp_path)

    finished = run_cli("utils.splits.copy_awa2", [src, dst, *(["--dry-run"] if dry_run else [])], repo_root)

    line = assert_refused(finished, named_path, src, phrase, "refusing to copy anything")
    assert finished.stdout == ""
    assert tree_state(tmp_path) == before
    with pytest.raises(CopyError) as raised:
        copy_awa2(src, dst, dry_run=dry_run, progress=False)
    assert line == f"error: {raised.value}"
    assert tree_state(tmp_path) == before


def test_copy_still_works_next_to_the_source_and_through_a_symlinked_destination(tmp_path, repo_root):
    src = make_awa2(tmp_path / "AwA2")
    source_before = tree_state(src)
    (tmp_path / "real_split").mkdir()
    (tmp_path / "split").symlink_to("real_split")

    finished = run_cli("utils.splits.copy_awa2", [src, tmp_path / "split"], repo_root)

    assert finished.returncode == 0, finished.stderr
    assert tree_state(src) == source_before
    copied = sorted(path.name for path in (tmp_path / "real_split").rglob("*.jpg"))
    assert len(copied) == IMAGES_PER_CLASS * 3
