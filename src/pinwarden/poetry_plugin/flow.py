"""The plugin's review: locked releases x the ledger -> what may be written, asking a person when needed.

No Poetry here. guard.py turns Poetry's packages and lock data into releases and supplies `Hooks` (the
prompt, downloads, yank lookups); this module decides through the shared approval flow and writes the
ledger under its file lock. Imported only once a lock is about to be written or packages installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..shared.approval import bindings
from ..shared.compare import compare, trusted_subset
from ..shared.decide import (
    Answer,
    Choice,
    Decisions,
    Plan,
    Question,
    answers,
    apply,
    decide,
    earlier_choice,
    plan,
)
from ..shared.errors import PinwardenError
from ..shared.ledger import Key, Ledger
from ..shared.locks.poetry_lock import parse_poetry_lock
from ..shared.model import (
    FileHash,
    Finding,
    FindingKind,
    LockedRelease,
    NormalizedName,
    TrustedFile,
    TrustHow,
    hash_sort_key,
)
from ..shared.notices import first_use_lines, shown_path
from ..shared.render import findings_text, short
from ..shared.store import (
    LedgerStore,
    ledger_notice,
    ledger_path,
    load_settings,
    project_root,
    read_text,
    utc_now,
)
from ..shared.trust import record

if TYPE_CHECKING:
    from ..shared.index.simple import IndexFile

APPROVE_PREFIX = "poetry pinwarden approve"
LOCK_LABEL = "poetry.lock"

# Digests by algorithm, or why the file could not be had (a str), or None when not known.
Digests = Mapping[str, str] | str | None
Verify = Callable[[Key, str, tuple[str, ...]], Digests]
Yanked = Callable[[Key, str], "str | None"]
IndexFiles = Callable[[NormalizedName], "Sequence[IndexFile] | None"]


def _no_verify(key: Key, filename: str, algorithms: tuple[str, ...]) -> Digests:
    return None


def _no_yank(key: Key, filename: str) -> str | None:
    return None


def _no_index(name: NormalizedName) -> Sequence[IndexFile] | None:
    return None


@dataclass(frozen=True)
class Hooks:
    """What the Poetry side provides. `ask` is None when nobody is at the terminal."""

    ask: Callable[[Question], Choice] | None
    say: Callable[[str], None]
    # (version, filename, algorithms) -> each algorithm's hex digest of ONE download of the bytes the
    # index serves now (all from the same bytes); else why not (a str), or None.
    verify: Verify = _no_verify
    # (version, filename) -> why the index yanked that file, None if it did not.
    yanked: Yanked = _no_yank
    # project -> every file its source's page lists (upload times, yanks), None if not at hand:
    # the warning signs of new versions and new files are read from it.
    index_files: IndexFiles = _no_index
    # Poetry's -v: one line per version trusted on first use, not only the summary.
    verbose: bool = False


class Refused(PinwardenError):
    """Something needs a person's approval and none can be given: nothing is written or installed."""

    def __init__(self, report: str, keys: Sequence[Key], *, writes: bool) -> None:
        self.report = report
        self.keys = tuple(keys)
        count = f"{len(self.keys)} version(s) need" if len(self.keys) != 1 else "1 version needs"
        if writes:
            reason = (
                f"pinwarden: {count} a person's approval and nobody is at the terminal; "
                "nothing was written or installed."
            )
        else:
            reason = (
                "pinwarden: poetry.lock holds versions or files the ledger does not trust; nothing was "
                "installed. Was the lock written without pinwarden (--no-plugins) or edited by hand?"
            )
        super().__init__(reason)


class BuildsRefused(PinwardenError):
    """`sdist-installs = "refuse"` and the install would build versions from source."""

    def __init__(self, report: str) -> None:
        self.report = report
        super().__init__(
            'pinwarden: [tool.pinwarden] sdist-installs = "refuse"; nothing was installed. Lock wheels '
            'for these versions, or set sdist-installs = "allow" to let their build backends run.'
        )


class Aborted(PinwardenError):
    def __init__(self) -> None:
        super().__init__("pinwarden: aborted; nothing was written or installed.")


@dataclass(frozen=True)
class Review:
    """A settled review: what to record, and per rejected version the files it may keep."""

    releases: tuple[LockedRelease, ...]
    plan: Plan
    decisions: Decisions
    verified: tuple[tuple[Key, str, FileHash], ...] = ()
    kept: Mapping[Key, LockedRelease] = field(default_factory=dict)
    # The ledger the decisions were taken against: a commit on another one must not reuse them.
    ledger: Ledger | None = None


class LedgerChanged(PinwardenError):
    """Another process changed the ledger while this one waited: its decisions may not hold."""


def _same_judgement(review: Review, current: Ledger) -> None:
    """Decisions taken against one ledger hold on another only if it judges the lock the same way
    (fail closed: a stale plan could record first use over trust another process just gave)."""
    if review.ledger is None or current == review.ledger:
        return
    if compare(current, review.releases) != compare(review.ledger, review.releases):
        raise LedgerChanged(
            "the ledger changed while pinwarden waited (another command recorded trust); "
            "nothing was written or installed: run the command again"
        )


class Warden:
    """One project's ledger and the decisions taken during one Poetry command."""

    def __init__(self, project_dir: Path, lock_path: Path, *, ledger: Path | None = None) -> None:
        settings, base = load_settings(project_dir)
        self.project_dir = project_dir
        self.lock_path = lock_path
        self.store = LedgerStore(ledger_path(ledger, settings, base, [lock_path]))
        self.first_use = settings.first_use
        self.late_upload_days = settings.late_upload_days
        self.sdist_installs = settings.sdist_installs
        # An install reviews before the lock is written: the lock's review reuses these answers,
        # each only for what the person was shown (Poetry may ask again with more found).
        self.decided: dict[Key, Answer] = {}
        self._digests: dict[tuple[Key, str, tuple[str, ...]], Digests] = {}

    # -- the ledger ------------------------------------------------------------------------------

    def trusted(self) -> Ledger:
        """The ledger; without one, the lock on disk adopted as trusted (like ssh's first key)."""
        if self._has_ledger():
            return self.store.load()
        if not self.lock_path.is_file():
            return Ledger()
        lock = parse_poetry_lock(read_text(self.lock_path, "lock file"), LOCK_LABEL)
        return record(Ledger(), lock.releases, how=TrustHow.INIT, at=utc_now())

    def _has_ledger(self) -> bool:
        """A ledger path that names something other than a file (a directory, a dangling link) is an
        error: taken as "no ledger yet", the lock would be adopted as trusted."""
        if self.store.path.is_file():
            return True
        if os.path.lexists(self.store.path):
            raise PinwardenError(f"{self.store.path}: the ledger is not a readable file")
        return False

    def validate(self) -> None:
        """Raise on a malformed ledger (settings were read by __init__); the lock is Poetry's to read."""
        if self._has_ledger():
            self.store.load()

    def adopt(self) -> bool:
        """Create the ledger from the lock as it is, when there is none; True if it was created."""
        if self._has_ledger() or not self.lock_path.is_file():
            return False
        with self.store.locked():
            return self.store.save(self.trusted())

    # -- review ----------------------------------------------------------------------------------

    def review(self, releases: Iterable[LockedRelease], hooks: Hooks, *, writes: bool) -> Review:
        """Compare, plan and decide. Raises Refused or Aborted; writes nothing.

        `writes` is False for an install from an existing lock: it may refuse, never record.
        """
        releases = tuple(releases)
        ledger = self.trusted()
        findings, verified = self._verify_switches(compare(ledger, releases), hooks)
        findings = [_describe_yank(f, hooks) for f in findings]
        findings += self._signs(ledger, releases, findings, hooks)
        # Installing from a lock on disk records nothing, so nothing is trusted on first use there:
        # a version never trusted is one the lock writers never reviewed (an edited lock).
        the_plan = plan(findings, first_use=self.first_use if writes else "ask")
        open_questions = [q for q in the_plan.questions if earlier_choice(q, self.decided) is None]
        if open_questions:
            asked = [f for q in open_questions for f in q.findings]
            report = findings_text(
                asked,
                ledger_path=shown_path(self.store.path, self.project_dir),
                # A blocked lock was not written: what to approve is what the sources serve. Installing
                # from the lock: what it holds (approve's default).
                approve_prefix=f"{APPROVE_PREFIX} --from-index" if writes else APPROVE_PREFIX,
                # From the sources: only what this report showed may be recorded.
                bindings=bindings(asked, releases) if writes else None,
            )
            if hooks.ask is None or not writes:
                raise Refused(report, [q.key for q in open_questions], writes=writes)
            # At the prompt, the person decides here: the trailer naming commands is for logs.
            hooks.say(report.partition("\nIf these changes are expected")[0] + "\n")
        decisions = decide(the_plan, self._chooser(hooks))
        if decisions.aborted:
            raise Aborted()
        self._remember(the_plan, decisions, open_questions, hooks)
        with_verified = _with_hashes(ledger, verified)
        kept = {r.key: trusted_subset(with_verified, r) for r in releases if r.key in decisions.rejected}
        return Review(releases, the_plan, decisions, tuple(verified), kept, ledger)

    def commit(self, review: Review, hooks: Hooks, write_lock: Callable[[], None]) -> None:
        """Under the ledger's lock: record first use, approvals and verified hashes, then write the lock."""
        with self.store.locked():
            # Reloaded: another process may have recorded something since the review.
            current = self.trusted()
            _same_judgement(review, current)
            ledger = _with_hashes(current, review.verified)
            outcome = apply(ledger, review.releases, review.plan, review.decisions, at=utc_now())
            if self.store.save(outcome.ledger):
                notice = ledger_notice(self.store.path, project_root(self.lock_path.parent))
                if notice:
                    hooks.say(notice)
            write_lock()
        shown = shown_path(self.store.path, self.project_dir)
        for line in first_use_lines(review.plan.first_use, shown, verbose=hooks.verbose):
            hooks.say(line)
        for note in review.plan.notes:  # information: benign signs, reported, never asked about
            hooks.say(f"pinwarden: {note.project} {note.version}: {note.detail}")
        for (name, version), filename, digest in review.verified:
            hooks.say(
                f"pinwarden: {name} {version}: the index now gives a {digest.algorithm} hash for "
                f"{filename}; the downloaded file matches its trusted hash"
            )

    def _chooser(self, hooks: Hooks) -> Callable[[Question], Choice]:
        def choose(question: Question) -> Choice:
            earlier = earlier_choice(question, self.decided)
            if earlier is not None:
                return earlier
            return hooks.ask(question) if hooks.ask is not None else Choice.ABORT

        return choose

    def _remember(
        self, the_plan: Plan, decisions: Decisions, asked: Sequence[Question], hooks: Hooks
    ) -> None:
        """Keep what was answered now with what it was answered on; an answer reused unchanged
        keeps the (wider or equal) findings it was first given on."""
        given = answers(the_plan, decisions)
        for key in sorted({q.key for q in asked} & given.keys()):
            self.decided[key] = given[key]
            word = "approved; the ledger will trust its files"
            if given[key].choice is Choice.REJECT:
                word = "rejected; poetry.lock keeps only its trusted files"
            hooks.say(f"pinwarden: {key[0]} {key[1]} {word}")

    def _signs(
        self, ledger: Ledger, releases: Sequence[LockedRelease], findings: Sequence[Finding], hooks: Hooks
    ) -> list[Finding]:
        """Warning signs from the sources' pages, for new versions and new files only."""
        wanted = {f.project for f in findings if f.kind in (FindingKind.NEW_VERSION, FindingKind.NEW_FILE)}
        if not wanted:
            return []
        from ..shared.audit import signs_for_review

        pages = {name: files for name in sorted(wanted) if (files := hooks.index_files(name)) is not None}
        if not pages:
            return []
        return list(
            signs_for_review(ledger, releases, findings, pages, late_upload_days=self.late_upload_days)
        )

    # -- an index that switched hash algorithms --------------------------------------------------

    def _verify_switches(
        self, findings: Sequence[Finding], hooks: Hooks
    ) -> tuple[list[Finding], list[tuple[Key, str, FileHash]]]:
        """A file trusted by sha256 and now listed by sha512 is the same file only if ONE download's
        bytes give both the trusted hash and the listed one: only then is the listed hash recorded
        (it is then a hash pinwarden computed, not one the index claimed)."""
        kept: list[Finding] = []
        verified: list[tuple[Key, str, FileHash]] = []
        for finding in findings:
            switched = _algorithm_switch(finding)
            if switched is None:
                kept.append(finding)
                continue
            filename, locked, trusted = switched
            key = (finding.project, finding.version)
            digests = self._digest(hooks, key, filename, (trusted.algorithm, locked.algorithm))
            if _gives(digests, trusted) and _gives(digests, locked):
                verified.append((key, filename, locked))
            else:
                kept.append(_unverified(finding, trusted, locked, digests))
        return kept, verified

    def _digest(self, hooks: Hooks, key: Key, filename: str, algorithms: tuple[str, ...]) -> Digests:
        slot = (key, filename, algorithms)
        if slot not in self._digests:
            self._digests[slot] = hooks.verify(key, filename, algorithms)
        return self._digests[slot]


def _gives(digests: Digests, expected: FileHash) -> bool:
    if digests is None or isinstance(digests, str):
        return False
    return digests.get(expected.algorithm, "").lower() == expected.value.lower()


def _algorithm_switch(finding: Finding) -> tuple[str, FileHash, FileHash] | None:
    if finding.kind is not FindingKind.NEW_FILE or not finding.filename:
        return None
    if finding.hash is None or finding.trusted_hash is None:
        return None
    locked, trusted = FileHash.parse(finding.hash), FileHash.parse(finding.trusted_hash)
    return (finding.filename, locked, trusted) if locked.algorithm != trusted.algorithm else None


def _unverified(finding: Finding, trusted: FileHash, locked: FileHash, digests: Digests) -> Finding:
    if digests is None or isinstance(digests, str):
        why = f" ({digests})" if digests else ""
        return replace(
            finding,
            detail=f"listed by {short(finding.hash)}; the file could not be downloaded to check it "
            f"against its trusted {trusted.algorithm} hash{why}",
        )
    if not _gives(digests, trusted):
        now = digests.get(trusted.algorithm, "?")
        return replace(
            finding,
            kind=FindingKind.CHANGED_FILE,
            detail=f"downloaded: its {trusted.algorithm} is now {short(f'{trusted.algorithm}:{now}')}, "
            "not the trusted one; the same file now has other bytes",
        )
    gives = digests.get(locked.algorithm, "?")
    return replace(
        finding,
        kind=FindingKind.CHANGED_FILE,
        detail=f"the index lists {short(str(locked))}, but the file it serves has "
        f"{short(f'{locked.algorithm}:{gives}')} (its {trusted.algorithm} is the trusted one): the "
        "listed hash names other bytes",
    )


def _describe_yank(finding: Finding, hooks: Hooks) -> Finding:
    if finding.kind is not FindingKind.MISSING_FILE or not finding.filename:
        return finding
    reason = hooks.yanked((finding.project, finding.version), finding.filename)
    if reason is None:
        return finding
    return replace(finding, detail=f"yanked upstream ({reason}): Poetry leaves yanked files out of the lock")


def _with_hashes(ledger: Ledger, verified: Iterable[tuple[Key, str, FileHash]]) -> Ledger:
    """Add hashes proven (by download) to name a trusted file's bytes, beside its trusted hashes."""
    for (name, version), filename, digest in verified:
        trusted = ledger.get(name, version)
        if trusted is not None:
            files = tuple(_add_hash(f, digest) if f.filename == filename else f for f in trusted.files)
            ledger = ledger.with_releases([replace(trusted, files=files)])
    return ledger


def _add_hash(trusted_file: TrustedFile, digest: FileHash) -> TrustedFile:
    hashes = sorted({*trusted_file.hashes, digest}, key=hash_sort_key)
    return replace(trusted_file, hashes=tuple(hashes))
