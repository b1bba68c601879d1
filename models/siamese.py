"""Siamese encoders: a backbone, a linear projection and L2 normalisation.

A Siamese network (Koch et al., "Siamese Neural Networks for One-shot Image Recognition", ICML
Deep Learning Workshop 2015) passes two (or three) images through the *same* encoder and compares
the embeddings with a distance. Trained so that images of one class are close and images of
different classes far apart, it can then compare images of classes it has never seen: one
labelled example per new class is enough to classify (one-shot learning).

Backbones (the ``encoder`` form of :data:`models.backbones.BACKBONES`, where their layers are
written): ``resnet20`` / ``resnet32`` / ``resnet56``, the CIFAR ResNets of He et al. (CVPR 2016,
section 4.2) with parameter-free option-A shortcuts, and ``small_convnet``, three conv-BN-ReLU-max-pool
blocks that take any input size and channel count (also the 8×8 grey digits of scikit-learn).

Every encoder ends with a linear projection to ``embedding_dim`` and L2 normalisation, so cosine
similarity is a dot product and squared Euclidean distance is ``2 - 2 cos``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.backbones import look_up_backbone


class SiameseEncoder(nn.Module):
    """The shared twin of a Siamese network: backbone → linear → L2-normalised embedding.

    Koch et al. (2015) compare the twins' outputs with a learned distance; here, as in FaceNet
    (Schroff et al., CVPR 2015), the embedding lies on the unit sphere and is compared with cosine
    or Euclidean distance, which lets the same encoder classify unseen classes by nearest support.

    Args:
        backbone: a module mapping images to features of shape (batch, backbone.feature_dim).
        embedding_dim: size of the embedding.
    """

    def __init__(self, backbone: nn.Module, embedding_dim: int = 64) -> None:
        super().__init__()
        self.backbone = backbone
        self.projection = nn.Linear(backbone.feature_dim, embedding_dim)
        self.embedding_dim = embedding_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map images of shape (batch, C, H, W) to unit-norm embeddings of shape (batch, embedding_dim)."""
        embeddings = self.projection(self.backbone(images))
        return F.normalize(embeddings.float(), dim=1)


def build_siamese_encoder(name: str = "resnet20", embedding_dim: int = 64, in_channels: int = 3) -> SiameseEncoder:
    """A :class:`SiameseEncoder` on backbone ``name`` of :data:`models.backbones.BACKBONES`, in its ``encoder`` form.

    Raises:
        KeyError: naming the known backbones, for an unknown ``name``.
    """
    builder, _ = look_up_backbone(name, "encoder")
    return SiameseEncoder(builder(in_channels), embedding_dim)
