"""`SimpleIndex`: one index, one project page or one file at a time, raising on failure.

The callers that want exceptions (approve --from-index, the pip-compile wrapper's filename lookup)
use this; `pinwarden audit` uses client.py's results directly. Retries, timeouts, credentials and
the conditional cache are client.py's. Every failure becomes an `IndexUnavailable` (a
`PinwardenError`) naming the URL and what went wrong.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import PinwardenError
from ..model import FileHash
from .client import DEFAULT_TIMEOUT, ClientSettings, HttpClient, project_url, usable_cache_dir
from .client import IndexUnavailable as _DownloadFailed
from .pages import Failed, NotFound
from .simple import IndexFile
from .sources import PYPI_SIMPLE_URL, checked_url, redact_url

__all__ = [
    "PYPI_SIMPLE_URL",
    "IndexUnavailable",
    "ProjectNotFound",
    "SimpleIndex",
    "redact_url",
    "same_index",
]


class IndexUnavailable(PinwardenError):
    """The index could not answer: unreachable, timed out, an HTTP error, or a page that is not one."""


class ProjectNotFound(IndexUnavailable):
    """The index has no page for this project (HTTP 404/410)."""


def same_index(a: str, b: str) -> bool:
    """Index URLs compare without their trailing slash: pip writes `https://pypi.org/simple`."""
    return a.rstrip("/") == b.rstrip("/")


class SimpleIndex:
    """One simple-API index. Call `close()` (or use `with`) when done."""

    def __init__(
        self, url: str, *, timeout: float = DEFAULT_TIMEOUT, client: HttpClient | None = None
    ) -> None:
        checked_url(url, "index URL")
        self.url = url if url.endswith("/") else url + "/"
        self._owned = client is None
        self._client = client or HttpClient(ClientSettings(timeout=timeout, cache_dir=usable_cache_dir()))

    def __enter__(self) -> SimpleIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self._client.close()

    def project_url(self, name: str) -> str:
        return project_url(self.url, name)

    def project_files(self, name: str) -> tuple[IndexFile, ...]:
        """Every file the project page lists; raises ProjectNotFound or IndexUnavailable."""
        result = self._client.fetch_page(self.url, name)
        if isinstance(result, NotFound):
            status = f" (HTTP {result.status})" if not result.url.startswith("file:") else ""
            raise ProjectNotFound(f"{result.url}: not found{status}")
        if isinstance(result, Failed):
            raise IndexUnavailable(str(result))
        return result.files

    def download_hash(self, file: IndexFile, algorithm: str = "sha256") -> FileHash:
        """Hash a file's bytes as served now: for pages that list no (or no such) hash."""
        return self.download_hashes(file, (algorithm,))[algorithm]

    def download_hashes(self, file: IndexFile, algorithms: Iterable[str]) -> dict[str, FileHash]:
        """Every algorithm's digest of one download of the file (within download.py's limits)."""
        try:
            return self._client.download_digests(file.url, algorithms, index=self.url, size=file.size)
        except _DownloadFailed as exc:
            raise IndexUnavailable(str(exc)) from None
