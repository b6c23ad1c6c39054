"""A direct-URL pin's version (red team round 3, find 04): for `name @ https://.../name-9.9-py3-none-any.whl
--hash=...` a requirements file says nothing but the file's name, while pip installs whatever version
the file's metadata names and never compares the two for a direct URL. So bytes pinwarden would trust as
"a new version 9.9" install as 1.0, a version the ledger trusts with other bytes.

Read as the consumer reads: from the text alone pinwarden cannot know which version pip installs, so a
direct URL's release is never trusted on first use silently when the ledger trusts any version of its
project (the `direct-url` sign). poetry.lock is different: Poetry writes the version it read from the
file's metadata, and pinwarden keeps reading that.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest
from tests.support import compiled_project as cp
from tests.support.guarded_project import ALPHA as PALPHA
from tests.support.guarded_project import GAMMA as PGAMMA
from tests.support.guarded_project import Project, make_project, publish_base
from tests.support.index import PackageIndex, build_sdist, build_wheel, isolated_env

from pinwarden.cli import main
from pinwarden.shared.compare import compare
from pinwarden.shared.decide import plan
from pinwarden.shared.errors import InputError
from pinwarden.shared.ledger import Ledger
from pinwarden.shared.locks.poetry_lock import parse_poetry_lock
from pinwarden.shared.locks.requirements import parse_requirements
from pinwarden.shared.model import (
    FileHash,
    Finding,
    FindingKind,
    LockedFile,
    LockedRelease,
    NormalizedName,
    SourceKind,
    TrustHow,
)
from pinwarden.shared.trust import record

K = FindingKind
DEMO = NormalizedName("demo")
AT = "2026-11-25T00:00:00Z"
HOST = "https://files.example/p"
# How a distribution can be named at the end of a URL: (what, file name for a version).
ARTIFACTS: dict[str, Callable[[str, str], str]] = {
    "wheel": lambda dist, v: f"{dist}-{v}-py3-none-any.whl",
    "sdist": lambda dist, v: f"{dist}-{v}.tar.gz",
    "zip": lambda dist, v: f"{dist}-{v}.zip",
}
# Versions a file name can claim that the ledger does not trust (it trusts 1.0).
OTHER_VERSIONS = ["9.9", "0.1", "2.0.0", "1.0.post1", "1.0rc1", "1.0+x"]


def h(n: int) -> FileHash:
    return FileHash("sha256", f"{n:064x}")


def index_release(version: str, digest: int, name: str = DEMO) -> LockedRelease:
    return LockedRelease(
        name=NormalizedName(name),
        version=version,
        files=(LockedFile(f"{name}-{version}-py3-none-any.whl", h(digest)),),
        lockfile="poetry.lock",
    )


def requirements_release(text: str) -> LockedRelease:
    (release,) = parse_requirements(text, "requirements.txt").releases
    return release


def url_line(artifact: str, version: str, digest: int, name: str = "demo") -> str:
    return f"{name} @ {HOST}/{ARTIFACTS[artifact](name, version)} --hash=sha256:{digest:064x}\n"


def trusted(*releases: LockedRelease) -> Ledger:
    return record(Ledger(), releases, how=TrustHow.INIT, at=AT)


TRUSTED = trusted(index_release("1.0", 1), index_release("1.0", 2, name="other"))


def kinds(findings: tuple[Finding, ...]) -> set[FindingKind]:
    return {f.kind for f in findings}


# -- reading: where the version comes from ---------------------------------------------------------


@pytest.mark.parametrize("artifact", list(ARTIFACTS))
@pytest.mark.parametrize("version", ["9.9", "1.0", "1.0.0"])
def test_a_requirements_files_direct_url_has_only_its_file_names_version(artifact: str, version: str) -> None:
    release = requirements_release(url_line(artifact, version, 9))
    assert release.source_kind is SourceKind.URL and release.version_from_filename
    assert not requirements_release(f"demo=={version} --hash=sha256:{9:064x}\n").version_from_filename


def test_poetry_lock_url_sources_keep_the_version_poetry_read_from_the_metadata() -> None:
    lock = f"""\
[[package]]
name = "demo"
version = "1.0"
description = ""
optional = false
python-versions = "*"
files = [
    {{file = "demo-9.9-py3-none-any.whl", hash = "sha256:{9:064x}"}},
]

[package.source]
type = "url"
url = "{HOST}/demo-9.9-py3-none-any.whl"

[metadata]
lock-version = "2.1"
python-versions = "*"
content-hash = "x"
"""
    (release,) = parse_poetry_lock(lock, "poetry.lock").releases
    assert (release.version, release.source_kind, release.version_from_filename) == (
        "1",
        SourceKind.URL,
        False,
    )
    # Poetry says 1.0: the file is judged as one of 1.0's, a question of its own.
    assert kinds(compare(TRUSTED, [release])) == {K.NEW_FILE, K.MISSING_FILE}
    # A new version Poetry read from the metadata is an ordinary first use.
    newer = parse_poetry_lock(lock.replace('version = "1.0"', 'version = "2.0"'), "poetry.lock").releases
    assert kinds(compare(TRUSTED, newer)) == {K.NEW_VERSION}


@pytest.mark.parametrize(
    "filename", ["main.tar.gz", "archive.zip", "download", "demo.whl", "demo-latest.tar.gz"]
)
def test_a_direct_url_whose_file_name_says_no_version_is_refused(filename: str) -> None:
    with pytest.raises(InputError, match="cannot tell the version of demo from its URL"):
        parse_requirements(f"demo @ {HOST}/{filename} --hash=sha256:{9:064x}\n", "requirements.txt")


# -- the comparison and the plan ------------------------------------------------------------------


@pytest.mark.parametrize("artifact", list(ARTIFACTS))
@pytest.mark.parametrize("version", OTHER_VERSIONS)
@pytest.mark.parametrize("trusted_spelling", ["1", "1.0", "1.0.0"])
def test_a_direct_url_of_a_trusted_project_is_never_a_silent_first_use(
    artifact: str, version: str, trusted_spelling: str
) -> None:
    ledger = trusted(index_release(trusted_spelling, 1), index_release("0.5", 3))
    release = requirements_release(url_line(artifact, version, 9))

    findings = compare(ledger, [release])

    assert {K.NEW_VERSION, K.DIRECT_URL} <= kinds(findings) <= {K.NEW_VERSION, K.DIRECT_URL, K.LOCAL_VERSION}
    (sign,) = [f for f in findings if f.kind is K.DIRECT_URL]
    assert sign.filename == ARTIFACTS[artifact]("demo", version)
    assert sign.detail is not None
    assert sign.detail.startswith(
        "direct URL: pip installs the version its metadata names, not its file name"
    )
    assert sign.detail.endswith("the ledger trusts demo 0.5, 1")
    the_plan = plan(findings, first_use="trust")
    assert the_plan.first_use == ()
    assert [q.key for q in the_plan.questions] == [release.key]


@pytest.mark.parametrize("artifact", list(ARTIFACTS))
@pytest.mark.parametrize("version", ["1.0", "1.0.0", "1"])
def test_a_direct_url_naming_a_trusted_version_is_judged_as_that_version(artifact: str, version: str) -> None:
    """Its bytes are compared with what 1.0 is trusted with: other bytes are a question, as ever."""
    findings = compare(TRUSTED, [requirements_release(url_line(artifact, version, 9))])
    assert K.DIRECT_URL not in kinds(findings) and K.NEW_VERSION not in kinds(findings)
    assert kinds(findings) & {K.NEW_FILE, K.CHANGED_FILE}
    assert plan(findings).first_use == () and plan(findings).questions
    # The trusted bytes under a URL named like a trusted file: nothing new.
    if artifact == "wheel":
        assert compare(TRUSTED, [requirements_release(url_line(artifact, version, 1))]) == ()


@pytest.mark.parametrize("artifact", list(ARTIFACTS))
@pytest.mark.parametrize("version", ["9.9", "1.0", "0.1"])
def test_a_direct_url_of_a_project_never_trusted_is_an_ordinary_first_use(
    artifact: str, version: str
) -> None:
    release = requirements_release(url_line(artifact, version, 9, name="fresh"))
    findings = compare(TRUSTED, [release])
    assert kinds(findings) == {K.NEW_VERSION}
    assert plan(findings).first_use == (release.key,)


def test_the_sign_names_the_latest_of_many_trusted_versions() -> None:
    ledger = trusted(*(index_release(f"1.{n}", n + 1) for n in range(12)))
    findings = compare(ledger, [requirements_release(url_line("wheel", "9.9", 99))])
    (sign,) = [f for f in findings if f.kind is K.DIRECT_URL]
    assert sign.detail is not None and sign.detail.endswith(
        "the ledger trusts demo 12 versions, the latest 1.9, 1.10, 1.11"
    )


# -- check, init, approve --------------------------------------------------------------------------


def cli(cwd: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("artifact", list(ARTIFACTS))
@pytest.mark.parametrize("version", ["9.9", "0.1"])
def test_check_and_init_hold_a_direct_url_until_a_person_approves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifact: str, version: str
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"demo==1.0 --hash=sha256:{1:064x}\n")
    assert cli(tmp_path, monkeypatch, "init")[0] == 0
    ledger = tmp_path / "pinwarden-ledger.toml"
    trusted_bytes = ledger.read_bytes()
    requirements.write_text(url_line(artifact, version, 9))

    code, out, _ = cli(tmp_path, monkeypatch, "check")
    assert code == 1, out
    assert "direct URL: pip installs the version its metadata names, not its file name" in out
    code, out, _ = cli(tmp_path, monkeypatch, "check", "--format", "json")
    assert code == 1 and {f["kind"] for f in json.loads(out)["findings"]} == {"new-version", "direct-url"}
    code, out, _ = cli(tmp_path, monkeypatch, "init")
    assert code == 1 and "direct URL" in out, out
    assert ledger.read_bytes() == trusted_bytes

    assert cli(tmp_path, monkeypatch, "approve", f"demo=={version}", "--reason", "our fork")[0] == 0
    assert cli(tmp_path, monkeypatch, "check")[0] == 0


def test_check_stops_on_a_direct_url_whose_file_name_says_no_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "requirements.txt").write_text(f"demo @ {HOST}/main.tar.gz --hash=sha256:{9:064x}\n")
    code, out, err = cli(tmp_path, monkeypatch, "check")
    assert code == 2 and not out
    assert err.count("\n") == 1 and err.startswith("pinwarden: error:") and "cannot tell the version" in err


# -- real pip-compile, pip and check ---------------------------------------------------------------

ELSEWHERE = "pwdemo-elsewhere"  # where the index serves files that no project page lists as ALPHA's
DIST = cp.ALPHA.replace("-", "_")


def _evil(artifact: str) -> bytes:
    """Distributions whose metadata says ALPHA 1.0 (trusted), with other bytes than the trusted ones."""
    if artifact == "wheel":
        return build_wheel(cp.ALPHA, "1.0", marker="evil")[1]
    return build_sdist(cp.ALPHA, "1.0", marker="evil", suffix=".zip" if artifact == "zip" else ".tar.gz")[1]


def _serve(project: cp.Project, filename: str, data: bytes) -> str:
    project.index.add(ELSEWHERE, "0", filename, data)
    return project.index.url.replace("/simple/", f"/files/{ELSEWHERE}/{filename}")


@pytest.fixture
def trusting(tmp_path: Path) -> Iterator[cp.Project]:
    """ALPHA 1.0 (a wheel) trusted on first use by a real run, pinned `ALPHA==1.0`."""
    index = PackageIndex()
    index.add(cp.ALPHA, "1.0", *build_wheel(cp.ALPHA, "1.0", marker="honest"))
    path = tmp_path / "project"
    path.mkdir()
    (path / "requirements.in").write_text(f"{cp.ALPHA}==1.0\n")
    with index.serve():
        project = cp.Project(path, isolated_env(tmp_path / "env"), index)
        assert "on first use (" in cp.ok(project.compile())
        yield project


@pytest.mark.e2e
@pytest.mark.parametrize("artifact", list(ARTIFACTS))
@pytest.mark.parametrize("version", ["9.9", "1.0.0", "0.1"])
def test_the_wrapper_never_trusts_a_direct_url_of_a_trusted_project_on_first_use(
    trusting: cp.Project, artifact: str, version: str
) -> None:
    before = trusting.state()
    evil = _evil(artifact)
    url = _serve(trusting, ARTIFACTS[artifact](DIST, version), evil)
    (trusting.path / "requirements.in").write_text(f"{cp.ALPHA} @ {url}\n")

    for mode in ((), ("--no-reuse-hashes",)):
        done = trusting.compile("--no-interaction", *mode)
        err = done.stderr
        assert "Traceback" not in err and "on first use" not in err
        assert cp.sha256(evil) not in trusting.ledger.read_text()
        if version == "1.0.0" and done.returncode == 0:
            # pip-compile read the wheel as the 1.0 it pinned and reused 1.0's trusted hash: the
            # output pins only trusted bytes, and pip refuses the URL's others at install.
            assert (artifact, mode) == ("wheel", ())
            assert cp.sha256(evil) not in trusting.output.read_text()
            before = trusting.state()
            continue
        assert done.returncode == 1, err
        assert f"{cp.ALPHA} @ {url} \\" not in err  # the refused result is not echoed (issue 11)
        assert trusting.state() == before, f"{mode} wrote something"
        if version == "1.0.0":  # the trusted version by its name: its bytes are compared
            assert "NEW FILE" in err or "CHANGED" in err, err
            continue
        assert "direct URL: pip installs the version its metadata names" in err
        # approve --from-index cannot fetch a URL's file: the refusal says what works instead.
        assert "--from-index" not in err.split("record them:", 1)[1]
        assert err.rstrip().endswith("at a terminal to review and approve it"), err


@pytest.mark.e2e
@pytest.mark.parametrize("artifact", list(ARTIFACTS))
def test_check_refuses_a_direct_url_pip_installs_as_a_trusted_version(
    trusting: cp.Project, artifact: str
) -> None:
    """Written without the wrapper: check exits 1, and pip shows why (it installs 1.0 with other bytes)."""
    evil = _evil(artifact)
    url = _serve(trusting, ARTIFACTS[artifact](DIST, "9.9"), evil)
    trusting.output.write_text(
        f"--index-url {trusting.index.url}\n\n{cp.ALPHA} @ {url} \\\n    --hash={cp.sha256(evil)}\n"
    )

    done = trusting.run("--format", "json", command="check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert {f["kind"] for f in json.loads(done.stdout)["findings"]} == {"new-version", "direct-url"}

    target = trusting.path / "target"
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--target",
        str(target),
        "-r",
        "requirements.txt",
    ]
    installed = subprocess.run(
        pip, cwd=trusting.path, env=trusting.env, capture_output=True, text=True, timeout=300, check=False
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert [p.name for p in target.glob("*.dist-info")] == [f"{DIST}-1.0.dist-info"]
    assert "evil" in (target / DIST / "__init__.py").read_text()


@pytest.mark.e2e
def test_a_direct_url_of_a_project_never_trusted_is_still_trusted_on_first_use(trusting: cp.Project) -> None:
    fresh = "pwdemo-fresh"
    url = _serve(trusting, "pwdemo_fresh-9.9-py3-none-any.whl", build_wheel(fresh, "1.0")[1])
    (trusting.path / "requirements.in").write_text(f"{cp.ALPHA}==1.0\n{fresh} @ {url}\n")
    err = cp.ok(trusting.compile("-v", "--no-interaction"))
    assert f"{fresh} 9.9 trusted on first use" in err


@pytest.mark.e2e
@pytest.mark.parametrize("filename", ["main.tar.gz", "archive.zip"])
def test_a_direct_url_whose_file_name_says_no_version_stops_the_wrapper(
    trusting: cp.Project, filename: str
) -> None:
    before = trusting.state()
    url = _serve(trusting, filename, _evil("zip" if filename.endswith(".zip") else "sdist"))
    (trusting.path / "requirements.in").write_text(f"{cp.ALPHA} @ {url}\n")
    done = trusting.compile("--no-interaction")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("pinwarden: error:") and f"cannot tell the version of {cp.ALPHA}" in last, last
    assert trusting.state() == before


@pytest.mark.e2e
def test_at_a_terminal_the_direct_url_is_shown_and_a_person_may_approve_it(trusting: cp.Project) -> None:
    ours = build_wheel(cp.ALPHA, "9.9", marker="our fork")[1]
    url = _serve(trusting, f"{DIST}-9.9-py3-none-any.whl", ours)
    (trusting.path / "requirements.in").write_text(f"{cp.ALPHA} @ {url}\n")
    env = {k: v for k, v in trusting.env.items() if k != "CI"}
    argv = ["-m", "pinwarden", "pip-compile", "-i", trusting.index.url, "requirements.in"]
    child = pexpect.spawn(
        sys.executable, argv, cwd=str(trusting.path), env=env, encoding="utf-8", timeout=120
    )
    child.expect("direct URL: pip installs the version its metadata names")
    child.expect(re.escape(f"Trust the new state of {cp.ALPHA} 9.9? (approve/abort) [abort]: "))
    child.sendline("approve")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert cp.sha256(ours) in trusting.output.read_text()
    assert f'[projects.{cp.ALPHA}."9.9"]' in trusting.ledger.read_text()
    assert trusting.run(command="check").returncode == 0


# -- real Poetry: it locks the version the metadata names ------------------------------------------


@pytest.fixture(scope="module")
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish_base(index)
    with index.serve():
        yield index


@pytest.fixture
def poetry_trusting(index: PackageIndex, tmp_path: Path) -> Project:
    publish_base(index)
    project = make_project(tmp_path, index.url, [PALPHA])
    project.ok("lock", "-n")
    return project


def _poetry_serve(index: PackageIndex, filename: str, data: bytes) -> str:
    index.add(ELSEWHERE, "0", filename, data)  # each test serves its own file name
    return index.url.replace("/simple/", f"/files/{ELSEWHERE}/{filename}")


def _depend(project: Project, *dependencies: str) -> None:
    pyproject = project.path / "pyproject.toml"
    listed = ", ".join(json.dumps(d) for d in dependencies)
    pyproject.write_text(pyproject.read_text().replace(f'["{PALPHA}"]', f"[{listed}]"))


@pytest.mark.e2e
@pytest.mark.parametrize("artifact", list(ARTIFACTS))
def test_poetry_locks_a_url_dependency_as_its_metadata_says_so_its_bytes_meet_the_trusted_version(
    index: PackageIndex, poetry_trusting: Project, artifact: str
) -> None:
    dist = PALPHA.replace("-", "_")
    if artifact == "wheel":
        data = build_wheel(PALPHA, "1.0", marker="evil")[1]
    else:
        data = build_sdist(PALPHA, "1.0", marker="evil", suffix=".zip" if artifact == "zip" else ".tar.gz")[1]
    url = _poetry_serve(index, ARTIFACTS[artifact](dist, "9.9"), data)
    _depend(poetry_trusting, f"{PALPHA} @ {url}")
    before = poetry_trusting.snapshot()

    done = poetry_trusting.poetry("lock", "-n")

    assert done.code == 1, done.output
    assert f"{PALPHA} 1  (poetry.lock)" in done.output and "NEW FILE" in done.output
    assert "on first use" not in done.output and f"{PALPHA} 9.9" not in done.output
    assert poetry_trusting.snapshot() == before


@pytest.mark.e2e
def test_poetry_trusts_a_url_dependency_of_a_new_project_as_the_version_its_metadata_names(
    index: PackageIndex, poetry_trusting: Project
) -> None:
    dist = PGAMMA.replace("-", "_")
    url = _poetry_serve(index, f"{dist}-9.9-py3-none-any.whl", build_wheel(PGAMMA, "1.0", marker="url")[1])
    _depend(poetry_trusting, PALPHA, f"{PGAMMA} @ {url}")
    done = poetry_trusting.ok("lock", "-n", "-v")
    assert f"{PGAMMA} 1 trusted on first use" in done.output
    assert (
        f'[projects.{PGAMMA}."1"]' in poetry_trusting.ledger_text()
        and '"9.9"' not in poetry_trusting.ledger_text()
    )
