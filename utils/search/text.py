"""Free text as query vectors: text → image search embeds the words of a query with word vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def embed_text_queries(word_vectors: Any, texts: Sequence[str]) -> np.ndarray:
    """Free-text queries (``"spotted big cat"``) as unit vectors in the word-vector space.

    Uses :meth:`utils.word_vectors.WordVectors.embed_names`: several words give the mean of their
    unit vectors, the fastText sentence-vector convention, as class names do in DeViSE training.

    Args:
        word_vectors: a :class:`utils.word_vectors.WordVectors`.
        texts: the queries.

    Returns:
        Float32 array of shape (n_texts, word_vectors.dim) with unit-norm rows.

    Raises:
        UnknownNamesError: listing every text with a word that cannot be embedded.
    """
    return word_vectors.embed_names(list(texts), normalize=True)

