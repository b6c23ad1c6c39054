"""Adoption with history: when did the trust `init` records begin?

A lock adopted today was written earlier, and the index may have added files to its versions since
(wrapt 1.14.1's cp311 wheels came 523 days after the release). Dating each version's trust from
the commit that first locked it lets the first audit report what was uploaded after that instead
of recording it as seen. The date only ever makes the audit more cautious: a file uploaded earlier
is still never trusted, only not reported on that first look.

Where the date comes from, per lock file:
- the lock is committed in git: each version from the earliest commit whose lock holds it (renames
  followed; the earlier of author and committer time). A version only the working copy holds
  (a dirty or untracked lock) dates from now;
- no git work tree (or no git): the lock file's modification time;
- `init --trusted-since DATE`: that date, for every version, whatever git says.

Old revisions of a poetry.lock or a requirements file are read leniently (project and version
only, no validation); old revisions of a uv.lock or pylock.toml by the format's own reader, so
their versions are keyed as the current lock's are (a pylock.toml package without a version takes
its files'). Either way a revision that cannot be read dates nothing, which leaves
a later date, never a wrong trust.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .ledger import Key
from .model import InvalidValue, LockFile, canonical_version, normalize_name

_UTC = "%Y-%m-%dT%H:%M:%SZ"


# ---------------------------------------------------------------------------------------------
# Pure: which versions a lock's text names, and when each first appeared


_PACKAGE_KEY = re.compile(r'^(name|version)\s*=\s*"([^"\\]+)"\s*$')
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([A-Za-z0-9._+!-]+)")


# The formats read by their own reader: their keys depend on more than a `name = version` line.
_READ_FORMATS = ("uv.lock", "pylock.toml")


def lock_versions(data: bytes, lock_format: str) -> frozenset[Key]:
    """The (project, version) pairs a lock's text names; nothing else is read."""
    if lock_format in _READ_FORMATS:
        return _read_versions(data, lock_format)
    text = data.decode("utf-8", "replace")
    pairs = _poetry_pairs(text) if lock_format == "poetry.lock" else _pinned_pairs(text)
    keys = set()
    for name, version in pairs:
        try:
            keys.add((normalize_name(name), canonical_version(version)))
        except InvalidValue:
            continue
    return frozenset(keys)


def _read_versions(data: bytes, lock_format: str) -> frozenset[Key]:
    """The keys the format's reader gives, as for the current lock; none for a revision it refuses."""
    from .errors import PinwardenError
    from .locks import parse_lock_bytes

    name = "uv.lock" if lock_format == "uv.lock" else "pylock.toml"  # the reader, whatever the rename
    try:
        lock = parse_lock_bytes(data, f"(an old {name})", name=name)
    except PinwardenError:  # InputError, the readers' only error; any other refusal alike
        return frozenset()
    return frozenset(r.key for r in lock.releases)


def _poetry_pairs(text: str) -> Iterable[tuple[str, str]]:
    found: dict[str, str] = {}
    in_package = False
    for line in text.splitlines():
        if line.startswith("["):
            if "name" in found and "version" in found:
                yield found["name"], found["version"]
            found, in_package = {}, line.strip() == "[[package]]"
            continue
        match = _PACKAGE_KEY.match(line) if in_package else None
        if match:
            found.setdefault(match.group(1), match.group(2))
    if "name" in found and "version" in found:
        yield found["name"], found["version"]


def _pinned_pairs(text: str) -> Iterable[tuple[str, str]]:
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            yield match.group(1), match.group(2)


def first_locked(history: Iterable[tuple[int, frozenset[Key]]]) -> dict[Key, int]:
    """The earliest time (epoch seconds) each version appears in any revision of a lock."""
    first: dict[Key, int] = {}
    for moment, keys in history:
        for key in keys:
            if key not in first or moment < first[key]:
                first[key] = moment
    return first


def utc_second(epoch: float) -> str | None:
    """The ledger's spelling of a moment; None for one no date can hold (a commit's time is
    whatever its author wrote: year 11476 or before year 1 dates nothing)."""
    try:
        moment = datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime(_UTC) if moment.year >= 1000 else None


def parse_trusted_since(text: str) -> str:
    """`--trusted-since`: a date (`2024-03-01`, midnight UTC) or a time with its zone
    (`2024-03-01T12:00:00Z`, `...+02:00`), as the ledger's UTC second. InvalidValue otherwise."""
    shape = "give YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (or with a +HH:MM offset)"
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            moment = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})", text):
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            raise ValueError
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(timezone.utc).strftime(_UTC)
    except (ValueError, OverflowError):
        raise InvalidValue(f"{text!r} is not a date or time: {shape}") from None


# ---------------------------------------------------------------------------------------------
# The edge: git, the file system, the person's date


@dataclass(frozen=True, slots=True)
class Dating:
    """When the trust of each adopted version begins (missing: now), and where that came from."""

    since: Mapping[Key, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # per lock: "poetry.lock: git history (12 commits)", ...

    def summary(self) -> str | None:
        if not self.since:
            return None
        dates = sorted(self.since.values())
        span = dates[0][:10] if dates[0][:10] == dates[-1][:10] else f"{dates[0][:10]} to {dates[-1][:10]}"
        return f"trust of {len(dates)} versions dated {span} ({'; '.join(self.sources)})"


def date_adoption(locks: Sequence[LockFile], *, trusted_since: str | None, now: str) -> Dating:
    """Each version's `since` for `init` of these locks (paths relative to the working directory).
    A date that is not earlier than `now` (a clock ahead, a commit from the future) dates nothing."""
    if trusted_since is not None:
        keys = {r.key for lock in locks for r in lock.releases}
        return _earlier(dict.fromkeys(keys, trusted_since), now, ("--trusted-since",))
    since: dict[Key, str] = {}
    sources = []
    for lock in locks:
        found, source = _date_lock(lock)
        sources.append(f"{lock.path}: {source}")
        for key, moment in found.items():
            if key not in since or moment < since[key]:
                since[key] = moment
    return _earlier(since, now, tuple(sources))


def _earlier(since: Mapping[Key, str], now: str, sources: tuple[str, ...]) -> Dating:
    return Dating(since={k: v for k, v in since.items() if v < now}, sources=sources)


def _date_lock(lock: LockFile) -> tuple[dict[Key, str], str]:
    from .git import file_history

    path = Path(lock.path)
    locked = {r.key for r in lock.releases}
    history = file_history(path, lambda data: lock_versions(data, lock.format))
    if history is None:
        try:
            mtime = utc_second(path.stat().st_mtime)
        except OSError:
            mtime = None
        if mtime is None:
            return {}, "no git history, no modification time"
        return dict.fromkeys(locked, mtime), f"no git history; its modification time {mtime}"
    if not history:
        return {}, "not committed in git: dated now"
    first = first_locked(history)
    found = {key: moment for key in locked if key in first and (moment := utc_second(first[key]))}
    left = len(locked) - len(found)
    now_note = f"; {left} only in the uncommitted lock, dated now" if left else ""
    commits = f"{len(history)} commit" + ("" if len(history) == 1 else "s")
    return found, f"git history ({commits}{now_note})"
