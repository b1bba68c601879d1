"""utils.training.checkpoints: fingerprints, the train-or-load decision and its line, metadata written last, safe loading."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from utils.config import NO_MODEL, POSITIVE_INT, BaseConfig, setting
from utils.fingerprints import canonical_json, fingerprint
from utils.training.checkpoints import (
    decide,
    load_weights,
    metadata_path,
    read_metadata,
    record,
    run_settings,
    save_weights,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
SETTINGS = {"image_epochs": 12, "backbone": "small_cnn", "classes": ("zebra", "cow"), "data": Path("/d"), "lr": 3e-3}


@dataclass
class Config(BaseConfig):
    runs: ClassVar[dict[str, tuple[str, ...]]] = {"network": ("network",), "probe": ("probe",)}

    image_epochs: int = setting(12, rule=POSITIVE_INT, shapes=("network",))
    backbone: str = "small_cnn"  # declares nothing: shapes every run
    distances: tuple = setting(("cosine",), shapes=NO_MODEL)


def test_fingerprint_ignores_key_order_and_is_the_same_in_another_process():
    reordered = dict(reversed(list(SETTINGS.items())))
    assert fingerprint(reordered) == fingerprint(SETTINGS)
    assert fingerprint({**SETTINGS, "image_epochs": 13}) != fingerprint(SETTINGS)
    assert fingerprint({"names": {"b", "a", "c"}}) == fingerprint({"names": ["a", "b", "c"]})
    code = ("from pathlib import Path, PosixPath; from utils.fingerprints import fingerprint; "
            f"print(fingerprint({{'names': {{'b', 'a', 'c'}}, **{SETTINGS!r}}}))")
    outputs = {
        subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": str(hash_seed)}).stdout.strip()
        for hash_seed in (1, 2)
    }
    assert outputs == {fingerprint({"names": ["a", "b", "c"], **SETTINGS})}
    assert json.loads(canonical_json(SETTINGS)) == {**SETTINGS, "classes": ["zebra", "cow"], "data": "/d"}


def test_run_settings_take_the_declared_fields_and_the_run_inputs():
    settings = run_settings(Config(), "network", features_sha256="abc")
    assert settings == {"seed": 0, "image_epochs": 12, "backbone": "small_cnn", "features_sha256": "abc"}
    assert run_settings(Config(), "probe") == {"seed": 0, "backbone": "small_cnn"}  # image_epochs shapes "network" only
    with pytest.raises(KeyError, match="trains no run 'epochs'"):
        run_settings(Config(), "epochs")
    with pytest.raises(ValueError, match="repeat config fields"):
        run_settings(Config(), "network", backbone="resnet18")


def test_decisions_and_their_lines(tmp_path, capsys):
    checkpoint = tmp_path / "attribute_network" / "model.pt"
    settings = run_settings(Config(), "network")
    first = decide(checkpoint, settings, Config())
    assert first.trained and first.reason == "no checkpoint yet"
    assert capsys.readouterr().out.strip() == "attribute_network: training: no checkpoint yet"

    save_weights({"weight": torch.ones(2)}, checkpoint)
    older_layout = decide(checkpoint, settings, Config())
    assert older_layout.trained and "no settings recorded" in older_layout.reason

    record(checkpoint, settings, Config())
    metadata = read_metadata(checkpoint)
    assert metadata["fingerprint"] == fingerprint(settings) and metadata["settings"] == settings
    assert metadata["config"]["distances"] == ["cosine"] and metadata_path(checkpoint) == tmp_path / "attribute_network" / "model.json"
    capsys.readouterr()

    same = decide(checkpoint, settings, Config(distances=("hamming",)))
    assert not same.trained and same.reason == "settings unchanged"
    assert capsys.readouterr().out.strip() == f"attribute_network: loaded: settings unchanged ({checkpoint})"

    forced = decide(checkpoint, settings, Config(retrain=True), name="attribute network")
    assert forced.trained and str(forced) == "attribute network: training: retrain=True"
    assert read_metadata(checkpoint) is None  # a decision to train drops the old metadata at once
    record(checkpoint, settings, Config())

    changed = decide(checkpoint, run_settings(Config(image_epochs=20), "network"), Config())
    assert changed.trained and changed.reason == "image_epochs 12 → 20" and changed.changed == ("image_epochs",)
    assert "attribute_network: training: image_epochs 12 → 20" in capsys.readouterr().out


def test_record_needs_the_checkpoint_first(tmp_path):
    with pytest.raises(FileNotFoundError, match="record its metadata after saving"):
        record(tmp_path / "model.pt", {"epochs": 1})


def test_a_crafted_pickle_is_refused_by_load_weights(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "model.pt"
    torch.save({"state": Exploit()}, path)
    with pytest.raises(Exception, match="(?i)weights_only"):
        load_weights(path)
    save_weights({"state_dict": {"w": torch.zeros(1)}, "names": ["a"], "size": 3}, path)
    assert load_weights(path)["names"] == ["a"] and not list(tmp_path.glob("*.partial*"))
