"""The HTTP edge to simple-API indexes: retries, timeouts, credentials, a conditional cache, concurrency.

Built from well-kept parts rather than written here: `requests` with urllib3's `Retry` (connection
errors, read timeouts, 429 and 5xx, honouring Retry-After), and CacheControl's file cache in the
user cache directory (`platformdirs`). Every page request carries `Cache-Control: max-age=0`, as pip
sends it: the cache never answers on its own, it only turns an unchanged page into a 304 (ETag,
Last-Modified), so an audit always sees what the index serves now.

Credentials: user:password in the index URL, an explicit mapping (Poetry's POETRY_HTTP_BASIC_*
variables), else netrc (requests reads it, and $NETRC). The module imports requests lazily: the CLI's
offline commands never pay for it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ..errors import InputError, PinwardenError
from ..model import FileHash, NormalizedName, normalize_name
from .download import Limits, shut_down
from .pages import Failed, NotFound, Page, PageResult
from .simple import JSON_MEDIA_TYPE, parse_project_page
from .sources import redact_url

if TYPE_CHECKING:
    import requests

DEFAULT_TIMEOUT = 15.0  # seconds, for connecting and for each read
DEFAULT_RETRIES = 3
DEFAULT_JOBS = 16
ACCEPT = f"{JSON_MEDIA_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
# max-age=0, as pip sends it: a cached page is only ever used after the index answered 304.
PAGE_HEADERS = {"Accept": ACCEPT, "Cache-Control": "max-age=0"}
_RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_PAGE_BYTES = 64 << 20  # PyPI's largest project pages are under 10 MiB
PAGE_TIME_FACTOR = 4  # a page may take this many read timeouts in all
_CHUNK = 1 << 16


class IndexUnavailable(Exception):
    """Raised by `download_digest`; fetch.py re-exports the public, PinwardenError flavour."""


def default_cache_dir() -> Path:
    """$PINWARDEN_CACHE_DIR, else the user cache directory (e.g. ~/.cache/pinwarden/http)."""
    configured = os.environ.get("PINWARDEN_CACHE_DIR", "").strip()
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pinwarden", appauthor=False)) / "http"


def usable_cache_dir() -> Path | None:
    """The cache directory if it can be written; a read-only home only costs the cache."""
    path = default_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSettings:
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    jobs: int = DEFAULT_JOBS
    cache_dir: Path | None = None  # None: no on-disk cache
    # index URL -> (user, password), for pages under that URL
    credentials: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits.from_env)  # downloads made to hash a file


def project_url(index: str, name: str) -> str:
    """The project's page under `index`; PinwardenError for an index URL urllib cannot read."""
    base = index if index.endswith("/") else index + "/"
    try:
        return urljoin(base, normalize_name(name) + "/")
    except ValueError as exc:
        raise PinwardenError(
            f"index URL {redact_url(index)!r} is not a URL pinwarden can read ({exc})"
        ) from None


class HttpClient:
    """Sessions per thread (requests' Session is not promised to be thread-safe), one shared cache."""

    def __init__(self, settings: ClientSettings | None = None) -> None:
        self.settings = settings or ClientSettings()
        self.requests = 0  # logical requests sent (retries not counted)
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._reach = Reachability()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._count_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    # -- pages -----------------------------------------------------------------------------------

    def fetch_page(self, index: str, name: str) -> PageResult:
        """One project page; never raises for what the index does (see pages.py). The request and
        the body take at most PAGE_TIME_FACTOR timeouts in all. The first request to an index goes
        alone; once an index is known unreachable, it is not asked again."""
        url = project_url(index, name)
        if url.startswith("file:"):
            return _file_page(redact_url(index), url)
        # Known unreachable: no 20 seconds of retries per project.
        return self._reach.fetch(index, redact_url(url), lambda: self._fetch_page(index, url))

    def _fetch_page(self, index: str, url: str) -> PageResult:
        from .download import TooSlow, close_response, send_within

        total, started = self.settings.timeout * PAGE_TIME_FACTOR, time.monotonic()
        try:
            response = send_within(
                lambda: self._get(url, dict(PAGE_HEADERS), cached=True, stream=True), total, close_response
            )
        except TooSlow:
            self._forget_session(cached=True)
            return Failed(index=redact_url(index), url=redact_url(url), reason=page_too_slow(total))
        except _network_errors() as exc:
            down = unreachable_reason(exc)
            reason = down or _reason(exc)
            return Failed(index=redact_url(index), url=redact_url(url), reason=reason, unreachable=bool(down))
        with response:
            return read_page(
                response,
                url,
                index,
                timeout=self.settings.timeout,
                retries=self.settings.retries,
                started=started,
            )

    # -- files -----------------------------------------------------------------------------------

    def download_digests(
        self, url: str, algorithms: Iterable[str], *, index: str, size: int | None = None
    ) -> dict[str, FileHash]:
        """Hash a file's bytes as served now (never from the cache), every algorithm from one
        download, within download.py's host rule and limits; raises IndexUnavailable."""
        from .download import DownloadRefused, DownloadTooSlow, check_url, download_and_hash, hash_path

        limits = self.settings.limits
        try:
            check_url(url, index, limits)
            if url.startswith("file:"):
                return hash_path(_file_path(url), url, algorithms, size=size, limits=limits)
            return download_and_hash(
                lambda: self._get(url, {"Cache-Control": "no-cache"}, cached=False, stream=True),
                url,
                algorithms,
                size=size,
                limits=limits,
                index=index,
            )
        except DownloadTooSlow as exc:
            self._forget_session(cached=False)  # a request may still be under way on it
            raise IndexUnavailable(str(exc)) from None
        except DownloadRefused as exc:
            raise IndexUnavailable(str(exc)) from None
        except _network_errors() as exc:
            raise IndexUnavailable(f"{redact_url(url)}: download failed: {_reason(exc)}") from None

    # -- plumbing --------------------------------------------------------------------------------

    def _get(
        self, url: str, headers: dict[str, str], *, cached: bool, stream: bool = False
    ) -> requests.Response:
        with self._count_lock:
            self.requests += 1
        session = self._session(cached)
        return session.get(
            url, headers=headers, timeout=self.settings.timeout, stream=stream, auth=self._auth(url)
        )

    def _auth(self, url: str) -> tuple[str, str] | None:
        if urlsplit(url).username is not None:
            return None  # requests uses the URL's own credentials
        for prefix, credentials in self.settings.credentials.items():
            if url.startswith(prefix.rstrip("/") + "/") or url == prefix:
                return credentials
        return None

    def _forget_session(self, *, cached: bool) -> None:
        """A request left behind at its deadline may still use this thread's session: the next
        request gets a new one (requests does not promise a session to be thread-safe)."""
        setattr(self._local, "cached" if cached else "plain", None)

    def _session(self, cached: bool) -> requests.Session:
        attribute = "cached" if cached else "plain"
        session: requests.Session | None = getattr(self._local, attribute, None)
        if session is None:
            session = _new_session(self.settings, cached=cached)
            setattr(self._local, attribute, session)
            with self._count_lock:
                self._sessions.append(session)
        return session


def read_page(
    response: requests.Response,
    requested: str,
    index: str,
    *,
    timeout: float,
    retries: int | None,
    started: float | None = None,
) -> PageResult:
    """A streamed page response as a result: what its status means, or its files. Shared with the
    Poetry plugin, whose requests go through Poetry's authenticator. `started`: time.monotonic()
    when the request was sent; the body gets what is left of PAGE_TIME_FACTOR timeouts."""
    shown, shown_index = redact_url(requested), redact_url(index)
    try:
        answer = _answer(response, requested, shown_index, timeout=timeout, retries=retries, started=started)
    except _network_errors() as exc:
        return Failed(index=shown_index, url=shown, reason=_reason(exc))
    except _Refused as exc:
        return Failed(index=shown_index, url=shown, reason=str(exc))
    if not isinstance(answer, tuple):
        return answer
    body, content_type, final = answer
    try:
        files = parse_project_page(body, content_type, final)
    except InputError as exc:
        return Failed(index=shown_index, url=shown, reason=_malformed(exc, final))
    return Page(index=shown_index, url=shown, files=files)


def _answer(
    response: requests.Response,
    requested: str,
    index: str,
    *,
    timeout: float,
    retries: int | None,
    started: float | None,
) -> NotFound | Failed | tuple[bytes, str, str]:
    """The body, media type and final URL of a page, or what the status code means."""
    shown = redact_url(requested)
    status = response.status_code
    if status in (404, 410):
        return NotFound(index=index, url=shown, status=status)
    if status in (401, 403):
        return Failed(index=index, url=shown, reason=f"HTTP {status}: {_AUTH_HINT}")
    if status >= 400:
        retried = f" (after {retries} retries)" if retries and status in _RETRY_STATUSES else ""
        text = f"HTTP {status} {response.reason or ''}".rstrip()
        return Failed(index=index, url=shown, reason=text + retried)
    moved = _other_host(requested, response.url)
    if moved is not None:
        return Failed(index=index, url=shown, reason=moved)
    total = timeout * PAGE_TIME_FACTOR
    left = total if started is None else total - (time.monotonic() - started)
    body = _read_capped(response, left, total)
    return body, response.headers.get("Content-Type", ""), response.url


class _Refused(Exception):
    """A page too large, too slow, or moved to a host nobody named."""


def page_too_slow(total: float) -> str:
    return f"timed out: the page took more than {total:g} seconds in all"


def _read_capped(response: requests.Response, seconds: float, total: float) -> bytes:
    """The body, unless it grows past MAX_PAGE_BYTES or takes longer than `seconds` (what is left
    of `total`). A read timeout alone never ends an answer that trickles in a byte at a time, so a
    timer cuts the connection (a blocked read cannot look at a clock)."""
    if seconds <= 0:
        raise _Refused(page_too_slow(total))
    aborted = threading.Event()

    def abort() -> None:
        aborted.set()
        shut_down(response)

    timer = threading.Timer(seconds, abort)
    timer.daemon = True
    timer.start()
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > MAX_PAGE_BYTES:
                raise _Refused(f"the page is larger than {MAX_PAGE_BYTES >> 20} MiB: not a project page")
            chunks.append(chunk)
    except _network_errors():
        if not aborted.is_set():
            raise
    finally:
        timer.cancel()
    if aborted.is_set():
        raise _Refused(page_too_slow(total))
    return b"".join(chunks)


def _other_host(requested: str, final: str) -> str | None:
    """A project page that moved to a host the person never named is not taken as that index's."""
    before, after = urlsplit(requested).hostname, urlsplit(final).hostname
    if before is None or after is None or before.lower() == after.lower():
        return None
    return f"redirected to another host ({after}); name that index itself if the move is expected"


_AUTH_HINT = (
    "the index refused access; give credentials in the index URL, in ~/.netrc, or for a Poetry "
    "source as POETRY_HTTP_BASIC_<SOURCE>_USERNAME/PASSWORD"
)


def _new_session(settings: ClientSettings, *, cached: bool) -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        backoff_factor=0.2,
        status_forcelist=_RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    pool = max(settings.jobs, 10)
    adapter: HTTPAdapter
    if cached and settings.cache_dir is not None:
        from cachecontrol import CacheControlAdapter
        from cachecontrol.caches.file_cache import SeparateBodyFileCache

        cache = SeparateBodyFileCache(str(settings.cache_dir))
        adapter = CacheControlAdapter(cache=cache, max_retries=retry, pool_maxsize=pool)
    else:
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=pool)
    session = requests.Session()
    session.headers["User-Agent"] = _user_agent()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _user_agent() -> str:
    from ... import __version__

    return f"pinwarden/{__version__}"


def _network_errors() -> tuple[type[Exception], ...]:
    import requests

    # UnicodeError: requests encodes basic-auth credentials as latin-1 (a URL's own, or a source's).
    return (requests.RequestException, OSError, UnicodeError)


def _reason(exc: Exception) -> str:
    """A short, stable cause: requests nests urllib3 errors several levels deep."""
    import requests

    if isinstance(exc, UnicodeError):  # its text may quote a character of the password
        return "credentials that are not latin-1 text, which HTTP basic auth needs"
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(exc, requests.Timeout) or "timed out" in text.lower():
        return "cannot connect: timed out" if _connect_failed(exc) else "timed out"
    if isinstance(exc, requests.exceptions.RetryError):
        return "too many retries"
    if isinstance(exc, requests.ConnectionError):
        cause = _connect_cause(exc)
        return f"cannot connect: {cause}" if cause else "cannot connect"
    return type(exc).__name__


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps: requests and urllib3 nest the socket's error in args, `reason`,
    `__cause__` and `__context__`."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 20:
        each = todo.pop()
        if any(each is s for s in seen):
            continue
        seen.append(each)
        wrapped = [*each.args, getattr(each, "reason", None), each.__cause__, each.__context__]
        todo += [w for w in wrapped if isinstance(w, BaseException)]
    return seen


def _connect_cause(exc: BaseException) -> str | None:
    """Why no connection was made, as a person fixes it; None when it is not known."""
    import socket
    import ssl

    causes = _causes(exc)
    if any(isinstance(c, socket.gaierror) or type(c).__name__ == "NameResolutionError" for c in causes):
        return "the host name does not resolve (DNS)"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused (nothing listens at that address and port)"
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return "TLS error"
    if any(isinstance(c, (OSError, TimeoutError)) and "timed out" in str(c).lower() for c in causes):
        return "timed out"
    if any(type(c).__name__ == "NewConnectionError" for c in causes):
        return "no connection could be made"
    return None


_CONNECT_ERRORS = ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError", "ConnectTimeout")


def _connect_failed(exc: BaseException) -> bool:
    """By class name: Poetry's errors wrap requests' and urllib3's, which are imported lazily."""
    return any(type(c).__name__ in _CONNECT_ERRORS for c in _causes(exc))


def unreachable_reason(exc: BaseException) -> str | None:
    """`cannot connect: <why>` when no connection could be made at all (not a page that failed on a
    working connection), else None. Shared with the Poetry plugin, whose errors wrap requests'."""
    import ssl

    causes = _causes(exc)
    tls = any(isinstance(c, ssl.SSLError) or type(c).__name__ == "SSLError" for c in causes)
    refused = any(isinstance(c, ConnectionRefusedError) for c in causes)
    if not (tls or refused or _connect_failed(exc)):
        return None
    return f"cannot connect: {_connect_cause(exc) or 'no connection could be made'}"


class Reachability:
    """Per index: the first page request goes alone, the others wait for its answer; once an index
    could not be connected to, every later request for it answers that at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first: dict[str, threading.Event] = {}
        self._down: dict[str, Failed] = {}

    def before(self, index: str) -> Failed | None:
        with self._lock:
            event = self._first.get(index)
            if event is None:
                self._first[index] = threading.Event()
                return None
        event.wait()
        with self._lock:
            return self._down.get(index)

    def after(self, index: str, result: PageResult | None) -> None:
        with self._lock:
            if isinstance(result, Failed) and result.unreachable:
                self._down.setdefault(index, result)
            self._first[index].set()

    def fetch(self, index: str, url: str, fetch: Callable[[], PageResult]) -> PageResult:
        """`fetch()`, unless the index is known unreachable: then that failure for `url` at once."""
        down = self.before(index)
        if down is not None:
            return Failed(index=down.index, url=url, reason=down.reason, unreachable=True)
        result: PageResult | None = None
        try:
            result = fetch()
        finally:
            self.after(index, result)
        return result


def _malformed(exc: InputError, url: str) -> str:
    """The parser's one-line report, without repeating the URL the caller shows anyway."""
    text = exc.one_line()
    prefix = f"{url} is "
    shown = redact_url(url)
    return text[len(prefix) :] if text.startswith(prefix) else text.replace(url, shown)


def _file_path(url: str) -> Path:
    from urllib.request import url2pathname  # urllib.request pulls in http.client: only for file://

    return Path(url2pathname(urlsplit(url).path))


def _file_page(index: str, url: str) -> PageResult:
    """A `file://` index (as pip accepts it): the project directory's index.html."""
    path = _file_path(url)
    page = path / "index.html" if path.is_dir() else path
    if not page.is_file():
        return NotFound(index=index, url=url, status=404)
    try:
        files = parse_project_page(page.read_bytes(), "text/html", url)
    except OSError as exc:
        return Failed(index=index, url=url, reason=f"cannot read: {exc.strerror}")
    except InputError as exc:
        return Failed(index=index, url=url, reason=_malformed(exc, url))
    return Page(index=index, url=url, files=files)


# ---------------------------------------------------------------------------------------------
# Many pages at once


Wanted = tuple[str, NormalizedName]


def fetch_pages(
    fetch: Callable[[str, NormalizedName], PageResult],
    wanted: Iterable[Wanted],
    *,
    jobs: int = DEFAULT_JOBS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[Wanted, PageResult]:
    """Every (index, project) page, `jobs` at a time; `fetch` never raises (pages.py)."""
    todo = list(dict.fromkeys(wanted))
    results: dict[Wanted, PageResult] = {}
    if not todo:
        return results
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo)))) as pool:
        futures: dict[Future[PageResult], Wanted] = {
            pool.submit(_never_raises, fetch, index, name): (index, name) for index, name in todo
        }
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if progress is not None:
                progress(done, len(todo))
    return results


def _never_raises(
    fetch: Callable[[str, NormalizedName], PageResult], index: str, name: NormalizedName
) -> PageResult:
    """A fetcher's bug must still end as a failure (exit 2), not as a page that was never asked for."""
    try:
        return fetch(index, name)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, PinwardenError) else f"{type(exc).__name__}: {exc}"
        return Failed(index=redact_url(index), url=redact_url(index), reason=redact_url(reason))
