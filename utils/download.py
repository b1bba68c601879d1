"""Resumable, verified, idempotent downloads of the real data sets, and safe extraction.

Usage::

    python -m utils.download awa2|awa2-base|xlsa17|cifar100|fasttext|fasttext-vec [...]
                             [--dest DIR] [--dry-run] [--quiet] [--remove-archive] [--verify]
    python -m utils.download --list

Files go to ``--dest`` (default :func:`utils.config.data_dir`, i.e. ``$ZSL_DATA_DIR`` or ``data/``).
Each download:

* is written to ``<name>.part`` and resumed with an HTTP ``Range`` request when the server answers
  ``206 Partial Content`` (otherwise it restarts from the first byte). The resume carries ``If-Range``
  with the ``ETag`` (or ``Last-Modified``) of the first answer, kept in ``<name>.part.json``, so a
  file changed on the server restarts instead of being spliced onto old bytes;
* shows a progress bar (total from ``Content-Length``);
* is verified before it is renamed to its final name: its size must be the file's full length as
  the server reported it (``Content-Length``, the ``/TOTAL`` of ``Content-Range``, or a ``416``'s
  ``bytes */TOTAL``), then the published MD5 or SHA-256 where :data:`DATASETS` knows one. A ``.part``
  longer than the remote file, or a ``416`` that names no length, is deleted and downloaded again
  from the first byte. A file that fails verification is deleted;
* gets a record ``.<name>.verified.json`` (URL, size, SHA-256, MD5, date) measured on its first
  complete download. None of the non-CIFAR sources publishes a checksum or an exact size, and these
  machines cannot reach them to measure one, so :data:`DATASETS` holds none made up: the record is
  the next best thing, and later runs check the file against it (size always; checksums with
  ``--verify``);
* is skipped, without any request, when the final file already exists and verifies.

Archives (``.zip``, ``.tar.gz``/``.tgz``, single-file ``.gz``) are extracted next to the download;
members whose path would land outside the destination folder (``../x``, absolute paths, links) are
refused. After extraction every member is checked on disk (present, with its size in the archive)
and only then is the marker ``.<archive>.extracted`` written (listing every extracted file and its size),
which makes re-runs skip the extraction. ``--remove-archive`` then deletes the archive (AwA2's zip is 13 GB
on a Colab disk that also holds the extracted images); the marker and the record keep later runs from
downloading again, and each such run checks the files the marker lists: one deleted by hand is an error
naming it and saying how to fetch the data set again, never "ready".

Exit status: 0 when done, 2 on an error (a one-line message naming the URL or file).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import http.client
import json
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from utils.cli import ArgumentParser, CliError, cli_entry
from utils.config import data_dir
from utils.errors import ProjectError
from utils.fileops import progress_disabled

CHUNK_SIZE = 1024 * 1024
TIMEOUT_SECONDS = 60
USER_AGENT = "zero-shot-vision-lab/1.0 (+python urllib)"


class DownloadError(ProjectError):
    """A download, verification or extraction failed; the message is one line naming the URL or file."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set.

    Attributes:
        url: where it is published.
        filename: its name on disk.
        subdir: folder, relative to the destination root, where it is saved and extracted.
        size: exact size in bytes, or ``None`` when not known.
        md5: published MD5, or ``None`` when not known.
        sha256: published SHA-256, or ``None`` when not known. Without either checksum the file is
            verified by its size only (and with no size either, against ``Content-Length``).
        approximate_size: human-readable size for messages (``"13 GB"``).
        extract: extract (or decompress) it after download.
    """

    url: str
    filename: str
    subdir: str = ""
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None
    approximate_size: str = "unknown size"
    extract: bool = True


@dataclass(frozen=True)
class DatasetSource:
    """A data set: its files and the folder it is known to extract to.

    Attributes:
        name: the command-line name.
        description: one line for ``--list``.
        files: the files to download.
        root: folder, relative to the destination root, that holds the data set once extracted.
    """

    name: str
    description: str
    files: tuple[RemoteFile, ...]
    root: str


# Checksums are the published ones where known (CIFAR-100's MD5 is the one torchvision checks);
# `None` means not known: never made up. The other sources publish neither a checksum nor an exact
# size (only "13 GB" and the like), so those files are verified against the length the server
# reports and then against the record measured on their first complete download.
DATASETS: dict[str, DatasetSource] = {
    "awa2": DatasetSource(
        name="awa2",
        description="Animals with Attributes 2: 37,322 images of 50 classes, attributes, class lists",
        files=(
            RemoteFile(
                url="https://cvml.ista.ac.at/AwA2/AwA2-data.zip",
                filename="AwA2-data.zip",
                approximate_size="13 GB",
            ),
        ),
        root="Animals_with_Attributes2",
    ),
    "awa2-base": DatasetSource(
        name="awa2-base",
        description="Animals with Attributes 2 metadata only (classes, predicates, matrices), no images",
        files=(
            RemoteFile(
                url="https://cvml.ista.ac.at/AwA2/AwA2-base.zip",
                filename="AwA2-base.zip",
                approximate_size="small (no images)",
            ),
        ),
        root="Animals_with_Attributes2",
    ),
    "xlsa17": DatasetSource(
        name="xlsa17",
        description="Xian et al. 2017 proposed splits and ResNet-101 features (AWA2, CUB, SUN, ...)",
        files=(
            RemoteFile(
                url="http://datasets.d2.mpi-inf.mpg.de/xian/xlsa17.zip",
                filename="xlsa17.zip",
                approximate_size="about 0.9 GB",
            ),
        ),
        root="xlsa17",
    ),
    "cifar100": DatasetSource(
        name="cifar100",
        description="CIFAR-100, python pickle version (train, test, meta)",
        files=(
            RemoteFile(
                url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                filename="cifar-100-python.tar.gz",
                md5="eb9058c3a382ffc7106e4002c42a8d85",
                approximate_size="161 MB",
            ),
        ),
        root="cifar-100-python",
    ),
    "fasttext": DatasetSource(
        name="fasttext",
        description="fastText English vectors trained on Common Crawl, 300-d, binary model",
        files=(
            RemoteFile(
                url="https://dl.fbaipublicfiles.com/fasttext/vectors-crawl/cc.en.300.bin.gz",
                filename="cc.en.300.bin.gz",
                subdir="fasttext",
                approximate_size="about 4 GB (7 GB decompressed)",
            ),
        ),
        root="fasttext",
    ),
    "fasttext-vec": DatasetSource(
        name="fasttext-vec",
        description="fastText English vectors trained on Common Crawl, 300-d, text .vec format",
        files=(
            RemoteFile(
                url="https://dl.fbaipublicfiles.com/fasttext/vectors-crawl/cc.en.300.vec.gz",
                filename="cc.en.300.vec.gz",
                subdir="fasttext",
                approximate_size="about 1.3 GB (4 GB decompressed)",
            ),
        ),
        root="fasttext",
    ),
}


def file_digests(path: Path) -> dict[str, str]:
    """MD5 and SHA-256 of a file, read once: ``{"md5": ..., "sha256": ...}``."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            md5.update(chunk)
            sha256.update(chunk)
    return {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def verification_problem(
    path: Path,
    expected_md5: str | None = None,
    expected_sha256: str | None = None,
    expected_size: int | None = None,
    digests: dict[str, str] | None = None,
) -> str | None:
    """What is wrong with ``path`` against the expected size and checksums, or ``None`` if nothing.

    ``digests`` (from :func:`file_digests`) saves a second read of a file already hashed.
    """
    size = Path(path).stat().st_size
    if expected_size is not None and size != expected_size:
        return f"size is {size} bytes, expected {expected_size}"
    if expected_md5 is None and expected_sha256 is None:
        return None
    digests = digests or file_digests(path)
    if expected_md5 is not None and digests["md5"] != expected_md5.lower():
        return f"md5 is {digests['md5']}, expected {expected_md5.lower()}"
    if expected_sha256 is not None and digests["sha256"] != expected_sha256.lower():
        return f"sha256 is {digests['sha256']}, expected {expected_sha256.lower()}"
    return None


def record_path(dest_path: Path) -> Path:
    """The record of a verified download: ``.<name>.verified.json`` beside it."""
    dest_path = Path(dest_path)
    return dest_path.with_name(f".{dest_path.name}.verified.json")


def read_record(dest_path: Path) -> dict | None:
    """The record :func:`download_file` wrote for ``dest_path``, or ``None`` when there is none.

    Raises:
        DownloadError: the record exists but is not what this module writes (names the record).
    """
    path = record_path(dest_path)
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DownloadError(f"{path}: unreadable download record ({error}); delete it to measure again") from None
    if not isinstance(record, dict) or not isinstance(record.get("size"), int):
        raise DownloadError(f"{path}: not a download record (no integer 'size'); delete it to measure again")
    return record


def _write_record(dest_path: Path, url: str, digests: dict[str, str]) -> None:
    record = {
        "url": url,
        "size": Path(dest_path).stat().st_size,
        "sha256": digests["sha256"],
        "md5": digests["md5"],
        "measured": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "note": "measured on the first complete download; the source publishes no checksum",
    }
    temporary = record_path(dest_path).with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, record_path(dest_path))


def record_problem(dest_path: Path, checksums: bool = False) -> str | None:
    """What is wrong with ``dest_path`` against its record (``None``: no record, or it matches).

    The size is always compared; the SHA-256 only when ``checksums`` (it reads the whole file).
    """
    record = read_record(dest_path)
    if record is None:
        return None
    size = Path(dest_path).stat().st_size
    if size != record["size"]:
        return f"size is {size} bytes, the record of its first download says {record['size']}"
    if checksums and record.get("sha256") and file_digests(dest_path)["sha256"] != record["sha256"]:
        return "sha256 differs from the record of its first download"
    return None


def download_file(
    url: str,
    dest_path: Path,
    expected_md5: str | None = None,
    expected_sha256: str | None = None,
    expected_size: int | None = None,
    progress: bool | None = True,
    verify: bool = False,
) -> Path:
    """Download ``url`` to ``dest_path``, resuming a partial download, and verify it.

    The bytes go to ``dest_path`` + ``.part``; when that file exists, the download resumes with a
    ``Range`` request (and ``If-Range``) if the server answers ``206``, else restarts. Before the
    rename to ``dest_path`` the file's size must equal the full length the server reported, and
    then the expected size and checksums (any that are given). A record of its size and checksums
    is written beside it. If ``dest_path`` already exists and verifies (against the expected values
    and its record), nothing is requested.

    Args:
        url: an ``http://``, ``https://`` or ``file://`` URL.
        dest_path: the final path; its folder is created if needed.
        expected_md5: hex MD5 the file must have, or ``None``.
        expected_sha256: hex SHA-256 the file must have, or ``None``.
        expected_size: size in bytes the file must have, or ``None``.
        progress: show a progress bar on stderr and one-line status messages (``None``: the bar
            only when stderr is a terminal, the messages always; ``False``: neither).
        verify: also re-read an existing file to compare its SHA-256 with its record.

    Returns:
        ``dest_path``.

    Raises:
        DownloadError: the request failed, the connection ended early (the ``.part`` file is kept
            for a later resume), or the file failed verification (it is deleted).
    """
    dest_path = Path(dest_path)
    expected = {
        "expected_md5": expected_md5,
        "expected_sha256": expected_sha256,
        "expected_size": expected_size,
    }
    if dest_path.exists():
        problem = verification_problem(dest_path, **expected) or record_problem(dest_path, checksums=verify)
        if problem:
            raise DownloadError(f"{dest_path} exists but {problem}; delete it to download {url} again")
        checked = any(value is not None for value in expected.values()) or read_record(dest_path) is not None
        _say(progress, f"already downloaded{' and verified' if checked else ''}: {dest_path}")
        return dest_path
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    part_path = dest_path.with_name(dest_path.name + ".part")
    offset = part_path.stat().st_size if part_path.exists() else 0
    if expected_size is not None and offset > expected_size:
        offset = _restart(part_path)
    if expected_size is None or offset < expected_size:
        full_length = _fetch_into(url, part_path, offset, progress)
        if full_length is None and offset:
            # A 416 naming no length: the part cannot be checked against anything, so start over.
            offset = _restart(part_path)
            full_length = _fetch_into(url, part_path, offset, progress)
        if full_length is not None and full_length < offset:
            # The stale part is longer than the remote file: it is not this file's beginning.
            _say(progress, f"{part_path} has {offset} bytes, more than the {full_length} of {url}: restarting")
            offset = _restart(part_path)
            full_length = _fetch_into(url, part_path, offset, progress)
        if full_length is not None and part_path.stat().st_size != full_length:
            size = part_path.stat().st_size
            _restart(part_path)
            raise DownloadError(
                f"download of {url} failed verification: {size} bytes received, the server says the file "
                f"has {full_length}; the bad file was deleted, run again"
            )
    digests = file_digests(part_path)
    problem = verification_problem(part_path, **expected, digests=digests)
    if problem:
        _restart(part_path)
        raise DownloadError(f"download of {url} failed verification: {problem}; the bad file was deleted")
    os.replace(part_path, dest_path)
    _part_state_path(part_path).unlink(missing_ok=True)
    _write_record(dest_path, url, digests)
    _say(progress, f"downloaded {dest_path} (sha256 {digests['sha256']}, recorded in {record_path(dest_path).name})")
    return dest_path


def _part_state_path(part_path: Path) -> Path:
    """Where the validator (``ETag``/``Last-Modified``) of a partial download is kept: ``<part>.json``."""
    return part_path.with_name(part_path.name + ".json")


def _restart(part_path: Path) -> int:
    """Delete a partial download and its state; the next fetch starts at byte 0 (returned)."""
    part_path.unlink(missing_ok=True)
    _part_state_path(part_path).unlink(missing_ok=True)
    return 0


def _read_part_state(part_path: Path, url: str) -> dict:
    try:
        state = json.loads(_part_state_path(part_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return state if isinstance(state, dict) and state.get("url") == url else {}


def _if_range(state: dict) -> str | None:
    """The ``If-Range`` value for a resume: a strong ``ETag``, else ``Last-Modified`` (RFC 9110 §13.1.5)."""
    etag = state.get("etag")
    if isinstance(etag, str) and etag and not etag.startswith("W/"):
        return etag
    modified = state.get("last_modified")
    return modified if isinstance(modified, str) and modified else None


def _fetch_into(url: str, part_path: Path, offset: int, progress: bool | None) -> int | None:
    """Append the bytes from ``offset`` on to ``part_path`` (or rewrite it when the server cannot resume).

    Returns:
        The remote file's full length as the server reported it, or ``None`` when it said none.
        After a ``416`` (no bytes after ``offset``) nothing is written and the length the answer
        names is returned (``None`` if it names none): the caller compares it with ``offset``.
    """
    headers = {"User-Agent": USER_AGENT}
    state = _read_part_state(part_path, url) if offset else {}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        validator = _if_range(state)
        if validator:
            headers["If-Range"] = validator
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            return _content_range_total(error.headers.get("Content-Range") if error.headers else None)
        raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"{url}: cannot open ({reason})") from None
    with response:
        resumed = offset > 0 and getattr(response, "status", None) == 206
        full_length = None
        if resumed:
            content_range = response.headers.get("Content-Range")
            start = _content_range_start(content_range)
            if start != offset:
                raise DownloadError(f"{url}: asked for bytes from {offset}, server sent from {start}")
            full_length = _content_range_total(content_range)
        else:
            offset = 0
        length = response.headers.get("Content-Length")
        expected_bytes = int(length) if length and length.isdigit() else None
        total = offset + expected_bytes if expected_bytes is not None else None
        if full_length is None:
            full_length = total
        if not resumed:
            _write_part_state(part_path, url, response.headers, full_length)
        received = 0
        try:
            with (
                open(part_path, "ab" if resumed else "wb") as part_file,
                tqdm(
                    total=total,
                    initial=offset,
                    desc=part_path.name.removesuffix(".part"),
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    file=sys.stderr,
                    disable=progress_disabled(progress),
                ) as bar,
            ):
                while chunk := response.read(CHUNK_SIZE):
                    part_file.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                part_file.flush()
                os.fsync(part_file.fileno())
        except (OSError, http.client.HTTPException) as error:
            raise DownloadError(
                f"{url}: download interrupted after {offset + received} bytes ({error}); run again to resume"
            ) from None
    if expected_bytes is not None and received != expected_bytes:
        raise DownloadError(
            f"{url}: connection ended after {offset + received} of {total} bytes; run again to resume"
        )
    return full_length


def _write_part_state(part_path: Path, url: str, headers, full_length: int | None) -> None:
    state = {
        "url": url,
        "etag": headers.get("ETag"),
        "last_modified": headers.get("Last-Modified"),
        "length": full_length,
    }
    _part_state_path(part_path).write_text(json.dumps(state) + "\n", encoding="utf-8")


def _content_range_total(content_range: str | None) -> int | None:
    """The ``TOTAL`` of ``Content-Range: bytes START-END/TOTAL`` or ``bytes */TOTAL``, or ``None``."""
    if not content_range or "/" not in content_range:
        return None
    total = content_range.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _content_range_start(content_range: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes START-END/TOTAL``, or ``None`` if unreadable."""
    if not content_range or not content_range.startswith("bytes "):
        return None
    first = content_range[len("bytes ") :].split("-", 1)[0]
    return int(first) if first.isdigit() else None


def extraction_marker(archive_path: Path) -> Path:
    """The marker file that says ``archive_path`` was fully extracted: ``.<archive>.extracted``."""
    archive_path = Path(archive_path)
    return archive_path.with_name(f".{archive_path.name}.extracted")


def extract_archive(archive_path: Path, dest_dir: Path | None = None, progress: bool | None = True) -> Path:
    """Extract a ``.zip``, ``.tar.gz``/``.tgz``/``.tar`` or single-file ``.gz`` into ``dest_dir``.

    Every member path is checked first; if any would land outside ``dest_dir`` (``../x``, an
    absolute path) or is a link or device, nothing is extracted. A marker file written at the end
    makes a second call return at once.

    Args:
        archive_path: the archive.
        dest_dir: where to extract (default: the archive's folder).
        progress: print one-line status messages unless ``False``.

    Returns:
        ``dest_dir``.

    Raises:
        DownloadError: unsafe member, unknown format or unreadable archive.
    """
    archive_path = Path(archive_path)
    dest_dir = Path(dest_dir) if dest_dir is not None else archive_path.parent
    marker = extraction_marker(archive_path)
    if marker.exists():
        _say(progress, f"already extracted: {archive_path}")
        return dest_dir
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = archive_path.name.lower()
    try:
        if name.endswith(".zip"):
            _extract_zip(archive_path, dest_dir)
        elif name.endswith((".tar.gz", ".tgz", ".tar")):
            _extract_tar(archive_path, dest_dir)
        elif name.endswith(".gz"):
            _decompress_gzip(archive_path, dest_dir / archive_path.name[: -len(".gz")])
        else:
            raise DownloadError(f"{archive_path}: not a .zip, .tar.gz, .tgz, .tar or .gz archive")
    except (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile, EOFError) as error:
        raise DownloadError(f"{archive_path}: cannot extract ({error})") from None
    problem = extraction_problem(archive_path, dest_dir)
    if problem:
        raise DownloadError(f"{archive_path}: extraction into {dest_dir} is incomplete ({problem}); run again")
    marker.write_text(json.dumps({"archive": archive_path.name, "extracted_into": str(dest_dir),
                                  "files": _extracted_sizes(archive_path, dest_dir)}, indent=0) + "\n")
    _say(progress, f"extracted {archive_path} into {dest_dir}")
    return dest_dir


def _member_sizes(archive_path: Path) -> dict[str, int]:
    """Each regular file of an archive and its size: ``{member name: bytes}``."""
    name = archive_path.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive_path) as archive:
            return {info.filename: info.file_size for info in archive.infolist() if not info.is_dir()}
    with tarfile.open(archive_path) as archive:
        return {member.name: member.size for member in archive.getmembers() if member.isfile()}


def _extracted_sizes(archive_path: Path, dest_dir: Path) -> dict[str, int]:
    """What the extraction marker records: each extracted file (relative to ``dest_dir``) and its size, so that
    the extraction can be checked after the archive is gone."""
    name = archive_path.name.lower()
    if name.endswith(".gz") and not name.endswith(".tar.gz"):
        output = archive_path.name[: -len(".gz")]
        return {output: (dest_dir / output).stat().st_size}
    return _member_sizes(archive_path)


def removed_archive_problem(archive_path: Path, dest_dir: Path) -> str | None:
    """What is missing from the extraction of an archive that was removed, or ``None`` if nothing is.

    The extraction marker lists every extracted file with its size; each must still be there with that size. A
    marker written before it listed them says nothing checkable, and counts as complete.
    """
    try:
        recorded = json.loads(extraction_marker(archive_path).read_text(encoding="utf-8"))
    except ValueError:  # a marker of the older, one-line layout
        return None
    files = recorded.get("files") if isinstance(recorded, dict) else None
    if not isinstance(files, dict):
        return None
    missing = [member for member in files if not (dest_dir / member).is_file()]
    if missing:
        more = f" and {len(missing) - 1} more of its {len(files)} files" if len(missing) > 1 else ""
        return f"{dest_dir / missing[0]} is missing{more}"
    for member, size in files.items():
        actual = (dest_dir / member).stat().st_size
        if actual != size:
            return f"{dest_dir / member} has {actual} bytes, the archive had {size}"
    return None


def extraction_problem(archive_path: Path, dest_dir: Path) -> str | None:
    """What is missing from ``dest_dir`` compared with ``archive_path``, or ``None`` when every member is there.

    Every regular file of a ``.zip``/``.tar*`` must exist with its size in the archive; a single-file
    ``.gz`` must have produced its (non-empty unless the archive holds nothing) output file.
    """
    archive_path, dest_dir = Path(archive_path), Path(dest_dir)
    name = archive_path.name.lower()
    try:
        if name.endswith(".gz") and not name.endswith(".tar.gz"):
            output = dest_dir / archive_path.name[: -len(".gz")]
            return None if output.is_file() else f"{output} is missing"
        for member, size in _member_sizes(archive_path).items():
            path = dest_dir / member
            if not path.is_file():
                return f"{path} is missing"
            if path.stat().st_size != size:
                return f"{path} has {path.stat().st_size} bytes, the archive says {size}"
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
        return f"cannot read {archive_path} ({error})"
    return None


def remove_archive(archive_path: Path, dest_dir: Path, progress: bool | None = True) -> bool:
    """Delete a downloaded archive after a verified extraction; return whether it was deleted.

    The archive goes only when its extraction marker exists and :func:`extraction_problem` finds
    every member on disk; the marker and the download record stay, so later runs neither download
    nor extract it again.

    Raises:
        DownloadError: the archive was not (fully) extracted; it is kept.
    """
    archive_path = Path(archive_path)
    if not archive_path.exists():
        return False
    problem = None if extraction_marker(archive_path).exists() else "it was never fully extracted"
    problem = problem or extraction_problem(archive_path, dest_dir)
    if problem:
        raise DownloadError(f"{archive_path}: not removed, {problem}")
    archive_path.unlink()
    _say(progress, f"removed {archive_path} (extracted and checked into {dest_dir})")
    return True


def _inside(dest_dir: Path, member_name: str, archive_path: Path) -> Path:
    """The path ``member_name`` extracts to, refusing any outside ``dest_dir``."""
    root = dest_dir.resolve()
    target = (root / member_name).resolve()
    if os.path.isabs(member_name) or not target.is_relative_to(root):
        raise DownloadError(
            f"{archive_path}: refusing member {member_name!r}, it would extract outside {dest_dir}"
        )
    return target


def _extract_zip(archive_path: Path, dest_dir: Path) -> None:
    with zipfile.ZipFile(archive_path) as archive:
        members = archive.infolist()
        for member in members:
            _inside(dest_dir, member.filename, archive_path)
        archive.extractall(dest_dir)


def _extract_tar(archive_path: Path, dest_dir: Path) -> None:
    with tarfile.open(archive_path) as archive:
        members = archive.getmembers()
        for member in members:
            _inside(dest_dir, member.name, archive_path)
            if not (member.isfile() or member.isdir()):
                raise DownloadError(
                    f"{archive_path}: refusing member {member.name!r}, only files and folders are extracted"
                )
        if hasattr(tarfile, "data_filter"):
            archive.extractall(dest_dir, members=members, filter="data")
        else:
            archive.extractall(dest_dir, members=members)


def _decompress_gzip(archive_path: Path, output_path: Path) -> None:
    temporary = output_path.with_name(output_path.name + ".part")
    with gzip.open(archive_path, "rb") as source, open(temporary, "wb") as target:
        shutil.copyfileobj(source, target, CHUNK_SIZE)
    os.replace(temporary, output_path)


def fetch_dataset(
    name: str,
    dest: Path | None = None,
    progress: bool | None = True,
    remove_archives: bool = False,
    verify: bool = False,
) -> Path:
    """Download, verify and extract one registered data set (see :data:`DATASETS`).

    Args:
        name: a key of :data:`DATASETS` (``awa2``, ``xlsa17``, ``cifar100``, ``fasttext``, ...).
        dest: the destination root (default :func:`utils.config.data_dir`).
        progress: progress bars and status messages, as in :func:`download_file`.
        remove_archives: delete each archive once its extraction is verified (:func:`remove_archive`).
        verify: re-read files already downloaded to compare their SHA-256 with their record.

    Returns:
        The data set's folder, ``dest / DATASETS[name].root``.

    Raises:
        DownloadError: unknown name, or a download, verification or extraction failed.
    """
    if name not in DATASETS:
        raise DownloadError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    source = DATASETS[name]
    dest = Path(dest) if dest is not None else data_dir()
    for remote in source.files:
        folder = dest / remote.subdir
        archive = folder / remote.filename
        if remote.extract and not archive.exists() and extraction_marker(archive).exists():
            problem = removed_archive_problem(archive, folder)
            if problem:
                raise DownloadError(
                    f"{problem}, and {archive} was removed after extraction (--remove-archive); to fetch it again "
                    f"({remote.approximate_size}), delete {extraction_marker(archive)} and run "
                    f"`python -m utils.download {name}`"
                )
            _say(progress, f"already extracted, archive removed: {archive}")
            continue
        download_file(
            remote.url,
            archive,
            expected_md5=remote.md5,
            expected_sha256=remote.sha256,
            expected_size=remote.size,
            progress=progress,
            verify=verify,
        )
        if remote.extract:
            extract_archive(archive, folder, progress=progress)
            if remove_archives:
                remove_archive(archive, folder, progress=progress)
    return dest / source.root


def describe_plan(name: str, dest: Path | None = None) -> list[str]:
    """What :func:`fetch_dataset` would do, one line per step, without any network access."""
    source = DATASETS[name]
    dest = Path(dest) if dest is not None else data_dir()
    lines = []
    for remote in source.files:
        path = dest / remote.subdir / remote.filename
        part = path.with_name(path.name + ".part")
        checks = [
            f"md5 {remote.md5}" if remote.md5 else "",
            f"sha256 {remote.sha256}" if remote.sha256 else "",
        ]
        check = ", ".join(filter(None, checks)) or (
            f"size {remote.size}" if remote.size else
            "no published checksum: checked against the server's length, then recorded"
        )
        if not path.exists() and remote.extract and extraction_marker(path).exists():
            problem = removed_archive_problem(path, path.parent)
            state = "extracted, archive removed" + (f"; but {problem}: would stop and say so" if problem else "")
        elif path.exists():
            state = "present (will be verified)"
        elif part.exists():
            state = f"partial, would resume from byte {part.stat().st_size}"
        else:
            state = f"would download {remote.approximate_size}"
        lines.append(f"{name}: {remote.url} -> {path} [{state}; {check}]")
        if remote.extract:
            done = extraction_marker(path).exists()
            lines.append(f"{name}: {'already extracted' if done else 'would extract'} into {path.parent}")
    return lines


def _say(progress: bool | None, message: str) -> None:
    if progress is not False:
        print(message, file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m utils.download``."""
    parser = ArgumentParser(
        prog="python -m utils.download",
        description="Download, verify and extract the real data sets (resumable, idempotent).",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"data set(s): {', '.join(DATASETS)}")
    parser.add_argument(
        "--dest", type=Path, default=None, help="destination root (default $ZSL_DATA_DIR or data/)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would happen; no network, no writes"
    )
    parser.add_argument("--list", action="store_true", help="list the data sets and their sources")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or status messages")
    parser.add_argument(
        "--remove-archive", action="store_true",
        help="delete each archive once every member is extracted and checked (saves 13 GB for AwA2)",
    )
    parser.add_argument(
        "--verify", action="store_true",
        help="re-read files already downloaded and compare their SHA-256 with the record of their first download",
    )
    return parser


@cli_entry("python -m utils.download")
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 2 error: one line on stderr, :mod:`utils.cli`)."""
    arguments = build_parser().parse_args(argv)
    if arguments.list or not arguments.names:
        for source in DATASETS.values():
            sizes = ", ".join(remote.approximate_size for remote in source.files)
            print(f"{source.name:<13} {sizes:<28} {source.description}")
        return 0
    unknown = [name for name in arguments.names if name not in DATASETS]
    if unknown:
        raise CliError(f"unknown data set {unknown[0]!r}; choose one of {', '.join(DATASETS)}")
    for name in arguments.names:
        if arguments.dry_run:
            print("\n".join(describe_plan(name, arguments.dest)))
        else:
            folder = fetch_dataset(
                name, arguments.dest, progress=False if arguments.quiet else None,
                remove_archives=arguments.remove_archive, verify=arguments.verify,
            )
            print(f"{name}: ready in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
