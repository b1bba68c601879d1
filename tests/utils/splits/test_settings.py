"""A changed split setting remakes the split folder; unchanged settings reuse it; a folder without a record is
completed, never deleted."""

from __future__ import annotations

import json
from pathlib import Path

from utils.config import DataConfig, DeviseConfig
from utils.splits.folders import ensure_split
from utils.splits.settings import RECORD_FILE, prepare_split_folder


def _counts(split_dir: Path) -> dict[str, int]:
    return {split: sum(1 for _ in (split_dir / split).glob("*/*.jpg")) for split in ("train", "valid", "test")}


def test_changing_images_per_class_remakes_the_split(tmp_path, capsys):
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, images_per_class=2)
    split_dir = ensure_split(config)
    assert split_dir == tmp_path / "awa2_split" / "smoke"
    assert _counts(split_dir) == {"train": 40, "valid": 40, "test": 20}  # 2 per class: one of each seen class moves
    assert "split folder: new" in capsys.readouterr().out
    assert json.loads((split_dir / RECORD_FILE).read_text())["settings"]["images_per_class"] == 2

    assert prepare_split_folder(config).up_to_date
    ensure_split(config)
    assert "split folder" not in capsys.readouterr().out  # reused silently

    bigger = DeviseConfig.for_profile("smoke", outputs=tmp_path, images_per_class=4)
    ensure_split(bigger)
    assert "split folder: remade: images_per_class 2 → 4" in capsys.readouterr().out
    assert _counts(split_dir) == {"train": 120, "valid": 40, "test": 40}
    # notebook 00's DataConfig names the same folder and the same settings: it finds the split up to date
    assert prepare_split_folder(DataConfig.for_profile("smoke", outputs=tmp_path, images_per_class=4)).up_to_date


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
