"""One version's files as the indexes serve them now, as a `LockedRelease` ready to be recorded.

Used by `pinwarden approve NAME==VERSION --from-index URL`: the approval of what an index serves,
without a lock file. Hashes are sha256, as pip-compile writes them; a page that lists none for a
file gets the file downloaded and hashed.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import PinwardenError
from ..model import FileHash, LockedFile, LockedRelease, normalize_name
from .fetch import ProjectNotFound, SimpleIndex, redact_url
from .simple import IndexFile, files_of_version


def release_from_indexes(indexes: Sequence[SimpleIndex], name: str, version: str) -> LockedRelease:
    """Every file of name==version on these indexes (merged, as pip merges them).

    Raises PinwardenError when no index has the version, or when two indexes serve one filename
    with different bytes (pinwarden cannot trust both under one name).
    """
    found: dict[str, tuple[FileHash, str]] = {}
    first_index: str | None = None
    for index in indexes:
        try:
            listed = tuple(files_of_version(index.project_files(name), name, version))
        except ProjectNotFound:
            continue
        for file in listed:
            digest = file.hash("sha256") or index.download_hash(file)
            _merge(found, file, digest, redact_url(index.url))
        if listed and first_index is None:
            first_index = redact_url(index.url)
    if first_index is None:
        where = ", ".join(redact_url(index.url) for index in indexes)
        raise PinwardenError(f"{name}=={version}: no files for this version on {where}")
    files = tuple(LockedFile(filename, digest) for filename, (digest, _) in sorted(found.items()))
    return LockedRelease(
        name=normalize_name(name), version=version, files=files, lockfile=first_index, source_url=first_index
    )


def _merge(found: dict[str, tuple[FileHash, str]], file: IndexFile, digest: FileHash, url: str) -> None:
    earlier = found.get(file.filename)
    if earlier is not None and earlier[0] != digest:
        raise PinwardenError(
            f"{file.filename} is served with different bytes by {earlier[1]} ({earlier[0]}) "
            f"and {url} ({digest}); approve it from one index with --from-index URL"
        )
    found.setdefault(file.filename, (digest, url))
