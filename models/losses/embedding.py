"""Visual-semantic (DeViSE) losses, notebook 02.

Both share one signature, ``loss(image_embeddings, labels)`` with ``image_embeddings`` of shape
(batch, embedding_dim) and ``labels`` of shape (batch,) indexing the rows of the
``class_word_vectors`` (n_classes, embedding_dim) given to the constructor — the seen classes'
label vectors, in the order of the data loaders' vocabulary. fastai calls ``loss_func(pred, target)``,
so they plug into a ``Learner`` as they are. :data:`EMBEDDING_LOSSES` maps ``cosine`` and
``hinge_rank`` to builders, for :func:`models.losses.build_loss`:

* :class:`CosineDistanceLoss` — ``1 − cos(Mv, t_y)`` to the image's label vector;
* :class:`HingeRankLoss` — DeViSE's ranking loss against the other seen labels (A. Frome et al.,
  "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


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


def _cosine(*, class_word_vectors: torch.Tensor, margin: float = 0.1) -> nn.Module:
    return CosineDistanceLoss(class_word_vectors)


def _hinge_rank(*, class_word_vectors: torch.Tensor, margin: float = 0.1) -> nn.Module:
    return HingeRankLoss(class_word_vectors, margin)


EMBEDDING_LOSSES: dict[str, Callable[..., nn.Module]] = {"cosine": _cosine, "hinge_rank": _hinge_rank}
"""Name → builder ``(*, class_word_vectors, margin=0.1) -> loss`` for ``DeviseConfig.loss``; the cosine loss has
no margin and ignores it."""
