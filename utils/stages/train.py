"""Train a notebook's models from the command line, on one device or data-parallel on several.

The same library calls as the notebook, through the same checkpoint policy
(:func:`utils.training.checkpoints.fit_or_load`), so the notebook run afterwards loads what this wrote
(``loaded: settings unchanged``)::

    python -m utils.stages.train 06 --profile full                             # one device
    torchrun --nproc_per_node 2 -m utils.stages.train 06 --profile full       # two GPUs (or CPU processes)
    accelerate launch --multi_gpu --num_processes 2 -m utils.stages.train 07 --profile full

From a notebook, accelerate's ``notebook_launcher`` starts the processes (in a fresh kernel, before any cell has
touched the GPU: it forks)::

    from accelerate import notebook_launcher
    from utils.stages.train import train_notebook
    notebook_launcher(train_notebook, args=("06", "full"), num_processes=2)

Each process joins the launcher's process group (:func:`utils.training.distributed.init_from_environment`); rank 0
alone prints and writes. Notebooks: 01 (the stage-1 classifiers of ``config.backbones`` and ``config.backbone``),
02 (stage 1, DeViSE's stage 2 and its embeddings, the γ validation runs, the oracle), 05 (the attribute network, the
features it exports, the feature regressor of every loss), 06 (the Siamese encoder of the config's split, the split
sweep, the digits model), 07 (SDL's main model and its variants) and 08 (the CLIP and its validation run).

Tested (tests/utils/stages/test_train.py, smoke profile, CPU): 01, 02 and 05 in one process train, then a second call
loads every checkpoint (settings unchanged); 05 in two gloo processes under torchrun leaves exactly the files of one
process. The several-process fastai path (01, 02: ``fit_phases`` inside ``learn.distrib_ctx``) needs GPUs and has
not been run; 06 and 07 have no launcher test of their own (the 2-process loop: tests/utils/training/
test_distributed.py).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence

import torch

from utils.cli import ArgumentParser, cli_entry
from utils.config import AttributeZslConfig, BaseConfig, ClipConfig, DeviseConfig, SdlConfig, SiameseConfig
from utils.datasets import require_data
from utils.runtime import choose_device
from utils.training.distributed import init_from_environment, is_main_process, shut_down


def train_stage1(config: DeviseConfig, device: torch.device) -> None:
    """Notebook 01: the stage-1 classifier of every backbone compared, and of the one notebook 02 builds on."""
    from utils.stages.classifier import fit_stage1

    require_data(awa2=config.awa2_dir)
    for backbone in dict.fromkeys([*config.backbones, config.backbone]):
        fit_stage1(config, backbone, device)


def train_devise(config: DeviseConfig, device: torch.device) -> None:
    """Notebook 02: stage 1, DeViSE's stage 2 (and its embeddings), the γ validation run and the oracle."""
    from utils.stages.devise import run_devise

    require_data(awa2=config.awa2_dir, word_vectors=config.word_vectors)
    run_devise(config, device)


def train_attribute_zsl(config: AttributeZslConfig, device: torch.device) -> None:
    """Notebook 05: the attribute network, the features it exports, and the feature regressor of every loss
    compared (each on the validation split for γ, then on trainval)."""
    from utils.stages.attribute_zsl import (
        build_attribute_network,
        compare_losses,
        export_features_if_stale,
        feature_problem,
        fit_attribute_network,
        load_attribute_images,
    )
    from utils.training.image_cache import image_cache_for

    require_data(awa2=config.awa2_dir, xlsa17=None if config.export_features else config.xlsa17_dir)
    images = load_attribute_images(config)
    network = build_attribute_network(config, images.awa2.n_attributes)
    image_cache = image_cache_for(config)
    decision = fit_attribute_network(network, images, config, device, image_cache)
    export_features_if_stale(network, images, decision, config, device, image_cache)
    compare_losses(feature_problem(config.xlsa17_dir, config.n_validation_classes, seed=config.seed), config,
                   config.run_dir, device)


def train_siamese(config: SiameseConfig, device: torch.device) -> None:
    """Notebook 06: the encoder of the config's class split, one encoder per split of the sweep, the digits model."""
    from utils.stages.digits import digits_folder, train_digit_siamese
    from utils.stages.siamese import class_split_for, load_one_shot_data, sweep_splits, trained_encoder

    require_data(cifar100=config.cifar100_dir)
    trained_encoder(config, load_one_shot_data(config, class_split_for(config)), device)
    sweep_splits(config, device)
    train_digit_siamese(config, device, folder=digits_folder(config))


def train_sdl(config: SdlConfig, device: torch.device) -> None:
    """Notebook 07: SDL's main model and the variants it is compared with."""
    from utils.stages.sdl import compare_variants, load_problem, trained_sdl_model

    require_data(nus_wide=config.scenes_dir, nus_wide_label_vectors=config.label_vectors_dir)
    problem = load_problem(config)
    trained_sdl_model(problem, config, device=device)
    compare_variants(problem, config, device)


def train_clip(config: ClipConfig, device: torch.device) -> None:
    """Notebook 08: the CLIP of record and the validation CLIP that chooses γ."""
    from utils.stages.clip import load_clip_images, trained_clip

    require_data(awa2=config.awa2_dir)
    images = load_clip_images(config)
    for run in ("validation_clip", "clip"):
        trained_clip(images, config, run, device)


NOTEBOOKS: dict[str, tuple[type[BaseConfig], Callable[[BaseConfig, torch.device], None]]] = {
    "01": (DeviseConfig, train_stage1),
    "02": (DeviseConfig, train_devise),
    "05": (AttributeZslConfig, train_attribute_zsl),
    "06": (SiameseConfig, train_siamese),
    "07": (SdlConfig, train_sdl),
    "08": (ClipConfig, train_clip),
}
"""notebook number → its config class and what trains its models."""


def train_notebook(notebook: str, profile: str | None = None, budget: str | None = None) -> None:
    """Train (or load) the models of ``notebook`` (a key of :data:`NOTEBOOKS`) in this process, as one rank of a
    launcher's process group when there is one; ranks other than 0 print nothing.

    Raises:
        ValueError: for a notebook that has no entry here.
    """
    if notebook not in NOTEBOOKS:
        raise ValueError(f"notebook {notebook!r}: choose one of {', '.join(NOTEBOOKS)}")
    config_class, train = NOTEBOOKS[notebook]
    config = config_class.for_profile(profile, budget)
    device = init_from_environment(choose_device(config.device, verbose=False))
    with contextlib.nullcontext() if is_main_process() else contextlib.redirect_stdout(io.StringIO()):
        print(f"notebook {notebook}, profile {config.profile}, device {device}")
        train(config, device)
    shut_down()


@cli_entry("python -m utils.stages.train")
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m utils.stages.train NOTEBOOK [--profile P] [--budget B]``."""
    parser = ArgumentParser(prog="python -m utils.stages.train", description="Train a notebook's models (under torchrun or "
                            "accelerate launch: data-parallel, rank 0 writes)")
    parser.add_argument("notebook", choices=sorted(NOTEBOOKS), help="the notebook whose models are trained")
    parser.add_argument("--profile", default=None, help="smoke | sample | full (default: $ZSL_PROFILE)")
    parser.add_argument("--budget", default=None, help="e.g. tiny (default: $ZSL_BUDGET)")
    args = parser.parse_args(argv)
    train_notebook(args.notebook, args.profile, args.budget)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
