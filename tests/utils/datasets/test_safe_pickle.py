"""Data set pickles are read with a restricted unpickler: real files load as before, payloads never run."""

from __future__ import annotations

import os
import pickle
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from utils.datasets.cifar100 import load_cifar100, load_cifar100_meta
from utils.datasets.nuswide import load_label_vectors, read_label_names, read_wordvec_array
from utils.datasets.safe_pickle import ALLOWED_GLOBALS, load_pickle
from utils.errors import DatasetFormatError

SAMPLE_FILES = (
    "cifar100/cifar-100-python/meta",
    "cifar100/cifar-100-python/train",
    "cifar100/cifar-100-python/test",
    "scenes/label_vectors/wordvec_array.pickle",
    "scenes/label_vectors/classes.pickle",
    "scenes/label_vectors/unseen_classes.pickle",
)
REFERENCE_FILES = (
    "NUS_WIDE/wordvec_array.pickle",
    "NUS_WIDE/classes.pickle",
    "NUS_WIDE/unseen_classes.pickle",
    "COCO/wordvec_array.pickle",
    "COCO/cls_ids.pickle",
)
NUMPY_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
}


class _RecordingUnpickler(pickle.Unpickler):
    """Plain unpickling (trusted files only) that records every global the file names."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.globals: set[tuple[str, str]] = set()

    def find_class(self, module: str, name: str):
        self.globals.add((module, name))
        return super().find_class(module, name)


def _plain_load(path: Path) -> tuple[object, set[tuple[str, str]]]:
    with path.open("rb") as handle:
        unpickler = _RecordingUnpickler(handle, encoding="latin1")
        return unpickler.load(), unpickler.globals


def _assert_identical(ours: object, theirs: object) -> None:
    assert type(ours) is type(theirs)
    if isinstance(theirs, np.ndarray):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert ours.tobytes() == theirs.tobytes()
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for key in theirs:
            _assert_identical(ours[key], theirs[key])
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for mine, other in zip(ours, theirs, strict=True):
            _assert_identical(mine, other)
    else:
        assert ours == theirs


# ------------------------------------------------------------------ the real files load as before


@pytest.mark.parametrize("relative", SAMPLE_FILES)
def test_committed_sample_files_load_identically(data_samples: Path, relative: str) -> None:
    path = data_samples / relative
    expected, named = _plain_load(path)
    _assert_identical(load_pickle(path), expected)
    assert named <= set(ALLOWED_GLOBALS)


@pytest.mark.parametrize("relative", REFERENCE_FILES)
def test_reference_sdl_files_load_identically(reference_data: Path, relative: str) -> None:
    path = reference_data / "word_vectors" / "nuswide_coco_sdl" / relative
    if not path.is_file():
        pytest.skip(f"{path} is not in the reference data")
    expected, named = _plain_load(path)
    _assert_identical(load_pickle(path), expected)
    assert named <= NUMPY_GLOBALS  # ZS_SDL's files were written by NumPy 1.x: numpy.core.multiarray


def test_allow_list_is_minimal() -> None:
    # NumPy arrays (both spellings of _reconstruct), plus latin-1 _codecs.encode for Python 3's protocol 0-2 bytes.
    assert set(ALLOWED_GLOBALS) == NUMPY_GLOBALS | {("_codecs", "encode")}


class _Python2Pickler(pickle._Pickler):
    """Writes ``bytes`` and ``str`` as Python 2 ``str`` (BINSTRING), the way the real CIFAR-100 was pickled."""

    def save_py2_str(self, obj) -> None:
        data = obj if isinstance(obj, bytes) else obj.encode("latin1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + len(data).to_bytes(4, "little") + data)
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


def test_python2_cifar100_file_loads_with_latin1(tmp_path: Path, cifar_root: Path) -> None:
    folder = cifar_root / "cifar-100-python"
    images = np.random.default_rng(3).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    contents = {
        "batch_label": "testing batch 1 of 1",
        "fine_labels": [3, 99],
        "coarse_labels": [8, 13],
        "filenames": ["a.png", "b.png"],
        "data": images.transpose(0, 3, 1, 2).reshape(2, 3072),
    }
    with (folder / "test").open("wb") as handle:
        _Python2Pickler(handle, protocol=2).dump(contents)
    # NumPy 1.x (the real files) names numpy.core.multiarray, NumPy 2 numpy._core.multiarray.
    raw = (folder / "test").read_bytes().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    (folder / "test").write_bytes(raw)
    expected, named = _plain_load(folder / "test")
    assert named == {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype")}
    _assert_identical(load_pickle(folder / "test"), expected)
    split = load_cifar100(folder, "test")
    assert split.filenames == ["a.png", "b.png"] and split.fine_labels.tolist() == [3, 99]
    np.testing.assert_array_equal(split.images, images)


def test_python3_protocol2_bytes_need_only_latin1(tmp_path: Path) -> None:
    value = {b"data": np.arange(6, dtype=np.uint8), b"name": b"\xff\x00"}
    protocol2 = tmp_path / "protocol2.pickle"
    protocol2.write_bytes(pickle.dumps(value, protocol=2))
    _assert_identical(load_pickle(protocol2), pickle.loads(pickle.dumps(value, protocol=2)))
    path = tmp_path / "classes.pickle"
    path.write_bytes(b"c_codecs\nencode\n(Vabc\nVrot13\ntR.")
    with pytest.raises(DatasetFormatError, match=r"classes.pickle: refused to load '_codecs.encode' with"):
        load_pickle(path)


def test_truncated_and_foreign_files_stay_one_line(tmp_path: Path, data_samples: Path) -> None:
    truncated = tmp_path / "wordvec_array.pickle"
    truncated.write_bytes((data_samples / "scenes/label_vectors/wordvec_array.pickle").read_bytes()[:500])
    foreign = tmp_path / "classes.pickle"
    foreign.write_text("abandoned\nairport\n")
    for path, reader in ((truncated, read_wordvec_array), (foreign, read_label_names)):
        with pytest.raises(DatasetFormatError) as caught:
            reader(path)
        assert str(caught.value).startswith(f"{path}: not a readable pickle (")
        assert "\n" not in str(caught.value)


# ------------------------------------------------------------------ crafted pickles never run


def _touch_command(sentinel: Path) -> list[str]:
    return [sys.executable, "-c", f"open({str(sentinel)!r}, 'w').close()"]


class _Reduce:
    def __init__(self, function, *arguments) -> None:
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return self.function, self.arguments


def _payload(kind: str, sentinel: Path) -> tuple[bytes, str]:
    """A crafted pickle that creates ``sentinel`` when loaded with plain pickle, and the global to refuse."""
    touch = f"open({str(sentinel)!r}, 'w').close()"
    system = f"{os.system.__module__}.system"  # posix.system (nt.system on Windows)
    if kind == "os.system":
        return pickle.dumps(_Reduce(os.system, shlex.join(_touch_command(sentinel))), protocol=4), system
    if kind == "os.system-protocol-0":
        return pickle.dumps(_Reduce(os.system, shlex.join(_touch_command(sentinel))), protocol=0), system
    if kind == "os.system-protocol-5":
        return pickle.dumps(_Reduce(os.system, shlex.join(_touch_command(sentinel))), protocol=5), system
    if kind == "subprocess.Popen":
        return pickle.dumps(
            _Reduce(subprocess.Popen, _touch_command(sentinel)), protocol=4
        ), "subprocess.Popen"
    if kind == "eval":
        return pickle.dumps(_Reduce(eval, touch), protocol=4), "builtins.eval"
    if kind == "exec":
        return pickle.dumps(_Reduce(exec, touch), protocol=4), "builtins.exec"
    if kind == "getattr":
        # getattr(pathlib.Path(sentinel), "touch")(): protocol 0, written by hand.
        text = f"cbuiltins\ngetattr\n(cpathlib\nPath\n(V{sentinel}\ntRVtouch\ntR(tR."
        return text.encode(), "builtins.getattr"
    if kind == "__import__":
        # getattr(__import__("os"), "system")(command), naming __import__ first (memo 0, then POP).
        command = shlex.join(_touch_command(sentinel))
        text = f"cbuiltins\n__import__\np0\n0cbuiltins\ngetattr\n(g0\n(Vos\ntRVsystem\ntR(V{command}\ntR."
        return text.encode(), "builtins.__import__"
    if kind == "nested-in-dict":
        contents = {
            "fine_label_names": ["apple"],
            "extra": [{"x": _Reduce(os.system, shlex.join(_touch_command(sentinel)))}],
        }
        return pickle.dumps(contents, protocol=4), system
    raise ValueError(kind)


PAYLOADS = (
    "os.system",
    "os.system-protocol-0",
    "os.system-protocol-5",
    "subprocess.Popen",
    "eval",
    "exec",
    "getattr",
    "__import__",
    "nested-in-dict",
)


def _wait_for(path: Path, loaded: object) -> bool:
    if isinstance(loaded, subprocess.Popen):
        loaded.wait(timeout=60)
    return path.exists()


@pytest.mark.parametrize("kind", PAYLOADS)
def test_payloads_are_live_under_plain_pickle(tmp_path: Path, kind: str) -> None:
    # The control: each crafted file really runs its payload when read the old way.
    sentinel = tmp_path / "pwned"
    data, _ = _payload(kind, sentinel)
    assert _wait_for(sentinel, pickle.loads(data, encoding="latin1"))


@pytest.mark.parametrize("kind", PAYLOADS)
def test_payloads_are_refused_naming_file_and_global(tmp_path: Path, kind: str) -> None:
    sentinel = tmp_path / "pwned"
    data, refused = _payload(kind, sentinel)
    path = tmp_path / "classes.pickle"
    path.write_bytes(data)
    message = re.escape(
        f"{path}: refused to load '{refused}' (only plain data and NumPy arrays are allowed in this file)"
    )
    for reader in (load_pickle, read_label_names, read_wordvec_array):
        with pytest.raises(DatasetFormatError, match=f"^{message}$"):
            reader(path)
    assert not sentinel.exists()


def test_cifar100_loaders_refuse_payloads(tmp_path: Path, cifar_root: Path) -> None:
    sentinel = tmp_path / "pwned"
    folder = cifar_root / "cifar-100-python"
    (folder / "test").write_bytes(_payload("nested-in-dict", sentinel)[0])
    with pytest.raises(DatasetFormatError, match=re.escape(f"{folder / 'test'}: refused to load")):
        load_cifar100(folder, "test")
    (folder / "meta").write_bytes(_payload("eval", sentinel)[0])
    with pytest.raises(
        DatasetFormatError, match=re.escape(f"{folder / 'meta'}: refused to load 'builtins.eval'")
    ):
        load_cifar100_meta(folder)
    assert not sentinel.exists()


def test_label_vector_folder_refuses_payloads(tmp_path: Path, scenes_folder: Path) -> None:
    sentinel = tmp_path / "pwned"
    folder = scenes_folder / "label_vectors"
    (folder / "unseen_classes.pickle").write_bytes(_payload("subprocess.Popen", sentinel)[0])
    with pytest.raises(DatasetFormatError, match=re.escape(f"{folder / 'unseen_classes.pickle'}: refused")):
        load_label_vectors(folder)
    assert not sentinel.exists()


def _run_check(repo_root: Path, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "utils.datasets", "check", str(path)],
        cwd=repo_root,
        env=dict(os.environ, PYTHONPATH=str(repo_root)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_cli_refuses_crafted_pickles(
    repo_root: Path, tmp_path: Path, cifar_root: Path, scenes_folder: Path
) -> None:
    sentinel = tmp_path / "pwned"
    meta = cifar_root / "cifar-100-python" / "meta"
    meta.write_bytes(_payload("os.system", sentinel)[0])
    wordvec = scenes_folder / "label_vectors" / "wordvec_array.pickle"
    wordvec.write_bytes(_payload("os.system-protocol-0", sentinel)[0])
    system = f"{os.system.__module__}.system"
    for folder, crafted in ((cifar_root, meta), (scenes_folder / "label_vectors", wordvec)):
        result = _run_check(repo_root, folder)
        assert result.returncode == 2, (folder, result.stdout, result.stderr)
        assert result.stdout == ""
        assert result.stderr == (
            f"error: {crafted}: refused to load '{system}' "
            "(only plain data and NumPy arrays are allowed in this file)\n"
        )
    assert not sentinel.exists()
