"""A local version shadowing a trusted exact pin (red team round 3, find 02): PEP 440, pip and Poetry let
`==1.0` take `1.0+evil` and rank it above `1.0`, so an index that adds a local-version file of a trusted
version moves `pip-compile -U` and `poetry update` to it. Before the fix pinwarden trusted it on first
use, silently; now a new version whose public version is a trusted one's, differing only by a local
label, carries the `local-version` sign in the shared comparison: a question at a terminal, a refusal
with the approve command otherwise, for the plugin, the wrapper, `check`, `init` and `audit` alike.

The class, not the example: local labels and trusted spellings are generated, and the sign is held to
packaging's own answer to "does an exact pin of the trusted version take this one?".
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
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import Specifier
from packaging.version import Version
from tests.support import compiled_project as cp
from tests.support.guarded_project import (
    ALPHA,
    OTHER,
    Project,
    copy_project,
    make_project,
    poetry_tool,
    publish_base,
    sha256,
)
from tests.support.index import PackageIndex, build_wheel, isolated_env, unbound

from pinwarden.cli import main
from pinwarden.shared.compare import compare
from pinwarden.shared.decide import plan
from pinwarden.shared.ledger import Ledger
from pinwarden.shared.model import (
    FileHash,
    Finding,
    FindingKind,
    LockedFile,
    LockedRelease,
    NormalizedName,
    TrustHow,
    canonical_version,
)
from pinwarden.shared.trust import record

DEMO = NormalizedName("demo")
AT = "2026-11-25T00:00:00Z"
# (local version served, trusted version as spelled): the red team's variants, each trusted spelling.
LOCALS = ["1.0+evil", "1+x", "1.0.0+a.b", "1.0+EVIL", "v1.0+1"]
TRUSTED_SPELLINGS = ["1", "1.0", "1.0.0"]
PAIRS = [(local, TRUSTED_SPELLINGS[i % 3]) for i, local in enumerate(LOCALS)]


def h(n: int) -> FileHash:
    return FileHash("sha256", f"{n:064x}")


def release(version: str, digest: int, *, lockfile: str = "poetry.lock", name: str = DEMO) -> LockedRelease:
    """A wheel named with the version as written (a `-` escaped, as in wheel names); a requirements
    file names no file."""
    wheel = f"{name}-{version.replace('-', '_')}-py3-none-any.whl"
    filename = wheel if lockfile == "poetry.lock" else None
    return LockedRelease(
        name=NormalizedName(name),
        version=version,
        files=(LockedFile(filename, h(digest)),),
        lockfile=lockfile,
    )


def trusted(*releases: LockedRelease) -> Ledger:
    return record(Ledger(), releases, how=TrustHow.INIT, at=AT)


def signs(findings: tuple[Finding, ...]) -> list[Finding]:
    return [f for f in findings if f.kind is FindingKind.LOCAL_VERSION]


# -- the comparison and the plan ------------------------------------------------------------------


@pytest.mark.parametrize("lockfile", ["poetry.lock", "requirements.txt"])
@pytest.mark.parametrize("spelling", TRUSTED_SPELLINGS)
@pytest.mark.parametrize("local", [*LOCALS, "1.0+evil.2", "01.0.0.0+Evil-1", "0!1.0+x_y"])
def test_a_local_version_of_a_trusted_version_is_a_question(local: str, spelling: str, lockfile: str) -> None:
    ledger = trusted(release(spelling, 1, lockfile=lockfile))
    findings = compare(ledger, [release(local, 9, lockfile=lockfile)])

    assert {f.kind for f in findings} == {FindingKind.NEW_VERSION, FindingKind.LOCAL_VERSION}
    (sign,) = signs(findings)
    assert sign.version == canonical_version(local) and sign.detail is not None
    assert "a pin ==1 takes it too" in sign.detail and sign.detail.endswith("over the trusted 1")
    the_plan = plan(findings, first_use="trust")
    assert the_plan.first_use == ()
    (question,) = the_plan.questions
    assert question.key == (DEMO, canonical_version(local))
    assert question.is_new_version and not question.can_reject


_release = st.lists(st.integers(0, 12), min_size=1, max_size=3)
_label = st.from_regex(r"[a-zA-Z0-9]{1,4}([._-][a-zA-Z0-9]{1,4}){0,2}", fullmatch=True)
_pre = st.sampled_from(["", "a1", "b2", "rc1", "-RC1", ".post1", "-1", ".dev0", "rc1.post2.dev3"])


@st.composite
def public_versions(draw: st.DrawFn) -> tuple[tuple[int, ...], str, str]:
    """(release, epoch, suffix): a public version's parts, spelled later in many ways."""
    return tuple(draw(_release)), draw(st.sampled_from(["", "1!"])), draw(_pre)


@st.composite
def spelled(draw: st.DrawFn, parts: tuple[tuple[int, ...], str, str]) -> str:
    """One of the spellings installers take for the same public version: zero padding, a `v`."""
    numbers, epoch, suffix = parts
    padded = [*numbers, *[0] * draw(st.integers(0, 2))]
    text = ".".join(str(n).rjust(draw(st.integers(1, 2)), "0") for n in padded)
    return draw(st.sampled_from(["", "v", "V"])) + epoch + text + suffix


@settings(max_examples=400, deadline=None)
@given(data=st.data(), trusted_parts=public_versions(), other_parts=public_versions())
def test_the_sign_is_exactly_an_exact_pin_of_a_trusted_version_taking_the_new_one(
    data: st.DataObject,
    trusted_parts: tuple[tuple[int, ...], str, str],
    other_parts: tuple[tuple[int, ...], str, str],
) -> None:
    """Oracle: packaging's `==PUBLIC` of the trusted version (local label or none) contains the new one."""
    trusted_text = data.draw(spelled(trusted_parts))
    if data.draw(st.booleans()):
        trusted_text += "+" + data.draw(_label)
    public = data.draw(st.sampled_from([trusted_parts, other_parts]))
    new = data.draw(spelled(public)) + "+" + data.draw(_label)
    ledger = trusted(release(trusted_text, 1), release("99", 2), release("1.0", 3, name="other"))

    findings = compare(ledger, [release(new, 9)])

    same = canonical_version(new) == canonical_version(trusted_text)
    pinned = any(
        Specifier(f"=={Version(t).public}").contains(Version(new), prereleases=True)
        for t in (trusted_text, "99")
    )
    assert bool(signs(findings)) == (pinned and not same), (trusted_text, new, findings)
    first_use = plan(findings, first_use="trust").first_use
    assert (release(new, 9).key in first_use) == (not pinned and not same)


@pytest.mark.parametrize(
    ("trusted_version", "new"),
    [
        ("1.0", "1.1+evil"),
        ("1.0", "1.0.1+evil"),
        ("1.0", "1.0.post1+evil"),
        ("1.0", "1.0rc1+evil"),
        ("1.0", "1.0.dev0+evil"),
        ("1.0", "1!1.0+evil"),
        ("1!1.0", "1.0+evil"),
        ("1.0+cu118", "1.0"),  # a pin of 1.0 still prefers the trusted 1.0+cu118
        ("1.0", "2.0"),
    ],
)
def test_a_local_version_with_no_public_sibling_trusted_is_an_ordinary_first_use(
    trusted_version: str, new: str
) -> None:
    ledger = trusted(release(trusted_version, 1), release("1.0", 2, name="other"))
    findings = compare(ledger, [release(new, 9)])
    assert not signs(findings)
    assert plan(findings, first_use="trust").first_use == ((DEMO, canonical_version(new)),)


def test_a_local_version_of_a_project_never_trusted_is_an_ordinary_first_use() -> None:
    ledger = trusted(release("1.0", 1, name="other"))
    findings = compare(ledger, [release("1.0+evil", 9)])
    assert [f.kind for f in findings] == [FindingKind.NEW_VERSION]


def test_a_local_version_beside_another_trusted_local_label_is_a_question() -> None:
    """`torch 2.1.0+cu118` trusted, `+cu121` served: `==2.1.0` takes either."""
    ledger = trusted(release("2.1.0+cu118", 1), release("2.0", 2))
    (sign,) = signs(compare(ledger, [release("2.1.0+cu121", 9)]))
    assert sign.detail is not None and sign.detail.endswith("over the trusted 2.1+cu118")


# -- check, init, approve: the same comparison -------------------------------------------------------


def _poetry_lock(version: str, digest: int) -> str:
    return (
        f'[[package]]\nname = "demo"\nversion = "{version}"\ndescription = ""\noptional = false\n'
        'python-versions = "*"\nfiles = [\n'
        f'    {{file = "demo-{version}-py3-none-any.whl", hash = "sha256:{digest:064x}"}},\n]\n\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = "*"\ncontent-hash = "x"\n'
    )


def _requirements(version: str, digest: int) -> str:
    return f"demo=={version} --hash=sha256:{digest:064x}\n"


def cli(cwd: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


WRITERS: dict[str, Callable[[str, int], str]] = {
    "poetry.lock": _poetry_lock,
    "requirements.txt": _requirements,
}


@pytest.mark.parametrize(("local", "spelling"), PAIRS)
@pytest.mark.parametrize("lock", list(WRITERS))
def test_check_and_init_hold_a_local_version_until_a_person_approves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local: str, spelling: str, lock: str
) -> None:
    write = WRITERS[lock]
    path = tmp_path / lock
    path.write_text(write(spelling, 1))
    assert cli(tmp_path, monkeypatch, "init")[0] == 0
    ledger = tmp_path / "pinwarden-ledger.toml"
    trusted_bytes = ledger.read_bytes()
    path.write_text(write(local, 9))

    code, out, _ = cli(tmp_path, monkeypatch, "check")
    assert code == 1, out
    assert "warning     local version: a pin ==1 takes it too" in out
    assert out.rstrip().endswith(f"pinwarden approve demo=={canonical_version(local)}")
    code, out, _ = cli(tmp_path, monkeypatch, "check", "--format", "json")
    assert code == 1 and "local-version" in {f["kind"] for f in json.loads(out)["findings"]}
    code, out, _ = cli(tmp_path, monkeypatch, "init")  # adoption is no way around it
    assert code == 1 and "local version" in out and "NEW VERSION" in out, out
    assert ledger.read_bytes() == trusted_bytes

    assert cli(tmp_path, monkeypatch, "approve", f"demo=={local}", "--reason", "our build")[0] == 0
    assert cli(tmp_path, monkeypatch, "check")[0] == 0


# -- real pip-compile ------------------------------------------------------------------------------


@pytest.fixture
def compiled(tmp_path: Path) -> Iterator[cp.Project]:
    index = PackageIndex()
    path = tmp_path / "project"
    path.mkdir()
    with index.serve():
        yield cp.Project(path, isolated_env(tmp_path / "env"), index)


def _trust_pin(project: cp.Project, spelling: str) -> None:
    """ALPHA served and pinned as `==SPELLING`, then trusted on first use by a real run."""
    project.index.add(cp.ALPHA, spelling, *build_wheel(cp.ALPHA, spelling, marker="honest"))
    (project.path / "requirements.in").write_text(f"{cp.ALPHA}=={spelling}\n")
    assert "on first use (" in cp.ok(project.compile())


@pytest.mark.e2e
@pytest.mark.parametrize(("local", "spelling"), PAIRS)
def test_the_wrapper_asks_before_a_local_version_takes_a_trusted_pin(
    compiled: cp.Project, local: str, spelling: str
) -> None:
    _trust_pin(compiled, spelling)
    before = compiled.state()
    evil = build_wheel(cp.ALPHA, local, marker="evil")
    compiled.index.add(cp.ALPHA, local, *evil)
    canonical = canonical_version(local)

    for mode in (("-U",), ("-P", cp.ALPHA)):
        err = cp.ok(compiled.compile(*mode), 1)
        assert "local version: a pin ==1 takes it too" in err
        assert "on first use" not in err
        assert unbound(err.rstrip().splitlines()[-1].strip()) == cp.approve_line(compiled, canonical)
        assert compiled.state() == before, f"{mode} wrote something"
        assert cp.sha256(evil[1]) not in compiled.ledger.read_text()

    # The command the refusal names records it, and the same run then goes through.
    approve = cp.approve_line(compiled, canonical).split()[1:]
    done = compiled.run(*approve[1:], command=approve[0])
    assert done.returncode == 0, done.stdout + done.stderr
    cp.ok(compiled.compile("-U"))
    assert cp.sha256(evil[1]) in compiled.output.read_text()


@pytest.mark.e2e
def test_the_wrapper_still_trusts_a_local_version_no_trusted_version_shares_on_first_use(
    compiled: cp.Project,
) -> None:
    compiled.index.add(cp.ALPHA, "1.0", *build_wheel(cp.ALPHA, "1.0"))
    (compiled.path / "requirements.in").write_text(f"{cp.ALPHA}\n")
    cp.ok(compiled.compile())
    compiled.index.add(cp.ALPHA, "1.1+local", *build_wheel(cp.ALPHA, "1.1+local"))
    err = cp.ok(compiled.compile("-v", "-U"))
    assert f"{cp.ALPHA} 1.1+local trusted on first use" in err


@pytest.mark.e2e
def test_audit_names_a_locked_local_version_of_a_trusted_version(compiled: cp.Project) -> None:
    """A requirements file written without the wrapper (plain pip-compile, a hand edit)."""
    _trust_pin(compiled, "1.0")
    compiled.index.add(cp.ALPHA, "1.0+evil", *build_wheel(cp.ALPHA, "1.0+evil", marker="evil"))
    text = compiled.output.read_text()
    served = compiled.index.files(cp.ALPHA)[f"{cp.ALPHA.replace('-', '_')}-1.0+evil-py3-none-any.whl"]
    honest = re.search(r"--hash=(sha256:[0-9a-f]{64})", text)
    assert honest is not None
    edited = text.replace(f"{cp.ALPHA}==1.0", f"{cp.ALPHA}==1.0+evil").replace(
        honest.group(1), cp.sha256(served.data)
    )
    compiled.output.write_text(edited)
    for command in ("check", "audit"):
        done = compiled.run("--format", "json", command=command)
        assert done.returncode == 1, done.stdout + done.stderr
        kinds = {(f["kind"], f["version"]) for f in json.loads(done.stdout)["findings"]}
        assert ("local-version", "1+evil") in kinds, kinds


# -- real Poetry ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish_base(index)
    with index.serve():
        yield index


@pytest.fixture(scope="module")
def template(index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Project:
    publish_base(index)
    project = make_project(tmp_path_factory.mktemp("template"), index.url, [f"{ALPHA}==1.0", OTHER])
    project.ok("lock", "-n")
    project.ok("install", "-n")
    return project


@pytest.fixture
def pinned(index: PackageIndex, template: Project, tmp_path: Path) -> Iterator[Project]:
    publish_base(index)
    yield copy_project(template, tmp_path)
    publish_base(index)


def _pin(project: Project, spelling: str) -> None:
    """The exact pin of alpha spelled another way; the lock (and trust) stay alpha 1."""
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f"{ALPHA}==1.0", f"{ALPHA}=={spelling}"))
    project.ok("lock", "-n")


@pytest.mark.e2e
@pytest.mark.parametrize("command", [("update", ALPHA, "-n"), ("lock", "--regenerate", "-n")])
@pytest.mark.parametrize(("local", "spelling"), PAIRS)
def test_poetry_asks_before_a_local_version_takes_a_trusted_pin(
    index: PackageIndex, pinned: Project, local: str, spelling: str, command: tuple[str, ...]
) -> None:
    _pin(pinned, spelling)
    before = pinned.snapshot()
    evil = build_wheel(ALPHA, local, marker="evil")
    index.add(ALPHA, local, *evil)

    done = pinned.poetry(*command)

    assert "Traceback" not in done.output
    if local.startswith("v"):  # Poetry reads no version from a file name spelled `v1.0+1`: never offered
        assert done.code == 0 and pinned.snapshot().lock == before.lock, done.output
        assert sha256(evil[1]) not in pinned.ledger_text()
        return
    assert done.code == 1, done.output
    assert "local version: a pin ==1 takes it too" in done.output
    assert "on first use" not in done.output
    assert (
        done.approve_command == f"poetry pinwarden approve --from-index {ALPHA}=={canonical_version(local)}"
    )
    assert pinned.snapshot() == before
    assert pinned.installed_marker() in ("original", "second")
    assert sha256(evil[1]) not in pinned.ledger_text()


@pytest.mark.e2e
def test_at_the_terminal_poetry_shows_the_local_version_and_a_person_may_approve_it(
    index: PackageIndex, pinned: Project
) -> None:
    evil = build_wheel(ALPHA, "1.0+ours", marker="ours")
    index.add(ALPHA, "1.0+ours", *evil)
    env = {**pinned.env, "POETRY_CACHE_DIR": str(pinned.caches / "cold")}
    child = pexpect.spawn(
        poetry_tool(), ["update", ALPHA], cwd=str(pinned.path), env=env, encoding="utf-8", timeout=120
    )
    child.expect("local version: a pin ==1 takes it too")
    child.expect(re.escape(f"Trust the new state of {ALPHA} 1+ours? (approve/abort) [abort]:"))
    child.sendline("approve")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert sha256(evil[1]) in pinned.ledger_text() and 'version = "1.0+ours"' in pinned.lock_text()
    assert pinned.installed_marker() == "ours"
    done = subprocess.run(
        [sys.executable, "-m", "pinwarden", "check"],
        cwd=pinned.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
