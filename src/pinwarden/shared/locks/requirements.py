"""Hashed requirements text (as pip-compile writes it) -> locked releases.

Follows pip's own rules: `\\` joins lines, `#` after whitespace starts a comment, `--hash` may
repeat. A requirements file pins hashes without filenames, so its files have `filename=None`,
except for a direct URL whose last path segment names the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ..errors import Collector
from ..model import (
    FileHash,
    InvalidValue,
    LockedFile,
    LockedRelease,
    LockFile,
    NormalizedName,
    SourceKind,
    normalize_name,
)

if TYPE_CHECKING:
    from packaging.requirements import Requirement

FORMAT = "requirements"
_COMMENT = re.compile(r"(^|\s+)#.*$")
# Options pip accepts in a requirements file that carry a value; the ones that matter here are kept.
_VALUE_OPTIONS = {
    "-i": "index",
    "--index-url": "index",
    "--extra-index-url": "extra",
    "-f": None,
    "--find-links": None,
    "--trusted-host": None,
    "--no-binary": None,
    "--only-binary": None,
    "--use-feature": None,
    "--config-settings": None,
    "--global-option": None,
}
_FLAG_OPTIONS = {"--pre", "--prefer-binary", "--require-hashes", "--no-index"}
_INCLUDES = {"-r", "--requirement", "-c", "--constraint"}
_HASH_OPTION = re.compile(r"(?:^|\s)--hash(?:=|\s+)(\S*)")
_STRAY_OPTION = re.compile(r"(?:^|\s)--?[A-Za-z][\w-]*(=\S*)?")
# What pip-compile writes for almost every pin: a PEP 508 name, `==`, a plain PEP 440 version. Read
# without packaging, whose import costs more than reading a whole file; anything else (extras,
# markers, URLs, spaces, epochs, local versions...) goes to packaging. Tests pin both to one result.
_PLAIN_PIN = re.compile(
    r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
    r"==(\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?)",
    re.ASCII,
)


@dataclass
class _State:
    path: str
    problems: Collector = field(default_factory=Collector)
    index_urls: list[str] = field(default_factory=list)
    releases: list[LockedRelease] = field(default_factory=list)
    index: str | None = None


def parse_requirements(text: str, path: str = "requirements.txt") -> LockFile:
    state = _State(path)
    for lineno, line in _logical_lines(text):
        _parse_line(state, lineno, line)
    state.problems.raise_if_any(path, "hashed requirements file")
    if state.index is not None:
        state.releases = [_with_index(r, state.index) for r in state.releases]
    return LockFile(
        path=path, format=FORMAT, releases=tuple(state.releases), index_urls=tuple(state.index_urls)
    )


def _with_index(release: LockedRelease, index: str) -> LockedRelease:
    if release.source_kind is not SourceKind.INDEX or release.source_url is not None:
        return release
    return LockedRelease(
        name=release.name,
        version=release.version,
        files=release.files,
        lockfile=release.lockfile,
        source_url=index,
        marker=release.marker,
    )


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line number, joined line without comments), as pip reads them."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        line = _COMMENT.sub("", raw)
        if line.endswith("\\") and not _COMMENT.match(raw):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = " ".join(part.strip() for part in pending).strip()
        pending = []
        if joined:
            yield start, joined
    if pending:
        joined = " ".join(part.strip() for part in pending).strip()
        if joined:
            yield start, joined


def _parse_line(state: _State, lineno: int, line: str) -> None:
    where = f"line {lineno}"
    if line.startswith("--hash"):
        # pip reads a line that starts with an option as options only: it would drop a requirement
        # written after the hash, so reading one here would guard what pip does not install.
        state.problems.add(where, "--hash without a requirement (pip ignores this line)")
        return
    if line.startswith("-"):
        _parse_option(state, where, line.split())
        return
    requirement, hashes = _split_hashes(state, where, line)
    if requirement:
        _parse_requirement(state, where, requirement, hashes)


def _parse_option(state: _State, where: str, tokens: list[str]) -> None:
    option, _, inline = tokens[0].partition("=")
    if option in ("-e", "--editable"):
        return  # local code, no hash to guard
    if option in _INCLUDES:
        state.problems.add(where, f"{option} includes another file: name that file to pinwarden instead")
        return
    if option in _FLAG_OPTIONS:
        return
    if option not in _VALUE_OPTIONS:
        state.problems.add(where, f"unknown option {option}")
        return
    value = inline or (tokens[1] if len(tokens) > 1 else "")
    if not value:
        state.problems.add(where, f"{option} needs a value")
        return
    role = _VALUE_OPTIONS[option]
    if role is not None:
        state.index_urls.append(value)
        if role == "index":
            state.index = value


def _split_hashes(state: _State, where: str, line: str) -> tuple[str, list[FileHash]]:
    """Take the `--hash` options out of a requirement line (markers may hold quotes and spaces)."""
    hashes: list[FileHash] = []
    for match in _HASH_OPTION.finditer(line):
        try:
            hashes.append(FileHash.parse(match.group(1)))
        except InvalidValue as exc:
            state.problems.add(where, str(exc))
    requirement = _HASH_OPTION.sub(" ", line).strip()
    stray = _STRAY_OPTION.search(requirement)
    if stray:
        state.problems.add(where, f"unexpected option {stray.group(0).strip()} after a requirement")
        requirement = requirement[: stray.start()].strip()
    return requirement, hashes


def _parse_requirement(state: _State, where: str, text: str, hashes: list[FileHash]) -> None:
    plain = _PLAIN_PIN.fullmatch(text)
    if plain is None:
        _parse_with_packaging(state, where, text, hashes)
        return
    raw_name, version = plain.groups()
    if not hashes:
        state.problems.add(where, _no_hash(raw_name))
        return
    state.releases.append(
        LockedRelease(
            name=normalize_name(raw_name),
            version=version,
            files=tuple(LockedFile(None, h) for h in hashes),
            lockfile=state.path,
        )
    )


def _no_hash(raw_name: str) -> str:
    return f"{raw_name} has no --hash (pip refuses such a file under --require-hashes)"


def _parse_with_packaging(state: _State, where: str, text: str, hashes: list[FileHash]) -> None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
        name = normalize_name(req.name)
    except InvalidRequirement as exc:
        # packaging adds the line and a caret below it; the line number says where already.
        first_line = str(exc).partition("\n")[0]
        state.problems.add(where, f"not a requirement: {first_line}")
        return
    except InvalidValue as exc:  # packaging accepts a name ending in "_", PEP 508 does not
        state.problems.add(where, f"not a requirement: {exc}")
        return
    if not hashes:
        state.problems.add(where, _no_hash(req.name))
        return
    marker = str(req.marker) if req.marker else None
    if req.url:
        _direct_url(state, where, req, name, hashes)
        return
    pins = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
    if len(pins) != 1 or len(req.specifier) != 1:
        state.problems.add(
            where, f"{req.name}: not pinned to one version with == ({req.specifier or 'no version'})"
        )
        return
    files = tuple(LockedFile(None, h) for h in hashes)
    state.releases.append(
        LockedRelease(name=name, version=pins[0].version, files=files, lockfile=state.path, marker=marker)
    )


def _direct_url(
    state: _State, where: str, req: Requirement, name: NormalizedName, hashes: list[FileHash]
) -> None:
    """`name @ https://host/path/name-1.0.tar.gz --hash=...`: the URL names the file and version."""
    from ..filenames import parse_filename

    url = req.url or ""
    try:
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    except ValueError:  # urlsplit rejects a malformed host such as `http://[x/`
        filename = ""
    version = parse_filename(filename).version if filename else None
    if version is None:
        state.problems.add(where, f"cannot tell the version of {req.name} from its URL {url}")
        return
    state.releases.append(
        LockedRelease(
            name=name,
            version=version,
            files=tuple(LockedFile(filename, h) for h in hashes),
            lockfile=state.path,
            source_kind=SourceKind.URL,
            source_url=url,
            marker=str(req.marker) if req.marker else None,
        )
    )
