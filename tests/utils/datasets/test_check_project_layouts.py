"""``check`` accepts what the project itself produces: the xlsa17 download, NUS-WIDE's layout, FLO's splits file.

Each layout is built in the exact real format in ``tmp_path`` (and, where the reference data is there,
from the real files), then checked in-process and through ``python -m utils.datasets check`` as a
shell calls it.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from tests.utils.datasets.conftest import (
    NUSWIDE_ROWS,
    NUSWIDE_TAGS,
    write_att_splits,
    write_nuswide,
    write_nuswide_labels,
)
from utils.datasets import load_att_splits, load_nuswide
from utils.datasets.check import main
from utils.datasets.xlsa17 import find_xlsa17_datasets, generated_class_names
from utils.errors import DatasetFormatError


def _check_json(capsys: pytest.CaptureFixture[str], *arguments: str) -> dict:
    assert main(["check", *arguments, "--json"]) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert captured.err == ""
    return json.loads(captured.out)


def _check_fails(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    assert main(["check", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    return captured.err


def _run_cli(repo_root: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "utils.datasets", "check", *arguments],
        cwd=repo_root,
        env=dict(os.environ, PYTHONPATH=str(repo_root)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _assert_one_error_line(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr, (text, result.stderr)


# ------------------------------------------------------------------------------- the xlsa17 download


def test_xlsa17_download_is_found_at_every_level(xlsa17_download: Path) -> None:
    data = xlsa17_download / "data"
    expected = {"AWA2": data / "AWA2", "CUB": data / "CUB", "FLO": data / "FLO"}
    assert find_xlsa17_datasets(xlsa17_download) == expected
    assert find_xlsa17_datasets(data) == expected
    assert find_xlsa17_datasets(data / "AWA2") == {"AWA2": data / "AWA2"}
    empty = xlsa17_download.parent / "empty"
    empty.mkdir()
    with pytest.raises(DatasetFormatError, match="no xlsa17 data set folder"):
        find_xlsa17_datasets(empty)


def test_check_xlsa17_download_summarises_each_data_set(
    xlsa17_download: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in (xlsa17_download, xlsa17_download / "data"):
        summary = _check_json(capsys, str(path))
        assert summary["format"] == "xlsa17-collection" and summary["n_datasets"] == 3
        assert list(summary["datasets"]) == ["AWA2", "CUB", "FLO"]
        for name, entry in summary["datasets"].items():
            assert entry["path"] == str(xlsa17_download / "data" / name)
            assert (entry["classes"], entry["attributes"], entry["res101_images"], entry["feature_dim"]) == (
                4,
                3,
                12,
                6,
            )
            assert (entry["seen_classes"], entry["unseen_classes"]) == (2, 2)
            assert entry["images"] == {"trainval": 6, "test_seen": 2, "test_unseen": 4, "train": 3, "val": 3}
            assert entry["features_checked"] is False
            assert entry["class_names_generated"] is (name == "FLO")
        assert "class_001 .. class_004" in summary["datasets"]["FLO"]["class_names_note"]
    one = _check_json(capsys, str(xlsa17_download / "data" / "AWA2"))
    assert one["format"] == "xlsa17" and one["features_checked"] is True and one["seen_classes"] == 2


def test_check_xlsa17_download_names_the_broken_file(
    xlsa17_download: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = xlsa17_download / "data" / "CUB" / "att_splits.mat"
    write_att_splits(broken, test_seen_loc=np.array([[4], [9]], dtype=np.uint16))
    error = _check_fails(capsys, str(xlsa17_download))
    assert f"{broken}: keys 'test_seen_loc' and 'test_unseen_loc' share 1 images" in error


# ---------------------------------------------------------------------------------------- FLO


def test_flo_att_splits_without_class_names_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "FLO" / "att_splits.mat"
    path.parent.mkdir()
    write_att_splits(path, allclasses_names=None)
    assert "allclasses_names" not in {name for name, _, _ in scipy.io.whosmat(str(path))}
    splits = load_att_splits(path)
    assert splits.class_names == ["class_001", "class_002", "class_003", "class_004"]
    assert splits.class_names_generated is True and splits.attributes.shape == (4, 3)
    assert generated_class_names(102)[-1] == "class_102" and generated_class_names(1000)[0] == "class_0001"
    summary = _check_json(capsys, str(path))
    assert summary["format"] == "xlsa17-att-splits" and summary["class_names_generated"] is True
    assert "no 'allclasses_names'" in summary["class_names_note"]
    # A file with its names is unchanged.
    write_att_splits(path)
    assert load_att_splits(path).class_names_generated is False


def test_flo_att_splits_still_rejects_a_malformed_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "att_splits.mat"
    write_att_splits(path, allclasses_names=None, trainval_loc=np.array([[0], [2]], dtype=np.uint16))
    error = _check_fails(capsys, str(path))
    assert f"{path}: key 'trainval_loc' holds 0; images are 1-based" in error


# ------------------------------------------------------------------------------------ NUS-WIDE


def test_check_nuswide_finds_label_vectors_beside_it(
    nuswide_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = _check_json(capsys, str(nuswide_folder))
    assert summary["format"] == "nus-wide"
    assert summary["images"] == {"listed": 4, "train": 3, "test": 1, "missing": 0}
    assert summary["labels_checked"] is True
    assert summary["label_vectors"] == str(nuswide_folder.parent / "ZS_SDL" / "data" / "NUS_WIDE")
    assert (summary["labels"], summary["seen_labels"], summary["unseen_labels"]) == (6, 3, 3)
    assert summary["label_vector_dimensions"] == 300 and summary["tags_used"] == 5
    assert summary["images_with_unseen_labels"] == 2 and summary["mean_tags_per_image"] == 2.0
    assert "warnings" not in summary
    dataset = load_nuswide(nuswide_folder)
    assert dataset.label_matrix().sum() == 8 and dataset.image_paths[0].is_file()
    # The label-vector folder itself (named NUS_WIDE) is still read as label vectors.
    vectors = _check_json(capsys, summary["label_vectors"])
    assert vectors["format"] == "sdl-label-vectors" and vectors["labels"] == 6


def test_check_nuswide_counts_missing_images(
    nuswide_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for image, _, _ in NUSWIDE_ROWS[1:3]:
        (nuswide_folder / "images" / image).unlink()
    summary = _check_json(capsys, str(nuswide_folder))
    assert summary["images"]["missing"] == 2
    assert summary["missing_examples"] == [NUSWIDE_ROWS[1][0], NUSWIDE_ROWS[2][0]]
    assert "2 of 4 listed images are not under" in summary["warnings"][0]


def test_check_nuswide_without_or_with_given_label_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_nuswide(tmp_path / "data", label_vectors=False)
    summary = _check_json(capsys, str(folder))
    assert summary["labels_checked"] is False and summary["label_vectors"] is None
    assert "tags not checked" in summary["warnings"][0] and "--label-vectors" in summary["warnings"][0]
    elsewhere = write_nuswide(tmp_path / "other").parent / "ZS_SDL" / "data" / "NUS_WIDE"
    summary = _check_json(capsys, str(folder), "--label-vectors", str(elsewhere))
    assert summary["labels_checked"] is True and summary["label_vectors"] == str(elsewhere)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([*NUSWIDE_ROWS, ("0003/x.jpg", "sky unicorn", "test")], "line 6: unknown label 'unicorn'"),
        ([], "no images listed"),
        ([("0003/x.jpg", "sky", "validation")], "line 2: split 'validation' is not train or test"),
        ([("0003/x.jpg", "", "train")], "line 2: image '0003/x.jpg' has no labels"),
    ],
)
def test_check_nuswide_rejects_bad_labels_csv(
    nuswide_folder: Path, rows, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_nuswide_labels(nuswide_folder / "labels.csv", rows)
    error = _check_fails(capsys, str(nuswide_folder))
    assert f"{nuswide_folder / 'labels.csv'}: {expected}" in error


def test_check_nuswide_without_images_names_the_page(
    nuswide_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(nuswide_folder / "images")
    error = _check_fails(capsys, str(nuswide_folder))
    assert str(nuswide_folder / "images") in error and "nuswide/NUS-WIDE.html" in error
    (nuswide_folder / "images").mkdir()
    (nuswide_folder / "labels.csv").unlink()
    error = _check_fails(capsys, str(nuswide_folder))
    assert str(nuswide_folder / "labels.csv") in error and "not found" in error


def test_label_vectors_option_only_for_nuswide(
    scenes_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = _check_fails(capsys, str(scenes_folder), "--label-vectors", str(scenes_folder / "label_vectors"))
    assert "--label-vectors applies only to a NUS-WIDE folder" in error
    assert _check_json(capsys, str(scenes_folder))["format"] == "scenes"


# ----------------------------------------------------------------- through the shell, as a user runs it


def test_cli_accepts_the_project_layouts(
    repo_root: Path, xlsa17_download: Path, nuswide_folder: Path
) -> None:
    cases = {
        (str(xlsa17_download),): "xlsa17-collection",
        (str(xlsa17_download / "data"),): "xlsa17-collection",
        (str(xlsa17_download / "data" / "AWA2"),): "xlsa17",
        (str(xlsa17_download / "data" / "FLO" / "att_splits.mat"),): "xlsa17-att-splits",
        (str(nuswide_folder),): "nus-wide",
    }
    for arguments, expected_format in cases.items():
        result = _run_cli(repo_root, *arguments, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["format"] == expected_format
    human = _run_cli(repo_root, str(xlsa17_download))
    assert human.returncode == 0 and "format: xlsa17-collection" in human.stdout and "  FLO:" in human.stdout
    human = _run_cli(repo_root, str(nuswide_folder))
    assert (
        human.returncode == 0
        and "format: nus-wide" in human.stdout
        and "labels_checked: True" in human.stdout
    )


def test_cli_broken_variants_are_one_line(
    repo_root: Path, xlsa17_download: Path, nuswide_folder: Path
) -> None:
    flo = xlsa17_download / "data" / "FLO" / "att_splits.mat"
    write_att_splits(flo, allclasses_names=None, test_unseen_loc=np.array([[0]], dtype=np.uint16))
    _assert_one_error_line(_run_cli(repo_root, str(xlsa17_download)), str(flo), "1-based")
    write_nuswide_labels(nuswide_folder / "labels.csv", [("a.jpg", "sky unicorn", "train")])
    _assert_one_error_line(
        _run_cli(repo_root, str(nuswide_folder)),
        str(nuswide_folder / "labels.csv"),
        "unknown label 'unicorn'",
    )


# ---------------------------------------------------------------------- from the real reference files


def _reference(reference_data: Path, relative: str) -> Path:
    path = reference_data / relative
    if not path.exists():
        pytest.skip(f"{path} is not in the reference data")
    return path


def test_reference_xlsa17_download_tree(
    reference_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real AWA2 and AWA1 splits files in a download-shaped tree; AWA2's res101.mat has the real
    labels (from the image metadata) and 2-d synthetic features; FLO is AWA2's file without its names."""
    meta = np.load(_reference(reference_data, "xlsa17_image_meta/AWA2_image_meta.npz"))
    awa2_att = _reference(reference_data, "xlsa17/AWA2/att_splits.mat")
    data = tmp_path / "xlsa17" / "data"
    (data / "AWA2").mkdir(parents=True)
    shutil.copy(awa2_att, data / "AWA2" / "att_splits.mat")
    shutil.copy(_reference(reference_data, "xlsa17/AWA2/binaryAtt_splits.mat"), data / "AWA2")
    labels = meta["labels"].astype(np.int64)
    image_files = np.empty((labels.size, 1), dtype=object)
    image_files[:, 0] = list(meta["image_files"])
    scipy.io.savemat(
        data / "AWA2" / "res101.mat",
        {
            "features": np.stack([labels, np.arange(labels.size)]).astype(np.float64),
            "labels": (labels + 1).reshape(-1, 1).astype(np.float64),
            "image_files": image_files,
        },
    )
    (data / "AWA1").mkdir()
    shutil.copy(_reference(reference_data, "xlsa17/AWA1/att_splits.mat"), data / "AWA1")
    (data / "FLO").mkdir()
    contents = {k: v for k, v in scipy.io.loadmat(str(awa2_att)).items() if not k.startswith("__")}
    del contents["allclasses_names"]
    scipy.io.savemat(data / "FLO" / "att_splits.mat", contents)

    summary = _check_json(capsys, str(tmp_path / "xlsa17"))
    assert summary["format"] == "xlsa17-collection" and list(summary["datasets"]) == ["AWA1", "AWA2", "FLO"]
    awa2 = summary["datasets"]["AWA2"]
    assert (awa2["classes"], awa2["attributes"], awa2["res101_images"]) == (50, 85, 37322)
    assert (awa2["seen_classes"], awa2["unseen_classes"]) == (40, 10)
    assert awa2["images"]["trainval"] == 23527 and awa2["train_val_is_clean"] is False
    assert awa2["other_split_files"] == ["binaryAtt_splits.mat"]
    assert summary["datasets"]["AWA1"]["files"]["att_splits.mat"]["classes"] == 50
    flo = summary["datasets"]["FLO"]["files"]["att_splits.mat"]
    assert flo["class_names_generated"] is True and "class_001 .. class_050" in flo["class_names_note"]
    assert any("do not partition 'trainval_loc'" in warning for warning in summary["warnings"])


def test_reference_nuswide_with_real_label_vectors_and_images(
    reference_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vectors = _reference(reference_data, "word_vectors/nuswide_coco_sdl/NUS_WIDE")
    photos = sorted(_reference(reference_data, "images_small/nuswide_sdl").glob("*.jpg"))
    names = list(pickle.loads((vectors / "classes.pickle").read_bytes()).values())
    unseen = pickle.loads((vectors / "unseen_classes.pickle").read_bytes())
    assert set(NUSWIDE_TAGS) <= set(names) and {"dog", "sand", "airport"} <= set(unseen)
    folder = tmp_path / "data" / "nus_wide"
    (folder / "images" / "flickr").mkdir(parents=True)
    for photo in photos:
        shutil.copy(photo, folder / "images" / "flickr" / photo.name)
    rows = [
        (f"flickr/{photo.name}", NUSWIDE_ROWS[i % 4][1], "train" if i < 4 else "test")
        for i, photo in enumerate(photos)
    ]
    write_nuswide_labels(folder / "labels.csv", [*rows, ("flickr/absent.jpg", "dog sky", "test")])
    (tmp_path / "data" / "ZS_SDL" / "data").mkdir(parents=True)
    (tmp_path / "data" / "ZS_SDL" / "data" / "NUS_WIDE").symlink_to(vectors, target_is_directory=True)

    summary = _check_json(capsys, str(folder))
    assert summary["format"] == "nus-wide" and summary["labels_checked"] is True
    assert (summary["labels"], summary["unseen_labels"], summary["label_vector_dimensions"]) == (
        1006,
        81,
        300,
    )
    assert summary["images"] == {"listed": len(photos) + 1, "train": 4, "test": len(photos) - 3, "missing": 1}
    assert summary["missing_examples"] == ["flickr/absent.jpg"]
