"""Where uv works: the project's workspace root, a staging copy of it, and running uv itself.

uv writes uv.lock at the workspace root and has no option to write it elsewhere, so a lock that
pinwarden has not reviewed is made in a copy: a temporary directory beside the root (same parent,
so that a `../sibling` path source keeps its meaning and the final rename stays on one file
system), holding the root's tree without what uv neither reads nor needs (.git, virtualenvs,
caches, node_modules).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from ..shared.errors import PinwardenError
from ..shared.toml import load_toml

STAGING_PREFIX = ".pinwarden-uv-"
_SKIPPED_NAMES = frozenset(
    {".git", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox"}
)
# Settings that would make a staged `uv lock` skip locking or look elsewhere: pinwarden says where.
_STAGING_UNSET = ("UV_FROZEN", "UV_LOCKED", "UV_NO_SYNC", "UV_PROJECT", "UV_WORKING_DIR", "UV_CHECK")


def find_uv() -> str:
    """uv beside this Python (installed with pinwarden), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("uv")
    if found is None:
        raise PinwardenError("uv is not installed here (neither beside this Python nor on PATH)")
    return found


@dataclass(frozen=True, slots=True)
class Place:
    """Where the command runs (`cwd`, after --directory), the project uv finds, its workspace root."""

    cwd: Path
    project: Path
    root: Path

    @property
    def lock(self) -> Path:
        return self.root / "uv.lock"


def locate(directory: str | None, project: str | None, environ: Mapping[str, str]) -> Place:
    cwd = Path.cwd()
    directory = directory or environ.get("UV_WORKING_DIR") or None
    if directory:
        cwd = (cwd / directory).resolve()
    project = project or environ.get("UV_PROJECT") or None
    start = (cwd / project).resolve() if project else cwd.resolve()
    found = _nearest_pyproject(start)
    if found is None:
        raise PinwardenError(f"no pyproject.toml in {start} or any parent directory: no uv project to guard")
    return Place(cwd=cwd, project=found, root=_workspace_root(found))


def _nearest_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / "pyproject.toml").is_file():
            return directory
    return None


def _workspace_root(project: Path) -> Path:
    """The nearest directory at or above the project whose [tool.uv.workspace] takes it in."""
    for directory in (project, *project.parents):
        workspace = _workspace_table(directory / "pyproject.toml")
        if workspace is None:
            continue
        if directory == project or _member(project, directory, workspace):
            return directory
    return project


def _workspace_table(pyproject: Path) -> Mapping[str, object] | None:
    if not pyproject.is_file():
        return None
    try:
        data = load_toml(pyproject.read_text(encoding="utf-8"), str(pyproject), "pyproject.toml")
    except (OSError, UnicodeDecodeError):
        raise PinwardenError(f"{pyproject}: cannot read it") from None
    tool = data.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    workspace = uv.get("workspace") if isinstance(uv, dict) else None
    return workspace if isinstance(workspace, dict) else None


def _member(project: Path, root: Path, workspace: Mapping[str, object]) -> bool:
    relative = project.relative_to(root).as_posix()

    def matches(key: str) -> bool:
        patterns = workspace.get(key)
        return isinstance(patterns, list) and any(
            isinstance(p, str) and fnmatch(relative, p.rstrip("/")) for p in patterns
        )

    return matches("members") and not matches("exclude")


# -- the staging copy --------------------------------------------------------------------------


def _skipped(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if _skipped_name(name) or _venv_or_cache(Path(directory, name))}


def _skipped_name(name: str) -> bool:
    return name in _SKIPPED_NAMES or name.startswith((STAGING_PREFIX, ".pinwarden-"))


def _venv_or_cache(path: Path) -> bool:
    """A virtualenv (pyvenv.cfg) or a cache (CACHEDIR.TAG, which uv writes in both)."""
    if path.is_symlink() or not path.is_dir():
        return False
    return (path / "pyvenv.cfg").exists() or (path / "CACHEDIR.TAG").exists()


@contextlib.contextmanager
def staging(root: Path) -> Iterator[Path]:
    """A copy of the workspace root beside it; removed on the way out, whatever happens."""
    try:
        copy = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root.parent))
    except OSError as exc:
        raise PinwardenError(
            f"cannot create a staging copy of {root} in {root.parent}: {exc.strerror or exc}"
        ) from None
    try:
        try:
            shutil.copytree(root, copy, symlinks=True, ignore=_skipped, dirs_exist_ok=True)
        except (OSError, shutil.Error) as exc:
            why = _why(exc)
            raise PinwardenError(f"cannot copy {root} to a staging copy in {root.parent}: {why}") from None
        yield copy
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def _why(exc: Exception) -> str:
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        source, _, reason = exc.args[0][0]
        return f"{source}: {reason}"
    return str(getattr(exc, "strerror", None) or exc)


def staged_path(path: Path, place: Place, copy: Path) -> Path:
    """`path` inside the staging copy when it lies in the root, else itself."""
    try:
        return copy / path.resolve().relative_to(place.root.resolve())
    except ValueError:
        return path


def pyprojects(root: Path) -> dict[Path, bytes]:
    """Every pyproject.toml under `root` (relative path -> bytes), skipping what staging skips."""
    found: dict[Path, bytes] = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(set(dirs) - _skipped(directory, dirs))
        if "pyproject.toml" in files:
            path = Path(directory, "pyproject.toml")
            found[path.relative_to(root)] = path.read_bytes()
    return found


# -- running uv --------------------------------------------------------------------------------


def staging_env(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k not in _STAGING_UNSET}


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdout: int | None = None,
    staged: bool = False,
) -> int:
    """uv's exit code; uv's output goes where pinwarden's does. While it runs, a Ctrl-C is uv's
    (it gets it from the terminal too): pinwarden waits for it, as a shell does for its job. A
    `staged` run that a Ctrl-C ended raises KeyboardInterrupt: nothing is written after it."""
    interrupted: list[int] = []

    def wait_for_child(signum: int, frame: object) -> None:
        interrupted.append(signum)  # uv decides: it stops, or passes it on (`uv run`'s program)

    previous = signal.signal(signal.SIGINT, wait_for_child)  # a handler, not SIG_IGN: exec resets it
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            child = subprocess.Popen(
                list(argv), cwd=cwd, env=None if env is None else dict(env), stdout=stdout
            )
        except OSError as exc:
            raise PinwardenError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
        code = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    if staged and interrupted and code != 0:
        raise KeyboardInterrupt
    return 128 - code if code < 0 else code  # killed by a signal: as a shell reports it


def quiet(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """A uv run whose output is pinwarden's to read (a check), not the user's."""
    try:
        done = subprocess.run(
            list(argv),
            cwd=cwd,
            env=None if env is None else dict(env),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise PinwardenError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    return done.returncode, done.stderr
