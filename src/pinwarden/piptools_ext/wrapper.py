"""`pinwarden pip-compile ...`: pip-compile, with every new or changed hash checked before it is written.

The runner (a child process, see runner.py) runs real pip-compile on a private copy of the output;
this side compares the result with the ledger, asks or refuses, and replaces the output file
atomically, or leaves it alone. Exit codes: 0 written (or nothing to do), 1 refused or findings,
2 error (bad arguments or input, pip-compile failing for reasons of its own).
"""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from ..shared.errors import PinwardenError
from .protocol import RunReport


def main(argv: list[str], out: TextIO, err: TextIO) -> int:
    if importlib.util.find_spec("piptools") is None:
        raise PinwardenError("pip-tools is not installed here: pip install 'pinwarden[pip-tools]'")
    with tempfile.TemporaryDirectory(prefix="pinwarden-run-") as scratch:
        report_path = Path(scratch) / "report.json"
        try:
            code = _run_pip_compile(argv, report_path, out, err)
            return _finish(_read_report(report_path, code), code, argv, out, err)
        finally:  # also on Ctrl-C: the runner's private copy never outlives the run
            _remove_private_copy(report_path)


def _run_pip_compile(argv: list[str], report_path: Path, out: TextIO, err: TextIO) -> int:
    """pip-compile's own output goes straight to the terminal, as when it runs alone."""
    out.flush()
    err.flush()
    command = [sys.executable, "-m", "pinwarden.piptools_ext.runner", str(report_path), *argv]
    return subprocess.run(command, check=False).returncode


def _read_report(path: Path, code: int) -> RunReport:
    try:
        return RunReport.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        raise PinwardenError(f"pip-compile did not start (exit {code})") from None


def _remove_private_copy(report_path: Path) -> None:
    try:
        temp_dir = RunReport.from_json(report_path.read_text(encoding="utf-8")).temp_dir
    except (OSError, ValueError, KeyError, TypeError):
        return
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)


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
    return shlex.join(["pinwarden", "pip-compile", *argv])
