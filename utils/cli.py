"""The one error boundary of every ``python -m utils.…`` command line.

Every entry point decorates its ``main(argv)`` with :func:`cli_entry` (or calls :func:`run_cli`) and builds its
parser with :class:`ArgumentParser`. Then a known failure is ONE line on stderr naming the file or setting,
exit status 2::

    $ ZSL_DEVICE=cuda python -m utils.stages.sdl train --profile smoke
    error: ZSL_DEVICE='cuda' requested but torch sees no CUDA device; available: cpu

Known failures: the project's own errors (every :class:`~utils.errors.ProjectError`: a data file at fault, a
missing data set, a bad setting, the split scripts' ``CopyError``/``MoveError``, ``utils.download``'s
``DownloadError``, :class:`CliError`, ...), every ``OSError``, image decoding errors (``PIL.UnidentifiedImageError``,
``PIL.Image.DecompressionBombError``), any ``ValueError`` and bad command-line arguments.
``--debug`` (accepted anywhere on every command line) or ``ZSL_DEBUG=1`` adds the traceback. Anything else is
a bug and keeps its traceback. ``Ctrl-C`` is one line too, exit status 130. A ``main`` returning 0 (success)
or 1 (the split scripts' conflicts) keeps its status.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from utils.errors import ProjectError

__all__ = [
    "EXIT_OK", "EXIT_CONFLICTS", "EXIT_ERROR", "EXIT_INTERRUPTED", "DEBUG_FLAG", "DEBUG_VARIABLE",
    "ArgumentParser", "CliError", "UsageError", "cli_entry", "debug_requested",
    "describe_error", "positive_int", "run_cli", "split_debug_flag",
]

EXIT_OK = 0
EXIT_CONFLICTS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

DEBUG_FLAG = "--debug"
DEBUG_VARIABLE = "ZSL_DEBUG"

MainFunction = Callable[[Sequence[str] | None], int | None]


class CliError(ProjectError):
    """A failure a command line reports as its one line (the message names the file or setting)."""


class UsageError(CliError):
    """A bad command-line argument (what :class:`ArgumentParser` raises instead of printing its usage)."""


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line and that lists ``--debug`` in its help.

    A bad argument raises :class:`UsageError` (the boundary prints ``PROG: error: MESSAGE``, exit 2, and
    ``PROG --help`` shows the usage) instead of printing the usage and exiting. Sub-parsers are of the same
    class, so they behave alike. ``--debug`` is taken off the command line by :func:`run_cli` before parsing;
    it is added here only so that ``--help`` shows it.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument(
            DEBUG_FLAG, action="store_true", help=f"show the traceback of an error (also {DEBUG_VARIABLE}=1)"
        )

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def positive_int(text: str) -> int:
    """``argparse`` type: an integer of at least 1 (``--top-k 0`` and ``--top-k -3`` are errors)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def split_debug_flag(argv: Sequence[str]) -> tuple[list[str], bool]:
    """``argv`` without ``--debug`` (anywhere before a ``--``), and whether it was there."""
    arguments, found, rest = [], False, False
    for argument in argv:
        if not rest and argument == DEBUG_FLAG:
            found = True
            continue
        rest = rest or argument == "--"
        arguments.append(argument)
    return arguments, found


def debug_requested(argv: Sequence[str] | None = None) -> bool:
    """Whether tracebacks are wanted: ``--debug`` in ``argv`` or ``$ZSL_DEBUG`` set to something true."""
    flag = os.environ.get(DEBUG_VARIABLE, "").strip().lower() not in ("", "0", "false", "no", "off")
    return flag or (argv is not None and split_debug_flag(argv)[1])


def _known_error_types() -> tuple[type[BaseException], ...]:
    """The error types reported as one line: the project's own, and the built-in and PIL ones bad input raises.

    ``OSError`` covers missing files and PIL's truncated images; ``ValueError`` a library's refusal of a value."""
    known: list[type[BaseException]] = [ProjectError, OSError, ValueError, EOFError]
    try:
        from PIL import Image, UnidentifiedImageError

        known += [UnidentifiedImageError, Image.DecompressionBombError]
    except ImportError:  # pragma: no cover - PIL is a requirement
        pass
    return tuple(known)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe_error(error: BaseException) -> str | None:
    """The one line reporting ``error``, or ``None`` if it is not a known failure (a bug: keep the traceback)."""
    if not isinstance(error, _known_error_types()):
        return None
    if isinstance(error, OSError) and not isinstance(error, ProjectError):  # a project error names its file itself
        from utils.fileops import describe_os_error

        text = describe_os_error(error)
        if error.filename and str(error.filename) not in text:
            text = f"{error.filename}: {text}"
        if not text.strip():
            text = type(error).__name__
        return _one_line(text)
    return _one_line(str(error)) or type(error).__name__


def run_cli(main: MainFunction, argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run ``main(argv)`` inside the error boundary; return its exit status.

    Args:
        main: the entry point; it returns the exit status (``None`` counts as 0) and may raise.
        argv: the arguments (default ``sys.argv[1:]``); ``--debug`` is taken out before ``main`` sees them.
        prog: the command's name, for the ``Ctrl-C`` line (default ``main``'s module).

    Returns:
        ``main``'s status; 2 for a known failure (one line on stderr, the traceback too with ``--debug`` or
        ``ZSL_DEBUG=1``); 130 on ``Ctrl-C``. A ``SystemExit`` (``--help``) passes through.
    """
    arguments, debug_flag = split_debug_flag(list(sys.argv[1:] if argv is None else argv))
    debug = debug_flag or debug_requested()
    prog = prog or f"python -m {getattr(main, '__module__', 'utils')}"
    try:
        status = main(arguments)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        message = describe_error(error)
        if message is None:
            raise
        if debug:
            traceback.print_exc()
        if not isinstance(error, UsageError):
            message = f"error: {message}"
        print(message, file=sys.stderr, flush=True)
        return EXIT_ERROR
    return EXIT_OK if status is None else int(status)


def cli_entry(prog: str) -> Callable[[MainFunction], Callable[[Sequence[str] | None], int]]:
    """Decorator: ``main(argv)`` runs inside :func:`run_cli` (also when a test calls it in-process)::

        @cli_entry("python -m utils.stages.sdl")
        def main(argv=None) -> int: ...

    The undecorated function stays reachable as ``main.__wrapped__``.
    """

    def decorate(main: MainFunction) -> Callable[[Sequence[str] | None], int]:
        @functools.wraps(main)
        def entry(argv: Sequence[str] | None = None) -> int:
            return run_cli(main, argv, prog=prog)

        return entry

    return decorate
