"""Is a downloaded archive one the lock pins? Decided from its name and bytes, before anything builds it.

Poetry's executor builds a downloaded sdist (running its build backend) and only then checks the
archive's hash against poetry.lock; the Poetry plugin asks this module first. The archive's name
must be a file the lock lists for the package (its exact name, else a spelling of the same file:
`filenames.file_identity`), and its bytes must give one of that file's strong digests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import PinwardenError
from .filenames import file_identity
from .model import STRONG_ALGORITHMS, FileHash, NormalizedName, canonical_version

_CHUNK = 1 << 20
# The strong algorithms (model.STRONG_ALGORITHMS), strongest first: an error shows the strongest pinned.
_BY_STRENGTH = ("sha512", "sha384", "sha256")


class ArchiveRefused(PinwardenError):
    """A downloaded archive the lock does not pin: never built, never installed."""


@dataclass(frozen=True, slots=True)
class ArchiveVerdict:
    """An archive whose bytes give `digest`, which the lock pins for `listed_as`."""

    filename: str
    listed_as: str
    digest: FileHash


def verify_archive(
    path: Path,
    project: NormalizedName,
    version: str,
    pinned: Mapping[str, Collection[str]],
    lock: str = "poetry.lock",
) -> ArchiveVerdict:
    """The verdict on the archive at `path`, given the files `lock` pins for the package (filename ->
    "algo:hex" digests); raises `ArchiveRefused` when its name or bytes are not pinned."""
    what = f"{path.name} ({project} {canonical_version(version)})"
    listed = _listed_as(path.name, project, pinned)
    if not listed:
        files = ", ".join(sorted(pinned)) or "none"
        raise ArchiveRefused(f"{what} is not a file {lock} lists for it (locked files: {files})")
    pins = sorted(((d, name) for name in listed for d in _strong(pinned[name])), key=_strength)
    if not pins:
        weak = ", ".join(sorted({d for name in listed for d in pinned[name]}))
        raise ArchiveRefused(f"{what} is pinned by no sha256, sha384 or sha512 digest in {lock} ({weak})")
    actual = _digests(path, {d.algorithm for d, _ in pins})
    match = next(((d, name) for d, name in pins if actual[d.algorithm] == d.value), None)
    if match is None:
        strongest = pins[0][0].algorithm
        expected = " or ".join(str(d) for d, _ in pins if d.algorithm == strongest)
        got = f"{strongest}:{actual[strongest]}"
        against = lock if listed == [path.name] else f"{lock}'s {', '.join(listed)}"
        raise ArchiveRefused(f"{what} does not match {against}: expected {expected}, got {got}")
    return ArchiveVerdict(path.name, match[1], match[0])


def _listed_as(filename: str, project: NormalizedName, pinned: Mapping[str, Collection[str]]) -> list[str]:
    """The lock's entries for this archive: its exact name, else every spelling of the same file."""
    if filename in pinned:
        return [filename]
    identity = file_identity(filename, project)
    if identity[0] == "file":  # a name no installer parses is only itself
        return []
    return sorted(name for name in pinned if file_identity(name, project) == identity)


def _strong(digests: Collection[str]) -> set[FileHash]:
    """The digests pinwarden trusts (as it does everywhere: weak algorithms never count)."""
    found = set()
    for text in digests:
        algorithm, sep, value = text.partition(":")
        if sep and algorithm.lower() in STRONG_ALGORITHMS:
            found.add(FileHash(algorithm.lower(), value.lower()))
    return found


def _strength(pin: tuple[FileHash, str]) -> tuple[int, str, str]:
    digest, name = pin
    return (_BY_STRENGTH.index(digest.algorithm), digest.value, name)


def _digests(path: Path, algorithms: set[str]) -> dict[str, str]:
    """Every asked digest of the file in one streaming read."""
    hashers = {a: hashlib.new(a) for a in algorithms}
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            for hasher in hashers.values():
                hasher.update(chunk)
    return {a: h.hexdigest() for a, h in hashers.items()}
