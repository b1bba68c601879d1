"""Training glue: augmentation, batching, run folders, the data-missing message, and a smoke run that beats chance."""

import dataclasses
import shutil
import time

import numpy as np
import pytest
import torch
from pytorch_metric_learning.samplers import MPerClassSampler

from utils.config import SiameseConfig
from utils.fingerprints import fingerprint
from utils.stages.episodes import ratio_class_split
from utils.stages.siamese import (
    SWEEP_ROWS,
    augment_batch,
    compare_with_original_project,
    images_to_tensor,
    m_per_class_batch_size,
    resolve_cifar100_dir,
    run_dir,
    run_split,
    sweep_splits,
    sweep_table,
)
from utils.training.checkpoints import decide, run_settings


def test_images_to_tensor_is_channels_first_and_normalised():
    images = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    images[..., 1] = 255
    tensor = images_to_tensor(images, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    assert tensor.shape == (2, 3, 32, 32)
    assert tensor[:, 1].min() == 1.0 and tensor[:, [0, 2]].max() == 0.0


def test_augment_batch_crops_and_flips_within_the_padding():
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6)
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(augment_batch(images, generator, padding=0)[:, :, 0, 0].abs().sum(1) > 0,
                       torch.tensor([True, True]))
    unchanged_or_flipped = augment_batch(images, torch.Generator().manual_seed(1), padding=0)
    for original, augmented in zip(images, unchanged_or_flipped, strict=True):
        assert torch.equal(augmented, original) or torch.equal(augmented, original.flip(-1))
    shifted = augment_batch(images, generator, padding=2)
    assert shifted.shape == images.shape


@pytest.mark.parametrize("n_classes", [2, 5, 10, 32, 90])
def test_m_per_class_batch_size_is_accepted_by_the_sampler(n_classes):
    batch_size, m_per_class = m_per_class_batch_size(128, 4, n_classes)
    labels = np.repeat(np.arange(n_classes), 18)
    sampler = MPerClassSampler(labels, m_per_class, batch_size=batch_size,
                              length_before_new_iter=max(len(labels), batch_size))
    first_batch = list(sampler)[:batch_size]
    assert len(set(labels[first_batch].tolist())) == batch_size // m_per_class
    assert batch_size <= 128 or n_classes * 4 < 128


def test_missing_real_data_names_the_download_command(tmp_path):
    config = SiameseConfig.for_profile("full", cifar100_dir=tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="python -m utils.download cifar100"):
        resolve_cifar100_dir(config)


def test_one_folder_per_split_and_the_fingerprint_changes_with_training_settings_only(tmp_path):
    config = SiameseConfig.for_profile("smoke", outputs=tmp_path)
    split = ratio_class_split([f"c{i}" for i in range(10)], 0.5)
    assert run_dir(config, split) == tmp_path / "siamese" / "smoke" / "50-50"
    assert run_dir(SiameseConfig.for_profile("smoke", outputs=tmp_path, margin=0.3), split) == run_dir(config, split)

    def settings(config: SiameseConfig, split) -> dict:
        return run_settings(config, "siamese", split=dataclasses.asdict(split))

    base = fingerprint(settings(config, split))
    assert fingerprint(settings(SiameseConfig.for_profile("smoke", n_episodes=7, n_pairs=3), split)) == base
    assert fingerprint(settings(SiameseConfig.for_profile("smoke", margin=0.3), split)) != base
    assert fingerprint(settings(config, ratio_class_split([f"c{i}" for i in range(10)], 0.5, seed=1))) != base


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    config = SiameseConfig.for_profile("smoke", checkpoint_dir=tmp_path_factory.mktemp("siamese"))
    start = time.perf_counter()
    result = run_split(config, 0.5)
    return config, result, time.perf_counter() - start


def test_smoke_training_beats_chance_on_held_out_classes(smoke_run):
    config, result, seconds = smoke_run
    assert seconds < 30
    assert result["held_out_classes"] == 50 and result["n_way"] == 50
    # Chance: 1/50 for N-way 1-shot, 1/5 for 5-way episodes, 1/2 for triplets and pairs.
    assert result["n_way_1_shot_chance"] == 1 / 50
    assert result["n_way_1_shot"] > 2 * result["n_way_1_shot_chance"]
    assert result["5_way_1_shot"] - result["5_way_1_shot_ci"] > 0.25
    assert result["5_way_5_shot"] > result["5_way_1_shot"] - 0.05
    assert result["triplet_acc_held_out"] > 0.6
    assert result["binary_acc_held_out"] > 0.55
    folder = result["folder"]
    assert {"model.pt", "model.json", "split.json", "log.csv"} <= {path.name for path in folder.iterdir()}
    assert result["decision"].trained and result["decision"].reason == "no checkpoint yet"


def test_second_run_loads_the_checkpoint_and_gives_the_same_figures(smoke_run, capsys):
    config, result, _ = smoke_run
    again = run_split(config, 0.5)
    assert "siamese_50-50: loaded: settings unchanged" in capsys.readouterr().out
    assert not again["decision"].trained
    assert not run_split(dataclasses.replace(config, n_episodes=7, n_pairs=100), 0.5)["decision"].trained
    for name in ("triplet_acc_seen", "n_way_1_shot", "5_way_1_shot", "threshold"):
        assert again[name] == pytest.approx(result[name])


def test_sweep_table_sits_beside_the_seed(smoke_run):
    config, _, _ = smoke_run
    config.sweep_fractions = (0.5,)
    sweep = sweep_splits(config)
    table = compare_with_original_project(sweep, config.profile)
    ours = "ours (sample world)"
    assert table.loc["50-50", ("N-way 1-shot", "seed (CIFAR-100)")] == pytest.approx(76.77)
    assert table.loc["50-50", ("triplet acc", ours)] == pytest.approx(100 * sweep.loc["50-50", "triplet_acc_seen"], abs=0.01)
    assert list(table.index) == ["50-50"] and not table.isna().any().any()  # only splits and figures both have
    shown = sweep_table(sweep)
    assert list(shown.columns) == ["50-50"] and len(shown) == len(SWEEP_ROWS)
    one_shot = shown.loc["5-way 1-shot", "50-50"]
    assert one_shot == f"{100 * sweep.loc['50-50', '5_way_1_shot']:.1f} ± {100 * sweep.loc['50-50', '5_way_1_shot_ci']:.1f}"
    assert " ± " not in shown.loc["triplet acc, seen classes", "50-50"]


def test_changed_settings_retrain_and_old_layouts_retrain(smoke_run, tmp_path):
    config, result, _ = smoke_run
    copy = dataclasses.replace(config, checkpoint_dir=tmp_path)
    shutil.copytree(result["folder"], run_dir(copy, result["data"].split))
    checkpoint = run_dir(copy, result["data"].split) / "model.pt"

    def trains(**changes) -> bool:
        changed = dataclasses.replace(copy, **changes)
        settings = run_settings(changed, "siamese", split=dataclasses.asdict(result["data"].split))
        return decide(checkpoint, settings, changed, verbose=False).trained

    assert not trains(n_episodes=3, n_query=2, n_support_draws=1)
    assert trains(retrain=True)  # which also drops the metadata: the older layout from here on
    assert not checkpoint.with_suffix(".json").exists() and trains()


@pytest.mark.slow
def test_two_processes_train_bit_identical_encoders_and_figures(tmp_path):
    from tests.utils.stages._stage_fingerprints import run_twice

    first, second = run_twice("siamese", tmp_path)
    assert set(first) == {"siamese", "figures"} and first == second
