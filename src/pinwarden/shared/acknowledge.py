"""Acknowledgments: a person's record that an upstream fact the audit reported is known. Pure,
apart from `who()`.

Some findings no approval can end, because they are facts of the index rather than bytes to
trust: a yanked locked file, a version or project the index no longer serves, a trusted file
deleted upstream, a file the lock leaves out on purpose, a project whose history was rewritten.
`pinwarden acknowledge NAME==VERSION --reason TEXT` records, for that version, exactly which
findings were seen (their kind, file and digest), by whom, when and why. The audit then leaves
those findings out; anything new about the version (another file yanked, a file with other bytes,
another trusted version gone) is another finding and is reported.

Acknowledgments live in the audit baseline file, never in the ledger: they say what was seen and
accepted as a fact, and grant no trust (check, installs and the guards never read them).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import PinwardenError
from .model import Finding, FindingKind, NormalizedName
from .signs import late_filenames

Key = tuple[NormalizedName, str]

# Findings of the index that an acknowledgment may end. A changed trusted file never: new bytes
# under a trusted name are approved (with a reason) or not at all.
ACKNOWLEDGEABLE = frozenset(
    {
        FindingKind.YANKED,
        FindingKind.VERSION_GONE,
        FindingKind.PROJECT_GONE,
        FindingKind.MISSING_FILE,
        FindingKind.NEW_FILE,
        FindingKind.LATE_UPLOAD,
        FindingKind.BUILD_TAG,
        FindingKind.SDIST_ADDED,
        FindingKind.PROJECT_RECREATED,
    }
)


@dataclass(frozen=True, slots=True, order=True)
class Subject:
    """One fact an acknowledgment covers: a finding's kind, its file and its digest (or the
    evidence that tells one state of the index from another, where a finding has no file)."""

    kind: str
    file: str | None = None
    hash: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Acknowledgment:
    project: NormalizedName
    version: str
    by: str
    at: str
    reason: str
    subjects: tuple[Subject, ...]

    @property
    def key(self) -> Key:
        return (self.project, self.version)


def from_index(finding: Finding) -> bool:
    """A finding read from an index (the audit's), not one of a lock against the ledger."""
    return finding.evidence is not None and "index" in finding.evidence


def acknowledgeable(finding: Finding) -> bool:
    return finding.kind in ACKNOWLEDGEABLE and from_index(finding)


def subjects(finding: Finding) -> tuple[Subject, ...]:
    """What a finding is about, precisely enough that a further change is another subject."""
    evidence: Mapping[str, object] = finding.evidence or {}
    kind = finding.kind.value
    if finding.kind is FindingKind.YANKED and finding.filename is None:
        files = evidence.get("files")
        names = [str(f) for f in files] if isinstance(files, list) else []
        return tuple(Subject(kind, name) for name in sorted(names))
    if finding.kind is FindingKind.LATE_UPLOAD and finding.filename is None:
        # One finding for a batch: each file is a subject, so a later batch is news (attack round 10).
        return tuple(Subject(kind, name) for name in sorted(late_filenames(None, evidence)))
    if finding.kind is FindingKind.PROJECT_RECREATED:
        vanished = evidence.get("vanished_versions")
        versions = ",".join(str(v) for v in vanished) if isinstance(vanished, list) else None
        oldest = evidence.get("oldest_upload")
        return (Subject(kind, versions or None, str(oldest) if oldest else None),)
    if finding.kind in (FindingKind.VERSION_GONE, FindingKind.PROJECT_GONE):
        return (Subject(kind),)
    return (Subject(kind, finding.filename, finding.hash or finding.trusted_hash),)


def covered(finding: Finding, acknowledged: Iterable[Acknowledgment]) -> bool:
    """True when acknowledgments of this version name every subject of the finding."""
    if not acknowledgeable(finding):
        return False
    known = {s for a in acknowledged if a.key == finding.key for s in a.subjects}
    wanted = subjects(finding)
    return bool(wanted) and all(s in known for s in wanted)


def acknowledge(
    findings: Sequence[Finding], key: Key, *, by: str, at: str, reason: str
) -> Acknowledgment | None:
    """The acknowledgment of one version's acknowledgeable findings; None when it has none."""
    found = sorted({s for f in findings if f.key == key and acknowledgeable(f) for s in subjects(f)})
    if not found:
        return None
    return Acknowledgment(project=key[0], version=key[1], by=by, at=at, reason=reason, subjects=tuple(found))


def who(project_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    """Who acknowledges: git's user.name <user.email> in the project, else $USER (or $LOGNAME)."""
    environ = os.environ if environ is None else environ
    name, email = _git_config(project_dir, "user.name"), _git_config(project_dir, "user.email")
    if name:
        return f"{name} <{email}>" if email else name
    user = environ.get("USER") or environ.get("LOGNAME")
    if user:
        return user
    raise PinwardenError("cannot tell who acknowledges: set git's user.name or $USER")


def _git_config(project_dir: Path, key: str) -> str:
    try:
        done = subprocess.run(
            ["git", "config", "--get", key],
            cwd=project_dir,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    value = done.stdout.strip() if done.returncode == 0 else ""
    return value if value.isprintable() else ""
