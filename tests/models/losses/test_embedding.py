"""DeViSE's losses against hand computations and loops; the semantic head's shapes."""

import math

import pytest
import torch

from models.backbones import BodyHeadModel, body_head_splitter, create_body
from models.losses import CosineDistanceLoss, HingeRankLoss, build_loss
from models.semantic_head import SemanticHead


def test_cosine_distance_by_hand():
    class_word_vectors = torch.tensor([[3.0, 4.0], [0.0, 2.0]])  # normalised: (0.6, 0.8) and (0, 1)
    image_embeddings = torch.tensor([[1.0, 0.0], [0.0, -5.0], [6.0, 8.0]])
    labels = torch.tensor([0, 1, 0])
    # cosines: (1,0)·(0.6,0.8) = 0.6; (0,-1)·(0,1) = -1; (0.6,0.8)·(0.6,0.8) = 1 → distances 0.4, 2, 0
    expected = (0.4 + 2.0 + 0.0) / 3
    loss = CosineDistanceLoss(class_word_vectors)(image_embeddings, labels)
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_cosine_distance_ignores_scale_and_is_zero_on_the_label_vector():
    class_word_vectors = torch.randn(5, 7)
    labels = torch.tensor([4, 0, 2])
    loss = CosineDistanceLoss(class_word_vectors)
    assert loss(10.0 * class_word_vectors[labels], labels).item() == pytest.approx(0.0, abs=1e-6)
    embeddings = torch.randn(3, 7)
    assert loss(embeddings, labels).item() == pytest.approx(loss(3.0 * embeddings, labels).item(), abs=1e-6)


def _hinge_rank_loop(embeddings, labels, class_word_vectors, margin):
    vectors = torch.nn.functional.normalize(class_word_vectors, dim=1)
    total = 0.0
    for embedding, label in zip(embeddings, labels, strict=True):
        for j in range(vectors.shape[0]):
            if j != label:
                total += max(0.0, margin - float(vectors[label] @ embedding) + float(vectors[j] @ embedding))
    return total / len(labels)


@pytest.mark.parametrize("margin", [0.0, 0.1, 1.0])
def test_hinge_rank_matches_a_loop(margin):
    generator = torch.Generator().manual_seed(0)
    class_word_vectors = torch.randn(6, 4, generator=generator)
    embeddings = torch.randn(9, 4, generator=generator)
    labels = torch.randint(0, 6, (9,), generator=generator)
    loss = HingeRankLoss(class_word_vectors, margin=margin)(embeddings, labels)
    assert loss.item() == pytest.approx(_hinge_rank_loop(embeddings, labels, class_word_vectors, margin), rel=1e-5)


def test_hinge_rank_by_hand_and_zero_when_ranked_with_margin():
    class_word_vectors = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # t_y·v = 0.2, t_other·v = 0.5: max(0, 0.1 - 0.2 + 0.5) = 0.4
    loss = HingeRankLoss(class_word_vectors, margin=0.1)
    assert loss(torch.tensor([[0.2, 0.5]]), torch.tensor([0])).item() == pytest.approx(0.4)
    assert loss(torch.tensor([[1.0, 0.5]]), torch.tensor([0])).item() == pytest.approx(0.0)


def test_losses_have_gradients_and_builder_names():
    class_word_vectors = torch.randn(4, 3)
    embeddings = torch.randn(5, 3, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 0])
    for name in ("cosine", "hinge_rank"):
        loss = build_loss(family="embedding", name=name, class_word_vectors=class_word_vectors, margin=0.5)(
            embeddings, labels
        )
        (gradient,) = torch.autograd.grad(loss, embeddings)
        assert math.isfinite(loss.item()) and gradient.abs().sum() > 0
    with pytest.raises(ValueError, match="embedding loss 'l2'.*cosine"):
        build_loss(family="embedding", name="l2", class_word_vectors=class_word_vectors)


@pytest.mark.parametrize("backbone", ["squeezenet1_1", "resnet18"])
def test_semantic_head_output_shape_and_two_parameter_groups(backbone):
    body, n_features = create_body(backbone, pretrained=False)
    model = BodyHeadModel(body, SemanticHead(n_features, embedding_dim=50)).eval()
    with torch.no_grad():
        output = model(torch.randn(2, 3, 64, 64))
    assert output.shape == (2, 50)
    body_parameters, head_parameters = body_head_splitter(model)
    assert len(body_parameters) + len(head_parameters) == len(list(model.parameters()))
