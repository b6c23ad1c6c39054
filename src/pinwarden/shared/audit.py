"""The audit: ledger x baseline x locked releases x what the indexes serve -> findings. Pure.

For every locked version:
- against the ledger, always: a trusted file served with other bytes (`changed-file`), a trusted
  file no longer served (`missing-file`), the version or the whole project gone;
- against the baseline (what the index served when the audit first looked, seen and never
  trusted): files that appeared since, or that came back with other bytes (`new-file`), and newly
  yanked locked files;
- the warning signs of signs.py on whatever is new, and on versions the ledger has never trusted.

The first audit of a version has no baseline to compare with: a served file the ledger does not
trust is taken as left out of the lock on purpose (requires-python, --only-binary, yanked) and
recorded quietly, unless the index says it was uploaded after the version was last trusted, which
the lock could not have left out on purpose. Files reported stay out of the recorded baseline, so
they stay reported until someone approves them or acknowledges them (`pinwarden acknowledge`,
`--update-baseline`); acknowledged findings (acknowledge.py) are left out until something new happens.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from . import signs
from .acknowledge import covered
from .baseline import Baseline, SeenFile, SeenRelease
from .compare import compare
from .filenames import parse_filename, same_version
from .index.pages import Observed
from .index.simple import IndexFile
from .ledger import Key, Ledger
from .model import (
    FileHash,
    Finding,
    FindingKind,
    LockedRelease,
    NormalizedName,
    SourceKind,
    TrustedFile,
    TrustedRelease,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """One locked release, what its indexes serve for its project, and the index its lock names."""

    release: LockedRelease
    observed: Observed
    named_index: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSettings:
    late_upload_days: int = signs.DEFAULT_LATE_UPLOAD_DAYS
    update_baseline: bool = False  # acknowledge everything served now as seen
    now: str = ""  # the `seen` time of baseline entries written now
    file_hosts: tuple[str, ...] = ()  # hosts a uv.lock or pylock.toml may fetch files from (lockfacts)


@dataclass(frozen=True, slots=True)
class AuditResult:
    findings: tuple[Finding, ...]
    errors: tuple[str, ...]
    baseline: Baseline
    recorded: tuple[Key, ...] = field(default=())  # versions whose baseline was (re)written
    not_audited: int = 0  # locked versions an index failed for (errors holds one line per index down)


UNREACHABLE_HINT = "check the index URL (the lock's source, or --index-url), the network and any proxy"
SHOWN_VERSIONS = 3  # an unreachable index's line names this many of the versions it left unaudited


MAX_EVIDENCE_ITEMS = 10  # a list in a finding's evidence; a wheel-rich version has over a hundred files


def bounded(key: str, items: Sequence[str]) -> dict[str, object]:
    """A list of evidence cut to MAX_EVIDENCE_ITEMS, with `<key>_total` when it was cut: JSON
    readers get what to look at, not every wheel of a release."""
    if len(items) <= MAX_EVIDENCE_ITEMS:
        return {key: list(items)}
    return {key: list(items[:MAX_EVIDENCE_ITEMS]), f"{key}_total": len(items)}


def _unreachable(index: str, why: str, keys: Sequence[Key]) -> str:
    """One line per unreachable index: the cause, how many versions it left, and what to check."""
    names = ", ".join(f"{name} {version}" for name, version in sorted(keys)[:SHOWN_VERSIONS])
    more = f" and {len(keys) - SHOWN_VERSIONS} more" if len(keys) > SHOWN_VERSIONS else ""
    count = "1 locked version" if len(keys) == 1 else f"{len(keys)} locked versions"
    return f"index {index} is unreachable ({why}): {count} not audited ({names}{more}); {UNREACHABLE_HINT}"


def audit(
    ledger: Ledger, baseline: Baseline, subjects: Sequence[Subject], settings: AuditSettings
) -> AuditResult:
    from .lockfacts import LockRules

    rules = LockRules(file_hosts=settings.file_hosts, late_upload_days=settings.late_upload_days)
    findings: set[Finding] = set(compare(ledger, (s.release for s in subjects), rules))
    errors: list[str] = []
    down: dict[str, tuple[str, list[Key]]] = {}  # unreachable index -> (why, versions not audited)
    recorded: dict[Key, SeenRelease] = {}
    for key, group in _by_version(subjects).items():
        subject = group[0]
        if subject.observed.failures:
            for failure in subject.observed.failures:
                if failure.unreachable:
                    down.setdefault(failure.index, (failure.reason, []))[1].append(key)
                else:
                    errors.append(f"{key[0]} {key[1]}: {failure}")
            continue
        found, seen = _audit_version(ledger, baseline, subject, _lockfiles(group), settings)
        findings.update(found)
        if seen is not None:
            recorded[key] = seen
    findings.update(_recreated(ledger, subjects))
    errors += [_unreachable(index, why, keys) for index, (why, keys) in down.items()]
    # What a person acknowledged (`pinwarden acknowledge`) is left out; anything new is not.
    findings = {f for f in findings if not covered(f, baseline.acknowledged)}
    return AuditResult(
        findings=tuple(sorted(findings, key=Finding.sort_key)),
        errors=tuple(dict.fromkeys(errors)),
        not_audited=len({k for k, g in _by_version(subjects).items() if g[0].observed.failures}),
        baseline=baseline.with_releases(recorded.values()),
        recorded=tuple(recorded),
    )


def _by_version(subjects: Iterable[Subject]) -> dict[Key, list[Subject]]:
    groups: dict[Key, list[Subject]] = {}
    for subject in subjects:
        if subject.release.source_kind is SourceKind.INDEX:
            groups.setdefault(subject.release.key, []).append(subject)
    return groups


def _lockfiles(group: Sequence[Subject]) -> str:
    return ", ".join(sorted({s.release.lockfile for s in group}))


# ---------------------------------------------------------------------------------------------
# One version


@dataclass(frozen=True, slots=True)
class _Version:
    """One locked version as the audit sees it."""

    release: LockedRelease
    lockfile: str
    served: tuple[IndexFile, ...]
    trusted: TrustedRelease | None
    seen: SeenRelease | None
    indexes: tuple[str, ...]

    def finding(
        self,
        kind: FindingKind,
        *,
        filename: str | None,
        detail: str,
        hash: str | None = None,
        trusted_hash: str | None = None,
        evidence: Mapping[str, object] | None = None,
    ) -> Finding:
        return Finding(
            kind=kind,
            project=self.release.name,
            version=self.release.version,
            lockfile=self.lockfile,
            filename=filename,
            hash=hash,
            trusted_hash=trusted_hash,
            detail=detail,
            evidence={**self._where(), **(evidence or {})},
        )

    def _where(self) -> dict[str, object]:
        return {"index": list(self.indexes)} if self.indexes else {}

    def sign(self, sign: signs.Sign) -> Finding:
        evidence = {**self._where(), **sign.evidence}
        return Finding(
            kind=sign.kind,
            project=self.release.name,
            version=self.release.version,
            lockfile=self.lockfile,
            filename=sign.filename,
            detail=sign.detail,
            evidence=evidence,
            blocking=sign.blocking,
        )


def _audit_version(
    ledger: Ledger, baseline: Baseline, subject: Subject, lockfile: str, settings: AuditSettings
) -> tuple[list[Finding], SeenRelease | None]:
    release, observed = subject.release, subject.observed
    trusted = ledger.get(release.name, release.version)
    seen = baseline.get(release.name, release.version)
    if not observed.found:
        return [_gone(release, lockfile, observed, FindingKind.PROJECT_GONE, trusted)], None
    served = tuple(_files_of(observed.files, release, trusted, seen))
    if trusted is not None:
        trusted = replace(trusted, files=_named(trusted.files, seen))
    version = _Version(release, lockfile, served, trusted, seen, observed.indexes)
    if not served:
        return [_gone(release, lockfile, observed, FindingKind.VERSION_GONE, trusted)], None
    if trusted is None:
        found = list(_new_version_signs(version, ledger, observed.files, settings))
    else:
        found = list(_against_trust(version)) + list(_upstream_changes(version, settings))
    return found, _seen_now(version, found, settings)


def _files_of(
    files: Iterable[IndexFile],
    release: LockedRelease,
    trusted: TrustedRelease | None,
    seen: SeenRelease | None,
) -> Iterator[IndexFile]:
    """The version's files: by what their names parse as, and any name the ledger or the baseline
    already holds for it (`cffi-1.0.2-2.tar.gz` parses as another project; an `.exe` not at all)."""
    known = {f.filename for f in trusted.files if f.filename} if trusted else set()
    known |= {f.filename for f in seen.files} if seen else set()
    hashes = {h for f in trusted.files for h in f.hashes} if trusted else set()
    hashes |= {f.hash for f in release.files}
    emitted: set[str] = set()
    for file in files:
        if file.filename in emitted:
            continue  # the same file on two indexes: the first one listed wins, as pip's order
        if (
            signs.of_version(file.filename, release.name, release.version)
            or file.filename in known
            or (signs.version_text(file.filename) is None and _installer(file.filename, release))
            or hashes.intersection(file.hashes)  # an odd name for bytes this version pins
        ):
            emitted.add(file.filename)
            yield file


def _installer(filename: str, release: LockedRelease) -> bool:
    return parse_filename(filename).name is None and installer_of(filename, release.name, release.version)


def installer_of(filename: str, project: NormalizedName, version: str) -> bool:
    """Old releases carry `.exe`/`.msi` installers (`coverage-3.0.1.win32-py2.3.exe`) that no parser
    reads: they belong to the version their name starts with. Only for names that parse as nothing,
    so that `cffi-1.0.2-2.tar.gz` (version 2 of `cffi-1-0-2`) is never taken for cffi 1.0.2's."""
    stem = filename.lower().replace("_", "-")
    if not stem.startswith(f"{project}-"):
        return False
    rest = stem[len(project) + 1 :]
    # The version part ends at a dot or dash; `0.6c11` is 0.6rc11 spelled the old way.
    ends = [i for i, char in enumerate(rest) if char in ".-"]
    return any(same_version(rest[:end], version) for end in ends if end)


def _named(files: tuple[TrustedFile, ...], seen: SeenRelease | None) -> tuple[TrustedFile, ...]:
    """Hashes trusted from a requirements file get the filename the baseline saw them under, so a
    file replaced upstream reads as CHANGED rather than as one new file and one missing."""
    if seen is None or all(f.filename is not None for f in files):
        return files
    named = []
    for trusted in files:
        names = {
            s.filename for s in seen.files if trusted.filename is None and set(s.hashes) & set(trusted.hashes)
        }
        taken = any(f.filename in names for f in files)
        named.append(replace(trusted, filename=names.pop()) if len(names) == 1 and not taken else trusted)
    return tuple(named)


def _gone(
    release: LockedRelease,
    lockfile: str,
    observed: Observed,
    kind: FindingKind,
    trusted: TrustedRelease | None,
) -> Finding:
    files = sorted(f.filename for f in trusted.files if f.filename and not f.vanished) if trusted else []
    what = "project" if kind is FindingKind.PROJECT_GONE else "version"
    return Finding(
        kind=kind,
        project=release.name,
        version=release.version,
        lockfile=lockfile,
        detail=f"the index no longer serves this {what}: deleted upstream, or the wrong index is asked",
        evidence={"index": list(observed.indexes), **bounded("trusted_files", files)},
    )


# ---------------------------------------------------------------------------------------------
# A trusted version


def _against_trust(version: _Version) -> Iterator[Finding]:
    """Trusted files: other bytes under the same name, or gone from the index. Always reported."""
    assert version.trusted is not None
    by_name = {f.filename: f for f in version.served}
    served_hashes = {h for f in version.served for h in f.hashes}
    for known in version.trusted.files:
        file = by_name.get(known.filename) if known.filename else None
        if file is not None:
            changed = _changed(known, file)
            if changed is not None:
                yield version.finding(
                    FindingKind.CHANGED_FILE,
                    filename=file.filename,
                    hash=str(changed[0]),
                    trusted_hash=str(changed[1]),
                    detail="the index now serves other bytes under a trusted filename"
                    + (" (one no longer locked)" if known.vanished else ""),
                )
            continue
        if known.vanished or served_hashes.intersection(known.hashes):
            continue  # left the lock earlier, or the same bytes under another spelling of the name
        if known.filename is None and not _comparable(known, version.served):
            continue  # a hash from a requirements file, and a page without such hashes
        yield version.finding(
            FindingKind.MISSING_FILE,
            filename=known.filename,
            trusted_hash=str(known.hashes[0]),
            detail="a trusted file the index no longer serves (deleted upstream)",
        )


def _changed(known: TrustedFile, file: IndexFile) -> tuple[FileHash, FileHash] | None:
    """(served, trusted) digests of one algorithm that differ; None when they agree or cannot be told."""
    for trusted_hash in known.hashes:
        served = file.hash(trusted_hash.algorithm)
        if served is not None:
            return None if served == trusted_hash else (served, trusted_hash)
    return None


def _comparable(known: TrustedFile, served: Sequence[IndexFile]) -> bool:
    algorithms = {h.algorithm for h in known.hashes}
    return any(h.algorithm in algorithms for f in served for h in f.hashes)


def _upstream_changes(version: _Version, settings: AuditSettings) -> Iterator[Finding]:
    """Files the ledger does not trust, against the baseline (or, on a first look, upload times)."""
    assert version.trusted is not None
    trusted_names = {f.filename for f in version.trusted.files if f.filename}
    trusted_hashes = {h for f in version.trusted.files for h in f.hashes}
    names = [f.filename for f in version.served]
    new = [
        f
        for f in version.served
        if f.filename not in trusted_names
        and not trusted_hashes.intersection(f.hashes)
        and _is_new(version, f)
    ]
    late = signs.late_uploads(version.served, settings.late_upload_days, only={f.filename for f in new})
    # A late wheel for a newer interpreter is information: reported once, in one line for the
    # batch, and recorded as seen (no new-file finding holds it back from the baseline).
    benign = {
        name
        for sign in late
        if not sign.blocking
        for name in signs.late_filenames(sign.filename, sign.evidence)
    }
    for file in new:
        if file.filename in benign:
            continue
        yield version.finding(
            FindingKind.NEW_FILE,
            filename=file.filename,
            hash=str(file.hashes[0]) if file.hashes else None,
            detail=_new_file_detail(version, file),
            evidence=_file_evidence(version, file),
        )
        for sign in (
            signs.build_tag(file.filename, names),
            signs.sdist_added_to_wheels(file.filename, version.trusted),
        ):
            if sign is not None:
                yield version.sign(sign)
    for sign in late:
        yield version.sign(sign)
    yield from _newly_yanked(version)


def _is_new(version: _Version, file: IndexFile) -> bool:
    if version.seen is not None:
        earlier = version.seen.file(file.filename)
        return earlier is None or (bool(earlier.hashes) and not set(earlier.hashes) & set(file.hashes))
    # First look: only what was uploaded after the version was last trusted is known to be new.
    uploaded = signs.parse_time(file.upload_time)
    trusted_at = _trusted_at(version)
    return uploaded is not None and trusted_at is not None and uploaded > trusted_at


def _trusted_at(version: _Version) -> datetime | None:
    """When the version was last trusted; an adoption dates from the commit that first locked it."""
    assert version.trusted is not None
    return max((t for e in version.trusted.history if (t := signs.trusted_from(e))), default=None)


def _new_file_detail(version: _Version, file: IndexFile) -> str:
    if version.seen is None:
        assert version.trusted is not None
        if version.trusted.history[-1].since:
            return (
                "uploaded after the lock first held this version (its trust dates from then); "
                "the ledger does not trust it"
            )
        return "uploaded after this version was trusted; the ledger does not trust it"
    if version.seen.file(file.filename) is not None:
        return f"served with other bytes than when the audit first saw it ({version.seen.seen})"
    if _held_back(version, file):
        return (
            f"uploaded after this version was trusted; reported since the audit first looked "
            f"({version.seen.seen}); the ledger does not trust it"
        )
    return f"not served when the audit first looked ({version.seen.seen}); the ledger does not trust it"


def _held_back(version: _Version, file: IndexFile) -> bool:
    """Served when the audit first looked, and left out of its baseline then as new: uploaded after
    the version's trust and before that look (a file not in the baseline and uploaded earlier than
    the trust would have been recorded, had it been served)."""
    assert version.seen is not None and version.trusted is not None
    uploaded, looked = signs.parse_time(file.upload_time), signs.parse_time(version.seen.seen)
    if uploaded is None or looked is None:
        return False
    times = [t for e in version.trusted.history if (t := signs.parse_time(e.at)) and t <= looked]
    return bool(times) and max(times) < uploaded <= looked


def _file_evidence(version: _Version, file: IndexFile) -> dict[str, object]:
    evidence: dict[str, object] = {"upload_time": file.upload_time, "size": file.size}
    trusted_at = _trusted_at(version) if version.seen is None else None
    if trusted_at is not None:  # a first look: the upload time is compared with this
        evidence["trusted_from"] = trusted_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = version.seen.file(file.filename) if version.seen else None
    if earlier is not None:
        evidence["seen_hashes"] = [str(h) for h in earlier.hashes]
    return evidence


def _newly_yanked(version: _Version) -> Iterator[Finding]:
    """Yanks of files the lock pins, not yanked when the audit first looked."""
    locked = _locked_names(version)
    pinned = [f for f in version.served if f.filename in locked]
    already = {f.filename for f in version.seen.files if f.yanked} if version.seen else set()
    fresh = [f for f in pinned if f.yanked is not False and f.filename not in already]
    if not fresh:
        return
    every = all(f.yanked is not False for f in version.served)
    for sign in signs.yanked(version.served if every else pinned, only={f.filename for f in fresh}):
        yield version.sign(sign)


def _locked_names(version: _Version) -> set[str]:
    hashes = {f.hash for f in version.release.files}
    names = {f.filename for f in version.release.files if f.filename}
    return names | {f.filename for f in version.served if hashes.intersection(f.hashes)}


# ---------------------------------------------------------------------------------------------
# A version the ledger never trusted


def _new_version_signs(
    version: _Version, ledger: Ledger, project_files: Sequence[IndexFile], settings: AuditSettings
) -> Iterator[Finding]:
    """compare() reports it as a new version; the index says whether it looks like the others."""
    days = settings.late_upload_days
    found: list[signs.Sign] = [
        *signs.late_uploads(version.served, days),
        *signs.sdist_added_late(version.served, days),
        *signs.yanked(version.served, only=_locked_names(version)),
    ]
    shape = _shape_change(version, ledger, project_files)
    if shape is not None:
        found.append(shape)
    for sign in found:
        yield version.sign(sign)


def _shape_change(version: _Version, ledger: Ledger, project_files: Sequence[IndexFile]) -> signs.Sign | None:
    release = version.release
    trusted = [r for (name, _), r in ledger.releases.items() if name == release.name]
    previous = signs.last_trusted(trusted, release.version)
    if previous is None:
        return None
    old = [f.filename for f in previous.files if f.filename]
    if not old:  # trusted from a requirements file: the index's list of that version stands in
        old = [f.filename for f in _files_of(project_files, _as_locked(previous), previous, None)]
    return signs.shape_change(release.version, [f.filename for f in version.served], previous.version, old)


def _as_locked(trusted: TrustedRelease) -> LockedRelease:
    return LockedRelease(name=trusted.name, version=trusted.version, files=(), lockfile="")


# ---------------------------------------------------------------------------------------------
# The project


def _recreated(ledger: Ledger, subjects: Sequence[Subject]) -> Iterator[Finding]:
    """Once per project, on its first locked version: does the index's history still reach back?"""
    done: set[NormalizedName] = set()
    for subject in subjects:
        release = subject.release
        if release.name in done or subject.observed.failures or not subject.observed.files:
            continue
        if release.source_kind is not SourceKind.INDEX:
            continue
        done.add(release.name)
        # Locked versions that vanished are reported as version-gone already.
        locked = {s.release.version for s in subjects if s.release.name == release.name}
        trusted = [
            r
            for (name, version), r in ledger.releases.items()
            if name == release.name and version not in locked and _same_index(r.index, subject.named_index)
        ]
        sign = signs.project_recreated(subject.observed.files, trusted)
        if sign is not None:
            yield Finding(
                kind=sign.kind,
                project=release.name,
                version=release.version,
                lockfile=release.lockfile,
                detail=sign.detail,
                evidence={"index": list(subject.observed.indexes), **sign.evidence}
                if subject.observed.indexes
                else dict(sign.evidence),
            )


def _same_index(trusted_index: str | None, named: str | None) -> bool:
    """A version trusted from another index says nothing about this one."""
    from .index.sources import same_index

    if trusted_index is None or named is None:
        return True
    return same_index(trusted_index, named)


# ---------------------------------------------------------------------------------------------
# The baseline


def _seen_now(version: _Version, found: Sequence[Finding], settings: AuditSettings) -> SeenRelease | None:
    """What the baseline records: written once per version (or on --update-baseline), without the
    files and yanks just reported, so that they stay reported until someone acts on them. A trusted
    file served with other bytes is never recorded with them, not even on --update-baseline: the
    baseline also names hashes from requirements files, and must keep naming the trusted bytes."""
    update = settings.update_baseline
    if version.seen is not None and not update:
        return None
    held_back = {f.filename for f in found if f.kind is FindingKind.CHANGED_FILE}
    if not update:
        held_back |= {f.filename for f in found if f.kind is FindingKind.NEW_FILE}
    news = set() if update else {f.filename for f in found if f.kind is FindingKind.YANKED}
    files: list[SeenFile] = []
    for file in version.served:
        if file.filename in held_back:
            earlier = version.seen.file(file.filename) if version.seen else None
            files.extend([earlier] if earlier is not None else [])
            continue
        fresh_yank = file.filename in news or None in news  # None: the whole version's yank
        files.append(
            SeenFile(
                filename=file.filename,
                hashes=tuple(h for h in file.hashes if h.strong),
                yanked=file.yanked is not False and not fresh_yank,
            )
        )
    index = version.indexes[0] if version.indexes else None
    return SeenRelease(
        name=version.release.name,
        version=version.release.version,
        seen=settings.now,
        files=tuple(files),
        index=index,
    )


# ---------------------------------------------------------------------------------------------
# Signs for the Poetry plugin's and the pip-compile wrapper's reviews


def signs_for_review(
    ledger: Ledger,
    releases: Iterable[LockedRelease],
    findings: Sequence[Finding],
    project_files: Mapping[NormalizedName, Sequence[IndexFile]],
    *,
    late_upload_days: int = signs.DEFAULT_LATE_UPLOAD_DAYS,
) -> tuple[Finding, ...]:
    """Index-data signs for what a review is about to trust: versions never trusted (late uploads, an
    sdist come late, yanks, a shape unlike the last trusted version, a recreated project) and new
    files of trusted versions (late uploads). Only projects whose page is at hand are read."""
    new_versions = {(f.project, f.version) for f in findings if f.kind is FindingKind.NEW_VERSION}
    new_files: dict[Key, set[str]] = {}
    for finding in findings:
        if finding.kind is FindingKind.NEW_FILE and finding.filename:
            new_files.setdefault((finding.project, finding.version), set()).add(finding.filename)
    settings = AuditSettings(late_upload_days=late_upload_days)
    found: set[Finding] = set()
    for release in releases:
        files = project_files.get(release.name)
        if files is None or (release.key not in new_versions and release.key not in new_files):
            continue
        trusted = ledger.get(release.name, release.version)
        served = tuple(_files_of(files, release, trusted, None))
        version = _Version(release, release.lockfile, served, trusted, None, ())
        if release.key in new_versions:
            found.update(_new_version_signs(version, ledger, files, settings))
            found.update(_recreated(ledger, [Subject(release=release, observed=_at_hand(files))]))
        else:
            only = new_files[release.key]
            found.update(version.sign(s) for s in signs.late_uploads(served, late_upload_days, only=only))
    return tuple(sorted(found, key=Finding.sort_key))


def _at_hand(files: Sequence[IndexFile]) -> Observed:
    return Observed(files=tuple(files), indexes=(), found=True, failures=())
