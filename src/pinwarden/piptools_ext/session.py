"""One `pinwarden pip-compile` run after pip-compile has produced its result: compare, decide, write.

The steps are decide.py's, shared with the Poetry plugin: findings -> plan (first use is trusted,
anything else about a trusted version asks) -> decisions (a person at a terminal, or a refusal
ending with the exact approve command) -> apply -> ledger saved under its lock, output replaced
atomically or not at all.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import unquote, urlsplit

from ..shared.approval import bindings
from ..shared.compare import compare, untrusted_keys
from ..shared.decide import (
    Answer,
    Choice,
    Decisions,
    Outcome,
    Plan,
    Question,
    answers,
    apply,
    decide,
    earlier_choice,
    plan,
)
from ..shared.errors import InputError, PinwardenError
from ..shared.ledger import Ledger
from ..shared.locks.requirements import parse_requirements
from ..shared.model import Finding, FindingKind, LockedRelease, NormalizedName, SourceKind, normalize_name
from ..shared.notices import first_use_lines, shown_path
from ..shared.render import findings_text
from ..shared.store import (
    LedgerStore,
    atomic_write,
    ledger_notice,
    ledger_path,
    load_settings,
    project_root,
    refuse_guarded_output,
    utc_now,
)
from .options import NO_INTERACTION
from .prompt import is_interactive, terminal_asker
from .protocol import Mismatch, RunReport
from .writer import Key, keep_hashes

if TYPE_CHECKING:
    from .lookup import Lookup

EXIT_OK, EXIT_REFUSED = 0, 1
STDOUT = "-"
MAX_ASKS = 5  # rounds of questions a changing ledger may cause before the run gives up


@dataclass(frozen=True, slots=True)
class Examination:
    """pip-compile's result compared with the ledger, its files named from the index where possible."""

    text: str
    snapshot: Ledger
    releases: tuple[LockedRelease, ...]
    findings: tuple[Finding, ...]
    unknown: Mapping[NormalizedName, str]
    lookup: Lookup | None = None  # what the index said, kept to judge again without asking it again


def examine(text: str, label: str, ledger: Ledger, index_urls: tuple[str, ...]) -> Examination:
    """Only versions with findings are looked up: a run with nothing new costs no request."""
    try:
        releases = parse_requirements(text, label).releases
    except InputError as exc:  # e.g. a local directory, which pip-compile writes without a hash
        raise PinwardenError(
            f"pip-compile's result cannot be checked, so it was not written: {exc}"
        ) from None
    findings = compare(ledger, releases)
    names = {f.project for f in findings}
    if not names:
        return Examination(text, ledger, releases, findings, {})
    from .lookup import look_up, name_files  # the HTTP client: only when needed

    lookup = look_up(index_urls, names)
    named = tuple(name_files(r, lookup) if _looked_up(r, names) else r for r in releases)
    return judge(exam=Examination(text, ledger, named, (), lookup.unknown, lookup), ledger=ledger)


def judge(*, exam: Examination, ledger: Ledger) -> Examination:
    """The same result judged against `ledger`, with what the index said before: no request, so
    it can run under the ledger's lock when another run changed the ledger meanwhile."""
    findings = compare(ledger, exam.releases)
    if exam.lookup is None:
        return replace(exam, snapshot=ledger, findings=findings)
    from .lookup import still_served

    kept = tuple(f for f in findings if not still_served(f, exam.lookup))
    signs = _signs(ledger, exam.releases, kept, exam.lookup)
    return replace(exam, snapshot=ledger, findings=(*kept, *signs))


def _signs(
    ledger: Ledger, releases: tuple[LockedRelease, ...], findings: tuple[Finding, ...], lookup: Lookup
) -> tuple[Finding, ...]:
    """The warning signs of new versions and new files, read from the pages the lookup fetched."""
    from ..shared.audit import signs_for_review

    days = load_settings(Path.cwd())[0].late_upload_days
    return signs_for_review(ledger, releases, findings, lookup.files, late_upload_days=days)


def _looked_up(release: LockedRelease, names: set[NormalizedName]) -> bool:
    return release.name in names and release.source_kind is SourceKind.INDEX


def _known_decisions(the_plan: Plan, earlier: Mapping[Key, Answer]) -> Decisions | None:
    """The plan decided by earlier answers alone (another run's approval meanwhile can only take
    findings away); None when some question needs a person."""
    choices = [earlier_choice(q, earlier) for q in the_plan.questions]
    if any(c is None for c in choices):
        return None
    keys = [q.key for q in the_plan.questions]
    approved = frozenset(k for k, c in zip(keys, choices, strict=True) if c is Choice.APPROVE)
    rejected = frozenset(k for k, c in zip(keys, choices, strict=True) if c is Choice.REJECT)
    return Decisions(approved, rejected, aborted=False)


def _same_path(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _pins(count: int) -> str:
    return "1 pin" if count == 1 else f"{count} pins"


def _versions(keys: Iterable[Key]) -> str:
    return ", ".join(f"{name} {version}" for name, version in sorted(keys))


class Session:
    def __init__(self, report: RunReport, *, command: str, err: TextIO) -> None:
        self.report = report
        self.command = command
        self.err = err
        self.output = report.output or STDOUT
        self.label = "(standard output)" if self.output == STDOUT else self.output
        self.store = LedgerStore(Path(report.ledger or "pinwarden-ledger.toml"))
        self.ledger_shown = shown_path(self.store.path, Path.cwd())

    def say(self, text: str) -> None:
        self.err.write(text if text.endswith("\n") else text + "\n")

    # -- the normal path -------------------------------------------------------------------------

    def check(self, out: TextIO, stdin: TextIO) -> int:
        exam = examine(self._result_text(), self.label, self.store.load(), self.report.indexes)
        the_plan = plan(exam.findings, first_use=self.report.first_use)
        for pin in self.report.stripped:
            self.say(
                f"pinwarden: {pin}: re-hashed, as the ledger no longer trusts the hashes {self.label} had"
            )
        if self.report.audit:
            return self._audit(exam, the_plan)
        if self.report.dry_run:
            return self._dry_run(exam, the_plan)
        decisions = self._decide(exam, the_plan, stdin, {})
        if decisions is None:
            return EXIT_REFUSED
        return self._commit(exam, the_plan, decisions, out, stdin)

    def _decide(
        self, exam: Examination, the_plan: Plan, stdin: TextIO | None, earlier: Mapping[Key, Answer]
    ) -> Decisions | None:
        """Ask about each question not answered before in exactly this state; None: nothing to write.

        `earlier` holds the answers of a previous round (a re-plan): a version whose findings did
        not change keeps its answer, anything new is asked (or refused with nobody to ask).
        """
        new = [q for q in the_plan.questions if earlier_choice(q, earlier) is None]
        if new and not self._interactive(stdin):
            count = len(new)
            needs = "1 version needs" if count == 1 else f"{count} versions need"
            why = "nobody is at the terminal" if not self.report.no_interaction else "--no-interaction"
            self._refuse(exam, f"{needs} a person's approval and {why}")
            return None
        if new:
            self._notes(exam)
            self.say(self._findings(tuple(f for q in new for f in q.findings), exam))
        ask = terminal_asker(stdin, self.err) if new and stdin is not None else None

        def answer(question: Question) -> Choice:
            known = earlier_choice(question, earlier)
            if known is not None:
                return known
            assert ask is not None
            return ask(question)

        decisions = decide(the_plan, answer if the_plan.questions else None)
        if decisions.aborted:
            self.say(f"pinwarden: aborted; nothing was written ({self._unchanged()})")
            return None
        return decisions

    def _interactive(self, stdin: TextIO | None) -> bool:
        return stdin is not None and not self.report.no_interaction and is_interactive(stdin, self.err)

    def _result_text(self) -> str:
        path = Path(self.report.temp_output or "")
        if not path.is_file():
            raise PinwardenError(f"pip-compile wrote no output; {self.label} was not changed")
        with path.open(encoding="utf-8", newline="") as handle:  # keep its line endings
            return handle.read()

    def _commit(
        self,
        exam: Examination,
        the_plan: Plan,
        decisions: Decisions,
        out: TextIO,
        stdin: TextIO | None = None,
    ) -> int:
        """Write what was decided, under the ledger's lock, against the ledger as it is then.

        If another run changed the ledger meanwhile, the stale plan is never written: the result
        is judged again against the new ledger; what a person already answered in the same state
        keeps its answer, and anything new is asked (outside the lock) or refused.
        """
        for _ in range(MAX_ASKS):
            if the_plan.clean:  # nothing to record: the ledger (and its lock) stay untouched
                written = self._write(exam.text, out)
                self._summary(the_plan, decisions, written, len(exam.releases))
                return EXIT_OK
            earlier = answers(the_plan, decisions)
            with self.store.locked():
                exam, the_plan, known = self._current(exam, the_plan, decisions, earlier)
                if known is not None:
                    return self._record(exam, the_plan, known, out)
            self.say(f"pinwarden: {self.ledger_shown} changed while this run waited; asking again")
            fresh = self._decide(exam, the_plan, stdin, earlier)
            if fresh is None:
                return EXIT_REFUSED
            decisions = fresh
        raise PinwardenError(
            f"{self.store.path} kept changing while this run was asking; nothing was written. "
            f"Rerun: {self.command}"
        )

    def _current(
        self, exam: Examination, the_plan: Plan, decisions: Decisions, earlier: Mapping[Key, Answer]
    ) -> tuple[Examination, Plan, Decisions | None]:
        """Under the lock: the plan against the ledger as it is now (decisions None: ask again)."""
        ledger = self.store.load()
        if ledger == exam.snapshot:
            return exam, the_plan, decisions
        exam = judge(exam=exam, ledger=ledger)
        fresh = plan(exam.findings, first_use=self.report.first_use)
        return exam, fresh, _known_decisions(fresh, earlier)

    def _record(self, exam: Examination, the_plan: Plan, decisions: Decisions, out: TextIO) -> int:
        """Under the ledger's lock, against the ledger the plan was made with."""
        outcome = apply(exam.snapshot, exam.releases, the_plan, decisions, at=utc_now())
        final = self._final_text(exam.text, outcome, decisions)
        if final is None:
            return EXIT_REFUSED
        if outcome.changed_ledger:
            self.store.save(outcome.ledger)
        written = self._write(final, out)
        self._summary(the_plan, decisions, written, len(exam.releases))
        if outcome.changed_ledger:
            notice = ledger_notice(self.store.path, project_root(Path.cwd()))
            if notice:
                self.say(notice)
        return EXIT_OK

    def _final_text(self, text: str, outcome: Outcome, decisions: Decisions) -> str | None:
        """The result with rejected versions cut down to their trusted hashes (None: impossible)."""
        if not decisions.rejected:
            return text
        kept: dict[Key, set[str]] = {key: set() for key in decisions.rejected}
        for release in outcome.releases:
            if release.key in kept:
                kept[release.key].update(str(f.hash) for f in release.files)
        empty = [key for key, hashes in kept.items() if not hashes]
        if empty:
            self.say(
                f"pinwarden: rejecting {_versions(empty)} leaves none of its files trusted, so "
                f"{self.label} could not install it; nothing was written ({self._unchanged()})"
            )
            return None
        return keep_hashes(text, lambda key, digest: key not in kept or str(digest) in kept[key])

    def _echo(self, text: str) -> None:
        """What pip-compile would have echoed at its default verbosity: the result, once accepted."""
        if self.report.echo_held and self.report.verbosity >= 0:
            self.err.write(text if text.endswith("\n") or not text else text + "\n")

    def _write(self, text: str, out: TextIO) -> bool:
        self._echo(text)
        if self.output == STDOUT:
            out.write(text)
            out.flush()
            return True
        target = Path(self.output)
        refuse_guarded_output(target, self.store.path)  # the runner refused it too: never trust a report
        if target.is_file() and target.read_bytes() == text.encode("utf-8"):
            return False  # byte-identical: leave the file (and its mtime) alone
        atomic_write(target, text)
        return True

    def _summary(self, the_plan: Plan, decisions: Decisions, written: bool, pins: int) -> None:
        for line in first_use_lines(the_plan.first_use, self.ledger_shown, verbose=self.report.verbosity > 0):
            self.say(line)
        for note in the_plan.notes:  # information: benign signs, reported, never asked about
            self.say(f"pinwarden: {note.project} {note.version}: {note.detail}")
        if decisions.approved:
            self.say(f"pinwarden: {_versions(decisions.approved)} approved; the ledger trusts its files")
        if decisions.rejected:
            self.say(
                f"pinwarden: {_versions(decisions.rejected)} rejected; {self.label} keeps only trusted hashes"
            )
        if self.output == STDOUT:
            state = "written to standard output"
        else:
            state = f"wrote {self.label}" if written else f"{self.label} is unchanged"
        self.say(f"pinwarden: {_pins(pins)}, all trusted; {state}")

    # -- refusals and reports --------------------------------------------------------------------

    def refuse_mismatches(self) -> int:
        """pip refused a download of a pinned version: its bytes match no pinned hash."""
        ledger = self.store.load()
        findings = tuple(self._mismatch_finding(m, ledger) for m in self.report.mismatches)
        self.say(
            "pinwarden: pip refused a file whose bytes no longer match the hashes pinned in "
            f"{self.label}: it changed upstream. Nothing was written ({self._unchanged()}).\n"
            f"After approving, rerun: {self.command}\n"
        )
        self.err.write(self._findings(findings))
        return EXIT_REFUSED

    def _mismatch_finding(self, mismatch: Mismatch, ledger: Ledger) -> Finding:
        from ..shared.filenames import parse_filename

        filename = unquote(urlsplit(mismatch.url).path.rsplit("/", 1)[-1]) if mismatch.url else None
        parsed = parse_filename(filename) if filename else None
        name = normalize_name(mismatch.name) if mismatch.name else (parsed.name if parsed else None)
        version = parsed.version if parsed and parsed.version else "?"
        got = next((h for h in mismatch.got if h.startswith("sha256:")), None)
        trusted = ledger.get(name, version) if name else None
        known = next((f for f in trusted.files if f.filename == filename), None) if trusted else None
        return Finding(
            kind=FindingKind.CHANGED_FILE,
            project=name or NormalizedName("?"),
            version=version,
            lockfile=self.label,
            filename=filename,
            hash=got or (mismatch.got[0] if mismatch.got else None),
            trusted_hash=str(known.hashes[0]) if known else ", ".join(mismatch.expected) or None,
            detail=f"pip refused it: its bytes match none of the hashes pinned in {self.label}",
        )

    def _refuse(self, exam: Examination, why: str) -> int:
        self.say(f"pinwarden: {why}; nothing was written ({self._unchanged()}).")
        self.say(f"After approving, rerun: {self.command}")
        self._notes(exam)
        self.err.write("\n" + self._findings(exam.findings, exam))
        return EXIT_REFUSED

    def _audit(self, exam: Examination, the_plan: Plan) -> int:
        self.say(
            f"pinwarden: audit: re-hashed {_pins(len(exam.releases))} of {self.label} from a fresh cache"
        )
        if the_plan.first_use:
            self.say(
                f"pinwarden: not in the ledger yet: {_versions(the_plan.first_use)} "
                "(a normal run trusts them on first use)"
            )
        if the_plan.questions:
            return self._refuse(exam, "the index now serves files the ledger does not trust")
        self.say(f"pinwarden: every pinned file is trusted; nothing was written ({self.ledger_shown})")
        return EXIT_OK

    def _dry_run(self, exam: Examination, the_plan: Plan) -> int:
        if self.report.echo_held:  # pip-compile's --dry-run shows the result at any verbosity
            self.err.write(exam.text if exam.text.endswith("\n") else exam.text + "\n")
        if the_plan.first_use:
            self.say(f"pinwarden: dry run: would trust on first use: {_versions(the_plan.first_use)}")
        if the_plan.questions:
            self.say("pinwarden: dry run: these would need approval; nothing was written")
            self._notes(exam)
            self.err.write("\n" + self._findings(exam.findings, exam))
            return EXIT_REFUSED
        self.say(f"pinwarden: dry run: {_pins(len(exam.releases))}, all trusted; nothing was written")
        return EXIT_OK

    def _findings(self, findings: tuple[Finding, ...], exam: Examination | None = None) -> str:
        return findings_text(
            findings,
            ledger_path=self.ledger_shown,
            approve_prefix="pinwarden approve",
            lock_args=self._approve_suffix(),
            advice=self._direct_url_advice(findings, exam),
            bindings=bindings(findings, exam.releases if exam else ()),
        )

    def _direct_url_advice(self, findings: tuple[Finding, ...], exam: Examination | None) -> list[str] | None:
        """`approve --from-index` fetches a version's files from the index, which has none of a
        direct URL's (or other ones): such a version is approved at a terminal. None: the usual advice."""
        direct = {r.key for r in exam.releases if r.source_kind is SourceKind.URL} if exam else set()
        keys = untrusted_keys(findings)
        if not direct.intersection(keys):
            return None
        suffix = self._approve_suffix()
        bound = bindings(findings, exam.releases if exam else ())
        lines = ["If these changes are expected, review them, then record them:"]
        for name, version in keys:
            if (name, version) in direct:
                lines.append(
                    f"  {name} {version} comes from a direct URL, which no index serves: "
                    f"run {self._interactive_command()} at a terminal to review and approve it"
                )
            else:
                lines.append(
                    " ".join(
                        filter(
                            None,
                            (f"  pinwarden approve {name}=={version} {suffix}", bound.get((name, version))),
                        )
                    )
                )
        return lines

    def _interactive_command(self) -> str:
        # pip-compile's own -n is --dry-run: only pinwarden's --no-interaction goes.
        return shlex.join(w for w in shlex.split(self.command) if w != NO_INTERACTION)

    def _approve_suffix(self) -> str:
        """What `pinwarden approve NAME==VERSION` needs to record what this run saw: its indexes, its ledger.

        The index is always named, PyPI too: without one, approve would take the `-i` of whatever
        requirements files sit in the directory. With no index at all (--no-index) there is none to
        name: the person must say where the files come from.
        """
        from ..shared.index.fetch import redact_url

        parts: list[str] = []
        for url in self.report.indexes or ("URL",):
            parts += ["--from-index", redact_url(url)]
        settings, base = load_settings(Path.cwd())
        if not _same_path(self.store.path, ledger_path(None, settings, base, [])):
            parts += ["--ledger", str(self.store.path)]
        return shlex.join(parts)

    def _notes(self, exam: Examination) -> None:
        involved = {f.project for f in exam.findings if f.kind is not FindingKind.NEW_VERSION}
        for name, reason in sorted(exam.unknown.items()):
            if name in involved:
                self.say(
                    f"note: {name}: filenames unknown ({reason}); a changed file shows as a NEW FILE "
                    "plus a MISSING one"
                )

    def _unchanged(self) -> str:
        if self.output == STDOUT:
            return "the ledger is unchanged"
        return f"{self.label} and the ledger are unchanged"
