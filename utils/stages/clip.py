"""Contrastive image–text learning (notebook 08): a small CLIP trained from scratch on captions the sample world's
attributes put into words, zero-shot by class names and by class descriptions, a pretrained CLIP, search, and the
scoreboard of every zero-shot method of the course.

CLIP (Radford et al., "Learning Transferable Visual Models From Natural Language Supervision", ICML 2021) trains an
image encoder and a text encoder so that an image and its caption land close together in one space: in a batch of
``n`` (image, caption) pairs the ``n × n`` cosine similarities, scaled by a learned temperature, are classified both
ways (each image among the captions, each caption among the images) by a symmetric cross-entropy. A class the model
never saw is then recognised by the text of a prompt about it. The models, the loss and the tokenizer are
open_clip's (Ilharco et al., 2021, github.com/mlfoundations/open_clip; Cherti et al., "Reproducible scaling laws for
contrastive language-image learning", CVPR 2023): :class:`open_clip.CLIP` with a tiny configuration
(:func:`build_clip`), :class:`open_clip.ClipLoss` and its BPE tokenizer, whose vocabulary ships inside the package.

* **captions** — :func:`caption_bank`: for each training image, captions drawn from what the world knows about its
  class (a seeded random subset of its attributes, in words: :func:`describe`) inside a prompt template;
* **training** — :func:`trained_clip`, the one training loop (:func:`utils.training.loop.train_model`) with
  :class:`CaptionContrastiveLoss`, fit or load under the one checkpoint policy (runs ``clip`` and
  ``validation_clip``: the latter without the pseudo-unseen classes, to choose γ);
* **zero-shot** — :func:`class_text_embeddings` (a template ensemble: the mean of the normalised embeddings of a
  class's prompts), :func:`clip_embedding_set` (an :class:`utils.zsl.EmbeddingSet`: images against class texts),
  :func:`choose_prompt_gamma` and :func:`zero_shot_rows` (T1, hit@5, U/S/H through :mod:`utils.zsl`);
* **pretrained** — :func:`load_pretrained_clip` (``open_clip.create_model(name, pretrained=<file or tag>)``; a file
  that is not a checkpoint of that model fails in one line naming it, a download that cannot happen names the model,
  its size and what to do offline);
* **search** — :func:`search_images_by_text`, :func:`search_texts_by_image` through :mod:`utils.search`'s index;
* **scoreboard** — :func:`zero_shot_scoreboard`: 02, 05 and 08 on the same unseen classes, from recorded results.

``python -m utils.stages.clip [--profile P] [--budget B]`` trains (or loads) both runs and prints the zero-shot table.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from utils.cli import ArgumentParser, cli_entry
from utils.config import ClipConfig, data_dir
from utils.errors import MissingDataError, library_message
from utils.metrics import zero_shot_chance
from utils.runtime import seed_everything
from utils.training.checkpoints import CheckpointError, Decision, fit_or_load
from utils.training.images import ImageBatches, ImageFiles
from utils.training.loop import LossLog, predict_outputs, train_model
from utils.zsl import EmbeddingSet, choose_calibration_gamma, evaluate_embeddings

PROMPT_KINDS = ("names", "descriptions")
"""How a class is put into words: its name (``"giant panda"``), or its attributes (``"black and white, furry, big
animal with paws that lives in the forest"``)."""

TOKENIZER_VOCABULARY_SIZE = 49408
"""Entries of open_clip's BPE vocabulary (``bpe_simple_vocab_16e6.txt.gz``, shipped in the package): the rows of the
text tower's token embedding."""

# ---------------------------------------------------------------------------------------------- captions

ATTRIBUTE_PHRASES: dict[str, tuple[str, str]] = {
    **{colour: ("look", colour) for colour in ("black", "white", "blue", "brown", "gray", "orange", "red", "yellow")},
    **{word: ("look", word) for word in ("furry", "hairless", "big", "small", "bulbous", "lean", "muscular", "fast",
                                         "slow", "strong", "weak", "active", "inactive", "nocturnal", "agile", "smelly",
                                         "fierce", "timid", "smart", "solitary", "domestic")},
    "toughskin": ("look", "tough-skinned"), "muscle": ("look", "muscular"), "agility": ("look", "agile"),
    "quadrapedal": ("look", "four-legged"),
    "patches": ("with", "patches"), "spots": ("with", "spots"), "stripes": ("with", "stripes"),
    "flippers": ("with", "flippers"), "hands": ("with", "hands"), "hooves": ("with", "hooves"), "pads": ("with", "pads"),
    "paws": ("with", "paws"), "longleg": ("with", "long legs"), "longneck": ("with", "a long neck"),
    "tail": ("with", "a tail"), "chewteeth": ("with", "chewing teeth"), "meatteeth": ("with", "meat teeth"),
    "buckteeth": ("with", "buck teeth"), "strainteeth": ("with", "straining teeth"), "horns": ("with", "horns"),
    "claws": ("with", "claws"), "tusks": ("with", "tusks"),
    "flys": ("does", "flies"), "hops": ("does", "hops"), "swims": ("does", "swims"), "tunnels": ("does", "tunnels"),
    "walks": ("does", "walks"), "bipedal": ("does", "walks on two legs"), "hibernate": ("does", "hibernates"),
    "fish": ("does", "eats fish"), "meat": ("does", "eats meat"), "plankton": ("does", "eats plankton"),
    "vegetation": ("does", "eats plants"), "insects": ("does", "eats insects"), "forager": ("does", "forages"),
    "grazer": ("does", "grazes"), "hunter": ("does", "hunts"), "scavenger": ("does", "scavenges"),
    "skimmer": ("does", "skims"), "stalker": ("does", "stalks"), "group": ("does", "lives in groups"),
    "nestspot": ("does", "has a nest"),
    "newworld": ("lives", "the new world"), "oldworld": ("lives", "the old world"), "arctic": ("lives", "the arctic"),
    "coastal": ("lives", "coasts"), "desert": ("lives", "the desert"), "bush": ("lives", "the bush"),
    "plains": ("lives", "the plains"), "forest": ("lives", "the forest"), "fields": ("lives", "fields"),
    "jungle": ("lives", "the jungle"), "mountains": ("lives", "the mountains"), "ocean": ("lives", "the ocean"),
    "ground": ("lives", "the ground"), "water": ("lives", "water"), "tree": ("lives", "trees"),
    "cave": ("lives", "caves"),
}
"""AwA2 predicate → (slot, words): ``look`` words come before "animal", ``with`` after "with", ``does`` after "that",
``lives`` after "lives in". Covers the real data set's 85 predicates and the sample world's 35; a predicate not listed
is used as a ``look`` word as it is spelt."""


def _joined(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def describe(attribute_names: Sequence[str]) -> str:
    """Attributes in words, the subject of a prompt template: ``["black", "white", "stripes", "hooves", "plains"]`` →
    ``"black and white animal with stripes and hooves that lives in the plains"`` (:data:`ATTRIBUTE_PHRASES`)."""
    slots: dict[str, list[str]] = {"look": [], "with": [], "does": [], "lives": []}
    for name in attribute_names:
        slot, words = ATTRIBUTE_PHRASES.get(name, ("look", name))
        slots[slot].append(words)
    text = (_joined(slots["look"]) + " " if slots["look"] else "") + "animal"
    if slots["with"]:
        text += " with " + _joined(slots["with"])
    clauses = slots["does"] + (["lives in " + _joined(slots["lives"])] if slots["lives"] else [])
    if clauses:
        text += " that " + _joined(clauses)
    return text


def fill_template(template: str, subject: str) -> str:
    """``template.format(subject)`` with the article agreeing: ``"a photo of a {}."`` and ``"elephant"`` →
    ``"a photo of an elephant."``."""
    return re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", template.format(subject))


def class_attribute_names(binary_attributes: np.ndarray, attribute_names: Sequence[str], class_index: int) -> list[str]:
    """The attributes class ``class_index`` has (its 1s in ``binary_attributes``, of shape (n_classes, n_attributes)),
    in predicate order."""
    return [attribute_names[i] for i in np.flatnonzero(np.asarray(binary_attributes)[class_index])]


def class_subjects(awa2: Any, kind: str) -> list[str]:
    """What a prompt says about each class of ``awa2`` (in ``awa2.class_names`` order): its name with ``+`` read as a
    space (``kind="names"``) or all its attributes in words (``"descriptions"``, :func:`describe`).

    Raises:
        ValueError: for a kind not in :data:`PROMPT_KINDS`.
    """
    if kind == "names":
        return [name.replace("+", " ") for name in awa2.class_names]
    if kind == "descriptions":
        return [describe(class_attribute_names(awa2.binary_attributes, awa2.attribute_names, index))
                for index in range(len(awa2.class_names))]
    raise ValueError(f"prompt kind must be one of {', '.join(PROMPT_KINDS)}, not {kind!r}")


def draw_caption_attributes(
    binary_attributes: np.ndarray, image_classes: np.ndarray, captions_per_image: int,
    attribute_range: tuple[int, int], seed: int,
) -> list[list[np.ndarray]]:
    """For every image, ``captions_per_image`` seeded random subsets of its class's attributes.

    Args:
        binary_attributes: 0/1 array of shape (n_classes, n_attributes).
        image_classes: class index of every image, of shape (n_images,).
        captions_per_image: subsets drawn per image.
        attribute_range: ``(fewest, most)`` attributes per subset (at most the class's own count).
        seed: the draw's seed (the same seed, the same subsets).

    Returns:
        ``[image][caption]`` → sorted attribute indices (rows of ``binary_attributes``' columns).
    """
    generator = np.random.default_rng(seed)
    fewest, most = attribute_range
    subsets = []
    for class_index in np.asarray(image_classes):
        owned = np.flatnonzero(np.asarray(binary_attributes)[class_index])
        counts = generator.integers(min(fewest, owned.size), min(most, owned.size) + 1, size=captions_per_image)
        subsets.append([np.sort(generator.choice(owned, count, replace=False)) for count in counts])
    return subsets


def caption_bank(
    awa2: Any, image_classes: np.ndarray, config: ClipConfig, seed: int | None = None,
) -> list[list[str]]:
    """The training captions, ``[image][caption]`` of shape (n_images, ``config.captions_per_image``): each a prompt
    template (drawn from ``config.prompt_templates``) around a random subset of the class's attributes in words
    (:func:`draw_caption_attributes` with ``config.caption_attributes``), e.g. ``"a cartoon of a black and white
    animal with stripes."``. Deterministic in ``seed`` (default ``config.seed``)."""
    seed = config.seed if seed is None else seed
    subsets = draw_caption_attributes(awa2.binary_attributes, image_classes, config.captions_per_image,
                                      tuple(config.caption_attributes), seed)
    templates = list(config.prompt_templates)
    template_choice = np.random.default_rng([seed, 1]).integers(len(templates), size=(len(subsets), config.captions_per_image))
    return [[fill_template(templates[template], describe([awa2.attribute_names[i] for i in subset]))
             for subset, template in zip(image_subsets, image_templates, strict=True)]
            for image_subsets, image_templates in zip(subsets, template_choice, strict=True)]


# ---------------------------------------------------------------------------------------------- model and loss


def clip_tokenizer(context_length: int):
    """open_clip's BPE tokenizer (its vocabulary file ``bpe_simple_vocab_16e6.txt.gz`` ships in the package: no
    network), padding or truncating every text to ``context_length`` tokens: ``tokenizer(texts)`` → int64 of shape
    (n_texts, context_length)."""
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer(context_length=context_length)


def clip_model_config(config: ClipConfig) -> dict[str, Any]:
    """The keyword arguments of :class:`open_clip.CLIP` for the config: a ``ModifiedResNet`` image tower (CLIP's
    ResNet with attention pooling) and a text transformer over open_clip's vocabulary, both tiny."""
    return {
        "embed_dim": config.embed_dim,
        "vision_cfg": {"image_size": config.image_size, "layers": list(config.vision_layers),
                       "width": config.vision_width},
        "text_cfg": {"context_length": config.context_length, "vocab_size": TOKENIZER_VOCABULARY_SIZE,
                     "width": config.text_width, "heads": config.text_heads, "layers": config.text_layers},
    }


def build_clip(config: ClipConfig) -> nn.Module:
    """An untrained :class:`open_clip.CLIP` of :func:`clip_model_config` (no pretrained weights), seeded from
    ``config.seed`` so that the initial weights are the same whatever ran before."""
    import open_clip

    seed_everything(config.seed)
    return open_clip.CLIP(**clip_model_config(config))


class ClipImageEncoder(nn.Module):
    """A CLIP's image side as the module the training loop trains and :func:`predict_outputs` runs: images
    (batch, 3, H, W), ImageNet-normalised as :mod:`utils.training.images` makes them → unnormalised embeddings
    (batch, embed_dim).

    It holds the whole CLIP, so the optimizer built from its parameters trains both towers and the temperature
    (:class:`CaptionContrastiveLoss` runs the text side). A pretrained model expects its own normalisation
    (``preprocess_cfg``'s mean and std): the inputs are converted to it first.

    Args:
        clip: an :class:`open_clip.CLIP`.
        mean, std: the normalisation the model was trained with (``None``: the ImageNet one it is fed).
    """

    def __init__(self, clip: nn.Module, mean: Sequence[float] | None = None, std: Sequence[float] | None = None):
        from utils.training.images import IMAGENET_MEAN, IMAGENET_STD

        super().__init__()
        self.clip = clip
        scale = torch.ones(3) if std is None else torch.tensor(IMAGENET_STD) / torch.tensor(std)
        shift = torch.zeros(3) if mean is None else (torch.tensor(IMAGENET_MEAN) - torch.tensor(mean)) / torch.tensor(std)
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.clip.encode_image(images * self.scale + self.shift)


MAX_LOGIT_SCALE = 100.0
"""CLIP clips the learned temperature's scale at 100 "to prevent scaling the logits by more than 100" (Radford et
al., section 2.5); open_clip's training loop clamps ``logit_scale`` to ``ln 100`` after each step."""


class CaptionContrastiveLoss(nn.Module):
    """open_clip's :class:`~open_clip.ClipLoss` on a batch of images and one caption of each, drawn at random from the
    image's captions: the symmetric cross-entropy of the scaled cosine similarities (Radford et al., ICML 2021).

    Called by the training loop as ``loss(image_embeddings, items)``: ``items`` are the images' rows of
    ``caption_tokens``; the loss draws a caption of each (torch's generator: the same seed, the same draws), runs the
    CLIP's text tower on it and scales by the learned temperature ``exp(logit_scale)``, clipped at
    :data:`MAX_LOGIT_SCALE`.

    Args:
        clip: the :class:`open_clip.CLIP` being trained (shared with :class:`ClipImageEncoder`).
        caption_tokens: int64 of shape (n_images, captions_per_image, context_length).
    """

    def __init__(self, clip: nn.Module, caption_tokens: torch.Tensor):
        import open_clip

        super().__init__()
        self.clip = clip
        self.register_buffer("caption_tokens", caption_tokens, persistent=False)
        self.clip_loss = open_clip.ClipLoss()

    def forward(self, image_embeddings: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Args: image_embeddings of shape (batch, embed_dim); items of shape (batch,). Returns the scalar loss."""
        choice = torch.randint(self.caption_tokens.shape[1], (len(items),)).to(items.device)
        text_embeddings = self.clip.encode_text(self.caption_tokens[items, choice])
        logit_scale = self.clip.logit_scale.exp().clamp(max=MAX_LOGIT_SCALE)
        return self.clip_loss(F.normalize(image_embeddings, dim=-1), F.normalize(text_embeddings.float(), dim=-1),
                              logit_scale)


# ---------------------------------------------------------------------------------------------- images and training


class ClipImages(NamedTuple):
    """The AwA2-format images notebook 08 works on, split as notebooks 02 and 05 split them.

    Attributes:
        awa2: the :class:`utils.datasets.Awa2Dataset` (class names, attribute matrices).
        image_paths: the kept images (the first ``config.images_per_class`` of every class).
        labels: (n_images,) their class indices into ``awa2.class_names``.
        seen_classes, unseen_classes: class indices of ``config.awa2_split`` (:func:`utils.splits.awa2_class_split`).
        splits: 0-based indices into ``image_paths``: ``trainval`` (trained on), ``test_seen`` (GZSL's S: no choice
            touches them), ``test_unseen``; for γ, ``validation_train`` (what the validation CLIP trains on: the
            other seen classes minus a held-out share), ``validation_seen`` (that share) and ``validation_unseen``
            (the pseudo-unseen classes' images); ``validation_classes`` holds those classes' indices.
    """

    awa2: Any
    image_paths: list[Path]
    labels: np.ndarray
    seen_classes: np.ndarray
    unseen_classes: np.ndarray
    splits: dict[str, np.ndarray]

    @property
    def validation_train_classes(self) -> np.ndarray:
        return np.setdiff1d(self.seen_classes, self.splits["validation_classes"])


def load_clip_images(config: ClipConfig) -> ClipImages:
    """The images of ``config.awa2_dir`` and their splits (:func:`utils.splits.split_images` with
    ``config.test_seen_fraction``, ``config.n_validation_classes`` and ``config.seed``; the validation CLIP's held-out
    share with ``config.validation_holdout_fraction``).

    Raises:
        MissingDataError: naming the AwA2 folder (or xlsa17's ``att_splits.mat`` for ``proposed``), if missing.
    """
    from utils.datasets import image_index, load_awa2
    from utils.splits import awa2_class_split, first_per_class, hold_out_per_class, split_images

    awa2 = load_awa2(config.awa2_dir)
    classes = awa2_class_split(config)
    index_of = {name: index for index, name in enumerate(awa2.class_names)}
    seen = np.array([index_of[name] for name in classes.seen_classes])
    unseen = np.array([index_of[name] for name in classes.unseen_classes])
    all_paths, all_labels = image_index(awa2)
    kept = first_per_class(all_labels, config.images_per_class)
    image_paths, labels = [all_paths[i] for i in kept], all_labels[kept]
    splits = split_images(labels, seen, unseen, config.test_seen_fraction, config.n_validation_classes, config.seed)
    train = splits["train"]
    kept_positions, held_out_positions = hold_out_per_class(labels[train], config.validation_holdout_fraction, config.seed)
    splits.update(validation_train=train[kept_positions], validation_seen=train[held_out_positions],
                  validation_unseen=splits["val"])
    return ClipImages(awa2, image_paths, labels, seen, unseen, splits)


def train_clip(
    clip: nn.Module, images: ImageFiles, caption_tokens: torch.Tensor, config: ClipConfig,
    device: torch.device | str = "cpu", log_path: Path | None = None,
) -> list[dict[str, float]]:
    """Train ``clip`` on ``images`` and their captions with the one training loop: AdamW, the config's schedule,
    :class:`CaptionContrastiveLoss`, horizontal flips (a mirrored image keeps its caption).

    Args:
        clip: :func:`build_clip`'s model, trained in place.
        images: the training images; their labels are their rows of ``caption_tokens``.
        caption_tokens: int64 of shape (n_images, captions_per_image, context_length).
        config: notebook 08's config (``epochs``, ``batch_size``, ``learning_rate``, ``weight_decay``, ``schedule``,
            ``seed``, ``cpu_threads``, ``mixed_precision``).
        device: where to train.
        log_path: a CSV of the epochs (written if given).

    Returns:
        One ``{"epoch", "loss", "seconds"}`` row per epoch.
    """
    seed_everything(config.seed)
    return train_model(
        ClipImageEncoder(clip), ImageBatches(images, config.batch_size, shuffle=True, seed=config.seed, device=device),
        CaptionContrastiveLoss(clip, caption_tokens), config.epochs, config.learning_rate, config.weight_decay,
        schedule=config.schedule, device=device, log=LossLog(verbose=False), log_path=log_path,
        threads=config.cpu_threads, mixed_precision=config.mixed_precision,
    )


def trained_clip(
    images: ClipImages, config: ClipConfig, run: str = "clip", device: torch.device | str = "cpu",
) -> tuple[nn.Module, Decision]:
    """The CLIP of run ``run``, fit or loaded (:func:`utils.training.checkpoints.fit_or_load`; prints whether it
    trained or loaded, and why): ``clip`` on the ``trainval`` images of every seen class, ``validation_clip`` on
    ``validation_train`` (without the pseudo-unseen classes). Checkpoint ``<run_dir>/<run>/model.pt``, an open_clip
    state dict, with its CSV log beside it.

    Returns:
        ``(clip, decision)``: the model in eval mode on the CPU, and the decision.
    """
    if run not in ClipConfig.runs:
        raise ValueError(f"run must be one of {', '.join(ClipConfig.runs)}, not {run!r}")
    indices = images.splits["trainval" if run == "clip" else "validation_train"]
    train_classes = images.seen_classes if run == "clip" else images.validation_train_classes
    clip = build_clip(config)
    checkpoint = config.run_dir / run / "model.pt"

    def train() -> None:
        captions = caption_bank(images.awa2, images.labels[indices], config)
        tokens = clip_tokenizer(config.context_length)([text for texts in captions for text in texts])
        files = ImageFiles([images.image_paths[i] for i in indices], np.arange(len(indices)), config.image_size)
        train_clip(clip, files, tokens.view(len(indices), config.captions_per_image, -1), config, device,
                   checkpoint.with_suffix(".csv"))

    inputs = {"train_classes": [images.awa2.class_names[i] for i in train_classes]}
    decision = fit_or_load(clip, checkpoint, config, run, train, inputs=inputs)
    return clip.cpu().eval(), decision


# ---------------------------------------------------------------------------------------------- embeddings


@torch.no_grad()
def class_text_embeddings(
    clip: nn.Module, tokenizer: Any, subjects: Sequence[str], templates: Sequence[str],
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Prompt ensembling (Radford et al., section 3.1.4): every subject inside every template, the text embeddings
    normalised, averaged per subject and normalised again.

    Args:
        clip: an :class:`open_clip.CLIP`.
        tokenizer: texts → token ids (:func:`clip_tokenizer`, or a pretrained model's).
        subjects: what the prompts are about (:func:`class_subjects`), of length n_subjects.
        templates: prompt templates with one ``{}``.
        device: where to run the text tower.

    Returns:
        float32 unit rows of shape (n_subjects, embed_dim).
    """
    clip.to(device).eval()
    prompts = [fill_template(template, subject) for subject in subjects for template in templates]
    embeddings = F.normalize(clip.encode_text(tokenizer(prompts).to(device)).float(), dim=-1)
    ensemble = embeddings.view(len(subjects), len(templates), -1).mean(dim=1)
    return F.normalize(ensemble, dim=-1).cpu().numpy()


def image_embeddings(
    clip: nn.Module, images: ClipImages, indices: np.ndarray, image_size: int, device: torch.device | str = "cpu",
    mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
) -> np.ndarray:
    """The CLIP's image embeddings of ``images.image_paths[indices]`` at ``image_size``, float32 of shape
    (n_images, embed_dim), unnormalised (``mean``/``std``: a pretrained model's own normalisation)."""
    files = ImageFiles([images.image_paths[i] for i in indices], images.labels[indices], image_size)
    return predict_outputs(ClipImageEncoder(clip, mean, std), files, device=device).numpy()


def clip_embedding_set(
    images: ClipImages, indices: np.ndarray, embeddings: np.ndarray, class_texts: np.ndarray,
    candidates: np.ndarray, seen_classes: np.ndarray, seen_split: str = "seen_test",
) -> EmbeddingSet:
    """Image embeddings against class text embeddings as an :class:`utils.zsl.EmbeddingSet`, the same object DeViSE's
    evaluation scores (cosines of images to class vectors), here restricted to the ``candidates`` classes.

    Args:
        images: the images.
        indices: which images, of shape (n_images,); ``embeddings`` are theirs, of shape (n_images, embed_dim).
        class_texts: the text embedding of every class of ``images.awa2``, of shape (n_classes, embed_dim).
        candidates: the classes competing (sorted class indices): all of them for the test, the validation classes
            for γ.
        seen_classes: those trained on; the others are unseen in the set.
        seen_split: the ``split`` of images of seen classes (``seen_test``, or ``seen_valid`` for γ).
    """
    column = {int(class_index): position for position, class_index in enumerate(candidates)}
    labels = np.array([column[int(label)] for label in images.labels[indices]])
    seen_mask = np.isin(candidates, seen_classes)
    split = np.where(seen_mask[labels], seen_split, "unseen_test")
    return EmbeddingSet(embeddings, [str(images.image_paths[i]) for i in indices], labels, split,
                        np.asarray(images.awa2.class_names)[candidates], class_texts[candidates], seen_mask)


def choose_prompt_gamma(
    clip: nn.Module, tokenizer: Any, images: ClipImages, kind: str, config: ClipConfig, image_size: int,
    device: torch.device | str = "cpu", mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
) -> tuple[float, list[dict[str, float]]]:
    """The calibrated-stacking γ of prompts of ``kind``, chosen on validation data (:func:`utils.zsl.choose_calibration_gamma`):
    the held-out images of the classes ``clip`` was trained on and the images of the pseudo-unseen classes, scored
    over both groups of classes. ``clip`` is the ``validation_clip`` run (a pretrained model, trained on none of them,
    plays both parts)."""
    validation_images = np.concatenate([images.splits["validation_seen"], images.splits["validation_unseen"]])
    candidates = np.sort(np.concatenate([images.validation_train_classes, images.splits["validation_classes"]]))
    class_texts = class_text_embeddings(clip, tokenizer, class_subjects(images.awa2, kind), config.prompt_templates,
                                        device)
    embeddings = image_embeddings(clip, images, validation_images, image_size, device, mean, std)
    validation = clip_embedding_set(images, validation_images, embeddings, class_texts, candidates,
                                    images.validation_train_classes, seen_split="seen_valid")
    return choose_calibration_gamma(validation.scores(), validation.labels, validation.seen_class_mask, config.n_gammas)


@dataclass
class ZeroShotModel:
    """A CLIP ready to be evaluated: the model, its tokenizer, its input size and normalisation.

    Attributes:
        name: how tables call it (``"CLIP from scratch"``, ``"pretrained ViT-B-32 (laion2b_s34b_b79k)"``).
        clip: an :class:`open_clip.CLIP` in eval mode.
        tokenizer: texts → token ids.
        image_size: its input side in pixels.
        mean, std: its input normalisation (``None``: ImageNet's, what :mod:`utils.training.images` gives).
    """

    name: str
    clip: nn.Module
    tokenizer: Any
    image_size: int
    mean: Sequence[float] | None = None
    std: Sequence[float] | None = None


def zero_shot_rows(
    model: ZeroShotModel, images: ClipImages, config: ClipConfig, gammas: Mapping[str, float],
    device: torch.device | str = "cpu",
) -> tuple[list[dict[str, Any]], dict[str, EmbeddingSet]]:
    """ZSL and GZSL of ``model`` on the test images, once per prompt kind: T1 and hit@5 among the unseen classes, U, S,
    H over all classes at γ = 0 and at ``gammas[kind]`` (chosen on validation data), and the chance of each figure
    (:func:`utils.zsl.evaluate_embeddings`). S is measured on ``test_seen``, images nothing was chosen on.

    Returns:
        ``(rows, embedding sets)``: one row per kind of :data:`PROMPT_KINDS` (``{"model", "prompts", "T1", "hit@5",
        "U (γ=0)", ..., "H", "chance T1", ...}``), and the :class:`EmbeddingSet` of each kind (for search and plots).
    """
    test_images = np.concatenate([images.splits["test_seen"], images.splits["test_unseen"]])
    embeddings = image_embeddings(model.clip, images, test_images, model.image_size, device, model.mean, model.std)
    all_classes = np.arange(len(images.awa2.class_names))
    rows, sets = [], {}
    for kind in PROMPT_KINDS:
        class_texts = class_text_embeddings(model.clip, model.tokenizer, class_subjects(images.awa2, kind),
                                            config.prompt_templates, device)
        sets[kind] = clip_embedding_set(images, test_images, embeddings, class_texts, all_classes, images.seen_classes)
        rows.append({"model": model.name, "prompts": kind, **evaluate_embeddings(sets[kind], gammas[kind])})
    return rows, sets


def scratch_zero_shot_model(clip: nn.Module, config: ClipConfig) -> ZeroShotModel:
    """The from-scratch CLIP as a :class:`ZeroShotModel` (its tokenizer, the config's image size)."""
    return ZeroShotModel("CLIP from scratch", clip, clip_tokenizer(config.context_length), config.image_size)


# ---------------------------------------------------------------------------------------------- pretrained

PRETRAINED_SIZES_MB = {"RN50": 408, "ViT-B-32": 605, "ViT-B-16": 599, "ViT-L-14": 1710}
"""Float32 weight files of the common open_clip architectures, in MB (what an offline user has to carry)."""


def pretrained_weights_file(config: ClipConfig) -> Path:
    """``config.pretrained_weights``, or ``$ZSL_DATA_DIR/open_clip/<model>_<tag>.bin``."""
    if config.pretrained_weights is not None:
        return Path(config.pretrained_weights)
    return data_dir() / "open_clip" / f"{config.pretrained_model}_{config.pretrained_tag}.bin"


def offline_hint(model_name: str, tag: str, weights: Path) -> str:
    """What to do without network: where to get the weights of ``model_name``/``tag`` and where to put them."""
    import open_clip

    repository = (open_clip.get_pretrained_cfg(model_name, tag) or {}).get("hf_hub", "").strip("/")
    source = (f"open_clip_pytorch_model.bin from https://huggingface.co/{repository}" if repository
              else f"the {tag} weights of {model_name} (open_clip.list_pretrained())")
    size = PRETRAINED_SIZES_MB.get(model_name)
    return (f"{model_name} ({tag}{f', about {size} MB' if size else ''}) cannot be downloaded here; on a machine with "
            f"network fetch {source} and copy it to {weights} (or set config.pretrained_weights)")


def registered_model_name(model_name: str) -> str:
    """``model_name`` itself, or, for the path of an open_clip model configuration (a ``.json`` file: an architecture
    of one's own, or the rehearsal's small stand-in), the name it is registered under (``open_clip.add_model_config``;
    the file's stem).

    Raises:
        MissingDataError: naming the file, if a ``.json`` model configuration is not there.
    """
    if not model_name.endswith(".json"):
        return model_name
    import open_clip

    path = Path(model_name)
    if not path.is_file():
        raise MissingDataError(path, what="open_clip model configuration", how="give the path of an existing .json")
    open_clip.add_model_config(path)
    return path.stem


def load_pretrained_clip(
    model_name: str, weights: str | Path | None = None, tag: str | None = None,
) -> tuple[nn.Module, Any, dict[str, Any]]:
    """An open_clip model with trained weights: ``open_clip.create_model(model_name, pretrained=...)`` from the file
    ``weights`` when it exists, else from the pretrained ``tag`` (downloaded from the Hugging Face Hub into open_clip's
    cache). Files are read with ``torch.load(weights_only=True)`` (open_clip's default): a crafted file cannot run code.

    Args:
        model_name: an open_clip architecture (``open_clip.list_models()``).
        weights: a state dict of that architecture as open_clip saves it (``.bin``/``.pt``/``.safetensors``).
        tag: the pretrained tag used when ``weights`` is missing (``open_clip.list_pretrained()``).

    Returns:
        ``(model, tokenizer, preprocess_cfg)``: the model in eval mode on the CPU, its tokenizer
        (``open_clip.get_tokenizer``) and its input settings (``size``, ``mean``, ``std``, ...).

    Raises:
        CheckpointError: naming ``weights``, if it is not a readable checkpoint of ``model_name`` (empty, truncated,
            refused by ``weights_only``, or its tensors do not fit the architecture).
        MissingDataError: naming ``weights``, the model, its size and what to do offline, if the file is missing and
            the tag cannot be downloaded.
    """
    import open_clip

    model_name = registered_model_name(model_name)
    path = None if weights is None else Path(weights)
    if path is not None and path.is_file():
        if path.stat().st_size == 0:
            raise CheckpointError(path, "empty file (0 bytes): an interrupted download? fetch it again")
        try:
            model = open_clip.create_model(model_name, pretrained=str(path), weights_only=True)
        except pickle.UnpicklingError as error:
            raise CheckpointError(path, "refused by torch.load(weights_only=True): it holds something other than "
                                        f"tensors and plain values ({library_message(error)})") from error
        except (OSError, EOFError, RuntimeError, KeyError, ValueError, IndexError, TypeError, AttributeError,
                StopIteration, UnicodeDecodeError, AssertionError) as error:  # open_clip asserts on some mismatches
            raise CheckpointError(path, f"not a checkpoint of open_clip's {model_name} (truncated, or another "
                                        f"model's weights?): {library_message(error)}") from error
    else:
        if tag is None:
            raise MissingDataError(path, what=f"{model_name} weights", how="give a weights file or a pretrained tag")
        try:
            model = open_clip.create_model(model_name, pretrained=tag)
        except RuntimeError as error:
            where = path or data_dir() / "open_clip" / f"{model_name}_{tag}.bin"
            raise MissingDataError(where, what=f"open_clip weights of {model_name}",
                                   how=offline_hint(model_name, tag, where)) from error
    return model.eval(), open_clip.get_tokenizer(model_name), open_clip.get_model_preprocess_cfg(model)


def pretrained_zero_shot_model(config: ClipConfig) -> ZeroShotModel:
    """:func:`load_pretrained_clip` of ``config.pretrained_model`` (:func:`pretrained_weights_file`, else
    ``config.pretrained_tag``) as a :class:`ZeroShotModel`."""
    weights = pretrained_weights_file(config)
    clip, tokenizer, preprocess = load_pretrained_clip(config.pretrained_model, weights, config.pretrained_tag)
    size = preprocess.get("size", 224)
    source = weights.name if weights.is_file() else config.pretrained_tag
    return ZeroShotModel(f"pretrained {registered_model_name(config.pretrained_model)} ({source})", clip, tokenizer,
                         size if isinstance(size, int) else size[0], preprocess.get("mean"), preprocess.get("std"))


# ---------------------------------------------------------------------------------------------- search


def search_images_by_text(
    model: ZeroShotModel, queries: Sequence[str], embeddings: EmbeddingSet, k: int, templates: Sequence[str] = ("{}",),
    index: str = "nmslib", device: torch.device | str = "cpu",
) -> list[list[dict[str, Any]]]:
    """Text → image: the ``k`` images whose CLIP embeddings are nearest to each free-text query's, through the course's
    index (:func:`utils.search.build_index`, nmslib's HNSW by default).

    Returns:
        ``[query][rank]`` → ``{"path", "class", "similarity"}``.
    """
    from utils.search import build_index

    found = build_index(index, embeddings.image_embeddings, labels=embeddings.class_names[embeddings.labels],
                        paths=embeddings.image_paths, source=model.name)
    query_embeddings = class_text_embeddings(model.clip, model.tokenizer, queries, templates, device)
    ids, similarities = found.query(query_embeddings, k=min(k, len(found)))
    return [[{"path": found.paths[i], "class": found.labels[i], "similarity": float(s)} for i, s in zip(row, sims, strict=True)]
            for row, sims in zip(ids, similarities, strict=True)]


def search_texts_by_image(
    texts: Sequence[str], text_embeddings: np.ndarray, query_embeddings: np.ndarray, k: int, index: str = "nmslib",
) -> list[list[dict[str, Any]]]:
    """Image → text: for each image embedding (shape (n_queries, embed_dim)), the ``k`` texts (their embeddings of
    shape (n_texts, embed_dim)) nearest to it, through the course's index.

    Returns:
        ``[query][rank]`` → ``{"text", "similarity"}``.
    """
    from utils.search import build_index

    found = build_index(index, text_embeddings, labels=list(texts))
    ids, similarities = found.query(query_embeddings, k=min(k, len(found)))
    return [[{"text": found.labels[i], "similarity": float(s)} for i, s in zip(row, sims, strict=True)]
            for row, sims in zip(ids, similarities, strict=True)]


# ---------------------------------------------------------------------------------------------- scoreboard

NOTEBOOK = "08_clip_zero_shot"

SCOREBOARD_METHODS: tuple[tuple[str, str, str], ...] = (
    ("DeViSE: label word vectors (02)", "02_stage2_visual_semantic", ""),
    ("attribute regressor, MSE (05)", "05_attribute_zsl_remse", "mse "),
    ("attribute regressor, ReMSE in-batch (05)", "05_attribute_zsl_remse", "remse_in_batch "),
    ("CLIP from scratch, class names (08)", NOTEBOOK, "names "),
    ("CLIP from scratch, descriptions (08)", NOTEBOOK, "descriptions "),
    ("pretrained CLIP, class names (08)", NOTEBOOK, "pretrained names "),
    ("pretrained CLIP, descriptions (08)", NOTEBOOK, "pretrained descriptions "),
)
"""The scoreboard's methods: ``(label, notebook, prefix of its figures)``; a method's T1, hit@5 and H are the
figures ``<prefix>T1``, ``<prefix>hit@5``, ``<prefix>H`` its notebook recorded (:func:`utils.results.record_results`)."""

SCOREBOARD_FIGURES = ("T1", "hit@5", "H")
NOT_RUN = "not run"
"""A method whose notebook has no recorded results in this profile."""
NOT_RECORDED = "—"
"""A figure the method's notebook ran but does not report (05 reports no hit@5; the oracle no hit@5 or H)."""


def zero_shot_scoreboard(
    results: Sequence[Mapping[str, Any]], n_seen_classes: int, n_unseen_classes: int,
) -> list[dict[str, Any]]:
    """Every zero-shot method of the course on the same unseen classes, framed by chance and 02's supervised oracle,
    from the figures the notebooks recorded: a method whose notebook has not run in this profile reads :data:`NOT_RUN`
    and a figure its notebook does not report :data:`NOT_RECORDED`, never a number.

    Args:
        results: recorded results (:func:`utils.results.load_results`; entries ``{"notebook", "figures"}``), later
            entries replacing earlier ones of the same notebook (pass this run's own last).
        n_seen_classes, n_unseen_classes: the chance row's classes (:func:`utils.metrics.zero_shot_chance`).

    Returns:
        One ``{"method", "T1", "hit@5", "H"}`` row per method, the chance row first and the oracle last (the oracle is
        supervised on the unseen classes: its accuracy sits in the T1 column, on half of their images).
    """
    figures_of = {entry["notebook"]: entry.get("figures", {}) for entry in results}
    chance = zero_shot_chance(n_seen_classes, n_unseen_classes)
    rows = [{"method": "chance (random scores)", **{name: chance.get(name) for name in SCOREBOARD_FIGURES}}]
    for label, notebook, prefix in SCOREBOARD_METHODS:
        figures = figures_of.get(notebook)
        if notebook == NOTEBOOK and prefix.startswith("pretrained") and figures is not None \
                and f"{prefix}T1" not in figures:
            continue  # this profile evaluates no pretrained model
        rows.append({"method": label, **{name: NOT_RUN if figures is None else figures.get(f"{prefix}{name}", NOT_RECORDED)
                                         for name in SCOREBOARD_FIGURES}})
    devise = figures_of.get("02_stage2_visual_semantic")
    oracle = NOT_RUN if devise is None else devise.get("oracle accuracy", NOT_RECORDED)
    rows.append({"method": "supervised oracle on the unseen classes (02)", "T1": oracle, "hit@5": NOT_RECORDED,
                 "H": NOT_RECORDED})
    return rows


def scoreboard_plot(rows: Sequence[Mapping[str, Any]], figure: str = "T1"):
    """The scoreboard's ``figure`` as horizontal bars (:func:`utils.plots.per_class_bars`), chance as the red line;
    methods without the figure are labelled so (not run, or not reported), with no bar. Returns the figure."""
    from utils.plots import per_class_bars

    methods = [row for row in rows if not row["method"].startswith("chance")]
    values = np.array([row[figure] if isinstance(row[figure], (int, float)) else np.nan for row in methods], dtype=float)
    labels = [row["method"] + ("" if isinstance(row[figure], (int, float))
                               else f" — {NOT_RUN if row[figure] == NOT_RUN else 'not reported'}") for row in methods]
    chance = next(row[figure] for row in rows if row["method"].startswith("chance"))
    return per_class_bars(values, labels, title=f"zero-shot {figure} on the same unseen classes", chance=chance)


# ---------------------------------------------------------------------------------------------- CLI


def run_clip(config: ClipConfig, device: torch.device | str = "cpu") -> list[dict[str, Any]]:
    """Everything the notebook computes for its tables, without it: both runs fit or loaded, γ of each prompt kind on
    the validation CLIP, the zero-shot rows of the CLIP of record (and, when ``config.pretrained_clip``, of the
    pretrained model). Returns the rows (:func:`zero_shot_rows`)."""
    from utils.datasets import require_data

    require_data(awa2=config.awa2_dir)
    images = load_clip_images(config)
    validation_clip, _ = trained_clip(images, config, "validation_clip", device)
    clip, _ = trained_clip(images, config, "clip", device)
    validation_model = scratch_zero_shot_model(validation_clip, config)
    gammas = {kind: choose_prompt_gamma(validation_clip, validation_model.tokenizer, images, kind, config,
                                        config.image_size, device)[0] for kind in PROMPT_KINDS}
    rows, _ = zero_shot_rows(scratch_zero_shot_model(clip, config), images, config, gammas, device)
    if config.pretrained_clip:
        pretrained = pretrained_zero_shot_model(config)
        pretrained_gammas = {kind: choose_prompt_gamma(pretrained.clip, pretrained.tokenizer, images, kind, config,
                                                       pretrained.image_size, device, pretrained.mean, pretrained.std)[0]
                             for kind in PROMPT_KINDS}
        rows += zero_shot_rows(pretrained, images, config, pretrained_gammas, device)[0]
    return rows


@cli_entry("python -m utils.stages.clip")
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m utils.stages.clip [--profile P] [--budget B] [--pretrained-weights F [--pretrained-model M]]``:
    train (or load) notebook 08's CLIPs and print the zero-shot table (errors: one line, :mod:`utils.cli`)."""
    import pandas as pd

    from utils.runtime import choose_device

    parser = ArgumentParser(prog="python -m utils.stages.clip",
                            description="A small CLIP from scratch on attribute captions: zero-shot by class names and "
                                        "by descriptions (T1, hit@5, GZSL U/S/H)")
    parser.add_argument("--profile", default=None, help="smoke | sample | full (default: $ZSL_PROFILE)")
    parser.add_argument("--budget", default=None, help="e.g. tiny (default: $ZSL_BUDGET)")
    parser.add_argument("--pretrained-weights", type=Path, default=None,
                        help="also evaluate a pretrained open_clip model from this weights file")
    parser.add_argument("--pretrained-model", default=None,
                        help="its open_clip architecture, or the path of a model configuration .json "
                             "(default: the config's, ViT-B-32)")
    args = parser.parse_args(argv)
    config = ClipConfig.for_profile(args.profile, args.budget)
    if args.pretrained_weights is not None:
        config.pretrained_clip, config.pretrained_weights = True, args.pretrained_weights
    if args.pretrained_model is not None:
        config.pretrained_model = args.pretrained_model
    device = choose_device(config.device)
    rows = run_clip(config, device)
    columns = ["model", "prompts", "T1", "hit@5", "U", "S", "H", "chance T1", "chance H"]
    print(pd.DataFrame(rows)[columns].round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
