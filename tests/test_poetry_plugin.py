"""End to end: real `poetry` subprocesses with the plugin, against a local index on 127.0.0.1.

Every run that should see upstream changes gets a cache it has never used, as a fresh CI machine
would: a warm cache that matches the lock hides them.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.guarded_project import (
    ALPHA,
    APPROVE_ALPHA,
    EVIL_BYTES,
    GAMMA,
    LATE_WHEEL,
    OTHER,
    SCENARIOS,
    WHEEL,
    WHEEL2,
    Project,
    copy_project,
    make_project,
    publish_base,
    sha256,
)
from tests.support.index import PackageIndex, build_wheel, unbound

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish_base(index)
    with index.serve():
        yield index


@pytest.fixture(scope="module")
def template(index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """alpha and other locked (the first lock creates the ledger) and installed."""
    publish_base(index)
    project = make_project(tmp_path_factory.mktemp("template"), index.url, [ALPHA, OTHER])
    project.ok("lock", "-n")
    project.ok("install", "-n")
    return project


@pytest.fixture
def project(index: PackageIndex, template: Project, tmp_path: Path) -> Project:
    publish_base(index)
    return copy_project(template, tmp_path)


def assert_refused(project: Project, done_code: int, output: str, last_line: str, label: str) -> None:
    assert done_code == 1, output
    assert "Traceback" not in output
    assert label in output
    assert f"{ALPHA} 1  (poetry.lock)" in output  # the canonical version, not 1.0
    assert unbound(last_line) == APPROVE_ALPHA


# -- the first run -------------------------------------------------------------------------------


def test_first_lock_creates_the_ledger(index: PackageIndex, tmp_path: Path) -> None:
    publish_base(index)
    project = make_project(tmp_path, index.url, [ALPHA])
    done = project.ok("lock", "-n")
    assert "on first use (" in done.output
    ledger = project.ledger_text()
    assert '[projects.pwguard-alpha."1"]' in ledger
    assert 'how = "first-use"' in ledger
    assert sha256(WHEEL[1]) in ledger
    assert sha256(WHEEL2[1]) in ledger
    assert project.ok("pinwarden", "check").code == 0


def test_install_without_a_lock_locks_records_and_installs(index: PackageIndex, tmp_path: Path) -> None:
    publish_base(index)
    project = make_project(tmp_path, index.url, [ALPHA])
    project.ok("install", "-n")
    assert project.lock.is_file()
    assert sha256(WHEEL[1]) in project.ledger_text()
    assert project.installed_marker() in ("original", "second")


def test_a_project_without_a_ledger_adopts_its_lock(index: PackageIndex, project: Project) -> None:
    project.ledger.unlink()
    SCENARIOS["build-tagged-wheel"][0](index)
    before = project.snapshot()
    done = project.poetry("lock", "-n")
    # The lock as it was is what the project trusted; the newcomer is not.
    assert_refused(project, done.code, done.output, done.last_line, "NEW FILE")
    assert project.snapshot() == before  # no ledger written either

    publish_base(index)
    done = project.ok("lock", "-n")
    assert 'how = "init"' in project.ledger_text()
    assert project.snapshot().lock == before.lock


# -- nobody at the terminal: refused, nothing written or installed -----------------------------

REFUSALS = [
    *[pytest.param(name, ("lock",), id=f"lock-{name}") for name in SCENARIOS],
    *[
        pytest.param(name, command, id=f"{command[0]}{command[1] if len(command) > 1 else ''}-{name}")
        for command, names in [
            (("lock", "--regenerate"), ["build-tagged-wheel", "same-filename-new-bytes"]),
            (("update", ALPHA), ["build-tagged-wheel", "deleted-file"]),
            (("add", GAMMA), ["new-sdist", "same-filename-new-bytes"]),
            (("remove", OTHER), ["new-wheel", "build-tagged-wheel"]),
        ]
        for name in names
    ],
]


@pytest.mark.parametrize(("scenario", "command"), REFUSALS)
def test_refused_without_a_person(
    index: PackageIndex, project: Project, scenario: str, command: tuple[str, ...]
) -> None:
    change, label = SCENARIOS[scenario]
    change(index)
    before = project.snapshot()
    pyproject = (project.path / "pyproject.toml").read_bytes()

    done = project.poetry(*command, "-n")

    assert_refused(project, done.code, done.output, done.last_line, label)
    assert "nothing was written or installed" in done.output
    assert project.snapshot() == before
    assert (project.path / "pyproject.toml").read_bytes() == pyproject


def test_ci_counts_as_nobody_at_the_terminal(index: PackageIndex, project: Project) -> None:
    SCENARIOS["new-wheel"][0](index)
    before = project.snapshot()
    done = project.poetry("lock", env={"CI": "true"})
    assert_refused(project, done.code, done.output, done.last_line, "NEW FILE")
    assert project.snapshot() == before


# -- approving ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["build-tagged-wheel", "same-filename-new-bytes", "deleted-file"])
def test_approve_then_lock_succeeds(index: PackageIndex, project: Project, scenario: str) -> None:
    SCENARIOS[scenario][0](index)
    refused = project.poetry("lock", "-n")
    assert refused.approve_command == APPROVE_ALPHA
    # The printed command, as a person runs it (bound to what the report showed, --replace for a swap).
    assert refused.last_line.endswith(' --replace --reason "WHY"') is (scenario == "same-filename-new-bytes")
    done = project.ok(*shlex.split(refused.last_line)[1:], "--reason", "rebuilt upstream")
    assert f"pinwarden: {ALPHA}==1 from source " in done.output  # the canonical version, not 1.0
    ledger = project.ledger_text()
    assert 'how = "approval"' in ledger
    assert 'reason = "rebuilt upstream"' in ledger

    project.ok("lock", "-n")
    lock = project.lock_text()
    if scenario == "build-tagged-wheel":
        assert sha256(LATE_WHEEL[1]) in lock
    elif scenario == "same-filename-new-bytes":
        assert sha256(EVIL_BYTES) in lock
        assert sha256(WHEEL[1]) not in lock
    else:
        assert WHEEL2[0] not in lock
        assert "vanished = true" in project.ledger_text()
    assert project.ok("pinwarden", "check").code == 0


def test_approve_unblocks_add(index: PackageIndex, project: Project) -> None:
    SCENARIOS["new-wheel"][0](index)
    assert project.poetry("add", GAMMA, "-n").code == 1
    project.ok("pinwarden", "approve", f"{ALPHA}==1.0", "--from-index")  # the CLI's spelling works too
    project.ok("add", GAMMA, "-n")
    assert GAMMA in project.lock_text()
    assert any(path.startswith("pwguard_gamma") for path in project.installed())


def test_first_use_ask_makes_a_new_version_need_approval(index: PackageIndex, project: Project) -> None:
    with (project.path / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[tool.pinwarden]\nfirst-use = "ask"\n')
    before = project.snapshot()
    done = project.poetry("add", GAMMA, "-n")
    assert done.code == 1
    assert "NEW VERSION" in done.output
    assert done.approve_command == f"poetry pinwarden approve --from-index {GAMMA}==1"
    assert project.snapshot() == before

    project.ok("pinwarden", "approve", "--from-index", f"{GAMMA}==1.0")
    project.ok("add", GAMMA, "-n")
    assert f'[projects.{GAMMA}."1"]' in project.ledger_text()


def test_approve_of_a_version_no_source_has_fails_cleanly(project: Project) -> None:
    done = project.poetry("pinwarden", "approve", "--from-index", f"{ALPHA}==9.9")
    assert done.code == 2
    assert "not on this project's sources" in done.stderr
    assert "Traceback" not in done.output


# -- versions over time -------------------------------------------------------------------------


def test_upgrade_is_first_use_and_a_later_downgrade_to_changed_files_is_caught(
    index: PackageIndex, project: Project
) -> None:
    index.add(ALPHA, "2.0", *build_wheel(ALPHA, "2.0", marker="two"))
    done = project.ok("update", ALPHA, "-n", "-v")
    assert f"{ALPHA} 2 trusted on first use" in done.output
    ledger = project.ledger_text()
    assert f'[projects.{ALPHA}."1"]' in ledger  # the old version stays, like go.sum
    assert f'[projects.{ALPHA}."2"]' in ledger
    assert project.installed_marker() == "two"

    index.replace(ALPHA, WHEEL[0], EVIL_BYTES)
    before = project.snapshot()
    done = project.poetry("add", f"{ALPHA}==1.0", "-n")
    assert_refused(project, done.code, done.output, done.last_line, "CHANGED")
    assert project.snapshot() == before
    assert project.installed_marker() == "two"


# -- what an index does: hash algorithms, yanks ----------------------------------------------------


def test_an_index_switching_to_sha512_for_unchanged_files_is_verified(
    index: PackageIndex, project: Project
) -> None:
    index.hash_algorithm = "sha512"
    done = project.ok("lock", "-n")
    assert "matches its trusted hash" in done.output
    lock = project.lock_text()
    assert "sha512:" in lock
    assert "sha256:" not in lock
    ledger = project.ledger_text()
    assert sha256(WHEEL[1]) in ledger  # kept beside the new algorithm
    assert ledger.count("sha512:") == 3  # alpha's two wheels and other's
    assert project.ok("pinwarden", "check").code == 0


def test_an_index_switching_to_sha512_with_new_bytes_is_a_changed_file(
    index: PackageIndex, project: Project
) -> None:
    index.hash_algorithm = "sha512"
    index.replace(ALPHA, WHEEL[0], EVIL_BYTES)
    before = project.snapshot()
    done = project.poetry("lock", "-n")
    assert_refused(project, done.code, done.output, done.last_line, "CHANGED")
    assert "downloaded" in done.output
    assert project.snapshot() == before


def test_a_yanked_file_is_reported_as_yanked(index: PackageIndex, project: Project) -> None:
    index.yank(ALPHA, WHEEL2[0], "broken build")
    done = project.poetry("lock", "-n")
    assert_refused(project, done.code, done.output, done.last_line, "MISSING")
    assert "yanked upstream (broken build)" in done.output


# -- the backstop and the commands ------------------------------------------------------------------


def test_a_lock_written_without_plugins_is_caught_by_check_and_install(
    index: PackageIndex, project: Project
) -> None:
    SCENARIOS["build-tagged-wheel"][0](index)
    project.ok("--no-plugins", "lock", "-n")
    assert sha256(LATE_WHEEL[1]) in project.lock_text()

    done = project.poetry("pinwarden", "check")
    assert done.code == 1
    assert f"poetry pinwarden approve {ALPHA}==1" in [
        unbound(line.strip()) for line in done.output.splitlines()
    ]
    findings = json.loads(project.poetry("pinwarden", "check", "--format", "json").stdout)["findings"]
    assert {f["kind"] for f in findings} == {"new-file", "build-tag"}

    # An install from that lock would put the build-tagged wheel into the environment.
    (project.path / ".venv").rename(project.path / "old-venv")
    done = project.poetry("install", "-n")
    assert done.code == 1
    assert "Was the lock written without pinwarden" in done.output
    assert done.approve_command == f"poetry pinwarden approve {ALPHA}==1"
    assert project.installed() == {}

    # A reviewed lock change is approved as it stands, as `pinwarden approve` does.
    project.ok("pinwarden", "approve", "--from-lock", f"{ALPHA}==1.0")
    project.ok("install", "-n")
    assert project.installed_marker() == "late"  # the build tag outranks the original wheel


def test_an_unchanged_lock_loads_only_what_reads_the_ledger(project: Project) -> None:
    """Every `poetry lock` pays for the plugin: when nothing changes, it costs reading the settings
    and the ledger (a malformed one must stop it), never the review."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "poetry", "lock", "-n"],
        cwd=project.path,
        env=project.env,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "pinwarden.poetry_plugin.guard" in loaded
    assert "pinwarden.shared.ledger" in loaded
    review = ("flow", "compare", "decide", "render", "audit", "signs", "trust", "index", "locks")
    ours = {name for name in loaded if name.startswith("pinwarden.")}
    assert not {name for name in ours if name.split(".")[-1] in review or ".index." in name}


def test_init_show_and_check_match_the_cli(project: Project) -> None:
    project.ledger.unlink()
    done = project.poetry("pinwarden", "check")
    assert done.code == 2
    assert "no ledger yet" in done.stderr

    assert project.ok("pinwarden", "init").code == 0
    assert project.ok("pinwarden", "check").code == 0
    shown = json.loads(project.ok("pinwarden", "show", ALPHA, "--format", "json").stdout)
    assert [r["version"] for r in shown["releases"]] == ["1"]
    assert project.poetry("pinwarden", "show", "pwguard-nothing").code == 2


def test_poetry_init_takes_trusted_since(project: Project) -> None:
    project.ledger.unlink()
    assert project.poetry("pinwarden", "init", "--trusted-since", "2025-13-01").code == 2
    assert not project.ledger.exists()
    assert project.ok("pinwarden", "init", "--trusted-since", "2025-01-01").code == 0
    shown = json.loads(project.ok("pinwarden", "show", ALPHA, "--format", "json").stdout)
    assert shown["releases"][0]["trusted"][0]["since"] == "2025-01-01T00:00:00Z"
