"""The real uv against a local index: its uv.lock checks clean after init, and a late build-tagged
wheel that `uv lock --refresh` takes in silently is reported offline by `check` (new file, build tag,
late upload from the lock's own upload-time), then approved like any finding."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.cli_run import cli_run
from tests.support.index import PackageIndex, build_sdist, build_wheel
from tests.support.uv_project import run_uv, uv_env

NAME = "pwuvreal-dep"  # cannot exist on PyPI: a leak to the real index fails loudly
WHEEL = build_wheel(NAME, "1.0")
SDIST = build_sdist(NAME, "1.0")
LATE = build_wheel(NAME, "1.0", build_tag=1, marker="late")
T0 = "2026-01-05T10:00:00Z"
LATER = "2026-03-06T10:00:00Z"  # 60 days on


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    index.add(NAME, "1.0", *WHEEL, upload_time=T0)
    index.add(NAME, "1.0", *SDIST, upload_time=T0)
    with index.serve():
        yield index


def run(cwd: Path, *argv: str) -> tuple[int, str]:
    code, out, err = cli_run(cwd, *argv)
    return code, out + err


def uv_lock(project: Path, index: PackageIndex, env: dict[str, str], *extra: str) -> None:
    run_uv(["lock", "--python", sys.executable, "--default-index", index.url, *extra], project, env)


def test_a_late_build_tagged_wheel_uv_takes_in_is_reported_offline(
    index: PackageIndex, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.10"\ndependencies = ["{NAME}"]\n'
    )
    env = uv_env(tmp_path)
    uv_lock(project, index, env)
    text = (project / "uv.lock").read_text()
    assert "size = " in text and "upload-time = " in text
    code, out = run(project, "init")
    assert code == 0, out
    code, out = run(project, "check")
    assert code == 0, out

    index.add(NAME, "1.0", *LATE, upload_time=LATER)
    uv_lock(project, index, env, "--refresh")
    assert LATE[0] in (project / "uv.lock").read_text(), "uv took the new wheel in"
    code, out = run(project, "check", "--format", "json")
    assert code == 1
    got = [(f["kind"], f["filename"], f["blocking"]) for f in json.loads(out)["findings"]]
    assert got == [("new-file", LATE[0], True), ("build-tag", LATE[0], True), ("late-upload", LATE[0], True)]
    code, out = run(project, "check")
    assert "late upload: added 60 days after the version's first file" in out
    code, out = run(project, "approve", f"{NAME}==1.0", "--reason", "reviewed the rebuild")
    assert code == 0, out
    assert run(project, "check")[0] == 0
