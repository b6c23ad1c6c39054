# ruff: noqa: F401, F811  (the fixtures of test_adoption.py, imported, are parameters here)
"""`init` dates trust from git history for uv.lock and pylock.toml too: each version from the
commit whose lock first held it, read by the format's own reader (tests/test_adoption.py holds the
same story for requirements files and poetry.lock).

End to end: a real git repository, locks written by the real uv (`uv lock`) and the real
`pip lock` against the index on 127.0.0.1, committed with set dates.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, isolated_env
from tests.support.uv_project import run_uv, uv_env, write_pyproject
from tests.test_adoption import (  # the fixtures index and isolated among them
    A_LATE,
    A_LATE_AT,
    ALPHA,
    ALPHA_LOCKED,
    BETA,
    BETA_LOCKED,
    commit,
    first_audit,
    git,
    index,
    isolated,
    run,
    since_of,
)

from pinwarden.shared.adoption import lock_versions

RENAMED = "2024-09-01T00:00:00Z"


def uv_lock(repo: Path, index: PackageIndex, env_dir: Path, *pins: str) -> None:
    """What a uv user does: list the dependencies, `uv lock` (the real uv, the local index only)."""
    write_pyproject(repo, pins)
    run_uv(["lock", "--python", sys.executable], repo, uv_env(env_dir, index.url))


def pip_lock(repo: Path, index: PackageIndex, env_dir: Path, *pins: str, output: str = "pylock.toml") -> None:
    """`pip lock` names no index in its lock: the test index's host is allowed as PyPI's file host."""
    import subprocess

    host = index.url.split("/")[2]
    (repo / "pyproject.toml").write_text(f'[tool.pinwarden]\nfile-hosts = ["{host}"]\n')
    argv = [sys.executable, "-m", "pip", "lock", "--index-url", index.url, "-o", output, *pins]

    done = subprocess.run(
        argv, cwd=repo, env=isolated_env(env_dir), capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_uv_lock_trust_dates_from_the_commit_that_first_locked_each_version(
    index: PackageIndex, isolated: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env_dir = tmp_path_factory.mktemp("uv-env")  # outside the repository: nothing of uv's committed
    index.remove(ALPHA, A_LATE[0])  # not served yet when alpha was locked
    git(isolated, "init", "-q")
    uv_lock(isolated, index, env_dir, f"{ALPHA}==1.0")
    commit(isolated, ALPHA_LOCKED)
    uv_lock(isolated, index, env_dir, f"{ALPHA}==1.0", f"{BETA}==2.0")
    commit(isolated, BETA_LOCKED)
    index.add(ALPHA, "1.0", *A_LATE, upload_time=A_LATE_AT)
    code, out, err = run("init", "uv.lock")
    assert (code, err) == (0, ""), out
    assert "uv.lock: git history (2 commits)" in out, out
    dated = since_of(isolated)
    assert (dated[ALPHA], dated[BETA]) == (ALPHA_LOCKED, BETA_LOCKED), dated
    # The wheel uploaded after alpha entered the lock is reported by the first audit.
    found, _, baseline = first_audit(isolated)
    assert ("new-file", ALPHA, A_LATE[0]) in found and A_LATE[0] not in baseline


def test_pylock_trust_dates_from_history_across_a_rename(
    index: PackageIndex, isolated: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env_dir = tmp_path_factory.mktemp("pip-env")
    git(isolated, "init", "-q")
    pip_lock(isolated, index, env_dir, f"{ALPHA}==1.0", output="pylock.prod.toml")
    commit(isolated, ALPHA_LOCKED)
    git(isolated, "mv", "pylock.prod.toml", "pylock.toml")
    commit(isolated, RENAMED)
    pip_lock(isolated, index, env_dir, f"{ALPHA}==1.0", f"{BETA}==2.0")
    commit(isolated, BETA_LOCKED)
    code, out, err = run("init", "pylock.toml")
    assert (code, err) == (0, ""), out
    assert "pylock.toml: git history (3 commits)" in out, out
    assert since_of(isolated) == {ALPHA: ALPHA_LOCKED, BETA: BETA_LOCKED}


def test_a_version_only_the_uncommitted_pylock_holds_dates_from_now(
    index: PackageIndex, isolated: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env_dir = tmp_path_factory.mktemp("pip-env")
    git(isolated, "init", "-q")
    pip_lock(isolated, index, env_dir, f"{ALPHA}==1.0")
    commit(isolated, ALPHA_LOCKED)
    pip_lock(isolated, index, env_dir, f"{ALPHA}==1.0", f"{BETA}==2.0")  # not committed
    code, out, _ = run("init", "pylock.toml")
    assert code == 0 and "1 only in the uncommitted lock, dated now" in out, out
    assert since_of(isolated) == {ALPHA: ALPHA_LOCKED, BETA: None}


def test_a_uv_lock_revision_its_reader_refuses_dates_nothing(
    index: PackageIndex, isolated: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The earlier commit's lock is one uv refuses (an unknown lock version): it vouches for no date."""
    env_dir = tmp_path_factory.mktemp("uv-env")
    git(isolated, "init", "-q")
    uv_lock(isolated, index, env_dir, f"{ALPHA}==1.0")
    good = (isolated / "uv.lock").read_text()
    (isolated / "uv.lock").write_text(good.replace("version = 1\n", "version = 99\n", 1))
    commit(isolated, ALPHA_LOCKED)
    (isolated / "uv.lock").write_text(good)
    commit(isolated, BETA_LOCKED)
    assert run("init", "uv.lock")[0] == 0
    assert since_of(isolated)[ALPHA] == BETA_LOCKED


# -- the pure part: what one old revision names -----------------------------------------------------

UV_TEXT = b"""version = 1
revision = 3
requires-python = ">=3.10"

[[package]]
name = "Demo.Pkg"
version = "1.0.0"
source = { registry = "https://example.invalid/simple" }
sdist = { url = "https://example.invalid/files/demo_pkg-1.0.0.tar.gz", hash = "sha256:%s" }

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
""" % (b"a" * 64)

PYLOCK_TEXT = b"""lock-version = "1.0"
created-by = "pip"

[[packages]]
name = "demo-pkg"

[[packages.wheels]]
name = "demo_pkg-1.0.0-py3-none-any.whl"
url = "https://example.invalid/files/demo_pkg-1.0.0-py3-none-any.whl"
hashes = { sha256 = "%s" }
""" % (b"b" * 64)


def test_old_uv_lock_and_pylock_revisions_are_read_by_their_readers() -> None:
    assert lock_versions(UV_TEXT, "uv.lock") == {("demo-pkg", "1"), ("app", "0.1")}
    # No version written: the files' (pip installs the one they name), as the current lock is keyed.
    assert lock_versions(PYLOCK_TEXT, "pylock.toml") == {("demo-pkg", "1")}


@pytest.mark.parametrize("lock_format", ["uv.lock", "pylock.toml"])
@pytest.mark.parametrize(
    "data", [b"\xff\xfe not toml [[[", b"", b"version = 2\n", b'lock-version = "2.0"\ncreated-by = "x"\n']
)
def test_an_old_revision_its_reader_refuses_names_nothing(lock_format: str, data: bytes) -> None:
    assert lock_versions(data, lock_format) == frozenset()
