"""Starting the runner child (see runner.py), as early as the `pinwarden` command can.

pip-compile takes seconds and the wrapper's own imports a tenth of one: `pinwarden pip-compile`
starts the child from the entry point (entry.py), before importing the rest of pinwarden, so that
those imports run on another core while pip-compile works. Hence `os` only here: `subprocess` and
`tempfile` alone would delay the start by a few tens of milliseconds. There the child is a fork of
that young, single-threaded process, which spares it an interpreter start; from anywhere else (a
test with threads, say) it is a fresh interpreter. The child reports on a pipe (one JSON line per
update, see protocol.py), so there is no scratch file to create or remove. POSIX only, like the
rest of pinwarden (atomic writes fsync the directory).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing's import costs as much as this whole module
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType
    from typing import NoReturn

# `python -m pinwarden.piptools_ext.runner`, without runpy's imports (a few milliseconds more).
RUNNER = "import sys; from pinwarden.piptools_ext.runner import main; sys.exit(main(sys.argv[1:]))"
SIGINT_GRACE_SECONDS = 0.25  # what subprocess gives a child that got the same Ctrl-C


class Runner:
    """One runner child: started at once, its reports collected, gone after `close()`."""

    def __init__(self, argv: Sequence[str], *, fork: bool = False) -> None:
        """`fork`: only from a process that has imported next to nothing and runs no thread."""
        self.argv = tuple(argv)
        self.reports = b""
        self.returncode: int | None = None
        read_end, write_end = os.pipe()
        try:  # pip-compile's own output goes straight to the terminal, as when it runs alone
            self.pid = self._fork(read_end, write_end) if fork else self._spawn(write_end)
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self._read_end: int | None = read_end

    def _spawn(self, write_end: int) -> int:
        os.set_inheritable(write_end, True)  # the only descriptor the child gets besides 0, 1, 2
        command = [sys.executable, "-c", RUNNER, str(write_end), *self.argv]
        return os.posix_spawn(sys.executable, command, os.environ)

    def _fork(self, read_end: int, write_end: int) -> int:
        """A copy of this young process saves the child an interpreter start (a fifth of the cost)."""
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _become_runner(write_end, self.argv)
        return pid

    def wait(self) -> int:
        """pip-compile's exit code, once the child has finished (its reports are then in `reports`)."""
        try:
            self.reports = self._read_all()
            return self._reap(os.waitpid(self.pid, 0)[1])
        except KeyboardInterrupt:  # the child got it too: a moment to stop on its own
            self._stop(grace=SIGINT_GRACE_SECONDS)
            raise

    def close(self) -> None:
        """Stop the child if it still runs, then remove its private copy of the output."""
        self._stop(grace=0.0)
        if self._read_end is not None:
            self._read_all()  # the child is gone: whatever it reported is in the pipe
            os.close(self._read_end)
            self._read_end = None
        _remove_private_copy(self.reports)

    def __enter__(self) -> Runner:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _read_all(self) -> bytes:
        """Until end of file, which comes when the child (the pipe's only writer) exits."""
        assert self._read_end is not None
        while chunk := os.read(self._read_end, 65536):
            self.reports += chunk  # kept as it comes: after a Ctrl-C it still names the private copy
        return self.reports

    def _reap(self, status: int) -> int:
        self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def _stop(self, grace: float) -> None:
        if self.returncode is not None:
            return
        import time

        deadline = time.monotonic() + grace
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._reap(status)
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.01)
        os.kill(self.pid, 9)  # SIGKILL; the signal module's import is not worth a constant
        self._reap(os.waitpid(self.pid, 0)[1])


def _become_runner(report_fd: int, argv: tuple[str, ...]) -> NoReturn:
    """The forked child: run pip-compile, then leave, never into the parent's code (see end_now)."""
    code = 1
    try:
        from .runner import main

        code = main([str(report_fd), *argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        end_now(code)


def end_now(code: int) -> NoReturn:
    """Exit as Python does (exit handlers, flushed streams) without tearing every module down.

    After pip-compile that teardown costs more than all of pinwarden's own work; nothing needs it.
    """
    import atexit

    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _remove_private_copy(reports: bytes) -> None:
    """The runner's private directory beside the output, named in its reports once made."""
    from .protocol import last_report

    report = last_report(reports)
    if report is not None and report.temp_dir:
        import shutil

        shutil.rmtree(report.temp_dir, ignore_errors=True)


_early: Runner | None = None


def start_early(argv: Sequence[str]) -> None:
    """Start the runner for these arguments now; `take_early` hands it to the wrapper later."""
    global _early  # noqa: PLW0603 - one command per process: the entry point and the wrapper share it
    if _early is None:
        try:  # noqa: SIM105 - contextlib would be one more import before the start
            _early = Runner(argv, fork=True)
        except OSError:
            pass  # the wrapper tries again, and says why it cannot start


def take_early(argv: Sequence[str]) -> Runner | None:
    """The runner `start_early` started for exactly these arguments, if any (handed out once)."""
    global _early
    runner, _early = _early, None
    if runner is not None and runner.argv != tuple(argv):
        runner.close()
        return None
    return runner


def abandon_early() -> None:
    """The command stopped before the wrapper took the runner (Ctrl-C during the imports)."""
    global _early
    runner, _early = _early, None
    if runner is not None:
        runner.close()
