"""pylock.toml (PEP 751) text -> locked releases, read as pip reads it for `pip install -r pylock.toml`.

pip's reading: `Path.read_text(encoding="utf-8")` (strict, universal newlines), tomllib, then
`packaging.pylock.Pylock.from_dict`, which validates the whole document before anything installs.
This reader accepts only what that validation accepts (`tests/test_pylock_diff.py` holds the two side
by side), and refuses more where pip's reading could part from what pinwarden would guard:
- a file is what pip fetches: its `path` if given (pip prefers it to `url`), else its `url`. Its
  `name` (what packaging selects by) must be the same distribution (`filenames.file_identity`) as the
  basename pip fetches and judges the download by (`MarkupSafe-3.0.2-...` and `markupsafe-3.0.2-...`
  are one wheel; `...-py3-none-any.whl` and `...-1-py3-none-any.whl` are not);
- hashes are compared as pip does (algorithm through hashlib, digest lower-cased), so `SHA256` and
  upper-case hex read as `sha256:<lower>`; an algorithm pinwarden does not know is refused;
- a `path` with a backslash (a separator on Windows only) and a git `commit-id` that is not a full
  commit hash (pip would check out whatever a branch name points at) are refused; `vcs` other than
  git is refused (no identity for it);
- lock-version: as pip, 1.x is read (pip warns on a minor version above 1.0), anything else refused.

A `vcs`, `directory` or `archive` package may carry no version (pip lock writes none): it is keyed by
`UNVERSIONED`, or an archive by its file name's version (`version_from_filename`, as a requirements
file's `name @ URL`). A direct archive URL's `#sha256=...` fragment is one more hash pip accepts.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse, urlsplit

from ..errors import Collector, InputError, Problem
from ..model import (
    FileHash,
    InvalidValue,
    LockedFile,
    LockedRelease,
    LockFile,
    NormalizedName,
    SourceKind,
    canonical_version,
    normalize_name,
)
from ..toml import key_path, load_toml, no_gc

FORMAT = "pylock.toml"
_T = TypeVar("_T")
# The version of a package whose lock names none (a git commit, a local directory, an archive whose
# name gives none): not PEP 440, so it never equals a version an index serves.
UNVERSIONED = "unversioned"
# pip joins a relative path to the lock's directory: one that starts like a URL (`file:`) or a
# Windows drive (`c:`) is read as one thing by pip and as another by a person, or per platform.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_GIT_COMMIT = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", dict: "a table", list: "an array"}


def decode_pylock(data: bytes, path: str) -> str:
    """The text pip reads: UTF-8, strictly (a BOM stays and TOML refuses it), newlines universal."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem("", f"not UTF-8 ({exc.reason} at byte {exc.start}): pip cannot read it")
        raise InputError(path, FORMAT, [problem]) from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def parse_pylock(text: str, path: str = "pylock.toml") -> LockFile:
    """Every problem in the file is collected and raised together as an InputError."""
    data = load_toml(text, path, FORMAT)
    problems = Collector()
    _check_top(data, problems)
    with no_gc():
        releases = [
            r for i, package in _packages(data, problems) for r in _package(package, i, path, problems)
        ]
    problems.raise_if_any(path, FORMAT)
    urls = sorted({r.source_url for r in releases if r.source_kind is SourceKind.INDEX and r.source_url})
    return LockFile(path=path, format=FORMAT, releases=tuple(releases), index_urls=tuple(urls))


# ---------------------------------------------------------------------------------------------
# typed access, every problem collected


def _get(table: dict[str, Any], key: str, kind: type[_T], where: str, problems: Collector) -> _T | None:
    """The value, None when absent or of another type (then a problem says so)."""
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        problems.add(f"{where}.{key}", f"must be {_TYPE_NAMES.get(kind, kind.__name__)}")
        return None
    return value


def _required(table: dict[str, Any], key: str, kind: type[_T], where: str, problems: Collector) -> _T | None:
    if key not in table:
        problems.add(f"{where}.{key}" if where else key, "missing")
        return None
    return _get(table, key, kind, where, problems)


def _strings(table: dict[str, Any], key: str, where: str, problems: Collector) -> list[str]:
    items = _get(table, key, list, where, problems) or []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            problems.add(f"{where}.{key}[{i}]", "must be a string")
    return [item for item in items if isinstance(item, str)]


def _tables(
    table: dict[str, Any], key: str, where: str, problems: Collector
) -> list[tuple[int, dict[str, Any]]]:
    items = _get(table, key, list, where, problems) or []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.add(f"{where}.{key}[{i}]", "must be a table")
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


# ---------------------------------------------------------------------------------------------
# the document


def _check_top(data: dict[str, Any], problems: Collector) -> None:
    version = _required(data, "lock-version", str, "", problems)
    if version is not None:
        _check_lock_version(version, problems)
    _required(data, "created-by", str, "", problems)
    if "packages" not in data:
        problems.add("packages", "missing")
    for i, marker in enumerate(_strings(data, "environments", "", problems)):
        _check_marker(marker, f"environments[{i}]", problems)
    for i, extra in enumerate(_strings(data, "extras", "", problems)):
        if not _is_normalized(extra):
            problems.add(f"extras[{i}]", f"{extra!r} is not a normalized name")
    _strings(data, "dependency-groups", "", problems)
    _strings(data, "default-groups", "", problems)
    requires_python = _get(data, "requires-python", str, "", problems)
    if requires_python is not None:
        _check_specifier(requires_python, "requires-python", problems)
    _get(data, "tool", dict, "", problems)


def _check_lock_version(text: str, problems: Collector) -> None:
    """As packaging (so pip): 1.0 up to, not including, 2.dev0; a minor version above 1.0 reads with
    a warning from pip, its unknown keys ignored, as here."""
    from packaging.version import InvalidVersion, Version

    try:
        version = Version(text)
    except (InvalidVersion, ValueError):
        problems.add("lock-version", f"{text!r} is not a version")
        return
    if not Version("1") <= version < Version("2.dev0"):
        problems.add("lock-version", f"unsupported lock-version {text!r}: pip reads 1.x only")


def _packages(data: dict[str, Any], problems: Collector) -> list[tuple[int, dict[str, Any]]]:
    return _tables(data, "packages", "", problems)


# ---------------------------------------------------------------------------------------------
# one package


@dataclass(frozen=True, slots=True)
class _Dist:
    """A wheel or sdist entry: the filename packaging selects by, its locked files."""

    filename: str
    files: tuple[LockedFile, ...]


@dataclass(frozen=True, slots=True)
class _Head:
    """What every release of one package entry shares."""

    name: NormalizedName | None
    lockfile: str
    marker: str | None
    version: str | None

    def release(self, version: str, files: tuple[LockedFile, ...], **source: Any) -> LockedRelease:
        assert self.name is not None
        return LockedRelease(
            name=self.name, version=version, files=files, lockfile=self.lockfile, marker=self.marker, **source
        )


def _package(package: dict[str, Any], i: int, path: str, problems: Collector) -> Iterator[LockedRelease]:
    where = f"packages[{i}]"
    before = len(problems.problems)
    name = _package_name(package, where, problems)
    head = _Head(
        name, path, _package_marker(package, where, problems), _package_version(package, where, problems)
    )
    _check_package_extras(package, where, problems)
    index = _get(package, "index", str, where, problems)
    vcs = _get(package, "vcs", dict, where, problems)
    directory = _get(package, "directory", dict, where, problems)
    archive = _get(package, "archive", dict, where, problems)
    sdist = _get(package, "sdist", dict, where, problems)
    wheels = _tables(package, "wheels", where, problems)
    distributions = (sdist is not None) + len(wheels)
    direct = (vcs is not None) + (directory is not None) + (archive is not None)
    if distributions and direct:
        problems.add(where, "none of vcs, directory, archive may be set beside sdist or wheels")
    elif not distributions and direct != 1:
        problems.add(where, "exactly one of vcs, directory, archive must be set without sdist and wheels")
    if name is None:
        return
    if distributions:
        dists = [_dist(w, f"{where}.wheels[{j}]", name, wheel=True, problems=problems) for j, w in wheels]
        if sdist is not None:
            dists.append(_dist(sdist, f"{where}.sdist", name, wheel=False, problems=problems))
        found = [d for d in dists if d is not None]
        version = _files_version(found, head.version, where, problems)
        if version is not None and len(problems.problems) == before:
            files = tuple(dict.fromkeys(f for d in found for f in d.files))
            yield head.release(version, files, source_url=index)
    elif vcs is not None:
        git = _vcs(vcs, f"{where}.vcs", problems)
        if git is not None and len(problems.problems) == before:
            url, reference = git
            kind = SourceKind.GIT
            yield head.release(
                head.version or UNVERSIONED, (), source_kind=kind, source_url=url, source_reference=reference
            )
    elif directory is not None:
        place = _directory(directory, f"{where}.directory", problems)
        if place is not None and len(problems.problems) == before:
            yield head.release(
                head.version or UNVERSIONED, (), source_kind=SourceKind.DIRECTORY, source_url=place
            )
    elif archive is not None:
        release = _archive_release(archive, f"{where}.archive", head, problems)
        if release is not None and len(problems.problems) == before:
            yield release


def _package_name(package: dict[str, Any], where: str, problems: Collector) -> NormalizedName | None:
    raw = _required(package, "name", str, where, problems)
    if raw is None:
        return None
    if not _is_normalized(raw):
        problems.add(f"{where}.name", f"{raw!r} is not a normalized name (pip refuses it)")
        return None
    return NormalizedName(raw)


def _is_normalized(name: str) -> bool:
    """packaging.utils.is_normalized_name: written as PEP 503 normalizes it."""
    try:
        return normalize_name(name) == name
    except InvalidValue:
        return False


def _package_version(package: dict[str, Any], where: str, problems: Collector) -> str | None:
    text = _get(package, "version", str, where, problems)
    if text is not None and not _is_version(text):
        problems.add(f"{where}.version", f"{text!r} is not a PEP 440 version")
        return None
    return text


def _is_version(text: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except (InvalidVersion, ValueError):  # ValueError: a number too long for int()
        return False
    return True


def _package_marker(package: dict[str, Any], where: str, problems: Collector) -> str | None:
    text = _get(package, "marker", str, where, problems)
    return None if text is None else _check_marker(text, f"{where}.marker", problems)


def _check_marker(text: str, where: str, problems: Collector) -> str | None:
    from packaging.markers import InvalidMarker, Marker

    try:
        return str(Marker(text))
    except InvalidMarker as exc:
        problems.add(where, f"not a marker: {str(exc).partition(chr(10))[0]}")
        return None


def _check_specifier(text: str, where: str, problems: Collector) -> None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(text)
    except InvalidSpecifier as exc:
        problems.add(where, f"not a version specifier: {exc}")


def _check_package_extras(package: dict[str, Any], where: str, problems: Collector) -> None:
    """What packaging validates and pinwarden does not use, so that a file pip refuses is refused."""
    requires_python = _get(package, "requires-python", str, where, problems)
    if requires_python is not None:
        _check_specifier(requires_python, f"{where}.requires-python", problems)
    _tables(package, "dependencies", where, problems)
    for j, identity in _tables(package, "attestation-identities", where, problems):
        _required(identity, "kind", str, f"{where}.attestation-identities[{j}]", problems)
    _get(package, "tool", dict, where, problems)


# ---------------------------------------------------------------------------------------------
# files


def _dist(
    entry: dict[str, Any], where: str, project: NormalizedName, *, wheel: bool, problems: Collector
) -> _Dist | None:
    """A wheel or sdist: its filename (its `name`, else its path's or URL's basename, as packaging
    says), which must be the same distribution as the one pip fetches."""
    name = _get(entry, "name", str, where, problems)
    source = _source(entry, where, problems)
    files = _locked_files(entry, where, problems)
    if source is None or files is None:
        return None
    url, path, fetched = source
    filename = name or (_path_name(path) if path else None) or _url_name_packaging(url)
    kind = "wheel" if wheel else "sdist"
    if not filename:
        problems.add(where, f"cannot tell the {kind}'s filename")
        return None
    if "/" in filename or "\\" in filename:
        problems.add(f"{where}.name", f"{filename!r} is not a plain filename")
        return None
    from ..filenames import file_identity

    if file_identity(filename, project) != file_identity(fetched, project):
        problems.add(
            where,
            f"named {filename!r} but pip fetches {fetched!r}, another file: pip selects by the name "
            "and installs what it fetches",
        )
        return None
    if not _of_project(filename, project, wheel=wheel, where=where, problems=problems):
        return None
    return _Dist(filename, tuple(LockedFile(filename, h, url, size, uploaded) for h, size, uploaded in files))


def _of_project(
    filename: str, project: NormalizedName, *, wheel: bool, where: str, problems: Collector
) -> bool:
    """packaging's check: the filename parses as a wheel (sdist) of this project."""
    from ..filenames import DistKind, parse_filename

    parsed = parse_filename(filename)
    shape = (DistKind.WHEEL, ".whl") if wheel else (DistKind.SDIST, (".tar.gz", ".zip"))
    if parsed.kind is not shape[0] or parsed.name is None or not filename.endswith(shape[1]):
        problems.add(where, f"{filename!r} is not a valid {'wheel' if wheel else 'sdist'} filename")
        return False
    if parsed.name != project:
        problems.add(where, f"{filename!r} is not a file of {project}")
        return False
    return True


def _files_version(dists: list[_Dist], version: str | None, where: str, problems: Collector) -> str | None:
    """The package's version; every file must be of it (packaging's check). Without one, pip takes the
    selected file's: all files must then name one version, or which one installs depends on the machine."""
    from ..filenames import parse_filename

    versions = {d.filename: parse_filename(d.filename).version or "" for d in dists}
    if version is not None:
        wanted = canonical_version(version)
        for filename, found in versions.items():
            if canonical_version(found) != wanted:
                problems.add(where, f"{filename!r} is not of version {version}")
        return version
    distinct = {canonical_version(v) for v in versions.values()}
    if not distinct:  # no file could be read: each said why
        return None
    if len(distinct) != 1:
        problems.add(
            f"{where}.version",
            f"missing, and the files name several versions ({', '.join(sorted(distinct))})",
        )
        return None
    return next(iter(versions.values()))


_HashInfo = tuple[FileHash, int | None, str | None]


def _locked_files(entry: dict[str, Any], where: str, problems: Collector) -> list[_HashInfo] | None:
    """(hash, size, upload time) per hash of one file: pip accepts a download matching any of them."""
    hashes = _required(entry, "hashes", dict, where, problems)
    size = _get(entry, "size", int, where, problems)
    if size is not None and size < 0:
        problems.add(f"{where}.size", f"{size} is not a size")
    uploaded = _upload_time(entry, where, problems)
    if hashes is None:
        return None
    if not hashes:
        problems.add(f"{where}.hashes", "empty: at least one hash is needed")
        return None
    parsed: list[FileHash] = []
    for algorithm, value in hashes.items():
        if not isinstance(value, str):
            problems.add(f"{where}.hashes.{key_path(algorithm)}", "must be a string")
            continue
        try:
            # pip: hashlib.new(algorithm) and a lower-cased digest, so the spelling does not matter.
            parsed.append(FileHash.parse(f"{algorithm.lower()}:{value.lower()}"))
        except InvalidValue as exc:
            problems.add(f"{where}.hashes.{key_path(algorithm)}", str(exc))
    return [(h, size, uploaded) for h in dict.fromkeys(parsed)]


def _upload_time(entry: dict[str, Any], where: str, problems: Collector) -> str | None:
    moment = entry.get("upload-time")
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        problems.add(f"{where}.upload-time", "must be a TOML datetime")
        return None
    text = moment.isoformat()
    return text[: -len("+00:00")] + "Z" if moment.utcoffset() == timedelta(0) else text


def _source(
    entry: dict[str, Any], where: str, problems: Collector
) -> tuple[str | None, str | None, str] | None:
    """(url, path, basename of what pip fetches): the path if given (pip prefers it), else the URL.
    The URL is kept only when pip fetches it."""
    url = _get(entry, "url", str, where, problems)
    path = _get(entry, "path", str, where, problems)
    if not url and not path:
        if "url" not in entry and "path" not in entry:
            problems.add(where, "path or url must be given")
        elif url == "" or path == "":
            problems.add(where, "path or url must be given (not empty)")
        return None
    if path is not None:
        name = _local_name(path, f"{where}.path", problems)
        return None if name is None else (None, path, name)
    fetched = _url_name_pip(url, f"{where}.url", problems)
    return None if fetched is None else (url, None, fetched)


def _local_path(path: str, where: str, problems: Collector) -> bool:
    """A path every platform and every reader joins to the lock's directory the same way."""
    if "\\" in path:
        problems.add(where, f"{path!r}: a backslash is a separator on Windows only; write '/'")
        return False
    if _SCHEME.match(path):
        problems.add(where, f"{path!r} starts like a URL or a drive: pip reads it as a relative path")
        return False
    return True


def _local_name(path: str, where: str, problems: Collector) -> str | None:
    if not path:
        problems.add(where, "empty")
        return None
    if not _local_path(path, where, problems):
        return None
    name = path.rsplit("/", 1)[-1]
    if name in ("", ".", ".."):
        problems.add(where, f"{path!r} does not end in a file name")
        return None
    return name


def _path_name(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]


def _url_name_packaging(url: str | None) -> str:
    """packaging.pylock's `_url_name`: the last path segment (after `;params`), percent-decoded."""
    return unquote(urlparse(url).path.rsplit("/", 1)[-1]) if url else ""


def _url_name_pip(url: str | None, where: str, problems: Collector) -> str | None:
    """pip's `Link.filename`: the basename of the percent-decoded path, which it judges and saves."""
    try:
        parts = urlsplit(url or "")
        urlparse(url or "")
    except ValueError as exc:
        problems.add(where, f"not a URL: {exc}")
        return None
    if not parts.scheme or len(parts.scheme) == 1:  # `c:/x.whl` is a Windows path, not a URL
        problems.add(where, f"{url!r} is not an absolute URL")
        return None
    name = posixpath.basename(unquote(parts.path).rstrip("/"))
    if name in ("", ".", ".."):
        problems.add(where, f"{url!r} does not end in a file name")
        return None
    return name


# ---------------------------------------------------------------------------------------------
# direct sources


def _vcs(vcs: dict[str, Any], where: str, problems: Collector) -> tuple[str, str] | None:
    """(repository, reference): pip installs `git+REPO@COMMIT[#subdirectory=SUB]`, the path before
    the URL; the subdirectory is part of what installs, so of the reference."""
    kind = _required(vcs, "type", str, where, problems)
    url = _get(vcs, "url", str, where, problems)
    path = _get(vcs, "path", str, where, problems)
    commit = _required(vcs, "commit-id", str, where, problems)
    _get(vcs, "requested-revision", str, where, problems)
    subdirectory = _get(vcs, "subdirectory", str, where, problems)
    if not url and not path:
        problems.add(where, "path or url must be given")
        return None
    if kind is not None and kind != "git":
        problems.add(f"{where}.type", f"{kind!r}: pinwarden reads git sources only")
    if commit is not None and not _GIT_COMMIT.fullmatch(commit):
        problems.add(
            f"{where}.commit-id",
            f"{commit!r} is not a full commit hash: pip would check out what it names now",
        )
    repository = path if path is not None else url
    if path is not None and (not path or not _local_path(path, f"{where}.path", problems)):
        if not path:
            problems.add(f"{where}.path", "empty")
        return None
    if path is None and not _vcs_url(url or "", f"{where}.url", problems):
        return None
    if kind != "git" or commit is None or not _GIT_COMMIT.fullmatch(commit) or not repository:
        return None
    reference = commit.lower() + (f"#subdirectory={subdirectory}" if subdirectory else "")
    return repository, reference


def _vcs_url(url: str, where: str, problems: Collector) -> bool:
    """pip appends `@COMMIT` to the URL: after a `?` or `#` it is no revision, and pip installs
    the default branch."""
    if not _SCHEME.match(url) or len(url.partition(":")[0]) == 1:
        problems.add(where, f"{url!r} is not an absolute URL")
        return False
    if "?" in url or "#" in url:
        problems.add(where, f"{url!r}: pip would read the commit as part of its query or fragment")
        return False
    return True


def _directory(directory: dict[str, Any], where: str, problems: Collector) -> str | None:
    path = _required(directory, "path", str, where, problems)
    _get(directory, "editable", bool, where, problems)
    subdirectory = _get(directory, "subdirectory", str, where, problems)
    if path is None or not _local_path(path, f"{where}.path", problems):
        return None
    if subdirectory is not None and not _local_path(subdirectory, f"{where}.subdirectory", problems):
        return None
    if subdirectory and subdirectory.startswith("/"):
        problems.add(
            f"{where}.subdirectory", f"{subdirectory!r}: pip reads it below the path, not as absolute"
        )
        return None
    # pip: the path's URL, then the subdirectory below it.
    return f"{path}/{subdirectory}" if path and subdirectory else subdirectory or path


def _archive_release(
    archive: dict[str, Any], where: str, head: _Head, problems: Collector
) -> LockedRelease | None:
    """`name @ URL` to pip: whatever version the archive's metadata says installs, so without a
    version in the lock, its file name's is read, as for a requirements file's direct URL."""
    source = _source(archive, where, problems)
    files = _locked_files(archive, where, problems)
    subdirectory = _get(archive, "subdirectory", str, where, problems)
    if source is None or files is None:
        return None
    url, path, fetched = source
    if url is not None:
        from .requirements import _url_hash

        in_url = _url_hash(url)
        if isinstance(in_url, str):
            problems.add(f"{where}.url", in_url)
        elif in_url is not None and files:
            files.append((in_url, files[0][1], files[0][2]))
        if subdirectory and "#" in url:
            problems.add(where, "a URL with a fragment and a subdirectory: pip refuses it")
    from ..filenames import parse_filename

    version = head.version
    if version is None:
        parsed = parse_filename(fetched)
        version = parsed.version if parsed.name == head.name and parsed.version else UNVERSIONED
    place = path if path is not None else url
    return head.release(
        version,
        tuple(dict.fromkeys(LockedFile(fetched, h, url, size, up) for h, size, up in files)),
        source_kind=SourceKind.FILE if path is not None else SourceKind.URL,
        source_url=f"{place}#subdirectory={subdirectory}" if subdirectory else place,
        version_from_filename=head.version is None and version != UNVERSIONED,
    )
