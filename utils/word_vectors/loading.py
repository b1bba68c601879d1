"""The front door: :func:`load_word_vectors` picks a backend from a path or spec string.

:func:`class_word_matrix` turns class names into DeViSE label vectors (Frome et al. 2013), and
:func:`describe_word_vector_file` summarises and checks a file for ``python -m utils.datasets check``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.errors import MissingDataError
from utils.word_vectors.base import SAMPLE_WORDS, WordVectors
from utils.word_vectors.fasttext_bin import FastTextBinWordVectors, read_fasttext_header
from utils.word_vectors.glove import GLOVE_SPEC, load_glove_package
from utils.word_vectors.vec import TEXT_SUFFIXES, _header_optional, _iter_vec_lines, _parse_values, read_vec


def _missing_file_error(path: Path) -> FileNotFoundError:
    """A :class:`utils.errors.MissingDataError`: one line naming ``path`` and ``python -m utils.download fasttext``."""
    return MissingDataError(path, "fasttext", "word-vector file")


def _file_kind(path: Path) -> str:
    suffixes = [suffix.lower() for suffix in path.suffixes[-2:]]
    if suffixes[-1:] == [".bin"]:
        return "fasttext-bin"
    if suffixes[-1:] and suffixes[-1] in TEXT_SUFFIXES:
        return "vec"
    if suffixes[-1:] == [".gz"] and len(suffixes) == 2 and suffixes[0] in TEXT_SUFFIXES:
        return "vec"
    raise ValueError(
        f"{path}: unknown word-vector format (expected a fastText .bin, a .vec/.txt text file, "
        f"or the spec '{GLOVE_SPEC}')"
    )


def load_word_vectors(spec: str | Path, **kwargs: Any) -> WordVectors:
    """Load word vectors from a file or spec string.

    * ``*.bin``: a fastText model, :class:`FastTextBinWordVectors` (no keyword arguments);
    * ``*.vec``, ``*.txt`` (optionally ``.gz``): :func:`read_vec` (``max_words``, ``vocabulary``);
    * ``glove:6B-50d``: :func:`load_glove_package` (``max_words``, ``vocabulary``).

    Args:
        spec: a path or spec string.
        **kwargs: passed to the loader.

    Returns:
        The word vectors.

    Raises:
        FileNotFoundError: a :class:`utils.errors.MissingDataError`, one line naming the path
            and the download command, if the file does not exist.
        ValueError: for an unknown spec or file suffix, or a malformed file (naming it).
    """
    if isinstance(spec, str) and spec.startswith("glove:"):
        if spec != GLOVE_SPEC:
            raise ValueError(f"unknown GloVe spec {spec!r}; available: {GLOVE_SPEC!r}")
        return load_glove_package(**kwargs)
    path = Path(spec).expanduser()
    if not path.exists():
        raise _missing_file_error(path)
    if path.is_dir():
        raise ValueError(f"{path}: a folder, not a word-vector file")
    if _file_kind(path) == "fasttext-bin":
        if kwargs:
            raise TypeError(f"{path}: a fastText .bin takes no options, got {', '.join(sorted(kwargs))}")
        return FastTextBinWordVectors(path)
    return read_vec(path, **kwargs)


def class_word_matrix(word_vectors: WordVectors | str | Path, class_names: Sequence[str]) -> np.ndarray:
    """Label vectors for DeViSE (Frome et al. 2013): one L2-normalised row per class name.

    Args:
        word_vectors: a :class:`WordVectors`, or a spec for :func:`load_word_vectors`.
        class_names: the class names, in label order.

    Returns:
        Float32 array of shape (n_classes, dim) with unit-norm rows.

    Raises:
        UnknownNamesError: listing every class name that cannot be embedded.
    """
    if not isinstance(word_vectors, WordVectors):
        word_vectors = load_word_vectors(word_vectors)
    return word_vectors.embed_names(class_names, normalize=True)


def describe_word_vector_file(path: str | Path, max_lines: int | None = None) -> dict[str, Any]:
    """Summarise and check a word-vector file, for ``python -m utils.datasets check``.

    A ``.vec`` file is read through (every line's values are counted and parsed: about 70 µs per
    300-d line, some 2.5 minutes for the 2M lines of ``cc.en.300.vec``; ``max_lines`` checks fewer).
    A ``.bin`` file's header and dictionary are parsed without loading the model
    (:func:`read_fasttext_header`: about 1.5 s for 2M words).

    Args:
        path: a ``.bin``, ``.vec`` or ``.txt`` file.
        max_lines: check only this many word lines of a text file (``None``: all).

    Returns:
        A JSON-friendly dict: ``file_format`` (``"fasttext-bin"`` or ``"vec"``; not called ``format``,
        which the checker sets to ``"word-vectors"``), ``dim``, ``n_words`` (for ``.bin``: the model's
        vocabulary size; for text: the lines read), ``sample_words``; for ``.bin`` also ``model``,
        ``minn``, ``maxn``, ``bucket``, ``quantized``; for text also ``header`` (whether it has one).

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: naming the file (and line), if it is malformed or of an unknown format.
    """
    path = Path(path)
    if not path.exists():
        raise _missing_file_error(path)
    if _file_kind(path) == "fasttext-bin":
        header = read_fasttext_header(path)
        return {
            "file_format": "fasttext-bin",
            "dim": header["dim"],
            "n_words": header["n_words"],
            "sample_words": header["sample_words"],
            **{key: header[key] for key in ("model", "minn", "maxn", "bucket", "quantized")},
        }
    header_optional = _header_optional(path)
    dim = n_words = 0
    has_header = False
    sample_words: list[str] = []
    for line_number, header, word, fields in _iter_vec_lines(path, header_optional, max_lines, None):
        if header is not None:
            has_header, dim = header[0] is not None, header[1]
            continue
        _parse_values(path, line_number, fields)
        n_words += 1
        if len(sample_words) < SAMPLE_WORDS:
            sample_words.append(word.decode("utf-8", "replace"))
    return {
        "file_format": "vec",
        "dim": dim,
        "n_words": n_words,
        "sample_words": sample_words,
        "header": has_header,
    }
