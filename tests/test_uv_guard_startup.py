"""`pinwarden uv ...` starts without cli.py's world (its start-up is most of a no-op run's cost),
and still ends as every pinwarden command does: one error line and exit 2, passwords masked."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.uv_project import UvProject, ok, uv_project

pytestmark = pytest.mark.e2e

# What a run with nothing new never needs: the command line's parser and the flow of a review
# (decide, render, the index; review.py holds the offline check too, with only its imports).
HEAVY = (
    "pinwarden.cli",
    "argparse",
    "pinwarden.shared.decide",
    "pinwarden.shared.render",
    "pinwarden.index",
    "pinwarden.piptools_ext.lookup",
)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[UvProject]:
    with uv_project(tmp_path) as project:
        yield project


def imported(project: UvProject, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pinwarden", "uv", *args],
        cwd=project.path,
        env=project.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    }
    return done, modules


def test_a_passed_through_command_imports_no_cli(project: UvProject) -> None:
    done, modules = imported(project, "--version")
    assert done.returncode == 0, done.stderr
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_a_no_op_sync_imports_nothing_of_a_review(project: UvProject) -> None:
    ok(project.uv("sync"))  # the first guarded run: lock, ledger, environment
    done, modules = imported(project, "sync")
    assert done.returncode == 0, done.stderr
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_an_error_is_one_line_and_exit_2(project: UvProject) -> None:
    done = project.uv("lock", "--no-such-option")
    assert done.returncode == 2
    assert done.stderr.startswith("pinwarden: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_a_password_in_an_error_is_masked(project: UvProject) -> None:
    done = project.uv("sync", "--no-such-option=https://user:s3cret@example.invalid/simple")
    assert done.returncode == 2
    assert "s3cret" not in done.stderr and "pinwarden: error: " in done.stderr


def test_the_early_answer_is_used_only_for_the_very_command(
    project: UvProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pinwarden.uv_guard import early

    monkeypatch.chdir(project.path)
    monkeypatch.setattr(early.os, "environ", dict(project.env))
    uv = str(Path(sys.executable).parent / "uv")
    here = str(project.path)
    early.start(["sync", "--project", "."])
    assert early.take([uv, "workspace", "dir"], here, project.env) is None  # not the one started
    assert early.take([uv, "workspace", "dir", "--project", "."], here, project.env) is None  # taken
    early.start(["sync", "--project", "."])
    other_env = {**project.env, "UV_PROJECT": "elsewhere"}
    assert early.take([uv, "workspace", "dir", "--project", "."], here, other_env) is None
    early.start(["run", "--project=.", "--", "prog", "--project", "x"])
    code, out, _ = early.take([uv, "workspace", "dir", "--project", "."], here, project.env) or (1, "", "")
    assert code == 0 and Path(out.strip()) == project.path.resolve()


def test_guarded_commands_with_places_run_as_before(project: UvProject) -> None:
    ok(project.uv("sync"))
    sub = project.path / "sub"
    sub.mkdir()
    done = project.pinwarden("uv", "--directory", "..", "sync", cwd=sub)
    ok(done)
    assert "pinwarden: error" not in done.stderr
