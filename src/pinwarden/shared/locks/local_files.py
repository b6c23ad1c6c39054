"""A poetry.lock `file` source as Poetry finds it on disk (edge: reads the file system).

Poetry checks a local file's hashes against the lock's entries named like the file its path
resolves to, symlinks followed (the name in `[metadata.files]` of a 1.1 lock, the entry in `files`
of a 2.x one). The lock reader, pure, can only go by the name the path is written with. Where the
two differ, which hashes Poetry checks (if any: Poetry 2.1 skips a name it does not find) is not what
pinwarden compared, so the lock is refused instead of read one way by pinwarden and another by Poetry.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..errors import PinwardenError
from ..model import LockFile, SourceKind


def refuse_renamed_files(lock: LockFile, lock_dir: Path) -> None:
    """PinwardenError when a `file` source's path, resolved as Poetry resolves it, is a file whose
    name the package's hashes do not list (reached through a symlink, or written so). Poetry's rule
    only: pip fetches a pylock.toml `path` as written (no symlink resolved) and judges its basename."""
    if lock.format != "poetry.lock":
        return
    for release in lock.releases:
        if release.source_kind is not SourceKind.FILE or not release.source_url:
            continue
        written = PurePosixPath(release.source_url).name
        try:
            # Poetry's Locker: `lock.parent.joinpath(url).resolve()`, whatever the url says (a
            # `file:` prefix is a relative path's first component to it).
            resolved = lock_dir.joinpath(release.source_url).resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL
            raise PinwardenError(f"{lock.path}: {release.name} {release.version}: {exc}") from None
        listed = {f.filename for f in release.files if f.filename is not None}
        if resolved.name != written:
            raise PinwardenError(
                f"{lock.path}: {release.name} {release.version}: its file source {release.source_url} "
                f"leads through a symlink to {resolved.name}, whose hashes Poetry checks instead of "
                f"those of {written}; name the file itself in the lock"
            )
        if listed and resolved.name not in listed:
            raise PinwardenError(
                f"{lock.path}: {release.name} {release.version}: its file source {release.source_url} "
                f"names a file its hashes do not list ({', '.join(sorted(listed))}): Poetry would "
                "check no hash for it"
            )
