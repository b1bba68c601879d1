"""SDL head and loss (Ben-Cohen et al., ICCV 2021): loop references, hand cases, degenerate cases."""

from __future__ import annotations

import math

import pytest
import torch

from models.losses import (
    SemanticDiversityLoss,
    diversity_weights,
    pairwise_ranking_losses,
    principal_vector_variance_penalty,
)
from models.sdl_head import SdlHead, SdlModel, label_scores, principal_vector_scores


def _loop_sdl_loss(matrices, targets, vectors, regularization_weight, use_weight):
    """The released code's per-image loop, written plainly (unbiased variances, max over columns)."""
    losses = []
    for image in range(matrices.shape[0]):
        matrix = matrices[image]  # (d, M)
        scores = [max(float(matrix[:, m] @ vectors[label]) for m in range(matrix.shape[1]))
                  for label in range(vectors.shape[0])]
        positives = [label for label in range(vectors.shape[0]) if targets[image, label] == 1]
        negatives = [label for label in range(vectors.shape[0]) if targets[image, label] != 1]
        total = sum(math.log(1 + math.exp(scores[n] - scores[p])) for p in positives for n in negatives)
        rank = total / len(positives)
        weight = 1.0
        if use_weight and len(positives) > 1:
            weight = 1 + float(torch.var(vectors[positives], dim=0).sum())
        value = weight * rank
        if regularization_weight is not None:
            penalty = float(torch.var(matrix, dim=1).abs().sum()) if matrix.shape[1] > 1 else 0.0
            value = 2 * ((1 - regularization_weight) * value + regularization_weight * penalty)
        losses.append(value)
    return sum(losses) / len(losses)


@pytest.fixture
def small_batch():
    generator = torch.Generator().manual_seed(0)
    matrices = torch.randn(5, 6, 3, generator=generator)
    vectors = torch.nn.functional.normalize(torch.randn(8, 6, generator=generator), dim=1)
    targets = torch.zeros(5, 8)
    for image, labels in enumerate([[0], [1, 2], [3, 4, 5], [0, 7], [2, 5, 6, 7]]):
        targets[image, labels] = 1
    return matrices, targets, vectors


@pytest.mark.parametrize("regularization_weight", [None, 0.01, 0.3])
@pytest.mark.parametrize("use_weight", [True, False])
def test_loss_matches_loop_reference(small_batch, regularization_weight, use_weight) -> None:
    matrices, targets, vectors = small_batch
    loss = SemanticDiversityLoss(vectors, regularization_weight, use_diversity_weight=use_weight)
    expected = _loop_sdl_loss(matrices, targets, vectors, regularization_weight, use_weight)
    assert float(loss(matrices, targets)) == pytest.approx(expected, rel=1e-5)


def test_diversity_weight_hand_cases() -> None:
    vectors = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 3.0]])
    targets = torch.tensor([[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 1, 1]])
    weights = diversity_weights(targets, vectors)
    # One positive label: no spread, weight 1. Two opposite unit vectors: unbiased var 2 on dim 0.
    assert weights[0] == 1.0 and weights[1] == pytest.approx(3.0) and weights[2] == 1.0
    assert weights[3] == pytest.approx(1 + torch.var(vectors, dim=0).sum().item())


def test_regulariser_is_zero_for_equal_columns_and_for_one_column() -> None:
    column = torch.randn(4, 6, 1)
    assert torch.all(principal_vector_variance_penalty(column.expand(4, 6, 5)) < 1e-6)
    assert torch.all(principal_vector_variance_penalty(column) == 0)
    spread = torch.zeros(1, 2, 2)
    spread[0, 0] = torch.tensor([1.0, -1.0])  # unbiased variance 2 on row 0, 0 on row 1
    assert principal_vector_variance_penalty(spread).item() == pytest.approx(2.0)


def test_ranking_loss_hand_case_and_no_negatives() -> None:
    scores = torch.tensor([[2.0, 0.0, 1.0], [0.5, -0.5, 0.0]])
    targets = torch.tensor([[1, 0, 0], [1, 1, 1]])
    losses = pairwise_ranking_losses(scores, targets)
    assert losses[0].item() == pytest.approx(math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1)))
    expected = sum(math.log(1 + math.exp(-s)) for s in (0.5, -0.5, 0.0)) / 3
    assert losses[1].item() == pytest.approx(expected)


def test_images_without_positives_are_left_out_of_the_mean(small_batch) -> None:
    matrices, targets, vectors = small_batch
    loss = SemanticDiversityLoss(vectors, 0.01)
    with_empty = torch.cat([targets, torch.zeros(1, targets.shape[1])])
    extra = torch.cat([matrices, torch.randn(1, *matrices.shape[1:])])
    assert float(loss(extra, with_empty)) == pytest.approx(float(loss(matrices, targets)))


def test_one_principal_vector_is_the_single_vector_model() -> None:
    torch.manual_seed(0)
    head = SdlHead(n_features=10, embedding_dim=6, n_principal_vectors=1)
    features = torch.randn(4, 10)
    vectors = torch.randn(9, 6)
    matrices = head(features)
    assert matrices.shape == (4, 6, 1)
    single_vector = head.linear(features)  # (4, 6)
    torch.testing.assert_close(label_scores(matrices, vectors), single_vector @ vectors.T)


def test_scores_are_the_best_column_and_the_head_reshapes_row_major() -> None:
    head = SdlHead(n_features=3, embedding_dim=2, n_principal_vectors=3)
    with torch.no_grad():
        head.linear.weight.zero_()
        head.linear.bias.copy_(torch.tensor([1.0, 0.0, -1.0, 0.0, 0.0, 2.0]))  # A = [[1,0,-1],[0,0,2]]
    matrices = head(torch.zeros(1, 3, 4, 4))  # feature maps are pooled first
    torch.testing.assert_close(matrices[0], torch.tensor([[1.0, 0.0, -1.0], [0.0, 0.0, 2.0]]))
    vectors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    per_column = principal_vector_scores(matrices, vectors)
    assert per_column.shape == (1, 3, 3)
    # label 0 is best served by column 0, label 1 by column 2, label 2 by column 2 (⟨(-1,2),(-1,0)⟩ = 1).
    torch.testing.assert_close(label_scores(matrices, vectors), torch.tensor([[1.0, 2.0, 1.0]]))


def test_training_a_few_steps_lowers_the_loss() -> None:
    torch.manual_seed(0)
    vectors = torch.nn.functional.normalize(torch.randn(12, 8), dim=1)
    features = torch.randn(32, 16)
    targets = (torch.rand(32, 12) < 0.2).float()
    targets[:, 0] = 1
    model = SdlModel(torch.nn.Identity(), SdlHead(16, 8, 4))
    loss = SemanticDiversityLoss(vectors, 0.01)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = loss(model(features), targets).item()
    for _ in range(50):
        value = loss(model(features), targets)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    assert value.item() < 0.5 * first


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        SdlHead(4, 2, 0)
    with pytest.raises(ValueError):
        SemanticDiversityLoss(torch.zeros(3, 2), 1.5)
    with pytest.raises(ValueError, match="n_labels, d"):
        SemanticDiversityLoss(torch.zeros(3))
