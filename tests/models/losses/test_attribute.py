"""models.losses: ReMSE against MSE and a slow loop, cross-batch memory, and the other attribute losses."""

import math

import pytest
import torch

from models.losses import (
    ATTRIBUTE_LOSSES,
    AttributeBCELoss,
    AttributeMSELoss,
    ReMSELoss,
    ScaledCosineCrossEntropy,
    build_loss,
    class_attribute_errors,
    rebalancing_weights,
    rezsl_loss,
)


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(0)
    n_classes, n_attributes, batch_size = 6, 5, 16
    class_attribute_vectors = torch.rand(n_classes, n_attributes, generator=generator)
    labels = torch.randint(0, 4, (batch_size,), generator=generator)  # classes 4 and 5 are absent
    predicted = torch.randn(batch_size, n_attributes, generator=generator, requires_grad=True)
    return predicted, labels, class_attribute_vectors


def loop_remse(predicted, labels, class_attribute_vectors, p, p2):
    """ReMSE by the issue's seven steps, with Python loops and math.log."""
    predicted, targets = predicted.detach().tolist(), class_attribute_vectors[labels].tolist()
    labels = labels.tolist()
    n_classes, n_attributes = class_attribute_vectors.shape
    offsets = [[(predicted[i][s] - targets[i][s]) ** 2 for s in range(n_attributes)] for i in range(len(labels))]
    errors = [[0.0] * n_attributes for _ in range(n_classes)]
    for c in range(n_classes):
        members = [i for i in range(len(labels)) if labels[i] == c]
        for s in range(n_attributes):
            errors[c][s] = sum(offsets[i][s] for i in members) / len(members) if members else 0.0
    weights = [[1.0] * n_attributes for _ in range(n_classes)]
    for c in range(n_classes):
        for s in range(n_attributes):
            if errors[c][s] == 0:
                continue
            class_min = min(errors[k][s] for k in range(n_classes) if errors[k][s] > 0)
            attribute_min = min(errors[c][t] for t in range(n_attributes) if errors[c][t] > 0)
            w1 = (math.log(errors[c][s] / class_min) + 1) ** p
            w2 = (math.log(errors[c][s] / attribute_min) + 1) ** p2
            weights[c][s] = w1 * w2
    total = sum(weights[labels[i]][s] * offsets[i][s] for i in range(len(labels)) for s in range(n_attributes))
    return total / (len(labels) * n_attributes), weights


def test_remse_equals_mse_at_zero_exponents(batch):
    predicted, labels, attributes = batch
    for mode in ("in_batch", "cross_batch"):
        remse = ReMSELoss(attributes, p=0.0, p2=0.0, mode=mode)(predicted, labels)
        mse = AttributeMSELoss(attributes)(predicted, labels)
        assert torch.allclose(remse, mse)
        assert torch.allclose(remse, torch.nn.functional.mse_loss(predicted, attributes[labels]))


def test_weights_at_least_one_and_equal_to_loop(batch):
    predicted, labels, attributes = batch
    loss = ReMSELoss(attributes, p=1.0, p2=0.1)
    value = loss(predicted, labels)
    expected_value, expected_weights = loop_remse(predicted, labels, attributes, 1.0, 0.1)
    assert torch.all(loss.last_weights >= 1.0)
    assert torch.allclose(loss.last_weights, torch.tensor(expected_weights), atol=1e-6)
    assert value.item() == pytest.approx(expected_value, rel=1e-5)
    assert torch.all(loss.last_weights[4:] == 1.0)  # absent classes


def test_weights_are_detached_and_gradient_is_weighted_mse(batch):
    predicted, labels, attributes = batch
    loss = ReMSELoss(attributes, p=0.5, p2=0.75)
    loss(predicted, labels).backward()
    weights = loss.last_weights
    assert not weights.requires_grad
    expected = 2 * weights[labels] * (predicted.detach() - attributes[labels]) / predicted.numel()
    assert torch.allclose(predicted.grad, expected, atol=1e-6)


def test_normalized_variant_matches_loop_on_normalized_inputs(batch):
    predicted, labels, attributes = batch
    loss = ReMSELoss(attributes, p=1.0, p2=0.1, normalize=True)
    value = loss(predicted, labels)
    normalized_predicted = torch.nn.functional.normalize(predicted.detach(), dim=-1)
    normalized_attributes = torch.nn.functional.normalize(attributes, dim=-1)
    expected, _ = loop_remse(normalized_predicted, labels, normalized_attributes, 1.0, 0.1)
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_cross_batch_keeps_rows_of_absent_classes(batch):
    predicted, labels, attributes = batch
    in_batch, cross_batch = ReMSELoss(attributes, mode="in_batch"), ReMSELoss(attributes, mode="cross_batch")
    first_labels = torch.tensor([0, 1, 4, 5] * 4)
    for loss in (in_batch, cross_batch):
        loss(predicted, first_labels)
    remembered = cross_batch.class_errors.clone()
    assert torch.all(remembered[[0, 1, 4, 5]] > 0)
    second_labels = torch.tensor([0, 1, 2, 3] * 4)
    cross_value = cross_batch(predicted, second_labels)
    in_value = in_batch(predicted, second_labels)
    # Classes 4 and 5 are absent from the second batch: cross-batch keeps their rows, in-batch zeroes them.
    assert torch.equal(cross_batch.class_errors[4:], remembered[4:])
    assert torch.all(in_batch.class_errors[4:] == 0)
    batch_errors, _ = class_attribute_errors((predicted.detach() - attributes[second_labels]) ** 2, second_labels, 6)
    assert torch.allclose(cross_batch.class_errors[:4], batch_errors[:4])
    # The remembered rows enter the minima, so the weights (and the loss) differ.
    assert torch.allclose(cross_batch.last_weights, rebalancing_weights(cross_batch.class_errors, 1.0, 0.1))
    assert not torch.isclose(cross_value, in_value)


def test_cross_batch_memory_is_not_updated_in_eval_mode(batch):
    predicted, labels, attributes = batch
    loss = ReMSELoss(attributes, mode="cross_batch")
    loss(predicted, labels)
    remembered = loss.class_errors.clone()
    loss.eval()
    loss(predicted * 3, labels)
    assert torch.equal(loss.class_errors, remembered)


def test_rebalancing_weights_by_hand():
    errors = torch.tensor([[1.0, math.e], [math.e, 0.0]])
    weights = rebalancing_weights(errors, p=1.0, p2=1.0)
    # W1: column minima 1 and e. W2: row minima 1 and e.
    expected = torch.tensor([[1.0 * 1.0, 1.0 * 2.0], [2.0 * 1.0, 1.0]])
    assert torch.allclose(weights, expected)


def test_bce_and_scaled_cosine_ce_by_hand():
    attributes = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    logits = torch.tensor([[10.0, -10.0]])
    assert AttributeBCELoss(attributes)(logits, torch.tensor([0])).item() < 1e-3
    assert AttributeBCELoss(attributes)(logits, torch.tensor([1])).item() > 5
    # cos = 0.6 with class 0 and 0.8 with class 1: CE = log(1 + exp(20 · (0.8 − 0.6))).
    ce = ScaledCosineCrossEntropy(attributes, scale=20.0)(torch.tensor([[3.0, 4.0]]), torch.tensor([0]))
    assert ce.item() == pytest.approx(math.log(1 + math.exp(4.0)), rel=1e-5)


def test_rezsl_loss_is_weighted_sum_and_builders(batch):
    predicted, labels, attributes = batch
    loss = rezsl_loss(attributes, p=1.0, p2=0.1, lambda_ce=0.5, lambda_regression=2.0)
    value = loss(predicted, labels)
    expected = 0.5 * ScaledCosineCrossEntropy(attributes)(predicted, labels) + 2.0 * ReMSELoss(attributes)(
        predicted, labels
    )
    assert torch.allclose(value, expected)
    assert set(loss.last_values) == {"cross_entropy", "regression"}
    for name in ATTRIBUTE_LOSSES:
        assert torch.isfinite(build_loss(family="attribute", name=name, class_attribute_vectors=attributes)(
            predicted, labels
        ))
    mse = build_loss(family="attribute", name="mse", class_attribute_vectors=attributes, p=1.0, p2=0.1)
    assert mse.losses[1].p == 0.0 and mse.losses[1].p2 == 0.0
    cross_batch = build_loss(family="attribute", name="remse_cross_batch", class_attribute_vectors=attributes)
    assert cross_batch.losses[1].mode == "cross_batch"
    with pytest.raises(ValueError, match="attribute loss 'focal'"):
        build_loss(family="attribute", name="focal", class_attribute_vectors=attributes)


def test_class_attribute_vectors_are_a_float32_buffer_that_moves_with_the_loss():
    attributes = torch.rand(3, 4, dtype=torch.float64)
    loss = ReMSELoss(attributes)
    assert loss.class_attribute_vectors.dtype == torch.float32
    assert {"class_attribute_vectors", "class_errors"} <= dict(loss.named_buffers()).keys()
    assert loss.class_errors.shape == (3, 4)
    with pytest.raises(ValueError, match="n_classes, n_attributes"):
        AttributeBCELoss(torch.rand(4))
