"""The handwritten-digits Siamese model of the interactive extra; the widget only when ipywidgets is there."""

import numpy as np
import pytest

from utils.config import SiameseConfig
from utils.stages.digits import (
    digit_drawing_widget,
    digits_folder,
    drawing_to_digit,
    load_digit_images,
    train_digit_siamese,
)


def test_drawing_to_digit_averages_blocks_like_load_digits():
    drawing = np.zeros((32, 32))
    drawing[:, 8:12] = 1  # one column of 4×4 blocks, the second block column
    digit = drawing_to_digit(drawing)
    assert digit.shape == (8, 8)
    assert np.allclose(digit[:, 2], 1) and np.allclose(np.delete(digit, 2, axis=1), 0)
    pad = (np.arange(64).reshape(8, 8) % 3 == 0).astype(float)
    assert np.allclose(drawing_to_digit(pad), pad)


def test_digits_are_real_and_scaled():
    images, labels = load_digit_images()
    assert images.shape == (1797, 8, 8) and images.min() == 0 and images.max() == 1
    assert set(labels.tolist()) == set(range(10))


@pytest.fixture(scope="module")
def digit_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    return train_digit_siamese(SiameseConfig(digits_epochs=3), folder=folder), folder


def test_digit_siamese_tells_same_from_different(digit_model):
    model, folder = digit_model
    assert model.test_binary_accuracy > 0.75
    images, labels = load_digit_images()
    zeros, ones = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    assert model.distance_between(images[zeros[0]], images[zeros[1]]) < model.distance_between(images[zeros[0]], images[ones[0]])
    loaded = train_digit_siamese(SiameseConfig(digits_epochs=3, progress=True), device="cpu", folder=folder)
    assert not loaded.decision.trained and loaded.decision.reason == "settings unchanged"
    assert loaded.threshold == model.threshold and loaded.test_binary_accuracy == model.test_binary_accuracy


def test_widget_compares_two_drawn_digits(digit_model):
    pytest.importorskip("ipywidgets")
    model, _ = digit_model
    images, labels = load_digit_images()
    widget = digit_drawing_widget(model, (images, labels))
    widget.compare()
    assert "ink" in widget.answer.value
    widget.fill(widget.pads[0], images[0])
    widget.fill(widget.pads[1], images[10])
    widget.compare()
    assert "distance" in widget.answer.value and "threshold" in widget.answer.value


def test_the_digits_model_retrains_when_what_shapes_it_changes(tmp_path):
    def reason(config_changes=None, **arguments) -> str:
        config = SiameseConfig(**{"digits_epochs": 1, **(config_changes or {})})
        return train_digit_siamese(config, folder=tmp_path, **arguments).decision.reason

    assert reason() == "no checkpoint yet"
    assert reason(device="cpu") == "settings unchanged"
    assert reason({"epochs": 3, "margin": 0.7}) == "settings unchanged"  # the CIFAR-100 runs' fields
    assert reason(margin=0.4) == "margin 0.5 → 0.4"
    assert reason({"retrain": True}, margin=0.4) == "retrain=True"
    (tmp_path / "model.json").unlink()  # the older layout: a checkpoint alone
    assert reason(margin=0.4) == "no settings recorded beside the checkpoint"
    assert reason({"seed": 1}, margin=0.4) == "seed 0 → 1"
    assert reason({"seed": 1, "digits_epochs": 2}, margin=0.4) == "digits_epochs 1 → 2"


def test_digits_folder_is_one_per_run_label(tmp_path):
    config = SiameseConfig.for_profile("smoke", outputs=tmp_path)
    assert digits_folder(config) == tmp_path / "siamese" / "smoke" / "digits_small_convnet"


@pytest.mark.slow
def test_two_processes_train_bit_identical_digit_models(tmp_path):
    from tests.utils.stages._stage_fingerprints import run_twice

    first, second = run_twice("digits", tmp_path)
    assert set(first) == {"digits", "figures"} and first == second
