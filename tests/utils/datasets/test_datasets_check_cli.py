"""``python -m utils.datasets check PATH [--json]``: every format in-process, then through a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tests.utils.datasets.conftest import write_att_splits
from utils.datasets.check import main


def _check_json(path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["check", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return json.loads(captured.out)


def test_awa2_folder(awa2_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = _check_json(awa2_folder, capsys)
    assert summary["format"] == "awa2"
    assert (
        summary["classes"],
        summary["attributes"],
        summary["seen_classes"],
        summary["unseen_classes"],
    ) == (5, 5, 3, 2)
    assert summary["images"] == {"all": 12, "seen": 8, "unseen": 4}
    assert summary["missing_continuous_values"] == 2


def test_xlsa17_files_and_folder(xlsa17_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    att = _check_json(xlsa17_folder / "att_splits.mat", capsys)
    assert att["format"] == "xlsa17-att-splits" and att["classes"] == 4 and att["attributes"] == 3
    assert att["images"] == {"trainval": 6, "test_seen": 2, "test_unseen": 4, "train": 3, "val": 3}
    res101 = _check_json(xlsa17_folder / "res101.mat", capsys)
    assert res101 == {
        "path": str(xlsa17_folder / "res101.mat"),
        "format": "xlsa17-res101",
        "images": 12,
        "feature_dim": 6,
        "classes": 4,
    }
    folder = _check_json(xlsa17_folder, capsys)
    assert folder["format"] == "xlsa17" and folder["seen_classes"] == 2 and folder["unseen_classes"] == 2


def test_xlsa17_quirk_is_reported_as_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_att_splits(tmp_path / "att_splits.mat", val_loc=np.array([[3], [4]], dtype=np.uint16))
    summary = _check_json(tmp_path / "att_splits.mat", capsys)
    assert summary["train_val_is_clean"] is False
    assert "do not partition 'trainval_loc'" in summary["warnings"][0]


def test_cifar100_folder_or_parent(cifar_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for path in (cifar_root, cifar_root / "cifar-100-python"):
        summary = _check_json(path, capsys)
        assert summary["format"] == "cifar100"
        assert summary["images"] == {"train": 6, "test": 4}
        assert (summary["fine_classes"], summary["coarse_classes"]) == (100, 20)


def test_label_vectors_and_scenes(scenes_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = _check_json(scenes_folder / "label_vectors", capsys)
    assert vectors["format"] == "sdl-label-vectors"
    assert (vectors["labels"], vectors["dimensions"], vectors["unseen_labels"]) == (4, 8, 2)
    scenes = _check_json(scenes_folder, capsys)
    assert scenes["format"] == "scenes" and scenes["images"] == 3 and scenes["labels"] == 4
    assert scenes["images_with_unseen_labels"] == 2 and scenes["label_vector_dimensions"] == 8


def test_human_summary(awa2_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(awa2_folder)]) == 0
    out = capsys.readouterr().out
    assert "format: awa2" in out and "classes: 5" in out and "  unseen: 4" in out


def test_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out
    assert main(["check", "--help"]) == 0
    assert "--json" in capsys.readouterr().out
    assert main([]) == 2


@pytest.mark.parametrize("kind", ["missing", "unknown", "malformed"])
def test_bad_input_is_one_stderr_line(
    kind: str, tmp_path: Path, awa2_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if kind == "missing":
        path, expected = tmp_path / "nothing-here", "no such file or folder"
    elif kind == "unknown":
        path, expected = tmp_path / "notes.txt", "unknown format"
        path.write_text("hello")
    else:
        path, expected = awa2_folder, "predicate-matrix-binary.txt: row 1 has 1 values, expected 5"
        (awa2_folder / "predicate-matrix-binary.txt").write_text("1\n" * 5)
    assert main(["check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and expected in captured.err and str(path) in captured.err


def test_word_vector_files_go_to_utils_word_vectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = types.ModuleType("utils.word_vectors")
    fake.describe_word_vector_file = lambda path: {"words": 2, "dimensions": 3, "file": Path(path).name}
    monkeypatch.setitem(sys.modules, "utils.word_vectors", fake)
    path = tmp_path / "tiny.vec"
    path.write_text("2 3\nzebra 0.1 0.2 0.3\nlion 0.3 0.2 0.1\n")
    summary = _check_json(path, capsys)
    assert summary == {
        "path": str(path),
        "format": "word-vectors",
        "words": 2,
        "dimensions": 3,
        "file": "tiny.vec",
    }

    def refuse(path):
        raise ValueError(f"{path}: line 2 has 2 values, expected 3")

    fake.describe_word_vector_file = refuse
    assert main(["check", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# ------------------------------------------------------------------ through a real subprocess


def _run_cli(repo_root: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(repo_root))
    return subprocess.run(
        [sys.executable, "-m", "utils.datasets", "check", *arguments],
        cwd=repo_root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_subprocess_every_format(
    repo_root: Path, awa2_folder: Path, xlsa17_folder: Path, cifar_root: Path, scenes_folder: Path
) -> None:
    cases = {
        awa2_folder: "awa2",
        xlsa17_folder / "att_splits.mat": "xlsa17-att-splits",
        xlsa17_folder / "res101.mat": "xlsa17-res101",
        xlsa17_folder: "xlsa17",
        cifar_root: "cifar100",
        scenes_folder / "label_vectors": "sdl-label-vectors",
        scenes_folder: "scenes",
    }
    for path, expected_format in cases.items():
        result = _run_cli(repo_root, str(path), "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["format"] == expected_format
    human = _run_cli(repo_root, str(awa2_folder))
    assert human.returncode == 0 and "format: awa2" in human.stdout


def test_subprocess_bad_inputs(repo_root: Path, tmp_path: Path, xlsa17_folder: Path) -> None:
    (tmp_path / "broken.mat").write_bytes(b"MATLAB? no.")
    (tmp_path / "readme.md").write_text("# nothing")
    write_att_splits(xlsa17_folder / "att_splits.mat", test_seen_loc=np.array([[4], [9]]))
    for path in (tmp_path / "missing", tmp_path / "readme.md", tmp_path / "broken.mat", xlsa17_folder):
        result = _run_cli(repo_root, str(path))
        assert result.returncode == 2, (path, result.stdout, result.stderr)
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert str(path) in result.stderr


def test_subprocess_word_vector_file(repo_root: Path, tmp_path: Path) -> None:
    try:
        from utils.word_vectors import describe_word_vector_file  # noqa: F401
    except ImportError:
        pytest.skip(
            "utils.word_vectors.describe_word_vector_file does not exist yet (written by another module)"
        )
    path = tmp_path / "tiny.vec"
    path.write_text("2 3\nzebra 0.1 0.2 0.3\nlion 0.3 0.2 0.1\n")
    result = _run_cli(repo_root, str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["format"] == "word-vectors"
    (tmp_path / "broken.vec").write_text("2 3\nzebra 0.1\n")
    result = _run_cli(repo_root, str(tmp_path / "broken.vec"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_help_through_subprocess(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "utils.datasets", "--help"],
        cwd=repo_root,
        env=dict(os.environ, PYTHONPATH=str(repo_root)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "check" in result.stdout
