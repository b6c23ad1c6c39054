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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..shared.errors import PinwardenError

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


def locate(
    uv: str,
    directory: str | None,
    project: str | None,
    environ: Mapping[str, str],
    meanwhile: Callable[[], object] | None = None,
) -> Place:
    """The workspace root is uv's own answer (`uv workspace dir`, with the user's --directory,
    --project and environment): a reimplementation of uv's discovery differed from it (a
    non-workspace ancestor, `./` in members, globs), and then another uv.lock was checked than the
    one uv installs from. `meanwhile` runs while uv answers (imports: nothing that reads a file
    whose place depends on the answer)."""
    cwd = Path.cwd()
    directory = directory or environ.get("UV_WORKING_DIR") or None
    if directory:
        cwd = (cwd / directory).resolve()
    project = project or environ.get("UV_PROJECT") or None
    start = (cwd / project).resolve() if project else cwd.resolve()
    found = _nearest_pyproject(start)
    if found is None:
        raise PinwardenError(f"no pyproject.toml in {start} or any parent directory: no uv project to guard")
    places = ["--directory", directory] if directory else []
    places += ["--project", project] if project else []
    root = workspace_root(uv, places, cwd=Path.cwd(), env=environ, meanwhile=meanwhile, early=True)
    return Place(cwd=cwd, project=found, root=root)


def workspace_root(
    uv: str,
    places: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None,
    meanwhile: Callable[[], object] | None = None,
    early: bool = False,
) -> Path:
    """`uv workspace dir`: the root uv locks and installs for; its failure is an error. `early`:
    the answer of the run entry.py started, if it was exactly this one (early.py)."""
    argv = [uv, "workspace", "dir", *places]
    answer = None
    if early:  # uv answered while the guard was imported: `meanwhile` has nothing to overlap now
        from . import early as started

        answer = started.take(argv, str(cwd), os.environ if env is None else env)
    code, out, err = answer or _capture(argv, cwd=cwd, env=env, meanwhile=meanwhile)
    lines = [line for line in out.splitlines() if line.strip()]
    if code != 0 or len(lines) != 1 or not Path(lines[0]).is_absolute():
        why = next((line for line in err.splitlines() if line.strip()), f"exit {code}")
        raise PinwardenError(f"uv cannot tell the workspace root (uv workspace dir: {why.strip()})")
    return Path(lines[0])


def _nearest_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / "pyproject.toml").is_file():
            return directory
    return None


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
            _materialize(copy)
        except (OSError, shutil.Error) as exc:
            why = _why(exc)
            raise PinwardenError(f"cannot copy {root} to a staging copy in {root.parent}: {why}") from None
        yield copy
    finally:
        shutil.rmtree(copy, ignore_errors=True)


# What uv may write in a project (uv.lock at the root, the pyproject.toml files `uv add`/`uv remove`
# edit) or read as settings: a regular file in the copy, never a link uv would write through.
_WRITTEN = frozenset({"uv.lock", "pyproject.toml", "uv.toml"})
_MAX_LINKED_DIRS = 64


def _materialize(copy: Path) -> None:
    """Links in the copy that uv could write through into the real project (a relative link that
    climbs out of the copy and back leads to the same file from the sibling copy): a linked
    uv.lock/pyproject.toml/uv.toml becomes a copy of its target's bytes (a dangling one is dropped),
    a linked directory a copy of its tree (links in it handled alike; a bounded number of them)."""
    linked_dirs = 0
    for directory, dirs, files in os.walk(copy):
        for name in [*dirs, *files]:
            path = Path(directory, name)
            if not path.is_symlink():
                continue
            if path.is_dir() and (_skipped_name(name) or _venv_or_cache(path.resolve())):
                path.unlink()  # what staging skips: a linked virtualenv or cache is not copied
            elif path.is_dir():
                linked_dirs += 1
                if linked_dirs > _MAX_LINKED_DIRS:
                    raise PinwardenError(f"{copy}: too many linked directories to stage (a link loop?)")
                target = path.resolve()
                if copy.resolve().is_relative_to(target):
                    raise PinwardenError(f"{path.relative_to(copy)}: a link to a directory holding it")
                path.unlink()
                shutil.copytree(target, path, symlinks=True, ignore=_skipped)
            elif name in _WRITTEN:
                data = path.read_bytes() if path.is_file() else None
                path.unlink()
                if data is not None:
                    path.write_bytes(data)
        # os.walk lists a linked directory among `dirs` and never enters it: now a real one, it does.


def _why(exc: Exception) -> str:
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        source, _, reason = exc.args[0][0]
        return f"{source}: {reason}"
    return str(getattr(exc, "strerror", None) or exc)


def outside(copy: Path, root: Path) -> dict[Path, bytes | None]:
    """What uv could write outside the copy if it took the copy for a member of another workspace:
    the real root's uv.lock and pyproject.toml, and those of every directory above the copy (None:
    absent)."""
    paths = [root / "uv.lock", root / "pyproject.toml"]
    paths += [d / name for d in copy.resolve().parents for name in ("uv.lock", "pyproject.toml")]
    return {path: file_bytes(path) for path in paths}


def file_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:  # a directory, unreadable: compared as such
        return b"\0unreadable"


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
    meanwhile: Callable[[], object] | None = None,
) -> int:
    """uv's exit code; uv's output goes where pinwarden's does. While it runs, a Ctrl-C is uv's
    (it gets it from the terminal too): pinwarden waits for it, as a shell does for its job. A
    `staged` run that a Ctrl-C ended raises KeyboardInterrupt: nothing is written after it.
    `meanwhile` is pinwarden's own work, done while uv runs (on the other core); if it fails, uv
    is stopped and waited for before the error goes on."""
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
        if meanwhile is not None:
            try:
                meanwhile()
            except BaseException:
                child.terminate()
                child.wait()
                raise
        code = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    if staged and interrupted and code != 0:
        raise KeyboardInterrupt
    return 128 - code if code < 0 else code  # killed by a signal: as a shell reports it


def answer(argv: Sequence[str], *, cwd: Path) -> tuple[int, str, str]:
    """A uv run that reports something for pinwarden to read: (exit code, stdout, stderr)."""
    return _capture(argv, cwd=cwd)


def quiet(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """A uv run whose output is pinwarden's to read (a check), not the user's."""
    code, _, err = _capture(argv, cwd=cwd, env=env)
    return code, err


def _capture(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> tuple[int, str, str]:
    try:
        child = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    except OSError as exc:
        raise PinwardenError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    with child:
        if meanwhile is not None:
            try:
                meanwhile()
            except BaseException:
                child.kill()
                child.communicate()
                raise
        out, err = child.communicate()
    return child.returncode, out, err
