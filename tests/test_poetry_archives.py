"""Issue 10: Poetry builds a downloaded sdist before it checks the archive's hash.

`Executor._download_link` runs the sdist's build backend (arbitrary code) and only then compares the
archive with poetry.lock. The plugin checks every downloaded archive first (`shared/archives.py`):
a name the lock lists for the package and bytes that give one of its strong digests, or nothing is
built and nothing installed. The e2e tests swap a trusted version's files on an index whose page still
lists the old digests (a mirror whose pages and files disagree: Poetry's Chooser trusts the page), in
several shapes, through real `poetry install`, `sync`, `add` and `update`; the swapped build backend
writes a marker file, which must never appear.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.support.guarded_project import Done, Project, copy_project, make_project
from tests.support.index import PackageIndex, build_sdist, build_wheel, isolated_env

from pinwarden.poetry_plugin.guard import PoetryGuard, guard_installer
from pinwarden.shared.archives import ArchiveRefused, ArchiveVerdict, verify_archive
from pinwarden.shared.model import FileHash, NormalizedName

ROOT = Path(__file__).parents[1]
WHEELHOUSE = ROOT / "build" / "wheelhouse"
DEMO = NormalizedName("demo")
BACKEND = "_backend/pinwarden_test_backend.py"


def digest(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def archive(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- shared/archives.py ------------------------------------------------------------------------


def test_an_archive_the_lock_pins_passes(tmp_path: Path) -> None:
    path = archive(tmp_path, "demo-1.0.tar.gz", b"sdist")
    verdict = verify_archive(path, DEMO, "1.0", {"demo-1.0.tar.gz": {digest(b"sdist")}})
    assert verdict == ArchiveVerdict("demo-1.0.tar.gz", "demo-1.0.tar.gz", FileHash.parse(digest(b"sdist")))


def test_other_bytes_are_refused_naming_file_expected_and_actual(tmp_path: Path) -> None:
    path = archive(tmp_path, "demo-1.0.tar.gz", b"evil")
    with pytest.raises(ArchiveRefused) as refused:
        verify_archive(path, DEMO, "1.0", {"demo-1.0.tar.gz": {digest(b"sdist")}})
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("demo-1.0.tar.gz (demo 1) does not match poetry.lock")
    assert f"expected {digest(b'sdist')}, got {digest(b'evil')}" in message


@pytest.mark.parametrize(
    "name",
    [
        "demo-1.0-py3-none-any.whl",  # listed is only the sdist
        "demo-2.0.tar.gz",  # another version
        "other-1.0.tar.gz",  # another project
        "demo-1.0.exe",  # a name no installer reads is only itself
    ],
)
def test_a_name_the_lock_does_not_list_is_refused(tmp_path: Path, name: str) -> None:
    data = b"sdist"
    path = archive(tmp_path, name, data)
    with pytest.raises(ArchiveRefused, match=r"is not a file poetry\.lock lists for it"):
        verify_archive(path, DEMO, "1.0", {"demo-1.0.tar.gz": {digest(data)}})


def test_a_package_locked_without_files_is_refused(tmp_path: Path) -> None:
    path = archive(tmp_path, "demo-1.0.tar.gz", b"sdist")
    with pytest.raises(ArchiveRefused, match=r"locked files: none"):
        verify_archive(path, DEMO, "1.0", {})


@pytest.mark.parametrize(
    ("name", "listed"),
    [
        ("Demo-1.0.0-py3-none-any.whl", "demo-1.0-py3-none-any.whl"),
        ("demo-1.0.zip", "demo-1.0.tar.gz"),  # an sdist is its project and version, whatever the archive
    ],
)
def test_another_spelling_of_a_listed_file_is_held_to_its_digests(
    tmp_path: Path, name: str, listed: str
) -> None:
    path = archive(tmp_path, name, b"bytes")
    assert verify_archive(path, DEMO, "1", {listed: {digest(b"bytes")}}).listed_as == listed
    with pytest.raises(ArchiveRefused, match=f"does not match poetry.lock's {listed}: expected"):
        verify_archive(path, DEMO, "1", {listed: {digest(b"other")}})


@pytest.mark.parametrize(
    "pins",
    [
        {digest(b"other"), digest(b"x", "sha512"), digest(b"data", "sha512")},
        {digest(b"data"), digest(b"other", "sha384")},  # any strong pin the bytes give
        {digest(b"other"), digest(b"data")},  # the lock lists the file twice
        {digest(b"data", "sha384")},
        {digest(b"data").upper().replace("SHA256", "sha256"), "md5:" + "0" * 32},
    ],
)
def test_bytes_matching_any_strong_pin_pass(tmp_path: Path, pins: set[str]) -> None:
    path = archive(tmp_path, "demo-1.0.tar.gz", b"data")
    verdict = verify_archive(path, DEMO, "1.0", {"demo-1.0.tar.gz": pins})
    assert digest(b"data", verdict.digest.algorithm) == str(verdict.digest)


def test_a_mismatch_is_reported_in_the_strongest_pinned_algorithm(tmp_path: Path) -> None:
    path = archive(tmp_path, "demo-1.0.tar.gz", b"evil")
    pins = {digest(b"data"), digest(b"data", "sha512")}
    with pytest.raises(ArchiveRefused, match=f"expected {digest(b'data', 'sha512')}, got sha512:"):
        verify_archive(path, DEMO, "1.0", {"demo-1.0.tar.gz": pins})


@pytest.mark.parametrize(
    "pins",
    [
        {digest(b"data", "md5")},
        {digest(b"data", "sha1"), digest(b"data", "md5")},
        {digest(b"data", "sha224")},
        {digest(b"data", "blake2b")},  # hashlib knows it; pinwarden never trusts it
        {"sha256"},  # no digest at all
    ],
)
def test_only_weak_or_unknown_pins_are_refused_even_when_they_match(tmp_path: Path, pins: set[str]) -> None:
    path = archive(tmp_path, "demo-1.0.tar.gz", b"data")
    with pytest.raises(ArchiveRefused, match=r"pinned by no sha256, sha384 or sha512 digest"):
        verify_archive(path, DEMO, "1.0", {"demo-1.0.tar.gz": pins})


def test_a_large_archive_is_hashed_whole(tmp_path: Path) -> None:
    data = bytes(range(256)) * 20_000  # 5 MB: several reads
    path = archive(tmp_path, "demo-1.0.tar.gz", data)
    assert verify_archive(path, DEMO, "1.0", {"demo-1.0.tar.gz": {digest(data, "sha384")}})
    with pytest.raises(ArchiveRefused):
        verify_archive(path, DEMO, "1.0", {"demo-1.0.tar.gz": {digest(data[:-1], "sha384")}})


# -- the wrapper around Executor._download_link, with a fake executor ------------------------------


class FakeCache:
    """Poetry's ArtifactCache as `_download_link` uses it: one directory per link."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get_cached_archive_for_link(
        self, link: Any, *, strict: bool, env: Any = None, download_func: Any = None
    ) -> Path | None:
        path = self.root / link.filename
        if strict and download_func is not None and not path.exists():
            download_func(link.url, path)
        return path if path.exists() else None


class FakeExecutor:
    def __init__(self, root: Path, served: bytes) -> None:
        self._artifact_cache = FakeCache(root)
        self._env = object()
        self.served = served
        self.built: list[str] = []
        self.executed: list[Any] = []

    def _download_archive(self, operation: Any, url: str, dest: Path) -> None:
        dest.write_bytes(self.served)

    def _download_link(self, operation: Any, link: Any) -> Path:
        self.built.append(link.filename)  # Poetry would build the sdist here
        return self._artifact_cache.root / link.filename

    def execute(self, operations: list[Any]) -> int:
        self.executed.extend(operations)
        return 0


@dataclass
class FakeInstaller:
    executor: Any

    def set_locker(self, locker: object) -> None:
        pass

    def is_dry_run(self) -> bool:
        return False

    def is_updating(self) -> bool:
        return False


class StubGuard(PoetryGuard):
    """A guard whose reviews pass: what is under test is the download check and the fail-closed path."""

    def __init__(self) -> None:
        self.poetry = SimpleNamespace(locker=object())  # type: ignore[assignment]

    def review_install(self, packages: list[Any], *, writes: bool) -> None:
        pass

    def review_builds(self, packages: list[Any], chosen: Callable[[Any], str | None]) -> None:
        pass


def operation(files: list[dict[str, str]]) -> Any:
    package = SimpleNamespace(name="demo", pretty_version="1.0", files=files)
    return SimpleNamespace(package=package, job_type="install", skipped=False)


INTERNALS = ("_download_link", "_artifact_cache", "_download_archive", "_env")
LINK = SimpleNamespace(filename="demo-1.0.tar.gz", url="http://127.0.0.1:9/files/demo/demo-1.0.tar.gz")


@pytest.mark.parametrize(("served", "builds"), [(b"sdist", True), (b"evil", False)])
def test_the_archive_is_checked_before_poetry_may_build_it(
    tmp_path: Path, served: bytes, builds: bool
) -> None:
    from poetry.console.exceptions import PoetryRuntimeError

    executor = FakeExecutor(tmp_path, served)
    guard_installer(FakeInstaller(executor), StubGuard())  # type: ignore[arg-type]
    op = operation([{"file": "demo-1.0.tar.gz", "hash": digest(b"sdist")}])
    if builds:
        assert executor._download_link(op, LINK) == tmp_path / "demo-1.0.tar.gz"
    else:
        with pytest.raises(PoetryRuntimeError, match=r"pinwarden: error: demo-1\.0\.tar\.gz \(demo 1\)"):
            executor._download_link(op, LINK)
    assert executor.built == (["demo-1.0.tar.gz"] if builds else [])


class PreferringCache(FakeCache):
    """Like Poetry's cache: a non-strict lookup gives the directory's best-ranked archive, here the
    planted one, whatever put it there (a page giving two files one URL, a direct URL's download
    cached by URL, an earlier build)."""

    def __init__(self, root: Path, planted: Path) -> None:
        super().__init__(root)
        self.planted = planted

    def get_cached_archive_for_link(
        self, link: Any, *, strict: bool, env: Any = None, download_func: Any = None
    ) -> Path | None:
        if not strict:
            return self.planted
        return super().get_cached_archive_for_link(link, strict=strict, env=env, download_func=download_func)


PLANTED = [
    "demo-1.0-py3-none-any.whl",  # a name the lock may list, with other bytes
    "demo-1.0-1-py3-none-any.whl",  # a build tag outranking it
    "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    "zzz-1.0-py3-none-any.whl",  # another project's wheel, holding this one's module
    "demo-1.0.zip",  # another archive of the sdist
]


@pytest.mark.parametrize("planted", PLANTED)
@pytest.mark.parametrize("listed", [False, True], ids=["unlisted", "listed"])
def test_the_executor_only_ever_gets_the_checked_archive_the_link_names(
    tmp_path: Path, planted: str, listed: bool
) -> None:
    """Poetry installs the link cache directory's best archive for the environment; behind the guard
    every lookup gives the archive the link names, the one that was checked (round 4, finds 01, 02)."""
    executor = FakeExecutor(tmp_path, b"sdist")
    (tmp_path / planted).write_bytes(b"planted")
    executor._artifact_cache = PreferringCache(tmp_path, tmp_path / planted)
    guard_installer(FakeInstaller(executor), StubGuard())  # type: ignore[arg-type]
    linked = tmp_path / "demo-1.0.tar.gz"
    files = [{"file": "demo-1.0.tar.gz", "hash": digest(b"sdist")}]
    files += [{"file": planted, "hash": digest(b"planted")}] if listed else []
    assert executor._download_link(operation(files), LINK) == linked
    assert executor._artifact_cache.get_cached_archive_for_link(LINK, strict=False, env=object()) == linked
    assert executor.built == ["demo-1.0.tar.gz"]


def test_a_refused_archive_is_removed_from_the_cache(tmp_path: Path) -> None:
    from poetry.console.exceptions import PoetryRuntimeError

    executor = FakeExecutor(tmp_path, b"evil")
    guard_installer(FakeInstaller(executor), StubGuard())  # type: ignore[arg-type]
    with pytest.raises(PoetryRuntimeError):
        executor._download_link(operation([{"file": "demo-1.0.tar.gz", "hash": digest(b"sdist")}]), LINK)
    assert not (tmp_path / "demo-1.0.tar.gz").exists()  # a later honest run downloads it again
    executor.served = b"sdist"
    files = [{"file": "demo-1.0.tar.gz", "hash": digest(b"sdist")}]
    assert executor._download_link(operation(files), LINK) == tmp_path / "demo-1.0.tar.gz"


@pytest.mark.parametrize("missing", ["_download_link", "_artifact_cache", "_download_archive", "_env"])
def test_an_executor_whose_internals_moved_installs_nothing(tmp_path: Path, missing: str) -> None:
    from poetry.console.exceptions import PoetryRuntimeError

    full = FakeExecutor(tmp_path, b"sdist")
    parts = {name: getattr(full, name) for name in ("execute", *INTERNALS)}
    del parts[missing]
    executor = SimpleNamespace(**parts)
    guard_installer(FakeInstaller(executor), StubGuard())  # type: ignore[arg-type]
    with pytest.raises(PoetryRuntimeError, match=f"pinwarden: error: .*no {missing}.*nothing was installed"):
        executor.execute([operation([])])
    assert full.executed == []
    assert full.built == []


def test_an_artifact_cache_without_its_lookup_installs_nothing(tmp_path: Path) -> None:
    from poetry.console.exceptions import PoetryRuntimeError

    executor = FakeExecutor(tmp_path, b"sdist")
    executor._artifact_cache = object()  # type: ignore[assignment]
    guard_installer(FakeInstaller(executor), StubGuard())  # type: ignore[arg-type]
    with pytest.raises(PoetryRuntimeError, match=r"get_cached_archive_for_link"):
        executor.execute([operation([])])
    assert executor.executed == []


# -- real Poetry against an index whose files were swapped after locking ---------------------------


class LyingIndex(PackageIndex):
    """Lists a swapped file with the digest of the bytes it replaced: Poetry's Chooser trusts the
    page's digest, so only the archive's own bytes can tell."""

    def __init__(self) -> None:
        super().__init__()
        self.listed_as: dict[bytes, bytes] = {}

    def _digest(self, data: bytes) -> str:
        return super()._digest(self.listed_as.get(data, data))

    def swap(self, name: str, filename: str, data: bytes, *, served_as: str | None = None) -> None:
        """Serve `data` in place of `filename`'s bytes, under `served_as` (another name) if given."""
        original = self.files(name)[filename]
        self.listed_as[data] = original.data
        if served_as is None:
            self.replace(name, filename, data)
        else:
            self.remove(name, filename)
            self.add(name, original.version, served_as, data)


def with_payload(filename: str, data: bytes, marker: Path, *, compression: str = "gz") -> bytes:
    """The sdist with its in-tree build backend writing `marker` when imported: proof a build ran."""
    payload = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('built')\n".encode()
    if filename.endswith(".zip"):
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                body = src.read(info)
                dst.writestr(info, payload + body if info.filename.endswith(BACKEND) else body)
        return out.getvalue()
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(data)) as src,
        tarfile.open(fileobj=out, mode=f"w:{compression}") as dst,
    ):
        for info in src.getmembers():
            body = src.extractfile(info).read() if info.isfile() else None  # type: ignore[union-attr]
            if body is not None and info.name.endswith(BACKEND):
                body = payload + body
                info.size = len(body)
            dst.addfile(info, None if body is None else io.BytesIO(body))
    return out.getvalue()


@dataclass(frozen=True)
class Shape:
    """A trusted version as published, and how the index swaps it after locking; `refused` is the
    file the refusal names."""

    publish: Callable[[str], list[tuple[str, bytes]]]
    swap: Callable[[LyingIndex, str, list[tuple[str, bytes]], Path], None]
    refused: Callable[[str], str]


def _dist(name: str) -> str:
    return name.replace("-", "_")


def _swap_same_name(
    compression: str = "gz",
) -> Callable[[LyingIndex, str, list[tuple[str, bytes]], Path], None]:
    def swap(index: LyingIndex, name: str, files: list[tuple[str, bytes]], marker: Path) -> None:
        for filename, data in files:
            evil = (
                build_wheel(name, "1.0", marker="evil")[1]
                if filename.endswith(".whl")
                else with_payload(filename, data, marker, compression=compression)
            )
            index.swap(name, filename, evil)

    return swap


def _swap_to_unlisted_name(
    index: LyingIndex, name: str, files: list[tuple[str, bytes]], marker: Path
) -> None:
    (filename, _), *_ = files
    served_as = filename.removesuffix(".tar.gz") + ".zip"
    evil = with_payload(served_as, build_sdist(name, "1.0", suffix=".zip")[1], marker)
    index.swap(name, filename, evil, served_as=served_as)


SHAPES: dict[str, Shape] = {
    "tar-gz": Shape(lambda n: [build_sdist(n, "1.0")], _swap_same_name(), lambda n: f"{_dist(n)}-1.0.tar.gz"),
    "zip": Shape(
        lambda n: [build_sdist(n, "1.0", suffix=".zip")], _swap_same_name(), lambda n: f"{_dist(n)}-1.0.zip"
    ),
    # bzip2 bytes under the .tar.gz name: Poetry's build unpacks them all the same
    "recompressed": Shape(
        lambda n: [build_sdist(n, "1.0")], _swap_same_name("bz2"), lambda n: f"{_dist(n)}-1.0.tar.gz"
    ),
    # both files swapped: Poetry chooses the wheel, and is stopped at it
    "wheel-too": Shape(
        lambda n: [build_sdist(n, "1.0"), build_wheel(n, "1.0")],
        _swap_same_name(),
        lambda n: f"{_dist(n)}-1.0-py3-none-any.whl",
    ),
    # the locked .tar.gz gone, a .zip listed with its digest in its place
    "unlisted-name": Shape(
        lambda n: [build_sdist(n, "1.0")], _swap_to_unlisted_name, lambda n: f"{_dist(n)}-1.0.zip"
    ),
}
OTHER = "pwarch-other"


@dataclass
class Swapped:
    name: str
    template: Project
    marker: Path


@pytest.fixture(scope="module")
def index() -> Iterator[LyingIndex]:
    index = LyingIndex()
    index.add(OTHER, "1.0", *build_wheel(OTHER, "1.0"))
    with index.serve():
        yield index


@pytest.fixture(scope="module")
def swapped(index: LyingIndex, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Swapped]:
    """Per shape, once: its package published, a project locking it (trusted on first use), then the
    index's swap. Each test copies the locked project."""
    made: dict[str, Swapped] = {}

    def make(shape: str) -> Swapped:
        if shape not in made:
            name = f"pwarch-{shape}"
            files = SHAPES[shape].publish(name)
            for filename, data in files:
                index.add(name, "1.0", filename, data)
            root = tmp_path_factory.mktemp(shape)
            project = make_project(root, index.url, [name])
            assert "on first use (" in project.ok("lock", "-n").output
            marker = root / "BUILT"
            SHAPES[shape].swap(index, name, files, marker)
            made[shape] = Swapped(name, project, marker)
        return made[shape]

    return make


def installed(project: Project) -> set[str]:
    site = project.path.glob(".venv/lib/python*/site-packages/pwarch_*")
    return {p.name for p in site if not p.name.endswith(".dist-info")}


def run_refused(
    swapped: Swapped, tmp_path: Path, *args: str, poetry: str | None = None
) -> tuple[Project, str]:
    project = copy_project(swapped.template, tmp_path)
    swapped.marker.unlink(missing_ok=True)
    lock = project.lock_text()
    if poetry is None:
        done = project.poetry(*args)
    else:
        env = {**project.env, "POETRY_CACHE_DIR": str(tmp_path / "cold-cache")}
        ran = subprocess.run(
            [poetry, *args], cwd=project.path, env=env, capture_output=True, text=True, check=False
        )
        done = Done(ran.returncode, ran.stdout, ran.stderr)
    assert done.code == 1, done.output
    assert not swapped.marker.exists(), "the swapped build backend ran"
    assert "Traceback" not in done.output
    assert project.lock_text() == lock
    return project, done.output


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["install", "sync"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_swapped_archive_is_never_built_nor_installed(
    swapped: Callable[[str], Swapped], tmp_path: Path, shape: str, command: str
) -> None:
    case = swapped(shape)
    project, output = run_refused(case, tmp_path, command, "-n")
    assert f"pinwarden: error: {SHAPES[shape].refused(case.name)} ({case.name} 1)" in output
    assert installed(project) == set()


@pytest.mark.e2e
@pytest.mark.parametrize("shape", ["tar-gz", "unlisted-name"])
def test_add_and_update_never_build_a_swapped_archive(
    swapped: Callable[[str], Swapped], tmp_path: Path, shape: str
) -> None:
    case = swapped(shape)
    refusal = f"pinwarden: error: {SHAPES[shape].refused(case.name)} ({case.name} 1)"
    project, output = run_refused(case, tmp_path / "add", "add", OTHER, "-n")
    assert refusal in output
    assert _dist(case.name) not in installed(project)
    project, output = run_refused(case, tmp_path / "update", "update", "-n")
    assert refusal in output
    assert installed(project) == set()


@pytest.mark.e2e
def test_unswapped_archives_still_install(index: LyingIndex, tmp_path: Path) -> None:
    name = "pwarch-honest"
    index.add(name, "1.0", *build_sdist(name, "1.0"))
    project = make_project(tmp_path, index.url, [name, OTHER])
    project.ok("install", "-n", cold=False)
    assert installed(project) == {_dist(name), _dist(OTHER)}
    # Again with the warm artifact cache: Poetry's own wheel built from the checked sdist lies beside it.
    shutil.rmtree(project.path / ".venv")
    project.ok("sync", "-n", cold=False)
    assert installed(project) == {_dist(name), _dist(OTHER)}


@pytest.fixture(scope="module")
def oldest_poetry(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Poetry 2.1.4 (the oldest supported) with this pinwarden, from build/wheelhouse alone."""
    if not (WHEELHOUSE / ".done").exists():
        pytest.skip("no build/wheelhouse: run `make wheelhouse`")
    tmp = tmp_path_factory.mktemp("poetry-2.1.4")
    env = {**isolated_env(tmp), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE)}
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], env=env, check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "poetry==2.1.4", str(ROOT)], env=env, check=True, capture_output=True)
    return str(venv / "bin" / "poetry")


@pytest.mark.e2e
@pytest.mark.parametrize("shape", ["tar-gz", "unlisted-name"])
def test_the_oldest_supported_poetry_never_builds_a_swapped_archive(
    swapped: Callable[[str], Swapped], oldest_poetry: str, tmp_path: Path, shape: str
) -> None:
    """Poetry 2.1.4 checks no archive the lock does not list by name: without the plugin's check it
    builds and installs the unlisted .zip."""
    case = swapped(shape)
    project, output = run_refused(case, tmp_path, "install", "-n", poetry=oldest_poetry)
    assert f"pinwarden: error: {SHAPES[shape].refused(case.name)} ({case.name} 1)" in output
    assert installed(project) == set()
