"""Entry point of ``python -m utils.datasets`` (see :mod:`utils.datasets.check`).

:func:`utils.datasets.check.main` reports bad data as one line itself; :func:`utils.cli.run_cli` adds the
shared boundary around it (``--debug`` / ``ZSL_DEBUG=1``, ``Ctrl-C``, anything it does not catch).
"""

import sys

from utils.cli import run_cli
from utils.datasets.check import main

if __name__ == "__main__":
    sys.exit(run_cli(main, prog="python -m utils.datasets"))
