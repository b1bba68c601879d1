"""Attribute prediction networks and nearest-class inference for attribute-based zero-shot learning.

An image (or its backbone feature vector) is mapped to a vector of attribute predictions, and an unseen class is
recognised from them in one of two ways:

* the **nearest class attribute vector** (Euclidean, cosine or Hamming distance): a plain nearest-neighbour rule in
  attribute space, as ReZSL (Z. Ye et al., "Rebalanced Zero-shot Learning", IEEE TIP 2023, arXiv 2210.07031) uses
  for regressed attributes;
* **direct attribute prediction** (DAP; C. H. Lampert, H. Nickisch, S. Harmeling, "Learning To Detect Unseen Object
  Classes by Between-Class Attribute Transfer", CVPR 2009, and "Attribute-Based Classification for Zero-Shot Visual
  Object Categorization", TPAMI 2014): per-attribute probabilities combined into a class posterior,
  argmax_z Π_m p(a_m^z | x) / p(a_m^z) (:func:`dap_scores`).

* :class:`AttributeHead` — the attribute network's head: BatchNorm → ReLU → Dropout(0.25) →
  Linear(width, n_attributes).
* :class:`AttributeRegressor` — a linear map or a one-hidden-layer MLP for precomputed features.
* :func:`create_attribute_backbone` — a torchvision ResNet or a small CNN, pooled to (batch, width)
  (the ``pooled`` form of the registry :data:`models.backbones.BACKBONES`).
* :class:`AttributeNetwork` — backbone + head, end to end on images (a ``BodyHeadModel``).
* :func:`nearest_class_scores` — scores of every class by Euclidean, cosine or Hamming distance.
* :func:`attribute_priors` and :func:`dap_scores` — DAP's attribute priors and class log-posteriors.
* :func:`attribute_class_scores` — any rule of :data:`ATTRIBUTE_RULES` by name.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.backbones import BodyHeadModel, look_up_backbone


class AttributeHead(nn.Sequential):
    """The attribute network's head: BatchNorm1d → ReLU → Dropout → Linear(width, n_attributes).

    It replaces a ResNet-50's ImageNet classifier; with sigmoid outputs and binary cross-entropy it
    predicts the probability of each attribute, the input of DAP (Lampert et al., TPAMI 2014).

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
    """A backbone and an attribute head, trained end to end on images to predict each attribute's probability.

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


def attribute_priors(seen_binary_attributes: torch.Tensor) -> torch.Tensor:
    """DAP's attribute priors p(a_m = 1): the mean of each binary attribute over the training (seen) classes.

    Lampert et al. (TPAMI 2014, Section 4.1) use "the empirical means over the training classes"; like their
    released evaluation code (``DAP-eval.py``), a prior of exactly 0 or 1 (an attribute no seen class or every seen
    class has) is replaced by 0.5, since it would make the posterior of some class infinite or zero whatever the image.

    Args:
        seen_binary_attributes: of shape (n_seen_classes, n_attributes), 0/1 rows of the classes trained on.

    Returns:
        Priors of shape (n_attributes,), in (0, 1).
    """
    priors = torch.as_tensor(seen_binary_attributes, dtype=torch.float64).mean(0)
    return torch.where((priors == 0) | (priors == 1), torch.full_like(priors, 0.5), priors)


DAP_PROBABILITY_FLOOR = 1e-12
"""Smallest attribute probability DAP takes the logarithm of, so a confident 0 or 1 gives a finite score."""


def dap_scores(
    attribute_probabilities: torch.Tensor, class_binary_attributes: torch.Tensor, priors: torch.Tensor
) -> torch.Tensor:
    """Direct attribute prediction's class log-posteriors (Lampert, Nickisch & Harmeling, CVPR 2009 and TPAMI 2014).

    With attributes independent given the image and equal class priors, the posterior of class z is proportional to
    Π_m p(a_m^z | x) / p(a_m^z), where a^z is class z's binary attribute row, p(a_m = 1 | x) the predicted
    probability of attribute m and p(a_m) its prior (:func:`attribute_priors`). This returns its logarithm,
    Σ_m log p(a_m^z | x) − log p(a_m^z): the argmax is DAP's prediction, and the scores can be calibrated like any
    other.

    Args:
        attribute_probabilities: of shape (n_images, n_attributes), sigmoid outputs p(a_m = 1 | x).
        class_binary_attributes: of shape (n_classes, n_attributes), the candidates' 0/1 rows (values > 0.5 count
            as 1).
        priors: of shape (n_attributes,), p(a_m = 1) from the seen classes.

    Returns:
        Log-posterior scores (up to a constant per image) of shape (n_images, n_classes), float32.
    """
    probabilities = attribute_probabilities.double().clamp(DAP_PROBABILITY_FLOOR, 1 - DAP_PROBABILITY_FLOOR)
    present = (torch.as_tensor(class_binary_attributes) > 0.5).double().to(probabilities.device)
    priors = torch.as_tensor(priors, dtype=torch.float64, device=probabilities.device)
    log_likelihood = probabilities.log() @ present.T + (1 - probabilities).log() @ (1 - present).T
    log_prior = present @ priors.log() + (1 - present) @ (1 - priors).log()
    return (log_likelihood - log_prior).float()


ATTRIBUTE_RULES = (*ATTRIBUTE_DISTANCES, "dap")
"""Rules that turn predicted attributes into class scores: the nearest-vector distances and DAP."""


def attribute_class_scores(
    predicted_attributes: torch.Tensor, class_attribute_vectors: torch.Tensor, rule: str,
    priors: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scores of every candidate class by one rule of :data:`ATTRIBUTE_RULES`, higher for likelier classes.

    Args:
        predicted_attributes: of shape (n_images, n_attributes) (probabilities for ``hamming`` and ``dap``).
        class_attribute_vectors: of shape (n_classes, n_attributes), the candidates (binary rows for ``dap``).
        rule: a distance of :func:`nearest_class_scores`, or ``dap`` (:func:`dap_scores`).
        priors: of shape (n_attributes,), DAP's :func:`attribute_priors`; required for ``dap`` only.

    Returns:
        Scores of shape (n_images, n_classes).

    Raises:
        ValueError: for an unknown rule, or ``dap`` without priors.
    """
    if rule == "dap":
        if priors is None:
            raise ValueError("the dap rule needs the attribute priors of the seen classes (attribute_priors)")
        return dap_scores(predicted_attributes, class_attribute_vectors, priors)
    if rule not in ATTRIBUTE_DISTANCES:
        raise ValueError(f"rule must be one of {ATTRIBUTE_RULES}, not {rule!r}")
    return nearest_class_scores(predicted_attributes, class_attribute_vectors, rule)
