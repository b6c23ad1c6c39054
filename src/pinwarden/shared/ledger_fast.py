"""A reader for the ledger's canonical text only, several times faster than TOML plus validation.

`dumps` writes a narrow, line-oriented subset of TOML, and `check` reads the ledger on every
commit, so it pays to read that subset directly. The grammar here is strict: every value is
checked by the line's pattern as thoroughly as `ledger._read_document` checks it. Anything
outside it (a hand edit, an escape, a merge artefact, any error) makes this reader return None
and the caller takes the full path, which also reports the problems. Tests pin both paths to the
same result.
"""

from __future__ import annotations

import re

from .model import (
    FileHash,
    NormalizedName,
    TrustedFile,
    TrustedRelease,
    TrustEvent,
    TrustHow,
    canonical_version,
    hash_sort_key,
    is_utc_second,
)

_CHARS = r'[^"\\\x00-\x1f\x7f]'  # what a TOML basic string holds without escapes
_TEXT = '"(' + _CHARS + '*)"'
_HEADER = re.compile(r'^\[projects\.([a-z0-9]+(?:-[a-z0-9]+)*)\."([^"\\\x00-\x1f\x7f]+)"\]$')
_SCALAR = re.compile(r"^(index|source) = " + _TEXT + "$")
_EVENT = re.compile(
    r'^  \{ how = "(init|first-use|approval)", at = "(' + _CHARS + '+)"'
    r'(?:, since = "([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)")?'
    r"(?:, reason = " + _TEXT + r")? \},$"
)
_HASH = r'"(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|sha384:[0-9a-f]{96})"'
_FILE = re.compile(
    r'^  \{ (?:file = "([^"\\/\x00-\x1f\x7f]+)", )?hashes = \[(' + _HASH + "(?:, " + _HASH + r")*)\]"
    r"(?:, size = (0|[1-9][0-9]{0,17}))?(, vanished = true)? \},$"
)
_HOW = {how.value: how for how in TrustHow}

Key = tuple[NormalizedName, str]


class _Release:
    """A release while its lines are read."""

    __slots__ = ("events", "filenames", "files", "index", "name", "open_list", "seen", "source", "version")

    def __init__(self, name: str, version: str) -> None:
        self.name = NormalizedName(name)
        self.version = version
        self.index: str | None = None
        self.source: str | None = None
        self.events: list[TrustEvent] = []
        self.files: list[TrustedFile] = []
        self.filenames: set[str] = set()
        self.open_list: str | None = None
        self.seen: set[str] = set()

    def freeze(self) -> TrustedRelease | None:
        if not self.events or self.open_list is not None:
            return None
        return TrustedRelease(
            name=self.name,
            version=self.version,
            files=tuple(sorted(self.files, key=TrustedFile.sort_key)),
            history=tuple(self.events),
            index=self.index,
            source=self.source,
        )


def fast_loads(text: str) -> dict[Key, TrustedRelease] | None:
    """The releases of a canonical ledger, or None when the text is not canonical or not valid."""
    releases: dict[Key, TrustedRelease] = {}
    current: _Release | None = None
    format_seen = False
    for line in text.split("\n"):
        if current is not None and current.open_list is not None:
            if not _list_line(line, current):
                return None
            continue
        if not line or line.startswith("#"):
            continue
        if line == "ledger-format = 1" and not format_seen and current is None:
            format_seen = True
            continue
        header = _HEADER.match(line)
        if header:
            if not _close(current, releases):
                return None
            current = _Release(header.group(1), header.group(2))
            # Another spelling of a version (to merge) or a table declared twice: the full reader's job.
            canonical = canonical_version(current.version) == current.version
            if not canonical or (current.name, current.version) in releases:
                return None
            continue
        if current is None or not _body_line(line, current):
            return None
    if not format_seen or not _close(current, releases):
        return None
    return releases


def _close(current: _Release | None, releases: dict[Key, TrustedRelease]) -> bool:
    if current is None:
        return True
    frozen = current.freeze()
    if frozen is None:
        return False
    releases[frozen.key] = frozen
    return True


def _body_line(line: str, current: _Release) -> bool:
    for key in ("trusted", "files"):
        if line in (f"{key} = [", f"{key} = []"):
            if key in current.seen:
                return False
            current.seen.add(key)
            current.open_list = key if line.endswith("[") else None
            return True
    scalar = _SCALAR.match(line)
    if scalar is None or scalar.group(1) in current.seen:
        return False
    current.seen.add(scalar.group(1))
    setattr(current, scalar.group(1), scalar.group(2))
    return True


def _list_line(line: str, current: _Release) -> bool:
    if line == "]":
        current.open_list = None
        return True
    if current.open_list == "trusted":
        event = _EVENT.match(line)
        if event is None or (event.group(3) is not None and not is_utc_second(event.group(3))):
            return False
        current.events.append(
            TrustEvent(
                how=_HOW[event.group(1)],
                at=event.group(2),
                since=event.group(3),
                reason=event.group(4) or None,
            )
        )
        return True
    entry = _FILE.match(line)
    if entry is None or entry.group(1) in (".", ".."):
        return False
    hashes = [FileHash(*raw.strip('"').split(":")) for raw in entry.group(2).split(", ")]
    # Two digests of one algorithm, or a filename listed twice: the full reader refuses them.
    if len({h.algorithm for h in hashes}) != len(hashes) or entry.group(1) in current.filenames:
        return False
    if entry.group(1) is not None:
        current.filenames.add(entry.group(1))
    current.files.append(
        TrustedFile(
            filename=entry.group(1),
            hashes=tuple(sorted(hashes, key=hash_sort_key)),
            vanished=entry.group(4) is not None,
            size=int(entry.group(3)) if entry.group(3) is not None else None,
        )
    )
    return True
