"""poetry.lock text -> locked releases, for lock-version 1.1, 2.0 and 2.1.

1.1 keeps file hashes in `[metadata.files]` keyed by package name only, so two locked versions
of one package share one list; each file goes to the version its filename names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
    if "package" in data and not isinstance(data["package"], list):
        problems.add("package", "must be an array of tables")


def _metadata_files(data: dict[str, Any], problems: Collector) -> dict[NormalizedName, list[LockedFile]]:
    """The 1.1 layout: one list of files per package name."""
    metadata = data.get("metadata")
    raw = metadata.get("files") if isinstance(metadata, dict) else None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add("metadata.files", "must be a table")
        return {}
    shared: dict[NormalizedName, list[LockedFile]] = {}
    for raw_name, entries in raw.items():
        where = f"metadata.files.{key_path(raw_name)}"
        try:
            name = normalize_name(raw_name)
        except InvalidValue as exc:
            problems.add(where, str(exc))
            continue
        shared.setdefault(name, []).extend(_files(entries, where, problems))
    return shared


def _packages(
    data: dict[str, Any], path: str, shared: dict[NormalizedName, list[LockedFile]], problems: Collector
) -> Iterator[LockedRelease]:
    packages = data.get("package", [])
    if not isinstance(packages, list):
        return
    versions_by_name: dict[NormalizedName, list[str]] = {}
    parsed: list[tuple[int, NormalizedName, str, dict[str, Any]]] = []
    for i, package in enumerate(packages):
        where = f"package[{i}]"
        if not isinstance(package, dict):
            problems.add(where, "must be a table")
            continue
        name, version = _identity(package, where, problems)
        if name is None or version is None:
            continue
        versions_by_name.setdefault(name, []).append(version)
        parsed.append((i, name, version, package))
    for i, name, version, package in parsed:
        where = f"package[{i}]"
        kind, url, reference = _source(package.get("source"), f"{where}.source", problems)
        if "files" in package:
            files = _files(package["files"], f"{where}.files", problems)
        else:
            files = _share(shared.get(name, []), version, versions_by_name[name])
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
) -> tuple[NormalizedName | None, str | None]:
    raw_name, version = package.get("name"), package.get("version")
    name = None
    if not isinstance(raw_name, str):
        problems.add(f"{where}.name", "missing or not a string")
    else:
        try:
            name = normalize_name(raw_name)
        except InvalidValue as exc:
            problems.add(f"{where}.name", str(exc))
    if not isinstance(version, str) or not version.strip():
        problems.add(f"{where}.version", "missing or not a string")
        version = None
    return name, version


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
    reference = raw.get("resolved_reference") or raw.get("reference")
    return kind, url, reference if isinstance(reference, str) else None


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
            files.append(LockedFile(filename, FileHash.parse(raw_hash)))
        except InvalidValue as exc:
            problems.add(f"{item}.hash", str(exc))
    return files


def _share(files: list[LockedFile], version: str, all_versions: list[str]) -> list[LockedFile]:
    """Pick this version's files out of a 1.1 shared list by the version each filename names."""
    if len(all_versions) == 1:
        return files
    from ..filenames import parse_filename, same_version

    mine = []
    for locked in files:
        named = parse_filename(locked.filename or "").version
        if (
            named is None
            or same_version(named, version)
            or not any(same_version(named, v) for v in all_versions)
        ):
            mine.append(locked)
    return mine
