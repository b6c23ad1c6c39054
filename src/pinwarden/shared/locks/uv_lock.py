"""uv.lock text -> locked releases, read as uv reads it (lock `version = 1`, revisions 0 to 5).

uv's `Lock::from_toml` and its installer are the consumer: what `uv sync` takes from a lock is what
this reader gives, or the file is refused (`tests/test_uv_lock_differential.py` holds the two side by
side through `uv export`). Where the two could part, this reader refuses rather than guesses:
- another lock `version` (uv refuses it) or a `revision` newer than pinwarden knows;
- a source table that is not exactly one of uv's kinds (uv tries them in order and takes the first);
- a file entry without a hash (uv would install a registry file unchecked), with a hash not written
  as uv compares it (lower-case `algorithm:hex`), or with a zstd twin (whose hash uv accepts too);
- a file entry that is not where uv's installer looks for it (a registry file without `url`, a path
  wheel whose `filename` is not its path's, a location beside a direct or path source's own);
- one package locked twice (same name, equal version, same source: uv refuses the lock), two files
  of one package under one filename, a wheel whose filename's version is not the package's.

A source tree whose version uv leaves dynamic (no `version`) is locked as version "unversioned",
as the pylock reader keys one: no PEP 440 version, so it never meets a version another lock pins,
and `approve NAME==unversioned` names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import Collector
from ..model import (
    FileHash,
    InvalidValue,
    LockedFile,
    LockedRelease,
    LockFile,
    NormalizedName,
    SourceKind,
    canonical_version,
    directory_path,
    normalize_name,
)
from ..toml import load_toml, no_gc

FORMAT = "uv.lock"
LOCK_VERSION = 1
# uv 0.13 writes revision 5; a newer uv may give a field a meaning this reader does not know.
MAX_REVISION = 5
DYNAMIC_VERSION = "unversioned"  # pylock.UNVERSIONED: one spelling in the ledger

_SOURCE_KINDS = {
    "registry": SourceKind.INDEX,
    "git": SourceKind.GIT,
    "url": SourceKind.URL,
    "path": SourceKind.FILE,
    "directory": SourceKind.DIRECTORY,
    "editable": SourceKind.DIRECTORY,
    "virtual": SourceKind.DIRECTORY,
}
_SOURCE_TREES = frozenset({"directory", "editable", "virtual"})
# What uv downloads a file from: an absolute URL; anything else fails when uv installs.
_URL_SCHEMES = ("https://", "http://", "file://")
# How uv writes a time (jiff's Timestamp in UTC); uv reads more spellings, pinwarden refuses them.
_UPLOAD_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z", re.ASCII)
# A version read without packaging: the common case.
_PLAIN_VERSION = re.compile(r"\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?", re.ASCII)
_FAST_KEYS = frozenset({"url", "hash", "size", "upload-time"})
# A hash as uv writes it (what FileHash.parse reads without a question).
_FAST_HASH = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|sha384:[0-9a-f]{96}", re.ASCII)
_SEPARATOR = re.compile(r"[/\\#?]")
_COMMIT = re.compile(r"[0-9a-fA-F]{40}", re.ASCII)
# Query keys of a git source that uv reads (the rest it ignores).
_GIT_KEYS = ("tag", "branch", "rev", "subdirectory", "lfs", "path")


class _Bad(Exception):
    """One problem at one place; caught where reading can go on with the next field or entry."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@dataclass(frozen=True, slots=True)
class _Source:
    """One `source = {...}` as uv reads it."""

    uv_kind: str  # registry, git, url, path, directory, editable or virtual
    value: str  # as written
    url: str | None  # LockedRelease.source_url
    reference: str | None = None  # git: the commit
    # registry: False for a local folder of files (`registry = "../wheels"`).
    remote: bool = True

    @property
    def kind(self) -> SourceKind:
        return _SOURCE_KINDS[self.uv_kind]

    def identity(self) -> tuple[str, str]:
        """What uv compares to find one package locked twice (local paths a little more loosely)."""
        if self.uv_kind in ("registry", "git", "url") and self.remote:
            return (self.uv_kind, self.value)
        return (self.uv_kind, directory_path(self.value))


def parse_uv_lock(text: str, path: str = "uv.lock") -> LockFile:
    """Every problem in the file is collected and raised together as an InputError."""
    data = load_toml(text, path, FORMAT)
    problems = Collector()
    releases: list[LockedRelease] = []
    try:
        packages = _top(data, problems)
    except _Bad as bad:  # a schema uv refuses: nothing below means what this reader knows
        problems.add(bad.where, bad.message)
    else:
        with no_gc():
            releases = list(_packages(packages, path, problems))
    problems.raise_if_any(path, FORMAT)
    urls = {r.source_url for r in releases if r.source_kind is SourceKind.INDEX and r.source_url}
    indexes = tuple(sorted(u for u in urls if _is_url(u)))
    return LockFile(path=path, format=FORMAT, releases=tuple(releases), index_urls=indexes)


# ---------------------------------------------------------------------------------------------
# the file


def _top(data: dict[str, Any], problems: Collector) -> list[Any]:
    """The package entries; _Bad for a lock of a schema uv refuses or this reader does not know."""
    if "version" not in data:
        raise _Bad("version", "missing: this does not look like a uv.lock")
    version = data["version"]
    if type(version) is not int or version != LOCK_VERSION:
        raise _Bad("version", f"unsupported lock version {version!r}: uv reads only version {LOCK_VERSION}")
    revision = data.get("revision", 0)
    if type(revision) is not int or revision < 0:
        raise _Bad("revision", f"{revision!r} is not a revision number")
    if revision > MAX_REVISION:
        message = (
            f"revision {revision} is newer than pinwarden reads (up to {MAX_REVISION}): upgrade pinwarden"
        )
        raise _Bad("revision", message)
    if "package" in data and "distribution" in data:
        raise _Bad("distribution", "both [[package]] and its old name [[distribution]] (uv refuses the lock)")
    if not isinstance(data.get("requires-python"), str):
        problems.add("requires-python", "missing or not a string (uv refuses the lock)")
    packages = data.get("package", data.get("distribution", []))
    if not isinstance(packages, list):
        raise _Bad("package", "must be an array of tables")
    return packages


def _packages(packages: list[Any], path: str, problems: Collector) -> Iterator[LockedRelease]:
    seen: dict[tuple[object, ...], int] = {}
    for i, package in enumerate(packages):
        if not isinstance(package, dict):
            problems.add(f"package[{i}]", "must be a table")
            continue
        read = _package(package, i, path, problems)
        if read is None:
            continue
        release, source = read
        twin = seen.setdefault((release.name, release.version, *source.identity()), i)
        if twin != i:
            shown = f"{release.name} {release.version}".rstrip()
            problems.add(
                f"package[{i}]", f"{shown} is locked twice (also package[{twin}]): uv refuses the lock"
            )
            continue
        yield release


def _package(
    package: dict[str, Any], i: int, path: str, problems: Collector
) -> tuple[LockedRelease, _Source] | None:
    """One package's release, or None after its problems are added."""
    before = len(problems.problems)
    name = _guarded(problems, _name, package.get("name"), f"package[{i}].name")
    source = _guarded(problems, _read_source, package.get("source"), f"package[{i}].source")
    version = None
    if source is not None:
        version = _guarded(problems, _version, package, source, f"package[{i}].version")
    if name is None or source is None or version is None:
        return None
    files = _files(package, i, source, canonical_version(version), problems)
    if len(problems.problems) != before:
        return None
    release = LockedRelease(
        name=name,
        version=version,
        files=files,
        lockfile=path,
        source_kind=source.kind,
        source_url=source.url,
        source_reference=source.reference,
    )
    return release, source


def _guarded(problems: Collector, read: Any, *args: Any) -> Any:
    try:
        return read(*args)
    except _Bad as bad:
        problems.add(bad.where, bad.message)
        return None


def _name(raw: Any, where: str) -> NormalizedName:
    if not isinstance(raw, str):
        raise _Bad(where, "missing or not a string")
    try:
        return normalize_name(raw)
    except InvalidValue as exc:
        raise _Bad(where, str(exc)) from None


def _version(package: dict[str, Any], source: _Source, where: str) -> str:
    """The version as written (LockedRelease keeps its canonical form); DYNAMIC_VERSION for a
    source tree uv locks without one."""
    if "version" not in package:
        if source.uv_kind in _SOURCE_TREES:
            return DYNAMIC_VERSION
        raise _Bad(where, f"missing (uv locks a version for every {source.uv_kind} source)")
    raw = package["version"]
    if not isinstance(raw, str):
        raise _Bad(where, "not a string")
    if _PLAIN_VERSION.fullmatch(raw) is None and not _is_pep440(raw):
        raise _Bad(where, f"{raw!r} is not a PEP 440 version")
    return raw


def _is_pep440(text: str) -> bool:
    """uv parses PEP 440 as packaging does; text around spaces or beyond ASCII is refused."""
    if not text or not text.isascii() or text != text.strip():
        return False
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except (InvalidVersion, ValueError):  # ValueError: a number too long for int()
        return False
    return True


# ---------------------------------------------------------------------------------------------
# the source


def _read_source(raw: Any, where: str) -> _Source:
    if not isinstance(raw, dict):
        raise _Bad(where, "missing or not a table")
    kinds = [k for k in raw if k in _SOURCE_KINDS]
    if len(kinds) != 1:
        found = ", ".join(kinds) or "none"
        raise _Bad(where, f"must name exactly one of {', '.join(_SOURCE_KINDS)} (found: {found})")
    uv_kind = kinds[0]
    value = raw[uv_kind]
    allowed = ("url", "subdirectory") if uv_kind == "url" else (uv_kind,)
    others = [k for k in raw if k not in allowed]
    if others:
        raise _Bad(where, f"unexpected key(s) {', '.join(others)} beside {uv_kind}")
    if not isinstance(value, str) or not value:
        raise _Bad(f"{where}.{uv_kind}", "not a non-empty string")
    if not isinstance(raw.get("subdirectory", ""), str):
        raise _Bad(f"{where}.subdirectory", "not a string")
    if uv_kind == "registry":
        return _Source(uv_kind, value, value, remote=_is_url(value))
    if uv_kind == "git":
        return _git(value, f"{where}.git")
    if uv_kind == "url" and not value.startswith(_URL_SCHEMES):
        raise _Bad(f"{where}.url", f"{value!r} is not an http(s) or file URL")
    return _Source(uv_kind, value, value)


def _is_url(value: str) -> bool:
    """uv's rule for a registry: one that starts with a URL scheme is a URL, anything else a path."""
    scheme, sep, _ = value.partition(":")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum()


def _git(value: str, where: str) -> _Source:
    """`https://host/repo?rev=...#<commit>`: the commit is the fragment, as uv reads it. The query
    says how the commit was asked for (uv drops it when it fetches), except `subdirectory` and `lfs`,
    which change what is installed, and `path`, a file inside the repository, not read here."""
    try:
        parts = urlsplit(value)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError as exc:
        raise _Bad(where, f"{value!r} is not a URL ({exc})") from None
    commit = parts.fragment
    if not _COMMIT.fullmatch(commit):
        raise _Bad(where, f"{value!r} does not end in #<commit> (40 hex digits) as uv requires")
    names = [k for k, _ in pairs if k in _GIT_KEYS]
    if "path" in names:
        raise _Bad(where, "a file inside a git repository (`path=`): pinwarden cannot read it yet")
    repeated = sorted({k for k in names if names.count(k) > 1})
    if repeated:
        raise _Bad(where, f"{', '.join(repeated)} given twice: uv takes the last one")
    for key, val in pairs:
        if key == "rev" and _COMMIT.fullmatch(val) and val.lower() != commit.lower():
            raise _Bad(where, f"rev={val} is not the locked commit {commit} (uv refuses the lock)")
    kept = [f"{k}={v}" for k, v in pairs if k == "subdirectory" or (k == "lfs" and v.lower() == "true")]
    base = parts._replace(query="&".join(kept), fragment="").geturl()
    return _Source("git", value, base, reference=commit.lower())


# ---------------------------------------------------------------------------------------------
# the files


def _files(
    package: dict[str, Any], i: int, source: _Source, version: str, problems: Collector
) -> tuple[LockedFile, ...]:
    sdist, wheels = package.get("sdist"), package.get("wheels")
    try:
        _shape(source, sdist, wheels, f"package[{i}]")
    except _Bad as bad:
        problems.add(bad.where, bad.message)
        return ()
    files: list[LockedFile] = []
    fast = source.uv_kind == "registry" and source.remote
    if sdist is not None:
        entry = (fast and _fast_file(sdist, None)) or _guarded(
            problems, _sdist, sdist, source, f"package[{i}].sdist"
        )
        if entry is not None:
            files.append(entry)
    for j, wheel in enumerate(wheels or ()):
        entry = (fast and _fast_file(wheel, version)) or _guarded(
            problems, _wheel, wheel, source, version, f"package[{i}].wheels[{j}]"
        )
        if entry is not None:
            files.append(entry)
    if len({f.filename for f in files}) != len(files):
        names = [f.filename for f in files]
        twin = next(n for n in names if names.count(n) > 1)
        problems.add(f"package[{i}]", f"two files named {twin}: uv installs one of them")
    return tuple(files)


def _shape(source: _Source, sdist: Any, wheels: Any, where: str) -> None:
    """The file entries a source of this kind has in a lock uv writes."""
    uv_kind = source.uv_kind
    if uv_kind == "git" or uv_kind in _SOURCE_TREES:
        if sdist is not None or wheels is not None:
            raise _Bad(where, f"a {uv_kind} source has no sdist nor wheels in a lock uv writes")
        return
    if wheels is not None and not isinstance(wheels, list):
        raise _Bad(f"{where}.wheels", "must be an array of tables")
    if sdist is not None and not isinstance(sdist, dict):
        raise _Bad(f"{where}.sdist", "must be a table")
    if uv_kind == "registry":
        return
    # A direct URL or a path is one file: a wheel, or else an sdist, as its name says.
    name = _url_filename(source.value) if uv_kind == "url" else _basename(source.value)
    if name is None:
        raise _Bad(f"{where}.source", f"{source.value!r} does not end in a filename")
    if sdist is None and not wheels:
        # uv writes the hash of a direct or local file; without it uv would install it unchecked.
        raise _Bad(where, f"no sdist nor wheel entry with the hash of the {uv_kind} source's file")
    if name.endswith(".whl"):
        if sdist is not None:
            raise _Bad(f"{where}.sdist", f"the {uv_kind} source is a wheel, not an sdist")
        if wheels is not None and len(wheels) > 1:
            raise _Bad(f"{where}.wheels", f"a {uv_kind} source is one file")
    elif wheels:
        raise _Bad(f"{where}.wheels", f"the {uv_kind} source is no wheel")


def _fast_file(entry: Any, version: str | None) -> LockedFile | None:
    """A registry file as uv writes nearly all of them, read in one go; None for anything else,
    which the full reading below takes (and explains). `version`: a wheel's package version, None
    for an sdist. Tests hold the two readings equal on every real file."""
    if type(entry) is not dict or not _FAST_KEYS.issuperset(entry):
        return None
    url, raw, size, moment = entry.get("url"), entry.get("hash"), entry.get("size"), entry.get("upload-time")
    if not (
        type(url) is str
        and type(raw) is str
        and _FAST_HASH.fullmatch(raw) is not None
        and url.startswith(_URL_SCHEMES)
        and "%" not in url  # four scans of a string are faster than one regex search
        and "?" not in url
        and "#" not in url
        and "\\" not in url
        and (size is None or (type(size) is int and 0 <= size < 1 << 64))
        and (
            moment is None
            or (type(moment) is str and _UPLOAD_TIME.fullmatch(moment) and _real_moment(moment))
        )
    ):
        return None
    filename = url.rpartition("/")[2]
    if filename in ("", ".", "..") or (version is not None and not _wheel_version_ok(filename, version)):
        return None
    algorithm, _, digest = raw.partition(":")
    return LockedFile(filename, FileHash(algorithm, digest), url=url, size=size, upload_time=moment)


def _sdist(entry: dict[str, Any], source: _Source, where: str) -> LockedFile:
    if source.uv_kind == "registry":
        filename, url = _location(entry, source, where)
        return _entry(entry, filename, url, where)
    if "url" in entry or "path" in entry or "filename" in entry:
        # uv fetches a direct or path sdist from its source and would ignore another location.
        raise _Bad(where, f"a {source.uv_kind} source's sdist names no location in a lock uv writes")
    url = source.value if source.uv_kind == "url" else None
    named = _url_filename(source.value) if url else _basename(source.value)
    # `_shape` has refused a source without a filename.
    return _entry(entry, named or "", url, where)


def _wheel(entry: Any, source: _Source, version: str, where: str) -> LockedFile:
    if not isinstance(entry, dict):
        raise _Bad(where, "must be a table")
    if source.uv_kind == "path":
        filename, url = _path_wheel(entry, source, where), None
    else:
        filename, url = _location(entry, source, where)
        if source.uv_kind == "url" and url != source.value:
            raise _Bad(f"{where}.url", "not the source's URL, which uv downloads instead")
    if not _wheel_version_ok(filename, version):
        raise _Bad(where, f"{filename} is not a wheel of version {version} (uv refuses the lock)")
    return _entry(entry, filename, url, where)


def _path_wheel(entry: dict[str, Any], source: _Source, where: str) -> str:
    """A local wheel: uv installs the file at the source's path, named by `filename`."""
    filename = entry.get("filename")
    if "url" in entry or "path" in entry or not isinstance(filename, str):
        raise _Bad(where, "a path wheel has a `filename` and no `url` nor `path` in a lock uv writes")
    if filename != _basename(source.value):
        raise _Bad(f"{where}.filename", f"{filename!r} is not the name of the source's file {source.value!r}")
    return filename


def _location(entry: dict[str, Any], source: _Source, where: str) -> tuple[str, str | None]:
    """(filename, url) of a registry or direct URL file as uv reads them: the URL first, then a
    path (local registries only); uv names the file by the URL's last segment, percent-decoded."""
    url, path = entry.get("url"), entry.get("path")
    if url is not None:
        if not isinstance(url, str) or not url.startswith(_URL_SCHEMES):
            raise _Bad(f"{where}.url", f"{url!r} is not an http(s) or file URL")
        filename = _url_filename(url)
        if filename is None:
            raise _Bad(f"{where}.url", f"{url!r} does not end in a filename uv can read")
        return filename, url
    if path is not None and source.uv_kind == "registry" and not source.remote:
        filename = _basename(path) if isinstance(path, str) else None
        if filename is None:
            raise _Bad(f"{where}.path", f"{path!r} does not end in a filename")
        return filename, None
    raise _Bad(where, f"no `url`: uv cannot install this file from a {source.uv_kind} source")


def _entry(entry: dict[str, Any], filename: str, url: str | None, where: str) -> LockedFile:
    if "zstd" in entry:
        raise _Bad(f"{where}.zstd", "a zstd twin, whose hash uv also accepts: pinwarden cannot read it yet")
    size = entry.get("size")
    if size is not None and (type(size) is not int or size < 0 or size >= 1 << 64):
        raise _Bad(f"{where}.size", f"{size!r} is not a size in bytes")
    return LockedFile(
        filename, _hash(entry, where), url=url, size=size, upload_time=_upload_time(entry, where)
    )


def _hash(entry: dict[str, Any], where: str) -> FileHash:
    raw = entry.get("hash")
    if not isinstance(raw, str):
        raise _Bad(f"{where}.hash", "missing or not a string: uv would install the file unchecked")
    try:
        parsed = FileHash.parse(raw)
    except InvalidValue as exc:
        raise _Bad(f"{where}.hash", str(exc)) from None
    if f"{parsed.algorithm}:{parsed.value}" != raw:
        # uv compares the text as written with a lower-case digest: another spelling never matches.
        raise _Bad(f"{where}.hash", f"{raw!r} is not written as uv compares it ({parsed})")
    return parsed


def _upload_time(entry: dict[str, Any], where: str) -> str | None:
    """The time as uv wrote it, None without one."""
    if "upload-time" in entry and "upload_time" in entry:
        raise _Bad(f"{where}.upload-time", "given twice (also as upload_time): uv refuses the lock")
    raw = entry.get("upload-time", entry.get("upload_time"))
    if raw is None:
        return None
    if not isinstance(raw, str) or _UPLOAD_TIME.fullmatch(raw) is None or not _real_moment(raw):
        raise _Bad(f"{where}.upload-time", f"{raw!r} is not a time as uv writes it (YYYY-MM-DDTHH:MM:SSZ)")
    return raw


def _real_moment(text: str) -> bool:
    """A date and time that exist. `_UPLOAD_TIME` has checked the shape: the first 19 characters
    are `YYYY-MM-DDTHH:MM:SS`, which every supported Python reads."""
    try:
        datetime.fromisoformat(text[:19])
    except ValueError:
        return False
    return True


def _url_filename(url: str) -> str | None:
    """The last path segment as uv's `UrlString::filename` reads it, or None when that is no plain
    filename (empty, not UTF-8 once decoded, or holding a separator)."""
    if "?" not in url and "#" not in url and "%" not in url:
        return _plain(url.rpartition("/")[2])
    # uv cuts at the first "?", or else at the first "#", then decodes the last segment.
    base = url.partition("?")[0] if "?" in url else url.partition("#")[0]
    try:
        return _plain(unquote(base.rpartition("/")[2], errors="strict"))
    except UnicodeDecodeError:
        return None


def _basename(path: str) -> str | None:
    return _plain(path.replace("\\", "/").rstrip("/").rpartition("/")[2])


def _plain(name: str) -> str | None:
    if not name or name in (".", "..") or _SEPARATOR.search(name):
        return None
    return name


def _wheel_version_ok(filename: str, version: str) -> bool:
    """uv's check: the wheel's version is the package's, or is it with a local label added."""
    if not filename.endswith(".whl") or filename.count("-") not in (4, 5):
        return False
    found = canonical_version(filename.split("-", 2)[1])
    return found == version or found.partition("+")[0] == version
