"""Notebooks 02–04: DeViSE on top of the stage-1 body, its zero-shot evaluation and the embeddings 03 and 04 analyse.

The evaluation itself — the :class:`utils.zsl.EmbeddingSet`, T1/hit@5, U/S/H and the choice of γ — is the shared
:mod:`utils.zsl`; what is DeViSE's own here is training the models it scores (the γ runs and the oracle included).

Stage 2 keeps the stage-1 body (:func:`utils.stages.classifier.fit_stage1`, notebook 01), replaces the softmax head
with a semantic head (:mod:`models.semantic_head`: DeViSE's linear map, or the default MLP) and regresses every
image onto the word vector of its label — first with the body frozen (phase 2a), then all of it with discriminative
learning rates (phase 2b). An image is then labelled with the nearest label vector, which may be an unseen class.
Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013.

Its runs write under ``config.run_dir`` (``outputs/devise/<run label>``) as stage 1's do; each loads its checkpoint
instead of training while the settings that shape it are unchanged (declared on ``DeviseConfig``'s fields, per run in
``DeviseConfig.runs``); ``config.retrain``
forces training.

Command line (the integration test calls :func:`run_devise` the same way)::

    python -m utils.stages.devise --profile smoke [--loss hinge_rank] [--semantic-head linear] [--no-oracle]
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from fastai.vision.all import Callback, Learner
from torch import nn

from models.backbones import BodyHeadModel
from models.losses import build_loss
from models.semantic_head import SEMANTIC_HEADS, build_semantic_head
from utils.cli import ArgumentParser, cli_entry
from utils.config import DeviseConfig
from utils.datasets import load_awa2
from utils.runtime import choose_device, seed_everything
from utils.splits.classes import awa2_class_split, choose_pseudo_unseen, xlsa17_validation_classes
from utils.splits.folders import Items, evaluation_items, seen_class_items, split_items_per_class
from utils.stages.classifier import classifier_accuracy, fit_stage1, train_classifier
from utils.training.checkpoints import arrays_sha256, read_metadata, record
from utils.training.distributed import is_main_process
from utils.training.fastai_glue import (
    BestModelCheckpoint,
    TrainedModel,
    build_learner,
    checkpoint_path,
    decide_or_load,
    embed_paths,
    feature_channels,
    fit_phases,
    image_dataloaders,
    random_state_kept,
    read_paths_of,
    start_run,
)
from utils.training.threads import set_cpu_threads
from utils.word_vectors import class_word_matrix
from utils.zsl import EmbeddingSet, choose_calibration_gamma, evaluate_embeddings, zero_shot_scores


def label_vectors(config: DeviseConfig, class_names: Sequence[str]) -> np.ndarray:
    """Unit-length word vectors of ``class_names``, of shape (n_classes, dim) (50 GloVe, 300 fastText)."""
    return class_word_matrix(config.word_vectors, list(class_names))


class EmbeddingSnapshots(Callback):
    """After every epoch, embed a fixed set of probe images and keep the result (for the PCA animation).

    The probe pass leaves every random generator as it found it (:func:`random_state_kept`), so the
    trained weights do not depend on which or how many images are probed.

    Args:
        probe_dl: a fastai test ``DataLoader`` of the probe images (``dls.test_dl(paths)``).

    Attributes:
        snapshots: list of float32 arrays of shape (n_probe, embedding_dim), one per epoch.
        phases: the ``phase`` label (``"2a"``, ``"2b"``) in force when each snapshot was taken.
    """

    def __init__(self, probe_dl):
        self.probe_dl = probe_dl
        self.phase = ""
        self.snapshots: list[np.ndarray] = []
        self.phases: list[str] = []

    def after_epoch(self):
        model = self.learn.model
        was_training = model.training
        model.eval()
        with torch.no_grad(), random_state_kept():
            outputs = [model(batch[0]).float().cpu() for batch in self.probe_dl]
        model.train(was_training)
        self.snapshots.append(torch.cat(outputs).numpy())
        self.phases.append(self.phase)


# --- stage 2 ------------------------------------------------------------------------------------------


def nearest_label_accuracy(image_embeddings: torch.Tensor, labels: torch.Tensor, class_word_vectors: torch.Tensor):
    """Share of images whose nearest label vector (cosine) is their own: the seen-class accuracy of DeViSE."""
    vectors = class_word_vectors.to(image_embeddings.device)
    scores = nn.functional.normalize(image_embeddings.float(), dim=1) @ vectors.T
    return (scores.argmax(1) == labels).float().mean()


def train_devise(
    config: DeviseConfig, stage1: Learner, train_items: Items, valid_items: Items, class_names: Sequence[str],
    class_word_vectors: np.ndarray, name: str = "devise", device: torch.device | str = "cpu",
    probe_paths: Sequence[Path] | None = None,
) -> tuple[TrainedModel, dict[str, Any]]:
    """Stage 2: the stage-1 body with a semantic head, trained onto the label vectors in two phases.

    Phase 2a trains the head alone (``learn.freeze()``: the body's weights stay, its BatchNorm layers
    adapt); phase 2b trains everything with ``slice(body_learning_rate, unfrozen_learning_rate)``, so
    the body moves ten to a hundred times less than the new head. Both phases go to one log,
    ``logs/<name>.csv``. The checkpoint ``<name>_2b.pth`` is reused only while the settings of
    the fields that shape run ``name``, the classes, their label vectors and the stage-1 run are unchanged.

    Args:
        stage1: the stage-1 learner whose body is copied.
        class_names: the classes trained on (the vocabulary); ``class_word_vectors`` has one row per name.
        class_word_vectors: array of shape (len(class_names), embedding_dim).
        name: the run, ``devise`` or ``validation_devise`` (``DeviseConfig.runs``); checkpoints ``<name>_2a.pth``
            and ``<name>_2b.pth``.
        probe_paths: images embedded after every epoch (the PCA animation); ``None``: none.

    Returns:
        ``(trained, snapshots)`` where ``snapshots`` holds ``embeddings`` of shape
        (n_epochs, n_probe, embedding_dim), ``phases`` and ``paths`` (saved as ``<name>_snapshots.npz``).
    """
    seed_everything(config.seed)
    set_cpu_threads(config.cpu_threads)
    n_features = feature_channels(stage1.model.body)
    dls = image_dataloaders(train_items, valid_items, class_names, config, device)
    vectors = torch.as_tensor(class_word_vectors, dtype=torch.float32)
    head = build_semantic_head(config.semantic_head, n_features=n_features, embedding_dim=vectors.shape[1],
                               hidden=config.semantic_hidden)
    model = BodyHeadModel(copy.deepcopy(stage1.model.body), head)
    loss = build_loss(family="embedding", name=config.loss, class_word_vectors=vectors, margin=config.margin)
    metric = partial(nearest_label_accuracy, class_word_vectors=nn.functional.normalize(vectors, dim=1))
    learn = build_learner(dls, model, loss, [metric], config, name, device)
    snapshot_file = Path(config.run_dir) / f"{name}_snapshots.npz"
    checkpoint = checkpoint_path(config, f"{name}_2b")
    extra: dict[str, Any] = {"classes": list(class_names), "class_word_vectors_sha256": arrays_sha256(vectors)}
    upstream = getattr(stage1, "checkpoint_fingerprint", None)
    if upstream is not None:
        extra["stage1"] = upstream
    decision = decide_or_load(learn, config, name, name, checkpoint, extra, device)
    if not decision.trained:
        snapshots = dict(np.load(snapshot_file)) if snapshot_file.exists() else {}
        return TrainedModel(learn, name, False, read_metadata(checkpoint).get("epoch_seconds", []), decision), snapshots

    start_run(learn)
    if is_main_process():
        snapshot_file.unlink(missing_ok=True)
    callbacks = []
    snapshot_callback = None
    if probe_paths:
        with random_state_kept():  # making a DataLoader draws from ``random``
            snapshot_callback = EmbeddingSnapshots(dls.test_dl(read_paths_of(dls, probe_paths)))
        callbacks.append(snapshot_callback)
    learn.freeze()
    if snapshot_callback:
        snapshot_callback.phase = "2a"
    fit_phases(learn, "one_cycle", config.head_epochs, config.head_learning_rate,
         [*callbacks, BestModelCheckpoint(monitor="valid_loss", fname=f"{name}_2a")], phase="2a")
    learn.unfreeze()
    if snapshot_callback:
        snapshot_callback.phase = "2b"
    fit_phases(learn, "one_cycle", config.unfrozen_epochs, slice(config.body_learning_rate, config.unfrozen_learning_rate),
         [*callbacks, BestModelCheckpoint(monitor="valid_loss", fname=f"{name}_2b")], phase="2b")
    epoch_seconds = list(learn.epoch_timer.epoch_seconds)
    snapshots = {}
    if snapshot_callback:
        snapshots = {"embeddings": np.stack(snapshot_callback.snapshots), "phases": np.array(snapshot_callback.phases),
                     "paths": np.array([str(path) for path in probe_paths])}
        if is_main_process():
            np.savez(snapshot_file, **snapshots)
    record(checkpoint, decision.settings, config, epoch_seconds=epoch_seconds)
    return TrainedModel(learn, name, True, epoch_seconds, decision), snapshots


def embedding_set(
    learn: Learner, seen_test_items: Items, unseen_test_items: Items, class_names: Sequence[str],
    class_word_vectors: np.ndarray, seen_classes: Sequence[str],
) -> EmbeddingSet:
    """Embed the seen test images (``test_seen/``, which chose nothing) and every unseen image into one
    :class:`EmbeddingSet` over all classes."""
    items = list(seen_test_items) + list(unseen_test_items)
    index = {name: position for position, name in enumerate(class_names)}
    return EmbeddingSet(
        image_embeddings=embed_paths(learn, [path for path, _ in items]),
        image_paths=[display_path(path) for path, _ in items],
        labels=[index[name] for _, name in items],
        split=["seen_test"] * len(seen_test_items) + ["unseen_test"] * len(unseen_test_items),
        class_names=list(class_names),
        class_word_vectors=class_word_vectors,
        seen_class_mask=np.isin(list(class_names), list(seen_classes)),
    )


def display_path(path: Path) -> str:
    from utils.config import REPO_ROOT

    path = Path(path).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def pseudo_unseen_classes(config: DeviseConfig, seen_classes: Sequence[str]) -> list[str]:
    """The seen classes that play unseen ones while γ is chosen.

    Under the Proposed Split (``config.awa2_split == "proposed"``) they are xlsa17's own validation classes
    (``valclasses1.txt`` of ``config.xlsa17_dir``) when the folder has the file, as notebook 05 reads them;
    otherwise ``config.n_validation_classes`` seen classes drawn with ``config.seed``.
    """
    if config.awa2_split == "proposed":
        listed = xlsa17_validation_classes(config.xlsa17_dir, seen_classes)
        if listed is not None:
            return sorted(listed)
    return list(choose_pseudo_unseen(seen_classes, config.n_validation_classes, np.random.default_rng(config.seed)))


def choose_gamma(
    config: DeviseConfig, train_items: Items, valid_items: Items, seen_classes: Sequence[str],
    class_word_vectors_by_name: dict[str, np.ndarray], device: torch.device | str = "cpu",
) -> tuple[float, list[dict[str, float]], list[str]]:
    """Calibrated-stacking γ chosen on seen classes only, never on test images (as notebook 05 does).

    :func:`pseudo_unseen_classes` become pseudo-unseen. A whole stage 1 + stage 2 is
    trained on the other seen classes (minus a held-out share of their training images); the held-out
    images and all training images of the pseudo-unseen classes are scored over the 40 seen labels,
    and :func:`utils.zsl.choose_calibration_gamma` picks the γ of highest H. The stage-1 body is retrained too:
    the body of record has seen the pseudo-unseen classes with labels, which would make them look seen.

    Returns:
        ``(gamma, table, validation_classes)``.
    """
    validation_classes = pseudo_unseen_classes(config, seen_classes)
    train_classes = [name for name in seen_classes if name not in validation_classes]
    fit_items, held_out = split_items_per_class(
        [item for item in train_items if item[1] in train_classes], config.validation_holdout_fraction, config.seed)
    monitor_items = [item for item in valid_items if item[1] in train_classes]
    stage1 = train_classifier(config, config.backbone, fit_items, monitor_items, train_classes,
                              f"validation_stage1_{config.backbone}", device, run="validation_stage1")
    train_vectors = np.stack([class_word_vectors_by_name[name] for name in train_classes])
    devise, _ = train_devise(config, stage1.learn, fit_items, monitor_items, train_classes, train_vectors,
                             name="validation_devise", device=device)
    candidates = list(seen_classes)
    scoring_items = held_out + [item for item in train_items if item[1] in validation_classes]
    embeddings = EmbeddingSet(
        image_embeddings=embed_paths(devise.learn, [path for path, _ in scoring_items]),
        image_paths=[str(path) for path, _ in scoring_items],
        labels=[candidates.index(name) for _, name in scoring_items],
        split=["seen_valid"] * len(scoring_items),
        class_names=candidates,
        class_word_vectors=np.stack([class_word_vectors_by_name[name] for name in candidates]),
        seen_class_mask=np.isin(candidates, train_classes),
    )
    gamma, table = choose_calibration_gamma(embeddings.scores(), embeddings.labels, embeddings.seen_class_mask,
                                            config.n_gammas)
    return gamma, table, validation_classes


def train_oracle(
    config: DeviseConfig, stage1: Learner, unseen_items: Items, unseen_classes: Sequence[str],
    device: torch.device | str = "cpu",
) -> tuple[float, Items]:
    """The supervised reference: the stage-1 body fine-tuned *with* labels of the unseen classes.

    A seeded ``config.oracle_test_fraction`` of each unseen class is held out; a classifier over the
    unseen classes, started from the stage-1 body, trains on the rest. Its per-class mean accuracy on
    the held-out images is what zero-shot T1 (on the same images) could at best approach.

    Returns:
        ``(per-class mean accuracy, held-out items)``.
    """
    train_items, test_items = split_items_per_class(unseen_items, config.oracle_test_fraction, config.seed)
    config = dataclasses.replace(config, batch_size=config.oracle_batch_size)
    oracle = train_classifier(config, config.backbone, train_items, test_items, unseen_classes,
                              f"oracle_{config.backbone}", device, initial_body=stage1.model.body,
                              epochs=config.oracle_epochs, save_best=False,
                              initial_fingerprint=getattr(stage1, "checkpoint_fingerprint", None),
                              run="oracle")
    return classifier_accuracy(oracle.learn)["per_class_mean_accuracy"], test_items


# --- the whole pipeline --------------------------------------------------------------------------------


EMBEDDINGS_FILE = "embeddings.npz"


def save_embeddings(embeddings: EmbeddingSet, config: DeviseConfig, devise: TrainedModel) -> Path:
    """Write ``<run_dir>/embeddings.npz`` and, beside it, the fingerprint of the DeViSE run that made it
    (``embeddings.json``, :func:`utils.training.checkpoints.record`), so notebooks 03 and 04 know whether it is current.
    With several processes rank 0 alone writes both; the others wait at ``record``'s barrier."""
    path = Path(config.run_dir) / EMBEDDINGS_FILE
    if is_main_process():
        embeddings.save(path)
    record(path, {"devise": devise.fingerprint}, config)
    return path


@dataclass
class DeviseEmbeddings:
    """What :func:`devise_embeddings` gives notebooks 02–04: the two stages and what they embed.

    Attributes:
        embeddings: the seen test and all unseen images' embeddings (:class:`EmbeddingSet`).
        embeddings_file: where they are saved.
        snapshots: the PCA probe images' embeddings per epoch (``embeddings`` of shape (n_epochs, n_probe, dim),
            ``phases``, ``paths``); empty if none were recorded.
        stage1, devise: the trained (or loaded) models.
        items: ``{"train", "valid", "test_seen", "unseen"}`` image items; vector_of: label vector of each class name.
    """

    embeddings: EmbeddingSet
    embeddings_file: Path
    snapshots: dict[str, Any]
    stage1: TrainedModel
    devise: TrainedModel
    items: dict[str, Items]
    seen_classes: list[str]
    vector_of: dict[str, np.ndarray]


def devise_embeddings(config: DeviseConfig, device: torch.device | str = "cpu") -> DeviseEmbeddings:
    """Stage 1 and stage 2 of ``config``, each loaded while its settings are unchanged (else trained, saying why),
    and the embeddings of that DeViSE model: ``embeddings.npz`` is reused only while the same model wrote it.

    Notebooks 03 and 04 call this instead of trusting whatever ``embeddings.npz`` is on disk, so a knob turned in
    their config cell takes effect there too.
    """
    seed_everything(config.seed)
    awa2 = load_awa2(config.awa2_dir)
    train_items, valid_items, seen_classes = seen_class_items(config)
    seen_test_items, unseen_items = evaluation_items(config)
    all_vectors = label_vectors(config, awa2.class_names)
    vector_of = dict(zip(awa2.class_names, all_vectors, strict=True))
    stage1 = fit_stage1(config, device=device)
    seen_vectors = np.stack([vector_of[name] for name in seen_classes])
    probe_paths = [path for path, name in valid_items if name in config.pca_classes]
    devise, snapshots = train_devise(config, stage1.learn, train_items, valid_items, seen_classes, seen_vectors,
                                     device=device, probe_paths=probe_paths)
    embeddings_file = Path(config.run_dir) / EMBEDDINGS_FILE
    recorded = read_metadata(embeddings_file)
    if recorded is not None and recorded.get("settings", {}).get("devise") == devise.fingerprint:
        print(f"embeddings: loaded: made by this DeViSE model ({embeddings_file})")
        embeddings = EmbeddingSet.load(embeddings_file)
    else:
        print("embeddings: computing: " + ("no embeddings of this DeViSE model yet" if recorded is None
                                           else "the saved ones come from another DeViSE model"))
        embeddings = embedding_set(devise.learn, seen_test_items, unseen_items, awa2.class_names, all_vectors,
                                   seen_classes)
        save_embeddings(embeddings, config, devise)
    return DeviseEmbeddings(embeddings, embeddings_file, snapshots, stage1, devise,
                            {"train": train_items, "valid": valid_items, "test_seen": seen_test_items,
                             "unseen": unseen_items},
                            list(seen_classes), vector_of)


def run_devise(config: DeviseConfig, device: torch.device | str = "cpu", oracle: bool = True) -> dict[str, Any]:
    """Stage 1, stage 2, γ on validation classes, ZSL/GZSL evaluation, embeddings file, oracle.

    Returns:
        ``{"figures": {...}, "embeddings_file": Path, "stage1": TrainedModel, "devise": TrainedModel}``.
    """
    made = devise_embeddings(config, device)
    embeddings, items = made.embeddings, made.items
    gamma, _, _ = choose_gamma(config, items["train"], items["valid"], made.seen_classes, made.vector_of, device)
    figures = {"stage-1 accuracy": classifier_accuracy(made.stage1.learn)["accuracy"],
               **evaluate_embeddings(embeddings, gamma)}
    if oracle:
        unseen_classes = awa2_class_split(config).unseen_classes
        oracle_accuracy, oracle_test_items = train_oracle(config, made.stage1.learn, items["unseen"], unseen_classes, device)
        held_out = np.isin(embeddings.image_paths, [display_path(path) for path, _ in oracle_test_items])
        figures["oracle accuracy"] = oracle_accuracy
        figures["T1 (oracle's test images)"] = zero_shot_scores(embeddings.subset(held_out))["top1"]
    return {"figures": figures, "embeddings_file": made.embeddings_file, "stage1": made.stage1, "devise": made.devise}


@cli_entry("python -m utils.stages.devise")
def main(argv: Sequence[str] | None = None) -> int:
    """Train (or load) stages 1 and 2 of a profile and print the figures; errors are one line (:mod:`utils.cli`)."""
    parser = ArgumentParser(prog="python -m utils.stages.devise", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None, help="smoke | sample | full (default: $ZSL_PROFILE)")
    parser.add_argument("--loss", default=None, choices=["cosine", "hinge_rank"], help="default: the profile's")
    parser.add_argument("--semantic-head", default=None, choices=list(SEMANTIC_HEADS), help="default: the profile's")
    parser.add_argument("--no-oracle", action="store_true", help="skip the supervised reference")
    arguments = parser.parse_args(argv)
    overrides = {"loss": arguments.loss} if arguments.loss else {}
    if arguments.semantic_head:
        overrides["semantic_head"] = arguments.semantic_head
    config = DeviseConfig.for_profile(arguments.profile, **overrides)
    result = run_devise(config, choose_device(config.device), oracle=not arguments.no_oracle)
    for key, value in result["figures"].items():
        print(f"{key:28s} {value:.4f}" if isinstance(value, float) else f"{key:28s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
