"""A PEP 691 / PEP 503 index whose every row and byte the test writes: rows a well-behaved index
never serves (two filenames for one URL, a URL naming another file), and files served by callables
(other bytes on the first request only). From the independent attack of round 4."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
Blob = bytes | Callable[[BaseHTTPRequestHandler], bytes]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class HostileIndex:
    def __init__(self) -> None:
        self.pages: dict[str, list[dict[str, Any]]] = {}
        self.blobs: dict[str, Blob] = {}
        self.url = ""
        self.port = 0

    @staticmethod
    def row(filename: str, path: str, data: bytes | None = None) -> dict[str, Any]:
        return {"filename": filename, "url": path, "hashes": {} if data is None else {"sha256": sha256(data)}}

    @contextlib.contextmanager
    def serve(self) -> Iterator[HostileIndex]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.port = server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/simple/"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


def _handler(index: HostileIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path.startswith("/simple/"):
                rows = index.pages.get(path[len("/simple/") :].strip("/"))
                if rows is None:
                    return self._send(404, "text/plain", b"not found")
                if JSON_TYPE in (self.headers.get("Accept") or ""):
                    page = {"meta": {"api-version": "1.1"}, "name": path, "files": rows}
                    return self._send(200, JSON_TYPE, json.dumps(page).encode())
                anchors = "".join(
                    f'<a href="{r["url"]}#sha256={r["hashes"].get("sha256", "")}">{r["filename"]}</a>\n'
                    for r in rows
                )
                return self._send(200, "text/html", f"<html><body>{anchors}</body></html>".encode())
            blob = index.blobs.get(path)
            if callable(blob):
                blob = blob(self)
            if blob is None:
                return self._send(404, "text/plain", b"not found")
            return self._send(200, "application/octet-stream", blob)

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
