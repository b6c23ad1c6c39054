"""The plugin's review and its prompt, in process: no Poetry run, hooks as plain functions."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from cleo.io.buffered_io import BufferedIO
from tests.support.index import unbound

from pinwarden.poetry_plugin.flow import Aborted, Hooks, Refused, Warden
from pinwarden.poetry_plugin.prompt import asker, hooks_for, poetry_error
from pinwarden.shared.compare import compare
from pinwarden.shared.decide import Choice, Question
from pinwarden.shared.errors import PinwardenError
from pinwarden.shared.ledger import Key
from pinwarden.shared.model import (
    FileHash,
    Finding,
    FindingKind,
    LockedFile,
    LockedRelease,
    NormalizedName,
)

DEMO = NormalizedName("demo")
WHEEL, SDIST, LATE = "demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "demo-1.0-1-py3-none-any.whl"


def digest(data: str, algorithm: str = "sha256") -> FileHash:
    return FileHash(algorithm, hashlib.new(algorithm, data.encode()).hexdigest())


def release(*files: tuple[str, FileHash], version: str = "1.0") -> LockedRelease:
    return LockedRelease(
        name=DEMO,
        version=version,
        files=tuple(LockedFile(name, h) for name, h in files),
        lockfile="poetry.lock",
        source_url="http://127.0.0.1/simple",
    )


ORIGINAL = release((WHEEL, digest("wheel")), (SDIST, digest("sdist")))
WITH_LATE = release((WHEEL, digest("wheel")), (SDIST, digest("sdist")), (LATE, digest("late")))
CHANGED = release((WHEEL, digest("evil")), (SDIST, digest("sdist")))


class Recorder:
    """Hooks that answer from a script and remember what was said."""

    def __init__(self, answers: list[Choice] | None = None) -> None:
        self.answers = answers
        self.asked: list[Key] = []
        self.said: list[str] = []

    def hooks(
        self,
        verify: Callable[[Key, str, str], str | None] = lambda *_: None,
        yanked: Callable[[Key, str], str | None] = lambda *_: None,
    ) -> Hooks:
        return Hooks(
            ask=self.ask if self.answers is not None else None,
            say=self.said.append,
            verify=verify,
            yanked=yanked,
        )

    def ask(self, question: Question) -> Choice:
        assert self.answers
        self.asked.append(question.key)
        return self.answers.pop(0)


@pytest.fixture
def warden(tmp_path: Path) -> Warden:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    return Warden(tmp_path, tmp_path / "poetry.lock")


def trust(warden: Warden, *releases: LockedRelease) -> None:
    """A project whose ledger trusts the given releases (first use through the review itself)."""
    recorder = Recorder()
    review = warden.review(releases, recorder.hooks(), writes=True)
    warden.commit(review, recorder.hooks(), lambda: None)
    warden.decided.clear()


def test_a_new_version_is_trusted_on_first_use_and_recorded(warden: Warden) -> None:
    recorder = Recorder()
    review = warden.review([ORIGINAL], recorder.hooks(), writes=True)
    assert review.plan.first_use == ((DEMO, "1"),)
    written: list[bool] = []
    warden.commit(review, recorder.hooks(), lambda: written.append(warden.store.exists()))
    assert written == [True]  # the ledger is saved before the lock is written
    assert warden.trusted().get(DEMO, "1.0") is not None
    assert any("trusted 1 new version on first use" in line for line in recorder.said)


def test_first_use_ask_needs_approval(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.pinwarden]\nfirst-use = "ask"\n')
    warden = Warden(tmp_path, tmp_path / "poetry.lock")
    with pytest.raises(Refused) as refused:
        warden.review([ORIGINAL], Recorder().hooks(), writes=True)
    assert refused.value.keys == ((DEMO, "1"),)
    # Bound to what the report showed: every file the new version's lock pins.
    digests = " ".join(f"--hash {d}" for d in sorted(str(f.hash) for f in ORIGINAL.files))
    assert refused.value.report.rstrip().endswith(f"poetry pinwarden approve --from-index demo==1 {digests}")


def test_nobody_at_the_terminal_is_a_refusal_that_names_the_approve_command(warden: Warden) -> None:
    trust(warden, ORIGINAL)
    with pytest.raises(Refused) as refused:
        warden.review([WITH_LATE], Recorder().hooks(), writes=True)
    assert "NEW FILE" in refused.value.report
    assert (
        unbound(refused.value.report.splitlines()[-1].strip())
        == "poetry pinwarden approve --from-index demo==1"
    )
    assert "nothing was written or installed" in str(refused.value)


def test_an_install_from_the_lock_refuses_even_with_a_person(warden: Warden) -> None:
    trust(warden, ORIGINAL)
    with pytest.raises(Refused, match="without pinwarden") as refused:
        warden.review([WITH_LATE], Recorder([Choice.APPROVE]).hooks(), writes=False)
    assert refused.value.report.rstrip().endswith("poetry pinwarden approve demo==1")


def test_approve_records_the_new_file(warden: Warden) -> None:
    trust(warden, ORIGINAL)
    recorder = Recorder([Choice.APPROVE])
    review = warden.review([WITH_LATE], recorder.hooks(), writes=True)
    warden.commit(review, recorder.hooks(), lambda: None)
    trusted = warden.trusted().get(DEMO, "1.0")
    assert trusted is not None
    assert LATE in {f.filename for f in trusted.files}
    assert [e.how.value for e in trusted.history] == ["first-use", "approval"]


def test_reject_keeps_only_trusted_files_and_records_nothing(warden: Warden) -> None:
    trust(warden, ORIGINAL)
    before = warden.store.path.read_bytes()
    recorder = Recorder([Choice.REJECT])
    review = warden.review([CHANGED], recorder.hooks(), writes=True)
    assert [f.filename for f in review.kept[(DEMO, "1")].files] == [SDIST]
    warden.commit(review, recorder.hooks(), lambda: None)
    assert warden.store.path.read_bytes() == before


def test_abort_raises_and_writes_nothing(warden: Warden) -> None:
    trust(warden, ORIGINAL)
    before = warden.store.path.read_bytes()
    with pytest.raises(Aborted):
        warden.review([CHANGED], Recorder([Choice.ABORT]).hooks(), writes=True)
    assert warden.store.path.read_bytes() == before


def test_an_install_decision_is_reused_when_the_lock_is_written(warden: Warden) -> None:
    trust(warden, ORIGINAL)
    recorder = Recorder([Choice.APPROVE])
    warden.review([WITH_LATE], recorder.hooks(), writes=True)  # before installing
    warden.review([WITH_LATE], recorder.hooks(), writes=True)  # before writing the lock
    assert recorder.asked == [(DEMO, "1")]


# -- an answer covers only what it was given on (issue 10) --------------------------------------------

# Each changes the trusted demo 1.0 in its own way, so a set of them is a set of findings.
MUTATIONS = ("build-tagged", "new-wheel", "changed", "missing")
NEW_WHEEL = "demo-1.0-cp311-cp311-win_amd64.whl"


def mutated(names: frozenset[str], *, version: str = "1.0", reverse: bool = False) -> LockedRelease:
    files = [(WHEEL, digest("evil" if "changed" in names else "wheel"))]
    if "missing" not in names:
        files.append((SDIST, digest("sdist")))
    if "build-tagged" in names:
        files.append((LATE, digest("late")))
    if "new-wheel" in names:
        files.append((NEW_WHEEL, digest("win")))
    return release(*(reversed(files) if reverse else files), version=version)


SUBSETS = [frozenset(c) for n in range(1, len(MUTATIONS) + 1) for c in itertools.combinations(MUTATIONS, n)]
PAIRS = list(itertools.product(SUBSETS, SUBSETS))  # every order: (A, B) and (B, A), A == B too


def test_each_mutation_is_its_own_findings(warden: Warden) -> None:
    """The premise of the tests below: findings grow exactly as the mutations do."""
    trust(warden, ORIGINAL)
    ledger = warden.trusted()
    found = {m: frozenset(compare(ledger, [mutated(m)])) for m in SUBSETS}
    for a, b in PAIRS:
        assert (found[a] <= found[b]) is (a <= b), (sorted(a), sorted(b))


@pytest.mark.parametrize("version", ["1.0", "1.0.0", "1", "01.0"])  # the second review's spelling
@pytest.mark.parametrize("choice", [Choice.APPROVE, Choice.REJECT])
def test_an_earlier_answer_is_reused_only_for_what_it_was_given_on(
    warden: Warden, choice: Choice, version: str
) -> None:
    """Poetry reviews twice in one command (before installing, before writing the lock): the second
    time may find more (another new file, a changed file). The first answer covers only findings it
    was given on; anything more is asked again. In every order of every two sets of findings."""
    trust(warden, ORIGINAL)
    for first, second in PAIRS:
        warden.decided.clear()
        recorder = Recorder([choice, Choice.APPROVE])
        warden.review([mutated(first)], recorder.hooks(), writes=True)
        review = warden.review(
            [mutated(second, version=version, reverse=True)], recorder.hooks(), writes=True
        )
        asked_again = not second <= first
        assert recorder.asked == [(DEMO, "1")] * (2 if asked_again else 1), (sorted(first), sorted(second))
        expected = Choice.APPROVE if asked_again else choice
        assert ((DEMO, "1") in review.decisions.approved) is (expected is Choice.APPROVE)
        assert ((DEMO, "1") in review.decisions.rejected) is (expected is Choice.REJECT)


@pytest.mark.parametrize("choice", [Choice.APPROVE, Choice.REJECT])
def test_with_nobody_at_the_terminal_the_second_time_anything_more_is_refused(
    warden: Warden, choice: Choice
) -> None:
    trust(warden, ORIGINAL)
    for first, second in PAIRS:
        warden.decided.clear()
        warden.review([mutated(first)], Recorder([choice]).hooks(), writes=True)
        if second <= first:
            review = warden.review([mutated(second)], Recorder().hooks(), writes=True)
            assert (DEMO, "1") in (review.decisions.approved | review.decisions.rejected)
            continue
        with pytest.raises(Refused) as refused:
            warden.review([mutated(second)], Recorder().hooks(), writes=True)
        assert refused.value.keys == ((DEMO, "1"),), (sorted(first), sorted(second))
        assert (
            unbound(refused.value.report.rstrip().splitlines()[-1])
            == "poetry pinwarden approve --from-index demo==1"
        )


def test_a_wider_answer_given_later_covers_the_narrower_state_again(warden: Warden) -> None:
    """A (asked), then A and B (asked again), then A alone: the second answer saw all of A."""
    trust(warden, ORIGINAL)
    recorder = Recorder([Choice.APPROVE, Choice.APPROVE])
    narrow, wide = frozenset({"build-tagged"}), frozenset({"build-tagged", "changed"})
    for names in (narrow, wide, narrow, wide):
        warden.review([mutated(names)], recorder.hooks(), writes=True)
    assert recorder.asked == [(DEMO, "1"), (DEMO, "1")]
    assert sum("approved" in line for line in recorder.said) == 2  # said once per answer given


def test_an_answer_about_one_version_never_covers_another(warden: Warden) -> None:
    trust(warden, ORIGINAL, release((WHEEL.replace("1.0", "2.0"), digest("two")), version="2.0"))
    recorder = Recorder([Choice.APPROVE, Choice.APPROVE])
    warden.review([mutated(frozenset({"new-wheel"}))], recorder.hooks(), writes=True)
    other = release((WHEEL.replace("1.0", "2.0"), digest("evil two")), version="2.0")
    warden.review([mutated(frozenset({"new-wheel"})), other], recorder.hooks(), writes=True)
    assert recorder.asked == [(DEMO, "1"), (DEMO, "2")]


def served_digests(data: str | None) -> Callable[[Key, str, tuple[str, ...]], dict[str, str] | None]:
    """A verify hook whose ONE download gives `data` (None: the download failed)."""

    def verify(key: Key, filename: str, algorithms: tuple[str, ...]) -> dict[str, str] | None:
        if data is None:
            return None
        return {a: digest(data, a).value for a in algorithms}

    return verify


@pytest.mark.parametrize("algorithm", ["sha512", "sha384"])
def test_a_switch_to_another_algorithm_with_the_same_bytes_is_verified(
    warden: Warden, algorithm: str
) -> None:
    trust(warden, ORIGINAL)
    switched = release((WHEEL, digest("wheel", algorithm)), (SDIST, digest("sdist", algorithm)))
    fetched: list[tuple[str, tuple[str, ...]]] = []

    def verify(key: Key, filename: str, algorithms: tuple[str, ...]) -> dict[str, str]:
        fetched.append((filename, algorithms))
        return {a: digest("wheel" if filename == WHEEL else "sdist", a).value for a in algorithms}

    recorder = Recorder()
    review = warden.review([switched], recorder.hooks(verify=verify), writes=True)
    assert review.plan.clean
    assert sorted(fetched) == [(WHEEL, ("sha256", algorithm)), (SDIST, ("sha256", algorithm))]
    warden.commit(review, recorder.hooks(), lambda: None)
    trusted = warden.trusted().get(DEMO, "1.0")
    assert trusted is not None
    assert {h.algorithm for f in trusted.files for h in f.hashes} == {"sha256", algorithm}


@pytest.mark.parametrize("algorithm", ["sha512", "sha384", "sha256"])
@pytest.mark.parametrize("other", ["evil", "", "wheel "])
def test_a_listed_hash_of_other_bytes_is_never_recorded(warden: Warden, algorithm: str, other: str) -> None:
    """Issue 10 class 2: the index serves the trusted bytes (their sha256 matches) but lists a hash of
    other bytes; one download must give both, so the listed hash is refused, never recorded."""
    trust(warden, ORIGINAL)
    # sha256: the same algorithm, a plain changed hash; the others: a switch that must be verified.
    switched = release((WHEEL, digest(other, algorithm)), (SDIST, digest("sdist")))
    with pytest.raises(Refused) as refused:
        warden.review([switched], Recorder().hooks(verify=served_digests("wheel")), writes=True)
    assert "CHANGED" in refused.value.report
    recorded = warden.trusted().get(DEMO, "1.0")
    assert recorded is not None
    assert all(h.algorithm == "sha256" for f in recorded.files for h in f.hashes)


@pytest.mark.parametrize(
    ("served", "kind", "words"),
    [
        ("evil", FindingKind.CHANGED_FILE, "downloaded"),
        (None, FindingKind.NEW_FILE, "could not be downloaded"),
    ],
)
def test_a_switch_to_sha512_that_cannot_be_verified_needs_approval(
    warden: Warden, served: str | None, kind: FindingKind, words: str
) -> None:
    trust(warden, ORIGINAL)
    switched = release((WHEEL, digest("evil" if served else "wheel", "sha512")), (SDIST, digest("sdist")))

    with pytest.raises(Refused) as refused:
        warden.review([switched], Recorder().hooks(verify=served_digests(served)), writes=True)
    assert words in refused.value.report
    label = "CHANGED" if kind is FindingKind.CHANGED_FILE else "NEW FILE"
    assert label in refused.value.report


def test_a_yanked_file_is_described_as_yanked(warden: Warden) -> None:
    trust(warden, ORIGINAL)
    without_sdist = release((WHEEL, digest("wheel")))
    with pytest.raises(Refused) as refused:
        warden.review(
            [without_sdist],
            Recorder().hooks(yanked=lambda key, name: "broken" if name == SDIST else None),
            writes=True,
        )
    assert "yanked upstream (broken)" in refused.value.report


LOCK = """\
[[package]]
name = "demo"
version = "1.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = [
    {{file = "{wheel}", hash = "{hash}"}},
]

[metadata]
lock-version = "2.1"
python-versions = ">=3.10"
content-hash = "0"
"""


def test_a_project_without_a_ledger_adopts_its_lock(warden: Warden) -> None:
    warden.lock_path.write_text(LOCK.format(wheel=WHEEL, hash=digest("wheel")))
    adopted = warden.trusted().get(DEMO, "1.0")
    assert adopted is not None
    assert [e.how.value for e in adopted.history] == ["init"]
    assert not warden.store.exists()
    assert warden.adopt() is True
    assert warden.store.exists()
    assert warden.adopt() is False


# -- the prompt ----------------------------------------------------------------------------------

QUESTION = Question(
    DEMO, "1.0", (Finding(kind=FindingKind.NEW_FILE, project=DEMO, version="1.0", lockfile="l"),)
)


def answering(text: str) -> BufferedIO:
    io = BufferedIO()
    io.input.set_stream(StringIO(text))
    io.interactive(True)
    return io


@pytest.mark.parametrize(
    ("typed", "choice"),
    [
        ("approve\n", Choice.APPROVE),
        ("yes\n", Choice.APPROVE),
        ("reject\n", Choice.REJECT),
        ("abort\n", Choice.ABORT),
        ("\n", Choice.ABORT),
        ("maybe\nreject\n", Choice.REJECT),
        ("a\nb\nc\napprove\n", Choice.ABORT),  # three answers that meant nothing
        ("", Choice.ABORT),  # end of input
    ],
)
def test_the_question_takes_a_word_and_defaults_to_abort(typed: str, choice: Choice) -> None:
    io = answering(typed)
    assert asker(io)(QUESTION) is choice
    # The asker prints the Question's version as given (Question, unlike Finding, keeps its spelling).
    assert "Trust the new state of demo 1.0?" in io.fetch_error()


def test_a_new_version_cannot_be_rejected() -> None:
    new = Question(
        DEMO, "1.0", (Finding(kind=FindingKind.NEW_VERSION, project=DEMO, version="1.0", lockfile="l"),)
    )
    io = answering("reject\nabort\n")
    assert asker(io)(new) is Choice.ABORT
    assert "Please answer approve or abort" in io.fetch_error()


class Tty(StringIO):
    def isatty(self) -> bool:
        return True


# What a CI system, or an attacker's environment, might set CI to: set at all means nobody is there.
CI_VALUES = ("1", "true", "TRUE", "yes", "on", "false", "False", "0", "no", "off", "", " ", "\t", "ci")


def test_non_interactive_or_ci_means_nobody_to_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", Tty())
    monkeypatch.setattr("sys.stderr", Tty())
    io = answering("approve\n")
    assert hooks_for(io, lambda *_: None, lambda *_: None).ask is not None
    io.interactive(False)
    assert hooks_for(io, lambda *_: None, lambda *_: None).ask is None
    io.interactive(True)
    monkeypatch.setenv("CI", "true")
    assert hooks_for(io, lambda *_: None, lambda *_: None).ask is None


def test_a_refusal_prints_as_poetry_error_ending_with_the_approve_command() -> None:
    report = (
        "1 finding(s)\n<weird> name\n\nIf these changes are expected:\n  poetry pinwarden approve demo==1\n"
    )
    io = BufferedIO()
    poetry_error(Refused(report, [(DEMO, "1.0")], writes=True)).write(io)
    text = io.fetch_error()
    assert "<weird> name" in text  # escaped, not eaten as a tag
    assert unbound(text.rstrip().splitlines()[-1].strip()) == "poetry pinwarden approve demo==1"


@pytest.mark.parametrize(
    ("case", "asks"),
    [
        ((True, True, True, None), True),
        ((False, True, True, None), False),  # piped or /dev/null
        ((True, False, True, None), False),  # stderr redirected: the report would not be seen
        ((True, True, False, None), False),  # -n / --no-interaction / -q
        *[((True, True, True, value), False) for value in CI_VALUES],
    ],
)
def test_a_person_is_there_only_at_a_terminal_without_n_or_ci(
    monkeypatch: pytest.MonkeyPatch, case: tuple[bool, bool, bool, str | None], asks: bool
) -> None:
    stdin_tty, stderr_tty, interactive, ci = case
    monkeypatch.setattr("sys.stdin", Tty() if stdin_tty else StringIO())
    monkeypatch.setattr("sys.stderr", Tty() if stderr_tty else StringIO())
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    io = answering("approve\n")
    io.interactive(interactive)
    assert (hooks_for(io, lambda *_: None, lambda *_: None).ask is not None) is asks


@pytest.mark.parametrize("ci", [None, *CI_VALUES])
@pytest.mark.parametrize("stdin_tty", [True, False])
@pytest.mark.parametrize("stderr_tty", [True, False])
def test_the_plugin_and_the_wrapper_agree_on_who_is_there(
    monkeypatch: pytest.MonkeyPatch, ci: str | None, stdin_tty: bool, stderr_tty: bool
) -> None:
    """One rule for both: the wrapper once took only truthy CI values as CI, so CI=false prompted."""
    from pinwarden.piptools_ext.prompt import is_interactive

    stdin, stderr = Tty() if stdin_tty else StringIO(), Tty() if stderr_tty else StringIO()
    monkeypatch.setattr("sys.stdin", stdin)
    monkeypatch.setattr("sys.stderr", stderr)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    expected = ci is None and stdin_tty and stderr_tty
    assert (hooks_for(answering("approve\n"), lambda *_: None, lambda *_: None).ask is not None) is expected
    assert is_interactive(stdin, stderr) is expected


def test_a_closed_stdin_is_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = StringIO()
    closed.close()  # isatty() raises ValueError, as on a closed terminal
    monkeypatch.setattr("sys.stdin", closed)
    monkeypatch.setattr("sys.stderr", Tty())
    monkeypatch.delenv("CI", raising=False)
    assert hooks_for(answering("approve\n"), lambda *_: None, lambda *_: None).ask is None


@pytest.mark.parametrize(
    ("error", "first"),
    [
        (PinwardenError("ledger.toml is not a valid ledger: x"), "pinwarden: error: ledger.toml is not"),
        (PinwardenError("pinwarden: something"), "pinwarden: error: something"),
        (PinwardenError("pinwarden: error: twice"), "pinwarden: error: twice"),
        (Aborted(), "pinwarden: aborted"),
    ],
)
def test_errors_print_as_pinwarden_error_and_decisions_in_their_own_words(
    error: PinwardenError, first: str
) -> None:
    io = BufferedIO()
    poetry_error(error).write(io)
    assert io.fetch_error().lstrip().startswith(first)
