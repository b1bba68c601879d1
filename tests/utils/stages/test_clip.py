"""utils.stages.clip (notebook 08): the contrastive loss against a slow reference, captions, the tokenizer's offline
vocabulary, the pretrained-weights path and its failures, better than chance on the unseen classes, the CLI, the
scoreboard."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.config import ClipConfig
from utils.datasets import load_awa2
from utils.errors import MissingDataError
from utils.stages.clip import (
    NOT_RECORDED,
    NOT_RUN,
    CaptionContrastiveLoss,
    build_clip,
    caption_bank,
    class_subjects,
    clip_model_config,
    clip_tokenizer,
    describe,
    draw_caption_attributes,
    fill_template,
    load_clip_images,
    load_pretrained_clip,
    scratch_zero_shot_model,
    trained_clip,
    zero_shot_rows,
    zero_shot_scoreboard,
)
from utils.training.checkpoints import CheckpointError

REPO_ROOT = Path(__file__).resolve().parents[3]


def slow_clip_loss(image_embeddings: torch.Tensor, text_embeddings: torch.Tensor, logit_scale: float) -> float:
    """Radford et al.'s symmetric cross-entropy written with loops: image i among all texts, text j among all images."""
    images = [row / row.norm() for row in image_embeddings.double()]
    texts = [row / row.norm() for row in text_embeddings.double()]
    n = len(images)
    logits = [[logit_scale * float(images[i] @ texts[j]) for j in range(n)] for i in range(n)]
    image_terms = [-(logits[i][i] - np.log(sum(np.exp(logits[i][j]) for j in range(n)))) for i in range(n)]
    text_terms = [-(logits[j][j] - np.log(sum(np.exp(logits[i][j]) for i in range(n)))) for j in range(n)]
    return (sum(image_terms) / n + sum(text_terms) / n) / 2


def test_open_clips_loss_is_the_symmetric_cross_entropy_of_the_slow_reference():
    import open_clip

    generator = torch.Generator().manual_seed(0)
    image_embeddings, text_embeddings = torch.randn(7, 5, generator=generator), torch.randn(7, 5, generator=generator)
    logit_scale = 14.3
    image_unit, text_unit = F.normalize(image_embeddings, dim=-1), F.normalize(text_embeddings, dim=-1)
    library = open_clip.ClipLoss()(image_unit.double(), text_unit.double(), logit_scale)
    similarity = logit_scale * image_unit.double() @ text_unit.double().T
    targets = torch.arange(7)
    inline = (F.cross_entropy(similarity, targets) + F.cross_entropy(similarity.T, targets)) / 2
    reference = slow_clip_loss(image_embeddings, text_embeddings, logit_scale)
    assert float(library) == pytest.approx(reference, abs=1e-6)
    assert float(inline) == pytest.approx(reference, abs=1e-6)
    # Degenerate case: perfectly matched unit pairs at a huge scale cost nothing.
    assert float(open_clip.ClipLoss()(image_unit, image_unit, 1e4)) == pytest.approx(0.0, abs=1e-6)


def test_the_training_loss_pairs_each_image_with_one_of_its_captions_and_clamps_the_temperature():
    config = ClipConfig.for_profile("smoke")
    clip = build_clip(config)
    with torch.no_grad():
        clip.logit_scale.fill_(10.0)  # exp(10) > 100: clamped
    # Each image's two captions are the same text, so whichever the loss draws, image i is paired with caption i.
    captions = ["a photo of a zebra.", "a photo of a zebra.", "a photo of a whale.", "a photo of a whale."]
    tokens = clip_tokenizer(config.context_length)(captions).view(2, 2, -1)
    image_embeddings = torch.randn(2, config.embed_dim)
    with torch.no_grad():
        value = CaptionContrastiveLoss(clip, tokens)(image_embeddings, torch.tensor([0, 1]))
        texts = clip.encode_text(tokens[:, 0])
    assert float(value) == pytest.approx(slow_clip_loss(image_embeddings, texts, 100.0), abs=1e-5)


def test_descriptions_put_the_attributes_into_words():
    assert describe(["black", "white", "stripes", "hooves", "plains"]) == \
        "black and white animal with stripes and hooves that lives in the plains"
    assert describe(["big", "flys", "ocean", "water"]) == "big animal that flies and lives in the ocean and water"
    assert describe(["unheard"]) == "unheard animal"
    assert fill_template("a photo of a {}.", "orange animal") == "a photo of an orange animal."
    assert fill_template("a {} or a cat", "elephant") == "an elephant or a cat"


def test_captions_are_deterministic_per_seed_and_drawn_from_the_class_attributes(data_samples):
    awa2 = load_awa2(data_samples / "awa2")
    image_classes = np.array([0, 0, 7, 30, 49])
    config = ClipConfig.for_profile("smoke", captions_per_image=6, caption_attributes=(2, 4))
    subsets = draw_caption_attributes(awa2.binary_attributes, image_classes, 6, (2, 4), seed=3)
    for class_index, image_subsets in zip(image_classes, subsets, strict=True):
        owned = set(np.flatnonzero(awa2.binary_attributes[class_index]))
        assert len(image_subsets) == 6
        assert all(set(subset) <= owned and 2 <= len(subset) <= 4 for subset in image_subsets)
    assert len({tuple(subset) for image_subsets in subsets for subset in image_subsets}) > 6  # they vary
    first = caption_bank(awa2, image_classes, config, seed=3)
    assert first == caption_bank(awa2, image_classes, config, seed=3)
    assert first != caption_bank(awa2, image_classes, config, seed=4)
    assert all(any(caption == fill_template(template, describe([awa2.attribute_names[i] for i in subset]))
                   for template in config.prompt_templates)
               for captions, image_subsets in zip(first, subsets, strict=True)
               for caption, subset in zip(captions, image_subsets, strict=True))
    assert class_subjects(awa2, "names")[awa2.class_names.index("giant+panda")] == "giant panda"


def test_the_tokenizer_vocabulary_comes_from_the_installed_package(monkeypatch):
    import open_clip

    def no_network(*args, **kwargs):
        raise AssertionError("the tokenizer tried to reach the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    tokenizer = clip_tokenizer(16)
    tokens = tokenizer(["a black and white striped animal"])
    assert tokens.shape == (1, 16) and tokens.dtype == torch.int64
    assert len(tokenizer.encoder) == clip_model_config(ClipConfig.for_profile("smoke"))["text_cfg"]["vocab_size"]
    vocabulary = Path(open_clip.tokenizer.default_bpe())
    assert vocabulary.name == "bpe_simple_vocab_16e6.txt.gz" and vocabulary.parent == Path(open_clip.__file__).parent


@pytest.fixture
def tiny_architecture(tmp_path):
    """A tiny open_clip architecture registered by name (``open_clip.add_model_config``), as a built-in one is."""
    import open_clip

    config = ClipConfig.for_profile("smoke", text_width=32, embed_dim=32, vision_width=8)
    path = tmp_path / "zsl-test-tiny-clip.json"
    path.write_text(json.dumps(clip_model_config(config)))
    open_clip.add_model_config(path)
    return "zsl-test-tiny-clip", config


def test_pretrained_weights_load_through_open_clips_create_model(tmp_path, tiny_architecture):
    name, config = tiny_architecture
    source = build_clip(config)
    weights = tmp_path / "open_clip_pytorch_model.bin"
    torch.save(source.state_dict(), weights)
    model, tokenizer, preprocess = load_pretrained_clip(name, weights)
    for key, tensor in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], tensor), key
    assert tokenizer(["a zebra"]).shape[0] == 1 and preprocess["size"] in (config.image_size, (config.image_size,) * 2)


class Hostile:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_hostile_or_mismatched_weights_file_fails_in_one_line_naming_it(tmp_path, tiny_architecture):
    name, config = tiny_architecture
    hostile = tmp_path / "hostile.bin"
    torch.save({"weights": Hostile()}, hostile)
    other = tmp_path / "other_model.bin"
    torch.save(build_clip(ClipConfig.for_profile("smoke")).state_dict(), other)  # another size of the same family
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    for path in (hostile, other, empty):
        with pytest.raises(CheckpointError) as caught:
            load_pretrained_clip(name, path)
        assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_weights_that_cannot_be_downloaded_name_the_model_its_size_and_what_to_do(tmp_path, monkeypatch):
    import open_clip.factory

    def offline(*args, **kwargs):
        raise OSError("Cannot reach https://huggingface.co: the machine is offline")

    monkeypatch.setattr(open_clip.factory, "download_pretrained", offline)  # what open_clip calls for a tag
    missing = tmp_path / "open_clip" / "ViT-B-32_laion2b_s34b_b79k.bin"
    with pytest.raises(MissingDataError) as caught:
        load_pretrained_clip("ViT-B-32", missing, "laion2b_s34b_b79k")
    message = str(caught.value)
    assert str(missing) in message and "ViT-B-32" in message and "605 MB" in message
    assert "huggingface.co/laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in message and "\n" not in message


@pytest.mark.slow
def test_clip_from_scratch_beats_chance_on_the_unseen_classes_by_descriptions(tmp_path):
    """The sample world, a few epochs (about 20 s on one core): descriptions far above chance, names not needed."""
    config = ClipConfig.for_profile("sample", outputs=tmp_path, epochs=6)
    images = load_clip_images(config)
    clip, decision = trained_clip(images, config, "clip")
    assert decision.trained
    rows, _ = zero_shot_rows(scratch_zero_shot_model(clip, config), images, config,
                             {"names": 0.0, "descriptions": 0.0})
    by_descriptions = next(row for row in rows if row["prompts"] == "descriptions")
    assert by_descriptions["chance T1"] == pytest.approx(0.1)
    assert by_descriptions["T1"] > 2.5 * by_descriptions["chance T1"], by_descriptions
    assert by_descriptions["hit@5"] > by_descriptions["chance hit@5"] + 0.2, by_descriptions


def test_the_cli_trains_then_loads_as_a_shell_calls_it(tmp_path):
    env = {**os.environ, "ZSL_OUTPUTS_DIR": str(tmp_path), "ZSL_DEVICE": "cpu", "ZSL_PROFILE": "smoke"}
    command = [sys.executable, "-m", "utils.stages.clip", "--profile", "smoke"]
    first = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "clip: training: no checkpoint yet" in first.stdout and "descriptions" in first.stdout
    assert (tmp_path / "clip" / "smoke" / "clip" / "model.pt").is_file()
    second = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "clip: loaded: settings unchanged" in second.stdout
    bad = subprocess.run([*command, "--budget", "huge"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "huge" in bad.stderr


def test_the_scoreboard_reads_recorded_results_and_never_invents_a_missing_run():
    recorded = [
        {"notebook": "02_stage2_visual_semantic", "figures": {"T1": 0.4, "hit@5": 0.9, "H": 0.3, "oracle accuracy": 0.8}},
        {"notebook": "08_clip_zero_shot", "figures": {"names T1": 0.09, "names hit@5": 0.5, "names H": 0.01,
                                                      "descriptions T1": 0.6, "descriptions hit@5": 0.95,
                                                      "descriptions H": 0.4}},
    ]
    rows = {row["method"]: row for row in zero_shot_scoreboard(recorded, 40, 10)}
    assert rows["chance (random scores)"]["T1"] == pytest.approx(0.1)
    assert rows["DeViSE: label word vectors (02)"]["T1"] == 0.4
    assert rows["supervised oracle on the unseen classes (02)"]["T1"] == 0.8
    assert rows["DeViSE: label word vectors (02)"]["hit@5"] == 0.9
    assert rows["supervised oracle on the unseen classes (02)"]["H"] == NOT_RECORDED  # a supervised figure, not GZSL
    assert rows["attribute regressor, MSE (05)"] == {"method": "attribute regressor, MSE (05)",
                                                     "T1": NOT_RUN, "hit@5": NOT_RUN, "H": NOT_RUN}
    assert rows["CLIP from scratch, descriptions (08)"]["H"] == 0.4
    assert not any(method.startswith("pretrained") for method in rows)  # this profile evaluated none
    attributes_ran = [*recorded, {"notebook": "05_attribute_zsl_remse", "figures": {"mse T1": 0.5, "mse H": 0.3}}]
    mse = {row["method"]: row for row in zero_shot_scoreboard(attributes_ran, 40, 10)}["attribute regressor, MSE (05)"]
    assert (mse["T1"], mse["hit@5"], mse["H"]) == (0.5, NOT_RECORDED, 0.3)
    nothing = {row["method"]: row for row in zero_shot_scoreboard([], 40, 10)}
    assert nothing["pretrained CLIP, class names (08)"]["T1"] == NOT_RUN


def test_a_model_configuration_file_names_its_architecture(tmp_path):
    import open_clip

    from utils.errors import MissingDataError
    from utils.stages.clip import registered_model_name

    assert registered_model_name("ViT-B-32") == "ViT-B-32"
    path = tmp_path / "zsl-own-clip.json"
    path.write_text(json.dumps(clip_model_config(ClipConfig.for_profile("smoke"))))
    assert registered_model_name(str(path)) == "zsl-own-clip" and "zsl-own-clip" in open_clip.list_models()
    with pytest.raises(MissingDataError, match="missing.json"):
        registered_model_name(str(tmp_path / "missing.json"))
