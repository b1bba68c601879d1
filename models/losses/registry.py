"""The one way to build a loss: :func:`build_loss` by family and name, from :data:`LOSSES`.

Every loss is an ``nn.Module`` called as ``loss(outputs, targets)``, ``targets`` being what a batch's labels give
(class indices, or multi-hot rows for the multi-label family); everything else it compares with (class attribute
or word vectors, margin, distance, ReMSE's running errors) is fixed when it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from models.losses.attribute import ATTRIBUTE_LOSSES
from models.losses.embedding import EMBEDDING_LOSSES
from models.losses.multilabel import MULTILABEL_LOSSES
from models.losses.pair import PAIR_LOSSES

LOSSES: dict[str, dict[str, Callable[..., nn.Module]]] = {
    "attribute": ATTRIBUTE_LOSSES,
    "embedding": EMBEDDING_LOSSES,
    "multilabel": MULTILABEL_LOSSES,
    "pair": PAIR_LOSSES,
}
"""Family → its name → builder dict. Each builder takes its family's context as keywords:

=============  ===============================================  ============================================
family         context                                          called as ``loss(outputs, targets)`` with
=============  ===============================================  ============================================
attribute      ``class_attribute_vectors`` (n_classes,          predicted attributes (batch, n_attributes),
               n_attributes), the options of ``rezsl_loss``     class indices (batch,)
embedding      ``class_word_vectors`` (n_classes, d),           image embeddings (batch, d),
               ``margin``                                       class indices (batch,)
multilabel     ``label_word_vectors`` (n_labels, d),            embedding matrices (batch, d, M),
               ``regularization_weight``,                       multi-hot rows (batch, n_labels)
               ``use_diversity_weight``
pair           ``margin``, ``distance``, ``mining``             embeddings (batch, d), class indices (batch,)
=============  ===============================================  ============================================
"""


def build_loss(*, family: str, name: str, **context: Any) -> nn.Module:
    """The loss ``name`` of ``family``, its context fixed, ready to be called as ``loss(outputs, targets)``.

    Args:
        family: a key of :data:`LOSSES` (``attribute``, ``embedding``, ``multilabel``, ``pair``).
        name: a key of ``LOSSES[family]``, e.g. ``remse_in_batch``, ``hinge_rank``, ``sdl``, ``triplet``.
        **context: the family's keyword arguments (see :data:`LOSSES`).

    Returns:
        The loss module.

    Raises:
        ValueError: for an unknown family or name, naming the family, the name and the choices.
    """
    if family not in LOSSES:
        raise ValueError(f"unknown loss family {family!r} (loss {name!r}); choose one of {', '.join(LOSSES)}")
    builders = LOSSES[family]
    if name not in builders:
        raise ValueError(f"unknown {family} loss {name!r}; choose one of {', '.join(builders)}")
    return builders[name](**context)
