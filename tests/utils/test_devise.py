"""The DeViSE glue: data loaders keep the label order, splits hold out per class, evaluation by hand."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from utils.config import DeviseConfig
from utils.stages.devise import (
    checkpoint_path,
    evaluate_embeddings,
    folder_items,
    image_dataloaders,
    nearest_label_accuracy,
    run_settings,
    shaping_fields,
    split_items_per_class,
    zero_shot_scores,
)
from utils.stages.embeddings import EmbeddingSet
from utils.training.checkpoints import decide, record, save_weights

AWA2_IMAGES = Path(__file__).resolve().parents[2] / "data_samples" / "awa2" / "JPEGImages"


def test_dataloaders_keep_the_given_class_order_as_labels(tmp_path):
    """Label j must be class_names[j]: it indexes the rows of the label vectors (fastai sorts by default)."""
    class_names = ["zebra", "antelope", "bat"]
    items = [item for item in folder_items(AWA2_IMAGES, class_names) if item[0].stem.endswith(("10001", "10002"))]
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path)
    dls = image_dataloaders(items[:4], items[4:], class_names, config)
    assert list(dls.vocab) == class_names
    for index in range(len(dls.train_ds)):
        assert class_names[int(dls.train_ds[index][1])] == items[index][1]


def test_split_items_per_class_holds_out_a_share_of_every_class():
    items = [(Path(f"{name}_{i}.jpg"), name) for name in ("a", "b") for i in range(10)] + [(Path("c_0.jpg"), "c")]
    kept, held_out = split_items_per_class(items, 0.3, seed=0)
    assert sorted(kept + held_out) == sorted(items)
    assert [name for _, name in held_out].count("a") == 3 and [name for _, name in held_out].count("b") == 3
    assert ("c_0.jpg" in {str(path) for path, _ in kept})  # a class with one image keeps it for training
    assert split_items_per_class(items, 0.3, seed=0) == (kept, held_out)


def test_nearest_label_accuracy_by_hand():
    class_word_vectors = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    embeddings = torch.tensor([[2.0, 1.0], [0.1, 3.0], [1.0, 0.9]])
    assert nearest_label_accuracy(embeddings, torch.tensor([0, 1, 1]), class_word_vectors).item() == pytest.approx(2 / 3)


def _embeddings_on_their_labels(noise: float = 0.0) -> EmbeddingSet:
    generator = np.random.default_rng(0)
    class_word_vectors = np.linalg.qr(generator.normal(size=(8, 6)))[0].T  # 6 orthonormal label vectors, 8-d
    labels = np.repeat(np.arange(6), 3)
    embeddings = class_word_vectors[labels] + noise * generator.normal(size=(18, 8))
    return EmbeddingSet(embeddings, [f"{i}.jpg" for i in range(18)], labels,
                        np.where(labels < 3, "seen_valid", "unseen_test"), list("abcdef"), class_word_vectors,
                        np.arange(6) < 3)


def test_embeddings_on_their_label_vectors_score_perfectly():
    figures = evaluate_embeddings(_embeddings_on_their_labels(), gamma=0.0)
    assert figures["T1"] == figures["U"] == figures["S"] == figures["H"] == 1.0
    assert figures["chance T1"] == pytest.approx(1 / 3)


def test_a_huge_gamma_sends_every_image_to_an_unseen_label():
    figures = evaluate_embeddings(_embeddings_on_their_labels(noise=0.1), gamma=10.0)
    assert figures["S"] == 0.0 and figures["H"] == 0.0
    assert figures["U"] == zero_shot_scores(_embeddings_on_their_labels(noise=0.1))["top1"]


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

    def trains(name: str, checkpoint: Path, **changes) -> bool:
        config = dataclasses.replace(base, **changes)
        extra = {"backbone": "resnet18"} if not name.startswith("devise") else {}
        return decide(checkpoint, run_settings(config, name, **extra), config, verbose=False).trained

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
    record(stage1, run_settings(base, "stage1_resnet18", backbone="resnet18"), base)
    assert not trains("stage1_resnet18", stage1, loss="hinge_rank", backbone="resnet34", oracle_epochs=1)
    assert trains("stage1_resnet18", stage1, image_size=40)
    assert "backbone" in shaping_fields("validation_devise") and "oracle_batch_size" in shaping_fields("oracle_resnet18")
    assert "n_validation_classes" in shaping_fields("validation_stage1_resnet18")
    assert "n_validation_classes" not in shaping_fields("stage1_resnet18")


def _tiny_learner(config: DeviseConfig, name: str):
    from fastai.vision.all import CrossEntropyLossFlat, accuracy

    from models.backbones import BodyHeadModel, ClassifierHead
    from utils.stages.devise import build_learner

    class_names = ["zebra", "antelope"]
    items = folder_items(AWA2_IMAGES, class_names)[:12]
    dls = image_dataloaders(items[:8], items[8:], class_names, config)
    body = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())
    model = BodyHeadModel(body, ClassifierHead(4, 2))
    return build_learner(dls, model, CrossEntropyLossFlat(), [accuracy], config, name)


def test_the_log_holds_every_epoch_of_every_phase_and_a_new_run_starts_it_afresh(tmp_path):
    from utils.stages.devise import _fit, _start_run

    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, image_size=16, batch_size=4)
    learn = _tiny_learner(config, "tiny")
    _start_run(learn)
    _fit(learn, "fine_tune", 2, 1e-3, [])  # a frozen epoch, then two
    _fit(learn, "one_cycle", 1, 1e-3, [], phase="2b")
    log = pd.read_csv(config.run_dir / "logs" / "tiny.csv")
    assert list(log["phase"]) == ["frozen", "unfrozen", "unfrozen", "2b"]
    assert list(log["epoch"]) == [0, 1, 2, 3] and list(log.columns[:4]) == ["phase", "epoch", "train_loss", "valid_loss"]
    assert len(learn.epoch_timer.epoch_seconds) == 4
    with learn.no_bar():
        learn.lr_find(num_it=5, show_plot=False, suggest_funcs=())  # the finder's mock fit is no epoch of the run
        learn.get_preds()
    assert len(pd.read_csv(config.run_dir / "logs" / "tiny.csv")) == 4 and len(learn.epoch_timer.epoch_seconds) == 4
    _start_run(learn)
    _fit(learn, "one_cycle", 1, 1e-3, [])
    log = pd.read_csv(config.run_dir / "logs" / "tiny.csv")
    assert list(log["phase"]) == ["one_cycle"] and list(log["epoch"]) == [0] and learn.epoch_timer.epoch_seconds


def test_learners_go_channels_last_where_the_device_wants_it_and_still_train(tmp_path, monkeypatch):
    import utils.stages.devise as devise

    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, image_size=16, batch_size=4, mixed_precision=True)
    plain = _tiny_learner(config, "plain")
    assert not hasattr(plain, "channels_last") and not hasattr(plain, "mixed_precision")  # CPU: neither

    monkeypatch.setattr(devise, "use_channels_last", lambda device: True)  # what CUDA answers
    learn = _tiny_learner(config, "nhwc")
    assert hasattr(learn, "channels_last") and not hasattr(learn, "mixed_precision")  # float16 stays CUDA-only
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)
    assert learn.model.body[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert np.isfinite(learn.recorder.losses[-1].item())
