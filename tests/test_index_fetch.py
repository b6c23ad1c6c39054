"""The index client (shared/index/fetch.py) and release_from_indexes, against servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.support.index import PackageIndex, build_sdist, build_wheel

from pinwarden.shared.errors import PinwardenError
from pinwarden.shared.index.fetch import (
    IndexUnavailable,
    ProjectNotFound,
    SimpleIndex,
    redact_url,
    same_index,
)
from pinwarden.shared.index.release import release_from_indexes
from pinwarden.shared.model import FileHash, LockedFile

NAME = "pwdemo-alpha"
WHEEL = build_wheel(NAME, "1.0", marker="wheel")
SDIST = build_sdist(NAME, "1.0", marker="sdist")
LATER = build_wheel(NAME, "1.1")


def sha256(data: bytes) -> FileHash:
    return FileHash("sha256", hashlib.sha256(data).hexdigest())


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    index.add(NAME, "1.0", *WHEEL, upload_time="2024-05-01T12:00:00Z")
    index.add(NAME, "1.0", *SDIST)
    index.add(NAME, "1.1", *LATER)
    with index.serve():
        yield index


def test_json_page_with_pep_700_fields(index: PackageIndex) -> None:
    with SimpleIndex(index.url) as client:
        files = client.project_files("PwDemo_Alpha")  # normalized before the request
    assert [f.filename for f in files] == [WHEEL[0], SDIST[0], LATER[0]]
    wheel = files[0]
    assert (wheel.hashes, wheel.size, wheel.upload_time) == (
        (sha256(WHEEL[1]),),
        len(WHEEL[1]),
        "2024-05-01T12:00:00Z",
    )
    assert wheel.url == f"{index.url[: -len('simple/')]}files/{NAME}/{WHEEL[0]}"
    assert index.requests == [f"/simple/{NAME}/"]


def test_html_only_index(index: PackageIndex) -> None:
    index.json_enabled = False
    with SimpleIndex(index.url.rstrip("/")) as client:  # a URL without its slash works too
        files = client.project_files(NAME)
    assert {f.filename: f.hashes for f in files}[SDIST[0]] == (sha256(SDIST[1]),)
    assert files[0].size is None  # PEP 503 has no sizes


def test_download_hash_hashes_the_bytes_served_now(index: PackageIndex) -> None:
    with SimpleIndex(index.url) as client:
        (sdist,) = [f for f in client.project_files(NAME) if f.filename == SDIST[0]]
        replaced = build_sdist(NAME, "1.0", marker="replaced")[1]
        index.replace(NAME, SDIST[0], replaced)
        sdist = replace(sdist, size=None)  # the page read before the change states the old size
        assert client.download_hash(sdist) == sha256(replaced)
        assert client.download_hash(sdist, "sha512").value == hashlib.sha512(replaced).hexdigest()


def test_unknown_project_is_not_found(index: PackageIndex) -> None:
    with pytest.raises(ProjectNotFound, match=r"/simple/pwdemo-nothing/: not found \(HTTP 404\)"):
        SimpleIndex(index.url).project_files("pwdemo-nothing")


def test_unreachable_index() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(IndexUnavailable, match="cannot connect"):
        SimpleIndex(f"http://127.0.0.1:{port}/simple/").project_files(NAME)


class _Stub(BaseHTTPRequestHandler):
    status = 500
    body = b"oops"
    content_type = "text/plain"
    delay = 0.0

    def do_GET(self) -> None:
        import time

        time.sleep(self.delay)
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[tuple[str, type[_Stub]]]:
    handler = type("Handler", (_Stub,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/", handler
    finally:
        server.shutdown()
        server.server_close()


def test_server_error(stub: tuple[str, type[_Stub]]) -> None:
    url, _ = stub
    with pytest.raises(IndexUnavailable, match=r"HTTP 500"):
        SimpleIndex(url).project_files(NAME)


def test_timeout(stub: tuple[str, type[_Stub]]) -> None:
    url, handler = stub
    handler.delay = 1.0
    with pytest.raises(IndexUnavailable, match="timed out"):
        SimpleIndex(url, timeout=0.2).project_files(NAME)


def test_a_page_that_is_not_one(stub: tuple[str, type[_Stub]]) -> None:
    url, handler = stub
    handler.status, handler.body, handler.content_type = 200, b"{", "application/vnd.pypi.simple.v1+json"
    with pytest.raises(PinwardenError, match="not a valid PEP 691 project page"):
        SimpleIndex(url).project_files(NAME)


def test_file_url_index(tmp_path: Path) -> None:
    index = PackageIndex()
    index.add(NAME, "1.0", *WHEEL)
    url = index.write_static(tmp_path / "static")
    client = SimpleIndex(url)
    (wheel,) = client.project_files(NAME)
    assert wheel.hashes == (sha256(WHEEL[1]),)
    assert client.download_hash(wheel) == sha256(WHEEL[1])
    with pytest.raises(ProjectNotFound):
        client.project_files("pwdemo-nothing")


def test_url_helpers() -> None:
    assert same_index("https://pypi.org/simple", "https://pypi.org/simple/")
    assert not same_index("https://pypi.org/simple/", "https://test.pypi.org/simple/")
    assert redact_url("https://user:s3cret@host.example/simple/") == "https://user:****@host.example/simple/"
    assert redact_url("https://host.example/simple/") == "https://host.example/simple/"


# -- one version's files, ready to record ---------------------------------------------------------


def test_release_from_an_index(index: PackageIndex) -> None:
    release = release_from_indexes([SimpleIndex(index.url)], "PwDemo.Alpha", "1.0")
    assert (release.name, release.version, release.source_url) == (NAME, "1", index.url)
    assert release.files == (
        LockedFile(WHEEL[0], sha256(WHEEL[1])),
        LockedFile(SDIST[0], sha256(SDIST[1])),
    )


def test_release_downloads_files_the_page_lists_without_sha256(index: PackageIndex) -> None:
    index.hash_algorithm = "sha512"
    release = release_from_indexes([SimpleIndex(index.url)], NAME, "1.1")
    assert release.files == (LockedFile(LATER[0], sha256(LATER[1])),)
    assert f"/files/{NAME}/{LATER[0]}" in index.requests


def test_release_merges_indexes_and_refuses_one_filename_with_two_contents(index: PackageIndex) -> None:
    other = PackageIndex()
    extra = build_wheel(NAME, "1.0", python_tag="cp311", abi="cp311", platform="linux_x86_64")
    other.add(NAME, "1.0", *extra)
    with other.serve():
        release = release_from_indexes([SimpleIndex(index.url), SimpleIndex(other.url)], NAME, "1.0")
        assert {f.filename for f in release.files} == {WHEEL[0], SDIST[0], extra[0]}
        other.add(NAME, "1.0", SDIST[0], b"other bytes")
        with pytest.raises(PinwardenError, match=f"{SDIST[0]} is served with different bytes by"):
            release_from_indexes([SimpleIndex(index.url), SimpleIndex(other.url)], NAME, "1.0")


def test_release_of_a_version_no_index_has(index: PackageIndex) -> None:
    with pytest.raises(PinwardenError, match=r"pwdemo-alpha==9\.9: no files for this version on"):
        release_from_indexes([SimpleIndex(index.url)], NAME, "9.9")
    with pytest.raises(PinwardenError, match="no files for this version"):
        release_from_indexes([SimpleIndex(index.url)], "pwdemo-nothing", "1.0")
