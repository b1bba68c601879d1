"""Losses of the course. Every attribute loss has one signature::

    loss(predicted_attributes, labels, class_attribute_vectors) -> scalar tensor

with ``predicted_attributes`` of shape (batch, n_attributes) (raw network outputs: logits for the
BCE loss), ``labels`` of shape (batch,) indexing the rows of ``class_attribute_vectors``, of shape
(n_classes, n_attributes) — the attribute vectors of the classes trained on.

Attribute losses (notebook 05):

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
builder, so a config string picks the loss.

Visual-semantic losses (notebook 02), ``loss(image_embeddings, labels)`` with the label vectors given
to the constructor; :data:`EMBEDDING_LOSSES` maps ``cosine`` and ``hinge_rank`` to builders:

* :class:`CosineDistanceLoss` — ``1 − cos(Mv, t_y)`` to the image's label vector;
* :class:`HingeRankLoss` — DeViSE's ranking loss against the other seen labels (A. Frome et al.,
  "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013).

Multi-label loss (notebook 07): :class:`SemanticDiversityLoss`, the diversity-weighted ranking loss of
Semantic Diversity Learning (A. Ben-Cohen et al., ICCV 2021, arXiv 2105.05926).
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


class AttributeBCELoss(nn.Module):
    """Binary cross-entropy of sigmoid outputs against each image's class attribute row (Lampert et al., 2014).

    Targets in [0, 1] may be soft (e.g. AwA2's continuous attribute strengths divided by 100).
    """

    def forward(
        self, predicted_attributes: torch.Tensor, labels: torch.Tensor, class_attribute_vectors: torch.Tensor
    ) -> torch.Tensor:
        """Args: logits (batch, n_attributes), labels (batch,), attribute rows (n_classes, n_attributes)."""
        return F.binary_cross_entropy_with_logits(predicted_attributes, class_attribute_vectors[labels])


class AttributeMSELoss(nn.Module):
    """Mean over images and attributes of ``(ŷ − a_y)²``; ReMSE with every weight 1.

    Args:
        normalize: L2-normalise each prediction and target first (step 1 of ReZSL's ReMSE).
    """

    def __init__(self, normalize: bool = False):
        super().__init__()
        self.normalize = normalize

    def forward(
        self, predicted_attributes: torch.Tensor, labels: torch.Tensor, class_attribute_vectors: torch.Tensor
    ) -> torch.Tensor:
        predicted, targets = _maybe_normalize(predicted_attributes, class_attribute_vectors[labels], self.normalize)
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


class ReMSELoss(nn.Module):
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
        n_classes: number of classes trained on (rows of ``class_attribute_vectors``).
        n_attributes: length of an attribute vector.
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
        n_classes: int,
        n_attributes: int,
        p: float = 1.0,
        p2: float = 0.1,
        mode: str = "in_batch",
        normalize: bool = False,
    ):
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, not {mode!r}")
        if p < 0 or p2 < 0:
            raise ValueError(f"exponents must be >= 0 (p={p}, p2={p2})")
        self.p, self.p2, self.mode, self.normalize = p, p2, mode, normalize
        self.register_buffer("class_errors", torch.zeros(n_classes, n_attributes))
        self.last_weights: torch.Tensor | None = None

    def forward(
        self, predicted_attributes: torch.Tensor, labels: torch.Tensor, class_attribute_vectors: torch.Tensor
    ) -> torch.Tensor:
        """ReMSE of a batch.

        Args:
            predicted_attributes: ``ŷ`` of shape (batch, n_attributes).
            labels: class indices of shape (batch,) into ``class_attribute_vectors``.
            class_attribute_vectors: ``A`` of shape (n_classes, n_attributes).

        Returns:
            The scalar loss.
        """
        predicted, targets = _maybe_normalize(predicted_attributes, class_attribute_vectors[labels], self.normalize)
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


class ScaledCosineCrossEntropy(nn.Module):
    """Cross-entropy over ``scale · cos(ŷ, a_c)`` for every class ``c`` (ReZSL's λ0 term, Ye et al., 2023).

    Args:
        scale: the temperature's inverse; cosines lie in [-1, 1], so logits need scaling (ReZSL: 20).
    """

    def __init__(self, scale: float = 20.0):
        super().__init__()
        self.scale = scale

    def forward(
        self, predicted_attributes: torch.Tensor, labels: torch.Tensor, class_attribute_vectors: torch.Tensor
    ) -> torch.Tensor:
        logits = self.scale * F.normalize(predicted_attributes, dim=-1) @ F.normalize(class_attribute_vectors, dim=-1).T
        return F.cross_entropy(logits, labels)


class WeightedSumLoss(nn.Module):
    """``sum_k weight_k · loss_k`` over attribute losses sharing the module's signature.

    Args:
        terms: ``(name, weight, loss)`` triples, e.g. ``[("ce", 1.0, ScaledCosineCrossEntropy()),
            ("remse", 1.0, ReMSELoss(...))]``.

    Attributes:
        last_values: name → value (a float) of each term at the last call, for logging.
    """

    def __init__(self, terms: Sequence[tuple[str, float, nn.Module]]):
        super().__init__()
        self.names = [name for name, _, _ in terms]
        self.weights = [float(weight) for _, weight, _ in terms]
        self.losses = nn.ModuleList([loss for _, _, loss in terms])
        self.last_values: dict[str, float] = {}

    def forward(
        self, predicted_attributes: torch.Tensor, labels: torch.Tensor, class_attribute_vectors: torch.Tensor
    ) -> torch.Tensor:
        total = predicted_attributes.new_zeros(())
        for name, weight, loss in zip(self.names, self.weights, self.losses, strict=True):
            value = loss(predicted_attributes, labels, class_attribute_vectors)
            self.last_values[name] = float(value.detach())
            total = total + weight * value
        return total


def rezsl_loss(
    n_classes: int,
    n_attributes: int,
    p: float = 1.0,
    p2: float = 0.1,
    lambda_ce: float = 1.0,
    lambda_regression: float = 1.0,
    scale: float = 20.0,
    mode: str = "in_batch",
    normalize: bool = False,
) -> WeightedSumLoss:
    """ReZSL's objective ``λ0 · CE(scale · cos(ŷ, A), y) + λ1 · ReMSE`` (Ye et al., 2023).

    ``p = p2 = 0`` gives the MSE baseline of the paper's ablation (the CE term kept).
    """
    return WeightedSumLoss(
        [
            ("cross_entropy", lambda_ce, ScaledCosineCrossEntropy(scale)),
            ("regression", lambda_regression, ReMSELoss(n_classes, n_attributes, p, p2, mode, normalize)),
        ]
    )


def _bce(n_classes: int, n_attributes: int, **_: float) -> nn.Module:
    return AttributeBCELoss()


def _mse(n_classes: int, n_attributes: int, **options) -> nn.Module:
    return rezsl_loss(n_classes, n_attributes, **{**options, "p": 0.0, "p2": 0.0, "mode": "in_batch"})


def _remse(mode: str) -> Callable[..., nn.Module]:
    def build(n_classes: int, n_attributes: int, **options) -> nn.Module:
        return rezsl_loss(n_classes, n_attributes, **{**options, "mode": mode})

    return build


ATTRIBUTE_LOSSES: dict[str, Callable[..., nn.Module]] = {
    "bce": _bce,
    "mse": _mse,
    "remse_in_batch": _remse("in_batch"),
    "remse_cross_batch": _remse("cross_batch"),
}
"""name → builder ``(n_classes, n_attributes, **rezsl_options) -> loss``. ``bce`` is seed A's sigmoid +
BCE alone; ``mse`` and the two ReMSE entries are :func:`rezsl_loss` (CE + regression) with
``p = p2 = 0`` or the given exponents."""


def build_attribute_loss(name: str, n_classes: int, n_attributes: int, **options) -> nn.Module:
    """The attribute loss called ``name`` (a key of :data:`ATTRIBUTE_LOSSES`).

    Raises:
        KeyError: naming the known losses.
    """
    if name not in ATTRIBUTE_LOSSES:
        raise KeyError(f"unknown attribute loss {name!r}; choose one of {', '.join(ATTRIBUTE_LOSSES)}")
    return ATTRIBUTE_LOSSES[name](n_classes, n_attributes, **options)


# ---------------------------------------------------------------------------------------------- multi-label


def diversity_weights(targets: torch.Tensor, label_word_vectors: torch.Tensor) -> torch.Tensor:
    """SDL's semantic-diversity weight of each image: ``1 + Σ_dims Var(positive labels' word vectors)``.

    Images whose labels lie far apart in word-vector space are the ones a single embedding cannot rank,
    so SDL weighs their ranking loss up (Ben-Cohen et al., ICCV 2021, arXiv 2105.05926). As in the
    authors' released code the variance is the unbiased one across the image's positive labels, and
    an image with a single positive label (no spread) gets weight 1.

    Args:
        targets: multi-hot labels of shape (batch, n_labels) (1: positive).
        label_word_vectors: of shape (n_labels, d).

    Returns:
        Weights of shape (batch,), at least 1 (1 also for an image without positive labels).
    """
    positives = (targets == 1).to(label_word_vectors.dtype)
    n_positive = positives.sum(dim=1, keepdim=True)
    mean = positives @ label_word_vectors / n_positive.clamp(min=1)
    sum_of_squares = positives @ label_word_vectors.pow(2) - n_positive * mean.pow(2)
    variance = sum_of_squares.clamp(min=0) / (n_positive - 1).clamp(min=1)
    return 1 + torch.where(n_positive > 1, variance, torch.zeros_like(variance)).sum(dim=1)


def pairwise_ranking_losses(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-image ranking loss ``(1/|P|) Σ_{p∈P} Σ_{n∈N} log(1 + exp(s_n − s_p))``.

    Every label that is not positive is a negative, as in the released code (NUS-WIDE's unknown
    labels too). An image without negatives gets ``(1/|P|) Σ_p log(1 + exp(−s_p))``, again as released.

    Args:
        scores: label scores of shape (batch, n_labels).
        targets: multi-hot labels of shape (batch, n_labels).

    Returns:
        Losses of shape (batch,); 0 for an image without positive labels.
    """
    positive = targets == 1
    negative = ~positive
    # differences[b, p, n] = s_n − s_p; memory batch · n_labels², fine for NUS-WIDE's 925 seen labels.
    differences = scores.unsqueeze(1) - scores.unsqueeze(2)
    pair_mask = positive.unsqueeze(2) & negative.unsqueeze(1)
    pair_sums = (F.softplus(differences) * pair_mask).sum(dim=(1, 2))
    no_negative_sums = (F.softplus(-scores) * positive).sum(dim=1)
    has_negative = negative.any(dim=1)
    sums = torch.where(has_negative, pair_sums, no_negative_sums)
    return sums / positive.sum(dim=1).clamp(min=1)


def principal_vector_variance_penalty(embedding_matrices: torch.Tensor) -> torch.Tensor:
    """SDL's regulariser: the L1 norm of the variance across the M columns of ``A``, per image.

    It keeps the principal vectors from drifting arbitrarily far apart (Ben-Cohen et al., ICCV 2021).
    The variance is unbiased as in the released code; with ``M = 1`` (where that variance is undefined)
    the penalty is 0.

    Args:
        embedding_matrices: ``A`` of shape (batch, d, M).

    Returns:
        Penalties of shape (batch,).
    """
    if embedding_matrices.shape[2] < 2:
        return embedding_matrices.new_zeros(embedding_matrices.shape[0])
    return embedding_matrices.var(dim=2).abs().sum(dim=1)


class SemanticDiversityLoss(nn.Module):
    """The SDL loss (Ben-Cohen et al., "Semantic Diversity Learning for Zero-Shot Multi-label
    Classification", ICCV 2021, arXiv 2105.05926), as the authors' released code computes it.

    Per image, with scores ``s(label) = max_m <A[:, m], w_label>``:

    ``loss = 2 · ((1 − λ) · weight · rank + λ · regulariser)``

    where ``rank`` is :func:`pairwise_ranking_losses`, ``weight`` the semantic-diversity weight
    (:func:`diversity_weights`, or 1 when ``use_diversity_weight`` is off) and ``regulariser``
    :func:`principal_vector_variance_penalty`. The batch loss is the mean over images that have at
    least one positive label (the released code divides by zero on the others).

    Args:
        regularization_weight: ``λ``; the released loss class defaults to 0.3, its training script
            uses 0.01. ``None`` drops the regulariser and the factor 2 (the released ``weight=None``).
        use_diversity_weight: weigh each image's ranking loss by its labels' semantic diversity.

    Attributes:
        last_values: the batch means of ``rank``, ``weight`` and ``regulariser`` at the last call.
    """

    def __init__(self, regularization_weight: float | None = 0.3, use_diversity_weight: bool = True):
        super().__init__()
        if regularization_weight is not None and not 0 <= regularization_weight <= 1:
            raise ValueError(f"regularization_weight must lie in [0, 1], got {regularization_weight}")
        self.regularization_weight = regularization_weight
        self.use_diversity_weight = use_diversity_weight
        self.last_values: dict[str, float] = {}

    def forward(
        self, embedding_matrices: torch.Tensor, targets: torch.Tensor, label_word_vectors: torch.Tensor
    ) -> torch.Tensor:
        """The mean SDL loss of a batch.

        Args:
            embedding_matrices: ``A`` of shape (batch, d, M).
            targets: multi-hot labels of shape (batch, n_labels) over the labels trained on.
            label_word_vectors: their word vectors, of shape (n_labels, d).

        Returns:
            The scalar loss.
        """
        vectors = label_word_vectors.to(embedding_matrices)
        scores = torch.einsum("bdm,ld->blm", embedding_matrices, vectors).amax(dim=-1)
        rank = pairwise_ranking_losses(scores, targets)
        weight = diversity_weights(targets, vectors) if self.use_diversity_weight else torch.ones_like(rank)
        per_image = weight * rank
        regulariser = principal_vector_variance_penalty(embedding_matrices)
        if self.regularization_weight is not None:
            share = self.regularization_weight
            per_image = 2 * ((1 - share) * per_image + share * regulariser)
        has_positive = (targets == 1).any(dim=1)
        self.last_values = {
            "rank": float(rank.detach().mean()),
            "weight": float(weight.detach().mean()),
            "regulariser": float(regulariser.detach().mean()),
        }
        if not has_positive.any():
            return per_image.sum() * 0
        return per_image[has_positive].mean()



# --- Visual-semantic (DeViSE) losses, notebook 02 -------------------------------------------------
#
# Both share one signature, ``loss(image_embeddings, labels)`` with ``image_embeddings`` of shape
# (batch, embedding_dim) and ``labels`` of shape (batch,) indexing the rows of the
# ``class_word_vectors`` (n_classes, embedding_dim) given to the constructor — the seen classes'
# label vectors, in the order of the data loaders' vocabulary. fastai calls ``loss_func(pred, target)``,
# so they plug into a ``Learner`` as they are.


class _LabelVectorLoss(nn.Module):
    """Holds the L2-normalised label vectors as a buffer, so ``learn.to(device)`` moves them."""

    def __init__(self, class_word_vectors: torch.Tensor):
        super().__init__()
        vectors = torch.as_tensor(class_word_vectors, dtype=torch.float32)
        if vectors.ndim != 2:
            raise ValueError(f"class_word_vectors must be (n_classes, embedding_dim), got {tuple(vectors.shape)}")
        self.register_buffer("class_word_vectors", F.normalize(vectors, dim=1))


class CosineDistanceLoss(_LabelVectorLoss):
    """Mean cosine distance ``1 − cos(v, t_y)`` between each image embedding and its label's word vector.

    The regression of DeViSE written as a cosine (like ``torch.nn.CosineEmbeddingLoss`` with every pair
    positive): only the direction of the embedding matters, which is what nearest-label search uses.
    Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013.

    Args:
        class_word_vectors: label vectors of the classes trained on, of shape (n_classes, embedding_dim).
    """

    def forward(self, image_embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: image_embeddings (batch, embedding_dim), labels (batch,). Returns: a scalar in [0, 2]."""
        targets = self.class_word_vectors[labels.long()]
        cosine = (F.normalize(image_embeddings.float(), dim=1) * targets).sum(dim=1)
        return (1.0 - cosine).mean()


class HingeRankLoss(_LabelVectorLoss):
    """DeViSE's hinge rank loss: ``sum_{j≠y} max(0, margin − t_y·Mv + t_j·Mv)``, averaged over the batch.

    ``Mv`` is the image embedding and ``t_j`` the (unit-length) label vectors of the seen classes: the
    true label must score higher than every other label by ``margin``. Frome et al. (NeurIPS 2013)
    report that this ranks better than an L2 regression; they sum over all wrong labels (their
    early-stopping variant stops at the first violation, which we do not need for 40 classes).

    Args:
        class_word_vectors: label vectors of the classes trained on, of shape (n_classes, embedding_dim).
        margin: the margin (DeViSE: 0.1).
        normalize_embeddings: L2-normalise ``Mv`` first, so the margin has a fixed scale (DeViSE does not).
    """

    def __init__(self, class_word_vectors: torch.Tensor, margin: float = 0.1, normalize_embeddings: bool = False):
        super().__init__(class_word_vectors)
        self.margin = margin
        self.normalize_embeddings = normalize_embeddings

    def forward(self, image_embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: image_embeddings (batch, embedding_dim), labels (batch,). Returns: a scalar >= 0."""
        embeddings = image_embeddings.float()
        if self.normalize_embeddings:
            embeddings = F.normalize(embeddings, dim=1)
        labels = labels.long()
        scores = embeddings @ self.class_word_vectors.T  # (batch, n_classes)
        true_scores = scores.gather(1, labels[:, None])
        violations = (self.margin - true_scores + scores).clamp(min=0.0)
        # The true label's own term would add `margin` to every image; it is not part of the sum.
        violations = violations.scatter(1, labels[:, None], 0.0)
        return violations.sum(dim=1).mean()


def build_embedding_loss(name: str, class_word_vectors: torch.Tensor, margin: float = 0.1) -> nn.Module:
    """The visual-semantic loss called ``name`` (a key of :data:`EMBEDDING_LOSSES`).

    Raises:
        KeyError: naming the known losses.
    """
    if name not in EMBEDDING_LOSSES:
        raise KeyError(f"unknown embedding loss {name!r}; choose one of {', '.join(EMBEDDING_LOSSES)}")
    return EMBEDDING_LOSSES[name](class_word_vectors, margin)


EMBEDDING_LOSSES: dict[str, Callable[..., nn.Module]] = {
    "cosine": lambda class_word_vectors, margin: CosineDistanceLoss(class_word_vectors),
    "hinge_rank": lambda class_word_vectors, margin: HingeRankLoss(class_word_vectors, margin),
}
"""Name → builder ``(class_word_vectors, margin) -> loss`` for ``DeviseConfig.loss``."""
