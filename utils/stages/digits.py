"""A Siamese network on real handwritten digits, and a widget to draw two digits and compare them.

The seed project ended with an interactive MNIST demo: draw two digits, and the Siamese network
says whether they show the same digit. Here the digits are the 1 797 real 8×8 handwritten digits
that ship with scikit-learn (``sklearn.datasets.load_digits``, from the UCI "Optical Recognition
of Handwritten Digits" set), so nothing is downloaded. The model is the small CNN of
:mod:`models.siamese` trained with the contrastive loss of Hadsell et al. (CVPR 2006); the
same/different threshold is chosen on validation pairs.

The widget (:func:`digit_drawing_widget`) draws with strokes on ``ipycanvas`` pads and needs ``ipywidgets`` and
``ipycanvas``; without them the function says so and returns ``None``, so notebooks run headless anyway.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.losses import build_loss, pairwise_distances
from models.siamese import build_siamese_encoder
from utils.config import SiameseConfig
from utils.metrics import best_threshold, binary_accuracy, pair_distances
from utils.runtime import seed_everything
from utils.stages.episodes import sample_pairs
from utils.training.checkpoints import Decision, fit_or_load
from utils.training.distributed import is_main_process
from utils.training.loop import LossLog, train_model
from utils.training.threads import cpu_threads

DIGIT_SIDE = 8
DIGIT_MAX_VALUE = 16.0  # load_digits counts on-pixels of a 4×4 block of the 32×32 scan: 0..16
PAD_SIDE = 192
"""Width and height of a drawing pad in pixels: 24 per cell of the 8×8 digit."""
PEN_WIDTH = 24.0
"""The stroke's width in pixels: one cell of the 8×8 digit, so a click centred on a cell inks that cell alone."""
PREVIEW_SCALE = 8
"""Pixels per value of the 8×8 digit the widget shows beside each pad."""


def load_digit_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's handwritten digits.

    Returns:
        ``(images, labels)``: float32 array of shape (1797, 8, 8) scaled to [0, 1], and int64 labels 0–9.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / DIGIT_MAX_VALUE).astype(np.float32), digits.target.astype(np.int64)


def digits_to_tensor(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Images of shape (n, 8, 8) in [0, 1] → tensor of shape (n, 1, 8, 8) in [−1, 1]."""
    tensor = torch.as_tensor(np.asarray(images, dtype=np.float32))
    return (tensor.unsqueeze(1) - 0.5) / 0.5


def drawing_to_digit(drawing: np.ndarray) -> np.ndarray:
    """A drawing of any size (ink > 0) → an 8×8 digit in [0, 1], as ``load_digits`` stores them.

    ``load_digits`` averaged 4×4 blocks of a 32×32 bitmap; this averages a larger drawing over an
    8×8 grid of blocks the same way and rescales so the darkest block is 1.

    Args:
        drawing: array of shape (H, W) with H, W ≥ 8.

    Returns:
        float32 array of shape (8, 8).
    """
    tensor = torch.as_tensor(np.asarray(drawing, dtype=np.float32))[None, None]
    digit = nn.functional.adaptive_avg_pool2d(tensor, DIGIT_SIDE)[0, 0].numpy()
    peak = digit.max()
    return (digit / peak if peak > 0 else digit).astype(np.float32)


def strokes_to_drawing(strokes: Sequence[Sequence[tuple[float, float]]], side: int = PAD_SIDE,
                       pen_width: float = PEN_WIDTH) -> np.ndarray:
    """Rasterise pen strokes on a square pad: 1 where the pen passed, 0 elsewhere.

    The pen is a disc of diameter ``pen_width`` dragged along straight segments between a stroke's consecutive
    points, as a canvas draws a line with round caps: a pixel is inked when its centre lies within ``pen_width / 2``
    of a segment. A stroke of one point, a click, is a dot.

    Args:
        strokes: each stroke the ``(x, y)`` points the pointer went through while pressed, in pixels from the pad's
            top-left corner (x to the right, y down).
        side: the pad's width and height in pixels.
        pen_width: the stroke's width in pixels.

    Returns:
        float32 array of shape (side, side), row ``y`` and column ``x``; :func:`drawing_to_digit` makes it a digit.
    """
    centres = np.stack(np.meshgrid(np.arange(side) + 0.5, np.arange(side) + 0.5), axis=-1)  # (side, side, 2): x, y
    inked = np.zeros((side, side), dtype=bool)
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        segments = list(zip(points[:-1], points[1:], strict=True)) or [(point, point) for point in points[:1]]
        for start, end in segments:
            direction = end - start
            length_squared = float(direction @ direction)
            along = np.zeros((side, side)) if length_squared == 0 else np.clip(
                (centres - start) @ direction / length_squared, 0, 1)
            nearest = start + along[..., None] * direction
            inked |= np.sum((centres - nearest) ** 2, axis=-1) <= (pen_width / 2) ** 2
    return inked.astype(np.float32)


@dataclass
class DigitSiamese:
    """A trained digit encoder with its same/different rule.

    Attributes:
        encoder: maps (n, 1, 8, 8) to unit-norm embeddings (n, embedding_dim).
        threshold: pairs at distance ≤ threshold are "same digit" (chosen on validation pairs).
        distance: ``"cosine"`` or ``"euclidean"``.
        test_binary_accuracy: same/different accuracy on balanced pairs of held-back test digits.
        decision: why the encoder was trained or loaded (``None`` without a folder).
    """

    encoder: nn.Module
    threshold: float
    distance: str = "cosine"
    test_binary_accuracy: float = float("nan")
    decision: Decision | None = None

    @torch.no_grad()
    def distance_between(self, first_digit: np.ndarray, second_digit: np.ndarray) -> float:
        """Distance of two digits of shape (8, 8) in [0, 1]."""
        self.encoder.eval()
        device = next(self.encoder.parameters()).device
        embeddings = self.encoder(digits_to_tensor(np.stack([first_digit, second_digit])).to(device)).cpu()
        return float(pairwise_distances(embeddings[:1], embeddings[1:], self.distance)[0, 0])

    def same_or_different(self, first_digit: np.ndarray, second_digit: np.ndarray) -> tuple[bool, float]:
        """``(True if the model calls them the same digit, their distance)``."""
        distance = self.distance_between(first_digit, second_digit)
        return distance <= self.threshold, distance


def _augment_digits(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift by up to one pixel and binarise half of the batch, since drawn digits are black and white."""
    from utils.stages.siamese import augment_batch

    shifted = augment_batch(images, generator, padding=1, flip=False, fill=-1.0)
    binarise = torch.rand(images.shape[0], generator=generator) < 0.5
    binary = torch.where(shifted > -1, torch.ones_like(shifted), -torch.ones_like(shifted))
    return torch.where(binarise[:, None, None, None], binary, shifted)


DIGITS_RUN_NAME = "digits_small_convnet"
"""The folder of the digits model under a Siamese config's ``run_dir`` (:func:`digits_folder`)."""

DIGITS_RECIPE = {"train_share": 0.6, "batch_size": 80, "m_per_class": 8, "learning_rate": 1e-3, "augment": "shift1+binarise"}
"""What :func:`train_digit_siamese` fixes rather than takes: recorded among the shaping settings, so that a change
of the recipe in the code retrains instead of loading a model trained otherwise."""


def digits_folder(config) -> Path:
    """``<config.run_dir>/digits_small_convnet`` for a :class:`utils.config.SiameseConfig` (one folder; the
    settings' fingerprint decides reuse)."""
    return Path(config.run_dir) / DIGITS_RUN_NAME


def train_digit_siamese(
    config: SiameseConfig,
    device: torch.device | str = "cpu",
    folder: Path | None = None,
    loss: str = "contrastive",
    distance: str = "cosine",
    margin: float = 0.5,
    embedding_dim: int = 32,
) -> DigitSiamese:
    """Fit (or load from ``folder``) a small-CNN Siamese encoder on 60% of the digits.

    20% of the digits choose the threshold (validation pairs) and 20% measure the test accuracy. With a
    ``folder``, ``model.pt`` is reused while the settings that shape it are unchanged — the config's fields declared
    to shape the ``digits`` run (``digits_epochs``, ``seed``), the loss options below and :data:`DIGITS_RECIPE`
    (:func:`utils.training.checkpoints.fit_or_load`); the decision is printed and kept in ``DigitSiamese.decision``.

    Args:
        config: notebook 06's config: ``digits_epochs`` passes over the training digits, ``seed`` seeds the split,
            the batches and the weights, ``retrain`` trains even if a checkpoint with the same settings exists.
        device: where to train.
        folder: if given, ``model.pt``, ``model.json`` and ``threshold.json`` are loaded from / saved to it
            (:func:`digits_folder` gives the config's).
        loss: ``"contrastive"`` (Hadsell et al., 2006) or ``"triplet"`` (Schroff et al., 2015).
        distance: ``"cosine"`` or ``"euclidean"``.
        margin: the loss margin.
        embedding_dim: size of the embedding.

    Returns:
        The :class:`DigitSiamese`.
    """
    from sklearn.model_selection import train_test_split

    seed = config.seed
    images, labels = load_digit_images()
    indices = np.arange(len(labels))
    train_indices, rest = train_test_split(indices, train_size=DIGITS_RECIPE["train_share"], stratify=labels,
                                           random_state=seed)
    validation_indices, test_indices = train_test_split(rest, train_size=0.5, stratify=labels[rest], random_state=seed)
    seed_everything(seed)
    encoder = build_siamese_encoder("small_convnet", embedding_dim, in_channels=1)

    def train() -> None:
        _fit_digits(encoder, images[train_indices], labels[train_indices], config.digits_epochs, seed, device, loss,
                    distance, margin)

    decision = None
    if folder is None:
        train()
    else:
        inputs = {"loss": loss, "distance": distance, "margin": margin, "embedding_dim": embedding_dim,
                  "backbone": "small_convnet", "recipe": DIGITS_RECIPE}
        decision = fit_or_load(encoder, Path(folder) / "model.pt", config, "digits", train, inputs=inputs,
                               name="digits")
    encoder.to(device).eval()
    # 8×8 digits make convolutions so small that extra CPU threads only wait for each other.
    with cpu_threads(1 if torch.device(device).type == "cpu" else None), torch.no_grad():
        embeddings = encoder(digits_to_tensor(images).to(device)).cpu()
    first, second, same = sample_pairs(labels[validation_indices], 2_000, seed=seed)
    threshold = best_threshold(
        pair_distances(embeddings[validation_indices], first, second, distance), same
    )
    first, second, same = sample_pairs(labels[test_indices], 2_000, seed=seed + 1)
    test_accuracy = binary_accuracy(pair_distances(embeddings[test_indices], first, second, distance), same, threshold)
    if decision is not None and decision.trained and is_main_process():
        (Path(folder) / "threshold.json").write_text(
            json.dumps({"threshold": threshold, "distance": distance, "test_binary_accuracy": test_accuracy}) + "\n")
    return DigitSiamese(encoder, threshold, distance, test_accuracy, decision)


def _fit_digits(encoder, images, labels, epochs, seed, device, loss, distance, margin) -> None:
    """:data:`DIGITS_RECIPE`'s training through :func:`utils.training.loop.train_model`: m-per-class batches, Adam at
    a constant learning rate, shifted and half-binarised digits, one CPU thread (8×8 digits: one thread is fastest)."""
    from utils.stages.siamese import MPerClassBatches

    device = torch.device(device)
    batches = MPerClassBatches(digits_to_tensor(images), labels, DIGITS_RECIPE["batch_size"], DIGITS_RECIPE["m_per_class"],
                               length=len(labels))
    generator = torch.Generator().manual_seed(seed)
    train_model(
        encoder, batches, build_loss(family="pair", name=loss, margin=margin, distance=distance), epochs, DIGITS_RECIPE["learning_rate"],
        optimizer="adam", schedule="constant", device=device,
        batch_inputs=lambda batch: _augment_digits(batch, generator).to(device), channels_last=False,
        log=LossLog(verbose=False), threads=1 if device.type == "cpu" else None,
    )


class DigitPad:
    """One drawing pad of :func:`digit_drawing_widget`: a white canvas a person draws black strokes on.

    The pad keeps the strokes themselves (the points the pointer went through while pressed) and an optional
    background digit (a real example to draw over); :meth:`digit` turns both into the 8×8 digit the model reads, by
    :func:`strokes_to_drawing` and :func:`drawing_to_digit`. The canvas only mirrors that state: it draws each
    segment as the pointer moves, and redraws from the state when a page reconnects. A small second canvas shows the
    8×8 digit the model will be given.

    Args:
        side: the pad's width and height in pixels.
        pen_width: the stroke's width in pixels.
        on_change: called after each change of the drawing (a stroke ended, the pad cleared or loaded).
    """

    def __init__(self, side: int = PAD_SIDE, pen_width: float = PEN_WIDTH, on_change: Callable[[], None] | None = None):
        import ipywidgets as widgets
        from ipycanvas import Canvas

        self.side, self.pen_width, self.on_change = side, pen_width, on_change
        self.strokes: list[list[tuple[float, float]]] = []
        self.background = np.zeros((side, side), dtype=np.float32)
        self._stroke: list[tuple[float, float]] | None = None
        self.canvas = Canvas(width=side, height=side,
                             layout=widgets.Layout(width=f"{side}px", height=f"{side}px", border="1px solid #444"))
        preview_side = DIGIT_SIDE * PREVIEW_SCALE
        self.preview = Canvas(width=preview_side, height=preview_side,
                              layout=widgets.Layout(width=f"{preview_side}px", height=f"{preview_side}px",
                                                    border="1px solid #999"))
        self.canvas.add_class("zsl-digit-pad")
        self.preview.add_class("zsl-digit-preview")
        self.canvas.on_mouse_down(self.press)
        self.canvas.on_mouse_move(self.drag)
        self.canvas.on_mouse_up(self.release)
        self.canvas.on_mouse_out(self.release)
        self.canvas.on_touch_start(lambda touches: self.press(*touches[0]))
        self.canvas.on_touch_move(lambda touches: self.drag(*touches[0]))
        self.canvas.on_touch_end(lambda _: self.release())
        self.canvas.on_touch_cancel(lambda _: self.release())
        self.canvas.on_client_ready(self.redraw)
        self.redraw()

    def press(self, x: float, y: float) -> None:
        """Start a stroke at ``(x, y)`` (pixels from the top-left corner) and ink a dot there."""
        self._stroke = [(x, y)]
        self.strokes.append(self._stroke)
        self.canvas.fill_circle(x, y, self.pen_width / 2)

    def drag(self, x: float, y: float) -> None:
        """Extend the stroke in progress to ``(x, y)``; a move with no stroke in progress draws nothing."""
        if self._stroke is None:
            return
        previous_x, previous_y = self._stroke[-1]
        self._stroke.append((x, y))
        self.canvas.stroke_line(previous_x, previous_y, x, y)

    def release(self, x: float | None = None, y: float | None = None) -> None:
        """End the stroke in progress where the pointer left it, up or out of the pad, and show the model's new input."""
        if self._stroke is None:
            return
        if x is not None and (x, y) != self._stroke[-1]:
            self.drag(x, y)
        self._stroke = None
        self._show_input()
        self._changed()

    def clear(self) -> None:
        """Wipe the pad: no strokes and no background digit."""
        self.show_digit(np.zeros((DIGIT_SIDE, DIGIT_SIDE), dtype=np.float32))

    def show_digit(self, digit: np.ndarray) -> None:
        """Replace the pad's content by ``digit`` of shape (8, 8) in [0, 1], blown up to the pad, to draw over."""
        cell = self.side // DIGIT_SIDE
        blown_up = np.kron(np.asarray(digit, dtype=np.float32), np.ones((cell, cell), dtype=np.float32))
        self.background = np.zeros((self.side, self.side), dtype=np.float32)
        self.background[:blown_up.shape[0], :blown_up.shape[1]] = blown_up
        self.strokes, self._stroke = [], None
        self.redraw()
        self._changed()

    def drawing(self) -> np.ndarray:
        """The pad's ink, of shape (side, side) in [0, 1]: the background digit under the strokes."""
        return np.maximum(self.background, strokes_to_drawing(self.strokes, self.side, self.pen_width))

    def digit(self) -> np.ndarray:
        """The model's input: the pad averaged down to an 8×8 digit in [0, 1] (:func:`drawing_to_digit`)."""
        return drawing_to_digit(self.drawing())

    def redraw(self, *_) -> None:
        """Paint the whole pad from its state (ink black on white) and its 8×8 input beside it."""
        from ipycanvas import hold_canvas

        with hold_canvas():
            self.canvas.put_image_data(_ink_to_rgb(self.drawing()))
            self.canvas.fill_style = self.canvas.stroke_style = "black"
            self.canvas.line_width, self.canvas.line_cap, self.canvas.line_join = self.pen_width, "round", "round"
        self._show_input()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _show_input(self) -> None:
        """Draw the 8×8 digit the model will read, each value a square of ``PREVIEW_SCALE`` pixels."""
        self.preview.put_image_data(_ink_to_rgb(np.kron(self.digit(), np.ones((PREVIEW_SCALE, PREVIEW_SCALE)))))


def _ink_to_rgb(ink: np.ndarray) -> np.ndarray:
    """Ink of shape (H, W) in [0, 1] → uint8 RGB of shape (H, W, 3): 0 white, 1 black."""
    grey = np.round(255 * (1 - np.clip(ink, 0, 1))).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def digit_drawing_widget(model: DigitSiamese, examples: tuple[np.ndarray, np.ndarray] | None = None):
    """Two pads to draw digits on with the mouse or a finger, and a button that asks the model same or different.

    Each pad (:class:`DigitPad`) has a clear button and, with ``examples``, a menu of digits and a button that loads
    a random real example of the chosen digit to draw over. **Compare** averages each pad down to an 8×8 digit and
    writes the model's verdict, distance and threshold below it.

    Args:
        model: the trained :class:`DigitSiamese`.
        examples: optional ``(images, labels)`` of real digits, to fill a pad with an example.

    Returns:
        The ``ipywidgets`` box to display, or ``None`` (with a one-line message) if ipywidgets or ipycanvas is
        missing. The box carries handles for tests: ``pads`` (the two :class:`DigitPad`), ``compare`` (what the
        button calls) and ``answer`` (the verdict's HTML widget).
    """
    try:
        import ipycanvas  # noqa: F401
        import ipywidgets as widgets
    except ImportError:
        print("The drawing pads need ipywidgets and ipycanvas: pip install 'ipywidgets>=8.1,<9' 'ipycanvas>=0.14,<0.15'"
              " (then restart the kernel).")
        return None
    if "google.colab" in sys.modules:
        # Colab renders only its own widgets unless a notebook asks for the custom manager (ipycanvas is third-party).
        from google.colab import output

        output.enable_custom_widget_manager()

    prompt = "Draw a digit on each pad, then press <b>Compare</b>."
    answer = widgets.HTML(prompt)
    answer.add_class("zsl-digit-verdict")

    def forget_verdict() -> None:  # a verdict is about the drawings it was given, not about changed ones
        answer.value = prompt

    pads = [DigitPad(on_change=forget_verdict), DigitPad(on_change=forget_verdict)]

    def compare(_=None) -> None:
        first, second = pads[0].digit(), pads[1].digit()
        if first.sum() == 0 or second.sum() == 0:
            answer.value = "Both pads need some ink."
            return
        same, distance = model.same_or_different(first, second)
        verdict = "<b>same digit</b>" if same else "<b>different digits</b>"
        answer.value = f"{verdict} (distance {distance:.3f}, threshold {model.threshold:.3f})"

    def controls(pad: DigitPad, index: int):
        clear = widgets.Button(description="clear", layout=widgets.Layout(width="70px"))
        clear.on_click(lambda _: pad.clear())
        buttons = [clear]
        if examples is not None:
            choose = widgets.Dropdown(options=list(range(10)), description="example:", layout=widgets.Layout(width="140px"))
            rng = np.random.default_rng(index)

            def load_example(_) -> None:
                pad.show_digit(examples[0][rng.choice(np.flatnonzero(examples[1] == choose.value))])

            load = widgets.Button(description="load", layout=widgets.Layout(width="60px"))
            load.on_click(load_example)
            buttons += [choose, load]
        return widgets.HBox(buttons)

    def column(pad: DigitPad, index: int):
        model_input = widgets.VBox([widgets.HTML("the model's 8×8 input"), pad.preview],
                                   layout=widgets.Layout(margin="0 0 0 8px"))
        return widgets.VBox([widgets.HBox([pad.canvas, model_input]), controls(pad, index)],
                            layout=widgets.Layout(margin="0 30px 0 0"))

    compare_button = widgets.Button(description="Compare", button_style="primary")
    compare_button.on_click(compare)
    box = widgets.VBox([widgets.HBox([column(pad, index) for index, pad in enumerate(pads)]), compare_button, answer])
    box.pads, box.compare, box.answer = pads, compare, answer  # handles for tests
    return box
