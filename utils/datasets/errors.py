"""Checks a loader runs before it reads: each raises one of the project's data errors (:mod:`utils.errors`).

:func:`require_file` and :func:`require_folder` raise :class:`~utils.errors.DatasetFormatError` naming the path;
:func:`require_path` and :func:`require_data` raise :class:`~utils.errors.MissingDataError` when a data set is not
there at all: one line naming the path and the command or page that fetches it
(:data:`~utils.errors.FETCH_HINTS`)::

    AwA2 folder not found: data/Animals_with_Attributes2; fetch it with `python -m utils.download awa2` ...
"""

from __future__ import annotations

from pathlib import Path

from utils.errors import FETCH_HINTS, DatasetFormatError, MissingDataError, fetch_hint, missing_data_message


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

    Keys are data sets of :data:`~utils.errors.FETCH_HINTS` (``awa2``, ``xlsa17``, ``cifar100``, ``nus_wide``,
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
