"""A fastai classifier small enough to train in a second: two AwA2 sample classes at 16 px, a 4-channel body."""

from pathlib import Path

import torch
from fastai.vision.all import CrossEntropyLossFlat, Learner, accuracy

from models.backbones import BodyHeadModel, ClassifierHead
from utils.config import DeviseConfig
from utils.splits.folders import folder_items
from utils.training.fastai_glue import build_learner, image_dataloaders

AWA2_IMAGES = Path(__file__).resolve().parents[3] / "data_samples" / "awa2" / "JPEGImages"


def tiny_learner(config: DeviseConfig, name: str) -> Learner:
    """A ``Learner`` of :func:`utils.training.fastai_glue.build_learner` on 8 training and 4 validation images of
    zebra and antelope, writing under ``config.run_dir``."""
    class_names = ["zebra", "antelope"]
    items = folder_items(AWA2_IMAGES, class_names)[:12]
    dls = image_dataloaders(items[:8], items[8:], class_names, config)
    body = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())
    return build_learner(dls, BodyHeadModel(body, ClassifierHead(4, 2)), CrossEntropyLossFlat(), [accuracy], config,
                         name)
