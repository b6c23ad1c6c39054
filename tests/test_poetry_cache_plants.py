"""Poetry installs the best-ranked archive in a link's cache directory; pinwarden checks the archive the
link names. Behind the plugin, Poetry is only ever given that checked archive (issue 10, attack round 4).

Poetry's artifact cache keeps one directory per link (its URL and listed digest), and the installer
takes the best wheel in it for the environment, hash-checking only the archive the link names. The
round-4 attacker planted a file there two ways: a PEP 691 page giving a second filename the trusted
file's URL and digest (a refused download stayed in the cache, and the next install took it), and a
direct-URL dependency of a version the resolver tried and backtracked from (cached by URL alone, one
`poetry update`, exit 0, nothing shown). Real Poetry with the plugin against an index on 127.0.0.1:
the class (any file beside the linked archive, for a wheel or an sdist) and both finds as they were.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import packaging.tags
import pytest
from tests.support.guarded_project import Project, make_project
from tests.support.hostile_index import HostileIndex
from tests.support.index import PackageIndex, build_sdist, build_wheel, find_tool

pytestmark = pytest.mark.e2e

NAME = "pwplant-alpha"  # cannot exist on PyPI
MODULE = "pwplant_alpha"
TAG = next(iter(packaging.tags.sys_tags()))  # this interpreter's best tag: a wheel Poetry prefers
BEST = {"python_tag": TAG.interpreter, "abi": TAG.abi, "platform": TAG.platform}
EVIL_MODULE = b"MARKER = 'planted'\n"

PUBLISHED: dict[str, Callable[[], tuple[str, bytes]]] = {
    "wheel": lambda: build_wheel(NAME, "1.0", marker="honest"),
    "sdist": lambda: build_sdist(NAME, "1.0", marker="honest"),
}
# What lands beside the trusted archive: every one ranks above it for this interpreter.
PLANTS: dict[str, Callable[[], tuple[str, bytes]]] = {
    "best-tag wheel": lambda: build_wheel(NAME, "1.0", marker="planted", **BEST),
    "build-tagged wheel": lambda: build_wheel(NAME, "1.0", marker="planted", build_tag=1),
    "another project's wheel": lambda: build_wheel(
        "zzz", "1.0", extra_files={f"{MODULE}/__init__.py": EVIL_MODULE}, **BEST
    ),
}


def module_text(project: Path) -> str:
    found = list(project.glob(f".venv/lib/python*/site-packages/{MODULE}/__init__.py"))
    return found[0].read_text() if found else ""


def cache_dir_of(project: Project, filename: str) -> Path:
    cache = Path(project.env["POETRY_CACHE_DIR"]) / "artifacts"
    found = [p.parent for p in cache.rglob(filename)]
    assert len(found) == 1, found
    return found[0]


def pinwarden_check(path: Path, env: dict[str, str]) -> int:
    tool = find_tool("pinwarden")
    assert tool is not None
    return subprocess.run([tool, "check"], cwd=path, env=env, capture_output=True, check=False).returncode


@pytest.mark.parametrize("plant", list(PLANTS))
@pytest.mark.parametrize("published", list(PUBLISHED))
def test_a_file_beside_the_linked_archive_is_never_installed(
    tmp_path: Path, published: str, plant: str
) -> None:
    filename, data = PUBLISHED[published]()
    planted_name, planted = PLANTS[plant]()
    index = PackageIndex()
    index.add(NAME, "1.0", filename, data)
    with index.serve():
        project = make_project(tmp_path, index.url, [NAME])
        project.ok("lock", "-n", cold=False)
        project.ok("install", "-n", cold=False)  # the warm cache now holds the trusted archive
        directory = cache_dir_of(project, filename)
        (directory / planted_name).write_bytes(planted)
        shutil.rmtree(project.path / ".venv")
        done = project.poetry("install", "-n", cold=False)
    assert "planted" not in module_text(project.path), done.output
    assert done.code == 0, done.output
    assert "honest" in module_text(project.path)


@pytest.mark.parametrize("published", list(PUBLISHED))
def test_the_linked_archive_with_other_bytes_in_the_cache_is_refused_then_fetched_again(
    tmp_path: Path, published: str
) -> None:
    filename, data = PUBLISHED[published]()
    index = PackageIndex()
    index.add(NAME, "1.0", filename, data)
    with index.serve():
        project = make_project(tmp_path, index.url, [NAME])
        project.ok("lock", "-n", cold=False)
        project.ok("install", "-n", cold=False)
        directory = cache_dir_of(project, filename)
        for other in directory.iterdir():  # Poetry's own build of the sdist goes too
            other.unlink()
        build = build_wheel if published == "wheel" else build_sdist
        other_name, other_bytes = build(NAME, "1.0", marker="planted")
        assert other_name == filename
        (directory / filename).write_bytes(other_bytes)
        shutil.rmtree(project.path / ".venv")
        refused = project.poetry("install", "-n", cold=False)
        assert refused.code == 1 and f"pinwarden: error: {filename}" in refused.output, refused.output
        assert "planted" not in module_text(project.path)
        done = project.poetry("install", "-n", cold=False)  # the refused file left the cache
    assert done.code == 0, done.output
    assert "honest" in module_text(project.path)


@pytest.fixture
def hostile() -> Iterator[HostileIndex]:
    with HostileIndex().serve() as index:
        yield index


def test_find_01_a_refused_archive_is_not_installed_by_the_next_install(
    hostile: HostileIndex, tmp_path: Path
) -> None:
    good_name, good = build_wheel(NAME, "1.0", marker="honest")
    evil_name, evil = build_wheel(NAME, "1.0", marker="planted", **BEST)
    good_row = hostile.row(good_name, "/files/" + good_name, good)
    hostile.pages[NAME] = [good_row]
    hostile.blobs["/files/" + good_name] = good
    project = make_project(tmp_path, hostile.url, [NAME])
    project.ok("lock", "-n", cold=False)
    project.ok("install", "-n", cold=False)

    served = iter([evil])  # the trusted file's URL serves other bytes once
    hostile.pages[NAME] = [good_row, {**good_row, "filename": evil_name}]
    hostile.blobs["/files/" + good_name] = lambda _request: next(served, good)
    shutil.rmtree(project.path / ".venv")
    refused = project.poetry("install", "-n", cold=False)
    assert refused.code == 1 and "pinwarden: error:" in refused.output, refused.output
    assert "planted" not in module_text(project.path)

    hostile.pages[NAME] = [good_row]  # honest again
    shutil.rmtree(project.path / ".venv", ignore_errors=True)
    done = project.poetry("install", "-n", cold=False)
    assert "planted" not in module_text(project.path), done.output
    assert done.code == 0 and "honest" in module_text(project.path), done.output


def test_find_02_a_direct_url_download_the_resolver_made_is_not_installed(
    hostile: HostileIndex, tmp_path: Path
) -> None:
    good_name, good = build_wheel(NAME, "1.0", marker="honest")
    hostile.pages[NAME] = [hostile.row(good_name, "/files/" + good_name, good)]
    hostile.blobs["/files/" + good_name] = good
    project = make_project(tmp_path, hostile.url, [NAME])
    project.ok("lock", "-n", cold=False)
    project.ok("install", "-n", cold=False)
    lock, ledger = project.lock.read_bytes(), project.ledger.read_bytes()

    # The trusted file now sits at a URL naming another wheel, with no digest listed (Poetry hashes
    # the download: poetry.lock stays byte for byte); a new 1.1 needs that URL as `zzz @ URL`, and
    # zzz needs what no index has, so the resolver downloads it, backtracks, and keeps 1.0.
    planted = f"zzz-1.0-{TAG.interpreter}-{TAG.abi}-{TAG.platform}.whl"
    path = "/files/x/" + planted
    module = {f"{MODULE}/__init__.py": EVIL_MODULE}
    evil = build_wheel("zzz", "1.0", requires_dist=["pwplant-nothing>=99"], extra_files=module, **BEST)[1]
    armed: list[bool] = []
    served: list[bool] = []

    def at_path(request: object) -> bytes:
        if armed and not served and not getattr(request, "headers", {}).get("Range"):
            served.append(True)
            return evil
        return good

    new_name, new = build_wheel(NAME, "1.1", requires_dist=[f"zzz @ http://127.0.0.1:{hostile.port}{path}"])

    def newer(_request: object) -> bytes:
        armed.append(True)
        return new

    hostile.blobs[path] = at_path
    hostile.blobs["/files/" + new_name] = newer
    hostile.pages[NAME] = [
        {"filename": good_name, "url": path, "hashes": {}},
        hostile.row(new_name, "/files/" + new_name, new),
    ]
    clone = tmp_path / "clone"  # a fresh checkout: lock and ledger, no virtualenv, the same cache
    clone.mkdir()
    for name in ("pyproject.toml", "poetry.lock", "pinwarden-ledger.toml"):
        shutil.copy(project.path / name, clone / name)
    checkout = Project(path=clone, env=project.env, caches=project.caches)
    done = checkout.poetry("update", "-n", cold=False)
    assert "planted" not in module_text(clone), done.output
    assert clone.joinpath("poetry.lock").read_bytes() == lock
    assert clone.joinpath("pinwarden-ledger.toml").read_bytes() == ledger
    assert "Traceback" not in done.output
