"""`pinwarden uv pip compile ...`: uv's pip-compile, reviewed as `pinwarden pip-compile` reviews pip-tools'.

uv writes to a private copy of the output (beside it, so that uv reuses its pins as preferences;
a pin the ledger no longer trusts loses its hashes there first), always with --generate-hashes;
the result is then judged by the pip-compile wrapper's own session (first use, the prompt or the
refusal with the approve command) and written only when every hash is trusted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from ..piptools_ext.protocol import RunReport
from ..piptools_ext.runner import copy_output, make_temp_dir
from ..piptools_ext.session import Session
from ..shared.store import LedgerStore, ledger_path, load_settings, refuse_guarded_output
from .args import PINWARDEN_HELP, Invocation
from .stage import run

PYPI = "https://pypi.org/simple"
STDOUT = "-"


def main(invocation: Invocation, uv: str, out: TextIO, err: TextIO, command: str) -> int:
    if invocation.has("--help", "--version"):
        code = run([uv, *invocation.uv_argv], cwd=Path.cwd())
        if invocation.has("--help"):
            out.write(PINWARDEN_HELP)
        return code
    output = invocation.last("--output-file") or STDOUT
    settings, base = load_settings(Path.cwd())
    explicit = Path(invocation.ledger) if invocation.ledger else None
    store = LedgerStore(ledger_path(explicit, settings, base, [Path(output)] if output != STDOUT else []))
    if output != STDOUT:
        refuse_guarded_output(Path(output), store.path)
    indexes, no_index = index_urls(invocation, os.environ)
    temp_dir = make_temp_dir(output)
    try:
        temp_output = temp_dir / (Path(output).name if output != STDOUT else "requirements.txt")
        stripped = copy_output(Path(output), temp_output, store) if output != STDOUT else []
        code = _compile(uv, invocation, temp_output, command)
        if code != 0:
            shown = "the output file" if output == STDOUT else output
            err.write(f"pinwarden: uv failed (exit {code}); {shown} was not changed\n")
            return code
        verbosity = sum(o.name == "--verbose" for o in invocation.options)
        verbosity -= sum(o.name == "--quiet" for o in invocation.options)
        report = RunReport(
            stage="done",
            output=output,
            temp_dir=str(temp_dir),
            temp_output=str(temp_output),
            ledger=str(store.path),
            first_use=settings.first_use,
            no_interaction=invocation.no_interaction,
            indexes=indexes,
            no_index=no_index,
            stripped=tuple(f"{name}=={version}" for name, version in stripped),
            verbosity=verbosity,
            echo_held=output != STDOUT,  # uv shows the result on stdout: shown here once accepted
        )
        return Session(report, command=command, err=err).check(out, sys.stdin)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


def _compile(uv: str, invocation: Invocation, temp_output: Path, command: str) -> int:
    options = invocation.words(drop={"--output-file", "--generate-hashes"})
    words = ["pip", "compile", *options, "--generate-hashes", "--output-file", str(temp_output)]
    positionals = list(invocation.positionals)
    env = dict(os.environ)
    if not invocation.has("--custom-compile-command"):  # the header names the user's command
        env.setdefault("UV_CUSTOM_COMPILE_COMMAND", command)
    # uv prints the result on stdout too: held back, so that a refused result is never shown as written.
    argv = [uv, *words, *(["--", *positionals] if positionals else [])]
    return run(argv, cwd=Path.cwd(), env=env, stdout=subprocess.DEVNULL, staged=True)


def index_urls(invocation: Invocation, environ: Mapping[str, str]) -> tuple[tuple[str, ...], bool]:
    """(the indexes uv asks, in its order of priority; --no-index), from the command line and uv's
    variables (uv.toml and [tool.uv] are not read: the refusal then names the default index)."""
    if invocation.has("--no-index") or environ.get("UV_NO_INDEX", "").lower() in ("1", "true"):
        return (), True
    named = [_index_url(v) for v in invocation.values("--index")]
    named += environ.get("UV_INDEX", "").split()
    extra = invocation.values("--extra-index-url") + environ.get("UV_EXTRA_INDEX_URL", "").split()
    default = (
        invocation.last("--default-index")
        or invocation.last("--index-url")
        or environ.get("UV_DEFAULT_INDEX")
        or environ.get("UV_INDEX_URL")
        or PYPI
    )
    return tuple(dict.fromkeys([*(_index_url(u) for u in named), *extra, default])), False


def _index_url(value: str) -> str:
    """`--index name=URL` or `--index URL`."""
    name, eq, url = value.partition("=")
    return url if eq and "://" not in name else value
