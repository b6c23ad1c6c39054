"""What uv.lock and pylock.toml record beside each hash, read offline. Pure: no I/O, no clock.

These formats give each file's URL and upload time, so `check` can see without asking any index:
- a file fetched from a host other than the index the lock names for its package (or that
  index's file host): a typosquatted host in a pull request's lock (`foreign-host`);
- a file uploaded long after the version's other files, as the audit reads it from an index
  (`late-upload`, the same calibration: signs.late_uploads), for files not trusted yet.

Hosts are compared as an installer connects to them: case, IDNA (punycode), a trailing dot, the
default port and userinfo make no difference. A host this module cannot read the way every
installer would (a backslash, a percent escape, an invalid label) is never the index's host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .model import Finding, FindingKind, LockedFile, LockedRelease, SourceKind, TrustedRelease

PYPI_SIMPLE = "https://pypi.org/simple/"
DEFAULT_LATE_UPLOAD_DAYS = 14  # signs.DEFAULT_LATE_UPLOAD_DAYS, without importing the index code

# The file host of an index that serves its files from another host (as uv records the URLs).
_FILE_HOSTS = {
    "pypi.org:443": ("files.pythonhosted.org:443",),
    "test.pypi.org:443": ("test-files.pythonhosted.org:443",),
    "download.pytorch.org:443": ("download-r2.pytorch.org:443",),
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_IPV6 = re.compile(r"\[[0-9a-f:.]+\]\Z")
# Characters on which URL parsers disagree about where the host ends (WHATWG reads `\` as `/`).
_AMBIGUOUS = re.compile(r"[\\\s%\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True, kw_only=True)
class LockRules:
    """The settings the offline checks read: `[tool.pinwarden] file-hosts` and `late-upload-days`."""

    file_hosts: tuple[str, ...] = ()
    late_upload_days: int = DEFAULT_LATE_UPLOAD_DAYS


def host_of(url: str) -> str | None:
    """`host:port` as an installer connects to it, for an http(s) URL; None when it has no host
    every URL parser reads alike."""
    origin = "/".join(url.split("/", 3)[:3])  # scheme and authority: the rest cannot change the host
    cached = _HOSTS.get(origin)
    if cached is not None:
        return cached or None
    host = _host_uncached(url)
    if len(_HOSTS) < 4096:
        _HOSTS[origin] = host or ""
    return host


_HOSTS: dict[str, str] = {}


def _host_uncached(url: str) -> str | None:
    from urllib.parse import urlsplit

    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS:
        return None
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if _AMBIGUOUS.search(netloc):
        return None
    netloc = netloc.rpartition("@")[2]  # userinfo says nothing about where the bytes come from
    try:
        port = urlsplit(f"{scheme}://{netloc}").port
    except ValueError:
        return None
    raw = netloc[: -len(f":{port}")] if port is not None and netloc.endswith(f":{port}") else netloc
    raw = raw.removesuffix(":")  # `host:` is the default port
    host = _host_name(raw)
    if host is None:
        return None
    return f"{host}:{port if port is not None else _DEFAULT_PORTS[scheme]}"


def _host_name(raw: str) -> str | None:
    if raw.startswith("["):
        return raw.lower() if _IPV6.match(raw.lower()) else None
    name = raw[:-1] if raw.endswith(".") else raw  # `host.` is the same fully qualified host
    if not name.isascii():
        try:
            import idna  # requests' dependency: UTS 46 as browsers and uv's URL parser apply it

            name = idna.encode(name, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    name = name.lower()
    if name.startswith("xn--") or ".xn--" in name:
        try:
            import idna

            idna.decode(name)  # punycode that decodes to no valid name is no host an installer reaches
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        return None
    return name


def allowed_hosts(index_url: str, file_hosts: Iterable[str] = ()) -> frozenset[str]:
    """Where an index's files may come from: its own host, its known file host, and the hosts
    `[tool.pinwarden] file-hosts` allows (`host` allows the default ports, `host:port` that port)."""
    own = host_of(index_url)
    allowed = {own, *_FILE_HOSTS.get(own, ())} if own is not None else set()
    for entry in file_hosts:
        allowed.update(setting_hosts(entry))
    return frozenset(allowed)


def setting_hosts(entry: str) -> tuple[str, ...]:
    """A `file-hosts` entry as the `host:port` forms it allows; () when it names no host."""
    text = entry.strip()
    if "://" in text:
        one = host_of(text)
        return (one,) if one is not None else ()
    authority = text.split("/", 1)[0]
    has_port = bool(re.search(r":[0-9]+\Z", authority)) and not authority.endswith("]")
    found = [host_of(f"{scheme}://{authority}/") for scheme in (("https",) if has_port else _DEFAULT_PORTS)]
    return tuple(dict.fromkeys(h for h in found if h is not None))


def offline_findings(
    release: LockedRelease, trusted: TrustedRelease | None, rules: LockRules
) -> Iterator[Finding]:
    """Foreign hosts and late uploads read from the lock itself (nothing for locks without URLs or times)."""
    if release.source_kind is SourceKind.INDEX:
        yield from _foreign_hosts(release, rules)
    yield from _late_uploads(release, trusted, rules.late_upload_days)


def _foreign_hosts(release: LockedRelease, rules: LockRules) -> Iterator[Finding]:
    # A pylock.toml package may name no index (pip lock writes none): its URLs are then held to
    # PyPI's hosts, and a private index's host is allowed by `file-hosts`.
    index = release.source_url or PYPI_SIMPLE
    if host_of(index) is None:
        return  # an index on a local path, or unreadable: no host to hold the files to
    allowed: frozenset[str] | None = None
    for locked in release.files:
        if locked.url is None:
            continue
        host = host_of(locked.url)
        if host is not None and allowed is None:
            allowed = allowed_hosts(index, rules.file_hosts)
        if host is not None and allowed is not None and host in allowed:
            continue
        yield _foreign(release, locked, host)


def _foreign(release: LockedRelease, locked: LockedFile, host: str | None) -> Finding:
    from .index.sources import redact_url

    url = redact_url(locked.url or "")
    where = f"from {_shown(host, url)}" if host else "from a host no installer reads alike"
    named = (
        f"the index the lock names ({redact_url(release.source_url)})"
        if release.source_url
        else ("PyPI (the lock names no index for it)")
    )
    return Finding(
        kind=FindingKind.FOREIGN_HOST,
        project=release.name,
        version=release.version,
        lockfile=release.lockfile,
        filename=locked.filename,
        hash=str(locked.hash),
        detail=f"fetched {where} ({url}), not from {named} or its file host",
    )


def _shown(host: str, url: str) -> str:
    """The host as a person reads it: without the port its scheme implies."""
    scheme = url.partition("://")[0].lower()
    return host.removesuffix(f":{_DEFAULT_PORTS.get(scheme, '')}")


def _late_uploads(release: LockedRelease, trusted: TrustedRelease | None, days: int) -> Iterator[Finding]:
    if not any(f.upload_time for f in release.files):
        return
    known = {f.filename for f in trusted.files} if trusted is not None else set()
    only = {f.filename for f in release.files if f.filename and f.upload_time and f.filename not in known}
    if not only:
        return
    from . import signs
    from .index.simple import IndexFile

    listed = [
        IndexFile(filename=f.filename, url=f.url or "", upload_time=f.upload_time, size=f.size)
        for f in release.files
        if f.filename is not None
    ]
    for sign in signs.late_uploads(listed, days, only=only):
        yield sign.finding(release.name, release.version, release.lockfile)
