"""Notebook 01's comparison row: each figure against what it is computed from."""

import math

import pytest

from models.backbones import count_parameters
from tests.utils.training._tiny_learner import tiny_learner
from utils.config import DeviseConfig
from utils.stages.classifier import (
    backbone_row,
    class_accuracies,
    classifier_accuracy,
    inference_images_per_second,
)
from utils.training.fastai_glue import TrainedModel, checkpoint_path


def test_backbone_row_reports_the_model_its_checkpoint_and_its_timings(tmp_path):
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, image_size=16, batch_size=4, inference_images=8)
    learn = tiny_learner(config, "stage1_tiny")
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)
    trained = TrainedModel(learn, "stage1_tiny", True, epoch_seconds=[1.0, 3.0])
    row = backbone_row(config, trained)
    assert row["backbone"] == "tiny" and row["parameters"] == count_parameters(learn.model)
    assert math.isnan(row["checkpoint MB"])  # nothing saved yet
    assert row["accuracy"] == classifier_accuracy(learn)["accuracy"] == 1 - row["error rate"]
    # The paired comparison's items: one accuracy per validation class, whose mean is the per-class mean accuracy.
    per_class = class_accuracies(learn)
    predictions, targets = learn.get_preds()
    correct = (predictions.argmax(1) == targets).numpy()
    by_hand = [correct[targets.numpy() == label].mean() for label in sorted(set(targets.tolist()))]
    assert per_class.tolist() == pytest.approx(by_hand)
    assert per_class.mean() == pytest.approx(classifier_accuracy(learn)["per_class_mean_accuracy"])
    assert row["s / epoch (train)"] == pytest.approx(2.0) and row["CPU images/s"] > 0
    learn.save("stage1_tiny", with_opt=False)
    checkpoint = checkpoint_path(config, "stage1_tiny")
    assert backbone_row(config, trained)["checkpoint MB"] == pytest.approx(checkpoint.stat().st_size / 2**20)


def test_throughput_counts_whole_batches_of_the_requested_images():
    import torch

    calls = []

    class Counting(torch.nn.Module):
        def forward(self, images):
            calls.append(len(images))
            return images.mean((1, 2, 3))

    assert inference_images_per_second(Counting(), image_size=8, n_images=10, batch_size=4) > 0
    assert calls == [4, 4, 4, 4]  # one warm-up batch, then batches until at least 10 images are done
