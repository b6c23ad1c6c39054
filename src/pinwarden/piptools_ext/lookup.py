"""Filenames for the bare hashes of a requirements file, from the index the run used.

pip-compile writes `--hash` options without filenames, so on its own a replaced file looks like a
new file plus a missing one. The project page lists filename and sha256 of every file; matching
hashes against it names the files, and the comparison can then say CHANGED. Where the lookup is
impossible, `Lookup.unknown` says why, for the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..shared.errors import PinwardenError
from ..shared.index.fetch import ProjectNotFound, SimpleIndex
from ..shared.index.simple import IndexFile
from ..shared.model import FileHash, Finding, FindingKind, LockedFile, LockedRelease, NormalizedName


@dataclass(frozen=True, slots=True)
class Lookup:
    files: Mapping[NormalizedName, tuple[IndexFile, ...]] = field(default_factory=dict)
    unknown: Mapping[NormalizedName, str] = field(default_factory=dict)

    def filenames(self, name: NormalizedName) -> dict[FileHash, str]:
        """sha256 -> filename; a hash listed under two names stays unnamed (it cannot say which)."""
        named: dict[FileHash, str] = {}
        doubtful: set[FileHash] = set()
        for file in self.files.get(name, ()):
            digest = file.hash("sha256")
            if digest is None:
                continue
            if named.get(digest, file.filename) != file.filename:
                doubtful.add(digest)
            named[digest] = file.filename
        return {digest: filename for digest, filename in named.items() if digest not in doubtful}


def look_up(index_urls: Sequence[str], names: Iterable[NormalizedName]) -> Lookup:
    """Fetch each project's page from every index (pip merges them); never raises for one index."""
    files: dict[NormalizedName, tuple[IndexFile, ...]] = {}
    unknown: dict[NormalizedName, str] = {}
    indexes = [SimpleIndex(url) for url in index_urls]
    try:
        for name in sorted(set(names)):
            found, failures = _fetch(indexes, name)
            files[name] = found
            reason = _why_unknown(found, failures, index_urls)
            if reason:
                unknown[name] = reason
    finally:
        for index in indexes:
            index.close()
    return Lookup(files, unknown)


def _fetch(indexes: Sequence[SimpleIndex], name: NormalizedName) -> tuple[tuple[IndexFile, ...], list[str]]:
    found: list[IndexFile] = []
    failures: list[str] = []
    for index in indexes:
        try:
            found.extend(index.project_files(name))
        except ProjectNotFound:
            continue
        except PinwardenError as exc:  # unreachable, or a page that is not one: the report says so
            failures.append(str(exc))
    return tuple(found), failures


def _why_unknown(found: tuple[IndexFile, ...], failures: list[str], index_urls: Sequence[str]) -> str | None:
    if not index_urls:
        return "no index was used (--no-index), so nothing can be looked up or approved from one"
    if failures:
        return "index lookup failed: " + "; ".join(failures)
    if not found:
        return "the index lists no files for it"
    if not any(f.hash("sha256") for f in found):
        return "the index lists no sha256 hashes for its files"
    return None


def name_files(release: LockedRelease, lookup: Lookup) -> LockedRelease:
    """The release with a filename on every hash the index lists."""
    names = lookup.filenames(release.name)
    if not names:
        return release
    files = tuple(
        LockedFile(names.get(f.hash, f.filename) if f.filename is None else f.filename, f.hash)
        for f in release.files
    )
    return replace(release, files=files)


def still_served(finding: Finding, lookup: Lookup) -> bool:
    """A MISSING file the index still serves with its trusted bytes was only left out by pip-compile
    (requires-python, --only-binary): nothing changed upstream."""
    if finding.kind is not FindingKind.MISSING_FILE or finding.trusted_hash is None:
        return False
    trusted = FileHash.parse(finding.trusted_hash)
    return any(trusted in f.hashes for f in lookup.files.get(finding.project, ()))
