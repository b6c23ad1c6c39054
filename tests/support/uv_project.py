"""The real uv in tests: an isolated environment, local projects it can build offline, and `uv export`
as the oracle of what uv reads from a uv.lock.

uv is found beside the running interpreter (the dev extras install it into the venv). It runs with
no inherited UV_*/PIP_* settings, its cache and XDG directories under the test's tmp_path, no Python
downloads, no config files, and never the network beyond the 127.0.0.1 index a test serves.

`uv_project` (for the `pinwarden uv` tests and the benchmarks): a project whose only index is a
local one (UV_DEFAULT_INDEX, what a user's uv.toml would say, so that the commands under test are
the user's own words), run through `pinwarden uv` or plain uv.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.support.compiled_project import ALPHA, BETA, BETA_WHEEL, SDIST, WHEEL
from tests.support.index import PackageIndex, find_tool, isolated_env

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

__all__ = [
    "BACKEND",
    "UvProject",
    "export_pylock",
    "local_project",
    "ok",
    "run_uv",
    "uv_env",
    "uv_project",
    "uv_tool",
]

# The oracle's command: everything the lock holds (the root project too), as uv's installer reads it,
# from the lock alone.
EXPORT = ["export", "--frozen", "--format", "pylock.toml", "--all-extras", "--all-groups", "--all-packages",
          "--no-header"]  # fmt: skip


def uv_tool() -> str:
    path = find_tool("uv")
    if path is None:
        pytest.skip("uv is not installed (pip install -e '.[dev]')")
    return path


def uv_env(tmp_path: Path, index_url: str | None = None) -> dict[str, str]:
    """With `index_url`: that index is uv's only one, and this interpreter its Python."""
    env = {k: v for k, v in isolated_env(tmp_path).items() if not k.startswith("UV_")}
    env.update(
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_CONFIG="1",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
    )
    if index_url is not None:
        env.update(UV_DEFAULT_INDEX=index_url, UV_PYTHON=sys.executable, UV_NO_PROGRESS="1")
    return env


def run_uv(
    args: list[str], cwd: Path, env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    argv = [uv_tool(), *args]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    if check:
        assert done.returncode == 0, f"{argv} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def export_pylock(project: Path, env: dict[str, str]) -> dict[str, Any] | str:
    """uv's reading of `project/uv.lock` as a pylock.toml document, or uv's error text."""
    done = run_uv([*EXPORT, "--python", sys.executable], project, {**env, "UV_OFFLINE": "1"}, check=False)
    if done.returncode != 0:
        return done.stderr.strip() or f"exit {done.returncode}"
    return tomllib.loads(done.stdout)


# A PEP 517 backend with no requirements: name from pyproject.toml, version from there or from a
# VERSION file (a dynamic version), wheels and editables built from a package directory.
BACKEND = """\
import base64, hashlib, os, tarfile, zipfile
try:
    import tomllib
except ImportError:
    import tomli as tomllib


def _meta():
    with open("pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    version = project.get("version")
    if version is None:
        with open("VERSION") as f:
            version = f.read().strip()
    return project["name"].replace("-", "_").lower(), version, project["name"]


def _metadata():
    _, version, name = _meta()
    return f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n"


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist, version, _ = _meta()
    info = f"{dist}-{version}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "w") as f:
        f.write(_metadata())
    return info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_sdist = get_requires_for_build_wheel


def _wheel(directory, members):
    dist, version, _ = _meta()
    info = f"{dist}-{version}.dist-info"
    members = dict(members)
    members[f"{info}/METADATA"] = _metadata().encode()
    members[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    record = ""
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\\n"
    members[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\\n").encode()
    filename = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, filename), "w") as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist, _, _ = _meta()
    return _wheel(wheel_directory, {f"{dist}/__init__.py": b""})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    dist, _, _ = _meta()
    return _wheel(wheel_directory, {f"_{dist}.pth": os.getcwd().encode() + b"\\n"})


def build_sdist(sdist_directory, config_settings=None):
    dist, version, _ = _meta()
    filename = f"{dist}-{version}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as archive:
        for path in ("pyproject.toml", "uv_test_backend.py"):
            archive.add(path, f"{dist}-{version}/{path}")
    return filename
"""


def local_project(path: Path, name: str, version: str | None, *, extra: str = "") -> Path:
    """A project uv can build offline; `version=None` makes its version dynamic. Returns `path`."""
    path.mkdir(parents=True, exist_ok=True)
    head = f"name = {json.dumps(name)}\n"
    head += f"version = {json.dumps(version)}\n" if version is not None else 'dynamic = ["version"]\n'
    (path / "pyproject.toml").write_text(
        f'[project]\n{head}requires-python = ">=3.10"\n\n'
        '[build-system]\nrequires = []\nbuild-backend = "uv_test_backend"\nbackend-path = ["."]\n' + extra
    )
    (path / "uv_test_backend.py").write_text(BACKEND)
    if version is None:
        (path / "VERSION").write_text("0.7\n")
    return path


# -- `pinwarden uv` projects ----------------------------------------------------------------------

UPLOADED = "2024-01-01T00:00:00Z"  # the first files' upload time; a late file is added months later
LATE = "2024-06-01T00:00:00Z"


@dataclass
class UvProject:
    path: Path
    env: dict[str, str]
    index: PackageIndex

    @property
    def lock(self) -> Path:
        return self.path / "uv.lock"

    @property
    def ledger(self) -> Path:
        return self.path / "pinwarden-ledger.toml"

    @property
    def pyproject(self) -> Path:
        return self.path / "pyproject.toml"

    def pinwarden(
        self, *args: str, stdin: int | None = subprocess.DEVNULL, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`pinwarden ARGS` in the project (or `cwd`: a member, a subdirectory)."""
        argv = [sys.executable, "-m", "pinwarden", *args]
        return subprocess.run(
            argv,
            cwd=cwd or self.path,
            env=self.env,
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def uv(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`pinwarden uv ARGS` (nobody at the terminal: stdin is /dev/null, output captured)."""
        return self.pinwarden("uv", *args)

    def plain_uv(self, *args: str) -> subprocess.CompletedProcess[str]:
        """uv itself, without pinwarden (what a lock written behind pinwarden's back looks like)."""
        return run_uv(list(args), self.path, self.env, check=False)

    def state(self) -> tuple[bytes | None, bytes | None]:
        """uv.lock and the ledger, byte for byte (None: absent)."""
        lock, ledger = (p.read_bytes() if p.exists() else None for p in (self.lock, self.ledger))
        return lock, ledger

    def installed(self) -> dict[str, str]:
        """Each distribution in the project's .venv -> the wheel it came from, as its WHEEL and
        METADATA say (`name-version[-build]`); empty without a .venv."""
        found: dict[str, str] = {}
        for info in sorted(self.path.glob(".venv/lib/python*/site-packages/*.dist-info")):
            meta = (info / "METADATA").read_text()
            name = next(line.split(": ", 1)[1] for line in meta.splitlines() if line.startswith("Name: "))
            version = next(
                line.split(": ", 1)[1] for line in meta.splitlines() if line.startswith("Version: ")
            )
            wheel = (info / "WHEEL").read_text() if (info / "WHEEL").exists() else ""
            build = next(
                (line.split(": ", 1)[1] for line in wheel.splitlines() if line.startswith("Build: ")), ""
            )
            found[name] = f"{name}-{version}" + (f"-{build}" if build else "")
        return found

    def staging_dirs(self) -> list[Path]:
        """The guard's staging copies (`.pinwarden-uv-*` beside the project): never left behind."""
        return sorted(self.path.parent.glob(".pinwarden-uv-*"))

    def simple_requests(self) -> int:
        return sum(1 for r in self.index.requests if r.startswith("/simple/"))


def write_pyproject(path: Path, dependencies: Iterable[str], *, name: str = "sample") -> None:
    path.mkdir(parents=True, exist_ok=True)
    deps = json.dumps(list(dependencies))
    (path / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.10"\ndependencies = {deps}\n'
    )


def ok(done: subprocess.CompletedProcess[str], code: int = 0) -> str:
    assert done.returncode == code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stderr


@contextlib.contextmanager
def uv_project(tmp_path: Path, dependencies: Iterable[str] = (ALPHA, BETA)) -> Iterator[UvProject]:
    """A virtual uv project (no build system) depending on ALPHA 1.0 (a wheel and an sdist) and
    BETA 2.0, its index serving; the files are dated UPLOADED, so a file added with LATE is late."""
    index = PackageIndex()
    index.add(ALPHA, "1.0", *WHEEL, upload_time=UPLOADED)
    index.add(ALPHA, "1.0", *SDIST, upload_time=UPLOADED)
    index.add(BETA, "2.0", *BETA_WHEEL, upload_time=UPLOADED)
    path = tmp_path / "project"
    write_pyproject(path, dependencies)
    with index.serve():
        env = uv_env(tmp_path / "env", index.url)
        env.pop("CI", None)  # CI means nobody is at the terminal: the prompt tests need a person
        env.pop("PINWARDEN_DEBUG", None)
        yield UvProject(path, env, index)
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".pinwarden-uv-")]
    assert not left, f"staging copies left behind: {left}"
