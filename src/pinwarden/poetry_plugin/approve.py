"""`poetry pinwarden approve NAME==VERSION`: trust a version's files as the project's sources serve them now.

A blocked `poetry lock` wrote nothing, so poetry.lock still holds the old state: the approval has to
fetch the version's current files from the index, through Poetry's own sources and credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..cli import _report_approval, _split_approve_items
from ..shared.compare import compare
from ..shared.errors import PinwardenError
from ..shared.filenames import same_version
from ..shared.index.sources import redact_url
from ..shared.ledger import Ledger
from ..shared.locks.poetry_lock import parse_poetry_lock
from ..shared.model import LockedRelease, NormalizedName, TrustHow, normalize_name
from ..shared.store import ledger_notice, project_root, read_text, utc_now
from ..shared.trust import record
from .flow import LOCK_LABEL, Warden
from .guard import release_of
from .index import fetch_package, verify_files

if TYPE_CHECKING:
    from poetry.poetry import Poetry


def approve_from_sources(
    poetry: Poetry, items: Sequence[str], *, reason: str | None, ledger: Path | None, out: TextIO
) -> None:
    specs, locks = _split_approve_items(items)
    if locks:
        raise PinwardenError(
            f"{locks[0]}: lock files are read only with --from-lock (the sources are asked otherwise)"
        )
    warden = Warden(poetry.pyproject_path.parent, poetry.locker.lock, ledger=ledger)
    locked = _locked(poetry.locker.lock)
    # Fetched before taking the ledger's lock: a slow index must not hold up other approvals.
    fetched = [
        _fetch(poetry, normalize_name(name), version, locked, warden.trusted()) for name, version in specs
    ]
    with warden.store.locked():
        trusted = warden.trusted()
        before = compare(trusted, fetched)
        warden.store.save(record(trusted, fetched, how=TrustHow.APPROVAL, at=utc_now(), reason=reason))
    for release in fetched:
        out.write(f"pinwarden: {release.name}=={release.version} from {release.lockfile}:\n")
        out.writelines(f"  {f.filename}  {f.hash}\n" for f in release.files)
    _report_approval(out, [(r.name, r.version) for r in fetched], before, warden.store.path)
    notice = ledger_notice(warden.store.path, project_root(poetry.pyproject_path.parent))
    if notice:
        out.write(notice + "\n")


def _locked(lock: Path) -> tuple[LockedRelease, ...]:
    if not lock.is_file():
        return ()
    return parse_poetry_lock(read_text(lock, "lock file"), LOCK_LABEL).releases


def _fetch(
    poetry: Poetry, name: NormalizedName, version: str, locked: Sequence[LockedRelease], trusted: Ledger
) -> LockedRelease:
    """The version from the source poetry.lock names for it (else Poetry's search order), keyed by
    the version text the lock or the ledger already uses, so that the approval meets them."""
    pinned = [r for r in locked if r.name == name]
    source = next((r.source_reference for r in pinned if r.source_reference), None)
    package, source_name = fetch_package(poetry.pool, name, version, source)
    release = release_of(package)
    if not release.files:
        raise PinwardenError(f"{name}=={version}: source {source_name!r} lists no files for it")
    verify_files(poetry.pool, package)  # the source's hashes are claims: each is checked against the bytes
    known = [r.version for r in pinned] + [v for (n, v) in trusted.releases if n == name]
    text = next((v for v in known if same_version(v, release.version)), release.version)
    shown = redact_url(release.source_url or "")
    return replace(release, version=text, lockfile=f"source {source_name!r} ({shown})")
