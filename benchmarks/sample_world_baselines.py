"""Is the sample world learnable, and not trivial? Two quick baselines on its AwA2-format part.

1. A small CNN trained on the 40 seen classes (90:10 split of each class): top-1 on the held-out 10%.
2. Attribute-based zero-shot (direct attribute prediction, Lampert et al., TPAMI 2014): the same
   kind of CNN predicts the class's binary attributes (sigmoid + BCE) on seen classes; an unseen
   image is given the unseen class whose attribute row is nearest (Euclidean) to its predicted
   probabilities. Reports per-class mean top-1 over the 10 unseen classes against 10% chance.

Usage: ``python -m benchmarks.sample_world_baselines [--awa2 data_samples/awa2] [--epochs 15]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from utils.config import DATA_SAMPLES_DIR
from utils.datasets.awa2 import image_index, load_awa2
from utils.metrics import per_class_mean_accuracy
from utils.runtime import seed_everything


def load_images(paths, side: int) -> torch.Tensor:
    """Images as a float tensor of shape (n_images, 3, side, side) scaled to [0, 1]."""
    arrays = [np.asarray(Image.open(path).convert("RGB").resize((side, side)), dtype=np.float32) for path in paths]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 255.0


def small_cnn(n_outputs: int) -> nn.Module:
    def block(c_in, c_out):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2))

    return nn.Sequential(
        block(3, 32), block(32, 64), block(64, 128), block(128, 128),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, n_outputs),
    )


def fit(model, images, targets, loss_fn, epochs, batch_size=64, lr=3e-3) -> None:
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=epochs * ((len(images) - 1) // batch_size + 1))
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(images))
        for start in range(0, len(images), batch_size):
            batch = order[start : start + batch_size]
            inputs = images[batch]
            if torch.rand(()) < 0.5:
                inputs = inputs.flip(-1)
            loss = loss_fn(model(inputs), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    model.eval()


@torch.no_grad()
def predict(model, images, batch_size=256) -> torch.Tensor:
    return torch.cat([model(images[start : start + batch_size]) for start in range(0, len(images), batch_size)])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--awa2", type=Path, default=DATA_SAMPLES_DIR / "awa2")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--side", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))

    dataset = load_awa2(args.awa2)
    image_paths, labels = image_index(args.awa2)
    labels = np.asarray(labels)
    seen_ids = [dataset.class_names.index(name) for name in dataset.seen_classes]
    unseen_ids = [dataset.class_names.index(name) for name in dataset.unseen_classes]
    images = load_images(image_paths, args.side)
    rng = np.random.default_rng(args.seed)
    is_seen = np.isin(labels, seen_ids)
    is_valid = is_seen & (rng.random(len(labels)) < 0.1)
    is_train = is_seen & ~is_valid
    print(f"{dataset.class_names.__len__()} classes, {len(labels)} images; train {is_train.sum()}, "
          f"valid {is_valid.sum()}, unseen test {(~is_seen).sum()}; {args.epochs} epochs at {args.side}px")

    start = time.perf_counter()
    seen_index = {class_id: position for position, class_id in enumerate(seen_ids)}
    class_targets = torch.tensor([seen_index.get(label, -1) for label in labels])
    classifier = small_cnn(len(seen_ids))
    fit(classifier, images[is_train], class_targets[is_train], nn.CrossEntropyLoss(), args.epochs)
    predicted = predict(classifier, images[is_valid]).argmax(1).numpy()
    accuracy = float(np.mean(predicted == class_targets[is_valid].numpy()))
    print(f"1. small CNN, 40 seen classes: valid top-1 {accuracy:.3f} (chance {1 / len(seen_ids):.3f}) "
          f"[{time.perf_counter() - start:.0f} s]")

    start = time.perf_counter()
    attribute_matrix = torch.tensor(dataset.binary_attributes, dtype=torch.float32)
    attribute_model = small_cnn(attribute_matrix.shape[1])
    fit(attribute_model, images[is_train], attribute_matrix[labels[is_train]], nn.BCEWithLogitsLoss(), args.epochs)
    is_unseen = ~is_seen
    probabilities = torch.sigmoid(predict(attribute_model, images[is_unseen]))
    distances = torch.cdist(probabilities, attribute_matrix[unseen_ids])
    predicted_unseen = np.asarray(unseen_ids)[distances.argmin(1).numpy()]
    zsl_top1 = per_class_mean_accuracy(predicted_unseen, labels[is_unseen])
    print(f"2. attribute ZSL, 10 unseen classes: per-class mean top-1 {zsl_top1:.3f} (chance 0.100) "
          f"[{time.perf_counter() - start:.0f} s]")


if __name__ == "__main__":
    main()
