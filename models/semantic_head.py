"""The visual-semantic head of DeViSE: image features → a point in word-vector space.

Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013: drop the softmax
layer of a trained classifier and learn a projection of its features onto the word vector of each
image's label. At test time an image is labelled with the nearest label vector, which may belong
to a class that no training image showed (zero-shot).
"""

from __future__ import annotations

import torch
from torch import nn

from models.backbones import pooled_mlp


class SemanticHead(nn.Module):
    """Feature maps of shape (batch, n_features, h, w) → embeddings of shape (batch, embedding_dim).

    The output is not normalised: the cosine loss normalises it, and nearest-label search uses
    cosine similarity, so only its direction matters.

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
