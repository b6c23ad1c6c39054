"""Frozen values shared by every part of pinwarden: hashes, locked and trusted releases, findings.

Nothing here does I/O. A lock reader turns text into `LockedRelease`s, the ledger holds
`TrustedRelease`s, and `compare` turns the two into `Finding`s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import NewType

NormalizedName = NewType("NormalizedName", str)

# pip accepts only these for --hash; anything weaker can be forged and is never trusted.
STRONG_ALGORITHMS = ("sha256", "sha384", "sha512")
WEAK_ALGORITHMS = ("md5", "sha1", "sha224")
_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
_NAME_SEPARATORS = re.compile(r"[-_.]+")
_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE | re.ASCII)
_HEX = re.compile(r"^[0-9a-f]+\Z")
# The common, well-formed case in one match; anything else takes the slow path for a precise error.
_WELL_FORMED = re.compile(
    r"^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|sha384:[0-9a-f]{96}|sha1:[0-9a-f]{40}|md5:[0-9a-f]{32}"
    r"|sha224:[0-9a-f]{56})\Z"
)


class InvalidValue(ValueError):
    """A name, version or hash that cannot be what it claims to be."""


# A version already in PEP 440 normal form apart from leading and trailing zeros: no packaging needed.
_PLAIN_VERSION = re.compile(r"^(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?(?:\.post(\d+))?(?:\.dev(\d+))?\Z", re.ASCII)
# Python refuses int() of very long digit strings; such a "version" is no version an installer takes.
_MAX_VERSION_TEXT = 256


def canonical_version(text: str) -> str:
    """One spelling per PEP 440 version (`1.0`, `1.0.0`, `v1.0`, `01.0` -> `1`), as
    `packaging.utils.canonicalize_version` gives it; text that is no PEP 440 version stays as it is.

    Installers compare versions by PEP 440 equality, so everything pinwarden keys by version (the
    ledger, comparisons, decisions) keys by this form. Tests pin it to packaging's answers.
    """
    cached = _CANONICAL.get(text)
    if cached is not None:
        return cached
    canonical = _canonical_uncached(text)
    if len(_CANONICAL) < 65536:
        _CANONICAL[text] = canonical
    return canonical


_CANONICAL: dict[str, str] = {}


def _canonical_uncached(text: str) -> str:
    if len(text) > _MAX_VERSION_TEXT:
        return text
    plain = _PLAIN_VERSION.match(text)
    if plain is None:
        return _canonical_by_packaging(text)
    release, pre, pre_n, post, dev = plain.groups()
    parts = [_trim_release([int(p) for p in release.split(".")])]
    if pre:
        parts.append(f"{pre}{int(pre_n)}")
    if post is not None:
        parts.append(f".post{int(post)}")
    if dev is not None:
        parts.append(f".dev{int(dev)}")
    return "".join(parts)


def _trim_release(release: list[int]) -> str:
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    return ".".join(map(str, release))


def _canonical_by_packaging(text: str) -> str:
    from packaging.version import InvalidVersion, Version

    try:
        version = Version(text)
    except (InvalidVersion, ValueError):  # ValueError: a number too long for int()
        return text
    parts = [f"{version.epoch}!" if version.epoch else "", _trim_release(list(version.release))]
    if version.pre is not None:
        parts.append(f"{version.pre[0]}{version.pre[1]}")
    if version.post is not None:
        parts.append(f".post{version.post}")
    if version.dev is not None:
        parts.append(f".dev{version.dev}")
    if version.local is not None:
        parts.append(f"+{version.local}")
    return "".join(parts)


def _set_canonical_version(value: object) -> None:
    """Frozen values key by version: make every construction carry the canonical spelling."""
    version = value.version  # type: ignore[attr-defined]
    canonical = canonical_version(version)
    if canonical != version:
        object.__setattr__(value, "version", canonical)


_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s]*)@")


def masked_source(identity: str) -> str:
    """A source identity with credentials masked as pip prints them (`user:****@`, `****@` for a
    user name alone, often a token): they say nothing about which bytes a source holds, and the
    ledger is a file made for review, never for secrets."""

    def mask(match: re.Match[str]) -> str:
        user, colon, _ = match["userinfo"].partition(":")
        return f"{match['scheme']}{user}:****@" if colon else f"{match['scheme']}****@"

    return _USERINFO.sub(mask, identity)


def normalize_name(name: str) -> NormalizedName:
    """PEP 503 normalization, as `packaging.utils.canonicalize_name` does it.

    Kept local because importing packaging.utils pulls in packaging.tags, which costs more than
    a whole offline check of a clean lock; tests pin the two to the same answers.
    """
    if not _VALID_NAME.match(name):
        raise InvalidValue(f"{name!r} is not a valid project name")
    return NormalizedName(_NAME_SEPARATORS.sub("-", name).lower())


@dataclass(frozen=True, slots=True)
class FileHash:
    """One digest of one file, written `algorithm:hex`."""

    algorithm: str
    value: str

    @classmethod
    def parse(cls, text: str) -> FileHash:
        if _WELL_FORMED.match(text):
            algorithm, _, value = text.partition(":")
            return cls(algorithm, value)
        algorithm, sep, value = text.partition(":")
        algorithm = algorithm.lower()
        value = value.lower()
        if not sep:
            raise InvalidValue(f"{text!r} is not of the form algorithm:hex")
        expected = _HEX_LENGTH.get(algorithm)
        if expected is None:
            raise InvalidValue(f"{text!r} uses an unknown hash algorithm {algorithm!r}")
        if len(value) != expected or not _HEX.match(value):
            raise InvalidValue(f"{text!r} is not a {algorithm} digest ({expected} hex digits)")
        return cls(algorithm, value)

    @property
    def strong(self) -> bool:
        return self.algorithm in STRONG_ALGORITHMS

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


def hash_sort_key(h: FileHash) -> tuple[int, str, str]:
    """sha256 first (what every tool writes), then the other algorithms by name."""
    return (0 if h.algorithm == "sha256" else 1, h.algorithm, h.value)


DIRECTORY_PREFIX = "directory:"
# A finding's hash that names a source (a git commit, a local directory) rather than a file's digest.
_SOURCE_PREFIXES = ("git+", DIRECTORY_PREFIX)


def names_a_source(value: str | None) -> bool:
    return value is not None and value.startswith(_SOURCE_PREFIXES)


def directory_path(url: str) -> str:
    """A local directory as one spelling: `./a//b/` is `a/b`, as the installer resolves it.

    Only what cannot change the place goes (`.`, repeated and trailing slashes); `..` stays, since
    it means another place when a directory on the way is a symlink.
    """
    root = "/" if url.startswith("/") else ""
    path = root + "/".join(part for part in url.split("/") if part not in ("", "."))
    return path or "."


class SourceKind(str, Enum):
    INDEX = "index"
    GIT = "git"
    URL = "url"
    FILE = "file"
    DIRECTORY = "directory"


@dataclass(frozen=True, slots=True)
class LockedFile:
    """A file as a lock names it. Requirements files give a hash and no filename."""

    filename: str | None
    hash: FileHash
    # What uv.lock and pylock.toml record beside the hash; None where a format has none. Never part
    # of a file's identity (equality), only of what `check` reads offline: a size other than the
    # trusted one, a URL on another host than the index, an upload long after the version's others.
    url: str | None = field(default=None, compare=False)
    size: int | None = field(default=None, compare=False)
    upload_time: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedRelease:
    """One (project, version) as one lock file pins it."""

    name: NormalizedName
    version: str
    files: tuple[LockedFile, ...]
    lockfile: str
    source_kind: SourceKind = SourceKind.INDEX
    source_url: str | None = None
    # git: the resolved commit, the only identity such a package has.
    source_reference: str | None = None
    marker: str | None = None
    # A requirements file's `name @ URL` has no version but its file name's; pip installs the one
    # the file's metadata names, which nothing in the text shows.
    version_from_filename: bool = False
    # The version as the lock spells it, when that is not the canonical `version` (for messages).
    locked_as: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        canonical = canonical_version(self.version)
        if canonical != self.version:
            object.__setattr__(self, "locked_as", self.locked_as or self.version)
            object.__setattr__(self, "version", canonical)

    @property
    def key(self) -> tuple[NormalizedName, str]:
        return (self.name, self.version)

    @property
    def source_identity(self) -> str | None:
        """What stands in for file hashes where a lock has none: a git commit, a local directory."""
        if self.source_kind is SourceKind.GIT and self.source_url:
            return masked_source(f"git+{self.source_url}@{self.source_reference or ''}")
        if self.source_kind is SourceKind.DIRECTORY and self.source_url:
            return f"{DIRECTORY_PREFIX}{directory_path(self.source_url)}"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class LockFile:
    """What one lock file holds: its releases and the indexes it names."""

    path: str
    format: str
    releases: tuple[LockedRelease, ...]
    index_urls: tuple[str, ...] = ()
    # A requirements file's option lines as pip reads them (canonical name, value), in order: where
    # and how pip fetches (indexes, --find-links, --no-index, --no-binary ...) beyond the pinned hashes.
    options: tuple[tuple[str, str], ...] = ()


class TrustHow(str, Enum):
    INIT = "init"
    FIRST_USE = "first-use"
    APPROVAL = "approval"


def is_utc_second(text: str) -> bool:
    """`YYYY-MM-DDTHH:MM:SSZ` naming a real moment: the one spelling of a trust event's `since`."""
    from datetime import datetime

    if not _UTC_SECOND.fullmatch(text):
        return False
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


_UTC_SECOND = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustEvent:
    """How and when a version was trusted. `since`: the time the trust dates from when that is
    earlier than `at` (init of a lock with a history: the commit that first locked the version).
    It can only make the audit more cautious: files uploaded after it are news, not seen."""

    how: TrustHow
    at: str
    reason: str | None = None
    since: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedFile:
    """A file trusted once. `filename` is None for a hash learnt from a requirements file.

    A vanished file stays, so that the same name coming back with other bytes is caught.
    """

    filename: str | None
    hashes: tuple[FileHash, ...]
    vanished: bool = False
    # The size in bytes a lock recorded beside the trusted hash (uv.lock, pylock.toml); None where
    # no trusted lock gave one. A lock giving another size for the file names other bytes.
    size: int | None = None

    def sort_key(self) -> tuple[int, str, str]:
        first = str(self.hashes[0]) if self.hashes else ""
        return (1 if self.filename is None else 0, self.filename or "", first)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedRelease:
    name: NormalizedName
    version: str
    files: tuple[TrustedFile, ...]
    history: tuple[TrustEvent, ...]
    index: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        _set_canonical_version(self)

    @property
    def key(self) -> tuple[NormalizedName, str]:
        return (self.name, self.version)


class FindingKind(str, Enum):
    NEW_VERSION = "new-version"
    NEW_FILE = "new-file"
    CHANGED_FILE = "changed-file"
    MISSING_FILE = "missing-file"
    BUILD_TAG = "build-tag"
    LOCAL_VERSION = "local-version"
    DIRECT_URL = "direct-url"
    SDIST_ADDED = "sdist-added"
    FILENAME_MISMATCH = "filename-mismatch"
    WEAK_HASH = "weak-hash"
    # What `audit` finds on the index itself, and the warning signs it reads from index data.
    PROJECT_GONE = "project-gone"
    VERSION_GONE = "version-gone"
    PROJECT_RECREATED = "project-recreated"
    LATE_UPLOAD = "late-upload"
    SHAPE_CHANGE = "shape-change"
    YANKED = "yanked"
    # A file URL in a lock (uv.lock, pylock.toml) on a host the index it names does not use.
    FOREIGN_HOST = "foreign-host"


# Order in reports: the gravest first.
SEVERITY = {
    FindingKind.CHANGED_FILE: 0,
    FindingKind.FOREIGN_HOST: 1,
    FindingKind.PROJECT_RECREATED: 2,
    FindingKind.FILENAME_MISMATCH: 3,
    FindingKind.WEAK_HASH: 4,
    FindingKind.PROJECT_GONE: 5,
    FindingKind.VERSION_GONE: 6,
    FindingKind.NEW_FILE: 7,
    FindingKind.BUILD_TAG: 8,
    FindingKind.LOCAL_VERSION: 9,
    FindingKind.DIRECT_URL: 10,
    FindingKind.SDIST_ADDED: 11,
    FindingKind.LATE_UPLOAD: 12,
    FindingKind.SHAPE_CHANGE: 13,
    FindingKind.YANKED: 14,
    FindingKind.MISSING_FILE: 15,
    FindingKind.NEW_VERSION: 16,
}
# Warning signs: facts worth a look that are not, on their own, a change to trusted content.
WARNING_KINDS = frozenset(
    {
        FindingKind.BUILD_TAG,
        FindingKind.LOCAL_VERSION,
        FindingKind.DIRECT_URL,
        FindingKind.SDIST_ADDED,
        FindingKind.LATE_UPLOAD,
        FindingKind.SHAPE_CHANGE,
        FindingKind.YANKED,
        FindingKind.PROJECT_RECREATED,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    kind: FindingKind
    project: NormalizedName
    version: str
    lockfile: str
    filename: str | None = None
    hash: str | None = None
    trusted_hash: str | None = None
    detail: str | None = field(default=None, compare=False)
    # Facts behind a finding read from the index (times, gap, files), for JSON; never compared.
    evidence: Mapping[str, object] | None = field(default=None, compare=False)
    # False: information, reported and never a question nor a failing exit (signs.py says which
    # signs are benign in kind, e.g. a late wheel for a newer interpreter).
    blocking: bool = True

    def __post_init__(self) -> None:
        _set_canonical_version(self)

    @property
    def key(self) -> tuple[NormalizedName, str]:
        return (self.project, self.version)

    def sort_key(self) -> tuple[str, str, int, str, str, str]:
        # Every compared field takes part, so that report order never depends on input order.
        return (
            self.project,
            self.version,
            SEVERITY[self.kind],
            self.filename or "",
            self.hash or "",
            f"{self.lockfile}\0{self.trusted_hash or ''}\0{'' if self.blocking else 'info'}",
        )

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "project": self.project,
            "version": self.version,
            "filename": self.filename,
            "hash": self.hash,
            "trusted_hash": self.trusted_hash,
            "lockfile": self.lockfile,
            "detail": self.detail,
            "evidence": dict(self.evidence) if self.evidence is not None else None,
            "blocking": self.blocking,
        }
