"""A replay of recorded PyPI simple pages, served on 127.0.0.1: the real client path, offline.

`ReplayIndex(pages)` serves PEP 691 JSON (with PEP 700 fields, as recorded) or PEP 503 HTML
rendered from the same data, answers conditional requests (ETag / If-None-Match -> 304) as PyPI
does, can require HTTP basic credentials, slow down or fail on purpose, and serves file bytes for
the files it was given (synthesized ones whose hashes the pages then carry). Standard library only.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import gzip
import hashlib
import html
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "index" / "replay"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "simple"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def recorded_page(project: str, *, corpus: bool = False) -> dict[str, Any]:
    """A recorded page: the trimmed copy in tests/data (always there), or the corpus's full page."""
    if corpus:
        with gzip.open(CORPUS / f"{project}.json.gz") as handle:
            page: dict[str, Any] = json.load(handle)
        return page
    return json.loads((DATA / f"{project}.json").read_text())  # type: ignore[no-any-return]


def files_until(page: Mapping[str, Any], version_prefix: str, moment: str) -> list[dict[str, Any]]:
    """The files of one version uploaded up to `moment` (ISO text compares in time order)."""
    return [
        f
        for f in page["files"]
        if f["upload-time"] <= moment and _belongs(f["filename"], page["name"], version_prefix)
    ]


def _belongs(filename: str, project: str, version: str) -> bool:
    stem = re.sub(r"[-_.]+", "_", project).lower()
    lowered = filename.lower()
    return lowered.startswith(f"{stem}-{version}-") or lowered.startswith(f"{stem}-{version}.")


class ReplayIndex:
    """Pages by normalized project name; change `pages` between requests to replay a change."""

    def __init__(
        self, pages: Mapping[str, Mapping[str, Any]], files: Mapping[str, bytes] | None = None
    ) -> None:
        self.pages: dict[str, dict[str, Any]] = {
            normalize(k): copy.deepcopy(dict(v)) for k, v in pages.items()
        }
        self.files = dict(files or {})
        self.json_enabled = True
        self.etags = True
        self.credentials: tuple[str, str] | None = None
        self.delay = 0.0
        self.fail: dict[str, list[int]] = {}  # project -> statuses to answer first, one per request
        self.raw: dict[str, tuple[bytes, str]] = {}  # project -> (body, content type) served as is
        self.log: list[tuple[str, int]] = []  # (path, status)
        self.frozen = False
        self._rendered: dict[tuple[str, bool], bytes] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/simple/"

    @property
    def page_requests(self) -> int:
        return sum(1 for path, _ in self.log if path.startswith("/simple/"))

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        server = _Server(("127.0.0.1", 0), _handler(self))
        self._server = server
        thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        try:
            yield self.url
        finally:
            server.shutdown()
            server.server_close()
            self._server = None

    # -- rendering ---------------------------------------------------------------------------------

    def render(self, key: str, as_json: bool) -> bytes:
        """The page as served; with `frozen` set (pages no longer change), rendered once."""
        if self.frozen and (key, as_json) in self._rendered:
            return self._rendered[(key, as_json)]
        with self._lock:
            page = dict(self.pages[key])
            # Shallow copies: a deep copy of the largest recorded pages costs more than serving them.
            page["files"] = [
                {**f, "url": f"/files/{urllib.parse.quote(f['filename'])}"}
                if f["filename"] in self.files
                else f
                for f in page["files"]
            ]
            body = json.dumps(page).encode() if as_json else _html(page).encode()
        if self.frozen:
            self._rendered[(key, as_json)] = body
        return body

    def _served(self, file: dict[str, Any]) -> dict[str, Any]:
        if file["filename"] not in self.files:
            return file
        return {**file, "url": f"/files/{urllib.parse.quote(file['filename'])}"}

    def _record(self, path: str, status: int) -> None:
        with self._lock:
            self.log.append((path, status))

    def _next_failure(self, key: str) -> int | None:
        with self._lock:
            queue = self.fail.get(key)
            return queue.pop(0) if queue else None


def _html(page: Mapping[str, Any]) -> str:
    anchors = []
    for file in page["files"]:
        hashes = file.get("hashes") or {}
        fragment = f"#sha256={hashes['sha256']}" if "sha256" in hashes else ""
        attrs = f' href="{html.escape(file["url"] + fragment)}"'
        if file.get("requires-python"):
            attrs += f' data-requires-python="{html.escape(file["requires-python"])}"'
        if file.get("yanked"):
            reason = file["yanked"] if isinstance(file["yanked"], str) else ""
            attrs += f' data-yanked="{html.escape(reason)}"'
        anchors.append(f"<a{attrs}>{html.escape(file['filename'])}</a><br>")
    body = "\n".join(anchors)
    return (
        f"<!DOCTYPE html><html><body><h1>Links for {html.escape(page['name'])}</h1>\n{body}\n</body></html>\n"
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def _handler(index: ReplayIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a CDN: pip and requests reuse connections

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if index.credentials is not None and not self._authorized():
                self._send(
                    401, b"credentials needed\n", "text/plain", {"WWW-Authenticate": 'Basic realm="replay"'}
                )
                return
            parts = [urllib.parse.unquote(p) for p in path.split("/")]
            if len(parts) == 4 and parts[1] == "simple" and parts[3] == "":
                self._page(normalize(parts[2]), path)
            elif len(parts) == 3 and parts[1] == "files" and parts[2] in index.files:
                self._send(200, index.files[parts[2]], "application/octet-stream", path=path)
            else:
                self._send(404, b"not found\n", "text/plain", path=path)

        def _authorized(self) -> bool:
            assert index.credentials is not None
            expected = base64.b64encode(":".join(index.credentials).encode()).decode()
            return self.headers.get("Authorization", "") == f"Basic {expected}"

        def _page(self, key: str, path: str) -> None:
            if index.delay:
                time.sleep(index.delay)
            failure = index._next_failure(key)
            if failure is not None:
                self._send(failure, b"failure on purpose\n", "text/plain", path=path)
                return
            if key in index.raw:
                self._send(200, *index.raw[key], path=path)
                return
            if key not in index.pages:
                self._send(404, b"not found\n", "text/plain", path=path)
                return
            as_json = index.json_enabled and JSON_TYPE in (self.headers.get("Accept") or "")
            body = index.render(key, as_json)
            media = JSON_TYPE if as_json else "text/html; charset=utf-8"
            headers = {"Vary": "Accept", "Cache-Control": "max-age=600, public"}
            if index.etags:
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                headers["ETag"] = etag
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", media, headers, path=path)
                    return
            self._send(200, body, media, headers, path=path)

        def _send(
            self,
            status: int,
            body: bytes,
            media: str,
            headers: Mapping[str, str] | None = None,
            *,
            path: str = "",
        ) -> None:
            index._record(path or self.path, status)
            self.send_response(status)
            self.send_header("Content-Type", media)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if status != 304:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

    return Handler
