"""The ledger as a value, and its text form. No I/O here (see store.py for the file).

The text is a canonical, sorted TOML document, one line per file, so that a review shows exactly
which trust changed and two branches adding different projects merge without conflict:

    ledger-format = 1

    [projects.demo."1.0"]
    index = "https://pypi.org/simple/"
    trusted = [
      { how = "init", at = "2026-11-25T03:00:00Z", since = "2025-02-03T10:00:00Z" },
    ]
    files = [
      { file = "demo-1.0-py3-none-any.whl", hashes = ["sha256:..."], size = 9120 },
      { hashes = ["sha256:..."] },  # from a requirements file: no filename
    ]

A trust event's `since` (optional; UTC, written `YYYY-MM-DDTHH:MM:SSZ` after `at` on the event's
one line, so it merges like the rest) is the time the trust dates from when that is earlier than
when it was recorded: `init` of a lock with a git history dates a version from the commit that
first locked it. A ledger without it stays valid: the trust then dates from `at`.

A file's `size` (optional, bytes) is recorded when a lock that records sizes (uv.lock, pylock.toml)
was trusted; a lock naming another size for that file names other bytes. Older ledgers have none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import Collector
from .model import (
    FileHash,
    InvalidValue,
    NormalizedName,
    TrustedFile,
    TrustedRelease,
    TrustEvent,
    TrustHow,
    canonical_version,
    hash_sort_key,
    is_utc_second,
    normalize_name,
)
from .toml import key_path, load_toml, no_gc

FORMAT_VERSION = 1
HEADER = """\
# pinwarden ledger: every distribution file this project has trusted, by project and version.
# A hash here stays the only accepted content for its file, across every update; versions no
# longer locked stay too (like go.sum). Change it with `pinwarden approve`; review it like code.
"""

Key = tuple[NormalizedName, str]


@dataclass(frozen=True, slots=True)
class Ledger:
    """Every trusted release, keyed by (normalized name, version). Never mutated: edits copy."""

    releases: Mapping[Key, TrustedRelease] = field(default_factory=dict)

    def get(self, name: NormalizedName, version: str) -> TrustedRelease | None:
        """Any spelling of a version finds it: the ledger keys by the canonical one."""
        found = self.releases.get((name, version))
        return found if found is not None else self.releases.get((name, canonical_version(version)))

    def with_releases(self, releases: Iterable[TrustedRelease]) -> Ledger:
        merged = dict(self.releases)
        for release in releases:
            merged[release.key] = release
        return Ledger(merged)

    def projects(self) -> list[NormalizedName]:
        return sorted({name for name, _ in self.releases})

    def __len__(self) -> int:
        return len(self.releases)


# ---------------------------------------------------------------------------------------------
# ledger -> text


def dumps(ledger: Ledger) -> str:
    """Canonical text: the same ledger always gives the same bytes."""
    from .filenames import version_key

    def order(key: Key) -> tuple[str, tuple[int, Any]]:
        return (key[0], version_key(key[1]))

    parts = [HEADER, f"ledger-format = {FORMAT_VERSION}\n"]
    parts.extend(_dump_release(ledger.releases[key]) for key in sorted(ledger.releases, key=order))
    return "".join(parts)


def _quote(text: str) -> str:
    # A JSON string is a valid TOML basic string: same escapes, and non-ASCII kept as is.
    import json

    # JSON leaves DEL (U+007F) raw, which TOML forbids.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _dump_release(release: TrustedRelease) -> str:
    lines = ["", f"[projects.{key_path(release.name)}.{_quote(release.version)}]"]
    if release.index is not None:
        lines.append(f"index = {_quote(release.index)}")
    if release.source is not None:
        lines.append(f"source = {_quote(release.source)}")
    lines.append("trusted = [")
    lines.extend(f"  {_dump_event(event)}," for event in release.history)
    lines.append("]")
    if release.files:
        lines.append("files = [")
        lines.extend(f"  {_dump_file(f)}," for f in sorted(release.files, key=TrustedFile.sort_key))
        lines.append("]")
    else:
        lines.append("files = []")
    return "\n".join(lines) + "\n"


def _dump_event(event: TrustEvent) -> str:
    items = [f"how = {_quote(event.how.value)}", f"at = {_quote(event.at)}"]
    if event.since:
        items.append(f"since = {_quote(event.since)}")
    if event.reason:
        items.append(f"reason = {_quote(event.reason)}")
    return "{ " + ", ".join(items) + " }"


def _dump_file(trusted: TrustedFile) -> str:
    items = []
    if trusted.filename is not None:
        items.append(f"file = {_quote(trusted.filename)}")
    hashes = ", ".join(_quote(str(h)) for h in sorted(trusted.hashes, key=hash_sort_key))
    items.append(f"hashes = [{hashes}]")
    if trusted.size is not None:
        items.append(f"size = {trusted.size}")
    if trusted.vanished:
        items.append("vanished = true")
    return "{ " + ", ".join(items) + " }"


# ---------------------------------------------------------------------------------------------
# text -> ledger


def loads(text: str, source: str = "pinwarden-ledger.toml") -> Ledger:
    """Parse a ledger; every problem is reported with its key path (InputError)."""
    from .ledger_fast import fast_loads

    with no_gc():
        fast = fast_loads(text)
    return Ledger(fast) if fast is not None else loads_full(text, source)


def loads_full(text: str, source: str = "pinwarden-ledger.toml") -> Ledger:
    """The general path (any valid TOML spelling, and the error reports); `loads` tries the
    canonical fast path first, and tests hold the two to the same answers."""
    data = load_toml(text, source, "pinwarden ledger")
    problems = Collector()
    with no_gc():
        releases = list(_read_document(data, problems))
    problems.raise_if_any(source, "pinwarden ledger")
    return Ledger({r.key: r for r in releases})


def _read_document(data: dict[str, Any], problems: Collector) -> Iterator[TrustedRelease]:
    fmt = data.get("ledger-format")
    if type(fmt) is not int or fmt != FORMAT_VERSION:  # `true` and `1.0` compare equal to 1
        problems.add("ledger-format", f"expected {FORMAT_VERSION}, found {fmt!r}")
    for key in data:
        if key not in ("ledger-format", "projects"):
            problems.add(key_path(key), "unknown key")
    projects = data.get("projects", {})
    if not isinstance(projects, dict):
        problems.add("projects", "must be a table")
        return
    merged: dict[Key, TrustedRelease] = {}
    for release in _read_projects(projects, problems):
        earlier = merged.get(release.key)
        merged[release.key] = release if earlier is None else _merge_spellings(earlier, release, problems)
    yield from merged.values()


def _read_projects(projects: dict[str, Any], problems: Collector) -> Iterator[TrustedRelease]:
    for raw_name, versions in projects.items():
        where = f"projects.{key_path(raw_name)}"
        try:
            name = normalize_name(raw_name)
        except InvalidValue as exc:
            problems.add(where, str(exc))
            continue
        if name != raw_name:
            problems.add(where, f"project names are stored normalized ({name!r})")
            continue
        if not isinstance(versions, dict):
            problems.add(where, "must be a table of versions")
            continue
        for version, body in versions.items():
            release = _read_release(name, version, body, f"{where}.{_quote(version)}", problems)
            if release is not None:
                yield release


def _merge_spellings(a: TrustedRelease, b: TrustedRelease, problems: Collector) -> TrustedRelease:
    """Two spellings of one version (`1.0`, `1.0.0`) from an older ledger become one release.

    Their trust adds up; one file given two digests of one algorithm is an error, never resolved.
    """
    where = f"projects.{key_path(a.name)}.{_quote(a.version)}"
    if a.source != b.source and a.source is not None and b.source is not None:
        problems.add(where, f"two spellings of this version trust two sources: {a.source}, {b.source}")
    files: dict[str | None, TrustedFile] = {}
    unnamed: list[TrustedFile] = []
    for trusted in (*a.files, *b.files):
        if trusted.filename is None:
            unnamed.append(trusted)
            continue
        earlier = files.get(trusted.filename)
        merged = trusted if earlier is None else _merge_file(earlier, trusted, where, problems)
        files[trusted.filename] = merged
    known = {h for f in files.values() for h in f.hashes}
    unnamed = [f for f in dict.fromkeys(unnamed) if not known.issuperset(f.hashes)]
    return TrustedRelease(
        name=a.name,
        version=a.version,
        files=tuple(sorted((*files.values(), *unnamed), key=TrustedFile.sort_key)),
        history=tuple(
            sorted({*a.history, *b.history}, key=lambda e: (e.at, e.how.value, e.reason or "", e.since or ""))
        ),
        index=a.index if a.index is not None else b.index,
        source=a.source if a.source is not None else b.source,
    )


def _merge_file(a: TrustedFile, b: TrustedFile, where: str, problems: Collector) -> TrustedFile:
    by_algorithm = {h.algorithm: h for h in a.hashes}
    for digest in b.hashes:
        if by_algorithm.setdefault(digest.algorithm, digest) != digest:
            problems.add(
                where,
                f"two spellings of this version give {a.filename} two {digest.algorithm} hashes; "
                "trust neither until one is removed by hand",
            )
    if a.size is not None and b.size is not None and a.size != b.size:
        problems.add(where, f"two spellings of this version give {a.filename} two sizes; trust neither")
    hashes = tuple(sorted(by_algorithm.values(), key=hash_sort_key))
    size = a.size if a.size is not None else b.size
    return TrustedFile(filename=a.filename, hashes=hashes, vanished=a.vanished and b.vanished, size=size)


def _read_release(
    name: NormalizedName, version: str, body: Any, where: str, problems: Collector
) -> TrustedRelease | None:
    if not isinstance(body, dict):
        problems.add(where, "must be a table")
        return None
    before = len(problems.problems)
    for key in body:
        if key not in ("index", "source", "trusted", "files"):
            problems.add(f"{where}.{key_path(key)}", "unknown key")
    index = _optional_str(body, "index", where, problems)
    source = _optional_str(body, "source", where, problems)
    history = tuple(_read_list(body, "trusted", where, problems, _read_event))
    files = tuple(sorted(_read_list(body, "files", where, problems, _read_file), key=TrustedFile.sort_key))
    _refuse_repeated_files(files, f"{where}.files", problems)
    if not history:
        problems.add(f"{where}.trusted", "must record how the version was trusted")
    if len(problems.problems) > before:
        return None
    return TrustedRelease(
        name=name, version=version, files=files, history=history, index=index, source=source
    )


def _refuse_repeated_files(files: tuple[TrustedFile, ...], where: str, problems: Collector) -> None:
    """A filename listed twice gives one file two entries; readers keyed by filename would keep one."""
    named = [f.filename for f in files if f.filename is not None]
    for filename in sorted({n for n in named if named.count(n) > 1}):
        problems.add(where, f"{filename} is listed twice; one entry per file")


def _optional_str(body: dict[str, Any], key: str, where: str, problems: Collector) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        problems.add(f"{where}.{key}", "must be a string")
        return None
    return value


def _read_list(
    body: dict[str, Any],
    key: str,
    where: str,
    problems: Collector,
    read_item: Any,
) -> Iterator[Any]:
    items = body.get(key, [])
    if not isinstance(items, list):
        problems.add(f"{where}.{key}", "must be an array")
        return
    for i, item in enumerate(items):
        item_where = f"{where}.{key}[{i}]"
        if not isinstance(item, dict):
            problems.add(item_where, "must be an inline table")
            continue
        value = read_item(item, item_where, problems)
        if value is not None:
            yield value


def _read_event(item: dict[str, Any], where: str, problems: Collector) -> TrustEvent | None:
    try:
        how = TrustHow(item.get("how"))
    except ValueError:
        known = ", ".join(h.value for h in TrustHow)
        problems.add(f"{where}.how", f"must be one of {known}, found {item.get('how')!r}")
        return None
    at = item.get("at")
    reason = item.get("reason")
    if not isinstance(at, str) or not at:
        problems.add(f"{where}.at", "must be a timestamp string")
        return None
    if reason is not None and not isinstance(reason, str):
        problems.add(f"{where}.reason", "must be a string")
        return None
    since = item.get("since")
    if since is not None and not (isinstance(since, str) and is_utc_second(since)):
        problems.add(f"{where}.since", f"must be a UTC time written YYYY-MM-DDTHH:MM:SSZ, found {since!r}")
        return None
    for key in item:
        if key not in ("how", "at", "reason", "since"):
            problems.add(f"{where}.{key_path(key)}", "unknown key")
    return TrustEvent(how=how, at=at, reason=reason or None, since=since)


def _read_file(item: dict[str, Any], where: str, problems: Collector) -> TrustedFile | None:
    filename = item.get("file")
    raw_hashes = item.get("hashes")
    vanished = item.get("vanished", False)
    size = item.get("size")
    ok = True
    if filename is not None and (not isinstance(filename, str) or not _plain_filename(filename)):
        problems.add(f"{where}.file", f"{filename!r} is not a plain filename")
        ok = False
    if not isinstance(vanished, bool):
        problems.add(f"{where}.vanished", "must be true or false")
        ok = False
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        problems.add(f"{where}.size", f"must be a whole number of bytes, found {size!r}")
        ok = False
    if not isinstance(raw_hashes, list) or not raw_hashes:
        problems.add(f"{where}.hashes", "must be a non-empty array of algorithm:hex strings")
        return None
    hashes: list[FileHash] = []
    for i, raw in enumerate(raw_hashes):
        try:
            parsed = FileHash.parse(raw) if isinstance(raw, str) else None
        except InvalidValue as exc:
            problems.add(f"{where}.hashes[{i}]", str(exc))
            ok = False
            continue
        if parsed is None or not parsed.strong:
            problems.add(f"{where}.hashes[{i}]", f"{raw!r} is not a strong hash (sha256, sha384, sha512)")
            ok = False
            continue
        if any(h.algorithm == parsed.algorithm for h in hashes):
            # One file has one digest per algorithm: a second one means other bytes, and keeping
            # either would decide silently which bytes are trusted.
            problems.add(
                f"{where}.hashes[{i}]",
                f"a second {parsed.algorithm} hash for one file; trust neither until one is removed by hand",
            )
            ok = False
            continue
        hashes.append(parsed)
    for key in item:
        if key not in ("file", "hashes", "size", "vanished"):
            problems.add(f"{where}.{key_path(key)}", "unknown key")
            ok = False
    if not ok:
        return None
    return TrustedFile(
        filename=filename, hashes=tuple(sorted(hashes, key=hash_sort_key)), vanished=vanished, size=size
    )


def _plain_filename(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")
