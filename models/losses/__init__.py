"""Losses of the course, one family per file; import any of them from here (``from models.losses import X``).

=================  ==========  =====================================================================
family             notebook    file and main names
=================  ==========  =====================================================================
attribute          05          :mod:`models.losses.attribute` — ``AttributeBCELoss``, ``ReMSELoss``
                               (ReZSL), ``rezsl_loss``, ``ATTRIBUTE_LOSSES``, ``build_attribute_loss``
embedding          02          :mod:`models.losses.embedding` — ``CosineDistanceLoss``,
                               ``HingeRankLoss`` (DeViSE), ``EMBEDDING_LOSSES``, ``build_embedding_loss``
multi-label        07          :mod:`models.losses.multilabel` — ``SemanticDiversityLoss`` (SDL),
                               ``diversity_weights``, ``pairwise_ranking_losses``
pair (metric)      06          :mod:`models.losses.pair` — ``TripletLoss``, ``ContrastiveLoss``,
                               ``build_pair_loss``, ``pairwise_distances``, ``PAIR_DISTANCES``
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
    build_attribute_loss,
    class_attribute_errors,
    rebalancing_weights,
    rezsl_loss,
)
from models.losses.embedding import EMBEDDING_LOSSES, CosineDistanceLoss, HingeRankLoss, build_embedding_loss
from models.losses.multilabel import (
    SemanticDiversityLoss,
    diversity_weights,
    pairwise_ranking_losses,
    principal_vector_variance_penalty,
)
from models.losses.pair import (
    MININGS,
    PAIR_DISTANCES,
    ContrastiveLoss,
    TripletLoss,
    build_pair_loss,
    pairwise_distances,
    pml_distance,
)

__all__ = [
    # attribute (notebook 05)
    "ATTRIBUTE_LOSSES",
    "REZSL_HYPERPARAMETERS",
    "AttributeBCELoss",
    "AttributeMSELoss",
    "ReMSELoss",
    "ScaledCosineCrossEntropy",
    "WeightedSumLoss",
    "build_attribute_loss",
    "class_attribute_errors",
    "rebalancing_weights",
    "rezsl_loss",
    # embedding (notebook 02)
    "EMBEDDING_LOSSES",
    "CosineDistanceLoss",
    "HingeRankLoss",
    "build_embedding_loss",
    # multi-label (notebook 07)
    "SemanticDiversityLoss",
    "diversity_weights",
    "pairwise_ranking_losses",
    "principal_vector_variance_penalty",
    # pair (notebook 06)
    "MININGS",
    "PAIR_DISTANCES",
    "ContrastiveLoss",
    "TripletLoss",
    "build_pair_loss",
    "pairwise_distances",
    "pml_distance",
]
