"""Missing data: one line naming the path and the command (or page) that fetches it, everywhere."""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from utils.datasets import (
    find_xlsa17_datasets,
    image_index,
    load_att_splits,
    load_awa2,
    load_cifar100,
    load_label_vectors,
    load_nuswide,
    load_res101,
    load_xlsa17,
    require_path,
)
from utils.datasets.check import guess_dataset_key, main
from utils.errors import FETCH_HINTS, DatasetFormatError, MissingDataError, fetch_hint, missing_data_message
from utils.word_vectors import describe_word_vector_file, load_word_vectors

NUSWIDE_PAGE = "https://lms.comp.nus.edu.sg/wp-content/uploads/2019/research/nuswide/NUS-WIDE.html"
ZS_SDL = "https://github.com/Alibaba-MIIL/ZS_SDL"
EXPECTED_FETCH = {
    "awa2": "python -m utils.download awa2",
    "xlsa17": "python -m utils.download xlsa17",
    "cifar100": "python -m utils.download cifar100",
    "fasttext": "python -m utils.download fasttext",
    "nus_wide": NUSWIDE_PAGE,
    "nus_wide_label_vectors": ZS_SDL,
}


def _assert_one_line_naming(error: BaseException, path: Path, fetch: str) -> None:
    message = str(error)
    assert "\n" not in message and message == " ".join(message.split())
    assert str(path) in message and fetch in message, message


def test_the_table_covers_every_data_set() -> None:
    assert set(FETCH_HINTS) == set(EXPECTED_FETCH)
    assert ZS_SDL in fetch_hint("nus_wide")  # the images' hint also says where the label vectors are
    with pytest.raises(KeyError, match="unknown data set 'imagenet'; known: awa2"):
        fetch_hint("imagenet")


@pytest.mark.parametrize("dataset_key", sorted(EXPECTED_FETCH))
def test_message_is_one_line_with_path_and_command(dataset_key: str, tmp_path: Path) -> None:
    path = tmp_path / "nowhere"
    error = MissingDataError(path, dataset_key)
    _assert_one_line_naming(error, path, EXPECTED_FETCH[dataset_key])
    assert str(error).startswith(f"{FETCH_HINTS[dataset_key].what} not found: {path}; ")
    assert error._render_traceback_() == [f"MissingDataError: {error}"]
    assert missing_data_message(path, dataset_key) == str(error)


def test_error_is_a_file_not_found_and_a_dataset_format_error(tmp_path: Path) -> None:
    error = MissingDataError(tmp_path / "awa2", "awa2", what="AwA2 copy")
    assert isinstance(error, FileNotFoundError) and isinstance(error, DatasetFormatError)
    assert error.errno == errno.ENOENT and error.filename == str(tmp_path / "awa2")
    assert error.path == tmp_path / "awa2" and error.dataset_key == "awa2"
    assert str(error).startswith("AwA2 copy not found: ")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is MissingDataError and str(copy) == str(error)
    custom = MissingDataError(tmp_path / "x", None, what="notes", how="ask a colleague")
    assert str(custom) == f"notes not found: {tmp_path / 'x'}; ask a colleague"


def test_require_path(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    assert require_path(tmp_path, "awa2", kind="folder") == tmp_path
    assert require_path(str(tmp_path / "file.txt"), "awa2", kind="file") == tmp_path / "file.txt"
    with pytest.raises(MissingDataError):
        require_path(tmp_path / "absent", "cifar100")
    with pytest.raises(DatasetFormatError, match="CIFAR-100 folder is not a folder") as caught:
        require_path(tmp_path / "file.txt", "cifar100", kind="folder")
    assert not isinstance(caught.value, MissingDataError)


def _loaders(tmp_path: Path):
    """(call, missing path, expected fetch text) for every front door, on paths that do not exist."""
    absent = tmp_path / "absent"
    return [
        (lambda: load_awa2(absent / "Animals_with_Attributes2"), absent / "Animals_with_Attributes2", "awa2"),
        (lambda: image_index(absent / "awa2"), absent / "awa2", "awa2"),
        (lambda: load_att_splits(absent / "att_splits.mat"), absent / "att_splits.mat", "xlsa17"),
        (lambda: load_res101(absent / "res101.mat"), absent / "res101.mat", "xlsa17"),
        (lambda: load_xlsa17(absent / "AWA2"), absent / "AWA2", "xlsa17"),
        (lambda: find_xlsa17_datasets(absent / "xlsa17"), absent / "xlsa17", "xlsa17"),
        (lambda: load_cifar100(absent / "cifar-100-python"), absent / "cifar-100-python", "cifar100"),
        (lambda: load_label_vectors(absent / "NUS_WIDE"), absent / "NUS_WIDE", "nus_wide_label_vectors"),
        (lambda: load_nuswide(absent / "nus_wide"), absent / "nus_wide", "nus_wide"),
        (lambda: load_word_vectors(absent / "cc.en.300.bin"), absent / "cc.en.300.bin", "fasttext"),
        (lambda: load_word_vectors(absent / "cc.en.300.vec"), absent / "cc.en.300.vec", "fasttext"),
        (lambda: describe_word_vector_file(absent / "cc.en.300.vec"), absent / "cc.en.300.vec", "fasttext"),
    ]


def test_every_loader_raises_missing_data_error(tmp_path: Path) -> None:
    for call, path, dataset_key in _loaders(tmp_path):
        with pytest.raises(MissingDataError) as caught:
            call()
        _assert_one_line_naming(caught.value, path, EXPECTED_FETCH[dataset_key])
        assert caught.value.dataset_key == dataset_key


def test_xlsa17_folder_without_its_files_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError) as caught:
        load_xlsa17(tmp_path)
    _assert_one_line_naming(caught.value, tmp_path / "res101.mat", EXPECTED_FETCH["xlsa17"])


def test_an_existing_malformed_folder_keeps_dataset_format_error(tmp_path: Path, awa2_folder: Path) -> None:
    (awa2_folder / "predicates.txt").unlink()
    for call in (
        lambda: load_awa2(awa2_folder),
        lambda: load_cifar100(tmp_path),
        lambda: load_label_vectors(tmp_path),
    ):
        with pytest.raises(DatasetFormatError) as caught:
            call()
        assert not isinstance(caught.value, MissingDataError), caught.value


@pytest.mark.parametrize(
    ("relative", "dataset_key"),
    [
        ("data/xlsa17/data/AWA2", "xlsa17"),
        ("data/Animals_with_Attributes2", "awa2"),
        ("data/cifar-100-python", "cifar100"),
        ("data/fasttext/cc.en.300.bin", "fasttext"),
        ("data/nus_wide", "nus_wide"),
        ("data/ZS_SDL/data/NUS_WIDE", "nus_wide_label_vectors"),
        ("data/something-else", None),
    ],
)
def test_check_on_a_missing_path_is_one_line(
    relative: str, dataset_key: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / relative
    assert guess_dataset_key(path) == dataset_key
    assert main(["check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and str(path) in captured.err
    expected = EXPECTED_FETCH[dataset_key] if dataset_key else "no such file or folder"
    assert expected in captured.err


# ------------------------------------------------------------------ as a shell and a notebook see it


def _python(repo_root: Path, tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(repo_root), IPYTHONDIR=str(tmp_path / "ipython"))
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=repo_root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_on_a_missing_data_set_is_one_line(repo_root: Path, tmp_path: Path) -> None:
    path = tmp_path / "data" / "xlsa17"
    result = _python(repo_root, tmp_path, "-m", "utils.datasets", "check", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(path) in result.stderr and "python -m utils.download xlsa17" in result.stderr


def test_ipython_shows_one_line_and_no_traceback(repo_root: Path, tmp_path: Path) -> None:
    """``InteractiveShell.showtraceback`` uses ``_render_traceback_`` (as Jupyter and Colab kernels do)."""
    pytest.importorskip("IPython")
    missing = tmp_path / "data" / "Animals_with_Attributes2"
    script = textwrap.dedent(
        f"""
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance(colors="nocolor")
        for cell in (
            "from utils.errors import MissingDataError\\nraise MissingDataError({str(missing)!r}, 'awa2')",
            "from utils.datasets import load_awa2\\nload_awa2({str(missing)!r})",
        ):
            result = shell.run_cell(cell)
            assert isinstance(result.error_in_exec, FileNotFoundError), result
            print("--- cell done")
        """
    )
    result = _python(repo_root, tmp_path, "-c", script)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "File " not in output and "----> " not in output
    blocks = [block.strip() for block in result.stdout.split("--- cell done")[:2]]
    for block in blocks:
        lines = [line for line in block.splitlines() if line.strip()]
        assert len(lines) == 1, block
        assert lines[0].startswith("MissingDataError: AwA2 folder not found: ")
        assert str(missing) in lines[0] and "python -m utils.download awa2" in lines[0]


def test_require_data_names_every_missing_data_set_on_one_line(tmp_path):
    from utils.datasets import require_data

    present = tmp_path / "Animals_with_Attributes2"
    present.mkdir()
    assert require_data(awa2=present, xlsa17=None, word_vectors="glove:6B-50d") == {"awa2": present}
    with pytest.raises(MissingDataError) as caught:
        require_data(awa2=present, cifar100=tmp_path / "cifar-100-python", word_vectors=tmp_path / "cc.en.300.bin")
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / "cifar-100-python") in message and "python -m utils.download cifar100" in message
    assert str(tmp_path / "cc.en.300.bin") in message and "python -m utils.download fasttext" in message
    assert caught.value._render_traceback_() == [f"MissingDataError: {message}"]
    with pytest.raises(KeyError, match="known"):
        require_data(imagenet=tmp_path)
