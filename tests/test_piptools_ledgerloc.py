"""`pinwarden pip-compile`, end to end against an index on 127.0.0.1 (issue 10, classes 9, 12 and 7):

- no output file may be the ledger, its audit baseline or their lock files, in any spelling;
- a ledger outside the project is named in the message that writes it;
- a run whose ledger changed while it waited at the prompt never commits its stale plan: it
  judges the result again and asks about what is new (a second process approves meanwhile);
- the wrapper asks only when stdin and stderr are terminals, without --no-interaction and CI.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.compiled_project import (
    ALPHA,
    BETA,
    TAGGED_WHEEL,
    Project,
    approve_line,
    compiled_project,
    ok,
    sha256,
)
from tests.support.index import PackageIndex, build_sdist, build_wheel, unbound

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.e2e

LEDGER = "pinwarden-ledger.toml"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with compiled_project(tmp_path) as project:
        yield project


def files(project: Project) -> dict[str, bytes]:
    """Every file of the project but the sources, byte for byte (links as their text)."""
    found: dict[str, bytes] = {}
    for path in sorted(project.path.rglob("*")):
        if ".pinwarden-" in str(path.relative_to(project.path)):
            continue  # a running wrapper's private copy (removed when it ends)
        if path.is_symlink():
            found[str(path)] = str(path.readlink()).encode()
        elif path.is_file():
            found[str(path)] = path.read_bytes()
    return found


# -- class 9 (b): -o naming what pinwarden keeps ------------------------------------------------------


def test_an_output_naming_the_ledger_or_baseline_is_refused_in_every_spelling(project: Project) -> None:
    first = project.compile("-o", LEDGER)  # no ledger yet: it would be created as a requirements file
    assert "which pinwarden keeps" in ok(first, 2) and not project.ledger.exists()
    ok(project.compile())
    (project.path / "sub").mkdir()
    (project.path / "pinwarden-baseline.toml").write_text("")  # as `pinwarden audit` would leave it
    (project.path / "alias.txt").symlink_to(LEDGER)
    (project.path / "hard.txt").hardlink_to(project.ledger)
    (project.path / "custom.toml").write_bytes(project.ledger.read_bytes())
    before = files(project)
    spellings = [
        ["-o", LEDGER],
        ["-o", f"./{LEDGER}"],
        ["-o", str(project.ledger)],
        ["-o", f"sub/../{LEDGER}"],
        ["-o", f"{project.path}/./sub/../{LEDGER}"],
        [f"--output-file={LEDGER}"],
        ["--output-file", f"./sub/../{LEDGER}"],
        ["-o", "alias.txt"],
        ["-o", "hard.txt"],
        ["-o", f".{LEDGER}.lock"],
        ["-o", "pinwarden-baseline.toml"],
        ["-o", "./.pinwarden-baseline.toml.lock"],
        ["--pinwarden-ledger", "custom.toml", "-o", "custom.toml"],
        ["--pinwarden-ledger", "custom.toml", "-o", "./custom.baseline.toml"],
        ["--pinwarden-ledger", "alias.txt", "-o", LEDGER],
    ]
    for args in spellings:
        done = project.compile("-U", *args)
        err = ok(done, 2)
        assert err.startswith("pinwarden: error:") and "which pinwarden keeps" in err, (args, err)
        assert err.count("\n") == 1, err
        assert files(project) == before, f"{args} wrote something"
    assert "all trusted" in ok(project.compile("-U", "-o", "sub/requirements.txt"))


# -- class 9 (d): a ledger outside the project is named -----------------------------------------------


def test_the_wrapper_names_a_ledger_outside_the_project_when_it_writes_it(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("shared") / "ledger.toml"
    (project.path / ".git").mkdir()  # the project is this work tree
    err = ok(project.compile("--pinwarden-ledger", str(elsewhere)))
    assert f"pinwarden: note: the ledger {elsewhere} is outside the project {project.path}" in err
    assert elsewhere.is_file()
    err = ok(project.compile("--pinwarden-ledger", str(elsewhere)))  # nothing written: no note
    assert "note: the ledger" not in err
    project.ledger.symlink_to(elsewhere)
    project.index.add(ALPHA, "1.1", *build_wheel(ALPHA, "1.1"))
    project.index.add(ALPHA, "1.1", *build_sdist(ALPHA, "1.1"))  # same shape as 1.0: no warning
    err = ok(project.compile("-U"))
    assert f"pinwarden: note: the ledger {elsewhere} is outside the project" in err
    assert project.ledger.is_symlink() and "1.1" in elsewhere.read_text()


# -- class 7 (wrapper): a prompt only with a person at a terminal --------------------------------------


def _env(project: Project, **changes: str) -> dict[str, str]:
    env = {k: v for k, v in project.env.items() if k != "CI"}
    env.update(changes)
    return env


def _argv(project: Project, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pinwarden",
        "pip-compile",
        "-i",
        project.index.url,
        *args,
        "requirements.in",
    ]


def _spawn(project: Project, argv: list[str], env: dict[str, str]) -> pexpect.spawn:
    return pexpect.spawn(
        argv[0], argv[1:], cwd=str(project.path), env=env, encoding="utf-8", timeout=120, dimensions=(50, 200)
    )


def _finish(child: pexpect.spawn) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def _refused(project: Project, code: int, err: str, before: dict[str, bytes]) -> None:
    assert code == 1, err
    assert "Trust the new state" not in err, "it asked"
    assert "needs a person's approval" in err
    assert unbound(err.rstrip().splitlines()[-1].strip()) == approve_line(project)
    assert files(project) == before


@pytest.fixture
def asking(project: Project) -> Project:
    """A trusted project whose index now serves a new wheel for a trusted version (a question)."""
    ok(project.compile())
    project.index.add(ALPHA, "1.0", *TAGGED_WHEEL)
    return project


@pytest.mark.parametrize("stdin", ["approve\n", "yes\n", "", None])
def test_no_prompt_with_stdin_piped_or_null(asking: Project, stdin: str | None) -> None:
    before = files(asking)
    done = subprocess.run(
        _argv(asking, "-U"),
        cwd=asking.path,
        env=_env(asking),
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    _refused(asking, done.returncode, done.stderr, before)


@pytest.mark.parametrize("ci", ["1", "true", "false", "0", ""])  # set at all: nobody is there
def test_no_prompt_at_a_terminal_when_ci_is_set(asking: Project, ci: str) -> None:
    before = files(asking)
    child = _spawn(asking, _argv(asking, "-U"), _env(asking, CI=ci))
    code, err = _finish(child)
    _refused(asking, code, err.replace("\r\n", "\n"), before)


@pytest.mark.parametrize("where", ["--no-interaction first", "--no-interaction last"])
def test_no_prompt_at_a_terminal_with_no_interaction(asking: Project, where: str) -> None:
    before = files(asking)
    args = ["--no-interaction", "-U"] if where.endswith("first") else ["-U", "--no-interaction"]
    code, err = _finish(_spawn(asking, _argv(asking, *args), _env(asking)))
    assert "--no-interaction" in err
    _refused(asking, code, err.replace("\r\n", "\n"), before)


def test_no_prompt_when_stderr_is_not_the_terminal(asking: Project, tmp_path: Path) -> None:
    """stdin is a terminal, but the question would go to a file: nobody would see it."""
    before = files(asking)
    log = tmp_path / "stderr.txt"
    command = f"exec {shlex.join(_argv(asking, '-U'))} 2>{shlex.quote(str(log))}"
    code, _ = _finish(_spawn(asking, ["/bin/sh", "-c", command], _env(asking)))
    _refused(asking, code, log.read_text(), before)


def test_a_terminal_without_ci_still_asks(asking: Project) -> None:
    before = files(asking)
    child = _spawn(asking, _argv(asking, "-U"), _env(asking))  # CI unset
    child.expect(re.escape(f"Trust the new state of {ALPHA} 1? (approve/reject/abort) [abort]: "))
    child.sendline("abort")
    code, _ = _finish(child)
    assert code == 1 and files(asking) == before


# -- class 12: the ledger changed while the run waited at the prompt -----------------------------------


def _prompt(name: str, version: str) -> str:
    return re.escape(f"Trust the new state of {name} {version}? (approve/") + r"\w+(/abort)?\) \[abort\]: "


def test_a_ledger_changed_at_the_prompt_is_judged_again_and_what_is_new_is_asked(
    asking: Project,
) -> None:
    """While the run waits for a person about alpha, a second process approves beta 3.0 as another
    index serves it. The run's plan (beta 3.0 on first use, with other bytes) is stale: it must
    not be written; the run asks about beta 3.0, and keeps the answer already given for alpha."""
    ours = build_wheel(BETA, "3.0", marker="ours")
    theirs = build_wheel(BETA, "3.0", marker="theirs")
    asking.index.add(BETA, "3.0", *ours)
    other = PackageIndex()
    other.add(BETA, "3.0", *theirs)
    with other.serve():
        child = _spawn(asking, _argv(asking, "-U"), _env(asking))
        child.expect(_prompt(ALPHA, "1"))
        approved = asking.run(f"{BETA}==3.0", "--from-index", other.url, command="approve")
        assert approved.returncode == 0, approved.stderr + approved.stdout
        assert sha256(theirs[1]) in asking.ledger.read_text()
        child.sendline("approve")
        child.expect("changed while this run waited; asking again")
        child.expect("THE CONTENT OF A TRUSTED FILE HAS CHANGED")
        child.expect(_prompt(BETA, "3"))
        child.sendline("approve")
        code, rest = _finish(child)
    assert code == 0, rest
    assert f"Trust the new state of {ALPHA}" not in rest, "alpha was asked twice"
    output, ledger = asking.output.read_text(), asking.ledger.read_text()
    assert sha256(ours[1]) in output and sha256(TAGGED_WHEEL[1]) in output
    assert sha256(ours[1]) in ledger and sha256(TAGGED_WHEEL[1]) in ledger


def test_aborting_the_second_question_writes_nothing(asking: Project) -> None:
    ours = build_wheel(BETA, "3.0", marker="ours")
    theirs = build_wheel(BETA, "3.0", marker="theirs")
    asking.index.add(BETA, "3.0", *ours)
    other = PackageIndex()
    other.add(BETA, "3.0", *theirs)
    with other.serve():
        child = _spawn(asking, _argv(asking, "-U"), _env(asking))
        child.expect(_prompt(ALPHA, "1"))
        assert asking.run(f"{BETA}==3.0", "--from-index", other.url, command="approve").returncode == 0
        after_approval = files(asking)
        child.sendline("approve")
        child.expect(_prompt(BETA, "3"))
        child.sendline("abort")
        code, rest = _finish(child)
    assert code == 1, rest
    assert files(asking) == after_approval  # neither the stale plan nor alpha's approval


def test_an_approval_of_the_same_state_meanwhile_commits_without_asking_again(asking: Project) -> None:
    child = _spawn(asking, _argv(asking, "-U"), _env(asking))
    child.expect(_prompt(ALPHA, "1"))
    done = asking.run(f"{ALPHA}==1.0", "--from-index", asking.index.url, command="approve")
    assert done.returncode == 0, done.stderr
    child.sendline("reject")  # the person here rejected; a person elsewhere approved the same files
    code, rest = _finish(child)
    assert code == 0, rest
    assert "asking again" not in rest and "Trust the new state" not in rest
    assert sha256(TAGGED_WHEEL[1]) in asking.ledger.read_text()
