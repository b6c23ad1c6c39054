"""Issue 10, class 11: what an install builds from source is named, and can be refused.

Installing an sdist runs its build backend, which the installer resolves from the index unpinned and
unhashed: no lock covers it. The plugin's install guard names every version that real Poetry will
build (its Chooser picks an sdist, or the lock holds no wheel, or a git/directory source), and
`[tool.pinwarden] sdist-installs = "refuse"` installs none of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.guarded_project import Project, make_project
from tests.support.index import PackageIndex, build_sdist, build_wheel

from pinwarden.shared.config import parse_settings
from pinwarden.shared.decide import built_from_source
from pinwarden.shared.errors import InputError
from pinwarden.shared.model import FileHash, LockedFile, LockedRelease, NormalizedName, SourceKind
from pinwarden.shared.render import builds_text

SDIST_ONLY, FOREIGN_WHEEL, WHEELED = "pwbuild-sdist", "pwbuild-foreign", "pwbuild-wheel"
H = FileHash("sha256", "a" * 64)


def locked(*names: str | None, kind: SourceKind = SourceKind.INDEX) -> LockedRelease:
    return LockedRelease(
        name=NormalizedName("demo"),
        version="1.0",
        files=tuple(LockedFile(n, H) for n in names),
        lockfile="poetry.lock",
        source_kind=kind,
    )


@pytest.mark.parametrize(
    ("release", "built"),
    [
        (locked("demo-1.0.tar.gz"), True),
        (locked("demo-1.0.zip"), True),
        (locked("Demo-1.0.TAR.GZ"), True),
        (locked("demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl"), False),
        (locked("demo-1.0-py3-none-any.WHL"), False),
        (locked(), False),  # hashless: the review refuses it on its own
        (locked(None), False),  # a requirements hash names no file
        (locked(kind=SourceKind.GIT), True),
        (locked(kind=SourceKind.DIRECTORY), True),
        (locked("demo-1.0.tar.gz", kind=SourceKind.URL), True),
        (locked("demo-1.0-py3-none-any.whl", kind=SourceKind.FILE), False),
    ],
)
def test_what_is_built_from_source(release: LockedRelease, built: bool) -> None:
    assert (built_from_source(release) is not None) is built


def test_the_builds_report_names_each_version() -> None:
    text = builds_text([("b", "2.0", "built from its git source"), ("a", "1.0", "x")], refused=False)
    assert text.startswith("pinwarden: warning: 2 version(s) would be built at install")
    assert text.splitlines()[1:] == ["  a 1.0  (x)", "  b 2.0  (built from its git source)"]
    assert builds_text([], refused=True) == ""


@pytest.mark.parametrize("value", ['"allow"', '"refuse"'])
def test_the_setting_takes_allow_or_refuse(value: str) -> None:
    settings = parse_settings(f"[tool.pinwarden]\nsdist-installs = {value}\n")
    assert settings.sdist_installs == value.strip('"')
    assert parse_settings("").sdist_installs == "allow"


@pytest.mark.parametrize("value", ['"Refuse"', '"no"', "false", "1", '""'])
def test_the_setting_refuses_anything_else(value: str) -> None:
    with pytest.raises(InputError, match="sdist-installs"):
        parse_settings(f"[tool.pinwarden]\nsdist-installs = {value}\n")


# -- real Poetry -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    index.add(SDIST_ONLY, "1.0", *build_sdist(SDIST_ONLY, "1.0"))
    # A wheel no interpreter here can install: Poetry's Chooser falls back to the sdist.
    index.add(
        FOREIGN_WHEEL,
        "1.0",
        *build_wheel(FOREIGN_WHEEL, "1.0", python_tag="cp27", abi="cp27m", platform="win32"),
    )
    index.add(FOREIGN_WHEEL, "1.0", *build_sdist(FOREIGN_WHEEL, "1.0"))
    index.add(WHEELED, "1.0", *build_wheel(WHEELED, "1.0"))
    index.add(WHEELED, "1.0", *build_sdist(WHEELED, "1.0"))
    with index.serve():
        yield index


def installed(project: Project) -> set[str]:
    site = project.path.glob(".venv/lib/python*/site-packages/pwbuild_*")
    return {p.name for p in site if p.is_dir() and not p.name.endswith(".dist-info")}


def project_with(index: PackageIndex, tmp_path: Path, setting: str | None) -> Project:
    extra = f'[tool.pinwarden]\nsdist-installs = "{setting}"\n' if setting else ""
    project = make_project(tmp_path, index.url, [SDIST_ONLY, FOREIGN_WHEEL, WHEELED], extra_pyproject=extra)
    project.ok("lock", "-n")
    return project


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["install", "sync"])
def test_an_install_names_what_it_builds(index: PackageIndex, tmp_path: Path, command: str) -> None:
    project = project_with(index, tmp_path, None)
    done = project.ok(command, "-n")
    assert "2 version(s) would be built at install" in done.output
    assert f"{SDIST_ONLY} 1  (built from its sdist pwbuild_sdist-1.0.tar.gz)" in done.output
    assert f"{FOREIGN_WHEEL} 1  (built from its sdist pwbuild_foreign-1.0.tar.gz)" in done.output
    assert f"{WHEELED} 1" not in done.output  # its wheel is installed (in either spelling)
    assert installed(project) == {"pwbuild_sdist", "pwbuild_foreign", "pwbuild_wheel"}


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["install", "sync"])
def test_refuse_installs_nothing_that_would_be_built(
    index: PackageIndex, tmp_path: Path, command: str
) -> None:
    project = project_with(index, tmp_path, "refuse")
    lock, ledger = project.lock_text(), project.ledger_text()
    done = project.poetry(command, "-n")
    assert done.code == 1, done.output
    assert "Traceback" not in done.output
    assert 'sdist-installs = "refuse"; nothing was installed' in done.output
    assert f"{SDIST_ONLY} 1  (built from its sdist" in done.output
    assert f"{FOREIGN_WHEEL} 1  (built from its sdist" in done.output
    assert installed(project) == set()
    assert (project.lock_text(), project.ledger_text()) == (lock, ledger)


@pytest.mark.e2e
def test_refuse_stops_an_add_that_would_build(index: PackageIndex, tmp_path: Path) -> None:
    extra = '[tool.pinwarden]\nsdist-installs = "refuse"\n'
    project = make_project(tmp_path, index.url, [WHEELED], extra_pyproject=extra)
    project.ok("install", "-n")  # a wheel: allowed
    assert installed(project) == {"pwbuild_wheel"}
    lock = project.lock_text()
    done = project.poetry("add", SDIST_ONLY, "-n")
    assert done.code == 1, done.output
    assert f"{SDIST_ONLY} 1  (built from its sdist" in done.output
    assert installed(project) == {"pwbuild_wheel"}
    assert project.lock_text() == lock
