"""A one-time cache of the real data sets' images, each resized once to a fixed shorter side.

AwA2's 37 322 JPEGs are about 1000 x 750 pixels; decoding and resizing one to 224 pixels costs about ten
times what decoding the same picture stored at 256 pixels does, and every epoch of every notebook paid it
again. :class:`ImageCache` writes each image once, its shorter side resized to ``shorter_side`` (aspect
ratio kept, never enlarged), as a JPEG of quality :data:`JPEG_QUALITY`, in parallel threads (PIL releases the
GIL while it decodes, resizes and encodes), and maps a source path to its cached file while the source is
unchanged::

    cache = ImageCache(outputs / "cache" / "full" / "images", shorter_side=256)
    cache.build(image_paths)            # in parallel over the cores, with a progress bar; idempotent
    read_paths = cache.resolve(image_paths)   # the cached file where fresh, else the source

Layout: ``<root>/side<N>/manifest.json`` and ``<root>/side<N>/files/<the source's resolved absolute path>``
(the source's own folders and name, ``.jpg`` appended to other suffixes; a source with several hard links,
such as a ``full`` split made with ``--link``, is kept once under ``files/inode/<device>/<inode>.jpg`` for all
its names). The manifest records, for each resolved source path (or inode), the source's size, ``mtime_ns``,
``ctime_ns`` and inode when it was cached, the SHA-256 of the bytes that were decoded, whether a file was written
(a source whose shorter side is already at most ``N`` is read as it is: no file) and the cached file's size.

An entry is fresh while its cached file exists with its recorded size (a cache file truncated after the build is
stale, and the source is read instead) and the source's stat is unchanged. Size and ``mtime_ns`` alone are not
enough: a picture replaced by another of the same size with its modification time restored (``touch -r``,
``rsync -t``, ``cp -p``) keeps both. Its ``ctime_ns`` cannot be restored (the kernel sets it on every write, rename
or ``utime``), so a changed ``ctime_ns`` or inode sends the entry to the content check: the source is hashed again
and the entry stays fresh only if the SHA-256 is the recorded one (a build then records the new stat, so a moved or
re-linked data set is hashed once, not decoded again). The stat check costs nothing beyond the ``os.stat`` that was
already made; the hash is paid only where the stat changed (benchmarks/image_cache_freshness.py measures both
against a decode). A changed side is another folder.
Files are written under a temporary name and renamed (``os.replace``), and an entry enters the manifest
only after its file is complete, so a killed build leaves nothing that :meth:`ImageCache.resolve` returns.

The stages call :func:`cached_image_paths` (or pass :func:`image_cache_for` to
:class:`utils.training.ImageFiles`), driven by the config fields ``image_cache``, ``cache_side`` and
``cache_root``; since the cached pixels differ slightly from a resize of the original, ``image_cache`` and
``cache_side`` are declared to shape every model trained on images (``utils.config``).

``python -m utils.training.image_cache --profile full [--side 256] [--workers N] [--dry-run]`` builds the cache of a
profile's image folders ahead of time (:mod:`utils.training.image_cache.cli`, which knows each notebook's folders).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from utils.config import BaseConfig
from utils.errors import ConfigError

__all__ = [
    "CACHE_VERSION", "DEFAULT_SHORTER_SIDE", "JPEG_QUALITY", "BuildSummary", "ImageCache", "cache_one_image",
    "cached_image_paths", "content_sha256", "default_workers", "image_cache_for", "source_stamp",
]

CACHE_VERSION = 2
"""Layout and encoding of the cached files and of the manifest's entries; a manifest of another version counts as
empty (version 1 recorded only size and ``mtime_ns``: its files are built again, once)."""
DEFAULT_SHORTER_SIDE = 256
"""The cached shorter side for 224-pixel training (the usual resize-then-crop ratio of 256/224)."""
JPEG_QUALITY = 94
"""JPEG quality of the cached files: at 256 pixels a file of about 25 kB that decodes as fast as quality 75
(decoding time follows the pixel count) while its mean pixel error against the resized original stays near
one grey level."""
MANIFEST_NAME = "manifest.json"
INODE_KEY_PREFIX = "inode/"
"""Manifest keys (and folder under ``files/``) of sources with several hard links: ``inode/<device>/<inode>``."""
FLUSH_SECONDS = 5.0
"""A build writes its manifest at least this often, so an interrupted build keeps most of its work."""


def default_workers() -> int:
    """Build processes: the CPU cores this process may use (:func:`utils.runtime.available_cores`)."""
    from utils.runtime import available_cores

    return available_cores()


def _target_size(width: int, height: int, side: int) -> tuple[int, int]:
    """(width, height) with the shorter side exactly ``side`` and the aspect ratio kept."""
    if width <= height:
        return side, max(1, round(height * side / width))
    return max(1, round(width * side / height)), side


def source_stamp(stat: os.stat_result) -> list[int]:
    """What the manifest records of a source's stat: ``[size, mtime_ns, ctime_ns, inode]``."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def content_sha256(data: bytes) -> str:
    """The SHA-256 (hex) of a source's bytes: what an entry whose stat changed is checked against."""
    return hashlib.sha256(data).hexdigest()


def cache_one_image(source: str, target: str, side: int, quality: int = JPEG_QUALITY) -> list[Any]:
    """Write ``source`` resized to shorter side ``side`` as a JPEG at ``target`` (atomically), unless it is small.

    The source is stat-ed before it is read, so a source changed while it was being cached is stale at once; its
    bytes are read once, hashed, and decoded from memory. JPEG sources are decoded at the smallest DCT scale still
    at least the target size (PIL's ``draft``: 1/2 for AwA2's ~1000 x 750 at 256), then resized with a Lanczos
    filter: 2.4 times faster than Lanczos from the full decode, 0.35 grey levels of mean difference (measured on
    1024 x 768 photos; JPEG's own error is larger).

    Returns:
        The manifest entry ``[size, mtime_ns, ctime_ns, inode, sha256, written, cached size]`` (the first four
        from :func:`source_stamp`); ``written`` is False when the source's shorter side is already at most
        ``side`` (nothing is written: the source is read as it is; cached size 0).

    Raises:
        OSError, PIL.UnidentifiedImageError: for an unreadable source or an unwritable target (no partial
            file is left at ``target``).
    """
    from PIL import Image

    stamp = source_stamp(os.stat(source))
    data = Path(source).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if min(width, height) <= side:
            return [*stamp, content_sha256(data), False, 0]
        size = _target_size(width, height, side)
        image.draft("RGB", size)
        resized = image.convert("RGB").resize(size, Image.LANCZOS)
    target_path = Path(target)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = target_path.with_name(f".{target_path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    try:
        resized.save(temporary, format="JPEG", quality=quality)
        cached_size = temporary.stat().st_size
        os.replace(temporary, target_path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return [*stamp, content_sha256(data), True, cached_size]


def _cache_one_job(job: tuple[str, str, str, int, int]) -> tuple[str, list[Any] | None, str | None]:
    """Worker of :meth:`ImageCache.build`: ``(key, result or None, error text or None)``."""
    key, source, target, side, quality = job
    try:
        return key, cache_one_image(source, target, side, quality), None
    except Exception as error:  # one bad image must not stop the build; it is reported and read from source
        return key, None, f"{type(error).__name__}: {error}"


@dataclass
class BuildSummary:
    """What :meth:`ImageCache.build` did.

    Attributes:
        written: images resized and written now.
        small: images whose shorter side is already at most the cache's (read from the source; recorded).
        fresh: images already cached and unchanged (nothing done).
        failed: ``(source, error)`` of images that could not be read or written.
        seconds: wall time of the build.
    """

    written: int = 0
    small: int = 0
    fresh: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def processed(self) -> int:
        return self.written + self.small + len(self.failed)

    @property
    def images_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        text = (f"{self.written} written, {self.small} already small, {self.fresh} fresh, {len(self.failed)} failed "
                f"in {self.seconds:.1f} s")
        if self.processed:
            text += f" ({self.images_per_second:.0f} images/s)"
        return text


class ImageCache:
    """Images resized once to ``shorter_side``, kept under ``root/side<shorter_side>/`` (layout: module docstring).

    Args:
        root: the cache's folder (``<outputs>/image_cache/<run label>`` by default in the stages).
        shorter_side: the cached shorter side in pixels (at least 1).
        quality: JPEG quality of the cached files.

    Raises:
        ValueError: naming ``cache_side`` for a side that is not a positive integer.
    """

    def __init__(self, root: str | Path, shorter_side: int = DEFAULT_SHORTER_SIDE, quality: int = JPEG_QUALITY):
        if isinstance(shorter_side, bool) or not isinstance(shorter_side, int) or shorter_side < 1:
            raise ValueError(f"cache_side = {shorter_side!r}: must be an integer of at least 1")
        self.root, self.shorter_side, self.quality = Path(root), shorter_side, quality
        self.folder = self.root / f"side{shorter_side}"
        self._manifest: dict[str, list[Any]] | None = None
        self._manifest_stamp: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"ImageCache({str(self.root)!r}, shorter_side={self.shorter_side})"

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST_NAME

    # ------------------------------------------------------------------ paths

    @staticmethod
    def key(source: str | Path) -> str:
        """The manifest key of a source: its resolved absolute path (symlinks followed), or, for a file with
        several names (hard links: a ``full`` split made with ``--link`` shares AwA2's files), ``inode/<device>/
        <inode>``, so that the split's name and the data set's name share one cached copy."""
        resolved = os.path.realpath(os.fspath(source))
        try:
            stat = os.stat(resolved)
        except OSError:
            return resolved
        return f"{INODE_KEY_PREFIX}{stat.st_dev}/{stat.st_ino}" if stat.st_nlink > 1 else resolved

    def cached_path(self, source: str | Path) -> Path:
        """Where the cached copy of ``source`` lives (whether or not it exists yet)."""
        key = self.key(source)
        if key.startswith(INODE_KEY_PREFIX):
            return self.folder / "files" / f"{key}.jpg"
        resolved = Path(key)
        relative = resolved.relative_to(resolved.anchor)
        drive = resolved.drive.replace(":", "").strip("\\/")
        target = self.folder / "files" / drive / relative if drive else self.folder / "files" / relative
        if target.suffix.lower() not in (".jpg", ".jpeg"):
            target = target.with_name(target.name + ".jpg")
        return target

    # ------------------------------------------------------------------ manifest

    def _read_manifest_file(self) -> dict[str, list[Any]]:
        try:
            data = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return {}
        if (not isinstance(data, dict) or data.get("version") != CACHE_VERSION
                or data.get("shorter_side") != self.shorter_side or data.get("quality") != self.quality):
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def manifest(self) -> dict[str, list[Any]]:
        """``{resolved source: [size, mtime_ns, ctime_ns, inode, sha256, written, cached size]}`` (the entry
        :func:`cache_one_image` returns), re-read when the file changed on disk."""
        try:
            stat = self.manifest_path.stat()
            stamp = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            stamp = None
        if self._manifest is None or stamp != self._manifest_stamp:
            self._manifest = self._read_manifest_file() if stamp is not None else {}
            self._manifest_stamp = stamp
        return self._manifest

    def _write_manifest(self, updates: dict[str, list[Any]]) -> None:
        """Merge ``updates`` into the manifest on disk (another process may have added entries) and replace it."""
        entries = self._read_manifest_file()
        entries.update(updates)
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.manifest_path.with_name(f".{MANIFEST_NAME}.{os.getpid()}.partial")
        data = {"version": CACHE_VERSION, "shorter_side": self.shorter_side, "quality": self.quality,
                "entries": entries}
        try:
            temporary.write_text(json.dumps(data, separators=(",", ":")))
            os.replace(temporary, self.manifest_path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._manifest, self._manifest_stamp = None, None

    # ------------------------------------------------------------------ state

    def _entry_state(self, source: str | Path, manifest: dict[str, list[Any]]) -> tuple[str, Path | None, bool]:
        """``(state, file, restamp)`` of ``source``: state ``"cached"`` (read ``file``), ``"small"`` (read the
        source) or ``"stale"``; ``restamp`` when the source's stat changed but its content is the recorded one
        (the entry is fresh; a build records the new stat)."""
        entry = manifest.get(self.key(source))
        if not isinstance(entry, list) or len(entry) != 7:
            return "stale", None, False
        try:
            stat = os.stat(source)
        except OSError:
            return "stale", None, False
        size, mtime_ns, ctime_ns, inode, sha256, written, cached_size = entry
        if stat.st_size != size or stat.st_mtime_ns != mtime_ns:
            return "stale", None, False
        restamp = stat.st_ctime_ns != ctime_ns or stat.st_ino != inode
        if restamp:
            try:
                if content_sha256(Path(source).read_bytes()) != sha256:
                    return "stale", None, False
            except OSError:
                return "stale", None, False
        if not written:
            return "small", None, restamp
        target = self.cached_path(source)
        try:
            fresh = target.stat().st_size == cached_size
        except OSError:
            fresh = False
        return ("cached", target, restamp) if fresh else ("stale", None, False)

    def stale(self, paths: Iterable[str | Path]) -> list[Path]:
        """The ``paths`` (each once, in order) that a build would process: not cached, changed, or file missing
        or truncated."""
        return self._stale_and_restamped(paths)[0]

    def _stale_and_restamped(self, paths: Iterable[str | Path]) -> tuple[list[Path], dict[str, list[Any]]]:
        """The stale ``paths``, and the fresh entries whose source's stat changed, with the new stat recorded."""
        manifest, seen, stale, restamped = self.manifest(), set(), [], {}
        for path in paths:
            key = self.key(path)
            if key in seen:
                continue
            seen.add(key)
            state, _, restamp = self._entry_state(path, manifest)
            if state == "stale":
                stale.append(Path(path))
            elif restamp:
                restamped[key] = [*source_stamp(os.stat(path)), *manifest[key][4:]]
        return stale, restamped

    def resolve(self, paths: Iterable[str | Path]) -> list[Path]:
        """The file to read for each of ``paths``: its cached copy where fresh, else the source itself."""
        manifest = self.manifest()
        resolved = []
        for path in paths:
            state, target, _ = self._entry_state(path, manifest)
            resolved.append(target if state == "cached" else Path(path))
        return resolved

    # ------------------------------------------------------------------ build

    def build(
        self, paths: Iterable[str | Path], workers: int | None = None, progress: bool | None = True
    ) -> BuildSummary:
        """Cache every stale image of ``paths``, in parallel; a second call with the same sources writes nothing.

        Args:
            paths: source images.
            workers: processes (default :func:`default_workers`; 1 works in this process).
            progress: a tqdm bar on stderr (``None``: only on a terminal).

        Returns:
            The :class:`BuildSummary`. Images that fail are listed there and stay uncached (read from source).

        With several processes (:mod:`utils.training.distributed`) rank 0 builds first while the others wait, then
        they find its entries fresh: no two processes write one file (every rank must call it).
        """
        from utils.training.distributed import main_process_first

        with main_process_first():
            return self._build(paths, workers, progress)

    def _build(self, paths: Iterable[str | Path], workers: int | None, progress: bool | None) -> BuildSummary:
        start = time.perf_counter()
        paths = list(paths)
        stale, restamped = self._stale_and_restamped(paths)
        if restamped:
            self._write_manifest(restamped)
        summary = BuildSummary(fresh=len({self.key(path) for path in paths}) - len(stale))
        if not stale:
            summary.seconds = time.perf_counter() - start
            return summary
        from tqdm import tqdm

        from utils.fileops import progress_disabled

        jobs = [(self.key(path), str(path), str(self.cached_path(path)), self.shorter_side, self.quality)
                for path in stale]
        source_of = {job[0]: job[1] for job in jobs}  # failures name the file, not an inode key
        workers = max(1, min(workers or default_workers(), -(-len(jobs) // 16)))
        pending: dict[str, list[Any]] = {}
        last_flush = time.perf_counter()
        bar = tqdm(total=len(jobs), desc=f"image cache {self.shorter_side}px", unit="img", file=sys.stderr,
                   disable=progress_disabled(progress), smoothing=0.05)
        try:
            for key, result, error in self._run(jobs, workers):
                if result is None:
                    summary.failed.append((source_of[key], error or "unknown error"))
                else:
                    pending[key] = result
                    written = result[5]
                    if written:
                        summary.written += 1
                    else:
                        summary.small += 1
                bar.update(1)
                if pending and time.perf_counter() - last_flush > FLUSH_SECONDS:
                    self._write_manifest(pending)
                    pending, last_flush = {}, time.perf_counter()
        finally:
            bar.close()
            if pending:
                self._write_manifest(pending)
        summary.seconds = time.perf_counter() - start
        return summary

    @staticmethod
    def _run(jobs: Sequence[tuple[str, str, str, int, int]], workers: int):
        if workers == 1:
            yield from map(_cache_one_job, jobs)
            return
        from concurrent.futures import ThreadPoolExecutor

        # Threads, not processes: PIL releases the GIL while it decodes, resizes and encodes, so threads use every
        # core without a process start-up, pickling, or the re-import of ``__main__`` that spawned workers do
        # (which breaks scripts without a main guard), and without forking a process that holds CUDA.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image-cache") as pool:
            yield from pool.map(_cache_one_job, jobs)

    def paths_for(
        self, paths: Sequence[str | Path], build: bool = True, workers: int | None = None, progress: bool | None = True
    ) -> list[Path]:
        """:meth:`build` the stale ones (when ``build``), then :meth:`resolve` ``paths``."""
        if build:
            summary = self.build(paths, workers=workers, progress=progress)
            if summary.processed:
                print(f"image cache {self.folder}: {summary}", file=sys.stderr)
        return self.resolve(paths)


# ---------------------------------------------------------------------------------------------- stages


def image_cache_for(config: BaseConfig) -> ImageCache | None:
    """The cache a config asks for (``config.image_cache``), or ``None`` when it is off or the config has none.

    Its root is ``config.cache_root``, by default ``<outputs>/image_cache/<run label>`` (``config.output_folder``): every notebook of a
    profile shares it, and a rehearsal (``full-tiny``) never writes into the real run's folders.

    Raises:
        ConfigError: naming ``<Config>.cache_side`` for a side that is not a positive integer.
    """
    if not getattr(config, "image_cache", False):
        return None
    root = getattr(config, "cache_root", None) or config.output_folder("image_cache")
    side = getattr(config, "cache_side", DEFAULT_SHORTER_SIDE)
    try:
        return ImageCache(root, side)
    except ValueError as error:
        raise ConfigError(f"{type(config).__name__}.{error}") from None


def cached_image_paths(
    paths: Sequence[str | Path], config: BaseConfig, build: bool = True, progress: bool | None = True
) -> list[Path]:
    """The files a stage reads for ``paths``: the cached copies when ``config.image_cache`` (stale ones built
    first, with a progress bar), else ``paths`` themselves."""
    cache = image_cache_for(config)
    if cache is None:
        return [Path(path) for path in paths]
    return cache.paths_for(paths, build=build, progress=progress)
