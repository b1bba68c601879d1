"""Backbones (bodies), the one body+head wrapper, and parameter counts.

A model of the course is a *body* that turns images into features and a *head* on top, the way fastai
trains them: stage 1 trains ``BodyHeadModel(body, ClassifierHead(...))``; stage 2 keeps the body and
swaps the head for a :class:`models.semantic_head.SemanticHead`. fastai freezes and unfreezes by
parameter group, so :func:`body_head_splitter` returns the body's and the head's parameters.

Every backbone is built from the one registry :data:`BACKBONES`, name → :class:`Backbone`: its output width
and a builder for each *form* it comes in. The names are config values that shape checkpoints, so a name keeps
its layers; a stage asks for its form through :func:`look_up_backbone`:

================  =========================================  ====================================================  ========
form              output                                     front door                                            notebooks
================  =========================================  ====================================================  ========
``feature_maps``  feature maps (batch, n_features, h, w)     :func:`create_body`                                   01–04
``pooled``        pooled features (batch, n_features)        ``models.attribute_head.create_attribute_backbone``   05, 07
``encoder``       pooled features (batch, n_features), any   ``models.siamese.build_siamese_encoder``              06
                  number of input channels
================  =========================================  ====================================================  ========

The ResNets come as feature maps (stopped before the global pool) and pooled (the pool kept); ``small_cnn`` is
the pooled small CNN of 05/07 (four blocks, 32-64-128-128) and ``small_convnet`` the encoder of 06
(:class:`SmallConvNet`, three blocks 32-64-128 in ceil mode, so it also takes 8×8 grey digits).

Architectures:

* SqueezeNet 1.1 — Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters
  and <0.5MB model size", arXiv 1602.07360 (2016). 512 feature channels.
* ResNet-18/34/50 (torchvision) — He et al., "Deep Residual Learning for Image Recognition",
  CVPR 2016. 512 / 512 / 2048 feature channels; as bodies they stop before the global pool, as pooled
  backbones they keep it and drop only the ImageNet classifier.
* ``resnet20`` / ``resnet32`` / ``resnet56`` — the CIFAR ResNets of He et al. (CVPR 2016, section 4.2):
  a 3×3 stem of 16 channels, then three stages of ``n`` basic blocks of widths 16, 32, 64 (depth
  ``6n + 2``), global average pooling, and *option A* shortcuts — identity, with the spatial size
  halved by subsampling and the new channels zero-padded, so the shortcuts add no parameters.
  ResNet-56 has about 0.85 M weights.
* :func:`small_cnn` (pooled ``small_cnn`` 32-64-128-128 and ``tiny_cnn`` 8-16-32) and
  :class:`SmallConvNet` (Siamese ``small_convnet``, 32-64-128 with ceil-mode pooling, any input size and
  channel count, so it also serves the 8×8 grey digits of scikit-learn): small CPU-sized CNNs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models as tv_models

# ------------------------------------------------------------------------- feature-map bodies (01–04)


def _squeezenet_body(pretrained: bool) -> nn.Module:
    weights = BACKBONES["squeezenet1_1"].weights if pretrained else None
    return tv_models.squeezenet1_1(weights=weights).features


def _resnet_body(builder: Callable, weights) -> Callable[[bool], nn.Module]:
    def body(pretrained: bool) -> nn.Module:
        network = builder(weights=weights if pretrained else None)
        # Everything up to (not including) the global pool and the ImageNet classifier.
        return nn.Sequential(*list(network.children())[:-2])

    return body


# ---------------------------------------------------------- pooled backbones (05, 07)


def _conv_block(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def small_cnn(widths: tuple[int, ...] = (32, 64, 128, 128)) -> nn.Sequential:
    """A CPU-sized CNN: one conv-BN-ReLU-maxpool block per width, then global average pooling.

    Shapes:
        images (batch, 3, H, W) → features (batch, widths[-1]).
    """
    blocks = [_conv_block(channels_in, channels_out) for channels_in, channels_out in zip((3, *widths[:-1]), widths, strict=True)]
    return nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def _pooled_resnet(builder: Callable, weights) -> Callable[[bool], nn.Module]:
    def backbone(pretrained: bool) -> nn.Module:
        network = builder(weights=weights if pretrained else None)
        # Keep the global pool (its output is flattened); drop only the ImageNet classifier.
        network.fc = nn.Identity()
        return network

    return backbone


# ---------------------------------------------------------------------- Siamese backbones (06)

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


# ---------------------------------------------------------------------------------------------- registry

FORMS = {"feature_maps": "feature maps", "pooled": "pooled features", "encoder": "a Siamese encoder"}
"""The forms a backbone comes in (fields of :class:`Backbone`) and how an error names them."""


@dataclass(frozen=True)
class Backbone:
    """One entry of :data:`BACKBONES`: the output width and a builder per form (``None``: not offered).

    Attributes:
        n_features: channels of the feature maps, or width of the pooled features.
        feature_maps: ``pretrained`` → body mapping (batch, 3, H, W) to (batch, n_features, h, w).
        pooled: ``pretrained`` → backbone mapping (batch, 3, H, W) to (batch, n_features); ``pretrained`` loads
            torchvision's ImageNet weights (ResNets only; the small CNNs ignore it).
        encoder: ``in_channels`` → module mapping (batch, in_channels, H, W) to (batch, n_features), carrying its
            width as ``feature_dim`` (read by :class:`models.siamese.SiameseEncoder`).
        weights: the torchvision ImageNet weights ``pretrained`` loads (``None``: the backbone has none); their
            file is ``$TORCH_HOME/hub/checkpoints/<file name of weights.url>`` once downloaded.
    """

    n_features: int
    feature_maps: Callable[[bool], nn.Module] | None = None
    pooled: Callable[[bool], nn.Module] | None = None
    encoder: Callable[[int], nn.Module] | None = None
    weights: tv_models.WeightsEnum | None = None


def _cifar_resnet(blocks_per_stage: int) -> Callable[[int], nn.Module]:
    return lambda in_channels: CifarResNet(blocks_per_stage, in_channels)


def _torchvision_resnet(builder: Callable, weights, n_features: int) -> Backbone:
    return Backbone(n_features, feature_maps=_resnet_body(builder, weights), pooled=_pooled_resnet(builder, weights),
                    weights=weights)


BACKBONES: dict[str, Backbone] = {
    "squeezenet1_1": Backbone(512, feature_maps=_squeezenet_body, weights=tv_models.SqueezeNet1_1_Weights.IMAGENET1K_V1),
    "resnet18": _torchvision_resnet(tv_models.resnet18, tv_models.ResNet18_Weights.IMAGENET1K_V1, 512),
    "resnet34": _torchvision_resnet(tv_models.resnet34, tv_models.ResNet34_Weights.IMAGENET1K_V1, 512),
    "resnet50": _torchvision_resnet(tv_models.resnet50, tv_models.ResNet50_Weights.IMAGENET1K_V2, 2048),
    "small_cnn": Backbone(128, pooled=lambda pretrained: small_cnn((32, 64, 128, 128))),
    "small_convnet": Backbone(128, encoder=lambda in_channels: SmallConvNet(in_channels)),
    "tiny_cnn": Backbone(32, pooled=lambda pretrained: small_cnn((8, 16, 32))),
    **{name: Backbone(CifarResNet.feature_dim, encoder=_cifar_resnet(blocks)) for name, blocks in CIFAR_RESNET_BLOCKS.items()},
}
"""The one backbone registry: name → :class:`Backbone`."""


def backbone_names(form: str) -> list[str]:
    """The names of :data:`BACKBONES` that come in ``form`` (a key of :data:`FORMS`), in registry order."""
    return [name for name, backbone in BACKBONES.items() if getattr(backbone, form) is not None]


def look_up_backbone(name: str, form: str) -> tuple[Callable, int]:
    """The builder of backbone ``name`` in ``form`` (a key of :data:`FORMS`) and its width.

    Raises:
        KeyError: ``unknown backbone 'name' for <form>; choose one of ...``, naming the backbones of that form.
    """
    if form not in FORMS:
        raise ValueError(f"unknown backbone form {form!r}; choose one of {', '.join(FORMS)}")
    backbone = BACKBONES.get(name)
    builder = None if backbone is None else getattr(backbone, form)
    if builder is None:
        raise KeyError(f"unknown backbone {name!r} for {FORMS[form]}; choose one of {', '.join(backbone_names(form))}")
    return builder, backbone.n_features


def create_body(name: str, pretrained: bool = False) -> tuple[nn.Module, int]:
    """The convolutional body of backbone ``name`` and its number of output channels.

    Args:
        name: a backbone of :data:`BACKBONES` that comes as feature maps (``backbone_names("feature_maps")``).
        pretrained: load torchvision's ImageNet weights (downloads them on first use).

    Returns:
        ``(body, n_features)``: the body maps images of shape (batch, 3, H, W) to feature maps of
        shape (batch, n_features, h, w).

    Raises:
        KeyError: naming the known backbones.
    """
    builder, n_features = look_up_backbone(name, "feature_maps")
    return builder(pretrained), n_features


# ----------------------------------------------------------------------------------------- heads, wrapper


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
    """A body and a head, ``head(body(images))``: the one wrapper of every end-to-end model.

    ``model.body`` is shared between stages 1 and 2. The body is registered under the attribute
    :attr:`body_name`, which is also its state-dict prefix (``body.0.weight``, ...). Subclasses that
    only change that name keep their own checkpoints' keys: ``models.attribute_head.AttributeNetwork``
    and ``models.sdl_head.SdlModel`` register it as ``backbone``.

    Args:
        body: maps images (batch, 3, H, W) to features or feature maps.
        head: maps the body's output to the model's output.
    """

    body_name = "body"

    def __init__(self, body: nn.Module, head: nn.Module):
        super().__init__()
        self.add_module(self.body_name, body)
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self._modules[self.body_name](images))


def body_head_splitter(model: BodyHeadModel) -> list[list[nn.Parameter]]:
    """fastai ``splitter``: two parameter groups, so ``freeze()`` trains the head only and
    ``fit(lr=slice(low, high))`` gives the body the lower learning rate."""
    return [list(getattr(model, model.body_name).parameters()), list(model.head.parameters())]


# ------------------------------------------------------------------------------------------------ counts


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (weights), trainable or frozen."""
    return sum(parameter.numel() for parameter in module.parameters())


def count_trainable_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (those with ``requires_grad``)."""
    return sum(parameter.numel() for parameter in module.parameters() if parameter.requires_grad)
