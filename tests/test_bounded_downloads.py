"""Issue 10, class 8: every download made to hash a file is bounded and stays on the index's hosts.

Through `pinwarden audit` (a page without the ledger's hash: the file is downloaded) and
`pinwarden approve --from-index` (every file is downloaded), against a hostile server on 127.0.0.1
whose file answers never end, drip (the body, or the headers before it: a byte or a header line at
a time), lie about their size, or point elsewhere; and pages whose headers drip or that ask to be
retried in an hour. Limits are made tiny through the environment, and every server misbehaves for
far longer than the limit: no test depends on how fast the machine is, each asserts only that the
command stops within ten times its limit, and a hang fails the test (within_deadline) instead of
the suite.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from tests.test_hostile_index import WHEEL, Server, send, sha, within_deadline

from pinwarden.cli import main
from pinwarden.shared.errors import PinwardenError
from pinwarden.shared.index.download import Limits, TooSlow, check_url, send_within

FILENAME = "demo-1.0-py3-none-any.whl"


def endless(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/octet-stream")
    h.end_headers()
    for _ in range(200_000):  # 13 GB unless the client stops reading
        h.wfile.write(b"\0" * 65_536)


def announced_huge(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/octet-stream")
    h.send_header("Content-Length", str(1 << 40))
    h.end_headers()
    for _ in range(200_000):
        h.wfile.write(b"\0" * 65_536)


def dripping(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/octet-stream")
    h.end_headers()
    for _ in range(600):  # a byte every 0.1 s for a minute: never idle long enough for a read timeout
        h.wfile.write(b"x")
        h.wfile.flush()
        time.sleep(0.1)


def wheel(h: BaseHTTPRequestHandler) -> None:
    send(h, WHEEL, "application/octet-stream")


Route = Callable[[BaseHTTPRequestHandler], None]


def header_drip(interval: float, stop: threading.Event) -> Route:
    """The status line, then a header whose value drips a byte every `interval` for minutes: never
    idle long enough for a read timeout, and the body never starts."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        for _ in range(int(300 / interval)):
            if stop.wait(interval):
                return
            h.wfile.write(b"x")
            h.wfile.flush()

    return route


def header_line_drip(interval: float, stop: threading.Event) -> Route:
    """The status line, then one new header line every `interval` for minutes."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for n in range(int(300 / interval)):
            if stop.wait(interval):
                return
            h.wfile.write(f"X-Line-{n}: x\r\n".encode())
            h.wfile.flush()

    return route


def retry_in_an_hour(h: BaseHTTPRequestHandler) -> None:
    h.send_response(503)
    h.send_header("Retry-After", "3600")
    h.send_header("Content-Length", "0")
    h.end_headers()


LIMIT = 1.0  # PINWARDEN_DOWNLOAD_SECONDS, and a page's total time at `audit --timeout 0.25`
STOPS = threading.Event()  # set after each test: the drips end instead of writing on for minutes


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("PINWARDEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PINWARDEN_DOWNLOAD_MAX_BYTES", "100000")
    monkeypatch.setenv("PINWARDEN_DOWNLOAD_SECONDS", f"{LIMIT:g}")
    STOPS.clear()
    with Server().serving() as running:
        running.routes["/files/endless.whl"] = endless
        running.routes["/files/huge.whl"] = announced_huge
        running.routes["/files/drip.whl"] = dripping
        running.routes["/files/header-drip.whl"] = header_drip(0.5, STOPS)
        running.routes["/files/header-line-drip.whl"] = header_line_drip(0.5, STOPS)
        running.routes["/files/real.whl"] = wheel
        try:
            yield running
        finally:
            STOPS.set()


def page_listing(server: Server, url: str, *, size: int | None = None) -> None:
    """The project page lists the trusted wheel at `url`, with no hash (the client must hash it)."""
    row: dict[str, Any] = {"filename": FILENAME, "url": url, "hashes": {}}
    if size is not None:
        row["size"] = size
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": [row]}).encode()
    server.routes["/simple/demo/"] = lambda h: send(h, body, "application/vnd.pypi.simple.v1+json")


def run(*argv: str) -> tuple[int, str, str]:
    code, out, err, _ = timed_run(*argv)
    return code, out, err


def timed_run(*argv: str) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    box = within_deadline(lambda: main(list(argv), out, err))
    assert "error" not in box, box  # main never raises
    return box["result"], out.getvalue(), err.getvalue(), box["seconds"]


# (url relative to the server's root or absolute, page-stated size, words in the error)
CASES: dict[str, tuple[Callable[[Server], str], int | None, str]] = {
    "endless": (lambda s: s.url + "../files/endless.whl", None, "larger than the download limit"),
    "announced-huge": (lambda s: s.url + "../files/huge.whl", None, "is larger than the download limit"),
    "more-than-stated": (lambda s: s.url + "../files/endless.whl", 5000, "larger than the size the page"),
    "real-file-larger-than-stated": (lambda s: s.url + "../files/real.whl", 3, "larger than the size"),
    "slow-drip": (lambda s: s.url + "../files/drip.whl", None, "took more than 1 seconds"),
    "header-drip": (lambda s: s.url + "../files/header-drip.whl", None, "took more than 1 seconds"),
    "header-line-drip": (lambda s: s.url + "../files/header-line-drip.whl", None, "took more than 1 seconds"),
    "dev-zero": (lambda s: "file:///dev/zero", None, "only a file: index may name file: URLs"),
    "file-localhost": (lambda s: "file://localhost/dev/zero", None, "only a file: index"),
    "FILE-upper": (lambda s: "FILE:///dev/urandom", None, "only a file: index"),
    "ftp": (lambda s: "ftp://127.0.0.1/demo.whl", None, "only http and https"),
    "other-host": (lambda s: s.url.replace("127.0.0.1", "127.0.0.2") + "../files/real.whl", None, "host"),
    "localhost-name": (lambda s: s.url.replace("127.0.0.1", "localhost") + "../files/real.whl", None, "host"),
}


def pin(server: Server) -> None:
    Path("requirements.txt").write_text(
        f"--index-url {server.url}\n\ndemo==1.0 --hash=sha256:{sha(WHEEL)}\n", encoding="utf-8"
    )
    assert run("init")[0] == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_audit_downloads_are_bounded(server: Server, case: str) -> None:
    pin(server)
    url, size, words = CASES[case]
    page_listing(server, url(server), size=size)
    before = Path("pinwarden-ledger.toml").read_bytes()
    code, out, err, seconds = timed_run("audit", "--timeout", "5", "--no-cache")
    assert seconds < 10 * LIMIT, seconds
    assert code == 2, out + err
    assert all(line.startswith("pinwarden: error: ") for line in err.splitlines()), err
    assert words in err, err
    assert "Traceback" not in out + err
    assert Path("pinwarden-ledger.toml").read_bytes() == before


@pytest.mark.parametrize("case", sorted(CASES))
def test_approve_from_index_downloads_are_bounded(server: Server, case: str) -> None:
    url, size, words = CASES[case]
    page_listing(server, url(server), size=size)
    code, out, err, seconds = timed_run("approve", "demo==1.0", "--from-index", server.url)
    assert seconds < 10 * LIMIT, seconds
    assert code == 2, out + err
    assert err.startswith("pinwarden: error: ") and err.count("\n") == 1, err
    assert words in err, err
    assert not Path("pinwarden-ledger.toml").exists()


PAGES: dict[str, Callable[[threading.Event], Route]] = {
    "header-drip": lambda stop: header_drip(0.1, stop),  # faster than the 0.25 s read timeout
    "header-line-drip": lambda stop: header_line_drip(0.1, stop),
    "retry-in-an-hour": lambda stop: retry_in_an_hour,
}


@pytest.mark.parametrize("case", sorted(PAGES))
def test_audit_pages_are_bounded_from_the_request_on(server: Server, case: str) -> None:
    """A page gets four timeouts in all, from the request to the last byte: headers that drip or a
    Retry-After of an hour end the audit like a body that drips."""
    pin(server)
    server.routes["/simple/demo/"] = PAGES[case](STOPS)
    before = Path("pinwarden-ledger.toml").read_bytes()
    code, out, err, seconds = timed_run("audit", "--timeout", "0.25", "--no-cache")
    assert seconds < 10 * LIMIT, seconds
    assert code == 2, out + err
    assert all(line.startswith("pinwarden: error: ") for line in err.splitlines()), err
    assert f"the page took more than {LIMIT:g} seconds in all" in err, err
    assert "Traceback" not in out + err
    assert Path("pinwarden-ledger.toml").read_bytes() == before


def test_send_within_gives_up_at_the_deadline_and_closes_what_comes_later() -> None:
    """The request left behind at its deadline is not waited for; what it returns later is closed,
    what it raises is dropped; an answer or an error in time is the caller's. No timing luck: the
    late call returns only after the caller gave up."""
    release, closed = threading.Event(), threading.Event()
    late: list[str] = []

    def slow() -> str:
        release.wait()
        return "late answer"

    def discard(value: str) -> None:
        late.append(value)
        closed.set()

    with pytest.raises(TooSlow):
        send_within(slow, 0.05, discard)
    release.set()
    assert closed.wait(30)
    assert late == ["late answer"]
    assert send_within(lambda: "answer", 30, discard) == "answer"
    with pytest.raises(ZeroDivisionError):
        send_within(lambda: 1 // 0, 30)
    with pytest.raises(TooSlow):
        send_within(lambda: "never sent", 0)


def test_a_well_behaved_file_within_the_limits_is_hashed(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A time limit a loaded machine cannot miss: what is tested here is the size check and hashing.
    monkeypatch.setenv("PINWARDEN_DOWNLOAD_SECONDS", "300")
    page_listing(server, server.url + "../files/real.whl", size=len(WHEEL))
    code, _, err = run("approve", "demo==1.0", "--from-index", server.url)
    assert code == 0, err
    assert f"sha256:{sha(WHEEL)}" in Path("pinwarden-ledger.toml").read_text()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PINWARDEN_DOWNLOAD_MAX_BYTES", "0"),
        ("PINWARDEN_DOWNLOAD_MAX_BYTES", "-5"),
        ("PINWARDEN_DOWNLOAD_MAX_BYTES", "1e3"),
        ("PINWARDEN_DOWNLOAD_MAX_BYTES", "9" * 5000),
        ("PINWARDEN_DOWNLOAD_SECONDS", "nan"),
        ("PINWARDEN_DOWNLOAD_SECONDS", "inf"),
        ("PINWARDEN_DOWNLOAD_SECONDS", "0"),
        ("PINWARDEN_DOWNLOAD_SECONDS", "1e400"),
        ("PINWARDEN_DOWNLOAD_SECONDS", "soon"),
    ],
)
def test_a_bad_limit_is_a_one_line_error(
    server: Server, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    page_listing(server, server.url + "../files/real.whl")
    code, _, err = run("approve", "demo==1.0", "--from-index", server.url)
    assert code == 2
    assert err.startswith("pinwarden: error: ") and err.count("\n") == 1, err
    assert name in err


# -- the host rule, for every index shape ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "index"),
    [
        ("https://files.pythonhosted.org/packages/x/demo.whl", "https://pypi.org/simple/"),
        ("https://test-files.pythonhosted.org/x/demo.whl", "https://test.pypi.org/simple/"),
        ("https://PyPI.org/packages/demo.whl", "https://pypi.org/simple"),
        ("http://127.0.0.1:9/files/demo.whl", "http://127.0.0.1:8/simple/"),
        ("https://repo.example/files/demo.whl", "https://user:pw@repo.example/simple/"),
        ("file:///srv/files/demo.whl", "file:///srv/simple/"),
    ],
)
def test_files_on_the_index_host_or_its_file_host_are_allowed(url: str, index: str) -> None:
    check_url(url, index, Limits())


@pytest.mark.parametrize(
    ("url", "index"),
    [
        ("https://files.pythonhosted.org.evil/x/demo.whl", "https://pypi.org/simple/"),
        ("https://evil.example/demo.whl", "https://pypi.org/simple/"),
        ("http://files.pythonhosted.org/x/demo.whl", "https://pypi.org/simple/"),  # downgrade
        ("https://files.pythonhosted.org/x/demo.whl", "https://repo.example/simple/"),
        ("file:///dev/zero", "https://pypi.org/simple/"),
        ("https://repo.example/x", "file:///srv/simple/"),
        ("gopher://repo.example/x", "https://repo.example/simple/"),
        ("http://[::1/x", "https://repo.example/simple/"),
        ("//repo.example/x", "https://repo.example/simple/"),
    ],
)
def test_other_hosts_and_schemes_are_refused(url: str, index: str) -> None:
    with pytest.raises(PinwardenError) as info:
        check_url(url, index, Limits())
    assert "\n" not in str(info.value)


def test_a_private_index_names_its_file_host() -> None:
    limits = Limits.from_env({"PINWARDEN_FILE_HOSTS": "cdn.repo.example, Other.Example"})
    check_url("https://cdn.repo.example/demo.whl", "https://repo.example/simple/", limits)
    check_url("https://other.example/demo.whl", "https://repo.example/simple/", limits)
    with pytest.raises(PinwardenError):
        check_url("https://cdn.repo.example.evil/demo.whl", "https://repo.example/simple/", limits)
