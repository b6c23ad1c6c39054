"""The audit baseline: what the index served for each locked version, seen but never trusted. Pure.

It lives in its own file beside the ledger (`pinwarden-baseline.toml`), not in the ledger, on
purpose: the ledger is the list of trusted bytes that `check`, the Poetry plugin and the pip-compile
wrapper accept, and nothing written by watching an index may ever widen it. A separate file keeps
that line visible in review, lets an audit record what it saw without touching trust, and leaves
the ledger's format and its fast reader as they are.

The text is canonical, sorted TOML, one line per file, like the ledger:

    baseline-format = 1

    [projects.demo."1.0"]
    index = "https://pypi.org/simple/"
    seen = "2026-11-25T03:00:00Z"
    files = [
      { file = "demo-1.0-cp27-cp27m-win32.whl", hashes = ["sha256:..."] },
      { file = "demo-1.0.tar.gz", hashes = ["sha256:..."], yanked = true },
    ]

    [[acknowledged]]
    project = "demo"
    version = "1.0"
    by = "Jane Doe <jane@example.com>"
    at = "2026-11-26T09:00:00Z"
    reason = "yanked for a packaging bug; our lock needs this version"
    findings = [
      { kind = "yanked", file = "demo-1.0.tar.gz" },
    ]

Acknowledgments (`pinwarden acknowledge`, see acknowledge.py) live here for the same reason: they
say which upstream facts a person saw and accepted, and grant no trust.

It holds only what the audit cannot read from the ledger (`compact`): a file the ledger trusts
under its name with the same bytes is compared with the ledger on every audit, so it is left out
unless the index had yanked it; `index` is left out when it is the one the ledger names; a version
with nothing else to record is its header and `seen` (the mark that its first look is done).
Baselines written before that, with every served file, read the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .acknowledge import Acknowledgment, Subject
from .errors import Collector
from .ledger import Ledger
from .model import (
    FileHash,
    InvalidValue,
    NormalizedName,
    TrustedFile,
    TrustedRelease,
    hash_sort_key,
    normalize_name,
)
from .toml import key_path, load_toml

FORMAT_VERSION = 1
BASELINE_FILENAME = "pinwarden-baseline.toml"
HEADER = """\
# pinwarden audit baseline: what the index served for each locked version when `pinwarden audit`
# first looked (or was told to look again with --update-baseline). Seen is NOT trusted: check and
# installs never accept a file because it is listed here; the ledger alone says what is trusted.
"""

Key = tuple[NormalizedName, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class SeenFile:
    filename: str
    hashes: tuple[FileHash, ...]
    yanked: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SeenRelease:
    name: NormalizedName
    version: str
    seen: str
    files: tuple[SeenFile, ...]
    index: str | None = None

    @property
    def key(self) -> Key:
        return (self.name, self.version)

    def file(self, filename: str) -> SeenFile | None:
        return next((f for f in self.files if f.filename == filename), None)


@dataclass(frozen=True, slots=True)
class Baseline:
    releases: Mapping[Key, SeenRelease] = field(default_factory=dict)
    acknowledged: tuple[Acknowledgment, ...] = ()

    def get(self, name: NormalizedName, version: str) -> SeenRelease | None:
        return self.releases.get((name, version))

    def with_releases(self, releases: Iterable[SeenRelease]) -> Baseline:
        merged = dict(self.releases)
        merged.update((r.key, r) for r in releases)
        return Baseline(merged, self.acknowledged)

    def with_acknowledgment(self, acknowledgment: Acknowledgment) -> Baseline:
        return Baseline(self.releases, (*self.acknowledged, acknowledgment))

    def __len__(self) -> int:
        return len(self.releases)


# ---------------------------------------------------------------------------------------------
# Only as large as it needs to be


def compact(baseline: Baseline, ledger: Ledger) -> Baseline:
    """The baseline without what the ledger already says (see the module's docstring)."""
    releases = {key: _compact(seen, ledger.get(*key)) for key, seen in baseline.releases.items()}
    return replace(baseline, releases=releases)


def _compact(seen: SeenRelease, trusted: TrustedRelease | None) -> SeenRelease:
    if trusted is None:
        return seen
    named = {f.filename: f for f in trusted.files if f.filename is not None}
    files = tuple(f for f in seen.files if f.yanked or not _same_bytes(f, named.get(f.filename)))
    from .index.sources import same_index

    index = None if seen.index is not None and same_index(seen.index, trusted.index) else seen.index
    return replace(seen, files=files, index=index)


def _same_bytes(seen: SeenFile, trusted: TrustedFile | None) -> bool:
    """The ledger trusts this filename with these bytes: every digest of an algorithm both have agrees."""
    if trusted is None:
        return False
    known = {h.algorithm: h for h in trusted.hashes}
    shared = [h for h in seen.hashes if h.algorithm in known]
    return bool(shared) and all(known[h.algorithm] == h for h in shared)


# ---------------------------------------------------------------------------------------------
# baseline -> text


def _quote(text: str) -> str:
    # A JSON string is a TOML basic string, except that TOML forbids a raw DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def dumps(baseline: Baseline) -> str:
    from .filenames import version_key

    parts = [HEADER, f"baseline-format = {FORMAT_VERSION}\n"]
    for key in sorted(baseline.releases, key=lambda k: (k[0], version_key(k[1]))):
        parts.append(_dump_release(baseline.releases[key]))
    for acknowledgment in sorted(baseline.acknowledged, key=_ack_order):
        parts.append(_dump_acknowledgment(acknowledgment))
    return "".join(parts)


def _ack_order(a: Acknowledgment) -> tuple[str, str, str]:
    return (a.project, a.version, a.at)


def _dump_acknowledgment(a: Acknowledgment) -> str:
    lines = ["", "[[acknowledged]]"]
    for key, value in (("project", a.project), ("version", a.version), ("by", a.by), ("at", a.at)):
        lines.append(f"{key} = {_quote(value)}")
    lines += [f"reason = {_quote(a.reason)}", "findings = ["]
    for s in a.subjects:
        words = [f"kind = {_quote(s.kind)}"]
        words += [f"file = {_quote(s.file)}"] if s.file is not None else []
        words += [f"hash = {_quote(s.hash)}"] if s.hash is not None else []
        lines.append(f"  {{ {', '.join(words)} }},")
    lines.append("]")
    return "\n".join(lines) + "\n"


def _dump_release(release: SeenRelease) -> str:
    lines = ["", f"[projects.{key_path(release.name)}.{_quote(release.version)}]"]
    if release.index is not None:
        lines.append(f"index = {_quote(release.index)}")
    lines.append(f"seen = {_quote(release.seen)}")
    if not release.files:  # `files` may be left out: nothing else was served
        return "\n".join(lines) + "\n"
    lines.append("files = [")
    for seen in sorted(release.files, key=lambda f: f.filename):
        hashes = ", ".join(_quote(str(h)) for h in sorted(seen.hashes, key=hash_sort_key))
        yank = ", yanked = true" if seen.yanked else ""
        lines.append(f"  {{ file = {_quote(seen.filename)}, hashes = [{hashes}]{yank} }},")
    lines.append("]")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# text -> baseline


def loads(text: str, source: str = BASELINE_FILENAME) -> Baseline:
    """Parse a baseline; every problem is reported with its key path (InputError)."""
    what = "pinwarden audit baseline"
    data = load_toml(text, source, what)
    problems = Collector()
    fmt = data.get("baseline-format")
    if type(fmt) is not int or fmt != FORMAT_VERSION:
        problems.add("baseline-format", f"expected {FORMAT_VERSION}, found {fmt!r}")
    for key in data:
        if key not in ("baseline-format", "projects", "acknowledged"):
            problems.add(key_path(key), "unknown key")
    releases: dict[Key, SeenRelease] = {}
    projects = data.get("projects", {})
    if not isinstance(projects, dict):
        problems.add("projects", "must be a table")
        projects = {}
    for raw_name, versions in projects.items():
        for release in _read_project(raw_name, versions, problems):
            releases[release.key] = release
    acknowledged = _read_acknowledged(data.get("acknowledged", []), problems)
    problems.raise_if_any(source, what)
    return Baseline(releases, acknowledged)


_ACK_KEYS = ("project", "version", "by", "at", "reason", "findings")


def _read_acknowledged(raw: Any, problems: Collector) -> tuple[Acknowledgment, ...]:
    if not isinstance(raw, list):
        problems.add("acknowledged", "must be an array of tables")
        return ()
    found = []
    for i, item in enumerate(raw):
        where = f"acknowledged[{i}]"
        if not isinstance(item, dict):
            problems.add(where, "must be a table")
            continue
        before = len(problems.problems)
        for key in item:
            if key not in _ACK_KEYS:
                problems.add(f"{where}.{key_path(key)}", "unknown key")
        for key in _ACK_KEYS[:-1]:
            if not isinstance(item.get(key), str) or not item[key]:
                problems.add(f"{where}.{key}", "must be a non-empty string")
        project = item.get("project")
        if isinstance(project, str) and project and normalize_name_or_none(project) != project:
            problems.add(f"{where}.project", "project names are stored normalized")
        subjects = _read_subjects(item.get("findings"), f"{where}.findings", problems)
        if len(problems.problems) == before:
            found.append(
                Acknowledgment(
                    project=NormalizedName(item["project"]),
                    version=item["version"],
                    by=item["by"],
                    at=item["at"],
                    reason=item["reason"],
                    subjects=subjects,
                )
            )
    return tuple(found)


def normalize_name_or_none(text: str) -> str | None:
    try:
        return normalize_name(text)
    except InvalidValue:
        return None


def _read_subjects(raw: Any, where: str, problems: Collector) -> tuple[Subject, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(where, "must be a non-empty array of inline tables")
        return ()
    found = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            problems.add(here, "must be an inline table with a kind")
            continue
        if any(key not in ("kind", "file", "hash") for key in item):
            problems.add(here, "unknown key")
            continue
        file, digest = item.get("file"), item.get("hash")
        if not all(v is None or isinstance(v, str) for v in (file, digest)):
            problems.add(here, "file and hash must be strings")
            continue
        found.append(Subject(item["kind"], file, digest))
    return tuple(sorted(found))


def _read_project(raw_name: str, versions: Any, problems: Collector) -> Iterable[SeenRelease]:
    where = f"projects.{key_path(raw_name)}"
    try:
        name = normalize_name(raw_name)
    except InvalidValue as exc:
        problems.add(where, str(exc))
        return []
    if name != raw_name:
        problems.add(where, f"project names are stored normalized ({name!r})")
        return []
    if not isinstance(versions, dict):
        problems.add(where, "must be a table of versions")
        return []
    found = []
    for version, body in versions.items():
        release = _read_release(name, version, body, f"{where}.{_quote(version)}", problems)
        if release is not None:
            found.append(release)
    return found


def _read_release(
    name: NormalizedName, version: str, body: Any, where: str, problems: Collector
) -> SeenRelease | None:
    if not isinstance(body, dict):
        problems.add(where, "must be a table")
        return None
    before = len(problems.problems)
    for key in body:
        if key not in ("index", "seen", "files"):
            problems.add(f"{where}.{key_path(key)}", "unknown key")
    index, seen = body.get("index"), body.get("seen")
    if index is not None and not isinstance(index, str):
        problems.add(f"{where}.index", "must be a string")
    if not isinstance(seen, str) or not seen:
        problems.add(f"{where}.seen", "must be a timestamp string")
    raw_files = body.get("files", [])
    if not isinstance(raw_files, list):
        problems.add(f"{where}.files", "must be an array")
        raw_files = []
    files = [
        f for i, item in enumerate(raw_files) if (f := _read_file(item, f"{where}.files[{i}]", problems))
    ]
    if len(problems.problems) > before:
        return None
    assert isinstance(seen, str)
    return SeenRelease(name=name, version=version, seen=seen, files=tuple(files), index=index)


def _read_file(item: Any, where: str, problems: Collector) -> SeenFile | None:
    if not isinstance(item, dict):
        problems.add(where, "must be an inline table")
        return None
    filename, raw_hashes, yanked = item.get("file"), item.get("hashes"), item.get("yanked", False)
    ok = True
    if not isinstance(filename, str) or not filename or "/" in filename or "\\" in filename:
        problems.add(f"{where}.file", f"{filename!r} is not a plain filename")
        ok = False
    if not isinstance(yanked, bool):
        problems.add(f"{where}.yanked", "must be true or false")
        ok = False
    for key in item:
        if key not in ("file", "hashes", "yanked"):
            problems.add(f"{where}.{key_path(key)}", "unknown key")
            ok = False
    if not isinstance(raw_hashes, list):
        problems.add(f"{where}.hashes", "must be an array of algorithm:hex strings")
        return None
    hashes = []
    for i, raw in enumerate(raw_hashes):
        try:
            hashes.append(FileHash.parse(raw if isinstance(raw, str) else ""))
        except InvalidValue as exc:
            problems.add(f"{where}.hashes[{i}]", str(exc))
            ok = False
    if not ok:
        return None
    assert isinstance(filename, str)
    return SeenFile(filename=filename, hashes=tuple(sorted(hashes, key=hash_sort_key)), yanked=yanked)
