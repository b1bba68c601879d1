"""Multi-label loss (notebook 07): :class:`SemanticDiversityLoss`, the diversity-weighted ranking loss of
Semantic Diversity Learning (A. Ben-Cohen, N. Zamir, E. Ben-Baruch, I. Friedman, L. Zelnik-Manor,
"Semantic Diversity Learning for Zero-Shot Multi-label Classification", ICCV 2021, arXiv 2105.05926),
and its parts :func:`diversity_weights`, :func:`pairwise_ranking_losses` and
:func:`principal_vector_variance_penalty`. Built with the word vectors of the labels trained on and called as
``loss(embedding_matrices, targets)``; :data:`MULTILABEL_LOSSES` names it for :func:`models.losses.build_loss`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


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
        label_word_vectors: word vectors ``w_label`` of the labels trained on, of shape (n_labels, d), in the
            order of the targets' columns; kept as a float32 buffer, so ``loss.to(device)`` moves them.
        regularization_weight: ``λ``; the released loss class defaults to 0.3, its training script
            uses 0.01. ``None`` drops the regulariser and the factor 2 (the released ``weight=None``).
        use_diversity_weight: weigh each image's ranking loss by its labels' semantic diversity.

    Attributes:
        last_values: the batch means of ``rank``, ``weight`` and ``regulariser`` at the last call.

    Raises:
        ValueError: for a ``regularization_weight`` outside [0, 1] or word vectors that are not (n_labels, d).
    """

    def __init__(
        self, label_word_vectors: torch.Tensor, regularization_weight: float | None = 0.3,
        use_diversity_weight: bool = True,
    ):
        super().__init__()
        if regularization_weight is not None and not 0 <= regularization_weight <= 1:
            raise ValueError(f"regularization_weight must lie in [0, 1], got {regularization_weight}")
        vectors = torch.as_tensor(label_word_vectors, dtype=torch.float32)
        if vectors.ndim != 2:
            raise ValueError(f"label_word_vectors must be (n_labels, d), got {tuple(vectors.shape)}")
        self.register_buffer("label_word_vectors", vectors)
        self.regularization_weight = regularization_weight
        self.use_diversity_weight = use_diversity_weight
        self.last_values: dict[str, float] = {}

    def forward(self, embedding_matrices: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The mean SDL loss of a batch.

        Args:
            embedding_matrices: ``A`` of shape (batch, d, M).
            targets: multi-hot labels of shape (batch, n_labels) over the labels trained on.

        Returns:
            The scalar loss.
        """
        vectors = self.label_word_vectors.to(embedding_matrices)
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


MULTILABEL_LOSSES: dict[str, Callable[..., nn.Module]] = {"sdl": SemanticDiversityLoss}
"""Name → builder ``(*, label_word_vectors, regularization_weight=0.3, use_diversity_weight=True) -> loss``."""
