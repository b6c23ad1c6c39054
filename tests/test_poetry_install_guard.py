"""Issue 10, class 6: `poetry install` and `poetry sync` from a lock edited by hand install nothing untrusted.

An install from a lock on disk records nothing, so it trusts nothing on first use: a version the ledger
never trusted, a file hash it does not know, a trusted file left out, or an index package locked with no
hash at all (Poetry's Chooser then installs whatever the index serves) is refused, with the approve
command, before anything is installed. Each edit shape runs through real `poetry install` and `sync`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from tests.support.guarded_project import (
    ALPHA,
    EVIL_BYTES,
    OTHER,
    WHEEL,
    WHEEL2,
    Project,
    copy_project,
    make_project,
    publish_base,
    sha256,
)
from tests.support.index import PackageIndex, build_wheel

pytestmark = pytest.mark.e2e
V2_WHEEL = build_wheel(ALPHA, "2.0", marker="two")


def edit_alpha(project: Project, change: Callable[[Any], None]) -> None:
    """Edit alpha's [[package]] table of poetry.lock as a person (or a pull request) would."""
    document = tomlkit.parse(project.lock_text())
    table = next(p for p in document["package"] if p["name"] == ALPHA)
    change(table)
    project.lock.write_text(tomlkit.dumps(document), encoding="utf-8")


def files(*pairs: tuple[str, str]) -> Any:
    array = tomlkit.array()
    for filename, digest in pairs:
        entry = tomlkit.inline_table()
        entry.update({"file": filename, "hash": digest})
        array.append(entry)
    return array


def bump(table: Any) -> None:
    table["version"] = "2.0"
    table["files"] = files((V2_WHEEL[0], sha256(V2_WHEEL[1])))


def bump_without_files(table: Any) -> None:
    table["version"] = "2.0"
    table["files"] = files()


def empty_files(table: Any) -> None:
    table["files"] = files()


def remove_a_hash(table: Any) -> None:
    table["files"] = files((WHEEL[0], sha256(WHEEL[1])))


def replace_a_hash(table: Any) -> None:
    table["files"] = files((WHEEL[0], sha256(EVIL_BYTES)), (WHEEL2[0], sha256(WHEEL2[1])))


def swap_hashes(table: Any) -> None:
    # Each filename with the other's hash: Poetry's Chooser accepts any of the lock's hashes.
    table["files"] = files((WHEEL[0], sha256(WHEEL2[1])), (WHEEL2[0], sha256(WHEEL[1])))


EDITS: dict[str, tuple[Callable[[Any], None], str, str]] = {
    # name: (edit, what the report says, the version to approve, as pinwarden spells it)
    "version-bumped": (bump, "NEW VERSION", "2"),
    "version-bumped-no-files": (bump_without_files, "locked without any file hash", "2"),
    "files-emptied": (empty_files, "locked without any file hash", "1"),
    "hash-removed": (remove_a_hash, "MISSING", "1"),
    "hash-replaced": (replace_a_hash, "CHANGED", "1"),
    "hashes-swapped": (swap_hashes, "CHANGED", "1"),
}


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
    publish_base(index)
    index.add(ALPHA, "2.0", *V2_WHEEL)
    project = copy_project(template, tmp_path)
    uninstall_alpha(project)
    return project


def uninstall_alpha(project: Project) -> None:
    """Alpha leaves the virtualenv, so that an install would have to put it back."""
    for site in project.path.glob(".venv/lib/python*/site-packages"):
        for item in site.glob("pwguard_alpha*"):
            shutil.rmtree(item)
    assert project.installed_marker() is None


@pytest.mark.parametrize("command", ["install", "sync"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_lock_installs_nothing(
    index: PackageIndex, project: Project, edit: str, command: str
) -> None:
    change, words, version = EDITS[edit]
    if edit == "hash-replaced":
        index.replace(ALPHA, WHEEL[0], EVIL_BYTES)  # the bytes the edited hash lets in
    edit_alpha(project, change)
    before = project.snapshot()

    done = project.poetry(command, "-n")

    assert done.code == 1, done.output
    assert "Traceback" not in done.output
    assert words in done.output
    assert "nothing was installed" in done.output
    assert done.approve_command == f"poetry pinwarden approve {ALPHA}=={version}"
    assert project.snapshot() == before
    assert project.installed_marker() is None


def test_an_approved_edit_installs(project: Project) -> None:
    edit_alpha(project, bump)
    assert project.poetry("install", "-n").code == 1
    project.ok("pinwarden", "approve", "--from-lock", f"{ALPHA}==2.0")
    project.ok("install", "-n")
    assert project.installed_marker() == "two"


def test_an_unedited_lock_installs(project: Project) -> None:
    project.ok("sync", "-n")
    assert project.installed_marker() in ("original", "second")


def test_install_without_a_lock_still_trusts_on_first_use(index: PackageIndex, tmp_path: Path) -> None:
    """Installing without a lock writes one: the lock writers' review, first use included."""
    publish_base(index)
    index.add(ALPHA, "2.0", *V2_WHEEL)
    project = make_project(tmp_path, index.url, [ALPHA])
    done = project.ok("install", "-n")
    assert "on first use (" in done.output
    assert project.installed_marker() == "two"
