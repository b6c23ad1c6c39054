"""The distribution as users get it: built with `python -m build`, installed into fresh virtualenvs
beside the lowest and newest supported Poetry and pip-tools, guarding a project against a local index.

Everything is installed offline from `build/wheelhouse` (`make wheelhouse`, run by `make test` and
by .ci/run while the network is there); without it these tests skip and say why.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from tests.support.index import (
    PackageIndex,
    build_sdist,
    build_wheel,
    find_tool,
    isolated_env,
    poetry_project,
    unbound,
)

ROOT = Path(__file__).parents[1]
WHEELHOUSE = ROOT / "build" / "wheelhouse"
NAME = "pwpack-alpha"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (WHEELHOUSE / ".done").exists(), reason="no build/wheelhouse: run `make wheelhouse`"
    ),
]


def offline_env(tmp: Path) -> dict[str, str]:
    env = isolated_env(tmp)
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELHOUSE))
    return env


def run(args: list[str], env: dict[str, str], cwd: Path | None = None, code: int = 0) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == code, f"{args} exited {done.returncode}, not {code}\n{output}"
    return output


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], offline_env(out))
    return out


def the_wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("pinwarden-*.whl")
    return wheel


def test_wheel_and_sdist_metadata_are_complete(dist: Path) -> None:
    (sdist,) = dist.glob("pinwarden-*.tar.gz")
    with zipfile.ZipFile(the_wheel(dist)) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(info).decode())
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert meta["Name"] == "pinwarden" and meta["Version"]
    assert meta["Summary"] and meta["Requires-Python"] == ">=3.10"
    assert meta["License-Expression"] == "MIT" or meta["License"]
    assert "Topic :: Security" in meta.get_all("Classifier")
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist")]
    core = {r.name for r in requires if r.marker is None}
    assert core >= {"packaging", "filelock", "requests"}
    assert not core & {"poetry", "pip-tools", "pip"}, "neither host tool is forced on the other's users"
    assert any(
        r.name == "pip-tools" and r.marker and r.marker.evaluate({"extra": "pip-tools"}) for r in requires
    )
    assert set(meta.get_all("Provides-Extra")) >= {"pip-tools", "poetry"}
    assert meta.get_payload().startswith("# pinwarden"), "the README is the long description"
    for group in ("[console_scripts]", "[poetry.application.plugin]", "[poetry.plugin]"):
        assert group in entry_points
    assert "pinwarden/shared/ledger.py" in names and "pinwarden/py.typed" in names
    assert not [n for n in names if n.startswith("tests/")]
    assert sdist.stat().st_size > 0


def fresh_venv(tmp: Path, *requirements: str) -> Path:
    """A new virtualenv with the requirements installed from the wheelhouse alone."""
    venv = tmp / "venv"
    env = offline_env(tmp)
    run([sys.executable, "-m", "venv", str(venv)], env)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements], env)
    return venv / "bin"


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    served = PackageIndex()
    served.add(NAME, "1.0", *build_wheel(NAME, "1.0"))
    served.add(NAME, "1.0", *build_sdist(NAME, "1.0"))
    with served.serve():
        yield served


@pytest.mark.parametrize("poetry_version", ["2.1.4", "2.5.1"])
def test_poetry_plugin_from_the_wheel(
    poetry_version: str, dist: Path, index: PackageIndex, tmp_path: Path
) -> None:
    env = isolated_env(tmp_path)
    bin_dir = fresh_venv(tmp_path, f"poetry=={poetry_version}", str(the_wheel(dist)))
    poetry = str(bin_dir / "poetry")
    assert "pinwarden check" in run([poetry, "list"], env)
    assert "--reason" in run([poetry, "pinwarden", "approve", "--help"], env)

    project = tmp_path / "project"
    poetry_project(project, index.url, [f"{NAME}>=1.0"])
    run([poetry, "lock", "-n"], env, cwd=project)
    assert (project / "pinwarden-ledger.toml").is_file(), "first lock trusts on first use"
    lock = (project / "poetry.lock").read_bytes()

    index.add(NAME, "1.0", *build_wheel(NAME, "1.0", build_tag=1, marker="late"))
    cold = {**env, "POETRY_CACHE_DIR": str(tmp_path / "cold-cache")}
    output = run([poetry, "lock", "-n"], cold, cwd=project, code=1)
    assert f"poetry pinwarden approve --from-index {NAME}==1" in [
        unbound(line.strip()) for line in output.splitlines()
    ]
    assert (project / "poetry.lock").read_bytes() == lock


@pytest.mark.parametrize("piptools_version", ["7.4.1", "7.6.2"])
def test_pip_compile_wrapper_from_the_wheel(
    piptools_version: str, dist: Path, index: PackageIndex, tmp_path: Path
) -> None:
    env = isolated_env(tmp_path)
    bin_dir = fresh_venv(tmp_path, f"pip-tools=={piptools_version}", f"{the_wheel(dist)}[pip-tools]")
    pinwarden = str(bin_dir / "pinwarden")
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.in").write_text(f"{NAME}\n")
    base = [pinwarden, "pip-compile", "--index-url", index.url, "--cache-dir", str(tmp_path / "cache")]
    run([*base, "requirements.in"], env, cwd=project)
    assert (project / "pinwarden-ledger.toml").is_file()
    output_file = (project / "requirements.txt").read_bytes()

    index.add(NAME, "1.0", *build_wheel(NAME, "1.0", build_tag=1, marker="late"))
    output = run([*base, "-U", "requirements.in"], env, cwd=project, code=1)
    assert f"pinwarden approve {NAME}==1 --from-index" in output
    assert (project / "requirements.txt").read_bytes() == output_file


def _git(cwd: Path, *args: str) -> str:
    env = {
        **isolated_env(cwd.parent),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return run(["git", *args], env, cwd=cwd)


def test_pre_commit_hook_checks_a_sample_repository(tmp_path: Path) -> None:
    pre_commit = find_tool("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed")
    head = _git(ROOT, "rev-parse", "HEAD").strip()
    if ".pre-commit-hooks.yaml" not in _git(ROOT, "ls-tree", "--name-only", head):
        pytest.skip("the hook definition is not committed yet")
    sample = tmp_path / "sample"
    sample.mkdir()
    _git(sample, "init", "-q")
    lock = (ROOT / "demo" / "sample" / "poetry.lock").read_text()
    (sample / "poetry.lock").write_text(lock)
    run([sys.executable, "-m", "pinwarden", "init"], isolated_env(tmp_path), cwd=sample)
    (sample / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {head}\n  hooks:\n  - id: pinwarden-check\n"
    )
    _git(sample, "add", "-A")
    _git(sample, "commit", "-qm", "sample")
    env = {**offline_env(tmp_path), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    env.update(GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    assert "pinwarden check" in run([pre_commit, "run", "--all-files"], env, cwd=sample)

    digest = lock.split('hash = "sha256:', 1)[1][:64]
    (sample / "poetry.lock").write_text(lock.replace(digest, "0" * 64, 1))
    _git(sample, "add", "poetry.lock")
    output = run([pre_commit, "run", "--all-files"], env, cwd=sample, code=1)
    assert "CHANGED" in output and "pinwarden approve" in output
