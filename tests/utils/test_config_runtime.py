"""Profiles, configs, seeding, device choice and repository discovery."""

import dataclasses
import json
import random

import numpy as np
import pytest
import torch

from utils.config import DataConfig, current_profile
from utils.runtime import choose_device, find_repo_root, seed_everything


def test_profile_comes_from_the_environment_and_defaults_to_sample(monkeypatch):
    monkeypatch.delenv("ZSL_PROFILE", raising=False)
    assert current_profile() == "sample"
    monkeypatch.setenv("ZSL_PROFILE", "Smoke")
    assert current_profile() == "smoke"
    assert current_profile("full") == "full"


def test_unknown_profile_names_the_choices(monkeypatch):
    monkeypatch.setenv("ZSL_PROFILE", "tiny")
    with pytest.raises(ValueError, match="smoke, sample, full"):
        current_profile()


def test_profile_defaults_and_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("ZSL_DATA_DIR", str(tmp_path))
    smoke = DataConfig.for_profile("smoke")
    assert smoke.images_per_class == 12 and smoke.profile == "smoke"
    full = DataConfig.for_profile("full", valid_fraction=0.2)
    assert full.awa2_dir == tmp_path / "Animals_with_Attributes2"
    assert full.valid_fraction == 0.2
    with pytest.raises(TypeError, match="no field"):
        DataConfig.for_profile("sample", epochs=3)


def test_config_saves_as_json(tmp_path):
    path = DataConfig.for_profile("sample").save(tmp_path / "config.json")
    saved = json.loads(path.read_text())
    assert saved["profile"] == "sample" and saved["awa2_dir"].endswith("awa2")


def test_one_seed_fixes_random_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first
    seed_everything(8)
    assert draw() != first


def test_device_choice_honours_the_environment(monkeypatch):
    monkeypatch.setenv("ZSL_DEVICE", "cpu")
    assert choose_device("auto", verbose=False).type == "cpu"
    if not torch.cuda.is_available():
        monkeypatch.setenv("ZSL_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="no CUDA"):
            choose_device(verbose=False)


def test_repo_root_is_found_from_a_subfolder(repo_root):
    assert find_repo_root(repo_root / "notebooks") == repo_root
    with pytest.raises(FileNotFoundError):
        find_repo_root(repo_root.parent.parent)


def test_search_config_inherits_the_embedding_settings_of_its_profile():
    from utils.config import DeviseConfig, SearchConfig

    for profile in ("smoke", "sample", "full"):
        search, devise = SearchConfig.for_profile(profile), DeviseConfig.for_profile(profile)
        assert (search.image_size, search.backbone, search.word_vectors) == (
            devise.image_size, devise.backbone, devise.word_vectors)
        assert search.run_dir == devise.run_dir  # notebook 04 reads the embeddings notebook 02 wrote
    # In `full` free text goes through the label vectors' own fastText model, so queries share their space.
    assert SearchConfig.for_profile("full").text_vectors is None
    assert SearchConfig.for_profile("sample").text_vectors == "glove:6B-50d"


def test_default_paths_follow_the_outputs_folder_until_set_by_hand(tmp_path):
    # Colab: build the config, then point outputs at Drive; checkpoints and the split folder must both move.
    from utils.config import AttributeZslConfig, DataConfig, DeviseConfig, SiameseConfig

    devise = DeviseConfig.for_profile("smoke")
    devise.outputs = tmp_path / "drive"
    assert devise.split_dir == tmp_path / "drive" / "awa2_split" / "smoke"
    assert devise.run_dir == tmp_path / "drive" / "devise" / "smoke"
    attributes = AttributeZslConfig.for_profile("smoke")
    attributes.outputs = tmp_path / "drive"
    assert attributes.xlsa17_dir == tmp_path / "drive" / "attribute_zsl" / "smoke" / "xlsa17" / "AWA2"
    siamese = SiameseConfig.for_profile("smoke")
    siamese.outputs = tmp_path / "drive"
    assert siamese.checkpoint_dir == tmp_path / "drive" / "siamese"
    data = DataConfig.for_profile("full", budget="tiny", outputs=tmp_path)
    assert data.split_dir == tmp_path / "awa2_split" / "full-tiny"
    data.budget = None  # the real run: its own folder, never the rehearsal's
    assert data.split_dir == tmp_path / "awa2_split" / "full"

    data.split_dir = tmp_path / "mine"  # set by hand: it stays
    data.outputs = tmp_path / "elsewhere"
    assert data.split_dir == tmp_path / "mine"
    data.split_dir = None  # back to the default
    assert data.split_dir == tmp_path / "elsewhere" / "awa2_split" / "full"
    assert DataConfig.for_profile("smoke", split_dir=tmp_path / "given").split_dir == tmp_path / "given"


@pytest.mark.parametrize(("profile", "budget", "label"),
                         [("smoke", None, "smoke"), ("full", "tiny", "full-tiny"), ("full", "tiny-gpu", "full-tiny-gpu")])
def test_everything_a_run_writes_goes_to_outputs_kind_run_label(tmp_path, monkeypatch, profile, budget, label):
    """One layout, <outputs>/<kind>/<run label>, for every stage's run folder, the split, the cache and the results."""
    from utils.config import (
        AttributeZslConfig,
        ClipConfig,
        DeviseConfig,
        SdlConfig,
        SearchConfig,
        SiameseConfig,
    )
    from utils.results import results_dir
    from utils.training.image_cache import image_cache_for

    # Notebook 04 reads DeViSE's run folder and writes its indexes to its own.
    folders = {("devise", DeviseConfig, "run_dir"), ("devise", SearchConfig, "run_dir"),
               ("search", SearchConfig, "index_dir"), ("attribute_zsl", AttributeZslConfig, "run_dir"),
               ("siamese", SiameseConfig, "run_dir"), ("sdl", SdlConfig, "run_dir"),
               ("clip", ClipConfig, "run_dir")}
    for kind, config_class, folder in folders:
        config = config_class.for_profile(profile, budget=budget, outputs=tmp_path)
        assert getattr(config, folder) == tmp_path / kind / label, (kind, config_class)
        if hasattr(config, "image_cache"):
            config.image_cache = True
            assert image_cache_for(config).root == tmp_path / "image_cache" / label, kind
    data = DataConfig.for_profile(profile, budget=budget, outputs=tmp_path)
    assert data.split_dir == DeviseConfig.for_profile(profile, budget=budget, outputs=tmp_path).split_dir \
        == tmp_path / "awa2_split" / label
    monkeypatch.delenv("ZSL_RESULTS_DIR", raising=False)
    monkeypatch.setenv("ZSL_OUTPUTS_DIR", str(tmp_path))
    monkeypatch.setenv("ZSL_PROFILE", profile)
    monkeypatch.setenv("ZSL_BUDGET", budget or "")
    assert results_dir() == tmp_path / "results" / label


def test_the_gpu_rehearsal_budget_is_tiny_but_keeps_the_profiles_resolution_weights_and_precision():
    from utils.config import GPU_FIDELITY_FIELDS, AttributeZslConfig, DeviseConfig, SdlConfig, SiameseConfig

    for config_class in (DeviseConfig, AttributeZslConfig, SdlConfig, SiameseConfig):
        full = config_class.for_profile("full")
        tiny = config_class.for_profile("full", budget="tiny")
        gpu = config_class.for_profile("full", budget="tiny-gpu")
        for name in config_class.budget_defaults()["tiny"]:
            expected = getattr(full if name in GPU_FIDELITY_FIELDS else tiny, name)
            assert getattr(gpu, name) == expected, (config_class.__name__, name)
    devise = DeviseConfig.for_profile("full", budget="tiny-gpu")
    assert (devise.image_size, devise.pretrained, devise.mixed_precision, devise.stage1_epochs) == (224, True, True, 1)


def test_a_config_cell_shows_a_table_with_the_changed_fields_first():
    from IPython.lib.pretty import pretty

    from utils.config import DeviseConfig, SdlConfig

    config = DeviseConfig.for_profile("smoke")
    config.stage1_epochs = 3
    config.n_gammas = 5
    rows = config.settings_rows()
    assert [row["field"] for row in rows[:2]] == ["stage1_epochs", "n_gammas"]
    assert rows[0] == {"field": "stage1_epochs", "value": "3", "profile default": "1", "shapes": "every model"}
    assert rows[1]["shapes"] == "nothing trained" and all(row["profile default"] == "" for row in rows[2:])
    assert len(rows) == len(dataclasses.fields(config))
    html = config._repr_html_()
    assert "2 of " in html and "<b>stage1_epochs</b>" in html and html.count("<tr>") == len(rows) + 1
    text = pretty(config).splitlines()
    assert text[0] == "DeviseConfig (profile smoke)" and text[1].split() == ["stage1_epochs", "3", "(profile:", "1)"]
    assert max(len(line) for line in text) < 120  # no thousand-character line
    assert pretty(SdlConfig.for_profile("smoke")).startswith("SdlConfig (profile smoke)")  # every notebook's config
