"""fastText binary models (``cc.en.300.bin``; Bojanowski et al., "Enriching Word Vectors with Subword
Information", TACL 2017).

:func:`read_fasttext_header` parses and checks a ``.bin`` file's header and dictionary without
loading the model. :class:`FastTextBinWordVectors` wraps the ``fasttext`` bindings
(``fasttext-numpy2``): the multi-gigabyte model is loaded lazily, on first use, and once per process
(:func:`_load_fasttext_model`, cached in ``_FASTTEXT_MODELS``). Words outside the vocabulary get a
vector from their character n-grams.

The module is called ``fasttext_bin``, not ``fasttext``, so that ``import fasttext`` always means the
third-party bindings.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from utils.word_vectors.base import SAMPLE_WORDS, WordVectorFormatError, WordVectors

FASTTEXT_PACKAGE = "fasttext-numpy2"

FASTTEXT_MAGIC = 793712314
FASTTEXT_VERSIONS = (11, 12)
FASTTEXT_MODEL_NAMES = {1: "cbow", 2: "skipgram", 3: "supervised"}
FASTTEXT_LOSS_NAMES = {1: "hs", 2: "ns", 3: "softmax", 4: "ova"}


class _BinaryReader:
    """Buffered little-endian reads with a clear error for a file that ends too early."""

    def __init__(self, file: BinaryIO, path: Path, chunk_size: int = 1 << 20) -> None:
        self.file, self.path, self.chunk_size = file, path, chunk_size
        self.buffer = b""
        self.position = 0
        self.consumed = 0

    def _fill(self, at_least: int) -> None:
        while len(self.buffer) - self.position < at_least:
            chunk = self.file.read(max(self.chunk_size, at_least))
            if not chunk:
                raise WordVectorFormatError(
                    self.path, "file ends too early for a fastText model (truncated?)"
                )
            self.consumed += self.position
            self.buffer = self.buffer[self.position :] + chunk
            self.position = 0

    def unpack(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        self._fill(size)
        values = struct.unpack_from(fmt, self.buffer, self.position)
        self.position += size
        return values

    def cstring(self, limit: int = 1 << 16) -> bytes:
        while (end := self.buffer.find(b"\0", self.position)) < 0:
            if len(self.buffer) - self.position > limit:
                raise WordVectorFormatError(self.path, "unterminated word in the fastText dictionary")
            self._fill(len(self.buffer) - self.position + 1)
        word = self.buffer[self.position : end]
        self.position = end + 1
        return word

    def tell(self) -> int:
        return self.consumed + self.position


def read_fasttext_header(path: str | Path, sample_words: int = SAMPLE_WORDS) -> dict[str, Any]:
    """Read and check the header and dictionary of a fastText ``.bin`` model without loading it.

    Parses the layout fastText writes (``FastText::saveModel``): magic number and version, the
    training arguments, the dictionary (each entry a NUL-terminated word, a count and a type), and
    the shape of the input matrix, whose size is checked against the file size. This takes about a
    second for ``cc.en.300.bin`` (7 GB, 2M words), where loading the model takes a minute.

    Args:
        path: the ``.bin`` file.
        sample_words: how many of the first (most frequent) words to return.

    Returns:
        A dict with ``dim``, ``n_words`` (vocabulary size, labels excluded), ``n_labels``, ``model``
        (``skipgram``, ``cbow`` or ``supervised``), ``loss``, ``minn``, ``maxn``, ``bucket``,
        ``quantized`` and ``sample_words``.

    Raises:
        WordVectorFormatError: a :class:`ValueError` naming the file, if it is not a fastText model
            or is truncated.
    """
    path = Path(path)
    with open(path, "rb") as file:
        reader = _BinaryReader(file, path)
        magic, version = reader.unpack("<ii")
        if magic != FASTTEXT_MAGIC or version not in FASTTEXT_VERSIONS:
            raise WordVectorFormatError(
                path,
                f"not a fastText .bin model (magic number {magic}, version {version}; expected "
                f"{FASTTEXT_MAGIC}, version {' or '.join(map(str, FASTTEXT_VERSIONS))})",
            )
        dim, _ws, _epoch, _min_count, _neg, _word_ngrams, loss, model, bucket, minn, maxn, _lr_update, _t = (
            reader.unpack("<12id")
        )
        size, n_words, n_labels, _n_tokens, prune_size = reader.unpack("<iiiqq")
        if not (0 < dim <= 100_000 and 0 <= n_words <= size and n_words + n_labels == size and bucket >= 0):
            raise WordVectorFormatError(
                path,
                f"implausible fastText header (dim {dim}, {n_words} words, {n_labels} labels, bucket {bucket})",
            )
        words = []
        for _ in range(size):
            word = reader.cstring()
            _count, entry_type = reader.unpack("<qb")
            if entry_type == 0 and len(words) < sample_words:
                words.append(word.decode("utf-8", "replace"))
        if prune_size > 0:
            reader.unpack(f"<{2 * prune_size}i")
        (quantized,) = reader.unpack("<?")
        if not quantized:
            rows, columns = reader.unpack("<qq")
            expected_rows = n_words + (prune_size if prune_size >= 0 else bucket)
            if columns != dim or rows != expected_rows:
                raise WordVectorFormatError(
                    path, f"input matrix is {rows} × {columns}, expected {expected_rows} × {dim}"
                )
            needed = reader.tell() + rows * columns * 4
            actual = path.stat().st_size
            if actual < needed:
                raise WordVectorFormatError(
                    path, f"truncated: {actual} bytes, the input matrix alone needs {needed} (download again)"
                )
    return {
        "dim": dim,
        "n_words": n_words,
        "n_labels": n_labels,
        "model": FASTTEXT_MODEL_NAMES.get(model, f"unknown ({model})"),
        "loss": FASTTEXT_LOSS_NAMES.get(loss, f"unknown ({loss})"),
        "minn": minn,
        "maxn": maxn,
        "bucket": bucket,
        "quantized": bool(quantized),
        "sample_words": words,
    }


_FASTTEXT_MODELS: dict[tuple[str, int, int], Any] = {}


def _load_fasttext_model(path: Path) -> Any:
    """``fasttext.load_model(path)``, once per process for the same unchanged file."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _FASTTEXT_MODELS:
        try:
            import fasttext
        except ImportError:
            raise ModuleNotFoundError(
                f"reading {path} needs the fastText bindings: pip install {FASTTEXT_PACKAGE}"
            ) from None
        _FASTTEXT_MODELS[key] = fasttext.load_model(str(path))
    return _FASTTEXT_MODELS[key]


class FastTextBinWordVectors(WordVectors):
    """A fastText ``.bin`` model (Bojanowski et al. 2017), with subword vectors for unknown words.

    Construction only reads and checks the file's header (:func:`read_fasttext_header`); the model
    itself (about a minute and 7 GB of memory for ``cc.en.300.bin``) is loaded by the ``fasttext``
    bindings on first use and shared by every instance for the same file in the process.

    A word outside the vocabulary gets the mean of its character n-gram vectors (``minn`` to
    ``maxn`` characters, ``get_word_vector``); a model trained with ``maxn=0`` has no subwords and
    :meth:`word_vector` raises :class:`KeyError` for such words. Multi-word names use the bindings'
    ``get_sentence_vector``, the mean of the L2-normalised word vectors.

    Args:
        path: the ``.bin`` file.

    Attributes:
        path: the file.
        header: what :func:`read_fasttext_header` found (``dim``, ``n_words``, ``minn``, ``maxn``, ...).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.header = read_fasttext_header(self.path)
        self.dim = int(self.header["dim"])
        self.source = str(self.path)
        self.has_subwords = self.header["maxn"] > 0
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The ``fasttext`` bindings' model object (loaded on first access)."""
        if self._model is None:
            self._model = _load_fasttext_model(self.path)
        return self._model

    @property
    def words(self) -> list[str]:
        """The model's vocabulary, most frequent first."""
        return list(self.model.words)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.model.get_word_id(word) >= 0

    def word_vector(self, word: str) -> np.ndarray:
        """``get_word_vector(word)``, of shape (dim,): stored, or built from subwords when unknown.

        Raises:
            KeyError: for a word outside the vocabulary of a model without subwords, or with
                whitespace (which fastText cannot look up).
        """
        if len(word.encode("utf-8").split()) != 1:
            raise KeyError(f"{word!r} is not one word: fastText looks up words without whitespace")
        if not (self.has_subwords or word in self):
            raise KeyError(f"{word!r} is not in the vocabulary of {self.source} (a model without subwords)")
        return np.asarray(self.model.get_word_vector(word), dtype=np.float32)

    def combine_words(self, words: Sequence[str]) -> np.ndarray:
        """``get_sentence_vector`` of the words joined by spaces: the mean of their unit vectors."""
        if not self.has_subwords:
            for word in words:
                self.word_vector(word)  # KeyError for unknown words, rather than a silent zero
        return np.asarray(self.model.get_sentence_vector(" ".join(words)), dtype=np.float32)
