"""Cutting a rejected version's untrusted files out of uv's lock, every other byte as uv wrote it. Pure.

uv writes one file per line (`sdist = { url = ..., hash = ... }` and one `{ url = ..., hash = ... },`
line per wheel); a lock laid out otherwise is refused rather than guessed at. uv accepts the cut
lock with `--locked` (it checks a lock against the project's requirements, not against the index).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set

from ..shared.errors import PinwardenError
from ..shared.model import FileHash, InvalidValue, NormalizedName, canonical_version, normalize_name

Key = tuple[NormalizedName, str]

_PACKAGE = re.compile(r"^\[\[package\]\]\s*$")
_FIELD = re.compile(r'^(name|version) = "([^"\\]*)"\s*$')
_HASH = re.compile(r'\bhash = "([^"\\]*)"')
_ONE_FILE = re.compile(r"^(?:\s*\{ .*\},?|sdist = \{ .*\})\s*$")


def keep_files(text: str, kept: Mapping[Key, Set[FileHash]]) -> str:
    """Drop each file line of a package in `kept` whose hash is not among its kept hashes."""
    out: list[str] = []
    name = version = None
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if _PACKAGE.match(body):
            name = version = None
        elif (field := _FIELD.match(body)) and (name is None or version is None):
            if field.group(1) == "name" and name is None:
                name = field.group(2)
            elif field.group(1) == "version" and version is None:
                version = field.group(2)
        key = _key(name, version)
        if key is not None and key in kept and (digest := _HASH.search(body)):
            if not _ONE_FILE.match(body) or len(_HASH.findall(body)) != 1:
                raise PinwardenError(
                    f"uv.lock lists the files of {key[0]} {key[1]} in a layout pinwarden cannot edit; "
                    "reject is impossible here: approve or abort"
                )
            if _parse(digest.group(1)) not in kept[key]:
                continue
        out.append(line)
    return "".join(out)


def _key(name: str | None, version: str | None) -> Key | None:
    if name is None or version is None:
        return None
    try:
        return (normalize_name(name), canonical_version(version))
    except InvalidValue:
        return None


def _parse(text: str) -> FileHash | None:
    try:
        return FileHash.parse(text)
    except InvalidValue:
        return None
