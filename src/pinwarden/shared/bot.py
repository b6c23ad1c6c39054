"""The dependency-bot gate: may a bot's pull request record first use of its new versions? Pure.

`pinwarden accept-first-use` runs on a pull request that a dependency bot (Dependabot, Renovate)
opened to bump versions. Anyone who can open a pull request that looks like a bot's reaches this
code, so it records nothing unless every rule holds, and reports every rule that does not:

1. the pull request leaves trust as it is: the ledger's bytes, its place (setting and symlinks) and
   `[tool.pinwarden]` are those of the base revision (the edge compares them with git);
2. nothing trusted changed: `compare` finds nothing but `new-version` (a new file, changed bytes, a
   build tag, a local version, a direct URL, a weak hash... are a person's to judge), every new
   version comes from an index (no git, URL or file source), and `first-use = "trust"`;
3. each new version is looked up only on indexes its lock already named at the base revision (a
   pull request that adds or swaps an index would choose who vouches for the bytes), and where and
   how the installer fetches is as it was there (`source_reasons`, `uv_setting_reasons`; the edge
   compares requirements options and Poetry's sources);
4. the index shows no warning sign for it (audit.signs_for_review: late upload, late sdist, yank,
   shape change, recreated project), and has the project at all;
5. every hash the lock holds for it is the digest of bytes pinwarden downloaded from those indexes
   and hashed itself (`Download`s, computed by the edge); a page whose listed hash is not what its
   bytes give is refused outright. What an index lists is a claim, never copied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import (
    FileHash,
    Finding,
    FindingKind,
    LockedFile,
    LockedRelease,
    LockFile,
    SourceKind,
    directory_path,
)

if TYPE_CHECKING:
    from .index.simple import IndexFile

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that does not hold; `subject` is `NAME VERSION`, a file, or the project as a whole."""

    rule: str  # "pull request", "trusted", "index", "warning sign", "hash"
    subject: str
    detail: str

    def line(self) -> str:
        return f"  {self.rule}: {self.subject}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Download:
    """One served file hashed by pinwarden: the page's claims and the digests of the bytes."""

    file: IndexFile
    index: str
    computed: Mapping[str, FileHash]


def new_versions(findings: Sequence[Finding], releases: Iterable[LockedRelease]) -> list[LockedRelease]:
    """The locked releases the findings call new versions, in lock order."""
    keys = {f.key for f in findings if f.kind is FindingKind.NEW_VERSION}
    return [r for r in releases if r.key in keys]


def trust_reasons(
    findings: Sequence[Finding], releases: Sequence[LockedRelease], first_use: str
) -> list[Reason]:
    """Rule 2: only never-trusted versions from an index, and a project that trusts first use."""
    reasons = [
        Reason("trusted", f"{f.project} {f.version}", _finding_text(f))
        for f in findings
        if f.kind is not FindingKind.NEW_VERSION
    ]
    for release in new_versions(findings, releases):
        if release.source_kind is not SourceKind.INDEX:
            reasons.append(
                Reason(
                    "trusted",
                    f"{release.name} {release.version}",
                    f"locked from a {release.source_kind.value} source: no index serves bytes to verify",
                )
            )
    if first_use != "trust" and findings:
        reasons.append(
            Reason(
                "trusted",
                "[tool.pinwarden] first-use",
                f"is {first_use!r}: this project has a person approve every new version",
            )
        )
    return reasons


def _finding_text(finding: Finding) -> str:
    where = f" {finding.filename}" if finding.filename else (f" {finding.hash}" if finding.hash else "")
    return f"{finding.kind.value}{where}" + (f": {finding.detail}" if finding.detail else "")


def index_reasons(
    release: LockedRelease, indexes: Sequence[str], base_indexes: Iterable[str] | None
) -> list[Reason]:
    """Rule 3: `indexes` (where the release is looked up now) within those its lock named at the
    base revision; None: the lock did not exist there."""
    subject = f"{release.name} {release.version}"
    if base_indexes is None:
        return [Reason("index", subject, f"{release.lockfile} is new in this pull request")]
    known = {_plain(url) for url in base_indexes}
    return [
        Reason("index", subject, f"{url}: an index {release.lockfile} did not name at the base revision")
        for url in indexes
        if _plain(url) not in known
    ]


def _plain(url: str) -> str:
    return url.rstrip("/")


def sign_reasons(signs: Iterable[Finding]) -> list[Reason]:
    """Rule 4: every warning sign the index shows is a person's to judge."""
    return [Reason("warning sign", f"{f.project} {f.version}", _finding_text(f)) for f in signs]


def files_to_hash(
    release: LockedRelease, served: Sequence[tuple[IndexFile, str]]
) -> list[tuple[IndexFile, str]]:
    """Rule 5's downloads: every served copy of a file the lock names, and for a hash without a
    filename (a requirements file) every file of the version whose page does not rule it out (a
    file that lists another digest of the same algorithm is still downloaded when the page lists
    no file with this one: the page may lie)."""
    wanted: dict[tuple[str, str], tuple[IndexFile, str]] = {}
    for locked in release.files:
        if locked.filename is not None:
            for file, index in served:
                if file.filename == locked.filename:
                    wanted.setdefault((file.url, index), (file, index))
            continue
        claimed = [(f, i) for f, i in served if f.hash(locked.hash.algorithm) == locked.hash]
        for file, index in claimed or list(served):
            wanted.setdefault((file.url, index), (file, index))
    return list(wanted.values())


def algorithms_for(release: LockedRelease, file: IndexFile) -> list[str]:
    """The digests one download must give: the lock's algorithms, and every one the page lists."""
    return sorted({f.hash.algorithm for f in release.files} | {h.algorithm for h in file.hashes})


def hash_reasons(release: LockedRelease, downloads: Sequence[Download]) -> list[Reason]:
    """Rule 5: each locked hash is the digest of downloaded bytes (of every copy served under the
    locked filename), and no page lists a hash its bytes do not give."""
    subject = f"{release.name} {release.version}"
    reasons: list[Reason] = []
    for download in downloads:
        for claim in download.file.hashes:
            got = download.computed.get(claim.algorithm)
            if got is not None and got != claim:
                reasons.append(
                    Reason(
                        "hash",
                        download.file.filename,
                        f"{download.index} lists {claim} but its bytes give {got}",
                    )
                )
    for locked in release.files:
        reasons.extend(_locked_hash_reasons(subject, locked, downloads))
    return reasons


def _locked_hash_reasons(subject: str, locked: LockedFile, downloads: Sequence[Download]) -> list[Reason]:
    digest = locked.hash
    name = locked.filename or f"{subject} (hash without a filename)"
    if locked.filename is None:
        if any(d.computed.get(digest.algorithm) == digest for d in downloads):
            return []
        return [Reason("hash", name, f"{digest}: no file the index serves for this version has these bytes")]
    copies = [d for d in downloads if d.file.filename == locked.filename]
    if not copies:
        return [Reason("hash", name, "the index does not serve this file: its hash cannot be verified")]
    return [
        Reason(
            "hash",
            name,
            f"locked as {digest} but {d.index} serves bytes with {d.computed.get(digest.algorithm)}",
        )
        for d in copies
        if d.computed.get(digest.algorithm) != digest
    ]


# ---------------------------------------------------------------------------------------------
# Rule 3, the installer's side, for locks that name each package's index and each file's URL
# (uv.lock, pylock.toml): the lock says where every file comes from, so a pull request may change
# that only by a person's review, even for files whose hashes would verify.

_RULE = "pull request"
NEW_FETCH_FORMATS = ("uv.lock", "pylock.toml")


def source_reasons(lock: LockFile, old: LockFile | None, base: str) -> list[Reason]:
    """What `lock` fetches from that `old` (the same lock at the base revision) did not: a package
    fetched from another index or source, an index or a file host the base lock never named, a
    file of a package served from another host. One reason per change."""
    if old is None:
        return [
            Reason(_RULE, lock.path, f"is new since {base}: where its files come from was never reviewed")
        ]
    moved: set[str] = set()
    reasons = _move_reasons(lock, old, moved, base)
    reasons += _index_reasons(lock, old, moved, base)
    return reasons + _host_reasons(lock, old, moved, base)


def _places(lock: LockFile) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for release in lock.releases:
        found.setdefault(release.name, set()).add(_where(release))
    return found


def _move_reasons(lock: LockFile, old: LockFile, moved: set[str], base: str) -> list[Reason]:
    """A package of the base lock fetched from somewhere else now (any version)."""
    before = _places(old)
    reasons = []
    for name, places in _places(lock).items():
        was = before.get(name)
        if was is not None and not places <= was:
            moved.add(name)
            now_text, was_text = ", ".join(sorted(places - was)), ", ".join(sorted(was))
            reasons.append(
                Reason(_RULE, f"{lock.path}: {name}", f"fetched from {now_text}; at {base} from {was_text}")
            )
    return reasons


def _index_reasons(lock: LockFile, old: LockFile, moved: set[str], base: str) -> list[Reason]:
    """An index the base lock did not name (for packages new to the lock)."""
    known = {_index(r.source_url) for r in old.releases if _index_named(r)}
    novel: dict[str, list[str]] = {}
    for release in lock.releases:
        if _index_named(release) and release.name not in moved and _index(release.source_url) not in known:
            novel.setdefault(_index(release.source_url), []).append(release.name)
    reasons = []
    for index, names in sorted(novel.items()):
        moved.update(names)
        more = f" and {len(set(names)) - 1} more" if len(set(names)) > 1 else ""
        reasons.append(
            Reason(
                _RULE,
                lock.path,
                f"names the index {index} (for {names[0]}{more}), which it did not at {base}",
            )
        )
    return reasons


def _host_reasons(lock: LockFile, old: LockFile, moved: set[str], base: str) -> list[Reason]:
    hosts = {_origin(f.url) for r in old.releases for f in r.files if f.url}
    was = {(r.name, f.filename): _origin(f.url) for r in old.releases for f in r.files if f.url}
    found: dict[str, str] = {}  # a new origin -> its first file, in lock order
    for release in lock.releases:
        if release.name in moved:
            continue  # said once, as the package's move
        for file in release.files:
            if file.url is None:
                continue
            origin = _origin(file.url)
            if origin not in hosts or was.get((release.name, file.filename), origin) != origin:
                found.setdefault(origin, file.filename or file.url)
    return [
        Reason(_RULE, f"{lock.path}: {filename}", f"fetched from {origin}, a host it was not at {base}")
        for origin, filename in found.items()
    ]


def _index_named(release: LockedRelease) -> bool:
    return release.source_kind is SourceKind.INDEX and release.source_url is not None


def _index(url: str | None) -> str:
    from .index.sources import index_identity

    return index_identity(url or "")


def _where(release: LockedRelease) -> str:
    """Where the installer fetches a package from, one spelling per place (any version)."""
    if release.source_kind is SourceKind.INDEX:
        return f"index {_index(release.source_url)}" if release.source_url else "no index named"
    place = release.source_url or ""
    if release.source_kind is SourceKind.DIRECTORY and place:
        place = directory_path(place)  # `./lib/` and `lib` are one directory
    return f"{release.source_kind.value} {place}".strip()


def _origin(url: str) -> str:
    """The host a file is fetched from (`host:port`, as installers connect); for a URL with no such
    host (file:, unreadable), the URL's directory."""
    from .lockfacts import host_of

    return host_of(url) or url.rpartition("/")[0]


# [tool.uv] settings that do not change where uv fetches from, nor whether or how it builds (uv's
# settings reference): resolution inputs whose result the lock shows, and local behaviour. Every
# other key (index, index-url, extra-index-url, find-links, no-index, index-strategy, sources,
# no-sources, no-binary*, no-build*, build-constraint-dependencies, extra-build-*, config-settings*,
# dependency-metadata, pip, allow-insecure-host, keyring-provider, native-tls, python-*-mirror,
# cache-dir and cache-keys: uv believes its cache, and a cache in the repository is a PR's...),
# and any key this list does not know, is a fetch setting: fail closed.
UV_SETTINGS_NOT_FETCHING = frozenset(
    {
        "add-bounds",
        "build-backend",
        "check-url",
        "compile-bytecode",
        "concurrent-builds",
        "concurrent-downloads",
        "concurrent-installs",
        "conflicts",
        "constraint-dependencies",
        "default-groups",
        "dependency-groups",
        "dev-dependencies",
        "environments",
        "exclude-dependencies",
        "exclude-newer",
        "exclude-newer-package",
        "fork-strategy",
        "link-mode",
        "managed",
        "no-cache",
        "offline",
        "override-dependencies",
        "package",
        "prerelease",
        "preview",
        "publish-url",
        "python-preference",
        "reinstall",
        "reinstall-package",
        "required-environments",
        "required-version",
        "resolution",
        "trusted-publishing",
        "upgrade",
        "upgrade-package",
        "workspace",
    }
)


def uv_setting_reasons(
    old: Mapping[str, object], new: Mapping[str, object], where: str, base: str
) -> list[Reason]:
    """`[tool.uv]` at the base revision and now: one reason naming every fetch setting changed."""
    keys = sorted((set(old) | set(new)) - UV_SETTINGS_NOT_FETCHING)
    changed = [key for key in keys if old.get(key) != new.get(key)]
    if not changed:
        return []
    return [
        Reason(
            _RULE,
            where,
            f"[tool.uv] {', '.join(changed)} differ(s) from {base} (where or how uv fetches or builds)",
        )
    ]
