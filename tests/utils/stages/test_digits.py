"""The handwritten-digits Siamese model of the interactive extra; the widget only when ipywidgets and ipycanvas are there."""

import sys

import numpy as np
import pytest

from utils.config import SiameseConfig
from utils.stages.digits import (
    DIGIT_SIDE,
    PAD_SIDE,
    PEN_WIDTH,
    digit_drawing_widget,
    digits_folder,
    drawing_to_digit,
    load_digit_images,
    strokes_to_drawing,
    train_digit_siamese,
)

CELL = PAD_SIDE // DIGIT_SIDE  # pixels of the pad per cell of the 8×8 digit


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


def test_a_stroke_across_the_pad_inks_the_row_of_cells_it_crosses():
    row_centre = 3 * CELL + CELL / 2
    stroke = [(x, row_centre) for x in np.linspace(0, PAD_SIDE, 9)]  # the points of a drag, left to right
    expected = np.zeros((8, 8), dtype=np.float32)
    expected[3] = 1
    assert np.array_equal(drawing_to_digit(strokes_to_drawing([stroke])), expected)


def test_a_click_inks_a_dot():
    drawing = strokes_to_drawing([[(5 * CELL + CELL / 2, 2 * CELL + CELL / 2)]])  # a stroke of one point
    expected = np.zeros((8, 8), dtype=np.float32)
    expected[2, 5] = 1
    assert np.array_equal(drawing_to_digit(drawing), expected)
    assert abs(drawing.sum() - np.pi * (PEN_WIDTH / 2) ** 2) < 0.05 * drawing.sum()  # a disc, not a square
    assert not strokes_to_drawing([]).any() and not drawing_to_digit(strokes_to_drawing([])).any()


def test_strokes_to_drawing_equals_a_pixel_by_pixel_loop():
    rng = np.random.default_rng(0)
    side, pen_width = 16, 5.0
    strokes = [rng.uniform(0, side, size=(n_points, 2)).tolist() for n_points in (1, 2, 6)]

    def distance_to_segment(point, start, end) -> float:
        direction = end - start
        along = 0.0 if not direction.any() else min(max((point - start) @ direction / (direction @ direction), 0), 1)
        return float(np.linalg.norm(point - (start + along * direction)))

    expected = np.zeros((side, side), dtype=np.float32)
    for row in range(side):
        for column in range(side):
            centre = np.array([column + 0.5, row + 0.5])
            for stroke in map(np.array, strokes):
                segments = list(zip(stroke[:-1], stroke[1:], strict=True)) or [(stroke[0], stroke[0])]
                if any(distance_to_segment(centre, start, end) <= pen_width / 2 for start, end in segments):
                    expected[row, column] = 1
    assert np.array_equal(strokes_to_drawing(strokes, side, pen_width), expected)


def test_widget_compares_two_digits_drawn_by_pointer_events(digit_model):
    pytest.importorskip("ipycanvas")
    model, _ = digit_model
    images, labels = load_digit_images()
    widget = digit_drawing_widget(model, (images, labels))
    widget.compare()
    assert "ink" in widget.answer.value
    first, second = widget.pads

    def send(pad, event: str, **content) -> None:  # a message as the browser's canvas sends it
        pad.canvas._handle_frontend_event(None, {"event": event, **content}, [])

    send(first, "mouse_move", x=20, y=20)  # moving without a button pressed draws nothing
    send(first, "mouse_down", x=96, y=10)
    for y in (50, 100, 150):
        send(first, "mouse_move", x=96, y=y)
    send(first, "mouse_up", x=96, y=180)
    send(first, "mouse_move", x=10, y=180)
    # x = 96 is the border of cells 3 and 4: the pen covers half of each, all the way down except at the round ends.
    assert np.allclose(first.digit()[1:7, 3:5], 1) and not first.digit()[:, [0, 1, 2, 5, 6, 7]].any()
    assert 0 < first.digit()[0, 3] < 1 and len(first.strokes) == 1 and len(first.strokes[0]) == 5
    send(second, "touch_start", touches=[{"x": 96, "y": 96}])
    send(second, "touch_end", touches=[])
    assert second.digit().any() and len(second.strokes) == 1
    widget.compare()
    assert "distance" in widget.answer.value and "threshold" in widget.answer.value
    first.show_digit(images[0])
    assert "distance" not in widget.answer.value  # a verdict goes when its drawings change
    assert np.allclose(first.digit(), images[0] / images[0].max()) and not first.strokes
    first.clear()
    assert not first.digit().any()
    widget.compare()
    assert "ink" in widget.answer.value


def test_widget_says_how_to_install_ipycanvas_without_it(digit_model, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipycanvas", None)  # what `import ipycanvas` meets when it is not installed
    assert digit_drawing_widget(digit_model[0]) is None
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "pip install" in printed[0] and "ipycanvas" in printed[0]


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


def test_on_colab_the_widget_turns_on_colabs_custom_widget_manager(digit_model, monkeypatch):
    pytest.importorskip("ipycanvas")
    import types

    calls = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("enabled"))
    colab = types.ModuleType("google.colab")
    colab.output = output
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    assert digit_drawing_widget(digit_model[0]) is not None and calls == ["enabled"]
