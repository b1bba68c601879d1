"""Train a tiny fastText skipgram model and save it as ``.bin``: ``python _train_tiny_fasttext.py CORPUS OUT``.

Run in a subprocess by ``test_word_vectors.py``: training a second model in one process can fail
with ``RuntimeError: Encountered NaN`` (see shared/ENVIRONMENT.md). ``bucket=20000`` keeps the file
at about 1.3 MB (the default 2M buckets would make it hundreds of MB). Training with ``maxn=0`` (no
subwords) fails with ``Encountered NaN`` in fasttext-numpy2 0.10.4, even in a fresh process, so the
tests make a model without subwords by editing this one's header instead.
"""

import sys

import fasttext


def main(corpus: str, output: str) -> None:
    model = fasttext.train_unsupervised(
        corpus,
        model="skipgram",
        dim=16,
        epoch=20,
        minCount=1,
        bucket=20000,
        minn=3,
        maxn=5,
        thread=1,
        verbose=0,
    )
    model.save_model(output)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
