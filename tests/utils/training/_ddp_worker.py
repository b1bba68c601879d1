"""One rank of the data-parallel test: notebook 05's feature regressor (no dropout, a per-item mean loss) trained
through :func:`utils.training.loop.train_model` and saved through :func:`utils.training.checkpoints.fit_or_load`.

``python _ddp_worker.py <run folder> <out folder>`` trains in one process; under ``torchrun`` each rank joins the
group (:func:`utils.training.distributed.init_from_environment`). Every rank writes ``<out>/rank<r>.pt`` (its final
weights) and ``<out>/rank<r>_writes.json`` (every path under the run folder it opened for writing, renamed or made:
Python's audit events), so the test can tell which rank wrote what.
"""

import json
import sys
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from models.attribute_head import AttributeRegressor
from models.losses import build_loss
from utils.config import AttributeZslConfig
from utils.runtime import seed_everything
from utils.training.checkpoints import fit_or_load
from utils.training.distributed import init_from_environment, rank, shut_down
from utils.training.images import ImageBatches
from utils.training.loop import LossLog, train_model

N_ITEMS, WIDTH, N_ATTRIBUTES, N_CLASSES = 101, 16, 5, 6
GLOBAL_BATCH, EPOCHS = 16, 3
"""101 items in batches of 16: six of 16 and a last of 5, shared 2 + 3 between two ranks (uneven shares)."""


def train_regressor(run_folder: Path) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(N_ITEMS, WIDTH, generator=generator)
    labels = torch.randint(N_CLASSES, (N_ITEMS,), generator=generator)
    class_attribute_vectors = torch.rand(N_CLASSES, N_ATTRIBUTES, generator=generator)
    config = AttributeZslConfig.for_profile("smoke")
    seed_everything(config.seed)
    model = AttributeRegressor(WIDTH, N_ATTRIBUTES, hidden=8, dropout=0.0)
    loss = build_loss(family="attribute", name="mse", class_attribute_vectors=class_attribute_vectors)
    checkpoint = run_folder / "regressor.pt"

    def train() -> None:
        seed_everything(config.seed)
        batches = ImageBatches(TensorDataset(features, labels), GLOBAL_BATCH, shuffle=True, seed=config.seed)
        train_model(model, batches, loss, EPOCHS, 0.01, 0.01, log=LossLog(verbose=False),
                    log_path=checkpoint.with_suffix(".csv"), threads=1)

    fit_or_load(model, checkpoint, config, "feature_regressor", train, inputs={"test": "ddp"})
    return model


def main(run_folder: Path, out_folder: Path) -> None:
    run_root = str(run_folder.resolve())
    writes: list[str] = []

    def audit(event: str, args: tuple) -> None:
        paths = [args[0]] if event == "open" and args[1] and any(flag in str(args[1]) for flag in "wax+") else []
        if event in ("os.rename", "os.replace", "os.mkdir", "os.remove"):
            paths = [args[0]] + ([args[1]] if event in ("os.rename", "os.replace") else [])
        writes.extend(str(path) for path in paths if str(Path(str(path)).resolve()).startswith(run_root))

    sys.addaudithook(audit)
    init_from_environment("cpu")
    model = train_regressor(run_folder)
    out_folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out_folder / f"rank{rank()}.pt")
    (out_folder / f"rank{rank()}_writes.json").write_text(json.dumps(writes))
    shut_down()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
