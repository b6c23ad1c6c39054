"""A person at the terminal: real `poetry` in a pseudo-terminal answering pinwarden's question."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from tests.support.guarded_project import (
    ALPHA,
    EVIL_BYTES,
    GAMMA,
    LATE_WHEEL,
    NEW_WHEEL,
    OTHER,
    SCENARIOS,
    WHEEL,
    WHEEL2,
    Project,
    copy_project,
    make_project,
    poetry_tool,
    publish_base,
    sha256,
)
from tests.support.index import PackageIndex

pytestmark = pytest.mark.e2e
QUESTION = re.escape(f"Trust the new state of {ALPHA} 1? (approve/reject/abort) [abort]:")


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


def spawn(project: Project, *args: str) -> pexpect.spawn:
    env = {**project.env, "POETRY_CACHE_DIR": str(project.caches / "cold")}
    return pexpect.spawn(
        poetry_tool(), list(args), cwd=str(project.path), env=env, encoding="utf-8", timeout=120
    )


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, child.before
    return child.exitstatus


def test_approve_writes_the_new_hash_and_records_the_approval(index: PackageIndex, project: Project) -> None:
    SCENARIOS["build-tagged-wheel"][0](index)
    child = spawn(project, "lock")
    child.expect("NEW FILE")
    child.expect(QUESTION)
    child.sendline("approve")
    assert finish(child) == 0, child.before

    assert sha256(LATE_WHEEL[1]) in project.lock_text()
    ledger = project.ledger_text()
    assert 'how = "approval"' in ledger
    assert sha256(LATE_WHEEL[1]) in ledger
    assert project.ok("pinwarden", "check").code == 0


def test_reject_writes_the_lock_without_the_untrusted_file(index: PackageIndex, project: Project) -> None:
    SCENARIOS["same-filename-new-bytes"][0](index)
    ledger = project.ledger.read_bytes()
    child = spawn(project, "lock")
    child.expect("THE CONTENT OF A TRUSTED FILE HAS CHANGED")
    child.expect(QUESTION)
    child.sendline("reject")
    assert finish(child) == 0, child.before

    lock = project.lock_text()
    assert WHEEL[0] not in lock  # its new bytes are not trusted: the file is left out
    assert sha256(EVIL_BYTES) not in lock
    assert sha256(WHEEL2[1]) in lock
    assert project.ledger.read_bytes() == ledger  # nothing new was trusted


def test_reject_during_add_installs_only_trusted_files(index: PackageIndex, project: Project) -> None:
    SCENARIOS["new-wheel"][0](index)
    child = spawn(project, "add", GAMMA)
    child.expect(QUESTION)
    child.sendline("reject")
    assert finish(child) == 0, child.before

    lock = project.lock_text()
    assert GAMMA in lock
    assert NEW_WHEEL[0] not in lock
    assert sha256(WHEEL[1]) in lock
    assert any(path.startswith("pwguard_gamma") for path in project.installed())
    assert f'[projects.{GAMMA}."1"]' in project.ledger_text()  # first use, recorded
    assert NEW_WHEEL[0] not in project.ledger_text()


@pytest.mark.parametrize("answers", [["abort"], [""], ["maybe", "abort"]], ids=["abort", "enter", "retry"])
def test_abort_writes_nothing(index: PackageIndex, project: Project, answers: list[str]) -> None:
    SCENARIOS["build-tagged-wheel"][0](index)
    before = project.snapshot()
    child = spawn(project, "add", GAMMA)
    for answer in answers:
        child.expect(QUESTION)
        child.sendline(answer)
    if "maybe" in answers:
        assert "Please answer approve, reject or abort" in child.before + (child.after or "")
    assert finish(child) == 1
    assert "aborted; nothing was written or installed" in (child.before or "")
    assert project.snapshot() == before


def test_end_of_input_aborts(index: PackageIndex, project: Project) -> None:
    SCENARIOS["deleted-file"][0](index)
    before = project.snapshot()
    child = spawn(project, "lock")
    child.expect(QUESTION)
    child.sendeof()
    assert finish(child) == 1
    assert project.snapshot() == before
