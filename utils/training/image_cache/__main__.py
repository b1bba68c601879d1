"""Entry point of ``python -m utils.training.image_cache`` (see :mod:`utils.training.image_cache.cli`)."""

from utils.training.image_cache.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
