"""`poetry pinwarden approve` records what was reviewed, never a swap as a side effect (issue 10, find 03).

Real `poetry lock` and `poetry pinwarden approve` against a local index on 127.0.0.1. A refused lock
prints the approve command bound (`--hash`) to the files its report showed; if the index swaps a
trusted file afterwards, under any spelling of its name, the printed command records only the
reviewed files, and an unbound approval refuses the swap unless `--replace` is given.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.guarded_project import Project, make_project, sha256
from tests.support.index import PackageIndex, build_sdist, build_wheel

from pinwarden.shared.model import normalize_name
from pinwarden.shared.store import LedgerStore

pytestmark = pytest.mark.e2e

NAME = "pwreplace-alpha"  # cannot exist on PyPI
WHEEL = build_wheel(NAME, "1.0", marker="wheel")
SDIST = build_sdist(NAME, "1.0", marker="sdist")
SWAPPED = build_sdist(NAME, "1.0", marker="swapped")[1]
NEW_WHEEL = build_wheel(NAME, "1.0", python_tag="cp311", abi="cp311", platform="manylinux_2_17_x86_64")
SPELLINGS = [SDIST[0], "pwreplace-alpha-1.0.0.tar.gz", "PWReplace_Alpha-1.zip"]


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    index.add(NAME, "1.0", *WHEEL)
    index.add(NAME, "1.0", *SDIST)
    with index.serve():
        yield index


@pytest.fixture
def project(index: PackageIndex, tmp_path: Path) -> Project:
    project = make_project(tmp_path, index.url, [NAME])
    project.ok("lock")
    return project


def trusted(project: Project) -> dict[str | None, set[str]]:
    release = LedgerStore(project.ledger).load().get(normalize_name(NAME), "1")
    assert release is not None
    return {f.filename: {str(h) for h in f.hashes} for f in release.files}


def swap_sdist(index: PackageIndex, spelling: str) -> None:
    index.remove(NAME, SDIST[0])
    index.add(NAME, "1.0", spelling, SWAPPED)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_printed_command_records_only_what_the_refusal_showed(
    index: PackageIndex, project: Project, spelling: str
) -> None:
    index.add(NAME, "1.0", *NEW_WHEEL)
    refused = project.poetry("lock", "--regenerate")
    assert refused.code == 1, refused.output
    command = shlex.split(refused.last_line)
    assert command[:5] == ["poetry", "pinwarden", "approve", "--from-index", f"{NAME}==1"]
    assert command[5:] == ["--hash", sha256(NEW_WHEEL[1])]
    swap_sdist(index, spelling)  # after the person read the report, before they approve
    done = project.poetry(*command[1:])
    assert done.code == 0, done.output
    assert trusted(project)[NEW_WHEEL[0]] == {sha256(NEW_WHEEL[1])}
    assert trusted(project)[SDIST[0]] == {sha256(SDIST[1])}
    again = project.poetry("lock", "--regenerate")
    assert again.code == 1 and "CHANGED" in again.output
    assert again.last_line.endswith('--replace --reason "WHY"')


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_an_unbound_approval_refuses_a_swap_without_replace(
    index: PackageIndex, project: Project, spelling: str
) -> None:
    swap_sdist(index, spelling)
    before = project.ledger.read_bytes()
    done = project.poetry("pinwarden", "approve", "--from-index", f"{NAME}==1.0")
    assert done.code == 1, done.output
    assert (
        f"{spelling} is trusted as {sha256(SDIST[1])} but is served now as {sha256(SWAPPED)}" in done.output
    )
    assert project.ledger.read_bytes() == before
    done = project.poetry(
        "pinwarden", "approve", "--from-index", f"{NAME}==1.0", "--replace", "--reason", "rebuilt"
    )
    assert done.code == 0, done.output
    assert sha256(SWAPPED) in trusted(project)[spelling]


def test_bindings_go_with_the_sources_only(project: Project) -> None:
    done = project.poetry("pinwarden", "approve", f"{NAME}==1.0", "--from-lock", "--replace")
    assert done.code == 2 and done.output.startswith("pinwarden: error: "), done.output
    done = project.poetry("pinwarden", "approve", f"{NAME}==1.0", "--hash", "md5:" + "0" * 32)
    assert done.code == 2 and "pinwarden: error: " in done.output and "Traceback" not in done.output
