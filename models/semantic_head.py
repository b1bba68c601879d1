"""The visual-semantic head of DeViSE: image features → a point in word-vector space.

Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013: drop the softmax
layer of a trained classifier and learn a projection of its features onto the word vector of each
image's label. At test time an image is labelled with the nearest label vector, which may belong
to a class that no training image showed (zero-shot).

Two heads, picked by name from :data:`SEMANTIC_HEADS` (``DeviseConfig.semantic_head``):

* ``linear`` — :class:`LinearSemanticHead`, the paper's projection: one linear map of the pooled features;
* ``mlp`` — :class:`SemanticHead`, a later variant (the course's default): a small MLP, as fastai's heads are.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from models.backbones import pooled_mlp


class SemanticHead(nn.Module):
    """Feature maps of shape (batch, n_features, h, w) → embeddings of shape (batch, embedding_dim), through an MLP.

    Not the paper's head: DeViSE's projection is linear (:class:`LinearSemanticHead`). The output is not
    normalised: the cosine loss normalises it, and nearest-label search uses cosine similarity, so only its
    direction matters.

    Args:
        n_features: channels of the body's feature maps (512 for SqueezeNet 1.1 and ResNet-34).
        embedding_dim: the word-vector dimension (300 for fastText, 50 for the sample's GloVe).
        hidden: width of the hidden layer.
        dropout: dropout before the last layer.
    """

    def __init__(self, n_features: int, embedding_dim: int, hidden: int = 512, dropout: float = 0.25):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.layers = pooled_mlp(n_features, embedding_dim, hidden, dropout)

    def forward(self, feature_maps: torch.Tensor) -> torch.Tensor:
        return self.layers(feature_maps)


class LinearSemanticHead(nn.Module):
    """Feature maps of shape (batch, n_features, h, w) → embeddings of shape (batch, embedding_dim), by one linear map.

    DeViSE's projection layer ``M``: a linear transformation of the visual model's top representation into the
    word-vector space (Frome et al., NeurIPS 2013, trained with the hinge rank loss). Here that representation is
    the global average of the body's feature maps, the vector a ResNet's own classifier reads.

    Args:
        n_features: channels of the body's feature maps.
        embedding_dim: the word-vector dimension.
    """

    def __init__(self, n_features: int, embedding_dim: int):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.projection = nn.Linear(n_features, embedding_dim)

    def forward(self, feature_maps: torch.Tensor) -> torch.Tensor:
        return self.projection(feature_maps.mean(dim=(2, 3)))


def _mlp(*, n_features: int, embedding_dim: int, hidden: int = 512) -> nn.Module:
    return SemanticHead(n_features, embedding_dim, hidden=hidden)


def _linear(*, n_features: int, embedding_dim: int, hidden: int = 512) -> nn.Module:
    return LinearSemanticHead(n_features, embedding_dim)


SEMANTIC_HEADS: dict[str, Callable[..., nn.Module]] = {"mlp": _mlp, "linear": _linear}
"""Name → builder ``(*, n_features, embedding_dim, hidden=512) -> head`` for ``DeviseConfig.semantic_head``; the
linear head has no hidden layer and ignores ``hidden``."""


def build_semantic_head(name: str, *, n_features: int, embedding_dim: int, hidden: int = 512) -> nn.Module:
    """The semantic head ``name`` (a key of :data:`SEMANTIC_HEADS`) for ``n_features`` channels → ``embedding_dim``.

    Raises:
        ValueError: for an unknown name, naming the choices.
    """
    if name not in SEMANTIC_HEADS:
        raise ValueError(f"unknown semantic head {name!r}; choose one of {', '.join(SEMANTIC_HEADS)}")
    return SEMANTIC_HEADS[name](n_features=n_features, embedding_dim=embedding_dim, hidden=hidden)
