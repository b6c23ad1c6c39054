"""Which indexes to ask, and with which credentials. Pure: the caller reads files and the environment.

- poetry.lock names the source of every package (none means PyPI): that index is asked.
- A requirements file names `--index-url` and `--extra-index-url`; pip merges all of them, and so
  does pinwarden. Without `--index-url`, pip's configuration (PIP_INDEX_URL, pip.conf) or PyPI.
- `--index-url`/`--extra-index-url` given to pinwarden replace what the locks name (a mirror, a
  test index); comparisons with the ledger still use the index the lock names.
- Poetry's `[[tool.poetry.source]]` entries give the search order for a package no lock names
  (primary sources, PyPI unless a primary source replaces it, then supplemental ones; explicit
  sources only when named), and `POETRY_HTTP_BASIC_<SOURCE>_USERNAME/PASSWORD` their credentials.
- Credentials in an index URL are used as given; netrc is consulted by the HTTP client.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import PinwardenError
from ..model import LockedRelease, LockFile, SourceKind

PYPI_SIMPLE_URL = "https://pypi.org/simple/"
POETRY_FORMAT = "poetry.lock"
# Locks that name one index per package, which is the only one the installer asks for it.
_ONE_INDEX_FORMATS = (POETRY_FORMAT, "uv.lock", "pylock.toml")


@dataclass(frozen=True, slots=True)
class Target:
    """The indexes one locked release is looked up on, and the one its lock names."""

    indexes: tuple[str, ...]
    named: str | None


@dataclass(frozen=True, slots=True)
class IndexOptions:
    """`--index-url` and `--extra-index-url` given on the command line, and pip's configuration."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    pip_index_url: str | None = None
    pip_extra_index_urls: tuple[str, ...] = ()

    @property
    def overridden(self) -> bool:
        return self.index_url is not None or bool(self.extra_index_urls)


def target_of(release: LockedRelease, lock: LockFile, options: IndexOptions) -> Target | None:
    """None for a release no index serves (git, url, file, directory)."""
    if release.source_kind is not SourceKind.INDEX:
        return None
    named = release.source_url
    if options.overridden:
        primary = options.index_url or named or options.pip_index_url or PYPI_SIMPLE_URL
        return Target(_unique([primary, *options.extra_index_urls]), named)
    if lock.format == POETRY_FORMAT:
        return Target((named or PYPI_SIMPLE_URL,), named)
    if lock.format in _ONE_INDEX_FORMATS:  # uv.lock, pylock.toml: each package's own index
        return Target((named or options.pip_index_url or PYPI_SIMPLE_URL,), named)
    # pip-compile writes every index it used into its output: a file that names some is complete.
    primary = named or options.pip_index_url or PYPI_SIMPLE_URL
    extras = (
        [url for url in lock.index_urls if url != named] if lock.index_urls else options.pip_extra_index_urls
    )
    return Target(_unique([primary, *extras]), named)


def indexes_for_project(
    name: str, locks: Sequence[LockFile], options: IndexOptions, poetry: Sequence[PoetrySource] = ()
) -> tuple[str, ...]:
    """Where to ask for a project's files (`approve --from-index` without a URL): the index a lock
    names for it; else the requirements files' indexes; else Poetry's search order; else pip's."""
    for lock in locks:
        for release in lock.releases:
            target = target_of(release, lock, options) if release.name == name else None
            if target is not None:
                return target.indexes
    named = [url for lock in locks if lock.format not in _ONE_INDEX_FORMATS for url in lock.index_urls]
    if named:
        return _unique(named)
    if poetry:
        return search_order(poetry)
    return _unique([options.pip_index_url or PYPI_SIMPLE_URL, *options.pip_extra_index_urls])


def _unique(urls: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for url in urls:
        seen.setdefault(index_identity(url), url)
    return tuple(seen.values())


def index_identity(url: str) -> str:
    """One spelling per index, for comparing the index two locks (or a lock and the ledger) name:
    the case of scheme and host, IDNA, a default port, userinfo, a trailing dot or slash make no
    difference (`https://PyPI.org:443/simple` and `https://pypi.org/simple/` are one index)."""
    from ..lockfacts import host_of

    scheme, sep, rest = url.strip().partition("://")
    host = host_of(url.strip()) if sep else None
    if host is None:
        return url.strip().rstrip("/")
    scheme = scheme.lower()
    shown = host.removesuffix(":443" if scheme == "https" else ":80")
    path = rest.partition("/")[2].partition("#")[0]
    return f"{scheme}://{shown}/{path}".rstrip("/")


def same_index(a: str | None, b: str | None) -> bool:
    return a == b or (a is not None and b is not None and index_identity(a) == index_identity(b))


# ---------------------------------------------------------------------------------------------
# pip's configuration


def pip_indexes(
    config_texts: Sequence[str], environ: Mapping[str, str]
) -> tuple[str | None, tuple[str, ...]]:
    """pip's index-url and extra-index-urls: config files in pip's order (later wins), then PIP_*."""
    index: str | None = None
    extras: tuple[str, ...] = ()
    for text in config_texts:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error:
            continue  # pip itself refuses such a file; that is pip's report to make
        for section in ("global", "install"):
            if parser.has_option(section, "index-url"):
                index = parser.get(section, "index-url").strip() or index
            if parser.has_option(section, "extra-index-url"):
                extras = tuple(parser.get(section, "extra-index-url").split())
    if environ.get("PIP_INDEX_URL", "").strip():
        index = environ["PIP_INDEX_URL"].strip()
    if environ.get("PIP_EXTRA_INDEX_URL", "").strip():
        extras = tuple(environ["PIP_EXTRA_INDEX_URL"].split())
    return index, extras


# ---------------------------------------------------------------------------------------------
# Poetry's sources


@dataclass(frozen=True, slots=True)
class PoetrySource:
    name: str
    url: str
    priority: str


def poetry_sources(pyproject: Mapping[str, Any]) -> tuple[PoetrySource, ...]:
    """`[[tool.poetry.source]]` entries that have a URL (a bare `PyPI` entry only sets its priority)."""
    tool = pyproject.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    raw = poetry.get("source") if isinstance(poetry, dict) else None
    sources = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        url = entry.get("url")
        if entry["name"].lower() == "pypi" and not url:
            url = PYPI_SIMPLE_URL
        if isinstance(url, str) and url:
            priority = entry.get("priority", "primary")
            sources.append(
                PoetrySource(entry["name"], url, priority if isinstance(priority, str) else "primary")
            )
    return tuple(sources)


def search_order(sources: Sequence[PoetrySource]) -> tuple[str, ...]:
    """Where Poetry looks for a package that names no source: primary, PyPI, supplemental."""
    primary = [s.url for s in sources if s.priority in ("primary", "default")]
    pypi_listed = any(s.url == PYPI_SIMPLE_URL for s in sources)
    if not primary and not pypi_listed:
        primary = [PYPI_SIMPLE_URL]
    supplemental = [s.url for s in sources if s.priority == "supplemental"]
    return _unique([*primary, *supplemental])


def poetry_credentials(source: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """`POETRY_HTTP_BASIC_<NAME>_USERNAME` and `_PASSWORD`, as Poetry reads them."""
    key = re.sub(r"[^A-Z0-9]", "_", source.upper())
    user = environ.get(f"POETRY_HTTP_BASIC_{key}_USERNAME")
    password = environ.get(f"POETRY_HTTP_BASIC_{key}_PASSWORD")
    if user is None and password is None:
        return None
    return (user or "", password or "")


def checked_url(url: str, what: str) -> str:
    """The URL as given once urllib can read its host and port; a PinwardenError naming `what`
    otherwise (`http://[::1` and `host:99999` make urllib raise ValueError wherever it is used)."""
    try:
        parts = urlsplit(url)
        _ = parts.hostname, parts.port
    except ValueError as exc:
        raise PinwardenError(f"{what} {redact_url(url)!r} is not a URL pinwarden can read ({exc})") from None
    if "\0" in url or not url.strip():
        raise PinwardenError(f"{what} {redact_url(url)!r} is not a URL pinwarden can read")
    return url


# scheme://userinfo@ : the userinfo runs to the last "@" before the host part ends, as urlsplit reads it.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s]*)@")


def redact_url(url: str) -> str:
    """The URL with any password masked, for messages, the ledger and the baseline (as pip shows it:
    `user:****@`, and `****@` for a user name alone, which is often a token). Works on any text, so
    a whole command line or message can be passed, and never raises (`http://[::1` included)."""

    def mask(match: re.Match[str]) -> str:
        user, colon, _ = match["userinfo"].partition(":")
        return f"{match['scheme']}{user}:****@" if colon else f"{match['scheme']}****@"

    return _USERINFO.sub(mask, url)
