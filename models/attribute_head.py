"""Attribute prediction networks and nearest-class inference for attribute-based zero-shot learning.

An image (or its backbone feature vector) is mapped to a vector of attribute predictions; an unseen
class is recognised as the class whose attribute vector is nearest. This is direct attribute
prediction (C. H. Lampert, H. Nickisch, S. Harmeling, "Attribute-Based Classification for Zero-Shot
Visual Object Categorization", TPAMI 2014) with a deep network, and the regression setting of ReZSL
(Z. Ye et al., "Rebalanced Zero-shot Learning", IEEE TIP 2023, arXiv 2210.07031).

* :class:`AttributeHead` — the attribute network's head: BatchNorm → ReLU → Dropout(0.25) →
  Linear(width, n_attributes).
* :class:`AttributeRegressor` — a linear map or a one-hidden-layer MLP for precomputed features.
* :func:`create_attribute_backbone` — a torchvision ResNet or a small CNN, pooled to (batch, width)
  (the ``pooled`` form of the registry :data:`models.backbones.BACKBONES`).
* :class:`AttributeNetwork` — backbone + head, end to end on images (a ``BodyHeadModel``).
* :func:`nearest_class_scores` — scores of every class by Euclidean, cosine or Hamming distance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.backbones import BodyHeadModel, look_up_backbone


class AttributeHead(nn.Sequential):
    """The attribute network's head: BatchNorm1d → ReLU → Dropout → Linear(width, n_attributes).

    It replaces a ResNet-50's ImageNet classifier; with sigmoid outputs and binary cross-entropy it
    predicts the probability of each attribute (Lampert et al., TPAMI 2014).

    Args:
        width: feature width, e.g. 2048 for ResNet-50 (or ResNet-101 xlsa17 features).
        n_attributes: outputs, e.g. 85 for AwA2.
        dropout: dropout probability (0.25 in notebook 05).

    Shapes:
        features (batch, width) → attribute logits (batch, n_attributes).
    """

    def __init__(self, width: int, n_attributes: int, dropout: float = 0.25):
        super().__init__(
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(width, n_attributes),
        )


class AttributeRegressor(nn.Sequential):
    """Linear or one-hidden-layer attribute regressor over precomputed features (xlsa17 ``res101.mat``).

    Args:
        width: feature width (2048 for xlsa17's ResNet-101 features).
        n_attributes: outputs (85 AwA2, 312 CUB, 102 SUN).
        hidden: hidden units; ``None`` or 0 gives a single ``Linear`` layer.
        dropout: dropout before the output layer.

    Shapes:
        features (batch, width) → predicted attributes (batch, n_attributes).
    """

    def __init__(self, width: int, n_attributes: int, hidden: int | None = 1024, dropout: float = 0.25):
        if hidden:
            layers = [nn.Linear(width, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout), nn.Linear(hidden, n_attributes)]
        else:
            layers = [nn.Dropout(dropout), nn.Linear(width, n_attributes)]
        super().__init__(*layers)


def create_attribute_backbone(name: str, pretrained: bool = False) -> tuple[nn.Module, int]:
    """A backbone that maps images to pooled feature vectors, and its width.

    Args:
        name: a backbone of :data:`models.backbones.BACKBONES` in its ``pooled`` form: ``resnet18``, ``resnet34``,
            ``resnet50`` (torchvision; He et al., CVPR 2016; the ImageNet classifier is dropped),
            ``small_cnn`` (widths 32-64-128-128) or ``tiny_cnn`` (8-16-32).
        pretrained: load torchvision's ImageNet weights (ResNets only; downloads on first use).

    Returns:
        ``(backbone, width)``: ``backbone`` maps (batch, 3, H, W) to (batch, width).

    Raises:
        KeyError: naming the known backbones.
    """
    builder, width = look_up_backbone(name, "pooled")
    return builder(pretrained), width


class AttributeNetwork(BodyHeadModel):
    """A backbone and an attribute head, trained end to end on images (direct attribute prediction).

    :class:`models.backbones.BodyHeadModel` with the body registered as ``backbone``, so seed-A
    checkpoints keep their ``backbone.*`` keys.

    Args:
        backbone: maps images (batch, 3, H, W) to features (batch, width).
        head: maps features (batch, width) to attribute outputs (batch, n_attributes).
    """

    body_name = "backbone"


ATTRIBUTE_DISTANCES = ("euclidean", "cosine", "hamming")
"""Distances from predicted attributes to class attribute vectors that :func:`nearest_class_scores` accepts."""


def nearest_class_scores(
    predicted_attributes: torch.Tensor, class_attribute_vectors: torch.Tensor, distance: str = "euclidean"
) -> torch.Tensor:
    """Scores of every candidate class, higher for nearer attribute vectors.

    The predicted class is the argmax: the candidate whose attribute vector is nearest.

    Args:
        predicted_attributes: of shape (n_images, n_attributes): sigmoid probabilities for a BCE
            model, regressed values for an MSE/ReMSE model.
        class_attribute_vectors: of shape (n_classes, n_attributes), the candidates (e.g. the unseen
            classes for ZSL, all classes for GZSL).
        distance: ``euclidean`` (score = −distance), ``cosine`` (score = cosine similarity) or
            ``hamming`` (score = −number of attributes on which ``predicted_attributes > 0.5``
            disagrees with ``class_attribute_vectors > 0.5``; for probabilities and binary rows).

    Returns:
        Scores of shape (n_images, n_classes).
    """
    predicted = predicted_attributes.float()
    candidates = class_attribute_vectors.to(predicted)
    if distance == "euclidean":
        return -torch.cdist(predicted, candidates)
    if distance == "cosine":
        return F.normalize(predicted, dim=-1) @ F.normalize(candidates, dim=-1).T
    if distance == "hamming":
        predicted_bits = (predicted > 0.5).float()
        candidate_bits = (candidates > 0.5).float()
        disagreements = predicted_bits @ (1 - candidate_bits).T + (1 - predicted_bits) @ candidate_bits.T
        return -disagreements
    raise ValueError(f"distance must be one of {ATTRIBUTE_DISTANCES}, not {distance!r}")
