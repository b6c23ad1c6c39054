"""A uv project served by a local index, for the `pinwarden uv` end-to-end tests and the benchmarks.

The real uv (installed beside this Python) runs with nothing of the machine's: no UV_* variables,
no uv.toml (UV_NO_CONFIG), its cache and every XDG directory under the test's directory, no Python
downloads, this interpreter, and the test index as its only index (UV_DEFAULT_INDEX: what a user's
uv.toml would say, so that the commands under test are the user's own words).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.compiled_project import ALPHA, BETA, BETA_WHEEL, SDIST, WHEEL
from tests.support.index import PackageIndex, find_tool, isolated_env

__all__ = ["ALPHA", "BETA", "UvProject", "ok", "uv_env", "uv_project"]

UPLOADED = "2024-01-01T00:00:00Z"  # the first files' upload time; a late file is added months later
LATE = "2024-06-01T00:00:00Z"


def uv_env(tmp_path: Path, index_url: str) -> dict[str, str]:
    env = {k: v for k, v in isolated_env(tmp_path).items() if not k.startswith("UV_") and k != "CI"}
    (tmp_path / "uv-cache").mkdir(parents=True, exist_ok=True)
    env.update(
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_CONFIG="1",
        UV_PYTHON=sys.executable,
        UV_DEFAULT_INDEX=index_url,
        UV_NO_PROGRESS="1",
    )
    return env


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
        self, *args: str, stdin: int | None = subprocess.DEVNULL
    ) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "pinwarden", *args]
        return subprocess.run(
            argv,
            cwd=self.path,
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
        uv = find_tool("uv")
        assert uv is not None, "uv is not installed beside this Python"
        return subprocess.run(
            [uv, *args], cwd=self.path, env=self.env, capture_output=True, text=True, timeout=180, check=False
        )

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
        env.pop("PINWARDEN_DEBUG", None)
        yield UvProject(path, env, index)
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".pinwarden-uv-")]
    assert not left, f"staging copies left behind: {left}"
