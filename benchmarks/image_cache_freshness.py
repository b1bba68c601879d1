"""What the image cache's freshness check costs per image, against decoding the image it saves.

An entry of :class:`utils.training.image_cache.ImageCache` is fresh while the source's size, ``mtime_ns``,
``ctime_ns`` and inode are the recorded ones (one ``os.stat``, made anyway) and the cached file has its recorded
size (one more ``stat``); only where the stat changed is the source hashed again (SHA-256) and compared with the hash
recorded at build. This benchmark writes ``--images`` photo-like 1024 x 768 JPEGs (AwA2's ~1000 x 750, as
:mod:`benchmarks.loader_bench` writes them), builds their cache, and times per image, best of ``--repeats``:

* the stat check: :meth:`ImageCache.resolve` of every path, every entry fresh;
* the content check: :meth:`ImageCache.resolve` after ``os.utime`` changed every source's ``ctime`` (each source
  read and hashed);
* decoding the source: :func:`utils.training.images.read_image` at 224 pixels, what a stale entry costs;
* decoding the cached copy, what a fresh entry costs.

    python -m benchmarks.image_cache_freshness              # 100 images
    python -m benchmarks.image_cache_freshness --quick      # seconds: 10 images
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.loader_bench import write_photos
from utils.training.image_cache import ImageCache
from utils.training.images import read_image


def seconds_per_image(work: Callable[[], object], n_images: int, repeats: int) -> float:
    """The best of ``repeats`` timings of ``work`` (which handles ``n_images`` images), per image."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        timings.append(time.perf_counter() - start)
    return min(timings) / n_images


def measure(n_images: int, repeats: int, image_size: int = 224) -> dict[str, float]:
    """Seconds per image of the stat check, the content check, and decoding the source and the cached copy."""
    with tempfile.TemporaryDirectory() as folder:
        sources = write_photos(Path(folder) / "images", n_images, (1024, 768))
        cache = ImageCache(Path(folder) / "cache")
        cache.build(sources, workers=1, progress=False)
        cached = cache.resolve(sources)
        assert all(path != source for path, source in zip(cached, sources, strict=True)), "every image is cached"

        timings = {"stat check": seconds_per_image(lambda: cache.resolve(sources), n_images, repeats)}
        for source in sources:  # the same times again: only ctime changes, the content check's case
            os.utime(source, ns=(os.stat(source).st_atime_ns, os.stat(source).st_mtime_ns))
        assert cache.resolve(sources) == cached, "the content check keeps every entry fresh"
        timings["content check (stat changed)"] = seconds_per_image(lambda: cache.resolve(sources), n_images, repeats)
        timings["decode source"] = seconds_per_image(lambda: [read_image(path, image_size) for path in sources],
                                                     n_images, repeats)
        timings["decode cached copy"] = seconds_per_image(lambda: [read_image(path, image_size) for path in cached],
                                                          n_images, repeats)
        return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100, help="JPEGs of 1024 x 768 (default 100)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per measure; the best is kept (default 5)")
    parser.add_argument("--quick", action="store_true", help="10 images, 2 repeats")
    args = parser.parse_args(argv)
    n_images, repeats = (10, 2) if args.quick else (args.images, args.repeats)
    timings = measure(n_images, repeats)
    decode_cached = timings["decode cached copy"]
    print(f"{n_images} images of 1024 x 768, best of {repeats}")
    print(f"{'measure':<30} {'µs/image':>10} {'/ decode cached copy':>21}")
    for name, seconds in timings.items():
        print(f"{name:<30} {seconds * 1e6:>10.1f} {seconds / decode_cached:>21.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
