"""Issue 11: `poetry pinwarden approve` and `pinwarden approve` default to the same thing (what the
lock holds), both say what they trust, and a swap needs a reason. Real Poetry against a local index.
"""

from __future__ import annotations

import io
import os

import pytest
from tests.support.guarded_project import Project
from tests.support.index import PackageIndex
from tests.test_poetry_approve_replace import (
    NAME,
    NEW_WHEEL,
    SDIST,
    WHEEL,
    index,  # noqa: F401  (fixtures)
    project,  # noqa: F401
    swap_sdist,
    trusted,
)

from pinwarden.cli import main
from pinwarden.shared.baseline import loads

pytestmark = pytest.mark.e2e


def test_both_approves_default_to_the_lock_and_say_so(
    index: PackageIndex,  # noqa: F811
    project: Project,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index.add(NAME, "1.0", *NEW_WHEEL)  # served now, not in poetry.lock
    done = project.poetry("pinwarden", "approve", f"{NAME}==1.0")
    assert done.code == 0, done.output
    assert f"{NAME}==1 from poetry.lock (the lock):" in done.output
    assert WHEEL[0] in done.output and NEW_WHEEL[0] not in done.output
    assert NEW_WHEEL[0] not in trusted(project)  # before issue 11 the default fetched it from the index
    monkeypatch.chdir(project.path)
    out = io.StringIO()
    assert main(["approve", f"{NAME}==1.0"], out, io.StringIO()) == 0
    assert f"{NAME}==1 from poetry.lock (the lock):" in out.getvalue()


def test_from_index_says_which_index_and_what_it_trusts(index: PackageIndex, project: Project) -> None:  # noqa: F811
    index.add(NAME, "1.0", *NEW_WHEEL)
    done = project.poetry("pinwarden", "approve", "--from-index", f"{NAME}==1.0")
    assert done.code == 0, done.output
    assert (
        "(the index):" in done.output and index.url.rstrip("/") in done.output and NEW_WHEEL[0] in done.output
    )
    assert NEW_WHEEL[0] in trusted(project)


def test_a_version_not_in_the_lock_names_from_index(project: Project) -> None:  # noqa: F811
    done = project.poetry("pinwarden", "approve", f"{NAME}==2.0")
    assert done.code == 2 and "add --from-index" in done.output


def test_a_swap_from_the_sources_needs_a_reason(index: PackageIndex, project: Project) -> None:  # noqa: F811
    swap_sdist(index, SDIST[0])
    before = project.ledger.read_bytes()
    done = project.poetry("pinwarden", "approve", "--from-index", f"{NAME}==1.0", "--replace")
    assert done.code == 1, done.output
    assert f'poetry pinwarden approve --from-index {NAME}==1.0 --replace --reason "WHY"' in done.output
    assert project.ledger.read_bytes() == before
    done = project.poetry(
        "pinwarden", "approve", "--from-index", f"{NAME}==1.0", "--replace", "--reason", "ok"
    )
    assert done.code == 0, done.output


def test_poetry_pinwarden_acknowledge_ends_a_yank(index: PackageIndex, project: Project) -> None:  # noqa: F811
    assert project.poetry("pinwarden", "audit").code == 0
    index.yank(NAME, SDIST[0], "broken")
    done = project.poetry("pinwarden", "audit")
    assert done.code == 1 and f'poetry pinwarden acknowledge {NAME}==1 --reason "WHY"' in done.output
    who = {"USER": "jane", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = project.poetry("pinwarden", "acknowledge", f"{NAME}==1", "--reason", "pinned on purpose", env=who)
    assert done.code == 0, done.output
    baseline = loads((project.path / "pinwarden-baseline.toml").read_text())
    assert [(a.by, a.reason) for a in baseline.acknowledged] == [("jane", "pinned on purpose")]
    assert project.poetry("pinwarden", "audit").code == 0
