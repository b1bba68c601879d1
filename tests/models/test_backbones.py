"""models.backbones: the registries' widths, the one body+head wrapper's state-dict keys, the two counts."""

import pytest
import torch
from torch import nn

import models.losses
from models.attribute_head import AttributeHead, AttributeNetwork, create_attribute_backbone
from models.backbones import (
    POOLED_BACKBONES,
    SIAMESE_BACKBONES,
    BodyHeadModel,
    ClassifierHead,
    body_head_splitter,
    count_parameters,
    count_trainable_parameters,
    create_body,
)
from models.sdl_head import SdlHead, SdlModel


@pytest.mark.parametrize("name", ["small_cnn", "tiny_cnn", "resnet18"])
def test_pooled_backbones_output_their_registered_width(name):
    backbone, width = create_attribute_backbone(name)
    assert width == POOLED_BACKBONES[name][1]
    with torch.no_grad():
        assert backbone.eval()(torch.randn(2, 3, 32, 32)).shape == (2, width)


@pytest.mark.parametrize("name", sorted(SIAMESE_BACKBONES))
def test_siamese_backbones_output_their_registered_width(name):
    builder, width = SIAMESE_BACKBONES[name]
    backbone = builder(3)
    assert backbone.feature_dim == width
    with torch.no_grad():
        assert backbone.eval()(torch.randn(2, 3, 16, 16)).shape == (2, width)


def test_wrappers_keep_their_checkpoint_keys_and_share_one_forward():
    body, n_features = create_body("squeezenet1_1")
    stage1 = BodyHeadModel(body, ClassifierHead(n_features, 3))
    assert next(iter(stage1.state_dict())).startswith("body.") and stage1.body is body
    backbone, width = create_attribute_backbone("tiny_cnn")
    for model in (AttributeNetwork(backbone, AttributeHead(width, 5)), SdlModel(backbone, SdlHead(width, 4, 2))):
        assert isinstance(model, BodyHeadModel) and model.backbone is backbone
        assert {key.split(".")[0] for key in model.state_dict()} == {"backbone", "head"}
        images = torch.randn(2, 3, 16, 16)
        with torch.no_grad():
            torch.testing.assert_close(model.eval()(images), model.head(backbone(images)))
        assert sum(len(group) for group in body_head_splitter(model)) == len(list(model.parameters()))


def test_count_parameters_counts_all_and_count_trainable_parameters_skips_frozen_ones():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))  # 16 + 10 weights
    model[0].requires_grad_(False)
    assert count_parameters(model) == 26
    assert count_trainable_parameters(model) == 10


def test_losses_package_exports_every_name_it_lists():
    assert len(set(models.losses.__all__)) == len(models.losses.__all__)
    assert all(hasattr(models.losses, name) for name in models.losses.__all__)
