"""`pinwarden pip-compile` with a person at a terminal (a pseudo-terminal from pexpect): approve,
reject and abort do what they say."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.compiled_project import (
    ALPHA,
    BETA,
    BETA_WHEEL,
    NEW_SDIST_BYTES,
    SDIST,
    TAGGED_WHEEL,
    WHEEL,
    Project,
    compiled_project,
    ok,
    sha256,
)
from tests.support.index import build_wheel

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.e2e


def prompt(name: str = ALPHA, version: str = "1") -> str:  # versions as pinwarden spells them
    return re.escape(f"Trust the new state of {name} {version}? (approve/reject/abort) [abort]: ")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with compiled_project(tmp_path) as project:
        ok(project.compile())
        yield project


def spawn(project: Project, *args: str) -> pexpect.spawn:
    env = {k: v for k, v in project.env.items() if k != "CI"}  # CI means nobody is at the terminal
    argv = ["-m", "pinwarden", "pip-compile", "-i", project.index.url, *args, "requirements.in"]
    return pexpect.spawn(
        sys.executable,
        argv,
        cwd=str(project.path),
        env=env,
        encoding="utf-8",
        timeout=120,
        dimensions=(50, 200),
    )


def finish(child: pexpect.spawn) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def test_approve_records_the_change_and_writes_the_output(project: Project) -> None:
    project.index.add(ALPHA, "1.0", *TAGGED_WHEEL)
    child = spawn(project, "-U")
    child.expect(f"NEW FILE    {re.escape(TAGGED_WHEEL[0])}")
    child.expect(prompt())
    child.sendline("approve")
    code, rest = finish(child)
    assert code == 0, rest
    assert f"{ALPHA} 1 approved; the ledger trusts its files" in rest
    assert sha256(TAGGED_WHEEL[1]) in project.output.read_text()
    assert f'file = "{TAGGED_WHEEL[0]}"' in project.ledger.read_text()
    assert "approval" in project.ledger.read_text()


def test_reject_keeps_only_the_trusted_hashes(project: Project) -> None:
    before = project.state()
    project.index.add(ALPHA, "1.0", *TAGGED_WHEEL)
    child = spawn(project, "-U")
    child.expect(prompt())
    child.sendline("reject")
    code, rest = finish(child)
    assert code == 0, rest
    assert f"{ALPHA} 1 rejected; requirements.txt keeps only trusted hashes" in rest
    # Without the new wheel's hash, -U's result is exactly the file as it was.
    assert "requirements.txt is unchanged" in rest
    assert project.state() == before


def test_reject_of_a_changed_file_drops_its_new_hash(project: Project) -> None:
    _, ledger_before = project.state()
    project.index.replace(ALPHA, SDIST[0], NEW_SDIST_BYTES)
    child = spawn(project, "--no-reuse-hashes")
    child.expect("THE CONTENT OF A TRUSTED FILE HAS CHANGED")
    child.expect(prompt())
    child.sendline("r")
    code, rest = finish(child)
    assert code == 0, rest
    text = project.output.read_text()
    assert sha256(WHEEL[1]) in text
    assert sha256(NEW_SDIST_BYTES) not in text
    assert sha256(BETA_WHEEL[1]) in text
    assert project.state()[1] == ledger_before


def test_abort_writes_nothing_even_after_an_approval(project: Project) -> None:
    before = project.state()
    project.index.add(ALPHA, "1.0", *TAGGED_WHEEL)
    project.index.add(BETA, "2.0", *build_wheel(BETA, "2.0", build_tag=1))
    child = spawn(project, "-U")
    child.expect(prompt())
    child.sendline("approve")
    child.expect(prompt(BETA, "2"))
    child.sendline("")  # Enter: the default never approves
    code, rest = finish(child)
    assert code == 1, rest
    assert "aborted; nothing was written (requirements.txt and the ledger are unchanged)" in rest
    assert project.state() == before


def test_an_answer_that_means_nothing_asks_again(project: Project) -> None:
    project.index.add(ALPHA, "1.0", *TAGGED_WHEEL)
    child = spawn(project, "-U")
    child.expect(prompt())
    child.sendline("maybe")
    child.expect("Please answer approve, reject or abort.")
    child.expect(prompt())
    child.sendline("yes")
    code, rest = finish(child)
    assert code == 0, rest
    assert sha256(TAGGED_WHEEL[1]) in project.output.read_text()
