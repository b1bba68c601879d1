"""models.losses.build_loss: every registered loss is built one way and called as ``loss(outputs, targets)``."""

import pytest
import torch

from models.losses import LOSSES, build_loss


def _tiny_batch(family: str) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """``(context, outputs, targets)`` of ``family``: 8 items over 4 classes (6 labels for multi-label)."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    if family == "attribute":
        context = {"class_attribute_vectors": torch.rand(4, 5, generator=generator)}
        return context, torch.randn(8, 5, generator=generator), labels
    if family == "embedding":
        context = {"class_word_vectors": torch.randn(4, 3, generator=generator)}
        return context, torch.randn(8, 3, generator=generator), labels
    if family == "multilabel":
        targets = (torch.rand(8, 6, generator=generator) < 0.3).float()
        targets[:, 0] = 1
        context = {"label_word_vectors": torch.randn(6, 3, generator=generator)}
        return context, torch.randn(8, 3, 2, generator=generator), targets
    if family == "pair":
        return {}, torch.randn(8, 3, generator=generator), labels
    raise AssertionError(f"no tiny batch for the loss family {family!r}")


@pytest.mark.parametrize(
    ("family", "name"), [(family, name) for family, builders in LOSSES.items() for name in builders]
)
def test_every_registered_loss_is_built_by_family_and_name_and_called_on_outputs_and_targets(family, name):
    context, outputs, targets = _tiny_batch(family)
    outputs.requires_grad_(True)
    loss = build_loss(family=family, name=name, **context)
    value = loss(outputs, targets)
    assert isinstance(loss, torch.nn.Module)
    assert value.shape == () and torch.isfinite(value)
    (gradient,) = torch.autograd.grad(value, outputs)
    assert torch.isfinite(gradient).all()


def test_unknown_family_or_name_is_a_value_error_naming_the_choices():
    with pytest.raises(ValueError, match="family 'focal' .*'triplet'.*attribute, embedding, multilabel, pair"):
        build_loss(family="focal", name="triplet")
    with pytest.raises(ValueError, match="multilabel loss 'asl'; choose one of sdl"):
        build_loss(family="multilabel", name="asl")


def test_the_builder_takes_keywords_only():
    with pytest.raises(TypeError):
        build_loss("pair", "triplet")
