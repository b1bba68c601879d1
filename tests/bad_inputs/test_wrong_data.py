"""Data that is there but wrong: non-finite values in xlsa17 files, unreadable AwA2 images, AwA2 folders
missing a file. Each case runs ``python -m utils.datasets check ...`` as a shell does (exit status, one
stderr line naming the file and the problem) or calls the loader."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from utils.datasets import load_att_splits, load_awa2, load_res101
from utils.errors import DatasetFormatError, MissingDataError

REPOSITORY = Path(__file__).resolve().parents[2]
SAMPLE_AWA2 = REPOSITORY / "data_samples" / "awa2"


def _load_builders():
    """The small real-format writers of ``tests/utils/datasets/conftest.py``, imported by path."""
    spec = importlib.util.spec_from_file_location(
        "datasets_test_builders", REPOSITORY / "tests" / "utils" / "datasets" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builders = _load_builders()


def run_check(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "utils.datasets", "check", *map(str, arguments)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], path: Path, *expected: str) -> str:
    """Exit 2, nothing on stdout, one stderr line ``error: PATH: ...`` holding every ``expected``."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    line = result.stderr.strip()
    assert line.startswith(f"error: {path}"), line
    for text in expected:
        assert text in line, (text, line)
    return line


# ---------------------------------------------------------------------- xlsa17: non-finite values


def write_att_splits_with(path: Path, key: str, position: tuple[int, int], value: float) -> None:
    original = np.array([[10.0, 80.0, -1.0, 5.0], [50.0, 0.0, 20.0, 100.0], [30.0, 30.0, 90.0, 45.0]])
    att = np.where(original < 0, 0.0, original)
    att = att / np.linalg.norm(att, axis=0, keepdims=True)
    changed = {"att": att, "original_att": original}[key].copy()
    changed[position] = value
    builders.write_att_splits(path, **{key: changed})


def test_nan_in_att_is_rejected_by_loader_and_check(tmp_path: Path) -> None:
    path = tmp_path / "att_splits.mat"
    write_att_splits_with(path, "att", (1, 2), np.nan)
    with pytest.raises(DatasetFormatError, match=r"key 'att' has 1 of 12 values that are not finite \(1 NaN"):
        load_att_splits(path)
    assert_one_error_line(
        run_check(path), path, "key 'att'", "1 of 12 values that are not finite", "first at row 2, column 3"
    )


def test_inf_in_att_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "att_splits.mat"
    write_att_splits_with(path, "att", (0, 0), -np.inf)
    assert_one_error_line(run_check(path), path, "key 'att'", "1 of 12 values", "0 NaN, 1 inf")


def test_nan_in_original_att_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "att_splits.mat"
    write_att_splits_with(path, "original_att", (2, 3), np.nan)
    with pytest.raises(
        DatasetFormatError, match=r"key 'original_att' has 1 of 12 values that are not finite"
    ):
        load_att_splits(path)
    assert_one_error_line(run_check(path), path, "key 'original_att'", "1 NaN", "missing values must be -1")


def write_res101_with_nan(path: Path, n_nan: int) -> None:
    builders.write_res101(path)
    contents = scipy.io.loadmat(str(path))
    features = contents["features"].copy()  # (feature_dim 6, 12 images)
    features.flat[5 : 5 + n_nan] = np.nan
    contents["features"] = features
    scipy.io.savemat(path, {key: value for key, value in contents.items() if not key.startswith("__")})


def test_nan_features_in_res101_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "res101.mat"
    write_res101_with_nan(path, n_nan=3)
    with pytest.raises(DatasetFormatError, match=r"key 'features' has 3 of 72 values that are not finite"):
        load_res101(path)
    # Stored (6, 12): flat position 5 is row 1, column 6.
    assert_one_error_line(run_check(path), path, "key 'features'", "3 NaN, 0 inf", "first at row 1, column 6")


def test_nan_features_are_rejected_in_an_xlsa17_folder(xlsa17_folder_with_nan: Path) -> None:
    res101 = xlsa17_folder_with_nan / "res101.mat"
    assert_one_error_line(run_check(xlsa17_folder_with_nan), res101, "key 'features' has 1 of 72 values")


@pytest.fixture
def xlsa17_folder_with_nan(tmp_path: Path) -> Path:
    folder = tmp_path / "xlsa17" / "TOY"
    folder.mkdir(parents=True)
    builders.write_att_splits(folder / "att_splits.mat")
    write_res101_with_nan(folder / "res101.mat", n_nan=1)
    return folder


def test_float64_features_beyond_float32_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "res101.mat"
    builders.write_res101(path)
    contents = {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}
    contents["features"][0, 0] = 1e300  # finite as float64, inf once converted to float32
    scipy.io.savemat(path, contents)
    with pytest.raises(DatasetFormatError, match=r"0 NaN, 1 inf.*after conversion to float32"):
        load_res101(path)


# ------------------------------------------------------------------------------ AwA2: images


def write_jpeg(path: Path, seed: int) -> None:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG", quality=90)


@pytest.fixture
def awa2_folder(tmp_path: Path) -> Path:
    """A small AwA2 folder (5 classes, 5 attributes) whose 12 images are real JPEGs."""
    root = tmp_path / "awa2"
    root.mkdir()
    builders.write_id_name_file(root / "classes.txt", builders.AWA2_CLASSES)
    builders.write_id_name_file(root / "predicates.txt", builders.AWA2_ATTRIBUTES)
    continuous = np.round(np.random.default_rng(0).uniform(0, 100, size=(5, 5)), 2)
    builders.write_matrix(root / "predicate-matrix-continuous.txt", continuous, "{:7.2f}")
    builders.write_matrix(root / "predicate-matrix-binary.txt", (continuous > 50).astype(int), "{}")
    (root / "trainclasses.txt").write_text("\n".join(builders.AWA2_SEEN) + "\n")
    (root / "testclasses.txt").write_text("\n".join(builders.AWA2_UNSEEN) + "\n")
    for class_index, name in enumerate(builders.AWA2_CLASSES):
        folder = root / "JPEGImages" / name
        folder.mkdir(parents=True)
        for image_id in range(10001, 10003 + (class_index % 2)):
            write_jpeg(folder / f"{name}_{image_id}.jpg", seed=image_id + class_index)
    return root


def test_good_small_awa2_folder_passes_with_images(awa2_folder: Path) -> None:
    result = run_check(awa2_folder, "--images", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["images_checked"] == 12 and summary["images"]["all"] == 12


def test_text_as_jpg_is_unreadable_with_images(awa2_folder: Path) -> None:
    bad = awa2_folder / "JPEGImages" / "zebra" / "zebra_10001.jpg"
    bad.write_text("<html>404 Not Found</html>\n")
    line = assert_one_error_line(
        run_check(awa2_folder, "--images"),
        awa2_folder / "JPEGImages",
        "1 of 12 images are unreadable",
        f"{bad} (not an image: it starts with b'<html>40', the start of no image format)",
    )
    assert "\n" not in line
    # Without --images its first bytes are read (no decoding): text begins no image format.
    assert_one_error_line(
        run_check(awa2_folder),
        awa2_folder / "JPEGImages",
        "1 of 12 images are empty or not images (run with --images to decode every image)",
        f"{bad} (not an image: it starts with b'<html>40', the start of no image format)",
    )


def test_empty_jpg_is_reported_without_images(awa2_folder: Path) -> None:
    bad = awa2_folder / "JPEGImages" / "seal" / "seal_10002.jpg"
    bad.write_bytes(b"")
    assert_one_error_line(
        run_check(awa2_folder),
        awa2_folder / "JPEGImages",
        "1 of 12 images are empty or not images",
        "run with --images",
        f"{bad} (empty file (0 bytes))",
    )


def test_truncated_jpg_is_unreadable_with_images(awa2_folder: Path) -> None:
    bad = awa2_folder / "JPEGImages" / "antelope" / "antelope_10001.jpg"
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    assert_one_error_line(
        run_check(awa2_folder, "--images"), awa2_folder / "JPEGImages", "1 of 12", str(bad), "truncated"
    )


def test_many_unreadable_images_name_the_first_three(awa2_folder: Path) -> None:
    for path in sorted((awa2_folder / "JPEGImages").rglob("*.jpg"))[:5]:
        path.write_bytes(b"\xff\xd8\xff\xd9")
    line = assert_one_error_line(
        run_check(awa2_folder, "--images"), awa2_folder / "JPEGImages", "5 of 12 images", "and 2 more"
    )
    assert line.count("(not an image Pillow can identify)") == 3


def test_images_option_on_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "att_splits.mat"
    builders.write_att_splits(path)
    assert_one_error_line(run_check(path, "--images"), path, "--images applies only to an AwA2 folder")


# --------------------------------------------------------------------- AwA2: a required file missing


@pytest.mark.parametrize(
    "missing", ["classes.txt", "predicates.txt", "predicate-matrix-binary.txt", "testclasses.txt"]
)
def test_awa2_folder_without_a_required_file_says_which(awa2_folder: Path, missing: str) -> None:
    (awa2_folder / missing).unlink()
    assert_one_error_line(run_check(awa2_folder), awa2_folder, f"AwA2 folder: {missing} missing")
    with pytest.raises(DatasetFormatError) as caught:
        load_awa2(awa2_folder)
    assert str(caught.value) == f"{awa2_folder}: AwA2 folder: {missing} missing"
    assert not isinstance(caught.value, MissingDataError)


def test_folder_with_only_jpegimages_names_every_missing_file(tmp_path: Path) -> None:
    root = tmp_path / "Animals_with_Attributes2"
    (root / "JPEGImages" / "zebra").mkdir(parents=True)
    assert_one_error_line(
        run_check(root),
        root,
        "AwA2 folder: classes.txt, predicates.txt, predicate-matrix-binary.txt, "
        "predicate-matrix-continuous.txt, trainclasses.txt, testclasses.txt missing",
    )


# ------------------------------------------------------------------------- the good sample world


def test_sample_world_passes_with_images() -> None:
    result = run_check(SAMPLE_AWA2, "--images", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["format"] == "awa2"
    assert summary["images_checked"] == 3000 == summary["images"]["all"]
