"""Convolutional backbones split into a body (features) and a head, the way fastai trains them.

Stage 1 of the course trains ``BodyHeadModel(body, ClassifierHead(...))``; stage 2 keeps the body
and swaps the head for a :class:`models.semantic_head.SemanticHead`. fastai freezes and unfreezes
by parameter group, so :func:`body_head_splitter` returns the body's and the head's parameters.

Backbones (torchvision):

* SqueezeNet 1.1 — Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters
  and <0.5MB model size", arXiv 1602.07360 (2016). 512 feature channels.
* ResNet-18/34/50 — He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.
  512 / 512 / 2048 feature channels.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torchvision import models as tv_models


def _squeezenet_body(pretrained: bool) -> nn.Module:
    weights = tv_models.SqueezeNet1_1_Weights.IMAGENET1K_V1 if pretrained else None
    return tv_models.squeezenet1_1(weights=weights).features


def _resnet_body(builder: Callable, weights) -> Callable[[bool], nn.Module]:
    def body(pretrained: bool) -> nn.Module:
        network = builder(weights=weights if pretrained else None)
        # Everything up to (not including) the global pool and the ImageNet classifier.
        return nn.Sequential(*list(network.children())[:-2])

    return body


# name → (body builder taking ``pretrained``, number of feature channels the body outputs)
BACKBONES: dict[str, tuple[Callable[[bool], nn.Module], int]] = {
    "squeezenet1_1": (_squeezenet_body, 512),
    "resnet18": (_resnet_body(tv_models.resnet18, tv_models.ResNet18_Weights.IMAGENET1K_V1), 512),
    "resnet34": (_resnet_body(tv_models.resnet34, tv_models.ResNet34_Weights.IMAGENET1K_V1), 512),
    "resnet50": (_resnet_body(tv_models.resnet50, tv_models.ResNet50_Weights.IMAGENET1K_V2), 2048),
}


def create_body(name: str, pretrained: bool = False) -> tuple[nn.Module, int]:
    """The convolutional body of backbone ``name`` and its number of output channels.

    Args:
        name: a key of :data:`BACKBONES`.
        pretrained: load torchvision's ImageNet weights (downloads them on first use).

    Returns:
        ``(body, n_features)``: the body maps images of shape (batch, 3, H, W) to feature maps of
        shape (batch, n_features, h, w).

    Raises:
        KeyError: naming the known backbones.
    """
    if name not in BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    builder, n_features = BACKBONES[name]
    return builder(pretrained), n_features


class ConcatPool(nn.Module):
    """Global average and max pooling side by side: (batch, C, h, w) → (batch, 2C), as fastai's heads do."""

    def forward(self, feature_maps: torch.Tensor) -> torch.Tensor:
        return torch.cat([feature_maps.mean(dim=(2, 3)), feature_maps.amax(dim=(2, 3))], dim=1)


def pooled_mlp(n_features: int, n_outputs: int, hidden: int = 512, dropout: float = 0.25) -> nn.Sequential:
    """ConcatPool → BN → Dropout → Linear(2·n_features, hidden) → ReLU → BN → Dropout → Linear(hidden, n_outputs)."""
    return nn.Sequential(
        ConcatPool(),
        nn.BatchNorm1d(2 * n_features),
        nn.Dropout(dropout / 2),
        nn.Linear(2 * n_features, hidden, bias=False),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(hidden),
        nn.Dropout(dropout),
        nn.Linear(hidden, n_outputs),
    )


class ClassifierHead(nn.Sequential):
    """Stage-1 softmax head: feature maps of shape (batch, n_features, h, w) → logits (batch, n_classes)."""

    def __init__(self, n_features: int, n_classes: int, hidden: int = 512, dropout: float = 0.5):
        super().__init__(*pooled_mlp(n_features, n_classes, hidden, dropout))


class BodyHeadModel(nn.Module):
    """A body and a head; ``model.body`` is shared between stages 1 and 2."""

    def __init__(self, body: nn.Module, head: nn.Module):
        super().__init__()
        self.body = body
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))


def body_head_splitter(model: BodyHeadModel) -> list[list[nn.Parameter]]:
    """fastai ``splitter``: two parameter groups, so ``freeze()`` trains the head only and
    ``fit(lr=slice(low, high))`` gives the body the lower learning rate."""
    return [list(model.body.parameters()), list(model.head.parameters())]


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
