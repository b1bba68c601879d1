"""Bad input that used to get an unclear answer: each now gets one line naming the file or setting, exit 2 where it is
a command (run as a shell runs it), and nothing is lost.

A stale or truncated image-cache entry, a ``--link`` split that could edit the data set, a class name with a space,
a hostile settings record beside a checkpoint, an extracted file deleted after ``--remove-archive``, an unbalanced
quote in ``ZSL_PIP_OPTIONS``, and more validation classes than seen classes (``--images`` for ``.jpg`` files that
are not images: ``test_wrong_data.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from tests.utils.splits._fake_awa2 import make_fake_awa2, snapshot
from utils.errors import ConfigError, PathError

REPOSITORY = Path(__file__).resolve().parents[2]
SAMPLE_IMAGE = REPOSITORY / "data_samples" / "awa2" / "JPEGImages" / "zebra" / "zebra_10001.jpg"


def run_command(module: str, *arguments: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, arguments)], cwd=REPOSITORY, capture_output=True, text=True,
        timeout=300, env={**os.environ, "ZSL_DEVICE": "cpu", **(env or {})},
    )


def error_line(result: subprocess.CompletedProcess, *expected: str) -> str:
    """Exit 2 and one stderr line ``error: ...`` holding every ``expected``."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def photo(path: Path, size: tuple[int, int] = (320, 240), seed: int = 0) -> Path:
    """A JPEG larger than the cache's side, with seeded noise so that two seeds give two pictures."""
    with Image.open(SAMPLE_IMAGE) as image:
        pixels = np.asarray(image.convert("RGB").resize(size), dtype=np.int16)
    noise = np.random.default_rng(seed).integers(-40, 41, pixels.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


# ------------------------------------------------------------------------------------------- 1. image cache


def test_a_cache_file_truncated_after_the_build_is_stale_and_a_decode_error_names_the_file(tmp_path):
    from utils.training.image_cache import ImageCache
    from utils.training.images import read_image

    source = photo(tmp_path / "images" / "a.jpg")
    cache = ImageCache(tmp_path / "cache", shorter_side=64)
    cache.build([source], workers=1, progress=False)
    cached = cache.resolve([source])[0]
    assert cached != source
    cached.write_bytes(cached.read_bytes()[: cached.stat().st_size // 2])

    assert cache.resolve([source]) == [source]  # read from the source, not the half file
    assert cache.build([source], workers=1, progress=False).written == 1
    assert read_image(cache.resolve([source])[0], 32).shape == (3, 32, 32)

    cached.write_bytes(cached.read_bytes()[: cached.stat().st_size // 2])
    with pytest.raises(PathError) as caught:
        read_image(cached, 32)  # what a reader that skipped the check would meet
    assert str(cached) in str(caught.value) and "truncated" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_source_replaced_with_its_size_and_mtime_restored_is_never_served_stale(tmp_path):
    from utils.training.image_cache import ImageCache

    source = photo(tmp_path / "images" / "a.jpg", seed=1)
    cache = ImageCache(tmp_path / "cache", shorter_side=64)
    cache.build([source], workers=1, progress=False)
    before = np.asarray(Image.open(cache.resolve([source])[0]))

    with Image.open(photo(tmp_path / "other.jpg", seed=2)) as image:
        image.save(tmp_path / "smaller.jpg", quality=40)
    replacement = (tmp_path / "smaller.jpg").read_bytes()
    assert len(replacement) < source.stat().st_size
    replacement = replacement.ljust(source.stat().st_size, b"\0")  # the same size: decoders ignore bytes after EOI
    stat = source.stat()
    source.write_bytes(replacement)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (source.stat().st_size, source.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)

    assert cache.resolve([source]) == [source]
    assert cache.build([source], workers=1, progress=False).written == 1
    assert not np.array_equal(np.asarray(Image.open(cache.resolve([source])[0])), before)


def test_a_source_whose_stat_changed_but_not_its_bytes_stays_cached_and_is_restamped(tmp_path):
    from utils.training.image_cache import ImageCache

    source = photo(tmp_path / "images" / "a.jpg")
    cache = ImageCache(tmp_path / "cache", shorter_side=64)
    cache.build([source], workers=1, progress=False)
    cached = cache.resolve([source])
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns))  # a new ctime, the same bytes

    assert cache.resolve([source]) == cached
    summary = cache.build([source], workers=1, progress=False)
    assert (summary.written, summary.fresh) == (0, 1)
    assert cache._entry_state(source, cache.manifest())[2] is False  # the new stat is recorded: no hash next time


# ------------------------------------------------------------------------------------------- 2. --link


def test_link_mode_never_makes_a_writable_link_unless_asked_and_says_what_it_did(tmp_path):
    awa2 = make_fake_awa2(tmp_path / "AwA2", ["antelope", "beaver"], ["zebra"], images_per_class=2)
    before = snapshot(awa2)

    result = run_command("utils.splits.copy_awa2", awa2, tmp_path / "safe", "--link", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "6 image(s) of" in result.stdout and "are writable, so they are copied, not linked" in result.stdout
    assert "--writable-links" in result.stdout
    split_image = tmp_path / "safe" / "train" / "antelope" / "antelope_10001.jpg"
    split_image.write_bytes(b"edited through the split")
    assert snapshot(awa2) == before

    for image in (awa2 / "JPEGImages").rglob("*.jpg"):
        image.chmod(0o444)
    result = run_command("utils.splits.copy_awa2", awa2, tmp_path / "read-only", "--link", "--quiet")
    assert "6 image(s) are hard links of" in result.stdout and "read-only in the split too" in result.stdout
    assert not os.stat(tmp_path / "read-only" / "train" / "beaver" / "beaver_10001.jpg").st_mode & 0o222

    for image in (awa2 / "JPEGImages").rglob("*.jpg"):
        image.chmod(0o644)
    result = run_command("utils.splits.copy_awa2", awa2, tmp_path / "asked", "--link", "--writable-links", "--quiet")
    assert "editing one through the split edits the data set's image" in result.stdout
    assert (tmp_path / "asked" / "test" / "zebra" / "zebra_10001.jpg").stat().st_nlink == 3
    assert snapshot(awa2) == before

    result = run_command("utils.splits.copy_awa2", awa2, tmp_path / "x", "--writable-links")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "--writable-links applies only with --link" in result.stderr and not (tmp_path / "x").exists()


# ------------------------------------------------------------------------------------------- 3. class names


def test_a_class_name_with_a_space_is_read_whole_and_the_plus_spelling_is_suggested(tmp_path):
    from utils.datasets import read_class_list

    awa2 = make_fake_awa2(tmp_path / "AwA2", ["polar+bear", "beaver"], ["zebra"], images_per_class=1)
    (awa2 / "trainclasses.txt").write_text("polar bear\nbeaver\n")
    (tmp_path / "ids.txt").write_text("    1\tpolar bear\n")
    assert read_class_list(awa2 / "trainclasses.txt") == ["polar bear", "beaver"]
    assert read_class_list(tmp_path / "ids.txt") == ["polar bear"]

    error_line(
        run_command("utils.splits.copy_awa2", awa2, tmp_path / "split", "--quiet"),
        "class 'polar bear' is listed but has no folder", "did you mean 'polar+bear'?",
    )
    assert not (tmp_path / "split").exists()
    with pytest.raises(PathError, match=r"unknown class 'polar bear'; did you mean 'polar\+bear'\?"):
        read_class_list(awa2 / "trainclasses.txt", known_classes=["polar+bear", "beaver"])


# ------------------------------------------------------------------------------------------- 4. settings record


@pytest.mark.parametrize("hostile", ["deep", "deep settings", "settings a list", "binary"])
def test_a_hostile_settings_record_beside_a_checkpoint_is_one_line_naming_it(tmp_path, hostile, capsys):
    from utils.training.checkpoints import decide, metadata_path, record

    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"weights")
    record(checkpoint, {"epochs": 1})
    path = metadata_path(checkpoint)
    recorded = json.loads(path.read_text())
    if hostile == "deep":
        path.write_text("[" * 200_000 + "]" * 200_000)
    elif hostile == "deep settings":
        settings = '{"epochs": ' + "[" * 990 + "1" + "]" * 990 + "}"  # parses; too deep to compare
        path.write_text(json.dumps({**recorded, "settings": None}).replace("null", settings))
    elif hostile == "settings a list":
        path.write_text(json.dumps({**recorded, "settings": [1, 2]}))
    else:
        path.write_bytes(b"\xff\xfe\x00garbage")

    decision = decide(checkpoint, {"epochs": 1})
    line = capsys.readouterr().out.strip()
    assert decision.trained and "\n" not in line
    assert f"the settings record {path}" in line or "the settings record model.json" in line, line
    assert checkpoint.read_bytes() == b"weights"


# ------------------------------------------------------------------------------------------- 5. download


def test_download_is_not_ready_when_an_extracted_file_was_deleted_after_the_archive_was_removed(tmp_path):
    from utils import download

    data = tmp_path / "data"
    data.mkdir()
    archive = data / "xlsa17.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("xlsa17/data/AWA2/att_splits.mat", b"attributes")
        bundle.writestr("xlsa17/data/AWA2/res101.mat", b"features")
    download.extract_archive(archive, data, progress=False)
    assert download.remove_archive(archive, data, progress=False)
    assert run_command("utils.download", "xlsa17", "--dest", data, "--quiet").returncode == 0

    missing = data / "xlsa17" / "data" / "AWA2" / "res101.mat"
    missing.unlink()
    result = run_command("utils.download", "xlsa17", "--dest", data, "--quiet")
    error_line(result, str(missing), "is missing", "--remove-archive",
               str(download.extraction_marker(archive)), "python -m utils.download xlsa17")
    assert "xlsa17: ready in" not in result.stdout
    assert (data / "xlsa17" / "data" / "AWA2" / "att_splits.mat").read_bytes() == b"attributes"
    assert "would stop and say so" in run_command("utils.download", "xlsa17", "--dest", data, "--dry-run").stdout


# ------------------------------------------------------------------------------------------- 6. ZSL_PIP_OPTIONS


def test_an_unbalanced_quote_in_zsl_pip_options_names_the_variable_before_anything_is_cloned(tmp_path, monkeypatch):
    from utils.runtime import bootstrap

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setenv("ZSL_PIP_OPTIONS", '--report "my report.json')
    clone = tmp_path / "clone"
    with pytest.raises(ConfigError) as caught:
        bootstrap(repo_url=str(tmp_path / "no-such-remote"), clone_dir=clone)
    text = str(caught.value)
    assert text.startswith("ZSL_PIP_OPTIONS='--report \"my report.json'") and "no closing quotation" in text
    assert "\n" not in text and not clone.exists()


# ------------------------------------------------------------------------------------------- 7. validation classes


def test_more_validation_classes_than_seen_classes_names_the_setting_and_the_counts(tmp_path):
    builders = types.ModuleType("builders")
    exec((REPOSITORY / "tests" / "utils" / "datasets" / "conftest.py").read_text(), builders.__dict__)
    folder = tmp_path / "xlsa17" / "TOY"
    folder.mkdir(parents=True)
    builders.write_att_splits(folder / "att_splits.mat", train_loc=None, val_loc=None)  # no clean pair to use
    builders.write_res101(folder / "res101.mat")
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert scipy.io.loadmat(folder / "att_splits.mat").get("train_loc") is None

    error_line(
        run_command("utils.stages.attribute_zsl", "--profile", "smoke", "--xlsa17-dir", folder),
        "n_validation_classes = ", "only 2 seen classes", "choose at most 1", "valclasses1.txt",
    )
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
