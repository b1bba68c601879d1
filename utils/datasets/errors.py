"""The one error every loader in :mod:`utils.datasets` raises for bad input.

A loader never guesses around a malformed file: it raises :class:`DatasetFormatError`, whose message
always starts with the offending file and says what is wrong, e.g.::

    data/awa2/predicate-matrix-binary.txt: row 7 has 84 values, expected 85

A data set that is not there at all raises :class:`MissingDataError` (a ``FileNotFoundError`` and a
``DatasetFormatError``) instead: one line naming the path and the command or page that fetches it,
from the table :data:`FETCH_HINTS`; :func:`require_path` raises it::

    AwA2 folder not found: data/Animals_with_Attributes2; fetch it with `python -m utils.download awa2` ...
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path


class DatasetFormatError(ValueError):
    """A data set file is missing or does not follow its format.

    Args:
        path: the file (or folder) at fault; it opens the message.
        problem: what is wrong with it, in words.

    Attributes:
        path: the file (or folder) at fault.
        problem: what is wrong with it.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def require_file(path: str | Path, what: str = "file") -> Path:
    """``path`` as a :class:`~pathlib.Path` if it is an existing file.

    Raises:
        DatasetFormatError: naming ``path`` if it is missing or is not a file.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(path, f"{what} not found" if not path.exists() else f"{what} is not a file")
    return path


def require_folder(path: str | Path, what: str = "folder") -> Path:
    """``path`` as a :class:`~pathlib.Path` if it is an existing folder.

    Raises:
        DatasetFormatError: naming ``path`` if it is missing or is not a folder.
    """
    path = Path(path)
    if not path.is_dir():
        raise DatasetFormatError(
            path, f"{what} not found" if not path.exists() else f"{what} is not a folder"
        )
    return path


# ------------------------------------------------------------------------------------ missing data


@dataclass(frozen=True)
class FetchHint:
    """How to obtain one data set: a default description and one sentence saying how to fetch it.

    Attributes:
        what: what is missing, in words (the message's default subject), e.g. ``"AwA2 folder"``.
        how: how to fetch it, one sentence without a final full stop.
    """

    what: str
    how: str


NUSWIDE_PAGE = "https://lms.comp.nus.edu.sg/wp-content/uploads/2019/research/nuswide/NUS-WIDE.html"
ZS_SDL_REPOSITORY = "https://github.com/Alibaba-MIIL/ZS_SDL"

FETCH_HINTS: dict[str, FetchHint] = {
    "awa2": FetchHint(
        "AwA2 folder",
        "fetch it with `python -m utils.download awa2` (or `awa2-base` without images), which writes "
        "$ZSL_DATA_DIR/Animals_with_Attributes2",
    ),
    "xlsa17": FetchHint(
        "xlsa17 data",
        "fetch it with `python -m utils.download xlsa17`, which writes $ZSL_DATA_DIR/xlsa17/data/<DATASET>/"
        "{att_splits.mat,res101.mat}",
    ),
    "cifar100": FetchHint(
        "CIFAR-100 folder",
        "fetch it with `python -m utils.download cifar100`, which writes $ZSL_DATA_DIR/cifar-100-python",
    ),
    "fasttext": FetchHint(
        "word-vector file",
        "fetch fastText vectors with `python -m utils.download fasttext` (cc.en.300.bin) or "
        "`python -m utils.download fasttext-vec` (cc.en.300.vec), or use the spec 'glove:6B-50d'",
    ),
    "nus_wide": FetchHint(
        "NUS-WIDE folder",
        f"download the Flickr images from {NUSWIDE_PAGE} into $ZSL_DATA_DIR/nus_wide/images/ and write "
        "nus_wide/labels.csv ('image,labels,split' rows, see utils/stages/sdl.py); the label vectors come from "
        f"{ZS_SDL_REPOSITORY} (data/NUS_WIDE)",
    ),
    "nus_wide_label_vectors": FetchHint(
        "NUS-WIDE label-vector folder",
        "copy wordvec_array.pickle, classes.pickle and unseen_classes.pickle from "
        f"{ZS_SDL_REPOSITORY} (data/NUS_WIDE) into $ZSL_DATA_DIR/ZS_SDL/data/NUS_WIDE/",
    ),
}
"""How to fetch each data set, by key; :class:`MissingDataError` and :func:`require_path` read it."""


def fetch_hint(dataset_key: str) -> str:
    """The sentence saying how to fetch ``dataset_key`` (a key of :data:`FETCH_HINTS`).

    Raises:
        KeyError: naming the known keys, for an unknown key.
    """
    try:
        return FETCH_HINTS[dataset_key].how
    except KeyError:
        raise KeyError(f"unknown data set {dataset_key!r}; known: {', '.join(FETCH_HINTS)}") from None


def missing_data_message(
    path: str | Path, dataset_key: str | None, what: str | None = None, how: str | None = None
) -> str:
    """One line: what is missing, its path, and how to fetch it.

    Args:
        path: the missing file or folder.
        dataset_key: a key of :data:`FETCH_HINTS` (gives the default ``what`` and ``how``), or None
            when both ``what`` and ``how`` are given.
        what: what is missing, in words (default: the hint's).
        how: how to fetch it (default: the hint's).

    Returns:
        e.g. ``"AwA2 folder not found: data/Animals_with_Attributes2; fetch it with `python -m utils.download awa2` ..."``
    """
    hint = None
    if dataset_key is not None:
        fetch_hint(dataset_key)  # raises the KeyError naming the known keys
        hint = FETCH_HINTS[dataset_key]
    what = what or (hint.what if hint else "data")
    how = how or (hint.how if hint else "")
    message = f"{what} not found: {path}" + (f"; {how}" if how else "")
    return " ".join(message.split())


class MissingDataError(FileNotFoundError, DatasetFormatError):
    """A data set (file or folder) does not exist at all: one line naming it and how to fetch it.

    A :class:`FileNotFoundError` (``errno`` ENOENT, ``filename`` the path) and also a
    :class:`DatasetFormatError`, so code that turns data set errors into one line keeps doing so.
    ``str(error)`` is one line; :meth:`_render_traceback_` makes IPython, Jupyter and Colab show that
    line instead of a traceback.

    Args:
        path: the missing file or folder.
        dataset_key: a key of :data:`FETCH_HINTS` (``awa2``, ``xlsa17``, ``cifar100``, ``fasttext``,
            ``nus_wide``, ``nus_wide_label_vectors``), or None with ``what`` and ``how`` given.
        what: what is missing, in words (default: the hint's).
        how: how to fetch it (default: the hint's).

    Attributes:
        path, dataset_key, what, how: as given (``what``/``how`` resolved from the hint).
        message: the one-line message.
    """

    def __init__(
        self,
        path: str | Path,
        dataset_key: str | None = None,
        what: str | None = None,
        how: str | None = None,
    ) -> None:
        self.message = missing_data_message(path, dataset_key, what, how)
        hint = FETCH_HINTS.get(dataset_key) if dataset_key is not None else None
        FileNotFoundError.__init__(self, errno.ENOENT, self.message, str(path))
        self.path = Path(path)
        self.problem = self.message
        self.dataset_key = dataset_key
        self.what = what or (hint.what if hint else "data")
        self.how = how or (hint.how if hint else "")

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (type(self), (self.path, self.dataset_key, self.what, self.how))

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback (``InteractiveShell.showtraceback``): the one line."""
        return [f"{type(self).__name__}: {self.message}"]


def require_path(
    path: str | Path, dataset_key: str | None, what: str | None = None, kind: str | None = None
) -> Path:
    """``path`` as a :class:`~pathlib.Path` if it exists (and is a ``kind``: ``"file"`` or ``"folder"``).

    Raises:
        MissingDataError: naming ``path`` and how to fetch ``dataset_key``, if nothing is there.
        DatasetFormatError: naming ``path``, if it exists but is not a ``kind``.
    """
    path = Path(path)
    if not path.exists():
        raise MissingDataError(path, dataset_key, what)
    label = what or (FETCH_HINTS[dataset_key].what if dataset_key in FETCH_HINTS else "path")
    if kind == "file" and not path.is_file():
        raise DatasetFormatError(path, f"{label} is not a file")
    if kind == "folder" and not path.is_dir():
        raise DatasetFormatError(path, f"{label} is not a folder")
    return path


WORD_VECTOR_SPEC_PREFIX = "glove:"
"""Word-vector specs that name an installed package, not a file (``utils.word_vectors.load_word_vectors``)."""


def require_data(**paths_by_dataset: str | Path | None) -> dict[str, Path]:
    """Check, before a notebook cell reads anything, that every data set it needs is there.

    Keys are data sets of :data:`FETCH_HINTS` (``awa2``, ``xlsa17``, ``cifar100``, ``nus_wide``,
    ``nus_wide_label_vectors``, ``fasttext``) or ``word_vectors`` (a ``.vec``/``.bin`` file, fetched as
    ``fasttext``; a ``glove:`` spec names an installed package and is not checked). ``None`` means the
    profile needs nothing there (e.g. the sample world stands in)::

        require_data(awa2=config.awa2_dir, word_vectors=config.word_vectors)

    Returns:
        ``{data set: path}`` of what was checked.

    Raises:
        MissingDataError: one line naming every missing path and how to fetch each.
    """
    checked, missing = {}, []
    for key, path in paths_by_dataset.items():
        if path is None or str(path).startswith(WORD_VECTOR_SPEC_PREFIX):
            continue
        hint_key = "fasttext" if key == "word_vectors" else key
        fetch_hint(hint_key)  # an unknown key is a programming error: KeyError naming the known ones
        if Path(path).exists():
            checked[key] = Path(path)
        else:
            missing.append((Path(path), hint_key))
    if len(missing) == 1:
        raise MissingDataError(*missing[0])
    if missing:
        first_path, first_key = missing[0]
        others = "; and ".join(missing_data_message(path, key) for path, key in missing[1:])
        raise MissingDataError(first_path, first_key, how=f"{fetch_hint(first_key)}; and {others}")
    return checked


def library_message(error: BaseException, limit: int = 160) -> str:
    """The first non-empty line of a library's error message (shortened), with its type: the clue, not the story.

    Loaders append it to their own one-line message naming the file, e.g. ``...: RuntimeError: basic_ios::clear``.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else "no message"
    return f"{type(error).__name__}: {text if len(text) <= limit else text[: limit - 1] + '…'}"
