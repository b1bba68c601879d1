"""The one error every loader in :mod:`utils.datasets` raises for bad input.

A loader never guesses around a malformed file: it raises :class:`DatasetFormatError`, whose message
always starts with the offending file and says what is wrong, e.g.::

    data/awa2/predicate-matrix-binary.txt: row 7 has 84 values, expected 85
"""

from __future__ import annotations

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
