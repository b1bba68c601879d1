"""Plots the notebooks show inline: image grids, attribute and similarity heat maps.

Every function draws on a new (or given) matplotlib figure and returns it, so notebooks display
it and tests can check what was drawn without a screen.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

if matplotlib.get_backend().lower() not in {"module://matplotlib_inline.backend_inline", "inline"}:
    import os

    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def image_grid(
    image_paths_by_class: dict[str, list[Path]],
    images_per_class: int = 6,
    highlight: set[str] | None = None,
    thumbnail: int = 64,
    columns_of_classes: int = 2,
):
    """A grid with one row of ``images_per_class`` thumbnails per class, in blocks side by side.

    Args:
        image_paths_by_class: class name → image paths (the first ``images_per_class`` are shown).
        highlight: class names whose labels are drawn in red (e.g. the unseen classes).
        thumbnail: side of each thumbnail in pixels.
        columns_of_classes: how many class blocks share a row of the figure.
    """
    highlight = highlight or set()
    class_names = list(image_paths_by_class)
    n_rows = int(np.ceil(len(class_names) / columns_of_classes))
    n_columns = columns_of_classes * images_per_class
    figure, axes = plt.subplots(n_rows, n_columns, figsize=(n_columns * 0.75, n_rows * 0.8), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for position, class_name in enumerate(class_names):
        row, block = divmod(position, columns_of_classes)
        for offset, path in enumerate(image_paths_by_class[class_name][:images_per_class]):
            axis = axes[row, block * images_per_class + offset]
            axis.imshow(Image.open(path).convert("RGB").resize((thumbnail, thumbnail)))
            if offset == 0:
                colour = "red" if class_name in highlight else "black"
                axis.set_title(class_name, fontsize=7, loc="left", color=colour)
    figure.tight_layout(pad=0.2)
    return figure


def heat_map(
    matrix: np.ndarray,
    row_labels,
    column_labels,
    title: str = "",
    cmap: str = "viridis",
    highlight_rows: set[str] | None = None,
    figsize: tuple[float, float] | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
):
    """A labelled heat map of ``matrix`` of shape (n_rows, n_columns); highlighted row labels in red."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.shape != (len(row_labels), len(column_labels)):
        raise ValueError(f"matrix of shape {matrix.shape} does not match {len(row_labels)} × {len(column_labels)} labels")
    figsize = figsize or (max(4, 0.2 * len(column_labels) + 2), max(3, 0.17 * len(row_labels) + 1))
    figure, axis = plt.subplots(figsize=figsize)
    image = axis.imshow(matrix, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    axis.set_xticks(range(len(column_labels)), column_labels, rotation=90, fontsize=6)
    axis.set_yticks(range(len(row_labels)), row_labels, fontsize=6)
    for tick, label in zip(axis.get_yticklabels(), row_labels, strict=True):
        if highlight_rows and label in highlight_rows:
            tick.set_color("red")
    axis.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axis, fraction=0.03)
    figure.tight_layout()
    return figure


def image_strip(
    image_paths,
    titles=None,
    title: str = "",
    highlight: set[int] | None = None,
    thumbnail: int = 96,
):
    """One row of images, e.g. a query followed by its search results (notebook 04).

    Args:
        image_paths: the images, left to right.
        titles: a caption per image (a class name and similarity, say), or ``None``.
        title: the figure's title (the query).
        highlight: positions whose captions are drawn in red (wrong-class results, say).
        thumbnail: side of each thumbnail in pixels.
    """
    image_paths = list(image_paths)
    if not image_paths:
        raise ValueError("no images to show")
    if titles is not None and len(titles) != len(image_paths):
        raise ValueError(f"{len(titles)} titles for {len(image_paths)} images")
    highlight = highlight or set()
    figure, axes = plt.subplots(1, len(image_paths), figsize=(1.3 * len(image_paths), 1.9), squeeze=False)
    for position, (axis, path) in enumerate(zip(axes[0], image_paths, strict=True)):
        axis.imshow(Image.open(path).convert("RGB").resize((thumbnail, thumbnail)))
        axis.axis("off")
        if titles is not None:
            axis.set_title(str(titles[position]), fontsize=7, color="red" if position in highlight else "black")
    if title:
        figure.suptitle(title, fontsize=9)
    # Leave the top band to the suptitle so it does not overprint two-line captions.
    figure.tight_layout(pad=0.2, rect=(0, 0, 1, 0.86 if title else 1))
    return figure



def embedding_pca_plot(
    image_points: np.ndarray,
    image_labels: np.ndarray,
    label_points: np.ndarray,
    label_names,
    title: str = "",
    axis=None,
):
    """Image embeddings (dots) and label vectors (triangles) of the same classes in one 2-D projection.

    Args:
        image_points: array of shape (n_images, 2), e.g. from :func:`utils.embeddings.pca_projection`.
        image_labels: index into ``label_names`` of every image, of shape (n_images,).
        label_points: array of shape (n_labels, 2), one per name in ``label_names``.
        label_names: the classes drawn, one colour each.
        axis: draw into this matplotlib axis (default: a new figure).
    """
    figure = None
    if axis is None:
        figure, axis = plt.subplots(figsize=(5, 4.5))
    colours = plt.get_cmap("tab10")
    for index, name in enumerate(label_names):
        chosen = np.asarray(image_labels) == index
        axis.scatter(*image_points[chosen].T, s=12, alpha=0.6, color=colours(index % 10), label=name)
        axis.scatter(*label_points[index], marker="^", s=160, edgecolor="black", color=colours(index % 10))
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7, loc="best")
    axis.set_xticks([])
    axis.set_yticks([])
    return figure or axis.figure


def per_class_bars(values: np.ndarray, class_names, title: str = "", chance: float | None = None):
    """Horizontal bars of one value per class (e.g. per-class accuracy), with an optional chance line."""
    figure, axis = plt.subplots(figsize=(5, max(2.5, 0.28 * len(class_names) + 1)))
    axis.barh(range(len(class_names)), values, color="tab:blue")
    axis.set_yticks(range(len(class_names)), class_names, fontsize=8)
    axis.invert_yaxis()
    if chance is not None:
        axis.axvline(chance, color="red", linestyle="--", label=f"chance {chance:.2f}")
        axis.legend(fontsize=7)
    axis.set_xlim(0, 1)
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure


def embedding_animation(frames: list[tuple[np.ndarray, np.ndarray]], image_labels, label_names, titles, path: Path):
    """An animated GIF of :func:`embedding_pca_plot` frames, written with Pillow; returns ``path``.

    Args:
        frames: one ``(image_points, label_points)`` pair per frame (e.g. per epoch).
        titles: one title per frame.
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    figure, axis = plt.subplots(figsize=(5, 4.5))

    def draw(index):
        axis.clear()
        image_points, label_points = frames[index]
        embedding_pca_plot(image_points, image_labels, label_points, label_names, titles[index], axis=axis)

    animation = FuncAnimation(figure, draw, frames=len(frames))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    animation.save(path, writer=PillowWriter(fps=1))
    plt.close(figure)
    return path
