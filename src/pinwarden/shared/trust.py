"""Recording trust: locked releases in, a new ledger out. Pure; the caller supplies the clock.

Recording is the only way a hash enters the ledger, and every caller reaches it through a
decision: `init` (adoption), first use of a never-seen version, or a person's approval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from .errors import PinwardenError
from .ledger import Key, Ledger
from .model import (
    FileHash,
    LockedRelease,
    SourceKind,
    TrustedFile,
    TrustedRelease,
    TrustEvent,
    TrustHow,
    hash_sort_key,
)


class ConflictingLocks(PinwardenError):
    """Two locks (or one lock twice) pin one file to different bytes."""


@dataclass(slots=True)
class _Slot:
    """A trusted file while it is being rebuilt; `present` says whether a lock still lists it."""

    filename: str | None
    hashes: set[FileHash]
    present: bool = False
    size: int | None = None


def record(
    ledger: Ledger,
    releases: Iterable[LockedRelease],
    *,
    how: TrustHow,
    at: str,
    reason: str | None = None,
    since: Mapping[Key, str] | None = None,
    served: Collection[FileHash] = (),
) -> Ledger:
    """Trust what the given releases hold now; releases of one version from several locks are merged.
    `served`: digests the index serves now beside the releases' own (an approval bound to some of
    them names only those): a trusted file among them is not gone.

    Files the ledger trusted that none of these locks lists any more are kept as vanished. A local
    directory, which no hash pins, is recorded only in place of trust the ledger already holds for
    that version (a person approving the change): a directory is never trusted on first use.
    `since` dates a version's trust earlier than `at` (adoption of a lock with a history).
    """
    grouped: dict[Key, list[LockedRelease]] = defaultdict(list)
    for release in releases:
        if release.source_kind is not SourceKind.DIRECTORY or ledger.get(*release.key) is not None:
            grouped[release.key].append(release)
    dates = {key: moment for key, moment in (since or {}).items() if moment < at}  # only ever earlier
    updated = [
        _record_one(
            ledger.get(*key),
            group,
            TrustEvent(how=how, at=at, reason=reason or None, since=dates.get(key)),
            served=served,
        )
        for key, group in grouped.items()
    ]
    return ledger.with_releases(updated)


def _record_one(
    trusted: TrustedRelease | None,
    group: list[LockedRelease],
    event: TrustEvent,
    *,
    served: Collection[FileHash] = (),
) -> TrustedRelease:
    first = group[0]
    _refuse_disagreement(group)
    slots = (
        [
            _Slot(f.filename, set(f.hashes), present=not set(f.hashes).isdisjoint(served), size=f.size)
            for f in trusted.files
        ]
        if trusted
        else []
    )
    # Named files first: an approved change may replace a named digest that a requirements file
    # (no filename) still pins, and that digest must stay trusted as an unnamed one.
    locked_files = [f for r in group for f in r.files if f.hash.strong]
    for locked in sorted(locked_files, key=lambda f: f.filename is None):
        _take(slots, locked.filename, locked.hash, locked.size)
    files = (
        TrustedFile(
            filename=slot.filename,
            hashes=tuple(sorted(slot.hashes, key=hash_sort_key)),
            vanished=not slot.present,
            size=slot.size,
        )
        for slot in slots
    )
    return TrustedRelease(
        name=first.name,
        version=first.version,
        files=tuple(sorted(files, key=TrustedFile.sort_key)),
        history=(*trusted.history, event) if trusted else (event,),
        index=_index_of(group, trusted),
        source=_source_of(group) or (trusted.source if trusted else None),
    )


def _refuse_disagreement(group: list[LockedRelease]) -> None:
    """Locks that give one file two digests of one algorithm cannot both be trusted."""
    seen: dict[tuple[str, str], tuple[FileHash, str]] = {}
    sizes: dict[str, tuple[int, str]] = {}
    for release in group:
        for locked in release.files:
            if locked.filename is None:
                continue
            if locked.size is not None:
                size = sizes.setdefault(locked.filename, (locked.size, release.lockfile))
                if size[0] != locked.size:
                    raise ConflictingLocks(
                        f"{release.name} {release.version}: {size[1]} and {release.lockfile} give "
                        f"{locked.filename} two sizes ({size[0]} and {locked.size} bytes); trust "
                        "neither until they agree"
                    )
            slot = (locked.filename, locked.hash.algorithm)
            earlier = seen.setdefault(slot, (locked.hash, release.lockfile))
            if earlier[0] != locked.hash:
                raise ConflictingLocks(
                    f"{release.name} {release.version}: {earlier[1]} and {release.lockfile} give "
                    f"{locked.filename} two {locked.hash.algorithm} hashes; trust neither until they agree"
                )


def _take(slots: list[_Slot], filename: str | None, digest: FileHash, size: int | None = None) -> None:
    holder = next((s for s in slots if digest in s.hashes), None)
    if filename is None:
        if holder is None:
            slots.append(_Slot(None, {digest}, present=True))
        else:
            holder.present = True
        return
    if holder is not None and holder.filename is None:
        slots.remove(holder)  # bytes first learnt from a requirements file now get their filename
    slot = next((s for s in slots if s.filename == filename), None)
    if slot is None:
        slots.append(_Slot(filename, {digest}, present=True, size=size))
        return
    # An approved change replaces the digest of the same algorithm; others stay beside it.
    replaced = digest not in slot.hashes
    slot.hashes = {old for old in slot.hashes if old.algorithm != digest.algorithm} | {digest}
    slot.present = True
    if size is not None:
        slot.size = size  # an approved lock's size for what is now the trusted bytes
    elif replaced:
        slot.size = None  # other bytes: the old size says nothing of them


def _source_of(group: list[LockedRelease]) -> str | None:
    return next((r.source_identity for r in group if r.source_identity is not None), None)


def _index_of(group: list[LockedRelease], trusted: TrustedRelease | None) -> str | None:
    # A password in an index URL never enters the ledger; another spelling of the trusted index
    # (`/simple` and `/simple/`, as poetry.lock, requirements files and uv.lock write PyPI) keeps its own.
    from .index.sources import redact_url, same_index

    for release in group:
        if release.source_kind is SourceKind.INDEX and release.source_url:
            if trusted is not None and same_index(trusted.index, release.source_url):
                return trusted.index
            return redact_url(release.source_url)
        if release.source_kind is SourceKind.INDEX:
            return trusted.index if trusted and trusted.index else None
    return trusted.index if trusted else None


def adopt_new(
    ledger: Ledger,
    releases: Iterable[LockedRelease],
    *,
    how: TrustHow,
    at: str,
    since: Mapping[Key, str] | None = None,
) -> Ledger:
    """Record only versions the ledger has never seen (init and first use never touch old trust)."""
    fresh = [r for r in releases if ledger.get(r.name, r.version) is None]
    return record(ledger, fresh, how=how, at=at, since=since)
