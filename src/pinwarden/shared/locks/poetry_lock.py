"""poetry.lock text -> locked releases, for lock-version 1.1, 2.0 and 2.1, read as Poetry reads it.

Poetry's `Locker` is the consumer: what `poetry install` takes from a lock is what this reader gives,
or the file is refused (`tests/test_poetry_lock_diff.py` holds the two readers side by side).
Where the two could part, this reader refuses rather than guesses:
- a package without its own `files` takes 1.1's `[metadata.files]` list under its name exactly as
  written (Poetry looks it up unnormalized), the whole list (Poetry does not split it by version), so
  a list that two locked packages would share is refused;
- a hash must be written as Poetry compares it, byte for byte: lower-case `algorithm:hex`;
- a version must be PEP 440 (Poetry refuses anything else), kept as written;
- one package locked twice (same name, equal version, same source) is refused: Poetry's installer
  keeps one of the two entries.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from packaging.version import InvalidVersion, Version

from ..errors import Collector
from ..model import (
    FileHash,
    InvalidValue,
    LockedFile,
    LockedRelease,
    LockFile,
    NormalizedName,
    SourceKind,
    normalize_name,
)
from ..toml import key_path, load_toml, no_gc

FORMAT = "poetry.lock"
PYPI_SIMPLE = "https://pypi.org/simple/"
_SUPPORTED = ("1.0", "1.1", "2.0", "2.1")
_SOURCE_KINDS = {
    "legacy": SourceKind.INDEX,
    "git": SourceKind.GIT,
    "url": SourceKind.URL,
    "file": SourceKind.FILE,
    "directory": SourceKind.DIRECTORY,
}
# Poetry gives these an empty file list when the package has no `files` of its own.
_NO_SHARED_FILES = (SourceKind.GIT, SourceKind.URL, SourceKind.DIRECTORY)


def parse_poetry_lock(text: str, path: str = "poetry.lock") -> LockFile:
    """Every problem in the file is collected and raised together as an InputError."""
    data = load_toml(text, path, "poetry.lock")
    problems = Collector()
    _check_metadata(data, problems)
    with no_gc():
        shared_files = _metadata_files(data, problems)
        releases = list(_packages(data, path, shared_files, problems))
    problems.raise_if_any(path, "poetry.lock")
    urls = sorted({r.source_url for r in releases if r.source_kind is SourceKind.INDEX and r.source_url})
    return LockFile(path=path, format=FORMAT, releases=tuple(releases), index_urls=tuple(urls))


def _check_metadata(data: dict[str, Any], problems: Collector) -> None:
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        problems.add("metadata", "missing: this does not look like a poetry.lock")
        return
    version = metadata.get("lock-version")
    if not isinstance(version, str) or version not in _SUPPORTED:
        problems.add(
            "metadata.lock-version", f"unsupported lock-version {version!r} (known: {', '.join(_SUPPORTED)})"
        )
    if "hashes" in metadata:
        # Poetry's oldest layout: hashes without filenames, which Poetry would prefer to `files`.
        problems.add(
            "metadata.hashes", "hashes without filenames are not supported: regenerate with `poetry lock`"
        )
    if "package" in data and not isinstance(data["package"], list):
        problems.add("package", "must be an array of tables")


def _metadata_files(data: dict[str, Any], problems: Collector) -> dict[str, list[LockedFile]]:
    """The 1.1 layout: one list of files per package name, keyed as written (Poetry does not
    normalize the key)."""
    metadata = data.get("metadata")
    raw = metadata.get("files") if isinstance(metadata, dict) else None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add("metadata.files", "must be a table")
        return {}
    shared: dict[str, list[LockedFile]] = {}
    for raw_name, entries in raw.items():
        where = f"metadata.files.{key_path(raw_name)}"
        try:
            normalize_name(raw_name)
        except InvalidValue as exc:
            problems.add(where, str(exc))
            continue
        shared[raw_name] = _files(entries, where, problems)
    return shared


def _packages(
    data: dict[str, Any], path: str, shared: dict[str, list[LockedFile]], problems: Collector
) -> Iterator[LockedRelease]:
    packages = data.get("package", [])
    if not isinstance(packages, list):
        return
    seen: dict[tuple[NormalizedName, Version, SourceKind, str | None], int] = {}
    shared_by: dict[str, int] = {}
    for i, package in enumerate(packages):
        where = f"package[{i}]"
        if not isinstance(package, dict):
            problems.add(where, "must be a table")
            continue
        raw_name, name, version = _identity(package, where, problems)
        kind, url, reference = _source(package.get("source"), f"{where}.source", problems)
        if raw_name is None or name is None or version is None:
            continue
        # Local paths are compared as Poetry resolves them on disk, which a reader cannot: any two are one.
        place = None if kind in (SourceKind.FILE, SourceKind.DIRECTORY) else url
        twin = seen.setdefault((name, Version(version), kind, place), i)
        if twin != i:
            problems.add(where, f"{name} {version} is locked twice (also package[{twin}]): Poetry keeps one")
        if "files" in package:
            files = _files(package["files"], f"{where}.files", problems)
        elif kind in _NO_SHARED_FILES:
            files = []
        else:
            files = _shared(shared, raw_name, kind=kind, url=url, where=where, problems=problems)
            first = shared_by.setdefault(raw_name, i)
            if first != i:
                # Poetry offers the whole list to each package: which version owns which file is a guess.
                problems.add(
                    f"metadata.files.{key_path(raw_name)}",
                    f"one list of files for two locked packages (package[{first}] and {where}):"
                    " regenerate the lock with `poetry lock`",
                )
        yield LockedRelease(
            name=name,
            version=version,
            files=tuple(files),
            lockfile=path,
            source_kind=kind,
            source_url=url,
            source_reference=reference,
        )


def _identity(
    package: dict[str, Any], where: str, problems: Collector
) -> tuple[str | None, NormalizedName | None, str | None]:
    raw_name, version = package.get("name"), package.get("version")
    name = None
    if not isinstance(raw_name, str):
        problems.add(f"{where}.name", "missing or not a string")
        raw_name = None
    else:
        try:
            name = normalize_name(raw_name)
        except InvalidValue as exc:
            problems.add(f"{where}.name", str(exc))
    if not isinstance(version, str) or not version.strip():
        problems.add(f"{where}.version", "missing or not a string")
        return raw_name, name, None
    if version != version.strip() or not version.isascii() or not _is_pep440(version):
        problems.add(f"{where}.version", f"{version!r} is not a PEP 440 version")
        return raw_name, name, None
    return raw_name, name, version


def _is_pep440(version: str) -> bool:
    try:
        Version(version)
    except (InvalidVersion, ValueError):  # ValueError: a number too long for int(); Poetry fails too
        return False
    return True


def _source(raw: Any, where: str, problems: Collector) -> tuple[SourceKind, str | None, str | None]:
    if raw is None:
        return SourceKind.INDEX, PYPI_SIMPLE, None
    if not isinstance(raw, dict):
        problems.add(where, "must be a table")
        return SourceKind.INDEX, None, None
    raw_type = raw.get("type")
    # Only a string can be looked up: `type = ["git"]` is as wrong as an unknown type.
    kind = _SOURCE_KINDS.get(raw_type) if isinstance(raw_type, str) else None
    url = raw.get("url")
    if kind is None:
        problems.add(f"{where}.type", f"unknown source type {raw_type!r}")
        return SourceKind.INDEX, None, None
    if not isinstance(url, str):
        problems.add(f"{where}.url", "missing or not a string")
        return kind, None, None
    for key in ("reference", "resolved_reference"):
        if key in raw and not isinstance(raw[key], str):
            # Poetry would check out whatever this is; only a string names one commit.
            problems.add(f"{where}.{key}", "not a string")
    # As Poetry's installer picks the revision: the resolved commit, else the reference.
    reference = raw.get("resolved_reference") or raw.get("reference")
    return kind, url, reference if isinstance(reference, str) else None


def _shared(
    shared: dict[str, list[LockedFile]],
    raw_name: str,
    *,
    kind: SourceKind,
    url: str | None,
    where: str,
    problems: Collector,
) -> list[LockedFile]:
    """This package's files from `[metadata.files]`, as Poetry takes them."""
    files = shared.get(raw_name)
    if files is None:
        problems.add(f"{where}.files", f"missing, and [metadata.files] has no list named {raw_name!r}")
        return []
    if kind is SourceKind.FILE and url is not None:
        # Poetry keeps the file its path names (after resolving it on disk: `..` is not ours to guess).
        filename = PurePosixPath(url).name
        if not filename or filename == ".." or url.rstrip("/").endswith("/.."):
            problems.add(f"{where}.source.url", f"{url!r} does not end in a filename")
            return []
        return [f for f in files if f.filename == filename]
    return files


def _files(entries: Any, where: str, problems: Collector) -> list[LockedFile]:
    if not isinstance(entries, list):
        problems.add(where, "must be an array of {file, hash} tables")
        return []
    files = []
    for i, entry in enumerate(entries):
        item = f"{where}[{i}]"
        if not isinstance(entry, dict):
            problems.add(item, "must be a {file, hash} table")
            continue
        filename, raw_hash = entry.get("file"), entry.get("hash")
        if not isinstance(filename, str) or not filename or "/" in filename or "\\" in filename:
            problems.add(f"{item}.file", f"{filename!r} is not a plain filename")
            continue
        if not isinstance(raw_hash, str):
            problems.add(f"{item}.hash", "missing or not a string")
            continue
        try:
            parsed = FileHash.parse(raw_hash)
        except InvalidValue as exc:
            problems.add(f"{item}.hash", str(exc))
            continue
        if str(parsed) != raw_hash:
            # Poetry compares the text as written: `SHA256:AB..` matches no download, so it is not
            # the hash pinwarden would check.
            problems.add(f"{item}.hash", f"{raw_hash!r} is not written as Poetry compares it ({parsed})")
            continue
        files.append(LockedFile(filename, parsed))
    return files
