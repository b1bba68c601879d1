"""Plots the notebooks show inline: image grids, heat maps, embeddings, training curves, distances.

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


ANNOTATED_CELLS = 144
"""A heat map of at most this many cells (12 × 12) writes each cell's value."""
DARK_LOW_CMAPS = ("viridis", "magma", "inferno", "plasma", "cividis")
"""Colour maps that are dark at their low end (the others, e.g. ``Blues``, are light there)."""


def tick_font_size(inches: float, n_labels: int) -> float:
    """A tick label size in points that fits ``n_labels`` labels along ``inches``: 70% of each label's share of
    the axis, between 6 and 10 points (a 50-label axis of 8 inches gets 8 points; fixed 6-point labels were too
    small to read)."""
    return float(np.clip(0.7 * 72 * max(inches, 1.0) / max(n_labels, 1), 6, 10))


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
    axis.set_xticks(range(len(column_labels)), column_labels, rotation=90,
                    fontsize=tick_font_size(figsize[0] - 1.5, len(column_labels)))
    axis.set_yticks(range(len(row_labels)), row_labels, fontsize=tick_font_size(figsize[1] - 1.5, len(row_labels)))
    if matrix.size <= ANNOTATED_CELLS:
        # A small matrix is read cell by cell: write each value, dark on light cells and light on dark ones.
        middle = np.nanmean([np.nanmin(matrix), np.nanmax(matrix)])
        for (row, column), value in np.ndenumerate(matrix):
            text = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
            axis.text(column, row, text, ha="center", va="center", fontsize=8,
                      color="white" if (value > middle) != (cmap in DARK_LOW_CMAPS) else "black")
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


def titled_image_grid(
    images,
    titles=None,
    title_colours=None,
    n_columns: int | None = None,
    figsize: tuple[float, float] | None = None,
    panel_size: tuple[float, float] = (1.6, 1.7),
    fontsize: float = 8,
    cmap: str | None = None,
):
    """Images in a grid, row by row, each with its own caption and caption colour, axes hidden.

    Triplets (anchor / positive / negative rows), one-shot queries above the support each was given
    (green when right, red when wrong), pairs of digits with the model's verdict, a gallery of scenes
    with their true and predicted tags: all are this grid.

    Args:
        images: a sequence of ``n_images`` arrays, each of shape (height, width) or (height, width, 3),
            in row-major order (the first ``n_columns`` make the first row).
        titles: one caption per image (``None`` or ``""`` leaves that image without one), or ``None``.
        title_colours: one matplotlib colour per caption, or ``None`` for black captions.
        n_columns: images per row (default: all in one row); empty cells of the last row stay blank.
        figsize: the figure's (width, height) in inches; default ``panel_size`` times the grid's shape.
        panel_size: (width, height) in inches of one cell, used when ``figsize`` is ``None``.
        fontsize: the captions' font size.
        cmap: colour map of single-channel images (e.g. ``"gray_r"`` for digits).

    Returns:
        The matplotlib Figure, with ``n_rows × n_columns`` axes.
    """
    images = list(images)
    if not images:
        raise ValueError("no images to show")
    for name, values in (("titles", titles), ("title colours", title_colours)):
        if values is not None and len(values) != len(images):
            raise ValueError(f"{len(values)} {name} for {len(images)} images")
    n_columns = n_columns or len(images)
    n_rows = -(-len(images) // n_columns)
    figsize = figsize or (panel_size[0] * n_columns, panel_size[1] * n_rows)
    figure, axes = plt.subplots(n_rows, n_columns, figsize=figsize, squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for position, (axis, image) in enumerate(zip(axes.flat, images, strict=False)):
        axis.imshow(np.asarray(image), cmap=cmap)
        if titles is not None and titles[position]:
            colour = title_colours[position] if title_colours is not None else "black"
            axis.set_title(str(titles[position]), fontsize=fontsize, color=colour)
    figure.tight_layout()
    return figure


def training_curves(history, columns, x: str = "epoch", figsize: tuple[float, float] | None = None,
                    phase: str | None = None):
    """One panel per logged column of a training history, against ``x``, with a marker per epoch.

    Args:
        history: a pandas DataFrame of ``n_epochs`` rows with an ``x`` column (e.g. a ``log.csv``).
        columns: column name → panel title (a dict), or a list of column names (titled by their names).
        x: the column on the horizontal axis.
        figsize: the figure's (width, height) in inches; default 4.5 × 3 per panel.
        phase: a column naming each epoch's training phase (DeViSE's ``2a``/``2b``, fastai's ``frozen``/``unfrozen``):
            each phase gets its own colour, named in the legend.

    Returns:
        The matplotlib Figure, with one axis per column.
    """
    titles = dict(columns) if isinstance(columns, dict) else {column: column for column in columns}
    missing = [column for column in [x, *titles, *([phase] if phase else [])] if column not in history.columns]
    if missing:
        raise ValueError(f"history has no column {', '.join(missing)}")
    figsize = figsize or (4.5 * len(titles), 3)
    figure, axes = plt.subplots(1, len(titles), figsize=figsize, squeeze=False)
    groups = [(None, history)] if phase is None else list(history.groupby(phase, sort=False))
    for axis, (column, title) in zip(axes[0], titles.items(), strict=True):
        # A phase's line starts at the last epoch of the phase before, so the curve stays one line.
        previous = None
        for name, rows in groups:
            shown = rows if previous is None else history.loc[[previous, *rows.index]]
            axis.plot(shown[x], shown[column], marker="o", label=None if name is None else f"phase {name}")
            previous = rows.index[-1]
        axis.set_xlabel(x)
        axis.set_title(title)
        if phase is not None:
            axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def distance_histograms(
    same_distances: np.ndarray,
    different_distances: np.ndarray,
    threshold: float,
    xlabel: str = "distance",
    labels: tuple[str, str] = ("same class", "different classes"),
    threshold_label: str = "threshold (validation)",
    bins: int = 40,
    figsize: tuple[float, float] = (6, 3),
):
    """Two overlaid histograms of pair distances and the decision threshold between them.

    Args:
        same_distances: distances of same-class pairs, of shape (n_same,).
        different_distances: distances of different-class pairs, of shape (n_different,).
        threshold: the distance at or below which a pair is called "same" (a dashed black line).
        labels: legend entries of the two histograms.

    Returns:
        The matplotlib Figure.
    """
    figure, axis = plt.subplots(figsize=figsize)
    axis.hist(np.asarray(same_distances), bins=bins, alpha=0.6, color="tab:blue", label=labels[0])
    axis.hist(np.asarray(different_distances), bins=bins, alpha=0.6, color="tab:orange", label=labels[1])
    axis.axvline(threshold, color="black", linestyle="--", label=threshold_label)
    axis.set_xlabel(xlabel)
    axis.legend()
    return figure


def class_scatter_plot(points: np.ndarray, labels: np.ndarray, class_names, title: str = "",
                       figsize: tuple[float, float] = (6, 5)):
    """Points of a 2-D projection (e.g. PCA of image embeddings), one colour per class.

    Unlike :func:`embedding_pca_plot` there are no label vectors: only the images.

    Args:
        points: array of shape (n_points, 2).
        labels: the label of every point, of shape (n_points,).
        class_names: label → legend name (a dict, in drawing order), or a sequence of names indexed by
            label; points whose label is not in it are not drawn.
        title: the axis title.

    Returns:
        The matplotlib Figure.
    """
    points, labels = np.asarray(points), np.asarray(labels)
    if points.shape != (len(labels), 2):
        raise ValueError(f"points of shape {points.shape} for {len(labels)} labels; expected ({len(labels)}, 2)")
    names = dict(class_names) if isinstance(class_names, dict) else dict(enumerate(class_names))
    colours = plt.get_cmap("tab10")
    figure, axis = plt.subplots(figsize=figsize)
    for index, (label, name) in enumerate(names.items()):
        axis.scatter(*points[labels == label].T, s=12, color=colours(index % 10), label=name)
    axis.legend(fontsize=7, ncol=2)
    axis.set_title(title)
    return figure


def principal_vectors_plot(
    label_vectors: np.ndarray,
    label_names,
    principal_vectors: np.ndarray,
    scale: float = 0.8,
    title: str = "labels (grey) and principal vectors (red)",
    figsize: tuple[float, float] = (3.5, 3.5),
):
    """A 2-D word space: label vectors as named grey arrows, an image's principal vectors as red arrows.

    Args:
        label_vectors: array of shape (n_labels, 2), one word vector per name in ``label_names``.
        principal_vectors: SDL's matrix A of one image, of shape (2, M): one column per principal vector.
        scale: length factor of the red arrows, so they do not hide the grey ones beneath.

    Returns:
        The matplotlib Figure, square, limits ±1.4.
    """
    label_vectors = np.asarray(label_vectors, dtype=float)
    principal_vectors = np.asarray(principal_vectors, dtype=float)
    if label_vectors.shape != (len(label_names), 2) or principal_vectors.ndim != 2 or principal_vectors.shape[0] != 2:
        raise ValueError(f"expected label vectors of shape ({len(label_names)}, 2) and principal vectors of shape "
                         f"(2, M); got {label_vectors.shape} and {principal_vectors.shape}")
    figure, axis = plt.subplots(figsize=figsize)
    for name, vector in zip(label_names, label_vectors, strict=True):
        axis.annotate(name, vector * 1.15, ha="center")
        axis.arrow(0, 0, *vector, color="grey", head_width=0.05, length_includes_head=True)
    for vector in principal_vectors.T:
        axis.arrow(0, 0, *(scale * vector), color="tab:red", width=0.02, length_includes_head=True)
    axis.set(xlim=(-1.4, 1.4), ylim=(-1.4, 1.4), title=title)
    axis.set_aspect("equal")
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
        image_points: array of shape (n_images, 2), e.g. from :func:`utils.stages.embeddings.pca_projection`.
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
