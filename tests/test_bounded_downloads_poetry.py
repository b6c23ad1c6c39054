"""Issue 10, class 8, through real Poetry: the plugin's downloads (to verify an index that switched
hash algorithms) are bounded and stay on the source's host.

The index switches alpha's wheel to sha512 and serves it from a hostile place: bytes without end, a
byte at a time, headers a byte or a line at a time (so the body never starts), or another host.
Wheel metadata comes from PEP 658 files, so Poetry itself never downloads the wheel while locking:
only the plugin's check does. `poetry lock --regenerate` must end (refused: the file could not be
verified), never hang, and write nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from tests.support.guarded_project import (
    ALPHA,
    APPROVE_ALPHA,
    OTHER,
    WHEEL,
    Project,
    copy_project,
    make_project,
    publish_base,
)
from tests.support.index import PackageIndex, _Handler, _Server

pytestmark = pytest.mark.e2e

LIMITS = {"PINWARDEN_DOWNLOAD_MAX_BYTES": "200000", "PINWARDEN_DOWNLOAD_SECONDS": "2"}


def metadata_of(wheel: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


class HostileHandler(_Handler):
    """`/hostile/<how>/<filename>`: the wheel's PEP 658 metadata, or its bytes served badly."""

    index: HostileIndex

    def do_GET(self) -> None:
        parts = self.path.split("/")
        if len(parts) == 4 and parts[1] == "hostile":
            self._hostile(parts[2], parts[3])
        else:
            super().do_GET()

    def _hostile(self, how: str, filename: str) -> None:
        if filename.endswith(".metadata"):
            body = metadata_of(self.index.wheel_bytes(filename.removesuffix(".metadata")))
            self._send(200, "application/octet-stream", body, True)
            return
        if how in ("header-drip", "header-line-drip"):
            with contextlib.suppress(OSError):  # the client hung up
                self._drip_headers(lines=how == "header-line-drip")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        try:
            if how == "endless":
                for _ in range(200_000):  # 13 GB unless the client stops reading
                    self.wfile.write(b"\0" * 65_536)
            elif how == "drip":
                for _ in range(1200):  # two minutes, a byte every 0.1 s
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                self.wfile.write(self.index.wheel_bytes(filename))
        except OSError:
            pass

    def _drip_headers(self, *, lines: bool) -> None:
        """The status line, then every 0.5 s for ten minutes one more byte of a header (or one more
        header line): never idle long enough for a read timeout, and the body never starts."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\n" + (b"" if lines else b"X-Drip: "))
        for n in range(1200):
            time.sleep(0.5)
            self.wfile.write(f"X-Line-{n}: x\r\n".encode() if lines else b"x")
            self.wfile.flush()


class HostileIndex(PackageIndex):
    """JSON pages with PEP 658 metadata; `moved[filename] = (how, host)` serves that file badly."""

    def __init__(self) -> None:
        super().__init__()
        self.moved: dict[str, tuple[str, str]] = {}

    def wheel_bytes(self, filename: str) -> bytes:
        for key in (ALPHA, OTHER):
            files = self.files(key)
            if filename in files:
                return files[filename].data
        raise KeyError(filename)

    def render_project(self, name: str, as_json: bool = False) -> str:
        page = json.loads(super().render_project(name, as_json=True))
        port = self.url.split(":")[2].split("/")[0]
        for row in page["files"]:
            if row["filename"].endswith(".whl"):
                data = self.wheel_bytes(row["filename"])
                row["core-metadata"] = {"sha256": hashlib.sha256(metadata_of(data)).hexdigest()}
                how, host = self.moved.get(row["filename"], ("real", "127.0.0.1"))
                row["url"] = f"http://{host}:{port}/hostile/{how}/{row['filename']}"
        return json.dumps(page)

    def start(self) -> str:
        self._server = _Server(("127.0.0.1", 0), partial(HostileHandler, index=self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()
        return self.url


@pytest.fixture(scope="module")
def index() -> Iterator[HostileIndex]:
    index = HostileIndex()
    publish_base(index)
    with index.serve():
        yield index


@pytest.fixture(scope="module")
def template(index: HostileIndex, tmp_path_factory: pytest.TempPathFactory) -> Project:
    publish_base(index)
    project = make_project(tmp_path_factory.mktemp("template"), index.url, [ALPHA, OTHER])
    project.ok("lock", "-n")
    return project


@pytest.fixture
def project(index: HostileIndex, template: Project, tmp_path: Path) -> Iterator[Project]:
    publish_base(index)
    index.moved.clear()
    yield copy_project(template, tmp_path)
    index.hash_algorithm = "sha256"
    index.moved.clear()


def test_an_honest_switch_through_the_same_pages_is_verified(index: HostileIndex, project: Project) -> None:
    index.hash_algorithm = "sha512"
    # Every download here is honest: a time limit a loaded machine cannot miss (the size cap stays).
    done = project.poetry("lock", "-n", "--regenerate", env={**LIMITS, "PINWARDEN_DOWNLOAD_SECONDS": "300"})
    assert done.code == 0, done.output
    assert "matches its trusted hash" in done.output


@pytest.mark.parametrize(
    ("how", "host", "words"),
    [
        ("endless", "127.0.0.1", "larger than"),
        ("drip", "127.0.0.1", "took more than 2 seconds"),
        ("header-drip", "127.0.0.1", "took more than 2 seconds"),
        ("header-line-drip", "127.0.0.1", "took more than 2 seconds"),
        ("real", "localhost", "not the index's host"),
    ],
    ids=["endless", "slow-drip", "header-drip", "header-line-drip", "another-host"],
)
def test_a_hostile_download_ends_in_a_refusal_never_a_hang(
    index: HostileIndex, project: Project, how: str, host: str, words: str
) -> None:
    index.hash_algorithm = "sha512"
    index.moved[WHEEL[0]] = (how, host)
    before = project.snapshot()
    started = time.monotonic()
    done = project.poetry("lock", "-n", "--regenerate", env=LIMITS)
    elapsed = time.monotonic() - started
    assert done.code == 1, done.output
    assert "Traceback" not in done.output
    assert "could not be downloaded" in done.output, done.output
    assert words in " ".join(done.output.split()), done.output
    assert done.approve_command == APPROVE_ALPHA
    assert project.snapshot() == before
    assert elapsed < 120, elapsed  # the server would go on for minutes (drip) or 13 GB (endless)


@pytest.mark.parametrize(
    ("how", "host", "words"),
    [
        ("endless", "127.0.0.1", "larger than"),
        ("drip", "127.0.0.1", "took more than 2 seconds"),
        ("header-drip", "127.0.0.1", "took more than 2 seconds"),
        ("header-line-drip", "127.0.0.1", "took more than 2 seconds"),
        ("real", "localhost", "not the index's host"),
    ],
    ids=["endless", "slow-drip", "header-drip", "header-line-drip", "another-host"],
)
def test_poetry_pinwarden_audit_downloads_are_bounded(
    index: HostileIndex, project: Project, how: str, host: str, words: str
) -> None:
    index.hash_algorithm = "sha512"
    index.moved[WHEEL[0]] = (how, host)
    started = time.monotonic()
    done = project.poetry("pinwarden", "audit", env=LIMITS)
    elapsed = time.monotonic() - started
    assert done.code == 2, done.output
    assert "Traceback" not in done.output
    assert words in done.stderr, done.output
    assert elapsed < 120, elapsed  # the server would go on for minutes
