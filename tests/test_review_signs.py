"""Warning signs in the Poetry plugin's and the pip-compile wrapper's reviews, where index data is at hand:
a new version unlike the last trusted one, or a new file uploaded late, asks a person instead of
passing silently; without index data the review is what it was."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_sdist, build_wheel

from pinwarden.poetry_plugin.flow import Hooks, Refused, Warden
from pinwarden.shared.audit import signs_for_review
from pinwarden.shared.compare import compare
from pinwarden.shared.decide import plan
from pinwarden.shared.index.simple import IndexFile
from pinwarden.shared.ledger import Ledger
from pinwarden.shared.model import (
    FileHash,
    FindingKind,
    LockedFile,
    LockedRelease,
    NormalizedName,
    TrustHow,
)
from pinwarden.shared.trust import record

DEMO = NormalizedName("demo")
T0, T1 = "2024-01-01T00:00:00Z", "2024-09-01T00:00:00Z"


def h(text: str) -> FileHash:
    return FileHash("sha256", hashlib.sha256(text.encode()).hexdigest())


def release(version: str, *names: str) -> LockedRelease:
    files = tuple(LockedFile(n, h(n)) for n in names)
    return LockedRelease(name=DEMO, version=version, files=files, lockfile="poetry.lock")


def served(name: str, at: str) -> IndexFile:
    return IndexFile(filename=name, url=f"https://files.example/{name}", hashes=(h(name),), upload_time=at)


# A binary project whose next version is one pure-Python wheel: the shape a hijacked release takes.
LINUX = "demo-1.0-cp312-cp312-manylinux2014_x86_64.whl"
V10 = release("1.0", LINUX, "demo-1.0.tar.gz")
V11 = release("1.1", "demo-1.1-py3-none-any.whl")
PAGE = (
    served(LINUX, T0),
    served("demo-1.0.tar.gz", T0),
    served("demo-1.1-py3-none-any.whl", T1),
)
TRUSTED = record(Ledger(), [V10], how=TrustHow.INIT, at="2024-02-01T00:00:00Z")


def test_a_new_version_unlike_the_last_trusted_one_is_signed() -> None:
    findings = compare(TRUSTED, [V11])
    signs = signs_for_review(TRUSTED, [V11], findings, {DEMO: PAGE})
    assert [(s.kind, s.version) for s in signs] == [(FindingKind.SHAPE_CHANGE, "1.1")]
    assert signs[0].evidence == {
        "compared_with": "1",
        "files": 1,
        "trusted_files": 2,
        "platforms_dropped": ["Linux"],
        "platforms_added": ["pure-Python"],
    }
    # A sign makes the version a question: it is not trusted on first use silently.
    assert plan([*findings, *signs]).first_use == ()
    assert plan(findings).first_use == ((DEMO, "1.1"),)


def test_a_late_new_file_of_a_trusted_version_is_signed() -> None:
    late = served("demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl", T1)  # the tags LINUX covered
    locked = release("1.0", LINUX, "demo-1.0.tar.gz", late.filename)
    findings = compare(TRUSTED, [locked])
    signs = signs_for_review(TRUSTED, [locked], findings, {DEMO: (*PAGE, late)})
    assert [(s.kind, s.filename, s.blocking) for s in signs] == [
        (FindingKind.LATE_UPLOAD, late.filename, True)
    ]
    assert signs_for_review(TRUSTED, [locked], findings, {}) == ()  # no page at hand: no sign
    assert [q.key for q in plan([*findings, *signs]).questions] == [(DEMO, "1")]


def test_late_wheels_for_a_newer_interpreter_are_trusted_on_first_use_and_reported() -> None:
    late = [served(f"demo-1.0-cp313-cp313-{p}.whl", T1) for p in ("win_amd64", "manylinux2014_x86_64")]
    locked = release("1.0", LINUX, "demo-1.0.tar.gz", *(f.filename for f in late))
    findings = compare(TRUSTED, [locked])
    signs = signs_for_review(TRUSTED, [locked], findings, {DEMO: (*PAGE, *late)})
    assert [(s.kind, s.filename, s.blocking) for s in signs] == [(FindingKind.LATE_UPLOAD, None, False)]
    assert "2 files added" in (signs[0].detail or "") and "CPython 3.13" in (signs[0].detail or "")
    the_plan = plan([*findings, *signs])
    assert (the_plan.first_use, the_plan.questions, the_plan.notes) == (((DEMO, "1"),), (), signs)
    assert plan([*findings, *signs], first_use="ask").questions  # asked to ask: it asks


def test_nothing_new_reads_nothing() -> None:
    assert signs_for_review(TRUSTED, [V10], compare(TRUSTED, [V10]), {DEMO: PAGE}) == ()


# -- the Poetry plugin's review -------------------------------------------------------------------


@pytest.fixture
def warden(tmp_path: Path) -> Warden:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    warden = Warden(tmp_path, tmp_path / "poetry.lock")
    review = warden.review([V10], Hooks(ask=None, say=lambda _: None), writes=True)
    warden.commit(review, Hooks(ask=None, say=lambda _: None), lambda: None)
    return warden


def test_plugin_review_asks_about_a_shape_change(warden: Warden) -> None:
    said: list[str] = []
    hooks = Hooks(ask=None, say=said.append, index_files=lambda name: PAGE if name == DEMO else None)
    with pytest.raises(Refused) as info:
        warden.review([V11], hooks, writes=True)
    assert "it has a pure-Python wheel in place of its Linux wheels" in info.value.report
    # Without index data the same new version is trusted on first use, as before.
    plain = warden.review([V11], Hooks(ask=None, say=said.append), writes=True)
    assert plain.plan.first_use == ((DEMO, "1.1"),)


# -- the pip-compile wrapper's examination --------------------------------------------------------


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    binary = {"python_tag": "cp312", "abi": "cp312", "platform": "manylinux2014_x86_64"}
    index.add("pwdemo-alpha", "1.0", *build_wheel("pwdemo-alpha", "1.0", **binary), upload_time=T0)
    index.add("pwdemo-alpha", "1.0", *build_sdist("pwdemo-alpha", "1.0"), upload_time=T0)
    index.add("pwdemo-alpha", "1.1", *build_wheel("pwdemo-alpha", "1.1"), upload_time=T1)
    with index.serve():
        yield index


def test_wrapper_examination_signs_a_new_version(
    index: PackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pinwarden.piptools_ext.session import examine
    from pinwarden.shared.locks.requirements import parse_requirements

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    files = index.files("pwdemo-alpha")

    def pins(version: str) -> str:
        hashes = " ".join(
            f"--hash=sha256:{hashlib.sha256(f.data).hexdigest()}"
            for f in files.values()
            if f.version == version
        )
        return f"-i {index.url}\npwdemo-alpha=={version} {hashes}\n"

    trusted = record(Ledger(), parse_requirements(pins("1.0")).releases, how=TrustHow.INIT, at=T0)
    exam = examine(pins("1.1"), "requirements.txt", trusted, (index.url,))
    assert {f.kind for f in exam.findings} == {FindingKind.NEW_VERSION, FindingKind.SHAPE_CHANGE}
