"""Losses of the course, one family per file; import any of them from here (``from models.losses import X``).

Every loss is called as ``loss(outputs, targets)`` with its context (class vectors, margin, distance, ReMSE state)
fixed when built, and every one is built the same way: ``build_loss(family=..., name=..., **context)``
(:mod:`models.losses.registry`, whose :data:`LOSSES` lists each family's names and context).

=================  ==========  =====================================================================
family             notebook    file and main names
=================  ==========  =====================================================================
(all)                          :mod:`models.losses.registry` — ``build_loss``, ``LOSSES``
attribute          05          :mod:`models.losses.attribute` — ``AttributeBCELoss``, ``ReMSELoss``
                               (ReZSL), ``rezsl_loss``, ``ATTRIBUTE_LOSSES``
embedding          02          :mod:`models.losses.embedding` — ``CosineDistanceLoss``,
                               ``HingeRankLoss`` (DeViSE), ``EMBEDDING_LOSSES``
multilabel         07          :mod:`models.losses.multilabel` — ``SemanticDiversityLoss`` (SDL),
                               ``diversity_weights``, ``pairwise_ranking_losses``, ``MULTILABEL_LOSSES``
pair (metric)      06          :mod:`models.losses.pair` — ``TripletLoss``, ``ContrastiveLoss``,
                               ``PAIR_LOSSES``, ``pairwise_distances``, ``PAIR_DISTANCES``
=================  ==========  =====================================================================
"""

from models.losses.attribute import (
    ATTRIBUTE_LOSSES,
    REZSL_HYPERPARAMETERS,
    AttributeBCELoss,
    AttributeMSELoss,
    ReMSELoss,
    ScaledCosineCrossEntropy,
    WeightedSumLoss,
    class_attribute_errors,
    rebalancing_weights,
    rezsl_loss,
)
from models.losses.embedding import EMBEDDING_LOSSES, CosineDistanceLoss, HingeRankLoss
from models.losses.multilabel import (
    MULTILABEL_LOSSES,
    SemanticDiversityLoss,
    diversity_weights,
    pairwise_ranking_losses,
    principal_vector_variance_penalty,
)
from models.losses.pair import (
    MININGS,
    PAIR_DISTANCES,
    PAIR_LOSSES,
    ContrastiveLoss,
    TripletLoss,
    pairwise_distances,
    pml_distance,
)
from models.losses.registry import LOSSES, build_loss

__all__ = [
    # every family
    "LOSSES",
    "build_loss",
    # attribute (notebook 05)
    "ATTRIBUTE_LOSSES",
    "REZSL_HYPERPARAMETERS",
    "AttributeBCELoss",
    "AttributeMSELoss",
    "ReMSELoss",
    "ScaledCosineCrossEntropy",
    "WeightedSumLoss",
    "class_attribute_errors",
    "rebalancing_weights",
    "rezsl_loss",
    # embedding (notebook 02)
    "EMBEDDING_LOSSES",
    "CosineDistanceLoss",
    "HingeRankLoss",
    # multi-label (notebook 07)
    "MULTILABEL_LOSSES",
    "SemanticDiversityLoss",
    "diversity_weights",
    "pairwise_ranking_losses",
    "principal_vector_variance_penalty",
    # pair (notebook 06)
    "MININGS",
    "PAIR_DISTANCES",
    "PAIR_LOSSES",
    "ContrastiveLoss",
    "TripletLoss",
    "pairwise_distances",
    "pml_distance",
]
