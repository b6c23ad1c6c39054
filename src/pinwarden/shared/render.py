"""Findings and ledgers -> text a reviewer reads, or JSON a machine reads. Returns strings only."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import groupby

from .compare import untrusted_keys
from .ledger import Ledger
from .model import Finding, FindingKind, TrustedRelease

_BANNER = "@" * 64
_LABEL = {
    FindingKind.CHANGED_FILE: "CHANGED",
    FindingKind.NEW_FILE: "NEW FILE",
    FindingKind.MISSING_FILE: "MISSING",
    FindingKind.NEW_VERSION: "NEW VERSION",
    FindingKind.BUILD_TAG: "warning",
    FindingKind.SDIST_ADDED: "warning",
    FindingKind.FILENAME_MISMATCH: "MISMATCH",
    FindingKind.WEAK_HASH: "WEAK HASH",
}
_EXPLAIN = {
    FindingKind.CHANGED_FILE: "the same file now has other bytes than when it was trusted",
    FindingKind.NEW_FILE: "a file this version did not have when it was trusted",
    FindingKind.MISSING_FILE: "a trusted file the lock no longer lists (deleted, yanked or dropped upstream)",
    FindingKind.NEW_VERSION: "a version never trusted before",
    FindingKind.FILENAME_MISMATCH: "the filename names another project or version",
    FindingKind.WEAK_HASH: "a hash too weak to trust",
}


def short(value: str | None, width: int = 16) -> str:
    """`sha256:0123abcd…` keeps reports readable; JSON always has the full hash."""
    if value is None:
        return "-"
    algorithm, _, digest = value.partition(":")
    return f"{algorithm}:{digest[:width]}…" if len(digest) > width else value


def findings_json(findings: Sequence[Finding], **extra: object) -> str:
    return json.dumps({"findings": [f.as_json() for f in findings], **extra}, indent=2, sort_keys=False)


def findings_text(
    findings: Sequence[Finding], *, ledger_path: str, approve_prefix: str, lock_args: str = ""
) -> str:
    """The report: an ssh-style banner when trusted bytes changed, then per version, then what to run."""
    if not findings:
        return ""
    lines: list[str] = []
    if any(f.kind is FindingKind.CHANGED_FILE for f in findings):
        lines += [
            _BANNER,
            "@    WARNING: THE CONTENT OF A TRUSTED FILE HAS CHANGED!       @",
            _BANNER,
            "The index now serves other bytes under a filename you trusted. Someone may be",
            "tampering with your dependencies, or the file was rebuilt and re-uploaded.",
            "",
        ]
    versions = untrusted_keys(findings)
    lines.append(f"{len(findings)} finding(s) in {len(versions)} version(s) against {ledger_path}:")
    for (project, version), group in groupby(findings, key=lambda f: (f.project, f.version)):
        lines.append("")
        lines.extend(_version_block(project, version, list(group)))
    lines += ["", "If these changes are expected, review them, then record them:"]
    suffix = f" {lock_args}" if lock_args else ""
    lines += [f"  {approve_prefix} {project}=={version}{suffix}" for project, version in versions]
    return "\n".join(lines) + "\n"


def _version_block(project: str, version: str, group: list[Finding]) -> list[str]:
    lockfiles = sorted({f.lockfile for f in group})
    lines = [f"{project} {version}  ({', '.join(lockfiles)})"]
    for finding in group:
        lines.extend(_finding_lines(finding))
    return lines


def _finding_lines(finding: Finding) -> list[str]:
    label = _LABEL[finding.kind]
    name = finding.filename or ("(hash without a filename)" if finding.hash or finding.trusted_hash else "")
    if finding.kind is FindingKind.NEW_VERSION:
        return [f"  {label:<11} {_EXPLAIN[finding.kind]}; it is trusted when recorded"]
    if label == "warning":
        return [f"  {label:<11} {name}: {finding.detail}"]
    lines = [f"  {label:<11} {name}"]
    if finding.trusted_hash:
        lines.append(f"  {'':<11}   trusted {finding.trusted_hash}")
    if finding.hash:
        lines.append(f"  {'':<11}   locked  {finding.hash}")
    lines.append(f"  {'':<11}   {finding.detail or _EXPLAIN[finding.kind]}")
    return lines


def ledger_text(releases: Iterable[TrustedRelease]) -> str:
    lines: list[str] = []
    for release in releases:
        events = ", ".join(
            f"{e.how.value} {e.at}" + (f" ({e.reason})" if e.reason else "") for e in release.history
        )
        lines.append(f"{release.name} {release.version}  [{events}]")
        if release.index:
            lines.append(f"    index {release.index}")
        if release.source:
            lines.append(f"    source {release.source}")
        for trusted in release.files:
            state = "  (vanished)" if trusted.vanished else ""
            hashes = " ".join(str(h) for h in trusted.hashes)
            lines.append(f"    {trusted.filename or '(no filename)'}  {hashes}{state}")
    return "\n".join(lines) + ("\n" if lines else "")


def ledger_json(releases: Iterable[TrustedRelease]) -> str:
    out = [
        {
            "project": r.name,
            "version": r.version,
            "index": r.index,
            "source": r.source,
            "trusted": [{"how": e.how.value, "at": e.at, "reason": e.reason} for e in r.history],
            "files": [
                {"filename": f.filename, "hashes": [str(h) for h in f.hashes], "vanished": f.vanished}
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
