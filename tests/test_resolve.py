# ruff: noqa: F811  (the fixtures of test_audit.py, imported, are parameters here)
"""Issue 11: every finding kind carries the command that ends it, and that command does end it.

Each scenario produces findings against a local index on 127.0.0.1, runs the printed advice
literally (with a reason in place of "WHY"), and the next audit or check is clean. A relock is
done as pip-compile would do it: the requirements file is rewritten with the hashes now trusted.
"""

from __future__ import annotations

import json
import os
import pty
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_sdist, build_wheel
from tests.test_audit import (
    A_SDIST,
    A_WHEEL,
    ALPHA,
    B_LINUX,
    B_WIN,
    BETA,
    EPOCH,
    PINS,
    SCENARIOS,
    T0,
    adopted,  # noqa: F401  (fixtures)
    audit_json,
    index,  # noqa: F401
    isolated,  # noqa: F401
    kinds,
    requirements,
    run,
    sha256,
)

from pinwarden.shared.baseline import loads

REASON = "reviewed upstream"


def advice(out: str) -> list[str]:
    """The commands a report prints, in order: approve/acknowledge lines and relock lines."""
    _, _, tail = out.partition("If these changes are expected, review them, then record them:\n")
    commands = []
    for line in tail.splitlines():
        if not line.startswith("  "):
            break
        commands.append(line.strip())
    return commands


def follow(commands: list[str], relock: Callable[[], None]) -> None:
    for command in commands:
        if command.startswith(("then relock:", "relock")):
            relock()
            continue
        words = shlex.split(command.replace('"WHY"', shlex.quote(REASON)))
        assert words[0] == "pinwarden", command
        code, out, err = run(*words[1:])
        assert code == 0, (command, out, err)


def relock_with_served(index: PackageIndex, isolated: Path) -> Callable[[], None]:
    """What pip-compile --generate-hashes writes: every file each pinned version has on the index."""

    def relock() -> None:
        pins = []
        for name, version, _ in PINS:
            datas = [f.data for f in index.files(name).values() if f.version == version]
            pins.append((name, version, datas))
        (isolated / "requirements.txt").write_text(requirements(index.url, *pins))

    return relock


@pytest.mark.parametrize("change", [s[0] for s in SCENARIOS], ids=[s[0].__name__[1:] for s in SCENARIOS])
def test_following_the_audit_advice_ends_each_finding(
    adopted: PackageIndex, isolated: Path, change: Callable[[PackageIndex], None]
) -> None:
    change(adopted)
    code, out, _ = run("audit")
    assert code == 1
    commands = advice(out)
    assert commands, out
    follow(commands, relock_with_served(adopted, isolated))
    code, report = audit_json()
    assert (code, kinds(report)) == (0, set()), commands
    assert run("check")[0] == 0


def test_every_finding_in_json_carries_its_command(adopted: PackageIndex) -> None:
    for i in (0, 1, 3, 5, 6):  # a new file and its signs, changed, yanked, sdist added, gone
        SCENARIOS[i][0](adopted)
    _, report = audit_json()
    findings = report["findings"]
    assert isinstance(findings, list) and findings
    for finding in findings:
        resolve = finding["resolve"]
        assert resolve["action"] in ("approve", "acknowledge", "relock")
        assert resolve["commands"], finding


def test_a_yank_is_acknowledged_with_who_when_why_and_a_further_yank_reraises(
    adopted: PackageIndex, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(isolated / "none"))
    monkeypatch.setenv("USER", "jane")
    adopted.yank(ALPHA, A_SDIST[0], "broken build")
    code, out, _ = run("audit")
    assert code == 1 and f'pinwarden acknowledge {ALPHA}==1 --reason "WHY"' in out
    # Before the fix the advice was approve --from-index, which answered "already trusted".
    code, out, _ = run("acknowledge", f"{ALPHA}==1", "--reason", "we pin the sdist on purpose")
    assert code == 0, out
    assert "acknowledged by jane" in out and A_SDIST[0] in out
    (ack,) = loads((isolated / "pinwarden-baseline.toml").read_text()).acknowledged
    assert (ack.project, ack.version, ack.by, ack.reason) == (
        ALPHA,
        "1",
        "jane",
        "we pin the sdist on purpose",
    )
    assert ack.at and [(s.kind, s.file) for s in ack.subjects] == [("yanked", A_SDIST[0])]
    assert audit_json()[0] == 0
    adopted.yank(ALPHA, A_WHEEL[0], "also broken")  # something new: reported again
    assert kinds(audit_json()[1]) == {("yanked", ALPHA, "1", None)}  # now the whole version


def test_an_approval_no_longer_answers_a_yank_with_already_trusted(adopted: PackageIndex) -> None:
    adopted.yank(ALPHA, A_SDIST[0], "broken build")
    _, out, _ = run("audit")
    assert "--from-index" not in out  # the old advice, which left the yank reported forever


def test_a_gone_project_is_acknowledged(adopted: PackageIndex) -> None:
    with adopted._lock:
        del adopted._projects[BETA]
    code, out, _ = run("audit")
    assert code == 1 and "GONE" in out
    follow(advice(out), lambda: None)
    assert audit_json()[0] == 0


def test_a_yanked_new_version_is_approved_from_the_lock_then_acknowledged(
    adopted: PackageIndex, isolated: Path
) -> None:
    wheel = build_wheel(ALPHA, "1.1")
    adopted.add(ALPHA, "1.1", *wheel, upload_time=T0, yanked="bad")
    (isolated / "requirements.txt").write_text(requirements(adopted.url, (ALPHA, "1.1", [wheel[1]]), PINS[1]))
    code, out, _ = run("audit")
    assert code == 1
    commands = advice(out)
    assert commands == [
        f"pinwarden approve {ALPHA}==1.1",
        f'pinwarden acknowledge {ALPHA}==1.1 --reason "WHY"',
    ]
    follow(commands, lambda: None)
    assert audit_json()[0] == 0


def test_acknowledge_refuses_what_it_cannot_end(adopted: PackageIndex) -> None:
    adopted.replace(ALPHA, A_SDIST[0], build_sdist(ALPHA, "1.0", marker="evil")[1])
    code, out, _ = run("acknowledge", f"{ALPHA}==1", "--reason", "x")
    assert code == 1
    assert "nothing the index reports to acknowledge" in out and "--replace" in out
    assert "acknowledged" not in (Path("pinwarden-baseline.toml").read_text())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([f"{ALPHA}==1"], "the following arguments are required: --reason"),
        ([f"{ALPHA}==9", "--reason", "x"], "is not pinned in"),
        ([f"{ALPHA}==1", "--reason", " "], "--reason must say why"),
    ],
)
def test_acknowledge_bad_input_is_one_error_line(
    adopted: PackageIndex, argv: list[str], message: str
) -> None:
    code, _, err = run("acknowledge", *argv)
    assert code == 2 and message in err and err.count("\n") == 1


# -- check: the lock against the ledger (poetry.lock names its files, so every kind shows) -----------


def lock_text(*packages: tuple[str, str, list[tuple[str, str]]]) -> str:
    blocks = []
    for name, version, files in packages:
        entries = "".join(f'    {{file = "{f}", hash = "{h}"}},\n' for f, h in files)
        blocks.append(
            f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = ""\noptional = false\n'
            f'python-versions = "*"\nfiles = [\n{entries}]\n'
        )
    tail = '\n[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    return "\n".join(blocks) + tail


def digest(n: int) -> str:
    return "sha256:" + f"{n:x}".rjust(64, "0")


DEMO = ("demo", "1.0", [("demo-1.0-py3-none-any.whl", digest(1)), ("demo-1.0.tar.gz", digest(2))])
CHECK_CASES = {
    "NEW VERSION": ("demo", "1.1", [("demo-1.1-py3-none-any.whl", digest(5))]),
    "NEW FILE": ("demo", "1.0", [*DEMO[2], ("demo-1.0-1-py3-none-any.whl", digest(6))]),
    "CHANGED": ("demo", "1.0", [DEMO[2][0], ("demo-1.0.tar.gz", digest(7))]),
    "MISSING": ("demo", "1.0", [DEMO[2][0]]),
    "WEAK HASH": ("demo", "1.0", [*DEMO[2], ("demo-1.0-cp313-cp313-win_amd64.whl", "md5:" + "0" * 32)]),
}


@pytest.fixture
def locked(isolated: Path) -> Path:
    (isolated / "poetry.lock").write_text(lock_text(DEMO))
    assert run("init")[0] == 0
    return isolated


@pytest.mark.parametrize("label", list(CHECK_CASES))
def test_following_the_check_advice_ends_each_lock_finding(locked: Path, label: str) -> None:
    package = CHECK_CASES[label]
    (locked / "poetry.lock").write_text(lock_text(package))
    code, out, _ = run("check")
    assert code == 1 and f"  {label}" in out
    relocked = (package[0], package[1], [f for f in package[2] if f[1].startswith("sha256:")])
    follow(advice(out), lambda: (locked / "poetry.lock").write_text(lock_text(relocked)))
    assert run("check")[0] == 0


def test_a_weak_hash_is_ended_by_a_relock_not_an_approval(locked: Path) -> None:
    (locked / "poetry.lock").write_text(lock_text(CHECK_CASES["WEAK HASH"]))
    _, out, _ = run("check")
    assert advice(out) == ["relock (no approval records a weak hash): poetry lock"]


# -- approving a changed file --------------------------------------------------------------------------


def test_approving_a_changed_file_without_a_reason_is_refused_with_the_command(locked: Path) -> None:
    (locked / "poetry.lock").write_text(lock_text(CHECK_CASES["CHANGED"]))
    ledger = (locked / "pinwarden-ledger.toml").read_bytes()
    code, out, _ = run("approve", "demo==1.0")
    assert code == 1  # before issue 11: 0, and the new bytes trusted without a word
    assert '  pinwarden approve demo==1.0 --reason "WHY"' in out
    assert (locked / "pinwarden-ledger.toml").read_bytes() == ledger
    code, out, _ = run("approve", "demo==1.0", "--reason", "rebuilt by upstream")
    assert code == 0 and "from poetry.lock (the lock)" in out and digest(7) in out
    assert 'reason = "rebuilt by upstream"' in (locked / "pinwarden-ledger.toml").read_text()


H_OLD, H_NEW, H_MORE = ("sha256:" + c * 64 for c in "abc")


@pytest.mark.parametrize(
    ("now", "needs_reason"),
    [
        ([H_NEW], True),  # one hash for another: maybe one file with other bytes
        ([H_NEW, H_MORE], True),  # two for one
        ([H_OLD, H_NEW], False),  # one added beside the trusted one: a new file, nothing replaced
        ([H_NEW, H_OLD], False),  # the same, in another order
    ],
    ids=["swap", "two-for-one", "added", "added-first"],
)
def test_a_requirements_file_swap_needs_a_reason_though_it_names_no_file(
    isolated: Path, now: list[str], needs_reason: bool
) -> None:
    """A requirements file names no file, so a replaced hash is a new-file and a missing-file of the
    version, never changed-file: the approval is taken for a change all the same (issue 11)."""
    lock = isolated / "requirements.txt"
    lock.write_text(f"demo==1.0 --hash={H_OLD}\n")
    assert run("init")[0] == 0
    lock.write_text("demo==1.0 " + " ".join(f"--hash={h}" for h in now) + "\n")
    ledger = (isolated / "pinwarden-ledger.toml").read_bytes()
    code, out, _ = run("approve", "demo==1.0")
    if not needs_reason:
        assert code == 0, out
        return
    assert code == 1 and "REPLACES the trusted bytes" in out and "(no filename)" in out, out
    assert '  pinwarden approve demo==1.0 --reason "WHY"' in out
    assert (isolated / "pinwarden-ledger.toml").read_bytes() == ledger
    assert run("approve", "demo==1.0", "--reason", "rebuilt upstream")[0] == 0


def test_a_changed_file_from_the_index_needs_a_reason_too(index: PackageIndex, isolated: Path) -> None:
    files = [(A_WHEEL[0], sha256(A_WHEEL[1])), (A_SDIST[0], sha256(A_SDIST[1]))]
    (isolated / "poetry.lock").write_text(lock_text((ALPHA, "1.0", files)))
    assert run("init")[0] == 0
    index.replace(ALPHA, A_SDIST[0], build_sdist(ALPHA, "1.0", marker="evil")[1])
    code, out, _ = run("approve", f"{ALPHA}==1.0", "--from-index", index.url, "--replace")
    assert code == 1 and '--replace --reason "WHY"' in out and "nothing was recorded" in out
    code, _, _ = run("approve", f"{ALPHA}==1.0", "--from-index", index.url, "--replace", "--reason", "ok")
    assert code == 0


# -- the false sentence -------------------------------------------------------------------------------


def test_a_file_held_back_on_the_first_look_is_not_said_to_be_unserved(
    index: PackageIndex, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not index.json_enabled:
        pytest.skip("upload times come with PEP 691 JSON only")
    (isolated / "requirements.txt").write_text(requirements(index.url, *PINS))
    assert run("init")[0] == 0  # trusted at EPOCH
    late = build_wheel(ALPHA, "1.0", python_tag="cp313", abi="cp313", platform="win_amd64")
    index.add(ALPHA, "1.0", *late, upload_time="2026-05-30T00:00:00Z")  # after the trust
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(EPOCH) + 7 * 86400))  # the first look, a week on
    first = json.loads(run("audit", "--format", "json")[1])["findings"]
    assert [f["detail"] for f in first if f["kind"] == "new-file"] == [
        "uploaded after this version was trusted; the ledger does not trust it"
    ]
    later = json.loads(run("audit", "--format", "json")[1])["findings"]
    (detail,) = [f["detail"] for f in later if f["kind"] == "new-file"]
    assert "not served when the audit first looked" not in detail
    assert detail.startswith("uploaded after this version was trusted; reported since the audit first looked")


def _in_pty(argv: list[str], cwd: Path, answer: bytes) -> tuple[int, str]:
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "POETRY_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    process = subprocess.Popen(
        [sys.executable, "-m", "pinwarden", *argv], cwd=cwd, stdin=child, stdout=child, stderr=child, env=env
    )
    os.close(child)
    seen = b""
    while b"empty refuses): " not in seen:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal: it never asked
            chunk = b""
        assert chunk, seen
        seen += chunk
    os.write(main, answer)
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    return process.wait(timeout=120), seen.decode()


@pytest.mark.parametrize(("answer", "code"), [(b"rebuilt upstream, checked\n", 0), (b"\n", 1)])
def test_a_changed_file_is_confirmed_at_a_terminal(locked: Path, answer: bytes, code: int) -> None:
    isolated = locked
    (locked / "poetry.lock").write_text(lock_text(CHECK_CASES["CHANGED"]))
    ledger = (isolated / "pinwarden-ledger.toml").read_bytes()
    got, out = _in_pty(["approve", "demo==1.0"], isolated, answer)
    assert got == code, out
    assert "REPLACES the trusted bytes of" in out
    text = (isolated / "pinwarden-ledger.toml").read_text()
    if code == 0:
        assert 'reason = "rebuilt upstream, checked"' in text
    else:
        assert text.encode() == ledger


def test_version_gone_advice_offers_the_relock_too(adopted: PackageIndex) -> None:
    adopted.remove(BETA, B_LINUX[0])
    adopted.remove(BETA, B_WIN[0])
    _, out, _ = run("audit")
    assert f'pinwarden acknowledge {BETA}==2 --reason "WHY"' in out
    assert "  or: pinwarden pip-compile" in out


def test_acknowledgments_round_trip_and_malformed_ones_are_refused() -> None:
    from pinwarden.shared.acknowledge import Acknowledgment, Subject
    from pinwarden.shared.baseline import Baseline, dumps
    from pinwarden.shared.errors import InputError
    from pinwarden.shared.model import NormalizedName

    ack = Acknowledgment(
        project=NormalizedName("demo"),
        version="1",
        by='Jane "J" Doe <jane@example.com>',
        at="2026-11-26T09:00:00Z",
        reason="needed; see #12",
        subjects=(Subject("version-gone"), Subject("yanked", "demo-1.0.tar.gz")),
    )
    text = dumps(Baseline().with_acknowledgment(ack))
    assert loads(text).acknowledged == (ack,)
    for bad in ('reason = ""', 'project = "Demo"', "findings = []"):
        key = bad.split(" =")[0]
        broken = "\n".join(bad if line.startswith(f"{key} =") else line for line in text.splitlines())
        with pytest.raises(InputError):
            loads(broken)
