"""A fake AwA2 tree for the split-script tests, and a snapshot of a tree's files by content."""

import hashlib
from pathlib import Path


def make_fake_awa2(
    root: Path, seen_classes: list[str], unseen_classes: list[str], images_per_class: int = 10, split_files: bool = True
) -> Path:
    """An AwA2-shaped folder whose images are small files with distinct bytes (``JPEGImages/<class>/``), with
    ``trainclasses.txt`` and ``testclasses.txt`` unless ``split_files`` is false."""
    for class_name in [*seen_classes, *unseen_classes]:
        folder = root / "JPEGImages" / class_name
        folder.mkdir(parents=True)
        for index in range(images_per_class):
            content = f"{class_name} image {index}\n".encode() * (index + 1)
            (folder / f"{class_name}_{10001 + index}.jpg").write_bytes(content)
    if split_files:
        (root / "trainclasses.txt").write_text("".join(f"{name}\n" for name in seen_classes))
        (root / "testclasses.txt").write_text("".join(f"{name}\n" for name in unseen_classes))
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``root``."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
