"""The edge: reading inputs, finding the ledger, the file lock and atomic writes.

Every file pinwarden writes goes through `atomic_write`: readers see the old bytes or the new,
never a torn file, even if the process is killed mid-write.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings, parse_settings
from .errors import PinwardenError

if TYPE_CHECKING:
    from .baseline import Baseline
    from .ledger import Ledger

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


def atomic_write(path: Path, text: str) -> None:
    """Temp file beside the target, fsync, rename over it, fsync the directory."""
    import tempfile

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

    def exists(self) -> bool:
        return self.path.is_file()

    # The ledger module is imported on use: the pip-compile runner finds the ledger's path before
    # pip-compile runs, and reads the ledger only when the output holds a hash it does not know.
    def load(self) -> Ledger:
        from .ledger import Ledger, loads

        if not self.path.exists():
            return Ledger()
        return loads(read_text(self.path, "ledger"), str(self.path))

    def save(self, ledger: Ledger) -> bool:
        """Write if the text changed; True when it did."""
        from .ledger import dumps

        text = dumps(ledger)
        if self.path.exists() and read_text(self.path, "ledger") == text:
            return False
        atomic_write(self.path, text)
        return True

    @contextlib.contextmanager
    def locked(self) -> Iterator[LedgerStore]:
        from filelock import FileLock, Timeout

        if not self.path.parent.is_dir():
            raise PinwardenError(f"{self.path.parent}: no such directory for the ledger")
        # A ledger that cannot be read is refused before the lock file is created: bad input
        # leaves the project exactly as it was.
        self.load()
        # Hidden: the lock file stays behind (removing it would race with the next waiter).
        lock = FileLock(str(self.path.with_name(f".{self.path.name}.lock")))
        try:
            lock.acquire(timeout=LOCK_TIMEOUT_SECONDS)
        except Timeout:
            raise PinwardenError(f"{self.path}: another pinwarden holds the ledger lock") from None
        try:
            yield self
        finally:
            lock.release()


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
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.path.with_name(f".{self.path.name}.lock")))
        try:
            lock.acquire(timeout=LOCK_TIMEOUT_SECONDS)
        except Timeout:
            raise PinwardenError(f"{self.path}: another pinwarden holds the baseline lock") from None
        try:
            yield self
        finally:
            lock.release()
