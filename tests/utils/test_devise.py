"""The DeViSE glue: data loaders keep the label order, splits hold out per class, evaluation by hand."""

from pathlib import Path

import numpy as np
import pytest
import torch

from utils.config import DeviseConfig
from utils.devise import (
    evaluate_embeddings,
    folder_items,
    image_dataloaders,
    nearest_label_accuracy,
    split_items_per_class,
    zero_shot_scores,
)
from utils.embeddings import EmbeddingSet

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
    from utils.devise import _write_run_info, checkpoint_is_current, checkpoint_path

    config = DeviseConfig.for_profile("smoke", outputs=tmp_path)
    assert not checkpoint_is_current(config, "devise", "devise_2b")  # nothing saved yet
    checkpoint_path(config, "devise_2b").parent.mkdir(parents=True)
    checkpoint_path(config, "devise_2b").write_bytes(b"weights")
    assert not checkpoint_is_current(config, "devise", "devise_2b")  # no record of how it was trained
    _write_run_info(config, "devise", {"epoch_seconds": [1.0]})
    assert checkpoint_is_current(config, "devise", "devise_2b")
    assert checkpoint_is_current(DeviseConfig.for_profile("smoke", outputs=tmp_path, n_gammas=3), "devise", "devise_2b")
    assert not checkpoint_is_current(DeviseConfig.for_profile("smoke", outputs=tmp_path, loss="hinge_rank"), "devise", "devise_2b")
    assert not checkpoint_is_current(DeviseConfig.for_profile("smoke", outputs=tmp_path, retrain=True), "devise", "devise_2b")
    # Stage 1 does not depend on the DeViSE loss.
    checkpoint_path(config, "stage1_resnet18").write_bytes(b"weights")
    _write_run_info(config, "stage1_resnet18", {"epoch_seconds": [1.0]})
    assert checkpoint_is_current(DeviseConfig.for_profile("smoke", outputs=tmp_path, loss="hinge_rank"), "stage1_resnet18")
