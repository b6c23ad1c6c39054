"""`pinwarden uv` with a person at a terminal (a pseudo-terminal from pexpect): approve, reject and
abort do what they say, to uv.lock, the ledger and the environment."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.compiled_project import ALPHA, TAGGED_WHEEL, sha256
from tests.support.uv_project import LATE, UvProject, ok, uv_project

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.e2e

PROMPT = re.escape(f"Trust the new state of {ALPHA} 1? (approve/reject/abort) [abort]: ")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[UvProject]:
    with uv_project(tmp_path) as project:
        ok(project.uv("sync"))
        project.index.add(ALPHA, "1.0", *TAGGED_WHEEL, upload_time=LATE)
        yield project


def spawn(project: UvProject, *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "pinwarden", "uv", *args],
        cwd=str(project.path),
        env=project.env,
        encoding="utf-8",
        timeout=120,
        dimensions=(50, 200),
    )


def finish(child: pexpect.spawn) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def test_approve_records_the_wheel_writes_the_lock_and_installs_it(project: UvProject) -> None:
    child = spawn(project, "sync", "--upgrade", "--reinstall")
    child.expect(f"NEW FILE    {re.escape(TAGGED_WHEEL[0])}")
    child.expect(PROMPT)
    child.sendline("approve")
    code, rest = finish(child)
    assert code == 0, rest
    assert f"{ALPHA} 1 approved; the ledger trusts its files" in rest
    assert TAGGED_WHEEL[0] in project.lock.read_text()
    ledger = project.ledger.read_text()
    assert f'file = "{TAGGED_WHEEL[0]}"' in ledger and 'how = "approval"' in ledger
    assert project.installed()[ALPHA] == f"{ALPHA}-1.0-1"  # uv prefers the build-tagged wheel


def test_reject_keeps_the_lock_to_its_trusted_files(project: UvProject) -> None:
    before = project.state()
    child = spawn(project, "lock", "--upgrade")
    child.expect(PROMPT)
    child.sendline("reject")
    code, rest = finish(child)
    assert code == 0, rest
    assert f"{ALPHA} 1 rejected; uv.lock keeps only its trusted files" in rest
    # Without the new wheel, uv's new lock is the lock as it was: left alone.
    assert "uv.lock is unchanged" in rest
    assert project.state() == before
    # ... and uv takes it as up to date: a sync installs the trusted wheel, not the rejected one.
    ok(project.uv("sync", "--reinstall"))
    assert project.installed()[ALPHA] == f"{ALPHA}-1.0"


def test_abort_writes_and_installs_nothing(project: UvProject) -> None:
    before = project.state()
    child = spawn(project, "sync", "--upgrade", "--reinstall")
    child.expect(PROMPT)
    child.sendline("")  # Enter: the default never approves
    code, rest = finish(child)
    assert code == 1, rest
    assert "aborted; nothing was written (uv.lock and the ledger are unchanged)" in rest
    assert project.state() == before
    assert project.installed()[ALPHA] == f"{ALPHA}-1.0"
    assert sha256(TAGGED_WHEEL[1]) not in project.lock.read_text()


def test_ctrl_c_at_the_prompt_leaves_everything_and_no_staging_copy(project: UvProject) -> None:
    before = project.state()
    child = spawn(project, "lock", "--upgrade")
    child.expect(PROMPT)
    child.sendintr()
    code, rest = finish(child)
    assert code == 2, rest
    assert "interrupted; nothing was written" in rest
    assert project.state() == before
    assert project.staging_dirs() == []
