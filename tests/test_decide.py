"""The approval flow shared by the Poetry plugin and the pip-compile wrapper."""

from __future__ import annotations

from pinwarden.shared.compare import compare
from pinwarden.shared.decide import (
    Answer,
    Choice,
    Question,
    answers,
    apply,
    decide,
    earlier_choice,
    parse_answer,
    plan,
    prompt_text,
)
from pinwarden.shared.ledger import Ledger
from pinwarden.shared.model import FileHash, LockedFile, LockedRelease, TrustHow, normalize_name
from pinwarden.shared.trust import record

AT = "2026-11-25T00:00:00Z"


def h(n: int) -> FileHash:
    return FileHash("sha256", f"{n:x}".rjust(64, "0"))


def rel(name: str, version: str, *files: tuple[str, int]) -> LockedRelease:
    return LockedRelease(
        name=normalize_name(name),
        version=version,
        files=tuple(LockedFile(f, h(n)) for f, n in files),
        lockfile="poetry.lock",
    )


TRUSTED = rel("demo", "1.0", ("demo-1.0-py3-none-any.whl", 1), ("demo-1.0.tar.gz", 2))
LEDGER = record(Ledger(), [TRUSTED], how=TrustHow.INIT, at=AT)
GROWN = rel(
    "demo",
    "1.0",
    ("demo-1.0-py3-none-any.whl", 1),
    ("demo-1.0.tar.gz", 2),
    ("demo-1.0-1-py3-none-any.whl", 3),
)
FRESH = rel("fresh", "2.0", ("fresh-2.0.tar.gz", 4))


def test_new_versions_are_first_use_and_changes_are_questions() -> None:
    the_plan = plan(compare(LEDGER, [GROWN, FRESH]))
    assert the_plan.first_use == (("fresh", "2"),)
    assert [q.key for q in the_plan.questions] == [("demo", "1")]


def test_first_use_ask_makes_new_versions_questions() -> None:
    the_plan = plan(compare(LEDGER, [FRESH]), first_use="ask")
    assert the_plan.first_use == () and [q.key for q in the_plan.questions] == [("fresh", "2")]
    assert not the_plan.questions[0].can_reject


def test_a_new_version_with_a_misnamed_file_is_never_silent() -> None:
    odd = rel("fresh", "2.0", ("evil-2.0.tar.gz", 4))
    assert [q.key for q in plan(compare(LEDGER, [odd])).questions] == [("fresh", "2")]


def test_nobody_to_ask_is_a_refusal() -> None:
    assert decide(plan(compare(LEDGER, [GROWN])), None).aborted
    assert not decide(plan(compare(LEDGER, [FRESH])), None).aborted  # first use needs nobody


def test_approve_records_and_keeps_the_new_file() -> None:
    the_plan = plan(compare(LEDGER, [GROWN, FRESH]))
    outcome = apply(LEDGER, [GROWN, FRESH], the_plan, decide(the_plan, lambda q: Choice.APPROVE), at=AT)
    assert compare(outcome.ledger, [GROWN, FRESH]) == ()
    assert outcome.releases == (GROWN, FRESH)
    history = outcome.ledger.get(normalize_name("demo"), "1.0")
    assert history is not None and [e.how for e in history.history] == [TrustHow.INIT, TrustHow.APPROVAL]


def test_reject_keeps_only_trusted_files() -> None:
    the_plan = plan(compare(LEDGER, [GROWN]))
    outcome = apply(LEDGER, [GROWN], the_plan, decide(the_plan, lambda q: Choice.REJECT), at=AT)
    assert outcome.releases == (TRUSTED,)
    assert outcome.ledger == LEDGER and not outcome.changed_ledger


def test_abort_and_rejecting_a_new_version_write_nothing() -> None:
    the_plan = plan(compare(LEDGER, [GROWN]))
    assert decide(the_plan, lambda q: Choice.ABORT).aborted
    asked = plan(compare(LEDGER, [FRESH]), first_use="ask")
    assert decide(asked, lambda q: Choice.REJECT).aborted


def test_answers_default_to_abort_and_approving_takes_a_word() -> None:
    question = Question(normalize_name("demo"), "1.0", ())
    assert parse_answer("", question) is Choice.ABORT
    assert parse_answer("  ", question) is Choice.ABORT
    assert parse_answer("approve", question) is Choice.APPROVE
    assert parse_answer("yes", question) is Choice.APPROVE
    assert parse_answer("r", question) is Choice.REJECT
    assert parse_answer("maybe", question) is None
    assert "[abort]" in prompt_text(question)


def test_an_earlier_choice_holds_only_for_the_findings_it_was_given_on() -> None:
    """Shared by the plugin (one command reviews twice) and the wrapper (a ledger changed at the
    prompt): a choice is reused for the same or fewer findings, never for more or other ones."""
    changed = rel("demo", "1.0", ("demo-1.0-py3-none-any.whl", 9), ("demo-1.0.tar.gz", 2))
    both = rel(
        "demo",
        "1.0",
        ("demo-1.0-py3-none-any.whl", 9),
        ("demo-1.0.tar.gz", 2),
        ("demo-1.0-1-py3-none-any.whl", 3),
    )
    plans = {r: plan(compare(LEDGER, [r])) for r in (GROWN, changed, both)}
    for given in (GROWN, changed, both):
        for choice in (Choice.APPROVE, Choice.REJECT):
            earlier = answers(plans[given], decide(plans[given], lambda _, c=choice: c))
            (question,) = plans[given].questions
            assert earlier == {("demo", "1"): Answer(choice, frozenset(question.findings))}
            for asked in (GROWN, changed, both):
                covered = set(compare(LEDGER, [asked])) <= set(compare(LEDGER, [given]))
                assert covered is (asked is given or given is both)
                assert earlier_choice(plans[asked].questions[0], earlier) is (choice if covered else None)
    assert earlier_choice(plans[GROWN].questions[0], {}) is None
