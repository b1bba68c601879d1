"""utils.plots: what the figures draw (no screen needed: the Agg backend)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from utils.plots import (
    class_scatter_plot,
    distance_histograms,
    image_strip,
    principal_vectors_plot,
    titled_image_grid,
    training_curves,
)


def test_image_strip_draws_one_captioned_image_per_path(tmp_path):
    paths = []
    for position, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        paths.append(tmp_path / f"{position}.png")
        Image.new("RGB", (20, 10), colour).save(paths[-1])
    figure = image_strip(paths, titles=["query", "leopard 0.91", "pig 0.40"], title="spotted big cat",
                         highlight={2}, thumbnail=8)
    axes = figure.axes
    assert len(axes) == 3
    assert [axis.get_title() for axis in axes] == ["query", "leopard 0.91", "pig 0.40"]
    assert axes[2].title.get_color() == "red" and axes[1].title.get_color() == "black"
    shown = np.asarray(axes[1].images[0].get_array())
    assert shown.shape == (8, 8, 3) and tuple(shown[0, 0]) == (0, 255, 0)
    assert figure._suptitle.get_text() == "spotted big cat"
    plt.close(figure)
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        image_strip(paths, titles=["a", "b"])


def _solid_images(colours, side=4):
    return [np.full((side, side, 3), colour, dtype=np.uint8) for colour in colours]


def test_titled_image_grid_fills_rows_with_coloured_captions_and_blanks_the_rest():
    images = _solid_images([(255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 9, 9), (50, 50, 50)])
    figure = titled_image_grid(images, ["query: cat", "query: dog", "→ cat", "→ fox", ""],
                               title_colours=["black", "black", "green", "red", "black"], n_columns=2,
                               panel_size=(1.5, 2.0), fontsize=7)
    axes = figure.axes
    assert len(axes) == 6  # 3 rows × 2 columns, the sixth cell blank
    assert [len(axis.images) for axis in axes] == [1, 1, 1, 1, 1, 0]
    assert [axis.get_title() for axis in axes] == ["query: cat", "query: dog", "→ cat", "→ fox", "", ""]
    assert [axes[index].title.get_color() for index in range(4)] == ["black", "black", "green", "red"]
    assert axes[2].title.get_fontsize() == 7
    assert tuple(np.asarray(axes[1].images[0].get_array())[0, 0]) == (0, 255, 0)
    assert not any(axis.axison for axis in axes)
    assert tuple(figure.get_size_inches()) == (3.0, 6.0)
    plt.close(figure)


def test_titled_image_grid_draws_grey_digits_in_one_row_by_default_and_checks_lengths():
    digits = [np.eye(8), np.ones((8, 8))]
    figure = titled_image_grid(digits, cmap="gray_r", figsize=(7, 3.6))
    assert len(figure.axes) == 2 and [axis.get_title() for axis in figure.axes] == ["", ""]
    assert figure.axes[0].images[0].get_cmap().name == "gray_r"
    assert tuple(figure.get_size_inches()) == (7, 3.6)
    plt.close(figure)
    with pytest.raises(ValueError, match="1 titles for 2 images"):
        titled_image_grid(digits, titles=["same"])
    with pytest.raises(ValueError, match="3 title colours for 2 images"):
        titled_image_grid(digits, title_colours=["red"] * 3)
    with pytest.raises(ValueError, match="no images"):
        titled_image_grid([])


def test_training_curves_draws_one_titled_panel_per_column():
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.9, 0.5, 0.4],
                            "validation_triplet_accuracy": [0.6, 0.7, 0.8]})
    figure = training_curves(history, {"train_loss": "training loss",
                                       "validation_triplet_accuracy": "validation triplet accuracy"},
                             figsize=(9, 3))
    axes = figure.axes
    assert [axis.get_title() for axis in axes] == ["training loss", "validation triplet accuracy"]
    assert [axis.get_xlabel() for axis in axes] == ["epoch", "epoch"]
    line = axes[1].lines[0]
    assert list(line.get_xdata()) == [1, 2, 3] and list(line.get_ydata()) == [0.6, 0.7, 0.8]
    assert line.get_marker() == "o" and axes[0].get_legend() is None
    plt.close(figure)
    assert [axis.get_title() for axis in training_curves(history, ["train_loss"]).axes] == ["train_loss"]
    plt.close("all")
    with pytest.raises(ValueError, match="no column missing"):
        training_curves(history, ["missing"])


def test_training_curves_colour_each_phase_and_keep_the_curve_joined():
    log = pd.DataFrame({"phase": ["2a", "2a", "2b", "2b"], "epoch": [0, 1, 2, 3], "valid_loss": [0.9, 0.8, 0.6, 0.5]})
    figure = training_curves(log, ["valid_loss"], phase="phase")
    first, second = figure.axes[0].lines
    assert (first.get_label(), second.get_label()) == ("phase 2a", "phase 2b")
    assert list(first.get_xdata()) == [0, 1] and list(second.get_xdata()) == [1, 2, 3]  # 2b starts where 2a ended
    assert [text.get_text() for text in figure.axes[0].get_legend().get_texts()] == ["phase 2a", "phase 2b"]
    plt.close(figure)
    with pytest.raises(ValueError, match="no column stage"):
        training_curves(log, ["valid_loss"], phase="stage")


def test_distance_histograms_draw_two_histograms_and_the_threshold_line():
    rng = np.random.default_rng(0)
    figure = distance_histograms(rng.uniform(0, 0.5, 50), rng.uniform(0.4, 1.0, 60), 0.45,
                                 xlabel="cosine distance", bins=10)
    (axis,) = figure.axes
    assert len(axis.patches) == 20  # two histograms of 10 bars
    assert {patch.get_facecolor()[:3] for patch in axis.patches} == {to_rgb("tab:blue"), to_rgb("tab:orange")}
    (threshold_line,) = axis.lines
    assert list(threshold_line.get_xdata()) == [0.45, 0.45]
    assert threshold_line.get_linestyle() == "--" and threshold_line.get_color() == "black"
    assert axis.get_xlabel() == "cosine distance"
    assert [text.get_text() for text in axis.get_legend().get_texts()] == [
        "same class", "different classes", "threshold (validation)"]
    plt.close(figure)


def test_class_scatter_plot_draws_one_colour_per_chosen_class():
    points = np.array([[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]], dtype=float)
    labels = np.array([7, 3, 7, 3, 9])
    figure = class_scatter_plot(points, labels, {7: "apple", 3: "bee"}, title="held-out classes")
    (axis,) = figure.axes
    assert len(axis.collections) == 2  # class 9 is not drawn
    assert [len(collection.get_offsets()) for collection in axis.collections] == [2, 2]
    assert np.allclose(axis.collections[1].get_offsets(), [[1, 1], [3, 3]])
    assert [tuple(collection.get_facecolor()[0][:3]) for collection in axis.collections] == [
        to_rgb("tab:blue"), to_rgb("tab:orange")]
    assert [text.get_text() for text in axis.get_legend().get_texts()] == ["apple", "bee"]
    assert axis.get_title() == "held-out classes"
    plt.close(figure)
    with pytest.raises(ValueError, match="expected"):
        class_scatter_plot(points[:, :1], labels, ["a"])


def test_principal_vectors_plot_draws_grey_labels_and_red_principal_vectors():
    label_vectors = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    principal_vectors = label_vectors[:2].T  # shape (d=2, M=2)
    figure = principal_vectors_plot(label_vectors, ["whale", "rabbit", "zebra", "panda"], principal_vectors)
    (axis,) = figure.axes
    colours = [patch.get_facecolor()[:3] for patch in axis.patches]
    assert colours.count(to_rgb("grey")) == 4 and colours.count(to_rgb("tab:red")) == 2
    assert [text.get_text() for text in axis.texts] == ["whale", "rabbit", "zebra", "panda"]
    assert np.allclose(axis.texts[0].xy, (1.15, 0.0))
    assert axis.get_xlim() == (-1.4, 1.4) and axis.get_aspect() == 1.0
    assert axis.get_title() == "labels (grey) and principal vectors (red)"
    plt.close(figure)
    with pytest.raises(ValueError, match="shape"):
        principal_vectors_plot(label_vectors, ["whale"], principal_vectors)


def test_heat_map_labels_grow_with_room_and_a_small_matrix_writes_its_values():
    from utils.plots import heat_map

    names = [f"class {i}" for i in range(10)]
    confusion = np.diag(np.arange(1, 11)).astype(float)
    confusion[0, 1] = 3
    figure = heat_map(confusion, names, names, cmap="Blues", figsize=(6, 5))
    axis = figure.axes[0]
    assert {tick.get_fontsize() for tick in axis.get_yticklabels()} == {10.0}  # 10 labels over 5 inches
    texts = {(text.get_position(), text.get_text()): text.get_color() for text in axis.texts}
    assert len(texts) == 100 and texts[((1, 0), "3")] == "black" and texts[((9, 9), "10")] == "white"
    plt.close(figure)
    big = heat_map(np.random.default_rng(0).random((50, 50)), [f"c{i}" for i in range(50)],
                   [f"c{i}" for i in range(50)], figsize=(10, 9))
    assert not big.axes[0].texts  # 2 500 cells: the colours alone
    assert 7 <= big.axes[0].get_yticklabels()[0].get_fontsize() <= 9
    plt.close(big)
