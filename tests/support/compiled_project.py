"""A pip-compile project served by a local index, for the `pinwarden pip-compile` end-to-end tests."""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.index import PackageIndex, build_sdist, build_wheel, isolated_env

ALPHA = "pwdemo-alpha"  # cannot exist on PyPI: a leak to the real index fails loudly
BETA = "pwdemo-beta"
WHEEL = build_wheel(ALPHA, "1.0", marker="wheel")
SDIST = build_sdist(ALPHA, "1.0", marker="sdist")
BETA_WHEEL = build_wheel(BETA, "2.0")
CP311_WHEEL = build_wheel(ALPHA, "1.0", python_tag="cp311", abi="cp311", platform="manylinux_2_17_x86_64")
TAGGED_WHEEL = build_wheel(ALPHA, "1.0", build_tag=1, marker="rebuilt")
NEW_SDIST_BYTES = build_sdist(ALPHA, "1.0", marker="tampered")[1]
NEW_WHEEL_BYTES = build_wheel(ALPHA, "1.0", marker="tampered")[1]
LATER = build_wheel(ALPHA, "1.1")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Project:
    path: Path
    env: dict[str, str]
    index: PackageIndex

    @property
    def output(self) -> Path:
        return self.path / "requirements.txt"

    @property
    def ledger(self) -> Path:
        return self.path / "pinwarden-ledger.toml"

    def run(self, *args: str, command: str = "pip-compile") -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "pinwarden", command, *args]
        return subprocess.run(
            argv, cwd=self.path, env=self.env, capture_output=True, text=True, timeout=120, check=False
        )

    def compile(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-i", self.index.url, *args, "requirements.in")

    def state(self) -> tuple[bytes | None, bytes | None]:
        """The output and the ledger, byte for byte (None: absent)."""
        output, ledger = (p.read_bytes() if p.exists() else None for p in (self.output, self.ledger))
        return output, ledger


def ok(done: subprocess.CompletedProcess[str], code: int = 0) -> str:
    assert done.returncode == code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stderr


@contextlib.contextmanager
def compiled_project(tmp_path: Path) -> Iterator[Project]:
    """`requirements.in` naming ALPHA 1.0 (a wheel and an sdist) and BETA 2.0, and its index, serving."""
    index = PackageIndex()
    index.add(ALPHA, "1.0", *WHEEL)
    index.add(ALPHA, "1.0", *SDIST)
    index.add(BETA, "2.0", *BETA_WHEEL)
    path = tmp_path / "project"
    path.mkdir()
    (path / "requirements.in").write_text(f"{ALPHA}\n{BETA}\n")
    with index.serve():
        yield Project(path, isolated_env(tmp_path / "env"), index)


def private_dirs(project: Project) -> list[Path]:
    """The runner's private copies (`.pinwarden-XXXX/`): the wrapper must remove them."""
    return [p for p in project.path.glob(".pinwarden-*") if p.is_dir()]


def approve_line(project: Project, version: str = "1") -> str:
    return f"pinwarden approve {ALPHA}=={version} --from-index {project.index.url}"
