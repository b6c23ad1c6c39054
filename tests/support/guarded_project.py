"""Scaffolding for end-to-end tests of the Poetry plugin: a local index with known contents, a Poetry
project locked and installed against it, and snapshots of what a command may not change.

The project is prepared once per test module and copied per test (lock, ledger and its in-project
virtualenv): a `poetry lock` plus `poetry install` costs seconds, a copy milliseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

from tests.support.index import (
    PackageIndex,
    build_sdist,
    build_wheel,
    find_tool,
    isolated_env,
    poetry_project,
    unbound,
)

# Names that cannot exist on PyPI: a request leaking to the real index fails loudly.
ALPHA, OTHER, GAMMA = "pwguard-alpha", "pwguard-other", "pwguard-gamma"
WHEEL = build_wheel(ALPHA, "1.0", marker="original")
WHEEL2 = build_wheel(ALPHA, "1.0", python_tag="py2.py3", marker="second")
LATE_WHEEL = build_wheel(ALPHA, "1.0", build_tag=1, marker="late")
NEW_WHEEL = build_wheel(ALPHA, "1.0", python_tag="cp311", abi="cp311", platform="manylinux_2_17_x86_64")
NEW_SDIST = build_sdist(ALPHA, "1.0", marker="late-sdist")
EVIL_BYTES = build_wheel(ALPHA, "1.0", marker="replaced")[1]
APPROVE_ALPHA = f"poetry pinwarden approve --from-index {ALPHA}==1"
LEDGER = "pinwarden-ledger.toml"


def publish_base(index: PackageIndex) -> None:
    """alpha 1.0 (two wheels, no sdist), other 1.0 and gamma 1.0; sha256 hashes."""
    index.hash_algorithm = "sha256"
    for name in (ALPHA, OTHER, GAMMA):
        with contextlib.suppress(KeyError):
            for filename in index.files(name):
                index.remove(name, filename)
    index.add(ALPHA, "1.0", *WHEEL)
    index.add(ALPHA, "1.0", *WHEEL2)
    index.add(OTHER, "1.0", *build_wheel(OTHER, "1.0"))
    index.add(GAMMA, "1.0", *build_wheel(GAMMA, "1.0"))


# Each changes alpha 1.0 on the index after it was locked; the value is the report's label for it.
SCENARIOS: dict[str, tuple[Callable[[PackageIndex], None], str]] = {
    "new-wheel": (lambda index: index.add(ALPHA, "1.0", *NEW_WHEEL), "NEW FILE"),
    "build-tagged-wheel": (lambda index: index.add(ALPHA, "1.0", *LATE_WHEEL), "NEW FILE"),
    "new-sdist": (lambda index: index.add(ALPHA, "1.0", *NEW_SDIST), "NEW FILE"),
    "same-filename-new-bytes": (lambda index: index.replace(ALPHA, WHEEL[0], EVIL_BYTES), "CHANGED"),
    "deleted-file": (lambda index: index.remove(ALPHA, WHEEL2[0]), "MISSING"),
}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def poetry_tool() -> str:
    path = find_tool("poetry")
    if path is None:
        raise RuntimeError("poetry is not installed beside the test interpreter")
    return path


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def last_line(self) -> str:
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    @property
    def approve_command(self) -> str:
        """The last line, a printed approve command, without its binding (see index.unbound)."""
        return unbound(self.last_line)


@dataclass(frozen=True)
class Snapshot:
    """What a refused command must leave as it was."""

    lock: bytes | None
    ledger: bytes | None
    installed: Mapping[str, bytes]


@dataclass
class Project:
    path: Path
    env: dict[str, str]
    caches: Path
    _runs: count[int] = field(default_factory=count)

    @property
    def lock(self) -> Path:
        return self.path / "poetry.lock"

    @property
    def ledger(self) -> Path:
        return self.path / LEDGER

    def poetry(self, *args: str, cold: bool = True, env: Mapping[str, str] | None = None) -> Done:
        """Run poetry; `cold` gives it a cache it has never used (a fresh CI machine)."""
        run_env = {**self.env, **(env or {})}
        if cold:
            run_env["POETRY_CACHE_DIR"] = str(self.caches / f"cache-{next(self._runs)}")
        done = subprocess.run(
            [poetry_tool(), *args],
            cwd=self.path,
            env=run_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, cold: bool = True) -> Done:
        done = self.poetry(*args, cold=cold)
        assert done.code == 0, f"poetry {' '.join(args)} exited {done.code}\n{done.output}"
        return done

    def snapshot(self) -> Snapshot:
        return Snapshot(_read(self.lock), _read(self.ledger), self.installed())

    def installed(self) -> dict[str, bytes]:
        """Every file of the test packages in the project's virtualenv, by path."""
        found: dict[str, bytes] = {}
        for site in self.path.glob(".venv/lib/python*/site-packages"):
            for item in site.glob("pwguard*"):
                for file in sorted([item] if item.is_file() else item.rglob("*")):
                    if file.is_file() and "__pycache__" not in file.parts:
                        found[str(file.relative_to(site))] = file.read_bytes()
        return found

    def installed_marker(self) -> str | None:
        """The MARKER of the installed alpha: which of the test builds is in the environment."""
        data = self.installed()
        module = next((v for k, v in data.items() if k.endswith("pwguard_alpha/__init__.py")), None)
        return None if module is None else module.decode().rsplit("MARKER = ", 1)[1].strip().strip("'\"")

    def lock_text(self) -> str:
        return self.lock.read_text(encoding="utf-8")

    def ledger_text(self) -> str:
        return self.ledger.read_text(encoding="utf-8")


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def make_project(
    root: Path, index_url: str, dependencies: Sequence[str], *, extra_pyproject: str = ""
) -> Project:
    env = isolated_env(root / "env")
    env.pop("CI", None)  # pinwarden treats CI as nobody at the terminal; tests choose for themselves
    path = root / "project"
    pyproject = poetry_project(path, index_url, dependencies)
    if extra_pyproject:
        with pyproject.open("a", encoding="utf-8") as handle:
            handle.write("\n" + extra_pyproject)
    return Project(path=path, env=env, caches=root / "caches")


def copy_project(template: Project, root: Path) -> Project:
    """The template's project directory (virtualenv included) under `root`, with its own caches."""
    path = root / "project"
    shutil.copytree(template.path, path, symlinks=True)
    return Project(path=path, env=dict(template.env), caches=root / "caches")
