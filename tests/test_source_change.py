"""Issue 10: a trusted version re-sourced to a local directory or a git commit.

A version trusted as hashed files from an index can come back in poetry.lock as `source.type =
"directory"` (or git) with no hashes: Poetry then installs whatever that directory (or commit) holds.
That is a `changed-file` for the version (never a quiet pass, never just "missing files"), which
`check` reports, the plugin refuses (real `poetry install`, `sync` and `lock`) and the wrapper refuses
(real pip-compile). A directory enters the ledger only over trust a person already gave that version.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from itertools import permutations
from pathlib import Path

import pytest
from tests.support import compiled_project as pc
from tests.support.guarded_project import (
    ALPHA,
    OTHER,
    Project,
    copy_project,
    make_project,
    publish_base,
)
from tests.support.index import PackageIndex

from pinwarden.cli import main
from pinwarden.poetry_plugin.guard import release_of
from pinwarden.shared.compare import compare
from pinwarden.shared.decide import Choice, decide, parse_answer, plan
from pinwarden.shared.ledger import Ledger, dumps, loads
from pinwarden.shared.ledger_diff import ChangeKind, diff
from pinwarden.shared.locks.poetry_lock import parse_poetry_lock
from pinwarden.shared.model import (
    FileHash,
    FindingKind,
    LockedFile,
    LockedRelease,
    NormalizedName,
    SourceKind,
    TrustHow,
)
from pinwarden.shared.trust import adopt_new, record

AT = "2026-11-25T00:00:00Z"
DEMO = NormalizedName("demo")
INDEX = "https://pypi.org/simple/"
COMMIT = "c" * 40
WHEEL, SDIST = "demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"
SPELLINGS = ["1", "1.0", "1.0.0", "v1", "1.0.0.0", "V1.0"]
KINDS = [SourceKind.DIRECTORY, SourceKind.GIT]


def h(n: int) -> FileHash:
    return FileHash("sha256", f"{n:x}".rjust(64, "0"))


def hashed(version: str = "1.0", lockfile: str = "poetry.lock") -> LockedRelease:
    return LockedRelease(
        name=DEMO,
        version=version,
        files=(LockedFile(WHEEL, h(1)), LockedFile(SDIST, h(2))),
        lockfile=lockfile,
        source_url=INDEX,
    )


def unhashed(kind: SourceKind, version: str = "1.0", url: str | None = None) -> LockedRelease:
    """The same version from a local directory or a git commit: poetry.lock lists no files for it."""
    default = "vendor/demo" if kind is SourceKind.DIRECTORY else "https://git.example/demo.git"
    return LockedRelease(
        name=DEMO,
        version=version,
        files=(),
        lockfile="poetry.lock",
        source_kind=kind,
        source_url=url or default,
        source_reference=COMMIT if kind is SourceKind.GIT else None,
    )


def trusted(*releases: LockedRelease) -> Ledger:
    return record(Ledger(), releases, how=TrustHow.INIT, at=AT)


WHAT = {SourceKind.DIRECTORY: "a local directory", SourceKind.GIT: "a git commit"}


# ---------------------------------------------------------------------------------------------
# the comparison


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("trusted_as", ["1.0", "1.0.0", "v1"])
@pytest.mark.parametrize("locked_as", SPELLINGS)
def test_a_hashed_version_resourced_is_one_changed_file(
    kind: SourceKind, trusted_as: str, locked_as: str
) -> None:
    ledger = trusted(hashed(trusted_as))
    now = unhashed(kind, locked_as)
    (finding,) = compare(ledger, [now])  # one finding: not also every trusted file "missing"
    assert (finding.kind, finding.project, finding.version) == (FindingKind.CHANGED_FILE, DEMO, "1")
    assert finding.hash == now.source_identity and finding.trusted_hash is None
    assert finding.detail == f"now {WHAT[kind]} that no hash pins; trusted as hashed files from {INDEX}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_beside_a_hashed_lock_the_resourced_one_is_still_changed(kind: SourceKind, spelling: str) -> None:
    """A requirements file still pins the files: nothing is missing, the re-sourced lock is changed."""
    ledger = trusted(hashed())
    requirements = replace(
        hashed(spelling, "requirements.txt"), files=(LockedFile(None, h(1)), LockedFile(None, h(2)))
    )
    for order in permutations([requirements, unhashed(kind, spelling)]):
        findings = compare(ledger, order)
        assert [(f.kind, f.lockfile) for f in findings] == [(FindingKind.CHANGED_FILE, "poetry.lock")]


def test_a_resourced_lock_beside_a_hashed_one_that_drops_a_file_reports_the_missing_file() -> None:
    ledger = trusted(hashed())
    thinner = replace(hashed(lockfile="requirements.txt"), files=(LockedFile(None, h(1)),))
    kinds = sorted(f.kind.value for f in compare(ledger, [thinner, unhashed(SourceKind.DIRECTORY)]))
    assert kinds == ["changed-file", "missing-file"]


@pytest.mark.parametrize(
    ("before", "after", "detail"),
    [
        ("vendor/demo", "vendor/other", "trusted as directory:vendor/demo"),
        ("vendor/demo", "vendor/../demo", "trusted as directory:vendor/demo"),
        ("../demo", "/abs/demo", "trusted as directory:../demo"),
    ],
)
def test_a_trusted_directory_moved_elsewhere_is_changed(before: str, after: str, detail: str) -> None:
    ledger = record(
        trusted(hashed()), [unhashed(SourceKind.DIRECTORY, url=before)], how=TrustHow.APPROVAL, at=AT
    )
    (finding,) = compare(ledger, [unhashed(SourceKind.DIRECTORY, url=after)])
    assert finding.kind is FindingKind.CHANGED_FILE and finding.detail is not None
    assert finding.detail.endswith(detail) and finding.trusted_hash == f"directory:{before}"


@pytest.mark.parametrize(
    "spelling", ["vendor/demo", "./vendor/demo", "vendor//demo/", "vendor/./demo", "./vendor/demo/."]
)
def test_one_directory_whatever_its_spelling(spelling: str) -> None:
    ledger = record(trusted(hashed()), [unhashed(SourceKind.DIRECTORY)], how=TrustHow.APPROVAL, at=AT)
    assert compare(ledger, [unhashed(SourceKind.DIRECTORY, url=spelling)]) == ()
    assert unhashed(SourceKind.DIRECTORY, url=spelling).source_identity == "directory:vendor/demo"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (unhashed(SourceKind.GIT), unhashed(SourceKind.DIRECTORY)),
        (unhashed(SourceKind.DIRECTORY), unhashed(SourceKind.GIT)),
    ],
)
def test_one_unhashed_source_for_another_is_changed(old: LockedRelease, new: LockedRelease) -> None:
    ledger = record(trusted(hashed()), [old], how=TrustHow.APPROVAL, at=AT)
    (finding,) = compare(ledger, [new])
    assert finding.kind is FindingKind.CHANGED_FILE
    assert finding.detail is not None and f"trusted as {old.source_identity}" in finding.detail


def test_a_git_commit_moved_is_still_said_so() -> None:
    ledger = trusted(unhashed(SourceKind.GIT))
    moved = replace(unhashed(SourceKind.GIT), source_reference="d" * 40)
    (finding,) = compare(ledger, [moved])
    assert finding.detail == "the git source points at another commit"


def test_a_directory_never_trusted_is_the_projects_own_code() -> None:
    assert compare(Ledger(), [unhashed(SourceKind.DIRECTORY)]) == ()


def test_a_directory_of_another_version_of_a_trusted_project_is_a_question() -> None:
    """Round 11: it installs in place of the trusted files, and no hash pins it."""
    kinds = {f.kind for f in compare(trusted(hashed()), [unhashed(SourceKind.DIRECTORY, "2.0")])}
    assert kinds == {FindingKind.NEW_VERSION, FindingKind.DIRECT_URL}


# ---------------------------------------------------------------------------------------------
# recording: a directory only over trust already given


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_directory_is_never_trusted_on_first_use(spelling: str) -> None:
    directory = unhashed(SourceKind.DIRECTORY, spelling)
    assert record(Ledger(), [directory], how=TrustHow.FIRST_USE, at=AT) == Ledger()
    assert adopt_new(Ledger(), [directory], how=TrustHow.INIT, at=AT) == Ledger()
    the_plan = plan(compare(Ledger(), [directory]))
    assert the_plan.clean


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_an_approved_resourcing_is_recorded_and_then_passes(kind: SourceKind, spelling: str) -> None:
    ledger = trusted(hashed())
    now = unhashed(kind, spelling)
    approved = record(ledger, [now], how=TrustHow.APPROVAL, at=AT, reason="vendored")
    release = approved.get(DEMO, "1")
    assert release is not None and release.source == now.source_identity
    assert release.index == INDEX and all(f.vanished for f in release.files)  # trust in the bytes stays
    assert compare(approved, [now]) == ()
    assert loads(dumps(approved)) == approved
    # Back to the trusted hashed files: nothing to approve; other bytes: changed.
    assert compare(approved, [hashed(spelling)]) == ()
    other = replace(hashed(spelling), files=(LockedFile(WHEEL, h(9)),))
    assert [f.kind for f in compare(approved, [other])] == [FindingKind.CHANGED_FILE]
    (change,) = [c for c in diff(ledger, approved) if c.kind is ChangeKind.SOURCE_REPLACED]
    assert (change.old, change.new, change.removes_trust) == (None, now.source_identity, True)


@pytest.mark.parametrize("kind", KINDS)
def test_a_resourcing_can_be_approved_or_aborted_never_rejected(kind: SourceKind) -> None:
    """Rejecting keeps the trusted files, but the lock would still install from the new source."""
    the_plan = plan(compare(trusted(hashed()), [unhashed(kind)]))
    (question,) = the_plan.questions
    assert not question.can_reject
    assert parse_answer("reject", question) is None
    assert decide(the_plan, lambda q: Choice.REJECT).aborted


# ---------------------------------------------------------------------------------------------
# the plugin sees an installed directory as the lock writes it


def test_an_install_names_the_directory_as_the_lock_does(tmp_path: Path) -> None:
    from poetry.core.packages.package import Package

    (tmp_path / "vendor" / "demo").mkdir(parents=True)
    lock = _package("demo", "1.0.0", directory="vendor/demo") + LOCK_TAIL
    from_lock = parse_poetry_lock(lock).releases[0]
    package = Package("demo", "1.0.0", source_type="directory", source_url=str(tmp_path / "vendor" / "demo"))
    installed = release_of(package, tmp_path)
    assert installed.source_identity == from_lock.source_identity == "directory:vendor/demo"


# ---------------------------------------------------------------------------------------------
# `pinwarden check` on a real poetry.lock text

LOCK_TAIL = '\n[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'


def _package(name: str, version: str, *, directory: str | None = None, git: str | None = None) -> str:
    head = (
        f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = ""\noptional = false\n'
        'python-versions = "*"\n'
    )
    if directory is not None:
        return (
            head
            + f'files = []\ndevelop = false\n\n[package.source]\ntype = "directory"\nurl = "{directory}"\n\n'
        )
    if git is not None:
        return head + (
            f'files = []\ndevelop = false\n\n[package.source]\ntype = "git"\nurl = "{git}"\n'
            f'reference = "main"\nresolved_reference = "{COMMIT}"\n\n'
        )
    files = f'    {{file = "{WHEEL}", hash = "{h(1)}"}},\n    {{file = "{SDIST}", hash = "{h(2)}"}},\n'
    return head + f"files = [\n{files}]\n\n"


def cli(cwd: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("source", ["directory", "git"])
@pytest.mark.parametrize("spelling", ["1.0", "1.0.0", "v1", "1"])
def test_check_reports_a_resourced_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, spelling: str
) -> None:
    lock = tmp_path / "poetry.lock"
    lock.write_text(_package("demo", "1.0") + LOCK_TAIL)
    assert cli(tmp_path, monkeypatch, "init")[0] == 0
    place = {"directory": "vendor/demo"} if source == "directory" else {"git": "https://git.example/demo.git"}
    lock.write_text(_package("demo", spelling, **place) + LOCK_TAIL)
    ledger = (tmp_path / "pinwarden-ledger.toml").read_bytes()

    code, out, err = cli(tmp_path, monkeypatch, "check")
    assert code == 1, out + err
    assert "THE CONTENT OF A TRUSTED FILE HAS CHANGED" in out and "CHANGED" in out
    assert "now comes from a local directory or git commit the ledger never" in out
    assert f"now {'a local directory' if source == 'directory' else 'a git commit'} that no hash pins" in out
    assert "MISSING" not in out
    assert out.rstrip().endswith('pinwarden approve demo==1 --reason "WHY"')  # a changed source
    code, out, _ = cli(tmp_path, monkeypatch, "check", "--format", "json")
    findings = json.loads(out)["findings"]
    assert code == 1 and [f["kind"] for f in findings] == ["changed-file"]
    assert (tmp_path / "pinwarden-ledger.toml").read_bytes() == ledger

    # A person approves it: recorded as that source, then check passes and diff calls it out.
    assert cli(tmp_path, monkeypatch, "approve", "demo==1.0.0", "--reason", "vendored")[0] == 0
    text = (tmp_path / "pinwarden-ledger.toml").read_text()
    expected = (
        "directory:vendor/demo" if source == "directory" else f"git+https://git.example/demo.git@{COMMIT}"
    )
    assert f'source = "{expected}"' in text
    assert cli(tmp_path, monkeypatch, "check")[0] == 0


def test_init_never_trusts_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "poetry.lock").write_text(_package("mine", "0.1", directory="../mine") + LOCK_TAIL)
    assert cli(tmp_path, monkeypatch, "init")[0] == 0
    assert loads((tmp_path / "pinwarden-ledger.toml").read_text()) == Ledger()
    assert cli(tmp_path, monkeypatch, "check")[0] == 0


# ---------------------------------------------------------------------------------------------
# real Poetry: install, sync and lock refuse a version re-sourced to a directory


def _vendor(project: Project, version: str) -> Path:
    """alpha as a directory in the repository (a Poetry project, read without building)."""
    directory = project.path / "vendor" / "alpha"
    (directory / "pwguard_alpha").mkdir(parents=True)
    (directory / "pwguard_alpha" / "__init__.py").write_text("MARKER = 'directory'\n")
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "{ALPHA}"\nversion = "{version}"\n\n'
        '[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n'
    )
    return directory


def resource_alpha(project: Project, version: str, *, lock: bool) -> None:
    """alpha from a directory in pyproject.toml; `lock`: and in poetry.lock, written without the
    plugin (`--no-plugins`), as a pull request would bring it."""
    directory = _vendor(project, version)
    pyproject = project.path / "pyproject.toml"
    text = pyproject.read_text()
    assert f'"{ALPHA}"' in text
    pyproject.write_text(text.replace(f'"{ALPHA}"', f'"{ALPHA} @ {directory.as_uri()}"'))
    if lock:
        project.ok("--no-plugins", "lock", "-n")
        assert 'type = "directory"' in project.lock_text() and 'url = "vendor/alpha"' in project.lock_text()


@pytest.fixture(scope="module")
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish_base(index)
    with index.serve():
        yield index


@pytest.fixture(scope="module")
def template(index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = make_project(tmp_path_factory.mktemp("template"), index.url, [ALPHA, OTHER])
    project.ok("lock", "-n")
    project.ok("install", "-n")
    return project


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["install", "sync", "lock"])
@pytest.mark.parametrize("version", ["1.0", "1.0.0", "v1"])
def test_poetry_refuses_a_version_resourced_to_a_directory(
    index: PackageIndex, template: Project, tmp_path: Path, command: str, version: str
) -> None:
    """install/sync: from a lock written without the plugin; lock: the plugin reviews what it would write."""
    project = copy_project(template, tmp_path)
    marker = project.installed_marker()
    assert marker in ("original", "second")
    resource_alpha(project, version, lock=command != "lock")
    before = project.snapshot()

    done = project.poetry(command, "-n")

    assert done.code == 1, done.output
    assert "Traceback" not in done.output
    assert "CHANGED" in done.output and "MISSING" not in done.output
    trusted_as = f"trusted as hashed files from {index.url.rstrip('/')}"  # as the lock names the source
    assert f"now a local directory that no hash pins; {trusted_as}" in done.output, done.output
    from_index = "--from-index " if command == "lock" else ""  # a blocked lock was not written
    assert done.approve_command == f"poetry pinwarden approve {from_index}{ALPHA}==1"
    assert project.snapshot() == before
    assert project.installed_marker() == marker


@pytest.mark.e2e
def test_an_approved_directory_is_recorded_and_diff_calls_it_out(template: Project, tmp_path: Path) -> None:
    project = copy_project(template, tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    env = {**project.env, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q", "-b", "main"], ["add", "pinwarden-ledger.toml"], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], cwd=project.path, env=env, check=True, capture_output=True)
    resource_alpha(project, "1.0.0", lock=True)
    assert project.poetry("install", "-n").code == 1

    project.ok("pinwarden", "approve", "--from-lock", f"{ALPHA}==1", "--reason", "vendored")
    assert 'source = "directory:vendor/alpha"' in project.ledger_text()
    assert "all trusted and complete" in project.ok("pinwarden", "check").output
    done = subprocess.run(
        [sys.executable, "-m", "pinwarden", "diff"],
        cwd=project.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "SOURCE REPLACED" in done.stdout and "directory:vendor/alpha" in done.stdout


# ---------------------------------------------------------------------------------------------
# real pip-compile: a requirements file cannot hash a directory, so the wrapper refuses it


@pytest.mark.e2e
def test_the_wrapper_refuses_a_version_resourced_to_a_directory(tmp_path: Path) -> None:
    with pc.compiled_project(tmp_path) as project:
        pc.ok(project.compile())
        directory = project.path / "vendor" / "alpha"
        (directory / "pwdemo_alpha").mkdir(parents=True)
        (directory / "pwdemo_alpha" / "__init__.py").write_text("MARKER = 'directory'\n")
        (directory / "pyproject.toml").write_text(
            f'[project]\nname = "{pc.ALPHA}"\nversion = "1.0.0"\n\n'
            '[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n'
        )
        (project.path / "requirements.in").write_text(f"{pc.ALPHA} @ {directory.as_uri()}\n{pc.BETA}\n")
        before = project.state()
        for extra in ([], ["--no-reuse-hashes"], ["-U"]):
            done = project.compile("--no-build-isolation", *extra)
            assert done.returncode == 2, done.stdout + done.stderr
            assert "Traceback" not in done.stderr
            last = done.stderr.strip().splitlines()[-1]
            # Reused hashes sit beside the directory's URL; re-hashed, the directory gets none.
            why = "a local directory, which no hash pins" if not extra else f"{pc.ALPHA} has no --hash"
            assert last.startswith("pinwarden: error:") and why in last, last
            assert project.state() == before


@pytest.mark.parametrize(
    "url", ["file:///srv/app/vendor/demo", "file:///srv/app/vendor/demo/", "FILE:///srv/vendor/demo-1.0"]
)
def test_a_requirements_file_cannot_pin_a_directory(url: str) -> None:
    from pinwarden.shared.errors import InputError
    from pinwarden.shared.locks.requirements import parse_requirements

    with pytest.raises(InputError, match="a local directory, which no hash pins"):
        parse_requirements(f"demo @ {url} --hash={h(1)}\n")
