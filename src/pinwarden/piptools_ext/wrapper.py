"""`pinwarden pip-compile ...`: pip-compile, with every new or changed hash checked before it is written.

The runner (a child process, see runner.py) runs real pip-compile on a private copy of the output;
this side compares the result with the ledger, asks or refuses, and replaces the output file
atomically, or leaves it alone. Exit codes: 0 written (or nothing to do), 1 refused or findings,
2 error (bad arguments or input, pip-compile failing for reasons of its own).
"""

from __future__ import annotations

import shlex
import sys
from typing import TextIO

from ..shared.errors import PinwardenError
from .launch import Runner, take_early
from .protocol import RunReport, last_report


def main(argv: list[str], out: TextIO, err: TextIO) -> int:
    runner = take_early(argv) or _start(argv, out, err)
    with runner:  # also on Ctrl-C: the runner's private copy never outlives the run
        _prepare_check()
        code = runner.wait()
        return _finish(_read_report(runner.reports, code), code, argv, out, err)


def _start(argv: list[str], out: TextIO, err: TextIO) -> Runner:
    out.flush()  # pip-compile writes to the same terminal
    err.flush()
    try:
        return Runner(argv)
    except OSError as exc:
        raise PinwardenError(f"cannot start pip-compile: {exc.strerror or exc}") from None


def _prepare_check() -> None:
    """Import what the check needs while pip-compile runs (on another core): not after it."""
    from ..shared.toml import no_gc

    with no_gc():  # imports allocate and free nothing: a collection would take CPU from pip-compile
        import shutil  # noqa: F401 - the runner's private copy is removed with it

        from . import session  # noqa: F401


def _read_report(reports: bytes, code: int) -> RunReport:
    report = last_report(reports)
    if report is None:
        raise PinwardenError(f"pip-compile did not start (exit {code})")
    return report


def _finish(report: RunReport, code: int, argv: list[str], out: TextIO, err: TextIO) -> int:
    from .session import Session

    if report.informational:
        return code
    if report.error:
        raise PinwardenError(report.error)
    session = Session(report, command=_command(argv), err=err)
    if report.mismatches:
        return session.refuse_mismatches()
    if code != 0 or report.stage != "done":
        target = report.output or "the output file"
        raise PinwardenError(f"pip-compile failed (exit {code}); {target} was not changed")
    return session.check(out, sys.stdin)


def _command(argv: list[str]) -> str:
    from ..shared.index.sources import redact_url  # a password in --index-url is never printed

    return redact_url(shlex.join(["pinwarden", "pip-compile", *argv]))
