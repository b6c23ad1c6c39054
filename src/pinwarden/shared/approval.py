"""What an approval from an index may record, judged against the ledger before anything is written. Pure.

An approve command is printed for the findings a person saw, and runs later against an index that
may serve something else by then. Two rules keep the approval to what was reviewed:
- bound: with `--hash` digests (the printed commands carry them), only the files with those digests
  are recorded, and every digest must still be served;
- a swap: a file the ledger trusts (by its identity, any spelling) that is now served with other
  bytes is the gravest finding, recorded only with `--replace`, never as a side effect.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from .compare import untrusted_keys
from .filenames import FileIdentity, file_identity
from .ledger import Ledger
from .model import (
    FileHash,
    Finding,
    FindingKind,
    InvalidValue,
    LockedFile,
    LockedRelease,
    NormalizedName,
    TrustedFile,
    TrustedRelease,
)

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Swap:
    """A trusted file served now with other bytes."""

    project: str
    version: str
    filename: str
    trusted: FileHash
    served: FileHash


@dataclass(frozen=True, slots=True)
class Judgement:
    """What may be recorded (`releases`), or why nothing may (`unserved`, `swaps` without --replace)."""

    releases: tuple[LockedRelease, ...]
    unserved: tuple[FileHash, ...]
    swaps: tuple[Swap, ...]
    # Versions named but left with no file by the binding: recording them would trust nothing.
    empty: tuple[str, ...] = ()
    # Bound digests served under more than one name: which file was reviewed cannot be told.
    ambiguous: tuple[tuple[FileHash, tuple[str, ...]], ...] = ()

    def refusal(self, *, replace_allowed: bool) -> list[str]:
        """One line per reason to record nothing; empty when the approval may go ahead."""
        lines = [
            f"pinwarden: {digest} was approved for review but is not served now; nothing was recorded"
            for digest in self.unserved
        ]
        lines += [
            f"pinwarden: {spec}: none of its files has a --hash given; nothing was recorded"
            for spec in self.empty
        ]
        lines += [
            f"pinwarden: {digest} is served under several names ({', '.join(names)}); which one was "
            "reviewed cannot be told; nothing was recorded"
            for digest, names in self.ambiguous
        ]
        if not replace_allowed:
            lines += [
                f"pinwarden: {s.project}=={s.version}: {s.filename} is trusted as {s.trusted} but is "
                f"served now as {s.served}: the content of a trusted file changed; nothing was recorded "
                "(if the replacement is expected, rerun with --replace)"
                for s in self.swaps
            ]
        return lines


def bound_digest(text: str) -> FileHash:
    """A `--hash` argument as the printed approve commands write it (pip's `sha256:hex`, or
    `sha256=hex`); InvalidValue when it is no strong digest."""
    digest = FileHash.parse(text.replace("=", ":", 1) if ":" not in text else text)
    if not digest.strong:
        raise InvalidValue(f"{text!r}: {digest.algorithm} does not identify bytes")
    return digest


def ledger_algorithms(ledger: Ledger, name: NormalizedName, version: str) -> frozenset[str]:
    """The algorithms the ledger trusts this version's files by: the download is hashed in each, so
    a file trusted only by sha512 is compared byte for byte too."""
    trusted = ledger.get(name, version)
    if trusted is None:
        return frozenset()
    return frozenset(h.algorithm for f in trusted.files for h in f.hashes if h.strong)


def judge(ledger: Ledger, releases: Sequence[LockedRelease], bound: Collection[FileHash]) -> Judgement:
    """Keep the bound files (all files when nothing is bound), then find the swaps among them."""
    kept = tuple(_bound(release, bound) for release in releases) if bound else tuple(releases)
    served = {f.hash for release in releases for f in release.files}
    unserved = tuple(sorted((d for d in bound if d not in served), key=str))
    swaps = tuple(s for release in kept for s in _swaps(ledger.get(release.name, release.version), release))
    empty = tuple(f"{r.name}=={r.version}" for r in kept if not r.files)
    return Judgement(
        releases=kept, unserved=unserved, swaps=swaps, empty=empty, ambiguous=_ambiguous(releases, bound)
    )


def _ambiguous(
    releases: Sequence[LockedRelease], bound: Collection[FileHash]
) -> tuple[tuple[FileHash, tuple[str, ...]], ...]:
    names: dict[FileHash, set[str]] = {}
    for release in releases:
        for f in release.files:
            if f.hash in bound and f.filename is not None:
                names.setdefault(f.hash, set()).add(f.filename)
    return tuple(
        (d, tuple(sorted(n))) for d, n in sorted(names.items(), key=lambda i: str(i[0])) if len(n) > 1
    )


def _bound(release: LockedRelease, bound: Collection[FileHash]) -> LockedRelease:
    """Every digest of a file one of whose digests was bound: they were computed from one download."""
    names = {f.filename for f in release.files if f.hash in bound}
    return replace(release, files=tuple(f for f in release.files if f.filename in names or f.hash in bound))


def _swaps(trusted: TrustedRelease | None, release: LockedRelease) -> Iterable[Swap]:
    if trusted is None:
        return
    named = [f for f in trusted.files if f.filename is not None]
    for filename, digests in _by_filename(release.files).items():
        identity = file_identity(filename, release.name)
        known = [k for k in named if k.filename == filename or _same(k, identity, release)]
        if known and not any(_same_bytes(k, digests) for k in known):
            # Fail closed: bytes not shown to be the trusted ones are a swap.
            yield Swap(release.name, release.version, filename, *_comparable(known, digests))


def _same(known: TrustedFile, identity: FileIdentity, release: LockedRelease) -> bool:
    return known.filename is not None and file_identity(known.filename, release.name) == identity


def _by_filename(files: Iterable[LockedFile]) -> dict[str, dict[str, FileHash]]:
    grouped: dict[str, dict[str, FileHash]] = {}
    for locked in files:
        if locked.filename is not None and locked.hash.strong:
            grouped.setdefault(locked.filename, {})[locked.hash.algorithm] = locked.hash
    return grouped


def _same_bytes(known: TrustedFile, digests: dict[str, FileHash]) -> bool:
    """Every strong digest the ledger holds for the file matches the download's digest of its
    algorithm; a digest of an algorithm that was not computed proves nothing either way."""
    strong = [h for h in known.hashes if h.strong]
    return bool(strong) and all(digests.get(h.algorithm) == h for h in strong)


def _comparable(known: list[TrustedFile], digests: dict[str, FileHash]) -> tuple[FileHash, FileHash]:
    """(trusted, served) digests to show, of one algorithm where one was computed."""
    for k in known:
        for h in k.hashes:
            served = digests.get(h.algorithm)
            if h.strong and served is not None and served != h:
                return h, served
    return known[0].hashes[0], next(iter(digests.values()))


def bindings(findings: Iterable[Finding], releases: Iterable[LockedRelease] = ()) -> dict[Key, str]:
    """The arguments that bind a printed approve command to what the report showed, per version:
    `--hash` for each file under review (every pinned file of a new version), and `--replace` when
    one of them is a trusted file with other bytes. A version with nothing to bind gets no entry."""
    findings = tuple(findings)
    pinned: dict[Key, set[FileHash]] = {}
    for release in releases:
        pinned.setdefault(release.key, set()).update(f.hash for f in release.files if f.hash.strong)
    result: dict[Key, str] = {}
    for key in untrusted_keys(findings):
        group = [f for f in findings if f.key == key]
        digests = {d for f in group if f.kind not in _UNBOUND for d in _digest(f.hash)}
        if any(f.kind is FindingKind.NEW_VERSION for f in group):
            digests |= pinned.get(key, set())
        if not digests:
            continue
        words = [w for d in sorted(digests, key=str) for w in ("--hash", str(d))]
        if any(f.kind is FindingKind.CHANGED_FILE and f.filename is not None for f in group):
            words += ["--replace", "--reason", '"WHY"']  # new bytes under a trusted name need a reason
        result[key] = " ".join(words)
    return result


# A new version's finding carries its source's identity, a missing file the digest no longer served.
_UNBOUND = frozenset({FindingKind.NEW_VERSION, FindingKind.MISSING_FILE})


def _digest(text: str | None) -> tuple[FileHash, ...]:
    try:
        digest = FileHash.parse(text) if text else None
    except InvalidValue:
        return ()
    return (digest,) if digest is not None and digest.strong else ()


def served_now(releases: Sequence[LockedRelease], *, bound: bool) -> frozenset[FileHash]:
    """The digests the index serves now, when an approval is bound to some of them (else none)."""
    return frozenset(f.hash for r in releases for f in r.files) if bound else frozenset()


def bound_changes(findings: Sequence[Finding], served: Collection[FileHash]) -> tuple[Finding, ...]:
    """What an approval changes: one bound to digests names only those, so a trusted file the index
    still serves is not gone (trust.record keeps it)."""
    return tuple(
        f
        for f in findings
        if not (
            f.kind is FindingKind.MISSING_FILE
            and f.trusted_hash is not None
            and _served(f.trusted_hash, served)
        )
    )


def _served(text: str, served: Collection[FileHash]) -> bool:
    try:
        return FileHash.parse(text) in served
    except InvalidValue:
        return False
