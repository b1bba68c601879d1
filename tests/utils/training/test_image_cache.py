"""The image cache: resized once, reused while its source is unchanged, never a half-written file, read by the stages."""

import contextlib
import dataclasses
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import utils.training.images as training_images
from utils.config import AttributeZslConfig, DeviseConfig, SdlConfig
from utils.errors import ConfigError
from utils.runtime import loader_options, loader_workers
from utils.splits.folders import folder_items
from utils.training import ImageFiles, fit_or_load, read_image
from utils.training.fastai_glue import embed_paths, image_dataloaders
from utils.training.image_cache import ImageCache, cached_image_paths, image_cache_for
from utils.training.image_cache.cli import main

REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLE_IMAGES = REPO_ROOT / "data_samples" / "awa2" / "JPEGImages"


def photo(path: Path, size=(200, 150), seed=0) -> Path:
    """A photo-like JPEG: a sample-world image enlarged, with a little seeded noise so files differ."""
    source = sorted(SAMPLE_IMAGES.glob("*/*.jpg"))[seed]
    with Image.open(source) as image:
        pixels = np.asarray(image.convert("RGB").resize(size, Image.BICUBIC), dtype=np.int16)
    noise = np.random.default_rng(seed).integers(-8, 9, pixels.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    sizes = [(200, 150), (150, 200), (160, 120), (300, 100)]
    return [photo(tmp_path / "data" / f"class{i % 2}" / f"image_{i}.jpg", sizes[i], seed=i) for i in range(4)]


@pytest.fixture
def cache(tmp_path) -> ImageCache:
    return ImageCache(tmp_path / "cache", shorter_side=64)


def no_partial_files(folder: Path) -> bool:
    return not [path for path in folder.rglob("*") if path.name.endswith(".partial")]


def test_build_writes_smaller_files_with_the_shorter_side_and_the_same_layout(photos, cache):
    summary = cache.build(photos, workers=2, progress=False)
    assert (summary.written, summary.small, summary.fresh, summary.failed) == (4, 0, 0, [])
    for source, cached in zip(photos, cache.resolve(photos), strict=True):
        assert cached != source and cached.is_file()
        assert cached.is_relative_to(cache.folder)
        assert cached.parts[-2:] == source.parts[-2:]  # the source's own class folder and name
        with Image.open(source) as original, Image.open(cached) as small:
            assert min(small.size) == 64
            assert small.size[0] / small.size[1] == pytest.approx(original.size[0] / original.size[1], rel=0.03)
        assert cached.stat().st_size < source.stat().st_size
        assert np.abs(read_image(cached, 32).astype(int) - read_image(source, 32).astype(int)).mean() < 6


def test_a_second_build_writes_nothing(photos, cache):
    cache.build(photos, workers=1, progress=False)
    stamps = [path.stat().st_mtime_ns for path in cache.resolve(photos)]
    manifest = cache.manifest_path.read_bytes()
    again = cache.build(photos, workers=2, progress=False)
    assert (again.written, again.small, again.fresh) == (0, 0, 4) and cache.stale(photos) == []
    assert [path.stat().st_mtime_ns for path in cache.resolve(photos)] == stamps
    assert cache.manifest_path.read_bytes() == manifest


def test_a_changed_source_invalidates_only_its_own_entry(photos, cache):
    cache.build(photos, workers=1, progress=False)
    photo(photos[0], (220, 150), seed=7)  # new content and size
    stat = photos[1].stat()
    os.utime(photos[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched only
    assert cache.stale(photos) == photos[:2]
    resolved = cache.resolve(photos)
    assert resolved[:2] == photos[:2] and all(path.is_relative_to(cache.folder) for path in resolved[2:])
    untouched = [path.stat().st_mtime_ns for path in resolved[2:]]
    summary = cache.build(photos, workers=1, progress=False)
    assert (summary.written, summary.fresh) == (2, 2)
    assert [path.stat().st_mtime_ns for path in cache.resolve(photos)[2:]] == untouched
    with Image.open(cache.resolve(photos)[0]) as image:
        assert image.size == (round(220 * 64 / 150), 64)


def test_hard_links_share_one_cached_copy(photos, cache, tmp_path):
    # A full split made with --link gives AwA2's files a second name; 01-04 read the split, 05 reads JPEGImages.
    split = tmp_path / "split" / "train"
    links = []
    for source in photos:
        link = split / source.parent.name / source.name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, link)
        links.append(link)

    first = cache.build(photos, workers=1, progress=False)
    second = cache.build(links, workers=1, progress=False)

    assert (first.written, second.written, second.fresh) == (4, 0, 4)
    assert cache.resolve(links) == cache.resolve(photos)
    assert all(path.is_relative_to(cache.folder / "files" / "inode") for path in cache.resolve(links))
    photo(photos[0], (220, 150), seed=7)  # rewritten in place: both names see the change
    assert cache.stale(links) == links[:1] and cache.resolve(links)[0] == links[0]


def test_another_side_is_another_cache(photos, cache, tmp_path):
    cache.build(photos, workers=1, progress=False)
    other = ImageCache(tmp_path / "cache", shorter_side=48)
    assert other.resolve(photos) == photos and other.stale(photos) == photos
    assert other.build(photos, workers=1, progress=False).written == 4
    with Image.open(other.resolve(photos)[0]) as image:
        assert min(image.size) == 48


def test_a_missing_cached_file_or_a_foreign_manifest_reads_the_source(photos, cache):
    cache.build(photos, workers=1, progress=False)
    cache.resolve(photos)[2].unlink()
    assert cache.resolve(photos)[2] == photos[2] and cache.stale(photos) == [photos[2]]
    data = json.loads(cache.manifest_path.read_text())
    cache.manifest_path.write_text(json.dumps({**data, "version": 999}))
    assert cache.resolve(photos) == photos


def test_never_upscales(tmp_path, cache):
    small = [photo(tmp_path / "small" / "a.jpg", (50, 40)), photo(tmp_path / "small" / "b.jpg", (64, 90), seed=1)]
    summary = cache.build(small, workers=1, progress=False)
    assert (summary.written, summary.small) == (0, 2)
    assert cache.resolve(small) == small
    assert not (cache.folder / "files").exists()
    assert cache.build(small, workers=1, progress=False).fresh == 2  # recorded: not opened again


def test_an_interrupted_build_leaves_nothing_that_resolve_returns(photos, cache, monkeypatch):
    real_replace, calls = os.replace, []

    def replace_then_fail(source, target):
        calls.append(target)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the build killed while the third file is being renamed into place
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    with pytest.raises(KeyboardInterrupt):
        cache.build(photos, workers=1, progress=False)
    monkeypatch.setattr(os, "replace", real_replace)
    assert no_partial_files(cache.root)
    resolved = cache.resolve(photos)
    assert all(path.is_relative_to(cache.folder) for path in resolved[:2])  # finished ones were recorded
    assert resolved[2:] == photos[2:]
    # A file written without its manifest entry (killed between the two) is not trusted either.
    stray = cache.cached_path(photos[3])
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"half")
    assert cache.resolve(photos)[3] == photos[3]
    summary = cache.build(photos, workers=1, progress=False)
    assert (summary.written, summary.fresh) == (2, 2)
    with Image.open(cache.resolve(photos)[3]) as image:
        assert min(image.size) == 64


def test_an_undecodable_image_is_reported_and_read_from_its_source(photos, cache, tmp_path):
    broken = tmp_path / "data" / "class0" / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    summary = cache.build([*photos, broken], workers=2, progress=False)
    assert summary.written == 4 and [source for source, _ in summary.failed] == [str(broken.resolve())]
    assert cache.resolve([broken]) == [broken]
    assert no_partial_files(cache.root)


def test_image_files_read_the_cached_files(photos, cache, monkeypatch):
    cache.build(photos, workers=1, progress=False)  # ImageFiles would build it too; here the spy sees reads only
    opened = []
    real_open = training_images.Image.open
    monkeypatch.setattr(training_images.Image, "open", lambda path, *a, **k: opened.append(Path(path)) or real_open(path, *a, **k))
    for preload in (True, False):
        opened.clear()
        images = ImageFiles(photos, np.arange(4), 32, image_cache=cache, preload=preload)
        batch = torch.stack([images[index][0] for index in range(4)])
        assert images.paths == photos and images.read_paths == cache.resolve(photos)
        assert opened and all(path.is_relative_to(cache.folder) for path in opened)
        expected = np.stack([read_image(path, 32) for path in cache.resolve(photos)])
        assert torch.equal(batch, torch.from_numpy(expected))


def test_the_stage_function_follows_the_config(photos, tmp_path):
    off = AttributeZslConfig.for_profile("smoke", outputs=tmp_path)
    assert image_cache_for(off) is None and cached_image_paths(photos, off) == photos
    on = dataclasses.replace(off, image_cache=True, cache_side=64)
    with contextlib.redirect_stderr(io.StringIO()):
        read = cached_image_paths(photos, on, progress=False)
    assert all(path.is_relative_to(tmp_path / "image_cache" / "smoke" / "side64") for path in read)
    elsewhere = dataclasses.replace(on, cache_root=tmp_path / "elsewhere")
    assert image_cache_for(elsewhere).folder == tmp_path / "elsewhere" / "side64"
    with pytest.raises(ConfigError, match=r"AttributeZslConfig\.cache_side = 0"):
        image_cache_for(dataclasses.replace(on, cache_side=0))


def test_profiles_turn_the_cache_on_in_full_only():
    for config_class in (AttributeZslConfig, SdlConfig, DeviseConfig):
        assert config_class.for_profile("full").image_cache and config_class.for_profile("full").cache_side == 256
        assert not config_class.for_profile("sample").image_cache and not config_class.for_profile("smoke").image_cache
    assert AttributeZslConfig.for_profile("full").mixed_precision and SdlConfig.for_profile("full").mixed_precision
    assert not AttributeZslConfig.for_profile("sample").mixed_precision


def test_the_cache_and_mixed_precision_shape_the_attribute_network_but_the_cache_folder_does_not(tmp_path, capsys):
    checkpoint = tmp_path / "attribute_network" / "model.pt"
    base = AttributeZslConfig.for_profile("smoke", outputs=tmp_path)

    def trains(**changes) -> bool:
        config = dataclasses.replace(base, **changes)
        return fit_or_load(torch.nn.Linear(3, 2), checkpoint, config, "attribute_network", lambda: None).trained

    assert trains() and not trains()
    assert trains(image_cache=True)  # the cached pixels differ slightly from a resize of the original
    assert not trains(image_cache=True, cache_root=tmp_path / "elsewhere")
    assert trains(image_cache=True, cache_side=48)
    assert trains(mixed_precision=True)
    assert "cache_side 256 → 48" in capsys.readouterr().out


def test_devise_dataloaders_read_the_cache(tmp_path):
    class_names = ["zebra", "antelope", "bat"]
    items = [item for item in folder_items(SAMPLE_IMAGES, class_names) if item[0].stem.endswith(("10001", "10002"))]
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, image_cache=True, cache_side=40)
    with contextlib.redirect_stderr(io.StringIO()):
        dls = image_dataloaders(items[:4], items[4:], class_names, config)
    folder = tmp_path / "image_cache" / "smoke" / "side40"
    assert all(Path(path).is_relative_to(folder) for path, _ in dls.train.items + dls.valid.items)
    assert [label for _, label in dls.train.items] == [label for _, label in items[:4]]
    assert dls.image_cache.folder == folder
    opened = []

    class Spy(torch.nn.Module):
        def forward(self, batch):
            opened.append(batch.shape)
            return batch.mean(dim=(2, 3))

    class FakeLearn:
        def __init__(self):
            self.dls, self.model = dls, Spy()

        def no_bar(self):
            return contextlib.nullcontext()

        def get_preds(self, dl):
            assert all(Path(path).is_relative_to(folder) for path in dl.items)
            return torch.zeros(len(dl.items), 3), None

    assert embed_paths(FakeLearn(), [path for path, _ in items[4:]]).shape == (len(items) - 4, 3)
    without = image_dataloaders(items[:4], items[4:], class_names, dataclasses.replace(config, image_cache=False))
    assert [path for path, _ in without.train.items] == [path for path, _ in items[:4]]


def test_loader_workers_come_from_the_cores_on_cuda_only(monkeypatch):
    monkeypatch.delenv("ZSL_LOADER_WORKERS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(12)), raising=False)
    assert loader_workers("cpu") == 0 and loader_workers(torch.device("cpu")) == 0
    assert loader_workers("cuda") == 8 and loader_workers("cuda:0", decoding=False) == 0
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert loader_workers("cuda") == 2
    assert loader_options("cuda") == {"num_workers": 2, "pin_memory": True, "persistent_workers": True}
    assert loader_options("cpu") == {"num_workers": 0, "pin_memory": False}
    monkeypatch.setenv("ZSL_LOADER_WORKERS", "3")
    assert loader_workers("cpu") == 3
    monkeypatch.setenv("ZSL_LOADER_WORKERS", "many")
    with pytest.raises(ConfigError, match="ZSL_LOADER_WORKERS"):
        loader_workers("cpu")


def test_the_cli_builds_a_folder_and_names_a_missing_one(photos, tmp_path, capsys, monkeypatch):
    root, folder = tmp_path / "cli_cache", tmp_path / "data"
    assert main(["--folder", str(folder), "--side", "64", "--root", str(root), "--dry-run"]) == 0
    assert "4 to process" in capsys.readouterr().out and not root.exists()
    assert main(["--folder", str(folder), "--side", "64", "--root", str(root), "--no-progress", "--workers", "2"]) == 0
    assert "4 written" in capsys.readouterr().out
    assert all(path.is_relative_to(root) for path in ImageCache(root, 64).resolve(photos))
    assert main(["build", "--folder", str(folder), "--side", "64", "--root", str(root), "--no-progress"]) == 0
    assert "0 to process" in capsys.readouterr().out

    missing = tmp_path / "nowhere"
    assert main(["--folder", str(missing), "--root", str(root)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and str(missing) in error[0] and error[0].startswith("error:")
    monkeypatch.setenv("ZSL_DATA_DIR", str(missing))
    assert main(["--profile", "full", "--root", str(root)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and str(missing / "Animals_with_Attributes2" / "JPEGImages") in error[0]
    assert main(["--side", "0"]) == 2 and "--side" in capsys.readouterr().err


@pytest.mark.slow
def test_same_seed_results_move_no_more_than_noise_with_the_cache(tmp_path):
    """SDL on the sample world's scenes (96 px, trained at 32): with a 40-pixel cache vs without, over three seeds.

    Measured (6 epochs, seeds 0-3): ZSL mAP 0.236-0.268 without the cache, cache minus no-cache -0.005 to +0.027
    per seed; GZSL 0.126-0.143, -0.009 to +0.015: the same size as the seed-to-seed spread.
    """
    from utils.stages.sdl import embedding_matrices, evaluate, load_problem, trained_sdl_model

    def figures(seed: int, cache: bool) -> dict[str, float]:
        overrides = {"outputs": tmp_path / f"{seed}-{cache}", "seed": seed, "epochs": 6, "verbose": False}
        if cache:
            overrides.update(image_cache=True, cache_side=40)
        config = SdlConfig.for_profile("smoke", **overrides)
        problem = load_problem(config)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            model, _, _ = trained_sdl_model(problem, config)
            matrices = embedding_matrices(model, [problem.image_paths[i] for i in problem.test_indices],
                                          config.image_size, image_cache=image_cache_for(config))
        if cache:  # a seed other than 0 has folders of its own (smoke-seed1, ...)
            assert len(list(image_cache_for(config).folder.rglob("*.jpg"))) > 0
            assert image_cache_for(config).folder.parent.name == config.run_label
        return {setting: values["mAP"] for setting, values in evaluate(problem, matrices).items()}

    without = [figures(seed, False) for seed in range(3)]
    with_cache = [figures(seed, True) for seed in range(3)]
    for setting in ("ZSL", "GZSL"):
        plain, cached = np.mean([row[setting] for row in without]), np.mean([row[setting] for row in with_cache])
        spread = np.ptp([row[setting] for row in without])
        assert abs(cached - plain) <= max(0.03, spread), (setting, plain, cached, spread)
        assert min(row[setting] for row in with_cache) > 0.5 * plain
