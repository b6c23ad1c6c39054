"""A version's files as the project's own Poetry sources serve them now.

Everything goes through Poetry's repository pool and its authenticator, so private indexes, their
credentials and certificates work as they do for `poetry lock`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poetry.config.config import Config
    from poetry.core.packages.package import Package
    from poetry.repositories.http_repository import HTTPRepository
    from poetry.repositories.repository_pool import RepositoryPool
    from poetry.utils.authenticator import Authenticator

    from ..shared.index.pages import PageResult
    from ..shared.index.simple import IndexFile
    from ..shared.ledger import Key
    from ..shared.model import FileHash, NormalizedName

PAGE_TIMEOUT = 15.0  # seconds: the signs are worth a short wait, not a hung `poetry lock`


class SourceFiles:
    """Downloads and yank lookups for the packages Poetry resolved during one command."""

    def __init__(self, pool: RepositoryPool, packages: Iterable[Package]) -> None:
        from ..shared.model import canonical_version, normalize_name

        self._pool = pool
        self._pages: dict[NormalizedName, tuple[IndexFile, ...] | None] = {}
        self._page_fetcher: PoetryFetcher | None = None
        self._by_key: dict[Key, list[Package]] = {}
        for package in packages:
            key = (normalize_name(package.name), canonical_version(package.pretty_version))
            self._by_key.setdefault(key, []).append(package)

    def digest(self, key: Key, filename: str, algorithms: Sequence[str]) -> Mapping[str, str] | str | None:
        """Digests of ONE download of the file the source serves now under `filename`, every
        algorithm from the same bytes; why not (one line) when it cannot be fetched within the
        limits, None when the source does not list the file."""
        for package in self._by_key.get(key, []):
            listed = next((f for f in package.files if f["file"] == filename), None)
            repository = http_repository(self._pool, package)
            if listed is not None and listed.get("url") and repository is not None:
                size = listed.get("size")
                try:
                    found = download_digests(
                        repository, listed["url"], algorithms, size=size if isinstance(size, int) else None
                    )
                except Exception as exc:  # Poetry's errors, or pinwarden's limits: unverified, and why
                    return _poetry_reason(exc)
                return {algorithm: digest.value for algorithm, digest in found.items()}
        return None

    def index_files(self, name: NormalizedName) -> tuple[IndexFile, ...] | None:
        """Every file the project's source lists (for the warning signs); None when not at hand.

        Poetry fetched the page while resolving: this asks again through the same session, so its
        cache answers after a 304."""
        from ..shared.index.pages import Page

        if name not in self._pages:
            self._pages[name] = None
            for (project, _), packages in self._by_key.items():
                # `is not None`, never truthiness: Poetry's Repository has `__len__` returning 0.
                found = (http_repository(self._pool, p) for p in packages)
                repository = next((r for r in found if r is not None), None)
                if project == name and repository is not None:
                    result = self._fetcher().fetch_page(repository.url, name)
                    self._pages[name] = result.files if isinstance(result, Page) else None
                    break
        return self._pages[name]

    def _fetcher(self) -> PoetryFetcher:
        if self._page_fetcher is None:
            self._page_fetcher = PoetryFetcher(self._pool, None, timeout=PAGE_TIMEOUT)
        return self._page_fetcher

    def yanked(self, key: Key, filename: str) -> str | None:
        """Why the source yanked `filename`, or None when it did not (or cannot tell)."""
        from ..shared.index.client import PAGE_TIME_FACTOR
        from ..shared.index.download import send_within

        for package in self._by_key.get(key, []):
            repository = http_repository(self._pool, package)
            if repository is None:
                continue
            try:  # Poetry's request, bounded in time as pinwarden's own pages are
                links = send_within(
                    partial(repository.find_links_for_package, package), PAGE_TIMEOUT * PAGE_TIME_FACTOR
                )
            except Exception:  # an unreachable or too slow index: the finding stays a plain missing file
                return None
            for link in links:
                if link.filename == filename and link.yanked:
                    return link.yanked_reason or "no reason given"
        return None


def http_repository(pool: RepositoryPool, package: Package) -> HTTPRepository | None:
    """The pool's repository a package came from, if it is an index (PyPI or a legacy source)."""
    from poetry.repositories.http_repository import HTTPRepository

    if package.source_type not in (None, "", "legacy"):
        return None
    name = package.source_reference or "PyPI"
    if not pool.has_repository(name):
        return None
    repository = pool.repository(name)
    return repository if isinstance(repository, HTTPRepository) else None


def download_digests(
    repository: HTTPRepository, url: str, algorithms: Iterable[str], *, size: int | None
) -> dict[str, FileHash]:
    """Stream the file through the repository's authenticator and hash it, within pinwarden's
    download limits and host rule (shared/index/download.py); raises on any failure."""
    from ..shared.index.download import Limits, download_and_hash

    # no-cache: an HTTP cache must not answer with bytes that were replaced since.
    send = partial(repository.session.get, url, stream=True, headers={"Cache-Control": "no-cache"})
    return download_and_hash(send, url, algorithms, size=size, limits=Limits.from_env(), index=repository.url)


def verify_files(
    pool: RepositoryPool, package: Package, also: Collection[str] = ()
) -> dict[str, tuple[FileHash, ...]]:
    """Download every file of the package from its source and check the hash the source lists
    against the bytes; give each file's sha256 and its digest in each of `also`, computed from the
    same bytes: an approval records only hashes pinwarden computed. Raises PinwardenError naming the
    first file that does not match."""
    from ..shared.errors import PinwardenError
    from ..shared.index.sources import redact_url
    from ..shared.model import FileHash

    repository = http_repository(pool, package)
    if repository is None:
        raise PinwardenError(f"{package.name}=={package.pretty_version}: its source is not an index")
    extra = sorted(set(also) - {"sha256"})
    computed: dict[str, tuple[FileHash, ...]] = {}
    for listed in package.files:
        claim = FileHash.parse(listed["hash"])
        url = listed.get("url")
        if not url:
            raise PinwardenError(f"{listed['file']}: the source gives no URL to download it from")
        size = listed.get("size")
        try:
            found = download_digests(
                repository,
                url,
                ("sha256", claim.algorithm, *extra),
                size=size if isinstance(size, int) else None,
            )
        except PinwardenError:
            raise
        except Exception as exc:
            raise PinwardenError(f"{redact_url(url)}: download failed: {_poetry_reason(exc)}") from None
        if found[claim.algorithm] != claim:
            raise PinwardenError(
                f"{listed['file']}: the source lists {claim} but the file served at {redact_url(url)} "
                f"has {found[claim.algorithm]}; nothing was recorded"
            )
        computed[listed["file"]] = (found["sha256"], *(found[a] for a in extra))
    return computed


def fetch_package(pool: RepositoryPool, name: str, version: str, source: str | None) -> tuple[Package, str]:
    """The version as its source lists it now (the cache forgotten first); also the source's name.

    `source` is the one poetry.lock names for this project; otherwise the sources are searched in
    Poetry's priority order, as the solver would.
    """
    from poetry.core.constraints.version import Version
    from poetry.repositories.cached_repository import CachedRepository
    from poetry.repositories.exceptions import PackageNotFoundError

    from ..shared.errors import PinwardenError
    from ..shared.index.download import SECONDS_ENV, Limits, TooSlow, send_within

    wanted = Version.parse(version)
    if source is not None and pool.has_repository(source):
        repositories = [pool.repository(source)]
    else:
        repositories = pool.repositories
    seconds = Limits.from_env().seconds  # Poetry's requests, bounded in time as pinwarden's own are
    for repository in repositories:
        if isinstance(repository, CachedRepository):
            repository.forget(name, wanted)
        try:
            return send_within(partial(repository.package, name, wanted), seconds), repository.name
        except PackageNotFoundError:
            continue
        except TooSlow:
            raise PinwardenError(
                f"{name}=={version}: {repository.name} did not answer within {seconds:g} seconds "
                f"(the limit is {SECONDS_ENV})"
            ) from None
    names = ", ".join(r.name for r in repositories) or "none"
    raise PinwardenError(f"{name}=={version} is not on this project's sources ({names})")


class PoetryFetcher:
    """`pinwarden audit`'s page requests through Poetry: each index the lock names is asked with
    the session of the project's source for that URL (its credentials, certificates and cache),
    else with an authenticator built from Poetry's configuration. Never raises (audit's contract)."""

    def __init__(self, pool: RepositoryPool, config: Config | None, *, timeout: float) -> None:
        self._pool = pool
        self._config = config
        self.timeout = timeout
        self.requests = 0
        self._lock = threading.Lock()
        self._fallback: Authenticator | None = None
        from ..shared.index.client import Reachability

        self._reach = Reachability()

    def fetch_page(self, index: str, name: str) -> PageResult:
        from ..shared.index.client import project_url
        from ..shared.index.sources import redact_url

        url = project_url(index, name)
        # Known unreachable: not asked again for every project.
        return self._reach.fetch(index, redact_url(url), lambda: self._fetch_page(index, url))

    def _fetch_page(self, index: str, url: str) -> PageResult:
        from ..shared.index.client import (
            PAGE_HEADERS,
            PAGE_TIME_FACTOR,
            page_too_slow,
            read_page,
            unreachable_reason,
        )
        from ..shared.index.download import TooSlow, close_response, send_within
        from ..shared.index.pages import Failed
        from ..shared.index.sources import redact_url

        send = partial(
            self._session(index).get,
            url,
            raise_for_status=False,
            headers=dict(PAGE_HEADERS),
            timeout=self.timeout,
            stream=True,
        )
        self._count()
        total, started = self.timeout * PAGE_TIME_FACTOR, time.monotonic()
        try:
            response = send_within(send, total, close_response)
        except TooSlow:
            return Failed(index=redact_url(index), url=redact_url(url), reason=page_too_slow(total))
        except Exception as exc:  # Poetry raises its own errors once its retries are spent
            down = unreachable_reason(exc)
            reason = down or _poetry_reason(exc)
            return Failed(index=redact_url(index), url=redact_url(url), reason=reason, unreachable=bool(down))
        with response:
            return read_page(response, url, index, timeout=self.timeout, retries=None, started=started)

    def download_digests(
        self, url: str, algorithms: Iterable[str], *, index: str, size: int | None = None
    ) -> dict[str, FileHash]:
        from ..shared.errors import PinwardenError
        from ..shared.index.download import DownloadRefused, Limits, download_and_hash
        from ..shared.index.sources import redact_url

        self._count()
        try:
            send = partial(self._session(url).get, url, stream=True, headers={"Cache-Control": "no-cache"})
            return download_and_hash(send, url, algorithms, size=size, limits=Limits.from_env(), index=index)
        except DownloadRefused:
            raise
        except Exception as exc:
            raise PinwardenError(f"{redact_url(url)}: download failed: {_poetry_reason(exc)}") from None

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    def _session(self, url: str) -> Authenticator:
        from poetry.repositories.http_repository import HTTPRepository
        from poetry.utils.authenticator import Authenticator

        for repository in self._pool.repositories:
            if isinstance(repository, HTTPRepository) and url.startswith(repository.url.rstrip("/") + "/"):
                return repository.session
        with self._lock:
            if self._fallback is None:
                self._fallback = Authenticator(self._config)
            return self._fallback


def _poetry_reason(exc: Exception) -> str:
    """Poetry's messages carry console tags (`<c1>host</>`): one plain line for pinwarden's report."""
    text = re.sub(r"</?[a-z0-9=;,_-]*>", "", str(exc)).strip().splitlines()
    return text[0] if text else type(exc).__name__
