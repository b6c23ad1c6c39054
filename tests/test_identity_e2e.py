"""One identity, end to end (issue 10, class 1): an index that serves a trusted version's file under
another spelling of the version, with other bytes, gets nothing past real Poetry and pip-compile.

Before the fix, `poetry lock --regenerate`, `poetry update X` and `pinwarden pip-compile -U` locked
"version 1.0.0" beside a trusted 1.0 and trusted it on first use, though pip and Poetry install it as 1.0.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import compiled_project as cp
from tests.support.guarded_project import ALPHA, Project, make_project, publish_base, sha256
from tests.support.index import PackageIndex, build_sdist, build_wheel

pytestmark = pytest.mark.e2e

# Spellings of 1.0 a distribution filename can carry; each file is built with other bytes.
RESPELLED = ["1.0.0", "1.0.0.0", "01.0"]


@pytest.fixture(scope="module")
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish_base(index)
    with index.serve():
        yield index


@pytest.fixture(scope="module")
def locked(index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Project:
    publish_base(index)
    project = make_project(tmp_path_factory.mktemp("identity"), index.url, [ALPHA])
    project.ok("lock", "-n")
    return project


def _respell(index: PackageIndex, spelling: str) -> bytes:
    """Only files spelled another way for 1.0 (the original wheel's tags), with other bytes."""
    publish_base(index)
    for filename in list(index.files(ALPHA)):
        index.remove(ALPHA, filename)
    filename, data = build_wheel(ALPHA, spelling, python_tag="py2.py3", marker="respelled")
    index.add(ALPHA, spelling, filename, data)
    index.add(ALPHA, spelling, *build_sdist(ALPHA, spelling, marker="respelled-sdist"))
    return data


@pytest.mark.parametrize("spelling", RESPELLED)
@pytest.mark.parametrize("command", [("lock", "--regenerate", "-n"), ("update", ALPHA, "-n")])
def test_poetry_never_trusts_a_respelled_version_on_first_use(
    index: PackageIndex, locked: Project, spelling: str, command: tuple[str, ...]
) -> None:
    before = locked.snapshot()
    evil = _respell(index, spelling)
    try:
        done = locked.poetry(*command)
        assert done.code != 0, done.output
        assert "Traceback" not in done.output
        assert "on first use" not in done.output
        assert locked.snapshot() == before
        assert sha256(evil) not in locked.ledger_text()
    finally:
        publish_base(index)


def test_check_refuses_a_lock_that_respells_a_trusted_version(index: PackageIndex, locked: Project) -> None:
    """A hand edit (or plain Poetry) that renames the version and swaps a hash is caught offline."""
    lock = locked.lock_text()
    evil = sha256(build_wheel(ALPHA, "1.0.0", marker="hand-edit")[1])
    for spelling in RESPELLED:
        edited = lock.replace('version = "1.0"', f'version = "{spelling}"', 1)
        first_hash = edited.split('hash = "', 1)[1].split('"', 1)[0]
        edited = edited.replace(first_hash, evil)
        path = locked.path / f"edited-{spelling}"
        path.mkdir(exist_ok=True)
        (path / "poetry.lock").write_text(edited)
        done = subprocess.run(
            [sys.executable, "-m", "pinwarden", "check", "poetry.lock", "--ledger", str(locked.ledger)],
            cwd=path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert "changed-file" in done.stdout.lower() or "CHANGED" in done.stdout
        assert "new version" not in done.stdout.lower()


@pytest.mark.parametrize("spelling", ["1.0.0", "1.0.0.0"])
def test_pip_compile_wrapper_never_trusts_a_respelled_version(tmp_path: Path, spelling: str) -> None:
    with cp.compiled_project(tmp_path) as project:
        cp.ok(project.compile())
        before = project.state()
        project.index.remove(cp.ALPHA, cp.WHEEL[0])
        evil = build_wheel(cp.ALPHA, spelling, marker="respelled")
        project.index.add(cp.ALPHA, spelling, *evil)
        for mode in (("-U",), ("-P", cp.ALPHA), ("--no-reuse-hashes",)):
            done = project.compile(*mode)
            err = cp.ok(done, 1)
            assert project.state() == before, f"{mode} wrote something"
            assert "on first use" not in err
            assert sha256(evil[1]) not in (project.ledger.read_text() if project.ledger.exists() else "")
