"""The child process that runs real pip-compile for `pinwarden pip-compile` (the only pip-tools import).

    python -m pinwarden.piptools_ext.runner REPORT_JSON [PIP-COMPILE ARGS...]

pip-compile's own click command parses the arguments and its config files; the runner then
points it at a private copy of the output file (in a temporary directory beside it, so pins and
hashes are reused as usual), turns on --generate-hashes, turns off --dry-run (pinwarden decides
what is written) and, for --audit, turns off hash reuse with a fresh cache. Everything it learns
goes to REPORT_JSON for the wrapper. pip's HashMismatch, which pip-compile shows as a traceback,
is reported as data instead.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..shared.errors import PinwardenError
from ..shared.store import LedgerStore, ledger_path, load_settings
from .options import PINWARDEN_HELP, ArgumentError, SplitArgs, split_args
from .protocol import EXIT_HASH_MISMATCH, Mismatch, RunReport
from .writer import keep_hashes, untrusted_pins

if TYPE_CHECKING:
    import click

EXIT_ERROR = 2
PROG = "pinwarden pip-compile"
_FROM_LINE = re.compile(r"\(from [^()]*line \d+[^()]*\)\s*$")


class _Reporter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.report = RunReport()

    def update(self, **changes: Any) -> None:
        self.report = self.report.updated(**changes)
        self.report.save(self.path)


def main(argv: list[str]) -> int:
    reporter = _Reporter(Path(argv[0]))
    reporter.update()
    try:
        return _run(argv[1:], reporter)
    except (PinwardenError, ArgumentError) as exc:
        reporter.update(error=str(exc))
        return EXIT_ERROR


def _run(args: list[str], reporter: _Reporter) -> int:
    import click
    from pip._internal.exceptions import InstallationError
    from piptools.scripts.compile import cli

    from .options import value_options

    split = split_args(args, value_options(cli))
    try:
        with cli.make_context(PROG, list(split.compile_args)) as ctx:
            _prepare(ctx, split, reporter)
            cli.invoke(ctx)
    except (click.exceptions.Exit, click.ClickException, click.Abort, InstallationError) as exc:
        return _stopped(exc, split, reporter)
    reporter.update(stage="done")
    return 0


def _stopped(exc: Exception, split: SplitArgs, reporter: _Reporter) -> int:
    """pip-compile stopped early: printed help, refused its arguments or input, or pip refused a file."""
    import click
    from pip._internal.exceptions import HashError, HashErrors

    if isinstance(exc, click.exceptions.Exit):  # --help and --version print and stop
        if {"-h", "--help"} & set(split.compile_args):
            click.echo(PINWARDEN_HELP.rstrip())
        reporter.update(informational=True)
        return exc.exit_code
    if isinstance(exc, (HashErrors, HashError)):
        errors = exc.errors if isinstance(exc, HashErrors) else [exc]
        reporter.update(stage="done", mismatches=tuple(_mismatch(e) for e in errors))
        return EXIT_HASH_MISMATCH
    if isinstance(exc, click.ClickException):
        reporter.update(error=f"{exc.format_message()} (see '{PROG} --help')")
    elif isinstance(exc, click.Abort):
        reporter.update(error="aborted")
    else:  # a malformed input file, which pip-compile would show as a traceback
        reporter.update(error=_one_line(str(exc)))
    return EXIT_ERROR


def _prepare(ctx: click.Context, split: SplitArgs, reporter: _Reporter) -> None:
    """Decide the private output, fill in the report, then point pip-compile's parameters at it."""
    from .options import header_command, index_urls, output_name

    output = output_name(ctx)
    _check_audit(ctx, split, output)
    settings, base = load_settings(Path.cwd())
    explicit = Path(split.ledger) if split.ledger else None
    locks = [Path(output)] if output != "-" else []
    store = LedgerStore(ledger_path(explicit, settings, base, locks))
    indexes, no_index = index_urls(ctx)
    temp_dir = _make_temp_dir(output)
    temp_output = temp_dir / (Path(output).name if output != "-" else "requirements.txt")
    reporter.update(
        stage="prepared",
        output=output,
        temp_dir=str(temp_dir),
        temp_output=str(temp_output),
        ledger=str(store.path),
        first_use=settings.first_use,
        audit=split.audit,
        dry_run=bool(ctx.params.get("dry_run")),
        indexes=indexes,
        no_index=no_index,
    )
    stripped = _copy_output(Path(output), temp_output, store) if output != "-" else []
    reporter.update(stripped=tuple(f"{name}=={version}" for name, version in stripped))
    os.environ.setdefault("CUSTOM_COMPILE_COMMAND", header_command(ctx))
    _override(ctx, temp_output, temp_dir if split.audit else None)


def _check_audit(ctx: click.Context, split: SplitArgs, output: str) -> None:
    import click

    if not split.audit:
        return
    if ctx.params.get("upgrade") or ctx.params.get("upgrade_packages"):
        raise click.UsageError("--audit re-hashes the current pins: it cannot be combined with -U/-P")
    if output == "-" or not Path(output).is_file():
        raise click.UsageError(f"--audit checks an existing output file, and {output} is none")


def _make_temp_dir(output: str) -> Path:
    """Beside the output, so relative paths and the final rename stay on one file system."""
    parent = Path(output).parent if output != "-" else Path(tempfile.gettempdir())
    try:
        return Path(tempfile.mkdtemp(prefix=".pinwarden-", dir=parent))
    except OSError as exc:
        raise PinwardenError(f"cannot create a temporary directory in {parent}: {exc.strerror}") from None


def _copy_output(output: Path, temp_output: Path, store: LedgerStore) -> list[tuple[str, str]]:
    """Copy the existing output; pins the ledger no longer trusts lose their hashes (re-hashed)."""
    if not output.is_file():
        return []
    shutil.copyfile(output, temp_output)
    try:
        with output.open(encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return []  # pip-compile reads it its own way and says what is wrong
    stale = untrusted_pins(text, store.load()) if store.exists() else []
    if stale:
        edited = keep_hashes(text, lambda key, _digest: key not in stale)
        with temp_output.open("w", encoding="utf-8", newline="") as handle:
            handle.write(edited)
    return [(str(name), version) for name, version in stale]


def _override(ctx: click.Context, temp_output: Path, audit_cache: Path | None) -> None:
    """The only changes to what the user asked pip-compile for (see the module docstring)."""
    import click

    command = ctx.command
    option = next(p for p in command.params if p.name == "output_file")
    assert isinstance(option.type, click.File)
    ctx.params["output_file"] = option.type.convert(str(temp_output), option, ctx)
    ctx.params["generate_hashes"] = True
    ctx.params["dry_run"] = False
    if audit_cache is not None:
        ctx.params["reuse_hashes"] = False
        ctx.params["cache_dir"] = str(audit_cache / "cache")


def _mismatch(error: Exception) -> Mismatch:
    req = getattr(error, "req", None)
    link = getattr(req, "link", None)
    allowed: dict[str, list[str]] = getattr(error, "allowed", {}) or {}
    gots: dict[str, Any] = getattr(error, "gots", {}) or {}
    return Mismatch(
        name=getattr(req, "name", None),
        url=getattr(link, "url", None),
        expected=tuple(f"{alg}:{value}" for alg, values in allowed.items() for value in values),
        got=tuple(f"{alg}:{digest.hexdigest()}" for alg, digest in gots.items()),
    )


def _one_line(message: str) -> str:
    """pip's multi-line parse errors (with a caret under the bad spot) as one line that says where."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "pip-compile could not read its input"
    where = _FROM_LINE.search(lines[-1])
    first = lines[0]
    return f"{first} {where.group(0).strip()}" if where and where.group(0) not in first else first


if __name__ == "__main__":  # pragma: no cover - run as a module by the wrapper
    sys.exit(main(sys.argv[1:]))
