"""The real uv in tests: an isolated environment, local projects it can build offline, and `uv export`
as the oracle of what uv reads from a uv.lock.

uv is found beside the running interpreter (the dev extras install it into the venv). It runs with
no inherited UV_*/PIP_* settings, its cache and XDG directories under the test's tmp_path, no Python
downloads, no config files, and never the network beyond the 127.0.0.1 index a test serves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.support.index import find_tool, isolated_env

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

__all__ = ["BACKEND", "export_pylock", "local_project", "run_uv", "uv_env", "uv_tool"]

# The oracle's command: everything the lock holds (the root project too), as uv's installer reads it,
# from the lock alone.
EXPORT = ["export", "--frozen", "--format", "pylock.toml", "--all-extras", "--all-groups", "--all-packages",
          "--no-header"]  # fmt: skip


def uv_tool() -> str:
    path = find_tool("uv")
    if path is None:
        pytest.skip("uv is not installed (pip install -e '.[dev]')")
    return path


def uv_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in isolated_env(tmp_path).items() if not k.startswith("UV_")}
    env.update(
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_CONFIG="1",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
    )
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
