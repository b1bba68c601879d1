"""Downloads against a local HTTP server (never the internet): resume, verification, idempotence, extraction."""

import gzip
import hashlib
import io
import re
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from utils import download
from utils.download import (
    DATASETS,
    DownloadError,
    RemoteFile,
    download_file,
    extract_archive,
    extraction_marker,
    fetch_dataset,
)

PAYLOAD = bytes(range(256)) * 300 + b"the end"


class RangeRequestHandler(BaseHTTPRequestHandler):
    """Serves the server's ``root`` folder; honours ``Range: bytes=N-`` unless ``supports_range`` is off."""

    def do_GET(self):
        server = self.server
        server.requests.append({"path": self.path, "range": self.headers.get("Range")})
        path = server.root / unquote(self.path.lstrip("/"))
        if not path.is_file():
            self.send_error(404, "not found")
            return
        data = path.read_bytes()
        etag = f'"{hashlib.md5(data).hexdigest()}"'
        server.requests[-1]["if_range"] = self.headers.get("If-Range")
        requested = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        validator_holds = self.headers.get("If-Range") in (None, etag)
        if requested and server.supports_range and validator_holds:
            start = int(requested.group(1))
            if start >= len(data):
                self.send_response(416)
                if server.range_in_416:
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = data[start:]
            self.send_response(206)
            total = server.claimed_total if server.claimed_total is not None else len(data)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{total}")
        else:
            body = data
            self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        sent = body[: server.truncate_after] if server.truncate_after is not None else body
        self.wfile.write(sent)
        server.bytes_sent += len(sent)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A ThreadingHTTPServer on 127.0.0.1 serving ``tmp_path / "served"``; no proxy, short timeouts."""
    for variable in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setattr(download, "TIMEOUT_SECONDS", 5)
    http_server = ThreadingHTTPServer(("127.0.0.1", 0), RangeRequestHandler)
    http_server.root = tmp_path / "served"
    http_server.root.mkdir()
    http_server.requests = []
    http_server.supports_range = True
    http_server.truncate_after = None
    http_server.bytes_sent = 0
    http_server.range_in_416 = True
    http_server.claimed_total = None
    http_server.base_url = f"http://127.0.0.1:{http_server.server_address[1]}"
    thread = threading.Thread(target=http_server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    (http_server.root / "payload.bin").write_bytes(PAYLOAD)
    yield http_server
    http_server.shutdown()
    http_server.server_close()
    thread.join(timeout=5)


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_full_download_is_verified_and_renamed(tmp_path, server):
    destination = tmp_path / "data" / "payload.bin"

    result = download_file(
        f"{server.base_url}/payload.bin",
        destination,
        expected_md5=md5_of(PAYLOAD),
        expected_sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        expected_size=len(PAYLOAD),
        progress=False,
    )

    assert result == destination
    assert destination.read_bytes() == PAYLOAD
    assert not destination.with_name("payload.bin.part").exists()
    assert [(r["path"], r["range"]) for r in server.requests] == [("/payload.bin", None)]


def test_partial_download_resumes_with_a_range_request(tmp_path, server):
    destination = tmp_path / "payload.bin"
    destination.with_name("payload.bin.part").write_bytes(PAYLOAD[:1000])

    download_file(f"{server.base_url}/payload.bin", destination, expected_md5=md5_of(PAYLOAD), progress=False)

    assert destination.read_bytes() == PAYLOAD
    assert [(r["path"], r["range"]) for r in server.requests] == [("/payload.bin", "bytes=1000-")]
    assert server.bytes_sent == len(PAYLOAD) - 1000


def test_server_without_range_support_restarts_from_scratch(tmp_path, server):
    server.supports_range = False
    destination = tmp_path / "payload.bin"
    destination.with_name("payload.bin.part").write_bytes(b"stale bytes from another file")

    download_file(f"{server.base_url}/payload.bin", destination, expected_md5=md5_of(PAYLOAD), progress=False)

    assert destination.read_bytes() == PAYLOAD
    assert server.requests[0]["range"] == "bytes=29-"
    assert server.bytes_sent == len(PAYLOAD)


def test_complete_part_file_is_finished_without_downloading_again(tmp_path, server):
    destination = tmp_path / "payload.bin"
    destination.with_name("payload.bin.part").write_bytes(PAYLOAD)

    download_file(f"{server.base_url}/payload.bin", destination, progress=False)

    assert destination.read_bytes() == PAYLOAD
    assert server.bytes_sent == 0


def test_connection_ending_early_keeps_the_part_file_for_a_resume(tmp_path, server):
    destination = tmp_path / "payload.bin"
    url = f"{server.base_url}/payload.bin"
    server.truncate_after = 5000

    with pytest.raises(DownloadError, match="run again to resume"):
        download_file(url, destination, progress=False)

    assert not destination.exists()
    assert destination.with_name("payload.bin.part").stat().st_size == 5000
    server.truncate_after = None
    download_file(url, destination, expected_md5=md5_of(PAYLOAD), progress=False)
    assert destination.read_bytes() == PAYLOAD
    assert server.requests[-1]["range"] == "bytes=5000-"


def test_checksum_mismatch_is_an_error_and_leaves_no_file(tmp_path, server):
    destination = tmp_path / "payload.bin"

    with pytest.raises(DownloadError, match=r"md5 is .*expected 0{32}") as error:
        download_file(f"{server.base_url}/payload.bin", destination, expected_md5="0" * 32, progress=False)

    assert "\n" not in str(error.value) and server.base_url in str(error.value)
    assert not destination.exists()
    assert not destination.with_name("payload.bin.part").exists()


def test_size_mismatch_is_an_error(tmp_path, server):
    with pytest.raises(DownloadError, match="size is"):
        download_file(f"{server.base_url}/payload.bin", tmp_path / "p.bin", expected_size=3, progress=False)
    assert not (tmp_path / "p.bin").exists()


def test_second_call_makes_no_request(tmp_path, server, capsys):
    destination = tmp_path / "payload.bin"
    url = f"{server.base_url}/payload.bin"
    download_file(url, destination, expected_md5=md5_of(PAYLOAD), progress=False)
    requests_made = len(server.requests)

    download_file(url, destination, expected_md5=md5_of(PAYLOAD), progress=True)

    assert len(server.requests) == requests_made
    assert "already downloaded and verified" in capsys.readouterr().err


def test_existing_file_that_fails_verification_is_left_alone(tmp_path, server):
    destination = tmp_path / "payload.bin"
    destination.write_bytes(b"corrupt")

    with pytest.raises(DownloadError, match="delete it"):
        download_file(
            f"{server.base_url}/payload.bin", destination, expected_md5=md5_of(PAYLOAD), progress=False
        )

    assert destination.read_bytes() == b"corrupt"
    assert server.requests == []


def test_missing_url_is_a_one_line_error(tmp_path, server):
    url = f"{server.base_url}/nothing.zip"

    with pytest.raises(DownloadError) as error:
        download_file(url, tmp_path / "nothing.zip", progress=False)

    assert str(error.value).startswith(f"{url}: HTTP 404")
    assert not (tmp_path / "nothing.zip").exists()


def test_file_urls_work(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(PAYLOAD)
    destination = tmp_path / "copy" / "source.bin"
    destination.parent.mkdir()
    destination.with_name("source.bin.part").write_bytes(b"junk")

    download_file(source.as_uri(), destination, expected_md5=md5_of(PAYLOAD), progress=False)

    assert destination.read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match="cannot open"):
        download_file((tmp_path / "missing.bin").as_uri(), tmp_path / "missing.bin", progress=False)


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def make_tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("make_archive, filename", [(make_zip, "set.zip"), (make_tar_gz, "set.tar.gz")])
def test_archives_extract_once_into_the_destination(tmp_path, make_archive, filename):
    archive = make_archive(
        tmp_path / filename, {"set/classes.txt": b"1\tzebra\n", "set/a/b.bin": b"\x00\x01"}
    )

    extract_archive(archive, tmp_path / "out", progress=False)

    assert (tmp_path / "out" / "set" / "classes.txt").read_bytes() == b"1\tzebra\n"
    assert (tmp_path / "out" / "set" / "a" / "b.bin").read_bytes() == b"\x00\x01"
    assert extraction_marker(archive).exists()
    (tmp_path / "out" / "set" / "classes.txt").unlink()
    extract_archive(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "set" / "classes.txt").exists()


@pytest.mark.parametrize("make_archive, filename", [(make_zip, "evil.zip"), (make_tar_gz, "evil.tar.gz")])
@pytest.mark.parametrize("member", ["../evil", "inner/../../evil", "/tmp/evil-absolute"])
def test_members_outside_the_destination_are_refused(tmp_path, make_archive, filename, member):
    archive = make_archive(tmp_path / filename, {"good.txt": b"fine", member: b"gotcha"})
    destination = tmp_path / "out"

    with pytest.raises(DownloadError, match="refusing member"):
        extract_archive(archive, destination, progress=False)

    assert not (tmp_path / "evil").exists()
    assert not (destination / "good.txt").exists()
    assert not extraction_marker(archive).exists()


def test_tar_links_are_refused(tmp_path):
    archive_path = tmp_path / "links.tar.gz"
    with tarfile.open(archive_path, "w:gz") as archive:
        link = tarfile.TarInfo("innocent")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)

    with pytest.raises(DownloadError, match="only files and folders"):
        extract_archive(archive_path, tmp_path / "out", progress=False)


def test_single_gz_file_is_decompressed(tmp_path):
    archive = tmp_path / "cc.en.300.vec.gz"
    archive.write_bytes(gzip.compress(b"2 3\nzebra 0.1 0.2 0.3\n"))

    extract_archive(archive, progress=False)

    assert (tmp_path / "cc.en.300.vec").read_bytes() == b"2 3\nzebra 0.1 0.2 0.3\n"


def test_fetch_dataset_downloads_verifies_extracts_and_is_idempotent(tmp_path, server, monkeypatch):
    archive = make_zip(server.root / "tiny.zip", {"tiny/classes.txt": b"1\tzebra\n"})
    source = download.DatasetSource(
        name="tiny",
        description="a test data set",
        files=(
            RemoteFile(
                url=f"{server.base_url}/tiny.zip", filename="tiny.zip", md5=md5_of(archive.read_bytes())
            ),
        ),
        root="tiny",
    )
    monkeypatch.setitem(DATASETS, "tiny", source)

    folder = fetch_dataset("tiny", tmp_path / "data", progress=False)
    status = download.main(["tiny", "--dest", str(tmp_path / "data"), "--quiet"])

    assert folder == tmp_path / "data" / "tiny"
    assert (folder / "classes.txt").read_bytes() == b"1\tzebra\n"
    assert status == 0
    assert len(server.requests) == 1


def test_cli_errors_exit_2_with_one_line(tmp_path, server, monkeypatch, capsys):
    url = f"{server.base_url}/gone.zip"
    monkeypatch.setitem(
        DATASETS, "gone", download.DatasetSource("gone", "", (RemoteFile(url, "gone.zip"),), "gone")
    )

    assert download.main(["gone", "--dest", str(tmp_path), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and url in error

    assert download.main(["imagenet", "--dest", str(tmp_path)]) == 2
    assert "unknown data set 'imagenet'" in capsys.readouterr().err


def test_cli_dry_run_makes_no_request_and_writes_nothing(tmp_path, capsys):
    status = download.main(["cifar100", "awa2", "--dest", str(tmp_path / "data"), "--dry-run"])

    output = capsys.readouterr().out
    assert status == 0
    assert "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz" in output
    assert "md5 eb9058c3a382ffc7106e4002c42a8d85" in output and "13 GB" in output
    assert not (tmp_path / "data").exists()


def test_registry_entries_are_well_formed():
    assert {"awa2", "xlsa17", "cifar100", "fasttext"} <= set(DATASETS)
    for name, source in DATASETS.items():
        assert source.name == name and source.root and source.files
        for remote in source.files:
            parsed = urlparse(remote.url)
            assert parsed.scheme in ("http", "https") and parsed.netloc
            assert remote.filename and Path(parsed.path).name == remote.filename
            assert remote.md5 is None or re.fullmatch(r"[0-9a-f]{32}", remote.md5)
            assert remote.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", remote.sha256)
    assert DATASETS["cifar100"].files[0].md5 == "eb9058c3a382ffc7106e4002c42a8d85"


# -------------------------------------------------------------- resumed downloads verified before the rename


def test_stale_part_longer_than_the_remote_file_is_downloaded_again(tmp_path, server):
    # A 416 used to mean "already complete": the stale part was renamed into place as the file.
    destination = tmp_path / "payload.bin"
    destination.with_name("payload.bin.part").write_bytes(PAYLOAD + b"trailing bytes of some other file")

    download_file(f"{server.base_url}/payload.bin", destination, progress=False)

    assert destination.read_bytes() == PAYLOAD
    assert [r["range"] for r in server.requests] == [f"bytes={len(PAYLOAD) + 33}-", None]


def test_a_416_that_names_no_length_restarts_instead_of_trusting_the_part(tmp_path, server):
    server.range_in_416 = False
    destination = tmp_path / "payload.bin"
    destination.with_name("payload.bin.part").write_bytes(PAYLOAD)

    download_file(f"{server.base_url}/payload.bin", destination, progress=False)

    assert destination.read_bytes() == PAYLOAD
    assert [r["range"] for r in server.requests] == [f"bytes={len(PAYLOAD)}-", None]


def test_a_resume_after_the_remote_file_changed_starts_over(tmp_path, server):
    destination = tmp_path / "payload.bin"
    url = f"{server.base_url}/payload.bin"
    server.truncate_after = 5000
    with pytest.raises(DownloadError, match="run again to resume"):
        download_file(url, destination, progress=False)
    server.truncate_after = None
    changed = PAYLOAD[::-1]
    (server.root / "payload.bin").write_bytes(changed)

    download_file(url, destination, progress=False)

    assert destination.read_bytes() == changed
    assert server.requests[-1]["range"] == "bytes=5000-" and server.requests[-1]["if_range"].startswith('"')
    assert not destination.with_name("payload.bin.part.json").exists()


def test_a_resume_whose_length_disagrees_with_the_server_is_refused_and_deleted(tmp_path, server):
    server.claimed_total = len(PAYLOAD) + 10
    destination = tmp_path / "payload.bin"
    destination.with_name("payload.bin.part").write_bytes(PAYLOAD[:1000])

    with pytest.raises(DownloadError, match=rf"{len(PAYLOAD)} bytes received, the server says .* {len(PAYLOAD) + 10}"):
        download_file(f"{server.base_url}/payload.bin", destination, progress=False)

    assert not destination.exists() and not destination.with_name("payload.bin.part").exists()


def test_first_download_is_recorded_and_later_runs_check_the_record(tmp_path, server):
    destination = tmp_path / "payload.bin"
    url = f"{server.base_url}/payload.bin"
    download_file(url, destination, progress=False)

    record = download.read_record(destination)
    assert record["size"] == len(PAYLOAD) and record["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert record["url"] == url

    destination.write_bytes(PAYLOAD[:-1])  # truncated later, e.g. by a full disk while copying
    with pytest.raises(DownloadError, match=rf"{destination}.*record of its first download"):
        download_file(url, destination, progress=False)

    destination.write_bytes(b"X" + PAYLOAD[1:])  # same size, different bytes: only --verify reads them
    assert download_file(url, destination, progress=False) == destination
    with pytest.raises(DownloadError, match="sha256 differs from the record"):
        download_file(url, destination, progress=False, verify=True)


def test_an_unreadable_record_is_named(tmp_path, server):
    destination = tmp_path / "payload.bin"
    destination.write_bytes(PAYLOAD)
    download.record_path(destination).write_text("{not json")

    with pytest.raises(DownloadError, match=r"\.payload\.bin\.verified\.json: unreadable download record"):
        download_file(f"{server.base_url}/payload.bin", destination, progress=False)


def test_incomplete_extraction_writes_no_marker(tmp_path, monkeypatch):
    archive = make_zip(tmp_path / "set.zip", {"set/a.txt": b"a", "set/b.txt": b"bb"})

    def extract_only_the_first(archive_path, dest_dir):
        with zipfile.ZipFile(archive_path) as opened:
            opened.extract("set/a.txt", dest_dir)

    monkeypatch.setattr(download, "_extract_zip", extract_only_the_first)
    with pytest.raises(DownloadError, match=r"incomplete .*b\.txt is missing"):
        extract_archive(archive, tmp_path / "out", progress=False)
    assert not extraction_marker(archive).exists()


def test_remove_archive_deletes_only_a_verified_extraction_and_reruns_skip_the_download(
    tmp_path, server, monkeypatch
):
    archive = make_zip(server.root / "tiny.zip", {"tiny/classes.txt": b"1\tzebra\n", "tiny/x/y.bin": b"123"})
    remote = RemoteFile(url=f"{server.base_url}/tiny.zip", filename="tiny.zip")
    monkeypatch.setitem(DATASETS, "tiny", download.DatasetSource("tiny", "a test data set", (remote,), "tiny"))
    data = tmp_path / "data"

    assert download.main(["tiny", "--dest", str(data), "--quiet", "--remove-archive"]) == 0
    assert not (data / "tiny.zip").exists()
    assert (data / "tiny" / "x" / "y.bin").read_bytes() == b"123"
    assert download.read_record(data / "tiny.zip")["size"] == archive.stat().st_size

    requests_made = len(server.requests)
    assert download.main(["tiny", "--dest", str(data), "--quiet"]) == 0
    assert len(server.requests) == requests_made
    assert "extracted, archive removed" in "\n".join(download.describe_plan("tiny", data))


def test_remove_archive_keeps_an_archive_whose_files_are_missing(tmp_path):
    archive = make_zip(tmp_path / "set.zip", {"set/a.txt": b"a", "set/b.txt": b"bb"})
    extract_archive(archive, tmp_path, progress=False)
    (tmp_path / "set" / "b.txt").write_bytes(b"b")  # shorter than in the archive

    with pytest.raises(DownloadError, match=r"set\.zip: not removed, .*b\.txt has 1 bytes, the archive says 2"):
        download.remove_archive(archive, tmp_path, progress=False)
    assert archive.exists()

    fresh = make_zip(tmp_path / "other.zip", {"o.txt": b"o"})
    with pytest.raises(DownloadError, match="never fully extracted"):
        download.remove_archive(fresh, tmp_path, progress=False)
    assert fresh.exists()
