"""What a distribution filename says about itself: kind, project, version, build tag, tags.

Parsing is lenient (eggs, installers and legacy versions exist in real releases) and never the
last word: `belongs_to` checks a filename against the entry it is listed under, because
packaging reads `cffi-1.0.2-2.tar.gz` as version 2 of `cffi-1-0-2`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from packaging.tags import Tag
from packaging.utils import (
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .model import NormalizedName, canonical_version

_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar")


class DistKind(str, Enum):
    WHEEL = "wheel"
    SDIST = "sdist"
    EGG = "egg"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class DistFilename:
    filename: str
    kind: DistKind
    name: NormalizedName | None = None
    version: str | None = None
    build_tag: str | None = None
    tags: frozenset[Tag] = frozenset()


@lru_cache(maxsize=65536)
def parse_filename(filename: str) -> DistFilename:
    """Classify a filename; unknown shapes come back as OTHER with no name or version."""
    if filename.endswith(".whl"):
        return _parse_wheel(filename)
    if filename.endswith(_SDIST_SUFFIXES):
        return _parse_sdist(filename)
    if filename.endswith(".egg"):
        return _parse_egg(filename)
    return DistFilename(filename, DistKind.OTHER)


def _parse_wheel(filename: str) -> DistFilename:
    try:
        name, version, build, tags = parse_wheel_filename(filename)
    except ValueError:  # InvalidWheelFilename, InvalidVersion, or a number too long for int()
        return DistFilename(filename, DistKind.WHEEL)
    build_tag = f"{build[0]}{build[1]}" if build else None
    return DistFilename(filename, DistKind.WHEEL, NormalizedName(str(name)), str(version), build_tag, tags)


def _parse_sdist(filename: str) -> DistFilename:
    try:
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return DistFilename(filename, DistKind.SDIST, NormalizedName(str(name)), str(version))
    except ValueError:  # InvalidSdistFilename, InvalidVersion, or a number too long for int()
        pass
    return DistFilename(filename, DistKind.SDIST)


def _parse_egg(filename: str) -> DistFilename:
    parts = filename[: -len(".egg")].split("-")
    if len(parts) < 2:
        return DistFilename(filename, DistKind.EGG)
    try:
        version = str(Version(parts[1]))
    except (InvalidVersion, ValueError):  # ValueError: a number too long for int()
        return DistFilename(filename, DistKind.EGG)
    return DistFilename(filename, DistKind.EGG, NormalizedName(str(canonicalize_name(parts[0]))), version)


def belongs_to(filename: str, project: NormalizedName, version: str) -> str | None:
    """None when the filename names this project and version, else why it does not.

    A filename that cannot be parsed at all is given the benefit of the doubt: old releases
    carry installers and oddly named archives, and the hash still pins their bytes.
    """
    parsed = parse_filename(filename)
    if parsed.name is None or parsed.version is None:
        return None
    if parsed.name != project or not same_version(parsed.version, version):
        return f"the filename parses as {parsed.name} {parsed.version}, not {project} {version}"
    return None


def not_of_release(filename: str, project: NormalizedName, version: str) -> str | None:
    """None when packaging reads `filename` as a wheel or sdist of exactly this project and version
    (canonical name, PEP 440 version: `Demo-1.0.0-py3-none-any.whl` is demo 1's); else why not.

    The rule for what an approval from an index may record (`pinwarden approve --from-index`,
    `poetry pinwarden approve`). Strict where `belongs_to` is lenient: a name packaging cannot read
    (an egg, a `.tar.bz2`, `demo-1.0.sdist.tar.gz`) is left out, its version would be a guess.
    """
    parsed = parse_filename(filename)
    if parsed.kind not in (DistKind.WHEEL, DistKind.SDIST) or parsed.name is None or parsed.version is None:
        return "packaging reads no project and version from it"
    if parsed.name != project or not same_version(parsed.version, version):
        found, wanted = canonical_version(parsed.version), canonical_version(version)
        return f"it is {parsed.name} {found}, not {project} {wanted}"
    return None


def same_version(a: str, b: str) -> bool:
    return a == b or canonical_version(a) == canonical_version(b)


def version_key(version: str) -> tuple[int, Version | str]:
    """Sort key putting PEP 440 versions in order and anything else after them by text."""
    try:
        return (0, Version(version))
    except (InvalidVersion, ValueError):  # ValueError: a number too long for int()
        return (1, version)


FileIdentity = tuple[object, ...]
# What pip takes as an sdist archive (pip._internal.utils.filetypes), longest first.
_ARCHIVE_SUFFIXES: tuple[str, ...] = (".tar.lzma", ".tar.bz2", ".tar.gz", ".tar.xz", ".tar.lz", ".tar")
_ARCHIVE_SUFFIXES += (".tgz", ".tbz", ".txz", ".tlz", ".zip")


@lru_cache(maxsize=65536)
def file_identity(filename: str, project: NormalizedName) -> FileIdentity:
    """What an installer reads from a filename listed for `project`: two spellings of one
    distribution are one file.

    A wheel is its project, version, build tag and set of tags (`Demo-1.0.0-py2.py3-none-any.whl` is
    `demo-1-py3.py2-none-any.whl`). An sdist is its project and version whatever its archive format,
    read as pip reads it: after the first `-` at which the name so far is the project (so
    `cffi-1.0.2-2.tar.gz` is cffi 1.0.2.post2). A name no installer parses is only itself.
    """
    if filename.endswith(".whl"):
        parsed = parse_filename(filename)
        if parsed.name is not None and parsed.version is not None:
            build = parse_wheel_filename(filename)[2]
            return ("wheel", parsed.name, canonical_version(parsed.version), build, parsed.tags)
        return ("file", filename)
    version = sdist_version(filename, project)
    if version is not None:
        return ("sdist", project, canonical_version(version))
    return ("file", filename)


def sdist_version(filename: str, project: NormalizedName) -> str | None:
    """The version pip reads from an sdist's name when it looks for `project`, or None."""
    suffix = next((s for s in _ARCHIVE_SUFFIXES if filename.lower().endswith(s)), None)
    if suffix is None:
        return None
    stem = filename[: -len(suffix)]
    for i, char in enumerate(stem):
        if char == "-" and str(canonicalize_name(stem[:i])) == project:
            return stem[i + 1 :] or None
    return None
