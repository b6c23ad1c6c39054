"""`pinwarden uv ...` end to end: the real uv against the local test index, nobody at the terminal.

uv's new lock is made in a staging copy and reviewed before it replaces uv.lock; the command then
runs with --locked, so nothing untrusted is written or installed."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.compiled_project import (
    ALPHA,
    NEW_SDIST_BYTES,
    SDIST,
    TAGGED_WHEEL,
    WHEEL,
    sha256,
)
from tests.support.index import build_wheel
from tests.support.uv_project import LATE, UPLOADED, UvProject, ok, uv_project, write_pyproject

pytestmark = pytest.mark.e2e

GAMMA = "pwdemo-gamma"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[UvProject]:
    with uv_project(tmp_path) as project:
        yield project


@pytest.fixture
def locked(project: UvProject) -> UvProject:
    ok(project.uv("lock"))
    return project


def approve_lines(stderr: str) -> list[str]:
    return [line.strip() for line in stderr.splitlines() if line.strip().startswith("pinwarden approve ")]


def test_first_lock_records_first_use(project: UvProject) -> None:
    err = ok(project.uv("lock"))
    assert "on first use (pinwarden-ledger.toml)" in err
    assert "wrote uv.lock" in err
    lock, ledger = project.state()
    assert lock is not None and ledger is not None
    text = ledger.decode()
    assert f"[projects.{ALPHA}." in text and 'how = "first-use"' in text
    assert sha256(WHEEL[1]) in text and sha256(SDIST[1]) in text
    assert project.staging_dirs() == []


def test_a_late_build_tagged_wheel_is_refused_then_approved_then_relocked(locked: UvProject) -> None:
    before = locked.state()
    locked.index.add(ALPHA, "1.0", *TAGGED_WHEEL, upload_time=LATE)
    err = ok(locked.uv("lock", "--upgrade"), 1)
    assert "nobody is at the terminal; nothing was written (uv.lock and the ledger are unchanged)" in err
    assert f"NEW FILE    {TAGGED_WHEEL[0]}" in err
    assert "build tag 1" in err
    assert locked.state() == before  # byte for byte
    assert locked.staging_dirs() == []
    [command] = approve_lines(err)
    assert command.startswith(f"pinwarden approve {ALPHA}==1 --from-index {locked.index.url}")
    assert sha256(TAGGED_WHEEL[1]) in command
    approved = locked.pinwarden(*shlex.split(command)[1:])
    ok(approved)
    assert "new-file" in approved.stdout and "missing-file" not in approved.stdout
    # The approval bound to the new wheel's digest adds it; the files trusted before stay trusted.
    assert "vanished" not in locked.ledger.read_text()
    err = ok(locked.uv("lock", "--upgrade"))
    assert "wrote uv.lock" in err
    assert TAGGED_WHEEL[0] in locked.lock.read_text()
    check = locked.pinwarden("check")
    assert check.returncode == 0, check.stdout + check.stderr
    # Relocking again finds nothing new and leaves the lock alone.
    after = locked.state()
    assert "uv.lock is unchanged" in ok(locked.uv("lock", "--upgrade"))
    assert locked.state() == after


def test_the_short_upgrade_option_and_no_interaction_refuse_too(locked: UvProject) -> None:
    before = locked.state()
    locked.index.add(ALPHA, "1.0", *TAGGED_WHEEL, upload_time=LATE)
    err = ok(locked.uv("--no-interaction", "lock", "-U"), 1)
    assert "--no-interaction; nothing was written" in err
    assert "After approving, rerun: pinwarden uv --no-interaction lock -U" in err
    assert locked.state() == before


def test_a_replaced_file_is_refused(locked: UvProject) -> None:
    before = locked.state()
    locked.index.replace(ALPHA, SDIST[0], NEW_SDIST_BYTES)
    err = ok(locked.uv("lock", "--refresh"), 1)
    assert "THE CONTENT OF A TRUSTED FILE HAS CHANGED" in err
    assert f"CHANGED     {SDIST[0]}" in err
    assert sha256(NEW_SDIST_BYTES) in err
    assert locked.state() == before
    [command] = approve_lines(err)
    assert "--replace" in command


def test_sync_never_installs_an_untrusted_file(locked: UvProject) -> None:
    ok(locked.uv("sync"))
    assert locked.installed() == {ALPHA: f"{ALPHA}-1.0", "pwdemo-beta": "pwdemo-beta-2.0"}
    before = locked.state()
    locked.index.add(ALPHA, "1.0", *TAGGED_WHEEL, upload_time=LATE)
    ok(locked.uv("sync", "--upgrade", "--reinstall"), 1)
    assert locked.state() == before
    assert locked.installed()[ALPHA] == f"{ALPHA}-1.0"  # not the build-tagged wheel
    # A lock written behind pinwarden's back (plain uv) is never installed from.
    ok(locked.plain_uv("lock", "--upgrade"))
    assert TAGGED_WHEEL[0] in locked.lock.read_text()
    err = ok(locked.uv("sync", "--reinstall"), 1)
    assert "uv.lock holds versions or files the ledger does not trust; nothing was installed" in err
    assert f"NEW FILE    {TAGGED_WHEEL[0]}" in err
    assert locked.installed()[ALPHA] == f"{ALPHA}-1.0"
    # Nor with --frozen, which only reads the lock.
    ok(locked.uv("sync", "--frozen", "--reinstall"), 1)
    assert locked.installed()[ALPHA] == f"{ALPHA}-1.0"
    # After review, the printed command records what the lock holds; then it installs.
    [command] = approve_lines(err)
    assert command.startswith(f"pinwarden approve {ALPHA}==1 uv.lock"), command
    ok(locked.pinwarden(*shlex.split(command)[1:]))
    ok(locked.uv("sync", "--reinstall"))
    assert locked.installed()[ALPHA] == f"{ALPHA}-1.0-1"


def test_a_trusted_lock_whose_file_the_index_replaced_installs_nothing(locked: UvProject) -> None:
    """uv checks each download against uv.lock's hash: a trusted lock is all pinwarden must keep."""
    from tests.support.compiled_project import NEW_WHEEL_BYTES

    locked.index.replace(ALPHA, WHEEL[0], NEW_WHEEL_BYTES)
    locked.env["UV_CACHE_DIR"] = str(locked.path.parent / "fresh-cache")
    done = locked.uv("sync")
    assert done.returncode == 1, done.stderr  # uv's own failure, passed through
    assert "Hash mismatch" in done.stderr and "pinwarden" not in done.stderr
    assert ALPHA not in locked.installed()


def test_a_sync_with_nothing_new_stages_nothing_and_asks_no_index(locked: UvProject) -> None:
    ok(locked.uv("sync"))
    before = locked.state()
    asked = locked.simple_requests()
    err = ok(locked.uv("sync"))
    assert "pinwarden:" not in err
    assert locked.simple_requests() == asked
    assert locked.state() == before


def test_a_stale_lock_is_relocked_in_staging_then_synced(locked: UvProject) -> None:
    locked.index.add(GAMMA, "3.0", *build_wheel(GAMMA, "3.0"), upload_time=UPLOADED)
    text = locked.pyproject.read_text().replace('"pwdemo-beta"]', f'"pwdemo-beta", "{GAMMA}"]')
    locked.pyproject.write_text(text)
    err = ok(locked.uv("sync"))
    assert "uv.lock is out of date" in err
    assert "trusted 1 new version on first use" in err
    assert locked.installed()[GAMMA] == f"{GAMMA}-3.0"
    assert f"[projects.{GAMMA}." in locked.ledger.read_text()


def test_add_a_package(locked: UvProject) -> None:
    locked.index.add(GAMMA, "3.0", *build_wheel(GAMMA, "3.0"), upload_time=UPLOADED)
    err = ok(locked.uv("add", GAMMA))
    assert "trusted 1 new version on first use" in err
    assert GAMMA in locked.pyproject.read_text()
    assert f'name = "{GAMMA}"' in locked.lock.read_text()
    assert locked.installed()[GAMMA] == f"{GAMMA}-3.0"


def test_add_of_a_package_with_an_untrusted_change_writes_nothing(locked: UvProject) -> None:
    pyproject = locked.pyproject.read_bytes()
    before = locked.state()
    locked.index.add(ALPHA, "1.0", *TAGGED_WHEEL, upload_time=LATE)
    locked.index.add(GAMMA, "3.0", *build_wheel(GAMMA, "3.0"), upload_time=UPLOADED)
    ok(locked.uv("add", GAMMA, "--upgrade-package", ALPHA), 1)
    assert locked.pyproject.read_bytes() == pyproject
    assert locked.state() == before
    assert GAMMA not in locked.installed()


def test_remove_a_package(locked: UvProject) -> None:
    ok(locked.uv("sync"))
    ok(locked.uv("remove", "pwdemo-beta"))
    assert "pwdemo-beta" not in locked.pyproject.read_text()
    assert "pwdemo-beta" not in locked.installed()


def test_run_and_export_run_with_locked(locked: UvProject) -> None:
    done = locked.uv(
        "run", "python", "-c", "import pwdemo_alpha, sys; print(pwdemo_alpha.MARKER); sys.exit(3)"
    )
    assert done.returncode == 3, done.stderr  # the program's own exit code
    assert done.stdout.strip() == "wheel"
    done = locked.uv("export", "--no-header")
    assert done.returncode == 0, done.stderr
    assert sha256(WHEEL[1]) in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("sync", "--with", "anything"), "--with installs or locks what uv.lock does not pin"),
        (("lock", "--pinwarden-ledger"), "--pinwarden-ledger needs a value"),
        (("lock", "--upgrade-package"), "--upgrade-package needs a value"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(locked: UvProject, args: tuple[str, ...], words: str) -> None:
    before = locked.state()
    done = locked.uv(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("pinwarden: error: ") and words in done.stderr
    assert done.stderr.count("\n") == 1
    assert locked.state() == before


def test_other_uv_commands_pass_straight_through(project: UvProject) -> None:
    done = project.uv("--version")
    assert done.returncode == 0 and done.stdout.startswith("uv ")
    done = project.uv("pip", "--help")
    assert done.returncode == 0


def test_a_build_tagged_wheel_for_a_new_version_asks_even_on_first_use(project: UvProject) -> None:
    """A first use with a warning sign is a question: refused without a terminal."""
    project.index.add(ALPHA, "1.0", *build_wheel(ALPHA, "1.0", build_tag=1), upload_time=LATE)
    ok(project.uv("lock"), 1)
    assert project.state() == (None, None)


if sys.platform == "win32":  # pragma: no cover
    pytest.skip("POSIX only", allow_module_level=True)


def test_a_sibling_path_source_keeps_its_meaning_in_the_staging_copy(project: UvProject) -> None:
    """`../sibling` in pyproject.toml and uv.lock: the staging copy sits beside the root."""
    import io
    import tarfile

    from tests.support.index import build_sdist

    name, data = build_sdist("pwdemo-sibling", "0.5")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(project.path.parent, filter="data")
    (project.path.parent / name.removesuffix(".tar.gz")).rename(project.path.parent / "sibling")
    text = project.pyproject.read_text().replace('"pwdemo-beta"]', '"pwdemo-beta", "pwdemo-sibling"]')
    project.pyproject.write_text(text + '\n[tool.uv.sources]\npwdemo-sibling = { path = "../sibling" }\n')
    ok(project.uv("sync"))
    assert 'source = { directory = "../sibling" }' in project.lock.read_text()
    assert project.installed()["pwdemo-sibling"] == "pwdemo-sibling-0.5"


def test_a_workspace_member_locks_at_the_root(project: UvProject) -> None:
    member = project.path / "packages" / "member"
    member.mkdir(parents=True)
    write_pyproject(member, [ALPHA], name="member")
    project.pyproject.write_text(
        project.pyproject.read_text() + '\n[tool.uv.workspace]\nmembers = ["packages/*"]\n'
    )
    ok(project.pinwarden("uv", "lock", cwd=member))
    assert not (member / "uv.lock").exists()
    assert 'name = "member"' in project.lock.read_text()
    assert f"[projects.{ALPHA}." in project.ledger.read_text()


def test_ctrl_c_while_uv_locks_in_staging_writes_nothing_and_leaves_no_copy(tmp_path: Path) -> None:
    """The signal is sent once uv is known to be inside the staged lock (it asked for a file, which
    the index holds back until then): no timing involved."""
    import os
    import signal
    import threading

    from tests.support.index import PackageIndex
    from tests.support.uv_project import uv_env

    requested, released = threading.Event(), threading.Event()
    index = PackageIndex()
    index.add(ALPHA, "1.0", *WHEEL, upload_time=UPLOADED)
    served = index.file_data

    def held(key: str, filename: str) -> bytes:
        requested.set()
        released.wait(timeout=120)
        return served(key, filename)

    index.file_data = held  # type: ignore[method-assign]
    path = tmp_path / "project"
    write_pyproject(path, [ALPHA])
    with index.serve():
        run = subprocess.Popen(
            [sys.executable, "-m", "pinwarden", "uv", "lock"],
            cwd=path,
            env=uv_env(tmp_path / "env", index.url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            assert requested.wait(timeout=120), "uv never asked for the file"
            os.killpg(run.pid, signal.SIGINT)
        finally:
            released.set()
        _, err = run.communicate(timeout=120)
    assert run.returncode == 2, err
    assert err.rstrip().endswith("pinwarden: interrupted; nothing was written"), err
    assert "Traceback" not in err
    assert sorted(p.name for p in path.iterdir()) == ["pyproject.toml"]
    assert not list(tmp_path.glob(".pinwarden-uv-*"))


def test_the_first_guarded_sync_of_a_lock_made_by_uv_alone_records_it_on_first_use(
    project: UvProject,
) -> None:
    ok(project.plain_uv("lock"))
    lock = project.lock.read_bytes()
    err = ok(project.uv("sync"))
    assert "trusted 2 new versions on first use" in err
    assert project.lock.read_bytes() == lock
    assert project.installed()[ALPHA] == f"{ALPHA}-1.0"
    # From then on, the ledger decides: the same lock passes, an unreviewed change does not.
    project.index.add(ALPHA, "1.0", *TAGGED_WHEEL, upload_time=LATE)
    ok(project.plain_uv("lock", "--upgrade"))
    ok(project.uv("sync"), 1)


def test_lock_reviews_again_a_lock_uv_wrote_alone(locked: UvProject) -> None:
    """`pinwarden uv lock` is the way out of a refused sync: it relocks for review, not refuses."""
    locked.index.add(ALPHA, "1.0", *TAGGED_WHEEL, upload_time=LATE)
    ok(locked.plain_uv("lock", "--upgrade"))
    err = ok(locked.uv("sync"), 1)
    assert "let uv lock again for review: pinwarden uv lock" in err
    before = locked.state()
    err = ok(locked.uv("lock"), 1)
    assert "holds what the ledger does not trust: uv locks again in a staging copy" in err
    assert f"NEW FILE    {TAGGED_WHEEL[0]}" in err
    assert locked.state() == before
    [command] = approve_lines(err)
    ok(locked.pinwarden(*shlex.split(command)[1:]))
    assert "pinwarden:" not in ok(locked.uv("lock"))  # trusted now: nothing to stage
    assert locked.state()[0] == before[0]
    ok(locked.uv("sync"))
    assert locked.installed()[ALPHA] == f"{ALPHA}-1.0-1"


@pytest.mark.parametrize("spelling", ["localhost", "LOCALHOST"])
def test_files_on_a_host_the_index_does_not_use_are_refused_until_allowed(
    project: UvProject, spelling: str
) -> None:
    """The index hands its files to another host name: no approval trusts a host, so nothing is
    written until `[tool.pinwarden] file-hosts` allows it (the same host:port, spelled as given)."""
    port = project.index.url.split(":")[2].split("/")[0]
    project.index.file_base = f"http://{spelling}:{port}"
    before = project.state()
    done = project.uv("lock")
    err = ok(done, 1)
    assert "host its index does not use" in err and "file-hosts" in err
    assert project.state() == before
    text = project.pyproject.read_text()
    project.pyproject.write_text(text + f'\n[tool.pinwarden]\nfile-hosts = ["localhost:{port}"]\n')
    ok(project.uv("lock"))
    assert project.pinwarden("check").returncode == 0
