"""What every config field declares (``utils.config.setting``), held against what the library does with it.

The settings that shape a checkpoint, the split folder's record and validation are all derived from the fields'
declarations. These tests change every field of every config, one at a time, and check that each run's checkpoint
decision (train again, or reuse) follows the declaration read straight from the field's metadata.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch

from utils.config import (
    AWA2_SPLITS,
    BUDGETS,
    EVERY_RUN,
    NO_MODEL,
    PROFILES,
    AttributeZslConfig,
    BaseConfig,
    ClipConfig,
    ConfigError,
    DataConfig,
    DeviseConfig,
    SdlConfig,
    SearchConfig,
    SiameseConfig,
    setting,
)
from utils.splits.settings import split_settings
from utils.training.checkpoints import decide, fit_or_load, record, run_settings, save_weights

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = (DataConfig, DeviseConfig, SearchConfig, AttributeZslConfig, SiameseConfig, SdlConfig, ClipConfig)


def declared_to_shape(config_class: type[BaseConfig], name: str, run: str) -> bool:
    """What field ``name`` declares about ``run``, read from its metadata (no declaration: every run)."""
    shapes = config_class.__dataclass_fields__[name].metadata.get("shapes", EVERY_RUN)
    return shapes == EVERY_RUN or bool(set(shapes) & set(config_class.runs[run]))


def candidates(value: Any) -> list[Any]:
    """Other values of the same kind, for :func:`changed_config` to try in order."""
    if isinstance(value, bool):
        return [not value]
    if value is None:
        return [1, *BUDGETS, Path("/elsewhere")]
    if isinstance(value, int):
        return [value + 1, value - 1, value * 2]  # doubled: a multiple of 32 (ClipConfig.image_size) stays one
    if isinstance(value, float):
        return [value / 2, value * 2, value + 1]
    if isinstance(value, Path):
        return [value / "elsewhere"]
    if isinstance(value, str):
        return [value + "-other", *PROFILES, *AWA2_SPLITS, "cpu"]
    if isinstance(value, tuple):
        return [value[:-1], value + value[-1:], tuple(reversed(value)), tuple(item * 2 for item in value)]
    raise AssertionError(f"no candidate values for {value!r}")


def changed_config(config_class: type[BaseConfig], name: str, outputs: Path) -> BaseConfig | None:
    """The smoke config with field ``name`` set to the first other value it accepts (``None`` when none is)."""
    for value in candidates(getattr(config_class.for_profile("smoke", outputs=outputs), name)):
        config = config_class.for_profile("smoke", outputs=outputs)
        if value == getattr(config, name):
            continue
        try:
            setattr(config, name, value)  # as a notebook's settings cell does: checked, derived paths follow
        except ConfigError:
            continue
        return config
    return None


def changed_fields(before: BaseConfig, after: BaseConfig) -> set[str]:
    """The fields whose values differ (the one set by hand, and the paths derived from it)."""
    return {item.name for item in dataclasses.fields(before) if getattr(before, item.name) != getattr(after, item.name)}


@pytest.mark.parametrize("config_class", CONFIGS, ids=lambda config_class: config_class.__name__)
def test_every_field_changes_each_runs_checkpoint_decision_as_it_declares(config_class, tmp_path):
    base = config_class.for_profile("smoke", outputs=tmp_path)
    runs_checked = 0
    for run in config_class.runs:
        checkpoint = tmp_path / "checkpoints" / run / "model.pt"
        save_weights({"weight": torch.zeros(1)}, checkpoint)
        record(checkpoint, run_settings(base, run), base)
        for item in dataclasses.fields(config_class):
            changed = changed_config(config_class, item.name, tmp_path)
            assert changed is not None, f"no other valid value for {config_class.__name__}.{item.name}: extend candidates"
            fields = changed_fields(base, changed)
            expected = changed.retrain or any(declared_to_shape(config_class, name, run) for name in fields)
            decision = decide(checkpoint, run_settings(changed, run), changed, verbose=False)
            assert decision.trained == expected, (
                f"{config_class.__name__}.{item.name} ({', '.join(sorted(fields))} changed): run {run!r} "
                f"{decision.action} ({decision.reason}); its declaration says {'train' if expected else 'reuse'}")
            if decision.trained:  # a decision to train drops the record: put it back for the next field
                record(checkpoint, run_settings(base, run), base)
            runs_checked += 1
    assert runs_checked == len(config_class.runs) * len(dataclasses.fields(config_class))


@pytest.mark.parametrize("config_class", (DataConfig, DeviseConfig), ids=lambda config_class: config_class.__name__)
def test_the_split_folder_follows_the_fields_declared_to_shape_it(config_class, tmp_path):
    base = config_class.for_profile("smoke", outputs=tmp_path)
    declared = {item.name for item in dataclasses.fields(config_class) if item.metadata.get("split")}
    assert declared == {"awa2_dir", "awa2_split", "images_per_class", "valid_fraction", "test_seen_fraction", "seed"}
    for item in dataclasses.fields(config_class):
        changed = changed_config(config_class, item.name, tmp_path)
        moved = split_settings(changed) != split_settings(base)
        assert moved == bool(changed_fields(base, changed) & declared), item.name


def test_declarations_name_only_the_parts_of_their_notebooks_runs():
    for config_class in CONFIGS:
        parts = {part for run_parts in config_class.runs.values() for part in run_parts}
        for item in dataclasses.fields(config_class):
            shapes = item.metadata.get("shapes", EVERY_RUN)
            if shapes != EVERY_RUN:
                assert set(shapes) <= parts, f"{config_class.__name__}.{item.name} names {shapes}; parts: {parts}"


def test_a_field_nobody_declared_shapes_every_run_and_a_display_knob_none(tmp_path):
    @dataclasses.dataclass
    class NextConfig(SiameseConfig):
        new_knob: int = 3  # added without a declaration
        new_plot_size: int = setting(5, shapes=NO_MODEL)

    for run in NextConfig.runs:
        assert "new_knob" in NextConfig.shaping_fields(run) and "new_plot_size" not in NextConfig.shaping_fields(run)
    checkpoint = tmp_path / "model.pt"
    base = NextConfig.for_profile("smoke", outputs=tmp_path)
    model = torch.nn.Linear(2, 1)
    fit_or_load(model, checkpoint, base, "digits", lambda: None)
    base.new_plot_size = 6
    assert not fit_or_load(model, checkpoint, base, "digits", lambda: None).trained
    base.new_knob = 4
    assert fit_or_load(model, checkpoint, base, "digits", lambda: None).trained


def test_fit_or_load_refuses_weights_that_do_not_fit_the_model_naming_the_file(tmp_path):
    checkpoint = tmp_path / "model.pt"
    config = SiameseConfig.for_profile("smoke", outputs=tmp_path)
    fit_or_load(torch.nn.Linear(4, 2), checkpoint, config, "digits", lambda: None)
    with pytest.raises(ValueError, match=f"^{checkpoint}: does not fit the Linear model: .*shape mismatch"):
        fit_or_load(torch.nn.Linear(3, 2), checkpoint, config, "digits", lambda: None)


@pytest.mark.parametrize("config_class", CONFIGS, ids=lambda config_class: config_class.__name__)
def test_validation_is_the_declared_rule(config_class):
    probes = (0, -1, 1.5, None, (), "", True)
    for item in dataclasses.fields(config_class):
        rule = item.metadata.get("rule")
        if rule is None:
            continue
        config = config_class.for_profile("smoke")
        refused = []
        for value in probes:
            try:
                setattr(config, item.name, value)
            except ConfigError as error:
                refused.append(str(error))
        assert refused, f"{config_class.__name__}.{item.name}: its rule accepts every probe"
        assert all(message.startswith(f"{config_class.__name__}.{item.name} = ") for message in refused), refused


def test_stages_decide_only_through_the_one_policy():
    """No stage decides or saves weights itself: each goes through ``fit_or_load`` (plain PyTorch) or
    ``decide_or_load`` (fastai), with settings from :func:`utils.training.checkpoints.run_settings`."""
    policy = {"decide", "save_weights", "shaping_settings"}
    for path in sorted((REPO_ROOT / "utils" / "stages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in policy:
                pytest.fail(f"{path.name}:{node.lineno} calls {node.func.id} directly")
