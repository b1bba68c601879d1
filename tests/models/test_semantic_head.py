"""The semantic heads of DeViSE: the paper's linear map and the default MLP, built by name."""

import pytest
import torch
from torch import nn

from models.semantic_head import SEMANTIC_HEADS, LinearSemanticHead, SemanticHead, build_semantic_head


def test_the_linear_head_is_one_linear_map_of_the_average_pooled_features():
    head = build_semantic_head("linear", n_features=16, embedding_dim=5, hidden=64)
    assert isinstance(head, LinearSemanticHead)
    layers = [module for module in head.modules() if list(module.parameters(recurse=False))]
    assert len(layers) == 1 and isinstance(layers[0], nn.Linear)
    assert head.projection.weight.shape == (5, 16) and head.projection.bias.shape == (5,)
    feature_maps = torch.randn(3, 16, 4, 4)
    expected = feature_maps.mean(dim=(2, 3)) @ head.projection.weight.T + head.projection.bias
    torch.testing.assert_close(head(feature_maps), expected)


def test_the_mlp_head_built_by_name_is_the_default_head_with_the_same_draws():
    torch.manual_seed(0)
    built = build_semantic_head("mlp", n_features=16, embedding_dim=5, hidden=32)
    torch.manual_seed(0)
    direct = SemanticHead(16, 5, hidden=32)
    assert isinstance(built, SemanticHead)
    for (name, value), (_, expected) in zip(built.state_dict().items(), direct.state_dict().items(), strict=True):
        assert torch.equal(value, expected), name


def test_an_unknown_head_names_the_choices():
    with pytest.raises(ValueError, match="unknown semantic head 'deep'; choose one of " + ", ".join(SEMANTIC_HEADS)):
        build_semantic_head("deep", n_features=16, embedding_dim=5)
