"""Issue 10, class 7: nobody at the terminal is refused, and a malformed ledger or setting stops every
guarded Poetry command.

pinwarden asks only when stdin and stderr are terminals and neither `-n`/`--no-interaction` nor `CI` is
set; otherwise it refuses and ends with the approve command. A piped answer is never taken, whatever
its spelling. A ledger or `[tool.pinwarden]` that cannot be read stops lock, add, update, remove,
install and sync alike with one `pinwarden: error:` line and a non-zero exit, changing nothing.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest
from tests.support.guarded_project import (
    ALPHA,
    APPROVE_ALPHA,
    GAMMA,
    OTHER,
    SCENARIOS,
    Done,
    Project,
    copy_project,
    make_project,
    poetry_tool,
    publish_base,
)
from tests.support.index import PackageIndex, unbound

pytestmark = pytest.mark.e2e
QUESTION = f"Trust the new state of {ALPHA} 1?"  # the canonical version; text, not a pattern


@pytest.fixture(scope="module")
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish_base(index)
    with index.serve():
        yield index


@pytest.fixture(scope="module")
def template(index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Project:
    publish_base(index)
    project = make_project(tmp_path_factory.mktemp("template"), index.url, [ALPHA, OTHER])
    project.ok("lock", "-n")
    project.ok("install", "-n")
    return project


@pytest.fixture
def project(index: PackageIndex, template: Project, tmp_path: Path) -> Project:
    publish_base(index)
    return copy_project(template, tmp_path)


def piped(project: Project, args: tuple[str, ...], answer: str) -> Done:
    env = {**project.env, "POETRY_CACHE_DIR": str(project.caches / "cold")}
    done = subprocess.run(
        [poetry_tool(), *args],
        cwd=project.path,
        env=env,
        input=answer,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Done(done.returncode, done.stdout, done.stderr)


def assert_refused(project: Project, done: Done, before: object) -> None:
    assert done.code == 1, done.output
    assert "Traceback" not in done.output
    assert QUESTION not in done.output  # never asked
    assert "nobody is at the terminal" in done.output
    assert done.approve_command == APPROVE_ALPHA
    assert project.snapshot() == before


# -- piped answers are never taken -------------------------------------------------------------

ANSWERS = ["approve\n", "APPROVE\n", "yes\n", "y\n", " approve \n", "approve\r\n", "approve", "reject\n"]
PIPED = [(("lock",), answer) for answer in ANSWERS] + [
    (("add", GAMMA), answer) for answer in ("approve\n", "reject\n", "yes\napprove\napprove\n")
]


@pytest.mark.parametrize(("args", "answer"), PIPED)
def test_a_piped_answer_is_not_a_person(
    index: PackageIndex, project: Project, args: tuple[str, ...], answer: str
) -> None:
    SCENARIOS["build-tagged-wheel"][0](index)
    before = project.snapshot()
    assert_refused(project, piped(project, args, answer), before)


def test_stdin_from_dev_null_is_nobody(index: PackageIndex, project: Project) -> None:
    SCENARIOS["new-wheel"][0](index)
    before = project.snapshot()
    assert_refused(project, project.poetry("add", GAMMA), before)  # stdin is /dev/null


# -- in a terminal: CI, -n and a redirected stderr still mean nobody -----------------------------


def spawn(project: Project, args: list[str], env: dict[str, str], stderr_to: Path | None = None) -> str:
    run_env = {**project.env, "POETRY_CACHE_DIR": str(project.caches / "cold"), **env}
    if stderr_to is None:
        child = pexpect.spawn(
            poetry_tool(), args, cwd=str(project.path), env=run_env, encoding="utf-8", timeout=120
        )
    else:
        command = " ".join([poetry_tool(), *args]) + f" 2>{stderr_to}"
        child = pexpect.spawn(
            "/bin/sh", ["-c", command], cwd=str(project.path), env=run_env, encoding="utf-8", timeout=120
        )
    # Were a question asked, it would wait here for an answer that never comes: abort ends it.
    index = child.expect([re.escape(QUESTION), pexpect.EOF])
    if index == 0:
        child.sendline("abort")
        child.expect(pexpect.EOF)
    child.close()
    return f"exit={child.exitstatus}\n{child.before or ''}" + ("\nASKED" if index == 0 else "")


TERMINAL_CASES = {
    "CI=1": (["lock"], {"CI": "1"}),
    "CI=true": (["lock"], {"CI": "true"}),
    "CI=false": (["lock"], {"CI": "false"}),  # set at all: fail closed
    "CI empty": (["add", GAMMA], {"CI": ""}),
    "-n": (["lock", "-n"], {}),
    "--no-interaction": (["add", GAMMA, "--no-interaction"], {}),
}


@pytest.mark.parametrize("case", list(TERMINAL_CASES))
def test_in_a_terminal_ci_or_no_interaction_is_nobody(
    index: PackageIndex, project: Project, case: str
) -> None:
    args, env = TERMINAL_CASES[case]
    SCENARIOS["build-tagged-wheel"][0](index)
    before = project.snapshot()
    output = spawn(project, args, env)
    assert output.startswith("exit=1"), output
    assert "ASKED" not in output
    assert unbound(output.rstrip().splitlines()[-1].strip()) == APPROVE_ALPHA
    assert project.snapshot() == before


@pytest.mark.parametrize("args", [["lock"], ["add", GAMMA]])
def test_stderr_redirected_is_nobody(index: PackageIndex, project: Project, args: list[str]) -> None:
    SCENARIOS["build-tagged-wheel"][0](index)
    before = project.snapshot()
    log = project.path.parent / "stderr.log"
    output = spawn(project, args, {}, stderr_to=log)
    assert output.startswith("exit=1"), output
    assert "ASKED" not in output
    lines = [line.strip() for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert unbound(lines[-1]) == APPROVE_ALPHA
    assert project.snapshot() == before


def test_a_person_at_a_terminal_is_still_asked(index: PackageIndex, project: Project) -> None:
    SCENARIOS["build-tagged-wheel"][0](index)
    before = project.snapshot()
    output = spawn(project, ["lock"], {})
    assert "ASKED" in output
    assert output.startswith("exit=1")  # aborted
    assert project.snapshot() == before


# -- a malformed ledger or setting stops every guarded command ------------------------------------


def _ledger_text(edit: Callable[[str], str]) -> Callable[[Project], None]:
    def apply(project: Project) -> None:
        project.ledger.write_text(edit(project.ledger_text()), encoding="utf-8")

    return apply


def _ledger_bytes(project: Project) -> None:
    project.ledger.write_bytes(b"\xff\xfe" + project.ledger.read_bytes())


def _ledger_directory(project: Project) -> None:
    project.ledger.unlink()
    project.ledger.mkdir()


def _setting(line: str) -> Callable[[Project], None]:
    def apply(project: Project) -> None:
        with (project.path / "pyproject.toml").open("a", encoding="utf-8") as handle:
            handle.write(f"\n[tool.pinwarden]\n{line}\n")

    return apply


MALFORMED: dict[str, Callable[[Project], None]] = {
    "ledger-not-toml": _ledger_text(lambda text: text + "\n[[[ broken\n"),
    "ledger-future-format": _ledger_text(
        lambda text: text.replace("ledger-format = 1", "ledger-format = 99")
    ),
    "ledger-bad-hash": _ledger_text(lambda text: text.replace('"sha256:', '"sha256:zz', 1)),
    "ledger-not-utf8": _ledger_bytes,
    "ledger-is-a-directory": _ledger_directory,
    "setting-first-use": _setting('first-use = "maybe"'),
    "setting-days": _setting('late-upload-days = "soon"'),
    "setting-unknown": _setting("trust-everything = true"),
    "setting-ledger-type": _setting("ledger = 5"),
}
COMMANDS = {
    "lock": ("lock",),
    "add": ("add", GAMMA),
    "update": ("update",),
    "remove": ("remove", OTHER),
    "install": ("install",),
    "sync": ("sync",),
}


# Every ledger shape with every command; each setting shape with two commands, all commands covered.
SETTINGS = [shape for shape in MALFORMED if shape.startswith("setting-")]
MALFORMED_CASES = [
    *[(shape, command) for shape in MALFORMED if shape.startswith("ledger-") for command in COMMANDS],
    *[
        (shape, list(COMMANDS)[(2 * i + j) % len(COMMANDS)])
        for i, shape in enumerate(SETTINGS)
        for j in (0, 1)
    ],
]


@pytest.mark.parametrize(("shape", "command"), MALFORMED_CASES)
def test_a_malformed_ledger_or_setting_stops_every_guarded_command(
    project: Project, shape: str, command: str
) -> None:
    MALFORMED[shape](project)
    before = project.snapshot()
    pyproject = (project.path / "pyproject.toml").read_bytes()

    done = project.poetry(*COMMANDS[command], "-n", cold=False)

    assert done.code != 0, done.output
    assert "Traceback" not in done.output
    errors = [line for line in done.stderr.splitlines() if line.startswith("pinwarden: error:")]
    assert len(errors) == 1, done.output
    assert project.snapshot() == before
    assert (project.path / "pyproject.toml").read_bytes() == pyproject
