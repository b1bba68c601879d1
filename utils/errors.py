"""The project's error root, at the ground floor: it imports nothing of the project, so every layer can raise these.

Every error the project defines derives from :class:`ProjectError`, so one ``except ProjectError`` (the CLI boundary,
:mod:`utils.cli`) catches them all, and IPython, Jupyter and Colab show any of them as its one line instead of a
traceback. Each keeps the standard-library class it has always been (a ``ValueError``, ``FileNotFoundError``, ...),
so ``except ValueError`` still catches a bad file.

* :class:`PathError` — a file or folder at fault: ``"<path>: <problem>"``. Data files raise its
  :class:`DatasetFormatError`; checkpoints (``utils.training.checkpoints.CheckpointError``), saved search indexes
  (``utils.search.IndexMismatchError``) and word-vector files (``utils.word_vectors.WordVectorFormatError``)
  derive their own errors from it.
* :class:`MissingDataError` — a data set that is not there at all: one line naming the path and how to fetch it,
  from the table :data:`FETCH_HINTS`::

      AwA2 folder not found: data/Animals_with_Attributes2; fetch it with `python -m utils.download awa2` ...

* :class:`ConfigError`, :class:`UnknownFieldError`, :class:`DeviceError` — a setting that makes no sense.
* :func:`library_message` — the one-line clue a third-party library's error gives, for a message of our own.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path


class ProjectError(Exception):
    """The root of every error the project defines: a failure whose message is one line, naming the file or setting.

    Subclasses also derive from the standard-library error they stand for (``ValueError``, ``OSError``, ...).
    """

    def _render_traceback_(self) -> list[str]:
        """What IPython, Jupyter and Colab show instead of a traceback (``InteractiveShell.showtraceback``)."""
        return [f"{type(self).__name__}: {self}"]


class PathError(ProjectError, ValueError):
    """A file or folder at fault: its content or shape is not what it must be (also a ``ValueError``).

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

    def __reduce__(self) -> tuple:
        return type(self), (self.path, self.problem)


class DatasetFormatError(PathError):
    """A data set file is missing or does not follow its format, e.g.
    ``data/awa2/predicate-matrix-binary.txt: row 7 has 84 values, expected 85``.

    A loader never guesses around a malformed file: it raises this error naming the file.
    """


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
"""How to fetch each data set, by key; :class:`MissingDataError` and ``utils.datasets.require_path`` read it."""


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


# ------------------------------------------------------------------------------------ settings


class ConfigError(ProjectError, ValueError):
    """A configuration value that makes no sense: the message names the class (or the environment variable),
    the field, the value and what is allowed, e.g. ``SiameseConfig.epochs = 0: must be at least 1``."""


class UnknownFieldError(ConfigError, TypeError):
    """``for_profile`` got an override that is not a field of the config (also a ``TypeError``)."""


class DeviceError(ConfigError, RuntimeError):
    """A device that torch cannot parse or this machine does not have (also a ``RuntimeError``)."""


# ------------------------------------------------------------------------------------ messages


def library_message(error: BaseException, limit: int = 160) -> str:
    """The first non-empty line of a library's error message (shortened), with its type: the clue, not the story.

    Loaders append it to their own one-line message naming the file, e.g. ``...: RuntimeError: basic_ios::clear``.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else "no message"
    return f"{type(error).__name__}: {text if len(text) <= limit else text[: limit - 1] + '…'}"
