"""Class and attribute names as words: splitting, spelling aliases, and the words a name needs.

:func:`split_name` lower-cases a name and splits it on ``+`` (AwA2: ``giant+panda``), ``_``
(CIFAR-100: ``aquarium_fish``) and whitespace (``killer whale``). :data:`NAME_ALIASES` maps words
that real vocabularies lack (AwA2's ``quadrapedal``, ``longneck``) to words they have.
:func:`vocabulary_for_names` lists every vocabulary entry a set of names may need, so a loader can
keep only those. :class:`UnknownNamesError` lists every name that cannot be embedded.

Nothing here reads a file or holds a vector; :mod:`utils.word_vectors.base` turns names into vectors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from utils.errors import ProjectError

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


class UnknownNamesError(ProjectError, KeyError):
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
