"""A changed split setting remakes the split folder; unchanged settings reuse it; a folder without a record is
completed, never deleted."""

from __future__ import annotations

import json
from pathlib import Path

from utils.config import DataConfig, DeviseConfig
from utils.splits.folders import ensure_split
from utils.splits.settings import RECORD_FILE, prepare_split_folder


def _counts(split_dir: Path) -> dict[str, int]:
    return {split: sum(1 for _ in (split_dir / split).glob("*/*.jpg")) for split in ("train", "valid", "test_seen", "test")}


def test_changing_images_per_class_remakes_the_split(tmp_path, capsys):
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, images_per_class=3)
    split_dir = ensure_split(config)
    assert split_dir == tmp_path / "awa2_split" / "smoke"
    # 3 per class: one of each seen class to test_seen/, one of the other two moves to valid/
    assert _counts(split_dir) == {"train": 40, "valid": 40, "test_seen": 40, "test": 30}
    assert "split folder: new" in capsys.readouterr().out
    assert json.loads((split_dir / RECORD_FILE).read_text())["settings"]["images_per_class"] == 3

    assert prepare_split_folder(config).up_to_date
    ensure_split(config)
    assert "split folder" not in capsys.readouterr().out  # reused silently

    bigger = DeviseConfig.for_profile("smoke", outputs=tmp_path, images_per_class=5)
    ensure_split(bigger)
    assert "split folder: remade: images_per_class 3 → 5" in capsys.readouterr().out
    assert _counts(split_dir) == {"train": 120, "valid": 40, "test_seen": 40, "test": 50}
    # notebook 00's DataConfig names the same folder and the same settings: it finds the split up to date
    assert prepare_split_folder(DataConfig.for_profile("smoke", outputs=tmp_path, images_per_class=5)).up_to_date


def test_changing_the_seen_test_share_remakes_the_split_and_keeps_test_seen_out_of_training(tmp_path, capsys):
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, images_per_class=10)
    split_dir = ensure_split(config)
    assert _counts(split_dir) == {"train": 280, "valid": 40, "test_seen": 80, "test": 100}
    larger = DeviseConfig.for_profile("smoke", outputs=tmp_path, images_per_class=10, test_seen_fraction=0.4)
    ensure_split(larger)
    assert "remade: test_seen_fraction 0.2 → 0.4" in capsys.readouterr().out
    assert _counts(split_dir) == {"train": 200, "valid": 40, "test_seen": 160, "test": 100}
    for class_folder in (split_dir / "test_seen").iterdir():
        names = {path.name for path in class_folder.iterdir()}
        training = {path.name for split in ("train", "valid") for path in (split_dir / split / class_folder.name).iterdir()}
        assert names and not names & training, class_folder.name


def test_a_folder_without_a_record_is_completed_not_deleted(tmp_path, capsys):
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, images_per_class=2)
    split_dir = Path(config.split_dir)
    keep = split_dir / "train" / "antelope" / "my_notes.txt"
    keep.parent.mkdir(parents=True)
    keep.write_bytes(b"not from the source")
    ensure_split(config)
    assert "no record of its settings" in capsys.readouterr().out
    assert keep.read_bytes() == b"not from the source"
    assert (split_dir / RECORD_FILE).is_file() and _counts(split_dir)["test"] == 20
