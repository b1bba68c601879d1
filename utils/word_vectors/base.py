"""The :class:`WordVectors` interface, in-memory :class:`VecWordVectors`, and the vector maths they use.

Every backend (``.vec`` text, the GloVe package, fastText ``.bin``) is a :class:`WordVectors`: it
answers ``word in vectors`` and :meth:`WordVectors.word_vector`, and inherits from this class how a
whole class name becomes one vector. :class:`VecWordVectors` holds a word list and a matrix (what
:func:`utils.word_vectors.read_vec` and :func:`utils.word_vectors.load_glove_package` return).
:class:`WordVectorFormatError` is the error every reader raises for a malformed file.

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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from utils.errors import DatasetFormatError
from utils.word_vectors.names import NAME_ALIASES, UnknownNamesError, split_name

SAMPLE_WORDS = 5


class WordVectorFormatError(DatasetFormatError):
    """A malformed word-vector file; the message names the file and, where it applies, the line.

    A :class:`~utils.errors.DatasetFormatError` (so a :class:`ValueError`), in one line.

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
