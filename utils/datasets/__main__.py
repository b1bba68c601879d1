"""Entry point of ``python -m utils.datasets`` (see :mod:`utils.datasets.check`)."""

import sys

from utils.datasets.check import main

if __name__ == "__main__":
    sys.exit(main())
