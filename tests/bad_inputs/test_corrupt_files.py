"""Corrupt files the project itself wrote: every loader fails in one line naming the file.

Each case saves a good file with the project's own writer (``SearchIndex.save``, ``EmbeddingSet.save``,
``save_weights``, ``write_vec``), corrupts it (truncated to half or to zero bytes, header overwritten,
replaced by text or another kind of file) and checks the error: a ``PathError`` (the rule for every loader:
data files raise its ``DatasetFormatError``, saved indexes its ``IndexMismatchError``, checkpoints its
``CheckpointError``), one line, naming the file, and more than a raw library message.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from utils.errors import DatasetFormatError, PathError
from utils.search import IndexMismatchError, build_index, load_index

RAW_LIBRARY_MESSAGES = ("basic_ios::clear: iostream error", "[Errno 22] Invalid argument", "")


def assert_one_line(error: BaseException, path: Path, *fragments: str) -> str:
    """``error`` is a PathError of one line naming ``path`` and holding each fragment."""
    assert isinstance(error, PathError), type(error)
    assert not isinstance(error, MemoryError)
    text = str(error)
    assert "\n" not in text, text
    assert str(path) in text, text
    assert error.path == path, (error.path, path)
    problem = text[len(str(path)) + 2 :]
    assert problem.strip() not in RAW_LIBRARY_MESSAGES, text
    for fragment in fragments:
        assert fragment in text, text
    return text


def truncate(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def _vectors(n: int = 40, dim: int = 8) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, dim)).astype(np.float32)


# ----------------------------------------------------------------------------------- indexes


@pytest.fixture(scope="module")
def saved_indexes(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("indexes")
    vectors = _vectors()
    labels = list(range(len(vectors)))
    build_index("nmslib", vectors, labels=labels, source="test", num_threads=1).save(root / "nmslib")
    build_index("exact", vectors, labels=labels, source="test").save(root / "exact")
    return {"nmslib": root / "nmslib", "exact": root / "exact"}


def _copy(saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / saved.name))


@pytest.mark.parametrize(
    ("kind", "file", "corrupt", "fragment"),
    [
        ("nmslib", "index.nmslib", "half", "nmslib cannot read it"),
        ("nmslib", "index.nmslib", "zero", "empty file"),
        ("nmslib", "index.nmslib.dat", "half", "truncated"),
        ("nmslib", "index.nmslib.dat", "missing", "missing"),
        ("nmslib", "index.json", "half", "not valid JSON"),
        ("nmslib", "index.json", "zero", "not valid JSON"),
        ("nmslib", "index.json", "binary", "UTF-8"),
        ("exact", "vectors.npy", "half", "truncated"),
        ("exact", "vectors.npy", "zero", "empty file"),
        ("exact", "vectors.npy", "text", "not a .npy array"),
        ("exact", "vectors.npy", "missing", "missing"),
    ],
)
def test_a_corrupt_saved_index_names_its_file(saved_indexes, tmp_path, kind, file, corrupt, fragment):
    folder = _copy(saved_indexes[kind], tmp_path)
    path = folder / file
    if corrupt == "half":
        truncate(path)
    elif corrupt == "zero":
        path.write_bytes(b"")
    elif corrupt == "missing":
        path.unlink()
    elif corrupt == "binary":
        path.write_bytes(b"\xff\xfe\x00garbage\x80")
    else:
        path.write_text("this is not an index\n")
    with pytest.raises(IndexMismatchError) as caught:
        load_index(folder)
    assert_one_line(caught.value, path, fragment)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("count", "many", "count is 'many', not a positive integer"),
        ("dimension", -3, "dimension is -3, not a positive integer"),
        # the .dat cannot hold that many vectors: refused before nmslib reads it
        ("count", 10**9, "truncated"),
        ("parameters", {"warp": 9}, "do not fit a nmslib index"),
        ("labels", "abc", "labels is a JSON str, not a list"),
    ],
)
def test_an_edited_index_json_names_the_file(saved_indexes, tmp_path, field, value, fragment):
    import json

    folder = _copy(saved_indexes["nmslib"], tmp_path)
    path = folder / "index.json"
    metadata = json.loads(path.read_text())
    metadata[field] = value
    path.write_text(json.dumps(metadata))
    with pytest.raises(IndexMismatchError) as caught:
        load_index(folder)
    blamed = folder / "index.nmslib.dat" if fragment == "truncated" else path
    assert_one_line(caught.value, blamed, fragment)


def test_index_mismatch_error_is_still_a_value_error_and_pickles():
    import pickle

    error = IndexMismatchError(Path("x/index.json"), "bad\nthing")
    assert isinstance(error, ValueError) and str(error) == "x/index.json: bad thing"
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
    assert str(IndexMismatchError(None, "p")) == "index built in memory: p"


# -------------------------------------------------------------------------------- embeddings


@pytest.fixture
def embeddings_file(tmp_path) -> Path:
    from utils.zsl import EmbeddingSet

    rng = np.random.default_rng(1)
    embeddings = EmbeddingSet(
        rng.normal(size=(6, 4)),
        [f"img{i}.jpg" for i in range(6)],
        [0, 1, 2, 0, 1, 2],
        ["seen_valid"] * 3 + ["unseen_test"] * 3,
        ["a", "b", "c"],
        rng.normal(size=(3, 4)),
        [True, True, False],
    )
    return embeddings.save(tmp_path / "embeddings.npz")


@pytest.mark.parametrize(
    ("corrupt", "fragment"),
    [
        ("half", "not a readable .npz"),
        ("zero", "empty file"),
        ("text", "not a readable .npz"),
        ("missing_field", "lacks the array(s) seen_class_mask"),
        ("object_array", "not a readable .npz"),
        ("bad_shapes", "arrays do not fit together"),
        ("single_npy", "holds a single array"),
    ],
)
def test_a_corrupt_embeddings_file_names_it(embeddings_file, corrupt, fragment):
    from utils.zsl import EmbeddingSet

    path = embeddings_file
    if corrupt == "half":
        truncate(path)
    elif corrupt == "zero":
        path.write_bytes(b"")
    elif corrupt == "text":
        path.write_text("image,embedding\n")
    else:
        with np.load(path) as arrays:
            fields = {name: arrays[name] for name in arrays.files}
        if corrupt == "missing_field":
            del fields["seen_class_mask"]
        elif corrupt == "object_array":
            fields["labels"] = np.array([{"evil": 1}] * 6, dtype=object)
        elif corrupt == "bad_shapes":
            fields["class_word_vectors"] = fields["class_word_vectors"][:, :2]
        if corrupt == "single_npy":
            buffer = io.BytesIO()
            np.save(buffer, fields["labels"])
            path.write_bytes(buffer.getvalue())
        else:
            with open(path, "wb") as file:  # np.savez on a path would add ".npz"
                np.savez(file, **fields)
    with pytest.raises(DatasetFormatError) as caught:
        EmbeddingSet.load(path)
    assert_one_line(caught.value, path, fragment)


# ------------------------------------------------------------------------------- checkpoints


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    import torch

    from utils.training.checkpoints import save_weights

    return save_weights(torch.nn.Linear(4, 3).state_dict(), tmp_path / "model.pth")


def _garbage_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model/data.pkl", b"\x80\x02garbage that is no pickle")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("corrupt", "fragment"),
    [
        ("half", "not a readable PyTorch checkpoint"),
        ("zero", "empty file"),
        ("text", "checkpoint"),
        ("zip", "checkpoint"),
        ("tensor", "holds a Tensor, not a dict of weights"),
        ("missing", "checkpoint not found"),
    ],
)
def test_a_corrupt_checkpoint_names_it(checkpoint, corrupt, fragment):
    import torch

    from utils.training.checkpoints import CheckpointError, load_weights

    if corrupt == "half":
        truncate(checkpoint)
    elif corrupt == "zero":
        checkpoint.write_bytes(b"")
    elif corrupt == "text":
        checkpoint.write_text("epoch 3: loss 0.12\n")
    elif corrupt == "zip":
        checkpoint.write_bytes(_garbage_zip())
    elif corrupt == "tensor":
        torch.save(torch.zeros(3), checkpoint)
    else:
        checkpoint.unlink()
    with pytest.raises(CheckpointError) as caught:
        load_weights(checkpoint)
    assert_one_line(caught.value, checkpoint, fragment)


@pytest.mark.parametrize(
    ("model", "fragment"),
    [
        (lambda torch: torch.nn.Linear(5, 3), "shape mismatch"),
        (lambda torch: torch.nn.Sequential(torch.nn.Linear(4, 3)), "missing keys 2 (0.weight, 0.bias)"),
    ],
)
def test_weights_that_do_not_fit_the_model_name_the_file(checkpoint, model, fragment):
    import torch

    from utils.training.checkpoints import CheckpointError, load_state_into

    with pytest.raises(CheckpointError) as caught:
        load_state_into(model(torch), checkpoint)
    assert_one_line(caught.value, checkpoint, "does not fit the", fragment)
    target = torch.nn.Linear(4, 3)
    load_state_into(target, checkpoint)  # a fitting model loads
    assert torch.equal(target.weight, torch.load(checkpoint, weights_only=True)["weight"])


def _sdl_bundle(torch, backbone: str = "tiny_cnn", n_principal_vectors: int = 2) -> dict:
    from utils.stages.sdl import build_model

    vectors = torch.ones(3, 6)
    model = build_model(backbone, vectors.shape[1], n_principal_vectors)
    return {
        "state_dict": model.state_dict(), "backbone": backbone, "image_size": 32,
        "n_principal_vectors": n_principal_vectors, "label_names": ["a", "b", "c"],
        "label_word_vectors": vectors, "unseen_labels": ["c"],
    }


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda bundle: bundle.pop("state_dict"), "has no entry 'state_dict'"),
        (lambda bundle: bundle.pop("label_word_vectors"), "has no entry 'label_word_vectors'"),
        (lambda bundle: bundle.update(backbone="vgg99"), "names a model this library cannot build"),
        (lambda bundle: bundle.update(n_principal_vectors=0), "is not an SDL checkpoint"),
        (lambda bundle: bundle.update(n_principal_vectors=3), "does not fit the SdlModel model"),
        (lambda bundle: bundle.update(backbone="small_cnn"), "does not fit the SdlModel model"),
    ],
)
def test_an_sdl_checkpoint_that_does_not_describe_its_model_names_the_file(tmp_path, edit, fragment):
    import torch

    from utils.stages.sdl import load_checkpoint
    from utils.training.checkpoints import CheckpointError, save_weights

    path = tmp_path / "model.pt"
    save_weights(_sdl_bundle(torch), path)
    load_checkpoint(path)  # the good file loads
    bundle = _sdl_bundle(torch)
    edit(bundle)
    save_weights(bundle, path)

    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert_one_line(caught.value, path, fragment)


def test_a_truncated_metadata_file_means_retrain_not_a_crash(checkpoint):
    from utils.training.checkpoints import decide, metadata_path, read_metadata, record

    record(checkpoint, {"epochs": 1})
    truncate(metadata_path(checkpoint))
    assert read_metadata(checkpoint) is None
    reason = decide(checkpoint, {"epochs": 1}, verbose=False).reason
    assert reason.startswith(f"the settings record {metadata_path(checkpoint).name}") or str(
        metadata_path(checkpoint)) in reason, reason
    assert "unreadable (JSONDecodeError" in reason


# -------------------------------------------------------------------------------- word vectors


@pytest.fixture
def vec_file(tmp_path) -> Path:
    from utils.word_vectors import write_vec

    words = ["zebra", "horse", "tiger", "lion"]
    return write_vec(tmp_path / "vectors.vec", words, _vectors(len(words), 3))


def _replace_header(path: Path, header: str) -> Path:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(header + "\n" + "".join(lines[1:]))
    return path


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (
            "1000000000000 3",
            "line 1: header says 1000000000000 words of dimension 3, the file has room for at most",
        ),
        (
            "4 1000000000000",
            "header says 4 words of dimension 1000000000000, the file has room for at most 0",
        ),
        ("-4 3", "line 1: header announces -4 words"),
        ("0 3", "line 1: header announces 0 words"),
        ("4 -3", "line 1: header announces dimension -3"),
        ("4 0", "line 1: header announces dimension 0"),
        ("four 3", "line 1: expected a header '<n_words> <dim>' (two integers)"),
        ("4 3.5", "line 1: expected a header"),
    ],
)
def test_a_bad_vec_header_names_the_file(vec_file, header, fragment):
    from utils.word_vectors import WordVectorFormatError, read_vec

    _replace_header(vec_file, header)
    with pytest.raises(WordVectorFormatError) as caught:
        read_vec(vec_file)
    assert_one_line(caught.value, vec_file, fragment)


def test_a_huge_vec_header_is_refused_before_allocating(vec_file):
    from utils.word_vectors import WordVectorFormatError, read_vec

    size = vec_file.stat().st_size
    _replace_header(vec_file, "1000000000000 3")
    with pytest.raises(WordVectorFormatError) as caught:
        read_vec(vec_file, max_words=2)
    room = int(str(caught.value).split("room for at most ")[1].split()[0])
    assert 0 < room < size


@pytest.mark.parametrize(
    ("corrupt", "fragment"),
    [
        ("short_line", "line 3: has 2 values, expected 3"),
        ("long_line", "line 3: has 4 values, expected 3"),
        ("half", "values, expected 3 (a word, then 3 numbers)"),
        ("zero", "empty file"),
    ],
)
def test_a_corrupt_vec_body_names_the_file(vec_file, corrupt, fragment):
    from utils.word_vectors import WordVectorFormatError, read_vec

    lines = vec_file.read_text().splitlines(keepends=True)
    if corrupt == "short_line":
        lines[2] = " ".join(lines[2].split()[:-1]) + "\n"
        vec_file.write_text("".join(lines))
    elif corrupt == "long_line":
        lines[2] = lines[2].rstrip("\n") + " 0.5\n"
        vec_file.write_text("".join(lines))
    elif corrupt == "half":
        truncate(vec_file, 0.3)
    else:
        vec_file.write_bytes(b"")
    with pytest.raises(WordVectorFormatError) as caught:
        read_vec(vec_file)
    assert_one_line(caught.value, vec_file, fragment)


@pytest.mark.parametrize(
    ("corrupt", "fragment"),
    [
        ("half", "truncated: its header says shape (50, 8) float32"),
        ("zero", "empty file"),
        ("text", "not a .npy array"),
    ],
)
def test_a_corrupt_npy_of_vectors_names_the_file(tmp_path, corrupt, fragment):
    from utils.word_vectors import WordVectorFormatError, read_npy

    path = tmp_path / "vectors.npy"
    np.save(path, _vectors(50, 8))
    assert np.array_equal(read_npy(path, mmap_mode="r"), _vectors(50, 8))
    if corrupt == "half":
        truncate(path)
    elif corrupt == "zero":
        path.write_bytes(b"")
    else:
        path.write_text("0.1 0.2 0.3\n")
    with pytest.raises(WordVectorFormatError) as caught:
        read_npy(path, mmap_mode="r", error=WordVectorFormatError)
    assert_one_line(caught.value, path, fragment)
