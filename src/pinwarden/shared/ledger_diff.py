"""Ledger x ledger -> what trust changed, for reviewing a pull request. Pure: no git, no files.

Additions are the normal life of a ledger (a new version, an approved new file). Anything that
takes trust away or swaps it (a hash removed or replaced, a file or version dropped, a source
replaced, the history of how a version was trusted rewritten) or adds a digest nobody verified is
what an attacker editing the lock and the ledger in the same pull request would need, so those
changes are flagged `removes_trust` and shown first. Files are compared as installers see them:
another spelling of a trusted file (`Demo-1.0.0-py3-none-any.whl`) is that file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from .ledger import Ledger
from .linkpath import Link
from .model import FileHash, NormalizedName, TrustedFile, TrustedRelease, TrustEvent, hash_sort_key

if TYPE_CHECKING:
    from .config import Settings


class ChangeKind(str, Enum):
    # trust added
    ADDED_VERSION = "added-version"
    ADDED_FILE = "added-file"
    ADDED_HASH = "added-hash"  # another algorithm's digest beside a trusted one: nobody verified it
    ADDED_UNNAMED = "added-unnamed"  # a digest without a filename for a version already trusted
    ADDED_FOREIGN = "added-foreign"  # a digest under a name that is not a file of the version
    TRUST_EVENT = "trust-event"  # a new init / first-use / approval entry
    VANISHED = "vanished"  # a trusted file left the lock; its trust is kept
    REAPPEARED = "reappeared"
    INDEX_CHANGED = "index-changed"
    # trust removed or replaced
    REMOVED_VERSION = "removed-version"
    REMOVED_FILE = "removed-file"
    REMOVED_HASH = "removed-hash"
    REPLACED_HASH = "replaced-hash"
    SOURCE_REPLACED = "source-replaced"  # a git commit, a local directory, or hashed files instead
    HISTORY_REWRITTEN = "history-rewritten"
    # A trusted file's recorded size replaced or dropped: the size is what shows a lock lying about it.
    SIZE_CHANGED = "size-changed"


REMOVING = frozenset(
    {
        # A digest of another algorithm is trusted as the same bytes; only a reviewer can tell whether
        # anyone hashed the file to get it (`approve --from-index` does), or someone typed it in.
        ChangeKind.ADDED_HASH,
        ChangeKind.ADDED_UNNAMED,
        ChangeKind.ADDED_FOREIGN,
        ChangeKind.REMOVED_VERSION,
        ChangeKind.REMOVED_FILE,
        ChangeKind.REMOVED_HASH,
        ChangeKind.REPLACED_HASH,
        ChangeKind.SOURCE_REPLACED,
        ChangeKind.HISTORY_REWRITTEN,
        ChangeKind.SIZE_CHANGED,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    kind: ChangeKind
    project: NormalizedName
    version: str
    filename: str | None = None
    old: str | None = None
    new: str | None = None
    detail: str | None = None

    @property
    def removes_trust(self) -> bool:
        return self.kind in REMOVING

    def as_json(self) -> dict[str, str | bool | None]:
        return {
            "kind": self.kind.value,
            "project": self.project,
            "version": self.version,
            "filename": self.filename,
            "old": self.old,
            "new": self.new,
            "detail": self.detail,
            "removes_trust": self.removes_trust,
        }


def diff(old: Ledger, new: Ledger) -> tuple[Change, ...]:
    """Every change from `old` to `new`, trust removals first, then by project and version."""
    changes: list[Change] = []
    for key in sorted(old.releases.keys() | new.releases.keys()):
        before, after = old.releases.get(key), new.releases.get(key)
        if before is None and after is not None:
            changes.extend(_added_version(after))
        elif after is None and before is not None:
            changes.append(_change(before, ChangeKind.REMOVED_VERSION, detail=f"{len(before.files)} files"))
        elif before is not None and after is not None:
            changes.extend(_release_changes(before, after))
    return tuple(sorted(changes, key=lambda c: (not c.removes_trust, c.project, c.version)))


def _change(release: TrustedRelease, kind: ChangeKind, **fields: str | None) -> Change:
    return Change(kind=kind, project=release.name, version=release.version, **fields)


def _hashes(trusted: TrustedFile) -> str:
    return ", ".join(str(h) for h in trusted.hashes)


def _added_version(release: TrustedRelease) -> Iterator[Change]:
    how = ", ".join(_event(e) for e in release.history)
    yield _change(release, ChangeKind.ADDED_VERSION, new=release.source, detail=how)
    for trusted in release.files:
        yield _change(release, ChangeKind.ADDED_FILE, filename=trusted.filename, new=_hashes(trusted))


def _event(event: TrustEvent) -> str:
    reason = f": {event.reason}" if event.reason else ""
    since = f" (dated from {event.since})" if event.since else ""
    return f"{event.how.value} at {event.at}{since}{reason}"


def _release_changes(before: TrustedRelease, after: TrustedRelease) -> Iterator[Change]:
    if after.history[: len(before.history)] != before.history:
        yield _change(
            before, ChangeKind.HISTORY_REWRITTEN, detail="earlier trust entries were edited or removed"
        )
    for event in after.history[len(before.history) :]:
        yield _change(after, ChangeKind.TRUST_EVENT, detail=_event(event))
    if before.source != after.source:
        # Either way: a git commit or a directory trusted in place of hashed files (or of another
        # one) installs what no hash pins; hashed files in its place are bytes nobody reviewed there.
        was, now = before.source or "hashed files only", after.source or "hashed files only"
        yield _change(
            after, ChangeKind.SOURCE_REPLACED, old=before.source, new=after.source, detail=f"{was} -> {now}"
        )
    if not _same_index(before.index, after.index):
        yield _change(after, ChangeKind.INDEX_CHANGED, old=before.index, new=after.index)
    yield from _file_changes(before, after)


def _same_index(before: str | None, after: str | None) -> bool:
    """Another spelling of one index (`/simple` or `/simple/`) is no change a reviewer weighs."""
    from .index.sources import same_index

    return same_index(before, after)


def _file_changes(before: TrustedRelease, after: TrustedRelease) -> Iterator[Change]:
    old_named = {f.filename: f for f in before.files if f.filename is not None}
    new_named = {f.filename: f for f in after.files if f.filename is not None}
    every_new_hash = {h for f in after.files for h in f.hashes}
    every_old_hash = {h for f in before.files for h in f.hashes}
    for filename, old_file in old_named.items():
        new_file = new_named.get(filename)
        if new_file is None:
            yield _change(after, ChangeKind.REMOVED_FILE, filename=filename, old=_hashes(old_file))
        else:
            yield from _same_file(after, old_file, new_file)
    added = [f for name, f in new_named.items() if name not in old_named]
    yield from _added_files(before, after, added, every_old_hash)
    # A hash learnt from a requirements file (no filename) may move to a named entry: still trusted.
    for old_file in (f for f in before.files if f.filename is None):
        for digest in old_file.hashes:
            if digest not in every_new_hash:
                yield _change(after, ChangeKind.REMOVED_HASH, old=str(digest))
        yield from _unnamed_vanished(after, old_file)
    for new_file in (f for f in after.files if f.filename is None):
        beside = _beside_trusted(after, new_file, every_old_hash)
        if beside is not None:
            yield from beside
            continue
        # A requirements file pins by digest alone: a new one for a version already trusted may
        # stand for any of its files, the trusted ones included (other bytes under a trusted name).
        detail = "no filename: for a version already trusted it may stand for any of its files"
        for digest in new_file.hashes:
            yield _change(after, ChangeKind.ADDED_UNNAMED, new=str(digest), detail=detail)


def _unnamed_vanished(after: TrustedRelease, old_file: TrustedFile) -> Iterator[Change]:
    """A digest without a filename marked vanished (or back): said as for a named file."""
    now = next((f for f in after.files if f.filename is None and set(old_file.hashes) & set(f.hashes)), None)
    if now is not None and now.vanished != old_file.vanished:
        kind = ChangeKind.VANISHED if now.vanished else ChangeKind.REAPPEARED
        yield _change(after, kind, old=_joined(old_file.hashes))


def _beside_trusted(
    release: TrustedRelease, entry: TrustedFile, trusted: set[FileHash]
) -> list[Change] | None:
    """An entry holding a trusted digest says its other digests name the same bytes: each is a digest
    nobody verified (ADDED_HASH). None when the entry holds no trusted digest."""
    fresh = [h for h in entry.hashes if h not in trusted]
    if len(fresh) == len(entry.hashes):
        return None
    known = _joined([h for h in entry.hashes if h in trusted])
    detail = f"beside {known}: the same bytes only if someone hashed the file"
    return [
        _change(release, ChangeKind.ADDED_HASH, filename=entry.filename, new=str(h), detail=detail)
        for h in fresh
    ]


def _added_files(
    before: TrustedRelease, after: TrustedRelease, added: list[TrustedFile], every_old_hash: set[FileHash]
) -> Iterator[Change]:
    """A new filename is a new file, unless an installer takes it for a trusted one (another
    spelling, another sdist archive): then other bytes under it replace trusted content."""
    if not added:
        return
    from .filenames import file_identity, not_of_release

    trusted: dict[object, list[TrustedFile]] = {}
    for old_file in before.files:
        if old_file.filename is not None:
            trusted.setdefault(file_identity(old_file.filename, before.name), []).append(old_file)
    for new_file in added:
        assert new_file.filename is not None
        beside = _beside_trusted(after, new_file, every_old_hash)
        if beside:  # trusted bytes that gained a filename are an addition; a digest beside them is not
            yield from beside
            continue
        same = trusted.get(file_identity(new_file.filename, after.name), [])
        known = {h for f in same for h in f.hashes}
        foreign = not_of_release(new_file.filename, after.name, after.version)
        if not same and foreign is not None:
            # No approval records such a name; a requirements file pins by digest alone, so its
            # digest may stand for any of the version's own files.
            detail = f"not a file of {after.name} {after.version} ({foreign})"
            yield _change(
                after,
                ChangeKind.ADDED_FOREIGN,
                filename=new_file.filename,
                new=_hashes(new_file),
                detail=detail,
            )
            continue
        if not same or known.issuperset(new_file.hashes):
            yield _change(after, ChangeKind.ADDED_FILE, filename=new_file.filename, new=_hashes(new_file))
            continue
        yield _change(
            after,
            ChangeKind.REPLACED_HASH,
            filename=new_file.filename,
            old=", ".join(str(h) for h in sorted(known, key=hash_sort_key)),
            new=_hashes(new_file),
            detail=f"another spelling of the trusted {', '.join(sorted(str(f.filename) for f in same))}",
        )


def _same_file(release: TrustedRelease, old: TrustedFile, new: TrustedFile) -> Iterator[Change]:
    """Digest by digest: a digest gone or come beside one that stays is still a change."""
    for algorithm in sorted({h.algorithm for h in (*old.hashes, *new.hashes)}):
        yield from _algorithm_changes(release, old, new, algorithm)
    if new.vanished != old.vanished:
        kind = ChangeKind.VANISHED if new.vanished else ChangeKind.REAPPEARED
        yield _change(release, kind, filename=old.filename)
    if old.size is not None and new.size != old.size:
        now = f"{new.size} bytes" if new.size is not None else "no size"
        yield _change(
            release, ChangeKind.SIZE_CHANGED, filename=old.filename, old=f"{old.size} bytes", new=now
        )


def _algorithm_changes(
    release: TrustedRelease, old: TrustedFile, new: TrustedFile, algorithm: str
) -> Iterator[Change]:
    name = old.filename
    was = sorted((h for h in old.hashes if h.algorithm == algorithm), key=hash_sort_key)
    now = sorted((h for h in new.hashes if h.algorithm == algorithm), key=hash_sort_key)
    gone = [h for h in was if h not in now]
    came = [h for h in now if h not in was]
    if came and not was:
        for digest in came:
            yield _change(
                release,
                ChangeKind.ADDED_HASH,
                filename=name,
                new=str(digest),
                detail=f"beside {_joined(old.hashes)}: the same bytes only if someone hashed the file",
            )
    elif came:
        # Another digest of an algorithm the file was trusted by: other bytes, whatever else stays.
        yield _change(
            release, ChangeKind.REPLACED_HASH, filename=name, old=_joined(gone or was), new=_joined(came)
        )
    else:
        for digest in gone:
            yield _change(release, ChangeKind.REMOVED_HASH, filename=name, old=str(digest))


def _joined(digests: Sequence[FileHash]) -> str:
    return ", ".join(str(h) for h in digests)


# ---------------------------------------------------------------------------------------------
# rendering

_WORDS = {
    ChangeKind.ADDED_VERSION: "new version",
    ChangeKind.ADDED_FILE: "new file",
    ChangeKind.ADDED_HASH: "HASH ADDED",
    ChangeKind.ADDED_UNNAMED: "UNNAMED HASH ADDED",
    ChangeKind.ADDED_FOREIGN: "NOT ITS FILE",
    ChangeKind.TRUST_EVENT: "trusted",
    ChangeKind.VANISHED: "vanished (trust kept)",
    ChangeKind.REAPPEARED: "listed again",
    ChangeKind.INDEX_CHANGED: "index",
    ChangeKind.REMOVED_VERSION: "VERSION REMOVED",
    ChangeKind.REMOVED_FILE: "FILE REMOVED",
    ChangeKind.REMOVED_HASH: "HASH REMOVED",
    ChangeKind.REPLACED_HASH: "HASH REPLACED",
    ChangeKind.SOURCE_REPLACED: "SOURCE REPLACED",
    ChangeKind.HISTORY_REWRITTEN: "HISTORY REWRITTEN",
    ChangeKind.SIZE_CHANGED: "SIZE CHANGED",
}


def _line(change: Change) -> str:
    parts = [f"{change.project} {change.version}", _WORDS[change.kind]]
    if change.filename:
        parts.append(change.filename)
    if change.kind is ChangeKind.SOURCE_REPLACED:
        pass  # the detail says both sides, hashed files included
    elif change.old and change.new:
        parts.append(f"{change.old} -> {change.new}")
    elif change.old or change.new:
        parts.append(change.old or change.new or "")
    if change.detail:
        parts.append(f"({change.detail})")
    return "  " + "  ".join(parts)


def diff_text(changes: Sequence[Change], *, ledger: str, base: str) -> str:
    if not changes:
        return f"pinwarden diff: {ledger}: no trust changed since {base}\n"
    removing = [c for c in changes if c.removes_trust]
    adding = [c for c in changes if not c.removes_trust]
    lines = [f"pinwarden diff: {ledger} since {base}", ""]
    if removing:
        lines += [
            "@" * 72,
            "@    TRUST REMOVED OR REPLACED: a reviewer must confirm each of these    @",
            "@" * 72,
            *(_line(c) for c in removing),
            "",
            "A hash removed or replaced in the ledger lets a lock hold other bytes under a trusted",
            "name. Unless the pull request explains each one, do not merge it.",
            "",
        ]
    if adding:
        lines += ["Trust added:", *(_line(c) for c in adding), ""]
    lines.append(f"{len(adding)} addition(s), {len(removing)} removal(s) or replacement(s)")
    return "\n".join(lines) + "\n"


def diff_json(changes: Sequence[Change], *, ledger: str, base: str) -> str:
    return json.dumps(
        {
            "ledger": ledger,
            "base": base,
            "removes_trust": any(c.removes_trust for c in changes),
            "changes": [c.as_json() for c in changes],
        },
        indent=2,
    )


# ---------------------------------------------------------------------------------------------
# Where the ledger is: a pull request that changes `[tool.pinwarden] ledger`, or the symlinks on the
# ledger's path, moves trust elsewhere


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerMove:
    """`[tool.pinwarden] ledger` at the base revision and now (None: not set), the symlinks the
    ledger's path followed on each side, and the files they lead to (relative to the repository).
    Any change is for a reviewer: the new place may hold trust nobody reviewed."""

    old_setting: str | None
    new_setting: str | None
    old_ledger: str
    new_ledger: str
    old_links: tuple[Link, ...] = ()
    new_links: tuple[Link, ...] = ()

    @property
    def setting_changed(self) -> bool:
        return self.old_setting != self.new_setting

    @property
    def links_changed(self) -> bool:
        return self.old_links != self.new_links

    def as_json(self) -> dict[str, str | bool | None]:
        return {
            "old_setting": self.old_setting,
            "new_setting": self.new_setting,
            "old_ledger": self.old_ledger,
            "new_ledger": self.new_ledger,
            "removes_trust": True,
        }

    def links_json(self) -> dict[str, object]:
        return {
            "old_links": [link.as_json() for link in self.old_links],
            "new_links": [link.as_json() for link in self.new_links],
            "old_ledger": self.old_ledger,
            "new_ledger": self.new_ledger,
            "removes_trust": True,
        }


def ledger_move(
    old_setting: str | None,
    new_setting: str | None,
    *,
    old_ledger: str,
    new_ledger: str,
    old_links: tuple[Link, ...] = (),
    new_links: tuple[Link, ...] = (),
) -> LedgerMove | None:
    """None when neither the setting nor the links changed. A change of spelling alone is shown
    too (it is cheap to confirm, and what a spelling resolves to may differ between machines):
    the same path with the same links leads to the same file, so only a change can move it."""
    move = LedgerMove(
        old_setting=old_setting,
        new_setting=new_setting,
        old_ledger=old_ledger,
        new_ledger=new_ledger,
        old_links=old_links,
        new_links=new_links,
    )
    return move if move.setting_changed or move.links_changed else None


def _setting_text(value: str | None) -> str:
    return "(not set)" if value is None else repr(value)


def _links_text(links: Sequence[Link]) -> str:
    return ", then ".join(map(str, links)) if links else "(none)"


def move_text(move: LedgerMove, *, base: str) -> str:
    why = " and ".join(
        [
            *(["[tool.pinwarden] ledger changed"] if move.setting_changed else []),
            *(["its symlinks changed"] if move.links_changed else []),
        ]
    )
    title = f"@    LEDGER MOVED: {why}; trust is kept elsewhere"
    lines = ["@" * 72, f"{title:<71}@" if len(title) < 71 else f"{title}   @", "@" * 72]
    if move.setting_changed:
        lines += [
            f"  setting at {base}: {_setting_text(move.old_setting)}",
            f"  setting now: {_setting_text(move.new_setting)}",
        ]
    if move.links_changed:
        lines += [
            f"  symlinks at {base}: {_links_text(move.old_links)}",
            f"  symlinks now: {_links_text(move.new_links)}",
        ]
    return "\n".join(
        [
            *lines,
            f"  compared: {move.old_ledger} at {base} with {move.new_ledger} now",
            "",
            "A ledger in a new place can hold trust nobody reviewed. Unless the pull request",
            "explains the move, do not merge it.",
            "",
            "",
        ]
    )


def with_move_json(report: str, move: LedgerMove | None) -> str:
    """diff_json's report with `ledger_setting` and `ledger_links` (null: unchanged); a move
    removes trust."""
    data = json.loads(report)
    data["ledger_setting"] = move.as_json() if move and move.setting_changed else None
    data["ledger_links"] = move.links_json() if move and move.links_changed else None
    data["removes_trust"] = bool(data["removes_trust"] or move)
    return json.dumps(data, indent=2)


# ---------------------------------------------------------------------------------------------
# How the guards work: a pull request that loosens `[tool.pinwarden]` lets the next change through

# (key in pyproject.toml, Settings attribute); `ledger` is a move, reported on its own.
_GUARD_SETTINGS = (
    ("exclude", "exclude"),
    ("first-use", "first_use"),
    ("late-upload-days", "late_upload_days"),
    ("sdist-installs", "sdist_installs"),
    ("file-hosts", "file_hosts"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingChange:
    """One guard setting at the base revision and now, as pinwarden reads it (defaults filled in)."""

    setting: str
    old: str | int | tuple[str, ...]
    new: str | int | tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        def plain(value: object) -> object:
            return list(value) if isinstance(value, tuple) else value

        return {"setting": self.setting, "old": plain(self.old), "new": plain(self.new)}


def settings_changes(old: Settings, new: Settings) -> tuple[SettingChange, ...]:
    """Every guard setting whose meaning changed; a default written out is no change, and the
    order of `exclude` patterns means nothing (any match excludes)."""
    changes = []
    for key, attribute in _GUARD_SETTINGS:
        before, after = getattr(old, attribute), getattr(new, attribute)
        same = set(before) == set(after) if isinstance(before, tuple) else before == after
        if not same:
            changes.append(SettingChange(setting=key, old=before, new=after))
    return tuple(changes)


def settings_text(changes: Sequence[SettingChange], *, base: str) -> str:
    if not changes:
        return ""
    lines = [
        "@" * 72,
        "@    GUARD SETTINGS CHANGED: [tool.pinwarden] guards differently now   @",
        "@" * 72,
        *(f"  {c.setting}: {_shown(c.old)} at {base} -> {_shown(c.new)} now" for c in changes),
        "",
        "A looser guard (first use trusted again, files excluded from checks, sdist installs",
        "allowed, a longer late-upload window, another file host) lets the next change in",
        "unreviewed. Unless the pull request explains each setting, do not merge it.",
        "",
        "",
    ]
    return "\n".join(lines)


def _shown(value: str | int | tuple[str, ...]) -> str:
    """As it would be written in pyproject.toml."""
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def with_settings_json(report: str, changes: Sequence[SettingChange]) -> str:
    """A diff report with `settings_changed` (empty: unchanged); any change needs a reviewer."""
    data = json.loads(report)
    data["settings_changed"] = [c.as_json() for c in changes]
    data["removes_trust"] = bool(data["removes_trust"] or changes)
    return json.dumps(data, indent=2)
