"""Attribute losses (notebook 05). Each is built with ``class_attribute_vectors`` of shape
(n_classes, n_attributes) — the attribute vectors of the classes trained on — and called as::

    loss(predicted_attributes, labels) -> scalar tensor

with ``predicted_attributes`` of shape (batch, n_attributes) (raw network outputs: logits for the
BCE loss) and ``labels`` of shape (batch,) indexing the rows of ``class_attribute_vectors``.

* :class:`AttributeBCELoss` — sigmoid outputs against a class's binary attribute row, as in direct
  attribute prediction (C. H. Lampert, H. Nickisch, S. Harmeling, "Attribute-Based Classification
  for Zero-Shot Visual Object Categorization", TPAMI 2014).
* :class:`AttributeMSELoss` — squared error against the class's attribute vector.
* :class:`ReMSELoss` — the rebalanced squared error of ReZSL (Z. Ye, G. Yang, X. Jin, Y. Liu,
  K. Huang, "Rebalanced Zero-shot Learning", IEEE TIP 2023, arXiv 2210.07031).
* :class:`ScaledCosineCrossEntropy` — softmax over the scaled cosine similarities between the
  prediction and every class's attribute vector.
* :class:`WeightedSumLoss` — ``sum_k weight_k * loss_k``, e.g. ReZSL's ``λ0·CE + λ1·ReMSE``.

:data:`ATTRIBUTE_LOSSES` maps a name (``bce``, ``mse``, ``remse_in_batch``, ``remse_cross_batch``) to a
builder, so a config string picks the loss through :func:`models.losses.build_loss`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

REZSL_HYPERPARAMETERS: dict[str, dict[str, float]] = {
    "AWA2": {"p": 1.0, "p2": 0.1, "lambda_regression": 1.0},
    "CUB": {"p": 0.1, "p2": 0.75, "lambda_regression": 0.25},
    "SUN": {"p": 0.1, "p2": 0.0, "lambda_regression": 0.1},
}
"""ReZSL's per-data-set ReMSE exponents and regression weight λ1 (Ye et al., 2023, released configs)."""


class _ClassAttributeLoss(nn.Module):
    """Holds the classes' attribute vectors as a float32 buffer, so ``loss.to(device)`` moves them.

    Args:
        class_attribute_vectors: of shape (n_classes, n_attributes); row ``c`` is class ``c``'s target.

    Raises:
        ValueError: for a tensor that is not two-dimensional.
    """

    def __init__(self, class_attribute_vectors: torch.Tensor):
        super().__init__()
        vectors = torch.as_tensor(class_attribute_vectors, dtype=torch.float32)
        if vectors.ndim != 2:
            raise ValueError(f"class_attribute_vectors must be (n_classes, n_attributes), got {tuple(vectors.shape)}")
        self.register_buffer("class_attribute_vectors", vectors)


class AttributeBCELoss(_ClassAttributeLoss):
    """Binary cross-entropy of sigmoid outputs against each image's class attribute row (Lampert et al., 2014).

    Targets in [0, 1] may be soft (e.g. AwA2's continuous attribute strengths divided by 100).

    Args:
        class_attribute_vectors: targets of shape (n_classes, n_attributes), in [0, 1].
    """

    def forward(self, predicted_attributes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: logits (batch, n_attributes), labels (batch,). Returns: the scalar loss."""
        return F.binary_cross_entropy_with_logits(predicted_attributes, self.class_attribute_vectors[labels])


class AttributeMSELoss(_ClassAttributeLoss):
    """Mean over images and attributes of ``(ŷ − a_y)²``; ReMSE with every weight 1.

    Args:
        class_attribute_vectors: targets ``a_c`` of shape (n_classes, n_attributes).
        normalize: L2-normalise each prediction and target first (step 1 of ReZSL's ReMSE).
    """

    def __init__(self, class_attribute_vectors: torch.Tensor, normalize: bool = False):
        super().__init__(class_attribute_vectors)
        self.normalize = normalize

    def forward(self, predicted_attributes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: ``ŷ`` (batch, n_attributes), labels (batch,). Returns: the scalar loss."""
        predicted, targets = _maybe_normalize(
            predicted_attributes, self.class_attribute_vectors[labels], self.normalize
        )
        return ((predicted - targets) ** 2).mean()


def _maybe_normalize(
    predicted: torch.Tensor, targets: torch.Tensor, normalize: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    if normalize:
        return F.normalize(predicted, dim=-1), F.normalize(targets, dim=-1)
    return predicted, targets


def class_attribute_errors(
    squared_errors: torch.Tensor, labels: torch.Tensor, n_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean squared error of each class on each attribute: ``E[c, s]`` of ReZSL (Ye et al., 2023).

    Args:
        squared_errors: offsets ``(ŷ_i − a_{y_i})²`` of shape (batch, n_attributes).
        labels: class indices of shape (batch,), in ``0..n_classes-1``.
        n_classes: number of rows of the result.

    Returns:
        ``(errors, present)``: ``errors`` of shape (n_classes, n_attributes), the mean over the
        batch's images of class ``c`` (0 for a class with no image in the batch), and ``present``, a
        bool tensor of shape (n_classes,) marking the classes that have images.
    """
    n_attributes = squared_errors.shape[1]
    sums = squared_errors.new_zeros(n_classes, n_attributes).index_add_(0, labels, squared_errors)
    counts = torch.bincount(labels, minlength=n_classes).to(squared_errors.dtype)
    present = counts > 0
    return sums / counts.clamp(min=1).unsqueeze(1), present


def rebalancing_weights(errors: torch.Tensor, p: float, p2: float) -> torch.Tensor:
    """ReZSL's weights ``W = W1 ⊙ W2`` from a class × attribute error matrix (Ye et al., 2023).

    ``W1[c, s] = (ln(E[c, s] / min_{c'} E[c', s]) + 1) ** p`` up-weights the classes that are hard
    on attribute ``s``; ``W2[c, s] = (ln(E[c, s] / min_{s'} E[c, s']) + 1) ** p2`` the attributes
    that are hard for class ``c``. Minima run over the positive entries; where ``E = 0`` (a class
    absent from the batch) both factors are 1. Every weight is at least 1; ``p = p2 = 0`` gives 1.

    Args:
        errors: ``E`` of shape (n_classes, n_attributes), non-negative.
        p: exponent of the class-wise factor W1.
        p2: exponent of the attribute-wise factor W2.

    Returns:
        ``W`` of shape (n_classes, n_attributes), without gradient.
    """
    errors = errors.detach()
    positive = errors > 0
    infinity = torch.full_like(errors, float("inf"))
    masked = torch.where(positive, errors, infinity)
    class_minimum = masked.min(dim=0, keepdim=True).values  # over classes, per attribute
    attribute_minimum = masked.min(dim=1, keepdim=True).values  # over attributes, per class
    safe = torch.where(positive, errors, torch.ones_like(errors))
    class_factor = (torch.log(safe / torch.where(positive, class_minimum, safe)) + 1).pow(p)
    attribute_factor = (torch.log(safe / torch.where(positive, attribute_minimum, safe)) + 1).pow(p2)
    ones = torch.ones_like(errors)
    return torch.where(positive, class_factor, ones) * torch.where(positive, attribute_factor, ones)


class ReMSELoss(_ClassAttributeLoss):
    """Rebalanced mean squared error, ReMSE (Ye et al., "Rebalanced Zero-shot Learning", IEEE TIP 2023).

    Attribute regressors fit some classes and some attributes far worse than others; ReMSE weights
    each squared error by how much worse than the best its class (and its attribute) currently is.
    Per batch, as the authors' released code computes it:

    1. optionally L2-normalise each predicted attribute vector ``ŷ_i`` and target ``a_{y_i}``;
    2. offsets ``o_i = (ŷ_i − a_{y_i})²`` element-wise;
    3. ``E[c, s]`` = mean over the batch's images of class ``c`` of ``o_i[s]`` (0 for a class absent
       from the batch; in ``cross_batch`` mode such a class keeps its row from earlier batches);
    4. and 5. weights ``W = W1 ⊙ W2`` from ``E`` (:func:`rebalancing_weights`), detached;
    6. ``ReMSE = mean_{i, s} W[y_i, s] · o_i[s]``.

    With ``p = p2 = 0`` it is plain MSE. The paper also speaks of tracking the variance of the error
    distributions; like the released code, this implementation uses the means only. Unlike the
    released code (whose cross-batch branch is unreachable), ``mode="cross_batch"`` really keeps the
    rows of classes absent from the batch, in the buffer :attr:`class_errors`.

    Args:
        class_attribute_vectors: targets ``A`` of shape (n_classes, n_attributes), the classes trained on.
        p: class-wise exponent (ReZSL: AwA2 1.0, CUB 0.1, SUN 0.1).
        p2: attribute-wise exponent (ReZSL: AwA2 0.1, CUB 0.75, SUN 0).
        mode: ``"in_batch"`` or ``"cross_batch"``.
        normalize: L2-normalise predictions and targets before the offsets (step 1).

    Attributes:
        class_errors: buffer of shape (n_classes, n_attributes): ``E`` of the last training batch.
        last_weights: ``W`` of shape (n_classes, n_attributes) from the last call, for inspection.
    """

    MODES = ("in_batch", "cross_batch")

    def __init__(
        self,
        class_attribute_vectors: torch.Tensor,
        p: float = 1.0,
        p2: float = 0.1,
        mode: str = "in_batch",
        normalize: bool = False,
    ):
        super().__init__(class_attribute_vectors)
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, not {mode!r}")
        if p < 0 or p2 < 0:
            raise ValueError(f"exponents must be >= 0 (p={p}, p2={p2})")
        self.p, self.p2, self.mode, self.normalize = p, p2, mode, normalize
        self.register_buffer("class_errors", torch.zeros(self.class_attribute_vectors.shape))
        self.last_weights: torch.Tensor | None = None

    def forward(self, predicted_attributes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """ReMSE of a batch.

        Args:
            predicted_attributes: ``ŷ`` of shape (batch, n_attributes).
            labels: class indices of shape (batch,) into ``class_attribute_vectors``.

        Returns:
            The scalar loss.
        """
        predicted, targets = _maybe_normalize(
            predicted_attributes, self.class_attribute_vectors[labels], self.normalize
        )
        offsets = (predicted - targets) ** 2
        batch_errors, present = class_attribute_errors(offsets.detach(), labels, self.class_errors.shape[0])
        if self.mode == "cross_batch":
            errors = torch.where(present.unsqueeze(1), batch_errors, self.class_errors.to(batch_errors.dtype))
        else:
            errors = batch_errors
        if self.training:
            self.class_errors.copy_(errors)
        weights = rebalancing_weights(errors, self.p, self.p2)
        self.last_weights = weights
        return (weights[labels] * offsets).mean()


class ScaledCosineCrossEntropy(_ClassAttributeLoss):
    """Cross-entropy over ``scale · cos(ŷ, a_c)`` for every class ``c`` (ReZSL's λ0 term, Ye et al., 2023).

    Args:
        class_attribute_vectors: ``a_c`` of shape (n_classes, n_attributes), one row per class scored.
        scale: the temperature's inverse; cosines lie in [-1, 1], so logits need scaling (ReZSL: 20).
    """

    def __init__(self, class_attribute_vectors: torch.Tensor, scale: float = 20.0):
        super().__init__(class_attribute_vectors)
        self.scale = scale

    def forward(self, predicted_attributes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: ``ŷ`` (batch, n_attributes), labels (batch,). Returns: the scalar loss."""
        class_directions = F.normalize(self.class_attribute_vectors, dim=-1)
        logits = self.scale * F.normalize(predicted_attributes, dim=-1) @ class_directions.T
        return F.cross_entropy(logits, labels)


class WeightedSumLoss(nn.Module):
    """``sum_k weight_k · loss_k`` over attribute losses, each called as ``loss(predicted_attributes, labels)``.

    Args:
        terms: ``(name, weight, loss)`` triples, e.g. ``[("ce", 1.0, ScaledCosineCrossEntropy(vectors)),
            ("remse", 1.0, ReMSELoss(vectors, ...))]``.

    Attributes:
        last_values: name → value (a float) of each term at the last call, for logging.
    """

    def __init__(self, terms: Sequence[tuple[str, float, nn.Module]]):
        super().__init__()
        self.names = [name for name, _, _ in terms]
        self.weights = [float(weight) for _, weight, _ in terms]
        self.losses = nn.ModuleList([loss for _, _, loss in terms])
        self.last_values: dict[str, float] = {}

    def forward(self, predicted_attributes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: ``ŷ`` (batch, n_attributes), labels (batch,). Returns: the scalar weighted sum."""
        total = predicted_attributes.new_zeros(())
        for name, weight, loss in zip(self.names, self.weights, self.losses, strict=True):
            value = loss(predicted_attributes, labels)
            self.last_values[name] = float(value.detach())
            total = total + weight * value
        return total


def rezsl_loss(
    class_attribute_vectors: torch.Tensor,
    p: float = 1.0,
    p2: float = 0.1,
    lambda_ce: float = 1.0,
    lambda_regression: float = 1.0,
    scale: float = 20.0,
    mode: str = "in_batch",
    normalize: bool = False,
) -> WeightedSumLoss:
    """ReZSL's objective ``λ0 · CE(scale · cos(ŷ, A), y) + λ1 · ReMSE`` (Ye et al., 2023).

    ``p = p2 = 0`` gives the MSE baseline of the paper's ablation (the CE term kept). ``class_attribute_vectors``,
    of shape (n_classes, n_attributes), are both terms' targets; the other arguments are those of
    :class:`ScaledCosineCrossEntropy` (``scale``) and :class:`ReMSELoss`.
    """
    return WeightedSumLoss(
        [
            ("cross_entropy", lambda_ce, ScaledCosineCrossEntropy(class_attribute_vectors, scale)),
            ("regression", lambda_regression, ReMSELoss(class_attribute_vectors, p, p2, mode, normalize)),
        ]
    )


def _bce(*, class_attribute_vectors: torch.Tensor, **rezsl_options: float) -> nn.Module:
    return AttributeBCELoss(class_attribute_vectors)


def _mse(*, class_attribute_vectors: torch.Tensor, **rezsl_options) -> nn.Module:
    return rezsl_loss(class_attribute_vectors, **{**rezsl_options, "p": 0.0, "p2": 0.0, "mode": "in_batch"})


def _remse(mode: str) -> Callable[..., nn.Module]:
    def build(*, class_attribute_vectors: torch.Tensor, **rezsl_options) -> nn.Module:
        return rezsl_loss(class_attribute_vectors, **{**rezsl_options, "mode": mode})

    return build


ATTRIBUTE_LOSSES: dict[str, Callable[..., nn.Module]] = {
    "bce": _bce,
    "mse": _mse,
    "remse_in_batch": _remse("in_batch"),
    "remse_cross_batch": _remse("cross_batch"),
}
"""name → builder ``(*, class_attribute_vectors, **rezsl_options) -> loss``, the options those of :func:`rezsl_loss`.
``bce`` is the attribute network's sigmoid + BCE alone (it ignores the options); ``mse`` and the two ReMSE entries are
:func:`rezsl_loss` (CE + regression) with ``p = p2 = 0`` or the given exponents."""
