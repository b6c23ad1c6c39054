"""`pinwarden diff [GIT-REV]`: the pure ledger diff, then the command against a real git repository."""

from __future__ import annotations

import io
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from tests.test_ledger import digest, release

from pinwarden.cli import main
from pinwarden.shared.ledger import Ledger, dumps
from pinwarden.shared.ledger_diff import ChangeKind, diff
from pinwarden.shared.model import FileHash, LockedFile, TrustEvent, TrustHow
from pinwarden.shared.trust import record

AT = "2026-11-25T00:00:00Z"
BASE = record(Ledger(), [release("demo", "1.0"), release("other", "2.0")], how=TrustHow.INIT, at=AT)
DEMO = BASE.get("demo", "1.0")  # type: ignore[arg-type]
assert DEMO is not None


def kinds(old: Ledger, new: Ledger) -> list[ChangeKind]:
    return [c.kind for c in diff(old, new)]


def edited(**changes: object) -> Ledger:
    return BASE.with_releases([replace(DEMO, **changes)])  # type: ignore[arg-type]


def test_unchanged_ledger_has_no_changes() -> None:
    assert diff(BASE, BASE) == ()


def test_additions_only() -> None:
    approved = record(BASE, [release("demo", "1.0", 3)], how=TrustHow.APPROVAL, at=AT, reason="cp313 wheels")
    new = record(approved, [release("fresh", "0.1")], how=TrustHow.FIRST_USE, at=AT)
    changes = diff(BASE, new)
    assert not any(c.removes_trust for c in changes)
    assert {c.kind for c in changes} == {
        ChangeKind.ADDED_VERSION,
        ChangeKind.ADDED_FILE,
        ChangeKind.TRUST_EVENT,
    }
    assert any(c.kind is ChangeKind.TRUST_EVENT and "cp313 wheels" in (c.detail or "") for c in changes)


def test_replaced_hash_is_called_out_and_sorted_first() -> None:
    first = DEMO.files[0]
    swapped = replace(first, hashes=(digest("evil"),))
    new = record(
        edited(files=(swapped, *DEMO.files[1:])), [release("zzz", "1")], how=TrustHow.FIRST_USE, at=AT
    )
    changes = diff(BASE, new)
    assert changes[0].kind is ChangeKind.REPLACED_HASH and changes[0].removes_trust
    assert changes[0].old == str(first.hashes[0]) and changes[0].new == str(digest("evil"))


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"files": DEMO.files[1:]}, ChangeKind.REMOVED_FILE),
        ({"history": (TrustEvent(how=TrustHow.APPROVAL, at=AT),)}, ChangeKind.HISTORY_REWRITTEN),
        ({"history": ()}, ChangeKind.HISTORY_REWRITTEN),
    ],
)
def test_removals_are_flagged(change: dict[str, object], kind: ChangeKind) -> None:
    changes = diff(BASE, edited(**change))
    assert kind in [c.kind for c in changes] and all(c.removes_trust for c in changes if c.kind is kind)


def test_removed_version_and_removed_algorithm() -> None:
    without = Ledger({k: v for k, v in BASE.releases.items() if k[0] != "other"})
    assert kinds(BASE, without) == [ChangeKind.REMOVED_VERSION]
    first = DEMO.files[0]
    two = replace(first, hashes=(*first.hashes, FileHash("sha512", "a" * 128)))
    with_two = edited(files=(two, *DEMO.files[1:]))
    assert kinds(BASE, with_two) == [ChangeKind.ADDED_HASH]
    assert kinds(with_two, BASE) == [ChangeKind.REMOVED_HASH]


def test_requirements_hash_that_gets_its_filename_is_not_a_removal() -> None:
    name, version = "demo", "1.0"
    locked = release(name, version)
    unnamed = replace(locked, files=tuple(LockedFile(None, f.hash) for f in locked.files))
    old = record(Ledger(), [unnamed], how=TrustHow.FIRST_USE, at=AT)
    new = record(old, [locked], how=TrustHow.APPROVAL, at=AT)
    changes = diff(old, new)
    assert not any(c.removes_trust for c in changes), changes


def test_vanished_file_keeps_trust() -> None:
    vanished = replace(DEMO.files[0], vanished=True)
    assert kinds(BASE, edited(files=(vanished, *DEMO.files[1:]))) == [ChangeKind.VANISHED]


# ---------------------------------------------------------------------------------------------
# the command, in a real git repository


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in {
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "pinwarden-ledger.toml").write_text(dumps(BASE))
    git(tmp_path, "add", "pinwarden-ledger.toml")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["diff", *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def test_additions_since_head_exit_0(repo: Path) -> None:
    new = record(BASE, [release("fresh", "0.1")], how=TrustHow.FIRST_USE, at=AT)
    (repo / "pinwarden-ledger.toml").write_text(dumps(new))
    code, out, _ = run()
    assert code == 0
    assert "fresh 0.1  new version" in out and "REMOVED" not in out
    code, out, _ = run("--format", "json")
    data = json.loads(out)
    assert code == 0 and data["removes_trust"] is False
    assert {c["kind"] for c in data["changes"]} == {"added-version", "added-file"}


def test_replaced_hash_since_a_revision_exit_1(repo: Path) -> None:
    first = DEMO.files[0]
    tampered = edited(files=(replace(first, hashes=(digest("evil"),)), *DEMO.files[1:]))
    (repo / "pinwarden-ledger.toml").write_text(dumps(tampered))
    git(repo, "commit", "-qam", "tamper")
    assert run()[0] == 0  # nothing changed since HEAD
    code, out, _ = run("HEAD~1")
    assert code == 1
    assert "TRUST REMOVED OR REPLACED" in out and f"HASH REPLACED  {first.filename}" in out
    data = json.loads(run("HEAD~1", "--format", "json")[1])
    assert data["removes_trust"] is True and data["changes"][0]["kind"] == "replaced-hash"


def test_ledger_new_since_revision_is_all_additions(repo: Path) -> None:
    (repo / "sub").mkdir()
    (repo / "sub" / "pinwarden-ledger.toml").write_text(dumps(BASE))
    code, out, _ = run("--ledger", "sub/pinwarden-ledger.toml")
    assert code == 0 and "demo 1  new version" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["no-such-rev"], "no such git revision"), (["--", "--output=x"], "no such git revision")],
)
def test_bad_revision_exit_2(repo: Path, argv: list[str], message: str) -> None:
    code, out, err = run(*argv)
    assert code == 2 and message in err and err.count("\n") == 1 and out == ""


def test_malformed_ledger_exit_2(repo: Path) -> None:
    (repo / "pinwarden-ledger.toml").write_text("ledger-format = 1\n[projects.demo]\nx = 1\n")
    code, _, err = run()
    assert code == 2 and err.startswith("pinwarden: error:") and err.count("\n") == 1


def test_not_a_git_repository_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pinwarden-ledger.toml").write_text(dumps(BASE))
    code, _, err = run()
    assert code == 2 and "not a git repository" in err


# ---------------------------------------------------------------------------------------------
# issue 10 class 9: a pull request that changes `[tool.pinwarden] ledger` moves trust elsewhere


def _pyproject(repo: Path, setting: str | None) -> None:
    table = "" if setting is None else f"[tool.pinwarden]\nledger = {json.dumps(setting)}\n"
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n' + table)


def _tampered() -> Ledger:
    first = DEMO.files[0]
    return edited(files=(replace(first, hashes=(digest("evil"),)), *DEMO.files[1:]))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (None, "evil/ledger.toml"),  # added
        (None, "./evil/../evil/ledger.toml"),
        ("pinwarden-ledger.toml", "evil/ledger.toml"),  # changed
        ("./pinwarden-ledger.toml", "evil/ledger.toml"),
        (None, "pinwarden-ledger.toml"),  # added, naming the default place: still shown
        ("pinwarden-ledger.toml", None),  # removed
    ],
)
def test_a_changed_ledger_setting_is_flagged_and_compared_with_the_old_place(
    repo: Path, old: str | None, new: str | None
) -> None:
    _pyproject(repo, old)
    git(repo, "add", "pyproject.toml")
    git(repo, "commit", "-qm", "setting")
    # The pull request: a tampered copy of the ledger at the new place (if the place moved).
    _pyproject(repo, new)
    target = repo / (new or "pinwarden-ledger.toml")
    target.parent.mkdir(parents=True, exist_ok=True)
    moved = target.resolve() != (repo / "pinwarden-ledger.toml").resolve()
    if moved:
        target.write_text(dumps(_tampered()))
    code, out, _ = run()
    assert code == 1, out
    assert "LEDGER MOVED" in out
    assert "setting at HEAD" in out and ("(not set)" in out) == (old is None or new is None)
    if moved:  # judged against the ledger at its old place: the swapped hash shows
        assert f"HASH REPLACED  {DEMO.files[0].filename}" in out
    data = json.loads(run("--format", "json")[1])
    assert data["removes_trust"] is True
    assert data["ledger_setting"]["old_setting"] == old and data["ledger_setting"]["new_setting"] == new
    assert run("--format", "json")[0] == 1


def test_an_unchanged_setting_is_not_a_move(repo: Path) -> None:
    (repo / "sec").mkdir()
    (repo / "sec" / "l.toml").write_text(dumps(BASE))
    _pyproject(repo, "sec/l.toml")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "moved on purpose")
    code, out, _ = run()
    assert code == 0 and "LEDGER MOVED" not in out
    data = json.loads(run("--format", "json")[1])
    assert data["ledger_setting"] is None and data["removes_trust"] is False
    # Since the commit before, the move is there (and the old default ledger is the base).
    code, out, _ = run("HEAD~1")
    assert code == 1 and "LEDGER MOVED" in out and "no trust changed" in out


def test_the_old_place_may_be_gone_now(repo: Path) -> None:
    (repo / "sec").mkdir()
    (repo / "sec" / "l.toml").write_text(dumps(BASE))
    _pyproject(repo, "sec/l.toml")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "in sec")
    git(repo, "rm", "-rq", "sec")
    (repo / "pinwarden-ledger.toml").write_text(dumps(_tampered()))
    _pyproject(repo, None)
    code, out, err = run()
    assert code == 1, err
    assert "LEDGER MOVED" in out and "HASH REPLACED" in out


def test_a_setting_outside_the_work_tree_at_the_base_is_an_error(repo: Path) -> None:
    _pyproject(repo, "../outside.toml")
    git(repo, "add", "pyproject.toml")
    git(repo, "commit", "-qm", "outside")
    _pyproject(repo, None)
    code, _, err = run()
    assert code == 2 and err.startswith("pinwarden: error:") and err.count("\n") == 1
    assert "outside the git work tree" in err or "not a git repository" in err


def test_a_malformed_setting_at_the_base_is_an_error(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[tool.pinwarden]\nledger = 3\n")
    git(repo, "add", "pyproject.toml")
    git(repo, "commit", "-qm", "bad")
    _pyproject(repo, None)
    code, _, err = run()
    assert code == 2 and err.startswith("pinwarden: error:") and err.count("\n") == 1
