"""The approval flow shared by the Poetry plugin and the pip-compile wrapper.

findings -> a plan (what is trusted on first use, what needs a person) -> per-version decisions
(approve, reject, abort) -> the ledger to save and the releases the lock may hold.
Prompting is injected (`ask`), so the flow itself stays pure and testable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from .compare import changes_source, trusted_subset
from .ledger import Ledger
from .model import Finding, FindingKind, LockedRelease, NormalizedName, SourceKind, TrustHow
from .signs import late_filenames
from .trust import record

Key = tuple[NormalizedName, str]
_FIRST_USE_KINDS = {FindingKind.NEW_VERSION, FindingKind.BUILD_TAG, FindingKind.FILENAME_MISMATCH}


class Choice(str, Enum):
    APPROVE = "approve"
    REJECT = "reject"
    ABORT = "abort"


@dataclass(frozen=True, slots=True)
class Question:
    """One version whose new state needs a person's decision, with everything found about it."""

    project: NormalizedName
    version: str
    findings: tuple[Finding, ...]

    @property
    def key(self) -> Key:
        return (self.project, self.version)

    @property
    def is_new_version(self) -> bool:
        return any(f.kind is FindingKind.NEW_VERSION for f in self.findings)

    @property
    def can_reject(self) -> bool:
        """Rejecting keeps only trusted files; a version with none cannot be locked that way, nor one
        that now comes from a git commit or a directory (the lock would still install from there)."""
        return not self.is_new_version and not any(changes_source(f) for f in self.findings)


@dataclass(frozen=True, slots=True)
class Plan:
    first_use: tuple[Key, ...]
    questions: tuple[Question, ...]
    notes: tuple[Finding, ...] = ()  # information to report: benign signs, never a question

    @property
    def clean(self) -> bool:
        return not self.first_use and not self.questions


def plan(findings: Sequence[Finding], *, first_use: str = "trust") -> Plan:
    """A never-seen version is trusted on first use (unless `first-use = "ask"`); anything else asks.

    A new version whose filenames name another project or version is never trusted silently, nor
    one that may install in place of a trusted version (a local label, a direct URL's file name).
    Information (a finding that is not blocking) never asks, and a new file it speaks for (a late
    wheel for a newer interpreter) is trusted on first use like a new version.
    """
    by_key: dict[Key, list[Finding]] = {}
    for finding in findings:
        by_key.setdefault((finding.project, finding.version), []).append(finding)
    auto: list[Key] = []
    questions: list[Question] = []
    notes: list[Finding] = []
    for key, group in by_key.items():
        benign = _benign_new_files(group)
        # A file the ledger trusts already (another algorithm's hash: `trusted_hash`) is never
        # information, whatever a late-upload sign says of its name (attack round 10).
        blocking = [
            f
            for f in group
            if f.blocking
            and not (f.kind is FindingKind.NEW_FILE and f.trusted_hash is None and f.filename in benign)
        ]
        notes.extend(f for f in group if not f.blocking)
        kinds = {f.kind for f in blocking}
        silent_ok = kinds <= _FIRST_USE_KINDS and FindingKind.FILENAME_MISMATCH not in kinds
        news = FindingKind.NEW_VERSION in kinds or (
            not blocking and any(f.kind is FindingKind.NEW_FILE for f in group)
        )
        if news and silent_ok and first_use == "trust":
            auto.append(key)
        elif blocking or news:
            questions.append(Question(key[0], key[1], tuple(group)))
    return Plan(first_use=tuple(auto), questions=tuple(questions), notes=tuple(notes))


def _benign_new_files(group: Sequence[Finding]) -> frozenset[str]:
    return frozenset(
        name
        for f in group
        if f.kind is FindingKind.LATE_UPLOAD and not f.blocking
        for name in late_filenames(f.filename, f.evidence)
    )


@dataclass(frozen=True, slots=True)
class Decisions:
    approved: frozenset[Key]
    rejected: frozenset[Key]
    aborted: bool

    @property
    def refused(self) -> bool:
        return self.aborted


def decide(the_plan: Plan, ask: Callable[[Question], Choice] | None) -> Decisions:
    """Ask per version; with nobody to ask (`ask is None`), every question is a refusal."""
    if the_plan.questions and ask is None:
        return Decisions(frozenset(), frozenset(), aborted=True)
    approved: set[Key] = set()
    rejected: set[Key] = set()
    for question in the_plan.questions:
        assert ask is not None
        choice = ask(question)
        if choice is Choice.ABORT or (choice is Choice.REJECT and not question.can_reject):
            return Decisions(frozenset(), frozenset(), aborted=True)
        (approved if choice is Choice.APPROVE else rejected).add(question.key)
    return Decisions(frozenset(approved), frozenset(rejected), aborted=False)


@dataclass(frozen=True, slots=True)
class Answer:
    """A person's choice about one version, and every finding they were shown when they made it."""

    choice: Choice
    findings: frozenset[Finding]


def earlier_choice(question: Question, earlier: Mapping[Key, Answer]) -> Choice | None:
    """The choice made before about this version, if it was made on at least every finding the
    question holds now; None: ask again. A "yes" given on one new file never covers a second one,
    nor a changed file that appeared since."""
    answer = earlier.get(question.key)
    if answer is None or not frozenset(question.findings) <= answer.findings:
        return None
    return answer.choice


def answers(the_plan: Plan, decisions: Decisions) -> dict[Key, Answer]:
    """What each question of a plan was answered, with what it held (an aborted plan has none)."""
    given: dict[Key, Answer] = {}
    for question in the_plan.questions:
        if question.key in decisions.approved:
            given[question.key] = Answer(Choice.APPROVE, frozenset(question.findings))
        elif question.key in decisions.rejected:
            given[question.key] = Answer(Choice.REJECT, frozenset(question.findings))
    return given


@dataclass(frozen=True, slots=True)
class Outcome:
    """What may be written: the new ledger and, per release, what the lock may hold."""

    ledger: Ledger
    releases: tuple[LockedRelease, ...]
    changed_ledger: bool


def apply(
    ledger: Ledger, releases: Iterable[LockedRelease], the_plan: Plan, decisions: Decisions, *, at: str
) -> Outcome:
    """Record first use and approvals; cut rejected versions down to their trusted files."""
    if decisions.aborted:
        raise ValueError("an aborted decision writes nothing")
    releases = tuple(releases)
    first_use = set(the_plan.first_use)
    updated = record(ledger, [r for r in releases if r.key in first_use], how=TrustHow.FIRST_USE, at=at)
    approved = [r for r in releases if r.key in decisions.approved]
    updated = record(updated, approved, how=TrustHow.APPROVAL, at=at)
    kept = tuple(trusted_subset(updated, r) if r.key in decisions.rejected else r for r in releases)
    return Outcome(ledger=updated, releases=kept, changed_ledger=updated != ledger)


# ---------------------------------------------------------------------------------------------
# The words a person sees at the prompt


def prompt_text(question: Question) -> str:
    options = "approve/reject/abort" if question.can_reject else "approve/abort"
    return f"Trust the new state of {question.project} {question.version}? ({options}) [abort]: "


def parse_answer(answer: str, question: Question) -> Choice | None:
    """None for an answer that means nothing. Approving takes a word, like ssh's 'yes'; Enter aborts."""
    text = answer.strip().lower()
    if text in ("", "abort", "no", "n", "q", "quit"):
        return Choice.ABORT
    if text in ("approve", "yes", "y"):
        return Choice.APPROVE
    if text in ("reject", "r") and question.can_reject:
        return Choice.REJECT
    return None


def approve_commands(keys: Iterable[Key], prefix: str) -> list[str]:
    return [f"{prefix} {name}=={version}" for name, version in keys]


# ---------------------------------------------------------------------------------------------
# Built at install: what no lock pins


def built_from_source(release: LockedRelease) -> str | None:
    """Why installing this release runs a build (its backend and build requirements are resolved from
    the index, pinned and hashed by no lock), or None when the lock holds a wheel for it.

    An index or url release whose lock lists no wheel is built from its sdist; git and directory
    sources are always built. A requirements file names no files: nothing can be told from it.
    """
    if release.source_kind in (SourceKind.GIT, SourceKind.DIRECTORY):
        return f"built from its {release.source_kind.value} source"
    names = [f.filename for f in release.files if f.filename is not None]
    if not names or any(name.lower().endswith(".whl") for name in names):
        return None
    return f"built from its sdist {sorted(names)[0]}"
