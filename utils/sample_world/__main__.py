"""``python -m utils.sample_world``: write ``data_samples/`` (see :mod:`utils.sample_world.generator`)."""

import sys

from utils.sample_world.generator import main

if __name__ == "__main__":
    sys.exit(main())
