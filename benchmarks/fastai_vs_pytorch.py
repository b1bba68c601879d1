"""fastai's training epoch against a plain PyTorch loop doing the same work; prints both times and the ratio.

Same model (a stage-1 ``BodyHeadModel``), the same batches (both iterate over the same fastai
``DataLoader``, so decoding and augmentation cost the same), the same optimiser (Adam with decoupled
weight decay 0.01, betas (0.9, 0.99), eps 1e-5: fastai's defaults, as ``torch.optim.AdamW``), the same
one-cycle schedule (``OneCycleLR`` with fastai's pct_start 0.25, div 25, final div 1e5 and momentum
cycling 0.95 → 0.85 → 0.95) and the same number of steps. Only the training phase of each epoch is
timed (fastai's validation pass is excluded). Runs alternate, so a load that comes and goes on a
shared machine hits both sides alike. Goal: fastai at most 10% slower.

    OMP_NUM_THREADS=1 python -m benchmarks.fastai_vs_pytorch --images-per-class 20 --epochs 2 --repeats 2
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch
from torch import nn

from models.backbones import BodyHeadModel, ClassifierHead, create_body
from utils.config import DeviseConfig
from utils.runtime import seed_everything
from utils.splits.folders import seen_class_items, split_items_per_class
from utils.training.fastai_glue import build_learner, image_dataloaders


def fresh_model(backbone: str, n_classes: int, seed: int) -> nn.Module:
    seed_everything(seed)
    body, n_features = create_body(backbone, pretrained=False)
    return BodyHeadModel(body, ClassifierHead(n_features, n_classes))


def fastai_epochs(dls, model, config, epochs: int, learning_rate: float) -> list[float]:
    learn = build_learner(dls, model, nn.CrossEntropyLoss(), [], config, "benchmark_fastai")
    with learn.no_bar():
        learn.fit_one_cycle(epochs, learning_rate)
    return list(learn.epoch_timer.epoch_seconds)


def pytorch_epochs(dls, model, epochs: int, learning_rate: float) -> list[float]:
    steps = epochs * len(dls.train)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=learning_rate, total_steps=steps, pct_start=0.25, div_factor=25.0, final_div_factor=1e5,
        cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, anneal_strategy="cos",
    )
    loss_function = nn.CrossEntropyLoss()
    seconds = []
    for _ in range(epochs):
        model.train()
        started = time.perf_counter()
        for images, labels in dls.train:
            images, labels = images.as_subclass(torch.Tensor), labels.as_subclass(torch.Tensor)
            loss = loss_function(model(images), labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            schedule.step()
        seconds.append(time.perf_counter() - started)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--images-per-class", type=int, default=20, help="training images per seen class")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    arguments = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    if arguments.threads:
        torch.set_num_threads(arguments.threads)

    config = DeviseConfig.for_profile("sample", image_size=arguments.image_size, batch_size=arguments.batch_size)
    train_items, valid_items, seen_classes = seen_class_items(config)
    per_class = {name: [item for item in train_items if item[1] == name][: arguments.images_per_class]
                 for name in seen_classes}
    train_items = [item for items in per_class.values() for item in items]
    _, valid_items = split_items_per_class(valid_items, 0.5, 0)
    seed_everything(0)
    dls = image_dataloaders(train_items, valid_items, seen_classes, config)
    print(f"{arguments.backbone}, {len(train_items)} images, {len(dls.train)} steps/epoch, batch {arguments.batch_size}, "
          f"{arguments.image_size} px, {arguments.epochs} epochs × {arguments.repeats} repeats, "
          f"{torch.get_num_threads()} threads")

    times = {"fastai": [], "pytorch": []}
    for repeat in range(arguments.repeats):
        order = ("fastai", "pytorch") if repeat % 2 == 0 else ("pytorch", "fastai")
        for side in order:
            model = fresh_model(arguments.backbone, len(seen_classes), seed=repeat)
            if side == "fastai":
                times[side] += fastai_epochs(dls, model, config, arguments.epochs, arguments.learning_rate)
            else:
                times[side] += pytorch_epochs(dls, model, arguments.epochs, arguments.learning_rate)
    fastai_seconds, pytorch_seconds = statistics.median(times["fastai"]), statistics.median(times["pytorch"])
    print(f"fastai  per-epoch (median of {len(times['fastai'])}): {fastai_seconds:.2f} s  {[round(t, 2) for t in times['fastai']]}")
    print(f"pytorch per-epoch (median of {len(times['pytorch'])}): {pytorch_seconds:.2f} s  {[round(t, 2) for t in times['pytorch']]}")
    ratio = fastai_seconds / pytorch_seconds
    print(f"ratio fastai / pytorch: {ratio:.3f} ({'within' if ratio <= 1.10 else 'above'} the 10% goal)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
