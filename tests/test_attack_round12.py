"""Round 12 of the independent attack (issue 12), the finds fixed outside the relock (each as a
class: several spellings). 01: uv commands that lock or sync but were passed straight to uv;
02/05: a uv cache inside the project (uv believes it); 03: a new ledger started where one exists;
04: a path the system refuses gave `internal error`."""

from __future__ import annotations

import errno
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.uv_project import UvProject, ok, uv_project

from pinwarden.ending import ended
from pinwarden.uv_guard.args import parse
from pinwarden.uv_guard.guard import passes_through

pytestmark = pytest.mark.e2e


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[UvProject]:
    with uv_project(tmp_path) as project:
        ok(project.uv("lock"))
        yield project


@pytest.mark.parametrize(
    "words",
    [
        ("check",),
        ("audit",),
        ("-q", "check"),
        ("workspace", "metadata"),
        ("frobnicate",),
        ("pip", "compile2"),
    ],
)
def test_commands_not_known_to_leave_the_lock_alone_are_refused(words: tuple[str, ...]) -> None:
    assert not passes_through(parse(list(words)))


@pytest.mark.parametrize(
    "words",
    [
        (),
        ("--version",),
        ("pip", "install", "x"),
        ("pip", "--help"),
        ("tool", "run", "ruff"),
        ("workspace", "dir"),
        ("-q", "workspace", "list"),
        ("cache", "dir"),
        ("python", "list"),
        ("version", "--short"),
    ],
)
def test_commands_that_leave_the_lock_alone_pass(words: tuple[str, ...]) -> None:
    assert passes_through(parse(list(words)))


def test_uv_check_is_one_line_exit_2_and_nothing_changes(locked: UvProject) -> None:
    before = locked.state()
    done = locked.uv("check")
    assert done.returncode == 2 and done.stderr.startswith("pinwarden: error: pinwarden uv: `uv check`")
    assert done.stderr.count("\n") == 1
    assert locked.state() == before and not (locked.path / ".venv").exists()


@pytest.mark.parametrize("place", ["pyproject", "uv.toml", "option"])
def test_a_cache_inside_a_project_without_git_is_refused(locked: UvProject, place: str) -> None:
    extra: tuple[str, ...] = ()
    if place == "pyproject":
        locked.pyproject.write_text(locked.pyproject.read_text() + '\n[tool.uv]\ncache-dir = ".uv-cache"\n')
    elif place == "uv.toml":
        (locked.path / "uv.toml").write_text('cache-dir = "./.uv-cache/"\n')
    else:
        extra = ("--cache-dir", str(locked.path / "sub" / ".." / ".uv-cache"))
    # uv reads the project's settings (no UV_NO_CONFIG), with no cache named in the environment.
    saved = {k: locked.env.pop(k) for k in ("UV_CACHE_DIR", "UV_NO_CONFIG") if k in locked.env}
    try:
        done = locked.uv(*extra, "sync")
    finally:
        locked.env.update(saved)
    assert done.returncode == 2, done.stderr
    assert "uv's cache" in done.stderr and "inside the project" in done.stderr
    assert not (locked.path / ".venv").exists()


def test_a_cache_inside_a_git_project_is_refused_only_with_tracked_files(locked: UvProject) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(locked.path)]
    subprocess.run([*git, "init", "-q"], check=True)
    cache = locked.path / ".uv-cache"
    ok(locked.uv("--cache-dir", str(cache), "sync"))  # untracked: the job's own cache
    subprocess.run([*git, "add", "-f", ".uv-cache"], check=True)
    done = locked.uv("--cache-dir", str(cache), "sync")
    assert done.returncode == 2 and "inside the project" in done.stderr


@pytest.mark.parametrize("moved", ["new-ledger.toml", "sub/ledger.toml", "../elsewhere.toml"])
def test_a_ledger_setting_pointing_away_from_the_existing_ledger_starts_nothing(
    locked: UvProject, moved: str
) -> None:
    text = locked.pyproject.read_text()
    locked.pyproject.write_text(text + f'\n[tool.pinwarden]\nledger = "{moved}"\n')
    before = locked.state()
    done = locked.uv("sync")
    assert done.returncode == 2 and "name the ledger" in done.stderr, done.stderr
    assert locked.state() == before and not (locked.path / ".venv").exists()


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENAMETOOLONG, "File name too long", "a" * 300),
        PermissionError(errno.EACCES, "Permission denied", "/root/x"),
        NotADirectoryError(errno.ENOTDIR, "Not a directory", "f/uv.lock"),
        FileNotFoundError(errno.ENOENT, "No such file or directory", "x\ny"),
    ],
)
def test_a_path_the_system_refuses_is_one_error_line(exc: OSError) -> None:
    def body(out: object, err: object) -> int:
        raise exc

    err = io.StringIO()
    assert ended(body, io.StringIO(), err) == 2
    assert err.getvalue().startswith("pinwarden: error: ") and err.getvalue().count("\n") == 1
