"""Recording trust: locked releases in, a new ledger out. Pure; the caller supplies the clock.

Recording is the only way a hash enters the ledger, and every caller reaches it through a
decision: `init` (adoption), first use of a never-seen version, or a person's approval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

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

PYPI_SIMPLE = "https://pypi.org/simple/"


@dataclass(frozen=True, slots=True)
class _Entry:
    """A trusted file while it is being rebuilt: its hashes and whether this lock still lists it."""

    hashes: frozenset[FileHash]
    present: bool
    vanished: bool


def record(
    ledger: Ledger,
    releases: Iterable[LockedRelease],
    *,
    how: TrustHow,
    at: str,
    reason: str | None = None,
) -> Ledger:
    """Trust what the given releases hold now; releases of one version from several locks are merged.

    Files the ledger trusted that none of these locks lists any more are kept as vanished.
    """
    grouped: dict[Key, list[LockedRelease]] = defaultdict(list)
    for release in releases:
        if release.source_kind is not SourceKind.DIRECTORY:
            grouped[release.key].append(release)
    event = TrustEvent(how=how, at=at, reason=reason)
    updated = [_record_one(ledger.get(*key), group, event) for key, group in grouped.items()]
    return ledger.with_releases(updated)


def _record_one(trusted: TrustedRelease | None, group: list[LockedRelease], event: TrustEvent) -> TrustedRelease:
    first = group[0]
    named: dict[str, _Entry] = {}
    unnamed: dict[FileHash, _Entry] = {}
    for known in trusted.files if trusted else ():
        entry = _Entry(frozenset(known.hashes), present=False, vanished=known.vanished)
        if known.filename is None:
            unnamed[known.hashes[0]] = entry
        else:
            named[known.filename] = entry
    for release in group:
        for locked in release.files:
            if locked.hash.strong:
                _take(named, unnamed, locked.filename, locked.hash)
    files = [_finish(name, entry) for name, entry in named.items()]
    files += [_finish(None, entry) for entry in unnamed.values()]
    history = (*trusted.history, event) if trusted else (event,)
    return TrustedRelease(
        name=first.name,
        version=first.version,
        files=tuple(sorted(files, key=TrustedFile.sort_key)),
        history=history,
        index=_index_of(group, trusted),
        source=first.source_identity if first.source_identity else (trusted.source if trusted else None),
    )


def _take(named: dict[str, _Entry], unnamed: dict[FileHash, _Entry], filename: str | None, h: FileHash) -> None:
    if filename is None:
        for key, entry in [*named.items(), *unnamed.items()]:
            if h in entry.hashes:
                _mark_present(named, unnamed, key, entry)
                return
        unnamed[h] = _Entry(frozenset({h}), present=True, vanished=False)
        return
    # Bytes first learnt without a name (requirements file) now get their filename.
    for key, entry in list(unnamed.items()):
        if h in entry.hashes:
            del unnamed[key]
            named[filename] = _Entry(entry.hashes, present=True, vanished=False)
            return
    entry = named.get(filename)
    if entry is None:
        named[filename] = _Entry(frozenset({h}), present=True, vanished=False)
        return
    # An approved change replaces the digest of the same algorithm; others stay beside it.
    kept = {old for old in entry.hashes if old.algorithm != h.algorithm}
    named[filename] = _Entry(frozenset({*kept, h}), present=True, vanished=False)


def _mark_present(
    named: dict[str, _Entry], unnamed: dict[FileHash, _Entry], key: str | FileHash, entry: _Entry
) -> None:
    updated = _Entry(entry.hashes, present=True, vanished=False)
    if isinstance(key, str):
        named[key] = updated
    else:
        unnamed[key] = updated


def _finish(filename: str | None, entry: _Entry) -> TrustedFile:
    return TrustedFile(
        filename=filename,
        hashes=tuple(sorted(entry.hashes, key=hash_sort_key)),
        vanished=not entry.present,
    )


def _index_of(group: list[LockedRelease], trusted: TrustedRelease | None) -> str | None:
    for release in group:
        if release.source_kind is SourceKind.INDEX:
            return release.source_url or (trusted.index if trusted and trusted.index else None)
    return trusted.index if trusted else None


def adopt_new(ledger: Ledger, releases: Iterable[LockedRelease], *, how: TrustHow, at: str) -> Ledger:
    """Record only versions the ledger has never seen (init and first use never touch old trust)."""
    fresh = [r for r in releases if ledger.get(r.name, r.version) is None]
    return record(ledger, fresh, how=how, at=at)
