"""fastText ``.vec`` and GloVe ``.txt`` text files (optionally ``.gz``), and checked ``.npy`` arrays.

A ``.vec`` file (Bojanowski et al. 2017; fastText's ``-saveVectors``) has a ``"<n_words> <dim>"``
header, then ``word v1 ... v_dim`` per line; GloVe's ``.txt`` files (Pennington et al. 2014) have no
header. :func:`read_vec` streams either into a :class:`~utils.word_vectors.base.VecWordVectors`,
optionally keeping only ``max_words`` lines or a ``vocabulary``; :func:`write_vec` writes one.
:func:`read_npy` reads a ``.npy`` array (never unpickled) after checking it against its header.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from utils.errors import DatasetFormatError, library_message
from utils.word_vectors.base import VecWordVectors, WordVectorFormatError

VEC_SIGNIFICANT_DIGITS = 6
"""Significant digits :func:`write_vec` writes. A round trip through :func:`write_vec` and
:func:`read_vec` keeps every value within a relative error of ``5e-6`` (half a unit in the sixth
digit, plus float32 rounding): ``np.allclose(read, written, rtol=1e-5, atol=0)`` holds."""
VEC_ROUND_TRIP_RTOL = 1e-5

TEXT_SUFFIXES = (".vec", ".txt")


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
        error: the :class:`~utils.errors.DatasetFormatError` (sub)class to raise, called as
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
