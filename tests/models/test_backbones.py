"""models.backbones: the one registry's forms and widths, the one body+head wrapper's state-dict keys, the two counts."""

import pytest
import torch
from torch import nn

import models.losses
from models.attribute_head import AttributeHead, AttributeNetwork, create_attribute_backbone
from models.backbones import (
    BACKBONES,
    BodyHeadModel,
    ClassifierHead,
    backbone_names,
    body_head_splitter,
    count_parameters,
    count_trainable_parameters,
    create_body,
    look_up_backbone,
)
from models.sdl_head import SdlHead, SdlModel


@pytest.mark.parametrize("name", ["small_cnn", "tiny_cnn", "resnet18"])
def test_pooled_backbones_output_their_registered_width(name):
    backbone, width = create_attribute_backbone(name)
    assert width == BACKBONES[name].n_features
    with torch.no_grad():
        assert backbone.eval()(torch.randn(2, 3, 32, 32)).shape == (2, width)


@pytest.mark.parametrize("name", backbone_names("encoder"))
def test_siamese_backbones_output_their_registered_width(name):
    builder, width = look_up_backbone(name, "encoder")
    backbone = builder(3)
    assert backbone.feature_dim == width
    with torch.no_grad():
        assert backbone.eval()(torch.randn(2, 3, 16, 16)).shape == (2, width)


@pytest.mark.parametrize("name", backbone_names("feature_maps"))
def test_feature_map_bodies_output_their_registered_channels(name):
    body, channels = create_body(name)
    assert channels == BACKBONES[name].n_features
    with torch.no_grad():
        assert body.eval()(torch.randn(1, 3, 64, 64)).shape[:2] == (1, channels)


def test_each_stage_sees_only_the_backbones_of_its_form():
    assert backbone_names("feature_maps") == ["squeezenet1_1", "resnet18", "resnet34", "resnet50"]
    assert backbone_names("encoder") == ["small_convnet", "resnet20", "resnet32", "resnet56"]
    assert {"resnet18", "small_cnn", "tiny_cnn"} <= set(backbone_names("pooled"))
    with pytest.raises(KeyError, match="unknown backbone 'resnet20' for feature maps; choose one of squeezenet1_1, resnet18"):
        create_body("resnet20")
    with pytest.raises(KeyError, match="'squeezenet1_1' for a Siamese encoder; choose one of small_convnet, resnet20"):
        look_up_backbone("squeezenet1_1", "encoder")
    with pytest.raises(ValueError, match="unknown backbone form 'pool'"):
        look_up_backbone("resnet18", "pool")


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
