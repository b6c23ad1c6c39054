"""Issue 10, class 9: ledger location games.

A symlinked ledger is written through to its target (under the target's lock); a dangling or
looping link is an error; `check` names the ledger and calls out a setting that moves it or a
ledger outside the project; `diff` flags a changed `[tool.pinwarden] ledger` and compares with
the ledger at the old place; every message that writes a ledger outside the project says so;
no output may be the ledger, its baseline or their lock files, in any spelling.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.test_cli import DEMO, HEX, OTHER, lock_text

from pinwarden.cli import main
from pinwarden.shared.errors import PinwardenError
from pinwarden.shared.ledger import Ledger, dumps, loads
from pinwarden.shared.store import (
    LedgerStore,
    atomic_write,
    guarded_files,
    ledger_notice,
    refuse_guarded_output,
    write_target,
)

ROOT = Path(__file__).parents[1]
LEDGER = "pinwarden-ledger.toml"
NEW_DEMO = (
    "demo",
    "1.0",
    [("demo-1.0-py3-none-any.whl", 1), ("demo-1.0.tar.gz", 2), ("demo-1.0-1-py3-none-any.whl", 4)],
)


def run(cwd: Path, *argv: str) -> tuple[int, str, str]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), out, err)
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


def one_error(result: tuple[int, str, str], *words: str) -> None:
    code, _, err = result
    assert code == 2, result
    assert err.startswith("pinwarden: error:") and err.count("\n") == 1, err
    assert all(w in err for w in words), err


# ---------------------------------------------------------------------------------------------
# (c) symlinks: written through, atomically, under the target's lock


def _link(link: Path, to: Path | str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(to)


# Each builds `project/pinwarden-ledger.toml` as a symlink (chain) ending at `shared/ledger.toml`.
def absolute(tmp: Path) -> None:
    _link(tmp / "project" / LEDGER, tmp / "shared" / "ledger.toml")


def relative(tmp: Path) -> None:
    _link(tmp / "project" / LEDGER, Path("..") / "shared" / "ledger.toml")


def chain_of_three(tmp: Path) -> None:
    _link(tmp / "project" / LEDGER, "hop1.toml")
    _link(tmp / "project" / "hop1.toml", tmp / "links" / "hop2.toml")
    _link(tmp / "links" / "hop2.toml", "../shared/./ledger.toml")


def through_linked_directory(tmp: Path) -> None:
    _link(tmp / "project" / "trust", Path("..") / "shared")
    _link(tmp / "project" / LEDGER, "trust/ledger.toml")


LINKS: list[Callable[[Path], None]] = [absolute, relative, chain_of_three, through_linked_directory]


@pytest.fixture(params=LINKS, ids=lambda f: f.__name__)
def linked(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "ledger.toml").write_text(dumps(Ledger()))  # a link must lead somewhere
    (tmp_path / "project").mkdir()
    request.param(tmp_path)
    (tmp_path / "project" / "poetry.lock").write_text(lock_text(DEMO, OTHER))
    return tmp_path


def test_init_and_approve_write_through_the_symlink_chain(linked: Path) -> None:
    project, target = linked / "project", linked / "shared" / "ledger.toml"
    code, _, err = run(project, "init")
    assert code == 0, err
    assert (project / LEDGER).is_symlink() and target.is_file() and not target.is_symlink()
    assert loads(target.read_text()).get("demo", "1.0") is not None  # type: ignore[arg-type]
    (project / "poetry.lock").write_text(lock_text(NEW_DEMO, OTHER))
    assert run(project, "check")[0] == 1
    code, _, err = run(project, "approve", "demo==1.0", "--reason", "rebuilt")
    assert code == 0, err
    assert (project / LEDGER).is_symlink(), "the link was replaced by a regular file"
    assert "demo-1.0-1-py3-none-any.whl" in target.read_text()
    assert run(project, "check")[0] == 1  # outside the project: named as a finding (below)
    assert run(project, "check", "--allow-outside-ledger")[0] == 0
    # The lock file is the target's, shared with every other spelling of that file.
    assert (target.parent / ".ledger.toml.lock").exists()
    assert not (project / f".{LEDGER}.lock").exists()
    assert not list(project.glob(f".{LEDGER}.*.tmp")) and not list(target.parent.glob("*.tmp"))


def test_approvals_through_the_link_and_the_target_at_once_all_land(linked: Path) -> None:
    """Both spellings take the same lock: concurrent approvals merge, none is lost."""
    project, target = linked / "project", linked / "shared" / "ledger.toml"
    names = [f"p{i}" for i in range(6)]
    packages = [(n, "1.0", [(f"{n}-1.0.tar.gz", i + 5)]) for i, n in enumerate(names)]
    (project / "poetry.lock").write_text(lock_text(DEMO, *packages))
    assert run(project, "init", "poetry.lock")[0] == 0
    (project / "poetry.lock").write_text(
        lock_text(
            DEMO,
            *[(n, v, [*f, (f"{n}-1.0-py3-none-any.whl", i + 11)]) for i, (n, v, f) in enumerate(packages)],
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pinwarden", "approve", f"{n}==1.0", "--ledger", str(where)],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n, where in zip(names, [project / LEDGER, target] * 3, strict=True)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), outputs
    final = loads(target.read_text())
    for name in names:
        trusted = final.get(name, "1.0")  # type: ignore[arg-type]
        assert trusted is not None and len(trusted.files) == 2, f"approval of {name} lost"
    assert (project / LEDGER).is_symlink()


@pytest.mark.parametrize("to", ["missing.toml", "../nowhere/ledger.toml", "/nonexistent-pinwarden/x.toml"])
@pytest.mark.parametrize("command", [["init"], ["check"], ["approve", "demo==1.0"], ["show"]])
def test_a_dangling_link_is_an_error_and_nothing_is_written(
    tmp_path: Path, to: str, command: list[str]
) -> None:
    (tmp_path / "poetry.lock").write_text(lock_text(DEMO))
    (tmp_path / LEDGER).symlink_to(to)
    before = sorted(p.name for p in tmp_path.iterdir())
    one_error(run(tmp_path, *command), "(a dangling link)")
    assert (tmp_path / LEDGER).is_symlink() and not (tmp_path / LEDGER).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_link_chain_ending_dangling_or_looping_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "poetry.lock").write_text(lock_text(DEMO))
    (tmp_path / LEDGER).symlink_to("a.toml")
    (tmp_path / "a.toml").symlink_to("b.toml")
    one_error(run(tmp_path, "init"), "(a dangling link)")
    (tmp_path / "b.toml").symlink_to(LEDGER)  # now a loop
    one_error(run(tmp_path, "init"), "cannot follow the symlink")
    (tmp_path / "b.toml").unlink()
    (tmp_path / "b.toml").mkdir()
    one_error(run(tmp_path, "init"), "directory")


def test_atomic_write_keeps_links_for_every_file_it_writes(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("old\n")
    (tmp_path / "real.txt").chmod(0o640)
    (tmp_path / "link.txt").symlink_to("real.txt")
    atomic_write(tmp_path / "link.txt", "new\n")
    assert (tmp_path / "link.txt").is_symlink()
    assert (tmp_path / "real.txt").read_text() == "new\n"
    assert (tmp_path / "real.txt").stat().st_mode & 0o777 == 0o640
    assert write_target(tmp_path / "real.txt") == tmp_path / "real.txt"


def test_store_reads_a_dangling_link_as_an_error_never_as_an_empty_ledger(tmp_path: Path) -> None:
    (tmp_path / LEDGER).symlink_to("gone.toml")
    store = LedgerStore(tmp_path / LEDGER)
    for action in (store.load, store.exists):
        with pytest.raises(PinwardenError, match="a dangling link"):
            action()


# ---------------------------------------------------------------------------------------------
# (a) check names the ledger; a moved one is said, one outside the project is a finding


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A project in a git work tree (a `.git` marks it; `check` runs no git)."""
    (tmp_path / ".git").mkdir()
    project = tmp_path / "app"
    project.mkdir()
    (project / "poetry.lock").write_text(lock_text(DEMO, OTHER))
    return project


def _set_ledger(project: Path, value: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.pinwarden]\nledger = {json.dumps(value)}\n")


@pytest.mark.parametrize(
    "value", ["security/trust.toml", "./security/../security/trust.toml", "../trust.toml"]
)
def test_check_says_a_setting_moved_the_ledger_inside_the_project(repo: Path, value: str) -> None:
    """`../trust.toml` leaves the directory but not the git work tree: still the project."""
    (repo / "security").mkdir()
    _set_ledger(repo, value)
    assert run(repo, "init")[0] == 0
    code, out, _ = run(repo, "check")
    assert code == 0, out
    assert f"[tool.pinwarden] ledger = {value!r}" in out and "the default is" in out
    assert "all trusted and complete" in out and "OUTSIDE" not in out
    code, out, _ = run(repo, "check", "--format", "json")
    where = json.loads(out)["ledger_location"]
    assert code == 0
    assert where["source"] == "[tool.pinwarden] ledger" and where["setting"] == value
    assert where["away_from_default"] is True and where["outside_project"] is False


def test_check_at_the_default_says_nothing_extra(repo: Path) -> None:
    assert run(repo, "init")[0] == 0
    code, out, _ = run(repo, "check")
    assert code == 0 and out.count("\n") == 1 and LEDGER in out
    where = json.loads(run(repo, "check", "--format", "json")[1])["ledger_location"]
    assert where["source"] == "default" and not where["away_from_default"] and not where["outside_project"]


def _outside_by_setting(repo: Path, elsewhere: Path) -> None:
    _set_ledger(repo, str(elsewhere / "ledger.toml"))


def _outside_by_relative_setting(repo: Path, elsewhere: Path) -> None:
    _set_ledger(repo, os.path.relpath(elsewhere / "ledger.toml", repo))


def _outside_by_link(repo: Path, elsewhere: Path) -> None:
    assert run(repo, "init", "--ledger", str(elsewhere / "ledger.toml"))[0] == 0  # a link must lead somewhere
    (repo / LEDGER).symlink_to(elsewhere / "ledger.toml")


def _outside_by_linked_directory(repo: Path, elsewhere: Path) -> None:
    (repo / "trust").symlink_to(elsewhere)
    _set_ledger(repo, "trust/ledger.toml")


@pytest.mark.parametrize(
    "place",
    [_outside_by_setting, _outside_by_relative_setting, _outside_by_link, _outside_by_linked_directory],
)
def test_a_ledger_outside_the_project_is_a_finding_unless_allowed(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, place: Callable[[Path, Path], None]
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    place(repo, elsewhere)
    code, out, _ = run(repo, "init")
    assert code == 0
    assert f"the ledger {elsewhere / 'ledger.toml'} is outside the project {repo.parent}" in out
    code, out, _ = run(repo, "check")
    assert code == 1 and "LEDGER OUTSIDE THE PROJECT" in out and str(elsewhere / "ledger.toml") in out
    assert "all trusted and complete" in out  # the findings about the locks are still reported
    code, out, _ = run(repo, "check", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["findings"] == [] and data["ledger_location"]["outside_project"] is True
    code, out, _ = run(repo, "check", "--allow-outside-ledger")
    assert code == 0 and "note: the ledger" in out and "OUTSIDE" not in out
    assert run(repo, "check", "--allow-outside-ledger", "--format", "json")[0] == 0


# ---------------------------------------------------------------------------------------------
# (d) every message that writes a ledger outside the project names it


def test_approve_and_init_name_a_ledger_outside_the_project(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "ledger.toml"
    for spelling in (str(elsewhere), os.path.relpath(elsewhere, repo)):
        elsewhere.unlink(missing_ok=True)
        code, out, _ = run(repo, "init", "--ledger", spelling)
        assert code == 0 and f"note: the ledger {elsewhere} is outside the project" in out
        (repo / "poetry.lock").write_text(lock_text(NEW_DEMO, OTHER))
        code, out, _ = run(repo, "approve", "demo==1.0", "--ledger", spelling)
        assert code == 0 and f"note: the ledger {elsewhere} is outside the project" in out
        (repo / "poetry.lock").write_text(lock_text(DEMO, OTHER))
    code, out, _ = run(repo, "init")  # inside: no note
    assert code == 0 and "note:" not in out


def test_ledger_notice_is_empty_inside_and_names_the_real_file_outside(tmp_path: Path) -> None:
    project, other = tmp_path / "p", tmp_path / "o"
    project.mkdir()
    other.mkdir()
    assert ledger_notice(project / LEDGER, project) == ""
    assert ledger_notice(project / "sub" / ".." / LEDGER, project) == ""
    (project / LEDGER).symlink_to(other / "l.toml")
    notice = ledger_notice(project / LEDGER, project)
    assert (
        notice.startswith("pinwarden: note:") and str(other / "l.toml") in notice and "links there" in notice
    )
    assert str(other / "x.toml") in ledger_notice(project / ".." / "o" / "x.toml", project)


# ---------------------------------------------------------------------------------------------
# (b) no output may be the ledger, its baseline or their locks, in any spelling


def _spellings(directory: Path, name: str) -> list[Path]:
    return [
        Path(name),
        Path(f"./{name}"),
        directory / name,
        directory / "sub" / ".." / name,
        Path("sub") / ".." / name,
        directory / "." / "sub" / "." / ".." / name,
    ]


@pytest.mark.parametrize("ledger_name", [LEDGER, "custom.toml"])
def test_every_spelling_of_a_guarded_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger_name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    ledger = Path(ledger_name)
    baseline = "pinwarden-baseline.toml" if ledger_name == LEDGER else "custom.baseline.toml"
    for name in (ledger_name, baseline, f".{ledger_name}.lock", f".{baseline}.lock"):
        for exists in (False, True):
            if exists:
                (tmp_path / name).write_text("x")
            for spelling in _spellings(tmp_path, name):
                with pytest.raises(PinwardenError, match="which pinwarden keeps"):
                    refuse_guarded_output(spelling, ledger)
                with pytest.raises(PinwardenError, match="which pinwarden keeps"):
                    refuse_guarded_output(spelling, tmp_path / "sub" / ".." / ledger_name)
    (tmp_path / "alias.txt").symlink_to(ledger_name)
    (tmp_path / "hard.txt").hardlink_to(ledger_name)
    for other in ("alias.txt", "hard.txt"):
        with pytest.raises(PinwardenError, match="which pinwarden keeps"):
            refuse_guarded_output(Path(other), ledger)
    for fine in ("requirements.txt", "sub/pinwarden-ledger.toml.txt", "pinwarden-ledger.toml.txt"):
        refuse_guarded_output(Path(fine), ledger)


def test_the_guarded_files_of_a_symlinked_ledger_include_its_target(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "trust.toml").write_text("")
    (tmp_path / LEDGER).symlink_to("real/trust.toml")
    guarded = guarded_files(tmp_path / LEDGER)
    assert tmp_path / "real" / "trust.toml" in guarded
    assert tmp_path / "real" / ".trust.toml.lock" in guarded
    assert tmp_path / "real" / "trust.baseline.toml" in guarded
    with pytest.raises(PinwardenError):
        refuse_guarded_output(tmp_path / "real" / "trust.baseline.toml", tmp_path / LEDGER)


def test_the_baseline_rule_matches_audits(tmp_path: Path) -> None:
    from pinwarden.shared.auditing import baseline_path_for

    for name in (LEDGER, "custom.toml", "x.y.toml"):
        assert baseline_path_for(tmp_path / name) in guarded_files(tmp_path / name)


_ = HEX  # the lock helpers share test_cli's hashes
