"""pylock.toml files written by the real tools against the local test index, read by pinwarden:
`pip lock` (index wheels and sdists, a build-tagged wheel, a local directory, a direct archive URL,
a git commit) and `uv export --format pylock.toml` from a real `uv lock`. Each is read with the hashes
of the bytes the index serves, and as packaging.pylock and pip read it (tests/test_pylock_diff.py)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_sdist, build_wheel, find_tool, isolated_env
from tests.test_pylock_diff import check_document

from pinwarden.shared.locks import parse_lock_bytes
from pinwarden.shared.locks.pylock import UNVERSIONED
from pinwarden.shared.model import LockedRelease, SourceKind

ALPHA_WHEEL = build_wheel("pw-alpha", "1.0", requires_dist=["pw_beta>=1"])
ALPHA_SDIST = build_sdist("pw-alpha", "1.0", requires_dist=["pw_beta>=1"])
BETA_WHEEL = build_wheel("pw_beta", "2.0", build_tag=1, python_tag="py2.py3")
DELTA_SDIST = build_sdist("pw-delta", "3.0")
ARCHIVE = build_sdist("pw-archive", "4.0")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def index() -> PackageIndex:
    served = PackageIndex()
    served.add("pw-alpha", "1.0", *ALPHA_WHEEL, upload_time="2025-01-01T00:00:00Z")
    served.add("pw-alpha", "1.0", *ALPHA_SDIST, upload_time="2025-01-01T00:00:00Z")
    served.add("pw_beta", "2.0", *BETA_WHEEL, upload_time="2025-01-02T00:00:00Z")
    served.add("pw-delta", "3.0", *DELTA_SDIST, upload_time="2025-01-03T00:00:00Z")
    served.add("pw-archive", "4.0", *ARCHIVE)
    return served


def unpack(sdist: tuple[str, bytes], into: Path) -> Path:
    """A source tree (with the tests' offline build backend) from an sdist."""
    with tarfile.open(fileobj=io.BytesIO(sdist[1])) as archive:
        archive.extractall(into, filter="data")
    return into / sdist[0].removesuffix(".tar.gz")


def git_repo(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    repo = unpack(build_sdist("pw-gitdep", "5.0"), tmp_path / "git")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    run([*git, "init", "-q"], repo, env)
    run([*git, "add", "."], repo, env)
    run([*git, "commit", "-q", "-m", "one"], repo, env)
    return repo, run(["git", "rev-parse", "HEAD"], repo, env).stdout.strip()


def by_name(releases: tuple[LockedRelease, ...]) -> dict[str, LockedRelease]:
    assert len({r.name for r in releases}) == len(releases)
    return {r.name: r for r in releases}


@pytest.mark.skipif(find_tool("git") is None, reason="git is not installed")
def test_pip_lock_output_reads_with_the_served_hashes(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    work = tmp_path / "work"
    local = unpack(build_sdist("pw-local", "6.0"), work / "src")  # pip lock writes it relative to the lock
    repo, commit = git_repo(tmp_path, env)
    served = index()
    with served.serve() as url:
        archive_url = url.replace("/simple/", f"/files/pw-archive/{ARCHIVE[0]}")
        requirements = [
            "pw-alpha==1.0",
            "pw-delta==3.0",
            f"pw-archive @ {archive_url}",
            f"pw-gitdep @ git+{repo.as_uri()}@{commit}",
            str(local),
        ]
        argv = [sys.executable, "-m", "pip", "lock", "--index-url", url, "-o", "pylock.toml", *requirements]
        run(argv, work, env)
    data = (work / "pylock.toml").read_bytes()
    assert b'created-by = "pip"' in data
    lock = parse_lock_bytes(data, "pylock.toml")
    assert check_document(data.decode()) == "read"
    got = by_name(lock.releases)
    assert set(got) == {"pw-alpha", "pw-beta", "pw-delta", "pw-archive", "pw-gitdep", "pw-local"}

    alpha, beta, delta = got["pw-alpha"], got["pw-beta"], got["pw-delta"]
    assert [(f.filename, str(f.hash)) for f in alpha.files] == [(ALPHA_WHEEL[0], sha256(ALPHA_WHEEL[1]))]
    assert [(f.filename, str(f.hash)) for f in beta.files] == [(BETA_WHEEL[0], sha256(BETA_WHEEL[1]))]
    assert [(f.filename, str(f.hash)) for f in delta.files] == [(DELTA_SDIST[0], sha256(DELTA_SDIST[1]))]
    assert (alpha.version, beta.version, delta.version) == ("1", "2", "3")
    assert all(r.source_kind is SourceKind.INDEX for r in (alpha, beta, delta))
    assert alpha.files[0].url and alpha.files[0].url.startswith("http://127.0.0.1:")

    archive = got["pw-archive"]
    assert (archive.source_kind, archive.version, archive.version_from_filename) == (
        SourceKind.URL,
        "4",
        True,
    )
    assert {(f.filename, str(f.hash)) for f in archive.files} == {(ARCHIVE[0], sha256(ARCHIVE[1]))}

    gitdep = got["pw-gitdep"]
    assert (gitdep.source_kind, gitdep.source_reference, gitdep.version) == (
        SourceKind.GIT,
        commit,
        UNVERSIONED,
    )
    assert gitdep.source_identity == f"git+{repo.as_uri()}@{commit}"

    directory = got["pw-local"]
    assert (directory.source_kind, directory.version, directory.files) == (
        SourceKind.DIRECTORY,
        UNVERSIONED,
        (),
    )
    assert (work / (directory.source_url or "")).resolve() == local.resolve()


def test_uv_export_of_a_real_uv_lock_reads_with_sizes_times_and_index(tmp_path: Path) -> None:
    uv = Path(sys.executable).parent / "uv"
    if not uv.is_file():
        pytest.skip("uv is not installed beside the interpreter")
    env = {k: v for k, v in isolated_env(tmp_path).items() if not k.startswith("UV_")}
    env.update(UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_PYTHON_DOWNLOADS="never", UV_NO_CONFIG="1")
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo-app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["pw-alpha==1.0", "pw-delta==3.0"]\n'
    )
    served = index()
    with served.serve() as url:
        common = ["--python", sys.executable, "--default-index", url]
        run([str(uv), "lock", *common], project, env)
        run([str(uv), "export", "--format", "pylock.toml", "-o", "pylock.toml", *common], project, env)
    data = (project / "pylock.toml").read_bytes()
    assert b'created-by = "uv"' in data
    lock = parse_lock_bytes(data, "pylock.toml")
    assert check_document(data.decode()) == "read"
    assert lock.index_urls == (url,)
    got = by_name(lock.releases)
    assert set(got) == {"pw-alpha", "pw-beta", "pw-delta"}
    expected = {
        "pw-alpha": {ALPHA_WHEEL, ALPHA_SDIST},
        "pw-beta": {BETA_WHEEL},
        "pw-delta": {DELTA_SDIST},
    }
    for name, files in expected.items():
        release = got[name]
        assert release.source_url == url
        assert {(f.filename, str(f.hash), f.size) for f in release.files} == {
            (filename, sha256(content), len(content)) for filename, content in files
        }
        times = {f.upload_time for f in release.files}
        assert times == {served.files(name)[next(iter(files))[0]].upload_time}, times
