"""A uv.lock (uv's new one from a staging copy, or the one on disk) judged against the ledger.

The steps are decide.py's, as in the pip-compile wrapper and the Poetry plugin: findings -> plan
(first use is trusted, anything else about a trusted version asks) -> decisions (a person at a
terminal, or a refusal ending with the exact approve command) -> apply -> ledger saved and uv.lock
(with the pyproject.toml files `uv add`/`uv remove` edited) written under the ledger's lock, or
nothing written at all.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

# Only what the check of a clean uv.lock needs (every guarded run makes it): the flow of a review
# (decide, prompt, report) is imported when there is something to review.
from ..shared.compare import compare
from ..shared.errors import InputError, PinwardenError
from ..shared.model import Finding, FindingKind, LockedRelease, NormalizedName, SourceKind
from ..shared.notices import first_use_lines, shown_path
from ..shared.store import (
    LedgerStore,
    atomic_write,
    ledger_notice,
    ledger_path,
    load_settings,
    project_root,
    utc_now,
)

if TYPE_CHECKING:
    from ..shared.decide import Decisions, Plan
    from ..shared.ledger import Ledger
    from ..shared.lockfacts import LockRules

EXIT_OK, EXIT_REFUSED = 0, 1
LABEL = "uv.lock"


@dataclass(frozen=True, slots=True)
class Result:
    """What uv produced: the new uv.lock's text, and the files it edited (path -> new text), with
    the bytes each target held when the run began (None: absent), to refuse a concurrent edit."""

    lock_text: str
    edits: Mapping[Path, str] = field(default_factory=dict)
    before: Mapping[Path, bytes | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Examination:
    releases: tuple[LockedRelease, ...]
    index_urls: tuple[str, ...]
    findings: tuple[Finding, ...]
    ledger: Ledger
    unknown: Mapping[NormalizedName, str] = field(default_factory=dict)


def read_lock(text: str, label: str = LABEL) -> tuple[tuple[LockedRelease, ...], tuple[str, ...]]:
    from ..shared.locks.uv_lock import parse_uv_lock

    try:
        lock = parse_uv_lock(text, label)
    except InputError as exc:
        raise PinwardenError(f"uv's lock cannot be checked, so it was not written: {exc}") from None
    return lock.releases, lock.index_urls


class Reviewer:
    """One project's ledger and uv.lock, and the words of one `pinwarden uv` command."""

    def __init__(
        self, root: Path, *, command: str, err: TextIO, ledger: str | None = None, no_interaction: bool
    ) -> None:
        self.root = root
        self.lock = root / LABEL
        settings, base = load_settings(root)
        self.settings = settings
        self.rules = settings.lock_rules()
        self.store = LedgerStore(ledger_path(Path(ledger) if ledger else None, settings, base, [self.lock]))
        self.command = command
        self.err = err
        self.no_interaction = no_interaction
        self.ledger_shown = shown_path(self.store.path, Path.cwd())
        self.lock_shown = shown_path(self.lock, Path.cwd())
        self._trusted: tuple[str, Examination] | None = None  # prepare()'s: a trusted uv.lock
        # prepare()'s: the uv.lock on disk holds what the ledger does not trust (or cannot be read),
        # so uv's run that kept it is not what the index serves (the guard locks again without it).
        self.disk_untrusted = False

    def say(self, text: str) -> None:
        self.err.write(text if text.endswith("\n") else text + "\n")

    def has_ledger(self) -> bool:
        return self.store.exists()

    # -- the lock on disk, before uv installs from it ---------------------------------------------

    def check_installed_from(self, text: str) -> int:
        """uv.lock as it is, before uv installs from it: every file must be trusted already.

        Nothing is trusted on first use here: a version never trusted is one no guarded lock run
        reviewed (a lock written by plain uv, or edited by hand)."""
        findings = self.untrusted(text)
        if not findings:
            return EXIT_OK
        from ..shared.render import findings_text

        self.say(
            f"pinwarden: {self.lock_shown} holds versions or files the ledger does not trust; nothing was "
            "installed. Was it written by uv without pinwarden, or edited by hand? Review it and approve "
            "it as below, or let uv lock again for review: pinwarden uv lock"
        )
        self.err.write(
            "\n"
            + findings_text(
                findings,
                ledger_path=self.ledger_shown,
                approve_prefix="pinwarden approve",
                lock_args=shlex.join([self.lock_shown, *self._ledger_args()]),
            )
        )
        return EXIT_REFUSED

    def untrusted(self, text: str) -> tuple[Finding, ...]:
        """What in this uv.lock the ledger does not trust (offline; empty for a trusted lock)."""
        releases, _ = read_lock(text, self.lock_shown)
        return tuple(f for f in compare(self.store.load(), releases, self.rules) if f.blocking)

    # -- a new lock -------------------------------------------------------------------------------

    def examine(self, text: str) -> Examination:
        """Only versions with findings are looked up on the index: a run with nothing new asks nothing."""
        releases, index_urls = read_lock(text)
        ledger = self.store.load()
        findings = compare(ledger, releases, self.rules)
        if not findings:
            return Examination(releases, index_urls, findings, ledger)
        from ..piptools_ext.lookup import look_up, still_served
        from ..shared.audit import signs_for_review

        names = {f.project for f in findings}
        lookup = look_up(_indexes(releases, index_urls, names), names)
        kept = tuple(f for f in findings if not still_served(f, lookup))
        signs = signs_for_review(
            ledger, releases, kept, lookup.files, late_upload_days=self.settings.late_upload_days
        )
        # A sign the lock gave already (a late upload read from uv.lock's upload-time) is not said
        # twice when the index's page says it too.
        given = {(f.kind, f.project, f.version, f.filename) for f in kept}
        signs = tuple(s for s in signs if (s.kind, s.project, s.version, s.filename) not in given)
        ordered = tuple(sorted((*kept, *signs), key=Finding.sort_key))
        return Examination(releases, index_urls, ordered, ledger, dict(lookup.unknown))

    def prepare(self, current: bytes | None) -> None:
        """While uv locks in the staging copy: judge the uv.lock on disk (offline), so that when uv
        writes it again byte for byte and the ledger trusts all of it, nothing is left to do then.
        One it does not trust sets `disk_untrusted`: uv keeps a lock that still satisfies the
        project, so its run would hand the review a text someone wrote, not what uv resolved.
        Without a ledger (the first guarded run) the lock on disk is trusted on first use as is."""
        self.disk_untrusted = False
        if current is None or not self.has_ledger():
            return
        try:
            text = current.decode("utf-8")
            releases, index_urls = read_lock(text)
            ledger = self.store.load()
            findings = compare(ledger, releases, self.rules)
        except (PinwardenError, UnicodeDecodeError):
            self.disk_untrusted = True  # fail closed: uv locks again without it
            return
        if not findings:
            self._trusted = (text, Examination(releases, index_urls, findings, ledger))
        self.disk_untrusted = any(f.blocking for f in findings)

    def review(self, result: Result, stdin: TextIO | None) -> int:
        known = self._trusted
        if known and known[0] == result.lock_text and not result.edits and self._on_disk(known[0]):
            # uv wrote uv.lock again byte for byte, and it was judged trusted while uv ran.
            self._all_trusted(len(known[1].releases), written=False)
            return EXIT_OK
        exam = self.examine(result.lock_text)
        if not exam.findings and not result.edits and self._on_disk(result.lock_text):
            # The rerun with nothing new: uv wrote what uv.lock holds and the ledger trusts all of
            # it, so there is nothing to decide, record or write, and the review flow (decide, the
            # warning signs, the file lock) is not even imported (benchmarks/run.py uv-guard).
            self._all_trusted(len(exam.releases), written=False)
            return EXIT_OK
        from ..shared.decide import plan

        if any(f.kind is FindingKind.FOREIGN_HOST for f in exam.findings):
            # No approval trusts a host: the index hands files to a host it does not use for them.
            self.say(
                "pinwarden: uv's lock fetches files from a host its index does not use; "
                f"nothing was written ({self._unchanged()})."
            )
            self.err.write("\n" + self._host_advice(exam))
            return EXIT_REFUSED
        the_plan = plan(exam.findings, first_use=self.settings.first_use)
        decisions = self._decide(exam, the_plan, stdin)
        if decisions is None:
            return EXIT_REFUSED
        try:
            return self._commit(exam, the_plan, decisions, result)
        except _Refusal as refusal:
            self.say(str(refusal))
            return EXIT_REFUSED

    def _commit(self, exam: Examination, the_plan: Plan, decisions: Decisions, result: Result) -> int:
        """Under the ledger's lock, against the ledger as it is then (fail closed if another run
        changed how it judges this lock meanwhile)."""
        from ..shared.decide import apply

        with self.store.locked():
            current = self.store.load()
            if current != exam.ledger and _judged_otherwise(exam, current, self.rules):
                raise PinwardenError(
                    f"{self.ledger_shown} changed while this run waited (another command recorded trust); "
                    f"nothing was written: run the command again ({self.command})"
                )
            outcome = apply(current, exam.releases, the_plan, decisions, at=utc_now())
            text = self._final_text(result.lock_text, outcome.releases, decisions)
            self._unchanged_meanwhile(result)
            if outcome.changed_ledger:
                self.store.save(outcome.ledger)
            for path, edited in result.edits.items():
                atomic_write(path, edited)
            written = self._write_lock(text)
        self._summary(the_plan, decisions, written, len(exam.releases), outcome.changed_ledger)
        return EXIT_OK

    def _decide(self, exam: Examination, the_plan: Plan, stdin: TextIO | None) -> Decisions | None:
        from ..piptools_ext.prompt import is_interactive, terminal_asker
        from ..shared.decide import decide

        if not the_plan.questions:
            return decide(the_plan, None)
        interactive = stdin is not None and not self.no_interaction and is_interactive(stdin, self.err)
        if not interactive:
            count = len(the_plan.questions)
            needs = "1 version needs" if count == 1 else f"{count} versions need"
            why = "--no-interaction" if self.no_interaction else "nobody is at the terminal"
            unchanged = self._unchanged()
            self.say(f"pinwarden: {needs} a person's approval and {why}; nothing was written ({unchanged}).")
            self.say(f"After approving, rerun: {self.command}")
            self._notes(exam)
            self.err.write("\n" + self._findings(exam))
            return None
        self._notes(exam)
        asked = tuple(f for q in the_plan.questions for f in q.findings)
        self.say(self._findings(exam, asked).partition("\nIf these changes are expected")[0] + "\n")
        assert stdin is not None
        decisions = decide(the_plan, terminal_asker(stdin, self.err))
        if decisions.aborted:
            self.say(f"pinwarden: aborted; nothing was written ({self._unchanged()})")
            return None
        return decisions

    def _final_text(self, text: str, kept: Sequence[LockedRelease], decisions: Decisions) -> str:
        """uv's lock, each rejected version cut down to its trusted files."""
        if not decisions.rejected:
            return text
        from .lockedit import keep_files

        trusted = {r.key: {f.hash for f in r.files} for r in kept if r.key in decisions.rejected}
        empty = sorted(key for key, hashes in trusted.items() if not hashes)
        if empty:
            names = ", ".join(f"{n} {v}" for n, v in empty)
            raise _Refusal(
                f"pinwarden: rejecting {names} leaves none of its files trusted, so uv could not install "
                f"it; nothing was written ({self._unchanged()})"
            )
        return keep_files(text, trusted)

    def _unchanged_meanwhile(self, result: Result) -> None:
        for path, before in result.before.items():
            now = path.read_bytes() if path.is_file() else None
            if now != before:
                raise PinwardenError(
                    f"{shown_path(path, Path.cwd())} changed while uv was locking; nothing was written: "
                    f"run the command again ({self.command})"
                )

    def _write_lock(self, text: str) -> bool:
        if self.lock.is_file() and self.lock.read_bytes() == text.encode("utf-8"):
            return False  # byte-identical: left alone, its modification time too
        atomic_write(self.lock, text)
        return True

    def _summary(
        self, the_plan: Plan, decisions: Decisions, written: bool, count: int, changed_ledger: bool
    ) -> None:
        for line in first_use_lines(the_plan.first_use, self.ledger_shown):
            self.say(line)
        for note in the_plan.notes:  # information: benign signs, reported, never asked about
            self.say(f"pinwarden: {note.project} {note.version}: {note.detail}")
        for name, version in sorted(decisions.approved):
            self.say(f"pinwarden: {name} {version} approved; the ledger trusts its files")
        for name, version in sorted(decisions.rejected):
            self.say(f"pinwarden: {name} {version} rejected; {self.lock_shown} keeps only its trusted files")
        self._all_trusted(count, written)
        if changed_ledger:
            notice = ledger_notice(self.store.path, project_root(self.root))
            if notice:
                self.say(notice)

    def _all_trusted(self, count: int, written: bool) -> None:
        state = f"wrote {self.lock_shown}" if written else f"{self.lock_shown} is unchanged"
        packages = "1 package" if count == 1 else f"{count} packages"
        self.say(f"pinwarden: {packages}, all trusted; {state}")

    def _on_disk(self, text: str) -> bool:
        """Whether uv.lock holds exactly `text` now."""
        try:
            return self.lock.read_bytes() == text.encode("utf-8")
        except OSError:
            return False

    # -- reports ----------------------------------------------------------------------------------

    def _findings(self, exam: Examination, findings: Sequence[Finding] | None = None) -> str:
        from ..shared.approval import bindings
        from ..shared.render import findings_text

        shown = tuple(exam.findings if findings is None else findings)
        suffix = [w for url in exam.index_urls or ("URL",) for w in ("--from-index", url)]
        return findings_text(
            shown,
            ledger_path=self.ledger_shown,
            approve_prefix="pinwarden approve",
            lock_args=shlex.join([*suffix, *self._ledger_args()]),
            bindings=bindings(shown, exam.releases),
        )

    def _host_advice(self, exam: Examination) -> str:
        """The report with resolve.py's way out: allow the host, then run this command again."""
        from ..shared.render import findings_text
        from ..shared.resolve import advice_lines, resolutions

        table = resolutions(exam.findings, prog="pinwarden", lock_args="", relock=lambda _: self.command)
        advice = advice_lines(exam.findings, table)
        return findings_text(exam.findings, ledger_path=self.ledger_shown, approve_prefix="", advice=advice)

    def _ledger_args(self) -> list[str]:
        settings, base = load_settings(Path.cwd())
        default = ledger_path(None, settings, base, [self.lock])
        if self.store.path.resolve() == default.resolve():
            return []
        return ["--ledger", str(self.store.path)]

    def _notes(self, exam: Examination) -> None:
        involved = {f.project for f in exam.findings if f.kind is not FindingKind.NEW_VERSION}
        for name, reason in sorted(exam.unknown.items()):
            if name in involved:
                self.say(f"note: {name}: {reason}")

    def _unchanged(self) -> str:
        return f"{self.lock_shown} and the ledger are unchanged"


def _judged_otherwise(exam: Examination, ledger: Ledger, rules: LockRules) -> bool:
    return compare(ledger, exam.releases, rules) != compare(exam.ledger, exam.releases, rules)


class _Refusal(PinwardenError):
    """A decision that cannot be written (a rejection that leaves nothing): exit 1, not an error."""


def _indexes(
    releases: Sequence[LockedRelease], index_urls: Sequence[str], names: set[NormalizedName]
) -> tuple[str, ...]:
    """The registries the involved packages come from (uv.lock names one per package)."""
    found = [
        r.source_url
        for r in releases
        if r.name in names and r.source_kind is SourceKind.INDEX and r.source_url
    ]
    return tuple(dict.fromkeys([*found, *index_urls]))
