"""Locked releases x ledger -> findings. Pure: no I/O, no clock, no order dependence."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

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
    canonical_version,
    masked_source,
    names_a_source,
)

if TYPE_CHECKING:
    from .filenames import FileIdentity
    from .lockfacts import LockRules


# Sources whose bytes only a file hash pins (git has its commit, a directory is the project itself).
# Sources whose installs the lock's file hashes check: locked without any, they install unchecked.
_HASHED_SOURCES = frozenset({SourceKind.INDEX, SourceKind.URL, SourceKind.FILE})
# Sources a lock gives no file hashes for: what they install is named by their source identity.
_UNHASHED_SOURCES = frozenset({SourceKind.GIT, SourceKind.DIRECTORY})


def compare(
    ledger: Ledger, releases: Iterable[LockedRelease], rules: LockRules | None = None
) -> tuple[Finding, ...]:
    """Every way the locked releases differ from what the ledger trusts, gravest first per version.
    `rules`: the settings of what a lock with URLs and upload times shows offline (lockfacts.py)."""
    findings: set[Finding] = set()
    facts = None
    groups: dict[tuple[str, str], list[LockedRelease]] = {}
    for release in releases:
        groups.setdefault(release.key, []).append(release)
    siblings = _Siblings(ledger)
    for group in groups.values():
        trusted = ledger.get(group[0].name, group[0].version)
        for release in group:
            if trusted is not None:
                findings.update(_against_trusted(release, trusted))
            elif release.source_kind is not SourceKind.DIRECTORY:
                # A directory never trusted is the project's own code: nothing to swap. Once a version
                # is trusted, a directory in its place is a change (`_source_change`).
                findings.update(_new_version(release, siblings))
            elif siblings.of(release.name):
                findings.update(_directory_in_place(release, siblings.of(release.name)))
            if any(f.url is not None or f.upload_time is not None for f in release.files):
                from .lockfacts import LockRules, offline_findings

                facts = facts or rules or LockRules()
                findings.update(offline_findings(release, trusted, facts))
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


def changes_source(finding: Finding) -> bool:
    """A finding that a version now comes from another source (a directory, a git commit): keeping
    only its trusted files cannot undo that, so such a version can be approved or aborted, not rejected."""
    return finding.kind is FindingKind.CHANGED_FILE and names_a_source(finding.hash)


def untrusted_keys(findings: Iterable[Finding]) -> list[tuple[str, str]]:
    """The (project, version) pairs that need a decision, in report order (information needs none)."""
    seen: dict[tuple[str, str], None] = {}
    for finding in findings:
        if finding.blocking:
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


def _new_version(release: LockedRelease, siblings: _Siblings) -> Iterator[Finding]:
    spelled = f"locked as {release.locked_as}" if release.locked_as else None
    yield _finding(release, FindingKind.NEW_VERSION, hash=release.source_identity, detail=spelled)
    yield from _in_place_of_trusted(release, siblings)
    if _hashless(release):
        # Trusting it would record no bytes at all: whatever the index serves later would install.
        yield _finding(release, FindingKind.WEAK_HASH, detail=f"{_HASHLESS}: never trusted on first use")
    for locked in release.files:
        if not locked.hash.strong:
            yield _weak(release, locked)
        yield from _file_signs(release, locked, trusted=None)


def _directory_in_place(release: LockedRelease, trusted: list[str]) -> Iterator[Finding]:
    """A local directory for a project the ledger trusts from hashed files: whatever version it
    names (none, when its metadata is dynamic), it installs in place of the trusted one, and no hash
    pins it. Only a project never trusted otherwise is the project's own code."""
    yield _finding(release, FindingKind.NEW_VERSION, hash=release.source_identity)
    yield _finding(
        release,
        FindingKind.DIRECT_URL,
        filename=release.source_url,
        detail=f"a local directory that no hash pins, in place of the trusted {_listed(trusted)}",
    )


@dataclass(slots=True)
class _Siblings:
    """The versions the ledger trusts per project, indexed on first need: only a new version that
    may install in place of a trusted one asks."""

    ledger: Ledger
    _by_name: dict[str, list[str]] | None = None

    def of(self, name: str) -> list[str]:
        if self._by_name is None:
            self._by_name = {}
            for project, version in self.ledger.releases:
                self._by_name.setdefault(project, []).append(version)
        return self._by_name.get(name, [])


def _in_place_of_trusted(release: LockedRelease, siblings: _Siblings) -> Iterator[Finding]:
    """Warning signs that what looks like a first use may install instead of a trusted version:
    trusting it silently would let new bytes in under a version the ledger pins."""
    if "+" in release.version:  # canonical: a local label is the only "+"
        shadowed = _shadowed(release.version, siblings.of(release.name))
        if shadowed:
            public = release.version.partition("+")[0]
            yield _finding(
                release,
                FindingKind.LOCAL_VERSION,
                detail=f"local version: a pin =={public} takes it too, and pip and Poetry prefer it "
                f"over the trusted {_listed(shadowed)}",
            )
    if release.version_from_filename and siblings.of(release.name):
        filename = release.files[0].filename if release.files else None
        yield _finding(
            release,
            FindingKind.DIRECT_URL,
            filename=filename,
            detail=f"direct URL: pip installs the version its metadata names, not its file name "
            f"(read as {release.version}); the ledger trusts {release.name} "
            f"{_listed(siblings.of(release.name))}",
        )


def _shadowed(version: str, trusted: list[str]) -> list[str]:
    """The trusted versions with the same public version (`1+evil` and `1`, `1+a` and `1+b`)."""
    public = _public(version)
    if public is None:
        return []
    return sorted(v for v in trusted if v != version and _public(v) == public)


def _public(version: str) -> str | None:
    """The canonical public version (PEP 440: without its local label), None for no PEP 440 version."""
    from packaging.version import InvalidVersion, Version

    try:
        return canonical_version(Version(version).public)
    except (InvalidVersion, ValueError):  # ValueError: a number too long for int()
        return None


def _listed(versions: list[str]) -> str:
    from .filenames import version_key

    ordered = sorted(versions, key=version_key)
    if len(ordered) > 3:
        return f"{len(ordered)} versions, the latest {', '.join(ordered[-3:])}"
    return ", ".join(ordered)


def _weak(release: LockedRelease, locked: LockedFile) -> Finding:
    return _finding(
        release,
        FindingKind.WEAK_HASH,
        filename=locked.filename,
        hash=str(locked.hash),
        detail=f"{locked.hash.algorithm} can be forged; only sha256, sha384 or sha512 is trusted",
    )


_HASHLESS = "locked without any file hash (sha256, sha384 or sha512)"


def _hashless(release: LockedRelease) -> bool:
    return release.source_kind in _HASHED_SOURCES and not any(f.hash.strong for f in release.files)


def _against_trusted(release: LockedRelease, trusted: TrustedRelease) -> Iterator[Finding]:
    changed = _source_change(release, trusted)
    if changed is not None:
        yield changed
    if _hashless(release):
        # Whatever its source holds would install unchecked (an index's file, a local file put in
        # a pull request), whatever the ledger says of the trusted files (vanished or not).
        detail = f"{_HASHLESS}: whatever its source holds would be installed, unchecked"
        yield _finding(release, FindingKind.WEAK_HASH, detail=detail)
    view = _TrustedView.of(trusted)
    for locked in release.files:
        yield from _against_file(release, view, locked)


def _source_change(release: LockedRelease, trusted: TrustedRelease) -> Finding | None:
    """A git commit or a local directory that the ledger does not trust for this version: no hash
    pins what it installs, so it is as grave as other bytes under a trusted name."""
    now = release.source_identity
    # Masked on both sides: an older ledger may hold the password poetry.lock gave it.
    old = masked_source(trusted.source) if trusted.source is not None else None
    if now is None or now == old:
        return None
    if release.source_kind is SourceKind.GIT and old is not None and old.startswith("git+"):
        detail = "the git source points at another commit"
    else:
        place = "a git commit" if release.source_kind is SourceKind.GIT else "a local directory"
        detail = f"now {place} that no hash pins; trusted as {_trusted_as(trusted, old)}"
    return _finding(
        release,
        FindingKind.CHANGED_FILE,
        filename=release.source_url,
        hash=now,
        trusted_hash=old,
        detail=detail,
    )


def _trusted_as(trusted: TrustedRelease, source: str | None) -> str:
    if source is not None:
        return source
    return f"hashed files from {trusted.index}" if trusted.index else "hashed files"


@dataclass(slots=True)
class _TrustedView:
    """A trusted release indexed for lookups by filename, by file identity and by hash.

    Exact filenames answer the common case; the identity index (what an installer reads from a
    name) is built only when a locked filename is not trusted as spelled, since it costs a parse.
    """

    release: TrustedRelease
    by_name: dict[str, TrustedFile]
    unnamed: frozenset[FileHash]
    all_hashes: frozenset[FileHash]
    _by_identity: dict[FileIdentity, list[TrustedFile]] | None = None

    @classmethod
    def of(cls, trusted: TrustedRelease) -> _TrustedView:
        by_name = {f.filename: f for f in trusted.files if f.filename is not None}
        unnamed = frozenset(h for f in trusted.files if f.filename is None for h in f.hashes)
        return cls(trusted, by_name, unnamed, unnamed | {h for f in by_name.values() for h in f.hashes})

    def same_file(self, filename: str) -> list[TrustedFile]:
        """The trusted files an installer would take for the same distribution as `filename`."""
        exact = self.by_name.get(filename)
        if exact is not None:
            return [exact]
        from .filenames import file_identity

        if self._by_identity is None:
            self._by_identity = {}
            for name, known in self.by_name.items():
                self._by_identity.setdefault(file_identity(name, self.release.name), []).append(known)
        return self._by_identity.get(file_identity(filename, self.release.name), [])


def _against_file(release: LockedRelease, view: _TrustedView, locked: LockedFile) -> Iterator[Finding]:
    if not locked.hash.strong:
        yield _weak(release, locked)
        return
    if locked.filename is None:
        # A requirements file: any hash trusted for this version is acceptable bytes.
        if locked.hash not in view.all_hashes:
            yield _finding(release, FindingKind.NEW_FILE, hash=str(locked.hash))
        return
    known = view.same_file(locked.filename)
    if known:
        yield from _against_known_file(release, locked, known)
    elif locked.hash not in view.unnamed:
        yield _finding(release, FindingKind.NEW_FILE, filename=locked.filename, hash=str(locked.hash))
        yield from _file_signs(release, locked, view.release)


def _against_known_file(
    release: LockedRelease, locked: LockedFile, known: list[TrustedFile]
) -> Iterator[Finding]:
    """`known`: the trusted file(s) of the same identity (two only where old releases carried two
    sdist archives). Any of their hashes is the trusted content; anything else is other bytes.
    A size the lock records other than the trusted one is other bytes too, whatever the hash."""
    same_name = any(k.filename == locked.filename for k in known)
    spelled = "" if same_name else f" (trusted as {known[0].filename})"
    matching = [k for k in known if locked.hash in k.hashes]
    if matching:
        trusted_size = _other_size(locked, matching)
        if trusted_size is not None:
            yield _finding(
                release,
                FindingKind.CHANGED_FILE,
                filename=locked.filename,
                hash=str(locked.hash),
                trusted_hash=str(locked.hash),
                detail=f"the lock records {locked.size} bytes for this file, trusted at {trusted_size} "
                "bytes: the lock does not describe the trusted file" + spelled,
            )
        return
    sized = _other_size(locked, known)
    size_note = f"; {locked.size} bytes, trusted at {sized}" if sized is not None else ""
    same_algorithm = [h for k in known for h in k.hashes if h.algorithm == locked.hash.algorithm]
    if same_algorithm or sized is not None:
        vanished = all(k.vanished for k in known)
        trusted_hash = same_algorithm[0] if same_algorithm else known[0].hashes[0]
        yield _finding(
            release,
            FindingKind.CHANGED_FILE,
            filename=locked.filename,
            hash=str(locked.hash),
            trusted_hash=str(trusted_hash),
            detail="the same file now has other bytes"
            + (" (it had vanished)" if vanished else "")
            + size_note
            + spelled,
        )
    else:
        # An index that switched algorithms: only hashing the file itself can tell.
        first = known[0].hashes[0]
        yield _finding(
            release,
            FindingKind.NEW_FILE,
            filename=locked.filename,
            hash=str(locked.hash),
            trusted_hash=str(first),
            detail=f"a {locked.hash.algorithm} hash for a file trusted by {first.algorithm}; "
            "offline it cannot be told from a changed file" + spelled,
        )


def _other_size(locked: LockedFile, known: list[TrustedFile]) -> int | None:
    """The trusted size, when the lock records another for this file (None: same, or no size)."""
    if locked.size is None:
        return None
    sizes = sorted({k.size for k in known if k.size is not None})
    return sizes[0] if sizes and locked.size not in sizes else None


def _missing(group: list[LockedRelease], trusted: TrustedRelease) -> Iterator[Finding]:
    """Trusted files that no lock pinning this version lists (one version may sit in several locks)."""
    if all(r.source_kind in _UNHASHED_SOURCES for r in group):
        return  # no lock lists files for it: the source change is the finding, not each file gone
    names = {f.filename for r in group for f in r.files if f.filename is not None}
    hashes = {f.hash for r in group for f in r.files}
    lockfiles = ", ".join(sorted({r.lockfile for r in group}))
    identities: set[FileIdentity] | None = None
    for known in trusted.files:
        if known.vanished or known.filename in names or hashes.intersection(known.hashes):
            continue
        if known.filename is not None:
            from .filenames import file_identity

            if identities is None:
                identities = {file_identity(name, trusted.name) for name in names}
            if file_identity(known.filename, trusted.name) in identities:
                continue  # listed under another spelling: compared above
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
