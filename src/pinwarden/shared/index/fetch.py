"""The edge to a package index: GET a project page, or a file to hash it. Thin on purpose.

`SimpleIndex(url).project_files(name)` is the one call the rest of pinwarden makes; caching,
concurrency and credentials can grow behind it without changing callers. Every network failure
becomes an `IndexUnavailable` (a `PinwardenError`) naming the URL and what went wrong.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..errors import PinwardenError
from ..model import FileHash, normalize_name
from .simple import JSON_MEDIA_TYPE, IndexFile, parse_project_page

if TYPE_CHECKING:
    import requests

PYPI_SIMPLE_URL = "https://pypi.org/simple/"
ACCEPT = f"{JSON_MEDIA_TYPE}, text/html;q=0.1"
DEFAULT_TIMEOUT = 15.0  # seconds, for connecting and for each read
_CHUNK = 1 << 16


class IndexUnavailable(PinwardenError):
    """The index could not answer: unreachable, timed out, an HTTP error, or a page that is not one."""


class ProjectNotFound(IndexUnavailable):
    """The index has no page for this project (HTTP 404/410)."""


def same_index(a: str, b: str) -> bool:
    """Index URLs compare without their trailing slash: pip writes `https://pypi.org/simple`."""
    return a.rstrip("/") == b.rstrip("/")


def redact_url(url: str) -> str:
    """The URL with any password masked, for messages and the ledger (as pip shows index URLs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:****@{host}"))


class SimpleIndex:
    """One simple-API index. Reuses one HTTP session; call `close()` (or use `with`) when done."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.timeout = timeout
        self._session: requests.Session | None = None

    def __enter__(self) -> SimpleIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def project_url(self, name: str) -> str:
        return urljoin(self.url, normalize_name(name) + "/")

    def project_files(self, name: str) -> tuple[IndexFile, ...]:
        """Every file the project page lists; raises ProjectNotFound or IndexUnavailable."""
        url = self.project_url(name)
        if url.startswith("file:"):
            body, content_type = _read_file_page(url)
            return parse_project_page(body, content_type, url)
        response = self._get(url, headers={"Accept": ACCEPT})
        with response:
            body = self._body(response, url)
        return parse_project_page(body, response.headers.get("Content-Type", ""), response.url)

    def download_hash(self, file: IndexFile, algorithm: str = "sha256") -> FileHash:
        """Hash a file's bytes as served now: for pages that list no (or no such) hash."""
        digest = hashlib.new(algorithm)
        if file.url.startswith("file:"):
            path = _file_path(file.url)
            try:
                with path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(_CHUNK), b""):
                        digest.update(chunk)
            except OSError as exc:
                raise IndexUnavailable(f"{file.url}: cannot read: {exc.strerror}") from None
            return FileHash(algorithm, digest.hexdigest())
        response = self._get(file.url, stream=True)
        with response:
            try:
                for chunk in response.iter_content(_CHUNK):
                    digest.update(chunk)
            except _network_errors() as exc:
                raise IndexUnavailable(f"{file.url}: download failed: {_reason(exc)}") from None
        return FileHash(algorithm, digest.hexdigest())

    def _get(
        self, url: str, *, headers: dict[str, str] | None = None, stream: bool = False
    ) -> requests.Response:
        import requests

        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.get(url, headers=headers, timeout=self.timeout, stream=stream)
        except _network_errors() as exc:
            raise IndexUnavailable(f"{url}: {_reason(exc)}") from None
        if response.status_code in (404, 410):
            response.close()
            raise ProjectNotFound(f"{url}: not found (HTTP {response.status_code})")
        if response.status_code >= 400:
            response.close()
            raise IndexUnavailable(f"{url}: HTTP {response.status_code} {response.reason or ''}".rstrip())
        return response

    def _body(self, response: requests.Response, url: str) -> bytes:
        try:
            return response.content
        except _network_errors() as exc:
            raise IndexUnavailable(f"{url}: {_reason(exc)}") from None


def _network_errors() -> tuple[type[Exception], ...]:
    import requests

    return (requests.RequestException, OSError)


def _reason(exc: Exception) -> str:
    """A short, stable cause: requests nests urllib3 errors several levels deep."""
    import requests

    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect"
    return type(exc).__name__


def _file_path(url: str) -> Path:
    from urllib.request import url2pathname  # urllib.request pulls in http.client: only for file://

    return Path(url2pathname(urlsplit(url).path))


def _read_file_page(url: str) -> tuple[bytes, str]:
    """A `file://` index (as pip accepts it): the project directory's index.html."""
    path = _file_path(url)
    page = path / "index.html" if path.is_dir() else path
    if not page.is_file():
        raise ProjectNotFound(f"{url}: not found")
    try:
        return page.read_bytes(), "text/html"
    except OSError as exc:
        raise IndexUnavailable(f"{url}: cannot read: {exc.strerror}") from None
