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
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .model import NormalizedName

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
    except (InvalidWheelFilename, InvalidVersion):
        return DistFilename(filename, DistKind.WHEEL)
    build_tag = f"{build[0]}{build[1]}" if build else None
    return DistFilename(filename, DistKind.WHEEL, NormalizedName(str(name)), str(version), build_tag, tags)


def _parse_sdist(filename: str) -> DistFilename:
    try:
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return DistFilename(filename, DistKind.SDIST, NormalizedName(str(name)), str(version))
    except (InvalidSdistFilename, InvalidVersion):
        pass
    return DistFilename(filename, DistKind.SDIST)


def _parse_egg(filename: str) -> DistFilename:
    parts = filename[: -len(".egg")].split("-")
    if len(parts) < 2:
        return DistFilename(filename, DistKind.EGG)
    try:
        version = str(Version(parts[1]))
    except InvalidVersion:
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


def same_version(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


def version_key(version: str) -> tuple[int, Version | str]:
    """Sort key putting PEP 440 versions in order and anything else after them by text."""
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)
