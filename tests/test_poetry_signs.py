"""Issue 10, class 5: the index's warning signs reach the plugin's review through real Poetry.

Poetry's `Repository` has `__len__` returning 0, so a truthiness test on a source skipped every page
and no sign was ever computed. Each scenario publishes a version unlike what the project trusted (an
sdist come late, a yanked release, a wheel come late for what the release covered) and runs a real
`poetry add`, `update` or `lock`: the sign is shown, and the version that would have been trusted on
first use becomes a question, refused without a person at the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest
from tests.support.guarded_project import (
    ALPHA,
    OTHER,
    Project,
    copy_project,
    make_project,
    poetry_tool,
    publish_base,
)
from tests.support.index import PackageIndex, build_sdist, build_wheel

pytestmark = pytest.mark.e2e
T0, LATE = "2024-01-01T00:00:00Z", "2024-09-01T00:00:00Z"
APPROVE_2 = f"poetry pinwarden approve --from-index {ALPHA}==2"


def late_sdist(index: PackageIndex) -> None:
    index.add(ALPHA, "2.0", *build_wheel(ALPHA, "2.0"), upload_time=T0)
    index.add(ALPHA, "2.0", *build_sdist(ALPHA, "2.0"), upload_time=LATE)


def yanked(index: PackageIndex) -> None:
    for wheel in (build_wheel(ALPHA, "2.0"), build_wheel(ALPHA, "2.0", python_tag="py2.py3")):
        index.add(ALPHA, "2.0", *wheel, upload_time=T0, yanked="compromised")


LINUX = {"abi": "cp311", "platform": "manylinux_2_17_x86_64"}


def late_covered_wheel(index: PackageIndex) -> None:
    # A binary wheel added months later beside the pure-Python one: it takes its place on Linux.
    index.add(ALPHA, "2.0", *build_wheel(ALPHA, "2.0"), upload_time=T0)
    index.add(ALPHA, "2.0", *build_wheel(ALPHA, "2.0", python_tag="cp311", **LINUX), upload_time=LATE)


# Each: how alpha 2.0 looks on the index, and the words its sign shows.
SIGNS: dict[str, tuple[Callable[[PackageIndex], None], str]] = {
    "late-sdist": (late_sdist, "sdist added"),
    "yank": (yanked, "yanked"),
    "late-wheel": (late_covered_wheel, "late upload: added"),
}


def pin_alpha(project: Project, spec: str) -> None:
    """Edit pyproject's dependency on alpha, for a plain `poetry lock` to resolve anew."""
    pyproject = project.path / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace(f'"{ALPHA}"', f'"{ALPHA}{spec}"'), encoding="utf-8")


# (scenario, command): `update` never picks a yanked release, `add` and `lock` do when pinned to it.
CASES = [
    (scenario, command)
    for scenario in SIGNS
    for command in ("add", "update", "lock")
    if not (scenario == "yank" and command == "update")
]


def run(project: Project, command: str, *extra: str) -> tuple[str, ...]:
    if command == "add":
        return ("add", f"{ALPHA}==2.0", *extra)
    if command == "update":
        return ("update", ALPHA, *extra)
    pin_alpha(project, "==2.0")
    return ("lock", *extra)


@pytest.fixture(scope="module")
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish_base(index)
    with index.serve():
        yield index


@pytest.fixture(scope="module")
def template(index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Project:
    publish_base(index)
    project = make_project(tmp_path_factory.mktemp("template"), index.url, [ALPHA, OTHER])
    project.ok("lock", "-n")
    project.ok("install", "-n")
    return project


@pytest.fixture
def project(index: PackageIndex, template: Project, tmp_path: Path) -> Project:
    publish_base(index)  # alpha 2.0 gone again
    return copy_project(template, tmp_path)


@pytest.mark.parametrize(("scenario", "command"), CASES)
def test_a_warning_sign_makes_a_new_version_a_question(
    index: PackageIndex, project: Project, scenario: str, command: str
) -> None:
    publish, words = SIGNS[scenario]
    publish(index)
    before = project.snapshot()

    done = project.poetry(*run(project, command, "-n"))

    assert done.code == 1, done.output
    assert "Traceback" not in done.output
    assert words in done.output
    assert "on first use" not in done.output
    assert done.approve_command == APPROVE_2
    assert project.snapshot() == before


def test_without_a_sign_a_new_version_is_still_trusted_on_first_use(
    index: PackageIndex, project: Project
) -> None:
    for wheel in (build_wheel(ALPHA, "2.0"), build_wheel(ALPHA, "2.0", python_tag="py2.py3")):
        index.add(ALPHA, "2.0", *wheel, upload_time=T0)
    done = project.ok("update", ALPHA, "-n", "-v")
    assert f"{ALPHA} 2 trusted on first use" in done.output


def test_a_late_wheel_for_a_newer_interpreter_is_information(index: PackageIndex, project: Project) -> None:
    """wrapt 1.14.1's shape: cp311 wheels months after a release that had cp310 ones. Trusted on
    first use like the rest of the version, and reported in one line, not asked about."""
    cp310 = {"abi": "cp310", "platform": "manylinux_2_17_x86_64"}
    index.add(ALPHA, "2.0", *build_wheel(ALPHA, "2.0", python_tag="cp310", **cp310), upload_time=T0)
    index.add(ALPHA, "2.0", *build_sdist(ALPHA, "2.0"), upload_time=T0)
    index.add(ALPHA, "2.0", *build_wheel(ALPHA, "2.0", python_tag="cp311", **LINUX), upload_time=LATE)
    pin_alpha(project, "==2.0")
    done = project.ok("lock", "-n")
    assert "trusted 1 new version on first use" in done.output
    assert done.output.count("late upload (information)") == 1 and "CPython 3.11 Linux x86_64" in done.output


@pytest.mark.parametrize("scenario", list(SIGNS))
def test_at_the_terminal_the_sign_is_shown_and_asked_about(
    index: PackageIndex, project: Project, scenario: str
) -> None:
    publish, words = SIGNS[scenario]
    publish(index)
    before = project.snapshot()
    env = {**project.env, "POETRY_CACHE_DIR": str(project.caches / "cold")}
    child = pexpect.spawn(
        poetry_tool(),
        list(run(project, "add")),
        cwd=str(project.path),
        env=env,
        encoding="utf-8",
        timeout=120,
    )
    child.expect(words)
    child.expect(re.escape(f"Trust the new state of {ALPHA} 2? (approve/abort) [abort]:"))
    child.sendline("abort")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert project.snapshot() == before
