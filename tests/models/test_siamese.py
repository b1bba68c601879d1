"""The Siamese encoders: shapes, unit-norm embeddings, option-A shortcuts, ResNet depths and sizes."""

import pytest
import torch
from torch import nn

from models.backbones import (
    CIFAR_RESNET_BLOCKS,
    CifarResNet,
    OptionAShortcut,
    backbone_names,
    count_trainable_parameters,
)
from models.siamese import build_siamese_encoder


@pytest.mark.parametrize("name", backbone_names("encoder"))
def test_encoders_give_unit_norm_embeddings(name):
    encoder = build_siamese_encoder(name, embedding_dim=16).eval()
    with torch.no_grad():
        embeddings = encoder(torch.randn(4, 3, 32, 32))
    assert embeddings.shape == (4, 16)
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(4))


def test_small_convnet_takes_one_channel_eight_pixel_digits():
    encoder = build_siamese_encoder("small_convnet", embedding_dim=8, in_channels=1).eval()
    with torch.no_grad():
        assert encoder(torch.randn(3, 1, 8, 8)).shape == (3, 8)


@pytest.mark.parametrize("name, depth", [("resnet20", 20), ("resnet32", 32), ("resnet56", 56)])
def test_cifar_resnet_depth_is_convolutions_plus_the_projection(name, depth):
    backbone = CifarResNet(CIFAR_RESNET_BLOCKS[name])
    n_convolutions = sum(isinstance(module, nn.Conv2d) for module in backbone.modules())
    assert n_convolutions + 1 == depth  # + the final linear layer, as He et al. count


def test_resnet56_has_about_085_million_weights_and_option_a_adds_none():
    backbone = CifarResNet(CIFAR_RESNET_BLOCKS["resnet56"])
    # He et al. report 0.85 M for ResNet-56 with its 64 → 10 classifier (650 weights).
    assert 0.84e6 < count_trainable_parameters(backbone) + 650 < 0.86e6
    assert all(count_trainable_parameters(module) == 0 for module in backbone.modules() if isinstance(module, OptionAShortcut))


def test_option_a_shortcut_subsamples_and_zero_pads_channels():
    images = torch.randn(2, 16, 8, 8)
    out = OptionAShortcut(16, 32, stride=2)(images)
    assert out.shape == (2, 32, 4, 4)
    torch.testing.assert_close(out[:, 8:24], images[:, :, ::2, ::2])
    assert out[:, :8].abs().sum() == 0 and out[:, 24:].abs().sum() == 0


def test_unknown_encoder_names_the_known_ones():
    with pytest.raises(KeyError, match="resnet20"):
        build_siamese_encoder("resnet18")
