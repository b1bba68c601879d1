"""DeViSE (notebooks 02–04): which settings shape which run, the nearest-label metric."""

import dataclasses
from pathlib import Path

import pytest
import torch

from utils.config import DeviseConfig
from utils.stages.devise import nearest_label_accuracy
from utils.training.checkpoints import decide, record, run_settings, save_weights
from utils.training.fastai_glue import checkpoint_path


def test_nearest_label_accuracy_by_hand():
    class_word_vectors = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    embeddings = torch.tensor([[2.0, 1.0], [0.1, 3.0], [1.0, 0.9]])
    assert nearest_label_accuracy(embeddings, torch.tensor([0, 1, 1]), class_word_vectors).item() == pytest.approx(2 / 3)


def test_devise_config_profiles(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_OUTPUTS_DIR", str(tmp_path))
    smoke, sample, full = (DeviseConfig.for_profile(name) for name in ("smoke", "sample", "full"))
    assert smoke.image_size < sample.image_size < full.image_size == 224
    assert smoke.stage1_epochs == smoke.head_epochs == smoke.unfrozen_epochs == 1 and not smoke.pretrained
    assert full.pretrained and full.mixed_precision and full.word_vectors.endswith("cc.en.300.bin")
    assert len({smoke.split_dir, sample.split_dir, full.split_dir}) == 3
    assert smoke.run_dir == tmp_path / "devise" / "smoke"
    assert DeviseConfig.for_profile("smoke", loss="hinge_rank").loss == "hinge_rank"
    assert set(sample.pca_classes) == {"elephant", "buffalo", "cow", "dolphin"}


def test_a_checkpoint_is_reused_only_while_the_fields_that_shape_it_are_unchanged(tmp_path):
    base = DeviseConfig.for_profile("smoke", outputs=tmp_path)

    def trains(run: str, checkpoint: Path, **changes) -> bool:
        config = dataclasses.replace(base, **changes)
        extra = {"backbone": "resnet18"} if not run.endswith("devise") else {}
        return decide(checkpoint, run_settings(config, run, **extra), config, verbose=False).trained

    devise = checkpoint_path(base, "devise_2b")
    assert trains("devise", devise)  # nothing saved yet
    save_weights({"weight": torch.zeros(1)}, devise)
    assert trains("devise", devise)  # no record of how it was trained (the older layout)
    record(devise, run_settings(base, "devise"), base)
    assert not trains("devise", devise)
    assert not trains("devise", devise, pca_classes=("zebra",), n_gammas=3, cpu_threads=2, inference_images=8)
    for change in ({"loss": "hinge_rank"}, {"backbone": "resnet34"}, {"stage1_epochs": 3}, {"seed": 1},
                   {"retrain": True}):
        assert trains("devise", devise, **change), change
    # Stage 1 does not depend on DeViSE's fields, nor on config.backbone (each backbone is its own run).
    stage1 = checkpoint_path(base, "stage1_resnet18")
    save_weights({"weight": torch.zeros(1)}, stage1)
    record(stage1, run_settings(base, "stage1", backbone="resnet18"), base)
    assert not trains("stage1", stage1, loss="hinge_rank", backbone="resnet34", oracle_epochs=1)
    assert trains("stage1", stage1, image_size=40)
    assert "backbone" in DeviseConfig.shaping_fields("validation_devise")
    assert "oracle_batch_size" in DeviseConfig.shaping_fields("oracle")
    assert "n_validation_classes" in DeviseConfig.shaping_fields("validation_stage1")
    assert "n_validation_classes" not in DeviseConfig.shaping_fields("stage1")


