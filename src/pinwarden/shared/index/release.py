"""One version's files as the indexes serve them now, as a `LockedRelease` ready to be recorded.

Used by `pinwarden approve NAME==VERSION --from-index URL`: the approval of what an index serves,
without a lock file. Hashes are sha256, as pip-compile writes them, and every one is computed by
pinwarden from the file's bytes: a hash on the page is a claim. Each file is downloaded once and
every hash the page lists is checked against those bytes; a page whose hash does not match what it
serves is refused (an index that lies about one hash is not trusted for the others).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..errors import PinwardenError
from ..model import FileHash, LockedFile, LockedRelease, normalize_name
from .fetch import ProjectNotFound, SimpleIndex, redact_url
from .simple import IndexFile, files_of_version


def release_from_indexes(
    indexes: Sequence[SimpleIndex], name: str, version: str, *, also: Collection[str] = ()
) -> LockedRelease:
    """Every file of name==version on these indexes (merged, as pip merges them), each by its sha256
    and by the algorithms in `also` (those the ledger trusts the version's files by).

    Raises PinwardenError when no index has the version, or when two indexes serve one filename
    with different bytes (pinwarden cannot trust both under one name).
    """
    found: dict[str, tuple[tuple[FileHash, ...], str]] = {}
    first_index: str | None = None
    for index in indexes:
        try:
            listed = tuple(files_of_version(index.project_files(name), name, version))
        except ProjectNotFound:
            continue
        for file in listed:
            digests = verified_digests(index, file, also)
            _merge(found, file, digests, redact_url(index.url))
        if listed and first_index is None:
            first_index = redact_url(index.url)
    if first_index is None:
        where = ", ".join(redact_url(index.url) for index in indexes)
        raise PinwardenError(f"{name}=={version}: no files for this version on {where}")
    files = tuple(
        LockedFile(filename, digest) for filename, (digests, _) in sorted(found.items()) for digest in digests
    )
    return LockedRelease(
        name=normalize_name(name), version=version, files=files, lockfile=first_index, source_url=first_index
    )


def _merge(
    found: dict[str, tuple[tuple[FileHash, ...], str]],
    file: IndexFile,
    digests: tuple[FileHash, ...],
    url: str,
) -> None:
    earlier = found.get(file.filename)
    if earlier is not None and earlier[0][0] != digests[0]:
        raise PinwardenError(
            f"{file.filename} is served with different bytes by {earlier[1]} ({earlier[0][0]}) "
            f"and {url} ({digests[0]}); approve it from one index with --from-index URL"
        )
    found.setdefault(file.filename, (digests, url))


def verified_digests(index: SimpleIndex, file: IndexFile, also: Collection[str]) -> tuple[FileHash, ...]:
    """The sha256 of the bytes served now, then their digest in each of `also`; PinwardenError when a
    hash the page lists disagrees."""
    listed = {h.algorithm: h for h in file.hashes}
    extra = sorted(set(also) - {"sha256"})
    computed = index.download_hashes(file, ["sha256", *listed, *extra])
    for algorithm, claim in sorted(listed.items()):
        if computed[algorithm] != claim:
            raise PinwardenError(
                f"{file.filename}: the page lists {claim} but the file served at "
                f"{redact_url(file.url)} has {computed[algorithm]}; nothing was recorded"
            )
    return (computed["sha256"], *(computed[algorithm] for algorithm in extra))
