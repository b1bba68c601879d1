"""Siamese encoders: CIFAR ResNet-20/32/56 and a small CNN, producing L2-normalised embeddings.

A Siamese network (Koch et al., "Siamese Neural Networks for One-shot Image Recognition", ICML
Deep Learning Workshop 2015) passes two (or three) images through the *same* encoder and compares
the embeddings with a distance. Trained so that images of one class are close and images of
different classes far apart, it can then compare images of classes it has never seen: one
labelled example per new class is enough to classify (one-shot learning).

Encoders (``ENCODERS``, name → builder):

* ``resnet20`` / ``resnet32`` / ``resnet56`` — the CIFAR ResNets of He et al., "Deep Residual
  Learning for Image Recognition", CVPR 2016, section 4.2: a 3×3 stem of 16 channels, then three
  stages of ``n`` basic blocks of widths 16, 32, 64 (depth ``6n + 2``), global average pooling,
  and *option A* shortcuts — identity, with the spatial size halved by subsampling and the new
  channels zero-padded, so the shortcuts add no parameters. ResNet-56 has about 0.85 M weights.
* ``small_cnn`` — three conv-BN-ReLU-max-pool blocks (32, 64, 128 channels); any input size and
  channel count, so it also serves the 8×8 grey digits of scikit-learn.

Every encoder ends with a linear projection to ``embedding_dim`` and L2 normalisation, so cosine
similarity is a dot product and squared Euclidean distance is ``2 - 2 cos``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

CIFAR_RESNET_BLOCKS = {"resnet20": 3, "resnet32": 5, "resnet56": 9}
"""Basic blocks per stage of each CIFAR ResNet (depth = 6 × blocks + 2)."""


class OptionAShortcut(nn.Module):
    """The parameter-free shortcut of He et al. (2016), option A.

    Subsamples the input by ``stride`` and zero-pads the channels from ``in_channels`` to
    ``out_channels`` (half of the padding on each side, as in the reference CIFAR code).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.padding = out_channels - in_channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map (batch, in_channels, H, W) to (batch, out_channels, H / stride, W / stride)."""
        subsampled = images[:, :, :: self.stride, :: self.stride]
        before = self.padding // 2
        return F.pad(subsampled, (0, 0, 0, 0, before, self.padding - before))


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with a residual connection (He et al., 2016).

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        stride: 2 at the first block of a stage (halves height and width), else 1.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut = OptionAShortcut(in_channels, out_channels, stride) if needs_projection else nn.Identity()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Map (batch, in_channels, H, W) to (batch, out_channels, H / stride, W / stride)."""
        out = F.relu(self.bn1(self.conv1(features)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(features))


class CifarResNet(nn.Module):
    """CIFAR ResNet with option-A shortcuts and widths 16/32/64 (He et al., CVPR 2016, §4.2).

    Args:
        blocks_per_stage: ``n`` in depth ``6n + 2`` (3: ResNet-20, 5: ResNet-32, 9: ResNet-56).
        in_channels: image channels.

    Attributes:
        feature_dim: channels of the pooled output (64).
    """

    feature_dim = 64

    def __init__(self, blocks_per_stage: int, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True)
        )
        layers: list[nn.Module] = []
        channels = 16
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            for index in range(blocks_per_stage):
                layers.append(BasicBlock(channels, width, stride if index == 0 else 1))
                channels = width
        self.stages = nn.Sequential(*layers)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map images of shape (batch, in_channels, H, W) to features of shape (batch, 64)."""
        features = self.stages(self.stem(images))
        return features.mean(dim=(2, 3))


class SmallConvNet(nn.Module):
    """Three conv-BN-ReLU-max-pool blocks and global average pooling; any input size ≥ 1 pixel.

    Args:
        in_channels: image channels (3 for CIFAR, 1 for digits).
        widths: channels of the three blocks.

    Attributes:
        feature_dim: channels of the pooled output (``widths[-1]``).
    """

    def __init__(self, in_channels: int = 3, widths: tuple[int, ...] = (32, 64, 128)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for width in widths:
            # ceil_mode keeps odd and tiny maps (8×8 digits → 4 → 2 → 1) from vanishing.
            layers += [
                nn.Conv2d(channels, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            channels = width
        self.blocks = nn.Sequential(*layers)
        self.feature_dim = channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map images of shape (batch, in_channels, H, W) to features of shape (batch, feature_dim)."""
        return self.blocks(images).mean(dim=(2, 3))


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


def _cifar_resnet(blocks_per_stage: int) -> Callable[[int], nn.Module]:
    return lambda in_channels: CifarResNet(blocks_per_stage, in_channels)


ENCODERS: dict[str, Callable[[int], nn.Module]] = {
    **{name: _cifar_resnet(blocks) for name, blocks in CIFAR_RESNET_BLOCKS.items()},
    "small_cnn": lambda in_channels: SmallConvNet(in_channels),
}
"""Backbone name → builder taking ``in_channels``."""


def build_siamese_encoder(name: str = "resnet20", embedding_dim: int = 64, in_channels: int = 3) -> SiameseEncoder:
    """A :class:`SiameseEncoder` on the backbone ``name`` of :data:`ENCODERS`.

    Raises:
        KeyError: naming the known backbones, for an unknown ``name``.
    """
    if name not in ENCODERS:
        raise KeyError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return SiameseEncoder(ENCODERS[name](in_channels), embedding_dim)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(parameter.numel() for parameter in module.parameters() if parameter.requires_grad)
