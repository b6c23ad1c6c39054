"""Downloading a file to hash it: bounded in size and time, only from the index's own hosts.

Every hash pinwarden computes from bytes comes through here, for the shared HTTP client and for the
Poetry plugin (whose responses come from Poetry's authenticated session): the same limits, the
same host rule and the same one-line errors.

- Hosts: an http(s) URL on the index's host, or on the file host of a known index (pypi.org ->
  files.pythonhosted.org, test.pypi.org -> test-files.pythonhosted.org). A private index that keeps
  its files on another host names it in $PINWARDEN_FILE_HOSTS (comma-separated host names). An https
  index's files must be https; `file:` only for a `file:` index (a local directory, as pip accepts).
  Redirects are checked the same way (the final URL must be allowed too).
- Size: exactly what the page states (PEP 700 `size`) when it states one, else
  $PINWARDEN_DOWNLOAD_MAX_BYTES (4 GiB by default).
- Time: $PINWARDEN_DOWNLOAD_SECONDS for the whole download (900 s by default), from the request to
  the last byte, whatever the server does: the request (connecting, the status line, the headers,
  retries) runs in a thread given up at the deadline (`send_within`), and the body gets what is
  left, with a timer that shuts the socket down, since a read that trickles a byte at a time never
  times out.
- All digests asked for come from ONE stream of bytes: a hash listed by the index is believed only
  when the bytes that gave the trusted hash also give it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from ..errors import PinwardenError
from ..model import FileHash
from .sources import redact_url

if TYPE_CHECKING:
    import requests

DEFAULT_MAX_BYTES = 4 << 30
DEFAULT_SECONDS = 900.0
MAX_BYTES_LIMIT = 1 << 50  # a bound on the setting itself: larger is a typo, not a file
MAX_SECONDS_LIMIT = 7 * 86400.0
MAX_BYTES_ENV = "PINWARDEN_DOWNLOAD_MAX_BYTES"
SECONDS_ENV = "PINWARDEN_DOWNLOAD_SECONDS"
FILE_HOSTS_ENV = "PINWARDEN_FILE_HOSTS"
# Public indexes that serve their files from a host of their own.
KNOWN_FILE_HOSTS: Mapping[str, tuple[str, ...]] = {
    "pypi.org": ("files.pythonhosted.org",),
    "test.pypi.org": ("test-files.pythonhosted.org",),
    "download.pytorch.org": ("download-r2.pytorch.org",),
}
_CHUNK = 1 << 16
_T = TypeVar("_T")


class DownloadRefused(PinwardenError):
    """A download pinwarden would not make or finish: another host or scheme, too large, too slow,
    an error status."""


class DownloadTooSlow(DownloadRefused):
    """Past the time limit; when it struck before the headers, the request's thread was left behind."""


class TooSlow(Exception):
    """`send_within`: the call did not return before its deadline."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    seconds: float = DEFAULT_SECONDS
    file_hosts: tuple[str, ...] = ()  # extra hosts a private index keeps its files on

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The limits as configured; a bad value is a PinwardenError naming the variable."""
        environ = os.environ if environ is None else environ
        max_bytes = _number(environ, MAX_BYTES_ENV, DEFAULT_MAX_BYTES, 1, MAX_BYTES_LIMIT, whole=True)
        seconds = _number(environ, SECONDS_ENV, DEFAULT_SECONDS, 0.001, MAX_SECONDS_LIMIT, whole=False)
        named = environ.get(FILE_HOSTS_ENV, "").replace(" ", ",").split(",")
        hosts = tuple(h.strip().lower() for h in named if h.strip())
        return cls(max_bytes=int(max_bytes), seconds=float(seconds), file_hosts=hosts)


def _number(
    environ: Mapping[str, str], name: str, default: float, low: float, high: float, *, whole: bool
) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    kind = "a whole number" if whole else "a number"
    try:
        value = float(int(text)) if whole else float(text)
    except ValueError:
        raise PinwardenError(f"{name} must be {kind} from {low:g} to {high:g}, found {text!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise PinwardenError(f"{name} must be {kind} from {low:g} to {high:g}, found {text!r}")
    return value


# ---------------------------------------------------------------------------------------------
# Where a file may come from


def check_url(url: str, index: str, limits: Limits) -> None:
    """Raise DownloadRefused unless `url` is a file of `index` by the host rule above."""
    shown = redact_url(url)
    file_url, index_url = _split(url, shown), _split(index, redact_url(index))
    scheme, host = file_url
    index_scheme, index_host = index_url
    if index_scheme == "file" or scheme == "file":
        if scheme == index_scheme == "file":
            return
        raise DownloadRefused(f"{shown}: not downloaded: only a file: index may name file: URLs")
    if scheme not in ("http", "https"):
        raise DownloadRefused(f"{shown}: not downloaded: only http and https URLs are fetched")
    if index_scheme == "https" and scheme != "https":
        raise DownloadRefused(f"{shown}: not downloaded: the index is https, its files must be too")
    if host not in allowed_hosts(index_host, limits):
        raise DownloadRefused(
            f"{shown}: not downloaded: {host or 'no host'} is not the index's host ({index_host}); "
            f"a private index that keeps its files elsewhere names that host in {FILE_HOSTS_ENV}"
        )


def allowed_hosts(index_host: str, limits: Limits) -> frozenset[str]:
    return frozenset({index_host, *KNOWN_FILE_HOSTS.get(index_host, ()), *limits.file_hosts})


def _split(url: str, shown: str) -> tuple[str, str]:
    """(scheme, host), lower case; DownloadRefused for what urllib cannot parse (`http://[::1`)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise DownloadRefused(f"{shown}: not a URL pinwarden can read") from None
    return parts.scheme.lower(), host.lower()


# ---------------------------------------------------------------------------------------------
# Hashing bytes as they arrive


class _Digests:
    """Every algorithm over one stream, with the size cap."""

    def __init__(self, algorithms: Iterable[str], cap: int, stated: bool, shown: str) -> None:
        self._hashes = {a: hashlib.new(a) for a in dict.fromkeys(algorithms)}
        self._cap, self._stated, self._shown = cap, stated, shown
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._cap:
            what = "the size the page states" if self._stated else "the download limit"
            raise DownloadRefused(
                f"{self._shown}: download stopped: larger than {what} ({self._cap} bytes; "
                f"the limit is {MAX_BYTES_ENV})"
            )
        for digest in self._hashes.values():
            digest.update(chunk)

    def result(self) -> dict[str, FileHash]:
        return {a: FileHash(a, d.hexdigest()) for a, d in self._hashes.items()}


def _cap(size: int | None, limits: Limits) -> tuple[int, bool]:
    if size is not None and 0 <= size <= limits.max_bytes:
        return size, True
    return limits.max_bytes, False


# ---------------------------------------------------------------------------------------------
# Time: the request, then the body


def send_within(send: Callable[[], _T], seconds: float, discard: Callable[[_T], object] | None = None) -> _T:
    """What `send()` returns (for a streamed request: connected, status line and headers read,
    retries and Retry-After waits done) if it returns within `seconds`, else TooSlow.

    A read timeout bounds each wait for a byte, not their sum: a server that drips its headers a
    byte at a time, or sends a new header line every few seconds, holds a plain request forever.
    `send` runs in a daemon thread that is left behind at the deadline (a blocked read cannot be
    woken without its socket, which the request hides until it returns); what it returns later
    goes to `discard` (close the response), what it raises is dropped."""
    if seconds <= 0:
        raise TooSlow
    lock = threading.Lock()
    finished = threading.Event()
    state: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome: tuple[str, Any] = ("value", send())
        except BaseException as exc:  # handed to the caller, or dropped once it gave up
            outcome = ("error", exc)
        with lock:
            late = state.setdefault("outcome", outcome) is not outcome
        if late and outcome[0] == "value" and discard is not None:
            with contextlib.suppress(Exception):
                discard(outcome[1])
        finished.set()

    threading.Thread(target=run, name="pinwarden-request", daemon=True).start()
    finished.wait(seconds)
    with lock:
        kind, value = state.setdefault("outcome", ("abandoned", None))
    if kind == "abandoned":
        raise TooSlow
    if kind == "error":
        raise value
    return value  # type: ignore[no-any-return]


def close_response(response: requests.Response) -> None:
    response.close()


def download_and_hash(
    send: Callable[[], requests.Response],
    url: str,
    algorithms: Iterable[str],
    *,
    size: int | None,
    limits: Limits,
    index: str,
) -> dict[str, FileHash]:
    """Check the URL, send the request, hash the body: all of it within limits.seconds. `send` makes
    the streamed request (the caller's session, credentials, headers)."""
    check_url(url, index, limits)
    shown = redact_url(url)
    started = time.monotonic()
    try:
        response = send_within(send, limits.seconds, close_response)
    except TooSlow:
        raise DownloadTooSlow(_too_slow(shown, limits)) from None
    with response:
        if response.status_code >= 400:
            raise DownloadRefused(f"{shown}: HTTP {response.status_code}")
        return hash_response(response, algorithms, size=size, limits=limits, index=index, started=started)


def hash_response(
    response: requests.Response,
    algorithms: Iterable[str],
    *,
    size: int | None,
    limits: Limits,
    index: str,
    started: float | None = None,
) -> dict[str, FileHash]:
    """Digests of a streamed response's body; DownloadRefused past the size cap or the time limit,
    counted from `started` (time.monotonic(), when the request was sent), else from now."""
    shown = redact_url(response.url or "")
    if response.url:
        check_url(response.url, index, limits)  # where the redirects ended
    cap, stated = _cap(size, limits)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        what = "the size the page states" if stated else "the download limit"
        raise DownloadRefused(f"{shown}: not downloaded: {declared} bytes is larger than {what} ({cap})")
    digests = _Digests(algorithms, cap, stated, shown)
    left = limits.seconds if started is None else limits.seconds - (time.monotonic() - started)
    if left <= 0:
        raise DownloadTooSlow(_too_slow(shown, limits))
    with _deadline(response, left) as expired:
        try:
            for chunk in response.iter_content(_CHUNK):
                digests.update(chunk)
        except DownloadRefused:
            raise
        except Exception:
            if not expired.is_set():
                raise
        if expired.is_set():
            raise DownloadTooSlow(_too_slow(shown, limits))
    return digests.result()


def hash_path(
    path: Path, url: str, algorithms: Iterable[str], *, size: int | None, limits: Limits
) -> dict[str, FileHash]:
    """Digests of a local file (a `file:` index); the same caps, so `/dev/zero` ends too."""
    shown = redact_url(url)
    cap, stated = _cap(size, limits)
    digests = _Digests(algorithms, cap, stated, shown)
    ends = time.monotonic() + limits.seconds
    try:
        with path.open("rb") as handle:
            for chunk in _chunks(handle):
                digests.update(chunk)
                if time.monotonic() > ends:
                    raise DownloadTooSlow(_too_slow(shown, limits))
    except OSError as exc:
        raise DownloadRefused(f"{shown}: cannot read: {exc.strerror or type(exc).__name__}") from None
    return digests.result()


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    yield from iter(lambda: handle.read(_CHUNK), b"")


def _too_slow(shown: str, limits: Limits) -> str:
    took = f"it took more than {limits.seconds:g} seconds"
    return f"{shown}: download stopped: {took} (the limit is {SECONDS_ENV})"


@contextlib.contextmanager
def _deadline(response: requests.Response, seconds: float) -> Iterator[threading.Event]:
    """A timer that wakes a blocked read by shutting the socket down once `seconds` have passed."""
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        shut_down(response)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield expired
    finally:
        timer.cancel()


def shut_down(response: requests.Response) -> None:
    """Wake a read blocked on this response's socket (close() alone does not, shutdown() does)."""
    import socket

    # urllib3 keeps the socket on the connection, unless the response reads until the server closes
    # (no Content-Length): then only http.client's file object holds it.
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        reader = getattr(getattr(response.raw, "_fp", None), "fp", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
