"""What asking an index for a project page can give: the page, "no such project", or a failure.

Three types rather than a flag, so that no caller can mistake an index it could not read for an
index that has nothing: a failure always ends as a tool error (exit 2), never as a clean audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .simple import IndexFile


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    index: str  # the index as configured, credentials masked
    url: str
    files: tuple[IndexFile, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NotFound:
    """The index answered that it has no such project (HTTP 404 or 410)."""

    index: str
    url: str
    status: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Failed:
    """No answer to rely on: unreachable, timed out, refused, a server error, or a malformed page."""

    index: str
    url: str
    reason: str
    # No connection could be made (the host does not resolve, refused, a connect timeout, TLS):
    # the index is down or misnamed, so one line per index says it, not one per version.
    unreachable: bool = False

    def __str__(self) -> str:
        return f"{self.url}: {self.reason}"


PageResult = Page | NotFound | Failed


@dataclass(frozen=True, slots=True, kw_only=True)
class Observed:
    """One project as several indexes serve it, merged as pip merges them."""

    files: tuple[IndexFile, ...]
    indexes: tuple[str, ...]
    found: bool
    failures: tuple[Failed, ...]

    @classmethod
    def merge(cls, results: Iterable[PageResult]) -> Observed:
        results = list(results)
        pages = [r for r in results if isinstance(r, Page)]
        return cls(
            files=tuple(f for page in pages for f in page.files),
            indexes=tuple(dict.fromkeys(r.index for r in results)),
            found=bool(pages),
            failures=tuple(r for r in results if isinstance(r, Failed)),
        )
