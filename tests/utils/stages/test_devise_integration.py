"""Stages 1 and 2 end to end in the smoke profile: zero-shot T1 must beat chance (1/10)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from models.semantic_head import LinearSemanticHead
from utils.config import DeviseConfig
from utils.datasets import load_awa2
from utils.splits.folders import evaluation_items, seen_class_items
from utils.stages.classifier import fit_stage1
from utils.stages.devise import embedding_set, label_vectors, run_devise, train_devise
from utils.zsl import EmbeddingSet, zero_shot_scores


@pytest.fixture
def smoke_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_OUTPUTS_DIR", str(tmp_path))
    monkeypatch.setenv("ZSL_PROFILE", "smoke")
    return tmp_path


def test_stage1_then_devise_beats_chance_on_unseen_classes(smoke_outputs):
    # One more stage-1 and phase-2b epoch than the smoke notebooks: T1 then clears chance with room to spare.
    config = DeviseConfig.for_profile("smoke", stage1_epochs=2, unfrozen_epochs=2, cpu_threads=1)
    assert smoke_outputs in config.run_dir.parents and smoke_outputs in config.split_dir.parents
    awa2 = load_awa2(config.awa2_dir)
    train_items, valid_items, seen_classes = seen_class_items(config)
    seen_test_items, unseen_items = evaluation_items(config)
    assert {name for _, name in unseen_items} == set(awa2.unseen_classes)
    assert not {name for _, name in train_items + valid_items} & set(awa2.unseen_classes)
    assert {name for _, name in seen_test_items} == set(seen_classes)
    assert not {path.name for path, _ in train_items + valid_items} & {path.name for path, _ in seen_test_items}

    stage1 = fit_stage1(config)
    assert (config.run_dir / "checkpoints" / f"stage1_{config.backbone}.pth").exists()
    assert (config.run_dir / "logs" / f"stage1_{config.backbone}.csv").exists()
    all_vectors = label_vectors(config, awa2.class_names)
    seen_vectors = all_vectors[[awa2.class_names.index(name) for name in seen_classes]]
    probe_paths = [path for path, name in valid_items if name in config.pca_classes]
    devise, snapshots = train_devise(config, stage1.learn, train_items, valid_items, seen_classes, seen_vectors,
                                     probe_paths=probe_paths)
    assert snapshots["embeddings"].shape == (3, len(probe_paths), all_vectors.shape[1])
    assert list(snapshots["phases"]) == ["2a", "2b", "2b"]

    embeddings = embedding_set(devise.learn, seen_test_items, unseen_items, awa2.class_names, all_vectors, seen_classes)
    zsl = zero_shot_scores(embeddings)
    assert zsl["top1"] > 0.1, zsl
    loaded = EmbeddingSet.load(embeddings.save(config.run_dir / "embeddings.npz"))
    np.testing.assert_array_equal(loaded.image_embeddings, embeddings.image_embeddings)

    # One log per run with every epoch of every phase, and as many epoch timings.
    stage1_log = pd.read_csv(config.run_dir / "logs" / f"stage1_{config.backbone}.csv")
    assert len(stage1_log) == len(stage1.epoch_seconds) == config.stage1_epochs  # from scratch: one one-cycle fit
    devise_log = pd.read_csv(config.run_dir / "logs" / "devise.csv")
    assert list(devise_log["phase"]) == ["2a", "2b", "2b"] and list(devise_log["epoch"]) == [0, 1, 2]
    assert len(devise.epoch_seconds) == config.head_epochs + config.unfrozen_epochs == 3

    # Fit-or-load: a second call loads the checkpoint and gives the same embeddings.
    again, _ = train_devise(config, stage1.learn, train_items, valid_items, seen_classes, seen_vectors)
    assert not again.trained and again.decision.reason == "settings unchanged" and len(again.epoch_seconds) == 3
    reloaded = embedding_set(again.learn, seen_test_items, unseen_items, awa2.class_names, all_vectors, seen_classes)
    np.testing.assert_allclose(reloaded.image_embeddings, embeddings.image_embeddings, atol=1e-5)

    # Trained again after stage 1 was loaded (not trained) in this process: bit-identical weights, a fresh log.
    loaded_stage1 = fit_stage1(config)
    assert not loaded_stage1.trained
    retrained, _ = train_devise(dataclasses.replace(config, retrain=True), loaded_stage1.learn, train_items,
                                valid_items, seen_classes, seen_vectors)
    assert retrained.trained and retrained.decision.reason == "retrain=True"
    for name, value in devise.learn.model.state_dict().items():
        assert torch.equal(value, retrained.learn.model.state_dict()[name]), name
    assert len(pd.read_csv(config.run_dir / "logs" / "devise.csv")) == 3


@pytest.mark.slow
def test_run_devise_pipeline_with_gamma_and_oracle(smoke_outputs):
    config = DeviseConfig.for_profile("smoke", stage1_epochs=2, unfrozen_epochs=2, cpu_threads=1)
    figures = run_devise(config, "cpu")["figures"]
    assert figures["T1"] > figures["chance T1"] == 0.1
    assert np.isfinite([figures[key] for key in ("γ (validation)", "U", "S", "H", "oracle accuracy")]).all()
    assert 0.0 <= figures["H"] <= 1.0 and 0.0 <= figures["oracle accuracy"] <= 1.0
    assert (config.run_dir / "embeddings.npz").exists() and (config.run_dir / "devise_snapshots.npz").exists()


@pytest.mark.slow
def test_two_processes_train_bit_identical_stages_and_figures(tmp_path):
    """Stage 1, DeViSE, the γ runs and the oracle from empty outputs in two processes (PYTHONHASHSEED 1 and 2)."""
    from tests.utils.stages._stage_fingerprints import run_twice

    first, second = run_twice("devise", tmp_path)
    assert set(first) == {"stage1", "devise", "figures"} and first == second


def test_notebooks_03_and_04_use_embeddings_only_of_the_current_model(smoke_outputs, capsys):
    from utils.stages.devise import devise_embeddings

    config = DeviseConfig.for_profile("smoke", images_per_class=4, backbones=("resnet18",), cpu_threads=1)
    first = devise_embeddings(config)
    assert "embeddings: computing: no embeddings of this DeViSE model yet" in capsys.readouterr().out
    again = devise_embeddings(config)
    assert "embeddings: loaded: made by this DeViSE model" in capsys.readouterr().out
    assert np.array_equal(again.embeddings.image_embeddings, first.embeddings.image_embeddings)
    # a knob turned in notebook 03's or 04's own config cell: stage 2 retrains and the embeddings follow
    turned = devise_embeddings(dataclasses.replace(config, head_learning_rate=config.head_learning_rate / 10))
    out = capsys.readouterr().out
    assert "devise: training: head_learning_rate" in out and "stage1_resnet18: loaded" in out
    assert "the saved ones come from another DeViSE model" in out
    assert not np.array_equal(turned.embeddings.image_embeddings, first.embeddings.image_embeddings)
    assert np.array_equal(EmbeddingSet.load(turned.embeddings_file).image_embeddings, turned.embeddings.image_embeddings)
    # DeViSE's own linear map instead of the MLP: stage 2 retrains on the loaded stage 1
    linear = devise_embeddings(dataclasses.replace(config, semantic_head="linear"))
    out = capsys.readouterr().out
    devise_line = next(line for line in out.splitlines() if line.startswith("devise: "))
    assert devise_line.startswith("devise: training:") and "semantic_head" in devise_line, devise_line
    assert "stage1_resnet18: loaded" in out
    assert isinstance(linear.devise.learn.model.head, LinearSemanticHead)
