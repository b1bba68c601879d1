"""The principal-embedding head of Semantic Diversity Learning (SDL) for multi-label zero-shot learning.

A. Ben-Cohen, N. Zamir, E. Ben-Baruch, I. Friedman, L. Zelnik-Manor, "Semantic Diversity Learning
for Zero-Shot Multi-label Classification", ICCV 2021, arXiv 2105.05926.

A DeViSE-style model maps an image to *one* point in word-vector space and ranks labels by their dot
product with it; a scene of a whale and a rabbit has to sit between two distant words and ranks both
badly. SDL maps the image to a matrix ``A`` of shape (d, M): ``M`` principal embedding vectors, and
scores a label by its best column::

    s(label) = max_m <A[:, m], w_label>

so each column can point at a different group of the image's labels. With ``M = 1`` this is the
single-vector model.

* :class:`SdlHead` — pooled features → Linear → reshape (batch, d, M).
* :class:`SdlModel` — any backbone (feature maps or pooled features) and the head (a ``BodyHeadModel``).
* :func:`principal_vector_scores`, :func:`label_scores` — scores of every label, per column and maxed.
"""

from __future__ import annotations

import torch
from torch import nn

from models.backbones import BodyHeadModel


class SdlHead(nn.Module):
    """Features → the embedding matrix ``A`` of shape (batch, embedding_dim, n_principal_vectors).

    As in the authors' released code the last layer outputs ``embedding_dim · n_principal_vectors``
    numbers that are viewed as a (d, M) matrix row by row (Ben-Cohen et al., ICCV 2021).

    Args:
        n_features: width of the backbone's output (channels of its feature maps, or its pooled width).
        embedding_dim: ``d``, the word-vector dimension (300 for NUS-WIDE, 50 for the sample world).
        n_principal_vectors: ``M``, the number of columns (the paper uses 7; 1 is the single-vector model).
        dropout: dropout before the linear layer.

    Shapes:
        features of shape (batch, n_features) or feature maps of shape (batch, n_features, h, w),
        which are average-pooled first → (batch, embedding_dim, n_principal_vectors).
    """

    def __init__(self, n_features: int, embedding_dim: int, n_principal_vectors: int = 7, dropout: float = 0.0):
        super().__init__()
        if n_principal_vectors < 1:
            raise ValueError(f"n_principal_vectors must be >= 1, got {n_principal_vectors}")
        self.embedding_dim = embedding_dim
        self.n_principal_vectors = n_principal_vectors
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(n_features, embedding_dim * n_principal_vectors)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim == 4:
            features = features.mean(dim=(2, 3))
        flat = self.linear(self.dropout(features))
        return flat.view(features.shape[0], self.embedding_dim, self.n_principal_vectors)


class SdlModel(BodyHeadModel):
    """A backbone and an :class:`SdlHead`: images (batch, 3, H, W) → ``A`` (batch, d, M).

    :class:`models.backbones.BodyHeadModel` with the body registered as ``backbone``, so SDL
    checkpoints keep their ``backbone.*`` keys.

    Args:
        backbone: maps images to features (batch, n_features) or feature maps (batch, n_features, h, w),
            e.g. ``models.backbones.create_body`` or ``models.attribute_head.create_attribute_backbone``.
        head: the SDL head.
    """

    body_name = "backbone"


def principal_vector_scores(embedding_matrices: torch.Tensor, label_word_vectors: torch.Tensor) -> torch.Tensor:
    """Dot product of every principal vector with every label's word vector.

    Args:
        embedding_matrices: ``A`` of shape (batch, d, M).
        label_word_vectors: of shape (n_labels, d).

    Returns:
        Scores of shape (batch, n_labels, M): ``[b, l, m] = <A_b[:, m], w_l>``.
    """
    return torch.einsum("bdm,ld->blm", embedding_matrices, label_word_vectors.to(embedding_matrices))


def label_scores(embedding_matrices: torch.Tensor, label_word_vectors: torch.Tensor) -> torch.Tensor:
    """SDL's label scores: the best principal vector's dot product, ``max_m <A[:, m], w_label>``.

    Args:
        embedding_matrices: ``A`` of shape (batch, d, M).
        label_word_vectors: of shape (n_labels, d); any label set, seen or unseen.

    Returns:
        Scores of shape (batch, n_labels); with ``M = 1`` the plain dot product ``A[:, 0] · w``.
    """
    return principal_vector_scores(embedding_matrices, label_word_vectors).amax(dim=-1)
