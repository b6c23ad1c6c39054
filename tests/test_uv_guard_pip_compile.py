"""`pinwarden uv pip compile ... -o FILE`: uv's requirements output reviewed as the pip-compile
wrapper reviews pip-tools' (its own session), written only when every hash is trusted."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.compiled_project import (
    ALPHA,
    BETA_WHEEL,
    NEW_SDIST_BYTES,
    SDIST,
    TAGGED_WHEEL,
    WHEEL,
    sha256,
)
from tests.support.uv_project import LATE, UvProject, ok, uv_project

pytestmark = pytest.mark.e2e


@pytest.fixture
def project(tmp_path: Path) -> Iterator[UvProject]:
    with uv_project(tmp_path) as project:
        (project.path / "requirements.in").write_text(f"{ALPHA}\npwdemo-beta\n")
        yield project


def compile_(project: UvProject, *args: str) -> tuple[int, str]:
    done = project.uv("pip", "compile", "requirements.in", "-o", "requirements.txt", *args)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stderr


def output(project: UvProject) -> Path:
    return project.path / "requirements.txt"


def state(project: UvProject) -> list[bytes | None]:
    return [p.read_bytes() if p.exists() else None for p in (output(project), project.ledger)]


def test_first_compile_hashes_everything_and_records_first_use(project: UvProject) -> None:
    code, err = compile_(project)  # no --generate-hashes: pinwarden turns it on
    assert code == 0, err
    text = output(project).read_text()
    for data in (WHEEL[1], SDIST[1], BETA_WHEEL[1]):
        assert sha256(data) in text
    assert "#    pinwarden uv pip compile requirements.in -o requirements.txt" in text
    assert "trusted 2 new versions on first use" in err
    assert f'file = "{WHEEL[0]}"' in project.ledger.read_text()  # filenames from the index
    assert not [p for p in project.path.glob(".pinwarden-*") if p.is_dir()]  # no private copy left


def test_a_late_build_tagged_wheel_is_refused_then_approved(project: UvProject) -> None:
    ok(project.uv("pip", "compile", "requirements.in", "-o", "requirements.txt"))
    before = state(project)
    project.index.add(ALPHA, "1.0", *TAGGED_WHEEL, upload_time=LATE)
    code, err = compile_(project, "--upgrade")
    assert code == 1, err
    assert f"NEW FILE    {TAGGED_WHEEL[0]}" in err
    assert state(project) == before
    assert sha256(TAGGED_WHEEL[1]) not in err.split("If these changes")[0].split("NEW FILE")[0]
    [command] = [line.strip() for line in err.splitlines() if line.strip().startswith("pinwarden approve")]
    ok(project.pinwarden(*shlex.split(command)[1:]))
    code, err = compile_(project, "--upgrade")
    assert code == 0, err
    assert sha256(TAGGED_WHEEL[1]) in output(project).read_text()


def test_a_replaced_file_is_refused(project: UvProject) -> None:
    ok(project.uv("pip", "compile", "requirements.in", "-o", "requirements.txt"))
    before = state(project)
    project.index.replace(ALPHA, SDIST[0], NEW_SDIST_BYTES)
    code, err = compile_(project, "--upgrade", "--refresh")
    assert code == 1, err
    assert "THE CONTENT OF A TRUSTED FILE HAS CHANGED" in err
    assert state(project) == before


def test_uv_failing_passes_its_exit_code_and_writes_nothing(project: UvProject) -> None:
    (project.path / "requirements.in").write_text("pwdemo-missing\n")
    code, err = compile_(project)
    assert code != 0
    assert f"uv failed (exit {code}); requirements.txt was not changed" in err
    assert state(project) == [None, None]
