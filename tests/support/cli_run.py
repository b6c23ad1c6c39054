"""pinwarden's CLI run in this process, in a given directory: (exit code, stdout, stderr)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from pinwarden.cli import main


def cli_run(cwd: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        code = main(list(argv), out, err)
    finally:
        os.chdir(old)
    assert "Traceback" not in err.getvalue()
    return code, out.getvalue(), err.getvalue()
