"""A hostile index, served on 127.0.0.1: every trick gets a clear finding or error, never a silent pass,
a traceback or a hang.

Exercised through `SimpleIndex` and `release_from_indexes`, what `pinwarden approve --from-index`
runs, and through the CLI where the outcome is the ledger. Each call runs in a worker thread with
a deadline, so a client that hangs fails its test instead of the suite.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pinwarden.cli import main
from pinwarden.shared.errors import PinwardenError
from pinwarden.shared.index.fetch import SimpleIndex
from pinwarden.shared.index.release import release_from_indexes
from pinwarden.shared.ledger import loads
from pinwarden.shared.model import LockedRelease

WHEEL = b"the real wheel"
SDIST = b"the real sdist"
DEADLINE = 12.0  # seconds: longer than any sensible answer, short enough to call a hang a hang


def sha(data: bytes, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, data).hexdigest()


Route = Callable[[BaseHTTPRequestHandler], None]


def send(
    handler: BaseHTTPRequestHandler, body: bytes, content_type: str = "text/html", status: int = 200
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def html(*anchors: tuple[str, str]) -> Route:
    body = "".join(f'<a href="{href}">{text}</a>\n' for href, text in anchors).encode()
    return lambda h: send(h, body)


def pep691(*files: dict[str, Any]) -> Route:
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": list(files)}).encode()
    return lambda h: send(h, body, "application/vnd.pypi.simple.v1+json")


class Server:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {
            "/files/demo-1.0-py3-none-any.whl": lambda h: send(h, WHEEL, "application/octet-stream"),
            "/files/demo-1.0.tar.gz": lambda h: send(h, SDIST, "application/octet-stream"),
        }
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                route = routes.get(self.path.split("?")[0])
                if route is None:
                    send(self, b"not found", status=404)
                    return
                with contextlib.suppress(OSError):
                    route(self)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}/simple/"

    @contextlib.contextmanager
    def serving(self) -> Iterator[Server]:
        thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    with Server().serving() as running:
        yield running


def within_deadline(call: Callable[[], Any]) -> Any:
    """The call's result or exception; AssertionError if it does not finish before DEADLINE."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"still running after {DEADLINE:.0f}s: a hang"
    box["seconds"] = time.monotonic() - started
    return box


def approve(server: Server, timeout: float = 2.0) -> LockedRelease:
    """release_from_indexes for demo==1.0; re-raises what it raised, after the deadline check."""

    def call() -> LockedRelease:
        with SimpleIndex(server.url, timeout=timeout) as index:
            return release_from_indexes([index], "demo", "1.0")

    box = within_deadline(call)
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


def refused(server: Server, *words: str, timeout: float = 2.0) -> str:
    """A clear PinwardenError, one line, naming `words`; never another exception."""
    with pytest.raises(PinwardenError) as info:
        approve(server, timeout)
    message = str(info.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


FILES = "../../files/"
GOOD_WHEEL = (f"{FILES}demo-1.0-py3-none-any.whl#sha256={sha(WHEEL)}", "demo-1.0-py3-none-any.whl")


# ---------------------------------------------------------------------------------------------
# what the page says


def test_files_listed_under_the_wrong_version_are_left_out(server: Server) -> None:
    server.routes["/simple/demo/"] = html(
        GOOD_WHEEL,
        (f"{FILES}demo-2.0.tar.gz#sha256={sha(SDIST)}", "demo-2.0.tar.gz"),
        (f"{FILES}demo-1.0.tar.gz#sha256={sha(SDIST)}", "demo-1.0.1.tar.gz"),
        (f"{FILES}demo-1.0.tar.gz#sha256={sha(SDIST)}", "demo-1.0-1.0.tar.gz"),
    )
    assert [f.filename for f in approve(server).files] == ["demo-1.0-py3-none-any.whl"]


def test_only_wrong_versions_is_an_error(server: Server) -> None:
    server.routes["/simple/demo/"] = html((f"{FILES}demo-2.0.tar.gz#sha256={sha(SDIST)}", "demo-2.0.tar.gz"))
    refused(server, "demo==1.0", "no files for this version")


def test_names_differing_by_case_and_separators_are_one_project(server: Server) -> None:
    """PEP 503: Demo, demo_, demo. and demo- name one project; another name is not it."""
    server.routes["/simple/demo/"] = html(
        (f"{FILES}demo-1.0-py3-none-any.whl#sha256={sha(WHEEL)}", "Demo-1.0-py3-none-any.whl"),
        (f"{FILES}demo-1.0.tar.gz#sha256={sha(SDIST)}", "DEMO-1.0.tar.gz"),
        (f"{FILES}demo-1.0.tar.gz#sha256={sha(b'x')}", "demo_x-1.0.tar.gz"),
        (f"{FILES}demo-1.0.tar.gz#sha256={sha(b'y')}", "de.mo-1.0.tar.gz"),
    )
    assert sorted(f.filename for f in approve(server).files) == [
        "DEMO-1.0.tar.gz",
        "Demo-1.0-py3-none-any.whl",
    ]


@pytest.mark.parametrize("algorithm", ["md5", "sha1"])
def test_a_weak_hash_alone_is_never_trusted_the_file_is_hashed(server: Server, algorithm: str) -> None:
    server.routes["/simple/demo/"] = html(
        (f"{FILES}demo-1.0-py3-none-any.whl#{algorithm}={sha(WHEEL, algorithm)}", GOOD_WHEEL[1])
    )
    (file,) = approve(server).files
    assert str(file.hash) == f"sha256:{sha(WHEEL)}", "the bytes as served, hashed with sha256"


@pytest.mark.parametrize("algorithm", ["md5", "sha1"])
def test_a_forged_weak_hash_is_refused(server: Server, algorithm: str) -> None:
    server.routes["/simple/demo/"] = html(
        (f"{FILES}demo-1.0-py3-none-any.whl#{algorithm}={sha(b'forged', algorithm)}", GOOD_WHEEL[1])
    )
    refused(server, GOOD_WHEEL[1], f"lists {algorithm}:", "nothing was recorded")


def test_the_same_filename_twice_with_different_hashes_is_refused(server: Server) -> None:
    server.routes["/simple/demo/"] = html(
        GOOD_WHEEL, (f"{FILES}demo-1.0-py3-none-any.whl#sha256={sha(b'other')}", GOOD_WHEEL[1])
    )
    # the second listing is a hash of other bytes than the file served: refused as a false hash
    refused(server, "demo-1.0-py3-none-any.whl", "nothing was recorded")


@pytest.mark.parametrize(
    "filename", ["../demo-1.0.tar.gz", "sub/demo-1.0.tar.gz", "..\\demo-1.0.tar.gz", "/demo-1.0.tar.gz"]
)
def test_filenames_with_path_separators_are_refused(server: Server, filename: str) -> None:
    server.routes["/simple/demo/"] = pep691(
        {"filename": filename, "url": f"{FILES}demo-1.0.tar.gz", "hashes": {"sha256": sha(SDIST)}}
    )
    with contextlib.suppress(PinwardenError):
        release = approve(server)
        assert all("/" not in f.filename and "\\" not in f.filename for f in release.files if f.filename)


def test_cli_never_writes_a_ledger_it_cannot_read(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/simple/demo/"] = pep691(
        {
            "filename": "../demo-1.0.tar.gz",
            "url": f"{FILES}demo-1.0.tar.gz",
            "hashes": {"sha256": sha(SDIST)},
        },
        {"filename": GOOD_WHEEL[1], "url": f"{FILES}{GOOD_WHEEL[1]}", "hashes": {"sha256": sha(WHEEL)}},
    )
    monkeypatch.chdir(tmp_path)
    err = io.StringIO()
    box = within_deadline(
        lambda: main(["approve", "demo==1.0", "--from-index", server.url], io.StringIO(), err)
    )
    assert box.get("result") in (0, 2), box
    ledger = tmp_path / "pinwarden-ledger.toml"
    if box["result"] == 2:
        assert err.getvalue().startswith("pinwarden: error:") and err.getvalue().count("\n") == 1
        assert not ledger.exists()
    else:
        assert loads(ledger.read_text()).get("demo", "1.0") is not None  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# how the server answers


def test_invalid_json_page_is_a_one_line_error(server: Server) -> None:
    server.routes["/simple/demo/"] = lambda h: send(h, b'{"files": [', "application/vnd.pypi.simple.v1+json")
    refused(server, "not a valid PEP 691 project page")


def test_invalid_html_page_is_a_one_line_error(server: Server) -> None:
    server.routes["/simple/demo/"] = lambda h: send(h, b"<a href='http://[::1/x'>demo-1.0.tar.gz</a><![ x")
    refused(server, "PEP 503 project page")


def test_redirect_to_another_host_is_not_followed_silently(server: Server) -> None:
    """The project page moved to a host the person never named: refused, or at least not trusted as ours."""
    with Server("127.0.0.2").serving() as other:
        other.routes["/simple/demo/"] = html(
            (f"{other.url}../files/demo-1.0-py3-none-any.whl#sha256={sha(b'evil')}", GOOD_WHEEL[1])
        )

        def redirect(h: BaseHTTPRequestHandler) -> None:
            h.send_response(302)
            h.send_header("Location", f"{other.url}demo/")
            h.send_header("Content-Length", "0")
            h.end_headers()

        server.routes["/simple/demo/"] = redirect
        refused(server, "redirected to another host (127.0.0.2)")


def endless(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.end_headers()
    chunk = b"<!-- " + b"x" * 65_000 + b" -->\n"
    for _ in range(20_000):  # 1.3 GB unless the client stops reading
        h.wfile.write(chunk)


def oversized(h: BaseHTTPRequestHandler) -> None:
    send(h, b"<a href='x'>demo-1.0.tar.gz</a>" + b" " * (80 << 20))


def dripping(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.end_headers()
    for _ in range(600):  # a byte every 0.2 s: never idle long enough for a read timeout
        h.wfile.write(b" ")
        h.wfile.flush()
        time.sleep(0.2)


def silent(h: BaseHTTPRequestHandler) -> None:
    time.sleep(DEADLINE + 5)


@pytest.mark.parametrize(
    ("route", "words"),
    [
        (silent, ["timed out"]),
        (endless, ["larger than"]),
        (oversized, ["larger than"]),
        (dripping, ["timed out"]),
    ],
    ids=["silent", "endless", "oversized", "slow-drip"],
)
def test_endless_oversized_and_slow_answers_end_in_an_error(
    server: Server, route: Route, words: list[str]
) -> None:
    server.routes["/simple/demo/"] = route
    refused(server, *words, timeout=1.0)
