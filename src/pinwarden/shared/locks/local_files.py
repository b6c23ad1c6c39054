"""A poetry.lock `file` source as Poetry finds it on disk (edge: reads the file system).

Poetry checks a local file's hashes against the lock's entries named like the file its path
resolves to, symlinks followed (the name in `[metadata.files]` of a 1.1 lock, the entry in `files`
of a 2.x one). The lock reader, pure, can only go by the name the path is written with. Where the
two differ, which hashes Poetry checks (if any: Poetry 2.1 skips a name it does not find) is not what
pinwarden compared, so the lock is refused instead of read one way by pinwarden and another by Poetry.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from ..errors import PinwardenError
from ..model import LockFile, SourceKind


def refuse_renamed_files(lock: LockFile, lock_dir: Path) -> None:
    """PinwardenError when a `file` source's path leads to a file of another name."""
    for release in lock.releases:
        if release.source_kind is not SourceKind.FILE or not release.source_url:
            continue
        written = _local_path(release.source_url)
        path = written if written.is_absolute() else lock_dir / written
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise PinwardenError(f"{lock.path}: {release.name} {release.version}: {path}: {exc}") from None
        if resolved.name != written.name:
            raise PinwardenError(
                f"{lock.path}: {release.name} {release.version}: its file source {release.source_url} "
                f"leads through a symlink to {resolved.name}, whose hashes Poetry checks instead of "
                f"those of {written.name}; name the file itself in the lock"
            )


def _local_path(url: str) -> Path:
    if url.startswith("file:"):
        return Path(unquote(urlsplit(url).path))
    return Path(PurePosixPath(url))
