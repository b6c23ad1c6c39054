"""End to end: `poetry pinwarden audit` in real Poetry subprocesses, against indexes on 127.0.0.1.

Same meaning, options and exit codes as `pinwarden audit`; the pages are asked for through the
project's Poetry sources, so credentials Poetry knows (here: `poetry config http-basic.<source>`,
which the standalone CLI cannot see) are used.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.guarded_project import (
    ALPHA,
    LATE_WHEEL,
    OTHER,
    SCENARIOS,
    WHEEL,
    Project,
    make_project,
    publish_base,
)
from tests.support.index import PackageIndex, build_wheel
from tests.support.replay import ReplayIndex

from pinwarden.cli import main

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish_base(index)
    with index.serve():
        yield index


@pytest.fixture
def project(index: PackageIndex, tmp_path: Path) -> Project:
    publish_base(index)
    project = make_project(tmp_path, index.url, [ALPHA, OTHER])
    project.ok("lock", "-n")
    return project


def kinds(output: str) -> set[tuple[str, str | None]]:
    return {(f["kind"], f["filename"]) for f in json.loads(output)["findings"]}


def test_clean_then_each_upstream_change(index: PackageIndex, project: Project) -> None:
    done = project.poetry("pinwarden", "audit")
    assert done.code == 0, done.output
    assert "nothing changed" in done.stdout
    assert (project.path / "pinwarden-baseline.toml").is_file()
    SCENARIOS["build-tagged-wheel"][0](index)
    SCENARIOS["same-filename-new-bytes"][0](index)
    done = project.poetry("pinwarden", "audit", "--format", "json")
    assert done.code == 1, done.output
    assert kinds(done.stdout) == {
        ("new-file", LATE_WHEEL[0]),
        ("build-tag", LATE_WHEEL[0]),
        ("changed-file", WHEEL[0]),
    }
    done = project.poetry("pinwarden", "audit")
    assert done.code == 1 and "poetry pinwarden approve pwguard-alpha==1 --from-index" in done.stdout


def test_an_unreachable_source_is_an_error(project: Project) -> None:
    lock = project.lock_text()
    dead = "http://127.0.0.1:9/simple"
    project.lock.write_text(lock.replace(lock.split('url = "', 1)[1].split('"', 1)[0], dead))
    done = project.poetry("pinwarden", "audit", "--timeout", "1")
    assert done.code == 2, done.output
    assert "pinwarden: error: " in done.stderr and "127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.output


def test_credentials_from_poetry_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = build_wheel("pwguard-private", "1.0")
    digest = hashlib.sha256(wheel[1]).hexdigest()
    page = {
        "meta": {"api-version": "1.1"},
        "name": "pwguard-private",
        "files": [{"filename": wheel[0], "url": wheel[0], "hashes": {"sha256": digest}, "yanked": False}],
    }
    private = ReplayIndex({"pwguard-private": page}, files={wheel[0]: wheel[1]})
    private.credentials = ("reader", "s3cret")
    with private.serve():
        project = make_project(tmp_path, private.url, ["pwguard-private"])
        project.ok("config", "http-basic.local", "reader", "s3cret")
        project.ok("lock", "-n")
        done = project.poetry("pinwarden", "audit")
        assert done.code == 0, done.output
        # The standalone CLI cannot see Poetry's stored credentials: this is Poetry's authenticator at work.
        monkeypatch.chdir(project.path)
        err = io.StringIO()
        assert main(["audit"], io.StringIO(), err) == 2 and "HTTP 401" in err.getvalue()
        private.pages["pwguard-private"]["files"][0]["hashes"]["sha256"] = "0" * 64
        done = project.poetry("pinwarden", "audit")
        assert done.code == 1 and "CHANGED" in done.stdout, done.output
        # Without the credentials: refused, and the message says where they may come from.
        project.ok("config", "--unset", "http-basic.local")
        done = project.poetry("pinwarden", "audit")
        assert done.code == 2 and "HTTP 401" in done.stderr, done.output
