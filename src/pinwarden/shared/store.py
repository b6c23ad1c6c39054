"""The edge: reading inputs, finding the ledger, the file lock and atomic writes.

Every file pinwarden writes goes through `atomic_write`: readers see the old bytes or the new,
never a torn file, even if the process is killed mid-write.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .config import Settings, parse_settings
from .errors import PinwardenError

if TYPE_CHECKING:
    from .baseline import Baseline
    from .ledger import Ledger
    from .linkpath import Entry, Resolved

LEDGER_FILENAME = "pinwarden-ledger.toml"
LOCK_TIMEOUT_SECONDS = 120.0


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PinwardenError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise PinwardenError(f"{path}: is a directory, not a {what}") from None
    except UnicodeDecodeError as exc:
        raise PinwardenError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise PinwardenError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError:  # a NUL in the path: no file can have that name
        raise PinwardenError(f"{str(path)!r}: not a file name (it holds a NUL character)") from None


def write_target(path: Path) -> Path:
    """The file a write of `path` replaces: the end of its chain of symlinks, else `path` itself.

    Renaming over a symlink would turn it into a regular file, and the shared ledger it pointed
    to would silently stop receiving approvals. A link to nothing, or a loop, is an error: a
    ledger that cannot be read must never be taken for an empty one.
    """
    if not path.is_symlink():
        return path
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        raise PinwardenError(
            f"{path}: a symlink to {_link_text(path)}, which does not exist (a dangling link)"
        ) from None
    except (RuntimeError, OSError) as exc:  # a loop: RuntimeError up to 3.12, OSError (ELOOP) after
        raise PinwardenError(f"{path}: cannot follow the symlink: {exc}") from None
    if target.is_dir():
        raise PinwardenError(f"{path}: a symlink to the directory {target}, not to a file")
    return target


def _link_text(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return "?"


def atomic_write(path: Path, text: str) -> None:
    """Temp file beside the target, fsync, rename over it, fsync the directory.

    A symlink is written through: the file at the end of its chain is replaced, the link stays.
    """
    import tempfile

    path = write_target(path)
    directory = path.parent
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def utc_now() -> str:
    """ISO 8601 UTC to the second; SOURCE_DATE_EPOCH pins it for reproducible ledgers."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    seconds = int(epoch) if epoch and epoch.isdigit() else int(time.time())
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):  # a SOURCE_DATE_EPOCH past what a date can hold
        raise PinwardenError(f"SOURCE_DATE_EPOCH={epoch!r} is not a time pinwarden can use") from None


def find_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(project_dir: Path) -> tuple[Settings, Path]:
    """Settings and the directory they are relative to (the pyproject's, else project_dir)."""
    pyproject = project_dir / "pyproject.toml"
    if not pyproject.is_file():
        return Settings(), project_dir
    return parse_settings(read_text(pyproject, "pyproject.toml"), str(pyproject)), project_dir


def same_file(a: Path, b: Path) -> bool:
    """Whether two spellings name one file: relative or absolute, `./` and `..`, symlinks on the
    way or at the end, and hard links (one inode) when both exist."""
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def guarded_files(ledger: Path) -> tuple[Path, ...]:
    """The files no other output may overwrite: the ledger, its audit baseline, their lock files
    (for a symlinked ledger, those of the link and of the file it leads to)."""
    found: list[Path] = []
    for spelling in dict.fromkeys((ledger, write_target_or_self(ledger))):
        for path in (spelling, _baseline_of(spelling)):
            for each in (path, write_target_or_self(path)):
                found += [each, _lock_file(each), lock_file_for(each)]
    return tuple(dict.fromkeys(found))


def _baseline_of(ledger: Path) -> Path:
    """The rule of auditing.baseline_path_for (not imported: it pulls in the HTTP client)."""
    from .baseline import BASELINE_FILENAME

    if ledger.name == LEDGER_FILENAME:
        return ledger.with_name(BASELINE_FILENAME)
    return ledger.with_name(f"{ledger.stem}.baseline.toml")


def write_target_or_self(path: Path) -> Path:
    try:
        return write_target(path)
    except PinwardenError:
        return path


def _lock_file(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


LOCKS_DIR = "pinwarden-locks"


def lock_file_for(path: Path) -> Path:
    """The lock file that serialises writers of `path`: inside the git directory of the work tree
    holding the file (git never lists it), else beside it as a hidden file.

    Every writer derives it from the file's real path (through symlinks), so every spelling of one
    file shares one lock. The lock cannot be the file itself: an atomic write replaces its inode.
    """
    real = Path(os.path.realpath(path))
    for directory in real.parents:
        dotgit = directory / ".git"
        if os.path.lexists(dotgit):
            git_dir = _git_dir(dotgit)
            if git_dir is None:
                break
            import hashlib

            where = hashlib.sha256(real.relative_to(directory).as_posix().encode("utf-8")).hexdigest()
            return git_dir / LOCKS_DIR / f"{real.name}.{where[:16]}.lock"
    return _lock_file(path)


def _git_dir(dotgit: Path) -> Path | None:
    """A work tree's git directory: `.git` itself, or where a `.git` file (a linked work tree, a
    submodule) points; None when it is neither (then the lock stays beside the file)."""
    if dotgit.is_dir():
        return dotgit
    try:
        text = dotgit.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text.removeprefix("gitdir:").strip())
    target = target if target.is_absolute() else dotgit.parent / target
    return target if target.is_dir() else None


@contextlib.contextmanager
def file_lock(path: Path, what: str, shown: Path) -> Iterator[None]:
    """Hold the cross-process lock of `path` (see lock_file_for); it stays behind when released
    (removing it would race with the next waiter)."""
    from filelock import FileLock, Timeout

    lock_path = lock_file_for(path)
    try:
        lock_path.parent.mkdir(exist_ok=True)
    except OSError as exc:
        raise PinwardenError(f"{lock_path.parent}: cannot create a lock directory: {exc.strerror}") from None
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=LOCK_TIMEOUT_SECONDS)
    except Timeout:
        raise PinwardenError(f"{shown}: another pinwarden holds the {what} lock") from None
    try:
        yield
    finally:
        lock.release()


def refuse_guarded_output(output: Path, ledger: Path) -> None:
    """An output file (`pip-compile -o`) that is the ledger, the baseline or a lock of theirs, in any
    spelling, would replace trust with a requirements file: refused before anything runs."""
    for guarded in guarded_files(ledger):
        if same_file(output, guarded):
            raise PinwardenError(
                f"{output}: is {guarded}, which pinwarden keeps (the ledger, its audit baseline or "
                "their lock file); choose another output file"
            )


def project_root(start: Path) -> Path:
    """The git work tree holding `start` (a `.git` directory or file), else `start` itself."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def outside_project(ledger: Path, project: Path) -> Path | None:
    """The file the ledger really is (through symlinks) when it lies outside `project`, else None."""
    real = Path(os.path.realpath(ledger))
    root = project.resolve()
    return None if real == root or root in real.parents else real


def ledger_notice(ledger: Path, project: Path) -> str:
    """The line every message that writes the ledger adds when the ledger is outside the project
    (empty otherwise): trust recorded somewhere a pull request of this project does not show."""
    real = outside_project(ledger, project)
    if real is None:
        return ""
    via = "" if real == ledger.absolute() else f" ({ledger} links there)"
    return f"pinwarden: note: the ledger {real} is outside the project {project.resolve()}{via}"


def resolve_in_work_tree(path: Path, top: Path, cwd: Path) -> Resolved:
    """Where `path` (relative to `cwd`, or absolute) leads in the work tree at `top`, by the rule
    `diff` reads a revision with, and the links on the way: the file `check` reads, or an error.

    A dangling link is an error (check refuses it too); so is a walk out of the work tree, and any
    disagreement with the file system's own answer (fail closed: diff must read what check reads).
    """
    from .linkpath import repo_parts, resolve

    label = str(path)
    parts = repo_parts(path, cwd=cwd, top=PurePosixPath(top), label=label)
    found = resolve(parts, _work_tree_lookup(top), top=PurePosixPath(top), label=label)
    if found.dangling:
        raise PinwardenError(
            f"{label}: the symlinks ({found.chain()}) lead to {found.file}, which does not exist "
            "(a dangling link)"
        )
    real = Path(os.path.realpath(cwd / path))
    if found.exists and real != top.joinpath(*found.file.split("/")):
        raise PinwardenError(
            f"{label}: the file system leads to {real} but its symlinks read as {found.file}: "
            "cannot tell which ledger check reads"
        )
    return found


def _work_tree_lookup(top: Path) -> Callable[[tuple[str, ...]], Entry | None]:
    from .linkpath import Entry, EntryKind

    def entry(parts: tuple[str, ...]) -> Entry | None:
        path = top.joinpath(*parts)
        if parts[-1].lower() == ".git":  # git's own files: never committed, never reviewed
            return Entry(EntryKind.OTHER)
        try:
            mode = path.lstat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise PinwardenError(f"{path}: cannot read: {exc.strerror}") from None
        if stat.S_ISLNK(mode):
            # The exact text (pathlib would drop a `./` or a trailing `/`): it is compared with git's.
            return Entry(EntryKind.LINK, os.readlink(path))  # noqa: PTH115
        if stat.S_ISDIR(mode):
            nested = (path / ".git").exists() or (path / ".git").is_symlink()
            return Entry(EntryKind.OTHER if nested else EntryKind.DIRECTORY)
        return Entry(EntryKind.FILE if stat.S_ISREG(mode) else EntryKind.OTHER)

    return entry


def ledger_path(explicit: Path | None, settings: Settings, base: Path, locks: list[Path]) -> Path:
    """--ledger, else [tool.pinwarden] ledger, else beside the (first) lock file."""
    if explicit is not None:
        return explicit
    if settings.ledger:
        return base / settings.ledger
    directory = locks[0].parent if locks else base
    return directory / LEDGER_FILENAME


class LedgerStore:
    """The ledger file. Read-modify-write happens under `locked()` so concurrent approvals merge."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def target(self) -> Path:
        """The file read and written: the end of the path's symlink chain (see write_target)."""
        return write_target(self.path)

    def exists(self) -> bool:
        return self.target.is_file()

    # The ledger module is imported on use: the pip-compile runner finds the ledger's path before
    # pip-compile runs, and reads the ledger only when the output holds a hash it does not know.
    def load(self) -> Ledger:
        from .ledger import Ledger, loads

        target = self.target
        if not target.exists():
            return Ledger()
        return loads(read_text(target, "ledger"), str(self.path))

    def save(self, ledger: Ledger) -> bool:
        """Write if the text changed; True when it did."""
        from .ledger import dumps

        text = dumps(ledger)
        target = self.target
        if target.exists() and read_text(target, "ledger") == text:
            return False
        atomic_write(target, text)
        return True

    @contextlib.contextmanager
    def locked(self) -> Iterator[LedgerStore]:
        target = self.target
        if not target.parent.is_dir():
            raise PinwardenError(f"{target.parent}: no such directory for the ledger")
        # A ledger that cannot be read is refused before the lock file is created: bad input
        # leaves the project exactly as it was.
        self.load()
        # The lock of the file written (a symlinked ledger's target): every writer of it shares it.
        with file_lock(target, "ledger", self.path):
            yield self


class BaselineStore:
    """The audit baseline beside the ledger (baseline.py says why it is a file of its own)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Baseline:
        from .baseline import Baseline, loads

        if not self.path.exists():
            return Baseline()
        return loads(read_text(self.path, "audit baseline"), str(self.path))

    def save(self, baseline: Baseline) -> bool:
        from .baseline import dumps

        text = dumps(baseline)
        if self.path.exists() and read_text(self.path, "audit baseline") == text:
            return False
        atomic_write(self.path, text)
        return True

    @contextlib.contextmanager
    def locked(self) -> Iterator[BaselineStore]:
        with file_lock(self.path, "baseline", self.path):
            yield self
