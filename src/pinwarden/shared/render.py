"""Findings and ledgers -> text a reviewer reads, or JSON a machine reads. Returns strings only."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from typing import TYPE_CHECKING

from .compare import changes_source, untrusted_keys
from .ledger import Ledger
from .model import WARNING_KINDS, Finding, FindingKind, TrustedRelease

if TYPE_CHECKING:
    from .resolve import Resolution

_BANNER = "@" * 64
_LABEL = {
    FindingKind.CHANGED_FILE: "CHANGED",
    FindingKind.NEW_FILE: "NEW FILE",
    FindingKind.MISSING_FILE: "MISSING",
    FindingKind.NEW_VERSION: "NEW VERSION",
    FindingKind.BUILD_TAG: "warning",
    FindingKind.LOCAL_VERSION: "warning",
    FindingKind.DIRECT_URL: "warning",
    FindingKind.SDIST_ADDED: "warning",
    FindingKind.FILENAME_MISMATCH: "MISMATCH",
    FindingKind.WEAK_HASH: "WEAK HASH",
    FindingKind.PROJECT_GONE: "GONE",
    FindingKind.VERSION_GONE: "GONE",
    FindingKind.PROJECT_RECREATED: "warning",
    FindingKind.LATE_UPLOAD: "warning",
    FindingKind.SHAPE_CHANGE: "warning",
    FindingKind.YANKED: "warning",
    FindingKind.FOREIGN_HOST: "HOST",
}
_EXPLAIN = {
    FindingKind.CHANGED_FILE: "the same file now has other bytes than when it was trusted",
    FindingKind.NEW_FILE: "a file this version did not have when it was trusted",
    FindingKind.MISSING_FILE: "a trusted file the lock no longer lists (deleted, yanked or dropped upstream)",
    FindingKind.NEW_VERSION: "a version never trusted before",
    FindingKind.FILENAME_MISMATCH: "the filename names another project or version",
    FindingKind.WEAK_HASH: "a hash too weak to trust",
    FindingKind.PROJECT_GONE: "the index no longer serves this project",
    FindingKind.VERSION_GONE: "the index no longer serves this version",
    FindingKind.FOREIGN_HOST: "the lock fetches this file from a host its index does not use",
}


def short(value: str | None, width: int = 16) -> str:
    """`sha256:0123abcd…` keeps reports readable; JSON always has the full hash."""
    if value is None:
        return "-"
    algorithm, _, digest = value.partition(":")
    return f"{algorithm}:{digest[:width]}…" if len(digest) > width else value


def findings_json(
    findings: Sequence[Finding], resolve: Mapping[Finding, Resolution] | None = None, **extra: object
) -> str:
    """`resolve`: each finding's way out (resolve.py), as a `resolve` object per finding."""

    def one(f: Finding) -> dict[str, object]:
        found = f.as_json()
        if resolve is not None and f in resolve:
            found["resolve"] = resolve[f].as_json()
        return found

    return json.dumps({"findings": [one(f) for f in findings], **extra}, indent=2, sort_keys=False)


def findings_text(
    findings: Sequence[Finding],
    *,
    ledger_path: str,
    approve_prefix: str,
    lock_args: str = "",
    advice: Sequence[str] | None = None,
    bindings: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """The report: an ssh-style banner when trusted bytes changed, then per version, then what to run."""
    if not findings:
        return ""
    lines: list[str] = []
    changed = [f for f in findings if f.kind is FindingKind.CHANGED_FILE]
    if changed:
        lines += [
            _BANNER,
            "@    WARNING: THE CONTENT OF A TRUSTED FILE HAS CHANGED!       @",
            _BANNER,
            *_changed_explained(changed),
            "",
        ]
    versions = untrusted_keys(findings)
    lines.append(f"{len(findings)} finding(s) in {len(versions)} version(s) against {ledger_path}:")
    for (project, version), group in groupby(findings, key=lambda f: (f.project, f.version)):
        lines.append("")
        lines.extend(_version_block(project, version, list(group)))
    if advice is not None:
        return "\n".join([*lines, "", *advice]) + "\n"
    lines += ["", "If these changes are expected, review them, then record them:"]
    suffix = f" {lock_args}" if lock_args else ""
    bound = bindings or {}
    lines += [
        " ".join(w for w in (f"  {approve_prefix} {p}=={v}{suffix}", bound.get((p, v))) if w)
        for p, v in versions
    ]
    return "\n".join(lines) + "\n"


def _changed_explained(changed: Sequence[Finding]) -> list[str]:
    if all(f.hash is not None and f.hash == f.trusted_hash for f in changed):
        return [
            "A lock records another size for a file you trusted than the trusted one: whatever its",
            "hash says, it does not describe the trusted bytes (a hand-edited or forged lock).",
        ]
    if all(changes_source(f) for f in changed):
        return [
            "A trusted version now comes from a local directory or git commit the ledger never",
            "trusted for it. No hash pins what it holds: whatever is there would be installed.",
        ]
    return [
        "The index now serves other bytes under a filename you trusted. Someone may be",
        "tampering with your dependencies, or the file was rebuilt and re-uploaded.",
    ]


def _version_block(project: str, version: str, group: list[Finding]) -> list[str]:
    lockfiles = sorted({f.lockfile for f in group})
    lines = [f"{project} {version}  ({', '.join(lockfiles)})"]
    new_files = [f for f in group if f.kind is FindingKind.NEW_FILE and f.filename]
    for finding in group:
        if len(new_files) > 1 and finding in new_files:
            if finding is new_files[0]:  # a batch is one entry; JSON keeps each file and its hash
                lines.extend(_new_files_lines(new_files))
            continue
        lines.extend(_finding_lines(finding))
    return lines


def _new_files_lines(batch: Sequence[Finding]) -> list[str]:
    names = sorted(f.filename or "" for f in batch)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    details = sorted({f.detail or _EXPLAIN[FindingKind.NEW_FILE] for f in batch})
    return [f"  {_LABEL[FindingKind.NEW_FILE]:<11} {len(names)} files: {shown}"] + [
        f"  {'':<11}   {detail}" for detail in details
    ]


def _finding_lines(finding: Finding) -> list[str]:
    label = _LABEL[finding.kind] if finding.blocking else "info"
    name = finding.filename or ("(hash without a filename)" if finding.hash or finding.trusted_hash else "")
    if finding.kind is FindingKind.NEW_VERSION:
        return [f"  {label:<11} {_EXPLAIN[finding.kind]}; it is trusted when recorded"]
    if finding.kind in WARNING_KINDS:
        return [f"  {label:<11} {name}: {finding.detail}" if name else f"  {label:<11} {finding.detail}"]
    if finding.kind in (FindingKind.PROJECT_GONE, FindingKind.VERSION_GONE):
        return [f"  {label:<11} {finding.detail or _EXPLAIN[finding.kind]}"]
    lines = [f"  {label:<11} {name}"]
    # Audit findings describe the index: their hash is what it serves, not what a lock holds.
    source = "served " if finding.evidence is not None and "index" in finding.evidence else "locked "
    if finding.trusted_hash:
        lines.append(f"  {'':<11}   trusted {finding.trusted_hash}")
    if finding.hash:
        lines.append(f"  {'':<11}   {source} {finding.hash}")
    lines.append(f"  {'':<11}   {finding.detail or _EXPLAIN[finding.kind]}")
    return lines


def ledger_text(releases: Iterable[TrustedRelease]) -> str:
    lines: list[str] = []
    for release in releases:
        events = ", ".join(
            f"{e.how.value} {e.at}"
            + (f" (dated from {e.since})" if e.since else "")
            + (f" ({e.reason})" if e.reason else "")
            for e in release.history
        )
        lines.append(f"{release.name} {release.version}  [{events}]")
        if release.index:
            lines.append(f"    index {release.index}")
        if release.source:
            lines.append(f"    source {release.source}")
        for trusted in release.files:
            state = "  (vanished)" if trusted.vanished else ""
            size = f"  {trusted.size} bytes" if trusted.size is not None else ""
            hashes = " ".join(str(h) for h in trusted.hashes)
            lines.append(f"    {trusted.filename or '(no filename)'}  {hashes}{size}{state}")
    return "\n".join(lines) + ("\n" if lines else "")


def ledger_json(releases: Iterable[TrustedRelease]) -> str:
    out = [
        {
            "project": r.name,
            "version": r.version,
            "index": r.index,
            "source": r.source,
            "trusted": [
                {"how": e.how.value, "at": e.at, "since": e.since, "reason": e.reason} for e in r.history
            ],
            "files": [
                {
                    "filename": f.filename,
                    "hashes": [str(h) for h in f.hashes],
                    "vanished": f.vanished,
                    "size": f.size,
                }
                for f in r.files
            ],
        }
        for r in releases
    ]
    return json.dumps({"releases": out}, indent=2)


def select(ledger: Ledger, name: str | None) -> list[TrustedRelease]:
    from .filenames import version_key

    keys = sorted(ledger.releases, key=lambda k: (k[0], version_key(k[1])))
    return [ledger.releases[k] for k in keys if name is None or k[0] == name]


def audit_summary(
    *, releases: int, pages: int, requests: int, findings: int, recorded: int, baseline: str, errors: int
) -> str:
    """The closing lines of a text audit: what was asked, and what the baseline took in."""
    lines = []
    if recorded:
        lines.append(
            f"pinwarden: recorded what the index serves for {recorded} version(s) in {baseline} "
            "(seen, not trusted); commit it beside the ledger"
        )
    state = "could not audit everything" if errors else ("findings above" if findings else "nothing changed")
    lines.append(
        f"pinwarden: audited {releases} locked version(s) on {pages} project page(s), "
        f"{requests} request(s): {state}"
    )
    return "\n".join(lines) + "\n"


def builds_text(builds: Sequence[tuple[str, str, str]], *, refused: bool) -> str:
    """Versions an install builds from source, as (project, version, how): their build backends are
    fetched from the index at install, unpinned and unhashed, and run with the user's rights."""
    if not builds:
        return ""
    head = "refused" if refused else "warning"
    lines = [
        f"pinwarden: {head}: {len(builds)} version(s) would be built at install; each build backend "
        "and its build requirements come from the index unpinned and unhashed (no lock covers them):"
    ]
    lines += [f"  {project} {version}  ({how})" for project, version, how in sorted(builds)]
    return "\n".join(lines) + "\n"
