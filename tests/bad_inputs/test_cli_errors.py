"""Every ``python -m utils.…`` CLI reports bad input as ONE line on stderr naming the file or setting, exit 2.

The CLIs run as a shell runs them (``sys.executable -m utils.X ...``), all at once in a thread pool (most of
the time is torch's import), each with ``ZSL_DEVICE=cpu`` unless the case is about the device. Configs are
checked when they are built: ``ConfigError`` names the class, the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from utils.config import AttributeZslConfig, DataConfig, DeviseConfig, SdlConfig, SearchConfig, SiameseConfig
from utils.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENE_IMAGE = REPO_ROOT / "data_samples" / "scenes" / "images" / "test_00000.jpg"


@dataclass(frozen=True)
class Case:
    """One command line: ``args`` and ``env`` may hold ``{tmp}`` (the cases' folder); ``expect`` must all be in
    the one line (``{tmp}`` expanded too)."""

    name: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    needs_no_cuda: bool = False


CASES = [
    Case("course-unknown-profile", ("utils.course", "--out", "{tmp}/course"), ("ZSL_PROFILE='nope'", "smoke"),
         {"ZSL_PROFILE": "nope"}),
    Case("course-unknown-budget", ("utils.course", "--out", "{tmp}/course"), ("ZSL_BUDGET='huge'", "tiny"),
         {"ZSL_BUDGET": "huge"}),
    Case("course-bad-option", ("utils.course", "--budget", "huge"), ("--budget", "'huge'")),
    Case("sdl-train-cuda-without-gpu", ("utils.stages.sdl", "train", "--profile", "smoke"),
         ("ZSL_DEVICE='cuda'", "no CUDA device", "available: cpu"), {"ZSL_DEVICE": "cuda"}, needs_no_cuda=True),
    Case("sdl-train-unparseable-device", ("utils.stages.sdl", "train", "--profile", "smoke"), ("ZSL_DEVICE", "'gpu9'"),
         {"ZSL_DEVICE": "gpu9"}),
    Case("sdl-train-unknown-profile", ("utils.stages.sdl", "train"), ("ZSL_PROFILE='nope'",), {"ZSL_PROFILE": "nope"}),
    Case("sdl-predict-empty-image", ("utils.stages.sdl", "predict", "{tmp}/EMPTY.jpg", "--checkpoint", "{tmp}/X.pt"),
         ("{tmp}/EMPTY.jpg", "empty")),
    Case("sdl-predict-text-as-jpg", ("utils.stages.sdl", "predict", "{tmp}/notes.jpg", "--checkpoint", "{tmp}/X.pt"),
         ("{tmp}/notes.jpg", "not an image")),
    Case("sdl-predict-truncated-jpg", ("utils.stages.sdl", "predict", "{tmp}/truncated.jpg", "--checkpoint", "{tmp}/X.pt"),
         ("{tmp}/truncated.jpg", "cannot be decoded")),
    Case("sdl-predict-missing-image", ("utils.stages.sdl", "predict", "{tmp}/missing.jpg", "--checkpoint", "{tmp}/X.pt"),
         ("no image at {tmp}/missing.jpg",)),
    Case("sdl-predict-top-k-negative", ("utils.stages.sdl", "predict", str(SCENE_IMAGE), "--top-k", "-3"),
         ("--top-k", "at least 1", "-3")),
    Case("sdl-predict-top-k-zero", ("utils.stages.sdl", "predict", str(SCENE_IMAGE), "--top-k", "0"),
         ("--top-k", "at least 1", "got 0")),
    Case("sdl-predict-missing-checkpoint", ("utils.stages.sdl", "predict", str(SCENE_IMAGE), "--checkpoint", "{tmp}/X.pt"),
         ("{tmp}/X.pt", "no SDL checkpoint")),
    Case("sdl-predict-garbage-checkpoint",
         ("utils.stages.sdl", "predict", str(SCENE_IMAGE), "--checkpoint", "{tmp}/garbage.pt"), ("{tmp}/garbage.pt",)),
    Case("devise-full-without-data", ("utils.stages.devise", "--profile", "full", "--no-oracle"),
         ("{tmp}/no_data/Animals_with_Attributes2", "python -m utils.download awa2"),
         # fastai's import warns about torch.jit (a third-party FutureWarning, not an error of ours)
         {"ZSL_DATA_DIR": "{tmp}/no_data", "PYTHONWARNINGS": "ignore::FutureWarning"}),
    Case("attribute-zsl-unknown-dataset", ("utils.stages.attribute_zsl", "--dataset", "imagenet"),
         ("--dataset", "'IMAGENET'", "AWA2")),
    Case("attribute-zsl-unknown-loss", ("utils.stages.attribute_zsl", "--losses", "mse", "l7"), ("--losses", "'l7'")),
    Case("attribute-zsl-missing-xlsa17", ("utils.stages.attribute_zsl", "--profile", "smoke", "--xlsa17-dir", "{tmp}/nox"),
         ("{tmp}/nox", "python -m utils.download xlsa17")),
    Case("copy-awa2-missing-source", ("utils.splits.copy_awa2", "{tmp}/missing_awa2", "{tmp}/split", "--quiet"),
         ("{tmp}/missing_awa2", "not found")),
    Case("copy-awa2-zero-images", ("utils.splits.copy_awa2", "{tmp}/missing_awa2", "{tmp}/split", "--images-per-class", "0"),
         ("--images-per-class", "at least 1")),
    Case("copy-awa2-bad-test-seen", ("utils.splits.copy_awa2", str(REPO_ROOT / "data_samples" / "awa2"), "{tmp}/split", "--test-seen", "1"),
         ("--test-seen", "[0, 1)", "not 1.0")),
    Case("devise-full-without-the-proposed-split", ("utils.stages.devise", "--profile", "full", "--no-oracle"),
         ("{tmp}/awa2_only/xlsa17/data/AWA2/att_splits.mat", "python -m utils.download xlsa17"),
         {"ZSL_DATA_DIR": "{tmp}/awa2_only", "PYTHONWARNINGS": "ignore::FutureWarning"}),
    Case("move-awa2-missing-folder", ("utils.splits.move_awa2", "{tmp}/missing_split", "--quiet"),
         ("{tmp}/missing_split", "not found")),
    Case("move-awa2-bad-fraction", ("utils.splits.move_awa2", "{tmp}/split_with_train", "--valid", "1.5", "--quiet"),
         ("--valid", "1.5")),
    Case("download-unknown-name", ("utils.download", "imagenet", "--dest", "{tmp}/data"), ("'imagenet'", "awa2")),
    Case("datasets-check-missing", ("utils.datasets", "check", "{tmp}/nowhere"), ("{tmp}/nowhere",)),
    Case("datasets-check-bad-option", ("utils.datasets", "check", "{tmp}/nowhere", "--imgaes"),
         ("unrecognized arguments: --imgaes", "--help")),
    Case("datasets-no-command", ("utils.datasets",), ("COMMAND",)),
    Case("make-samples-unknown-part", ("utils.sample_world", "--out", "{tmp}/samples", "--parts", "nope"),
         ("'nope'", "awa2")),
    Case("make-samples-bad-number", ("utils.sample_world", "--out", "{tmp}/samples", "--seed", "x"), ("--seed",)),
]

DEBUG_CASES = [
    Case("debug-flag-shows-traceback",
         ("utils.stages.sdl", "predict", "{tmp}/EMPTY.jpg", "--checkpoint", "{tmp}/X.pt", "--debug"), ("{tmp}/EMPTY.jpg",)),
    Case("zsl-debug-shows-traceback", ("utils.splits.copy_awa2", "{tmp}/missing_awa2", "{tmp}/split", "--quiet"),
         ("{tmp}/missing_awa2",), {"ZSL_DEBUG": "1"}),
]


def _prepare(folder: Path) -> None:
    (folder / "EMPTY.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a picture, just some text\n")
    (folder / "truncated.jpg").write_bytes(SCENE_IMAGE.read_bytes()[:300])
    (folder / "garbage.pt").write_text("this is not a checkpoint\n")
    (folder / "split_with_train" / "train" / "cat").mkdir(parents=True)
    (folder / "no_data").mkdir()
    shutil.copytree(REPO_ROOT / "data_samples" / "awa2", folder / "awa2_only" / "Animals_with_Attributes2",
                    ignore=shutil.ignore_patterns("JPEGImages"))


def _run(case: Case, folder: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZSL_")}
    env.update({"ZSL_DEVICE": "cpu", "ZSL_OUTPUTS_DIR": str(folder / "outputs"), "PYTHONPATH": str(REPO_ROOT)})
    env.update({key: value.format(tmp=folder) for key, value in case.env.items()})
    arguments = [argument.format(tmp=folder) for argument in case.args]
    return subprocess.run(
        [sys.executable, "-m", *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, dict[str, subprocess.CompletedProcess]]:
    """Every case's finished process, by name (run concurrently: most of the time is importing torch)."""
    folder = tmp_path_factory.mktemp("bad_inputs")
    _prepare(folder)
    cases = CASES + DEBUG_CASES
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda case: _run(case, folder), cases))
    return folder, {case.name: result for case, result in zip(cases, results, strict=True)}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_one_line_on_stderr_exit_2(case: Case, finished) -> None:
    if case.needs_no_cuda:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA device")
    folder, results = finished
    result = results[case.name]
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), result.stderr
    for expected in case.expect:
        assert expected.format(tmp=folder) in lines[0], (expected, lines[0])


@pytest.mark.parametrize("case", DEBUG_CASES, ids=[case.name for case in DEBUG_CASES])
def test_debug_adds_the_traceback(case: Case, finished) -> None:
    folder, results = finished
    result = results[case.name]
    assert result.returncode == 2, result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and all(text.format(tmp=folder) in last for text in case.expect), last


# ------------------------------------------------------------------------------------ configs when built


@pytest.mark.parametrize(
    ("build", "field_name"),
    [
        (lambda: DeviseConfig.for_profile("smoke", stage1_epochs=0), "DeviseConfig.stage1_epochs = 0"),
        (lambda: DeviseConfig(head_epochs=0), "DeviseConfig.head_epochs = 0"),
        (lambda: DeviseConfig(unfrozen_epochs=-1), "DeviseConfig.unfrozen_epochs = -1"),
        (lambda: DeviseConfig(oracle_epochs=0), "DeviseConfig.oracle_epochs = 0"),
        (lambda: DeviseConfig(n_gammas=0), "DeviseConfig.n_gammas = 0"),
        (lambda: DeviseConfig(oracle_test_fraction=1.0), "DeviseConfig.oracle_test_fraction = 1.0"),
        (lambda: DeviseConfig(validation_holdout_fraction=-0.1), "DeviseConfig.validation_holdout_fraction = -0.1"),
        (lambda: DeviseConfig(oracle_batch_size=0), "DeviseConfig.oracle_batch_size = 0"),
        (lambda: SiameseConfig(batch_size=0), "SiameseConfig.batch_size = 0"),
        (lambda: SiameseConfig.for_profile("smoke", epochs=0), "SiameseConfig.epochs = 0"),
        (lambda: SiameseConfig(digits_epochs=0), "SiameseConfig.digits_epochs = 0"),
        (lambda: SiameseConfig(n_episodes=0), "SiameseConfig.n_episodes = 0"),
        (lambda: SiameseConfig(train_fraction=0.0), "SiameseConfig.train_fraction = 0.0"),
        (lambda: SiameseConfig(validation_fraction=1), "SiameseConfig.validation_fraction = 1"),
        (lambda: SiameseConfig(sweep_fractions=(0.5, 1.2)), "SiameseConfig.sweep_fractions = (0.5, 1.2)"),
        (lambda: DataConfig(valid_fraction=1.5), "DataConfig.valid_fraction = 1.5"),
        (lambda: DataConfig(images_per_class=0), "DataConfig.images_per_class = 0"),
        (lambda: AttributeZslConfig(test_seen_fraction=0), "AttributeZslConfig.test_seen_fraction = 0"),
        (lambda: AttributeZslConfig(image_epochs=0), "AttributeZslConfig.image_epochs = 0"),
        (lambda: AttributeZslConfig.for_profile("sample", feature_epochs=0), "AttributeZslConfig.feature_epochs = 0"),
        (lambda: AttributeZslConfig(image_size=0), "AttributeZslConfig.image_size = 0"),
        (lambda: SdlConfig(top_k=(5, -3)), "SdlConfig.top_k = (5, -3)"),
        (lambda: SdlConfig(epochs=0), "SdlConfig.epochs = 0"),
        (lambda: SdlConfig(learning_rate=0.0), "SdlConfig.learning_rate = 0.0"),
        (lambda: SdlConfig(device="gpu"), "SdlConfig.device = 'gpu'"),
        (lambda: SearchConfig(k=0), "SearchConfig.k = 0"),
        (lambda: SearchConfig.for_profile("smoke", stage1_epochs=0), "SearchConfig.stage1_epochs = 0"),
        (lambda: DataConfig(profile="nope"), "DataConfig.profile = 'nope'"),
        (lambda: DataConfig(budget="huge"), "DataConfig.budget = 'huge'"),
    ],
)
def test_a_config_is_checked_when_it_is_built(build, field_name: str) -> None:
    with pytest.raises(ConfigError) as raised:
        build()
    message = str(raised.value)
    assert message.startswith(field_name + ":"), message
    assert "must" in message or "not a device" in message, message


@pytest.mark.parametrize(
    ("config_class", "field_name", "value", "expected"),
    [
        (DeviseConfig, "stage1_epochs", 0, "DeviseConfig.stage1_epochs = 0: must be an integer of at least 1"),
        (DeviseConfig, "batch_size", "32", "DeviseConfig.batch_size = '32': must be an integer of at least 1"),
        (SiameseConfig, "train_fraction", 1.0, "SiameseConfig.train_fraction = 1.0: must be a fraction"),
        (SdlConfig, "device", "gpu", "SdlConfig.device = 'gpu': not a device torch can parse"),
        (AttributeZslConfig, "image_learning_rate", -1e-3, "AttributeZslConfig.image_learning_rate = -0.001: must be a number"),
        (DataConfig, "profile", "ful", "DataConfig.profile = 'ful': must be one of"),
        (SearchConfig, "ef_search_sweep", (5, 0), "SearchConfig.ef_search_sweep = (5, 0): must be a non-empty list"),
    ],
)
def test_an_assignment_after_the_build_is_checked_and_a_refused_value_not_kept(
    config_class, field_name: str, value, expected: str
) -> None:
    config = config_class.for_profile("smoke")
    before = getattr(config, field_name)

    with pytest.raises(ConfigError) as raised:
        setattr(config, field_name, value)

    assert str(raised.value).startswith(expected), str(raised.value)
    assert getattr(config, field_name) == before
    assert raised.value._render_traceback_() == [f"{type(raised.value).__name__}: {raised.value}"]


def test_a_misspelt_field_is_an_error_not_a_new_attribute() -> None:
    config = SiameseConfig.for_profile("smoke")

    with pytest.raises(ConfigError, match=r"SiameseConfig has no field 'epoch'; did you mean 'epochs'\?"):
        config.epoch = 5

    assert not hasattr(config, "epoch")
    config.epochs = 5  # a valid assignment still works, and is kept
    assert config.epochs == 5


def test_every_profile_and_budget_builds_and_replace_checks_again() -> None:
    for config_class in (DataConfig, AttributeZslConfig, SiameseConfig, SdlConfig, DeviseConfig, SearchConfig):
        for profile in ("smoke", "sample", "full"):
            for budget in (None, "tiny"):
                config = config_class.for_profile(profile, budget)
        with pytest.raises(ConfigError, match=rf"{config_class.__name__}\.device = 'tpu!'"):
            dataclasses.replace(config, device="tpu!")


def test_unknown_profile_and_override_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="ZSL_PROFILE='nope'"):
        SdlConfig.for_profile("nope")
    with pytest.raises(TypeError, match="no field"):  # also a ConfigError
        SdlConfig.for_profile("smoke", epoch=3)
    with pytest.raises(ConfigError, match="no field"):
        SdlConfig.for_profile("smoke", epoch=3)


def test_choose_device_names_zsl_device(monkeypatch) -> None:
    import torch

    from utils.runtime import choose_device

    monkeypatch.setenv("ZSL_DEVICE", "quantum")
    with pytest.raises(ConfigError, match="ZSL_DEVICE = 'quantum'"):
        choose_device(verbose=False)
    if not torch.cuda.is_available():
        monkeypatch.setenv("ZSL_DEVICE", "cuda")
        with pytest.raises(ConfigError, match="ZSL_DEVICE='cuda'.*available: cpu"):
            choose_device(verbose=False)
