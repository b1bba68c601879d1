"""Every knob a config cell shows is an invitation to change it: each notebook, with its display knobs (the fields
declared ``shapes=NO_MODEL``: what is shown, searched or compared, not how a model trains) turned to other valid
values in its config cell, runs top to bottom in ``smoke``."""

from __future__ import annotations

import dataclasses

import pytest
from test_tweak_and_rerun import run_notebook

from utils import config as configs

pytestmark = pytest.mark.slow

DISPLAY_TWEAKS = {
    "01_stage1_classifier": ("DeviseConfig", {"backbones": ("resnet18",), "inference_images": 16}),
    "02_stage2_visual_semantic": ("DeviseConfig", {"n_gammas": 5}),
    "03_error_analysis": ("DeviseConfig", {"pca_classes": ("zebra", "seal", "giant+panda")}),
    "04_semantic_search": ("SearchConfig", {"index": "exact", "k": 3, "ef_search_sweep": (20,),
                                            "query_classes": ("zebra",), "text_queries": ("striped horse",)}),
    "05_attribute_zsl_remse": ("AttributeZslConfig", {"distances": ("cosine",), "losses": ("mse", "bce"),
                                                      "n_gammas": 5}),
    "06_siamese_one_shot": ("SiameseConfig", {"sweep_fractions": (0.7,), "n_episodes": 20, "n_query": 3,
                                              "n_support_draws": 2, "n_pairs": 200}),
    "07_multilabel_zsl_sdl": ("SdlConfig", {"top_k": (1, 2), "comparison_principal_vectors": (7,),
                                            "gallery_size": 2}),
    "08_clip_zero_shot": ("ClipConfig", {"search_queries": ("a big gray animal with tusks",), "k": 2, "n_gammas": 5}),
}


def test_every_tweak_is_a_display_knob_with_another_value():
    for config_name, tweaks in DISPLAY_TWEAKS.values():
        config_class = getattr(configs, config_name)
        smoke = config_class.for_profile("smoke")
        fields = {field.name: field for field in dataclasses.fields(config_class)}
        for name, value in tweaks.items():
            assert fields[name].metadata.get("shapes") == configs.NO_MODEL, f"{config_name}.{name} shapes a model"
            assert getattr(smoke, name) != value, f"{config_name}.{name} is {value!r} already"
            setattr(smoke, name, value)  # validated on assignment, as in the config cell


def test_each_notebook_runs_to_the_end_with_its_display_knobs_turned(fresh_outputs):
    for notebook, (_, tweaks) in DISPLAY_TWEAKS.items():
        tweak = "\n".join(f"config.{name} = {value!r}" for name, value in tweaks.items())
        run_notebook(notebook, tweak)  # raises CellExecutionError, naming the cell, on any error
