"""`poetry pinwarden approve NAME==VERSION`: trust a version's files as the project's sources serve them now.

A blocked `poetry lock` wrote nothing, so poetry.lock still holds the old state: the approval has to
fetch the version's current files from the index, through Poetry's own sources and credentials. Only
files whose names are that version's are approved (the rule `pinwarden approve --from-index` keeps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..cli import _report_approval, _split_approve_items
from ..shared.approval import bound_changes, judge, ledger_algorithms, served_now
from ..shared.compare import compare
from ..shared.errors import PinwardenError
from ..shared.filenames import not_of_release, same_version
from ..shared.index.sources import redact_url
from ..shared.ledger import Ledger
from ..shared.locks.poetry_lock import parse_poetry_lock
from ..shared.model import FileHash, LockedFile, LockedRelease, NormalizedName, TrustHow, normalize_name
from ..shared.store import ledger_notice, project_root, read_text, utc_now
from ..shared.trust import record
from .flow import LOCK_LABEL, Warden
from .guard import release_of
from .index import fetch_package, verify_files

if TYPE_CHECKING:
    from poetry.core.packages.package import Package
    from poetry.poetry import Poetry

# What a source listed for a version but is not that version's file: (filename, why).
LeftOut = list[tuple[str, str]]


def approve_from_sources(
    poetry: Poetry,
    items: Sequence[str],
    *,
    reason: str | None,
    ledger: Path | None,
    out: TextIO,
    bound: Sequence[FileHash] = (),
    replace_allowed: bool = False,
    command: str = "poetry pinwarden approve --from-index ...",
) -> int:
    """0 recorded; 1 refused (a bound digest not served, a trusted file swapped without --replace,
    or with it but without a reason). `command`: this command line, printed for a rerun."""
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
    releases = [release for release, _ in fetched]
    for release, left_out in fetched:
        out.write(f"pinwarden: {release.name}=={release.version} from {release.lockfile} (the index):\n")
        out.writelines(f"  {f.filename}  {f.hash}\n" for f in release.files)
        out.writelines(f"  left out: {_shown(filename)} ({why})\n" for filename, why in left_out)
    with warden.store.locked():
        trusted = warden.trusted()
        judged = judge(trusted, releases, bound)
        refusal = judged.refusal(replace_allowed=replace_allowed)
        if not refusal and judged.swaps and not reason:
            # New bytes under a trusted name, the gravest finding: never recorded without a why.
            refusal = [
                "pinwarden: this approval REPLACES the trusted bytes of "
                + ", ".join(sorted({s.filename for s in judged.swaps}))
                + "; nothing was recorded; say why the new bytes are expected:",
                f'  {command} --reason "WHY"',
            ]
        if refusal:
            out.writelines(line + "\n" for line in refusal)
            return 1
        before = bound_changes(compare(trusted, judged.releases), served_now(releases, bound=bool(bound)))
        warden.store.save(
            record(
                trusted,
                judged.releases,
                how=TrustHow.APPROVAL,
                at=utc_now(),
                reason=reason,
                served=served_now(releases, bound=bool(bound)),
            )
        )
    _report_approval(out, [(r.name, r.version) for r in releases], before, warden.store.path)
    notice = ledger_notice(warden.store.path, project_root(poetry.pyproject_path.parent))
    if notice:
        out.write(notice + "\n")
    return 0


def _locked(lock: Path) -> tuple[LockedRelease, ...]:
    if not lock.is_file():
        return ()
    return parse_poetry_lock(read_text(lock, "lock file"), LOCK_LABEL).releases


def _fetch(
    poetry: Poetry, name: NormalizedName, version: str, locked: Sequence[LockedRelease], trusted: Ledger
) -> tuple[LockedRelease, LeftOut]:
    """The version from the source poetry.lock names for it (else Poetry's search order), keyed by
    the version text the lock or the ledger already uses, so that the approval meets them; and the
    files the source listed for it that are not its own."""
    pinned = [r for r in locked if r.name == name]
    source = next((r.source_reference for r in pinned if r.source_reference), None)
    package, source_name = fetch_package(poetry.pool, name, version, source)
    left_out = _keep_own_files(package, name, version)
    release = release_of(package)
    if not release.files:
        others = "".join(f"; left out: {_shown(filename)} ({why})" for filename, why in left_out)
        raise PinwardenError(f"{name}=={version}: source {source_name!r} lists no files for it{others}")
    # The source's hashes are claims: each is checked against the bytes, and what is recorded is
    # computed from them (also in the algorithms the ledger trusts this version's files by).
    computed = verify_files(poetry.pool, package, ledger_algorithms(trusted, name, release.version))
    files = tuple(LockedFile(filename, d) for filename, digests in sorted(computed.items()) for d in digests)
    release = replace(release, files=files)
    known = [r.version for r in pinned] + [v for (n, v) in trusted.releases if n == name]
    text = next((v for v in known if same_version(v, release.version)), release.version)
    shown = redact_url(release.source_url or "")
    return replace(release, version=text, lockfile=f"source {source_name!r} ({shown})"), left_out


def _keep_own_files(package: Package, name: NormalizedName, version: str) -> LeftOut:
    """Keep only the files whose names packaging reads as this project and version: a source lists
    what it likes under a version (PyPI's JSON API unchecked, a name Poetry reads as this version
    and packaging as none). Done before any download, so a file left out is never fetched."""
    judged = [(f, not_of_release(f["file"], name, version)) for f in package.files]
    package.files = [f for f, why in judged if why is None]
    return [(f["file"], why) for f, why in judged if why is not None]


def _shown(filename: str) -> str:
    """A name from the source, on one line of its own: a newline in it must not forge a line."""
    return filename if filename.isprintable() else ascii(filename)
