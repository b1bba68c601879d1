"""Triplet (pytorch-metric-learning with mining) and contrastive losses against loop references."""

import itertools

import pytest
import torch

from models.losses import ContrastiveLoss, TripletLoss, build_loss, pairwise_distances


def _distance(first, second, distance):
    if distance == "cosine":
        return 1 - torch.dot(first, second) / (first.norm() * second.norm())
    return (first - second).norm()


def _batch(seed=0, n_classes=4, per_class=4, dim=8):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n_classes).repeat_interleave(per_class)
    embeddings = torch.nn.functional.normalize(torch.randn(len(labels), dim, generator=generator), dim=1)
    return embeddings, labels


def _triplet_reference(embeddings, labels, margin, distance, mining):
    """FaceNet's triplet loss by loops: mine, then average the positive losses."""
    n = len(labels)
    d = [[float(_distance(embeddings[i], embeddings[j], distance)) for j in range(n)] for i in range(n)]
    triplets = []
    for anchor in range(n):
        positives = [p for p in range(n) if p != anchor and labels[p] == labels[anchor]]
        negatives = [q for q in range(n) if labels[q] != labels[anchor]]
        if mining == "hardest":
            if positives and negatives:
                triplets.append((anchor, max(positives, key=lambda p: d[anchor][p]),
                                 min(negatives, key=lambda q: d[anchor][q])))
            continue
        for positive, negative in itertools.product(positives, negatives):
            gap = d[anchor][negative] - d[anchor][positive]
            if mining == "all" or 0 < gap <= margin:
                triplets.append((anchor, positive, negative))
    losses = [max(0.0, d[a][p] - d[a][q] + margin) for a, p, q in triplets]
    positive_losses = [loss for loss in losses if loss > 0]
    return sum(positive_losses) / len(positive_losses) if positive_losses else 0.0, len(triplets)


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_pairwise_distances_equal_a_loop(distance):
    embeddings, _ = _batch()
    other = embeddings.flip(0)[:5]
    expected = torch.tensor([[float(_distance(a, b, distance)) for b in other] for a in embeddings])
    torch.testing.assert_close(pairwise_distances(embeddings, other, distance), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("mining", ["semihard", "hardest", "all"])
@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_triplet_loss_equals_loop_reference(mining, distance):
    embeddings, labels = _batch(seed=1)
    margin = 0.3
    loss_function = TripletLoss(margin, distance, mining)
    loss = loss_function(embeddings, labels)
    expected, n_triplets = _triplet_reference(embeddings, labels, margin, distance, mining)
    assert loss_function.last_triplet_count == n_triplets
    assert loss.item() == pytest.approx(expected, abs=1e-5)


def test_triplet_loss_without_mined_triplets_is_zero_and_differentiable():
    labels = torch.tensor([0, 0, 1, 1])
    embeddings = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]], requires_grad=True)
    loss = TripletLoss(0.2, "cosine", "semihard")(embeddings, labels)  # every triplet is easy
    loss.backward()
    assert loss.item() == 0.0


def _contrastive_reference(embeddings, labels, margin, distance):
    positive, negative = [], []
    for i, j in itertools.combinations(range(len(labels)), 2):
        d = float(_distance(embeddings[i], embeddings[j], distance))
        if labels[i] == labels[j]:
            positive.append(0.5 * d**2)
        else:
            negative.append(0.5 * max(0.0, margin - d) ** 2)
    return sum(positive) / len(positive) + sum(negative) / len(negative)


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_contrastive_loss_equals_loop_reference(distance):
    embeddings, labels = _batch(seed=2, n_classes=3, per_class=3)
    margin = 1.2
    loss = ContrastiveLoss(margin, distance)(embeddings, labels)
    assert loss.item() == pytest.approx(_contrastive_reference(embeddings, labels, margin, distance), abs=1e-5)


def test_contrastive_gradient_is_finite_for_identical_embeddings():
    embeddings = torch.ones(4, 3, requires_grad=True)
    ContrastiveLoss(0.5, "euclidean")(embeddings, torch.tensor([0, 0, 1, 1])).backward()
    assert torch.isfinite(embeddings.grad).all()


def test_pair_loss_names():
    assert isinstance(build_loss(family="pair", name="triplet"), TripletLoss)
    contrastive = build_loss(family="pair", name="contrastive", margin=0.7, distance="euclidean", mining="all")
    assert isinstance(contrastive, ContrastiveLoss) and (contrastive.margin, contrastive.distance) == (0.7, "euclidean")
    with pytest.raises(ValueError, match="pair loss 'arcface'.*triplet, contrastive"):
        build_loss(family="pair", name="arcface")
