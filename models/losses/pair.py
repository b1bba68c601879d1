"""Metric-learning losses for Siamese encoders: triplet (with batch mining) and contrastive.

* :class:`TripletLoss` — FaceNet's triplet margin loss (Schroff et al., "FaceNet: A Unified
  Embedding for Face Recognition and Clustering", CVPR 2015) with triplets mined inside each
  batch: *semi-hard* (the negative is farther than the positive but within the margin, FaceNet
  §3.2), *hardest* (per anchor the farthest positive and nearest negative, the "batch hard" triplets of Hermans,
  Beyer and Leibe, "In Defense of the Triplet Loss for Person Re-Identification", arXiv 1703.07737, 2017) or
  *all*. Built on pytorch-metric-learning's ``TripletMarginLoss`` and miners (Musgrave et al.,
  "PyTorch Metric Learning", arXiv 2008.09164, 2020).
* :class:`ContrastiveLoss` — the pair loss of Hadsell, Chopra and LeCun, "Dimensionality
  Reduction by Learning an Invariant Mapping", CVPR 2006: ``½ d²`` for a same-class pair and
  ``½ max(0, margin − d)²`` for a different-class pair, over every pair of the batch. Written
  here because pytorch-metric-learning's ``ContrastiveLoss`` uses unsquared hinges.

Both are called as ``loss(embeddings, labels)``, margin and distance fixed when built; :data:`PAIR_LOSSES` names
them for :func:`models.losses.build_loss`. Pair distances (:data:`PAIR_DISTANCES`): ``"cosine"`` (``1 − cos``, in
[0, 2]) or ``"euclidean"`` (L2) between embeddings.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import miners as pml_miners
from torch import nn

PAIR_DISTANCES = ("cosine", "euclidean")
"""Distances between two embeddings that the pair losses (and episode evaluation) accept."""
MININGS = ("semihard", "hardest", "all")
"""Triplet mining strategies of :class:`TripletLoss`."""


def pairwise_distances(
    embeddings: torch.Tensor, other_embeddings: torch.Tensor | None = None, distance: str = "cosine"
) -> torch.Tensor:
    """Distances between every row of ``embeddings`` and every row of ``other_embeddings``.

    Args:
        embeddings: tensor of shape (n, embedding_dim).
        other_embeddings: tensor of shape (m, embedding_dim); ``embeddings`` itself if ``None``.
        distance: ``"cosine"`` (1 − cosine similarity) or ``"euclidean"``.

    Returns:
        Tensor of shape (n, m).

    Raises:
        ValueError: for an unknown ``distance``.
    """
    other_embeddings = embeddings if other_embeddings is None else other_embeddings
    if distance == "cosine":
        first = nn.functional.normalize(embeddings, dim=1)
        second = nn.functional.normalize(other_embeddings, dim=1)
        return 1.0 - first @ second.T
    if distance == "euclidean":
        return torch.cdist(embeddings, other_embeddings)
    raise ValueError(f"unknown distance {distance!r}; choose one of {PAIR_DISTANCES}")


def pml_distance(distance: str = "cosine") -> pml_distances.BaseDistance:
    """The pytorch-metric-learning distance object for ``"cosine"`` or ``"euclidean"``.

    Cosine is PML's ``CosineSimilarity`` (a similarity, so PML flips the inequalities); its
    triplet margin is the same as with ``1 − cos`` because ``s_an − s_ap = d_ap − d_an``.
    """
    if distance == "cosine":
        return pml_distances.CosineSimilarity()
    if distance == "euclidean":
        return pml_distances.LpDistance(normalize_embeddings=False, p=2)
    raise ValueError(f"unknown distance {distance!r}; choose one of {PAIR_DISTANCES}")


class TripletLoss(nn.Module):
    """Triplet margin loss with in-batch mining (Schroff et al., CVPR 2015), via PML.

    For each mined triplet (anchor a, positive p of a's class, negative n of another class) the
    loss is ``max(0, d(a, p) − d(a, n) + margin)``; the batch loss is the mean over the triplets
    whose loss is positive (PML's ``AvgNonZeroReducer``), so it does not fade as easy triplets
    pile up. Batches need several images per class: sample them with PML's ``MPerClassSampler``.

    Args:
        margin: the margin α.
        distance: ``"cosine"`` or ``"euclidean"``.
        mining: ``"semihard"`` (``d_ap < d_an ≤ d_ap + margin``), ``"hardest"`` (per anchor the
            farthest positive and the nearest negative) or ``"all"`` (every valid triplet).

    Attributes:
        last_triplet_count: number of triplets mined in the latest call (for logging).
    """

    def __init__(self, margin: float = 0.2, distance: str = "cosine", mining: str = "semihard") -> None:
        super().__init__()
        if mining not in MININGS:
            raise ValueError(f"unknown mining {mining!r}; choose one of {MININGS}")
        self.margin, self.distance, self.mining = margin, distance, mining
        self.loss = pml_losses.TripletMarginLoss(margin=margin, distance=pml_distance(distance))
        if mining == "semihard":
            self.miner = pml_miners.TripletMarginMiner(
                margin=margin, type_of_triplets="semihard", distance=pml_distance(distance)
            )
        elif mining == "hardest":
            self.miner = pml_miners.BatchHardMiner(distance=pml_distance(distance))
        else:
            self.miner = None
        self.last_triplet_count = 0

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The loss of a batch.

        Args:
            embeddings: tensor of shape (batch, embedding_dim).
            labels: class labels of shape (batch,).

        Returns:
            A scalar tensor (zero, still differentiable, when no triplet is mined).
        """
        if self.miner is None:
            anchors, positives, negatives = _all_triplets(labels)
        else:
            anchors, positives, negatives = self.miner(embeddings, labels)
        self.last_triplet_count = int(anchors.numel())
        return self.loss(embeddings, labels, (anchors, positives, negatives))


def _all_triplets(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    same = labels[:, None] == labels[None, :]
    positive_pairs = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    valid = positive_pairs[:, :, None] & ~same[:, None, :]
    return tuple(index for index in valid.nonzero(as_tuple=True))


class ContrastiveLoss(nn.Module):
    """Contrastive pair loss of Hadsell, Chopra and LeCun (CVPR 2006), over all pairs of a batch.

    ``L = ½ d²`` for a pair of one class and ``L = ½ max(0, margin − d)²`` for a pair of two
    classes. A batch holds far more different-class than same-class pairs, so the two kinds are
    averaged separately and added: each counts equally, as in Koch et al.'s balanced pairs.

    Args:
        margin: the margin m beyond which different-class pairs cost nothing.
        distance: ``"cosine"`` or ``"euclidean"``.
    """

    def __init__(self, margin: float = 0.5, distance: str = "cosine") -> None:
        super().__init__()
        if distance not in PAIR_DISTANCES:
            raise ValueError(f"unknown distance {distance!r}; choose one of {PAIR_DISTANCES}")
        self.margin, self.distance = margin, distance

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The loss of a batch.

        Args:
            embeddings: tensor of shape (batch, embedding_dim).
            labels: class labels of shape (batch,).

        Returns:
            A scalar tensor.
        """
        distances = pairwise_distances(embeddings, distance=self.distance)
        if self.distance == "euclidean":
            # cdist's gradient is NaN at zero distance (the diagonal); rebuild it from a safe square root.
            squared = (embeddings[:, None, :] - embeddings[None, :, :]).pow(2).sum(-1)
            distances = squared.clamp_min(1e-12).sqrt()
        upper = torch.triu(torch.ones_like(distances, dtype=torch.bool), diagonal=1)
        same = (labels[:, None] == labels[None, :]) & upper
        different = (labels[:, None] != labels[None, :]) & upper
        positive_losses = 0.5 * distances[same].pow(2)
        negative_losses = 0.5 * (self.margin - distances[different]).clamp_min(0).pow(2)
        zero = embeddings.sum() * 0.0
        positive_term = positive_losses.mean() if positive_losses.numel() else zero
        negative_term = negative_losses.mean() if negative_losses.numel() else zero
        return positive_term + negative_term


def _triplet(*, margin: float = 0.2, distance: str = "cosine", mining: str = "semihard") -> nn.Module:
    return TripletLoss(margin, distance, mining)


def _contrastive(*, margin: float = 0.2, distance: str = "cosine", mining: str = "semihard") -> nn.Module:
    return ContrastiveLoss(margin, distance)


PAIR_LOSSES: dict[str, Callable[..., nn.Module]] = {"triplet": _triplet, "contrastive": _contrastive}
"""Name → builder ``(*, margin=0.2, distance="cosine", mining="semihard") -> loss`` for ``SiameseConfig.loss``;
the contrastive loss uses every pair and ignores ``mining``."""
