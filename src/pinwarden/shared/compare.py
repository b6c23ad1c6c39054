"""Locked releases x ledger -> findings. Pure: no I/O, no clock, no order dependence."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from .ledger import Ledger
from .model import (
    FileHash,
    Finding,
    FindingKind,
    LockedFile,
    LockedRelease,
    SourceKind,
    TrustedFile,
    TrustedRelease,
)


def compare(ledger: Ledger, releases: Iterable[LockedRelease]) -> tuple[Finding, ...]:
    """Every way the locked releases differ from what the ledger trusts, gravest first per version."""
    findings: set[Finding] = set()
    groups: dict[tuple[str, str], list[LockedRelease]] = {}
    for release in releases:
        if release.source_kind is not SourceKind.DIRECTORY:  # the project's own code: nothing to swap
            groups.setdefault(release.key, []).append(release)
    for group in groups.values():
        trusted = ledger.get(group[0].name, group[0].version)
        for release in group:
            if trusted is None:
                findings.update(_new_version(release))
            else:
                findings.update(_against_trusted(release, trusted))
        if trusted is not None:
            findings.update(_missing(group, trusted))
    return tuple(sorted(findings, key=Finding.sort_key))


def trusted_subset(ledger: Ledger, release: LockedRelease) -> LockedRelease:
    """The release with only the files the ledger trusts: what a rejected version may lock."""
    trusted = ledger.get(release.name, release.version)
    if trusted is None:
        return replace(release, files=())
    view = _TrustedView.of(trusted)
    kept = tuple(f for f in release.files if not any(True for _ in _against_file(release, view, f)))
    return replace(release, files=kept)


def untrusted_keys(findings: Iterable[Finding]) -> list[tuple[str, str]]:
    """The (project, version) pairs that need a decision, in report order."""
    seen: dict[tuple[str, str], None] = {}
    for finding in findings:
        seen.setdefault((finding.project, finding.version), None)
    return list(seen)


def _finding(
    release: LockedRelease,
    kind: FindingKind,
    *,
    filename: str | None = None,
    hash: str | None = None,
    trusted_hash: str | None = None,
    detail: str | None = None,
) -> Finding:
    return Finding(
        kind=kind,
        project=release.name,
        version=release.version,
        lockfile=release.lockfile,
        filename=filename,
        hash=hash,
        trusted_hash=trusted_hash,
        detail=detail,
    )


def _new_version(release: LockedRelease) -> Iterator[Finding]:
    yield _finding(release, FindingKind.NEW_VERSION, hash=release.source_identity)
    for locked in release.files:
        if not locked.hash.strong:
            yield _weak(release, locked)
        yield from _file_signs(release, locked, trusted=None)


def _weak(release: LockedRelease, locked: LockedFile) -> Finding:
    return _finding(
        release,
        FindingKind.WEAK_HASH,
        filename=locked.filename,
        hash=str(locked.hash),
        detail=f"{locked.hash.algorithm} can be forged; only sha256, sha384 or sha512 is trusted",
    )


def _against_trusted(release: LockedRelease, trusted: TrustedRelease) -> Iterator[Finding]:
    if release.source_identity is not None and release.source_identity != trusted.source:
        yield _finding(
            release,
            FindingKind.CHANGED_FILE,
            filename=release.source_url,
            hash=release.source_identity,
            trusted_hash=trusted.source,
            detail="the git source points at another commit",
        )
    view = _TrustedView.of(trusted)
    for locked in release.files:
        yield from _against_file(release, view, locked)


@dataclass(frozen=True, slots=True)
class _TrustedView:
    """A trusted release indexed for lookups by filename and by hash."""

    release: TrustedRelease
    by_name: dict[str, TrustedFile]
    unnamed: frozenset[FileHash]
    all_hashes: frozenset[FileHash]

    @classmethod
    def of(cls, trusted: TrustedRelease) -> _TrustedView:
        by_name = {f.filename: f for f in trusted.files if f.filename is not None}
        unnamed = frozenset(h for f in trusted.files if f.filename is None for h in f.hashes)
        return cls(trusted, by_name, unnamed, unnamed | {h for f in by_name.values() for h in f.hashes})


def _against_file(release: LockedRelease, view: _TrustedView, locked: LockedFile) -> Iterator[Finding]:
    if not locked.hash.strong:
        yield _weak(release, locked)
        return
    if locked.filename is None:
        # A requirements file: any hash trusted for this version is acceptable bytes.
        if locked.hash not in view.all_hashes:
            yield _finding(release, FindingKind.NEW_FILE, hash=str(locked.hash))
        return
    known = view.by_name.get(locked.filename)
    if known is not None:
        yield from _against_known_file(release, locked, known)
    elif locked.hash not in view.unnamed:
        yield _finding(release, FindingKind.NEW_FILE, filename=locked.filename, hash=str(locked.hash))
        yield from _file_signs(release, locked, view.release)


def _against_known_file(release: LockedRelease, locked: LockedFile, known: TrustedFile) -> Iterator[Finding]:
    if locked.hash in known.hashes:
        return
    same_algorithm = [h for h in known.hashes if h.algorithm == locked.hash.algorithm]
    if same_algorithm:
        yield _finding(
            release,
            FindingKind.CHANGED_FILE,
            filename=locked.filename,
            hash=str(locked.hash),
            trusted_hash=str(same_algorithm[0]),
            detail="the same file now has other bytes" + (" (it had vanished)" if known.vanished else ""),
        )
    else:
        # An index that switched algorithms: only hashing the file itself can tell.
        yield _finding(
            release,
            FindingKind.NEW_FILE,
            filename=locked.filename,
            hash=str(locked.hash),
            trusted_hash=str(known.hashes[0]),
            detail=f"a {locked.hash.algorithm} hash for a file trusted by {known.hashes[0].algorithm}; "
            "offline it cannot be told from a changed file",
        )


def _missing(group: list[LockedRelease], trusted: TrustedRelease) -> Iterator[Finding]:
    """Trusted files that no lock pinning this version lists (one version may sit in several locks)."""
    if group[0].source_kind is SourceKind.GIT:
        return
    names = {f.filename for r in group for f in r.files if f.filename is not None}
    hashes = {f.hash for r in group for f in r.files}
    lockfiles = ", ".join(sorted({r.lockfile for r in group}))
    for known in trusted.files:
        if known.vanished or known.filename in names or hashes.intersection(known.hashes):
            continue
        yield Finding(
            kind=FindingKind.MISSING_FILE,
            project=trusted.name,
            version=trusted.version,
            lockfile=lockfiles,
            filename=known.filename,
            trusted_hash=str(known.hashes[0]),
        )


def _file_signs(
    release: LockedRelease, locked: LockedFile, trusted: TrustedRelease | None
) -> Iterator[Finding]:
    """Warning signs read from a filename alone (build tag, late sdist, wrong project or version)."""
    if locked.filename is None:
        return
    from .filenames import DistKind, belongs_to, parse_filename

    parsed = parse_filename(locked.filename)
    mismatch = belongs_to(locked.filename, release.name, release.version)
    if mismatch is not None and release.source_kind is SourceKind.INDEX:
        yield _finding(
            release,
            FindingKind.FILENAME_MISMATCH,
            filename=locked.filename,
            hash=str(locked.hash),
            detail=mismatch,
        )
    if parsed.build_tag is not None:
        yield _finding(
            release,
            FindingKind.BUILD_TAG,
            filename=locked.filename,
            hash=str(locked.hash),
            detail=f"build tag {parsed.build_tag}: installers prefer it over the same wheel without one",
        )
    if parsed.kind is DistKind.SDIST and trusted is not None and _wheels_only(trusted):
        yield _finding(
            release,
            FindingKind.SDIST_ADDED,
            filename=locked.filename,
            hash=str(locked.hash),
            detail="an sdist runs its build code at install; this version had only wheels",
        )


def _wheels_only(trusted: TrustedRelease) -> bool:
    names = [f.filename for f in trusted.files if f.filename is not None]
    return bool(names) and all(name.endswith(".whl") for name in names)
